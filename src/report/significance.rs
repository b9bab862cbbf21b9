//! The Mann–Whitney U test (Mann & Whitney 1947; Wilcoxon rank-sum), two-sided, used by
//! `compare` to tell a real change from run-to-run noise without assuming normal timings.
//! Exact null distribution for small samples without ties (the recursion of Mann & Whitney
//! 1947, §2); otherwise the normal approximation with the tie-corrected variance and a
//! continuity correction (Lehmann, *Nonparametrics*, 1975, §1.4). Pure; depends on nothing.

/// Result of a two-sided Mann–Whitney U test.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MannWhitney {
    /// U statistic of the first sample.
    pub u: f64,
    /// Two-sided p-value.
    pub p: f64,
    /// Whether the exact distribution was used.
    pub exact: bool,
}

/// Largest n1·n2 for which the exact distribution is computed (cost O(n1·n2·(n1+n2))).
const EXACT_MAX_PRODUCT: usize = 2500;

/// Two-sided Mann–Whitney U test of `a` against `b`. `None` when either is empty.
pub fn mann_whitney(a: &[f64], b: &[f64]) -> Option<MannWhitney> {
    let a: Vec<f64> = a.iter().copied().filter(|x| x.is_finite()).collect();
    let b: Vec<f64> = b.iter().copied().filter(|x| x.is_finite()).collect();
    let (n1, n2) = (a.len(), b.len());
    if n1 == 0 || n2 == 0 {
        return None;
    }
    // Rank the pooled sample, averaging ranks over ties.
    let mut pooled: Vec<(f64, bool)> = a
        .iter()
        .map(|&x| (x, true))
        .chain(b.iter().map(|&x| (x, false)))
        .collect();
    pooled.sort_by(|x, y| x.0.total_cmp(&y.0));
    let n = pooled.len();
    let mut rank_sum_a = 0.0;
    let mut tie_term = 0.0; // Σ (t³ − t) over tie groups
    let mut i = 0;
    while i < n {
        let mut j = i;
        while j + 1 < n && pooled[j + 1].0 == pooled[i].0 {
            j += 1;
        }
        let t = (j - i + 1) as f64;
        let avg_rank = (i + j) as f64 / 2.0 + 1.0;
        for item in &pooled[i..=j] {
            if item.1 {
                rank_sum_a += avg_rank;
            }
        }
        tie_term += t * t * t - t;
        i = j + 1;
    }
    let (f1, f2) = (n1 as f64, n2 as f64);
    let u = rank_sum_a - f1 * (f1 + 1.0) / 2.0;
    let mean = f1 * f2 / 2.0;

    if tie_term == 0.0 && n1 * n2 <= EXACT_MAX_PRODUCT {
        let dist = exact_distribution(n1, n2);
        let total: f64 = dist.iter().sum();
        // Two-sided: twice the smaller tail, capped at 1.
        let k = u.round() as usize;
        let lower: f64 = dist[..=k].iter().sum::<f64>() / total;
        let upper: f64 = dist[k..].iter().sum::<f64>() / total;
        let p = (2.0 * lower.min(upper)).min(1.0);
        return Some(MannWhitney { u, p, exact: true });
    }

    let var = f1 * f2 / 12.0 * ((n as f64 + 1.0) - tie_term / (n as f64 * (n as f64 - 1.0)));
    if var <= 0.0 {
        // Every value identical: no evidence of any difference.
        return Some(MannWhitney {
            u,
            p: 1.0,
            exact: false,
        });
    }
    let z = ((u - mean).abs() - 0.5).max(0.0) / var.sqrt();
    let p = (2.0 * normal_sf(z)).min(1.0);
    Some(MannWhitney { u, p, exact: false })
}

/// Counts of each U value (0..=n1·n2) under the null, for samples of sizes n1 and n2
/// without ties: c(u; m, n) = c(u − n; m − 1, n) + c(u; m, n − 1).
fn exact_distribution(n1: usize, n2: usize) -> Vec<f64> {
    let max_u = n1 * n2;
    // table[m][n] built row by row over m, keeping all n for the current and previous m.
    let mut prev: Vec<Vec<f64>> = (0..=n2).map(|_| vec![1.0]).collect(); // m = 0: U = 0 only
    for m in 1..=n1 {
        let mut cur: Vec<Vec<f64>> = Vec::with_capacity(n2 + 1);
        cur.push(vec![1.0]); // n = 0
        for nn in 1..=n2 {
            let size = m * nn + 1;
            let mut v = vec![0.0; size];
            // c(u; m, nn-1)
            for (u, c) in cur[nn - 1].iter().enumerate() {
                v[u] += c;
            }
            // c(u - nn; m-1, nn)
            for (u, c) in prev[nn].iter().enumerate() {
                v[u + nn] += c;
            }
            cur.push(v);
        }
        prev = cur;
    }
    let mut d = prev.swap_remove(n2);
    d.resize(max_u + 1, 0.0);
    d
}

