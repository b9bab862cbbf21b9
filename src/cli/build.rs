//! `trtbench build`: make an engine. GGUF quantisations through llama.cpp's quantizer
//! (default backend, `build::gguf`); the TensorRT Edge-LLM pipeline with `--backend
//! tensorrt` (`build_trt`, over `build::edge_llm`). This file owns the flags and dispatches;
//! `build_trt` never imports it.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};

use super::build_trt::TrtBuildArgs;
use crate::build::gguf::{build_gguf, resolve_source};
use crate::engine::BackendKind;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Source: a .gguf file or a llama.cpp engine directory (GGUF builds); a Hugging Face
    /// checkpoint directory (TensorRT builds).
    #[arg(long)]
    pub from: PathBuf,
    /// Target quantization: f16, q8_0, q5_k_m, q4_k_m, q4_0, ... (GGUF);
    /// fp16, fp8, int4_awq, nvfp4, int8_sq (TensorRT).
    #[arg(long, short = 'q')]
    pub quant: String,
    /// Backend to build for: llama.cpp (default) or tensorrt (Edge-LLM).
    #[arg(long, default_value = "llama.cpp")]
    pub backend: String,
    /// Engine directory to write (default: engines/<model>-<quant>).
    #[arg(long, short = 'o')]
    pub out: Option<PathBuf>,
    /// Directory new engines go into when --out is not given.
    #[arg(long, default_value = "engines")]
    pub engines_dir: PathBuf,
    /// Replace an existing engine directory.
    #[arg(long)]
    pub force: bool,
    /// Threads for quantization (default: all cores).
    #[arg(long, short = 't', value_parser = clap::value_parser!(u32).range(1..))]
    pub threads: Option<u32>,
    #[command(flatten)]
    pub trt: TrtBuildArgs,
}

pub fn run(a: Args) -> anyhow::Result<()> {
    match BackendKind::parse(&a.backend)? {
        BackendKind::LlamaCpp => build_llama(a),
        BackendKind::EdgeLlm => {
            let req = a
                .trt
                .request(&a.from, &a.quant, a.out, &a.engines_dir, a.force)?;
            super::build_trt::run(&req)
        }
    }
}

fn build_llama(a: Args) -> anyhow::Result<()> {
    crate::build::ftype_of_quant(&a.quant)?;
    let src = resolve_source(&a.from)?;
    let quant = a.quant.to_ascii_lowercase();
    let out = a
        .out
        .clone()
        .unwrap_or_else(|| a.engines_dir.join(format!("{}-{quant}", src.base_name)));
    let threads = a.threads.unwrap_or_else(crate::engine::default_threads);
    let bar = if super::interactive() {
        ProgressBar::new_spinner()
    } else {
        ProgressBar::hidden()
    };
    bar.set_style(
        ProgressStyle::with_template("{spinner} [{elapsed_precise}] {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    // One step (llama.cpp's quantize): the final "built ... in N s" line is its plain line.
    bar.set_message(format!(
        "[1/1] quantizing {} to {quant}",
        src.gguf.display()
    ));
    bar.enable_steady_tick(Duration::from_millis(120));
    let built = build_gguf(&src, &quant, &out, a.force, threads)
        .with_context(|| format!("building {} from {}", out.display(), a.from.display()));
    bar.finish_and_clear();
    let built = built?;
    if built.requantized {
        eprintln!(
            "warning: requantized from {} (already quantized): the result cannot recover \
             precision {} lost; quantize from an f16/bf16/f32 GGUF for the best {quant}",
            built.source_quant, built.source_quant
        );
    }
    let m = &built.manifest;
    let b = m.build.as_ref().map(|b| b.wall_s).unwrap_or_default();
    println!(
        "built {} ({}, {} → {quant}) in {b:.2} s",
        built.dir.display(),
        crate::units::human_bytes(m.files[0].bytes),
        built.source_quant,
    );
    Ok(())
}
