//! The tables a report shows (engine runs, load tests, quality, failures), as cells that
//! know whether their figure is noisy. Markdown and HTML render the same tables.

mod other;
use other::{failed_table, figure_table, quality_table};

use super::{
    engine_bytes, fmt_ci_rel, fmt_num, metric_label, ordered_params, param_str, quant, Figure,
    Report, Row, KEY_PARAMS,
};
use crate::record::{Point, PointKind};
use crate::units::human_bytes;

/// One table cell.
#[derive(Debug, Clone, PartialEq)]
pub struct Cell {
    pub text: String,
    /// The figure's interval is wide, or a percentile has none.
    pub noisy: bool,
    /// Longer explanation (the interval itself), for a tooltip.
    pub title: Option<String>,
    pub numeric: bool,
}

impl Cell {
    pub fn text(s: impl Into<String>) -> Cell {
        Cell {
            text: s.into(),
            noisy: false,
            title: None,
            numeric: false,
        }
    }

    pub fn num(s: impl Into<String>) -> Cell {
        Cell {
            numeric: true,
            ..Cell::text(s)
        }
    }

    fn figure(f: &Figure, stat: &str) -> Cell {
        let mut text = fmt_num(f.value);
        if let Some(rel) = fmt_ci_rel(f) {
            text = format!("{text} {rel}");
        }
        let title = match f.ci {
            Some([lo, hi]) => Some(format!(
                "{stat} {} (95% CI {} – {})",
                fmt_num(f.value),
                fmt_num(lo),
                fmt_num(hi)
            )),
            None if f.noisy => Some(format!("{stat}: too few samples for a confidence interval")),
            None => None,
        };
        let title = if f.noisy && stat == "p99" {
            title.map(|t| format!("{t}; a p99 needs 100+ samples to be more than the maximum"))
        } else {
            title
        };
        Cell {
            text,
            noisy: f.noisy,
            title,
            numeric: true,
        }
    }
}

/// A titled table.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    pub title: String,
    pub headers: Vec<String>,
    pub rows: Vec<Vec<Cell>>,
    /// A line under the table explaining its figures.
    pub note: Option<String>,
}

/// A figure column: metric, statistic, header.
struct Col {
    metric: &'static str,
    stat: &'static str,
}

const ENGINE_COLS: [Col; 9] = [
    Col {
        metric: "prefill_tok_per_s",
        stat: "p50",
    },
    Col {
        metric: "decode_tok_per_s",
        stat: "p50",
    },
    // Percent of the measured memory bandwidth the decode reached (bench::roofline).
    Col {
        metric: "decode_sol_pct",
        stat: "p50",
    },
    Col {
        metric: "ttft_ms",
        stat: "p50",
    },
    Col {
        metric: "ttft_ms",
        stat: "p99",
    },
    Col {
        metric: "tpot_ms",
        stat: "p50",
    },
    Col {
        metric: "itl_ms",
        stat: "p99",
    },
    Col {
        metric: "e2e_ms",
        stat: "p50",
    },
    Col {
        metric: "tok_per_j",
        stat: "p50",
    },
];

/// Edge-LLM's own figures by its formulas (`backends::trt::timing::edge_llm_figures`), in a
/// table of their own for the engine points that have them, beside ours, never instead.
const EDGE_LLM_COLS: [Col; 3] = [
    Col {
        metric: "edgellm_prefill_ms",
        stat: "mean",
    },
    Col {
        metric: "edgellm_prefill_tok_per_s",
        stat: "mean",
    },
    Col {
        metric: "edgellm_generation_tok_per_s",
        stat: "mean",
    },
];

/// Title of the table of [`EDGE_LLM_COLS`]: says whose formulas the figures follow.
pub const EDGE_LLM_TABLE: &str = "Edge-LLM's own figures (its formulas over its llm_prefill / \
     llm_generation stage timers; generation tok/s counts the token sampled at prefill)";

