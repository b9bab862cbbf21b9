//! The TensorRT Edge-LLM engine build: quantize (ModelOpt, x86 GPU) → ONNX export (CPU)
//! → `llm_build` (on the target), as command lines run by [`super::steps`]; the limits
//! (`--maxBatchSize`, `--maxKVCacheCapacity`) chosen for a KV memory budget when not given,
//! from the model dimensions in a Hugging Face checkpoint's `config.json`; and the manifest
//! of the built engine. [`plan`] decides everything without running anything (and works
//! without any NVIDIA software installed); [`run`] runs a plan. Depends on `backends::trt`
//! (an engine directory's config and manifest), `engine`, `platform` and `units`; never on
//! `cli`.
//!
//! Entry points and flags were read in TensorRT Edge-LLM 0.10.0: `pyproject.toml`
//! (`tensorrt-edgellm-quantize`, `tensorrt-edgellm-export`), `tensorrt_edgellm/scripts/
//! quantize.py` (subcommand `llm`, `--model_dir`, `--output_dir`, `--quantization`,
//! `--kv_cache_quantization`, `--lm_head_quantization`, `--num_samples`),
//! `tensorrt_edgellm/scripts/export.py` (positional `model output_dir`; writes `llm/`) and
//! `examples/llm/llm_build.cpp` (`--onnxDir`, `--engineDir`, `--maxInputLen`,
//! `--maxKVCacheCapacity`, `--maxBatchSize`).

use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::{Deserialize, Serialize};

use super::budget::{BudgetPolicy, BudgetSource};
use super::steps::{run_steps, Step};
use crate::backends::trt::config::{
    manifest_from_engine_dir, round_to_pages, MAX_KV_CACHE_CAPACITY, TOKENS_PER_PAGE,
};
use crate::engine::{BuildInfo, KvDtype, KvPlan, Manifest, ModelDims};
use crate::error::{Error, Result};

/// Quantisations the Edge-LLM quantizer offers for the LLM backbone, plus `fp16` (none).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EdgeQuant {
    Fp16,
    Fp8,
    Int4Awq,
    Nvfp4,
    Mxfp8,
    Int8Sq,
}

impl EdgeQuant {
    pub const ALL: [EdgeQuant; 6] = [
        EdgeQuant::Fp16,
        EdgeQuant::Fp8,
        EdgeQuant::Int4Awq,
        EdgeQuant::Nvfp4,
        EdgeQuant::Mxfp8,
        EdgeQuant::Int8Sq,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EdgeQuant::Fp16 => "fp16",
            EdgeQuant::Fp8 => "fp8",
            EdgeQuant::Int4Awq => "int4_awq",
            EdgeQuant::Nvfp4 => "nvfp4",
            EdgeQuant::Mxfp8 => "mxfp8",
            EdgeQuant::Int8Sq => "int8_sq",
        }
    }

    pub fn parse(s: &str) -> Result<Self> {
        let s = s.to_ascii_lowercase();
        EdgeQuant::ALL
            .into_iter()
            .find(|q| q.as_str() == s)
            .ok_or_else(|| {
                Error::config(
                    "--quant",
                    format!(
                        "`{s}` is not an Edge-LLM quantisation (valid: {})",
                        EdgeQuant::ALL.map(|q| q.as_str()).join(", ")
                    ),
                )
            })
    }

    /// Lowest compute capability whose tensor cores run this format. FP8 needs Ada/Hopper
    /// (8.9); the microscaling formats need Blackwell (10.0). Jetson Orin is 8.7, so it runs
    /// fp16, int8 and int4 engines only (Edge-LLM support matrix).
    pub fn min_sm(self) -> (u32, u32) {
        match self {
            EdgeQuant::Fp16 | EdgeQuant::Int4Awq | EdgeQuant::Int8Sq => (8, 0),
            EdgeQuant::Fp8 => (8, 9),
            EdgeQuant::Nvfp4 | EdgeQuant::Mxfp8 => (10, 0),
        }
    }
}

