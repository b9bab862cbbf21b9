//! The Edge-LLM engine and session behind the `tensorrt` feature: `LLMInferenceRuntime`
//! through the cxx bridge, on a CUDA stream owned here. Phase times are host wall clock
//! (the shim's steady clock around `handleRequest` and in its token callback), with the
//! runtime's CUDA-event stage times recorded beside them (`timing`). Depends on `engine`,
//! `cuda`, `jetson` and this backend's pure modules.
//!
//! Long: one runtime behind one FFI runner, from construction (memory check, speculative
//! roles) to requests and their times; the arithmetic lives in `config`, `timing`, `prompt`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::config::spec::{self as spec_dir, Drafting, SpecDir};
use super::config::{plan_from_config, EdgeLlmPlan};
use super::ffi::sys as ffi;
use super::memory::{self, Need};
use super::prompt::{ChatTemplate, PromptBuilder};
use super::timing::{phase_times, token_offsets, GraphOutcome, SpecStages, StageTimes};

use crate::cuda::{Device, Stream};
use crate::engine::{
    DraftKnobs, Engine, Generation, KvDtype, KvPlan, Manifest, Request, Session, SessionConfig,
    Token, TokenEvent,
};
use crate::error::{Error, Result};
use crate::record::Clock;

const BACKEND: &str = "edge-llm";

fn engine_err(op: &'static str, e: impl std::fmt::Display) -> Error {
    Error::Engine {
        backend: BACKEND,
        op,
        message: e.to_string(),
    }
}

/// An opened Edge-LLM engine directory. The runtime itself (weights, KV cache) is created
/// per session, because Edge-LLM sizes everything at construction from `config.json`.
pub struct EdgeLlmEngine {
    dir: PathBuf,
    manifest: Manifest,
    plan: EdgeLlmPlan,
    /// The engine's tokenizer and chat template: exact-length prompt text.
    prompts: PromptBuilder,
    device: Device,
    plugin: PathBuf,
    weights_bytes: u64,
    /// A speculative directory (base and draft built into one `--engineDir`): its plan is
    /// the speculative requests' (capacity `min(base, draft) − 100`).
    spec: Option<SpecDir>,
}

impl EdgeLlmEngine {
    pub fn open(dir: &Path, manifest: Manifest) -> Result<Self> {
        let spec = if spec_dir::has_spec_files(dir) {
            Some(spec_dir::check_spec_dir(dir)?)
        } else {
            None
        };
        let plan = plan_from_config(dir)?;
        let tok_path = dir.join("tokenizer.json");
        let tokenizer = tokenizers::Tokenizer::from_file(&tok_path)
            .map_err(|e| Error::bad_file(&tok_path, format!("cannot load tokenizer: {e}")))?;
        // Edge-LLM refuses to load its tokenizer without the chat template: check it here,
        // with the file named, rather than as an exception from the runtime's constructor.
        let template = ChatTemplate::load(dir)?;
        let prompts = PromptBuilder::new(tokenizer, template);
        let plugin = super::plugin_path().ok_or_else(|| {
            Error::config(
                "TRTBENCH_EDGE_LLM_PLUGIN",
                "no Edge-LLM plugin library known: set TRTBENCH_EDGE_LLM_PLUGIN to the absolute \
                 path of libNvInfer_edgellm_plugin.so",
            )
        })?;
        if !plugin.is_file() {
            return Err(Error::bad_file(
                &plugin,
                "Edge-LLM plugin library not found",
            ));
        }
        let device = Device::open(super::device() as usize)?;
        // Weights: everything the manifest lists except the text files (both engines of a
        // speculative directory).
        let weights_bytes = manifest
            .files
            .iter()
            .filter(|f| f.path.ends_with(".engine") || f.path.ends_with(".safetensors"))
            .map(|f| f.bytes)
            .sum();
        Ok(EdgeLlmEngine {
            dir: dir.to_owned(),
            manifest,
            plan,
            prompts,
            device,
            plugin,
            weights_bytes,
            spec,
        })
    }
}

