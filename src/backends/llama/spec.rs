//! Speculative decoding on llama.cpp: a draft model and a target model sharing one
//! vocabulary, each in its own context. Each step the draft proposes up to `draft_max`
//! tokens one decode at a time, the target checks the proposal in one batch (the last
//! accepted token and every proposed token, logits on every row), and the longest prefix
//! of the proposal equal to the target's own greedy choices is kept, plus the target's
//! choice after it. The output is the target's greedy output without a draft (the
//! `llama-speculative` example's greedy rule). Batch 1 only. Owns no timing beyond the
//! split of each verify step into draft and target time; depends on the session's
//! `feed` and `drop_from` only.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use super::session::LlamaSession;
use super::LlamaEngine;
use crate::engine::{
    Generation, PhaseTimes, Request, Session, SessionConfig, SpecCounts, Token, TokenEvent,
};
use crate::error::{Error, Result};
use crate::record::Clock;

/// A target session verifying what a draft session proposes.
pub struct SpecSession<'a> {
    target: LlamaSession<'a>,
    draft: LlamaSession<'a>,
    draft_max: u32,
    /// Position of `last`, the newest output token, which neither cache holds yet.
    pos: i32,
    last: Token,
    /// Accepted tokens the draft's cache lacks, right before `last` (a fully accepted
    /// proposal's final token, which the draft proposed but never fed).
    pending: Vec<Token>,
    /// Every verify step of the session (warmup runs included), for its notes.
    total: SpecCounts,
}

/// What one verify step produced.
struct Step {
    /// Accepted draft tokens, then the target's own choice after them.
    tokens: Vec<Token>,
    proposed: u64,
    accepted: u64,
    draft: Duration,
    target: Duration,
}

impl<'a> SpecSession<'a> {
    pub(super) fn new(
        target: &'a LlamaEngine,
        draft: &'a LlamaEngine,
        cfg: &SessionConfig,
        draft_max: u32,
    ) -> Result<Self> {
        if cfg.max_batch != 1 {
            return Err(Error::config(
                "--draft",
                format!(
                    "speculative decoding runs batch 1 only on llama.cpp (got batch {}); \
                     sweep --batch 1 with --draft",
                    cfg.max_batch
                ),
            ));
        }
        if draft_max == 0 {
            return Err(Error::config("--draft-max", "must be at least 1"));
        }
        check_vocab(target, draft)?;
        Ok(SpecSession {
            target: LlamaSession::new(target, cfg)?,
            draft: LlamaSession::new(draft, cfg)?,
            draft_max,
            pos: 0,
            last: 0,
            pending: Vec::new(),
            total: SpecCounts::default(),
        })
    }

    /// One draft-and-verify step proposing `k` (≥ 1) tokens.
    fn step(&mut self, k: usize) -> Result<Step> {
        let t0 = Instant::now();
        let mut catch_up = std::mem::take(&mut self.pending);
        catch_up.push(self.last);
        let start = self.pos - (catch_up.len() as i32 - 1);
        let mut proposal = Vec::with_capacity(k);
        let mut d = self.draft.feed(&catch_up, start, false, "draft")?[0];
        proposal.push(d);
        while proposal.len() < k {
            let at = self.pos + proposal.len() as i32;
            d = self.draft.feed(&[d], at, false, "draft")?[0];
            proposal.push(d);
        }
        let mut draft = t0.elapsed();

        let t1 = Instant::now();
        let mut verify = Vec::with_capacity(k + 1);
        verify.push(self.last);
        verify.extend_from_slice(&proposal);
        let choices = self.target.feed(&verify, self.pos, true, "verify")?;
        let n = proposal
            .iter()
            .zip(&choices)
            .take_while(|(d, g)| d == g)
            .count();
        // The target keeps `last` and the accepted tokens; the rejected ones go.
        let keep = self.pos + n as i32 + 1;
        if n < k {
            self.target.drop_from(keep)?;
        }
        let target = t1.elapsed();

        // The draft's cache holds `last` and the proposal but its final token: cut it
        // after the accepted ones, or owe it that final token when all were accepted.
        let t2 = Instant::now();
        if n < k {
            self.draft.drop_from(keep)?;
        } else {
            self.pending.push(proposal[k - 1]);
        }
        draft += t2.elapsed();

        let mut tokens = proposal[..n].to_vec();
        tokens.push(choices[n]);
        self.pos = keep;
        self.last = choices[n];
        Ok(Step {
            tokens,
            proposed: k as u64,
            accepted: n as u64,
            draft,
            target,
        })
    }
}

