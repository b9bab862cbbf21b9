//! `trtbench mlperf`: MLPerf LoadGen drives an engine (feature `mlperf`). Flags → a
//! validated `mlperf::Plan` → one library call; prints LoadGen's verdict and the figures
//! imported from its logs, every line labelled as not an MLPerf result.

use std::path::PathBuf;

use anyhow::Context as _;

use crate::mlperf::{Library, Mode, Overrides, Plan, Scenario, NOT_MLPERF};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Engine: a directory (with trtbench.json or one .gguf) or a .gguf file.
    #[arg(long, short = 'e', default_value = "engines/smollm2-135m-q4_1")]
    pub engine: PathBuf,
    /// LoadGen scenario: single-stream, multi-stream, offline or server.
    #[arg(long, default_value = "single-stream")]
    pub scenario: String,
    /// performance (timed) or accuracy (every sample once, responses logged).
    #[arg(long, default_value = "performance")]
    pub mode: String,
    /// Directory for LoadGen's logs (mlperf_log_*) and trtbench-results.json; must not
    /// hold an earlier run's logs.
    #[arg(long, short)]
    pub out: PathBuf,
    /// Input (prompt) length of every sample, in tokens, exactly.
    #[arg(long, default_value_t = 128, conflicts_with_all = ["dataset", "samples_file"])]
    pub isl: u32,
    /// Output length of every sample, in tokens, exactly (end-of-sequence ignored)
    /// [default: 32; with --dataset or --samples-file, each sample's own].
    #[arg(long)]
    pub osl: Option<u32>,
    /// Prompts in the sample library (LoadGen's total and performance sample counts).
    #[arg(long, default_value_t = 64, conflicts_with_all = ["dataset", "samples_file"])]
    pub samples: usize,
    /// The sample library from a prompt file, as `load --dataset` reads it (JSONL of
    /// prompt / text / conversations / messages, or a ShareGPT array), tokenized by the
    /// engine; one sample per prompt, in order.
    #[arg(long, value_name = "FILE", conflicts_with = "samples_file")]
    pub dataset: Option<PathBuf>,
    /// The sample library from pre-tokenized samples: JSON Lines, one object per line with
    /// `input_ids` (or MLPerf's `tok_input`) and `max_output_tokens` (docs/mlperf.md); one
    /// sample per line, in order.
    #[arg(long, value_name = "FILE.jsonl")]
    pub samples_file: Option<PathBuf>,
    /// Samples generated together at most (Offline, MultiStream, a Server queue).
    #[arg(long, short = 'b', default_value_t = 1)]
    pub batch: u32,
    /// CPU threads for llama.cpp (default: all).
    #[arg(long)]
    pub threads: Option<u32>,
    /// Text the prompts are cut from.
    #[arg(long, default_value = crate::bench::corpus::DEFAULT_TEXT,
          conflicts_with_all = ["dataset", "samples_file"])]
    pub text: PathBuf,
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Model name LoadGen looks config keys up under (e.g. llama3_1-8b-edge); the default
    /// matches only mlperf.conf's `*` keys.
    #[arg(long, default_value = "trtbench")]
    pub model_name: String,
    /// A LoadGen config applied after LoadGen's own mlperf.conf (built in).
    #[arg(long)]
    pub mlperf_conf: Option<PathBuf>,
    /// A LoadGen user.conf applied last of the files.
    #[arg(long)]
    pub user_conf: Option<PathBuf>,
    /// LoadGen's min_duration (ms); mlperf.conf says 600000.
    #[arg(long)]
    pub min_duration_ms: Option<u64>,
    #[arg(long)]
    pub max_duration_ms: Option<u64>,
    #[arg(long)]
    pub min_query_count: Option<u64>,
    #[arg(long)]
    pub max_query_count: Option<u64>,
    /// Server: target QPS; Offline: expected QPS (sets how many samples are issued).
    #[arg(long)]
    pub target_qps: Option<f64>,
    /// SingleStream / MultiStream: expected latency; Server: target latency (ms).
    #[arg(long)]
    pub target_latency_ms: Option<f64>,
    /// Server: time-to-first-token constraint (ms).
    #[arg(long)]
    pub ttft_ms: Option<f64>,
    /// Server: time-per-output-token constraint (ms).
    #[arg(long)]
    pub tpot_ms: Option<f64>,
    /// MultiStream: samples per query (mlperf.conf: 8).
    #[arg(long)]
    pub samples_per_query: Option<u64>,
    /// An OpenAI-compatible server (`http://host:port/v1`) as the system under test, driven
    /// through trtbench's load client; --engine then only tokenizes the prompts (use the
    /// server's model).
    #[arg(long)]
    pub url: Option<String>,
    /// Judge whole-sample latency instead of TTFT / TPOT (LoadGen's use_token_latencies=0).
    #[arg(long)]
    pub no_token_latencies: bool,
}

