//! Reports: pure functions from results records to bytes (Markdown, CSV, self-contained
//! HTML with SVG charts, PNG charts) and `compare` between two results files. Nothing here
//! runs an engine or reads a results file: callers load [`Results`] and pass them in (the
//! one side effect is reading a TrueType font for chart text, see [`chart`]). Depends on
//! `record`, `stats`, `warning` (advice text), `units` and `error` only.
//!
//! Several files (shards of one sweep, or the same sweep on several devices) merge into one
//! [`Report`]: points keep their source, and when the files come from more than one device
//! a `device` parameter is added so every table and chart tells them apart.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use crate::record::{Point, PointKind, Results, Status, Summary, Tool};
use crate::stats::bootstrap;
use crate::stats::samples;

pub mod attribution;
pub mod chart;
pub mod compare;
pub mod csv;
pub mod frameworks;
pub mod gate;
pub mod html;
pub mod impact;
pub mod markdown;
pub mod mlperf;
pub mod significance;
pub mod spec;
pub mod table;
pub mod turns;

/// Default threshold on the relative half-width of a 95 % interval above which a figure is
/// shown as noisy (greyed in HTML, italic in Markdown).
pub const DEFAULT_MAX_CI: f64 = 0.05;

/// Where a group of points came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Source {
    /// The file as named on the command line (or a caller's label).
    pub file: String,
    /// Device label: the host name, with the GPU or Jetson module when there is one.
    pub device: String,
    pub tool: Tool,
    pub environment: Value,
    pub command: Vec<String>,
    pub created_unix_s: f64,
}

/// One point and the source it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub source: usize,
    pub point: Point,
}

/// One or more results files merged for rendering.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    pub sources: Vec<Source>,
    pub rows: Vec<Row>,
    /// Problems found while merging (duplicate points).
    pub notes: Vec<String>,
    /// Relative CI half-width above which a figure is marked noisy.
    pub max_ci: f64,
}

/// A statistic with its 95 % interval, ready to print.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Figure {
    pub value: f64,
    pub ci: Option<[f64; 2]>,
    /// True when the interval is wider than the threshold, or a distribution has no
    /// interval (too few samples).
    pub noisy: bool,
}

fn device_label(env: &Value, file: &str) -> String {
    let host = env.get("hostname").and_then(Value::as_str);
    let gpu = env
        .get("gpus")
        .and_then(|g| g.get(0))
        .and_then(|g| g.get("name"))
        .and_then(Value::as_str)
        .or_else(|| {
            env.get("jetson")
                .and_then(|j| j.get("module"))
                .and_then(Value::as_str)
        });
    match (host, gpu) {
        (Some(h), Some(g)) => format!("{h} ({g})"),
        (Some(h), None) => h.to_owned(),
        (None, Some(g)) => g.to_owned(),
        (None, None) => file.to_owned(),
    }
}

impl Report {
    /// A report over one results document.
    pub fn single(results: &Results, file: &str) -> Report {
        Report::merge(vec![(file.to_owned(), results.clone())])
    }

    /// Merges files given as `(label, results)`, in order. Shards of one sweep on one
    /// device simply concatenate; files from different devices get a `device` parameter.
    /// A point that appears twice for the same device keeps its last finished copy and
    /// leaves a note.
    pub fn merge(inputs: Vec<(String, Results)>) -> Report {
        let mut sources = Vec::new();
        let mut rows: Vec<Row> = Vec::new();
        let mut notes = Vec::new();
        let devices: BTreeSet<String> = inputs
            .iter()
            .map(|(f, r)| device_label(&r.environment, f))
            .collect();
        let multi = devices.len() > 1;
        let mut seen: BTreeMap<(String, String), (usize, String)> = BTreeMap::new();
        for (file, results) in inputs {
            let device = device_label(&results.environment, &file);
            let idx = sources.len();
            for mut point in results.points {
                if multi {
                    point
                        .parameters
                        .insert("device".into(), Value::String(device.clone()));
                }
                let id = (device.clone(), point.key.clone());
                if let Some((at, other)) = seen.get(&id).cloned() {
                    let keep_new =
                        point.status == Status::Ok || rows[at].point.status != Status::Ok;
                    notes.push(format!(
                        "point {} appears in both {other} and {file}; using the copy from {}",
                        point.key,
                        if keep_new { &file } else { &other }
                    ));
                    if keep_new {
                        rows[at] = Row { source: idx, point };
                        seen.insert(id, (at, file.clone()));
                    }
                    continue;
                }
                seen.insert(id, (rows.len(), file.clone()));
                rows.push(Row { source: idx, point });
            }
            sources.push(Source {
                file,
                device,
                tool: results.tool,
                environment: results.environment,
                command: results.command,
                created_unix_s: results.created_unix_s,
            });
        }
        Report {
            sources,
            rows,
            notes,
            max_ci: DEFAULT_MAX_CI,
        }
    }

