//! Edge-LLM engine directories as data: the `config.json` the runtime reads, the KV-cache
//! plan it implies, and the `trtbench.json` manifest made from an engine directory (the
//! limits to build one with for a memory budget are `build::edge_llm`'s). Pure Rust,
//! compiled without any feature, so `trtbench kv` and `trtbench build --backend tensorrt`
//! work on any machine.
//!
//! Field names and rules follow Edge-LLM 0.10's parser (`cpp/runtime/config/
//! llmEngineConfig.cpp`, `parseCoreFields` and `populateLayerTypes`), its exporter
//! (`tensorrt_edgellm/checkpoint/checkpoint_utils.py`, `build_runtime_llm_config_dict`) and
//! its builder (`cpp/builder/llmBuilder.h`, `LLMBuilderConfig::toJson`).

mod layers;
pub mod spec;
use layers::kv_layers;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::engine::{
    BackendKind, FileEntry, KvDtype, KvPlan, Manifest, ModelDims, Source, MANIFEST_VERSION,
};
use crate::error::{Error, Result};

/// Edge-LLM's KV page: every sequence slot reserves its capacity rounded up to whole pages
/// (`cpp/common/pagedKvTypes.h`, `kTOKENS_PER_PAGE`).
pub const TOKENS_PER_PAGE: u32 = 128;

/// Largest capacity that stays int32 after rounding to pages (`kMAX_KV_CACHE_CAPACITY`).
pub const MAX_KV_CACHE_CAPACITY: u64 =
    (i32::MAX as u64 / TOKENS_PER_PAGE as u64) * TOKENS_PER_PAGE as u64;

/// Name of the runtime config in a vanilla engine directory.
pub const CONFIG_FILE: &str = "config.json";
/// Name of the engine file in a vanilla engine directory (`llmBuilder.cpp`).
pub const ENGINE_FILE: &str = "llm.engine";

/// The `builder_config` object: limits fixed at engine build time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct BuilderLimits {
    pub max_batch_size: u32,
    pub max_input_len: u32,
    /// Per-sequence KV capacity in tokens (prompt + generated).
    pub max_kv_cache_capacity: u32,
    /// Pages in the KV pool: at least `max_batch_size × ceil(capacity / 128)`.
    pub max_kv_pool_pages: u64,
    pub max_lora_rank: u32,
}

/// KV geometry of one attention layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct KvLayer {
    pub kv_heads: u32,
    pub head_dim: u32,
}

/// The fields of an Edge-LLM `config.json` that trtbench uses.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EdgeLlmConfig {
    pub model_type: Option<String>,
    pub edgellm_version: Option<String>,
    pub engine_role: String,
    pub spec_decode_type: String,
    pub num_hidden_layers: u32,
    pub num_attention_heads: Option<u32>,
    pub num_key_value_heads: u32,
    pub head_dim: u32,
    pub hidden_size: u32,
    pub vocab_size: u32,
    pub max_position_embeddings: Option<u32>,
    /// As written (`fp16`, `fp8`, `bf16`, `int8`, `fp32`).
    pub kv_cache_dtype: String,
    /// One entry per layer that holds KV cache (Mamba layers hold none).
    pub kv_layers: Vec<KvLayer>,
    pub builder: BuilderLimits,
}

fn field<'a>(obj: &'a Value, key: &str, path: &Path) -> Result<&'a Value> {
    obj.get(key)
        .ok_or_else(|| Error::bad_file(path, format!("missing required field `{key}`")))
}

fn positive(obj: &Value, key: &str, path: &Path, prefix: &str) -> Result<u32> {
    let v = field(obj, key, path)?;
    match v.as_u64() {
        Some(n) if n > 0 && n <= i32::MAX as u64 => Ok(n as u32),
        _ => Err(Error::bad_file(
            path,
            format!("field `{prefix}{key}` must be a positive 32-bit integer, found {v}"),
        )),
    }
}

fn opt_u32(obj: &Value, key: &str, path: &Path) -> Result<Option<u32>> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v
            .as_u64()
            .filter(|n| *n <= u32::MAX as u64)
            .map(|n| Some(n as u32))
            .ok_or_else(|| {
                Error::bad_file(path, format!("field `{key}` must be an integer, found {v}"))
            }),
    }
}

