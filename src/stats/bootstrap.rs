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

/// Above this many samples, quantile intervals use order statistics instead of resampling:
/// B resamples of a million pooled inter-token gaps would take minutes, while the
/// binomial interval is a single sort and, at this n, its normal approximation is exact
/// for all practical purposes.
pub const LARGE_N: usize = 5000;

/// Distribution-free interval of the `q`-quantile from order statistics: the ranks
/// n·q ∓ z·√(n·q·(1−q)) of the sorted sample (Conover, *Practical Nonparametric
/// Statistics*, 3rd ed., 1999, §3.2, large-sample form).
pub fn order_statistic_ci(samples: &[f64], q: f64, level: f64) -> Option<[f64; 2]> {
    let xs = crate::stats::sorted(samples);
    let n = xs.len();
    if n < MIN_SAMPLES {
        return None;
    }
    let z = normal_quantile(0.5 + level.clamp(0.0, 0.999_999) / 2.0);
    let nf = n as f64;
    let half = z * (nf * q * (1.0 - q)).sqrt();
    // 1-based ranks, clamped to the sample.
    let lo = ((nf * q - half).floor() as i64).clamp(1, n as i64) as usize;
    let hi = ((nf * q + half).ceil() as i64).clamp(1, n as i64) as usize;
    Some([xs[lo - 1], xs[hi - 1]])
}

/// Standard normal quantile (Acklam's rational approximation, relative error < 1.2e-9;
/// enough for the z of a confidence level).
fn normal_quantile(p: f64) -> f64 {
    const A: [f64; 6] = [
        -3.969_683_028_665_376e1,
        2.209_460_984_245_205e2,
        -2.759_285_104_469_687e2,
        1.383_577_518_672_69e2,
        -3.066_479_806_614_716e1,
        2.506_628_277_459_239,
    ];
    const B: [f64; 5] = [
        -5.447_609_879_822_406e1,
        1.615_858_368_580_409e2,
        -1.556_989_798_598_866e2,
        6.680_131_188_771_972e1,
        -1.328_068_155_288_572e1,
    ];
    const C: [f64; 6] = [
        -7.784_894_002_430_293e-3,
        -3.223_964_580_411_365e-1,
        -2.400_758_277_161_838,
        -2.549_732_539_343_734,
        4.374_664_141_464_968,
        2.938_163_982_698_783,
    ];
    const D: [f64; 4] = [
        7.784_695_709_041_462e-3,
        3.224_671_290_700_398e-1,
        2.445_134_137_142_996,
        3.754_408_661_907_416,
    ];
    let p_low = 0.02425;
    if p < p_low {
        let q = (-2.0 * p.ln()).sqrt();
        (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    } else if p <= 1.0 - p_low {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    } else {
        -normal_quantile(1.0 - p)
    }
}

/// Interval at `level` of the `q`-quantile of `samples`: percentile bootstrap up to
/// [`LARGE_N`] samples, order statistics above. `None` when fewer than [`MIN_SAMPLES`]
/// finite samples are given.
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
    if xs.len() > LARGE_N {
        return order_statistic_ci(&xs, q, level);
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
    if b.len() > LARGE_N || n.len() > LARGE_N {
        // Too many samples to resample: combine the two medians' order-statistic
        // intervals, each at √level so that both hold together with probability ≥ level
        // (the runs are independent). Wider than the bootstrap, never narrower.
        let each = level.clamp(0.0, 1.0).sqrt();
        let [bl, bh] = order_statistic_ci(&b, 0.5, each)?;
        let [nl, nh] = order_statistic_ci(&n, 0.5, each)?;
        if bl <= 0.0 || bh <= 0.0 {
            return None;
        }
        return Some([nl / bh, nh / bl]);
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
        crate::stats::quantile_sorted(stats, alpha),
        crate::stats::quantile_sorted(stats, 1.0 - alpha),
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

/// Bootstrap intervals of p50 and p99 for every summarised metric of `point`, from the
/// point's own raw samples (engine runs or load requests).
pub fn add_intervals(point: &mut crate::record::Point, seed: u64) {
    let metrics: Vec<String> = point.summary.keys().cloned().collect();
    for m in metrics {
        if let Some(raw) = crate::stats::samples::raw(point, &m) {
            if let Some(s) = point.summary.get_mut(&m) {
                add_bootstrap_ci(s, &raw, seed);
            }
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
    use crate::stats::{quantile_sorted, sorted, summarize};
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
    fn large_samples_use_order_statistics_that_agree_with_the_bootstrap() {
        assert!((normal_quantile(0.975) - 1.959_963_985).abs() < 1e-8);
        let normal = Normal::new(50.0, 5.0).unwrap();
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let xs: Vec<f64> = (0..LARGE_N).map(|_| normal.sample(&mut rng)).collect();
        for q in [0.5, 0.99] {
            let boot = quantile_ci(&xs, q, 0.95, 1000, 9).unwrap();
            let ord = order_statistic_ci(&xs, q, 0.95).unwrap();
            let width = boot[1] - boot[0];
            // Both are valid 95 % intervals for the same quantile: ends within a third of
            // the width of each other.
            assert!(
                (boot[0] - ord[0]).abs() < width / 3.0 && (boot[1] - ord[1]).abs() < width / 3.0,
                "q {q}: {boot:?} vs {ord:?}"
            );
        }
        let mut big = xs.clone();
        big.extend_from_slice(&xs);
        assert_eq!(
            quantile_ci(&big, 0.5, 0.95, 10, 1),
            order_statistic_ci(&big, 0.5, 0.95)
        );
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
