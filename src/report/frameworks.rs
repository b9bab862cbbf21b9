//! The framework lab: one model served several ways (trtbench's in-process engine,
//! llama.cpp's server, vLLM, a PyTorch server) on one grid of concurrency × input length,
//! side by side, with each figure's speedup over the PyTorch server. A load level joins
//! when it was run with `load --framework NAME` (the `framework` parameter); an engine
//! point joins as "trtbench engine" with its batch as the concurrency, once some level
//! has. The baseline is the framework whose name contains "pytorch" (any case); without
//! one, no speedup column is shown. Depends on `record`.

use std::collections::BTreeMap;

use super::table::{Cell, Table};
use super::{fmt_num, param_f64, param_str, Report};
use crate::record::{Point, PointKind, FRAMEWORK_PARAM};

/// What engine points are called in the lab.
pub const ENGINE_FRAMEWORK: &str = "trtbench engine";

/// The figures compared: metric, header, whether more is better.
const FIGURES: [(&str, &str, bool); 3] = [
    ("ttft_ms", "TTFT ms p50", false),
    ("tpot_ms", "TPOT ms p50", false),
    ("output_tok_per_s", "output tok/s p50", true),
];

/// Grid cell of a point: (isl, osl, concurrency), as whole numbers for ordering.
type Cellkey = (u64, u64, u64);

fn grid_key(p: &Point) -> Option<Cellkey> {
    let c = match p.kind {
        PointKind::Load => param_f64(p, "concurrency")?,
        PointKind::Engine => param_f64(p, "batch")?,
        _ => return None,
    };
    let whole = |v: f64| v.max(0.0).round() as u64;
    Some((
        whole(param_f64(p, "isl")?),
        whole(param_f64(p, "osl").unwrap_or(0.0)),
        whole(c),
    ))
}

fn framework(p: &Point) -> Option<String> {
    match p.kind {
        PointKind::Load => p
            .parameters
            .get(FRAMEWORK_PARAM)
            .map(|_| param_str(p, FRAMEWORK_PARAM)),
        PointKind::Engine if param_f64(p, "depth").unwrap_or(0.0) == 0.0 => {
            Some(ENGINE_FRAMEWORK.into())
        }
        _ => None,
    }
}

fn p50(p: &Point, metric: &str) -> Option<f64> {
    p.summary
        .get(metric)
        .map(|s| s.p50)
        .filter(|v| v.is_finite() && *v > 0.0)
}

