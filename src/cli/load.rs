//! `trtbench load`: benchmark an OpenAI-compatible server under closed-loop concurrency
//! levels or open-loop request rates, or search the highest rate that meets SLOs. Turns
//! flags into a `load::LoadSpec` (each flag is a field of it; the defaults are its own),
//! which the library checks into a `client::LoadPlan` (`load::plan`, as for the C and
//! Python callers), makes one `client::run_load` call, and prints the `report` Markdown
//! of the results. Progress goes to stderr: a bar on a terminal, else one plain line per
//! finished level. Only this file knows the flags.

use std::path::PathBuf;

use anyhow::{Context as _, Result};
use clap::ArgAction;

mod fleet;
mod progress;
mod workload;
use crate::client::http::Endpoint;
use crate::client::scheduler::Arrival;
use crate::client::{self, LoadOutcome};
use crate::load::{self, LoadSpec, Names};
use crate::record::Status;
use progress::Progress;

/// Benchmark an OpenAI-compatible server (`/v1/completions` or `/v1/chat/completions`).
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Base URL of the API, e.g. http://127.0.0.1:8080/v1.
    #[arg(long)]
    pub url: String,
    /// Model name to send; default: the first id listed by {url}/models.
    #[arg(long)]
    pub model: Option<String>,
    /// What serves the model (vllm, pytorch, llama.cpp, ...): recorded in each level's key,
    /// and the report's "Frameworks" table compares levels by it (speedup vs "pytorch").
    #[arg(long, value_name = "NAME")]
    pub framework: Option<String>,
    #[arg(long, value_enum, default_value_t = LoadSpec::default().endpoint)]
    pub endpoint: Endpoint,
    /// Closed loop: requests kept in flight; a list runs one level per value (1,16,64).
    #[arg(long, value_delimiter = ',', num_args = 1..)]
    pub concurrency: Vec<usize>,
    /// Open loop: requests per second; a list runs one level per value.
    #[arg(long, value_delimiter = ',', num_args = 1..)]
    pub rate: Vec<f64>,
    /// Arrival process of the open loop.
    #[arg(long, value_enum, default_value_t = LoadSpec::default().arrival)]
    pub arrival: Arrival,
    /// Open loop: at most this many requests in flight (later ones queue in the client; the
    /// queueing is part of the latencies measured from the scheduled time).
    #[arg(long)]
    pub max_inflight: Option<usize>,
    /// Measured requests per level (default: max(100, 4 × concurrency); with --duration,
    /// the prompt pool size).
    #[arg(long)]
    pub num_prompts: Option<usize>,
    /// Stop sending new requests after this long (e.g. 30s, 2m).
    #[arg(long)]
    pub duration: Option<String>,
    /// Warmup requests per level (distinct prompts, never measured).
    #[arg(long, default_value_t = LoadSpec::default().warmup)]
    pub warmup: usize,
    /// Per-request timeout (whole request, first byte to last).
    #[arg(long, default_value_t = LoadSpec::default().timeout)]
    pub timeout: String,
    /// Input (prompt) length in tokens, special tokens included.
    #[arg(long, default_value_t = LoadSpec::default().isl)]
    pub isl: u64,
    /// Output length in tokens (max_tokens) [default: 128; with --dataset, the file's].
    #[arg(long)]
    pub osl: Option<u64>,
    /// Spread of the input length: uniform in isl × (1 ± spread).
    #[arg(long, default_value_t = LoadSpec::default().isl_spread)]
    pub isl_spread: f64,
    /// Spread of the output length: uniform in osl × (1 ± spread).
    #[arg(long, default_value_t = LoadSpec::default().osl_spread)]
    pub osl_spread: f64,
    /// Ask the server to ignore EOS so every request generates exactly --osl tokens.
    #[arg(long, default_value_t = LoadSpec::default().ignore_eos, action = ArgAction::Set)]
    pub ignore_eos: bool,
    /// Take each response's output token count from the server's `usage` without
    /// re-tokenizing the text to check it (AIPerf's flag of the same name). Saves the
    /// client's CPU at high concurrency; a server that under-counts is then caught only by
    /// the text's word count. Responses without `usage` are still tokenized.
    #[arg(long)]
    pub use_server_token_count: bool,
    /// Seed of prompts and arrivals.
    #[arg(long, default_value_t = LoadSpec::default().seed)]
    pub seed: u64,
    /// Tokenizer: a model .gguf (llama.cpp's tokenizer, any vocabulary type), an engine
    /// directory, a tokenizer.json or a Hugging Face model directory.
    #[arg(long, env = "TRTBENCH_TOKENIZER")]
    pub tokenizer: Option<PathBuf>,
    /// Prompts from a JSONL file or a ShareGPT-style JSON array instead of random ones.
    #[arg(long)]
    pub dataset: Option<PathBuf>,
    /// Random words put in front of each --dataset prompt so none is a prefix-cache hit.
    #[arg(long, default_value_t = LoadSpec::default().prefix_tokens)]
    pub prefix_tokens: usize,
    /// Service-level objectives for goodput, e.g. ttft=200ms,tpot=50ms,e2e=5s.
    #[arg(long)]
    pub slo: Option<String>,
    /// Search the highest open-loop rate whose goodput meets --slo.
    #[arg(long)]
    pub find_max_rate: bool,
    /// With --find-max-rate: the fraction of requests that must meet every SLO.
    #[arg(long, default_value_t = LoadSpec::default().slo_attainment)]
    pub slo_attainment: f64,
    /// With --find-max-rate: the highest rate tried.
    #[arg(long, default_value_t = LoadSpec::default().max_rate)]
    pub max_rate: f64,
    /// With --find-max-rate: bisection probes after the edge is bracketed.
    #[arg(long, default_value_t = LoadSpec::default().search_steps)]
    pub search_steps: u32,
    /// Results file (rewritten after every level); an existing one needs --force or --resume.
    #[arg(
        long = "out",
        short = 'o',
        alias = "output",
        default_value = load::spec::DEFAULT_OUT
    )]
    pub output: PathBuf,
    /// Overwrite an existing --out file.
    #[arg(long)]
    pub force: bool,
    /// Keep the finished levels of an existing --out file and run only the others.
    #[arg(long, conflicts_with = "force")]
    pub resume: bool,
    /// Salt of the prompt texts, as 16 hex digits (default: a fresh one per run, recorded in
    /// the results as `salt`): give a run's salt to send exactly its prompts again.
    #[arg(long)]
    pub salt: Option<String>,
    /// Write one JSON object per measured request to this JSON Lines file.
    #[arg(long)]
    pub requests_out: Option<PathBuf>,
    /// Environment variable holding the API key (sent as a Bearer token when set).
    #[arg(long, default_value_t = LoadSpec::default().api_key_env)]
    pub api_key_env: String,
    /// Extra trusted certificates for https (PEM), besides the system's roots.
    #[arg(long, value_name = "FILE")]
    pub cacert: Option<PathBuf>,
    /// Do not verify the server's TLS certificate (recorded in the results).
    #[arg(long)]
    pub insecure: bool,
    /// Extra request header, `Name: value` (repeatable).
    #[arg(long = "header")]
    pub headers: Vec<String>,
    /// Extra JSON fields merged into every request body, e.g. '{"top_k": 1}'.
    #[arg(long)]
    pub extra_body: Option<String>,
    /// p99 client lag (event-loop delay or late sends) above which a level is invalid.
    #[arg(long, default_value_t = LoadSpec::default().max_client_lag_ms)]
    pub max_client_lag_ms: f64,
    /// Stop a level after this many failed requests in a row.
    #[arg(long, default_value_t = LoadSpec::default().max_consecutive_errors)]
    pub max_consecutive_errors: usize,
    #[command(flatten)]
    pub fleet: fleet::FleetArgs,
    #[command(flatten)]
    pub workload: workload::WorkloadArgs,
}