fn opt_str(obj: &Value, key: &str) -> Option<String> {
    obj.get(key).and_then(|v| v.as_str()).map(str::to_owned)
}

/// The KV element type trtbench models for an Edge-LLM `kv_cache_dtype` string.
pub fn kv_dtype_of(name: &str) -> Option<KvDtype> {
    match name {
        "fp16" => Some(KvDtype::F16),
        "bf16" => Some(KvDtype::Bf16),
        "fp8" => Some(KvDtype::Fp8),
        "fp32" => Some(KvDtype::F32),
        "int8" => Some(KvDtype::Int8),
        _ => None,
    }
}

/// `kv_cache_dtype`, one of the names Edge-LLM accepts.
fn kv_cache_dtype_field(v: &Value, path: &Path) -> Result<String> {
    let dtype = field(v, "kv_cache_dtype", path)?
        .as_str()
        .ok_or_else(|| Error::bad_file(path, "field `kv_cache_dtype` must be a string"))?;
    if !matches!(dtype, "fp16" | "fp8" | "int8" | "bf16" | "fp32") {
        return Err(Error::bad_file(
            path,
            format!(
                "field `kv_cache_dtype` is `{dtype}` (Edge-LLM accepts fp16, fp8, int8, bf16, fp32)"
            ),
        ));
    }
    Ok(dtype.to_owned())
}

impl BuilderLimits {
    /// Parses and checks the `builder_config` object as Edge-LLM's runtime does.
    fn parse(bc: &Value, path: &Path) -> Result<Self> {
        if !bc.is_object() {
            return Err(Error::bad_file(
                path,
                "field `builder_config` must be an object",
            ));
        }
        let p = "builder_config.";
        let builder = BuilderLimits {
            max_batch_size: positive(bc, "max_batch_size", path, p)?,
            max_input_len: positive(bc, "max_input_len", path, p)?,
            max_kv_cache_capacity: positive(bc, "max_kv_cache_capacity", path, p)?,
            max_kv_pool_pages: field(bc, "max_kv_pool_pages", path)?
                .as_u64()
                .ok_or_else(|| {
                    Error::bad_file(
                        path,
                        "field `builder_config.max_kv_pool_pages` must be a non-negative integer",
                    )
                })?,
            max_lora_rank: opt_u32(bc, "max_lora_rank", path)?.unwrap_or(0),
        };
        builder.check(path)?;
        Ok(builder)
    }

    fn check(&self, path: &Path) -> Result<()> {
        if u64::from(self.max_kv_cache_capacity) > MAX_KV_CACHE_CAPACITY {
            return Err(Error::bad_file(
                path,
                format!(
                    "builder_config.max_kv_cache_capacity {} exceeds {MAX_KV_CACHE_CAPACITY}",
                    self.max_kv_cache_capacity
                ),
            ));
        }
        if self.max_input_len > self.max_kv_cache_capacity {
            return Err(Error::bad_file(
                path,
                format!(
                    "builder_config.max_input_len ({}) cannot be greater than max_kv_cache_capacity ({})",
                    self.max_input_len, self.max_kv_cache_capacity
                ),
            ));
        }
        let min_pages = min_pool_pages(self.max_batch_size, self.max_kv_cache_capacity);
        if self.max_kv_pool_pages < min_pages {
            return Err(Error::bad_file(
                path,
                format!(
                    "builder_config.max_kv_pool_pages ({}) is below the minimum active pages ({min_pages})",
                    self.max_kv_pool_pages
                ),
            ));
        }
        Ok(())
    }
}

