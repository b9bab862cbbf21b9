//! The multi-turn workload (`--workload multi-turn --turns T --turn-len L`): each
//! conversation is one user who sends T turns, one after the other. Turn 1 is a unique
//! random prompt of `--isl` tokens; every later turn carries the whole history (the
//! earlier user texts and the server's actual replies) and then L new tokens of user text,
//! so its prompt grows by the previous reply plus L. Turn k+1 is built and sent only once
//! turn k's reply has fully arrived (and after `--think-time`); a failed turn ends its
//! conversation. The history is a prefix the server has just seen, so prefix-cache hits
//! are expected; the level's figures are also kept per turn (`turn<k>_ttft_ms_p50`, ...),
//! which shows TTFT growing with the history, or not, with a prefix cache.
//!
//! The user texts are made before the level starts (exact length with the tokenizer in
//! use, local or the server's); only the bodies, which need the replies, are built while
//! it runs, between turns, off the timed path. Requests are numbered conversation by
//! conversation: request `c × T + t` is turn `t + 1` of conversation `c`. The closed
//! loop that sends them lives here too (`scheduler` runs it for a multi-turn level).
//! Depends on `prompts`, `server_tok`, `http` (the request body), `scheduler` (one
//! timed request) and `stats`.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde_json::{json, Value};
use tokio::sync::watch;
use tokio::task::JoinSet;

use super::http::{self, Endpoint, Outcome};
use super::prompts::{level_seed, Length, Prompt, Source};
use super::scheduler::{request, stopped, Shared};
use crate::error::{Error, Result};
use crate::record::RequestRecord;

/// The shape of a multi-turn workload.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MultiTurn {
    /// Turns per conversation (at least 1).
    pub turns: usize,
    /// Tokens of new user text in every turn after the first (special tokens not counted:
    /// they sit mid-prompt).
    pub turn_len: u64,
    /// Pause between a reply's end and the next turn's send (a user reading and typing).
    pub think: Duration,
}

/// The user texts of `n` conversations, flattened (`n × turns` prompts, conversation by
/// conversation): turn 1 from `first` (the source's own unique, exact-length prompts of
/// `isl` tokens), later turns exactly `turn_len` text tokens each. Later turns have no
/// `input_tokens`: their prompt is the history, whose length the server reports.
pub fn prompts(
    first: &Source,
    spec: MultiTurn,
    n: usize,
    seed: u64,
    salt: u64,
) -> Result<Vec<Prompt>> {
    let heads = first.prompts(n, seed, salt)?;
    let later = n * (spec.turns - 1);
    let rest = turn_texts(first, later, spec.turn_len, seed, salt)?;
    let mut rest = rest.into_iter();
    let mut out = Vec::with_capacity(n * spec.turns);
    for h in heads {
        out.push(h);
        out.extend(rest.by_ref().take(spec.turns - 1));
    }
    Ok(out)
}

/// `n` user texts of exactly `len` text tokens, with their output lengths.
fn turn_texts(src: &Source, n: usize, len: u64, seed: u64, salt: u64) -> Result<Vec<Prompt>> {
    let seed = level_seed(seed, 0x5455_524E);
    match src {
        Source::Random { maker, osl, .. } => {
            let special = maker.tok().special_added as u64;
            let mut words = ChaCha8Rng::seed_from_u64(level_seed(seed ^ salt, salt));
            let mut lens = ChaCha8Rng::seed_from_u64(seed);
            (0..n)
                .map(|_| {
                    // `exact` counts the special tokens the tokenizer adds around a
                    // whole prompt; mid-prompt there are none.
                    let text = maker
                        .exact(len + special, &mut words)
                        .map_err(|r| Error::config("--turn-len", r))?;
                    Ok(Prompt {
                        text,
                        input_tokens: None,
                        output_tokens: osl.sample(&mut lens),
                    })
                })
                .collect()
        }
        Source::Server { tok, osl, .. } => {
            let special = tok.special_added as u64;
            let mut p = tok.random(n, Length::fixed(len + special), *osl, seed, salt)?;
            for q in &mut p {
                q.input_tokens = None;
            }
            Ok(p)
        }
        _ => Err(Error::config(
            "--workload",
            "multi-turn makes its own prompts: drop --dataset, --trace and other workloads",
        )),
    }
}