impl Engine for EdgeLlmEngine {
    fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    fn dir(&self) -> &Path {
        &self.dir
    }

    fn backend_version(&self) -> String {
        format!(
            "TensorRT Edge-LLM {} (TensorRT {} runtime, {} headers)",
            ffi::edge_llm_version(),
            ffi::trt_library_version(),
            ffi::trt_header_version()
        )
    }

    fn weights_bytes(&self) -> u64 {
        self.weights_bytes
    }

    fn kv_plan(&self, dtype: KvDtype) -> KvPlan {
        // The KV dtype of an Edge-LLM engine is fixed at export; other dtypes are what-ifs.
        KvPlan {
            dtype,
            ..self.plan.kv
        }
    }

    fn tokenize(&self, text: &str) -> Result<Vec<Token>> {
        let enc = self
            .prompts
            .tokenizer()
            .encode(text, false)
            .map_err(|e| engine_err("tokenize", e))?;
        Ok(enc.get_ids().iter().map(|&t| t as Token).collect())
    }

    fn detokenize(&self, tokens: &[Token]) -> Result<String> {
        let ids: Vec<u32> = tokens.iter().map(|&t| t as u32).collect();
        self.prompts
            .tokenizer()
            .decode(&ids, false)
            .map_err(|e| engine_err("detokenize", e))
    }

    fn bos(&self) -> Option<Token> {
        // Edge-LLM tokenizes the prompt text itself; trtbench's prompts carry no BOS.
        None
    }

    fn session(&self, cfg: &SessionConfig) -> Result<Box<dyn Session + '_>> {
        Ok(Box::new(EdgeLlmSession::new(self, cfg, None)?))
    }

    fn as_any(&self) -> Option<&dyn std::any::Any> {
        Some(self)
    }

    /// Edge-LLM drafts inside one speculative engine directory: `--draft` names that same
    /// directory, and the knobs become the runtime's `SpecDecodeDraftingConfig`.
    fn speculative_session<'a>(
        &'a self,
        draft: &'a dyn Engine,
        cfg: &SessionConfig,
        knobs: &DraftKnobs,
    ) -> Result<Box<dyn Session + 'a>> {
        let same_dir = draft
            .as_any()
            .and_then(|a| a.downcast_ref::<EdgeLlmEngine>())
            .is_some_and(|d| same_path(&d.dir, &self.dir));
        if self.spec.is_none() || !same_dir {
            return Err(Error::config(
                "--draft",
                format!(
                    "Edge-LLM drafts with the draft built into the target's own engine directory \
                     (llm_build --specBase and --specDraft into one --engineDir): give that \
                     directory as both the engine and --draft (engine {}, draft {})",
                    self.dir.display(),
                    draft.dir().display()
                ),
            ));
        }
        let drafting = Drafting::new(knobs.max, knobs.top_k, knobs.verify, knobs.block)?;
        Ok(Box::new(EdgeLlmSession::new(self, cfg, Some(drafting))?))
    }
}

/// Whether two paths name the same directory (symbolic links resolved when they exist).
fn same_path(a: &Path, b: &Path) -> bool {
    let canon = |p: &Path| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_owned());
    canon(a) == canon(b)
}

/// One `LLMInferenceRuntime` with its stream. Not thread-safe (neither is the runtime).
pub struct EdgeLlmSession<'e> {
    engine: &'e EdgeLlmEngine,
    // Field order matters: the runtime must be destroyed before the stream it uses. The
    // stream is only owned here; the runtime holds its raw handle.
    runner: cxx::UniquePtr<ffi::Runner>,
    _stream: Stream,
    sampling: crate::engine::Sampling,
    notes: BTreeMap<String, String>,
    /// NVTX range name of the next request (`Session::label_next_generation`), taken by it.
    next_label: String,
    /// GPU memory by Edge-LLM's method (see [`EdgeLlmSession::track_gpu_memory`]).
    gpu_memory: GpuMemory,
    /// On a speculative directory: the drafting knobs when this session speculates, `None`
    /// for its vanilla twin (`disableSpecDecode` on every request, same engine).
    spec: Option<SpecRole>,
}

