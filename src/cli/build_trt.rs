//! `trtbench build --backend tensorrt`: the TensorRT Edge-LLM pipeline (quantize → ONNX
//! export → `llm_build`) run as logged, timed steps, with `--maxBatchSize` and
//! `--maxKVCacheCapacity` chosen from a KV memory budget when not given. `--plan` prints
//! the commands without running them (and works without any NVIDIA software installed).

use std::path::{Path, PathBuf};

use anyhow::Context;

use crate::backends::trt::config::{
    choose_limits, manifest_from_engine_dir, round_to_pages, Limits,
};
use crate::backends::trt::pipeline::{build_commands, BuildSpec, EdgeQuant};
use crate::build::steps::{run_steps, Step};
use crate::cli::Usage;
use crate::engine::{BuildInfo, KvDtype, ModelDims};

use super::build::Args;

/// Largest batch chosen automatically: every batch size gets its own decode CUDA graph.
const AUTO_BATCH_CAP: u32 = 64;

/// Model dimensions from a Hugging Face checkpoint's `config.json`.
pub fn hf_dims(dir: &Path) -> anyhow::Result<ModelDims> {
    let path = dir.join("config.json");
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("--from: reading {}", path.display()))?;
    let v: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| Usage(format!("{}: invalid JSON: {e}", path.display())))?;
    let get = |k: &str| v.get(k).and_then(|x| x.as_u64()).map(|x| x as u32);
    let need = |k: &str| {
        get(k).ok_or_else(|| Usage(format!("{}: missing numeric field `{k}`", path.display())))
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
fn llm_build_path() -> PathBuf {
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

/// Chooses the build limits: given ones win; otherwise the largest batch whose KV cache
/// fits the budget at the given sequence capacity.
fn limits(a: &Args, dims: Option<&ModelDims>, kv: KvDtype) -> anyhow::Result<(Limits, String)> {
    let t = &a.trt;
    let max_seq = t.max_seq_len.unwrap_or(t.max_input_len + 512);
    if max_seq <= t.max_input_len {
        return Err(Usage(format!(
            "--max-seq-len {max_seq} must exceed --max-input-len {} (it holds prompt + output)",
            t.max_input_len
        ))
        .into());
    }
    if let Some(b) = t.max_batch {
        if b == 0 {
            return Err(Usage("--max-batch must be at least 1".into()).into());
        }
        let cap = round_to_pages(u64::from(max_seq)) as u32;
        let kv_bytes = dims
            .map(|d| {
                crate::engine::KvPlan::new(d, kv, 128).total_bytes(u64::from(b), u64::from(cap))
            })
            .unwrap_or(0);
        return Ok((
            Limits {
                max_batch: b,
                max_input_len: t.max_input_len,
                kv_capacity: cap,
                kv_bytes,
            },
            "--max-batch".into(),
        ));
    }
    let dims = dims.ok_or_else(|| {
        Usage("--from is not a checkpoint directory with config.json: give --max-batch".into())
    })?;
    let (budget, source) = match &t.mem_budget {
        Some(s) => (
            crate::units::parse_bytes(s)
                .ok_or_else(|| Usage(format!("--mem-budget: `{s}` is not a size (e.g. 6GiB)")))?,
            "--mem-budget".to_owned(),
        ),
        None => (
            crate::platform::available_memory_bytes()
                .map(|m| m / 2)
                .ok_or_else(|| Usage("cannot read MemAvailable: give --mem-budget".into()))?,
            "half of MemAvailable (weights and activations need the rest; set --mem-budget)"
                .to_owned(),
        ),
    };
    let osl = max_seq - t.max_input_len;
    let l = choose_limits(dims, kv, budget, t.max_input_len, osl, AUTO_BATCH_CAP)?;
    Ok((
        l,
        format!(
            "chosen for a KV budget of {} ({source})",
            crate::units::human_bytes(budget)
        ),
    ))
}

pub fn run(a: Args) -> anyhow::Result<()> {
    let quant = EdgeQuant::parse(&a.quant)?;
    let kv = KvDtype::F16;
    let from_dir = a.from.is_dir();
    let dims = if from_dir {
        Some(hf_dims(&a.from)?)
    } else {
        None
    };
    let base = a
        .from
        .file_name()
        .map(|n| n.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_else(|| "model".into());
    let out = a
        .out
        .clone()
        .unwrap_or_else(|| a.engines_dir.join(format!("{base}-{}", quant.as_str())));
    if out.exists() && !a.force && !a.trt.plan {
        return Err(Usage(format!(
            "--out: {} already exists; pass --force to replace it",
            out.display()
        ))
        .into());
    }
    let (lim, why) = limits(&a, dims.as_ref(), kv)?;
    // Scratch space beside the engine: `<engine>.work/` (quantized checkpoint, ONNX, logs).
    let mut work_name = out.file_name().unwrap_or_default().to_os_string();
    work_name.push(".work");
    let work = out.with_file_name(work_name);
    let spec = BuildSpec {
        model: a.from.display().to_string(),
        work_dir: work.clone(),
        engine_dir: out.clone(),
        quant,
        kv_cache_fp8: false,
        lm_head_quant: None,
        calib_samples: None,
        limits: lim,
        llm_build: llm_build_path(),
    };
    let steps: Vec<Step> = build_commands(&spec)?
        .into_iter()
        .map(|s| Step::new(s.name, s.argv))
        .collect();
    let missing: Vec<String> = steps
        .iter()
        .filter_map(|s| s.argv.first())
        .filter(|p| !on_path(p))
        .cloned()
        .collect();
    println!(
        "# Edge-LLM build of {} → {} ({}): max batch {}, max input {}, KV capacity {} tokens{}",
        a.from.display(),
        out.display(),
        quant.as_str(),
        lim.max_batch,
        lim.max_input_len,
        lim.kv_capacity,
        if lim.kv_bytes > 0 {
            format!(", KV reserved {}", crate::units::human_bytes(lim.kv_bytes))
        } else {
            String::new()
        }
    );
    println!("# limits: {why}");
    if a.trt.plan {
        for s in &steps {
            println!("{}", s.shell_line());
        }
        if !missing.is_empty() {
            println!("# not found here: {}", missing.join(", "));
        }
        return Ok(());
    }
    if !missing.is_empty() {
        anyhow::bail!(
            "missing tools: {}. Install the Python tools with `pip install tensorrt-edgellm` and build \
             Edge-LLM's llm_build (docs/gpu.md), then set TRTBENCH_EDGE_LLM_ROOT",
            missing.join(", ")
        );
    }
    if out.exists() {
        std::fs::remove_dir_all(&out).with_context(|| format!("removing {}", out.display()))?;
    }
    let t = std::time::Instant::now();
    let done = run_steps(&steps, &work.join("logs"), &mut |i, s| {
        eprintln!("[{}/{}] {}: {}", i + 1, steps.len(), s.name, s.shell_line());
    })?;
    let name = out
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut m = manifest_from_engine_dir(&out, &name, quant.as_str())?;
    let mut settings = std::collections::BTreeMap::new();
    settings.insert("max_batch".into(), lim.max_batch.into());
    settings.insert("max_input_len".into(), lim.max_input_len.into());
    settings.insert("kv_capacity".into(), lim.kv_capacity.into());
    settings.insert("kv_reserved_bytes".into(), lim.kv_bytes.into());
    if let Some(v) = crate::backends::trt::runtime_versions() {
        for (k, val) in v {
            settings.insert(k.into(), val.into());
        }
    }
    m.build = Some(BuildInfo {
        tool: "TensorRT Edge-LLM (quantize, export, llm_build)".into(),
        tool_version: crate::backends::trt::runtime_versions()
            .and_then(|v| v.get("edgellm").cloned())
            .unwrap_or_else(|| "unknown".into()),
        wall_s: t.elapsed().as_secs_f64(),
        steps: done,
        settings,
    });
    m.save(&out)?;
    println!(
        "built {} in {:.1} s",
        out.display(),
        t.elapsed().as_secs_f64()
    );
    Ok(())
}
