//! Edge-LLM's timing: trtbench's host wall-clock phase times, with the runtime's device stage
//! times beside them, and the CUDA-graph sweep axis. Pure Rust, compiled without any feature,
//! so the arithmetic is tested here.
//!
//! TTFT, ITL, TPOT and E2E mean the same on every backend (README): host wall clock from the
//! moment the request is handed to the engine. For Edge-LLM the shim reads the host steady
//! clock just before `handleRequest` and in `onTokenGenerated`, which the runtime calls after
//! the stream sync of each round (Edge-LLM 0.10 `emitTokenCallbacks`): TTFT is the first
//! token's callback, each ITL the gap between consecutive tokens of a sequence (the shim keys
//! them by each slot's token ordinal: 0.10's `generationStep` is 0 for both the prefill token
//! and the first decode token), E2E the whole call.
//!
//! Runtime stage times (Edge-LLM 0.10, `cpp/profiling/timer.{h,cpp}`, `metrics.h`) are kept
//! beside them. They are CUDA-event pairs around a C++ scope, not kernel time: the start
//! event is recorded on a stream that is idle at that point, and the scope closes only after
//! its own `cudaStreamSynchronize` and a host tail. `llm_prefill` (`runBaseModelPrefill`)
//! covers embedding, the engine, sampling, the D2H copy of the sampled tokens, the stream
//! synchronize, the token push and the prefill token's callbacks (trtbench's own
//! `onTokenGenerated`); `llm_generation` (`VanillaDecoder::decodeStep`, one per decode step)
//! covers the same up to the token push, without the callbacks. So a stage time is "runtime
//! stage time", an upper bound of the device time of that stage, and
//! `host_outside_stages` = E2E − Σ stage times is the host time outside every stage
//! (tokenization and request setup, and per decode round the finish-state update, the
//! callbacks and eviction): a lower bound of the host overhead, since the stages contain
//! host work too.
//!
//! A speculative request (Edge-LLM's unified runtime with a draft) records no
//! `llm_generation` stage. Each decode round runs the draft's `spec_decode_draft_prefill`
//! (round 0) or `spec_decode_draft_accept` (the catch-up on the previous round's accepted
//! tokens, later rounds), then `spec_decode_draft_proposal` and
//! `spec_decode_base_verification` (EAGLE: `cpp/runtime/decoding/eagleDecoder.cpp`
//! l.210-252; DFlash and DSpark run only the last two). A round emits every token it
//! accepted, each through its own callback after the round's sync (`runtime/streaming.cpp`
//! l.418-445), so there are fewer rounds than tokens: the device "steps" of a speculative
//! request are its rounds, each the sum of that round's stages ([`SpecStages::rounds`]),
//! while the host times stay per token (tokens of one round arrive together: their ITLs
//! between each other are the callback's own few microseconds).

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::engine::{DeviceTimes, Generation, PhaseTimes};
use crate::error::{Error, Result};
use crate::record::Clock;

const BACKEND: &str = "edge-llm";

fn timing_err(message: String) -> Error {
    Error::Engine {
        backend: BACKEND,
        op: "timing",
        message,
    }
}

/// Raw times of one request as the shim reports them.
#[derive(Debug, Clone, PartialEq)]
pub struct StageTimes {
    /// `llm_prefill` runtime stage runs, ms (CUDA events around the stage's scope).
    pub prefill_ms: Vec<f32>,
    /// `llm_generation` runtime stage runs (one per decode step), ms.
    pub generation_ms: Vec<f32>,
    /// Host steady clock, request start → first callback of each token ordinal, ns (-1: none).
    pub host_token_ns: Vec<i64>,
    /// Host steady clock of the whole request, ns.
    pub host_e2e_ns: i64,
    /// A speculative request's stage runs; empty for a vanilla one.
    pub spec: SpecStages,
}

/// The `spec_decode_*` stage runs of one request, ms (one entry per scope run).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SpecStages {
    pub draft_prefill_ms: Vec<f32>,
    pub draft_proposal_ms: Vec<f32>,
    pub base_verification_ms: Vec<f32>,
    pub draft_accept_ms: Vec<f32>,
}

impl SpecStages {
    /// True for a request that ran no speculative stage.
    pub fn is_empty(&self) -> bool {
        self.draft_prefill_ms.is_empty()
            && self.draft_proposal_ms.is_empty()
            && self.base_verification_ms.is_empty()
            && self.draft_accept_ms.is_empty()
    }