/// What a session on a speculative directory does.
#[derive(Debug, Clone)]
enum SpecRole {
    Drafting { knobs: Drafting, spec_type: String },
    VanillaTwin,
}

/// Edge-LLM's "GPU memory" (its `llm_inference` benchmark): the process's peak RSS on Jetson
/// (unified memory), the peak drop of the device's free memory, sampled every 50 ms, on a
/// discrete GPU. Kept over the whole session, warmup included, as Edge-LLM's covers its run.
#[derive(Debug, Clone, Copy)]
struct GpuMemory {
    integrated: bool,
    /// Free device memory before the runtime was constructed.
    free_before: u64,
    peak_bytes: u64,
}

/// What every point of an Edge-LLM session says about itself: the runtime's version (a
/// version trtbench was not checked against gets `warning::point`'s warning) and what its
/// TTFT and stage times are.
fn definition_notes(notes: &mut BTreeMap<String, String>) {
    // The runtime's kRUNTIME_VERSION, on every point: `warning::point` names a version
    // trtbench was not checked against.
    notes.insert(
        crate::warning::EDGE_LLM_VERSION_NOTE.into(),
        ffi::edge_llm_version(),
    );
    notes.insert(
        "ttft_definition".into(),
        "host wall clock from handleRequest to the first token callback (tokenization \
         included); device stage times are in device_prefill_ms / device_step_ms"
            .into(),
    );
    notes.insert(
        "stage_time_definition".into(),
        "device_prefill_ms / device_step_ms are Edge-LLM's llm_prefill / llm_generation \
         runtime stage times: CUDA events around the stage's C++ scope, which includes \
         the stage's own stream synchronize and host tail (D2H copy, token push; for \
         prefill also the token callback), so they bound the device time from above; \
         host_overhead_ms = E2E minus all stage times is host time outside the stages, a \
         lower bound of the host overhead"
            .into(),
    );
}

/// Edge-LLM's sampling interval for the free-memory method.
const GPU_MEMORY_SAMPLE: std::time::Duration = std::time::Duration::from_millis(50);

impl<'e> EdgeLlmSession<'e> {
    fn new(
        engine: &'e EdgeLlmEngine,
        cfg: &SessionConfig,
        drafting: Option<Drafting>,
    ) -> Result<Self> {
        let plan = &engine.plan;
        check_session_limits(plan, cfg)?;
        let mut notes = kv_notes(plan, cfg);
        let device = engine.device.ordinal();
        notes.insert("cuda_device".into(), device.to_string());
        engine.device.bind()?;
        let stream = engine.device.new_stream()?;

        // Edge-LLM reserves the whole KV pool and loads the weights at construction: refuse
        // before it allocates when that cannot fit the share of free memory we may use.
        let need = Need {
            engine: engine.weights_bytes,
            kv: plan.kv_bytes,
            activations: plan.activation_bytes,
        };
        let free_before = engine.device.free_bytes()?;
        memory::check(&need, free_before, cfg.mem_fraction, device)?;
        let spec = engine.spec.as_ref().map(|s| match drafting {
            Some(knobs) => SpecRole::Drafting {
                knobs,
                spec_type: s.spec_type.clone(),
            },
            None => SpecRole::VanillaTwin,
        });
        let mut runner = open_runner(engine, stream.raw(), device, spec.as_ref())?;
        spec_notes(&mut notes, spec.as_ref(), &runner.strategy_name());
        let free_after = engine.device.free_bytes()?;
        notes.extend(memory::notes(&need, free_before, free_after));
        let integrated = engine.device.integrated()?;
        let gpu_memory = GpuMemory {
            integrated,
            free_before,
            peak_bytes: if integrated {
                crate::platform::peak_rss_bytes().unwrap_or(0)
            } else {
                free_before.saturating_sub(free_after)
            },
        };

        let capture = cfg.cuda_graphs.then(|| {
            runner
                .pin_mut()
                .capture_decode_graphs()
                .map_err(|e| e.to_string())
        });
        let graphs = GraphOutcome::new(cfg.cuda_graphs, capture);
        notes.insert("cuda_graphs".into(), graphs.label());
        definition_notes(&mut notes);
        Ok(EdgeLlmSession {
            engine,
            runner,
            _stream: stream,
            sampling: cfg.sampling,
            notes,
            next_label: String::new(),
            gpu_memory,
            spec,
        })
    }

