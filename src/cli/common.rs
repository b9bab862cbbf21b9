//! Option groups shared by several subcommands, and the sweep executor `run` and
//! `sweep` share: results file handling (atomic rewrite after every point, `--resume`),
//! Ctrl-C, progress bar.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use anyhow::Context;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::bench::corpus::Corpus;
use crate::bench::plan::{Plan, PointSpec, RunSettings};
use crate::bench::runner::{failed_point, run_point};
use crate::cli::Usage;
use crate::engine::KvDtype;
use crate::error::Error;
use crate::record::{Results, Status};

/// Measurement options of `run` and `sweep`.
#[derive(Debug, Clone, clap::Args)]
pub struct MeasureOpts {
    /// Warmup generations per point (never counted).
    #[arg(long)]
    pub warmup: Option<u32>,
    /// Measured generations per point.
    #[arg(long)]
    pub runs: Option<u32>,
    /// Seed for prompt selection.
    #[arg(long)]
    pub seed: Option<u64>,
    /// CPU threads (default: all cores).
    #[arg(long, short = 't')]
    pub threads: Option<u32>,
    /// KV-cache element type: f16, q8_0, q4_0, f32, bf16 (llama.cpp); fp8 (TensorRT).
    #[arg(long)]
    pub kv_dtype: Option<String>,
    /// Per-sequence context limit (default: the model's trained context).
    #[arg(long)]
    pub ctx: Option<u32>,
    /// Text file prompts are cut from (default: /usr/share/common-licenses/GPL-3).
    #[arg(long)]
    pub text: Option<PathBuf>,
    /// Fraction of available memory the KV cache may take; larger points are refused.
    #[arg(long)]
    pub mem_fraction: Option<f64>,
    /// Memory/power sampling interval in ms during measured runs (0 = off; default 50).
    #[arg(long)]
    pub sample_ms: Option<u64>,
}

/// Quality options: perplexity beside speed.
#[derive(Debug, Clone, clap::Args)]
pub struct QualityOpts {
    /// Also measure perplexity of each engine on this text (default text when no file is
    /// given: /usr/share/common-licenses/GPL-3).
    #[arg(long, num_args = 0..=1, default_missing_value = crate::bench::corpus::DEFAULT_TEXT)]
    pub ppl: Option<PathBuf>,
    /// Tokens per perplexity chunk (the second half of each chunk is scored).
    #[arg(long)]
    pub ppl_ctx: Option<u32>,
    /// Chunks to score at most.
    #[arg(long)]
    pub ppl_chunks: Option<u32>,
    /// Engine (directory name) the quantization-impact table compares against.
    #[arg(long)]
    pub baseline: Option<String>,
}

/// Output options of `run` and `sweep`.
#[derive(Debug, Clone, clap::Args)]
pub struct OutputOpts {
    /// Results file (JSON), rewritten after every point. Default: results/<cmd>-<time>.json.
    #[arg(long, short = 'o')]
    pub out: Option<PathBuf>,
    /// Continue an existing results file, skipping its finished points.
    #[arg(long)]
    pub resume: bool,
    /// Overwrite an existing results file.
    #[arg(long, conflicts_with = "resume")]
    pub force: bool,
    /// Stop at the first failing point (default: record the error and go on).
    #[arg(long)]
    pub fail_fast: bool,
}

impl QualityOpts {
    /// The perplexity spec, if asked for (flags over the spec file's fields).
    pub fn spec(
        &self,
        file: &crate::bench::plan::SweepSpec,
        threads: u32,
    ) -> Option<crate::bench::quality::PplSpec> {
        use crate::bench::plan::PplField;
        let text = match (&self.ppl, &file.ppl) {
            (Some(p), _) => p.clone(),
            (None, Some(PplField::Path(p))) => p.clone(),
            (None, Some(PplField::Enabled(true))) => {
                PathBuf::from(crate::bench::corpus::DEFAULT_TEXT)
            }
            _ => return None,
        };
        Some(crate::bench::quality::PplSpec {
            text,
            ctx: self.ppl_ctx.or(file.ppl_ctx).unwrap_or(512),
            max_chunks: self.ppl_chunks.or(file.ppl_chunks).unwrap_or(8),
            threads,
        })
    }
}

