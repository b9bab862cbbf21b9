//! Speculative Edge-LLM engine directories as `llm_build` leaves them (Edge-LLM 0.10): one
//! flat directory holding the base built with `--specBase` and the draft built with
//! `--specDraft` into the same `--engineDir` (`docs/source/user_guide/examples/
//! speculative-decoding.md`):
//! - `base_config.json` and `draft_config.json` (`cpp/builder/llmBuilder.cpp` l.1589-1593),
//! - `spec_base.engine` and `spec_draft.engine` (`llmBuilder.cpp` l.254-258),
//! - `d2t.safetensors`, the draft-to-target vocabulary map the builder copies for EAGLE3
//!   drafts only (`llmBuilder.cpp` l.1748-1760, `copyEagleFiles`),
//! - and the shared `embedding.safetensors`, `tokenizer.json` and chat template.
//!
//! The runtime reads exactly these names when it is given a drafting config
//! (`cpp/runtime/llmInferenceRuntime.cpp` l.179-219, `cpp/runtime/decoding/decoderUtils.cpp`
//! l.39, `eagleDecoder.cpp` l.127). A directory holding some of them but not all is refused
//! here, naming the missing file, rather than by the runtime's constructor.

use std::path::Path;
use std::time::Duration;

use serde_json::Value;

use crate::engine::SpecCounts;
use crate::error::{Error, Result};

pub const BASE_CONFIG_FILE: &str = "base_config.json";
pub const DRAFT_CONFIG_FILE: &str = "draft_config.json";
pub const BASE_ENGINE_FILE: &str = "spec_base.engine";
pub const DRAFT_ENGINE_FILE: &str = "spec_draft.engine";
/// EAGLE3's draft-to-target token map.
pub const D2T_FILE: &str = "d2t.safetensors";

/// The four files every speculative directory has, whatever the strategy.
pub const SPEC_FILES: [&str; 4] = [
    BASE_CONFIG_FILE,
    DRAFT_CONFIG_FILE,
    BASE_ENGINE_FILE,
    DRAFT_ENGINE_FILE,
];

/// Tokens of KV capacity a speculative request leaves unused: `handleRequest` clamps the
/// output to `min(base, draft capacity) − input − 100` (`kLEGACY_SPEC_KV_CACHE_RESERVE`,
/// `llmInferenceRuntime.cpp` l.864-874; `clampMaxGenerateLengthForKVCapacity`,
/// `llmRuntimeUtils.cpp` l.723-736) and cuts the output silently.
pub const SPEC_KV_RESERVE: u32 = 100;

/// What trtbench reads of a speculative directory's draft.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpecDir {
    /// `spec_decode_type` of both configs: `eagle3`, `mtp`, `dflash`, `dspark`, `gemma4_mtp`.
    pub spec_type: String,
    /// The draft's `builder_config.max_kv_cache_capacity`.
    pub draft_kv_capacity: u32,
}

/// True when `dir` holds any file of a speculative engine directory.
pub fn has_spec_files(dir: &Path) -> bool {
    SPEC_FILES.iter().any(|f| dir.join(f).is_file())
}

