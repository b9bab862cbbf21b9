//! llama.cpp through `llama-cpp-2`: the default engine (CPU; CUDA with the `cuda` feature).
//! A batch of B prompts is one `llama_batch` with B sequence ids and `n_seq_max = B`, so
//! batched decode is what llama.cpp really does with several sequences, not B calls.
//! Phases are timed on the host monotonic clock: llama.cpp's CPU decode is synchronous.

mod ffi;

use std::collections::BTreeMap;
use std::num::NonZeroU32;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use llama_cpp_2::context::params::{KvCacheType, LlamaContextParams};
use llama_cpp_2::context::LlamaContext;
use llama_cpp_2::llama_backend::LlamaBackend;
use llama_cpp_2::llama_batch::LlamaBatch;
use llama_cpp_2::model::params::LlamaModelParams;
use llama_cpp_2::model::LlamaModel;
use llama_cpp_2::token::LlamaToken;

use crate::engine::{
    BackendKind, Engine, KvDtype, KvPlan, Manifest, ModelDims, Session, SessionConfig, Token,
};
use crate::error::{Error, Result};
use crate::gguf::Gguf;
use crate::record::Clock;

pub mod quant;

pub use ffi::{ggml_commit, ggml_version, model_quantize, system_info};

const BACKEND: &str = "llama.cpp";

fn backend() -> Result<&'static LlamaBackend> {
    static BACKEND_CELL: OnceLock<std::result::Result<LlamaBackend, String>> = OnceLock::new();
    ffi::install_log_capture();
    BACKEND_CELL
        .get_or_init(|| LlamaBackend::init().map_err(|e| e.to_string()))
        .as_ref()
        .map_err(|e| Error::Engine {
            backend: BACKEND,
            op: "init",
            message: e.clone(),
        })
}

/// llama.cpp's version as trtbench reports it.
pub fn version() -> String {
    format!(
        "llama.cpp (ggml {}, commit {}, llama-cpp-2 0.1.160)",
        ggml_version(),
        ggml_commit()
    )
}

/// The last error-looking lines llama.cpp logged since `mark`, for error messages.
fn log_tail(mark: u64) -> String {
    let lines = ffi::log_since(mark);
    let picked: Vec<&String> = lines
        .iter()
        .filter(|l| {
            let l = l.to_ascii_lowercase();
            l.contains("error") || l.contains("fail") || l.contains("invalid")
        })
        .collect();
    let chosen: Vec<&String> = if picked.is_empty() {
        lines.iter().rev().take(3).rev().collect()
    } else {
        picked.into_iter().rev().take(4).rev().collect()
    };
    chosen
        .iter()
        .map(|s| s.trim())
        .collect::<Vec<_>>()
        .join(" | ")
}

/// Loads a GGUF model, turning llama.cpp's null return into an error that carries the
/// reason llama.cpp logged.
fn load_model(path: &Path) -> Result<LlamaModel> {
    crate::gguf::check(path)?;
    let be = backend()?;
    let mark = ffi::log_mark();
    let params = LlamaModelParams::default().with_n_gpu_layers(if cfg!(feature = "cuda") {
        u32::MAX
    } else {
        0
    });
    LlamaModel::load_from_file(be, path, &params).map_err(|e| {
        Error::bad_file(
            path,
            format!("llama.cpp could not load it ({e}): {}", log_tail(mark)),
        )
    })
}

/// Model dimensions from a GGUF file's metadata (what the manifest records), read the way
/// llama.cpp reads them: `<arch>.block_count`, `<arch>.attention.head_count` (layer 0 of a
/// per-layer array), `head_count_kv` defaulting to the head count, `key_length` defaulting
/// to embedding / heads, the vocabulary's token count. `params` is llama.cpp's count.
pub fn dims_of(g: &Gguf, params: u64) -> ModelDims {
    let get = |k: &str| g.arch_u64(k).and_then(|v| u32::try_from(v).ok());
    let heads = get("attention.head_count").unwrap_or(0);
    let embedding = get("embedding_length").unwrap_or(0);
    ModelDims {
        arch: g.architecture().unwrap_or("unknown").to_owned(),
        layers: get("block_count").unwrap_or(0),
        heads,
        kv_heads: get("attention.head_count_kv").unwrap_or(heads),
        head_dim: get("attention.key_length").unwrap_or(embedding.checked_div(heads).unwrap_or(0)),
        embedding,
        vocab: g
            .vocab_size()
            .or_else(|| g.arch_u64("vocab_size"))
            .and_then(|v| u32::try_from(v).ok())
            .unwrap_or(0),
        context_train: get("context_length").unwrap_or(0),
        params: Some(params),
    }
}