/// The draft must tokenize as the target does: llama.cpp's `common_speculative_are_compatible`
/// checks the vocabulary type, BOS/EOS and every token's text; so does this, with equal sizes.
fn check_vocab(target: &LlamaEngine, draft: &LlamaEngine) -> Result<()> {
    let (t, d) = (target.model.vocab(), draft.model.vocab());
    let differs = |what: String| {
        Err(Error::config(
            "--draft",
            format!(
                "{} cannot draft for {}: {what}; a draft must share the target's vocabulary",
                draft.dir.display(),
                target.dir.display()
            ),
        ))
    };
    if t.vocab_type() != d.vocab_type() {
        return differs("the vocabulary types differ".into());
    }
    if t.n_tokens() != d.n_tokens() {
        return differs(format!("{} tokens vs {}", d.n_tokens(), t.n_tokens()));
    }
    if t.bos() != d.bos() || t.eos() != d.eos() {
        return differs("BOS or EOS differ".into());
    }
    if let Some(tok) = t.tokens().find(|tok| t.text(*tok) != d.text(*tok)) {
        return differs(format!("token {} differs", tok.0));
    }
    Ok(())
}

impl Session for SpecSession<'_> {
    fn clock(&self) -> Clock {
        Clock::HostMonotonic
    }

    fn kv_allocated_bytes(&self) -> Option<u64> {
        self.target.kv_allocated_bytes()
    }

    /// The target's notes, the draft's as `draft_*`, and the session's verify steps.
    fn setup_notes(&self) -> BTreeMap<String, String> {
        let mut m = self.target.setup_notes();
        for (k, v) in self.draft.setup_notes() {
            m.insert(format!("draft_{k}"), v);
        }
        m.insert("draft_max".into(), self.draft_max.to_string());
        m.insert(
            "spec_verify_steps".into(),
            self.total.verify_steps.to_string(),
        );
        m
    }

    /// Both models prefill the prompt (the draft needs it to propose); the first token is
    /// the target's.
    fn prefill(&mut self, prompts: &[Vec<Token>]) -> Result<Vec<Token>> {
        if prompts.len() != 1 {
            return Err(Error::Capacity {
                reason: format!(
                    "{} prompts for a speculative session (batch 1)",
                    prompts.len()
                ),
            });
        }
        let first = self.target.prefill(prompts)?;
        self.draft.prefill(prompts)?;
        self.pos = prompts[0].len() as i32;
        self.last = first[0];
        self.pending.clear();
        Ok(first)
    }

    /// A plain target step (no proposal); the draft catches up on the token next time.
    fn decode_step(&mut self) -> Result<Vec<Token>> {
        let next = self.target.feed(&[self.last], self.pos, false, "decode")?;
        self.pending.push(self.last);
        self.pos += 1;
        self.last = next[0];
        Ok(next)
    }

    /// Generates with draft-and-verify steps, each proposing at most as many tokens as
    /// are still wanted beyond its own choice, so exactly `output_len` come out. Tokens a
    /// step accepts become available together: the first gap is the step's time, the
    /// others 0, so the gaps still add up to E2E − TTFT.
    fn generate(
        &mut self,
        req: &Request<'_>,
        on_token: &mut dyn FnMut(TokenEvent),
    ) -> Result<Generation> {
        if req.output_len == 0 {
            return Err(Error::config("osl", "output length must be at least 1"));
        }
        let start = Instant::now();
        let first = self.prefill(req.prompts)?;
        let ttft = start.elapsed();
        let mut out = vec![first[0]];
        on_token(TokenEvent {
            seq: 0,
            index: 0,
            token: first[0],
            at: ttft,
        });
        let mut counts = SpecCounts::default();
        let mut steps = Vec::with_capacity(req.output_len as usize);
        let mut last = ttft;
        while out.len() < req.output_len as usize {
            let k = (self.draft_max as usize).min(req.output_len as usize - out.len() - 1);
            let tokens = if k == 0 {
                self.decode_step()?
            } else {
                let s = self.step(k)?;
                counts.verify_steps += 1;
                counts.proposed += s.proposed;
                counts.accepted += s.accepted;
                counts.draft += s.draft;
                counts.target += s.target;
                s.tokens
            };
            let now = start.elapsed();
            for (i, t) in tokens.into_iter().enumerate() {
                steps.push(if i == 0 { now - last } else { Duration::ZERO });
                on_token(TokenEvent {
                    seq: 0,
                    index: out.len() as u32,
                    token: t,
                    at: now,
                });
                out.push(t);
            }
            last = now;
        }
        self.total.verify_steps += counts.verify_steps;
        self.total.proposed += counts.proposed;
        self.total.accepted += counts.accepted;
        Ok(Generation {
            tokens: vec![out],
            device: None,
            spec: Some(counts),
            times: PhaseTimes {
                clock: Clock::HostMonotonic,
                prefill: ttft,
                ttft,
                steps,
                e2e: last,
            },
        })
    }
}
