//! `trtbench load`: benchmark an OpenAI-compatible server under closed-loop concurrency
//! levels or open-loop request rates, or search the highest rate that meets SLOs. Turns
//! flags into a validated `client::LoadPlan`, makes one `client::run_load` call, and
//! prints the `report` Markdown of the results. Progress goes to stderr: a bar on a
//! terminal, else one plain line per finished level. Only this file knows the flags.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context as _, Result};
use clap::ArgAction;

use super::Usage;

mod fleet;
mod progress;
mod source;
mod workload;
use crate::client::http::Endpoint;
use crate::client::metrics::{parse_ms, Slo};
use crate::client::prompts::Source;
use crate::client::scheduler::{Arrival, Shape};
use crate::client::{self, Levels, LoadOutcome, LoadPlan, MaxRateSearch, Settings, WorkloadParams};
use crate::record::Status;
use progress::Progress;
use source::source;

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
    #[arg(long, value_enum, default_value = "completions")]
    pub endpoint: Endpoint,
    /// Closed loop: requests kept in flight; a list runs one level per value (1,16,64).
    #[arg(long, value_delimiter = ',', num_args = 1..)]
    pub concurrency: Vec<usize>,
    /// Open loop: requests per second; a list runs one level per value.
    #[arg(long, value_delimiter = ',', num_args = 1..)]
    pub rate: Vec<f64>,
    /// Arrival process of the open loop.
    #[arg(long, value_enum, default_value = "poisson")]
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
    #[arg(long, default_value_t = 2)]
    pub warmup: usize,
    /// Per-request timeout (whole request, first byte to last).
    #[arg(long, default_value = "120s")]
    pub timeout: String,
    /// Input (prompt) length in tokens, special tokens included.
    #[arg(long, default_value_t = 128)]
    pub isl: u64,
    /// Output length in tokens (max_tokens) [default: 128; with --dataset, the file's].
    #[arg(long)]
    pub osl: Option<u64>,
    /// Spread of the input length: uniform in isl × (1 ± spread).
    #[arg(long, default_value_t = 0.0)]
    pub isl_spread: f64,
    /// Spread of the output length: uniform in osl × (1 ± spread).
    #[arg(long, default_value_t = 0.0)]
    pub osl_spread: f64,
    /// Ask the server to ignore EOS so every request generates exactly --osl tokens.
    #[arg(long, default_value_t = true, action = ArgAction::Set)]
    pub ignore_eos: bool,
    /// Take each response's output token count from the server's `usage` without
    /// re-tokenizing the text to check it (AIPerf's flag of the same name). Saves the
    /// client's CPU at high concurrency; a server that under-counts is then caught only by
    /// the text's word count. Responses without `usage` are still tokenized.
    #[arg(long)]
    pub use_server_token_count: bool,
    /// Seed of prompts and arrivals.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Tokenizer: a model .gguf (llama.cpp's tokenizer, any vocabulary type), an engine
    /// directory, a tokenizer.json or a Hugging Face model directory.
    #[arg(long, env = "TRTBENCH_TOKENIZER")]
    pub tokenizer: Option<PathBuf>,
    /// Prompts from a JSONL file or a ShareGPT-style JSON array instead of random ones.
    #[arg(long)]
    pub dataset: Option<PathBuf>,
    /// Random words put in front of each --dataset prompt so none is a prefix-cache hit.
    #[arg(long, default_value_t = 4)]
    pub prefix_tokens: usize,
    /// Service-level objectives for goodput, e.g. ttft=200ms,tpot=50ms,e2e=5s.
    #[arg(long)]
    pub slo: Option<String>,
    /// Search the highest open-loop rate whose goodput meets --slo.
    #[arg(long)]
    pub find_max_rate: bool,
    /// With --find-max-rate: the fraction of requests that must meet every SLO.
    #[arg(long, default_value_t = 0.95)]
    pub slo_attainment: f64,
    /// With --find-max-rate: the highest rate tried.
    #[arg(long, default_value_t = 1000.0)]
    pub max_rate: f64,
    /// With --find-max-rate: bisection probes after the edge is bracketed.
    #[arg(long, default_value_t = 4)]
    pub search_steps: u32,
    /// Results file (rewritten after every level); an existing one needs --force or --resume.
    #[arg(
        long = "out",
        short = 'o',
        alias = "output",
        default_value = "results-load.json"
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
    #[arg(long, value_parser = parse_salt)]
    pub salt: Option<u64>,
    /// Write one JSON object per measured request to this JSON Lines file.
    #[arg(long)]
    pub requests_out: Option<PathBuf>,
    /// Environment variable holding the API key (sent as a Bearer token when set).
    #[arg(long, default_value = "OPENAI_API_KEY")]
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
    #[arg(long, default_value_t = 10.0)]
    pub max_client_lag_ms: f64,
    /// Stop a level after this many failed requests in a row.
    #[arg(long, default_value_t = 32)]
    pub max_consecutive_errors: usize,
    #[command(flatten)]
    pub fleet: fleet::FleetArgs,
    #[command(flatten)]
    pub workload: workload::WorkloadArgs,
}