/// The spec the flags give: every field, the defaults included.
fn spec(a: &Args) -> LoadSpec {
    LoadSpec {
        url: Some(a.url.clone()),
        model: a.model.clone(),
        framework: a.framework.clone(),
        endpoint: a.endpoint,
        concurrency: a.concurrency.clone(),
        rate: a.rate.clone(),
        arrival: a.arrival,
        max_inflight: a.max_inflight,
        num_prompts: a.num_prompts,
        duration: a.duration.clone(),
        warmup: a.warmup,
        timeout: a.timeout.clone(),
        isl: a.isl,
        osl: a.osl,
        isl_spread: a.isl_spread,
        osl_spread: a.osl_spread,
        ignore_eos: a.ignore_eos,
        use_server_token_count: a.use_server_token_count,
        seed: a.seed,
        tokenizer: a.tokenizer.clone(),
        dataset: a.dataset.clone(),
        prefix_tokens: a.prefix_tokens,
        slo: a.slo.clone(),
        find_max_rate: a.find_max_rate,
        slo_attainment: a.slo_attainment,
        max_rate: a.max_rate,
        search_steps: a.search_steps,
        out: Some(a.output.clone()),
        force: a.force,
        resume: a.resume,
        salt: a.salt.clone(),
        api_key_env: a.api_key_env.clone(),
        cacert: a.cacert.clone(),
        insecure: a.insecure,
        headers: a.headers.clone(),
        extra_body: a.extra_body.clone().map(serde_json::Value::String),
        max_client_lag_ms: a.max_client_lag_ms,
        max_consecutive_errors: a.max_consecutive_errors,
        shard: a.fleet.shard.clone(),
        shards: a.fleet.shards,
        start_at: a.fleet.start_at.clone(),
        workload: a.workload.workload,
        prefixes: a.workload.prefixes,
        prefix_len: a.workload.prefix_len,
        trace: a.workload.trace.clone(),
        trace_speed: a.workload.trace_speed,
        turns: a.workload.turns,
        turn_len: a.workload.turn_len,
        think_time: a.workload.think_time.clone(),
        conversations: a.workload.conversations,
    }
}