    /// Stage time of each decode round: its base verification, its draft proposal, and the
    /// draft work that opened it (the draft's prefill in round 0, the catch-up on the previous
    /// round's accepted tokens later). One verification per round; refuses stage runs that do
    /// not fit that shape, and more rounds than `output_len − 1` decode tokens.
    pub fn rounds(&self, output_len: u32) -> Result<Vec<f32>> {
        let rounds = self.base_verification_ms.len();
        let max_rounds = output_len.saturating_sub(1) as usize;
        if rounds == 0 || rounds > max_rounds {
            return Err(timing_err(format!(
                "expected 1..={max_rounds} spec_decode_base_verification runs (one per decode \
                 round) for {output_len} output tokens, got {rounds}"
            )));
        }
        if self.draft_proposal_ms.len() > rounds
            || self.draft_accept_ms.len() > rounds - 1
            || self.draft_prefill_ms.len() > 1
        {
            return Err(timing_err(format!(
                "speculative stages do not fit {rounds} rounds: {} draft prefill, {} proposal, \
                 {} accept runs",
                self.draft_prefill_ms.len(),
                self.draft_proposal_ms.len(),
                self.draft_accept_ms.len()
            )));
        }
        let at = |v: &[f32], i: usize| v.get(i).copied().unwrap_or(0.0).max(0.0);
        Ok((0..rounds)
            .map(|i| {
                let opening = if i == 0 {
                    self.draft_prefill_ms.iter().sum::<f32>()
                } else {
                    at(&self.draft_accept_ms, i - 1)
                };
                at(&self.base_verification_ms, i) + at(&self.draft_proposal_ms, i) + opening
            })
            .collect())
    }

    /// Draft model stage time of the request (prefill, proposals, catch-ups), ms.
    pub fn draft_ms(&self) -> f32 {
        self.draft_prefill_ms.iter().sum::<f32>()
            + self.draft_proposal_ms.iter().sum::<f32>()
            + self.draft_accept_ms.iter().sum::<f32>()
    }

    /// Base model verification stage time of the request, ms.
    pub fn target_ms(&self) -> f32 {
        self.base_verification_ms.iter().sum()
    }
}

/// Host phase times of one request, the runtime stage times, and the host time outside them.
#[derive(Debug, Clone, PartialEq)]
pub struct EdgeTimes {
    /// Host wall clock (`Clock::HostMonotonic`), comparable with every other backend.
    pub times: PhaseTimes,
    /// Runtime stage times (see the module doc: they include the stage's own synchronize
    /// and host tail).
    pub device: DeviceTimes,
    /// E2E − prefill stage − Σ decode stages: host time outside every runtime stage, a
    /// lower bound of the host overhead inside `handleRequest`.
    pub host_outside_stages: Duration,
}

fn dur(ms: f32) -> Duration {
    Duration::from_secs_f64(f64::from(ms.max(0.0)) / 1e3)
}

fn ns(v: i64) -> Duration {
    Duration::from_nanos(v.max(0) as u64)
}