/// Refuses a quantisation (or FP8 KV cache) the device cannot run, before hours of building.
pub fn check_quant_for_device(quant: EdgeQuant, kv_fp8: bool, sm: (u32, u32)) -> Result<()> {
    let need = quant.min_sm();
    if sm < need {
        return Err(Error::config(
            "--quant",
            format!(
                "{} needs compute capability {}.{} or newer; this device is {}.{} \
                 (Jetson Orin is 8.7: use fp16, int8_sq or int4_awq)",
                quant.as_str(),
                need.0,
                need.1,
                sm.0,
                sm.1
            ),
        ));
    }
    if kv_fp8 && sm < (8, 9) {
        return Err(Error::config(
            "--kv-dtype",
            format!(
                "an FP8 KV cache needs compute capability 8.9 or newer; this device is {}.{}",
                sm.0, sm.1
            ),
        ));
    }
    Ok(())
}

/// What to build.
#[derive(Debug, Clone, PartialEq)]
pub struct BuildSpec {
    /// Hugging Face model id or local checkpoint directory.
    pub model: String,
    /// Scratch directory for the quantized checkpoint and the ONNX export.
    pub work_dir: PathBuf,
    /// Output engine directory.
    pub engine_dir: PathBuf,
    pub quant: EdgeQuant,
    /// Quantize the KV cache to FP8 (a quantizer option; export reads it from the checkpoint).
    pub kv_cache_fp8: bool,
    pub lm_head_quant: Option<EdgeQuant>,
    /// Calibration samples for the quantizer (its default is 512).
    pub calib_samples: Option<u32>,
    pub limits: Limits,
    /// Path of the `llm_build` binary from the Edge-LLM build (`build/examples/llm/llm_build`).
    pub llm_build: PathBuf,
    /// A speculative build: the draft's export and both `--specBase` / `--specDraft` builds
    /// replace the vanilla export and build (`build::edge_spec`).
    pub draft: Option<crate::build::edge_spec::DraftBuild>,
}

fn s(p: &Path) -> String {
    p.display().to_string()
}

/// The ONNX directory `llm_build` reads: `tensorrt-edgellm-export` writes `<out>/llm/`.
pub fn onnx_dir(work_dir: &Path) -> PathBuf {
    work_dir.join("onnx").join("llm")
}

/// The commands that build `spec`, in order.
pub fn build_commands(spec: &BuildSpec) -> Result<Vec<Step>> {
    if spec.model.is_empty() {
        return Err(Error::config(
            "--from",
            "model id or checkpoint directory is empty",
        ));
    }
    if spec
        .lm_head_quant
        .is_some_and(|q| matches!(q, EdgeQuant::Fp16 | EdgeQuant::Int8Sq))
    {
        return Err(Error::config(
            "--lm-head-quant",
            "the LM head can be quantised to fp8, int4_awq, nvfp4 or mxfp8 only",
        ));
    }
    let mut steps = Vec::new();
    let needs_quantize =
        spec.quant != EdgeQuant::Fp16 || spec.kv_cache_fp8 || spec.lm_head_quant.is_some();
    let export_input = if needs_quantize {
        let out = spec.work_dir.join("quantized");
        let mut argv = vec![
            "tensorrt-edgellm-quantize".to_owned(),
            "llm".to_owned(),
            "--model_dir".to_owned(),
            spec.model.clone(),
            "--output_dir".to_owned(),
            s(&out),
        ];
        if spec.quant != EdgeQuant::Fp16 {
            argv.extend(["--quantization".to_owned(), spec.quant.as_str().to_owned()]);
        }
        if spec.kv_cache_fp8 {
            argv.extend(["--kv_cache_quantization".to_owned(), "fp8".to_owned()]);
        }
        if let Some(q) = spec.lm_head_quant {
            argv.extend(["--lm_head_quantization".to_owned(), q.as_str().to_owned()]);
        }
        if let Some(n) = spec.calib_samples {
            argv.extend(["--num_samples".to_owned(), n.to_string()]);
        }
        steps.push(Step::new("quantize", argv));
        s(&out)
    } else {
        spec.model.clone()
    };
    let l = spec.limits;
    if let Some(d) = &spec.draft {
        let b = crate::build::edge_spec::SpecBuild::of(spec, export_input);
        steps.extend(crate::build::edge_spec::spec_steps(&b, d));
        return Ok(steps);
    }
    steps.push(Step::new(
        "export",
        vec![
            "tensorrt-edgellm-export".to_owned(),
            export_input,
            s(&spec.work_dir.join("onnx")),
        ],
    ));
    steps.push(Step::new(
        "llm_build",
        vec![
            s(&spec.llm_build),
            format!("--onnxDir={}", s(&onnx_dir(&spec.work_dir))),
            format!("--engineDir={}", s(&spec.engine_dir)),
            format!("--maxInputLen={}", l.max_input_len),
            format!("--maxKVCacheCapacity={}", l.kv_capacity),
            format!("--maxBatchSize={}", l.max_batch),
        ],
    ));
    Ok(steps)
}

