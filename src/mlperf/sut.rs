//! An engine as LoadGen's system under test. LoadGen runs on a thread of its own and sends
//! every issued query down a channel; the engine runs here, on the caller's thread, taking
//! what is waiting (up to the plan's batch) into one generation. The first token of every
//! sample goes to LoadGen as soon as the generation reports it (`FirstTokenComplete`), the
//! output token ids (int32, little-endian) when the sample is done.
//!
//! Samples of one batch may ask for different output lengths (a samples file): the batch
//! generates the longest, and each sample is completed the moment its own count is
//! reached.
//!
//! If the engine fails, or the stop flag is raised (Ctrl-C), every sample still
//! outstanding and every later one is completed empty at once, so LoadGen finishes and
//! writes its logs; the error (or the interruption) is returned then.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{channel, Receiver};

use super::ffi::{self, Issued, Query};
use super::{Mode, Plan, Sample, SampleLog, Scenario, Stopped};
use crate::engine::{Engine, Request, Session, SessionConfig, Token};
use crate::error::{Error, Result};

/// The shim's settings for `plan` over a library of `samples` (negative: leave the
/// configuration files' value).
pub(super) fn raw_settings(plan: &Plan, samples: usize) -> ffi::RawSettings<'_> {
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
        total_sample_count: samples,
        performance_sample_count: samples,
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
/// its logs (and trtbench its per-sample log).
pub fn run(
    plan: &Plan,
    engine: &dyn Engine,
    samples: &[Sample],
    stop: &AtomicBool,
) -> std::result::Result<(), Stopped> {
    let max_seq = samples
        .iter()
        .map(|s| s.tokens.len() as u32 + s.output_len)
        .max()
        .unwrap_or(1);
    let mut cfg = SessionConfig::new(plan.max_batch, max_seq);
    cfg.threads = plan.threads;
    let mut session = engine.session(&cfg).map_err(Stopped::Failed)?;
    let (tx, rx) = channel::<Query>();
    let raw = raw_settings(plan, samples.len());
    let mut log = Vec::new();
    let (ran, served) = std::thread::scope(|s| {
        let loadgen = s.spawn(move || ffi::run(&raw, tx));
        let served = serve(&rx, session.as_mut(), samples, plan, stop, &mut log);
        let ran = loadgen.join().unwrap_or_else(|_| {
            Err(Error::Tool {
                tool: "MLPerf LoadGen".into(),
                message: "its thread panicked".into(),
            })
        });
        (ran, served)
    });
    super::write_sample_log(&plan.out, &log).map_err(Stopped::Failed)?;
    ran.map_err(Stopped::Failed)?;
    served
}

/// Answers queries until LoadGen is done (its sender dropped).
fn serve(
    rx: &Receiver<Query>,
    session: &mut dyn Session,
    samples: &[Sample],
    plan: &Plan,
    stop: &AtomicBool,
    log: &mut Vec<SampleLog>,
) -> std::result::Result<(), Stopped> {
    let mut waiting: VecDeque<Issued> = VecDeque::new();
    let mut ended: Option<Stopped> = None;
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
        if ended.is_none() && stop.load(Ordering::SeqCst) {
            ended = Some(Stopped::Interrupted);
        }
        if ended.is_some() {
            waiting.drain(..).for_each(|s| s.complete(&[], 0));
            continue;
        }
        let take = waiting.len().min(plan.max_batch as usize);
        let batch: Vec<Issued> = waiting.drain(..take).collect();
        if let Err(e) = answer(session, batch, samples, log) {
            ended = Some(Stopped::Failed(e));
            waiting.drain(..).for_each(|s| s.complete(&[], 0));
        }
    }
    ended.map_or(Ok(()), Err)
}

/// One generation over `batch`, as long as its longest output; every sample is
/// completed, with its own count of tokens as soon as it has them, or empty.
fn answer(
    session: &mut dyn Session,
    batch: Vec<Issued>,
    samples: &[Sample],
    log: &mut Vec<SampleLog>,
) -> Result<()> {
    let mut chosen = Vec::with_capacity(batch.len());
    for s in &batch {
        match samples.get(s.index) {
            Some(p) => chosen.push(p),
            None => {
                let n = samples.len();
                batch.into_iter().for_each(|s| s.complete(&[], 0));
                return Err(Error::config(
                    "--samples",
                    format!("LoadGen asked for sample index beyond the {n} samples"),
                ));
            }
        }
    }
    let prompts: Vec<Vec<Token>> = chosen.iter().map(|s| s.tokens.clone()).collect();
    let want: Vec<u32> = chosen.iter().map(|s| s.output_len).collect();
    let req = Request {
        prompts: &prompts,
        output_len: want.iter().copied().max().unwrap_or(1),
    };
    let mut open: Vec<Option<Issued>> = batch.into_iter().map(Some).collect();
    let mut outs: Vec<Vec<u8>> = vec![Vec::new(); open.len()];
    let generated = session.generate(&req, &mut |ev| {
        let Some(s) = open[ev.seq].as_ref() else {
            return;
        };
        if ev.index == 0 {
            s.first_token(&ev.token.to_le_bytes());
        }
        outs[ev.seq].extend(ev.token.to_le_bytes());
        if ev.index + 1 >= want[ev.seq] {
            if let Some(s) = open[ev.seq].take() {
                log.push(SampleLog {
                    qsl_index: s.index,
                    input_tokens: prompts[ev.seq].len(),
                    output_tokens: want[ev.seq] as usize,
                });
                s.complete(&outs[ev.seq], u64::from(want[ev.seq]));
            }
        }
    });
    // A generation that ended early (an error) leaves samples open: completed empty.
    open.into_iter().flatten().for_each(|s| s.complete(&[], 0));
    generated.map(|_| ())
}
