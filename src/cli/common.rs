//! Option groups `run` and `sweep` share, and what they do around the library's
//! [`Sweep`]: flags to a spec layered over the spec file, the results path default,
//! Ctrl-C (the handler sets the sweep's stop flag), and progress on stderr (a bar on a
//! terminal, a plain line per point elsewhere). Sweep logic itself lives in `bench::sweep`.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::bench::plan::{Plan, PointSpec, PplField, SweepSpec};
use crate::bench::sweep::{Observer, OutputMode, Sweep};
use crate::cli::Usage;
use crate::record::{Point, PointKind, Status};

pub use crate::bench::sweep::Outcome;

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
    #[arg(long, short = 't', value_parser = clap::value_parser!(u32).range(1..))]
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

/// The flags of `run` and `sweep` that a spec file can also set, as a spec, so
/// [`RunSettings::with_spec`](crate::bench::plan::RunSettings::with_spec) and
/// [`ppl_spec`](crate::bench::plan::ppl_spec) layer them over the file's fields.
pub fn flag_spec(m: &MeasureOpts, q: &QualityOpts) -> SweepSpec {
    SweepSpec {
        warmup: m.warmup,
        runs: m.runs,
        seed: m.seed,
        threads: m.threads,
        kv_dtype: m.kv_dtype.clone(),
        ctx: m.ctx,
        text: m.text.clone(),
        mem_fraction: m.mem_fraction,
        sample_ms: m.sample_ms,
        ppl: q.ppl.clone().map(PplField::Path),
        ppl_ctx: q.ppl_ctx,
        ppl_chunks: q.ppl_chunks,
        baseline: q.baseline.clone(),
        ..SweepSpec::default()
    }
}

/// Default results path: `results/<what>-<unix seconds>.json`.
pub fn default_out(what: &str) -> PathBuf {
    let secs = crate::record::unix_now() as u64;
    PathBuf::from("results").join(format!("{what}-{secs}.json"))
}

/// Set once SIGTERM arrived (Slurm, Kubernetes, systemd stopping the job): the exit code
/// is then 143 (128 + 15) instead of Ctrl-C's 130.
pub static TERMINATED: AtomicBool = AtomicBool::new(false);

/// Environment variable read by `run` and `sweep` (a test hook): after this many
/// generations (warmup or measured) the stop flag is raised as if Ctrl-C were pressed,
/// so an interrupted sweep is tested deterministically.
pub const STOP_AFTER_RUNS_ENV: &str = "TRTBENCH_STOP_AFTER_RUNS";

/// Sets up Ctrl-C and SIGTERM: the first signal asks the runner to stop after the current
/// generation (finished points are already on disk); a second one exits at once.
pub fn interrupt_flag() -> Arc<AtomicBool> {
    static FLAG: std::sync::OnceLock<Arc<AtomicBool>> = std::sync::OnceLock::new();
    FLAG.get_or_init(|| {
        let flag = Arc::new(AtomicBool::new(false));
        let f = flag.clone();
        let _ = ctrlc::set_handler(move || stop_or_exit(&f, 130, "Ctrl-C"));
        let f = flag.clone();
        // tokio's signal stream is the safe way to tell SIGTERM apart from SIGINT.
        let _ = std::thread::Builder::new()
            .name("sigterm".into())
            .spawn(move || {
                let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                    .enable_io()
                    .build()
                else {
                    return;
                };
                rt.block_on(async {
                    use tokio::signal::unix::{signal, SignalKind};
                    let Ok(mut term) = signal(SignalKind::terminate()) else {
                        return;
                    };
                    while term.recv().await.is_some() {
                        TERMINATED.store(true, Ordering::SeqCst);
                        stop_or_exit(&f, 143, "SIGTERM");
                    }
                });
            });
        flag
    })
    .clone()
}

/// How a second signal ends the process, when a command needs other than
/// `std::process::exit` (set once; `mlperf` sets [`crate::mlperf::exit_now`]).
static EXIT_NOW: std::sync::OnceLock<fn(i32) -> !> = std::sync::OnceLock::new();

/// Makes a second signal end the process with `f` instead of `std::process::exit`.
pub fn set_exit_now(f: fn(i32) -> !) {
    let _ = EXIT_NOW.set(f);
}

/// First signal: raise the stop flag; second: exit now with `code`.
fn stop_or_exit(flag: &AtomicBool, code: i32, what: &str) {
    if flag.swap(true, Ordering::SeqCst) {
        eprintln!("\n{what} again: exiting now");
        match EXIT_NOW.get() {
            Some(exit) => exit(code),
            None => std::process::exit(code),
        }
    }
    eprintln!(
        "\n{what}: finishing the current generation, then saving (send it again to quit now)"
    );
}

/// The generation count of [`STOP_AFTER_RUNS_ENV`], when set.
fn stop_after_runs() -> anyhow::Result<Option<u64>> {
    match std::env::var(STOP_AFTER_RUNS_ENV) {
        Ok(v) => v.trim().parse().map(Some).map_err(|_| {
            Usage(format!(
                "{STOP_AFTER_RUNS_ENV}: `{v}` is not a whole number"
            ))
            .into()
        }),
        Err(_) => Ok(None),
    }
}

