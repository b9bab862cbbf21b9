//! A load run against an OpenAI-compatible server from Rust, through the calls `trtbench
//! load` makes: a spec (TOML here; the CLI builds the same struct from its flags), the
//! plan (`load::plan`: checked, the prompts' tokenizer found), and the run (`load::run`)
//! with an observer told of each finished level.
//!
//!     scripts/llama-server.sh start     # prints the URL, e.g. http://127.0.0.1:8089/v1
//!     cargo run --release --example load -- http://127.0.0.1:8089/v1 [TOKENIZER]
//!
//! Without TOKENIZER (a model .gguf or a tokenizer.json) the server's own `/tokenize` makes
//! the prompts.

use std::sync::atomic::AtomicBool;

use trtbench::client::run::FinishedLevel;
use trtbench::client::Observer;
use trtbench::load::{self, Names};

/// Prints each level as it finishes.
struct Print;

impl Observer for Print {
    fn level_finished(&mut self, level: &FinishedLevel<'_>) {
        let p = level.point;
        let p50 = |m: &str| p.summary.get(m).map_or(f64::NAN, |s| s.p50);
        println!(
            "{}: {} requests, TTFT p50 {:.1} ms, TPOT p50 {:.2} ms, {:.1} output tok/s",
            level.shape,
            p.requests.len(),
            p50("ttft_ms"),
            p50("tpot_ms"),
            p.scalars.get("output_tok_per_s").copied().unwrap_or(0.0)
        );
    }
}

fn main() -> trtbench::Result<()> {
    let mut args = std::env::args().skip(1);
    let url = args
        .next()
        .unwrap_or_else(|| "http://127.0.0.1:8089/v1".into());
    let dir = tempfile::tempdir().map_err(|e| trtbench::Error::io(std::env::temp_dir(), e))?;
    let mut spec =
        load::parse("concurrency = [1, 2]\nnum_prompts = 8\nisl = 64\nosl = 16\nwarmup = 1\n")?;
    spec.url = Some(url);
    spec.tokenizer = args.next().map(Into::into);
    spec.out = Some(dir.path().join("load.json"));
    let plan = load::plan(&spec, Names::Fields, vec!["examples/load.rs".into()])?;
    // Raise it from another thread (a signal handler, a service call) to stop early.
    let stop = AtomicBool::new(false);
    let outcome = load::run(&plan, &mut Print, &stop)?;
    println!(
        "{} levels saved to {} (interrupted: {})",
        outcome.results.points.len(),
        plan.output.display(),
        outcome.interrupted
    );
    Ok(())
}