fn usage(msg: impl Into<String>) -> anyhow::Error {
    Usage(msg.into()).into()
}

fn parse_salt(s: &str) -> std::result::Result<u64, String> {
    u64::from_str_radix(s.trim_start_matches("0x"), 16)
        .map_err(|_| format!("{s:?} is not a salt (up to 16 hex digits, e.g. 3f2a9c01d4e5b677)"))
}

/// Longest `--duration` / `--timeout` taken: a week.
const MAX_DURATION_MS: f64 = 7.0 * 24.0 * 3600e3;
/// Rates taken by `--rate` / `--max-rate`, in requests/s.
const RATE_RANGE: std::ops::RangeInclusive<f64> = 1e-3..=1e6;

fn duration_flag(flag: &str, v: &str) -> Result<Duration> {
    let ms = parse_ms(v)
        .filter(|m| *m > 0.0)
        .ok_or_else(|| usage(format!("{flag}: {v:?} is not a duration (e.g. 30s, 500ms)")))?;
    if ms > MAX_DURATION_MS {
        return Err(usage(format!("{flag}: {v:?} is longer than a week")));
    }
    Ok(Duration::from_secs_f64(ms / 1e3))
}

/// The flags that need more than clap's parsing, checked and typed.
struct Validated {
    levels: Levels,
    duration: Option<Duration>,
    timeout: Duration,
    slo: Option<Slo>,
    headers: Vec<(String, String)>,
    extra_body: serde_json::Map<String, serde_json::Value>,
    fleet: fleet::Fleet,
    shared_prefix: Option<crate::client::shared_prefix::SharedPrefix>,
    multi_turn: Option<crate::client::conversation::MultiTurn>,
    trace: Option<crate::client::trace::Trace>,
}

fn validate(a: &Args) -> Result<Validated> {
    check_ranges(a)?;
    let trace = a.workload.trace()?;
    let slo = a
        .slo
        .as_deref()
        .map(Slo::parse)
        .transpose()
        .map_err(|e| usage(format!("--slo: {e}")))?;
    if a.find_max_rate && slo.is_none() {
        return Err(usage(
            "--find-max-rate needs --slo (e.g. ttft=200ms,tpot=50ms)",
        ));
    }
    if !(a.slo_attainment > 0.0 && a.slo_attainment <= 1.0) {
        return Err(usage("--slo-attainment must be in (0, 1]"));
    }
    if !RATE_RANGE.contains(&a.max_rate) {
        return Err(usage(format!(
            "--max-rate must be between {} and {} req/s",
            RATE_RANGE.start(),
            RATE_RANGE.end()
        )));
    }
    if !(a.max_client_lag_ms.is_finite() && a.max_client_lag_ms > 0.0) {
        return Err(usage("--max-client-lag-ms must be a positive number"));
    }
    let multi_turn = a.workload.multi_turn(a.isl)?;
    if multi_turn.is_some() {
        if a.concurrency.is_empty() {
            return Err(usage(
                "--workload multi-turn runs conversations in a closed loop: give --concurrency                  (conversations in flight), not --rate or --find-max-rate",
            ));
        }
        if a.num_prompts.is_some() {
            return Err(usage(
                "--num-prompts counts single requests: with --workload multi-turn give                  --conversations N",
            ));
        }
    }
    Ok(Validated {
        levels: levels(a, trace.as_ref()),
        duration: a
            .duration
            .as_deref()
            .map(|d| duration_flag("--duration", d))
            .transpose()?,
        timeout: duration_flag("--timeout", &a.timeout)?,
        slo,
        headers: headers(&a.headers)?,
        extra_body: extra_body(a.extra_body.as_deref())?,
        fleet: a.fleet.validate(a.find_max_rate)?,
        shared_prefix: a.workload.shared_prefix(a.isl)?,
        multi_turn,
        trace,
    })
}