/// Build limits chosen for a KV budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Limits {
    pub max_batch: u32,
    pub max_input_len: u32,
    /// Per-sequence capacity, a whole number of pages ≥ isl + osl.
    pub kv_capacity: u32,
    /// KV bytes an engine built with these limits reserves.
    pub kv_bytes: u64,
}

/// Chooses `--maxBatchSize` and `--maxKVCacheCapacity` so the KV cache Edge-LLM reserves
/// (max batch × capacity rounded to pages, all up front) fits `budget_bytes`. The budget is
/// for KV only: the caller subtracts weights and activation memory first. The batch is
/// capped by `max_batch_cap` (each batch size gets its own decode CUDA graph).
pub fn choose_limits(
    dims: &ModelDims,
    kv_dtype: KvDtype,
    budget_bytes: u64,
    isl: u32,
    osl: u32,
    max_batch_cap: u32,
) -> Result<Limits> {
    if isl == 0 || osl == 0 {
        return Err(Error::config(
            "--isl/--osl",
            "input and output lengths must be at least 1",
        ));
    }
    let capacity = round_to_pages(u64::from(isl) + u64::from(osl));
    if capacity > MAX_KV_CACHE_CAPACITY {
        return Err(Error::config(
            "--isl/--osl",
            format!(
                "isl + osl = {} tokens exceeds Edge-LLM's limit",
                u64::from(isl) + u64::from(osl)
            ),
        ));
    }
    let plan = KvPlan::new(dims, kv_dtype, TOKENS_PER_PAGE);
    let fit = plan.max_batch(capacity, budget_bytes);
    let max_batch = fit.min(u64::from(max_batch_cap.max(1))) as u32;
    if max_batch == 0 {
        return Err(Error::Capacity {
            reason: format!(
                "one sequence of {capacity} tokens needs {} bytes of {} KV cache but the budget is {budget_bytes} bytes",
                plan.total_bytes(1, capacity),
                kv_dtype.as_str()
            ),
        });
    }
    Ok(Limits {
        max_batch,
        max_input_len: isl,
        kv_capacity: capacity as u32,
        kv_bytes: plan.total_bytes(u64::from(max_batch), capacity),
    })
}

/// Largest batch chosen automatically: every batch size gets its own decode CUDA graph.
pub const AUTO_BATCH_CAP: u32 = 64;

/// Model dimensions from a Hugging Face checkpoint's `config.json` (in `dir`, given by
/// `--from`).
pub fn hf_dims(dir: &Path) -> Result<ModelDims> {
    let path = dir.join("config.json");
    let text = std::fs::read_to_string(&path)
        .map_err(|e| Error::config("--from", format!("reading {}: {e}", path.display())))?;
    let v: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| Error::bad_file(&path, format!("invalid JSON: {e}")))?;
    let get = |k: &str| v.get(k).and_then(|x| x.as_u64()).map(|x| x as u32);
    let need = |k: &str| {
        get(k).ok_or_else(|| Error::bad_file(&path, format!("missing numeric field `{k}`")))
    };
    let heads = need("num_attention_heads")?;
    let hidden = need("hidden_size")?;
    Ok(ModelDims {
        arch: v
            .get("model_type")
            .and_then(|x| x.as_str())
            .unwrap_or("unknown")
            .to_owned(),
        layers: need("num_hidden_layers")?,
        heads,
        kv_heads: get("num_key_value_heads").unwrap_or(heads),
        head_dim: get("head_dim").unwrap_or(hidden / heads.max(1)),
        embedding: hidden,
        vocab: get("vocab_size").unwrap_or(0),
        context_train: get("max_position_embeddings").unwrap_or(0),
        params: None,
    })
}

