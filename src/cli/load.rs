//! `trtbench load`: benchmark an OpenAI-compatible server under closed-loop concurrency
//! levels or open-loop request rates, or search the highest rate that meets SLOs. Turns
//! flags into a validated plan, runs one level at a time through `client`, and rewrites
//! the results file atomically after every level (so Ctrl-C keeps what finished).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, Result};
use clap::ArgAction;
use serde_json::json;

use super::Usage;
use crate::client::http::{Endpoint, Target, TargetOptions};
use crate::client::metrics::{parse_ms, Slo};
use crate::client::prompts::{self, Length, PromptMaker, Source};
use crate::client::scheduler::{Arrival, Shape};
use crate::client::search::RateSearch;
use crate::client::tokenizer::Tok;
use crate::client::{self, Config, Level};
use crate::record::{Results, Status};

/// Benchmark an OpenAI-compatible server (`/v1/completions` or `/v1/chat/completions`).
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Base URL of the API, e.g. http://127.0.0.1:8080/v1.
    #[arg(long)]
    pub url: String,
    /// Model name to send; default: the first id listed by {url}/models.
    #[arg(long)]
    pub model: Option<String>,
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
    /// Seed of prompts and arrivals.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Tokenizer: a model .gguf (its vocabulary) or a tokenizer.json (or its directory).
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
    /// Results file (rewritten after every level).
    #[arg(long, short, default_value = "results-load.json")]
    pub output: PathBuf,
    /// Environment variable holding the API key (sent as a Bearer token when set).
    #[arg(long, default_value = "OPENAI_API_KEY")]
    pub api_key_env: String,
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
}

fn usage(msg: impl Into<String>) -> anyhow::Error {
    Usage(msg.into()).into()
}

fn duration_flag(flag: &str, v: &str) -> Result<Duration> {
    let ms = parse_ms(v)
        .filter(|m| *m > 0.0)
        .ok_or_else(|| usage(format!("{flag}: {v:?} is not a duration (e.g. 30s, 500ms)")))?;
    Ok(Duration::from_secs_f64(ms / 1e3))
}

/// The load shapes to run, in order.
enum Plan {
    Levels(Vec<Shape>),
    Search { start: f64 },
}

struct Validated {
    plan: Plan,
    duration: Option<Duration>,
    timeout: Duration,
    slo: Option<Slo>,
    headers: Vec<(String, String)>,
    extra_body: serde_json::Map<String, serde_json::Value>,
}

