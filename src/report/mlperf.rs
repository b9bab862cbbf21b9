//! The table of LoadGen runs (`trtbench mlperf`, or LoadGen logs given to `trtbench
//! import`): per run its scenario and mode, LoadGen's verdict, the scenario's figure of
//! merit as LoadGen computes it (SingleStream: the sample latency at the target
//! percentile, 90th by default; MultiStream: the query latency at it, 99th; Offline:
//! samples per second; Server: completed samples per second), the first-token and
//! per-output-token latencies at the target percentile, and for Server its TTFT and TPOT
//! limits with whether LoadGen found them met. Every figure is LoadGen's own, read from its
//! detail log by `import::mlperf`; nothing is recomputed. The title and the note carry the
//! label that none of it is an MLPerf result. `compare` shows the same rows for both
//! files. Depends on `record`.

use std::collections::BTreeMap;

use super::table::{Cell, Table};
use super::{fmt_num, ordered_params, param_str, Report, Row};
use crate::record::{Point, PointKind, Results, Status};

/// The `tool` parameter of a point imported from LoadGen's logs.
pub const LOADGEN_TOOL: &str = "mlperf-loadgen";

/// The table's title: the label comes first.
pub const TITLE: &str = "LoadGen runs (not an MLPerf result)";

/// What LoadGen's logs say when nothing else does (an older results file).
const LABEL: &str = "not an MLPerf result: the model, data set, accuracy target and audit are \
     not MLPerf's";

/// Whether `p` is a LoadGen run.
pub fn is_loadgen(p: &Point) -> bool {
    p.parameters.get("tool").and_then(|v| v.as_str()) == Some(LOADGEN_TOOL)
}

/// Parameters shown in their own columns (or not at all: the tool is the table).
const OWN: [&str; 3] = ["tool", "scenario", "mlperf_mode"];

/// The target latency percentile as LoadGen names its results (`p90`, `p99_9`), with the
/// percent for headers.
fn target(p: &Point) -> Option<(String, f64)> {
    let pct = *p.scalars.get("mlperf_target_percentile")?;
    Some((format!("p{}", format!("{pct}").replace('.', "_")), pct))
}

/// The figure of merit of a run: what it is and its value.
fn figure_of_merit(p: &Point) -> Option<(String, f64)> {
    let scenario = param_str(p, "scenario");
    let sc = |k: &str| p.scalars.get(k).copied();
    match scenario.as_str() {
        "SingleStream" | "MultiStream" => {
            let (stat, pct) = target(p)?;
            let what = if scenario == "MultiStream" {
                "query_latency"
            } else {
                "latency"
            };
            let v = sc(&format!("mlperf_{what}_{stat}_ms"))?;
            let label = if scenario == "MultiStream" {
                "query latency"
            } else {
                "latency"
            };
            Some((format!("{pct}th pct {label} ms"), v))
        }
        "Offline" => Some(("samples/s".into(), sc("requests_per_s")?)),
        "Server" => Some((
            "completed samples/s".into(),
            sc("mlperf_completed_requests_per_s")?,
        )),
        _ => None,
    }
}

/// A token latency (`ttft` or `tpot`) at the run's target percentile.
fn token_latency(p: &Point, what: &str) -> Option<f64> {
    let (stat, _) = target(p)?;
    p.scalars.get(&format!("mlperf_{what}_{stat}_ms")).copied()
}

/// A Server limit and LoadGen's finding: `2000 ms: met`, `0.001 ms: NOT met`.
fn limit(p: &Point, what: &str, reason: &str) -> String {
    let Some(ms) = p.scalars.get(&format!("mlperf_{what}_limit_ms")) else {
        return "-".into();
    };
    if p.parameters.get("mlperf_mode").and_then(|v| v.as_str()) == Some("AccuracyOnly") {
        return format!("{} ms", fmt_num(*ms));
    }
    // LoadGen states an unmet constraint in its reasons (`TTFT constrain not met`), which
    // the import keeps in the INVALID warning.
    let unmet = p.warnings.iter().any(|w| w.contains(reason));
    format!(
        "{} ms: {}",
        fmt_num(*ms),
        if unmet { "NOT met" } else { "met" }
    )
}

fn headers(params: &[String], rest: &[String], side: bool) -> Vec<String> {
    let mut h: Vec<String> = Vec::new();
    if side {
        h.push("file".into());
    }
    h.extend(params.iter().cloned());
    h.extend(
        [
            "scenario",
            "mode",
            "result",
            "figure of merit",
            "value",
            "TTFT ms",
            "TPOT ms",
            "queries",
            "TTFT limit",
            "TPOT limit",
        ]
        .map(String::from),
    );
    h.extend(rest.iter().cloned());
    h
}