    /// Finished points of one kind.
    pub fn ok(&self, kind: PointKind) -> impl Iterator<Item = &Row> {
        self.rows
            .iter()
            .filter(move |r| r.point.kind == kind && r.point.status == Status::Ok)
    }

    /// Points that failed or were skipped.
    pub fn failed(&self) -> impl Iterator<Item = &Row> {
        self.rows.iter().filter(|r| r.point.status != Status::Ok)
    }

    /// Every warning worth showing: machine advice per source, merge notes, and each
    /// point's own warnings plus those recomputed from its samples (deduplicated).
    pub fn warnings(&self) -> Vec<String> {
        let mut out = Vec::new();
        let mut seen = BTreeSet::new();
        let mut push = |s: String| {
            if seen.insert(s.clone()) {
                out.push(s);
            }
        };
        let multi = self.sources.len() > 1;
        for s in &self.sources {
            for w in crate::warning::sentences(&crate::warning::machine(&s.environment)) {
                push(if multi { format!("{}: {w}", s.file) } else { w });
            }
        }
        for n in &self.notes {
            push(n.clone());
        }
        // A point's warnings, grouped by sentence: one line per sentence naming every
        // point it concerns by what sets those points apart (the parameters that vary),
        // not by whole keys repeated on each of a dozen lines.
        let varying = varying_params(self.rows.iter());
        let order: Vec<String> = ordered_params(self.rows.iter())
            .into_iter()
            .filter(|k| varying.contains(k))
            .collect();
        let label = |p: &Point| {
            let parts: Vec<String> = order
                .iter()
                .filter(|k| p.parameters.contains_key(*k))
                .map(|k| format!("{k}={}", param_str(p, k)))
                .collect();
            if parts.is_empty() {
                p.key.clone()
            } else {
                parts.join(" ")
            }
        };
        let mut grouped: Vec<(String, Vec<String>)> = Vec::new();
        for r in &self.rows {
            let mut ws = r.point.warnings.clone();
            ws.extend(crate::warning::sentences(&crate::warning::point(&r.point)));
            for w in ws {
                let who = label(&r.point);
                match grouped.iter_mut().find(|(s, _)| *s == w) {
                    Some((_, at)) if at.contains(&who) => {}
                    Some((_, at)) => at.push(who),
                    None => grouped.push((w, vec![who])),
                }
            }
        }
        for (w, at) in grouped {
            push(format!("{}: {w}", at.join("; ")));
        }
        out
    }

    /// `stat` (`p50`, `p99`, `mean`, ...) of `metric` in `point`, with its interval: the
    /// one stored in the summary, else bootstrapped here from the raw samples (seeded, so
    /// rendering twice gives the same figures). Falls back to `point.scalars[metric]`.
    pub fn figure(&self, point: &Point, metric: &str, stat: &str) -> Option<Figure> {
        if let Some(s) = point.summary.get(metric) {
            let value = stat_of(s, stat)?;
            if !value.is_finite() {
                return None;
            }
            let ci = if stat == "p50" || stat == "p99" {
                s.ci95.get(stat).copied().or_else(|| {
                    let q = if stat == "p50" { 0.5 } else { 0.99 };
                    let raw = samples::raw(point, metric)?;
                    bootstrap::quantile_ci(
                        &raw,
                        q,
                        bootstrap::LEVEL,
                        bootstrap::RESAMPLES,
                        bootstrap::DEFAULT_SEED,
                    )
                })
            } else {
                None
            };
            let q = match stat {
                "p50" => Some(0.5),
                "p90" => Some(0.9),
                "p95" => Some(0.95),
                "p99" => Some(0.99),
                _ => None,
            };
            // Fewer than one sample expected beyond the quantile: the figure is an
            // interpolation between the largest observations, and the bootstrap cannot
            // see how far off it is (its interval is then too narrow), so flag it anyway.
            let too_few_for_tail = q.is_some_and(|q: f64| (s.n as f64) * (1.0 - q) < 1.0);
            let noisy = too_few_for_tail
                || match ci {
                    Some(ci) => bootstrap::relative_half_width(ci, value) > self.max_ci,
                    // A percentile from too few samples to bound is not to be trusted either.
                    None => stat == "p50" || stat == "p99",
                };
            return Some(Figure { value, ci, noisy });
        }
        point
            .scalars
            .get(metric)
            .filter(|v| v.is_finite())
            .map(|&value| Figure {
                value,
                ci: None,
                noisy: false,
            })
    }
}

