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
    // What an Edge-LLM engine allocates is fixed by its config.json, whatever is asked.
    let engine_kv = (r.manifest.backend == crate::engine::BackendKind::EdgeLlm)
        .then(|| crate::backends::trt::config::plan_from_config(&r.dir));
    let dtype = match (&a.kv_dtype, &engine_kv) {
        (Some(s), _) => KvDtype::parse(s)?,
        (None, Some(Ok(p))) => p.kv_dtype,
        (None, _) => KvDtype::F16,
    };
    let plan = KvPlan::new(
        &r.manifest.model,
        dtype,
        r.manifest.backend.kv_granularity(),
    );
    let explicit = match &a.budget {
        Some(s) => Some(
            crate::units::parse_bytes(s)
                .ok_or_else(|| Usage(format!("--budget: `{s}` is not a size (e.g. 8GiB)")))?,
        ),
        None => None,
    };
    let b = BudgetPolicy::kv(a.mem_fraction).resolve(explicit)?;
    let context = u64::from(r.manifest.model.context_train);
    let (max_seq, seq_limit) = seq_cap(plan.max_seq(a.batch, b.budget_bytes), context);
    let f = Figures {
        total: plan.total_bytes(a.batch, a.seq),
        max_batch: if context > 0 && a.seq > context {
            0
        } else {
            plan.max_batch(a.seq, b.budget_bytes)
        },
        max_seq,
        seq_limit,
        context,
        available: b.available_bytes,
        budget: b.budget_bytes,
        source: match b.source {
            BudgetSource::Flag(f) => f,
            BudgetSource::MemAvailable => "MemAvailable (/proc/meminfo)",
        },
        plan,
        dtype,
        engine_kv,
    };
    if a.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&json(&a, &r.manifest, &f))?
        );
    } else {
        print_text(&a, &r.manifest, &f);
        if f.engine_kv.is_some() {
            device_line(&r.dir, a.mem_fraction);
        }
    }
    refuse_beyond_budget(&a, &f)?;
    Ok(())
}

/// Bad input (exit 2) when the asked batch and length do not fit the budget, with what
/// would.
fn refuse_beyond_budget(a: &Args, f: &Figures) -> anyhow::Result<()> {
    if f.total > f.budget {
        let advice = match (f.max_batch, f.max_seq) {
            (0, 0) => "no batch fits this sequence length".to_owned(),
            (b, 0) => format!("use batch ≤ {b}"),
            (0, s) => format!("use seq ≤ {s}"),
            (b, s) => format!("use batch ≤ {b} or seq ≤ {s}"),
        };
        Err(Usage(format!(
            "batch {} × seq {} needs {} of KV cache, above the budget of {}: {advice}",
            a.batch,
            a.seq,
            human_bytes(f.total),
            human_bytes(f.budget)
        ))
        .into())
    } else {
        Ok(())
    }
}

/// The longest sequence at a batch: what memory allows, but never beyond the model's
/// context (a sequence past it is no sequence the model can hold); and which bound it is.
fn seq_cap(memory_seq: u64, context: u64) -> (u64, &'static str) {
    if context > 0 && memory_seq > context {
        (context, "context")
    } else {
        (memory_seq, "memory")
    }
}

/// The plan's figures for the asked batch and sequence length against the budget.
struct Figures {
    plan: KvPlan,
    dtype: KvDtype,
    total: u64,
    max_batch: u64,
    max_seq: u64,
    /// What bounds `max_seq`: the memory budget or the model's context.
    seq_limit: &'static str,
    /// The model's trained context (0: unknown).
    context: u64,
    available: u64,
    budget: u64,
    source: &'static str,
    /// What an Edge-LLM engine reserves, read from its config.json.
    engine_kv: Option<crate::Result<crate::backends::trt::config::EdgeLlmPlan>>,
}

fn json(a: &Args, m: &crate::engine::Manifest, f: &Figures) -> serde_json::Value {
    let plan = &f.plan;
    serde_json::json!({
        "engine": m.name,
        "backend": m.backend.as_str(),
        "layers": plan.layers,
        "kv_heads": plan.kv_heads,
        "head_dim": plan.head_dim,
        "kv_dtype": f.dtype.as_str(),
        "granularity_tokens": plan.granularity,
        "bytes_per_token": plan.bytes_per_token(),
        "batch": a.batch,
        "seq": a.seq,
        "slot_tokens": plan.slot_tokens(a.seq),
        "total_bytes": f.total,
        "available_bytes": f.available,
        "available_source": f.source,
        "budget_bytes": f.budget,
        "fits": f.total <= f.budget,
        "max_batch_at_seq": f.max_batch,
        "max_seq_at_batch": f.max_seq,
        "max_seq_limit": f.seq_limit,
        "context": f.context,
        "engine_kv": match &f.engine_kv {
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
    })
}

fn print_text(a: &Args, m: &crate::engine::Manifest, f: &Figures) {
    let plan = &f.plan;
    println!(
        "{} ({}): {} layers × {} KV heads × head dim {} × 2 (K,V) × {} B ({})",
        m.name,
        m.backend.as_str(),
        plan.layers,
        plan.kv_heads,
        plan.head_dim,
        f.dtype.bytes_per_element(),
        f.dtype.as_str()
    );
    println!("  bytes per token      {:.0}", plan.bytes_per_token());
    println!(
        "  batch {} × seq {} ({} tokens per slot, allocated in units of {}): {}",
        a.batch,
        a.seq,
        plan.slot_tokens(a.seq),
        plan.granularity,
        human_bytes(f.total)
    );
    println!(
        "  budget               {} ({:.0}% of {} from {})",
        human_bytes(f.budget),
        a.mem_fraction * 100.0,
        human_bytes(f.available),
        f.source
    );
    if f.context > 0 && a.seq > f.context {
        println!(
            "  largest batch at seq {}: none (beyond the model's context of {})",
            a.seq, f.context
        );
    } else {
        println!("  largest batch at seq {}: {}", a.seq, f.max_batch);
    }
    println!(
        "  longest seq at batch {}: {} (bound by {})",
        a.batch,
        f.max_seq,
        if f.seq_limit == "context" {
            format!("the model's context of {}", f.context)
        } else {
            "the memory budget".to_owned()
        }
    );
    match &f.engine_kv {
        Some(Ok(p)) => println!(
            "  engine allocates     {} of KV at construction (kv_allocated_bytes): {} pool pages × 128 \
             = {} tokens, {} (max batch {}, KV capacity {} tokens per sequence)",
            human_bytes(p.kv_bytes),
            p.pool_pages,
            p.pool_pages * u64::from(p.kv.granularity),
            p.kv_dtype.as_str(),
            p.max_batch,
            p.kv_capacity,
        ),
        Some(Err(e)) => println!("  engine allocation unknown: {e}"),
        None => {}
    }
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

#[cfg(test)]
mod tests {
    #[test]
    fn the_longest_sequence_stops_at_the_context() {
        assert_eq!(super::seq_cap(113_152, 8192), (8192, "context"));
        assert_eq!(super::seq_cap(4096, 8192), (4096, "memory"));
        assert_eq!(super::seq_cap(4096, 0), (4096, "memory"));
    }
}
