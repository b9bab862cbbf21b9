//! `compare`: matches the points of two results files by their parameters, and for every
//! metric both sides measured reports the ratio of medians, a 95 % bootstrap interval of
//! that ratio, and a two-sided Mann–Whitney U test on the raw samples (per run for engine
//! points, pooled gaps for ITL, per request for load points). Like criterion.rs, a change
//! must be both statistically significant (p < α) and larger than a noise floor to count
//! as improved or regressed; `--fail-if-slower` turns significant regressions beyond a
//! threshold into a failing exit code for CI. Depends on `record`, `stats` and
//! [`super::significance`].
//!
//! Caveats: pooled ITL gaps within one run are correlated, so their p-values are too small;
//! the noise floor and the threshold are the guard. With fewer than 4 samples per side no
//! two-sided U test can reach p < 0.05 (the smallest exact p for 3 vs 3 is 0.1), so such
//! points are reported but never fail the gate.

use std::collections::BTreeSet;

use crate::record::{Point, Results, Status};
use crate::stats::bootstrap;
use crate::stats::median;
use crate::stats::samples::{better, raw, Better};

use super::significance::mann_whitney;
use super::{fmt_num, stat_of};

/// Thresholds of a comparison.
#[derive(Debug, Clone, PartialEq)]
pub struct Options {
    /// Relative change below which a significant difference is still called noise
    /// (criterion.rs's `noise_threshold`, default 1 %; LLM runs on shared machines are
    /// noisier, so 2 % here).
    pub noise: f64,
    /// Significance level of the U test.
    pub alpha: f64,
    /// Fail when a metric is significantly worse by more than this fraction.
    pub fail_if_slower: Option<f64>,
    /// Only these metrics (all when empty).
    pub metrics: Vec<String>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            noise: 0.02,
            alpha: 0.05,
            fail_if_slower: None,
            metrics: Vec::new(),
        }
    }
}

/// What a change amounts to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Improved,
    Regressed,
    /// Significant, but smaller than the noise floor.
    WithinNoise,
    /// Not significant at α.
    NoChange,
    /// Significant and beyond the noise floor, but the metric has no known good direction.
    Changed,
    /// No raw samples on one side (a scalar, or a summary without runs): ratio only.
    Untested,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Improved => "improved",
            Verdict::Regressed => "REGRESSED",
            Verdict::WithinNoise => "within noise",
            Verdict::NoChange => "no change",
            Verdict::Changed => "changed",
            Verdict::Untested => "untested",
        }
    }
}

/// One metric of one matched point.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    pub point: String,
    pub metric: String,
    pub base: f64,
    pub new: f64,
    pub n_base: usize,
    pub n_new: usize,
    /// new / base.
    pub ratio: f64,
    pub ratio_ci: Option<[f64; 2]>,
    pub p: Option<f64>,
    /// Fraction by which the metric got worse (negative = better); `None` without a direction.
    pub worse_by: Option<f64>,
    pub verdict: Verdict,
    /// This change alone fails `--fail-if-slower`.
    pub fails_gate: bool,
}

/// The whole comparison.
#[derive(Debug, Clone, PartialEq)]
pub struct Comparison {
    pub changes: Vec<Change>,
    pub only_in_base: Vec<String>,
    pub only_in_new: Vec<String>,
    /// Points matched by key but not finished on both sides.
    pub not_comparable: Vec<String>,
    /// Points finished in the base that the new file lost (missing, errored or skipped),
    /// with what became of them; each fails `--fail-if-slower`.
    pub lost: Vec<(String, String)>,
    pub options: Options,
}

impl Comparison {
    /// True when `--fail-if-slower` is set and something fails it: a metric significantly
    /// worse beyond the threshold, a single-valued figure (throughput, goodput,
    /// perplexity) worse beyond it, a load level with more failures, or a lost point.
    pub fn failed(&self) -> bool {
        self.options.fail_if_slower.is_some() && !self.gate_failures().is_empty()
    }