/// Reads and checks a speculative engine directory: every file of [`SPEC_FILES`] present
/// (the error names the first missing one), both configs naming the same strategy, and
/// `d2t.safetensors` present for an EAGLE3 draft.
pub fn check_spec_dir(dir: &Path) -> Result<SpecDir> {
    for f in SPEC_FILES {
        let p = dir.join(f);
        if !p.is_file() {
            let present: Vec<&str> = SPEC_FILES
                .iter()
                .copied()
                .filter(|g| dir.join(g).is_file())
                .collect();
            return Err(Error::bad_file(
                &p,
                format!(
                    "missing: a speculative Edge-LLM engine directory (llm_build --specBase and \
                     --specDraft into one --engineDir) needs {}; this one has only {}",
                    SPEC_FILES.join(", "),
                    present.join(", ")
                ),
            ));
        }
    }
    let base_path = dir.join(BASE_CONFIG_FILE);
    let base = read_json(&base_path)?;
    let draft_path = dir.join(DRAFT_CONFIG_FILE);
    let draft = read_json(&draft_path)?;
    let kind = |v: &Value| {
        v.get("spec_decode_type")
            .and_then(Value::as_str)
            .unwrap_or("none")
            .to_owned()
    };
    let spec_type = kind(&draft);
    if !matches!(
        spec_type.as_str(),
        "eagle3" | "mtp" | "dflash" | "dspark" | "gemma4_mtp"
    ) {
        return Err(Error::bad_file(
            &draft_path,
            format!(
                "spec_decode_type `{spec_type}`: a draft names its strategy (eagle3, mtp, dflash, \
                 dspark or gemma4_mtp)"
            ),
        ));
    }
    if kind(&base) != spec_type {
        return Err(Error::bad_file(
            &base_path,
            format!(
                "spec_decode_type `{}` does not match the draft's `{spec_type}` ({})",
                kind(&base),
                draft_path.display()
            ),
        ));
    }
    if spec_type == "eagle3" && !dir.join(D2T_FILE).is_file() {
        return Err(Error::bad_file(
            dir.join(D2T_FILE),
            "missing: llm_build copies it beside an EAGLE3 draft (the draft-to-target \
             vocabulary map); without it the draft's tokens are not mapped",
        ));
    }
    let draft_kv_capacity = draft
        .get("builder_config")
        .and_then(|b| b.get("max_kv_cache_capacity"))
        .and_then(Value::as_u64)
        .filter(|&n| n > 0 && n <= i32::MAX as u64)
        .ok_or_else(|| {
            Error::bad_file(
                &draft_path,
                "missing or invalid field `builder_config.max_kv_cache_capacity`",
            )
        })? as u32;
    Ok(SpecDir {
        spec_type,
        draft_kv_capacity,
    })
}

fn read_json(path: &Path) -> Result<Value> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    serde_json::from_str(&text).map_err(|e| Error::bad_file(path, format!("invalid JSON: {e}")))
}

/// Largest number of tokens one speculative round can emit, by the strategy
/// (`DeploymentConfig::maxAcceptedTokensPerRound`, `deploymentConfig.cpp` l.274-281): the
/// draft depth plus the base's own token for EAGLE3 and MTP, the verify window for DFlash
/// (block) and DSpark. `None` when it depends on what the runtime infers (DFlash block 0).
pub fn max_tokens_per_round(spec_type: &str, knobs: &Drafting) -> Option<u32> {
    match spec_type {
        "eagle3" | "mtp" | "gemma4_mtp" => Some(knobs.step + 1),
        // Linear DFlash verifies exactly the block (verifySize is normalised to it).
        "dflash" if knobs.block > 0 && knobs.top_k == 1 => Some(knobs.block),
        "dflash" if knobs.block > 0 => Some(knobs.verify.min(knobs.block)),
        "dspark" => Some(knobs.verify),
        _ => None,
    }
}

/// The drafting knobs of Edge-LLM's `SpecDecodeDraftingConfig` (`cpp/runtime/config/
/// deploymentConfig.h` l.45-64), as trtbench's draft axes set them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Drafting {
    /// `draftingTopK`: 1 drafts a chain, more a tree with this fan-out.
    pub top_k: u32,
    /// `draftingStep`: draft steps per round (`--draft-max`).
    pub step: u32,
    /// `verifySize`: tokens in the base's verification input.
    pub verify: u32,
    /// `dflashBlockSize`: DFlash's draft block, 0 to take the engine's.
    pub block: u32,
}

