//! The raw samples behind each summary metric of a point: per run for engine points, per
//! successful request for load points, pooled gaps for `itl_ms`. `compare` tests these,
//! reports bootstrap intervals from them, and warnings look for outliers in them. Also the
//! direction in which each metric gets worse. Depends on `record` only.

use crate::record::{Point, PointKind, SpecRun};

/// Which way a metric moves when things get worse.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Better {
    /// Latencies, sizes, energy, perplexity.
    Lower,
    /// Throughputs, tokens per joule, goodput.
    Higher,
}

/// Direction of a metric, from its name (units live in names: `_ms`, `_per_s`, `_bytes`).
/// `None` for names this does not know; `compare` then reports the ratio without a verdict.
pub fn better(metric: &str) -> Option<Better> {
    let m = metric;
    // Speculative decoding: acceptance, accepted length and speedup over the vanilla twin
    // are better higher; draft and target time per step end in `_ms` like any latency.
    if m.starts_with("spec_") && !m.ends_with("_ms") {
        return Some(Better::Higher);
    }
    if m.ends_with("_per_s")
        || m.ends_with("per_j")
        || m.contains("goodput")
        || m.ends_with("_tok_per_s")
        || m == "throughput"
    {
        Some(Better::Higher)
    } else if m.ends_with("_ms")
        || m.ends_with("_s")
        || m.ends_with("_bytes")
        || m.ends_with("_j")
        || m.contains("j_per_tok")
        || m.ends_with("_w")
        || m == "perplexity"
        || m.ends_with("error_rate")
    {
        Some(Better::Lower)
    } else {
        None
    }
}

/// Per-run figures of a speculative run, by their results key (summaries and `compare`
/// read these): the fraction of proposed tokens accepted, accepted draft tokens per verify
/// step, tokens a verify step emits (the accepted ones and the target's own next token:
/// the "mean accepted length"), and draft and target time per verify step.
pub const SPEC_METRICS: &[(&str, &str)] = &[
    ("spec_acceptance_rate", "fraction"),
    ("spec_accepted_per_step", "tok"),
    ("spec_mean_accepted_len", "tok"),
    ("spec_draft_step_ms", "ms"),
    ("spec_target_step_ms", "ms"),
];

/// The figure of `run` named by a [`SPEC_METRICS`] key; `None` for other names and for a
/// run without verify steps (or without proposals, for the acceptance rate).
pub fn spec_metric(run: &SpecRun, name: &str) -> Option<f64> {
    let steps = (run.verify_steps > 0).then_some(run.verify_steps as f64)?;
    let accepted = run.accepted_tokens as f64;
    match name {
        "spec_acceptance_rate" => {
            (run.proposed_tokens > 0).then(|| accepted / run.proposed_tokens as f64)
        }
        "spec_accepted_per_step" => Some(accepted / steps),
        "spec_mean_accepted_len" => Some((accepted + steps) / steps),
        "spec_draft_step_ms" => Some(run.draft_ms / steps),
        "spec_target_step_ms" => Some(run.target_ms / steps),
        _ => None,
    }
}

/// Raw samples of `metric` in `point`, or `None` when the point keeps none for it (the
/// metric is a scalar, or the point failed). Non-finite values are dropped.
pub fn raw(point: &Point, metric: &str) -> Option<Vec<f64>> {
    let v: Vec<f64> = match point.kind {
        PointKind::Engine => engine_samples(point, metric)?,
        PointKind::Load => load_samples(point, metric)?,
        PointKind::Quality => return None,
    };
    let v: Vec<f64> = v.into_iter().filter(|x| x.is_finite()).collect();
    (!v.is_empty()).then_some(v)
}

fn engine_samples(point: &Point, metric: &str) -> Option<Vec<f64>> {
    let runs = &point.runs;
    if runs.is_empty() {
        return None;
    }
    Some(match metric {
        "prefill_ms" => runs.iter().map(|r| r.prefill_ms).collect(),
        "ttft_ms" => runs.iter().map(|r| r.ttft_ms).collect(),
        "e2e_ms" => runs.iter().map(|r| r.e2e_ms).collect(),
        "tpot_ms" => runs.iter().filter_map(|r| r.tpot_ms).collect(),
        // Every gap of every run: the distribution a streaming user sees.
        "itl_ms" => runs.iter().flat_map(|r| r.itl_ms.iter().copied()).collect(),
        "prefill_tok_per_s" => runs.iter().map(|r| r.prefill_tok_per_s).collect(),
        "decode_tok_per_s" => runs.iter().filter_map(|r| r.decode_tok_per_s).collect(),
        "output_tok_per_s" => runs.iter().map(|r| r.output_tok_per_s).collect(),
        "requests_per_s" => runs.iter().map(|r| r.requests_per_s).collect(),
        "peak_rss_bytes" => runs
            .iter()
            .filter_map(|r| r.peak_rss_bytes.map(|b| b as f64))
            .collect(),
        m if m.starts_with("spec_") => runs
            .iter()
            .filter_map(|r| spec_metric(r.spec.as_ref()?, m))
            .collect(),
        _ => return None,
    })
}

