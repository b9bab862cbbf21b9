//! The OpenAI-compatible load generator behind `trtbench load`: it streams requests to
//! `/v1/completions` or `/v1/chat/completions` under a closed-loop concurrency or an
//! open-loop request rate, times every byte where it arrives, and turns each level into a
//! `record::Point` (kind `load`) with the same metric names as the engine sweep (`ttft_ms`,
//! `tpot_ms`, `itl_ms`, `e2e_ms`, `output_tok_per_s`, `requests_per_s`), so `report` and
//! `compare` read both. It uses `record`, `stats` and `warning`; it never uses `backends` or
//! `engine` (a load test knows only the server's HTTP API).
//!
//! Files: `sse` (stream parsing), `http` (one timed request), `prompts` + `tokenizer`
//! (what is sent; GGUF vocabularies through `crate::gguf`), `server_tok` (prompts made
//! with the server's own `/tokenize` when there is no local tokenizer), `scheduler` (when it is sent,
//! and the client's own lag), `metrics` (per-request records), `aggregate` (a level's
//! figures and warnings), `search` (`--find-max-rate`), `shared_prefix`, `conversation`
//! and `trace` (the shared-prefix, multi-turn and trace-replay workloads), `fleet` (a worker's share of a level,
//! `--start-at`, merging workers' files), `run` (a whole load run: every
//! level of a [`LoadPlan`], saved after each, told to an [`Observer`]). This file runs
//! one level. The environment fingerprint is passed in by the caller: `client`
//! never depends on `env`, `backends`, `bench` or `report`.

pub mod aggregate;
pub mod conversation;
pub mod fleet;
pub mod health;
pub mod http;
pub mod metrics;
pub mod prompts;
pub mod redact;
pub mod run;
pub mod scheduler;
pub mod search;
pub mod server_tok;
pub mod shared_prefix;
pub mod sse;
pub mod tokenizer;
pub mod trace;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, watch};

use crate::record::{self, Point, PointKind, Status};
use http::{Endpoint, Target};
use metrics::Slo;
use prompts::Prompt;
use scheduler::{RequestDone, Shape};
use tokenizer::Tok;

use crate::warning::{self, Warning};
pub use run::{run_load, Levels, LoadOutcome, LoadPlan, MaxRateSearch, Observer, WorkloadParams};

/// How every request of a run is sent and judged: set once by the plan, read by every
/// level (the one place these settings live).
#[derive(Debug, Clone)]
pub struct Settings {
    pub endpoint: Endpoint,
    /// Per-request timeout.
    pub timeout: Duration,
    /// Measured phase length, when bounded by time.
    pub duration: Option<Duration>,
    pub ignore_eos: bool,
    /// Trust the server's `usage` output counts: do not re-tokenize responses that carry
    /// one (`--use-server-token-count`).
    pub server_token_counts: bool,
    pub slo: Option<Slo>,
    /// p99 client lag above which a level is marked invalid.
    pub max_lag_ms: f64,
    pub max_consecutive_errors: usize,
    /// Extra JSON fields merged into every request body.
    pub extra_body: serde_json::Map<String, serde_json::Value>,
}

/// What a run found out once it connected: the target, the model name, the tokenizer,
/// beside the plan's [`Settings`].
#[derive(Debug, Clone)]
pub struct Config {
    pub target: Arc<Target>,
    pub model: String,
    pub tok: Option<Tok>,
    pub settings: Settings,
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
    /// Start the measured phase (after warmup) at this wall-clock instant (`--start-at`).
    pub start_at: Option<std::time::SystemTime>,
    /// The prompts share prefixes on purpose: prefix-cache hits are expected.
    pub cache_expected: bool,
    /// Open loop: the send offset of each prompt (trace replay), else drawn.
    pub offsets: Option<Vec<Duration>>,
    /// The prompts are conversations of this shape (`conversation::prompts`, flattened):
    /// each later turn is sent with the history, once the turn before it has finished.
    pub conversation: Option<conversation::MultiTurn>,
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
    run_level_reporting(cfg, level, stop, None).await
}