impl MeasureOpts {
    /// Settings from flags over a base (spec file values or defaults).
    pub fn settings(&self, base: RunSettings) -> anyhow::Result<RunSettings> {
        let kv_dtype = match &self.kv_dtype {
            Some(s) => KvDtype::parse(s)?,
            None => base.kv_dtype,
        };
        Ok(RunSettings {
            warmup: self.warmup.unwrap_or(base.warmup),
            runs: self.runs.unwrap_or(base.runs),
            seed: self.seed.unwrap_or(base.seed),
            threads: self.threads.or(base.threads),
            kv_dtype,
            ctx: self.ctx.or(base.ctx),
            text: self.text.clone().unwrap_or(base.text),
            mem_fraction: self.mem_fraction.unwrap_or(base.mem_fraction),
            sample_ms: self.sample_ms.unwrap_or(base.sample_ms),
        })
    }
}

/// Default results path: `results/<what>-<unix seconds>.json`.
pub fn default_out(what: &str) -> PathBuf {
    let secs = crate::record::unix_now() as u64;
    PathBuf::from("results").join(format!("{what}-{secs}.json"))
}

/// Sets up Ctrl-C: the first press asks the runner to stop after the current generation
/// (finished points are already on disk); a second press exits at once.
pub fn interrupt_flag() -> Arc<AtomicBool> {
    let flag = Arc::new(AtomicBool::new(false));
    let f = flag.clone();
    // Only one handler can be installed per process; a second call (tests) keeps the first.
    let _ = ctrlc::set_handler(move || {
        if f.swap(true, Ordering::SeqCst) {
            std::process::exit(130);
        }
        eprintln!("\ninterrupted: finishing the current generation, then saving (Ctrl-C again to quit now)");
    });
    flag
}

/// Checks every engine of the plan before anything runs: the directory, its manifest,
/// the files' sizes, and (for GGUF) the file's magic. Also checks the prompt text.
pub fn validate_inputs(plan: &Plan) -> anyhow::Result<()> {
    let mut seen: Vec<&Path> = Vec::new();
    for p in &plan.points {
        if seen.contains(&p.engine_dir.as_path()) {
            continue;
        }
        seen.push(&p.engine_dir);
        let r = crate::backends::resolve(&p.engine_dir)?;
        super::note_derived(&p.engine_dir, &r);
        let (m, dir) = (&r.manifest, &r.dir);
        m.check_files(dir)?;
        if m.backend == crate::engine::BackendKind::LlamaCpp {
            crate::gguf::check(&m.primary_file(dir))?;
        }
    }
    let text = &plan.settings.text;
    if !text.is_file() {
        return Err(Usage(format!(
            "--text: {} is not a readable file (prompts are cut from it)",
            text.display()
        ))
        .into());
    }
    if let Some(spec) = &plan.ppl {
        crate::bench::quality::read_text(&spec.text).context("--ppl")?;
    }
    Ok(())
}

/// What a sweep ended with.
pub struct Outcome {
    pub results: Results,
    pub path: PathBuf,
    pub failed: usize,
    pub skipped: usize,
    pub interrupted: bool,
    /// Some failure came from bad input (corrupt engine file, ...): exit 2, not 1.
    pub bad_input: bool,
}