    /// Every reason the gate fails, one phrase each (empty when it passes).
    pub fn gate_failures(&self) -> Vec<String> {
        let lost = self
            .lost
            .iter()
            .map(|(key, what)| format!("{key} {what} in new"));
        let worse = self.changes.iter().filter(|x| x.fails_gate).map(|x| {
            if x.metric == FAILURE_RATE {
                format!(
                    "{} failure rate rose from {:.1}% to {:.1}%",
                    x.point, x.base, x.new
                )
            } else if is_failure_count(&x.metric) {
                format!("{} {} rose from {} to {}", x.point, x.metric, x.base, x.new)
            } else {
                format!(
                    "{} {} ({} worse)",
                    x.point,
                    x.metric,
                    pct(x.worse_by.unwrap_or(0.0))
                )
            }
        });
        lost.chain(worse).collect()
    }

    /// Number of points present and finished in both files.
    pub fn matched_points(&self) -> usize {
        self.changes
            .iter()
            .map(|c| c.point.as_str())
            .collect::<BTreeSet<_>>()
            .len()
    }
}

fn ok_points(r: &Results) -> impl Iterator<Item = &Point> {
    r.points.iter()
}

/// Compares `new` against `base`.
pub fn compare(base: &Results, new: &Results, options: &Options) -> Comparison {
    let mut changes = Vec::new();
    let mut only_in_base = Vec::new();
    let mut not_comparable = Vec::new();
    let mut lost = Vec::new();
    for bp in ok_points(base) {
        let Some(np) = new
            .points
            .iter()
            .find(|p| p.key == bp.key && p.kind == bp.kind)
        else {
            only_in_base.push(bp.key.clone());
            if bp.status == Status::Ok {
                lost.push((bp.key.clone(), "is missing".to_string()));
            }
            continue;
        };
        if bp.status != Status::Ok || np.status != Status::Ok {
            not_comparable.push(bp.key.clone());
            if bp.status == Status::Ok {
                let what = match np.status {
                    Status::Skipped => "was skipped",
                    _ => "failed",
                };
                let why = np.error.as_deref().unwrap_or("no message");
                lost.push((bp.key.clone(), format!("{what} ({why})")));
            }
            continue;
        }
        changes.extend(compare_point(bp, np, options));
    }
    let only_in_new = new
        .points
        .iter()
        .filter(|np| {
            !base
                .points
                .iter()
                .any(|bp| bp.key == np.key && bp.kind == np.kind)
        })
        .map(|p| p.key.clone())
        .collect();
    Comparison {
        changes,
        only_in_base,
        only_in_new,
        not_comparable,
        lost,
        options: options.clone(),
    }
}

const ORDER: [&str; 9] = [
    "decode_tok_per_s",
    "prefill_tok_per_s",
    "output_tok_per_s",
    "requests_per_s",
    "ttft_ms",
    "tpot_ms",
    "itl_ms",
    "e2e_ms",
    "prefill_ms",
];

fn compare_point(b: &Point, n: &Point, o: &Options) -> Vec<Change> {
    let mut metrics: Vec<String> = b
        .summary
        .keys()
        .filter(|k| n.summary.contains_key(*k))
        .chain(b.scalars.keys().filter(|k| n.scalars.contains_key(*k)))
        .cloned()
        .collect::<BTreeSet<_>>()
        .into_iter()
        .filter(|m| o.metrics.is_empty() || o.metrics.iter().any(|x| x == m))
        .collect();
    // Open loop: latency counts from the scheduled send, so client-side queueing is in
    // it; the actual-send figure would hide a server that fell behind the schedule.
    // Percentiles "with failures" mix latency and failure rate, each gated on its own.
    if o.metrics.is_empty() {
        let both = |m: &str| b.summary.contains_key(m) && n.summary.contains_key(m);
        metrics.retain(|m| !both(&format!("{}_sched_ms", m.trim_end_matches("_ms"))));
        metrics.retain(|m| !m.contains("_with_failures"));
    }
    metrics.sort_by_key(|m| {
        (
            ORDER.iter().position(|x| x == m).unwrap_or(ORDER.len()),
            m.clone(),
        )
    });
    metrics
        .into_iter()
        .filter_map(|m| compare_metric(b, n, &m, o))
        .collect()
}

/// Fewest windows per side for which a load level's throughput is tested on its
/// per-window samples (with fewer, a U test has little power and the level's single
/// total is compared against the threshold instead).
pub const MIN_WINDOWS: usize = 8;

