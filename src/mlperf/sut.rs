//! An engine as LoadGen's system under test. LoadGen runs on a thread of its own and sends
//! every issued query down a channel; the engine runs here, on the caller's thread, taking
//! what is waiting (up to the plan's batch) into one generation. The first token of every
//! sample goes to LoadGen as soon as the generation reports it (`FirstTokenComplete`), the
//! output token ids (int32, little-endian) when the sample is done.
//!
//! If the engine fails, every sample still outstanding and every later one is completed
//! empty at once, so LoadGen finishes and writes its logs; the error is returned then.

use std::collections::VecDeque;
use std::sync::mpsc::{channel, Receiver};

use super::ffi::{self, Issued, Query};
use super::{Mode, Plan, Scenario};
use crate::engine::{Engine, Request, Session, SessionConfig, Token};
use crate::error::{Error, Result};

/// The shim's settings for `plan` (negative: leave the configuration files' value).
pub(super) fn raw_settings(plan: &Plan) -> ffi::RawSettings<'_> {
    let o = &plan.overrides;
    let f = |v: Option<u64>| v.map_or(-1.0, |v| v as f64);
    let g = |v: Option<f64>| v.unwrap_or(-1.0);
    ffi::RawSettings {
        scenario: match plan.scenario {
            Scenario::SingleStream => 0,
            Scenario::MultiStream => 1,
            Scenario::Server => 2,
            Scenario::Offline => 3,
        },
        mode: match plan.mode {
            Mode::Performance => 0,
            Mode::Accuracy => 1,
        },
        model: &plan.model_name,
        mlperf_conf: plan.mlperf_conf.as_deref(),
        user_conf: plan.user_conf.as_deref(),
        outdir: &plan.out,
        total_sample_count: plan.samples,
        performance_sample_count: plan.samples,
        min_duration_ms: f(o.min_duration_ms),
        max_duration_ms: f(o.max_duration_ms),
        min_query_count: f(o.min_query_count),
        max_query_count: f(o.max_query_count),
        target_qps: g(o.target_qps),
        target_latency_ms: g(o.target_latency_ms),
        ttft_ms: g(o.ttft_ms),
        tpot_ms: g(o.tpot_ms),
        samples_per_query: f(o.samples_per_query),
        // An LLM under test: token latencies on unless asked otherwise.
        use_token_latencies: i32::from(o.token_latencies.unwrap_or(true)),
    }
}

/// Runs LoadGen with `engine` answering its queries; returns once LoadGen has written
/// its logs.
pub fn run(plan: &Plan, engine: &dyn Engine, prompts: &[Vec<Token>]) -> Result<()> {
    let mut cfg = SessionConfig::new(plan.max_batch, plan.isl + plan.osl);
    cfg.threads = plan.threads;
    let mut session = engine.session(&cfg)?;
    let (tx, rx) = channel::<Query>();
    let raw = raw_settings(plan);
    std::thread::scope(|s| {
        let loadgen = s.spawn(move || ffi::run(&raw, tx));
        let served = serve(&rx, session.as_mut(), prompts, plan);
        let ran = loadgen.join().unwrap_or_else(|_| {
            Err(Error::Tool {
                tool: "MLPerf LoadGen".into(),
                message: "its thread panicked".into(),
            })
        });
        ran.and(served)
    })
}

/// Answers queries until LoadGen is done (its sender dropped).
fn serve(
    rx: &Receiver<Query>,
    session: &mut dyn Session,
    prompts: &[Vec<Token>],
    plan: &Plan,
) -> Result<()> {
    let mut waiting: VecDeque<Issued> = VecDeque::new();
    let mut failed: Option<Error> = None;
    loop {
        if waiting.is_empty() {
            match rx.recv() {
                Ok(q) => waiting.extend(q),
                Err(_) => break,
            }
        }
        // Everything issued meanwhile joins the queue before the next batch is taken.
        while let Ok(q) = rx.try_recv() {
            waiting.extend(q);
        }
        let take = waiting.len().min(plan.max_batch as usize);
        let batch: Vec<Issued> = waiting.drain(..take).collect();
        if failed.is_some() {
            batch.into_iter().for_each(|s| s.complete(&[], 0));
            continue;
        }
        if let Err(e) = answer(session, batch, prompts, plan.osl) {
            failed = Some(e);
            waiting.drain(..).for_each(|s| s.complete(&[], 0));
        }
    }
    failed.map_or(Ok(()), Err)
}

/// One generation over `batch`; every sample is completed, with its tokens or empty.
fn answer(
    session: &mut dyn Session,
    batch: Vec<Issued>,
    prompts: &[Vec<Token>],
    osl: u32,
) -> Result<()> {
    let mut chosen = Vec::with_capacity(batch.len());
    for s in &batch {
        match prompts.get(s.index) {
            Some(p) => chosen.push(p.clone()),
            None => {
                let n = prompts.len();
                batch.into_iter().for_each(|s| s.complete(&[], 0));
                return Err(Error::config(
                    "--samples",
                    format!("LoadGen asked for sample index beyond the {n} prompts"),
                ));
            }
        }
    }
    let req = Request {
        prompts: &chosen,
        output_len: osl,
    };
    let generated = session.generate(&req, &mut |ev| {
        if ev.index == 0 {
            batch[ev.seq].first_token(&ev.token.to_le_bytes());
        }
    });
    match generated {
        Ok(g) => {
            for (s, tokens) in batch.into_iter().zip(&g.tokens) {
                let bytes: Vec<u8> = tokens.iter().flat_map(|t| t.to_le_bytes()).collect();
                s.complete(&bytes, tokens.len() as u64);
            }
            Ok(())
        }
        Err(e) => {
            batch.into_iter().for_each(|s| s.complete(&[], 0));
            Err(e)
        }
    }
}
