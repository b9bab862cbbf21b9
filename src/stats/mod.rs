//! Descriptive statistics over measured samples. Percentiles use linear interpolation
//! between closest ranks (Hyndman & Fan 1996, definition 7; numpy's default), so figures
//! line up with vLLM's and AIPerf's. Outliers use the modified Z-score of Iglewicz &
//! Hoaglin (1993), as hyperfine does.

pub mod bootstrap;
pub mod samples;

use crate::record::{Clock, Summary};
use std::collections::BTreeMap;

/// Name of the percentile estimator, recorded in results.
pub const PERCENTILE_METHOD: &str = "linear interpolation (Hyndman-Fan type 7)";

/// The `q`-quantile (0..=1) of already sorted values; NaN for an empty slice.
pub fn quantile_sorted(sorted: &[f64], q: f64) -> f64 {
    match sorted.len() {
        0 => f64::NAN,
        1 => sorted[0],
        n => {
            let h = (n - 1) as f64 * q.clamp(0.0, 1.0);
            let lo = h.floor() as usize;
            let hi = h.ceil() as usize;
            sorted[lo] + (h - lo as f64) * (sorted[hi] - sorted[lo])
        }
    }
}

/// Sorts a copy of the finite values.
pub fn sorted(values: &[f64]) -> Vec<f64> {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    v.sort_by(f64::total_cmp);
    v
}

/// Summarises `values` (non-finite values are dropped). `None` when nothing is left.
pub fn summarize(values: &[f64], unit: &str, clock: Option<Clock>) -> Option<Summary> {
    let s = sorted(values);
    let n = s.len();
    if n == 0 {
        return None;
    }
    let mean = s.iter().sum::<f64>() / n as f64;
    let stddev = if n > 1 {
        (s.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1) as f64).sqrt()
    } else {
        0.0
    };
    Some(Summary {
        n,
        mean,
        stddev,
        min: s[0],
        p50: quantile_sorted(&s, 0.50),
        p90: quantile_sorted(&s, 0.90),
        p95: quantile_sorted(&s, 0.95),
        p99: quantile_sorted(&s, 0.99),
        max: s[n - 1],
        unit: unit.to_owned(),
        clock,
        ci95: BTreeMap::new(),
    })
}

/// Median of the values (NaN when empty).
pub fn median(values: &[f64]) -> f64 {
    quantile_sorted(&sorted(values), 0.5)
}

/// Modified Z-scores: 0.6745 (x − median) / MAD (Iglewicz & Hoaglin 1993). When the MAD
/// is zero every score is zero (all samples equal the median, or nearly all do).
pub fn modified_z_scores(values: &[f64]) -> Vec<f64> {
    let med = median(values);
    let deviations: Vec<f64> = values.iter().map(|x| (x - med).abs()).collect();
    let mad = median(&deviations);
    values
        .iter()
        .map(|x| {
            if mad > 0.0 {
                0.6745 * (x - med) / mad
            } else {
                0.0
            }
        })
        .collect()
}

/// Indices of samples whose |modified Z-score| exceeds `threshold` (hyperfine uses 14.826,
/// i.e. 10 robust standard deviations; Iglewicz & Hoaglin suggest 3.5).
pub fn outliers(values: &[f64], threshold: f64) -> Vec<usize> {
    modified_z_scores(values)
        .iter()
        .enumerate()
        .filter(|(_, z)| z.abs() > threshold)
        .map(|(i, _)| i)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_match_numpy_linear() {
        // numpy.percentile([1..=10], [50, 90, 95, 99]) = 5.5, 9.1, 9.55, 9.91
        let v: Vec<f64> = (1..=10).map(f64::from).collect();
        let s = summarize(&v, "ms", None).unwrap();
        assert_eq!(s.n, 10);
        assert!((s.p50 - 5.5).abs() < 1e-12);
        assert!((s.p90 - 9.1).abs() < 1e-12);
        assert!((s.p95 - 9.55).abs() < 1e-12);
        assert!((s.p99 - 9.91).abs() < 1e-12);
        assert_eq!((s.min, s.max, s.mean), (1.0, 10.0, 5.5));
        // sample stddev of 1..=10 = sqrt(110/12)
        assert!((s.stddev - (110.0f64 / 12.0).sqrt()).abs() < 1e-12);
    }

    #[test]
    fn single_and_empty() {
        let s = summarize(&[3.0], "ms", Some(Clock::HostMonotonic)).unwrap();
        assert_eq!((s.p50, s.p99, s.stddev), (3.0, 3.0, 0.0));
        assert!(summarize(&[], "ms", None).is_none());
        assert!(summarize(&[f64::NAN], "ms", None).is_none());
    }

    #[test]
    fn flags_outlier_by_modified_z() {
        let v = [10.0, 10.1, 9.9, 10.05, 9.95, 30.0];
        assert_eq!(outliers(&v, 3.5), vec![5]);
        assert!(outliers(&[1.0, 1.0, 1.0], 3.5).is_empty());
    }
}