impl EdgeLlmConfig {
    /// Parses `config.json` text; `path` only names the file in errors.
    pub fn parse(text: &str, path: &Path) -> Result<Self> {
        let v: Value = serde_json::from_str(text)
            .map_err(|e| Error::bad_file(path, format!("invalid JSON: {e}")))?;
        if !v.is_object() {
            return Err(Error::bad_file(path, "expected a JSON object"));
        }
        let num_hidden_layers = positive(&v, "num_hidden_layers", path, "")?;
        let num_key_value_heads = positive(&v, "num_key_value_heads", path, "")?;
        let head_dim = positive(&v, "head_dim", path, "")?;
        let hidden_size = positive(&v, "hidden_size", path, "")?;
        let vocab_size = positive(&v, "vocab_size", path, "")?;
        let kv_cache_dtype = kv_cache_dtype_field(&v, path)?;
        let builder = BuilderLimits::parse(field(&v, "builder_config", path)?, path)?;

        let kv_layers = kv_layers(&v, num_hidden_layers, num_key_value_heads, head_dim, path)?;

        Ok(EdgeLlmConfig {
            model_type: opt_str(&v, "model").or_else(|| opt_str(&v, "model_type")),
            edgellm_version: opt_str(&v, "edgellm_version"),
            engine_role: opt_str(&v, "engine_role").unwrap_or_else(|| "llm".into()),
            spec_decode_type: opt_str(&v, "spec_decode_type").unwrap_or_else(|| "none".into()),
            num_hidden_layers,
            num_attention_heads: opt_u32(&v, "num_attention_heads", path)?,
            num_key_value_heads,
            head_dim,
            hidden_size,
            vocab_size,
            max_position_embeddings: opt_u32(&v, "max_position_embeddings", path)?,
            kv_cache_dtype,
            kv_layers,
            builder,
        })
    }

    /// Reads `dir/config.json`, or the base's `base_config.json` in a speculative directory.
    pub fn load(dir: &Path) -> Result<Self> {
        let path = dir.join(if spec::has_spec_files(dir) {
            spec::BASE_CONFIG_FILE
        } else {
            CONFIG_FILE
        });
        let text = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
        Self::parse(&text, &path)
    }

    /// The modelled KV element type, or a config error for one trtbench cannot size.
    pub fn kv_dtype(&self) -> Result<KvDtype> {
        kv_dtype_of(&self.kv_cache_dtype).ok_or_else(|| {
            Error::config(
                "kv_cache_dtype",
                format!(
                    "Edge-LLM KV dtype `{}` is not modelled by trtbench's KV planner",
                    self.kv_cache_dtype
                ),
            )
        })
    }

    /// Model dimensions for the manifest. Heads default to hidden/head_dim when the config
    /// omits `num_attention_heads`.
    pub fn dims(&self) -> ModelDims {
        ModelDims {
            arch: self.model_type.clone().unwrap_or_else(|| "unknown".into()),
            layers: self.num_hidden_layers,
            heads: self
                .num_attention_heads
                .unwrap_or(self.hidden_size / self.head_dim.max(1)),
            kv_heads: self.num_key_value_heads,
            head_dim: self.head_dim,
            embedding: self.hidden_size,
            vocab: self.vocab_size,
            context_train: self.max_position_embeddings.unwrap_or(0),
            params: None,
        }
    }
}

/// Minimum KV pool pages: every slot reserves its whole capacity
/// (`computeMinimumKvPoolPages` in `cpp/common/pagedKvTypes.h`).
pub fn min_pool_pages(max_batch: u32, capacity: u32) -> u64 {
    u64::from(max_batch) * u64::from(capacity).div_ceil(u64::from(TOKENS_PER_PAGE))
}

/// Rounds a token count up to whole KV pages.
pub fn round_to_pages(tokens: u64) -> u64 {
    tokens.div_ceil(u64::from(TOKENS_PER_PAGE)) * u64::from(TOKENS_PER_PAGE)
}

/// What an Edge-LLM engine directory reserves, read from its `config.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EdgeLlmPlan {
    pub max_batch: u32,
    pub max_input_len: u32,
    pub kv_capacity: u32,
    pub pool_pages: u64,
    pub kv_dtype: KvDtype,
    /// Uniform-layer plan (128-token granularity) for what-if questions.
    pub kv: KvPlan,
    /// Bytes the runtime allocates for KV at construction: for every KV layer,
    /// `2 × pool_pages × 128 × kv_heads × head_dim × element bytes`.
    pub kv_bytes: u64,
    /// A lower bound of the activation buffers (see [`activation_floor_bytes`]).
    pub activation_bytes: u64,
    /// Tokens of `kv_capacity` a request cannot use: [`spec::SPEC_KV_RESERVE`] in a
    /// speculative directory, whose `kv_capacity` is then already `min(base, draft) − reserve`.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub kv_reserve: u32,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// A lower bound of what a full-size step needs beside weights and KV: fp32 logits for every