/// [`run_level`], telling `progress` of every measured request as it finishes.
pub async fn run_level_reporting(
    cfg: &Config,
    level: Level,
    stop: watch::Receiver<bool>,
    progress: Option<mpsc::UnboundedSender<RequestDone>>,
) -> LevelResult {
    let started_unix_s = record::unix_now();
    let body = |p: &Prompt| {
        http::body(
            cfg.settings.endpoint,
            &cfg.model,
            &p.text,
            p.output_tokens,
            cfg.settings.ignore_eos,
            &cfg.settings.extra_body,
        )
    };
    let plan = scheduler::SendPlan {
        shape: level.shape,
        // A conversation's bodies are built as its replies arrive.
        bodies: Arc::new(match level.conversation {
            Some(_) => Vec::new(),
            None => level.prompts.iter().map(body).collect(),
        }),
        warmup: level.warmup.iter().map(body).collect(),
        duration: cfg.settings.duration,
        timeout: cfg.settings.timeout,
        seed: level.seed,
        max_consecutive_errors: cfg.settings.max_consecutive_errors,
        progress,
        start_at: level.start_at,
        offsets: level.offsets.clone(),
        conversations: level.conversation.map(|spec| {
            Arc::new(conversation::Script {
                endpoint: cfg.settings.endpoint,
                model: cfg.model.clone(),
                ignore_eos: cfg.settings.ignore_eos,
                extra: cfg.settings.extra_body.clone(),
                spec,
                turns: level
                    .prompts
                    .iter()
                    .map(|p| (p.text.clone(), p.output_tokens))
                    .collect(),
            })
        }),
    };
    let mut run = scheduler::run(cfg.target.clone(), plan, stop).await;
    run.outcomes.sort_by_key(|o| o.sent);
    for o in &mut run.outcomes {
        let asked = level.prompts[o.index].output_tokens;
        let trusted =
            cfg.settings.server_token_counts && o.usage.and_then(|u| u.completion_tokens).is_some();
        let tok = cfg.tok.as_ref().filter(|_| !trusted);
        metrics::validate(o, asked, cfg.settings.ignore_eos, tok);
    }
    let mut point = level_point(cfg, &level, &run);
    point.started_unix_s = started_unix_s;
    if cfg.settings.server_token_counts {
        point.notes.insert(
            "output_token_counts".into(),
            "the server's usage where sent, not re-tokenized (--use-server-token-count)".into(),
        );
    }
    point
        .notes
        .insert("timestamps".into(), cfg.target.timestamps().note().into());
    crate::stats::bootstrap::add_intervals(&mut point, crate::stats::bootstrap::DEFAULT_SEED);
    let valid = point.scalars.get("client_valid") == Some(&1.0);
    LevelResult {
        point,
        interrupted: run.interrupted,
        valid,
    }
}

/// The point of a finished level: records, aggregates, warnings and status.
fn level_point(cfg: &Config, level: &Level, run: &scheduler::Run) -> Point {
    let cx = metrics::Context {
        t0: run.t0,
        tok: cfg.tok.as_ref(),
        trust_server_counts: cfg.settings.server_token_counts,
    };
    let (mut records, derived): (Vec<_>, Vec<_>) = run
        .outcomes
        .iter()
        .map(|o| metrics::request_record(o, level.prompts[o.index].input_tokens, cx))
        .unzip();
    if let Some(spec) = level.conversation {
        let t = spec.turns.max(1);
        for (r, o) in records.iter_mut().zip(&run.outcomes) {
            r.extra.insert("conversation".into(), (o.index / t) as f64);
            r.extra.insert("turn".into(), (o.index % t + 1) as f64);
        }
    }
    let end = run.outcomes.iter().map(|o| o.end).max();
    let duration = end.map_or(run.wall, |e| e.saturating_duration_since(run.t0));
    let offered_rate = match level.shape {
        Shape::Open { rate, .. } => Some(rate),
        Shape::Closed { .. } => None,
    };
    let agg = aggregate::aggregate(&aggregate::Level {
        records: &records,
        derived: &derived,
        duration,
        offered_rate,
        slo: cfg.settings.slo.as_ref(),
        lag: &run.lag,
        max_lag_ms: cfg.settings.max_lag_ms,
        kernel_stamps: cfg.target.timestamps() == http::Timestamps::Kernel,
        chat: cfg.settings.endpoint == Endpoint::Chat,
        timeout: cfg.settings.timeout,
        cache_expected: level.cache_expected,
    });
    let mut warnings = agg.warnings;
    warnings.extend(run_warnings(run, level.prompts.len()));
    let completed = records.iter().filter(|r| r.error.is_none()).count();
    let error = level_error(run, records.len(), completed);
    let mut point = Point::new(PointKind::Load, level.parameters.clone());
    point.status = if error.is_some() {
        Status::Error
    } else {
        Status::Ok
    };
    point.error = error;
    point.wall_s = run.wall.as_secs_f64();
    // The wall-clock instant of `t0`, so workers' samples line up when merged.
    let since_t0 = run.t0.elapsed().as_secs_f64();
    point.t0_unix_s = Some(record::unix_now() - since_t0);
    point.warmup_runs = run.warmup_done as u32;
    point.requests = records;
    point.summary = agg.summary;
    point.scalars = agg.scalars;
    // What a failed request counts as in the "with failures" percentiles, kept so that a
    // merge of fleet workers' files (client::fleet) recomputes them the same way.
    point.scalars.insert(
        "request_timeout_s".into(),
        cfg.settings.timeout.as_secs_f64(),
    );
    point.samples = agg.samples;
    point.warnings = warning::sentences(&warnings);
    point
}