/// What one turn's request needs, besides the history: set once per level.
#[derive(Debug, Clone)]
pub struct Script {
    pub endpoint: Endpoint,
    pub model: String,
    pub ignore_eos: bool,
    pub extra: serde_json::Map<String, Value>,
    pub spec: MultiTurn,
    /// Every request's new user text and output length, flattened as [`prompts`] made them.
    pub turns: Vec<(String, u64)>,
}

impl Script {
    /// Conversations in the level.
    pub fn conversations(&self) -> usize {
        self.turns.len() / self.spec.turns.max(1)
    }

    /// The body of request `index` (turn `index mod T` of its conversation), after
    /// `replies` (the conversation's earlier replies, in order).
    pub fn body(&self, index: usize, replies: &[String]) -> Vec<u8> {
        let t = self.spec.turns.max(1);
        let (c, turn) = (index / t, index % t);
        let users: Vec<&str> = (0..=turn)
            .map(|k| self.turns[c * t + k].0.as_str())
            .collect();
        body(
            self.endpoint,
            &self.model,
            &users,
            &replies[..turn],
            self.turns[index].1,
            self.ignore_eos,
            &self.extra,
        )
    }
}

/// A request body carrying a conversation: `users[k]` then `replies[k]` for every earlier
/// turn, then the last user text. Chat: one message per turn and role. Completions: one
/// text, the replies where the model wrote them (right after their prompt), each user text
/// after a space unless it starts with one. Every other field is what `http::body` sends
/// for one prompt, so a turn differs from a single request only in its prompt.
pub fn body(
    endpoint: Endpoint,
    model: &str,
    users: &[&str],
    replies: &[String],
    max_tokens: u64,
    ignore_eos: bool,
    extra: &serde_json::Map<String, Value>,
) -> Vec<u8> {
    let template = http::body(endpoint, model, "", max_tokens, ignore_eos, extra);
    let mut v: Value = serde_json::from_slice(&template).expect("http::body writes JSON");
    let last = users.last().copied().unwrap_or_default();
    match endpoint {
        Endpoint::Chat => {
            let mut messages = Vec::with_capacity(2 * users.len());
            for (u, r) in users.iter().zip(replies) {
                messages.push(json!({"role": "user", "content": u}));
                messages.push(json!({"role": "assistant", "content": r}));
            }
            messages.push(json!({"role": "user", "content": last}));
            v["messages"] = Value::Array(messages);
        }
        Endpoint::Completions => {
            let mut text = String::new();
            for (u, r) in users.iter().zip(replies) {
                join(&mut text, u);
                text.push_str(r);
            }
            join(&mut text, last);
            v["prompt"] = Value::String(text);
        }
    }
    serde_json::to_vec(&v).expect("a JSON value always serializes")
}

/// Appends a user text to a completions history, a space apart.
fn join(text: &mut String, user: &str) {
    let spaced = text.is_empty()
        || text.ends_with(char::is_whitespace)
        || user.starts_with(char::is_whitespace);
    if !spaced {
        text.push(' ');
    }
    text.push_str(user);
}

/// The per-turn figures of a level's successful requests, as scalars: for turn k (from 1)
/// `turn<k>_requests`, `turn<k>_ttft_ms_p50` / `_mean`, `turn<k>_e2e_ms_p50`,
/// `turn<k>_input_tokens_mean` (the prompt, history included, as the server counted it)
/// and, when the server reports it, `turn<k>_cached_prompt_frac`. Empty unless the
/// records carry a `turn` (a multi-turn level).
pub fn turn_scalars(ok: &[&RequestRecord]) -> BTreeMap<String, f64> {
    let mut by_turn: BTreeMap<u64, Vec<&RequestRecord>> = BTreeMap::new();
    for r in ok {
        if let Some(t) = r.extra.get("turn") {
            by_turn.entry(*t as u64).or_default().push(r);
        }
    }
    let mut out = BTreeMap::new();
    for (t, rs) in by_turn {
        let mut put = |name: &str, v: f64| {
            out.insert(format!("turn{t}_{name}"), v);
        };
        put("requests", rs.len() as f64);
        let stat = |f: &dyn Fn(&RequestRecord) -> Option<f64>| {
            let v: Vec<f64> = rs.iter().filter_map(|r| f(r)).collect();
            crate::stats::summarize(&v, "", None)
        };
        if let Some(s) = stat(&|r| r.ttft_ms) {
            put("ttft_ms_p50", s.p50);
            put("ttft_ms_mean", s.mean);
        }
        if let Some(s) = stat(&|r| r.e2e_ms) {
            put("e2e_ms_p50", s.p50);
        }
        if let Some(s) = stat(&|r| Some(r.input_tokens as f64)) {
            put("input_tokens_mean", s.mean);
        }
        if let Some(s) = stat(&|r| r.extra.get("cached_frac").copied()) {
            put("cached_prompt_frac", s.mean);
        }
    }
    out
}