/// sequence of the largest batch, and one fp16 hidden-state tensor of the largest prefill
/// (`max_batch × max_input_len × hidden`). TensorRT's execution context needs more (its
/// `device_memory_bytes`, shown by `trtbench inspect`); only the engine can say how much.
pub fn activation_floor_bytes(cfg: &EdgeLlmConfig) -> u64 {
    let b = u64::from(cfg.builder.max_batch_size);
    b * u64::from(cfg.vocab_size) * 4
        + b * u64::from(cfg.builder.max_input_len) * u64::from(cfg.hidden_size) * 2
}

impl EdgeLlmPlan {
    pub fn from_config(cfg: &EdgeLlmConfig) -> Result<Self> {
        let kv_dtype = cfg.kv_dtype()?;
        let elem = kv_dtype.bytes_per_element();
        let per_token: f64 = cfg
            .kv_layers
            .iter()
            .map(|l| 2.0 * f64::from(l.kv_heads) * f64::from(l.head_dim) * elem)
            .sum();
        let kv_bytes = (per_token
            * (cfg.builder.max_kv_pool_pages * u64::from(TOKENS_PER_PAGE)) as f64)
            .round() as u64;
        let kv = KvPlan {
            layers: cfg.kv_layers.len() as u32,
            kv_heads: cfg.num_key_value_heads,
            head_dim: cfg.head_dim,
            dtype: kv_dtype,
            granularity: TOKENS_PER_PAGE,
        };
        Ok(EdgeLlmPlan {
            max_batch: cfg.builder.max_batch_size,
            max_input_len: cfg.builder.max_input_len,
            kv_capacity: cfg.builder.max_kv_cache_capacity,
            pool_pages: cfg.builder.max_kv_pool_pages,
            kv_dtype,
            kv,
            kv_bytes,
            activation_bytes: activation_floor_bytes(cfg),
            kv_reserve: 0,
        })
    }

    /// The plan a speculative request sees: capacity `min(base, draft) − 100` (see
    /// [`spec::SPEC_KV_RESERVE`]).
    pub fn speculative(mut self, draft: &spec::SpecDir) -> Self {
        self.kv_capacity = self
            .kv_capacity
            .min(draft.draft_kv_capacity)
            .saturating_sub(spec::SPEC_KV_RESERVE);
        self.kv_reserve = spec::SPEC_KV_RESERVE;
        self
    }

    /// Checks a run point fits the engine's build limits before running it.
    pub fn check_point(&self, batch: u32, isl: u32, osl: u32) -> Result<()> {
        if batch > self.max_batch {
            return Err(Error::Capacity {
                reason: format!(
                    "batch {batch} exceeds the engine's max_batch_size {} (rebuild with a larger --maxBatchSize)",
                    self.max_batch
                ),
            });
        }
        if isl > self.max_input_len {
            return Err(Error::Capacity {
                reason: format!(
                    "input length {isl} exceeds the engine's max_input_len {} (rebuild with a larger --maxInputLen)",
                    self.max_input_len
                ),
            });
        }
        if u64::from(isl) + u64::from(osl) > u64::from(self.kv_capacity) {
            return Err(Error::Capacity {
                reason: if self.kv_reserve > 0 {
                    format!(
                        "input {isl} + output {osl} tokens exceed the {} tokens a speculative \
                         request may use (the smaller of base and draft max_kv_cache_capacity \
                         less Edge-LLM's {}-token reserve; it would silently shorten the output)",
                        self.kv_capacity, self.kv_reserve
                    )
                } else {
                    format!(
                        "input {isl} + output {osl} tokens exceed the engine's max_kv_cache_capacity {} \
                         (Edge-LLM would silently shorten the output)",
                        self.kv_capacity
                    )
                },
            });
        }
        Ok(())
    }
}

