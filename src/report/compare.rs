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
    pub options: Options,
}

impl Comparison {
    /// True when some metric fails the `--fail-if-slower` gate.
    pub fn failed(&self) -> bool {
        self.changes.iter().any(|c| c.fails_gate)
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
    for bp in ok_points(base) {
        let Some(np) = new
            .points
            .iter()
            .find(|p| p.key == bp.key && p.kind == bp.kind)
        else {
            only_in_base.push(bp.key.clone());
            continue;
        };
        if bp.status != Status::Ok || np.status != Status::Ok {
            not_comparable.push(bp.key.clone());
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

fn compare_metric(b: &Point, n: &Point, metric: &str, o: &Options) -> Option<Change> {
    let (rb, rn) = (raw(b, metric), raw(n, metric));
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
    let fails_gate = match (o.fail_if_slower, worse_by) {
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

/// The `--fail-if-slower` verdict at threshold `t`, naming each metric that fails it.
fn gate_line(c: &Comparison, t: f64) -> String {
    let fails: Vec<String> = c
        .changes
        .iter()
        .filter(|x| x.fails_gate)
        .map(|x| {
            format!(
                "{} {} ({} worse)",
                x.point,
                x.metric,
                pct(x.worse_by.unwrap_or(0.0))
            )
        })
        .collect();
    if fails.is_empty() {
        format!(
            "gate: PASS (no significant regression beyond {:.1}%)\n",
            t * 100.0
        )
    } else {
        format!(
            "gate: FAIL (significant regression beyond {:.1}%): {}\n",
            t * 100.0,
            fails.join("; ")
        )
    }
}