const LOAD_COLS: [Col; 11] = [
    Col {
        metric: "output_tok_per_s",
        stat: "p50",
    },
    Col {
        metric: "requests_per_s",
        stat: "p50",
    },
    Col {
        metric: "ttft_ms",
        stat: "p50",
    },
    Col {
        metric: "ttft_ms",
        stat: "p99",
    },
    Col {
        metric: "tpot_ms",
        stat: "p50",
    },
    Col {
        metric: "itl_ms",
        stat: "p50",
    },
    Col {
        metric: "itl_ms",
        stat: "p99",
    },
    Col {
        metric: "e2e_ms",
        stat: "p99",
    },
    // Failed requests counted as the timeout (client::aggregate::with_failures).
    Col {
        metric: "e2e_with_failures_ms",
        stat: "p99",
    },
    Col {
        metric: "goodput_req_per_s",
        stat: "p50",
    },
    Col {
        metric: "tok_per_j",
        stat: "p50",
    },
];

/// Explains the figures of engine and load tables.
pub fn figures_note(report: &Report) -> String {
    format!(
        "p50/p99: median / 99th percentile over measured runs (load tests: over requests). \
         ±: half-width of the 95% confidence interval relative to the figure ({}). \
         Marked noisy: interval wider than ±{:.0}%, too few samples for one, or a tail \
         percentile with fewer than one sample beyond it (a p99 needs 100 or more).",
        crate::stats::bootstrap::METHOD,
        report.max_ci * 100.0
    )
}

/// The summary a column reads for one point. A load level with a send schedule (open
/// loop, `--rate`) shows TTFT and E2E from the scheduled send (`ttft_sched_ms`,
/// `e2e_with_failures_sched_ms`, ...), so time a request waited in the client counts; the
/// actual-send figures stay in the JSON. `compare` makes the same choice.
fn metric_of(p: &Point, metric: &'static str) -> String {
    if p.kind == PointKind::Load {
        let sched = format!("{}_sched_ms", metric.trim_end_matches("_ms"));
        if p.summary.contains_key(&sched) {
            return sched;
        }
    }
    metric.to_owned()
}

/// Whether a load level ran open loop (its latencies count from the schedule).
fn from_schedule(p: &Point) -> bool {
    p.kind == PointKind::Load && p.summary.contains_key("ttft_sched_ms")
}

fn header(c: &Col, rows: &[&Row]) -> String {
    let (base, with_failures) = match c.metric.strip_suffix("_with_failures_ms") {
        Some(b) => (format!("{b}_ms"), " with failures"),
        None => (c.metric.to_owned(), ""),
    };
    // Scalars (tok/J, aggregate throughputs of a load test) have no statistic.
    let distribution = rows
        .iter()
        .any(|r| r.point.summary.contains_key(&metric_of(&r.point, c.metric)));
    let label = metric_label(&base);
    let mut h = if distribution {
        format!("{label} {}{with_failures}", c.stat)
    } else {
        label
    };
    let sched = rows
        .iter()
        .filter(|r| metric_of(&r.point, c.metric) != c.metric)
        .count();
    if sched == rows.len() {
        h.push_str(" (from schedule)");
    } else if sched > 0 {
        h.push_str(" (open loop: from schedule)");
    }
    h
}

/// Failed requests of a load level and requests sent.
fn failed_of(p: &Point) -> (usize, usize) {
    if p.requests.is_empty() {
        let sc = |k: &str| p.scalars.get(k).copied().unwrap_or(0.0) as usize;
        return (sc("failed"), sc("requests"));
    }
    let failed = p.requests.iter().filter(|q| q.error.is_some()).count();
    (failed, p.requests.len())
}