impl Drafting {
    /// The knobs of a speculative point: `max` draft steps, fan-out `top_k` (default 1, a
    /// chain), verify size `verify` (default `max + 1` for a chain: the drafted tokens and
    /// the current one; a tree needs it given), DFlash block `block` (default 0: the engine's).
    pub fn new(
        max: u32,
        top_k: Option<u32>,
        verify: Option<u32>,
        block: Option<u32>,
    ) -> Result<Self> {
        let top_k = top_k.unwrap_or(1);
        if max == 0 || top_k == 0 || verify == Some(0) {
            return Err(Error::config(
                "--draft-max",
                "draft steps, --draft-top-k and --draft-verify must be at least 1 (Edge-LLM \
                 requires positive drafting knobs)",
            ));
        }
        let verify = match (verify, top_k) {
            (Some(v), _) => v,
            (None, 1) => max + 1,
            (None, _) => {
                return Err(Error::config(
                    "--draft-verify",
                    format!(
                        "a tree draft (--draft-top-k {top_k}) needs its verify size given \
                         (Edge-LLM's example uses 60 for top-k 10, 6 steps)"
                    ),
                ))
            }
        };
        Ok(Drafting {
            top_k,
            step: max,
            verify,
            block: block.unwrap_or(0),
        })
    }

    /// The knobs of a vanilla twin's runtime (`disableSpecDecode` on every request): the
    /// smallest valid chain, so the draft's buffers are as small as Edge-LLM allows.
    pub fn twin() -> Self {
        Drafting {
            top_k: 1,
            step: 1,
            verify: 2,
            block: 0,
        }
    }
}

/// A request's delta of Edge-LLM's `getSpecDecodeGenerationMetrics()` (cumulative counters,
/// moved only while profiling is on): `iterations` = decode rounds, `generated` = tokens with
/// the prefill token, both summed over the batch (`llmInferenceRuntime.cpp` l.1298-1316).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MetricsDelta {
    pub iterations: i64,
    pub generated: i64,
}

impl MetricsDelta {
    /// Edge-LLM's acceptance rate, `generated / iterations`
    /// (`examples/utils/profileFormatter.cpp` l.232-241; 0 without iterations).
    pub fn edge_llm_rate(&self) -> f64 {
        if self.iterations > 0 {
            self.generated as f64 / self.iterations as f64
        } else {
            0.0
        }
    }