/// The `llm_build` binary: `$TRTBENCH_EDGE_LLM_BUILD` or `$TRTBENCH_EDGE_LLM_ROOT/build`,
/// then `examples/llm/llm_build` inside it; else `llm_build` on PATH.
pub fn llm_build_path() -> PathBuf {
    let build = std::env::var_os("TRTBENCH_EDGE_LLM_BUILD")
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("TRTBENCH_EDGE_LLM_ROOT").map(|r| PathBuf::from(r).join("build"))
        });
    match build {
        Some(b) => b.join("examples/llm/llm_build"),
        None => PathBuf::from("llm_build"),
    }
}

fn on_path(prog: &str) -> bool {
    if prog.contains('/') {
        return Path::new(prog).is_file();
    }
    std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).any(|d| d.join(prog).is_file()))
        .unwrap_or(false)
}

/// What the user asked for (`trtbench build --backend tensorrt` without clap).
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    /// A Hugging Face checkpoint directory (or a model id; then `max_batch` is needed).
    pub from: PathBuf,
    pub quant: EdgeQuant,
    /// Engine directory to write (default: `engines_dir/<model>-<quant>`).
    pub out: Option<PathBuf>,
    pub engines_dir: PathBuf,
    /// Replace an existing engine directory.
    pub force: bool,
    /// Only plan: an existing output is no error then.
    pub plan_only: bool,
    pub max_batch: Option<u32>,
    pub max_input_len: u32,
    /// KV capacity per sequence (default: `max_input_len + 512`).
    pub max_seq_len: Option<u32>,
    /// Explicit KV budget (`--mem-budget`); else [`BudgetPolicy::EDGE_BUILD`].
    pub mem_budget_bytes: Option<u64>,
    /// Build a speculative directory with this draft (`--draft`).
    pub draft: Option<crate::build::edge_spec::DraftBuild>,
}

/// A decided build: what `--plan` prints and what [`run`] runs.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    pub from: PathBuf,
    pub out: PathBuf,
    /// Scratch space beside the engine: `<engine>.work/` (quantized checkpoint, ONNX, logs).
    pub work_dir: PathBuf,
    pub quant: EdgeQuant,
    pub limits: Limits,
    /// Why these limits (the flag, or the budget and where it came from).
    pub limits_source: String,
    pub steps: Vec<Step>,
    /// Programs of `steps` not found here.
    pub missing_tools: Vec<String>,
    /// Compute capability of the device `llm_build` targets ("8.7": the selected CUDA
    /// device, `--device`), recorded in the manifest; `None` when no device could tell.
    pub compute_capability: Option<String>,
}

/// Chooses the build limits: given ones win; otherwise the largest batch whose KV cache
/// fits the budget at the given sequence capacity.
fn limits(r: &Request, dims: Option<&ModelDims>, kv: KvDtype) -> Result<(Limits, String)> {
    let max_seq = r.max_seq_len.unwrap_or(r.max_input_len + 512);
    if max_seq <= r.max_input_len {
        return Err(Error::config(
            "--max-seq-len",
            format!(
                "{max_seq} must exceed --max-input-len {} (it holds prompt + output)",
                r.max_input_len
            ),
        ));
    }
    if let Some(b) = r.max_batch {
        if b == 0 {
            return Err(Error::config("--max-batch", "must be at least 1"));
        }
        let cap = round_to_pages(u64::from(max_seq)) as u32;
        let kv_bytes = dims
            .map(|d| KvPlan::new(d, kv, 128).total_bytes(u64::from(b), u64::from(cap)))
            .unwrap_or(0);
        return Ok((
            Limits {
                max_batch: b,
                max_input_len: r.max_input_len,
                kv_capacity: cap,
                kv_bytes,
            },
            "--max-batch".into(),
        ));
    }
    let dims = dims.ok_or_else(|| {
        Error::config(
            "--from",
            "not a checkpoint directory with config.json: give --max-batch",
        )
    })?;
    let budget = BudgetPolicy::EDGE_BUILD.resolve(r.mem_budget_bytes)?;
    let source = match budget.source {
        BudgetSource::Flag(f) => f.to_owned(),
        BudgetSource::MemAvailable => {
            "half of MemAvailable (weights and activations need the rest; set --mem-budget)"
                .to_owned()
        }
    };
    let osl = max_seq - r.max_input_len;
    let l = choose_limits(
        dims,
        kv,
        budget.budget_bytes,
        r.max_input_len,
        osl,
        AUTO_BATCH_CAP,
    )?;
    Ok((
        l,
        format!(
            "chosen for a KV budget of {} ({source})",
            crate::units::human_bytes(budget.budget_bytes)
        ),
    ))
}

