//! Greedy decoding of one prompt with llama.cpp (the engine's library, called directly),
//! one line per step with the two highest logits: what scripts/check-aarch64.sh compares
//! between the x86-64 build and the aarch64 build under emulation. The same model and
//! prompt must give the same tokens whatever the CPU's kernels, except where the two best
//! logits are so close that kernel rounding may swap them. Last line: llama.cpp's system
//! info (the kernels compiled in).
//!
//! cargo run --release --example greedy -- engines/smollm2-135m-q4_1/model.gguf "The capital of France is" 16
//! prints `step <i> <top1 id> <top1 logit> <top2 id> <top2 logit>` lines.

use std::num::NonZeroU32;

use llama_cpp_2::context::params::LlamaContextParams;
use llama_cpp_2::llama_backend::LlamaBackend;
use llama_cpp_2::llama_batch::LlamaBatch;
use llama_cpp_2::model::params::LlamaModelParams;
use llama_cpp_2::model::LlamaModel;
use llama_cpp_2::token::LlamaToken;

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let gguf = args
        .next()
        .ok_or_else(|| anyhow::anyhow!("usage: greedy MODEL.gguf [PROMPT] [TOKENS]"))?;
    let prompt = args
        .next()
        .unwrap_or_else(|| "The capital of France is".into());
    let n: usize = args.next().map_or(Ok(16), |s| s.parse())?;

    let backend = LlamaBackend::init()?;
    let model = LlamaModel::load_from_file(&backend, &gguf, &LlamaModelParams::default())?;
    let tokens = model.vocab().tokenize(prompt.as_bytes(), true, true);
    let total = tokens.len() + n;
    let params = LlamaContextParams::default()
        .with_n_ctx(NonZeroU32::new(total as u32))
        .with_n_batch(total as u32)
        .with_n_threads(2)
        .with_n_threads_batch(2);
    let mut ctx = model.new_context(&backend, params)?;
    let mut batch = LlamaBatch::new(total, 1);
    for (i, t) in tokens.iter().enumerate() {
        batch.add(*t, i as i32, &[0], i + 1 == tokens.len())?;
    }
    let n_vocab = model.n_vocab().max(0) as usize;
    for step in 0..n {
        ctx.decode(&mut batch)?;
        let logits = ctx.get_logits_ith(batch.n_tokens() - 1);
        let (mut a, mut b) = ((0usize, f32::NEG_INFINITY), (0usize, f32::NEG_INFINITY));
        for (j, &v) in logits.iter().take(n_vocab).enumerate() {
            if v > a.1 {
                b = a;
                a = (j, v);
            } else if v > b.1 {
                b = (j, v);
            }
        }
        println!("step {step} {} {:.4} {} {:.4}", a.0, a.1, b.0, b.1);
        batch.clear();
        batch.add(
            LlamaToken(a.0 as i32),
            (tokens.len() + step) as i32,
            &[0],
            true,
        )?;
    }
    println!(
        "system_info: {}",
        trtbench::backends::llama::system_info().trim()
    );
    Ok(())
}
