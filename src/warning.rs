//! Warnings with advice, as typed values: what is wrong with a machine or a measurement,
//! and what to do about it (hyperfine's `warnings.rs` is the model). Each warning is a
//! variant with its facts; `Display` renders the one sentence people read, and results
//! files store that sentence. Pure functions over the fingerprint JSON and `record` types:
//! depends on `record` and `stats` only, so `report` can re-derive warnings from a file.

use std::fmt;

use serde_json::Value;

use crate::record::{Point, PointKind};
use crate::stats::samples::raw;

/// Outlier threshold on the modified Z-score of per-run samples: Iglewicz & Hoaglin (1993)
/// recommend labelling |Mi| > 3.5 as potential outliers.
pub const OUTLIER_Z: f64 = 3.5;

/// Fewer runs than this get a "too few samples" warning (and no bootstrap interval).
pub const MIN_RUNS: usize = crate::stats::bootstrap::MIN_SAMPLES;

/// One warning with its advice.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Warning {
    /// A CPU frequency governor other than `performance`.
    Governor { governor: String },
    /// Other processes kept the CPUs busy while trtbench was idle.
    BusyCpus { busy_pct: f64 },
    /// A high load average (when busy time could not be measured).
    LoadAverage { load1: f64, cores: f64 },
    /// Running in a virtual machine.
    Virtualized,
    /// Jetson DVFS is free to change clocks.
    JetsonClocksUnlocked,
    /// `nvpmodel -q` failed.
    JetsonPowerModeUnknown,
    /// Too few measured runs for a confidence interval.
    TooFewRuns { runs: usize },
    /// Runs whose metric is an outlier by modified Z-score.
    Outliers {
        metric: String,
        outliers: usize,
        runs: usize,
    },
    /// The first measured run was much slower than the rest.
    SlowFirstRun { first_ms: f64, median_rest_ms: f64 },
    /// Too few successful requests in a load level.
    TooFewRequests { ok: usize },
    /// Requests of a load level failed; `by_kind` counts them per error kind, in order.
    RequestsFailed {
        failed: usize,
        requests: usize,
        by_kind: Vec<(String, usize)>,
    },
    /// Requests re-sent once because the server closed a kept-alive connection.
    RequestsRetried { retried: usize },
    /// Streamed text events carried more than one token each on average.
    MultiTokenEvents { tokens_per_event: f64 },
    /// Our tokenizer's output counts disagree with the server's `usage`.
    OutputTokensMismatch {
        disagree: usize,
        requests: usize,
        mean_ours_minus_server: f64,
    },
    /// The server counts a constant number of extra input tokens (its chat template).
    ChatTemplateTokens { extra_per_request: i64 },
    /// Our prompt token counts disagree with the server's `usage`.
    InputTokensMismatch {
        disagree: usize,
        requests: usize,
        mean_server_minus_ours: f64,
    },
    /// The load client's event loop ran late. `worst` is the reported latency it could
    /// move most and by what share of it (none when it moves none: kernel-stamped tokens);
    /// `invalid` when that share is beyond `client::health::MAX_CLIENT_DISTORTION`.
    EventLoopLag {
        p99_ms: f64,
        limit_ms: f64,
        worst: Option<(String, f64)>,
        limit_frac: f64,
        kernel_stamps: bool,
        invalid: bool,
    },
    /// Open loop: requests left after their scheduled time, which every latency counted
    /// from the schedule includes.
    SendLag {
        p99_ms: f64,
        limit_ms: f64,
        worst: Option<(String, f64)>,
        limit_frac: f64,
        invalid: bool,
    },
    /// The load client used most of the machine's CPU.
    ClientCpu { used_frac: f64, cores: usize },
    /// The first failure of one kind in a load level, with the server's detail.
    FirstFailure { kind: String, detail: String },
    /// Every prompt was sent before `--duration` ended.
    PromptsExhausted { prompts: usize },
    /// A load level was stopped early, for this reason.
    LevelCutShort { reason: String },
    /// A rate above the machine's measured peak (docs/ARCHITECTURE.md, "Speed of light").
    BeyondSpeedOfLight { figure: String, pct: f64 },
    /// The engine's llama.cpp build lacks CPU kernel features (ggml's names) that this CPU
    /// has: the engine runs slower than the machine can.
    BuildLacksCpuFeatures { missing: Vec<String> },
    /// The server reported prompt tokens served from its prefix cache on a level meant to
    /// be cache-free (every prompt distinct).
    PromptCacheHits {
        hits: usize,
        requests: usize,
        /// Mean share of the server's prompt cached beyond the chat template.
        mean_cached_frac: f64,
        /// Mean chat-template tokens per request (shared by construction, not counted).
        template_tokens: f64,
    },
    /// The point ran on an Edge-LLM version trtbench was not checked against (0.10.x is).
    UncheckedEdgeLlmVersion { version: String },
    /// The server refused `ignore_eos` / `min_tokens`: output lengths were not forced.
    IgnoreEosRefused { detail: String },
}