/// Decides a build: output and scratch directories, limits, commands and the tools they
/// need that are missing. Creates nothing.
pub fn plan(r: &Request) -> Result<Plan> {
    let kv = KvDtype::F16;
    let dims = if r.from.is_dir() {
        Some(hf_dims(&r.from)?)
    } else {
        None
    };
    let base = r
        .from
        .file_name()
        .map(|n| n.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_else(|| "model".into());
    let out = r
        .out
        .clone()
        .unwrap_or_else(|| r.engines_dir.join(format!("{base}-{}", r.quant.as_str())));
    if out.exists() && !r.force && !r.plan_only {
        return Err(Error::config(
            "--out",
            format!(
                "{} already exists; pass --force to replace it",
                out.display()
            ),
        ));
    }
    let (limits, limits_source) = limits(r, dims.as_ref(), kv)?;
    // llm_build compiles for the GPU it runs on: refuse what that GPU cannot run, early.
    let compute_capability = crate::backends::trt::device_compute_capability();
    if let Some(sm) = compute_capability.as_deref().and_then(parse_sm) {
        check_quant_for_device(r.quant, false, sm)?;
    }
    let mut work_name = out.file_name().unwrap_or_default().to_os_string();
    work_name.push(".work");
    let work_dir = out.with_file_name(work_name);
    let spec = BuildSpec {
        model: r.from.display().to_string(),
        work_dir: work_dir.clone(),
        engine_dir: out.clone(),
        quant: r.quant,
        kv_cache_fp8: false,
        lm_head_quant: None,
        calib_samples: None,
        limits,
        llm_build: llm_build_path(),
        draft: r.draft.clone(),
    };
    let steps = build_commands(&spec)?;
    let missing_tools = steps
        .iter()
        .filter_map(|s| s.argv.first())
        .filter(|p| !on_path(p))
        .cloned()
        .collect();
    Ok(Plan {
        from: r.from.clone(),
        out,
        work_dir,
        quant: r.quant,
        limits,
        limits_source,
        steps,
        missing_tools,
        compute_capability,
    })
}

/// (8, 7) from "8.7".
fn parse_sm(s: &str) -> Option<(u32, u32)> {
    let (a, b) = s.split_once('.')?;
    Some((a.parse().ok()?, b.parse().ok()?))
}

/// The manifest's `build.settings`: the limits, the target device's compute capability
/// (`compute_capability` "8.7" and `target_arch` "sm_87", which `doctor` compares with the
/// device's) and the runtime versions when this binary has the runner.
pub fn build_settings(plan: &Plan) -> std::collections::BTreeMap<String, serde_json::Value> {
    let lim = plan.limits;
    let mut settings = std::collections::BTreeMap::new();
    settings.insert("max_batch".into(), lim.max_batch.into());
    settings.insert("max_input_len".into(), lim.max_input_len.into());
    settings.insert("kv_capacity".into(), lim.kv_capacity.into());
    settings.insert("kv_reserved_bytes".into(), lim.kv_bytes.into());
    if let Some(cc) = &plan.compute_capability {
        settings.insert("compute_capability".into(), cc.clone().into());
        settings.insert(
            "target_arch".into(),
            format!("sm_{}", cc.replace('.', "")).into(),
        );
    }
    if let Some(v) = crate::backends::trt::runtime_versions() {
        for (k, val) in v {
            settings.insert(k.into(), val.into());
        }
    }
    settings
}

impl Plan {
    /// Refuses a plan whose tools are missing, saying what to install.
    pub fn check_tools(&self) -> Result<()> {
        if self.missing_tools.is_empty() {
            return Ok(());
        }
        Err(Error::Tool {
            tool: "Edge-LLM build".into(),
            message: format!(
                "missing tools: {}. Install the Python tools with `pip install tensorrt-edgellm` \
                 and build Edge-LLM's llm_build (docs/gpu.md), then set TRTBENCH_EDGE_LLM_ROOT",
                self.missing_tools.join(", ")
            ),
        })
    }
}

/// Runs `plan`: replaces the output directory, runs the steps (logs in
/// `<work_dir>/logs`, `on_start` before each) and writes the engine's manifest with the
/// build's steps, times and limits. Returns the manifest.
pub fn run(plan: &Plan, on_start: &mut dyn FnMut(usize, &Step)) -> Result<Manifest> {
    plan.check_tools()?;
    let out = &plan.out;
    if out.exists() {
        std::fs::remove_dir_all(out).map_err(|e| Error::io(out, e))?;
    }
    let t = Instant::now();
    let done = run_steps(&plan.steps, &plan.work_dir.join("logs"), on_start)?;
    let name = out
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut m = manifest_from_engine_dir(out, &name, plan.quant.as_str())?;
    let settings = build_settings(plan);
    m.build = Some(BuildInfo {
        tool: "TensorRT Edge-LLM (quantize, export, llm_build)".into(),
        tool_version: crate::backends::trt::runtime_versions()
            .and_then(|v| v.get("edge_llm").cloned())
            .unwrap_or_else(|| "unknown".into()),
        wall_s: t.elapsed().as_secs_f64(),
        steps: done,
        settings,
    });
    m.save(out)?;
    Ok(m)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backends::trt::config::EdgeLlmConfig;

    // The fixture of backends::trt::config's tests (Qwen3-0.6B's dims).
    const FIXTURE: &str = include_str!("../../tests/fixtures/edgellm/qwen3-0.6b-config.json");

    fn cfg() -> EdgeLlmConfig {
        EdgeLlmConfig::parse(FIXTURE, Path::new("config.json")).unwrap()
    }

    fn spec(quant: EdgeQuant) -> BuildSpec {
        BuildSpec {
            model: "Qwen/Qwen3-0.6B".into(),
            work_dir: PathBuf::from("/w"),
            engine_dir: PathBuf::from("/e"),
            quant,
            kv_cache_fp8: false,
            lm_head_quant: None,
            calib_samples: None,
            limits: Limits {
                max_batch: 8,
                max_input_len: 1024,
                kv_capacity: 1152,
                kv_bytes: 0,
            },
            llm_build: PathBuf::from("/el/build/examples/llm/llm_build"),
            draft: None,
        }
    }

    #[test]
    fn int4_awq_pipeline() {
        let steps = build_commands(&spec(EdgeQuant::Int4Awq)).unwrap();
        let names: Vec<&str> = steps.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["quantize", "export", "llm_build"]);
        assert_eq!(
            steps[0].argv,
            [
                "tensorrt-edgellm-quantize",
                "llm",
                "--model_dir",
                "Qwen/Qwen3-0.6B",
                "--output_dir",
                "/w/quantized",
                "--quantization",
                "int4_awq"
            ]
        );
        assert_eq!(
            steps[1].argv,
            ["tensorrt-edgellm-export", "/w/quantized", "/w/onnx"]
        );
        assert_eq!(
            steps[2].argv,
            [
                "/el/build/examples/llm/llm_build",
                "--onnxDir=/w/onnx/llm",
                "--engineDir=/e",
                "--maxInputLen=1024",
                "--maxKVCacheCapacity=1152",
                "--maxBatchSize=8"
            ]
        );
    }

    #[test]
    fn fp16_skips_quantize_unless_kv_fp8() {
        let steps = build_commands(&spec(EdgeQuant::Fp16)).unwrap();
        assert_eq!(steps.len(), 2);
        assert_eq!(steps[0].argv[1], "Qwen/Qwen3-0.6B");
        let mut sp = spec(EdgeQuant::Fp16);
        sp.kv_cache_fp8 = true;
        let steps = build_commands(&sp).unwrap();
        assert_eq!(steps[0].argv[6..], ["--kv_cache_quantization", "fp8"]);
    }

    #[test]
    fn orin_refuses_fp8_and_fp4() {
        let orin = (8, 7);
        assert!(check_quant_for_device(EdgeQuant::Int4Awq, false, orin).is_ok());
        let e = check_quant_for_device(EdgeQuant::Fp8, false, orin)
            .unwrap_err()
            .to_string();
        assert!(e.contains("8.9") && e.contains("8.7"), "{e}");
        assert!(check_quant_for_device(EdgeQuant::Nvfp4, false, (9, 0)).is_err());
        assert!(check_quant_for_device(EdgeQuant::Int4Awq, true, orin).is_err());
        assert!(check_quant_for_device(EdgeQuant::Nvfp4, true, (12, 0)).is_ok());
        assert_eq!(EdgeQuant::parse("INT4_AWQ").unwrap(), EdgeQuant::Int4Awq);
        assert!(EdgeQuant::parse("q4_0")
            .unwrap_err()
            .to_string()
            .contains("int4_awq"));
    }

    #[test]
    fn choose_limits_fills_the_budget() {
        let dims = cfg().dims();
        let per_slot = 114_688u64 * 1152; // isl 1000 + osl 100 → 9 pages
        let l = choose_limits(&dims, KvDtype::F16, per_slot * 6 + 5, 1000, 100, 64).unwrap();
        assert_eq!(
            (l.max_batch, l.kv_capacity, l.max_input_len),
            (6, 1152, 1000)
        );
        assert_eq!(l.kv_bytes, per_slot * 6);
        let capped = choose_limits(&dims, KvDtype::F16, per_slot * 100, 1000, 100, 8).unwrap();
        assert_eq!(capped.max_batch, 8);
        let fp8 = choose_limits(&dims, KvDtype::Fp8, per_slot * 6, 1000, 100, 64).unwrap();
        assert_eq!(fp8.max_batch, 12);
        let e = choose_limits(&dims, KvDtype::F16, per_slot - 1, 1000, 100, 64).unwrap_err();
        assert!(matches!(e, Error::Capacity { .. }), "{e}");
    }

    fn request(from: &Path) -> Request {
        Request {
            from: from.to_owned(),
            quant: EdgeQuant::Int4Awq,
            out: Some(from.with_file_name("eng")),
            engines_dir: PathBuf::from("engines"),
            force: false,
            plan_only: true,
            max_batch: None,
            max_input_len: 1024,
            max_seq_len: Some(2048),
            mem_budget_bytes: Some(1 << 30),
            draft: None,
        }
    }

    #[test]
    fn plans_from_a_checkpoint_and_a_budget() {
        let tmp = tempfile::tempdir().unwrap();
        let ckpt = tmp.path().join("qwen3-0.6b");
        std::fs::create_dir_all(&ckpt).unwrap();
        std::fs::write(
            ckpt.join("config.json"),
            r#"{"model_type":"qwen3","num_hidden_layers":28,"num_attention_heads":16,
                "num_key_value_heads":8,"head_dim":128,"hidden_size":1024}"#,
        )
        .unwrap();
        let p = plan(&request(&ckpt)).unwrap();
        assert_eq!((p.limits.max_batch, p.limits.kv_capacity), (4, 2048));
        assert_eq!(
            p.limits_source,
            "chosen for a KV budget of 1.0 GiB (--mem-budget)"
        );
        assert_eq!(p.work_dir, tmp.path().join("eng.work"));
        assert_eq!(p.steps.len(), 3);
        let mut r = request(&ckpt);
        r.max_seq_len = Some(512);
        let e = plan(&r).unwrap_err().to_string();
        assert!(
            e.contains("--max-seq-len") && e.contains("--max-input-len"),
            "{e}"
        );
        let mut r = request(&tmp.path().join("Qwen3"));
        r.mem_budget_bytes = None;
        let e = plan(&r).unwrap_err().to_string();
        assert!(e.contains("give --max-batch"), "{e}");
        std::fs::write(ckpt.join("config.json"), r#"{"hidden_size":1024}"#).unwrap();
        let e = plan(&request(&ckpt)).unwrap_err().to_string();
        assert!(
            e.contains("config.json") && e.contains("num_attention_heads"),
            "{e}"
        );
    }
}