    /// Runs `f` (one request) while sampling GPU memory by Edge-LLM's method, and records the
    /// session's peak in the notes (`edgellm_gpu_memory_bytes`, `edgellm_gpu_memory_method`).
    fn track_gpu_memory<T>(&mut self, f: impl FnOnce(&mut Self) -> T) -> T {
        let out = if self.gpu_memory.integrated {
            let out = f(self);
            let rss = crate::platform::peak_rss_bytes().unwrap_or(0);
            self.gpu_memory.peak_bytes = self.gpu_memory.peak_bytes.max(rss);
            out
        } else {
            let device = self.engine.device.clone();
            let stop = std::sync::atomic::AtomicBool::new(false);
            let (out, min_free) = std::thread::scope(|s| {
                let sampler = s.spawn(|| {
                    let mut min_free = u64::MAX;
                    if device.bind().is_err() {
                        return min_free;
                    }
                    loop {
                        if let Ok(free) = device.free_bytes() {
                            min_free = min_free.min(free);
                        }
                        if stop.load(std::sync::atomic::Ordering::Relaxed) {
                            return min_free;
                        }
                        std::thread::park_timeout(GPU_MEMORY_SAMPLE);
                    }
                });
                let out = f(self);
                stop.store(true, std::sync::atomic::Ordering::Relaxed);
                sampler.thread().unpark();
                (out, sampler.join().unwrap_or(u64::MAX))
            });
            if min_free != u64::MAX {
                let drop = self.gpu_memory.free_before.saturating_sub(min_free);
                self.gpu_memory.peak_bytes = self.gpu_memory.peak_bytes.max(drop);
            }
            out
        };
        self.notes.insert(
            "edgellm_gpu_memory_bytes".into(),
            self.gpu_memory.peak_bytes.to_string(),
        );
        self.notes.insert(
            "edgellm_gpu_memory_method".into(),
            if self.gpu_memory.integrated {
                "peak RSS of the process (Edge-LLM's method on Jetson)"
            } else {
                "peak drop of the device's free memory from before the runtime was \
                 constructed, sampled every 50 ms (Edge-LLM's method on a discrete GPU)"
            }
            .into(),
        );
        out
    }
}

/// Constructs the runtime: Edge-LLM's vanilla constructor, or on a speculative directory its
/// unified one with the session's drafting knobs (the twin's smallest valid chain).
fn open_runner(
    engine: &EdgeLlmEngine,
    stream: usize,
    device: u32,
    spec: Option<&SpecRole>,
) -> Result<cxx::UniquePtr<ffi::Runner>> {
    let knobs = match spec {
        Some(SpecRole::Drafting { knobs, .. }) => *knobs,
        _ => Drafting::twin(),
    };
    let drafting = ffi::Drafting {
        speculative: spec.is_some(),
        drafting_top_k: knobs.top_k as i32,
        drafting_step: knobs.step as i32,
        verify_size: knobs.verify as i32,
        dflash_block_size: knobs.block as i32,
    };
    ffi::open_runner(
        &engine.dir.to_string_lossy(),
        &engine.plugin.to_string_lossy(),
        stream,
        device as i32,
        true,
        super::edge_llm_verbose(),
        &drafting,
    )
    .map_err(|e| engine_err("open runtime", e))
}