/// The samples `metric` is tested on: a point's per-window samples when both sides have
/// enough of them (`record::Point::samples`), else the raw per-run / per-request samples.
fn samples(b: &Point, n: &Point, metric: &str) -> (Option<Vec<f64>>, Option<Vec<f64>>) {
    let windows = |p: &Point| {
        p.samples
            .get(metric)
            .filter(|w| w.len() >= MIN_WINDOWS)
            .cloned()
    };
    match (windows(b), windows(n)) {
        (Some(wb), Some(wn)) => (Some(wb), Some(wn)),
        _ => (raw(b, metric), raw(n, metric)),
    }
}

fn compare_metric(b: &Point, n: &Point, metric: &str, o: &Options) -> Option<Change> {
    let (rb, rn) = samples(b, n, metric);
    let (base, new, n_base, n_new, test) = match (&rb, &rn) {
        (Some(xb), Some(xn)) => (median(xb), median(xn), xb.len(), xn.len(), true),
        _ => {
            let pick = |p: &Point| {
                p.summary
                    .get(metric)
                    .and_then(|s| stat_of(s, "p50"))
                    .or_else(|| p.scalars.get(metric).copied())
            };
            let count = |p: &Point| p.summary.get(metric).map_or(1, |s| s.n);
            (pick(b)?, pick(n)?, count(b), count(n), false)
        }
    };
    if !(base.is_finite() && new.is_finite()) {
        return None;
    }
    let ratio = if base != 0.0 { new / base } else { f64::NAN };
    let change = ratio - 1.0;
    if is_failure_count(metric) {
        // Counts compare only where a side lacks the rate (older files): with both rates
        // known, a level that sent more requests may fail more without getting worse.
        let rates = b.scalars.contains_key(FAILURE_RATE) && n.scalars.contains_key(FAILURE_RATE);
        let gated = metric == FAILURE_RATE || !rates;
        return Some(failure_change(b, metric, base, new, o, gated));
    }
    let dir = better(metric);
    let worse_by = dir.map(|d| match d {
        Better::Lower => change,
        Better::Higher => -change,
    });
    let (p, ratio_ci) = if test {
        let (xb, xn) = (rb.as_deref().unwrap_or(&[]), rn.as_deref().unwrap_or(&[]));
        (
            mann_whitney(xb, xn).map(|r| r.p),
            bootstrap::median_ratio_ci(
                xb,
                xn,
                bootstrap::LEVEL,
                bootstrap::RESAMPLES,
                bootstrap::DEFAULT_SEED,
            ),
        )
    } else {
        (None, None)
    };
    let verdict = match p {
        None => Verdict::Untested,
        Some(p) if p >= o.alpha => Verdict::NoChange,
        Some(_) if !change.is_finite() || change.abs() < o.noise => Verdict::WithinNoise,
        Some(_) => match worse_by {
            None => Verdict::Changed,
            Some(w) if w > 0.0 => Verdict::Regressed,
            Some(_) => Verdict::Improved,
        },
    };
    // A single value per side (level throughput, goodput, perplexity) cannot be tested;
    // being worse beyond the threshold fails the gate on its own.
    let fails_gate = match (o.fail_if_slower, worse_by) {
        (Some(t), Some(w)) if verdict == Verdict::Untested => w > t.max(o.noise),
        (Some(t), Some(w)) => verdict == Verdict::Regressed && w > t,
        _ => false,
    };
    Some(Change {
        point: b.key.clone(),
        metric: metric.to_owned(),
        base,
        new,
        n_base,
        n_new,
        ratio,
        ratio_ci,
        p,
        worse_by,
        verdict,
        fails_gate,
    })
}

/// A load level's failed requests per request sent, in percent (`client::aggregate`).
const FAILURE_RATE: &str = "failure_pct";

/// `failure_pct`, `failed` and `failed_<kind>` scalars of a load level: any rise is worse.
fn is_failure_count(metric: &str) -> bool {
    metric == FAILURE_RATE || metric == "failed" || metric.starts_with("failed_")
}