/// A "with failures" percentile that lands on or beyond a failed request (counted as the
/// timeout) is no latency anyone saw: the cell says so instead of showing the stand-in.
fn beyond_timeout(p: &Point, metric: &str, stat: &str) -> bool {
    let q = match stat {
        "p50" => 0.5,
        "p90" => 0.9,
        "p95" => 0.95,
        "p99" => 0.99,
        "max" => 1.0,
        _ => return false,
    };
    let (failed, sent) = failed_of(p);
    // Type-7 quantile position (0-based) among the sorted values, failures last.
    metric.contains("_with_failures")
        && failed > 0
        && q * (sent as f64 - 1.0) > (sent - failed) as f64 - 1.0
}

/// Prompt-cache hits on a level meant to be cache-free (prompts are unique per run; a
/// workload that shares prefixes on purpose sets `prompt_cache_expected`).
fn cache_hits(p: &Point) -> Option<usize> {
    let hits = *p.scalars.get("cache_hit_requests")? as usize;
    let expected = p.scalars.get("prompt_cache_expected") == Some(&1.0);
    (hits > 0 && !expected).then_some(hits)
}

/// Which optional columns a figure table shows.
struct Shown<'c> {
    /// What a row is (engine or model, batch or concurrency, lengths): first.
    params: Vec<String>,
    /// The rest of the workload and settings (endpoint, seed, salt, threads, ...): after
    /// the figures, so the figures a reader came for are on screen.
    rest: Vec<String>,
    quant: bool,
    cols: Vec<&'c Col>,
    rss: bool,
    dev: bool,
    /// A load level whose client lagged: its figures may be distorted (`client_valid` 0).
    valid: bool,
    /// A load level meant to be cache-free that the server's prefix cache served.
    cache: bool,
    /// A load level some of whose requests were sent a second time (a kept-alive
    /// connection closed under them).
    resent: bool,
    /// A load level whose output lengths were not forced (`ignore_eos` false): the
    /// lengths the model chose are shown beside the asked `osl`.
    unforced: bool,
}

/// The mean output length of a load level that did not force it (`ignore_eos` false).
fn output_len(p: &Point) -> Option<f64> {
    if p.parameters.get("ignore_eos") != Some(&serde_json::Value::Bool(false)) {
        return None;
    }
    p.summary.get("output_tokens").map(|s| s.mean)
}