fn cells(p: &Point, params: &[String], rest: &[String]) -> Vec<Cell> {
    let num = |v: Option<f64>| Cell::num(v.map_or("-".into(), fmt_num));
    let mut c: Vec<Cell> = params.iter().map(|k| Cell::text(param_str(p, k))).collect();
    let verdict = p
        .notes
        .get("mlperf_result_validity")
        .map_or("-", |s| s.split(' ').next().unwrap_or("-"));
    let fom = figure_of_merit(p);
    c.extend([
        Cell::text(param_str(p, "scenario")),
        Cell::text(param_str(p, "mlperf_mode")),
        Cell::text(verdict),
        Cell::text(fom.as_ref().map_or("-".into(), |f| f.0.clone())),
        num(fom.map(|f| f.1)),
        num(token_latency(p, "ttft")),
        num(token_latency(p, "tpot")),
        Cell::num(
            p.scalars
                .get("mlperf_query_count")
                .map_or("-".into(), |n| format!("{n:.0}")),
        ),
        Cell::text(limit(p, "ttft", "TTFT constrain not met")),
        Cell::text(limit(p, "tpot", "TPOT constrain not met")),
    ]);
    c.extend(rest.iter().map(|k| Cell::text(param_str(p, k))));
    c
}

/// Identity and shape parameters first (engine, batch, isl, osl), the rest after the
/// figures.
fn split_params<'a>(rows: impl Iterator<Item = &'a Row>) -> (Vec<String>, Vec<String>) {
    ordered_params(rows)
        .into_iter()
        .filter(|k| !OWN.contains(&k.as_str()))
        .partition(|k| super::KEY_PARAMS.contains(&k.as_str()))
}

/// The note under the table: the label (as the points carry it) and what the columns are.
fn note<'a>(mut points: impl Iterator<Item = &'a Point>) -> String {
    let label = points
        .find_map(|p| p.notes.get("mlperf"))
        .map_or(LABEL, |s| s.as_str());
    let mut chars = label.chars();
    let label: String = chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default();
    format!(
        "{label}. Figures are MLPerf LoadGen's own, from its detail log. Figure of merit: \
         SingleStream the sample latency and MultiStream the query latency at the target \
         percentile, Offline samples per second, Server completed samples per second. TTFT \
         and TPOT: LoadGen's first-token latency and time per output token at the target \
         percentile. Limits: Server's ttft_latency / tpot_latency, met or NOT met as LoadGen \
         judged; an INVALID result's reasons are under Warnings."
    )
}

/// The LoadGen table of a report, when it holds a finished LoadGen run.
pub fn table(report: &Report) -> Option<Table> {
    let rows: Vec<&Row> = report
        .ok(PointKind::Load)
        .filter(|r| is_loadgen(&r.point))
        .collect();
    if rows.is_empty() {
        return None;
    }
    let (params, rest) = split_params(rows.iter().copied());
    Some(Table {
        title: TITLE.into(),
        headers: headers(&params, &rest, false),
        rows: rows
            .iter()
            .map(|r| cells(&r.point, &params, &rest))
            .collect(),
        note: Some(note(rows.iter().map(|r| &r.point))),
    })
}

/// The LoadGen runs of two files side by side, for `compare`: for every finished LoadGen
/// point of `base` with a finished match in `new` (same key), a `base` row and a `new`
/// row. `None` when there is none.
pub fn compare_table(base: &Results, new: &Results) -> Option<Table> {
    let finished = |r: &Results| -> BTreeMap<String, Point> {
        r.points
            .iter()
            .filter(|p| p.status == Status::Ok && is_loadgen(p))
            .map(|p| (p.key.clone(), p.clone()))
            .collect()
    };
    let (b, n) = (finished(base), finished(new));
    let pairs: Vec<(&Point, &Point)> = b
        .iter()
        .filter_map(|(k, bp)| n.get(k).map(|np| (bp, np)))
        .collect();
    if pairs.is_empty() {
        return None;
    }
    let rows: Vec<Row> = pairs
        .iter()
        .flat_map(|(bp, np)| [*bp, *np])
        .map(|p| Row {
            source: 0,
            point: p.clone(),
        })
        .collect();
    let (params, rest) = split_params(rows.iter());
    let mut body = Vec::new();
    for (bp, np) in &pairs {
        for (side, p) in [("base", bp), ("new", np)] {
            let mut c = vec![Cell::text(side)];
            c.extend(cells(p, &params, &rest));
            body.push(c);
        }
    }
    Some(Table {
        title: TITLE.into(),
        headers: headers(&params, &rest, true),
        rows: body,
        note: Some(note(pairs.iter().flat_map(|(b, n)| [*b, *n]))),
    })
}