/// What a session on a speculative directory says about itself: the strategy the runtime
/// reports (`getSpeculativeDecodingStrategyName()`), the drafting knobs, or that it is the
/// vanilla twin; and the KV reserve.
fn spec_notes(notes: &mut BTreeMap<String, String>, spec: Option<&SpecRole>, strategy: &str) {
    let Some(role) = spec else { return };
    notes.insert("spec_strategy".into(), strategy.to_owned());
    notes.insert(
        "spec_kv_reserve_tokens".into(),
        spec_dir::SPEC_KV_RESERVE.to_string(),
    );
    match role {
        SpecRole::Drafting { knobs, .. } => {
            notes.insert(
                "spec_drafting".into(),
                format!(
                    "draftingTopK={} draftingStep={} verifySize={} dflashBlockSize={}",
                    knobs.top_k, knobs.step, knobs.verify, knobs.block
                ),
            );
            notes.insert(
                "spec_acceptance_definition".into(),
                "edgellm_acceptance_rate is Edge-LLM's: the request's delta of \
                 getSpecDecodeGenerationMetrics(), totalGeneratedTokens / totalIterations \
                 (the prefill token included); spec_mean_accepted_len is tokens per verify \
                 round without the prefill token"
                    .into(),
            );
        }
        SpecRole::VanillaTwin => {
            notes.insert(
                "spec_vanilla_twin".into(),
                "the same speculative engine with request.disableSpecDecode (vanilla decoder)"
                    .into(),
            );
        }
    }
}

impl EdgeLlmSession<'_> {
    /// A drafting session's counts for one request, from its delta of the runtime's
    /// speculative metrics (and Edge-LLM's own acceptance rate in the notes); `None` for
    /// any other session.
    fn spec_counts(
        &mut self,
        out: &ffi::GenerateOut,
        req: &Request<'_>,
    ) -> Result<Option<crate::engine::SpecCounts>> {
        let Some(SpecRole::Drafting { knobs, spec_type }) = &self.spec else {
            return Ok(None);
        };
        let delta = spec_dir::MetricsDelta {
            iterations: out.spec_iterations,
            generated: out.spec_generated_tokens,
        };
        let (counts, rate) = delta
            .counts(
                req.prompts.len() as u32,
                req.output_len,
                knobs,
                spec_type,
                &spec_stages(out),
            )
            .map_err(|m| engine_err("spec metrics", m))?;
        self.notes
            .insert("edgellm_acceptance_rate".into(), format!("{rate:.4}"));
        Ok(Some(counts))
    }
}

/// A session larger than the engine's build limits is refused before anything allocates.
fn check_session_limits(plan: &EdgeLlmPlan, cfg: &SessionConfig) -> Result<()> {
    if cfg.max_batch > plan.max_batch {
        return Err(Error::Capacity {
            reason: format!(
                "batch {} exceeds the engine's max_batch_size {}",
                cfg.max_batch, plan.max_batch
            ),
        });
    }
    if cfg.max_seq > plan.kv_capacity {
        return Err(Error::Capacity {
            reason: format!(
                "sequence of {} tokens exceeds the engine's max_kv_cache_capacity {}",
                cfg.max_seq, plan.kv_capacity
            ),
        });
    }
    Ok(())
}

/// KV as the engine allocates it (the pool from config.json, in its own dtype), and the
/// requested dtype when it differs from the engine's.
fn kv_notes(plan: &EdgeLlmPlan, cfg: &SessionConfig) -> BTreeMap<String, String> {
    let mut notes = BTreeMap::new();
    if cfg.kv_dtype != plan.kv_dtype {
        notes.insert(
            "kv_dtype".into(),
            format!(
                "{} (fixed when the engine was exported; requested {} ignored)",
                plan.kv_dtype.as_str(),
                cfg.kv_dtype.as_str()
            ),
        );
    }
    notes.insert("kv_formula_bytes".into(), plan.kv_bytes.to_string());
    notes.insert("kv_allocated_bytes".into(), plan.kv_bytes.to_string());
    notes.insert("kv_pool_pages".into(), plan.pool_pages.to_string());
    notes.insert(
        "kv_pool_tokens".into(),
        (plan.pool_pages * u64::from(plan.kv.granularity)).to_string(),
    );
    notes.insert("kv_engine_dtype".into(), plan.kv_dtype.as_str().into());
    notes
}

