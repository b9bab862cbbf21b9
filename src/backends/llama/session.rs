//! A llama.cpp session: one context sized for `max_batch` sequences of `max_seq` tokens,
//! the batched prefill and decode steps, kept context (`fill_context`) and scoring.

use std::collections::BTreeMap;
use std::num::NonZeroU32;

use llama_cpp_2::context::params::LlamaContextParams;
use llama_cpp_2::context::LlamaContext;
use llama_cpp_2::llama_batch::LlamaBatch;
use llama_cpp_2::token::LlamaToken;

use super::*;
use crate::engine::{Session, SessionConfig, Token};
use crate::error::{Error, Result};
use crate::record::Clock;

/// A llama.cpp context sized for `max_batch` sequences of `max_seq` tokens.
pub struct LlamaSession<'a> {
    ctx: LlamaContext<'a>,
    batch: LlamaBatch<'static>,
    max_batch: u32,
    max_seq: u32,
    n_vocab: usize,
    /// Next position of each active sequence.
    pos: Vec<i32>,
    /// Last token of each active sequence (fed by the next decode step).
    last: Vec<Token>,
    kv_bytes: Option<u64>,
    /// Tokens of kept context per sequence (`fill_context`); empty = none.
    context: Vec<i32>,
    /// Forward passes (`llama_decode` calls) this session ran, for tests and notes.
    forward_passes: u64,
    /// Prefills, and those that found every sequence of the KV cache empty once cleared.
    prefills: u64,
    prefills_on_empty_cache: u64,
}

impl<'a> LlamaSession<'a> {
    pub(super) fn new(engine: &'a LlamaEngine, cfg: &SessionConfig) -> Result<Self> {
        if cfg.max_batch == 0 {
            return Err(Error::config("batch", "must be at least 1"));
        }
        if cfg.max_seq == 0 {
            return Err(Error::config("max_seq", "must be at least 1"));
        }
        let total = u64::from(cfg.max_batch) * u64::from(cfg.max_seq);
        let total = u32::try_from(total).map_err(|_| Error::Capacity {
            reason: format!(
                "batch {} × sequence {} tokens is too large for one llama.cpp context",
                cfg.max_batch, cfg.max_seq
            ),
        })?;
        let threads = cfg
            .threads
            .map(|t| t as i32)
            .unwrap_or_else(|| crate::engine::default_threads() as i32);
        let kv = kv_cache_type(cfg.kv_dtype)?;
        let params = LlamaContextParams::default()
            .with_n_ctx(NonZeroU32::new(total))
            .with_n_batch(total)
            .with_n_seq_max(cfg.max_batch)
            .with_n_threads(threads)
            .with_n_threads_batch(threads)
            .with_type_k(kv)
            .with_type_v(kv);
        let mark = ffi::log_mark();
        let be = backend()?;
        let ctx = engine
            .model
            .new_context(be, params)
            .map_err(|e| Error::Engine {
                backend: BACKEND,
                op: "create context",
                message: format!("{e}: {}", log_tail(mark)),
            })?;
        let kv_bytes = kv_bytes_from_log(&ffi::log_since(mark));
        Ok(LlamaSession {
            ctx,
            batch: LlamaBatch::new(total as usize, cfg.max_batch as i32),
            max_batch: cfg.max_batch,
            max_seq: cfg.max_seq,
            n_vocab: engine.model.n_vocab().max(0) as usize,
            pos: Vec::new(),
            last: Vec::new(),
            kv_bytes,
            context: Vec::new(),
            forward_passes: 0,
            prefills: 0,
            prefills_on_empty_cache: 0,
        })
    }

    fn decode(&mut self, op: &'static str) -> Result<()> {
        self.forward_passes += 1;
        self.ctx.decode(&mut self.batch).map_err(|e| Error::Engine {
            backend: BACKEND,
            op,
            message: e.to_string(),
        })
    }

    /// Readies the cache for a prefill of `prompts` and returns each sequence's first
    /// position: with no kept context, an empty cache from 0; with one (`fill_context`),
    /// every cell after the context dropped (the previous generation's), from its end.
    fn keep_context(&mut self, prompts: &[Vec<Token>]) -> Result<Vec<i32>> {
        if self.context.is_empty() {
            self.ctx.clear_kv_cache();
            return Ok(vec![0; prompts.len()]);
        }
        if prompts.len() != self.context.len() {
            return Err(Error::Capacity {
                reason: format!(
                    "{} prompts on top of {} filled contexts",
                    prompts.len(),
                    self.context.len()
                ),
            });
        }
        for (seq, (p, c)) in prompts.iter().zip(&self.context).enumerate() {
            if p.len() + *c as usize >= self.max_seq as usize {
                return Err(Error::Capacity {
                    reason: format!(
                        "prompt {seq} of {} tokens after a context of {c} exceeds the session's {}",
                        p.len(),
                        self.max_seq
                    ),
                });
            }
            let removed = self
                .ctx
                .clear_kv_cache_seq(Some(seq as u32), Some(*c as u32), None)
                .map_err(|e| Error::Engine {
                    backend: BACKEND,
                    op: "trim cache to context",
                    message: e.to_string(),
                })?;
            if !removed {
                return Err(Error::Engine {
                    backend: BACKEND,
                    op: "trim cache to context",
                    message: "llama_memory_seq_rm refused a partial removal".into(),
                });
            }
        }
        Ok(self.context.clone())
    }

