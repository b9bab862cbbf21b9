//! llama.cpp through `llama-cpp-2`: the default engine (CPU; CUDA with the `cuda` feature).
//! A batch of B prompts is one `llama_batch` with B sequence ids and `n_seq_max = B`, so
//! batched decode is what llama.cpp really does with several sequences, not B calls.
//! Phases are timed on the host monotonic clock: llama.cpp's CPU decode is synchronous.

mod ffi;
mod session;
mod spec;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use llama_cpp_2::context::params::KvCacheType;
use llama_cpp_2::llama_backend::LlamaBackend;
use llama_cpp_2::model::params::LlamaModelParams;
use llama_cpp_2::model::LlamaModel;
use llama_cpp_2::token::LlamaToken;

use crate::engine::{
    BackendKind, Engine, KvDtype, KvPlan, Manifest, ModelDims, Session, SessionConfig, Token,
};
use crate::error::{Error, Result};
use crate::gguf::Gguf;

pub mod quant;

pub use ffi::{ggml_commit, ggml_version, model_quantize, system_info};
pub use session::LlamaSession;
pub use spec::SpecSession;

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

    fn as_any(&self) -> Option<&dyn std::any::Any> {
        Some(self)
    }

    /// Another llama.cpp engine with the same vocabulary drafts for this one.
    fn speculative_session<'a>(
        &'a self,
        draft: &'a dyn Engine,
        cfg: &SessionConfig,
        knobs: &crate::engine::DraftKnobs,
    ) -> Result<Box<dyn Session + 'a>> {
        if knobs.top_k.is_some() || knobs.verify.is_some() || knobs.block.is_some() {
            return Err(Error::config(
                "--draft-top-k",
                "llama.cpp drafts a chain of --draft-max tokens: --draft-top-k, --draft-verify \
                 and --dflash-block are Edge-LLM's drafting knobs",
            ));
        }
        let Some(d) = draft.as_any().and_then(|a| a.downcast_ref::<LlamaEngine>()) else {
            return Err(Error::config(
                "--draft",
                format!(
                    "{} is a {} engine; a llama.cpp target drafts with a llama.cpp engine",
                    draft.dir().display(),
                    draft.manifest().backend.as_str()
                ),
            ));
        };
        Ok(Box::new(SpecSession::new(self, d, cfg, knobs.max)?))
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