/// Reads the plan of the Edge-LLM engine in `dir` (a speculative directory's as its
/// speculative requests see it).
pub fn plan_from_config(dir: &Path) -> Result<EdgeLlmPlan> {
    let plan = EdgeLlmPlan::from_config(&EdgeLlmConfig::load(dir)?)?;
    if spec::has_spec_files(dir) {
        return Ok(plan.speculative(&spec::check_spec_dir(dir)?));
    }
    Ok(plan)
}

/// Files of a vanilla Edge-LLM engine directory that the manifest records (the engine
/// first). Optional files are listed when present.
const REQUIRED_FILES: &[&str] = &[
    ENGINE_FILE,
    CONFIG_FILE,
    "embedding.safetensors",
    "tokenizer.json",
    // Edge-LLM's tokenizer refuses to load without it (`loadFromHF(..., requireChatTemplate
    // = true)`).
    super::prompt::CHAT_TEMPLATE_FILE,
];
const OPTIONAL_FILES: &[&str] = &["tokenizer_config.json", "vocab_map.safetensors"];

/// True when `dir` looks like an Edge-LLM engine directory as `llm_build` leaves it:
/// `config.json` and `llm.engine`, or any file of a speculative one (a half-built one is
/// then refused by [`manifest_from_engine_dir`], naming what is missing).
pub fn looks_like_engine_dir(dir: &Path) -> bool {
    (dir.join(CONFIG_FILE).is_file() && dir.join(ENGINE_FILE).is_file())
        || spec::has_spec_files(dir)
}

/// Quantization names Edge-LLM's export uses (`--quantization`), most specific first; an
/// engine directory without a manifest is credited with the first its name contains.
const QUANT_NAMES: &[&str] = &[
    "int4_awq",
    "int4_gptq",
    "w4a8_awq",
    "int8_sq",
    "nvfp4",
    "mxfp8",
    "fp8",
    "fp16",
    "bf16",
];

/// The manifest of an Edge-LLM engine directory that has none (made by Edge-LLM's own
/// tools): name from the directory, quantization from the directory name when it says
/// (`unknown` otherwise: `config.json` does not record it), dims and files as
/// [`manifest_from_engine_dir`] reads them. `source.kind` is `engine_dir` so results show
/// the manifest was derived.
pub fn derive_manifest(dir: &Path) -> Result<Manifest> {
    let name = dir
        .canonicalize()
        .unwrap_or_else(|_| dir.to_owned())
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "edge-llm-engine".into());
    let lower = name.to_ascii_lowercase();
    let quant = QUANT_NAMES
        .iter()
        .find(|q| lower.contains(*q))
        .copied()
        .unwrap_or("unknown");
    let mut m = manifest_from_engine_dir(dir, &name, quant)?;
    m.source = Some(Source {
        kind: "engine_dir".into(),
        package: None,
        version: None,
        path: Some(dir.display().to_string()),
        sha256: None,
    });
    Ok(m)
}

/// The files a manifest records, with sizes and SHA-256: the engine first, then the configs,
/// weights, tokenizer and chat template (a speculative directory's base and draft, and
/// `d2t.safetensors` for EAGLE3), the optional files present and any external weights.
fn manifest_files(dir: &Path, speculative: Option<&spec::SpecDir>) -> Result<Vec<FileEntry>> {
    let mut files = Vec::new();
    let mut names: Vec<PathBuf> = match speculative {
        None => REQUIRED_FILES.iter().map(PathBuf::from).collect(),
        // The base engine first, as `llm.engine` is in a vanilla directory.
        Some(s) => {
            let mut n: Vec<PathBuf> = spec::SPEC_FILES
                .iter()
                .chain(&REQUIRED_FILES[2..])
                .map(PathBuf::from)
                .collect();
            n.swap(0, 2);
            if s.spec_type == "eagle3" {
                n.push(PathBuf::from(spec::D2T_FILE));
            }
            n
        }
    };
    for f in OPTIONAL_FILES {
        if dir.join(f).is_file() {
            names.push(PathBuf::from(f));
        }
    }
    // Externalised INT4/NVFP4 weights sit beside the engine (`external_*_weights.safetensors`).
    let mut external: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| Error::io(dir, e))?
        .filter_map(|e| e.ok())
        .map(|e| PathBuf::from(e.file_name()))
        .filter(|p| {
            let s = p.to_string_lossy();
            s.starts_with("external_") && s.ends_with(".safetensors")
        })
        .collect();
    external.sort();
    names.extend(external);
    for rel in names {
        let p = dir.join(&rel);
        let meta = std::fs::metadata(&p).map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                Error::bad_file(&p, "missing: an Edge-LLM engine directory needs it")
            } else {
                Error::io(&p, e)
            }
        })?;
        files.push(FileEntry {
            path: rel.to_string_lossy().into_owned(),
            bytes: meta.len(),
            sha256: crate::engine::sha256_file(&p)?,
        });
    }
    Ok(files)
}

