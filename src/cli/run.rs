//! `trtbench run` (one point) and `trtbench sweep` (a grid of points).

use std::path::PathBuf;

use anyhow::Context;

use crate::bench::plan::{expand, expand_engines, pick_list, ppl_spec, RunSettings, SweepSpec};
use crate::cli::common::{execute, flag_spec, MeasureOpts, Outcome, OutputOpts, QualityOpts};
use crate::cli::Usage;
use crate::record::Status;

#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// Engine: a directory (with trtbench.json or one .gguf) or a .gguf file.
    #[arg(
        long,
        short = 'e',
        visible_short_alias = 'm',
        default_value = "engines/smollm2-135m-q4_1"
    )]
    pub engine: PathBuf,
    /// Sequences decoded together in one batch.
    #[arg(long, short = 'b', default_value_t = 1)]
    pub batch: u32,
    /// Input (prompt) length in tokens, exactly.
    #[arg(long, default_value_t = 128)]
    pub isl: u32,
    /// Output length in tokens, exactly (end-of-sequence ignored).
    #[arg(long, default_value_t = 32)]
    pub osl: u32,
    /// Tokens already in each sequence's KV cache (prefilled untimed) before the timed
    /// prefill and decode: llama-bench's `-d`.
    #[arg(long, default_value_t = 0)]
    pub depth: u32,
    /// Draft engine for speculative decoding (batch 1): the point runs without it, then
    /// with it, and the speculative row shows acceptance and speedup.
    #[arg(long)]
    pub draft: Option<PathBuf>,
    /// Tokens the draft proposes per step at most (list syntax sweeps it; default 4). For
    /// an Edge-LLM speculative engine directory: its drafting steps (`draftingStep`).
    #[arg(long, requires = "draft")]
    pub draft_max: Option<String>,
    #[command(flatten)]
    pub knobs: DraftKnobArgs,
    #[command(flatten)]
    pub measure: MeasureOpts,
    #[command(flatten)]
    pub quality: QualityOpts,
    /// Also write one JSON object per measured run (point key, run index, TTFT, prefill,
    /// ITL list, E2E, tokens) to FILE.jsonl, atomically.
    #[arg(long, value_name = "FILE.jsonl")]
    pub requests_out: Option<PathBuf>,
    #[command(flatten)]
    pub output: OutputOpts,
}

#[derive(Debug, clap::Args)]
pub struct SweepArgs {
    /// TOML sweep spec; flags given here override its fields.
    #[arg(long)]
    pub spec: Option<PathBuf>,
    /// Engines or globs (`engines/*`, `models/*.gguf`): directories or .gguf files.
    #[arg(long, short = 'e', visible_short_alias = 'm', value_delimiter = ',')]
    pub engines: Vec<String>,
    /// Batch sizes: `1,2,4,8`, `1-8*2` or `128-512+128`.
    #[arg(long, short = 'b')]
    pub batch: Option<String>,
    /// Input lengths (same list syntax).
    #[arg(long)]
    pub isl: Option<String>,
    /// Output lengths (same list syntax).
    #[arg(long)]
    pub osl: Option<String>,
    /// Context depths, tokens prefilled untimed before each point (same list syntax):
    /// `0,512,2048`.
    #[arg(long)]
    pub depth: Option<String>,
    /// CUDA graphs axis for GPU engines: `on`, `off` or `on,off`.
    #[arg(long)]
    pub cuda_graphs: Option<String>,
    /// Draft engines for speculative decoding (batch 1): every point also runs drafted by
    /// each, beside its vanilla twin (the same point without a draft).
    #[arg(long, value_delimiter = ',')]
    pub draft: Vec<String>,
    /// Tokens a draft proposes per step at most (same list syntax; default 4). For an
    /// Edge-LLM speculative engine directory: its drafting steps (`draftingStep`).
    #[arg(long)]
    pub draft_max: Option<String>,
    #[command(flatten)]
    pub knobs: DraftKnobArgs,
    /// Run only shard i of n (1-based, contiguous slices of the plan): `--shard 2/4`, or
    /// `auto` from a Kubernetes Indexed Job (JOB_COMPLETION_INDEX) or a Slurm job array.
    #[arg(long)]
    pub shard: Option<crate::bench::shard::ShardArg>,
    /// Number of shards, with `--shard auto` under Kubernetes (the Job's completions).
    #[arg(long)]
    pub shards: Option<usize>,
    #[command(flatten)]
    pub measure: MeasureOpts,
    #[command(flatten)]
    pub quality: QualityOpts,
    /// Also write one JSON object per measured run (point key, run index, TTFT, prefill,
    /// ITL list, E2E, tokens) to FILE.jsonl, atomically.
    #[arg(long, value_name = "FILE.jsonl")]
    pub requests_out: Option<PathBuf>,
    #[command(flatten)]
    pub output: OutputOpts,
}

