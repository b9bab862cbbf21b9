//! Turning Edge-LLM's device-side stage times into trtbench's phase times, and the CUDA-graph
//! sweep axis. Pure Rust, compiled without any feature, so the arithmetic is tested here.
//!
//! What each number is (Edge-LLM 0.10, `cpp/profiling/timer.{h,cpp}`, `metrics.h`):
//! - `llm_prefill`: one CUDA-event pair around the prefill forward pass and the sampling of
//!   the first token (`runBaseModelPrefill`, `llmInferenceRuntime.cpp`).
//! - `llm_generation`: one pair per decode step, covering embedding lookup, the engine, and
//!   sampling (`VanillaDecoder::decodeStep`). Edge-LLM itself synchronises the stream once per
//!   step to read the sampled tokens; trtbench adds no synchronisation in the loop.
//! - E2E: trtbench's own CUDA events recorded on the same stream before and after
//!   `handleRequest`, resolved after the request.
//!
//! TTFT: the runtime's stage events are private, so the point where the first token became
//! available cannot be placed on the request's timeline. trtbench reports TTFT as the
//! prefill stage time (device-side, the definition Edge-LLM's own profile and edgellm-bench
//! use) and keeps the rest — tokenisation, setup, host work between steps, detokenisation —
//! visible as `host_gap` = E2E − prefill − Σ steps.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::engine::PhaseTimes;
use crate::error::{Error, Result};
use crate::record::Clock;

const BACKEND: &str = "edge-llm";

/// Raw CUDA-event times of one request, in milliseconds as CUDA reports them.
#[derive(Debug, Clone, PartialEq)]
pub struct StageTimes {
    pub prefill_ms: Vec<f32>,
    pub generation_ms: Vec<f32>,
    /// From trtbench's own events around the request.
    pub e2e_ms: f32,
}

/// Phase times of one request plus the time outside the runtime's timed stages.
#[derive(Debug, Clone, PartialEq)]
pub struct EdgeTimes {
    pub times: PhaseTimes,
    /// E2E − prefill − Σ decode steps: host-side work inside `handleRequest`.
    pub host_gap: Duration,
}

fn dur(ms: f32) -> Duration {
    Duration::from_secs_f64(f64::from(ms.max(0.0)) / 1e3)
}

/// Converts one request's stage times for `output_len` generated tokens per sequence.
/// Refuses inconsistent data instead of reporting it: one prefill run, `output_len − 1`
/// decode steps, and an E2E that covers them (with 1 µs of slack for float rounding).
pub fn phase_times(st: &StageTimes, output_len: u32) -> Result<EdgeTimes> {
    if st.prefill_ms.len() != 1 {
        return Err(Error::Engine {
            backend: BACKEND,
            op: "timing",
            message: format!(
                "expected 1 llm_prefill stage run per request, got {} (was profiling enabled?)",
                st.prefill_ms.len()
            ),
        });
    }
    let want_steps = output_len.saturating_sub(1) as usize;
    if st.generation_ms.len() != want_steps {
        return Err(Error::Engine {
            backend: BACKEND,
            op: "timing",
            message: format!(
                "expected {want_steps} llm_generation steps for {output_len} output tokens, got {}",
                st.generation_ms.len()
            ),
        });
    }
    let prefill = dur(st.prefill_ms[0]);
    let steps: Vec<Duration> = st.generation_ms.iter().map(|&ms| dur(ms)).collect();
    let stages: Duration = prefill + steps.iter().sum::<Duration>();
    let e2e = dur(st.e2e_ms);
    if e2e + Duration::from_micros(1) < stages {
        return Err(Error::Engine {
            backend: BACKEND,
            op: "timing",
            message: format!(
                "request events span {:.3} ms but the stages inside it sum to {:.3} ms",
                st.e2e_ms,
                stages.as_secs_f64() * 1e3
            ),
        });
    }
    Ok(EdgeTimes {
        times: PhaseTimes {
            clock: Clock::CudaEvent,
            prefill,
            ttft: prefill,
            steps,
            e2e,
        },
        host_gap: e2e.saturating_sub(stages),
    })
}