/// Makes the `trtbench.json` manifest for an Edge-LLM engine directory from its
/// `config.json` (dims, build limits) and its files (sizes and SHA-256). Does not write it.
pub fn manifest_from_engine_dir(dir: &Path, name: &str, quant: &str) -> Result<Manifest> {
    let speculative = if spec::has_spec_files(dir) {
        Some(spec::check_spec_dir(dir)?)
    } else {
        None
    };
    let cfg = EdgeLlmConfig::load(dir)?;
    if speculative.is_none() && (cfg.engine_role != "llm" || cfg.spec_decode_type != "none") {
        return Err(Error::bad_file(
            dir.join(CONFIG_FILE),
            format!(
                "engine_role `{}` / spec_decode_type `{}`: trtbench runs vanilla Edge-LLM engines (llm.engine) only",
                cfg.engine_role, cfg.spec_decode_type
            ),
        ));
    }
    let files = manifest_files(dir, speculative.as_ref())?;
    let mut settings = BTreeMap::new();
    let b = cfg.builder;
    settings.insert("max_batch_size".into(), b.max_batch_size.into());
    settings.insert("max_input_len".into(), b.max_input_len.into());
    settings.insert(
        "max_kv_cache_capacity".into(),
        b.max_kv_cache_capacity.into(),
    );
    settings.insert("max_kv_pool_pages".into(), b.max_kv_pool_pages.into());
    settings.insert("kv_cache_dtype".into(), cfg.kv_cache_dtype.clone().into());
    if let Some(s) = &speculative {
        settings.insert("spec_decode_type".into(), s.spec_type.clone().into());
        settings.insert(
            "draft_max_kv_cache_capacity".into(),
            s.draft_kv_capacity.into(),
        );
    }
    Ok(Manifest {
        schema_version: MANIFEST_VERSION,
        name: name.to_owned(),
        backend: BackendKind::EdgeLlm,
        quant: quant.to_owned(),
        files,
        model: cfg.dims(),
        source: Some(Source {
            kind: "engine".into(),
            package: Some("tensorrt-edgellm".into()),
            version: cfg.edgellm_version.clone(),
            path: Some(dir.display().to_string()),
            sha256: None,
        }),
        build: Some(crate::engine::BuildInfo {
            tool: "tensorrt-edgellm".into(),
            tool_version: cfg.edgellm_version.clone().unwrap_or_default(),
            wall_s: 0.0,
            steps: Vec::new(),
            settings,
        }),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    // Fixture: tests/fixtures/edgellm/qwen3-0.6b-config.json, written by hand from the field
    // set of Edge-LLM 0.10's exporter (build_runtime_llm_config_dict) and builder
    // (LLMBuilderConfig::toJson), with Qwen3-0.6B's published dims.
    const FIXTURE: &str = include_str!("../../../tests/fixtures/edgellm/qwen3-0.6b-config.json");

    fn cfg() -> EdgeLlmConfig {
        EdgeLlmConfig::parse(FIXTURE, Path::new("config.json")).unwrap()
    }

    #[test]
    fn parses_fixture() {
        let c = cfg();
        assert_eq!(c.num_hidden_layers, 28);
        assert_eq!(c.kv_layers.len(), 28);
        assert_eq!(c.builder.max_batch_size, 4);
        assert_eq!(c.builder.max_kv_cache_capacity, 4096);
        assert_eq!(c.builder.max_kv_pool_pages, 128);
        assert_eq!(c.dims().heads, 16);
        assert_eq!(c.model_type.as_deref(), Some("qwen3"));
    }

    #[test]
    fn plan_matches_edge_llm_allocation() {
        let p = EdgeLlmPlan::from_config(&cfg()).unwrap();
        // 2 (K,V) × 28 layers × 8 heads × 128 dim × 2 bytes = 114688 bytes/token (112 KiB),
        // × 128 pages × 128 tokens = 4 slots × 4096 tokens.
        assert_eq!(p.kv.bytes_per_token(), 114_688.0);
        assert_eq!(p.kv_bytes, 114_688 * 128 * 128);
        assert_eq!(p.kv_bytes, p.kv.total_bytes(4, 4096));
        assert!(p.check_point(4, 1024, 3072).is_ok());
        assert!(matches!(
            p.check_point(5, 10, 10),
            Err(Error::Capacity { .. })
        ));
        assert!(matches!(
            p.check_point(1, 2048, 2049),
            Err(Error::Capacity { .. })
        ));
    }

    #[test]
    fn pool_pages_round_capacity_up() {
        assert_eq!(min_pool_pages(3, 129), 6);
        assert_eq!(min_pool_pages(1, 128), 1);
        assert_eq!(round_to_pages(1), 128);
        assert_eq!(round_to_pages(256), 256);
    }

    #[test]
    fn errors_name_the_field() {
        let bad = FIXTURE.replace("\"head_dim\": 128", "\"head_dim\": 0");
        let e = EdgeLlmConfig::parse(&bad, Path::new("x/config.json"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("head_dim") && e.contains("x/config.json"), "{e}");
        let bad = FIXTURE.replace("\"max_kv_pool_pages\": 128", "\"max_kv_pool_pages\": 3");
        let e = EdgeLlmConfig::parse(&bad, Path::new("c.json"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("max_kv_pool_pages") && e.contains("128"), "{e}");
        let bad = FIXTURE.replace("\"max_input_len\": 2048", "\"max_input_len\": 8192");
        let e = EdgeLlmConfig::parse(&bad, Path::new("c.json"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("max_input_len"), "{e}");
        let bad = FIXTURE.replace("\"kv_cache_dtype\": \"fp16\"", "\"kv_cache_dtype\": \"q4\"");
        let e = EdgeLlmConfig::parse(&bad, Path::new("c.json"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("kv_cache_dtype"), "{e}");
    }

    #[test]
    fn hybrid_layers_only_count_attention() {
        let text = r#"{"num_hidden_layers": 4, "num_key_value_heads": 2, "head_dim": 64,
            "hidden_size": 256, "vocab_size": 1000, "kv_cache_dtype": "fp8",
            "layer_types": ["attention", "mamba", "attention", "mamba"],
            "kv_layer_configs": [{"num_kv_heads": 2, "head_dim": 64}, null,
                                 {"num_kv_heads": 4, "head_dim": 128}, null],
            "builder_config": {"max_batch_size": 1, "max_input_len": 100,
                "max_kv_cache_capacity": 200, "max_kv_pool_pages": 2}}"#;
        let c = EdgeLlmConfig::parse(text, Path::new("c.json")).unwrap();
        assert_eq!(c.kv_layers.len(), 2);
        let p = EdgeLlmPlan::from_config(&c).unwrap();
        // fp8: (2×2×64 + 2×4×128) bytes/token × 2 pages × 128 tokens.
        assert_eq!(p.kv_bytes, (256 + 1024) * 256);
    }

    /// Gemma 4: `full_attention` layers use `global_head_dim`, sliding ones `head_dim`.
    #[test]
    fn gemma4_full_attention_layers_use_the_global_head_dim() {
        let text = r#"{"num_hidden_layers": 6, "num_key_value_heads": 2, "head_dim": 256,
            "global_head_dim": 512, "hidden_size": 1536, "vocab_size": 1000,
            "kv_cache_dtype": "fp16",
            "layer_types": ["sliding_attention", "sliding_attention", "full_attention",
                            "sliding_attention", "sliding_attention", "full_attention"],
            "builder_config": {"max_batch_size": 1, "max_input_len": 100,
                "max_kv_cache_capacity": 256, "max_kv_pool_pages": 2}}"#;
        let c = EdgeLlmConfig::parse(text, Path::new("c.json")).unwrap();
        let dims: Vec<u32> = c.kv_layers.iter().map(|l| l.head_dim).collect();
        assert_eq!(dims, [256, 256, 512, 256, 256, 512]);
        let p = EdgeLlmPlan::from_config(&c).unwrap();
        // fp16: (4 × 2×2×256 + 2 × 2×2×512) bytes/token × 2 pages × 128 tokens.
        assert_eq!(p.kv_bytes, (4 * 2048 + 2 * 4096) * 256);
        // Without global_head_dim every layer keeps head_dim.
        let plain = text.replace("\"global_head_dim\": 512,", "");
        let c = EdgeLlmConfig::parse(&plain, Path::new("c.json")).unwrap();
        assert!(c.kv_layers.iter().all(|l| l.head_dim == 256));
    }

    #[test]
    fn manifest_from_dir_lists_files() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(CONFIG_FILE), FIXTURE).unwrap();
        for f in [
            ENGINE_FILE,
            "embedding.safetensors",
            "tokenizer.json",
            crate::backends::trt::prompt::CHAT_TEMPLATE_FILE,
        ] {
            std::fs::write(dir.path().join(f), b"x").unwrap();
        }
        std::fs::write(dir.path().join("external_ffn_weights.safetensors"), b"yy").unwrap();
        let m = manifest_from_engine_dir(dir.path(), "qwen3", "int4_awq").unwrap();
        assert_eq!(m.backend, BackendKind::EdgeLlm);
        assert_eq!(m.files[0].path, ENGINE_FILE);
        assert!(m
            .files
            .iter()
            .any(|f| f.path == "external_ffn_weights.safetensors" && f.bytes == 2));
        assert_eq!(m.model.kv_heads, 8);
        m.save(dir.path()).unwrap();
        let back = Manifest::load(dir.path()).unwrap();
        back.check_files(dir.path()).unwrap();
        std::fs::remove_file(dir.path().join("tokenizer.json")).unwrap();
        let e = manifest_from_engine_dir(dir.path(), "q", "fp16")
            .unwrap_err()
            .to_string();
        assert!(e.contains("tokenizer.json"), "{e}");
        std::fs::write(dir.path().join("tokenizer.json"), b"x").unwrap();
        std::fs::remove_file(dir.path().join("processed_chat_template.json")).unwrap();
        let e = manifest_from_engine_dir(dir.path(), "q", "fp16")
            .unwrap_err()
            .to_string();
        assert!(e.contains("processed_chat_template.json"), "{e}");
    }

    #[test]
    fn derives_a_manifest_for_a_bare_engine_dir() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("Qwen3-0.6B-int4_awq");
        std::fs::create_dir(&dir).unwrap();
        assert!(!crate::backends::is_engine_dir(&dir));
        assert!(crate::backends::derive_manifest(&dir).unwrap().is_none());
        let e = crate::backends::manifest(&dir).unwrap_err().to_string();
        assert!(e.contains("trtbench.json"), "{e}");
        std::fs::write(dir.join(CONFIG_FILE), FIXTURE).unwrap();
        for f in [
            ENGINE_FILE,
            "embedding.safetensors",
            "tokenizer.json",
            "processed_chat_template.json",
        ] {
            std::fs::write(dir.join(f), b"x").unwrap();
        }
        assert!(crate::backends::is_engine_dir(&dir));
        let m = crate::backends::manifest(&dir).unwrap();
        assert_eq!(m.backend, BackendKind::EdgeLlm);
        assert_eq!(m.name, "Qwen3-0.6B-int4_awq");
        assert_eq!(m.quant, "int4_awq");
        assert_eq!(m.source.as_ref().unwrap().kind, "engine_dir");
        assert!(
            !dir.join(crate::engine::MANIFEST_FILE).exists(),
            "nothing is written"
        );
        // A trtbench.json, when present, wins.
        let mut saved = m.clone();
        saved.quant = "fp16".into();
        saved.save(&dir).unwrap();
        assert_eq!(crate::backends::manifest(&dir).unwrap().quant, "fp16");
    }
}