fn load_samples(point: &Point, metric: &str) -> Option<Vec<f64>> {
    let ok = point.requests.iter().filter(|r| r.error.is_none());
    Some(match metric {
        "ttft_ms" => ok.filter_map(|r| r.ttft_ms).collect(),
        "e2e_ms" | "e2el_ms" => ok.filter_map(|r| r.e2e_ms).collect(),
        "tpot_ms" => ok.filter_map(|r| r.tpot_ms).collect(),
        "itl_ms" => ok.flat_map(|r| r.itl_ms.iter().copied()).collect(),
        // Anything else a load point records per request (queue time, chunk counts, ...).
        other => {
            let v: Vec<f64> = ok.filter_map(|r| r.extra.get(other).copied()).collect();
            if v.is_empty() {
                return None;
            }
            v
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::{RunRecord, SpecRun};

    /// 10 verify steps proposing 4 each, 30 accepted: 75 %, 3 accepted and 4 emitted per
    /// step; times per step. No steps: no figures (not zeros).
    #[test]
    fn speculative_run_figures() {
        let r = SpecRun {
            verify_steps: 10,
            proposed_tokens: 40,
            accepted_tokens: 30,
            draft_ms: 50.0,
            target_ms: 80.0,
        };
        let got: Vec<Option<f64>> = SPEC_METRICS
            .iter()
            .map(|(m, _)| spec_metric(&r, m))
            .collect();
        assert_eq!(
            got,
            [Some(0.75), Some(3.0), Some(4.0), Some(5.0), Some(8.0)].to_vec()
        );
        assert_eq!(spec_metric(&r, "tpot_ms"), None);
        let none = SpecRun {
            verify_steps: 0,
            proposed_tokens: 0,
            accepted_tokens: 0,
            draft_ms: 0.0,
            target_ms: 0.0,
        };
        assert!(SPEC_METRICS
            .iter()
            .all(|(m, _)| spec_metric(&none, m).is_none()));
    }

    /// `compare` tests speculative figures on their per-run samples; a vanilla point has
    /// none.
    #[test]
    fn speculative_samples_per_run() {
        let run = |accepted: u64| RunRecord {
            prefill_ms: 1.0,
            ttft_ms: 1.0,
            e2e_ms: 2.0,
            tpot_ms: None,
            itl_ms: vec![],
            prefill_tok_per_s: 1.0,
            decode_tok_per_s: None,
            output_tok_per_s: 1.0,
            requests_per_s: 1.0,
            output_tokens: 1,
            input_tokens: 1,
            peak_rss_bytes: None,
            spec: Some(SpecRun {
                verify_steps: 2,
                proposed_tokens: 4,
                accepted_tokens: accepted,
                draft_ms: 1.0,
                target_ms: 1.0,
            }),
        };
        let mut p = Point::new(PointKind::Engine, Default::default());
        p.runs = vec![run(4), run(2)];
        assert_eq!(raw(&p, "spec_acceptance_rate"), Some(vec![1.0, 0.5]));
        assert_eq!(raw(&p, "spec_mean_accepted_len"), Some(vec![3.0, 2.0]));
        p.runs.iter_mut().for_each(|r| r.spec = None);
        assert_eq!(raw(&p, "spec_acceptance_rate"), None);
    }

    #[test]
    fn directions() {
        assert_eq!(better("decode_tok_per_s"), Some(Better::Higher));
        assert_eq!(better("requests_per_s"), Some(Better::Higher));
        assert_eq!(better("tok_per_j"), Some(Better::Higher));
        assert_eq!(better("ttft_ms"), Some(Better::Lower));
        assert_eq!(better("peak_rss_bytes"), Some(Better::Lower));
        assert_eq!(better("j_per_tok"), Some(Better::Lower));
        assert_eq!(better("perplexity"), Some(Better::Lower));
        assert_eq!(better("mystery"), None);
        assert_eq!(better("spec_acceptance_rate"), Some(Better::Higher));
        assert_eq!(better("spec_speedup"), Some(Better::Higher));
        assert_eq!(better("spec_draft_step_ms"), Some(Better::Lower));
    }
}