/// Opens the results file: resumes it, refuses to clobber it, or starts a new one.
fn open_results(path: &Path, out: &OutputOpts) -> anyhow::Result<Results> {
    let command: Vec<String> = std::env::args().collect();
    if path.exists() {
        if out.resume {
            return Results::load(path).with_context(|| format!("--resume {}", path.display()));
        }
        if !out.force {
            return Err(Usage(format!(
                "{} already exists: pass --resume to continue it or --force to overwrite it",
                path.display()
            ))
            .into());
        }
    } else if out.resume {
        return Err(Usage(format!("--resume: {} does not exist", path.display())).into());
    }
    Ok(Results::new(command, crate::backends::fingerprint()))
}

/// Runs a plan, writing results after every point.
pub fn execute(plan: &Plan, out: &OutputOpts, what: &str) -> anyhow::Result<Outcome> {
    validate_inputs(plan)?;
    let path = out.out.clone().unwrap_or_else(|| default_out(what));
    let mut results = open_results(&path, out)?;
    let stop = interrupt_flag();
    let settings = &plan.settings;
    let threads = crate::bench::runner::threads_for(settings);

    let todo: Vec<_> = plan
        .points
        .iter()
        .filter(|p| {
            let key = crate::record::point_key(&p.parameters(settings, threads));
            results.finished(&key).is_none()
        })
        .collect();
    let skipped_resume = plan.points.len() - todo.len();
    if skipped_resume > 0 {
        eprintln!(
            "resume: {skipped_resume} finished point(s) kept, {} to run",
            todo.len()
        );
    }
    let per_point = u64::from(settings.warmup + settings.runs);
    let bar = if super::interactive() {
        ProgressBar::with_draw_target(
            Some(todo.len() as u64 * per_point),
            ProgressDrawTarget::stderr(),
        )
    } else {
        ProgressBar::hidden()
    };
    bar.set_style(
        ProgressStyle::with_template("{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    // Nothing is written until a point finishes; write the (possibly empty) file now so
    // a bad --out path fails before minutes of work.
    results.save(&path)?;

    let mut interrupted = false;
    let mut bad_input = false;
    // Engines in plan order; each is opened once, only if it has work left.
    let mut engines: Vec<&Path> = Vec::new();
    for p in &plan.points {
        if !engines.contains(&p.engine_dir.as_path()) {
            engines.push(&p.engine_dir);
        }
    }
    for dir in engines {
        let group: Vec<&PointSpec> = todo
            .iter()
            .copied()
            .filter(|p| p.engine_dir == dir)
            .collect();
        let name = plan
            .points
            .iter()
            .find(|p| p.engine_dir == dir)
            .map(|p| p.engine_name())
            .unwrap_or_default();
        let ppl = plan.ppl.as_ref().filter(|spec| {
            let key = crate::record::point_key(&crate::bench::quality::parameters(&name, spec));
            results.finished(&key).is_none()
        });
        if group.is_empty() && ppl.is_none() {
            continue;
        }
        bar.set_message(format!("loading {}", dir.display()));
        let opened = crate::backends::open(dir).and_then(|e| {
            let c = Corpus::load(e.as_ref(), &settings.text)?;
            Ok((e, c))
        });
        let (engine, corpus) = match opened {
            Ok(x) => x,
            Err(e) => {
                bad_input |= e.is_usage();
                for p in &group {
                    results.upsert(failed_point(p, settings, None, &e));
                    bar.inc(per_point);
                }
                results.save(&path)?;
                if out.fail_fast {
                    return Err(anyhow::Error::new(e).context(format!("opening {}", dir.display())));
                }
                continue;
            }
        };
        for p in group {
            bar.set_message(format!(
                "{} b{} isl{} osl{}",
                p.engine_name(),
                p.batch,
                p.isl,
                p.osl
            ));
            let before = bar.position();
            let mut tick = || bar.inc(1);
            match run_point(engine.as_ref(), p, settings, &corpus, &stop, &mut tick) {
                Ok(point) => results.upsert(point),
                Err(Error::Interrupted) => {
                    interrupted = true;
                    break;
                }
                Err(e) => {
                    bad_input |= e.is_usage();
                    let manifest = serde_json::to_value(engine.manifest()).ok();
                    results.upsert(failed_point(p, settings, manifest, &e));
                    bar.set_position(before + per_point);
                    if out.fail_fast {
                        results.save(&path)?;
                        bar.finish_and_clear();
                        return Err(anyhow::Error::new(e).context(format!(
                            "point {} (stopping: --fail-fast)",
                            crate::record::point_key(&p.parameters(settings, threads))
                        )));
                    }
                }
            }
            results.save(&path)?;
        }
        if interrupted || stop.load(Ordering::Relaxed) {
            interrupted = true;
            break;
        }
        if let Some(spec) = ppl {
            bar.set_message(format!("{name} perplexity"));
            let point = crate::bench::quality::quality_point(engine.as_ref(), &name, spec);
            results.upsert(point);
            results.save(&path)?;
        }
    }
    bar.finish_and_clear();
    if annotate_graph_speedups(&mut results) {
        results.save(&path)?;
    }
    let count = |st: Status| results.points.iter().filter(|p| p.status == st).count();
    let (failed, skipped) = (count(Status::Error), count(Status::Skipped));
    Ok(Outcome {
        results,
        path,
        failed,
        skipped,
        interrupted,
        bad_input,
    })
}

/// For every point run with CUDA graphs on whose twin ran with them off, records the decode
/// speedup (TPOT off ÷ TPOT on) as the scalar `cuda_graph_speedup` on the "on" point.
/// Returns whether anything changed.
pub fn annotate_graph_speedups(results: &mut Results) -> bool {
    use crate::backends::trt::timing::{graph_speedups, GraphRow};
    // (index of the point, its row); the key without the graph axis is built once.
    let rows: Vec<(usize, GraphRow)> = results
        .points
        .iter()
        .enumerate()
        .filter(|(_, p)| p.status == Status::Ok)
        .filter_map(|(i, p)| {
            let on = p.parameters.get("cuda_graphs")?.as_bool()?;
            let tpot = p.summary.get("tpot_ms")?.mean;
            let mut params = p.parameters.clone();
            params.remove("cuda_graphs");
            Some((
                i,
                GraphRow {
                    key_without_graphs: crate::record::point_key(&params),
                    graphs_on: on,
                    tpot_ms: tpot,
                },
            ))
        })
        .collect();
    let plain: Vec<GraphRow> = rows.iter().map(|(_, r)| r.clone()).collect();
    let speedups = graph_speedups(&plain);
    for sp in &speedups {
        if let Some((i, _)) = rows
            .iter()
            .find(|(_, r)| r.graphs_on && r.key_without_graphs == sp.key)
        {
            results.points[*i]
                .scalars
                .insert("cuda_graph_speedup".into(), sp.speedup);
        }
    }
    !speedups.is_empty()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::{Point, PointKind};
    use std::collections::BTreeMap;

    fn point(graphs: bool, tpot: f64) -> Point {
        let mut parameters = BTreeMap::new();
        parameters.insert("engine".to_string(), serde_json::json!("e"));
        parameters.insert("cuda_graphs".to_string(), serde_json::json!(graphs));
        let mut summary = BTreeMap::new();
        summary.insert(
            "tpot_ms".to_string(),
            crate::stats::summarize(&[tpot], "ms", None).unwrap(),
        );
        let mut p = Point::new(PointKind::Engine, parameters);
        p.summary = summary;
        p
    }

    #[test]
    fn graph_speedup_lands_on_the_graphs_on_point() {
        let mut r = Results::new(vec![], serde_json::json!({}));
        r.points = vec![point(true, 8.0), point(false, 10.0)];
        assert!(annotate_graph_speedups(&mut r));
        assert_eq!(r.points[0].scalars["cuda_graph_speedup"], 1.25);
        assert!(r.points[1].scalars.is_empty());
    }
}