/// One load mode, and numbers in range.
fn check_ranges(a: &Args) -> Result<()> {
    let modes = usize::from(!a.concurrency.is_empty())
        + usize::from(!a.rate.is_empty() && !a.find_max_rate)
        + usize::from(a.find_max_rate)
        + usize::from(a.workload.trace.is_some());
    if modes != 1 {
        return Err(usage(
            "give exactly one of --concurrency LIST, --rate LIST, --find-max-rate or --trace FILE",
        ));
    }
    if a.concurrency.contains(&0) {
        return Err(usage("--concurrency: every value must be at least 1"));
    }
    if a.rate.iter().any(|r| !RATE_RANGE.contains(r)) {
        return Err(usage(format!(
            "--rate: every value must be between {} and {} req/s",
            RATE_RANGE.start(),
            RATE_RANGE.end()
        )));
    }
    for (flag, s) in [
        ("--isl-spread", a.isl_spread),
        ("--osl-spread", a.osl_spread),
    ] {
        if !(0.0..1.0).contains(&s) {
            return Err(usage(format!("{flag}: must be in [0, 1), got {s}")));
        }
    }
    if a.isl == 0 || a.osl == Some(0) {
        return Err(usage("--isl and --osl must be at least 1"));
    }
    if a.num_prompts == Some(0) {
        return Err(usage("--num-prompts must be at least 1"));
    }
    if a.max_inflight == Some(0) {
        return Err(usage("--max-inflight must be at least 1"));
    }
    if a.max_inflight.is_some() && !a.concurrency.is_empty() {
        return Err(usage(
            "--max-inflight applies to --rate; --concurrency already bounds what is in flight",
        ));
    }
    Ok(())
}

/// `--header Name: value`, repeated.
fn headers(raw: &[String]) -> Result<Vec<(String, String)>> {
    raw.iter()
        .map(|h| {
            h.split_once(':')
                .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
                .filter(|(k, _)| !k.is_empty())
                .ok_or_else(|| usage(format!("--header {h:?}: expected `Name: value`")))
        })
        .collect()
}

fn extra_body(raw: Option<&str>) -> Result<serde_json::Map<String, serde_json::Value>> {
    match raw {
        None => Ok(serde_json::Map::new()),
        Some(s) => match serde_json::from_str::<serde_json::Value>(s) {
            Ok(serde_json::Value::Object(m)) => Ok(m),
            _ => Err(usage("--extra-body: expected a JSON object")),
        },
    }
}

/// The levels the mode flags ask for (after `check_ranges`).
fn levels(a: &Args, trace: Option<&crate::client::trace::Trace>) -> Levels {
    if let Some(t) = trace {
        Levels::Shapes(vec![Shape::Open {
            rate: t.rate(),
            arrival: Arrival::Trace,
            max_inflight: a.max_inflight,
        }])
    } else if a.find_max_rate {
        Levels::MaxRate(MaxRateSearch {
            start_req_per_s: a.rate.first().copied().unwrap_or(1.0),
            max_req_per_s: a.max_rate,
            bisect_steps: a.search_steps,
            attainment: a.slo_attainment,
            arrival: a.arrival,
            max_inflight: a.max_inflight,
        })
    } else if !a.concurrency.is_empty() {
        Levels::Shapes(
            a.concurrency
                .iter()
                .map(|&c| Shape::Closed { concurrency: c })
                .collect(),
        )
    } else {
        Levels::Shapes(
            a.rate
                .iter()
                .map(|&rate| Shape::Open {
                    rate,
                    arrival: a.arrival,
                    max_inflight: a.max_inflight,
                })
                .collect(),
        )
    }
}