/// Edge-LLM versions whose behaviour trtbench's shim and CPU double were read against
/// (`tests/trt_double/FIDELITY.md`): 0.10.x, the "+trtbench-double" build included.
pub fn edge_llm_version_checked(version: &str) -> bool {
    version.starts_with("0.10.")
}

/// The point note in which Edge-LLM sessions record the runtime's `kRUNTIME_VERSION`.
pub const EDGE_LLM_VERSION_NOTE: &str = "edge_llm_version";

impl fmt::Display for Warning {
    // Long: one arm per warning, each the sentence people read; splitting the match would
    // scatter sentences that must be kept consistent.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Warning::Governor { governor } => write!(
                f,
                "CPU frequency governor is `{governor}`: clocks follow load, so run-to-run \
                 variance grows; for benchmarking set `performance` (`sudo cpupower \
                 frequency-set -g performance`)"
            ),
            Warning::BusyCpus { busy_pct } => write!(
                f,
                "other processes kept the CPUs {busy_pct:.0}% busy while trtbench was idle: \
                 they compete for cores and memory bandwidth; stop them or expect noisy numbers"
            ),
            Warning::LoadAverage { load1, cores } => write!(
                f,
                "1-minute load average is {load1:.2} on {cores} logical cores: other work is \
                 running; stop it or expect noisy numbers"
            ),
            Warning::BuildLacksCpuFeatures { missing } => write!(
                f,
                "figures understate this machine: the engine's llama.cpp was built without \
                 {} kernels this CPU has; build trtbench on the machine with RUSTFLAGS='-C \
                 target-cpu=native', or for its CPU class (docs/jetson.md)",
                missing.join(", ")
            ),
            Warning::Virtualized => f.write_str(
                "running in a virtual machine: neighbours on the host can steal CPU time; \
                 compare only results from the same instance type, and prefer more repeats",
            ),
            Warning::JetsonClocksUnlocked => f.write_str(
                "Jetson clocks are not locked: DVFS changes CPU/GPU/EMC clocks during the run; \
                 run `sudo jetson_clocks` (after choosing the power mode with `sudo nvpmodel -m N`)",
            ),
            Warning::JetsonPowerModeUnknown => {
                f.write_str("Jetson power mode unknown (`nvpmodel -q` failed): record it by hand")
            }
            Warning::TooFewRuns { runs } => write!(
                f,
                "only {runs} measured run(s): no confidence interval is possible below \
                 {MIN_RUNS}; use more repeats"
            ),
            Warning::Outliers {
                metric,
                outliers,
                runs,
            } => write!(
                f,
                "{outliers} of {runs} runs have outlying {metric} (modified Z-score > \
                 {OUTLIER_Z}, Iglewicz & Hoaglin 1993): something else ran, or clocks changed; \
                 re-run on a quiet machine"
            ),
            Warning::SlowFirstRun {
                first_ms,
                median_rest_ms,
            } => write!(
                f,
                "the first measured run took {first_ms:.0} ms, over twice the median of the \
                 others ({median_rest_ms:.0} ms): warmup was too short; add warmup runs"
            ),
            Warning::TooFewRequests { ok } => write!(
                f,
                "only {ok} successful request(s): too few for percentiles; send more requests"
            ),
            Warning::RequestsFailed {
                failed,
                requests,
                by_kind,
            } => {
                let list: Vec<String> = by_kind.iter().map(|(k, n)| format!("{n} {k}")).collect();
                write!(
                    f,
                    "{failed} of {requests} requests failed: {}",
                    list.join(", ")
                )
            }
            Warning::RequestsRetried { retried } => write!(
                f,
                "{retried} requests were sent a second time because the server closed a kept-alive \
                 connection as it was reused; their latencies count from the first attempt"
            ),
            Warning::MultiTokenEvents { tokens_per_event } => write!(
                f,
                "text events carried {tokens_per_event:.2} tokens each on average: itl_ms is per \
                 token (each gap divided over the tokens of its event), itl_chunk_ms is per event"
            ),
            Warning::OutputTokensMismatch {
                disagree,
                requests,
                mean_ours_minus_server,
            } => write!(
                f,
                "output token counts: our tokenizer disagrees with the server's usage on \
                 {disagree} of {requests} requests (mean ours − server \
                 {mean_ours_minus_server:+.2}); figures use the server's count"
            ),
            Warning::ChatTemplateTokens { extra_per_request } => write!(
                f,
                "input tokens: the server counts {extra_per_request} more per request than the \
                 prompt text (its chat template)"
            ),
            Warning::InputTokensMismatch {
                disagree,
                requests,
                mean_server_minus_ours,
            } => write!(
                f,
                "input token counts disagree with the server's usage on {disagree} of {requests} \
                 requests (mean server − ours {mean_server_minus_ours:+.2}): the tokenizer may \
                 not match the served model"
            ),
            Warning::EventLoopLag {
                p99_ms,
                limit_ms,
                worst,
                limit_frac,
                kernel_stamps,
                invalid,
            } => {
                let pct = limit_frac * 100.0;
                match (invalid, worst) {
                    (true, Some((figure, frac))) => write!(
                        f,
                        "INVALID: the client's event loop ran {p99_ms:.1} ms late at p99 \
                         (above {limit_ms} ms) and tokens are timed when reads return, so \
                         {figure} could be {:.0}% late (limit {pct:.0}%). Lower the \
                         concurrency/rate, or give the client more CPU",
                        frac * 100.0
                    ),
                    _ if *kernel_stamps => write!(
                        f,
                        "note: the client's event loop ran {p99_ms:.1} ms late at p99 (above \
                         {limit_ms} ms); tokens are timed by the kernel's receive stamps, so \
                         no latency figure moved"
                    ),
                    (_, Some((figure, frac))) => write!(
                        f,
                        "note: the client's event loop ran {p99_ms:.1} ms late at p99 (above \
                         {limit_ms} ms): at most {:.1}% of {figure} (limit {pct:.0}%)",
                        frac * 100.0
                    ),
                    (_, None) => write!(
                        f,
                        "note: the client's event loop ran {p99_ms:.1} ms late at p99 (above \
                         {limit_ms} ms); no reported latency depends on it"
                    ),
                }
            }
            Warning::SendLag {
                p99_ms,
                limit_ms,
                worst,
                limit_frac,
                invalid,
            } => {
                let pct = limit_frac * 100.0;
                match (invalid, worst) {
                    (true, Some((figure, frac))) => write!(
                        f,
                        "INVALID: requests left {p99_ms:.1} ms after their scheduled time at \
                         p99 (above {limit_ms} ms), up to {:.0}% of {figure} (limit {pct:.0}%): \
                         the client could not keep the offered rate",
                        frac * 100.0
                    ),
                    (_, Some((figure, frac))) => write!(
                        f,
                        "note: requests left {p99_ms:.1} ms after their scheduled time at p99 \
                         (above {limit_ms} ms): at most {:.1}% of {figure} (limit {pct:.0}%)",
                        frac * 100.0
                    ),
                    (_, None) => write!(
                        f,
                        "note: requests left {p99_ms:.1} ms after their scheduled time at p99 \
                         (above {limit_ms} ms)"
                    ),
                }
            }
            Warning::ClientCpu { used_frac, cores } => write!(
                f,
                "the client used {:.0}% of all {cores} cores: it may be the bottleneck",
                used_frac * 100.0
            ),
            Warning::FirstFailure { kind, detail } => {
                write!(f, "first {kind} failure: {detail}")
            }
            Warning::PromptsExhausted { prompts } => write!(
                f,
                "all {prompts} prompts were sent before --duration ended: raise --num-prompts"
            ),
            Warning::LevelCutShort { reason } => write!(f, "level cut short: {reason}"),
            Warning::BeyondSpeedOfLight { figure, pct } => write!(
                f,
                "{figure} is {pct:.0}% of the machine's measured peak, which is impossible: \
                 the peak was measured low (other work was running during the probe) or the \
                 bytes/FLOPs counted for this model are more than it moves"
            ),
            Warning::PromptCacheHits {
                hits,
                requests,
                mean_cached_frac,
                template_tokens,
            } => {
                write!(
                    f,
                    "PREFIX CACHE: the server took {:.0}% of the prompt tokens (as it counts \
                     them) from its cache on average beyond what requests share by \
                     construction ({hits} of {requests} requests over 10%): our prompt text \
                     itself was cached, so TTFT is flattered. Use a new --salt, or restart \
                     the server",
                    mean_cached_frac * 100.0
                )?;
                if *template_tokens > 0.0 {
                    write!(
                        f,
                        " (the chat template's {template_tokens:.0} tokens a request, cached \
                         whatever the salt, are not counted)"
                    )?;
                }
                Ok(())
            }
            Warning::IgnoreEosRefused { detail } => write!(
                f,
                "the server refused ignore_eos ({detail}): output lengths were not forced, so \
                 each request stopped where the model chose; compare TPOT and tokens/s only \
                 with runs whose output lengths match"
            ),
            Warning::UncheckedEdgeLlmVersion { version } => write!(
                f,
                "Edge-LLM {version} is not a version trtbench was checked against (0.10.x): \
                 its token-callback round numbers, BOS at encode, llm_prefill/llm_generation \
                 stage scopes, finish-reason names, EDGELLM_IGNORE_EOS parsing and logger may \
                 differ, so TTFT/ITL, input lengths and stage times may be wrong \
                 (tests/trt_double/FIDELITY.md lists what to re-check)"
            ),
        }
    }
}