/// Edge-LLM's other drafting knobs (`SpecDecodeDraftingConfig`), each a sweep axis (list
/// syntax); unset, the backend's default. A TensorRT speculative point runs the engine
/// directory given with `--draft` (the same flat directory as the engine).
#[derive(Debug, Default, clap::Args)]
pub struct DraftKnobArgs {
    /// Edge-LLM drafting fan-out per step (`draftingTopK`; 1, the default, drafts a chain).
    #[arg(long)]
    pub draft_top_k: Option<String>,
    /// Edge-LLM base verification size (`verifySize`; default `--draft-max` + 1 for a chain).
    #[arg(long)]
    pub draft_verify: Option<String>,
    /// Edge-LLM DFlash draft block (`dflashBlockSize`; default 0: the engine's).
    #[arg(long)]
    pub dflash_block: Option<String>,
}

/// The drafting knob axes: flags over the spec's fields.
fn with_knobs(
    plan: crate::bench::plan::Plan,
    k: &DraftKnobArgs,
    spec: &SweepSpec,
) -> anyhow::Result<crate::bench::plan::Plan> {
    let top_k = pick_list(
        "--draft-top-k",
        k.draft_top_k.as_deref(),
        spec.draft_top_k.as_ref(),
    )?;
    let verify = pick_list(
        "--draft-verify",
        k.draft_verify.as_deref(),
        spec.draft_verify.as_ref(),
    )?;
    let block = pick_list(
        "--dflash-block",
        k.dflash_block.as_deref(),
        spec.dflash_block.as_ref(),
    )?;
    Ok(crate::bench::draft::with_draft_knobs(
        plan,
        &top_k.unwrap_or_default(),
        &verify.unwrap_or_default(),
        &block.unwrap_or_default(),
    )?)
}

pub fn run_one(a: RunArgs) -> anyhow::Result<()> {
    check_runs_out(a.requests_out.as_deref())?;
    let flags = flag_spec(&a.measure, &a.quality);
    let settings = RunSettings::default().with_spec(&flags)?;
    let plan = expand(
        std::slice::from_ref(&a.engine),
        &[a.batch],
        &[a.isl],
        &[a.osl],
        &[],
        settings,
    )?;
    let plan = crate::bench::depth::with_depths(plan, &[a.depth]);
    let draft_max = pick_list("--draft-max", a.draft_max.as_deref(), None)?.unwrap_or_default();
    let drafts: Vec<PathBuf> = a.draft.iter().cloned().collect();
    let plan = crate::bench::draft::with_drafts(plan, &drafts, &draft_max)?;
    let mut plan = with_knobs(plan, &a.knobs, &SweepSpec::default())?;
    let threads = crate::bench::runner::threads_for(&plan.settings);
    plan.ppl = ppl_spec(&flags, &SweepSpec::default(), threads);
    let outcome = execute(plan, &a.output, "run")?;
    write_runs(a.requests_out.as_deref(), &outcome)?;
    finish(outcome, true, a.quality.baseline.as_deref())
}

