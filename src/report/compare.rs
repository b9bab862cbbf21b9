//! `compare`: matches the points of two results files by their parameters, and for every
//! metric both sides measured reports the ratio of medians, a 95 % bootstrap interval of
//! that ratio, and a two-sided Mann–Whitney U test on the raw samples (per run for engine
//! points, pooled gaps for ITL, per request for load points). Like criterion.rs, a change
//! must be both statistically significant (p < α) and larger than a noise floor to count
//! as improved or regressed; `--fail-if-slower` turns significant regressions beyond a
//! threshold into a failing exit code for CI. Depends on `record`, `stats` and
//! [`super::significance`].
//!
//! Only figures of merit gate (`figure_of_merit`): client diagnostics and derived
//! speed-of-light figures are reported beside them. Where the samples are too few for any
//! ordering of them to reach p < α (3 vs 3 cannot go below p = 0.1), or a side has one
//! value, the verdict is "untestable", never "no change", and `--untestable
//! threshold|pass|fail` says what the gate does with it.
//!
//! Caveat: pooled ITL gaps within one run are correlated, so their p-values are too small;
//! the noise floor and the threshold are the guard.

use std::collections::BTreeSet;

use crate::record::{portable_key, Point, Results, Status};
use crate::stats::bootstrap;
use crate::stats::median;
use crate::stats::samples::{better, raw, Better};

pub use super::gate::UntestablePolicy;
use super::gate::{
    figure_of_merit, is_failure_count, min_p, samples_needed, windows_fit, FAILURE_RATE,
};
use super::significance::mann_whitney;
use super::stat_of;

mod render;
pub use render::{render, to_json};

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
    /// What the gate does with a figure of merit it cannot test.
    pub untestable: UntestablePolicy,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            noise: 0.02,
            alpha: 0.05,
            fail_if_slower: None,
            metrics: Vec::new(),
            untestable: UntestablePolicy::default(),
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
    /// The samples cannot show a change at α: one value per side (a level's total, a
    /// perplexity, a summary without runs; `need: None`), or too few samples for the U
    /// test to reach p < α however different they are (`need`: samples per side that
    /// could). Never reported as "no change": the test could not see.
    Untestable {
        need: Option<usize>,
    },
}

impl Verdict {
    pub fn as_str(self) -> String {
        match self {
            Verdict::Improved => "improved".into(),
            Verdict::Regressed => "REGRESSED".into(),
            Verdict::WithinNoise => "within noise".into(),
            Verdict::NoChange => "no change".into(),
            Verdict::Changed => "changed".into(),
            Verdict::Untestable { need: None } => "untestable (one value per side)".into(),
            Verdict::Untestable { need: Some(n) } => format!("untestable (need n ≥ {n})"),
        }
    }

    /// Short machine-readable name (`compare --json`).
    pub fn name(self) -> &'static str {
        match self {
            Verdict::Improved => "improved",
            Verdict::Regressed => "regressed",
            Verdict::WithinNoise => "within_noise",
            Verdict::NoChange => "no_change",
            Verdict::Changed => "changed",
            Verdict::Untestable { .. } => "untestable",
        }
    }
}