/// The whole run, validated: what `client::run_load` takes.
fn plan(a: Args, v: Validated, source: Source) -> LoadPlan {
    LoadPlan {
        api_key: std::env::var(&a.api_key_env).ok().filter(|k| !k.is_empty()),
        workload: WorkloadParams {
            framework: a.framework,
            dataset: a.dataset,
            isl: a.isl,
            osl: a.osl,
            isl_spread: a.isl_spread,
            osl_spread: a.osl_spread,
            shared_prefix: v.shared_prefix,
            multi_turn: v.multi_turn,
            trace: a
                .workload
                .trace
                .clone()
                .map(|p| (p, a.workload.trace_speed)),
        },
        url: a.url,
        model: a.model,
        headers: v.headers,
        tls: crate::client::http::TlsOptions {
            cacert: a.cacert,
            insecure: a.insecure,
        },
        settings: Settings {
            endpoint: a.endpoint,
            timeout: v.timeout,
            duration: v.duration,
            ignore_eos: a.ignore_eos,
            server_token_counts: a.use_server_token_count,
            slo: v.slo,
            max_lag_ms: a.max_client_lag_ms,
            max_consecutive_errors: a.max_consecutive_errors,
            extra_body: v.extra_body,
        },
        levels: v.levels,
        source,
        // Multi-turn: conversations (`validate` refused --num-prompts with it).
        num_prompts: a.num_prompts.or(a.workload.conversations),
        warmup: a.warmup,
        seed: a.seed,
        worker: v.fleet.worker,
        start_at: v.fleet.start_at,
        salt: a.salt.unwrap_or_else(rand::random),
        resume: a.resume,
        output: a.output,
        command: client::redact::args(std::env::args()),
        environment: crate::backends::fingerprint(),
    }
}

/// Entry point of `trtbench load`.
pub fn run(a: Args) -> Result<()> {
    let v = validate(&a)?;
    if a.output.exists() && !a.force && !a.resume {
        return Err(usage(format!(
            "--out {}: the file exists; pass --force to overwrite it or --resume to keep its \
             finished levels",
            a.output.display()
        )));
    }
    if a.insecure {
        eprintln!("WARNING: --insecure: the server's TLS certificate is NOT verified (recorded as tls_insecure in the results)");
    }
    let source = source(&a, &v)?;
    let requests_out = a.requests_out.clone();
    let plan = plan(a, v, source);
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

    #[test]
    fn validation_names_the_flag() {
        let err = |args: &[&str]| validate(&parse(args)).err().unwrap().to_string();
        assert!(err(&["--url", "u"]).contains("--concurrency"));
        assert!(err(&["--url", "u", "--concurrency", "1", "--rate", "2"]).contains("exactly one"));
        assert!(err(&["--url", "u", "--concurrency", "0"]).contains("--concurrency"));
        assert!(err(&["--url", "u", "--rate", "0"]).contains("--rate"));
        assert!(err(&["--url", "u", "--find-max-rate"]).contains("--slo"));
        assert!(err(&["--url", "u", "--rate", "1", "--slo", "x=1"]).contains("--slo"));
        assert!(err(&["--url", "u", "--rate", "1", "--timeout", "soon"]).contains("--timeout"));
        assert!(err(&["--url", "u", "--rate", "1", "--header", "nocolon"]).contains("--header"));
        let ok = validate(&parse(&[
            "--url",
            "u",
            "--concurrency",
            "1,16,64",
            "--slo",
            "ttft=200ms",
        ]))
        .unwrap();
        assert!(matches!(ok.levels, Levels::Shapes(ref v) if v.len() == 3));
    }

    #[test]
    fn a_server_tokenizer_needs_a_reachable_url() {
        // No --tokenizer: the server's own is used, so a URL that is none (or a server
        // that is not running) is said to be that, not a tokenizer problem.
        let a = parse(&["--url", "u", "--concurrency", "1"]);
        let e = source(&a, &validate(&a).unwrap())
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("--url u: not a URL"), "{e}");
    }
}
