//! Bootstrap confidence intervals for quantiles (p50, p99) and for the ratio of two
//! medians, from the raw samples of one run. Pure functions over `f64` slices and the
//! `record::Summary` they annotate; seeded, so a report rendered twice shows the same
//! intervals. Depends on `bench::stats` (the quantile estimator) and `record` only.
//!
//! Method: the percentile bootstrap (Efron & Tibshirani, *An Introduction to the
//! Bootstrap*, 1993, ch. 13): draw `B` resamples of size n with replacement, compute the
//! statistic on each, and take the (α/2, 1 − α/2) quantiles of those B values. Efron &
//! Tibshirani (ch. 19) recommend B ≥ 1000 for percentile intervals; we use 2000.
//! criterion.rs computes its intervals the same way (with 100 000 resamples).
//!
//! Known limits, stated where they matter: with few samples the interval of a tail
//! quantile collapses onto the largest observations (a p99 from 10 runs is essentially
//! the maximum), and pooled inter-token gaps of one run are not independent, so their
//! intervals are too narrow. Reports grey out wide intervals; they cannot widen narrow ones.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::record::Summary;

/// Resamples drawn per interval.
pub const RESAMPLES: usize = 2000;

/// Confidence level of every interval trtbench reports.
pub const LEVEL: f64 = 0.95;

/// Fewest finite samples for which an interval is computed. Below this the percentile
/// bootstrap has too few distinct resamples to say anything (with 4 samples there are only
/// 35 distinct multisets), so the statistic is shown without an interval.
pub const MIN_SAMPLES: usize = 5;

/// Seed used when a caller has no reason to choose one (reports re-computing intervals).
pub const DEFAULT_SEED: u64 = 0x7472_7462_656e_6368; // "trtbench"

/// Name of the method, recorded next to the intervals in reports.
pub const METHOD: &str = "percentile bootstrap, 2000 resamples (Efron & Tibshirani 1993)";

/// Type-7 quantile of unsorted values, reordering `buf` in place (O(n) selection instead of
/// a sort: this runs B times per interval).
fn quantile_select(buf: &mut [f64], q: f64) -> f64 {
    let n = buf.len();
    if n == 1 {
        return buf[0];
    }
    let h = (n - 1) as f64 * q.clamp(0.0, 1.0);
    let lo = h.floor() as usize;
    let (_, a, rest) = buf.select_nth_unstable_by(lo, f64::total_cmp);
    let a = *a;
    let frac = h - lo as f64;
    if frac == 0.0 || rest.is_empty() {
        return a;
    }
    let b = rest.iter().copied().fold(f64::INFINITY, f64::min);
    a + frac * (b - a)
}

fn finite(samples: &[f64]) -> Vec<f64> {
    samples.iter().copied().filter(|x| x.is_finite()).collect()
}

fn resample_into(rng: &mut ChaCha8Rng, from: &[f64], into: &mut Vec<f64>) {
    into.clear();
    into.extend((0..from.len()).map(|_| from[rng.gen_range(0..from.len())]));
}