impl Session for EdgeLlmSession<'_> {
    fn clock(&self) -> Clock {
        Clock::HostMonotonic
    }

    fn prefill(&mut self, _prompts: &[Vec<Token>]) -> Result<Vec<Token>> {
        Err(Error::Unsupported {
            backend: BACKEND,
            op: "a separate prefill call (LLMInferenceRuntime only runs whole requests; use generate)",
        })
    }

    fn decode_step(&mut self) -> Result<Vec<Token>> {
        Err(Error::Unsupported {
            backend: BACKEND,
            op: "a separate decode step (LLMInferenceRuntime only runs whole requests; use generate)",
        })
    }

    fn setup_notes(&self) -> BTreeMap<String, String> {
        self.notes.clone()
    }

    fn label_next_generation(&mut self, label: &str) {
        label.clone_into(&mut self.next_label);
    }

    fn generate(
        &mut self,
        req: &Request<'_>,
        on_token: &mut dyn FnMut(TokenEvent),
    ) -> Result<Generation> {
        check_request(&self.engine.plan, req)?;
        // Text the runtime's tokenizer encodes to exactly the window's length (verified
        // here, before the run; the runtime's own count is checked after it).
        let prompts = req
            .prompts
            .iter()
            .map(|p| self.engine.prompts.exact(p, p.len()))
            .collect::<Result<Vec<String>>>()?;
        let request = ffi::GenerateIn {
            prompts,
            temperature: self.sampling.temperature,
            top_p: self.sampling.top_p,
            top_k: i64::from(self.sampling.top_k),
            max_generate_length: i64::from(req.output_len),
            profile: true,
            nvtx_range: std::mem::take(&mut self.next_label),
            disable_spec_decode: matches!(self.spec, Some(SpecRole::VanillaTwin)),
        };

        self.engine.device.bind()?;
        let out = self
            .track_gpu_memory(|s| s.runner.pin_mut().generate(&request))
            .map_err(|e| engine_err("handleRequest", e))?;
        check_input_counts(&out, req)?;
        let tokens = split_outputs(&out, req)?;
        let times = phase_times(
            &StageTimes {
                prefill_ms: out.prefill_ms.clone(),
                generation_ms: out.generation_ms.clone(),
                host_token_ns: out.host_token_ns.clone(),
                host_e2e_ns: out.host_e2e_ns,
                spec: spec_stages(&out),
            },
            req.output_len,
        )?;
        let spec = self.spec_counts(&out, req)?;
        for (index, at) in token_offsets(&times.times).into_iter().enumerate() {
            for (seq, t) in tokens.iter().enumerate() {
                on_token(TokenEvent {
                    seq,
                    index: index as u32,
                    token: t[index],
                    at,
                });
            }
        }
        // Device stage times of the last request, beside the host figures (see `timing`).
        let ms = |d: std::time::Duration| format!("{:.3}", d.as_secs_f64() * 1e3);
        self.notes
            .insert("device_prefill_ms".into(), ms(times.device.prefill));
        self.notes
            .insert("device_step_ms".into(), ms(times.device.mean_step()));
        self.notes
            .insert("host_overhead_ms".into(), ms(times.host_outside_stages));
        Ok(Generation {
            tokens,
            times: times.times,
            device: Some(times.device),
            spec,
        })
    }
}

/// The `spec_decode_*` stage runs the shim read (empty for a vanilla request).
fn spec_stages(out: &ffi::GenerateOut) -> SpecStages {
    SpecStages {
        draft_prefill_ms: out.draft_prefill_ms.clone(),
        draft_proposal_ms: out.draft_proposal_ms.clone(),
        base_verification_ms: out.base_verification_ms.clone(),
        draft_accept_ms: out.draft_accept_ms.clone(),
    }
}

/// A request the engine cannot run as asked is refused before it reaches the runtime.
fn check_request(plan: &EdgeLlmPlan, req: &Request<'_>) -> Result<()> {
    if req.output_len == 0 {
        return Err(Error::config("osl", "output length must be at least 1"));
    }
    if req.prompts.is_empty() || req.prompts.len() > plan.max_batch as usize {
        return Err(Error::Capacity {
            reason: format!(
                "batch of {} prompts (the engine takes 1..={})",
                req.prompts.len(),
                plan.max_batch
            ),
        });
    }
    let isl = req.prompts.iter().map(Vec::len).max().unwrap_or(0) as u32;
    plan.check_point(req.prompts.len() as u32, isl, req.output_len)
}

