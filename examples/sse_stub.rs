//! Runs the stub OpenAI-compatible streaming server (tests/support/stub.rs, a test double shared with the integration tests) on
//! 127.0.0.1, for `scripts/bench-load-client.sh`: it streams fixed words with the given
//! delays (0 = as fast as it can). A test double for measuring clients, not a model server.
//!
//! usage: sse_stub [--port N] [--ttft-ms X] [--itl-ms X] [--tokens-per-chunk K]
//!                 [--default-tokens N] [--threads N] [--stamp 1]
//!
//! `--stamp 1`: each text event's text is the stub's CLOCK_MONOTONIC send time
//! (` t<ns>`), for `examples/itl_error.rs`.

use std::time::Duration;

// The tests use parts of the stub this program does not (faults, request counts).
#[allow(dead_code)]
#[path = "../tests/support/stub.rs"]
mod stub;

use stub::{Config, Server};

fn main() {
    let mut port = 8090u16;
    let mut cfg = Config::default();
    let mut threads = 1usize;
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let value = it.next().unwrap_or_else(|| {
            eprintln!("sse_stub: {flag} needs a value");
            std::process::exit(2)
        });
        let num = |v: &str| -> f64 {
            v.parse().unwrap_or_else(|_| {
                eprintln!("sse_stub: {flag}: {v:?} is not a number");
                std::process::exit(2)
            })
        };
        match flag.as_str() {
            "--port" => port = num(value) as u16,
            "--ttft-ms" => cfg.ttft = Duration::from_secs_f64(num(value) / 1e3),
            "--itl-ms" => cfg.itl = Duration::from_secs_f64(num(value) / 1e3),
            "--tokens-per-chunk" => cfg.tokens_per_chunk = num(value) as usize,
            "--default-tokens" => cfg.default_tokens = num(value) as usize,
            "--threads" => threads = num(value) as usize,
            "--stamp" => cfg.stamp = num(value) != 0.0,
            other => {
                eprintln!("sse_stub: unknown flag {other}");
                std::process::exit(2)
            }
        }
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads.max(1))
        .enable_all()
        .build()
        .expect("tokio runtime");
    rt.block_on(async move {
        let server = Server::start(cfg, port).await.unwrap_or_else(|e| {
            eprintln!("sse_stub: cannot listen on 127.0.0.1:{port}: {e}");
            std::process::exit(1)
        });
        eprintln!("sse_stub: listening on {}", server.url());
        server.wait().await;
    });
}