/// Where the samples come from; a samples file is read (and every line checked) here,
/// before anything runs.
fn library(a: &Args) -> anyhow::Result<Library> {
    if let Some(path) = &a.samples_file {
        let min = if a.no_token_latencies { 1 } else { 2 };
        let samples = crate::mlperf::qsl::read_tokenized(path, a.osl, min)
            .with_context(|| format!("--samples-file {}", path.display()))?;
        return Ok(Library::Tokenized {
            path: path.clone(),
            samples,
        });
    }
    if let Some(path) = &a.dataset {
        return Ok(Library::Dataset {
            path: path.clone(),
            osl: a.osl,
        });
    }
    Ok(Library::Exact {
        isl: a.isl,
        osl: a.osl.unwrap_or(32),
        count: a.samples,
        text: a.text.clone(),
        seed: a.seed,
    })
}

fn plan(a: &Args) -> anyhow::Result<Plan> {
    let plan = Plan {
        scenario: Scenario::parse(&a.scenario)?,
        mode: Mode::parse(&a.mode)?,
        model_name: a.model_name.clone(),
        mlperf_conf: a.mlperf_conf.clone(),
        user_conf: a.user_conf.clone(),
        overrides: Overrides {
            min_duration_ms: a.min_duration_ms,
            max_duration_ms: a.max_duration_ms,
            min_query_count: a.min_query_count,
            max_query_count: a.max_query_count,
            target_qps: a.target_qps,
            target_latency_ms: a.target_latency_ms,
            ttft_ms: a.ttft_ms,
            tpot_ms: a.tpot_ms,
            samples_per_query: a.samples_per_query,
            token_latencies: a.no_token_latencies.then_some(false),
        },
        out: a.out.clone(),
        library: library(a)?,
        max_batch: a.batch,
        threads: a.threads,
        url: a.url.clone(),
    };
    plan.validate()?;
    Ok(plan)
}

pub fn run(a: Args) -> anyhow::Result<()> {
    // Flags are checked first, so bad input is named whether or not LoadGen is built in.
    let plan = plan(&a)?;
    if !crate::mlperf::compiled() {
        return Err(crate::mlperf::not_built().into());
    }
    crate::mlperf::check_out(&plan.out)?;
    eprintln!("trtbench mlperf: {NOT_MLPERF}");
    let engine = crate::backends::open(&a.engine)
        .with_context(|| format!("--engine {}", a.engine.display()))?;
    let samples = crate::mlperf::samples(engine.as_ref(), &plan).with_context(|| {
        match plan.library.file() {
            Some(f) => format!("the sample library {}", f.display()),
            None => "the sample library".into(),
        }
    })?;
    // Ctrl-C / SIGTERM as `run` and `sweep` take them: the first stops generation (LoadGen
    // then finishes on empty completions and writes its logs), a second exits at once.
    let stop = super::common::interrupt_flag();
    super::common::set_exit_now(crate::mlperf::exit_now);
    let outcome = crate::mlperf::run_engine(
        &plan,
        engine.as_ref(),
        &samples,
        std::env::args().collect(),
        &stop,
    )?;
    print_outcome(&plan, &outcome);
    if outcome.interrupted {
        return Err(crate::Error::Interrupted).context(format!(
            "LoadGen's logs (of a run that measures nothing past the interrupt) are in {}; \
             its point in {} has status error",
            plan.out.display(),
            outcome.results_path.display()
        ));
    }
    Ok(())
}

/// LoadGen's verdict and the imported figures, every line labelled.
fn print_outcome(plan: &Plan, outcome: &crate::mlperf::Outcome) {
    for p in &outcome.results.points {
        let verdict = p.notes.get("mlperf_result_validity").map_or("?", |s| s);
        println!(
            "LoadGen {} {}: {verdict} ({NOT_MLPERF})",
            plan.scenario.loadgen_name(),
            p.parameters["mlperf_mode"].as_str().unwrap_or("?"),
        );
        for (k, v) in &p.scalars {
            println!("  {k} = {v:.4}");
        }
        for w in &p.warnings {
            println!("  warning: {w}");
        }
    }
    println!(
        "LoadGen logs in {}; trtbench results {}",
        plan.out.display(),
        outcome.results_path.display()
    );
}
