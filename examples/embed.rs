//! Embedding trtbench in an application (a robot's planner, say): open an engine once,
//! make a session sized for the work, prefill a prompt, decode token by token with a
//! callback, and read the per-phase timings.
//!
//! cargo run --release --example embed -- engines/smollm2-135m-q4_1 "The capital of France is"

use std::path::PathBuf;

use trtbench::engine::{Request, SessionConfig};

fn main() -> anyhow::Result<()> {
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
    Ok(())
}