/// A failure figure compared: more failures in the new file is a regression of any size
/// (and fails the gate when `gated`).
fn failure_change(
    b: &Point,
    metric: &str,
    base: f64,
    new: f64,
    o: &Options,
    gated: bool,
) -> Change {
    let worse_by = if base > 0.0 {
        new / base - 1.0
    } else if new > 0.0 {
        f64::INFINITY
    } else {
        0.0
    };
    let verdict = match new.partial_cmp(&base) {
        Some(std::cmp::Ordering::Greater) => Verdict::Regressed,
        Some(std::cmp::Ordering::Less) => Verdict::Improved,
        _ => Verdict::NoChange,
    };
    Change {
        point: b.key.clone(),
        metric: metric.to_owned(),
        base,
        new,
        n_base: 1,
        n_new: 1,
        ratio: if base != 0.0 { new / base } else { f64::NAN },
        ratio_ci: None,
        p: None,
        worse_by: Some(worse_by),
        verdict,
        fails_gate: gated && o.fail_if_slower.is_some() && verdict == Verdict::Regressed,
    }
}

fn pct(x: f64) -> String {
    if x.is_finite() {
        format!("{:+.1}%", x * 100.0)
    } else {
        "-".into()
    }
}

/// The comparison as a Markdown table with a closing verdict line.
pub fn render(c: &Comparison) -> String {
    let mut out = super::markdown::table(&changes_table(c));
    out.push_str(&format!(
        "\nchange: new median / base median − 1; CI: {}; p: two-sided Mann–Whitney U test \
         (Mann & Whitney 1947). A change counts when p < {} and |change| ≥ {:.1}% (noise floor).\n",
        bootstrap::METHOD,
        c.options.alpha,
        c.options.noise * 100.0
    ));
    for (label, list) in [
        ("only in base", &c.only_in_base),
        ("only in new", &c.only_in_new),
        ("not finished on both sides", &c.not_comparable),
    ] {
        if !list.is_empty() {
            out.push_str(&format!("{label}: {}\n", list.join("; ")));
        }
    }
    let regressed = c
        .changes
        .iter()
        .filter(|x| x.verdict == Verdict::Regressed)
        .count();
    let improved = c
        .changes
        .iter()
        .filter(|x| x.verdict == Verdict::Improved)
        .count();
    out.push_str(&format!(
        "{} point(s) matched, {} metric(s) compared: {improved} improved, {regressed} regressed.\n",
        c.matched_points(),
        c.changes.len()
    ));
    if let Some(t) = c.options.fail_if_slower {
        out.push_str(&gate_line(c, t));
    }
    out
}

/// One row per metric of each matched point.
fn changes_table(c: &Comparison) -> super::table::Table {
    use super::table::{Cell, Table};
    let cell = |s: String, numeric: bool| Cell {
        text: s,
        noisy: false,
        title: None,
        numeric,
    };
    let rows = c
        .changes
        .iter()
        .map(|ch| {
            vec![
                cell(ch.point.clone(), false),
                cell(ch.metric.clone(), false),
                cell(format!("{} (n={})", fmt_num(ch.base), ch.n_base), true),
                cell(format!("{} (n={})", fmt_num(ch.new), ch.n_new), true),
                cell(pct(ch.ratio - 1.0), true),
                cell(
                    ch.ratio_ci
                        .map(|[lo, hi]| format!("{} … {}", pct(lo - 1.0), pct(hi - 1.0)))
                        .unwrap_or_else(|| "-".into()),
                    true,
                ),
                cell(
                    ch.p.map(|p| format!("{p:.3}"))
                        .unwrap_or_else(|| "-".into()),
                    true,
                ),
                cell(
                    if ch.fails_gate {
                        format!("{} (fails gate)", ch.verdict.as_str())
                    } else {
                        ch.verdict.as_str().to_owned()
                    },
                    false,
                ),
            ]
        })
        .collect();
    Table {
        title: String::new(),
        headers: [
            "point",
            "metric",
            "base p50",
            "new p50",
            "change",
            "95% CI of change",
            "p",
            "verdict",
        ]
        .map(String::from)
        .to_vec(),
        rows,
        note: None,
    }
}