/// What a GGUF file holds: dimensions and quantisation from its metadata, weight bytes and
/// parameter count as llama.cpp counts them.
#[derive(Debug, Clone, PartialEq)]
pub struct GgufInfo {
    pub dims: ModelDims,
    pub weights_bytes: u64,
    /// Quantisation name from `general.file_type` (a `llama_ftype`), or `unknown`.
    pub quant: String,
}

/// Reads a GGUF file's dimensions, weight bytes and quantisation. The load through
/// llama.cpp is kept: it validates the whole file and its byte and parameter counts are
/// the ones sessions see.
pub fn inspect_gguf(path: &Path) -> Result<GgufInfo> {
    let model = load_model(path)?;
    let g = Gguf::read(path)?;
    let quant = g
        .file_type()
        .and_then(quant::quant_name_of_ftype)
        .unwrap_or("unknown")
        .to_owned();
    Ok(GgufInfo {
        dims: dims_of(&g, model.n_params()),
        weights_bytes: model.size(),
        quant,
    })
}

/// The manifest of a bare GGUF file, derived on the fly: dimensions, quantisation and
/// parameter count through llama.cpp (`inspect_gguf`), size and sha256 of the file, and a
/// `derived` source naming the file's absolute path, so a results file identifies the model
/// unambiguously. The manifest's one file entry is the file's name (relative to its
/// directory, like every manifest).
pub fn derive_manifest(gguf: &Path) -> Result<Manifest> {
    let info = inspect_gguf(gguf)?;
    let sha = crate::engine::sha256_file(gguf)?;
    let bytes = std::fs::metadata(gguf)
        .map_err(|e| Error::io(gguf, e))?
        .len();
    let abs = std::fs::canonicalize(gguf).map_err(|e| Error::io(gguf, e))?;
    let file_name = abs
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let name = abs
        .file_stem()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| file_name.clone());
    Ok(Manifest {
        schema_version: crate::engine::MANIFEST_VERSION,
        name,
        backend: BackendKind::LlamaCpp,
        quant: info.quant,
        files: vec![crate::engine::FileEntry {
            path: file_name,
            bytes,
            sha256: sha.clone(),
        }],
        model: info.dims,
        source: Some(crate::engine::Source {
            kind: crate::engine::DERIVED_SOURCE.into(),
            package: None,
            version: None,
            path: Some(abs.display().to_string()),
            sha256: Some(sha),
        }),
        build: None,
    })
}

/// A GGUF's vocabulary loaded by llama.cpp alone (`vocab_only`: no weights), so every
/// vocabulary type llama.cpp supports (SentencePiece, BPE, WordPiece, Unigram, RWKV)
/// tokenizes exactly as llama.cpp's server does. What `load --tokenizer model.gguf` uses.
pub struct VocabModel {
    model: LlamaModel,
}

impl VocabModel {
    /// Loads the vocabulary of `path` (fast: the tensors are not read).
    pub fn load(path: &Path) -> Result<Self> {
        crate::gguf::check(path)?;
        let be = backend()?;
        let mark = ffi::log_mark();
        let params = LlamaModelParams::default().with_vocab_only(true);
        let model = LlamaModel::load_from_file(be, path, &params).map_err(|e| {
            Error::bad_file(
                path,
                format!(
                    "llama.cpp could not load its vocabulary ({e}): {}",
                    log_tail(mark)
                ),
            )
        })?;
        Ok(VocabModel { model })
    }

    /// Token ids of `text`, special tokens (BOS/EOS as the vocabulary asks) added when
    /// `add_special`, and special-token text (`<|im_start|>`) parsed as the server does.
    pub fn tokenize(&self, text: &str, add_special: bool) -> Vec<u32> {
        self.model
            .vocab()
            .tokenize(text.as_bytes(), add_special, true)
            .into_iter()
            .map(|t| t.0 as u32)
            .collect()
    }

    /// Text of `ids`; control tokens are dropped when `skip_special`.
    pub fn detokenize(&self, ids: &[u32], skip_special: bool) -> String {
        if ids.is_empty() {
            return String::new();
        }
        let toks: Vec<LlamaToken> = ids.iter().map(|&t| LlamaToken(t as i32)).collect();
        let bytes = self
            .model
            .vocab()
            .detokenize(&toks, skip_special, !skip_special);
        String::from_utf8_lossy(&bytes).into_owned()
    }