    /// Feeds `tokens` to sequence 0 at positions `start..` in one forward pass and returns
    /// the greedy choice after each of them (`all_rows`) or after the last one only: the
    /// speculative session's draft steps and verify batches.
    pub(super) fn feed(
        &mut self,
        tokens: &[Token],
        start: i32,
        all_rows: bool,
        op: &'static str,
    ) -> Result<Vec<Token>> {
        let end = start as usize + tokens.len();
        if tokens.is_empty() || end > self.max_seq as usize {
            return Err(Error::Capacity {
                reason: format!(
                    "{} tokens at position {start} in a session of {} per sequence",
                    tokens.len(),
                    self.max_seq
                ),
            });
        }
        self.batch.clear();
        for (j, t) in tokens.iter().enumerate() {
            let want = all_rows || j + 1 == tokens.len();
            self.batch
                .add(LlamaToken(*t), start + j as i32, &[0], want)
                .map_err(|e| Error::Capacity {
                    reason: e.to_string(),
                })?;
        }
        self.decode(op)?;
        let rows = self.batch.n_tokens();
        let first = if all_rows { 0 } else { rows - 1 };
        Ok((first..rows).map(|r| self.argmax(r)).collect())
    }

    /// Drops sequence 0's cells from position `pos` on (rejected speculative tokens).
    pub(super) fn drop_from(&mut self, pos: i32) -> Result<()> {
        let removed = self
            .ctx
            .clear_kv_cache_seq(Some(0), Some(pos as u32), None)
            .map_err(|e| Error::Engine {
                backend: BACKEND,
                op: "drop rejected tokens",
                message: e.to_string(),
            })?;
        if !removed {
            return Err(Error::Engine {
                backend: BACKEND,
                op: "drop rejected tokens",
                message: "llama_memory_seq_rm refused a partial removal".into(),
            });
        }
        Ok(())
    }

    /// Greedy choice from the logits of batch row `i`.
    fn argmax(&self, i: i32) -> Token {
        let logits = self.ctx.get_logits_ith(i);
        let mut best = 0usize;
        let mut best_v = f32::NEG_INFINITY;
        for (j, &v) in logits.iter().take(self.n_vocab).enumerate() {
            if v > best_v {
                best_v = v;
                best = j;
            }
        }
        best as Token
    }
}