/// Runs a plan through the library's [`Sweep`], with the progress bar or plain lines and
/// Ctrl-C. A fail-fast stop becomes the error it stopped on, naming the point.
pub fn execute(plan: Plan, out: &OutputOpts, what: &str) -> anyhow::Result<Outcome> {
    let mut sweep = Sweep::new(plan, out.out.clone().unwrap_or_else(|| default_out(what)));
    sweep.mode = if out.resume {
        OutputMode::Resume
    } else if out.force {
        OutputMode::Overwrite
    } else {
        OutputMode::New
    };
    sweep.fail_fast = out.fail_fast;
    let stop = interrupt_flag();
    let mut progress = Progress::new(super::interactive());
    if let Some(n) = stop_after_runs()? {
        progress.stop_after = Some((n, stop.clone()));
    }
    let outcome = sweep.run(&mut progress, &stop);
    progress.bar.finish_and_clear();
    let mut outcome = outcome?;
    if let Some(s) = outcome.stopped.take() {
        return Err(anyhow::Error::new(s.error).context(s.context));
    }
    Ok(outcome)
}

/// Sweep progress on stderr: an indicatif bar on a terminal; elsewhere (CI logs, nohup)
/// one plain line per finished point, so a long sweep is never silent.
pub struct Progress {
    bar: ProgressBar,
    interactive: bool,
    runs_per_point: u64,
    todo: usize,
    done: usize,
    /// Test hook ([`STOP_AFTER_RUNS_ENV`]): raise this flag after this many generations.
    stop_after: Option<(u64, Arc<AtomicBool>)>,
    generations: u64,
}

impl Progress {
    pub fn new(interactive: bool) -> Self {
        Progress {
            bar: ProgressBar::hidden(),
            interactive,
            runs_per_point: 0,
            todo: 0,
            done: 0,
            stop_after: None,
            generations: 0,
        }
    }
}

impl Observer for Progress {
    fn plan_ready(&mut self, todo: usize, kept: usize, runs_per_point: u64) {
        if kept > 0 {
            eprintln!("resume: {kept} finished point(s) kept, {todo} to run");
        }
        (self.todo, self.runs_per_point) = (todo, runs_per_point);
        if self.interactive {
            self.bar = ProgressBar::with_draw_target(
                Some(todo as u64 * runs_per_point),
                ProgressDrawTarget::stderr(),
            );
        }
        self.bar.set_style(
            ProgressStyle::with_template(
                "{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} {msg}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
    }

    fn engine_loading(&mut self, dir: &Path) {
        self.bar.set_message(format!("loading {}", dir.display()));
    }

    fn point_started(&mut self, p: &PointSpec) {
        self.bar.set_message(format!(
            "{} b{} isl{} osl{}",
            p.engine_name(),
            p.batch,
            p.isl,
            p.osl
        ));
    }

    fn run_finished(&mut self) {
        self.bar.inc(1);
        self.generations += 1;
        if let Some((n, flag)) = &self.stop_after {
            if self.generations >= *n {
                flag.store(true, Ordering::SeqCst);
            }
        }
    }

    fn quality_started(&mut self, engine: &str) {
        self.bar.set_message(format!("{engine} perplexity"));
    }

    fn point_finished(&mut self, point: &Point, saved_to: &Path) {
        let label = if point.kind == PointKind::Engine {
            self.done += 1;
            // A failed point ran fewer generations than planned: the bar jumps past it.
            self.bar
                .set_position(self.done as u64 * self.runs_per_point);
            format!("point {}/{} {}", self.done, self.todo, point_label(point))
        } else {
            format!("perplexity {}", param(point, "engine"))
        };
        if !self.interactive {
            eprintln!(
                "{label}: {}, saved {}",
                point_result(point),
                saved_to.display()
            );
        }
    }
}

/// A parameter of a point as plain text (strings without their quotes).
fn param(point: &Point, key: &str) -> String {
    match point.parameters.get(key) {
        Some(serde_json::Value::String(s)) => s.clone(),
        Some(v) => v.to_string(),
        None => String::new(),
    }
}

/// `smollm2-135m-q4_1 b2 isl128 osl32` (and `graphs on|off` when that axis is swept).
fn point_label(point: &Point) -> String {
    let mut label = format!(
        "{} b{} isl{} osl{}",
        param(point, "engine"),
        param(point, "batch"),
        param(point, "isl"),
        param(point, "osl")
    );
    if let Some(g) = point
        .parameters
        .get("cuda_graphs")
        .and_then(|v| v.as_bool())
    {
        label.push_str(if g { " graphs on" } else { " graphs off" });
    }
    label
}

/// `ok, decode p50 120.3 tok/s` (the statistic the tables print), `ok, perplexity
/// 12.34`, or the status and error.
fn point_result(point: &Point) -> String {
    match point.status {
        Status::Ok => {
            if let Some(s) = point.summary.get("decode_tok_per_s") {
                format!("ok, decode p50 {:.1} tok/s", s.p50)
            } else if let Some(ppl) = point.scalars.get("perplexity") {
                format!("ok, perplexity {ppl:.2}")
            } else {
                "ok".into()
            }
        }
        st => format!(
            "{}: {}",
            if st == Status::Skipped {
                "skipped"
            } else {
                "error"
            },
            point.error.as_deref().unwrap_or("no message")
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::PointKind;

    #[test]
    fn the_progress_line_prints_the_tables_statistic_labelled() {
        let mut p = Point::new(PointKind::Engine, Default::default());
        // A skewed decode rate: the mean and the p50 differ, and the tables print p50.
        let s = crate::stats::summarize(&[1.8, 1.819, 1.9, 50.0], "tok/s", None).unwrap();
        let p50 = s.p50;
        p.summary.insert("decode_tok_per_s".into(), s);
        assert_eq!(point_result(&p), format!("ok, decode p50 {p50:.1} tok/s"));
    }
}