/// Percentile-bootstrap interval at `level` of the `q`-quantile of `samples`.
/// `None` when fewer than [`MIN_SAMPLES`] finite samples are given.
pub fn quantile_ci(
    samples: &[f64],
    q: f64,
    level: f64,
    resamples: usize,
    seed: u64,
) -> Option<[f64; 2]> {
    let xs = finite(samples);
    if xs.len() < MIN_SAMPLES || resamples == 0 {
        return None;
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut buf = Vec::with_capacity(xs.len());
    let mut stats = Vec::with_capacity(resamples);
    for _ in 0..resamples {
        resample_into(&mut rng, &xs, &mut buf);
        stats.push(quantile_select(&mut buf, q));
    }
    Some(percentile_interval(&mut stats, level))
}

/// Percentile-bootstrap interval of median(new) / median(base), resampling each group
/// independently (the two runs are independent experiments). `None` when either side has
/// fewer than [`MIN_SAMPLES`] samples or a resampled base median is zero.
pub fn median_ratio_ci(
    base: &[f64],
    new: &[f64],
    level: f64,
    resamples: usize,
    seed: u64,
) -> Option<[f64; 2]> {
    let (b, n) = (finite(base), finite(new));
    if b.len() < MIN_SAMPLES || n.len() < MIN_SAMPLES || resamples == 0 {
        return None;
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let (mut bb, mut nb) = (Vec::with_capacity(b.len()), Vec::with_capacity(n.len()));
    let mut stats = Vec::with_capacity(resamples);
    for _ in 0..resamples {
        resample_into(&mut rng, &b, &mut bb);
        resample_into(&mut rng, &n, &mut nb);
        let mb = quantile_select(&mut bb, 0.5);
        if mb == 0.0 {
            return None;
        }
        stats.push(quantile_select(&mut nb, 0.5) / mb);
    }
    Some(percentile_interval(&mut stats, level))
}

fn percentile_interval(stats: &mut [f64], level: f64) -> [f64; 2] {
    stats.sort_by(f64::total_cmp);
    let alpha = (1.0 - level.clamp(0.0, 1.0)) / 2.0;
    [
        crate::bench::stats::quantile_sorted(stats, alpha),
        crate::bench::stats::quantile_sorted(stats, 1.0 - alpha),
    ]
}

/// Fills `summary.ci95["p50"]` and `summary.ci95["p99"]` from the raw `samples` the summary
/// was computed from. Leaves the map untouched when there are too few samples.
pub fn add_bootstrap_ci(summary: &mut Summary, samples: &[f64], seed: u64) {
    for (name, q) in [("p50", 0.50), ("p99", 0.99)] {
        // A distinct stream per statistic, so the two intervals are not built from the
        // same resamples (which would correlate their errors).
        let s = seed ^ (q * 1000.0) as u64;
        if let Some(ci) = quantile_ci(samples, q, LEVEL, RESAMPLES, s) {
            summary.ci95.insert(name.to_owned(), ci);
        }
    }
}

/// Half the width of an interval relative to the statistic, e.g. 0.03 for ±3 %.
/// Infinite when the statistic is zero and the interval is not a point.
pub fn relative_half_width(ci: [f64; 2], value: f64) -> f64 {
    let half = (ci[1] - ci[0]).abs() / 2.0;
    if half == 0.0 {
        0.0
    } else if value == 0.0 {
        f64::INFINITY
    } else {
        half / value.abs()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::stats::{quantile_sorted, sorted, summarize};
    use rand_distr::{Distribution, Normal};

    #[test]
    fn select_matches_sorted_quantile() {
        let v = [5.0, 1.0, 4.0, 2.0, 3.0, 9.0, 7.0];
        for q in [0.0, 0.1, 0.5, 0.9, 0.99, 1.0] {
            let mut b = v.to_vec();
            assert!((quantile_select(&mut b, q) - quantile_sorted(&sorted(&v), q)).abs() < 1e-12);
        }
    }

    #[test]
    fn median_interval_covers_the_true_median_about_95_percent() {
        // Coverage check: 200 experiments of n = 40 draws from N(100, 10²); the true median
        // is 100. A 95 % interval should miss it roughly 10 times; we accept 3..=25 misses,
        // wide enough that a correct method never fails, narrow enough to catch a broken one
        // (an interval of a single point, or one that never moves, misses far more).
        let normal = Normal::new(100.0, 10.0).unwrap();
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let mut misses = 0;
        for i in 0..200 {
            let xs: Vec<f64> = (0..40).map(|_| normal.sample(&mut rng)).collect();
            let ci = quantile_ci(&xs, 0.5, 0.95, 1000, i).unwrap();
            assert!(ci[0] <= ci[1]);
            if !(ci[0] <= 100.0 && 100.0 <= ci[1]) {
                misses += 1;
            }
        }
        assert!((3..=25).contains(&misses), "misses {misses}");
    }

    #[test]
    fn too_few_samples_give_no_interval_and_ci_is_deterministic() {
        assert!(quantile_ci(&[1.0, 2.0, 3.0, 4.0], 0.5, 0.95, 100, 1).is_none());
        let xs: Vec<f64> = (0..30).map(|i| f64::from(i % 7)).collect();
        let a = quantile_ci(&xs, 0.99, 0.95, 500, 3);
        assert_eq!(a, quantile_ci(&xs, 0.99, 0.95, 500, 3));
        let mut s = summarize(&xs, "ms", None).unwrap();
        add_bootstrap_ci(&mut s, &xs, 1);
        let p50 = s.ci95["p50"];
        assert!(p50[0] <= s.p50 && s.p50 <= p50[1], "{p50:?} {}", s.p50);
        assert!(s.ci95.contains_key("p99"));
    }

    #[test]
    fn ratio_interval_brackets_a_real_shift() {
        let normal = Normal::new(0.0, 1.0).unwrap();
        let mut rng = ChaCha8Rng::seed_from_u64(11);
        let base: Vec<f64> = (0..50).map(|_| 100.0 + normal.sample(&mut rng)).collect();
        let new: Vec<f64> = (0..50).map(|_| 110.0 + normal.sample(&mut rng)).collect();
        let ci = median_ratio_ci(&base, &new, 0.95, 1000, 5).unwrap();
        assert!(ci[0] > 1.07 && ci[1] < 1.13, "{ci:?}");
        assert_eq!(relative_half_width([9.0, 11.0], 10.0), 0.1);
    }
}