/// Converts one request's times for `output_len` generated tokens per sequence. Refuses
/// inconsistent data instead of reporting it: one token round per output token, rounds in
/// order and inside E2E, one prefill stage run and `output_len − 1` decode steps, and device
/// stages that fit inside the host E2E (1 µs slack for float rounding).
pub fn phase_times(st: &StageTimes, output_len: u32) -> Result<EdgeTimes> {
    let want = output_len as usize;
    if st.host_token_ns.len() != want || st.host_token_ns.iter().any(|&t| t < 0) {
        return Err(timing_err(format!(
            "expected a token callback in each of {want} rounds, got rounds at {:?} ns",
            st.host_token_ns
        )));
    }
    if st.host_token_ns.windows(2).any(|w| w[1] < w[0])
        || st.host_token_ns.last().is_some_and(|&t| t > st.host_e2e_ns)
    {
        return Err(timing_err(format!(
            "token rounds at {:?} ns are not in order inside the request's {} ns",
            st.host_token_ns, st.host_e2e_ns
        )));
    }
    if st.prefill_ms.len() != 1 {
        return Err(timing_err(format!(
            "expected 1 llm_prefill stage run per request, got {} (was profiling enabled?)",
            st.prefill_ms.len()
        )));
    }
    let steps_ms = if st.spec.is_empty() {
        let want_steps = want.saturating_sub(1);
        if st.generation_ms.len() != want_steps {
            return Err(timing_err(format!(
                "expected {want_steps} llm_generation steps for {output_len} output tokens, got {}",
                st.generation_ms.len()
            )));
        }
        st.generation_ms.clone()
    } else {
        if !st.generation_ms.is_empty() {
            return Err(timing_err(format!(
                "a speculative request ran {} llm_generation steps beside its spec_decode stages",
                st.generation_ms.len()
            )));
        }
        st.spec.rounds(output_len)?
    };
    let device = DeviceTimes {
        prefill: dur(st.prefill_ms[0]),
        steps: steps_ms.iter().map(|&ms| dur(ms)).collect(),
    };
    let stages = device.prefill + device.steps.iter().sum::<Duration>();
    let e2e = ns(st.host_e2e_ns);
    if e2e + Duration::from_micros(1) < stages {
        return Err(timing_err(format!(
            "the request took {:.3} ms on the host but its device stages sum to {:.3} ms",
            e2e.as_secs_f64() * 1e3,
            stages.as_secs_f64() * 1e3
        )));
    }
    let at: Vec<Duration> = st.host_token_ns.iter().map(|&t| ns(t)).collect();
    let ttft = at[0];
    Ok(EdgeTimes {
        times: PhaseTimes {
            clock: Clock::HostMonotonic,
            // The runtime runs whole requests: the host cannot see prefill end apart from
            // the first token, so prefill is TTFT (tokenization included).
            prefill: ttft,
            ttft,
            steps: at.windows(2).map(|w| w[1] - w[0]).collect(),
            e2e,
        },
        device,
        host_outside_stages: e2e.saturating_sub(stages),
    })
}

/// Keys of [`edge_llm_figures`], each labelled "Edge-LLM formula" wherever it is shown.
pub const EDGE_LLM_FIGURES: [&str; 3] = [
    "edgellm_prefill_ms",
    "edgellm_prefill_tok_per_s",
    "edgellm_generation_tok_per_s",
];

/// Edge-LLM's own figures, by the formulas of its published tables (`llm_inference
/// --dumpProfile`, `examples/utils/profileFormatter.cpp`), from the runtime stage times of a
/// point's measured generations of `batch` sequences of `isl` input tokens:
/// - `edgellm_prefill_ms`: the `llm_prefill` stage time per run (its mean is Edge-LLM's
///   "prefill time");
/// - `edgellm_prefill_tok_per_s`: prefilled tokens of the whole batch (no reused tokens:
///   trtbench saves no system-prompt cache) over the summed `llm_prefill` time;
/// - `edgellm_generation_tok_per_s`: generated tokens (`osl` per sequence), the one sampled at
///   prefill included, over the summed decode stage time: B·N / ((N−1)·mean step) for one
///   vanilla run; a speculative run's decode stages are its rounds (fewer than N−1).
///
/// The two rates are one ratio of sums each (n = 1), as Edge-LLM computes them. Generations
/// without stage times are skipped; no generation stage time gives no generation rate.
pub fn edge_llm_figures(
    gens: &[Generation],
    batch: u32,
    isl: u32,
    osl: u32,
) -> BTreeMap<String, crate::record::Summary> {
    let mut prefill_ms = Vec::new();
    let (mut prefill_s, mut prefill_tokens) = (0.0f64, 0.0f64);
    let (mut gen_s, mut gen_tokens) = (0.0f64, 0.0f64);
    for g in gens {
        let Some(d) = &g.device else { continue };
        prefill_ms.push(d.prefill.as_secs_f64() * 1e3);
        prefill_s += d.prefill.as_secs_f64();
        prefill_tokens += f64::from(batch) * f64::from(isl);
        gen_s += d.steps.iter().sum::<Duration>().as_secs_f64();
        // Every sequence generates exactly `osl` tokens (EOS ignored, lengths checked).
        gen_tokens += f64::from(batch) * f64::from(osl);
    }
    let clock = Some(Clock::CudaEvent);
    let mut out = BTreeMap::new();
    let mut put = |key: &str, s: Option<crate::record::Summary>| {
        if let Some(s) = s {
            out.insert(key.to_owned(), s);
        }
    };
    put(
        EDGE_LLM_FIGURES[0],
        crate::stats::summarize(&prefill_ms, "ms", clock),
    );
    if prefill_s > 0.0 {
        put(
            EDGE_LLM_FIGURES[1],
            crate::stats::summarize(&[prefill_tokens / prefill_s], "tok/s", clock),
        );
    }
    if gen_s > 0.0 {
        put(
            EDGE_LLM_FIGURES[2],
            crate::stats::summarize(&[gen_tokens / gen_s], "tok/s", clock),
        );
    }
    out
}

