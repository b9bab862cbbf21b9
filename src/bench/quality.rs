//! Quality beside speed: perplexity of an engine on a text, measured the way llama.cpp's
//! `llama-perplexity` does (tools/perplexity/perplexity.cpp): the tokenized text is cut
//! into chunks of `ctx` tokens, each chunk starts with BOS when the model uses one, and
//! the tokens after the first half are scored except the first of them (ctx − ctx/2 − 1
//! per chunk, exactly llama-perplexity's count), so every scored token has more than
//! ctx/2 tokens of context. PPL = exp(mean negative log-likelihood).

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Instant;

use crate::engine::{Engine, SessionConfig};
use crate::error::{Error, Result};
use crate::record::{Point, PointKind, Status};

/// How to measure perplexity.
#[derive(Debug, Clone, PartialEq)]
pub struct PplSpec {
    pub text: std::path::PathBuf,
    /// Tokens per chunk.
    pub ctx: u32,
    /// Chunks to score at most (the text may hold fewer).
    pub max_chunks: u32,
    pub threads: u32,
}

/// A perplexity measurement.
#[derive(Debug, Clone, PartialEq)]
pub struct Ppl {
    pub perplexity: f64,
    pub nll_mean: f64,
    pub tokens_scored: usize,
    pub chunks: usize,
    pub wall_s: f64,
}

/// Measures perplexity of `engine` on `spec.text`.
pub fn perplexity(engine: &dyn Engine, spec: &PplSpec) -> Result<Ppl> {
    if spec.ctx < 16 {
        return Err(Error::config("--ppl-ctx", "must be at least 16 tokens"));
    }
    let text = read_text(&spec.text)?;
    let bos = engine.bos();
    // Tokenized as llama-perplexity does (`common_tokenize(.., add_special = true)`): with
    // the model's BOS first when it uses one, so the chunks cut the same tokens.
    let tokens: Vec<_> = bos.into_iter().chain(engine.tokenize(&text)?).collect();
    let ctx = spec.ctx as usize;
    let available = tokens.len() / ctx;
    if available == 0 {
        return Err(Error::bad_file(
            &spec.text,
            format!(
                "{} tokens of text, fewer than one --ppl-ctx chunk of {ctx}",
                tokens.len()
            ),
        ));
    }
    let chunks = available.min(spec.max_chunks.max(1) as usize);
    let mut cfg = SessionConfig::new(1, spec.ctx);
    cfg.threads = Some(spec.threads);
    let mut session = engine.session(&cfg)?;
    let t = Instant::now();
    let (mut nll, mut n) = (0.0, 0usize);
    for c in 0..chunks {
        let mut chunk = tokens[c * ctx..(c + 1) * ctx].to_vec();
        if let Some(b) = bos {
            chunk[0] = b;
        }
        // llama-perplexity scores logits first..ctx-2 (first = ctx/2), i.e. tokens
        // ctx/2 + 1 ..= ctx - 1: ctx - ctx/2 - 1 tokens per chunk.
        let (s, k) = session.score(&chunk, ctx / 2 + 1)?;
        nll += s;
        n += k;
    }
    let nll_mean = nll / n as f64;
    Ok(Ppl {
        perplexity: nll_mean.exp(),
        nll_mean,
        tokens_scored: n,
        chunks,
        wall_s: t.elapsed().as_secs_f64(),
    })
}

/// Reads a text file; an empty file is an error naming it.
pub fn read_text(path: &Path) -> Result<String> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    if text.trim().is_empty() {
        return Err(Error::bad_file(path, "the text file is empty"));
    }
    Ok(text)
}

/// Parameters of a quality point.
pub fn parameters(engine: &str, spec: &PplSpec) -> BTreeMap<String, serde_json::Value> {
    let mut p = BTreeMap::new();
    p.insert("engine".into(), engine.into());
    p.insert("metric".into(), "perplexity".into());
    p.insert("ppl_ctx".into(), spec.ctx.into());
    p.insert("ppl_chunks".into(), spec.max_chunks.into());
    p.insert("ppl_text".into(), spec.text.display().to_string().into());
    p
}

/// Runs the measurement and wraps it as a results point.
pub fn quality_point(engine: &dyn Engine, engine_name: &str, spec: &PplSpec) -> Point {
    let mut point = Point::new(PointKind::Quality, parameters(engine_name, spec));
    point.engine = serde_json::to_value(engine.manifest()).ok();
    point.memory.weights_bytes = Some(engine.weights_bytes());
    match perplexity(engine, spec) {
        Ok(p) => {
            point.wall_s = p.wall_s;
            point.scalars.insert("perplexity".into(), p.perplexity);
            point.scalars.insert("nll_mean".into(), p.nll_mean);
            point
                .scalars
                .insert("ppl_tokens_scored".into(), p.tokens_scored as f64);
            point
                .scalars
                .insert("ppl_chunks_scored".into(), p.chunks as f64);
        }
        Err(e) => {
            point.status = Status::Error;
            point.error = Some(e.to_string());
        }
    }
    point
}
