//! An OpenAI-compatible server as LoadGen's system under test: every sample LoadGen issues
//! becomes one streamed `/v1/completions` request through the load client
//! (`client::http::Target`), its prompt sent as token ids (no re-tokenizing) with
//! `ignore_eos` and `max_tokens` = the sample's output length. The first piece of text is reported to LoadGen
//! as it is read (`FirstTokenComplete`), and the sample completed when the stream ends,
//! with the server's count of output tokens (`usage.completion_tokens`; the pieces when it
//! sends none). A failed request completes its sample empty, so LoadGen finishes; the
//! failures are counted and returned as the run's error. Once the stop flag is raised
//! (Ctrl-C), no request is sent: later samples are completed empty at once.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::channel;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::ffi::{self, Issued, Query};
use super::{Plan, Sample, Stopped};
use crate::client::http::FirstPiece;
use crate::client::http::{body, Endpoint, Outcome, Target, TargetOptions, TlsOptions};
use crate::error::{Error, Result};

/// How long one request may take before it counts as failed.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(600);

fn target(url: &str) -> Result<Target> {
    Target::new(&TargetOptions {
        base_url: url.to_owned(),
        endpoint: Endpoint::Completions,
        api_key: std::env::var("OPENAI_API_KEY").ok(),
        headers: vec![],
        connect_timeout: Duration::from_secs(10),
        pool_size: 64,
        tls: TlsOptions::default(),
        kernel_timestamps: false,
        idle_timeout: None,
    })
}

/// Runs LoadGen against the server at `url` over `samples`; returns the served model's
/// name once LoadGen has written its logs.
pub fn run(
    plan: &Plan,
    url: &str,
    samples: &[Sample],
    stop: &AtomicBool,
) -> std::result::Result<String, Stopped> {
    let (model, rt, target) = connect(url).map_err(Stopped::Failed)?;
    let failed = Arc::new(AtomicUsize::new(0));
    let (tx, rx) = channel::<Query>();
    let raw = super::sut::raw_settings(plan, samples.len());
    let ran = std::thread::scope(|s| {
        let loadgen = s.spawn(move || ffi::run(&raw, tx));
        while let Ok(query) = rx.recv() {
            for issued in query {
                let sample = samples
                    .get(issued.index)
                    .filter(|_| !stop.load(Ordering::SeqCst));
                let Some(sample) = sample else {
                    issued.complete(&[], 0);
                    continue;
                };
                let extra = serde_json::Map::from_iter([(
                    "prompt".to_owned(),
                    serde_json::json!(sample.tokens),
                )]);
                let b = body(
                    Endpoint::Completions,
                    &model,
                    "",
                    sample.output_len.into(),
                    true,
                    &extra,
                );
                rt.spawn(answer(target.clone(), issued, b, failed.clone()));
            }
        }
        loadgen.join().unwrap_or_else(|_| {
            Err(Error::Tool {
                tool: "MLPerf LoadGen".into(),
                message: "its thread panicked".into(),
            })
        })
    });
    ran.map_err(Stopped::Failed)?;
    if stop.load(Ordering::SeqCst) {
        return Err(Stopped::Interrupted);
    }
    match failed.load(Ordering::SeqCst) {
        0 => Ok(model),
        n => Err(Stopped::Failed(Error::Tool {
            tool: url.to_owned(),
            message: format!("{n} request(s) failed; LoadGen's logs count them as empty"),
        })),
    }
}

/// The served model, a runtime for the requests and the client that sends them.
fn connect(url: &str) -> Result<(String, tokio::runtime::Runtime, Arc<Target>)> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .map_err(|e| Error::Tool {
            tool: "tokio".into(),
            message: e.to_string(),
        })?;
    let target = {
        let _in_rt = rt.enter();
        Arc::new(target(url)?)
    };
    let model = rt
        .block_on(target.first_model(url, Duration::from_secs(10)))
        .map_err(|e| Error::config("--url", e))?;
    Ok((model, rt, target))
}

/// One streamed request for one sample.
async fn answer(target: Arc<Target>, issued: Issued, body: Vec<u8>, failed: Arc<AtomicUsize>) {
    let issued = Arc::new(issued);
    let mut out = Outcome::new(issued.index, Instant::now());
    let first = issued.clone();
    out.on_first_piece = FirstPiece(Some(Arc::new(move || first.first_token(&[]))));
    target.run(body, REQUEST_TIMEOUT, &mut out).await;
    // The hook's clone goes with it, so the sample is ours alone to complete.
    out.on_first_piece = FirstPiece::default();
    let Ok(issued) = Arc::try_unwrap(issued) else {
        failed.fetch_add(1, Ordering::SeqCst);
        return;
    };
    if out.ok() {
        let n = out
            .usage
            .as_ref()
            .and_then(|u| u.completion_tokens)
            .unwrap_or(out.pieces.len() as u64);
        issued.complete(out.text().as_bytes(), n);
    } else {
        failed.fetch_add(1, Ordering::SeqCst);
        issued.complete(&[], 0);
    }
}