/// Renders warnings as the sentences results files store.
pub fn sentences(ws: &[Warning]) -> Vec<String> {
    ws.iter().map(ToString::to_string).collect()
}

/// Advice about the machine a fingerprint (`env::fingerprint`) describes: where results
/// from it will be noisy, and what to change.
pub fn machine(env: &Value) -> Vec<Warning> {
    let mut w = Vec::new();
    let s = |k: &str| env.get(k).and_then(Value::as_str);
    if let Some(g) = s("cpu_governor") {
        if g.split(',').any(|g| g != "performance") {
            w.push(Warning::Governor {
                governor: g.to_owned(),
            });
        }
    }
    let cores = env
        .get("cpu_logical_cores")
        .and_then(Value::as_f64)
        .unwrap_or(1.0);
    if let Some(busy) = env.get("cpu_busy_pct").and_then(Value::as_f64) {
        if busy > 10.0 {
            w.push(Warning::BusyCpus { busy_pct: busy });
        }
    } else if let Some(l1) = env
        .get("loadavg")
        .and_then(|v| v.get(0))
        .and_then(Value::as_f64)
    {
        if l1 > 0.5 * cores {
            w.push(Warning::LoadAverage { load1: l1, cores });
        }
    }
    if env.get("virtualized").and_then(Value::as_bool) == Some(true) {
        w.push(Warning::Virtualized);
    }
    let list = |k: &str| -> Option<Vec<&str>> {
        Some(
            env.get(k)?
                .as_array()?
                .iter()
                .filter_map(Value::as_str)
                .collect(),
        )
    };
    if let (Some(cpu), Some(build)) = (list("cpu_ggml_features"), list("llama_cpp_build_features"))
    {
        let missing = missing_build_features(&cpu, &build);
        if !missing.is_empty() {
            w.push(Warning::BuildLacksCpuFeatures { missing });
        }
    }
    if let Some(j) = env.get("jetson") {
        if j.get("gpu_clocks_locked").and_then(Value::as_bool) == Some(false)
            || env.get("cpu_clocks_locked").and_then(Value::as_bool) == Some(false)
        {
            w.push(Warning::JetsonClocksUnlocked);
        }
        if j.get("power_mode").is_none() {
            w.push(Warning::JetsonPowerModeUnknown);
        }
    }
    w
}

