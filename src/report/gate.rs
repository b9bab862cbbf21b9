//! What `compare`'s gate may fail on, and when a comparison can see anything at all:
//! figures of merit against diagnostics, the smallest p-value a Mann–Whitney U test can
//! reach for given sample sizes, and when a load level's 1 s windows hold enough events to
//! be tested. Pure functions; `compare` applies them. Depends on `stats` only.

use crate::stats::median;

/// What the gate does with a figure of merit it cannot test (`compare --untestable`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum UntestablePolicy {
    /// Fails when the point estimate is worse by more than the threshold (and the noise
    /// floor): the only evidence there is, read at face value. The default.
    #[default]
    Threshold,
    /// Never fails on an untestable figure (it is still listed).
    Pass,
    /// Fails on any untestable figure of merit: a gate that insists on enough runs.
    Fail,
}

impl UntestablePolicy {
    pub fn as_str(self) -> &'static str {
        match self {
            UntestablePolicy::Threshold => "threshold",
            UntestablePolicy::Pass => "pass",
            UntestablePolicy::Fail => "fail",
        }
    }
}

/// Whether `metric` is a figure of merit, the only kind the gate fails on: throughput,
/// goodput, latencies (percentiles included), failures, memory peaks, quality and energy
/// per token. Client diagnostics (its CPU, event-loop and send lag, a run's duration),
/// derived speed-of-light figures (bandwidth, FLOP/s, % of peak: each follows a
/// throughput that is gated itself), settings and configuration sizes are reported,
/// never gated.
pub fn figure_of_merit(metric: &str) -> bool {
    let m = metric;
    let diagnostic = m.starts_with("client_")
        || m.contains("lag")
        || m.contains("_bw_")
        || m.contains("flop")
        || m.contains("sol_")
        || m.starts_with("server_")
        || m.starts_with("device_")
        || m == "duration_s"
        || m == "host_overhead_ms";
    if diagnostic {
        return false;
    }
    is_failure_count(m)
        || m.ends_with("_tok_per_s")
        || m == "requests_per_s"
        || m.contains("goodput")
        || m == "max_rate_req_per_s"
        || ["ttft", "tpot", "itl_", "e2e", "prefill_ms"]
            .iter()
            .any(|x| m.contains(x))
        || SPEC_MERIT.contains(&m)
        || m == "peak_rss_bytes"
        || m == "peak_device_bytes"
        || m == "perplexity"
        || m == "nll_mean"
        || m.contains("j_per_tok")
        || m.contains("tok_per_j")
}

/// Speculative decoding's figures of merit: how much of the draft the target kept, and
/// what it bought against the point's vanilla twin. Its per-step draft and target times
/// are detail.
const SPEC_MERIT: [&str; 5] = [
    "spec_acceptance_rate",
    "spec_mean_accepted_len",
    "spec_accepted_per_step",
    "spec_speedup",
    "spec_e2e_speedup",
];

/// Smallest exact two-sided p-value a Mann–Whitney U test can give for samples of `n1`
/// and `n2` without ties: both extreme orderings, 2 / C(n1 + n2, n1).
pub fn min_p(n1: usize, n2: usize) -> f64 {
    let (k, n) = (n1.min(n2), n1 + n2);
    let mut c = 1.0_f64;
    for i in 0..k {
        c = c * (n - i) as f64 / (i + 1) as f64;
    }
    (2.0 / c).min(1.0)
}

/// Fewest samples per side (equal sizes) with which the U test can reach p < `alpha`.
pub fn samples_needed(alpha: f64) -> usize {
    (1..=64).find(|&k| min_p(k, k) < alpha).unwrap_or(64)
}

/// Fewest windows per side for which a load level's throughput is tested on its
/// per-window samples (with fewer, a U test has little power and the level's single
/// total is compared against the threshold instead).
pub const MIN_WINDOWS: usize = 8;

/// Fewest events (tokens, requests) the median window must hold, and the largest share of
/// empty windows, for windows to be tested. A low-rate level's 1 s windows are mostly
/// empty or hold one burst: their median says nothing of the level's throughput (a level
/// at 6.2 tok/s overall had a median window of 0), so such a level is compared on its
/// total alone.
pub const MIN_WINDOW_EVENTS: f64 = 5.0;
const MAX_EMPTY_WINDOWS: f64 = 0.25;

/// Windows of `metric` fit to be tested: enough of them, each typically holding enough
/// events (windows are 1 s long, `client::aggregate::WINDOW_S`, so a rate per second is
/// also its count of events).
pub fn windows_fit(w: &[f64]) -> bool {
    let empty = w.iter().filter(|x| **x <= 0.0).count() as f64;
    w.len() >= MIN_WINDOWS
        && median(w) >= MIN_WINDOW_EVENTS
        && empty <= MAX_EMPTY_WINDOWS * w.len() as f64
}

/// A load level's failed requests per request sent, in percent (`client::aggregate`).
pub const FAILURE_RATE: &str = "failure_pct";

/// `failure_pct`, `failed` and `failed_<kind>` scalars of a load level: any rise is worse.
pub fn is_failure_count(metric: &str) -> bool {
    metric == FAILURE_RATE || metric == "failed" || metric.starts_with("failed_")
}
