//! How far the load client's timestamps are from the true send times: drives
//! `examples/sse_stub.rs --stamp 1` (each text event carries the stub's CLOCK_MONOTONIC
//! send time) through trtbench's own load path (`client::scheduler::run` over
//! `client::http::Target`, on a multi-threaded tokio runtime as `trtbench load` uses), then
//! compares every streamed token's receive time (`Piece.at`, the same clock) with its send
//! time. Prints one JSON object: the ITL error (client gap − stub gap, per token gap, ms)
//! and the send→receive offset, as percentiles. For `scripts/bench-load-client.sh`.
//!
//! usage: itl_error --url http://127.0.0.1:PORT/v1 [--concurrency N] [--requests N]
//!                  [--warmup N] [--osl N] [--timestamps kernel|read]
//!
//! `--timestamps kernel` (the default, what `trtbench load` uses on plain http) times each
//! token by the kernel's receive time of its packet; `read` by when the read returned, as on
//! https: the difference is what the kernel stamps buy.

use std::sync::Arc;
use std::time::{Duration, Instant};

use trtbench::client::http::{self, Endpoint, Target, TargetOptions};
use trtbench::client::scheduler::{self, SendPlan, Shape};

fn monotonic_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid timespec to write; CLOCK_MONOTONIC always exists on Linux.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// Exact order statistic (nearest rank) of sorted `v`.
fn pct(v: &[f64], p: f64) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * v.len() as f64).ceil().max(1.0) as usize;
    v[rank.min(v.len()) - 1]
}

fn main() {
    let mut url = String::new();
    let (mut conc, mut requests, mut warmup, mut osl) = (256usize, 1024usize, 256usize, 64u64);
    let mut kernel = true;
    let args: Vec<String> = std::env::args().skip(1).collect();
    for pair in args.chunks(2) {
        let [flag, value] = pair else {
            eprintln!("itl_error: {} needs a value", pair[0]);
            std::process::exit(2)
        };
        let num = || -> u64 {
            value.parse().unwrap_or_else(|_| {
                eprintln!("itl_error: {flag}: {value:?} is not a whole number");
                std::process::exit(2)
            })
        };
        match flag.as_str() {
            "--url" => url = value.clone(),
            "--concurrency" => conc = num() as usize,
            "--requests" => requests = num() as usize,
            "--warmup" => warmup = num() as usize,
            "--osl" => osl = num(),
            "--timestamps" => {
                kernel = match value.as_str() {
                    "kernel" => true,
                    "read" => false,
                    _ => {
                        eprintln!("itl_error: --timestamps is kernel or read, not {value:?}");
                        std::process::exit(2)
                    }
                }
            }
            other => {
                eprintln!("itl_error: unknown flag {other}");
                std::process::exit(2)
            }
        }
    }
    if url.is_empty() {
        eprintln!("itl_error: --url is required");
        std::process::exit(2)
    }
    let target = Target::new(&TargetOptions {
        base_url: url,
        endpoint: Endpoint::Completions,
        api_key: None,
        headers: Vec::new(),
        connect_timeout: Duration::from_secs(5),
        pool_size: conc,
        tls: Default::default(),
        kernel_timestamps: kernel,
        idle_timeout: None,
    })
    .unwrap_or_else(|e| {
        eprintln!("itl_error: {e}");
        std::process::exit(2)
    });
    let body = |i: usize| {
        let prompt = format!("request {i} of the ITL check");
        http::body(
            Endpoint::Completions,
            "stub-model",
            &prompt,
            osl,
            true,
            &Default::default(),
        )
    };
    let plan = SendPlan {
        shape: Shape::Closed { concurrency: conc },
        bodies: Arc::new((0..requests).map(body).collect()),
        warmup: (0..warmup).map(body).collect(),
        duration: None,
        timeout: Duration::from_secs(120),
        seed: 0,
        max_consecutive_errors: 10,
        progress: None,
        start_at: None,
        offsets: None,
        conversations: None,
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let (_stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let timestamps = target.timestamps().as_str();
    let run = rt.block_on(scheduler::run(Arc::new(target), plan, stop_rx));
    // `Instant` is CLOCK_MONOTONIC on Linux: one pair of readings maps one onto the other.
    let (base_i, base_ns) = (Instant::now(), monotonic_ns());
    let ns_of = |t: Instant| -> i128 {
        if t >= base_i {
            base_ns as i128 + (t - base_i).as_nanos() as i128
        } else {
            base_ns as i128 - (base_i - t).as_nanos() as i128
        }
    };
    let (mut gap_err, mut offset) = (Vec::new(), Vec::new());
    let (mut ok, mut failed, mut unstamped) = (0usize, 0usize, 0usize);
    for o in &run.outcomes {
        if !o.ok() {
            failed += 1;
            continue;
        }
        ok += 1;
        let mut prev: Option<(i128, i128)> = None;
        for p in &o.pieces {
            let Some(sent) = p
                .text
                .trim()
                .strip_prefix('t')
                .and_then(|s| s.parse::<i128>().ok())
            else {
                unstamped += 1;
                prev = None;
                continue;
            };
            let recv = ns_of(p.at);
            offset.push((recv - sent) as f64 / 1e6);
            if let Some((ps, pr)) = prev {
                gap_err.push(((recv - pr) - (sent - ps)) as f64 / 1e6);
            }
            prev = Some((sent, recv));
        }
    }
    let mut abs_err: Vec<f64> = gap_err.iter().map(|e| e.abs()).collect();
    abs_err.sort_by(f64::total_cmp);
    offset.sort_by(f64::total_cmp);
    let lag = &run.lag.event_loop_ms;
    let mut lag_sorted = lag.clone();
    lag_sorted.sort_by(f64::total_cmp);
    let doc = serde_json::json!({
        "concurrency": conc,
        "timestamps": timestamps,
        "requests_ok": ok,
        "requests_failed": failed,
        "unstamped_pieces": unstamped,
        "gaps": abs_err.len(),
        "itl_abs_error_ms": {
            "p50": pct(&abs_err, 50.0),
            "p99": pct(&abs_err, 99.0),
            "p999": pct(&abs_err, 99.9),
            "max": abs_err.last().copied(),
        },
        "send_to_receive_ms": {
            "p50": pct(&offset, 50.0),
            "p99": pct(&offset, 99.0),
            "max": offset.last().copied(),
        },
        "event_loop_lag_p99_ms": pct(&lag_sorted, 99.0),
    });
    println!("{doc}");
    if ok == 0 || unstamped > 0 {
        eprintln!("itl_error: {ok} requests ok, {unstamped} pieces without a stamp (is the stub run with --stamp 1?)");
        std::process::exit(1)
    }
}