/// Entry point of `trtbench load`.
pub fn run(a: Args) -> Result<()> {
    if a.insecure {
        eprintln!("WARNING: --insecure: the server's TLS certificate is NOT verified (recorded as tls_insecure in the results)");
    }
    let plan = load::plan(
        &spec(&a),
        Names::Flags,
        client::redact::args(std::env::args()),
    )?;
    let requests_out = a.requests_out.clone();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let mut progress = Progress::new();
    let outcome = rt.block_on(async {
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                eprintln!("\ninterrupted: saving the requests finished so far");
                let _ = stop_tx.send(true);
            }
            // keep the sender alive so receivers do not see a closed channel
            std::future::pending::<()>().await;
        });
        client::run_load(&plan, &mut progress, stop_rx).await
    });
    progress.clear();
    let outcome = outcome.map_err(|e| match e {
        crate::Error::Io { .. } | crate::Error::Json { .. } => anyhow::Error::from(e)
            .context(format!("--out {}: writing results", plan.output.display())),
        e => e.into(),
    })?;
    if let Some(path) = &requests_out {
        write_requests(path, &outcome.results)
            .with_context(|| format!("--requests-out {}", path.display()))?;
    }
    finish(&outcome, &plan.output)
}

/// One JSON object per measured request (JSON Lines), written as every results file is
/// (`record::write_atomic`: a reader never sees half a file; mode 0644 like the rest).
fn write_requests(path: &std::path::Path, results: &crate::record::Results) -> Result<()> {
    let mut out = String::new();
    for (level, p) in results.points.iter().enumerate() {
        for q in &p.requests {
            let x = |k: &str| q.extra.get(k).copied();
            // Counts are integers in the file, whatever the record keeps them as.
            let int = |k: &str| x(k).map(|v| v as u64);
            let line = serde_json::json!({
                "level": level,
                "level_key": p.key,
                "index": int("index"),
                "scheduled_s": q.scheduled_s,
                "sent_s": q.start_s,
                "http_status": q.http_status,
                "ttft_ms": q.ttft_ms,
                "ttft_sched_ms": x("ttft_sched_ms"),
                "itl_ms": q.itl_ms,
                "e2e_ms": q.e2e_ms,
                "e2e_sched_ms": x("e2e_sched_ms"),
                "input_tokens": q.input_tokens,
                "output_tokens": q.output_tokens,
                "server_input_tokens": q.server_input_tokens,
                "server_output_tokens": q.server_output_tokens,
                "server_prompt_ms": x("server_prompt_ms"),
                "server_tpot_ms": x("server_tpot_ms"),
                "cached_tokens": int("cached_tokens"),
                "retries": int("retries"),
                "error": q.error,
            });
            out.push_str(&line.to_string());
            out.push('\n');
        }
    }
    crate::record::write_atomic(path, out.as_bytes())?;
    Ok(())
}