impl Session for LlamaSession<'_> {
    fn clock(&self) -> Clock {
        Clock::HostMonotonic
    }

    fn kv_allocated_bytes(&self) -> Option<u64> {
        self.kv_bytes
    }

    /// What the session did so far: forward passes, and how many prefills started from an
    /// empty KV cache (all of them, unless the cache leaked across runs).
    fn setup_notes(&self) -> BTreeMap<String, String> {
        let mut m = BTreeMap::new();
        m.insert("forward_passes".into(), self.forward_passes.to_string());
        m.insert("prefills".into(), self.prefills.to_string());
        m.insert(
            "prefills_on_empty_kv_cache".into(),
            self.prefills_on_empty_cache.to_string(),
        );
        m
    }

    fn prefill(&mut self, prompts: &[Vec<Token>]) -> Result<Vec<Token>> {
        if prompts.is_empty() || prompts.len() > self.max_batch as usize {
            return Err(Error::Capacity {
                reason: format!(
                    "{} prompts for a session sized for batch {}",
                    prompts.len(),
                    self.max_batch
                ),
            });
        }
        for (i, p) in prompts.iter().enumerate() {
            if p.is_empty() || p.len() >= self.max_seq as usize {
                return Err(Error::Capacity {
                    reason: format!(
                        "prompt {i} has {} tokens; the session holds {} per sequence",
                        p.len(),
                        self.max_seq
                    ),
                });
            }
        }
        // Every run starts from an empty cache (or, at a context depth, from exactly the
        // kept context): nothing of an earlier run (a warmup with the same prompt prefix)
        // may shorten this prefill. Checked, not assumed.
        let base = self.keep_context(prompts)?;
        self.prefills += 1;
        let empty_beyond_context = (0..self.max_batch as i32).all(|s| {
            let kept = self.context.get(s as usize).copied().unwrap_or(0);
            self.ctx.kv_cache_seq_pos_max(s) < kept
        });
        if empty_beyond_context {
            self.prefills_on_empty_cache += 1;
        }
        self.batch.clear();
        let mut rows = Vec::with_capacity(prompts.len());
        for (seq, p) in prompts.iter().enumerate() {
            for (j, t) in p.iter().enumerate() {
                let last = j + 1 == p.len();
                self.batch
                    .add(LlamaToken(*t), base[seq] + j as i32, &[seq as i32], last)
                    .map_err(|e| Error::Capacity {
                        reason: e.to_string(),
                    })?;
            }
            rows.push(self.batch.n_tokens() - 1);
        }
        self.decode("prefill")?;
        let first: Vec<Token> = rows.iter().map(|r| self.argmax(*r)).collect();
        self.pos = prompts
            .iter()
            .zip(&base)
            .map(|(p, b)| b + p.len() as i32)
            .collect();
        self.last = first.clone();
        Ok(first)
    }

    fn fill_context(&mut self, contexts: &[Vec<Token>]) -> Result<()> {
        if contexts.is_empty() || contexts.len() > self.max_batch as usize {
            return Err(Error::Capacity {
                reason: format!(
                    "{} contexts for a session sized for batch {}",
                    contexts.len(),
                    self.max_batch
                ),
            });
        }
        if let Some(c) = contexts.iter().find(|c| c.len() >= self.max_seq as usize) {
            return Err(Error::Capacity {
                reason: format!(
                    "a context of {} tokens fills the session's {} per sequence",
                    c.len(),
                    self.max_seq
                ),
            });
        }
        self.ctx.clear_kv_cache();
        self.batch.clear();
        for (seq, c) in contexts.iter().enumerate() {
            for (j, t) in c.iter().enumerate() {
                self.batch
                    .add(LlamaToken(*t), j as i32, &[seq as i32], false)
                    .map_err(|e| Error::Capacity {
                        reason: e.to_string(),
                    })?;
            }
        }
        self.decode("fill context")?;
        self.context = contexts.iter().map(|c| c.len() as i32).collect();
        self.pos.clear();
        self.last.clear();
        Ok(())
    }

    fn decode_step(&mut self) -> Result<Vec<Token>> {
        if self.last.is_empty() {
            return Err(Error::config("decode", "decode_step called before prefill"));
        }
        if self.pos.iter().any(|p| *p as u32 >= self.max_seq) {
            return Err(Error::Capacity {
                reason: format!("sequence reached the session's {} tokens", self.max_seq),
            });
        }
        self.batch.clear();
        for seq in 0..self.last.len() {
            self.batch
                .add(
                    LlamaToken(self.last[seq]),
                    self.pos[seq],
                    &[seq as i32],
                    true,
                )
                .map_err(|e| Error::Capacity {
                    reason: e.to_string(),
                })?;
        }
        self.decode("decode")?;
        let next: Vec<Token> = (0..self.last.len() as i32)
            .map(|i| self.argmax(i))
            .collect();
        for p in &mut self.pos {
            *p += 1;
        }
        self.last.clone_from(&next);
        Ok(next)
    }

    fn score(&mut self, tokens: &[Token], first_scored: usize) -> Result<(f64, usize)> {
        if tokens.len() > self.max_seq as usize {
            return Err(Error::Capacity {
                reason: format!(
                    "{} tokens to score in a session of {}",
                    tokens.len(),
                    self.max_seq
                ),
            });
        }
        let first_scored = first_scored.max(1);
        if first_scored >= tokens.len() {
            return Ok((0.0, 0));
        }
        self.ctx.clear_kv_cache();
        self.context.clear();
        self.batch.clear();
        for (j, t) in tokens.iter().enumerate() {
            // Row j's logits predict token j + 1.
            let want = j + 1 >= first_scored && j + 1 < tokens.len();
            self.batch
                .add(LlamaToken(*t), j as i32, &[0], want)
                .map_err(|e| Error::Capacity {
                    reason: e.to_string(),
                })?;
        }
        self.decode("score")?;
        let mut nll = 0.0f64;
        let mut n = 0usize;
        for j in (first_scored - 1)..(tokens.len() - 1) {
            let logits = self.ctx.get_logits_ith(j as i32);
            let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max) as f64;
            let lse = logits
                .iter()
                .map(|&v| (v as f64 - max).exp())
                .sum::<f64>()
                .ln()
                + max;
            nll += lse - logits[tokens[j + 1] as usize] as f64;
            n += 1;
        }
        self.pos.clear();
        self.last.clear();
        Ok((nll, n))
    }
}