/// What the scheduler saw go wrong: the first few distinct failure messages (what to
/// fix), prompts running out before `--duration`, a level cut short.
fn run_warnings(run: &scheduler::Run, prompts: usize) -> Vec<Warning> {
    let mut out = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    for f in run.outcomes.iter().filter_map(|o| o.failure.as_ref()) {
        if seen.len() < 3 && seen.insert(f.kind) {
            out.push(Warning::FirstFailure {
                kind: f.kind.as_str().to_owned(),
                detail: f.detail.clone(),
            });
        }
    }
    if run.exhausted {
        out.push(Warning::PromptsExhausted { prompts });
    }
    if let Some(a) = &run.aborted {
        out.push(Warning::LevelCutShort { reason: a.clone() });
    }
    out
}

/// Why a level is an error point (interrupted, or no request succeeded), if it is one.
/// Share of a level's requests, in percent, that may fail before the level is an error
/// rather than `ok`: past it, the figures describe a minority of what was sent.
pub const MAX_FAILURE_PCT: f64 = 50.0;

fn level_error(run: &scheduler::Run, finished: usize, completed: usize) -> Option<String> {
    if run.interrupted {
        return Some(format!(
            "interrupted: {finished} requests finished before Ctrl-C"
        ));
    }
    let failed = finished.saturating_sub(completed);
    if completed > 0 && (failed as f64) * 100.0 > MAX_FAILURE_PCT * finished as f64 {
        return Some(format!(
            "{failed} of {finished} requests failed ({:.1}%, above {MAX_FAILURE_PCT}%): the \
             figures describe only the {completed} that succeeded",
            100.0 * failed as f64 / finished as f64
        ));
    }
    if completed > 0 {
        return None;
    }
    let first = run.outcomes.iter().find_map(|o| o.failure.as_ref());
    Some(match (&run.aborted, first) {
        (_, Some(f)) => format!("no request succeeded; first failure: {}", f.detail),
        (Some(a), None) => a.clone(),
        (None, None) => "no request was sent".into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_level_where_most_requests_failed_is_not_ok() {
        let run = scheduler::Run {
            outcomes: Vec::new(),
            t0: std::time::Instant::now(),
            wall: Duration::from_secs(1),
            lag: aggregate::ClientLag::default(),
            warmup_done: 0,
            interrupted: false,
            aborted: None,
            exhausted: false,
        };
        // 24 of 25 failed (96%): the one success describes nothing of the level.
        let e = level_error(&run, 25, 1).expect("an error, not ok");
        assert!(e.contains("24 of 25 requests failed (96.0%"), "{e}");
        // Half or fewer failed: the level is ok, its failed % says the rest.
        assert_eq!(level_error(&run, 25, 13), None);
        assert_eq!(level_error(&run, 25, 25), None);
    }
}