/// One metric of one matched point.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    pub point: String,
    pub metric: String,
    /// Which statistic `base` and `new` are: `p50` of the samples, or the point's single
    /// `value` (a level's total throughput, a perplexity); the same one `report` shows.
    pub stat: &'static str,
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
    /// LoadGen runs of both files side by side (`report::mlperf::compare_table`).
    pub loadgen: Option<super::table::Table>,
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
            if x.metric == LOADGEN_VALID {
                format!("{} LoadGen's verdict went from VALID to INVALID", x.point)
            } else if x.metric == FAILURE_RATE {
                format!(
                    "{} failure rate rose from {:.1}% to {:.1}%",
                    x.point, x.base, x.new
                )
            } else if is_failure_count(&x.metric) {
                format!("{} {} rose from {} to {}", x.point, x.metric, x.base, x.new)
            } else if matches!(x.verdict, Verdict::Untestable { .. })
                && self.options.untestable == UntestablePolicy::Fail
            {
                format!(
                    "{} {} {} (--untestable fail)",
                    x.point,
                    x.metric,
                    x.verdict.as_str()
                )
            } else {
                format!(
                    "{} {} ({} worse)",
                    x.point,
                    x.metric,
                    render::pct(x.worse_by.unwrap_or(0.0))
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

/// The point of `points` that is `p`'s workload: the same key, or else the same key
/// once what tied keys to a machine is left out (files written before keys left out the
/// url and the model's path).
fn matching<'a>(points: &'a [Point], p: &Point) -> Option<&'a Point> {
    let same_kind = |q: &&Point| q.kind == p.kind;
    points
        .iter()
        .filter(same_kind)
        .find(|q| q.key == p.key)
        .or_else(|| {
            let k = portable_key(&p.key);
            points
                .iter()
                .filter(same_kind)
                .find(|q| portable_key(&q.key) == k)
        })
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
        let Some(np) = matching(&new.points, bp) else {
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
        .filter(|np| matching(&base.points, np).is_none())
        .map(|p| p.key.clone())
        .collect();
    Comparison {
        changes,
        only_in_base,
        only_in_new,
        not_comparable,
        lost,
        loadgen: super::mlperf::compare_table(base, new),
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

/// The samples `metric` is tested on: a point's per-window samples when both sides have
/// enough fit windows (`record::Point::samples`), else the raw per-run / per-request
/// samples (none for a level's throughput: then it is untestable).
fn samples(b: &Point, n: &Point, metric: &str) -> (Option<Vec<f64>>, Option<Vec<f64>>) {
    let windows = |p: &Point| p.samples.get(metric).filter(|w| windows_fit(w)).cloned();
    match (windows(b), windows(n)) {
        (Some(wb), Some(wn)) => (Some(wb), Some(wn)),
        _ => (raw(b, metric), raw(n, metric)),
    }
}

/// The figure `report` shows for `metric` in a point, and which statistic it is: the p50
/// of its summary, else its single value.
fn headline(p: &Point, metric: &str) -> Option<(f64, &'static str)> {
    p.summary
        .get(metric)
        .and_then(|s| stat_of(s, "p50"))
        .map(|v| (v, "p50"))
        .or_else(|| p.scalars.get(metric).map(|v| (*v, "value")))
}

fn compare_metric(b: &Point, n: &Point, metric: &str, o: &Options) -> Option<Change> {
    let (rb, rn) = samples(b, n, metric);
    let tested = matches!((&rb, &rn), (Some(_), Some(_)));
    // The values shown are the ones `report` prints for the same metric (a level's total
    // throughput, not the median of its windows); the test runs on the samples.
    let shown = |p: &Point, raw: &Option<Vec<f64>>| {
        headline(p, metric).or_else(|| raw.as_deref().map(|x| (median(x), "p50")))
    };
    let ((base, stat), (new, _)) = (shown(b, &rb)?, shown(n, &rn)?);
    let count = |p: &Point, raw: &Option<Vec<f64>>| match raw {
        Some(x) if tested => x.len(),
        _ => p.summary.get(metric).map_or(1, |s| s.n),
    };
    let (n_base, n_new) = (count(b, &rb), count(n, &rn));
    if !(base.is_finite() && new.is_finite()) {
        return None;
    }
    let ratio = if base != 0.0 { new / base } else { f64::NAN };
    let change = ratio - 1.0;
    if metric == LOADGEN_VALID {
        return Some(verdict_change(b, base, new, o));
    }
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
    let (p, ratio_ci) = test(&rb, &rn);
    // Too few samples for any ordering of them to reach α: the test cannot see, whatever
    // its p says (3 runs against 2 cannot go below p = 0.2).
    let blind = tested && min_p(n_base, n_new) >= o.alpha;
    let verdict = match p {
        _ if blind => Verdict::Untestable {
            need: Some(samples_needed(o.alpha)),
        },
        None => Verdict::Untestable { need: None },
        Some(p) if p >= o.alpha => Verdict::NoChange,
        Some(_) if !change.is_finite() || change.abs() < o.noise => Verdict::WithinNoise,
        Some(_) => match worse_by {
            None => Verdict::Changed,
            Some(w) if w > 0.0 => Verdict::Regressed,
            Some(_) => Verdict::Improved,
        },
    };
    let fails_gate = fails_gate(metric, verdict, worse_by, o);
    Some(Change {
        point: b.key.clone(),
        metric: metric.to_owned(),
        stat,
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

/// The U test's p and the bootstrap interval of the ratio of medians, where both sides
/// have samples.
fn test(rb: &Option<Vec<f64>>, rn: &Option<Vec<f64>>) -> (Option<f64>, Option<[f64; 2]>) {
    match (rb, rn) {
        (Some(xb), Some(xn)) => (
            mann_whitney(xb, xn).map(|r| r.p),
            bootstrap::median_ratio_ci(
                xb,
                xn,
                bootstrap::LEVEL,
                bootstrap::RESAMPLES,
                bootstrap::DEFAULT_SEED,
            ),
        ),
        _ => (None, None),
    }
}

/// Whether a change fails `--fail-if-slower`: only a figure of merit, only when worse
/// beyond the threshold, and an untestable one as `--untestable` says.
fn fails_gate(metric: &str, verdict: Verdict, worse_by: Option<f64>, o: &Options) -> bool {
    match (o.fail_if_slower, worse_by) {
        _ if !figure_of_merit(metric) => false,
        (Some(t), Some(w)) if matches!(verdict, Verdict::Untestable { .. }) => match o.untestable {
            UntestablePolicy::Threshold => w > t.max(o.noise),
            UntestablePolicy::Pass => false,
            UntestablePolicy::Fail => true,
        },
        (Some(t), Some(w)) => verdict == Verdict::Regressed && w > t,
        _ => false,
    }
}

/// LoadGen's verdict of an imported run (`import::mlperf`): 1 VALID, 0 INVALID.
const LOADGEN_VALID: &str = "mlperf_valid";

/// LoadGen's verdict compared: VALID turned INVALID is a regression of any size and fails
/// the gate, as more failures do.
fn verdict_change(b: &Point, base: f64, new: f64, o: &Options) -> Change {
    let verdict = match new.partial_cmp(&base) {
        Some(std::cmp::Ordering::Less) => Verdict::Regressed,
        Some(std::cmp::Ordering::Greater) => Verdict::Improved,
        _ => Verdict::NoChange,
    };
    let regressed = verdict == Verdict::Regressed;
    Change {
        point: b.key.clone(),
        metric: LOADGEN_VALID.to_owned(),
        stat: "value",
        base,
        new,
        n_base: 1,
        n_new: 1,
        ratio: if base != 0.0 { new / base } else { f64::NAN },
        ratio_ci: None,
        p: None,
        worse_by: Some(if regressed { 1.0 } else { 0.0 }),
        verdict,
        fails_gate: regressed && o.fail_if_slower.is_some(),
    }
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
        stat: "value",
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

    #[test]
    fn a_loadgen_run_turned_invalid_fails_the_gate() {
        let run = |valid: f64| {
            results(vec![point(
                "ss",
                PointKind::Load,
                &[("mlperf_valid", valid), ("mlperf_latency_p90_ms", 100.0)],
            )])
        };
        let c = compare(&run(1.0), &run(0.0), &gate());
        let f = c.gate_failures().join("; ");
        assert!(
            c.failed() && f.contains("k=ss LoadGen's verdict went from VALID to INVALID"),
            "{f}"
        );
        let v = c
            .changes
            .iter()
            .find(|x| x.metric == "mlperf_valid")
            .unwrap();
        assert_eq!((v.base, v.new, v.verdict), (1.0, 0.0, Verdict::Regressed));
        // INVALID to VALID is an improvement; unchanged either way passes.
        let up = compare(&run(0.0), &run(1.0), &gate());
        assert!(!up.failed(), "{:?}", up.gate_failures());
        assert!(!compare(&run(0.0), &run(0.0), &gate()).failed());
        assert!(!compare(&run(1.0), &run(1.0), &gate()).failed());
        // Without the gate it is reported, not failed.
        assert!(!compare(&run(1.0), &run(0.0), &Options::default()).failed());
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
        assert_eq!(tok.unwrap().verdict, Verdict::Untestable { need: None });
        assert!(c.failed());
    }

    #[test]
    fn sparse_windows_are_not_tested_and_the_total_is_shown() {
        // A low-rate level: 6.2 tok/s overall, its 1 s windows a burst or nothing. The
        // median of such windows (0 here) is no throughput; the total is compared.
        let sparse = |bursts: usize| -> Vec<f64> {
            (0..33)
                .map(|i| if i % bursts == 0 { 32.0 } else { 0.0 })
                .collect()
        };
        let level = |w: Vec<f64>, total: f64| {
            let mut p = windows("l", &w, 0.0, 0.0);
            p.scalars.insert("output_tok_per_s".into(), total);
            p
        };
        let base = results(vec![level(sparse(2), 6.24)]);
        let new = results(vec![level(sparse(5), 6.20)]);
        let c = compare(&base, &new, &gate());
        let tok = c.changes.iter().find(|x| x.metric == "output_tok_per_s");
        let tok = tok.expect("compared");
        assert_eq!(
            (tok.base, tok.new, tok.stat),
            (6.24, 6.20, "value"),
            "{tok:?}"
        );
        assert_eq!(tok.verdict, Verdict::Untestable { need: None });
        assert!(!c.failed(), "{:?}", c.gate_failures());
        // The windows of a busy level are tested.
        assert!(windows_fit(&[40.0; 12]) && !windows_fit(&sparse(2)));
    }

    #[test]
    fn client_diagnostics_and_derived_figures_never_gate() {
        let p = |cpu: f64, lag: f64, bw: f64, dur: f64, tok: f64| {
            point(
                "l",
                PointKind::Load,
                &[
                    ("client_cpu_s", cpu),
                    ("event_loop_lag_max_ms", lag),
                    ("decode_bw_gb_per_s", bw),
                    ("duration_s", dur),
                    ("output_tok_per_s", tok),
                ],
            )
        };
        let base = results(vec![p(1.0, 2.0, 30.0, 10.0, 100.0)]);
        let worse_diag = results(vec![p(2.2, 20.0, 15.0, 30.0, 100.0)]);
        let c = compare(&base, &worse_diag, &gate());
        assert!(!c.failed(), "{:?}", c.gate_failures());
        for m in [
            "client_cpu_s",
            "event_loop_lag_max_ms",
            "decode_bw_gb_per_s",
        ] {
            assert!(!figure_of_merit(m), "{m}");
        }
        for m in [
            "ttft_ms",
            "tpot_ms",
            "decode_tok_per_s",
            "goodput_req_per_s",
            "failure_pct",
        ] {
            assert!(figure_of_merit(m), "{m}");
        }
        // The figure of merit beside them still gates.
        let slower = results(vec![p(1.0, 2.0, 30.0, 10.0, 80.0)]);
        assert!(compare(&base, &slower, &gate()).failed());
    }

    #[test]
    fn too_few_runs_are_untestable_and_the_flag_decides() {
        let runs = |key: &str, e2e: &[f64]| {
            let mut p = point(key, PointKind::Engine, &[]);
            p.runs = e2e
                .iter()
                .map(|ms| crate::record::RunRecord {
                    prefill_ms: 10.0,
                    ttft_ms: 10.0,
                    e2e_ms: *ms,
                    tpot_ms: None,
                    itl_ms: Vec::new(),
                    prefill_tok_per_s: 100.0,
                    decode_tok_per_s: None,
                    output_tok_per_s: 10.0,
                    requests_per_s: 1.0,
                    output_tokens: 1,
                    input_tokens: 1,
                    peak_rss_bytes: None,
                    spec: None,
                })
                .collect();
            let s = crate::stats::summarize(e2e, "ms", None).unwrap();
            p.summary.insert("e2e_ms".into(), s);
            p
        };
        // 3 runs against 2: the smallest possible p is 0.2.
        assert!((min_p(3, 2) - 0.2).abs() < 1e-12);
        assert_eq!(samples_needed(0.05), 4);
        let base = results(vec![runs("a", &[100.0, 101.0, 102.0])]);
        let slower = results(vec![runs("a", &[150.0, 151.0])]);
        let with = |u: UntestablePolicy| Options {
            untestable: u,
            ..gate()
        };
        let c = compare(&base, &slower, &with(UntestablePolicy::Threshold));
        let e2e = c.changes.iter().find(|x| x.metric == "e2e_ms").unwrap();
        assert_eq!(e2e.verdict, Verdict::Untestable { need: Some(4) });
        assert_eq!(e2e.verdict.as_str(), "untestable (need n ≥ 4)");
        assert!(c.failed(), "50% worse beyond the threshold");
        assert!(!compare(&base, &slower, &with(UntestablePolicy::Pass)).failed());
        let same = results(vec![runs("a", &[100.0, 101.0])]);
        assert!(!compare(&base, &same, &with(UntestablePolicy::Threshold)).failed());
        let c = compare(&base, &same, &with(UntestablePolicy::Fail));
        assert!(c.failed());
        assert!(c.gate_failures()[0].contains("untestable (need n ≥ 4)"));
        // Enough runs: a real test again.
        let base = results(vec![runs("a", &[100.0, 101.0, 102.0, 99.0, 100.5])]);
        let new = results(vec![runs("a", &[150.0, 151.0, 149.0, 152.0, 150.5])]);
        let c = compare(&base, &new, &gate());
        let e2e = c.changes.iter().find(|x| x.metric == "e2e_ms").unwrap();
        assert_eq!(e2e.verdict, Verdict::Regressed);
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
