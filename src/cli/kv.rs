//! `trtbench kv`: the KV-cache plan of an engine: bytes per token, the total for a batch
//! and a sequence length, and what fits in the memory budget (`build::budget`'s policy:
//! `--budget`, else `MemAvailable`, times `--mem-fraction`).

use std::path::PathBuf;

use crate::build::budget::{BudgetPolicy, BudgetSource};
use crate::cli::Usage;
use crate::engine::{KvDtype, KvPlan};
use crate::units::human_bytes;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Engine: a directory (with trtbench.json or one .gguf) or a .gguf file.
    #[arg(
        long,
        short = 'e',
        visible_short_alias = 'm',
        default_value = "engines/smollm2-135m-q4_1"
    )]
    pub engine: PathBuf,
    /// Sequences held at once.
    #[arg(long, short = 'b', default_value_t = 1)]
    pub batch: u64,
    /// Tokens per sequence (prompt + output).
    #[arg(long, short = 's', default_value_t = 4096)]
    pub seq: u64,
    /// KV element type: f16, q8_0, q4_0, f32, bf16, fp8, int8 (default: the engine's own
    /// for an Edge-LLM engine, f16 otherwise).
    #[arg(long)]
    pub kv_dtype: Option<String>,
    /// Fraction of the available memory the KV cache may use.
    #[arg(long, default_value_t = 0.9)]
    pub mem_fraction: f64,
    /// Memory to plan against instead of what is available now (e.g. `8GiB`).
    #[arg(long)]
    pub budget: Option<String>,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