pub fn sweep(a: SweepArgs) -> anyhow::Result<()> {
    check_runs_out(a.requests_out.as_deref())?;
    let spec = match &a.spec {
        Some(p) => SweepSpec::load(p)?,
        None => SweepSpec::default(),
    };
    let flags = flag_spec(&a.measure, &a.quality);
    // Defaults, then the spec file, then the flags.
    let settings = RunSettings::default().with_spec(&spec)?.with_spec(&flags)?;
    let engines = if a.engines.is_empty() {
        spec.engines
            .clone()
            .unwrap_or_else(|| vec!["engines/*".into()])
    } else {
        a.engines.clone()
    };
    let engines = expand_engines(&engines)?;
    let batch = pick_list("--batch", a.batch.as_deref(), spec.batch.as_ref())?.unwrap_or(vec![1]);
    let isl = pick_list("--isl", a.isl.as_deref(), spec.isl.as_ref())?.unwrap_or(vec![128]);
    let osl = pick_list("--osl", a.osl.as_deref(), spec.osl.as_ref())?.unwrap_or(vec![32]);
    let graphs = match (&a.cuda_graphs, &spec.cuda_graphs) {
        (Some(s), _) => crate::backends::trt::parse_graph_axis(s)?
            .into_iter()
            .map(Some)
            .collect(),
        (None, Some(v)) => v.iter().map(|b| Some(*b)).collect(),
        (None, None) => vec![],
    };
    let mut plan = expand(&engines, &batch, &isl, &osl, &graphs, settings).with_context(|| {
        a.spec
            .as_ref()
            .map(|p| format!("sweep spec {}", p.display()))
            .unwrap_or_else(|| "sweep flags".into())
    })?;
    let depth = pick_list("--depth", a.depth.as_deref(), spec.depth.as_ref())?;
    plan = crate::bench::depth::with_depths(plan, &depth.unwrap_or_default());
    let drafts = match (a.draft.is_empty(), &spec.draft) {
        (false, _) => expand_engines(&a.draft).context("--draft")?,
        (true, Some(d)) => expand_engines(&d.to_vec()).context("draft (sweep spec)")?,
        (true, None) => Vec::new(),
    };
    let draft_max = pick_list(
        "--draft-max",
        a.draft_max.as_deref(),
        spec.draft_max.as_ref(),
    )?;
    plan = crate::bench::draft::with_drafts(plan, &drafts, &draft_max.unwrap_or_default())?;
    plan = with_knobs(plan, &a.knobs, &spec)?;
    if let Some(sh) = a.shard {
        let sh = sh.resolve(a.shards, |k| std::env::var(k).ok())?;
        plan.points = crate::bench::shard::shard(plan.points, sh);
        if plan.points.is_empty() {
            eprintln!("shard {sh}: no points fall in this shard");
        }
    }
    let threads = crate::bench::runner::threads_for(&plan.settings);
    plan.ppl = ppl_spec(&flags, &spec, threads);
    let baseline = a.quality.baseline.clone().or(spec.baseline.clone());
    let outcome = execute(plan, &a.output, "sweep")?;
    write_runs(a.requests_out.as_deref(), &outcome)?;
    finish(outcome, false, baseline.as_deref())
}

/// Prints the table and the results path; turns failures into the exit status.
/// `--requests-out`: the per-run rows of every engine point in the results (kept points of
/// a resumed file included), also after an interrupt.
/// `--requests-out` must be writable where it points before anything runs (exit 2).
fn check_runs_out(path: Option<&std::path::Path>) -> anyhow::Result<()> {
    let Some(path) = path else { return Ok(()) };
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(std::path::Path::new("."));
    if !dir.is_dir() || path.is_dir() {
        return Err(Usage(format!(
            "--requests-out {}: no such directory to write it in, or it is a directory",
            path.display()
        ))
        .into());
    }
    Ok(())
}

fn write_runs(path: Option<&std::path::Path>, o: &Outcome) -> anyhow::Result<()> {
    if let Some(path) = path {
        crate::bench::runs_out::write(path, &o.results)
            .with_context(|| format!("--requests-out {}", path.display()))?;
    }
    Ok(())
}

fn finish(o: Outcome, single: bool, baseline: Option<&str>) -> anyhow::Result<()> {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(crate::report::markdown(&o.results).as_bytes())?;
    if let Some(t) = crate::report::impact::impact_table(&o.results, baseline) {
        writeln!(stdout)?;
        stdout.write_all(t.as_bytes())?;
    }
    writeln!(stdout, "\nresults: {}", o.path.display())?;
    if o.interrupted {
        return Err(crate::Error::Interrupted).context(format!(
            "finished points are saved in {}; rerun with --resume to continue",
            o.path.display()
        ));
    }
    if single {
        if let Some(p) = o.results.points.iter().find(|p| p.status != Status::Ok) {
            let msg = p.error.clone().unwrap_or_default();
            if p.status == Status::Skipped || o.bad_input {
                return Err(Usage(msg).into());
            }
            anyhow::bail!("{msg}");
        }
    }
    if o.failed > 0 {
        let msg = format!(
            "{} point(s) failed (their errors are in the table and in {})",
            o.failed,
            o.path.display()
        );
        if o.bad_input {
            return Err(Usage(msg).into());
        }
        anyhow::bail!(msg);
    }
    if o.skipped > 0 {
        eprintln!(
            "note: {} point(s) were refused because they do not fit (see the table)",
            o.skipped
        );
    }
    Ok(())
}