impl<'c> Shown<'c> {
    fn of(report: &Report, rows: &[&Row], cols: &'c [Col], kind: PointKind) -> Shown<'c> {
        let (params, rest): (Vec<String>, Vec<String>) = ordered_params(rows.iter().copied())
            .into_iter()
            .partition(|k| KEY_PARAMS.contains(&k.as_str()));
        let load = kind == PointKind::Load;
        Shown {
            rest,
            quant: !params.iter().any(|p| p == "quant")
                && rows.iter().any(|r| quant(&r.point).is_some()),
            params,
            cols: cols
                .iter()
                .filter(|c| {
                    rows.iter().any(|r| {
                        let m = metric_of(&r.point, c.metric);
                        report.figure(&r.point, &m, c.stat).is_some()
                    })
                })
                .collect(),
            rss: rows.iter().any(|r| r.point.memory.peak_rss_bytes.is_some()),
            dev: rows
                .iter()
                .any(|r| r.point.memory.peak_device_bytes.is_some()),
            valid: load
                && rows
                    .iter()
                    .any(|r| r.point.scalars.get("client_valid") == Some(&0.0)),
            cache: load && rows.iter().any(|r| cache_hits(&r.point).is_some()),
            resent: load && rows.iter().any(|r| resent(&r.point) > 0),
            unforced: load && rows.iter().any(|r| output_len(&r.point).is_some()),
        }
    }

    fn headers(&self, rows: &[&Row], kind: PointKind) -> Vec<String> {
        let mut h: Vec<String> = self.params.clone();
        if self.quant {
            h.push("quant".into());
        }
        if kind == PointKind::Load {
            h.extend(["ok/sent".to_string(), "failed %".to_string()]);
        } else {
            h.push("runs".into());
        }
        h.extend(self.cols.iter().map(|c| header(c, rows)));
        for (on, name) in [
            (self.rss, "peak RSS"),
            (self.dev, "peak device mem"),
            (self.valid, "valid"),
            (self.cache, "cache-free"),
            (self.resent, "re-sent"),
            (self.unforced, "output tokens mean"),
        ] {
            if on {
                h.push(name.into());
            }
        }
        h.extend(self.rest.iter().cloned());
        h
    }

    fn cells(&self, report: &Report, p: &Point) -> Vec<Cell> {
        let mut cells: Vec<Cell> = self
            .params
            .iter()
            .map(|k| Cell::text(param_str(p, k)))
            .collect();
        if self.quant {
            cells.push(Cell::text(quant(p).unwrap_or_else(|| "-".into())));
        }
        if p.kind == PointKind::Load {
            let (failed, sent) = failed_of(p);
            cells.push(Cell::num(format!("{}/{sent}", sent - failed)));
            cells.push(Cell::num(if sent > 0 {
                format!("{:.1}%", 100.0 * failed as f64 / sent as f64)
            } else {
                "-".into()
            }));
        } else {
            cells.push(Cell::num(run_count(p).to_string()));
        }
        for c in &self.cols {
            let m = metric_of(p, c.metric);
            cells.push(match report.figure(p, &m, c.stat) {
                Some(_) if beyond_timeout(p, &m, c.stat) => Cell::num(">timeout"),
                Some(f) => Cell::figure(&f, c.stat),
                None => Cell::num("-"),
            });
        }
        let bytes = |b: Option<u64>| Cell::num(b.map_or("-".into(), human_bytes));
        if self.rss {
            cells.push(bytes(p.memory.peak_rss_bytes));
        }
        if self.dev {
            cells.push(bytes(p.memory.peak_device_bytes));
        }
        if self.valid {
            let valid = p.scalars.get("client_valid") != Some(&0.0);
            cells.push(Cell::text(if valid { "yes" } else { "NO" }));
        }
        if self.cache {
            let ok = p.scalars.get("completed").copied().unwrap_or(0.0) as usize;
            cells.push(Cell::text(match cache_hits(p) {
                Some(h) => format!("NO ({h}/{ok} cached)"),
                None if p.scalars.contains_key("cache_hit_requests") => "yes".into(),
                None => "-".into(),
            }));
        }
        if self.resent {
            cells.push(Cell::num(resent(p).to_string()));
        }
        if self.unforced {
            cells.push(Cell::num(
                output_len(p).map_or("-".into(), |m| format!("{m:.1}")),
            ));
        }
        cells.extend(self.rest.iter().map(|k| Cell::text(param_str(p, k))));
        cells
    }
}

/// Measured runs of an engine point: its per-run records, or for a point imported from a
/// peer that kept only statistics (llama-bench), the runs behind them (the smallest n of
/// its per-run metrics; ITL's n counts gaps, not runs).
fn run_count(p: &Point) -> usize {
    if !p.runs.is_empty() {
        return p.runs.len();
    }
    p.summary
        .iter()
        .filter(|(k, _)| !k.starts_with("itl"))
        .map(|(_, s)| s.n)
        .min()
        .unwrap_or(0)
}

/// Requests of a level sent a second time after their kept-alive connection closed.
fn resent(p: &Point) -> u64 {
    p.scalars.get("retried_requests").copied().unwrap_or(0.0) as u64
}

/// Every table of the report, in display order; empty sections are left out.
pub fn tables(report: &Report) -> Vec<Table> {
    let engine: Vec<&Row> = report.ok(PointKind::Engine).collect();
    // LoadGen runs have a table of their own (`report::mlperf`): their figures are not a
    // load level's.
    let load: Vec<&Row> = report
        .ok(PointKind::Load)
        .filter(|r| !super::mlperf::is_loadgen(&r.point))
        .collect();
    let edge_llm: Vec<&Row> = engine
        .iter()
        .copied()
        .filter(|r| r.point.summary.contains_key(EDGE_LLM_COLS[0].metric))
        .collect();
    [
        figure_table(
            report,
            &engine,
            &ENGINE_COLS,
            "Engine runs",
            PointKind::Engine,
        ),
        figure_table(
            report,
            &edge_llm,
            &EDGE_LLM_COLS,
            EDGE_LLM_TABLE,
            PointKind::Engine,
        ),
        figure_table(report, &load, &LOAD_COLS, "Load tests", PointKind::Load),
        super::mlperf::table(report),
        super::spec::table(report),
        super::spec::load_table(report),
        super::turns::table(report),
        super::frameworks::table(report),
        super::attribution::table(report),
        quality_table(report),
        failed_table(report),
    ]
    .into_iter()
    .flatten()
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::{RequestRecord, Results};
    use std::collections::BTreeMap;

    fn request(e2e: f64, error: Option<&str>) -> RequestRecord {
        RequestRecord {
            start_s: 0.0,
            scheduled_s: Some(0.0),
            ttft_ms: error.is_none().then_some(e2e / 2.0),
            e2e_ms: Some(e2e),
            tpot_ms: None,
            itl_ms: Vec::new(),
            itl_chunk_ms: Vec::new(),
            input_tokens: 4,
            output_tokens: 4,
            server_input_tokens: None,
            server_output_tokens: None,
            http_status: None,
            error: error.map(str::to_owned),
            extra: BTreeMap::new(),
        }
    }

    /// An open-loop level of 10 requests, one failed, 3 served from the prefix cache.
    fn open_level() -> Point {
        let mut params = BTreeMap::new();
        params.insert("rate".to_string(), serde_json::json!(4.0));
        let mut p = Point::new(PointKind::Load, params);
        p.requests = (0..9)
            .map(|i| request(100.0 + f64::from(i), None))
            .collect();
        p.requests.push(request(900.0, Some("timeout")));
        let put = |p: &mut Point, name: &str, v: &[f64]| {
            let s = crate::stats::summarize(v, "ms", None).unwrap();
            p.summary.insert(name.into(), s);
        };
        put(&mut p, "ttft_ms", &[50.0; 9]);
        put(&mut p, "ttft_sched_ms", &[700.0; 9]);
        put(&mut p, "e2e_ms", &[100.0; 9]);
        put(&mut p, "e2e_sched_ms", &[750.0; 9]);
        let mut wf = vec![750.0; 9];
        wf.push(1000.0);
        put(&mut p, "e2e_with_failures_sched_ms", &wf);
        put(&mut p, "e2e_with_failures_ms", &wf);
        p.scalars.insert("completed".into(), 9.0);
        p.scalars.insert("cache_hit_requests".into(), 3.0);
        p.scalars.insert("cached_prompt_frac".into(), 0.3);
        p
    }

    #[test]
    fn edge_llm_figures_get_their_own_labelled_table() {
        let summary = |v: f64, unit: &str| crate::stats::summarize(&[v], unit, None).unwrap();
        let mut p = Point::new(PointKind::Engine, BTreeMap::new());
        p.summary
            .insert("edgellm_prefill_ms".into(), summary(21.0, "ms"));
        p.summary.insert(
            "edgellm_prefill_tok_per_s".into(),
            summary(17429.0, "tok/s"),
        );
        p.summary.insert(
            "edgellm_generation_tok_per_s".into(),
            summary(270.2, "tok/s"),
        );
        let mut results = Results::new(vec![], serde_json::json!({}));
        results.points.push(p.clone());
        let report = Report::single(&results, "r.json");
        let ts = tables(&report);
        let t = ts
            .iter()
            .find(|t| t.title == EDGE_LLM_TABLE)
            .expect("an Edge-LLM table");
        assert!(
            t.headers
                .iter()
                .any(|h| h == "Edge-LLM generation tok/s mean"),
            "{:?}",
            t.headers
        );
        assert!(crate::report::markdown::render(&report).contains("Edge-LLM's own figures"));
        // Points without the figures (other backends) get no such table.
        p.summary.clear();
        results.points = vec![p];
        let report = Report::single(&results, "r.json");
        assert!(tables(&report).iter().all(|t| t.title != EDGE_LLM_TABLE));
    }

    #[test]
    fn open_loop_tables_show_the_scheduled_figures_failures_and_cache_hits() {
        let mut results = Results::new(vec![], serde_json::json!({}));
        results.points.push(open_level());
        let report = Report::single(&results, "r.json");
        let t = &tables(&report)[0];
        let col = |name: &str| {
            let i = t.headers.iter().position(|h| h == name);
            let i = i.unwrap_or_else(|| panic!("no column {name:?} in {:?}", t.headers));
            t.rows[0][i].text.clone()
        };
        assert!(col("TTFT ms p50 (from schedule)").starts_with("700"));
        assert_eq!(col("failed %"), "10.0%");
        assert_eq!(col("ok/sent"), "9/10");
        assert_eq!(col("E2E ms p99 with failures (from schedule)"), ">timeout");
        assert_eq!(col("cache-free"), "NO (3/9 cached)");
        assert!(t.note.as_deref().unwrap().contains("scheduled send time"));
        assert!(!t.headers.iter().any(|h| h == "re-sent"), "none re-sent");
        let mut resent = open_level();
        resent.scalars.insert("retried_requests".into(), 2.0);
        let mut with = Results::new(vec![], serde_json::json!({}));
        with.points.push(resent);
        let t2 = &tables(&Report::single(&with, "r.json"))[0];
        let i = t2.headers.iter().position(|h| h == "re-sent").unwrap();
        assert_eq!(t2.rows[0][i].text, "2");
        // The same in Markdown and HTML, which render these tables.
        let md = crate::report::markdown::render(&report);
        assert!(md.contains("TTFT ms p50 (from schedule)") && md.contains(">timeout"));
        let html = crate::report::html::render(&report);
        assert!(html.contains("failed %") && html.contains("NO (3/9 cached)"));
        // Closed loop (no schedule): plain headers; a p50 among successes is a figure.
        let mut closed = open_level();
        closed.summary.retain(|k, _| !k.contains("sched"));
        closed.scalars.remove("cache_hit_requests");
        results.points = vec![closed];
        let t = &tables(&Report::single(&results, "r.json"))[0];
        assert!(
            t.headers.iter().any(|h| h == "TTFT ms p50"),
            "{:?}",
            t.headers
        );
        assert!(!t.headers.iter().any(|h| h == "cache-free"));
    }

    #[test]
    fn figures_come_before_the_rest_of_the_workload_and_warnings_are_grouped() {
        let level = |c: u32| {
            let mut p = open_level();
            for (k, v) in [
                ("concurrency", serde_json::json!(c)),
                ("salt", serde_json::json!("00ff00ff00ff00ff")),
                ("seed", serde_json::json!(0)),
                ("endpoint", serde_json::json!("completions")),
            ] {
                p.parameters.insert(k.into(), v);
            }
            p.parameters.remove("rate");
            p.key = crate::record::point_key(&p.parameters);
            p.warnings.push("the same sentence".into());
            p
        };
        let mut results = Results::new(vec![], serde_json::json!({}));
        results.points = vec![level(1), level(2)];
        let report = Report::single(&results, "r.json");
        let t = &tables(&report)[0];
        let at = |name: &str| t.headers.iter().position(|h| h.starts_with(name)).unwrap();
        assert_eq!(at("concurrency"), 0, "{:?}", t.headers);
        assert!(
            at("TTFT") < at("salt") && at("cache-free") < at("salt"),
            "{:?}",
            t.headers
        );
        assert!(at("failed %") < at("endpoint"), "{:?}", t.headers);
        let w: Vec<String> = report
            .warnings()
            .into_iter()
            .filter(|w| w.contains("the same sentence"))
            .collect();
        assert_eq!(w, ["concurrency=1; concurrency=2: the same sentence"]);
    }
}