fn validate(a: &Args) -> Result<Validated> {
    let modes = usize::from(!a.concurrency.is_empty())
        + usize::from(!a.rate.is_empty() && !a.find_max_rate)
        + usize::from(a.find_max_rate);
    if modes != 1 {
        return Err(usage(
            "give exactly one of --concurrency LIST, --rate LIST or --find-max-rate",
        ));
    }
    if a.concurrency.contains(&0) {
        return Err(usage("--concurrency: every value must be at least 1"));
    }
    if a.rate.iter().any(|r| !(r.is_finite() && *r > 0.0)) {
        return Err(usage("--rate: every value must be a positive number"));
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
    if !(a.max_rate.is_finite() && a.max_rate > 0.0) {
        return Err(usage("--max-rate must be a positive number"));
    }
    let headers = a
        .headers
        .iter()
        .map(|h| {
            h.split_once(':')
                .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
                .filter(|(k, _)| !k.is_empty())
                .ok_or_else(|| usage(format!("--header {h:?}: expected `Name: value`")))
        })
        .collect::<Result<Vec<_>>>()?;
    let extra_body = match &a.extra_body {
        None => serde_json::Map::new(),
        Some(s) => match serde_json::from_str::<serde_json::Value>(s) {
            Ok(serde_json::Value::Object(m)) => m,
            _ => return Err(usage("--extra-body: expected a JSON object")),
        },
    };
    let plan = if a.find_max_rate {
        Plan::Search {
            start: a.rate.first().copied().unwrap_or(1.0),
        }
    } else if !a.concurrency.is_empty() {
        Plan::Levels(
            a.concurrency
                .iter()
                .map(|&c| Shape::Closed { concurrency: c })
                .collect(),
        )
    } else {
        Plan::Levels(
            a.rate
                .iter()
                .map(|&rate| Shape::Open {
                    rate,
                    arrival: a.arrival,
                    max_inflight: a.max_inflight,
                })
                .collect(),
        )
    };
    Ok(Validated {
        plan,
        duration: a
            .duration
            .as_deref()
            .map(|d| duration_flag("--duration", d))
            .transpose()?,
        timeout: duration_flag("--timeout", &a.timeout)?,
        slo,
        headers,
        extra_body,
    })
}

fn source(a: &Args) -> Result<Source> {
    let tok = a
        .tokenizer
        .as_deref()
        .map(|p| Tok::load(p).with_context(|| format!("--tokenizer {}", p.display())))
        .transpose()?;
    let maker = tok
        .map(|t| PromptMaker::new(t).context("--tokenizer"))
        .transpose()?;
    let len = |mean: u64, spread: f64| Length { mean, spread };
    match &a.dataset {
        Some(path) => Ok(Source::File {
            entries: prompts::read_file(path)
                .with_context(|| format!("--dataset {}", path.display()))?,
            maker,
            osl: a.osl.map(|o| len(o, a.osl_spread)),
            prefix_tokens: a.prefix_tokens,
        }),
        None => Ok(Source::Random {
            maker: maker.ok_or_else(|| {
                usage(
                    "random prompts of exact length need a tokenizer: pass --tokenizer \
                     <model.gguf | tokenizer.json> (or --dataset FILE)",
                )
            })?,
            isl: len(a.isl, a.isl_spread),
            osl: len(a.osl.unwrap_or(128), a.osl_spread),
        }),
    }
}

fn source_tok(s: &Source) -> Option<Tok> {
    match s {
        Source::Random { maker, .. } => Some(maker.tok().clone()),
        Source::File { maker, .. } => maker.as_ref().map(|m| m.tok().clone()),
    }
}

/// Entry point of `trtbench load`.
pub fn run(a: Args) -> Result<()> {
    let v = validate(&a)?;
    let source = source(&a)?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    rt.block_on(run_async(a, v, source))
}

async fn run_async(a: Args, v: Validated, source: Source) -> Result<()> {
    let max_conc = match &v.plan {
        Plan::Levels(shapes) => shapes
            .iter()
            .map(|s| match s {
                Shape::Closed { concurrency } => *concurrency,
                Shape::Open { max_inflight, .. } => max_inflight.unwrap_or(256),
            })
            .max()
            .unwrap_or(1),
        Plan::Search { .. } => 256,
    };
    let target = Target::new(&TargetOptions {
        base_url: a.url.clone(),
        endpoint: a.endpoint,
        api_key: std::env::var(&a.api_key_env).ok().filter(|k| !k.is_empty()),
        headers: v.headers.clone(),
        connect_timeout: Duration::from_secs(10),
        pool_size: max_conc,
    })
    .map_err(usage)?;
    let model = match &a.model {
        Some(m) => m.clone(),
        None => target
            .first_model(&a.url, Duration::from_secs(10))
            .await
            .map_err(|e| {
                anyhow::anyhow!("--url: finding the model name failed: {e} (or pass --model)")
            })?,
    };
    let cfg = Config {
        target: Arc::new(target),
        model: model.clone(),
        endpoint: a.endpoint,
        timeout: v.timeout,
        duration: v.duration,
        ignore_eos: a.ignore_eos,
        slo: v.slo,
        max_lag_ms: a.max_client_lag_ms,
        max_consecutive_errors: a.max_consecutive_errors,
        tok: source_tok(&source),
        extra_body: v.extra_body.clone(),
    };

    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            eprintln!("\ninterrupted: saving the requests finished so far");
            let _ = stop_tx.send(true);
        }
        // keep the sender alive so receivers do not see a closed channel
        std::future::pending::<()>().await;
    });

    let mut results = Results::new(std::env::args().collect(), crate::backends::fingerprint());
    let mut base_params: BTreeMap<String, serde_json::Value> = BTreeMap::new();
    base_params.insert("url".into(), json!(a.url));
    base_params.insert("model".into(), json!(model));
    base_params.insert("endpoint".into(), json!(a.endpoint.as_str()));
    base_params.insert("ignore_eos".into(), json!(a.ignore_eos));
    base_params.insert("seed".into(), json!(a.seed));
    match &a.dataset {
        Some(p) => {
            base_params.insert("dataset".into(), json!(p.display().to_string()));
            if let Some(o) = a.osl {
                base_params.insert("osl".into(), json!(o));
            }
        }
        None => {
            base_params.insert("isl".into(), json!(a.isl));
            base_params.insert("osl".into(), json!(a.osl.unwrap_or(128)));
        }
    }
    if a.isl_spread > 0.0 {
        base_params.insert("isl_spread".into(), json!(a.isl_spread));
    }
    if a.osl_spread > 0.0 {
        base_params.insert("osl_spread".into(), json!(a.osl_spread));
    }
    if let Some(d) = v.duration {
        base_params.insert("duration_s".into(), json!(d.as_secs_f64()));
    }

    let mut runner = Runner {
        a: &a,
        cfg: &cfg,
        source: &source,
        base: base_params,
        results: &mut results,
        stop: stop_rx,
        index: 0,
        rows: Vec::new(),
    };
    match &v.plan {
        Plan::Levels(shapes) => {
            for shape in shapes {
                runner.level(*shape, BTreeMap::new()).await?;
            }
        }
        Plan::Search { start } => {
            let mut search = RateSearch::new(*start, a.max_rate, a.search_steps);
            let mut probe = 0;
            while let Some(rate) = search.next() {
                let mut extra = BTreeMap::new();
                extra.insert("search".to_string(), json!("max_rate"));
                extra.insert("probe".to_string(), json!(probe));
                let shape = Shape::Open {
                    rate,
                    arrival: a.arrival,
                    max_inflight: a.max_inflight,
                };
                let (frac, valid) = runner.level(shape, extra).await?;
                let pass = valid && frac >= a.slo_attainment;
                eprintln!(
                    "probe {probe}: {rate:.3} req/s -> {:.1}% of requests met the SLOs: {}",
                    frac * 100.0,
                    if pass { "pass" } else { "fail" }
                );
                search.record(rate, pass);
                probe += 1;
            }
            match search.best {
                Some(best) => {
                    println!(
                        "max rate meeting the SLOs ({}% of requests): {best:.3} req/s",
                        a.slo_attainment * 100.0
                    );
                    if let Some(p) =
                        runner.results.points.iter_mut().find(|p| {
                            p.parameters.get("rate").and_then(|r| r.as_f64()) == Some(best)
                        })
                    {
                        p.scalars.insert("max_rate_req_per_s".into(), best);
                    }
                    runner.results.save(&a.output).with_context(|| {
                        format!("--output {}: writing results", a.output.display())
                    })?;
                }
                None => println!("no probed rate met the SLOs"),
            }
        }
    }
    runner.print_table();
    let all_failed = results.points.iter().all(|p| p.status == Status::Error);
    eprintln!("results: {}", a.output.display());
    if all_failed {
        anyhow::bail!(
            "no level succeeded: {}",
            results
                .points
                .first()
                .and_then(|p| p.error.clone())
                .unwrap_or_default()
        );
    }
    Ok(())
}