    pub fn n_vocab(&self) -> u32 {
        self.model.vocab().n_tokens().max(0) as u32
    }

    /// Control tokens (BOS, EOS, `<|im_start|>`, ...): never used to make prompt text.
    pub fn is_control(&self, id: u32) -> bool {
        self.model.vocab().is_control(LlamaToken(id as i32))
    }

    /// The vocabulary type's name as llama.cpp calls it (`spm`, `bpe`, `wpm`, `ugm`, ...).
    pub fn vocab_type(&self) -> String {
        format!("{:?}", self.model.vocab().vocab_type()).to_ascii_lowercase()
    }
}

/// An opened llama.cpp engine: the model is loaded once and shared by its sessions.
pub struct LlamaEngine {
    dir: PathBuf,
    manifest: Manifest,
    model: LlamaModel,
    dims: ModelDims,
}

impl LlamaEngine {
    /// Loads the model file named by the manifest.
    pub fn open(dir: &Path, manifest: Manifest) -> Result<Self> {
        if manifest.backend != BackendKind::LlamaCpp {
            return Err(Error::config(
                "backend",
                format!("{} is not a llama.cpp engine", dir.display()),
            ));
        }
        let path = manifest.primary_file(dir);
        // llama.cpp first: its refusal names what is wrong with a damaged file.
        let model = load_model(&path)?;
        let g = Gguf::read(&path)?;
        let dims = dims_of(&g, model.n_params());
        Ok(LlamaEngine {
            dir: dir.to_owned(),
            manifest,
            model,
            dims,
        })
    }

    /// Model dimensions of the loaded file.
    pub fn dims(&self) -> ModelDims {
        self.dims.clone()
    }
}

fn kv_cache_type(d: KvDtype) -> Result<KvCacheType> {
    Ok(match d {
        KvDtype::F32 => KvCacheType::F32,
        KvDtype::F16 => KvCacheType::F16,
        KvDtype::Bf16 => KvCacheType::BF16,
        KvDtype::Q8_0 => KvCacheType::Q8_0,
        KvDtype::Q4_0 => KvCacheType::Q4_0,
        KvDtype::Fp8 | KvDtype::Int8 => {
            return Err(Error::config(
                "--kv-dtype",
                format!(
                "{} KV cache is a TensorRT option; llama.cpp takes f32, f16, bf16, q8_0 or q4_0",
                d.as_str()
            ),
            ))
        }
    })
}

/// Parses one of llama.cpp's KV-buffer log lines into bytes, e.g.
/// `llama_kv_cache:        CPU KV buffer size =     5.62 MiB` (one line per device buffer;
/// the session's KV bytes are their sum). llama.cpp prints two decimals of MiB, so the
/// figure is exact to ±5 KiB per buffer.
pub fn parse_kv_buffer_line(line: &str) -> Option<u64> {
    let rest = line.split("llama_kv_cache").nth(1)?;
    let rest = rest.split("KV buffer size =").nth(1)?;
    let mut it = rest.split_whitespace();
    let value: f64 = it.next()?.parse().ok()?;
    let mult = match it.next()? {
        "MiB" => 1024.0 * 1024.0,
        "KiB" => 1024.0,
        "GiB" => 1024.0 * 1024.0 * 1024.0,
        "B" => 1.0,
        _ => return None,
    };
    Some((value * mult).round() as u64)
}

/// Sum of the KV buffers in a stretch of log, `None` when no buffer line is there.
pub fn kv_bytes_from_log(lines: &[String]) -> Option<u64> {
    let sizes: Vec<u64> = lines
        .iter()
        .filter_map(|l| parse_kv_buffer_line(l))
        .collect();
    (!sizes.is_empty()).then(|| sizes.iter().sum())
}

impl Engine for LlamaEngine {
    fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    fn dir(&self) -> &Path {
        &self.dir
    }

    fn backend_version(&self) -> String {
        version()
    }

    fn weights_bytes(&self) -> u64 {
        self.model.size()
    }

    fn kv_plan(&self, dtype: KvDtype) -> KvPlan {
        KvPlan::new(
            &self.manifest.model,
            dtype,
            BackendKind::LlamaCpp.kv_granularity(),
        )
    }

    fn tokenize(&self, text: &str) -> Result<Vec<Token>> {
        Ok(self
            .model
            .vocab()
            .tokenize(text.as_bytes(), false, false)
            .into_iter()
            .map(|t| t.0)
            .collect())
    }