    /// The request's counts as trtbench records every speculative run, and Edge-LLM's rate.
    /// Per sequence a round emits its accepted draft tokens plus the base's own, so accepted
    /// = generated − batch − iterations; proposed is what the rounds could have accepted (the
    /// strategy's tokens per round less one; 0 when the runtime infers it, DFlash without
    /// `--dflash-block`). Refuses a delta that does not account for exactly the request's
    /// `batch × osl` tokens (the runtime fell back to vanilla decoding, or profiling was off).
    pub fn counts(
        &self,
        batch: u32,
        osl: u32,
        knobs: &Drafting,
        spec_type: &str,
        stages: &crate::backends::trt::timing::SpecStages,
    ) -> std::result::Result<(SpecCounts, f64), String> {
        let want = i64::from(batch) * i64::from(osl);
        let (iterations, generated) = (self.iterations, self.generated);
        if generated != want || (iterations <= 0 && osl > 1) || iterations < 0 {
            return Err(format!(
                "getSpecDecodeGenerationMetrics() moved by {iterations} iterations and \
                 {generated} tokens over a request of {want} tokens: the runtime did not \
                 speculate (an EAGLE engine falls back to the vanilla decoder for non-greedy \
                 sampling) or profiling was off"
            ));
        }
        let accepted = (generated - i64::from(batch) - iterations).max(0) as u64;
        let per_round = max_tokens_per_round(spec_type, knobs).unwrap_or(1);
        let ms = |v: f32| Duration::from_secs_f64(f64::from(v.max(0.0)) / 1e3);
        let counts = SpecCounts {
            verify_steps: iterations as u64,
            proposed: iterations as u64 * u64::from(per_round.saturating_sub(1)),
            accepted,
            draft: ms(stages.draft_ms()),
            target: ms(stages.target_ms()),
        };
        Ok((counts, self.edge_llm_rate()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) {
        std::fs::write(dir.join(name), text).unwrap();
    }

    fn spec_dir(kind: &str) -> tempfile::TempDir {
        let d = tempfile::tempdir().unwrap();
        let cfg = |cap: u32| {
            format!(
                "{{\"spec_decode_type\": \"{kind}\", \"builder_config\": \
                 {{\"max_kv_cache_capacity\": {cap}}}}}"
            )
        };
        write(d.path(), BASE_CONFIG_FILE, &cfg(4096));
        write(d.path(), DRAFT_CONFIG_FILE, &cfg(2048));
        write(d.path(), BASE_ENGINE_FILE, "b");
        write(d.path(), DRAFT_ENGINE_FILE, "d");
        d
    }

    #[test]
    fn a_flat_spec_dir_is_read_and_half_of_one_names_the_missing_file() {
        let d = spec_dir("mtp");
        let s = check_spec_dir(d.path()).unwrap();
        assert_eq!(s.spec_type, "mtp");
        assert_eq!(s.draft_kv_capacity, 2048);
        std::fs::remove_file(d.path().join(DRAFT_ENGINE_FILE)).unwrap();
        assert!(has_spec_files(d.path()));
        let e = check_spec_dir(d.path()).unwrap_err().to_string();
        assert!(
            e.contains("spec_draft.engine") && e.contains("missing"),
            "{e}"
        );
        // EAGLE3 needs the vocabulary map the builder copies.
        let d = spec_dir("eagle3");
        let e = check_spec_dir(d.path()).unwrap_err().to_string();
        assert!(e.contains("d2t.safetensors"), "{e}");
        write(d.path(), D2T_FILE, "m");
        assert_eq!(check_spec_dir(d.path()).unwrap().spec_type, "eagle3");
        // Base and draft must name one strategy.
        let d = spec_dir("mtp");
        write(
            d.path(),
            BASE_CONFIG_FILE,
            "{\"spec_decode_type\": \"dflash\"}",
        );
        let e = check_spec_dir(d.path()).unwrap_err().to_string();
        assert!(
            e.contains("base_config.json") && e.contains("dflash"),
            "{e}"
        );
    }

    /// Edge-LLM's arithmetic on a known run: 9 tokens in 3 rounds (1 prefill token, then
    /// rounds of 3, 2 and 3 tokens), draft depth 3.
    #[test]
    fn metrics_delta_gives_edge_llms_rate_and_trtbenchs_counts() {
        let knobs = Drafting::new(3, None, None, None).unwrap();
        let stages = crate::backends::trt::timing::SpecStages {
            draft_prefill_ms: vec![1.0],
            draft_proposal_ms: vec![2.0; 3],
            base_verification_ms: vec![4.0; 3],
            draft_accept_ms: vec![0.5; 2],
        };
        let d = MetricsDelta {
            iterations: 3,
            generated: 9,
        };
        let (c, rate) = d.counts(1, 9, &knobs, "eagle3", &stages).unwrap();
        assert_eq!(rate, 3.0);
        assert_eq!((c.verify_steps, c.accepted, c.proposed), (3, 5, 9));
        assert!(
            (c.draft.as_secs_f64() - 0.008).abs() < 1e-9,
            "{:?}",
            c.draft
        );
        assert!(
            (c.target.as_secs_f64() - 0.012).abs() < 1e-9,
            "{:?}",
            c.target
        );
        // A delta that does not cover the request's tokens: refused, saying why.
        let e = MetricsDelta {
            iterations: 0,
            generated: 0,
        }
        .counts(1, 9, &knobs, "eagle3", &stages)
        .unwrap_err();
        assert!(e.contains("did not speculate"), "{e}");
        // DFlash with the block left to the engine: proposals unknown, acceptance counts kept.
        let (c, _) = d.counts(1, 9, &knobs, "dflash", &stages).unwrap();
        assert_eq!((c.proposed, c.accepted), (0, 5));
    }

    #[test]
    fn drafting_knobs_default_to_a_chain() {
        let k = Drafting::new(3, None, None, None).unwrap();
        assert_eq!((k.top_k, k.step, k.verify, k.block), (1, 3, 4, 0));
        assert_eq!(max_tokens_per_round("eagle3", &k), Some(4));
        assert!(Drafting::new(6, Some(10), None, None)
            .unwrap_err()
            .to_string()
            .contains("--draft-verify"));
        let t = Drafting::new(6, Some(10), Some(60), None).unwrap();
        assert_eq!(t.verify, 60);
        assert!(Drafting::new(0, None, None, None).is_err());
    }
}