/// A named statistic of a summary.
pub fn stat_of(s: &Summary, stat: &str) -> Option<f64> {
    Some(match stat {
        "n" => s.n as f64,
        "mean" => s.mean,
        "stddev" => s.stddev,
        "min" => s.min,
        "p50" => s.p50,
        "p90" => s.p90,
        "p95" => s.p95,
        "p99" => s.p99,
        "max" => s.max,
        _ => return None,
    })
}

/// Parameters that say what a row is (what ran, its shape), before every other parameter
/// in tables and labels; `table` shows them before the figures and the rest after.
pub const KEY_PARAMS: [&str; 13] = [
    "device",
    "framework",
    "engine",
    "model",
    "backend",
    "quant",
    "batch",
    "isl",
    "osl",
    "concurrency",
    "rate",
    "depth",
    "cuda_graphs",
];

/// Parameter columns in a readable order: identity first, then shape, then the rest.
pub fn ordered_params<'a>(rows: impl Iterator<Item = &'a Row>) -> Vec<String> {
    let all: BTreeSet<String> = rows
        .flat_map(|r| r.point.parameters.keys().cloned())
        .collect();
    let mut out: Vec<String> = KEY_PARAMS
        .iter()
        .filter(|k| all.contains(**k))
        .map(|k| k.to_string())
        .collect();
    out.extend(
        all.into_iter()
            .filter(|k| !KEY_PARAMS.contains(&k.as_str())),
    );
    out
}

/// Parameters whose value differs between the given rows.
pub fn varying_params<'a>(rows: impl Iterator<Item = &'a Row> + Clone) -> BTreeSet<String> {
    let keys: BTreeSet<String> = rows
        .clone()
        .flat_map(|r| r.point.parameters.keys().cloned())
        .collect();
    keys.into_iter()
        .filter(|k| {
            let vals: BTreeSet<String> = rows.clone().map(|r| param_str(&r.point, k)).collect();
            vals.len() > 1
        })
        .collect()
}

/// A parameter as text (`-` when absent); strings unquoted.
pub fn param_str(p: &Point, key: &str) -> String {
    match p.parameters.get(key) {
        None | Some(Value::Null) => "-".into(),
        Some(Value::String(s)) => s.clone(),
        Some(v) => v.to_string(),
    }
}

/// A numeric parameter.
pub fn param_f64(p: &Point, key: &str) -> Option<f64> {
    match p.parameters.get(key)? {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.parse().ok(),
        Value::Bool(b) => Some(f64::from(u8::from(*b))),
        _ => None,
    }
}

/// Engine quantisation from the manifest (`quant`) or the parameters.
pub fn quant(p: &Point) -> Option<String> {
    p.parameters
        .get("quant")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .or_else(|| {
            p.engine
                .as_ref()?
                .get("quant")
                .and_then(Value::as_str)
                .map(str::to_owned)
        })
}

/// Engine size on disk: the sum of the manifest's file sizes.
pub fn engine_bytes(p: &Point) -> Option<u64> {
    let files = p.engine.as_ref()?.get("files")?.as_array()?;
    let total: u64 = files
        .iter()
        .filter_map(|f| f.get("bytes").and_then(Value::as_u64))
        .sum();
    (total > 0).then_some(total)
}

/// A number with precision that suits its size (3–4 significant digits).
pub fn fmt_num(v: f64) -> String {
    let a = v.abs();
    if !v.is_finite() {
        "-".into()
    } else if a >= 1000.0 {
        format!("{v:.0}")
    } else if a >= 100.0 {
        format!("{v:.1}")
    } else if a >= 10.0 {
        format!("{v:.2}")
    } else {
        format!("{v:.3}")
    }
}