/// Upper tail of the standard normal, 1 − Φ(z), via erfc.
pub fn normal_sf(z: f64) -> f64 {
    0.5 * erfc(z / std::f64::consts::SQRT_2)
}

/// Coefficients c1..c9 of `erfcc`'s polynomial in t (c0 = −1.26551223 is written inline).
const ERFCC: [f64; 9] = [
    1.000_023_68,
    0.374_091_96,
    0.096_784_18,
    -0.186_288_06,
    0.278_868_07,
    -1.135_203_98,
    1.488_515_87,
    -0.822_152_23,
    0.170_872_77,
];

/// Complementary error function; Chebyshev fit with fractional error below 1.2e-7
/// everywhere (Press et al., *Numerical Recipes in C*, 2nd ed., 1992, §6.2, `erfcc`).
pub fn erfc(x: f64) -> f64 {
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    // Horner's rule over c1..c9, innermost (c9) first: the same operations in the same
    // order as the nested form, which rustfmt took 25 s to lay out.
    let horner = ERFCC[..8]
        .iter()
        .rev()
        .fold(ERFCC[8], |acc, &c| c + t * acc);
    let ans = t * (-z * z - 1.265_512_23 + t * horner).exp();
    if x >= 0.0 {
        ans
    } else {
        2.0 - ans
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn erfc_known_values() {
        assert!((erfc(0.0) - 1.0).abs() < 1e-7);
        assert!((erfc(1.0) - 0.157_299_207).abs() < 1e-7);
        assert!((normal_sf(1.959_964) - 0.025).abs() < 1e-6);
    }

    #[test]
    fn exact_small_samples_match_tables() {
        // Complete separation of 5 vs 5: P(U = 0) = 1 / C(10, 5) = 1/252; two-sided 2/252.
        let a = [1.0, 2.0, 3.0, 4.0, 5.0];
        let b = [6.0, 7.0, 8.0, 9.0, 10.0];
        let r = mann_whitney(&a, &b).unwrap();
        assert!(r.exact);
        assert_eq!(r.u, 0.0);
        assert!((r.p - 2.0 / 252.0).abs() < 1e-12, "{}", r.p);
        // scipy.stats.mannwhitneyu([1,3,5,7,9],[2,4,6,8,10], method="exact") -> U=10, p=0.6904761904761905
        let r = mann_whitney(&[1.0, 3.0, 5.0, 7.0, 9.0], &[2.0, 4.0, 6.0, 8.0, 10.0]).unwrap();
        assert_eq!(r.u, 10.0);
        assert!((r.p - 0.690_476_190_476_190_5).abs() < 1e-12, "{}", r.p);
        let d = exact_distribution(3, 4);
        assert_eq!(d.iter().sum::<f64>(), 35.0); // C(7, 3)
    }

    #[test]
    fn normal_approximation_with_ties() {
        // scipy.stats.mannwhitneyu(a, b, method="asymptotic", use_continuity=True)
        // with a = [1,2,2,3,3,3,4,4,4,4]*3, b = [3,4,4,5,5,5,6,6,6,6]*3
        // -> U = 85.5, p = 3.52131849830609e-08 (scipy 1.x, run while writing this test).
        let a: Vec<f64> = [1.0, 2.0, 2.0, 3.0, 3.0, 3.0, 4.0, 4.0, 4.0, 4.0].repeat(3);
        let b: Vec<f64> = [3.0, 4.0, 4.0, 5.0, 5.0, 5.0, 6.0, 6.0, 6.0, 6.0].repeat(3);
        let r = mann_whitney(&a, &b).unwrap();
        assert!(!r.exact);
        assert_eq!(r.u, 85.5);
        // erfc is good to ~1e-7 relative; the tail value must agree to that order.
        assert!(
            (r.p / 3.521_318_498_306_09e-8 - 1.0).abs() < 1e-5,
            "{}",
            r.p
        );
        let same = mann_whitney(&[1.0; 8], &[1.0; 8]).unwrap();
        assert_eq!(same.p, 1.0);
        assert!(mann_whitney(&[], &[1.0]).is_none());
    }
}