/// Closed loop over whole conversations: `concurrency` workers, each taking the next
/// conversation and sending its turns one after the other, turn k+1 only once turn k's
/// reply has fully arrived (and `think` later), carrying that reply. A failed turn ends
/// its conversation (the next turn has no reply to carry).
pub(super) async fn closed_loop(
    shared: &Arc<Shared>,
    script: &Arc<Script>,
    concurrency: usize,
    deadline: Option<Instant>,
    stop: &watch::Receiver<bool>,
) -> (Vec<Outcome>, bool) {
    let next = Arc::new(AtomicUsize::new(0));
    let interrupted = Arc::new(AtomicBool::new(false));
    let turns = script.spec.turns.max(1);
    let mut set = JoinSet::new();
    for _ in 0..concurrency.max(1) {
        let (shared, script, next, interrupted) = (
            shared.clone(),
            script.clone(),
            next.clone(),
            interrupted.clone(),
        );
        let mut stop = stop.clone();
        set.spawn(async move {
            let mut mine = Vec::new();
            let go_on = |stop: &watch::Receiver<bool>| {
                !shared.abort.load(Ordering::Relaxed)
                    && !*stop.borrow()
                    && deadline.is_none_or(|d| Instant::now() < d)
            };
            'conversations: while go_on(&stop) {
                let c = next.fetch_add(1, Ordering::Relaxed);
                if c >= script.conversations() {
                    break;
                }
                let mut replies: Vec<String> = Vec::with_capacity(turns);
                for t in 0..turns {
                    if t > 0 && !script.spec.think.is_zero() {
                        tokio::select! {
                            _ = tokio::time::sleep(script.spec.think) => {}
                            _ = stopped(&mut stop) => {
                                interrupted.store(true, Ordering::Relaxed);
                                break 'conversations;
                            }
                        }
                    }
                    if !go_on(&stop) {
                        break 'conversations;
                    }
                    let i = c * turns + t;
                    let body = script.body(i, &replies);
                    tokio::select! {
                        o = request(&shared, i, body) => {
                            shared.note(&o);
                            let ok = o.ok();
                            replies.push(o.text());
                            mine.push(o);
                            if !ok {
                                break;
                            }
                        }
                        _ = stopped(&mut stop) => {
                            interrupted.store(true, Ordering::Relaxed);
                            break 'conversations;
                        }
                    }
                }
            }
            mine
        });
    }
    let mut out = Vec::new();
    while let Some(r) = set.join_next().await {
        if let Ok(mut v) = r {
            out.append(&mut v);
        }
    }
    (out, interrupted.load(Ordering::Relaxed))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(b: &[u8]) -> Value {
        serde_json::from_slice(b).unwrap()
    }

    #[test]
    fn chat_turns_carry_every_earlier_message_in_order() {
        let replies = vec![" one reply".to_string(), " two".to_string()];
        let b = parse(&body(
            Endpoint::Chat,
            "m",
            &["first", "second", "third"],
            &replies,
            7,
            true,
            &serde_json::Map::new(),
        ));
        let roles: Vec<&str> = b["messages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["role"].as_str().unwrap())
            .collect();
        assert_eq!(
            roles,
            ["user", "assistant", "user", "assistant", "user"],
            "{b}"
        );
        assert_eq!(b["messages"][1]["content"], " one reply");
        assert_eq!(b["messages"][4]["content"], "third");
        // The rest is what a single request sends.
        assert_eq!(b["max_tokens"], 7);
        assert_eq!(b["min_tokens"], 7);
        assert_eq!(b["stream"], true);
        assert!(b.get("prompt").is_none());
    }

    #[test]
    fn completions_history_is_one_text_with_replies_where_written() {
        let mut extra = serde_json::Map::new();
        extra.insert("top_k".into(), json!(1));
        let replies = vec![" and then".to_string()];
        let b = parse(&body(
            Endpoint::Completions,
            "m",
            &["Once upon a time", "next"],
            &replies,
            3,
            false,
            &extra,
        ));
        assert_eq!(b["prompt"], "Once upon a time and then next");
        assert_eq!(b["top_k"], 1);
        assert!(b.get("min_tokens").is_none());
        let first = parse(&body(
            Endpoint::Completions,
            "m",
            &[" lone"],
            &[],
            3,
            false,
            &extra,
        ));
        assert_eq!(first["prompt"], " lone", "turn 1 is the prompt as made");
    }

    #[test]
    fn script_numbers_requests_conversation_by_conversation() {
        let turns = (0..6)
            .map(|i| (format!("u{i}"), 4 + i as u64))
            .collect::<Vec<_>>();
        let s = Script {
            endpoint: Endpoint::Chat,
            model: "m".into(),
            ignore_eos: false,
            extra: serde_json::Map::new(),
            spec: MultiTurn {
                turns: 3,
                turn_len: 1,
                think: Duration::ZERO,
            },
            turns,
        };
        assert_eq!(s.conversations(), 2);
        // Request 5: conversation 1, turn 3, after that conversation's two replies.
        let b = parse(&s.body(5, &["r3".into(), "r4".into()]));
        let contents: Vec<&str> = b["messages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["content"].as_str().unwrap())
            .collect();
        assert_eq!(contents, ["u3", "r3", "u4", "r4", "u5"]);
        assert_eq!(b["max_tokens"], 9);
        let b = parse(&s.body(3, &[]));
        assert_eq!(b["messages"].as_array().unwrap().len(), 1);
    }

    #[test]
    fn turn_scalars_group_by_turn() {
        let rec = |turn: f64, ttft: f64, input: u64, cached: Option<f64>| {
            let mut extra = BTreeMap::new();
            extra.insert("turn".to_string(), turn);
            if let Some(c) = cached {
                extra.insert("cached_frac".to_string(), c);
            }
            RequestRecord {
                start_s: 0.0,
                scheduled_s: None,
                ttft_ms: Some(ttft),
                e2e_ms: Some(2.0 * ttft),
                tpot_ms: None,
                itl_ms: Vec::new(),
                itl_chunk_ms: Vec::new(),
                input_tokens: input,
                output_tokens: 4,
                server_input_tokens: None,
                server_output_tokens: None,
                http_status: None,
                error: None,
                extra,
            }
        };
        let rs = [
            rec(1.0, 10.0, 100, Some(0.0)),
            rec(1.0, 30.0, 100, Some(0.0)),
            rec(2.0, 5.0, 180, Some(0.5)),
            rec(2.0, 7.0, 190, Some(0.7)),
            rec(2.0, 9.0, 200, None),
        ];
        let refs: Vec<&RequestRecord> = rs.iter().collect();
        let s = turn_scalars(&refs);
        assert_eq!(s["turn1_requests"], 2.0);
        assert_eq!(s["turn1_ttft_ms_mean"], 20.0);
        assert_eq!(s["turn2_requests"], 3.0);
        assert_eq!(s["turn2_ttft_ms_p50"], 7.0);
        assert_eq!(s["turn2_e2e_ms_p50"], 14.0);
        assert_eq!(s["turn2_input_tokens_mean"], 190.0);
        assert!((s["turn2_cached_prompt_frac"] - 0.6).abs() < 1e-12);
        assert!(turn_scalars(&[&rec(1.0, 1.0, 1, None)]).contains_key("turn1_requests"));
        let mut plain = rec(1.0, 1.0, 1, None);
        plain.extra.clear();
        assert!(turn_scalars(&[&plain]).is_empty(), "not a multi-turn level");
    }
}