struct Runner<'a> {
    a: &'a Args,
    cfg: &'a Config,
    source: &'a Source,
    base: BTreeMap<String, serde_json::Value>,
    results: &'a mut Results,
    stop: tokio::sync::watch::Receiver<bool>,
    index: u64,
    rows: Vec<[String; 10]>,
}

impl Runner<'_> {
    /// Runs one level, saves the results; returns (goodput fraction, valid).
    async fn level(
        &mut self,
        shape: Shape,
        extra: BTreeMap<String, serde_json::Value>,
    ) -> Result<(f64, bool)> {
        let a = self.a;
        let mut params = self.base.clone();
        params.extend(extra);
        let n = match (a.num_prompts, shape, self.cfg.duration) {
            (Some(n), _, _) => n,
            (None, Shape::Open { rate, .. }, Some(d)) => {
                ((rate * d.as_secs_f64()).ceil() as usize).max(1)
            }
            (None, Shape::Closed { concurrency }, Some(_)) => 1000.max(50 * concurrency),
            (None, Shape::Closed { concurrency }, None) => 100.max(4 * concurrency),
            (None, Shape::Open { .. }, None) => 100,
        };
        let label = match shape {
            Shape::Closed { concurrency } => {
                params.insert("concurrency".into(), json!(concurrency));
                format!("concurrency {concurrency}")
            }
            Shape::Open {
                rate,
                arrival,
                max_inflight,
            } => {
                params.insert("rate".into(), json!(rate));
                params.insert("arrival".into(), json!(arrival.as_str()));
                if let Some(m) = max_inflight {
                    params.insert("max_inflight".into(), json!(m));
                }
                format!("rate {rate} req/s ({})", arrival.as_str())
            }
        };
        params.insert("num_prompts".into(), json!(n));
        params.insert("warmup".into(), json!(a.warmup));
        let seed = prompts::level_seed(a.seed, self.index);
        let warm_seed = prompts::level_seed(a.seed ^ 0x5741_524D, self.index);
        self.index += 1;
        eprintln!("{label}: preparing {n} prompts");
        let prompts = self.source.prompts(n, seed)?;
        let warmup = self.source.prompts(a.warmup, warm_seed)?;
        eprintln!("{label}: running");
        let r = client::run_level(
            self.cfg,
            Level {
                shape,
                prompts,
                warmup,
                parameters: params,
                seed,
            },
            self.stop.clone(),
        )
        .await;
        let p = &r.point;
        for w in &p.warnings {
            eprintln!("  warning: {w}");
        }
        let frac = p.scalars.get("goodput_frac").copied().unwrap_or(0.0);
        let s = |k: &str, f: fn(&crate::record::Summary) -> f64| {
            p.summary
                .get(k)
                .map_or("-".to_string(), |x| format!("{:.1}", f(x)))
        };
        self.rows.push([
            label,
            format!(
                "{}/{}",
                p.scalars.get("completed").copied().unwrap_or(0.0),
                p.requests.len()
            ),
            p.scalars
                .get("requests_per_s")
                .map_or("-".into(), |x| format!("{x:.2}")),
            p.scalars
                .get("output_tok_per_s")
                .map_or("-".into(), |x| format!("{x:.1}")),
            format!("{} / {}", s("ttft_ms", |x| x.p50), s("ttft_ms", |x| x.p99)),
            s("tpot_ms", |x| x.p50),
            s("itl_ms", |x| x.p50),
            s("e2e_ms", |x| x.p50),
            p.scalars
                .get("goodput_req_per_s")
                .map_or("-".into(), |x| format!("{x:.2}")),
            if r.valid { "yes" } else { "NO" }.into(),
        ]);
        self.results.upsert(r.point);
        self.results
            .save(&a.output)
            .with_context(|| format!("--output {}: writing results", a.output.display()))?;
        if r.interrupted {
            self.print_table();
            eprintln!("results so far: {}", a.output.display());
            return Err(crate::Error::Interrupted.into());
        }
        Ok((frac, r.valid))
    }

    fn print_table(&self) {
        let head = [
            "level",
            "ok/sent",
            "req/s",
            "out tok/s",
            "TTFT p50/p99 ms",
            "TPOT p50 ms",
            "ITL p50 ms",
            "E2E p50 ms",
            "goodput req/s",
            "valid",
        ];
        let mut widths: Vec<usize> = head.iter().map(|h| h.len()).collect();
        for r in &self.rows {
            for (w, c) in widths.iter_mut().zip(r) {
                *w = (*w).max(c.len());
            }
        }
        let line = |cells: Vec<&str>| {
            let v: Vec<String> = cells
                .iter()
                .zip(&widths)
                .map(|(c, w)| format!("{c:<w$}"))
                .collect();
            println!("| {} |", v.join(" | "));
        };
        line(head.to_vec());
        println!(
            "|{}|",
            widths
                .iter()
                .map(|w| "-".repeat(w + 2))
                .collect::<Vec<_>>()
                .join("|")
        );
        for r in &self.rows {
            line(r.iter().map(String::as_str).collect());
        }
    }
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
        assert!(matches!(ok.plan, Plan::Levels(ref v) if v.len() == 3));
    }

    #[test]
    fn random_prompts_need_a_tokenizer() {
        let e = source(&parse(&["--url", "u", "--concurrency", "1"]))
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("--tokenizer"), "{e}");
    }
}