pub fn run(a: Args) -> anyhow::Result<()> {
    if a.batch == 0 || a.seq == 0 {
        return Err(Usage("--batch and --seq must be at least 1".into()).into());
    }
    if !(a.mem_fraction > 0.0 && a.mem_fraction <= 1.0) {
        return Err(Usage("--mem-fraction must be in (0, 1]".into()).into());
    }
    let r = crate::backends::resolve(&a.engine)?;
    super::note_derived(&a.engine, &r);
    let m = r.manifest;
    // What an Edge-LLM engine allocates is fixed by its config.json, whatever is asked.
    let engine_kv = (m.backend == crate::engine::BackendKind::EdgeLlm)
        .then(|| crate::backends::trt::config::plan_from_config(&r.dir));
    let dtype = match (&a.kv_dtype, &engine_kv) {
        (Some(s), _) => KvDtype::parse(s)?,
        (None, Some(Ok(p))) => p.kv_dtype,
        (None, _) => KvDtype::F16,
    };
    let plan = KvPlan::new(&m.model, dtype, m.backend.kv_granularity());
    let explicit = match &a.budget {
        Some(s) => Some(
            crate::units::parse_bytes(s)
                .ok_or_else(|| Usage(format!("--budget: `{s}` is not a size (e.g. 8GiB)")))?,
        ),
        None => None,
    };
    let b = BudgetPolicy::kv(a.mem_fraction).resolve(explicit)?;
    let (available, budget) = (b.available_bytes, b.budget_bytes);
    let source = match b.source {
        BudgetSource::Flag(f) => f,
        BudgetSource::MemAvailable => "MemAvailable (/proc/meminfo)",
    };
    let total = plan.total_bytes(a.batch, a.seq);
    let max_batch = plan.max_batch(a.seq, budget);
    let max_seq = plan.max_seq(a.batch, budget);
    let fits = total <= budget;
    if a.json {
        let v = serde_json::json!({
            "engine": m.name,
            "backend": m.backend.as_str(),
            "layers": plan.layers,
            "kv_heads": plan.kv_heads,
            "head_dim": plan.head_dim,
            "kv_dtype": dtype.as_str(),
            "granularity_tokens": plan.granularity,
            "bytes_per_token": plan.bytes_per_token(),
            "batch": a.batch,
            "seq": a.seq,
            "slot_tokens": plan.slot_tokens(a.seq),
            "total_bytes": total,
            "available_bytes": available,
            "available_source": source,
            "budget_bytes": budget,
            "fits": fits,
            "max_batch_at_seq": max_batch,
            "max_seq_at_batch": max_seq,
            "engine_kv": match &engine_kv {
                Some(Ok(p)) => serde_json::json!({
                    "kv_allocated_bytes": p.kv_bytes,
                    "kv_dtype": p.kv_dtype.as_str(),
                    "pool_pages": p.pool_pages,
                    "pool_tokens": p.pool_pages * u64::from(p.kv.granularity),
                    "max_batch": p.max_batch,
                    "kv_capacity": p.kv_capacity,
                }),
                Some(Err(e)) => serde_json::json!({ "error": e.to_string() }),
                None => serde_json::Value::Null,
            },
        });
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        println!(
            "{} ({}): {} layers × {} KV heads × head dim {} × 2 (K,V) × {} B ({})",
            m.name,
            m.backend.as_str(),
            plan.layers,
            plan.kv_heads,
            plan.head_dim,
            dtype.bytes_per_element(),
            dtype.as_str()
        );
        println!("  bytes per token      {:.0}", plan.bytes_per_token());
        println!(
            "  batch {} × seq {} ({} tokens per slot, allocated in units of {}): {}",
            a.batch,
            a.seq,
            plan.slot_tokens(a.seq),
            plan.granularity,
            human_bytes(total)
        );
        println!(
            "  budget               {} ({:.0}% of {} from {source})",
            human_bytes(budget),
            a.mem_fraction * 100.0,
            human_bytes(available)
        );
        println!("  largest batch at seq {}: {max_batch}", a.seq);
        println!("  longest seq at batch {}: {max_seq}", a.batch);
    }
    match (&engine_kv, a.json) {
        (Some(Ok(p)), false) => println!(
            "  engine allocates     {} of KV at construction (kv_allocated_bytes): {} pool pages × 128 \
             = {} tokens, {} (max batch {}, KV capacity {} tokens per sequence)",
            human_bytes(p.kv_bytes),
            p.pool_pages,
            p.pool_pages * u64::from(p.kv.granularity),
            p.kv_dtype.as_str(),
            p.max_batch,
            p.kv_capacity,
        ),
        (Some(Err(e)), false) => println!("  engine allocation unknown: {e}"),
        _ => {}
    }
    if engine_kv.is_some() && !a.json {
        device_line(&r.dir, a.mem_fraction);
    }
    if !fits {
        let advice = match (max_batch, max_seq) {
            (0, 0) => "no batch fits this sequence length".to_owned(),
            (b, 0) => format!("use batch ≤ {b}"),
            (0, s) => format!("use seq ≤ {s}"),
            (b, s) => format!("use batch ≤ {b} or seq ≤ {s}"),
        };
        return Err(Usage(format!(
            "batch {} × seq {} needs {} of KV cache, above the budget of {}: {advice}",
            a.batch,
            a.seq,
            human_bytes(total),
            human_bytes(budget)
        ))
        .into());
    }
    Ok(())
}

/// The selected CUDA device (`--device`) against what a session of this Edge-LLM engine
/// needs, when this binary can query it (the `tensorrt` feature).
fn device_line(dir: &std::path::Path, mem_fraction: f64) {
    use crate::backends::trt;
    let (Some(free), Ok(need)) = (trt::device_free_bytes(), trt::session_need(dir)) else {
        return;
    };
    let verdict = match trt::memory::check(&need, free, mem_fraction, trt::device()) {
        Ok(()) => "fits".to_owned(),
        Err(e) => e.to_string(),
    };
    println!(
        "  CUDA device {}       {} free; a session needs >= {} (engine + KV pool + activations): {verdict}",
        trt::device(),
        human_bytes(free),
        human_bytes(need.total()),
    );
}