/// Kernel features (ggml's names, `env::GGML_KERNEL_FEATURES`) the CPU has and the engine's
/// build lacks. Empty when the build names no feature of the CPU's architecture (a results
/// file whose build and CPU were read on different architectures).
pub fn missing_build_features(cpu: &[&str], build: &[&str]) -> Vec<String> {
    let arm = |f: &str| matches!(f, "NEON" | "FP16_VA" | "DOTPROD" | "MATMUL_INT8" | "SVE");
    let same_arch = cpu
        .first()
        .is_some_and(|c| build.iter().any(|b| arm(b) == arm(c)));
    if !same_arch {
        return Vec::new();
    }
    cpu.iter()
        .filter(|f| !build.contains(f))
        .map(|f| (*f).to_owned())
        .collect()
}

/// Advice about one point's samples: too few runs, outliers by modified Z-score, a slow
/// first run (warmup too short), too few successful requests; and an Edge-LLM version
/// trtbench was not checked against.
pub fn point(point: &Point) -> Vec<Warning> {
    let mut w = Vec::new();
    if let Some(v) = point.notes.get(EDGE_LLM_VERSION_NOTE) {
        if !edge_llm_version_checked(v) {
            w.push(Warning::UncheckedEdgeLlmVersion { version: v.clone() });
        }
    }
    match point.kind {
        PointKind::Engine if !point.runs.is_empty() => {
            let n = point.runs.len();
            if n < MIN_RUNS {
                w.push(Warning::TooFewRuns { runs: n });
            }
            for metric in ["e2e_ms", "ttft_ms", "decode_tok_per_s", "prefill_tok_per_s"] {
                let Some(v) = raw(point, metric) else {
                    continue;
                };
                let out = crate::stats::outliers(&v, OUTLIER_Z);
                if !out.is_empty() {
                    w.push(Warning::Outliers {
                        metric: metric.to_owned(),
                        outliers: out.len(),
                        runs: v.len(),
                    });
                }
            }
            if let Some(v) = raw(point, "e2e_ms") {
                if v.len() >= 3 {
                    let rest = crate::stats::median(&v[1..]);
                    if v[0] > 2.0 * rest {
                        w.push(Warning::SlowFirstRun {
                            first_ms: v[0],
                            median_rest_ms: rest,
                        });
                    }
                }
            }
        }
        PointKind::Load if !point.requests.is_empty() => {
            let ok = point.requests.iter().filter(|r| r.error.is_none()).count();
            if ok < MIN_RUNS {
                w.push(Warning::TooFewRequests { ok });
            }
        }
        _ => {}
    }
    w
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Every point of an Edge-LLM other than 0.10.x carries the warning; 0.10.x (the double
    /// included) and points of other backends do not.
    #[test]
    fn unchecked_edge_llm_versions_are_named_on_every_point() {
        let with = |v: Option<&str>| {
            let mut p = Point::new(PointKind::Engine, Default::default());
            if let Some(v) = v {
                p.notes.insert(EDGE_LLM_VERSION_NOTE.into(), v.into());
            }
            sentences(&point(&p))
        };
        let w = with(Some("0.11.0")).join("\n");
        assert!(
            w.contains("Edge-LLM 0.11.0") && w.contains("round numbers"),
            "{w}"
        );
        for ok in [
            Some("0.10.0"),
            Some("0.10.1"),
            Some("0.10.0+trtbench-double"),
            None,
        ] {
            assert!(
                !with(ok).iter().any(|s| s.contains("Edge-LLM")),
                "{ok:?}: {:?}",
                with(ok)
            );
        }
        assert!(!with(Some("0.1.0")).is_empty());
    }

    #[test]
    fn fake_jetson_machine_gets_advice() {
        let env = json!({
            "cpu_governor": "schedutil", "cpu_logical_cores": 2, "cpu_clocks_locked": false,
            "loadavg": [1.9, 0.5, 0.2], "jetson": {"gpu_clocks_locked": false}
        });
        let w = sentences(&machine(&env)).join("\n");
        assert!(w.contains("schedutil") && w.contains("performance"), "{w}");
        assert!(w.contains("jetson_clocks"), "{w}");
        assert!(w.contains("load average is 1.90"), "{w}");
        assert!(w.contains("power mode unknown"), "{w}");
    }

    #[test]
    fn quiet_machine_gets_no_machine_warning() {
        let env =
            json!({"cpu_governor": "performance", "cpu_busy_pct": 1.0, "cpu_logical_cores": 8});
        assert!(machine(&env).is_empty());
    }

    #[test]
    fn a_build_without_the_cpus_kernels_understates_the_machine() {
        // The system info of llama-cpp-sys-2 0.1.161's default aarch64 build (armv8-a), read
        // under qemu-aarch64 -cpu neoverse-n1, against that CPU's features.
        let armv8 = "CPU : NEON = 1 | ARM_FMA = 1 | LLAMAFILE = 1 | OPENMP = 1 | REPACK = 1 | ";
        let env = json!({
            "cpu_ggml_features": ["NEON", "FP16_VA", "DOTPROD"],
            "llama_cpp_build_features": crate::env::ggml_build_features(armv8),
        });
        let w = machine(&env);
        assert_eq!(
            w,
            vec![Warning::BuildLacksCpuFeatures {
                missing: vec!["FP16_VA".into(), "DOTPROD".into()]
            }]
        );
        let s = w[0].to_string();
        assert!(s.starts_with("figures understate this machine"), "{s}");
        assert!(
            s.contains("FP16_VA, DOTPROD") && s.contains("docs/jetson.md"),
            "{s}"
        );
        // A build for the CPU's class: nothing to say.
        let orin = "CPU : NEON = 1 | ARM_FMA = 1 | FP16_VA = 1 | DOTPROD = 1 | OPENMP = 1 | ";
        let env = json!({
            "cpu_ggml_features": ["NEON", "FP16_VA", "DOTPROD"],
            "llama_cpp_build_features": crate::env::ggml_build_features(orin),
        });
        assert!(machine(&env).is_empty());
        // A CPU read on another architecture than the build's (no common ground): silent.
        assert!(missing_build_features(&["AVX", "AVX2"], &["NEON"]).is_empty());
        assert_eq!(
            missing_build_features(&["AVX", "AVX2", "FMA"], &["AVX", "AVX2"]),
            vec!["FMA".to_owned()]
        );
    }
}