/// The lab's points as rows keyed only by what the lab compares (framework, isl, osl,
/// concurrency: an engine's batch), for its chart; `None` when no level names its
/// framework.
pub fn lab_rows(report: &Report) -> Option<Vec<super::Row>> {
    let mut labelled = false;
    let mut rows = Vec::new();
    for r in report
        .ok(PointKind::Load)
        .chain(report.ok(PointKind::Engine))
    {
        let (Some(f), Some((isl, osl, c))) = (framework(&r.point), grid_key(&r.point)) else {
            continue;
        };
        labelled |= r.point.kind == PointKind::Load;
        let mut row = r.clone();
        row.point.parameters = [
            (FRAMEWORK_PARAM, serde_json::json!(f)),
            ("isl", serde_json::json!(isl)),
            ("osl", serde_json::json!(osl)),
            ("concurrency", serde_json::json!(c)),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        rows.push(row);
    }
    labelled.then_some(rows)
}

/// The framework lab table, when some load level names its framework.
pub fn table(report: &Report) -> Option<Table> {
    let mut grid: BTreeMap<Cellkey, BTreeMap<String, &Point>> = BTreeMap::new();
    let mut labelled = false;
    for r in report
        .ok(PointKind::Load)
        .chain(report.ok(PointKind::Engine))
    {
        let (Some(f), Some(k)) = (framework(&r.point), grid_key(&r.point)) else {
            continue;
        };
        labelled |= r.point.kind == PointKind::Load;
        // The first point of a framework at a grid cell stands for it.
        grid.entry(k).or_default().entry(f).or_insert(&r.point);
    }
    if !labelled {
        return None;
    }
    let baseline = grid
        .values()
        .flat_map(|m| m.keys())
        .find(|f| f.to_ascii_lowercase().contains("pytorch"))
        .cloned();
    let mut rows = Vec::new();
    for ((isl, osl, c), by) in &grid {
        let base = baseline.as_ref().and_then(|b| by.get(b));
        for (f, p) in by {
            let mut cells = vec![
                Cell::num(isl.to_string()),
                Cell::num(osl.to_string()),
                Cell::num(c.to_string()),
                Cell::text(f.clone()),
            ];
            for (m, _, _) in FIGURES {
                cells.push(Cell::num(p50(p, m).map_or("-".into(), fmt_num)));
            }
            if baseline.is_some() {
                for (m, _, more_is_better) in FIGURES {
                    let own = p50(p, m);
                    let b = base.and_then(|b| p50(b, m));
                    let ratio = own
                        .zip(b)
                        .map(|(o, b)| if more_is_better { o / b } else { b / o });
                    cells.push(Cell::num(ratio.map_or("-".into(), |r| format!("{r:.2}x"))));
                }
            }
            rows.push(cells);
        }
    }
    let mut headers: Vec<String> = ["isl", "osl", "concurrency", "framework"]
        .map(String::from)
        .to_vec();
    headers.extend(FIGURES.iter().map(|(_, h, _)| (*h).to_string()));
    if let Some(b) = &baseline {
        headers.extend(["TTFT", "TPOT", "tok/s"].map(|f| format!("{f} speedup vs {b}")));
    }
    Some(Table {
        title: "Frameworks".into(),
        headers,
        rows,
        note: Some(format!(
            "One model, several ways of serving it, on the same grid: load levels run with \
             `load --framework NAME`, and {ENGINE_FRAMEWORK} points (in process, no HTTP; \
             batch shown as concurrency). Speedup: the baseline's figure over this one's for \
             TTFT and TPOT, this one's over the baseline's for tok/s (above 1x: faster than \
             the baseline). Figures are each point's p50; output lengths may differ where a \
             server refused ignore_eos (see the load table)."
        )),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::Results;
    use serde_json::json;

    fn point(kind: PointKind, params: &[(&str, serde_json::Value)], figs: [f64; 3]) -> Point {
        let mut p = Point::new(
            kind,
            params
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect(),
        );
        for ((m, _, _), v) in FIGURES.iter().zip(figs) {
            let s = crate::stats::summarize(&[v], "ms", None).expect("one value");
            p.summary.insert((*m).into(), s);
        }
        p
    }

    #[test]
    fn speedups_are_over_the_pytorch_server_per_grid_cell() {
        let load = |f: &str, c: u64, figs| {
            let params = [
                ("framework", json!(f)),
                ("isl", json!(64)),
                ("osl", json!(32)),
                ("concurrency", json!(c)),
            ];
            point(PointKind::Load, &params, figs)
        };
        let engine = point(
            PointKind::Engine,
            &[("isl", json!(64)), ("osl", json!(32)), ("batch", json!(1))],
            [10.0, 5.0, 200.0],
        );
        let mut r = Results::new(vec![], json!({}));
        r.points = vec![
            load("pytorch", 1, [100.0, 40.0, 25.0]),
            load("vllm", 1, [50.0, 20.0, 50.0]),
            load("vllm", 4, [80.0, 30.0, 120.0]),
            engine,
        ];
        let report = Report::single(&r, "r.json");
        assert_eq!(
            lab_rows(&report).expect("lab rows").len(),
            4,
            "the chart's rows"
        );
        let t = table(&report).expect("a lab");
        let text = |i: usize| -> Vec<String> { t.rows[i].iter().map(|c| c.text.clone()).collect() };
        assert_eq!(t.headers[7], "TTFT speedup vs pytorch");
        // Concurrency 1: pytorch, trtbench engine, vllm (by name); concurrency 4: vllm.
        assert_eq!(
            text(0)[3..],
            ["pytorch", "100.0", "40.00", "25.00", "1.00x", "1.00x", "1.00x"]
        );
        assert_eq!(
            text(1)[3..],
            [
                "trtbench engine",
                "10.00",
                "5.000",
                "200.0",
                "10.00x",
                "8.00x",
                "8.00x"
            ]
        );
        assert_eq!(
            text(2)[3..],
            ["vllm", "50.00", "20.00", "50.00", "2.00x", "2.00x", "2.00x"]
        );
        assert_eq!(
            text(3)[7..],
            ["-", "-", "-"],
            "no baseline at concurrency 4"
        );
    }

    #[test]
    fn no_lab_without_a_named_framework() {
        let mut r = Results::new(vec![], json!({}));
        r.points = vec![point(
            PointKind::Engine,
            &[("isl", json!(64)), ("batch", json!(1))],
            [1.0, 1.0, 1.0],
        )];
        assert!(table(&Report::single(&r, "r.json")).is_none());
    }
}