/// Device-time offset of each generated token from the start of prefill: token 0 at the
/// end of prefill, token i after i decode steps. Edge-LLM runs whole requests, so trtbench
/// hands tokens to the caller's callback after the request with these offsets.
pub fn token_offsets(times: &PhaseTimes) -> Vec<Duration> {
    let mut at = times.prefill;
    let mut out = Vec::with_capacity(times.steps.len() + 1);
    out.push(at);
    for s in &times.steps {
        at += *s;
        out.push(at);
    }
    out
}

/// Parses the `--cuda-graphs` axis: `on`, `off`, or both (`on,off`). Order is kept.
pub fn parse_graph_axis(s: &str) -> Result<Vec<bool>> {
    let mut out = Vec::new();
    for part in s.split(',').map(str::trim) {
        let v = match part.to_ascii_lowercase().as_str() {
            "on" | "true" | "1" => true,
            "off" | "false" | "0" => false,
            other => {
                return Err(Error::config(
                    "--cuda-graphs",
                    format!("`{other}` is not on or off (use on, off or on,off)"),
                ))
            }
        };
        if !out.contains(&v) {
            out.push(v);
        }
    }
    if out.is_empty() {
        return Err(Error::config("--cuda-graphs", "empty list"));
    }
    Ok(out)
}

/// What happened to CUDA graphs for one session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GraphOutcome {
    pub requested: bool,
    /// True only when every decode-graph capture succeeded.
    pub captured: bool,
    /// Why `captured` is false although graphs were requested.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl GraphOutcome {
    /// `capture` is the result of `captureDecodingCUDAGraph` (false = some capture failed
    /// and the runtime falls back to plain enqueueV3), or the error it threw; `None` when
    /// capture was not attempted.
    pub fn new(requested: bool, capture: Option<std::result::Result<bool, String>>) -> Self {
        match (requested, capture) {
            (false, _) => GraphOutcome {
                requested: false,
                captured: false,
                reason: None,
            },
            (true, None) => GraphOutcome {
                requested: true,
                captured: false,
                reason: Some("capture was not attempted".into()),
            },
            (true, Some(Ok(true))) => GraphOutcome {
                requested: true,
                captured: true,
                reason: None,
            },
            (true, Some(Ok(false))) => GraphOutcome {
                requested: true,
                captured: false,
                reason: Some(
                    "captureDecodingCUDAGraph returned false: at least one batch size runs \
                     without a graph (Edge-LLM logs which on stderr)"
                        .into(),
                ),
            },
            (true, Some(Err(e))) => GraphOutcome {
                requested: true,
                captured: false,
                reason: Some(format!("captureDecodingCUDAGraph failed: {e}")),
            },
        }
    }

    /// The value recorded in results: `on`, `off`, or `failed: <reason>`.
    pub fn label(&self) -> String {
        match (self.requested, self.captured, &self.reason) {
            (false, _, _) => "off".into(),
            (true, true, _) => "on".into(),
            (true, false, r) => format!("failed: {}", r.as_deref().unwrap_or("unknown")),
        }
    }
}

/// One sweep point's decode time, keyed by its parameters without the graph axis.
#[derive(Debug, Clone, PartialEq)]
pub struct GraphRow {
    pub key_without_graphs: String,
    pub graphs_on: bool,
    /// Mean time per output token (TPOT) of the point.
    pub tpot_ms: f64,
}

/// Decode speedup from CUDA graphs for every point that ran both ways.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GraphSpeedup {
    pub key: String,
    pub tpot_off_ms: f64,
    pub tpot_on_ms: f64,
    /// TPOT without graphs ÷ TPOT with graphs (> 1 means graphs help).
    pub speedup: f64,
}