/// The runtime's tokenizer must have counted exactly the tokens the prompt was built for.
fn check_input_counts(out: &ffi::GenerateOut, req: &Request<'_>) -> Result<()> {
    for (i, (&got, p)) in out.input_token_counts.iter().zip(req.prompts).enumerate() {
        if got as usize != p.len() {
            return Err(engine_err(
                "tokenize",
                format!(
                    "prompt {i} has {} tokens by the engine's tokenizer.json but the runtime \
                     counted {got} (its tokenizer and the tokenizers crate disagree on this \
                     text, so the input length would not be exact)",
                    p.len()
                ),
            ));
        }
    }
    Ok(())
}

/// The flat output ids split per sequence; every sequence must have exactly `output_len`.
fn split_outputs(out: &ffi::GenerateOut, req: &Request<'_>) -> Result<Vec<Vec<Token>>> {
    let mut tokens = Vec::with_capacity(out.output_lens.len());
    let mut at = 0usize;
    for &n in &out.output_lens {
        let end = at + n as usize;
        let ids = out.output_ids.get(at..end).ok_or_else(|| {
            engine_err(
                "handleRequest",
                format!(
                    "output lengths {:?} exceed the {} ids returned",
                    out.output_lens,
                    out.output_ids.len()
                ),
            )
        })?;
        tokens.push(ids.to_vec());
        at = end;
    }
    if tokens.len() != req.prompts.len()
        || tokens.iter().any(|t| t.len() != req.output_len as usize)
    {
        return Err(engine_err(
            "handleRequest",
            format!(
                "expected {} sequences of exactly {} tokens, got lengths {:?} (finish reasons {:?})",
                req.prompts.len(),
                req.output_len,
                out.output_lens,
                out.finish_reasons
            ),
        ));
    }
    Ok(tokens)
}

/// Describes a serialized TensorRT engine (`trtbench inspect`).
pub fn inspect(path: &Path, plugin: Option<&Path>) -> Result<super::InspectReport> {
    let device = Device::open(super::device() as usize)?;
    device.bind()?;
    let plugin = plugin
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_default();
    let d = ffi::inspect_engine(&path.to_string_lossy(), &plugin, device.ordinal() as i32)
        .map_err(|e| engine_err("inspect", e))?;
    let profiles = d.nb_profiles.max(0) as usize;
    let split = |flat: &[i64], rank: usize| -> Vec<Vec<i64>> {
        if rank == 0 {
            return vec![Vec::new(); if flat.is_empty() { 0 } else { profiles }];
        }
        flat.chunks(rank).map(<[i64]>::to_vec).collect()
    };
    let tensors = d
        .tensors
        .iter()
        .map(|t| {
            let rank = t.shape.len();
            super::TensorReport {
                name: t.name.clone(),
                io: if t.is_input { "input" } else { "output" }.into(),
                dtype: t.dtype.clone(),
                location: t.location.clone(),
                format: t.format.clone(),
                shape: t.shape.clone(),
                profiles: split(&t.profile_min, rank)
                    .into_iter()
                    .zip(split(&t.profile_opt, rank))
                    .zip(split(&t.profile_max, rank))
                    .map(|((min, opt), max)| super::ProfileShape { min, opt, max })
                    .collect(),
            }
        })
        .collect();
    Ok(super::InspectReport {
        path: path.display().to_string(),
        tensorrt_library_version: d.library_version,
        tensorrt_header_version: d.header_version,
        optimization_profiles: d.nb_profiles.max(0) as u32,
        layers: d.nb_layers.max(0) as u32,
        aux_streams: d.nb_aux_streams.max(0) as u32,
        device_memory_bytes: d.device_memory_bytes.max(0) as u64,
        device_memory_per_profile_bytes: d
            .device_memory_per_profile_bytes
            .iter()
            .map(|&b| b.max(0) as u64)
            .collect(),
        tensors,
    })
}