/// Prints the search result and the report; turns the outcome into the exit status.
fn finish(o: &LoadOutcome, output: &std::path::Path) -> Result<()> {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    if o.interrupted {
        stdout.write_all(crate::report::markdown(&o.results).as_bytes())?;
        eprintln!("results so far: {}", output.display());
        return Err(crate::Error::Interrupted.into());
    }
    if let Some(s) = &o.search {
        match s.best_req_per_s {
            Some(best) => writeln!(
                stdout,
                "max rate meeting the SLOs ({}% of requests): {best:.3} req/s",
                s.attainment * 100.0
            )?,
            None => writeln!(stdout, "no probed rate met the SLOs")?,
        }
    }
    stdout.write_all(crate::report::markdown(&o.results).as_bytes())?;
    eprintln!("results: {}", output.display());
    if o.results.points.iter().all(|p| p.status == Status::Error) {
        anyhow::bail!(
            "no level succeeded: {}",
            o.results
                .points
                .first()
                .and_then(|p| p.error.clone())
                .unwrap_or_default()
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn parse(args: &[&str]) -> Args {
        #[derive(Parser)]
        struct W {
            #[command(flatten)]
            a: Args,
        }
        let mut v = vec!["load"];
        v.extend_from_slice(args);
        W::try_parse_from(v).unwrap().a
    }

    /// The flags reach the library's checks, and its errors name the flags.
    #[test]
    fn validation_names_the_flag() {
        let err = |args: &[&str]| {
            let mut a = parse(args);
            a.output = "/nonexistent/trtbench/r.json".into();
            load::plan(&spec(&a), Names::Flags, Vec::new())
                .err()
                .unwrap()
                .to_string()
        };
        assert!(err(&["--url", "u"]).contains("--concurrency"));
        assert!(err(&["--url", "u", "--concurrency", "1", "--rate", "2"]).contains("exactly one"));
        assert!(err(&["--url", "u", "--concurrency", "0"]).contains("--concurrency"));
        assert!(err(&["--url", "u", "--rate", "0"]).contains("--rate"));
        assert!(err(&["--url", "u", "--find-max-rate"]).contains("--slo"));
        assert!(err(&["--url", "u", "--rate", "1", "--slo", "x=1"]).contains("--slo"));
        assert!(err(&["--url", "u", "--rate", "1", "--timeout", "soon"]).contains("--timeout"));
        assert!(err(&["--url", "u", "--rate", "1", "--header", "nocolon"]).contains("--header"));
        assert!(err(&["--url", "u", "--rate", "1", "--salt", "xyz"]).starts_with("--salt: "));
        assert!(err(&["--url", "u", "--rate", "1", "--turns", "2"]).starts_with("--turns: "));
    }

    #[test]
    fn the_flags_defaults_are_the_specs() {
        let a = parse(&["--url", "u", "--concurrency", "1"]);
        let d = LoadSpec::default();
        let s = spec(&a);
        assert_eq!(
            s,
            LoadSpec {
                url: Some("u".into()),
                concurrency: vec![1],
                out: Some(load::spec::DEFAULT_OUT.into()),
                ..d
            }
        );
    }
}
