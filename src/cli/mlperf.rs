//! `trtbench mlperf`: MLPerf LoadGen drives an engine (feature `mlperf`). Flags → a
//! validated `mlperf::Plan` → one library call; prints LoadGen's verdict and the figures
//! imported from its logs, every line labelled as not an MLPerf result.

use std::path::PathBuf;

use anyhow::Context as _;

use crate::mlperf::{Mode, Overrides, Plan, Scenario, NOT_MLPERF};

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
    #[arg(long, default_value_t = 128)]
    pub isl: u32,
    /// Output length of every sample, in tokens, exactly (end-of-sequence ignored).
    #[arg(long, default_value_t = 32)]
    pub osl: u32,
    /// Prompts in the sample library (LoadGen's total and performance sample counts).
    #[arg(long, default_value_t = 64)]
    pub samples: usize,
    /// Samples generated together at most (Offline, MultiStream, a Server queue).
    #[arg(long, short = 'b', default_value_t = 1)]
    pub batch: u32,
    /// CPU threads for llama.cpp (default: all).
    #[arg(long)]
    pub threads: Option<u32>,
    /// Text the prompts are cut from.
    #[arg(long, default_value = crate::bench::corpus::DEFAULT_TEXT)]
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
        isl: a.isl,
        osl: a.osl,
        samples: a.samples,
        max_batch: a.batch,
        threads: a.threads,
        seed: a.seed,
        text: a.text.clone(),
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
    let prompts = crate::mlperf::prompts(engine.as_ref(), &plan)?;
    let outcome =
        crate::mlperf::run_engine(&plan, engine.as_ref(), &prompts, std::env::args().collect())?;
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
    Ok(())
}