    fn detokenize(&self, tokens: &[Token]) -> Result<String> {
        let toks: Vec<LlamaToken> = tokens.iter().map(|t| LlamaToken(*t)).collect();
        let bytes = self.model.vocab().detokenize(&toks, false, false);
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    }

    fn bos(&self) -> Option<Token> {
        let v = self.model.vocab();
        v.should_add_bos().then(|| v.bos().0)
    }

    fn session(&self, cfg: &SessionConfig) -> Result<Box<dyn Session + '_>> {
        Ok(Box::new(LlamaSession::new(self, cfg)?))
    }
}

/// A llama.cpp context sized for `max_batch` sequences of `max_seq` tokens.
pub struct LlamaSession<'a> {
    ctx: LlamaContext<'a>,
    batch: LlamaBatch<'static>,
    max_batch: u32,
    max_seq: u32,
    n_vocab: usize,
    /// Next position of each active sequence.
    pos: Vec<i32>,
    /// Last token of each active sequence (fed by the next decode step).
    last: Vec<Token>,
    kv_bytes: Option<u64>,
    /// Tokens of kept context per sequence (`fill_context`); empty = none.
    context: Vec<i32>,
    /// Forward passes (`llama_decode` calls) this session ran, for tests and notes.
    forward_passes: u64,
    /// Prefills, and those that found every sequence of the KV cache empty once cleared.
    prefills: u64,
    prefills_on_empty_cache: u64,
}

impl<'a> LlamaSession<'a> {
    fn new(engine: &'a LlamaEngine, cfg: &SessionConfig) -> Result<Self> {
        if cfg.max_batch == 0 {
            return Err(Error::config("batch", "must be at least 1"));
        }
        if cfg.max_seq == 0 {
            return Err(Error::config("max_seq", "must be at least 1"));
        }
        let total = u64::from(cfg.max_batch) * u64::from(cfg.max_seq);
        let total = u32::try_from(total).map_err(|_| Error::Capacity {
            reason: format!(
                "batch {} × sequence {} tokens is too large for one llama.cpp context",
                cfg.max_batch, cfg.max_seq
            ),
        })?;
        let threads = cfg
            .threads
            .map(|t| t as i32)
            .unwrap_or_else(|| crate::engine::default_threads() as i32);
        let kv = kv_cache_type(cfg.kv_dtype)?;
        let params = LlamaContextParams::default()
            .with_n_ctx(NonZeroU32::new(total))
            .with_n_batch(total)
            .with_n_seq_max(cfg.max_batch)
            .with_n_threads(threads)
            .with_n_threads_batch(threads)
            .with_type_k(kv)
            .with_type_v(kv);
        let mark = ffi::log_mark();
        let be = backend()?;
        let ctx = engine
            .model
            .new_context(be, params)
            .map_err(|e| Error::Engine {
                backend: BACKEND,
                op: "create context",
                message: format!("{e}: {}", log_tail(mark)),
            })?;
        let kv_bytes = kv_bytes_from_log(&ffi::log_since(mark));
        Ok(LlamaSession {
            ctx,
            batch: LlamaBatch::new(total as usize, cfg.max_batch as i32),
            max_batch: cfg.max_batch,
            max_seq: cfg.max_seq,
            n_vocab: engine.model.n_vocab().max(0) as usize,
            pos: Vec::new(),
            last: Vec::new(),
            kv_bytes,
            context: Vec::new(),
            forward_passes: 0,
            prefills: 0,
            prefills_on_empty_cache: 0,
        })
    }

    fn decode(&mut self, op: &'static str) -> Result<()> {
        self.forward_passes += 1;
        self.ctx.decode(&mut self.batch).map_err(|e| Error::Engine {
            backend: BACKEND,
            op,
            message: e.to_string(),
        })
    }

    /// Readies the cache for a prefill of `prompts` and returns each sequence's first
    /// position: with no kept context, an empty cache from 0; with one (`fill_context`),
    /// every cell after the context dropped (the previous generation's), from its end.
    fn keep_context(&mut self, prompts: &[Vec<Token>]) -> Result<Vec<i32>> {
        if self.context.is_empty() {
            self.ctx.clear_kv_cache();
            return Ok(vec![0; prompts.len()]);
        }
        if prompts.len() != self.context.len() {
            return Err(Error::Capacity {
                reason: format!(
                    "{} prompts on top of {} filled contexts",
                    prompts.len(),
                    self.context.len()
                ),
            });
        }
        for (seq, (p, c)) in prompts.iter().zip(&self.context).enumerate() {
            if p.len() + *c as usize >= self.max_seq as usize {
                return Err(Error::Capacity {
                    reason: format!(
                        "prompt {seq} of {} tokens after a context of {c} exceeds the session's {}",
                        p.len(),
                        self.max_seq
                    ),
                });
            }
            let removed = self
                .ctx
                .clear_kv_cache_seq(Some(seq as u32), Some(*c as u32), None)
                .map_err(|e| Error::Engine {
                    backend: BACKEND,
                    op: "trim cache to context",
                    message: e.to_string(),
                })?;
            if !removed {
                return Err(Error::Engine {
                    backend: BACKEND,
                    op: "trim cache to context",
                    message: "llama_memory_seq_rm refused a partial removal".into(),
                });
            }
        }
        Ok(self.context.clone())
    }