/// The `--fail-if-slower` verdict at threshold `t`, naming each reason it fails.
fn gate_line(c: &Comparison, t: f64) -> String {
    let fails = c.gate_failures();
    if fails.is_empty() {
        format!(
            "gate: PASS (no regression beyond {:.1}%, no lost point, no new failure)\n",
            t * 100.0
        )
    } else {
        format!(
            "gate: FAIL (threshold {:.1}%): {}\n",
            t * 100.0,
            fails.join("; ")
        )
    }
}

/// The comparison, machine-readable (`compare --json`): every change with its verdict,
/// the points on one side only, the lost points and the gate's outcome.
pub fn to_json(c: &Comparison) -> serde_json::Value {
    use serde_json::json;
    let num = |x: f64| if x.is_finite() { json!(x) } else { json!(null) };
    let changes: Vec<serde_json::Value> = c
        .changes
        .iter()
        .map(|x| {
            json!({
                "point": x.point,
                "metric": x.metric,
                "base": num(x.base),
                "new": num(x.new),
                "n_base": x.n_base,
                "n_new": x.n_new,
                "ratio": num(x.ratio),
                "ratio_ci95": x.ratio_ci.map(|[a, b]| json!([num(a), num(b)])),
                "p": x.p,
                "worse_by": x.worse_by.map(num),
                "verdict": x.verdict.as_str().to_lowercase(),
                "fails_gate": x.fails_gate,
            })
        })
        .collect();
    let lost: Vec<serde_json::Value> = c
        .lost
        .iter()
        .map(|(k, what)| json!({"point": k, "what": what}))
        .collect();
    json!({
        "options": {
            "noise": c.options.noise,
            "alpha": c.options.alpha,
            "fail_if_slower": c.options.fail_if_slower,
            "metrics": c.options.metrics,
        },
        "matched_points": c.matched_points(),
        "changes": changes,
        "only_in_base": c.only_in_base,
        "only_in_new": c.only_in_new,
        "not_comparable": c.not_comparable,
        "lost": lost,
        "gate": c.options.fail_if_slower.map(|t| json!({
            "threshold": t,
            "passed": !c.failed(),
            "failures": c.gate_failures(),
        })),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::PointKind;
    use std::collections::BTreeMap;

    fn point(key: &str, kind: PointKind, scalars: &[(&str, f64)]) -> Point {
        let mut params = BTreeMap::new();
        params.insert("k".to_string(), serde_json::json!(key));
        let mut p = Point::new(kind, params);
        p.scalars = scalars.iter().map(|(k, v)| (k.to_string(), *v)).collect();
        p
    }

    fn results(points: Vec<Point>) -> Results {
        let mut r = Results::new(vec![], serde_json::json!({}));
        r.points = points;
        r
    }

    fn gate() -> Options {
        Options {
            fail_if_slower: Some(0.05),
            ..Options::default()
        }
    }

    #[test]
    fn lost_points_fail_the_gate() {
        let base = results(vec![
            point("a", PointKind::Engine, &[("kv_bytes_per_token", 1.0)]),
            point("b", PointKind::Engine, &[("kv_bytes_per_token", 1.0)]),
            point("c", PointKind::Engine, &[("kv_bytes_per_token", 1.0)]),
        ]);
        let mut b_err = point("b", PointKind::Engine, &[]);
        b_err.status = Status::Error;
        b_err.error = Some("boom".into());
        let new = results(vec![
            point("a", PointKind::Engine, &[("kv_bytes_per_token", 1.0)]),
            b_err,
        ]);
        let c = compare(&base, &new, &gate());
        assert!(c.failed());
        let f = c.gate_failures().join("; ");
        assert!(
            f.contains("k=b failed (boom)") && f.contains("k=c is missing"),
            "{f}"
        );
        // Without the gate the same comparison reports but does not fail.
        assert!(!compare(&base, &new, &Options::default()).failed());
        // Identical files pass.
        assert!(!compare(&base, &base, &gate()).failed());
    }

    #[test]
    fn single_values_and_failures_fail_the_gate() {
        let level = |tok: f64, good: f64, failed: f64| {
            point(
                "l",
                PointKind::Load,
                &[
                    ("output_tok_per_s", tok),
                    ("goodput_req_per_s", good),
                    ("failed", failed),
                ],
            )
        };
        let base = results(vec![level(100.0, 10.0, 0.0)]);
        for (new, what) in [
            (level(90.0, 10.0, 0.0), "output_tok_per_s (+10.0% worse)"),
            (level(100.0, 9.0, 0.0), "goodput_req_per_s"),
            (level(100.0, 10.0, 1.0), "failed rose from 0 to 1"),
        ] {
            let c = compare(&base, &results(vec![new]), &gate());
            let f = c.gate_failures().join("; ");
            assert!(c.failed() && f.contains(what), "{what}: {f}");
        }
        // Within the threshold: passes.
        let c = compare(&base, &results(vec![level(97.0, 10.0, 0.0)]), &gate());
        assert!(!c.failed(), "{:?}", c.gate_failures());
        let ppl = |v: f64| results(vec![point("q", PointKind::Quality, &[("perplexity", v)])]);
        assert!(compare(&ppl(10.0), &ppl(11.0), &gate()).failed());
        assert!(!compare(&ppl(10.0), &ppl(9.0), &gate()).failed());
        let j = to_json(&compare(&ppl(10.0), &ppl(11.0), &gate()));
        assert_eq!(j["gate"]["passed"], false);
        assert_eq!(j["changes"][0]["metric"], "perplexity");
    }

    fn windows(key: &str, tok: &[f64], failure_pct: f64, failed: f64) -> Point {
        let mut p = point(
            key,
            PointKind::Load,
            &[
                ("output_tok_per_s", median(tok)),
                ("failure_pct", failure_pct),
                ("failed", failed),
            ],
        );
        p.samples.insert("output_tok_per_s".into(), tok.to_vec());
        p
    }

    #[test]
    fn load_throughput_is_tested_on_its_windows() {
        let jitter =
            |level: f64| -> Vec<f64> { (0..12).map(|i| level + f64::from(i % 5) - 2.0).collect() };
        let base = results(vec![windows("l", &jitter(100.0), 1.0, 1.0)]);
        let slower = results(vec![windows("l", &jitter(85.0), 1.0, 1.0)]);
        let c = compare(&base, &slower, &gate());
        let tok = c.changes.iter().find(|x| x.metric == "output_tok_per_s");
        let tok = tok.expect("output_tok_per_s compared");
        assert_eq!((tok.n_base, tok.n_new), (12, 12), "per-window samples");
        assert!(tok.p.unwrap() < 0.001 && tok.ratio_ci.is_some(), "{tok:?}");
        assert_eq!(tok.verdict, Verdict::Regressed);
        assert!(c.failed(), "{:?}", c.gate_failures());
        // The same level again, jitter shuffled: a real test, and no change.
        let mut again = jitter(100.0);
        again.reverse();
        let c = compare(
            &base,
            &results(vec![windows("l", &again, 1.0, 1.0)]),
            &gate(),
        );
        let tok = c.changes.iter().find(|x| x.metric == "output_tok_per_s");
        assert_eq!(tok.unwrap().verdict, Verdict::NoChange);
        assert!(!c.failed(), "{:?}", c.gate_failures());
        // Too few windows on a side: the level's single figure against the threshold.
        let short = results(vec![windows("l", &[85.0; 3], 1.0, 1.0)]);
        let c = compare(&base, &short, &gate());
        let tok = c.changes.iter().find(|x| x.metric == "output_tok_per_s");
        assert_eq!(tok.unwrap().verdict, Verdict::Untested);
        assert!(c.failed());
    }

    #[test]
    fn the_gate_follows_the_failure_rate() {
        let tok = [100.0; 12];
        let base = results(vec![windows("l", &tok, 1.0, 2.0)]);
        // More failures, but more requests sent: the same rate passes.
        let c = compare(&base, &results(vec![windows("l", &tok, 1.0, 4.0)]), &gate());
        assert!(!c.failed(), "{:?}", c.gate_failures());
        let c = compare(&base, &results(vec![windows("l", &tok, 2.5, 2.0)]), &gate());
        let f = c.gate_failures().join("; ");
        assert!(f.contains("failure rate rose from 1.0% to 2.5%"), "{f}");
    }
}
