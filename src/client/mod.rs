//! The OpenAI-compatible load generator behind `trtbench load`: it streams requests to
//! `/v1/completions` or `/v1/chat/completions` under a closed-loop concurrency or an
//! open-loop request rate, times every byte where it arrives, and turns each level into a
//! `record::Point` (kind `load`) with the same metric names as the engine sweep (`ttft_ms`,
//! `tpot_ms`, `itl_ms`, `e2e_ms`, `output_tok_per_s`, `requests_per_s`), so `report` and
//! `compare` read both. It uses `record` and `bench::stats`; it never uses `backends` or
//! `engine` (a load test knows only the server's HTTP API).
//!
//! Files: `sse` (stream parsing), `http` (one timed request), `workload` + `tokenizer` +
//! `gguf` (what is sent), `scheduler` (when it is sent, and the client's own lag),
//! `metrics` (records and aggregates), `search` (`--find-max-rate`), `stub` (a test double
//! server with known timing).

pub mod http;
pub mod metrics;
pub mod prompts;
pub mod scheduler;
pub mod search;
pub mod sse;
pub mod tokenizer;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use crate::record::{self, Point, PointKind, Status};
use http::{Endpoint, Target};
use metrics::Slo;
use prompts::Prompt;
use scheduler::Shape;
use tokenizer::Tok;

/// Settings shared by every level of a run.
#[derive(Debug, Clone)]
pub struct Config {
    pub target: Arc<Target>,
    pub model: String,
    pub endpoint: Endpoint,
    pub timeout: Duration,
    /// Measured phase length, when bounded by time.
    pub duration: Option<Duration>,
    pub ignore_eos: bool,
    pub slo: Option<Slo>,
    /// p99 client lag above which a level is marked invalid.
    pub max_lag_ms: f64,
    pub max_consecutive_errors: usize,
    pub tok: Option<Tok>,
    /// Extra JSON fields merged into every request body.
    pub extra_body: serde_json::Map<String, serde_json::Value>,
}

/// One level: a load shape and its prompts.
#[derive(Debug, Clone)]
pub struct Level {
    pub shape: Shape,
    pub prompts: Vec<Prompt>,
    pub warmup: Vec<Prompt>,
    /// The point's parameters (url, model, concurrency or rate, isl, osl, ...).
    pub parameters: BTreeMap<String, serde_json::Value>,
    /// Seed of the arrival process.
    pub seed: u64,
}

/// The point a level produced, and whether it was cut short by Ctrl-C.
#[derive(Debug)]
pub struct LevelResult {
    pub point: Point,
    pub interrupted: bool,
    /// False when the client's own lag could distort the figures.
    pub valid: bool,
}

/// Runs one level and builds its point. Never fails: failed requests are counted in the
/// point, and a level with no successful request is a point with status `error`.
pub async fn run_level(cfg: &Config, level: Level, stop: watch::Receiver<bool>) -> LevelResult {
    let started_unix_s = record::unix_now();
    let body = |p: &Prompt| {
        http::body(
            cfg.endpoint,
            &cfg.model,
            &p.text,
            p.output_tokens,
            cfg.ignore_eos,
            &cfg.extra_body,
        )
    };
    let plan = scheduler::Plan {
        shape: level.shape,
        bodies: Arc::new(level.prompts.iter().map(body).collect()),
        warmup: level.warmup.iter().map(body).collect(),
        duration: cfg.duration,
        timeout: cfg.timeout,
        seed: level.seed,
        max_consecutive_errors: cfg.max_consecutive_errors,
    };
    let run = scheduler::run(cfg.target.clone(), plan, stop).await;

    let cx = metrics::Context {
        t0: run.t0,
        tok: cfg.tok.as_ref(),
    };
    let mut outcomes = run.outcomes;
    outcomes.sort_by_key(|o| o.sent);
    let (records, derived): (Vec<_>, Vec<_>) = outcomes
        .iter()
        .map(|o| metrics::request_record(o, level.prompts[o.index].input_tokens, cx))
        .unzip();
    let end = outcomes.iter().map(|o| o.end).max();
    let duration = end.map_or(run.wall, |e| e.saturating_duration_since(run.t0));
    let offered_rate = match level.shape {
        Shape::Open { rate, .. } => Some(rate),
        Shape::Closed { .. } => None,
    };
    let agg = metrics::aggregate(&metrics::Level {
        records: &records,
        derived: &derived,
        duration,
        offered_rate,
        slo: cfg.slo.as_ref(),
        lag: &run.lag,
        max_lag_ms: cfg.max_lag_ms,
        chat: cfg.endpoint == Endpoint::Chat,
    });
    let mut warnings = agg.warnings;
    // The first few distinct failure messages: what to fix.
    let mut seen = std::collections::BTreeSet::new();
    for o in &outcomes {
        if let Some(f) = &o.failure {
            if seen.len() < 3 && seen.insert(f.kind) {
                warnings.push(format!("first {} failure: {}", f.kind.as_str(), f.detail));
            }
        }
    }
    if run.exhausted {
        warnings.push(format!(
            "all {} prompts were sent before --duration ended: raise --num-prompts",
            level.prompts.len()
        ));
    }
    if let Some(a) = &run.aborted {
        warnings.push(format!("level cut short: {a}"));
    }
    let completed = records.iter().filter(|r| r.error.is_none()).count();
    let (status, error) = if run.interrupted {
        (
            Status::Error,
            Some(format!(
                "interrupted: {} requests finished before Ctrl-C",
                records.len()
            )),
        )
    } else if completed == 0 {
        (
            Status::Error,
            Some(
                match (
                    &run.aborted,
                    outcomes.iter().find_map(|o| o.failure.as_ref()),
                ) {
                    (_, Some(f)) => format!("no request succeeded; first failure: {}", f.detail),
                    (Some(a), None) => a.clone(),
                    (None, None) => "no request was sent".into(),
                },
            ),
        )
    } else {
        (Status::Ok, None)
    };
    let mut point = Point::new(PointKind::Load, level.parameters);
    point.status = status;
    point.error = error;
    point.started_unix_s = started_unix_s;
    point.wall_s = run.wall.as_secs_f64();
    point.warmup_runs = run.warmup_done as u32;
    point.requests = records;
    point.summary = agg.summary;
    point.scalars = agg.scalars;
    point.warnings = warnings;
    crate::stats::bootstrap::add_intervals(&mut point, crate::stats::bootstrap::DEFAULT_SEED);
    LevelResult {
        point,
        interrupted: run.interrupted,
        valid: agg.valid,
    }
}
