//! Embedding trtbench in an application (a robot's planner, say), without clap:
//! 1. open an engine once, make a session sized for the work, prefill a prompt, decode
//!    token by token with a callback, and read the per-phase timings;
//! 2. run a small sweep (2 points) through `bench::sweep::Sweep` with an observer, then
//!    run it again in resume mode and see that nothing is re-run.
//!
//! cargo run --release --example embed -- engines/smollm2-135m-q4_1 "The capital of France is"

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

use trtbench::bench::plan::{expand, RunSettings};
use trtbench::bench::sweep::{Observer, OutputMode, Sweep};
use trtbench::engine::{Request, SessionConfig};
use trtbench::record::{Point, Status};

fn main() -> anyhow::Result<()> {
    let dir = generate()?;
    sweep(&dir)
}

/// Part 1: one generation, token by token. Returns the engine directory used.
fn generate() -> anyhow::Result<PathBuf> {
    let mut args = std::env::args().skip(1);
    let dir = PathBuf::from(
        args.next()
            .unwrap_or_else(|| "engines/smollm2-135m-q4_1".into()),
    );
    let prompt = args
        .next()
        .unwrap_or_else(|| "The capital of France is".into());

    let engine = trtbench::backends::open(&dir)?;
    let mut tokens = engine.bos().into_iter().collect::<Vec<_>>();
    tokens.extend(engine.tokenize(&prompt)?);

    // One sequence, room for the prompt and 24 new tokens.
    let mut session = engine.session(&SessionConfig::new(1, tokens.len() as u32 + 24))?;
    let mut text = String::new();
    let generation = session.generate(
        &Request {
            prompts: std::slice::from_ref(&tokens),
            output_len: 24,
        },
        &mut |ev| {
            if let Ok(piece) = engine.detokenize(&[ev.token]) {
                text.push_str(&piece);
            }
        },
    )?;
    let t = &generation.times;
    println!("{prompt}{text}");
    println!(
        "prefill {:.1} ms, TTFT {:.1} ms, mean ITL {:.1} ms, E2E {:.1} ms ({})",
        t.prefill.as_secs_f64() * 1e3,
        t.ttft.as_secs_f64() * 1e3,
        t.steps.iter().map(|d| d.as_secs_f64()).sum::<f64>() * 1e3 / t.steps.len().max(1) as f64,
        t.e2e.as_secs_f64() * 1e3,
        t.clock.as_str()
    );
    Ok(dir)
}

/// Prints a line per finished point; counts the generations run.
#[derive(Default)]
struct Log {
    generations: u64,
}

impl Observer for Log {
    fn plan_ready(&mut self, todo: usize, kept: usize, runs_per_point: u64) {
        println!("sweep: {todo} point(s) to run ({runs_per_point} generations each), {kept} kept");
    }

    fn run_finished(&mut self) {
        self.generations += 1;
    }

    fn point_finished(&mut self, point: &Point, saved_to: &Path) {
        let decode = point.summary.get("decode_tok_per_s").map(|s| s.mean);
        println!(
            "  {}: {:?}, decode {:.1} tok/s, saved {}",
            point.key,
            point.status,
            decode.unwrap_or(f64::NAN),
            saved_to.display()
        );
    }
}

/// Part 2: a 2-point sweep (batch 1 and 2), then the same sweep resumed.
fn sweep(dir: &Path) -> anyhow::Result<()> {
    let settings = RunSettings {
        warmup: 1,
        runs: 2,
        threads: Some(2),
        ..RunSettings::default()
    };
    let plan = expand(&[dir.to_path_buf()], &[1, 2], &[32], &[8], &[], settings)?;
    let out = std::env::temp_dir().join("trtbench-embed-sweep.json");
    let mut sweep = Sweep::new(plan, &out);
    // A fresh file each time the example runs; an app would usually keep `New`.
    sweep.mode = OutputMode::Overwrite;
    // Nobody presses Ctrl-C here; an app sets this flag to stop between generations.
    let stop = AtomicBool::new(false);

    let mut log = Log::default();
    let first = sweep.run(&mut log, &stop)?;
    println!(
        "first run: {} point(s), {} failed, {} generations",
        first.results.points.len(),
        first.failed,
        log.generations
    );

    sweep.mode = OutputMode::Resume;
    let mut log = Log::default();
    let again = sweep.run(&mut log, &stop)?;
    let ok = again
        .results
        .points
        .iter()
        .filter(|p| p.status == Status::Ok)
        .count();
    println!(
        "resumed run: {} point(s) in {} ({ok} ok), {} generations re-run",
        again.results.points.len(),
        again.path.display(),
        log.generations
    );
    Ok(())
}