/// Host time of each generated token from the request start: token i arrived with round i.
pub fn token_offsets(times: &PhaseTimes) -> Vec<Duration> {
    let mut at = times.ttft;
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

/// Key of the note in which a session records its [`GraphOutcome::label`].
pub const GRAPH_NOTE: &str = "cuda_graphs";

/// What a point's notes say its CUDA graphs really were: `Some(true)` when capture
/// succeeded (`on`), `Some(false)` when graphs were off or capture failed (`off`,
/// `failed: ...`), `None` when the point has no such note (not an Edge-LLM point, or a
/// results file from before the note existed).
pub fn graphs_captured(notes: &BTreeMap<String, String>) -> Option<bool> {
    let label = notes.get(GRAPH_NOTE)?;
    Some(label == "on")
}

/// Whether a graphs-on point and its graphs-off twin may be paired into a CUDA-graph
/// speedup: the "on" point's capture succeeded and the "off" point really ran without
/// graphs. A point whose capture failed ran plain `enqueueV3`, so a "speedup" there would
/// measure noise; points without the note (other backends) never pair.
pub fn speedup_pairable(
    on_notes: &BTreeMap<String, String>,
    off_notes: &BTreeMap<String, String>,
) -> bool {
    graphs_captured(on_notes) == Some(true)
        && off_notes.get(GRAPH_NOTE).map(String::as_str) == Some("off")
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

    fn st(prefill: f32, steps: &[f32], rounds_ms: &[i64], e2e_ms: i64) -> StageTimes {
        StageTimes {
            prefill_ms: vec![prefill],
            generation_ms: steps.to_vec(),
            host_token_ns: rounds_ms.iter().map(|ms| ms * 1_000_000).collect(),
            host_e2e_ns: e2e_ms * 1_000_000,
            spec: SpecStages::default(),
        }
    }

    /// A speculative request of 6 tokens in 3 rounds (EAGLE: draft prefill, then a catch-up
    /// opening each later round): the device steps are the rounds' stage sums, the host
    /// times stay one per token.
    #[test]
    fn speculative_rounds_sum_their_stages() {
        let mut t = st(5.0, &[], &[6, 9, 9, 12, 12, 12], 14);
        t.spec = SpecStages {
            draft_prefill_ms: vec![1.0],
            draft_proposal_ms: vec![0.5, 0.5, 0.5],
            base_verification_ms: vec![2.0, 2.0, 2.0],
            draft_accept_ms: vec![0.25, 0.25],
        };
        let e = phase_times(&t, 6).unwrap();
        let ms = |d: &Duration| (d.as_secs_f64() * 1e3 * 1e3).round() / 1e3;
        let steps: Vec<f64> = e.device.steps.iter().map(ms).collect();
        assert_eq!(steps, vec![3.5, 2.75, 2.75]);
        assert_eq!(e.times.steps.len(), 5);
        assert_eq!(e.times.steps[1], Duration::ZERO);
        assert_eq!(t.spec.draft_ms(), 3.0);
        assert_eq!(t.spec.target_ms(), 6.0);
        // More rounds than decode tokens, or an accept run without its round, is refused.
        t.spec.base_verification_ms = vec![1.0; 6];
        assert!(phase_times(&t, 6).is_err());
        t.spec.base_verification_ms = vec![1.0];
        assert!(phase_times(&t, 6)
            .unwrap_err()
            .to_string()
            .contains("do not fit"));
        // Speculative and vanilla stages in one request: refused.
        t.spec.draft_accept_ms.clear();
        t.generation_ms = vec![1.0];
        assert!(phase_times(&t, 6)
            .unwrap_err()
            .to_string()
            .contains("llm_generation"));
    }

    #[test]
    fn host_times_are_the_metrics_device_times_sit_beside() {
        // Host: first token at 14 ms, then 18 and 23 ms, request done at 26 ms.
        // Device: prefill 12 ms, steps 3 and 4 ms → 7 ms of host work.
        let t = phase_times(&st(12.0, &[3.0, 4.0], &[14, 18, 23], 26), 3).unwrap();
        assert_eq!(t.times.clock, Clock::HostMonotonic);
        assert_eq!(t.times.ttft, Duration::from_millis(14));
        assert_eq!(t.times.prefill, t.times.ttft);
        assert_eq!(
            t.times.steps,
            [Duration::from_millis(4), Duration::from_millis(5)]
        );
        assert_eq!(t.times.e2e, Duration::from_millis(26));
        assert_eq!(t.device.prefill, Duration::from_millis(12));
        assert_eq!(t.device.mean_step(), Duration::from_micros(3500));
        assert_eq!(t.host_outside_stages, Duration::from_millis(7));
        let offs = token_offsets(&t.times);
        assert_eq!(offs, [14, 18, 23].map(Duration::from_millis));
    }

    #[test]
    fn refuses_inconsistent_times() {
        let e = |s: StageTimes, n| phase_times(&s, n).unwrap_err().to_string();
        assert!(e(st(1.0, &[1.0], &[2], 5), 2).contains("token callback in each of 2"));
        assert!(e(st(1.0, &[1.0], &[3, 2], 5), 2).contains("not in order"));
        assert!(e(st(1.0, &[1.0], &[2, 6], 5), 2).contains("not in order"));
        assert!(e(st(1.0, &[], &[2, 3], 5), 2).contains("expected 1 llm_generation"));
        assert!(e(st(4.0, &[4.0], &[2, 3], 5), 2).contains("device stages sum to"));
        let mut none = st(1.0, &[], &[2], 3);
        none.prefill_ms.clear();
        assert!(e(none, 1).contains("llm_prefill"));
        // osl 1: prefill only.
        let one = phase_times(&st(3.0, &[], &[3], 3), 1).unwrap();
        assert!(one.times.steps.is_empty() && one.host_outside_stages == Duration::ZERO);
    }

    /// Edge-LLM's formulas on hand-made numbers: batch 2, isl 100, 5 output tokens, prefill
    /// 10 ms, four 4 ms steps per run, two runs.
    #[test]
    fn edge_llm_figures_follow_its_formulas() {
        let run = |prefill_ms: u64| Generation {
            tokens: Vec::new(),
            times: PhaseTimes {
                clock: Clock::HostMonotonic,
                prefill: Duration::ZERO,
                ttft: Duration::ZERO,
                steps: Vec::new(),
                e2e: Duration::from_millis(40),
            },
            device: Some(DeviceTimes {
                prefill: Duration::from_millis(prefill_ms),
                steps: vec![Duration::from_millis(4); 4],
            }),
            spec: None,
        };
        let f = edge_llm_figures(&[run(10), run(30)], 2, 100, 5);
        assert_eq!(f["edgellm_prefill_ms"].mean, 20.0);
        // 2 × 2 × 100 tokens over 40 ms.
        assert!((f["edgellm_prefill_tok_per_s"].mean - 10_000.0).abs() < 1e-6);
        // B·N / ((N−1)·step) = 2·5 / (4·4 ms) = 625 tok/s, the prefill token included.
        assert!((f["edgellm_generation_tok_per_s"].mean - 625.0).abs() < 1e-6);
        assert_eq!(f["edgellm_generation_tok_per_s"].n, 1);
        // osl 1: no generation stage, no generation rate; no stage times at all: nothing.
        let mut one = run(10);
        one.device.as_mut().unwrap().steps.clear();
        assert!(!edge_llm_figures(&[one], 2, 100, 1).contains_key("edgellm_generation_tok_per_s"));
        let mut none = run(10);
        none.device = None;
        assert!(edge_llm_figures(&[none], 2, 100, 1).is_empty());
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
    fn only_captured_graphs_pair_into_a_speedup() {
        let notes = |label: &str| BTreeMap::from([(GRAPH_NOTE.to_owned(), label.to_owned())]);
        let none = BTreeMap::new();
        // The labels sessions really write, from their outcomes.
        let on = notes(&GraphOutcome::new(true, Some(Ok(true))).label());
        let off = notes(&GraphOutcome::new(false, None).label());
        let failed = notes(&GraphOutcome::new(true, Some(Ok(false))).label());
        let threw = notes(&GraphOutcome::new(true, Some(Err("oom".into()))).label());
        assert_eq!(graphs_captured(&on), Some(true));
        assert_eq!(graphs_captured(&off), Some(false));
        assert_eq!(graphs_captured(&failed), Some(false));
        assert_eq!(graphs_captured(&none), None);
        assert!(speedup_pairable(&on, &off));
        assert!(!speedup_pairable(&failed, &off));
        assert!(!speedup_pairable(&threw, &off));
        assert!(!speedup_pairable(&on, &on));
        assert!(!speedup_pairable(&on, &none));
        assert!(!speedup_pairable(&none, &none));
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