    /// Greedy choice from the logits of batch row `i`.
    fn argmax(&self, i: i32) -> Token {
        let logits = self.ctx.get_logits_ith(i);
        let mut best = 0usize;
        let mut best_v = f32::NEG_INFINITY;
        for (j, &v) in logits.iter().take(self.n_vocab).enumerate() {
            if v > best_v {
                best_v = v;
                best = j;
            }
        }
        best as Token
    }
}

impl Session for LlamaSession<'_> {
    fn clock(&self) -> Clock {
        Clock::HostMonotonic
    }

    fn kv_allocated_bytes(&self) -> Option<u64> {
        self.kv_bytes
    }

    /// What the session did so far: forward passes, and how many prefills started from an
    /// empty KV cache (all of them, unless the cache leaked across runs).
    fn setup_notes(&self) -> BTreeMap<String, String> {
        let mut m = BTreeMap::new();
        m.insert("forward_passes".into(), self.forward_passes.to_string());
        m.insert("prefills".into(), self.prefills.to_string());
        m.insert(
            "prefills_on_empty_kv_cache".into(),
            self.prefills_on_empty_cache.to_string(),
        );
        m
    }

    fn prefill(&mut self, prompts: &[Vec<Token>]) -> Result<Vec<Token>> {
        if prompts.is_empty() || prompts.len() > self.max_batch as usize {
            return Err(Error::Capacity {
                reason: format!(
                    "{} prompts for a session sized for batch {}",
                    prompts.len(),
                    self.max_batch
                ),
            });
        }
        for (i, p) in prompts.iter().enumerate() {
            if p.is_empty() || p.len() >= self.max_seq as usize {
                return Err(Error::Capacity {
                    reason: format!(
                        "prompt {i} has {} tokens; the session holds {} per sequence",
                        p.len(),
                        self.max_seq
                    ),
                });
            }
        }
        // Every run starts from an empty cache (or, at a context depth, from exactly the
        // kept context): nothing of an earlier run (a warmup with the same prompt prefix)
        // may shorten this prefill. Checked, not assumed.
        let base = self.keep_context(prompts)?;
        self.prefills += 1;
        let empty_beyond_context = (0..self.max_batch as i32).all(|s| {
            let kept = self.context.get(s as usize).copied().unwrap_or(0);
            self.ctx.kv_cache_seq_pos_max(s) < kept
        });
        if empty_beyond_context {
            self.prefills_on_empty_cache += 1;
        }
        self.batch.clear();
        let mut rows = Vec::with_capacity(prompts.len());
        for (seq, p) in prompts.iter().enumerate() {
            for (j, t) in p.iter().enumerate() {
                let last = j + 1 == p.len();
                self.batch
                    .add(LlamaToken(*t), base[seq] + j as i32, &[seq as i32], last)
                    .map_err(|e| Error::Capacity {
                        reason: e.to_string(),
                    })?;
            }
            rows.push(self.batch.n_tokens() - 1);
        }
        self.decode("prefill")?;
        let first: Vec<Token> = rows.iter().map(|r| self.argmax(*r)).collect();
        self.pos = prompts
            .iter()
            .zip(&base)
            .map(|(p, b)| b + p.len() as i32)
            .collect();
        self.last = first.clone();
        Ok(first)
    }

    fn fill_context(&mut self, contexts: &[Vec<Token>]) -> Result<()> {
        if contexts.is_empty() || contexts.len() > self.max_batch as usize {
            return Err(Error::Capacity {
                reason: format!(
                    "{} contexts for a session sized for batch {}",
                    contexts.len(),
                    self.max_batch
                ),
            });
        }
        if let Some(c) = contexts.iter().find(|c| c.len() >= self.max_seq as usize) {
            return Err(Error::Capacity {
                reason: format!(
                    "a context of {} tokens fills the session's {} per sequence",
                    c.len(),
                    self.max_seq
                ),
            });
        }
        self.ctx.clear_kv_cache();
        self.batch.clear();
        for (seq, c) in contexts.iter().enumerate() {
            for (j, t) in c.iter().enumerate() {
                self.batch
                    .add(LlamaToken(*t), j as i32, &[seq as i32], false)
                    .map_err(|e| Error::Capacity {
                        reason: e.to_string(),
                    })?;
            }
        }
        self.decode("fill context")?;
        self.context = contexts.iter().map(|c| c.len() as i32).collect();
        self.pos.clear();
        self.last.clear();
        Ok(())
    }

    fn decode_step(&mut self) -> Result<Vec<Token>> {
        if self.last.is_empty() {
            return Err(Error::config("decode", "decode_step called before prefill"));
        }
        if self.pos.iter().any(|p| *p as u32 >= self.max_seq) {
            return Err(Error::Capacity {
                reason: format!("sequence reached the session's {} tokens", self.max_seq),
            });
        }
        self.batch.clear();
        for seq in 0..self.last.len() {
            self.batch
                .add(
                    LlamaToken(self.last[seq]),
                    self.pos[seq],
                    &[seq as i32],
                    true,
                )
                .map_err(|e| Error::Capacity {
                    reason: e.to_string(),
                })?;
        }
        self.decode("decode")?;
        let next: Vec<Token> = (0..self.last.len() as i32)
            .map(|i| self.argmax(i))
            .collect();
        for p in &mut self.pos {
            *p += 1;
        }
        self.last.clone_from(&next);
        Ok(next)
    }

    fn score(&mut self, tokens: &[Token], first_scored: usize) -> Result<(f64, usize)> {
        if tokens.len() > self.max_seq as usize {
            return Err(Error::Capacity {
                reason: format!(
                    "{} tokens to score in a session of {}",
                    tokens.len(),
                    self.max_seq
                ),
            });
        }
        let first_scored = first_scored.max(1);
        if first_scored >= tokens.len() {
            return Ok((0.0, 0));
        }
        self.ctx.clear_kv_cache();
        self.context.clear();
        self.batch.clear();
        for (j, t) in tokens.iter().enumerate() {
            // Row j's logits predict token j + 1.
            let want = j + 1 >= first_scored && j + 1 < tokens.len();
            self.batch
                .add(LlamaToken(*t), j as i32, &[0], want)
                .map_err(|e| Error::Capacity {
                    reason: e.to_string(),
                })?;
        }
        self.decode("score")?;
        let mut nll = 0.0f64;
        let mut n = 0usize;
        for j in (first_scored - 1)..(tokens.len() - 1) {
            let logits = self.ctx.get_logits_ith(j as i32);
            let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max) as f64;
            let lse = logits
                .iter()
                .map(|&v| (v as f64 - max).exp())
                .sum::<f64>()
                .ln()
                + max;
            nll += lse - logits[tokens[j + 1] as usize] as f64;
            n += 1;
        }
        self.pos.clear();
        self.last.clear();
        Ok((nll, n))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_kv_log_lines() {
        let lines: Vec<String> = [
            "llama_kv_cache:        CPU KV buffer size =     5.62 MiB",
            "llama_context: n_ctx = 4096",
            "llama_kv_cache:      CUDA0 KV buffer size =    90.00 MiB",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        assert_eq!(parse_kv_buffer_line(&lines[0]), Some(5_892_997));
        assert_eq!(parse_kv_buffer_line(&lines[1]), None);
        assert_eq!(
            kv_bytes_from_log(&lines),
            Some(5_892_997 + 90 * 1024 * 1024)
        );
        assert_eq!(kv_bytes_from_log(&lines[1..2]), None);
    }

    /// The dims the manifest of the default model records, from its metadata, and the
    /// same parameter count llama.cpp reports and the tensor table sums to.
    #[test]
    fn dims_of_the_real_model() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("engines/smollm2-135m-q4_1");
        let Ok(m) = Manifest::load(&dir) else {
            eprintln!("skipped: no model in {}", dir.display());
            return;
        };
        let info = inspect_gguf(&m.primary_file(&dir)).unwrap();
        assert_eq!(info.dims, m.model);
        assert_eq!(info.quant, m.quant);
        let g = Gguf::read(&m.primary_file(&dir)).unwrap();
        assert_eq!(Some(g.parameter_count()), info.dims.params);
    }
}