/// Pairs on/off rows with the same key; rows without a partner are skipped.
pub fn graph_speedups(rows: &[GraphRow]) -> Vec<GraphSpeedup> {
    let mut out = Vec::new();
    for on in rows.iter().filter(|r| r.graphs_on) {
        if let Some(off) = rows
            .iter()
            .find(|r| !r.graphs_on && r.key_without_graphs == on.key_without_graphs)
        {
            if on.tpot_ms > 0.0 {
                out.push(GraphSpeedup {
                    key: on.key_without_graphs.clone(),
                    tpot_off_ms: off.tpot_ms,
                    tpot_on_ms: on.tpot_ms,
                    speedup: off.tpot_ms / on.tpot_ms,
                });
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn converts_stage_times() {
        let st = StageTimes {
            prefill_ms: vec![12.5],
            generation_ms: vec![2.0, 2.5, 3.0],
            e2e_ms: 25.0,
        };
        let t = phase_times(&st, 4).unwrap();
        assert_eq!(t.times.clock, Clock::CudaEvent);
        assert_eq!(t.times.prefill, Duration::from_micros(12_500));
        assert_eq!(t.times.ttft, t.times.prefill);
        assert_eq!(t.times.steps.len(), 3);
        assert_eq!(t.times.e2e, Duration::from_millis(25));
        assert_eq!(t.host_gap, Duration::from_millis(5));
        let offs = token_offsets(&t.times);
        assert_eq!(offs.len(), 4);
        assert_eq!(offs[3], Duration::from_millis(20));
    }

    #[test]
    fn refuses_inconsistent_stage_counts() {
        let mut st = StageTimes {
            prefill_ms: vec![],
            generation_ms: vec![],
            e2e_ms: 1.0,
        };
        assert!(phase_times(&st, 1)
            .unwrap_err()
            .to_string()
            .contains("llm_prefill"));
        st.prefill_ms = vec![1.0];
        let e = phase_times(&st, 3).unwrap_err().to_string();
        assert!(e.contains("expected 2 llm_generation"), "{e}");
        st.generation_ms = vec![1.0, 1.0];
        let e = phase_times(&st, 3).unwrap_err().to_string();
        assert!(e.contains("sum to"), "{e}");
        // osl 1: prefill only.
        let one = StageTimes {
            prefill_ms: vec![3.0],
            generation_ms: vec![],
            e2e_ms: 3.0,
        };
        assert_eq!(phase_times(&one, 1).unwrap().host_gap, Duration::ZERO);
    }

    #[test]
    fn graph_axis_and_outcomes() {
        assert_eq!(parse_graph_axis("on,off").unwrap(), vec![true, false]);
        assert_eq!(parse_graph_axis("off").unwrap(), vec![false]);
        assert_eq!(parse_graph_axis("on,on").unwrap(), vec![true]);
        assert!(parse_graph_axis("maybe")
            .unwrap_err()
            .to_string()
            .contains("--cuda-graphs"));
        assert_eq!(GraphOutcome::new(false, None).label(), "off");
        assert_eq!(GraphOutcome::new(true, Some(Ok(true))).label(), "on");
        let f = GraphOutcome::new(true, Some(Ok(false)));
        assert!(
            !f.captured
                && f.label()
                    .starts_with("failed: captureDecodingCUDAGraph returned false")
        );
        let t = GraphOutcome::new(true, Some(Err("reshape failed".into())));
        assert!(t.label().contains("reshape failed"));
    }

    #[test]
    fn speedups_pair_on_and_off() {
        let rows = vec![
            GraphRow {
                key_without_graphs: "b=1".into(),
                graphs_on: true,
                tpot_ms: 8.0,
            },
            GraphRow {
                key_without_graphs: "b=1".into(),
                graphs_on: false,
                tpot_ms: 10.0,
            },
            GraphRow {
                key_without_graphs: "b=2".into(),
                graphs_on: true,
                tpot_ms: 9.0,
            },
        ];
        let s = graph_speedups(&rows);
        assert_eq!(s.len(), 1);
        assert_eq!(s[0].speedup, 1.25);
    }
}