/// Relative half-width of an interval as `±1.2%`; an interval as wide as the figure
/// itself as its bounds, `[12.3, 456.7]` (a ± of 100% or more would reach below zero,
/// which no latency or rate can).
pub fn fmt_ci_rel(f: &Figure) -> Option<String> {
    let ci = f.ci?;
    let r = bootstrap::relative_half_width(ci, f.value);
    Some(if r.is_finite() && r < 1.0 {
        format!("±{:.1}%", r * 100.0)
    } else {
        format!("[{}, {}]", fmt_num(ci[0]), fmt_num(ci[1]))
    })
}

/// Short human name of a metric for column headers.
pub fn metric_label(metric: &str) -> String {
    match metric {
        "prefill_tok_per_s" => "prefill tok/s".into(),
        "decode_tok_per_s" => "decode tok/s".into(),
        "output_tok_per_s" => "output tok/s".into(),
        "requests_per_s" => "req/s".into(),
        "prefill_ms" => "prefill ms".into(),
        "ttft_ms" => "TTFT ms".into(),
        "tpot_ms" => "TPOT ms".into(),
        "itl_ms" => "ITL ms".into(),
        "e2e_ms" => "E2E ms".into(),
        "tok_per_j" => "tok/J".into(),
        "j_per_tok" => "J/tok".into(),
        "energy_j" => "energy J".into(),
        "edgellm_prefill_ms" => "Edge-LLM prefill ms".into(),
        "edgellm_prefill_tok_per_s" => "Edge-LLM prefill tok/s".into(),
        "edgellm_generation_tok_per_s" => "Edge-LLM generation tok/s".into(),
        other => other.replace('_', " "),
    }
}

/// A text description of a source's machine, one line.
pub fn describe_env(env: &Value) -> String {
    let s = |k: &str| env.get(k).and_then(Value::as_str).map(str::to_owned);
    let mut parts = Vec::new();
    if let Some(c) = s("cpu_model") {
        let cores = env
            .get("cpu_logical_cores")
            .and_then(Value::as_u64)
            .map(|n| format!(" ×{n}"))
            .unwrap_or_default();
        parts.push(format!("{c}{cores}"));
    }
    if let Some(g) = env.get("gpus").and_then(Value::as_array) {
        for gpu in g {
            if let Some(n) = gpu.get("name").and_then(Value::as_str) {
                parts.push(n.to_owned());
            }
        }
    }
    if let Some(j) = env.get("jetson") {
        if let Some(m) = j.get("module").and_then(Value::as_str) {
            let mode = j
                .get("power_mode")
                .and_then(Value::as_str)
                .map(|m| format!(", {m}"))
                .unwrap_or_default();
            parts.push(format!("{m}{mode}"));
        }
    }
    if let Some(b) = env.get("ram_total_bytes").and_then(Value::as_u64) {
        parts.push(format!("{} RAM", crate::units::human_bytes(b)));
    }
    if let Some(o) = s("os") {
        parts.push(o);
    }
    if let Some(k) = s("kernel") {
        parts.push(format!("Linux {k}"));
    }
    if let Some(v) = s("trtbench_version") {
        let c = s("trtbench_git_commit")
            .map(|c| format!(" ({})", &c[..c.len().min(10)]))
            .unwrap_or_default();
        parts.push(format!("trtbench {v}{c}"));
    }
    if parts.is_empty() {
        "(no environment recorded)".into()
    } else {
        parts.join(" · ")
    }
}

/// The Markdown summary of one results document (what `sweep` prints at the end). The
/// module of the same name renders merged reports.
pub fn markdown(results: &Results) -> String {
    markdown::render(&Report::single(results, "results"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals_wider_than_the_figure_print_their_bounds() {
        let f = |value: f64, ci: [f64; 2]| Figure {
            value,
            ci: Some(ci),
            noisy: false,
        };
        assert_eq!(fmt_ci_rel(&f(100.0, [95.0, 105.0])).unwrap(), "±5.0%");
        // 156.9 with [120, 1420]: ±402.9% would imply negative latencies.
        assert_eq!(
            fmt_ci_rel(&f(156.9, [120.0, 1420.0])).unwrap(),
            "[120.0, 1420]"
        );
        assert_eq!(fmt_ci_rel(&f(0.0, [0.0, 3.0])).unwrap(), "[0.000, 3.000]");
    }
}
