//! From raw request outcomes to the results schema's per-request records (TTFT, every ITL,
//! TPOT, E2EL, token counts), SLOs and whether a request meets them; the level's
//! summaries and scalars are in `aggregate`. Runs after a level, never on the hot path.
//! Depends on `record`, `units` and the client's own `http`/`tokenizer` types.
//!
//! Definitions (the same as vLLM's `bench serve` where they overlap): TTFT = send → first
//! event that carries text (a role-only or usage-only chunk is not a token); E2EL = send →
//! `[DONE]` (or end of body); TPOT = (E2EL − TTFT) / (output tokens − 1); output tokens =
//! the server's `usage.completion_tokens` when sent, else our tokenizer's count, else the
//! number of text events. ITL is reported two ways: `itl_chunk_ms` is every gap between
//! text events (what vLLM calls ITL), and `itl_ms` is per token: when an event carries k
//! tokens its gap is divided over the k tokens (k − 1 zeros for extra tokens in the first
//! event), so `itl_ms` has (output tokens − 1) values like the engine sweep's.

use std::collections::BTreeMap;
use std::time::Instant;

use super::http::{ErrorKind, Failure, Outcome};
use super::tokenizer::Tok;
use crate::record::RequestRecord;
use crate::units::ms;

/// Service-level objectives for goodput (all must hold for a request to count).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Slo {
    pub ttft_ms: Option<f64>,
    pub tpot_ms: Option<f64>,
    pub e2e_ms: Option<f64>,
}

impl Slo {
    pub fn is_empty(&self) -> bool {
        self.ttft_ms.is_none() && self.tpot_ms.is_none() && self.e2e_ms.is_none()
    }

    /// Parses `ttft=200ms,tpot=50ms,e2e=2s` (bare numbers are milliseconds).
    pub fn parse(s: &str) -> Result<Slo, String> {
        let mut slo = Slo::default();
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (k, v) = part
                .split_once('=')
                .ok_or_else(|| format!("{part:?} is not name=value (e.g. ttft=200ms)"))?;
            let v = v.trim();
            // A bare number would be read in some unit the user may not mean (vLLM's
            // --goodput takes ms, a timeout takes seconds): an SLO names its unit.
            if crate::units::split_number_unit(v).is_some_and(|(_, u)| u.is_empty()) {
                return Err(format!(
                    "{part:?}: give the unit: {v}ms or {v}s (e.g. ttft=200ms,tpot=50ms)"
                ));
            }
            let v = parse_ms(v)
                .ok_or_else(|| format!("{part:?}: {v:?} is not a duration (e.g. 200ms, 1.5s)"))?;
            match k.trim() {
                "ttft" => slo.ttft_ms = Some(v),
                "tpot" => slo.tpot_ms = Some(v),
                "e2e" | "e2el" => slo.e2e_ms = Some(v),
                other => return Err(format!("unknown SLO metric {other:?} (ttft, tpot, e2e)")),
            }
        }
        if slo.is_empty() {
            return Err("no SLO given (e.g. ttft=200ms,tpot=50ms)".into());
        }
        Ok(slo)
    }
}

/// Parses `200ms`, `1.5s`, `2m` or a bare number of milliseconds.
pub fn parse_ms(s: &str) -> Option<f64> {
    let (v, unit) = crate::units::split_number_unit(s)?;
    let mult = match unit {
        "" | "ms" => 1.0,
        "us" => 1e-3,
        "s" => 1e3,
        "m" | "min" => 60e3,
        _ => return None,
    };
    (v.is_finite() && v >= 0.0).then_some(v * mult)
}

/// What a request's numbers were computed from, beyond its outcome.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    /// Start of the measured phase (all `_s` fields are relative to it).
    pub t0: Instant,
    pub tok: Option<&'a Tok>,
    /// Responses whose `usage` gives an output count are not re-tokenized.
    pub trust_server_counts: bool,
}

/// Derived per-request values kept for the level aggregates.
#[derive(Debug, Clone, Default)]
pub struct Derived {
    pub itl_chunk_ms: Vec<f64>,
    /// Text events.
    pub chunks: u64,
    /// Our tokenizer's count of the generated text, when a tokenizer is known.
    pub our_output_tokens: Option<u64>,
    /// Our count of the prompt, when known.
    pub our_input_tokens: Option<u64>,
    /// TTFT / E2EL measured from the scheduled send time (open loop).
    pub ttft_sched_ms: Option<f64>,
    pub e2e_sched_ms: Option<f64>,
}

/// Splits `total` tokens over text events: one each when they match, else in proportion
/// to each event's own token count (or evenly without a tokenizer), by largest remainder,
/// at least one per event.
pub fn tokens_per_chunk(texts: &[&str], total: u64, tok: Option<&Tok>) -> Vec<u64> {
    let c = texts.len() as u64;
    if c == 0 {
        return Vec::new();
    }
    if total <= c {
        // Equal, or fewer tokens than events (a token split over two events): one each.
        return vec![1; texts.len()];
    }
    let weights: Vec<f64> = texts
        .iter()
        .map(|t| {
            tok.and_then(|k| k.count_plain(t))
                .map_or(1.0, |n| n.max(1) as f64)
        })
        .collect();
    let wsum: f64 = weights.iter().sum();
    // Every event holds at least one token; the remaining ones go by weight.
    let spare = (total - c) as f64;
    let exact: Vec<f64> = weights.iter().map(|w| spare * w / wsum).collect();
    let mut out: Vec<u64> = exact.iter().map(|x| 1 + x.floor() as u64).collect();
    let mut left = total - out.iter().sum::<u64>();
    let mut order: Vec<usize> = (0..texts.len()).collect();
    order.sort_by(|&a, &b| (exact[b] - exact[b].floor()).total_cmp(&(exact[a] - exact[a].floor())));
    for i in order.into_iter().cycle() {
        if left == 0 {
            break;
        }
        out[i] += 1;
        left -= 1;
    }
    out
}

/// A request's prompt tokens the server took from its prefix cache, against the prompt as
/// the server counted it (its chat template included): `cached_frac`. The tokens the
/// server counts beyond ours are its chat template, which every chat request shares by
/// construction, so a cache serves them whatever the salt: they are counted apart, and
/// `cached_beyond_template_tokens` (what the alarm reads) is what the cache took beyond
/// them.
pub(crate) fn cache_accounting(
    cached: u64,
    rec: &RequestRecord,
    extra: &mut BTreeMap<String, f64>,
) {
    extra.insert("cached_tokens".into(), cached as f64);
    let prompt = rec.server_input_tokens.unwrap_or(rec.input_tokens);
    if prompt > 0 {
        extra.insert("cached_frac".into(), cached as f64 / prompt as f64);
    }
    let template = rec
        .server_input_tokens
        .map_or(0, |s| s.saturating_sub(rec.input_tokens));
    if template > 0 {
        extra.insert("template_tokens".into(), template as f64);
    }
    extra.insert(
        "cached_beyond_template_tokens".into(),
        cached.saturating_sub(template) as f64,
    );
}

/// The record of one request, and what the aggregates need besides.
pub fn request_record(
    o: &Outcome,
    input_tokens: Option<u64>,
    cx: Context<'_>,
) -> (RequestRecord, Derived) {
    let since = |t: Instant| t.saturating_duration_since(cx.t0).as_secs_f64();
    let mut extra = BTreeMap::new();
    let mut d = Derived {
        chunks: o.pieces.len() as u64,
        our_input_tokens: input_tokens,
        ..Derived::default()
    };
    let mut rec = RequestRecord {
        start_s: since(o.sent),
        scheduled_s: o.scheduled.map(since),
        ttft_ms: None,
        e2e_ms: None,
        tpot_ms: None,
        itl_ms: Vec::new(),
        itl_chunk_ms: Vec::new(),
        input_tokens: input_tokens
            .or(o.usage.and_then(|u| u.prompt_tokens))
            .unwrap_or(0),
        output_tokens: 0,
        server_input_tokens: o.usage.and_then(|u| u.prompt_tokens),
        server_output_tokens: o.usage.and_then(|u| u.completion_tokens),
        http_status: o.status,
        error: o.failure.as_ref().map(|f| f.kind.as_str().to_owned()),
        extra: BTreeMap::new(),
    };
    if let (Some(s), Some(disp)) = (o.scheduled, o.dispatched) {
        extra.insert("send_lag_ms".into(), ms(disp.saturating_duration_since(s)));
        extra.insert(
            "queue_ms".into(),
            ms(o.sent.saturating_duration_since(disp)),
        );
    }
    if let Some(fb) = o.first_byte {
        extra.insert(
            "first_byte_ms".into(),
            ms(fb.saturating_duration_since(o.sent)),
        );
    }
    if o.retries > 0 {
        extra.insert("retries".into(), f64::from(o.retries));
    }
    server_timings(o, &mut extra);
    if let Some(c) = o.usage.and_then(|u| u.cached_tokens) {
        cache_accounting(c, &rec, &mut extra);
    }
    extra.insert("index".into(), o.index as f64);
    extra.insert("chunks".into(), o.pieces.len() as f64);
    extra.insert("events".into(), f64::from(o.events));

    let trusted = cx.trust_server_counts && rec.server_output_tokens.is_some();
    d.our_output_tokens = cx
        .tok
        .filter(|_| !trusted)
        .and_then(|t| o.text_tokens(|s| t.count_plain(s)));
    if o.ok() {
        timings(o, cx.tok, &mut rec, &mut d, &mut extra);
    } else {
        rec.output_tokens = rec
            .server_output_tokens
            .or(d.our_output_tokens)
            .unwrap_or(o.pieces.len() as u64);
        rec.e2e_ms = Some(ms(o.end.saturating_duration_since(o.sent)));
    }
    rec.extra = extra;
    (rec, d)
}

/// The server's own compute times, when it reports them (llama.cpp's `timings`):
/// `server_prompt_ms` (prompt processing) and `server_tpot_ms` (generation time after the
/// first token ÷ the tokens after it, as llama.cpp's `predicted_per_token_ms`).
fn server_timings(o: &Outcome, extra: &mut BTreeMap<String, f64>) {
    let Some(u) = o.usage else {
        return;
    };
    if let Some(p) = u.server_prompt_us {
        extra.insert("server_prompt_ms".into(), p as f64 / 1e3);
    }
    if let (Some(g), Some(n)) = (u.server_gen_us, u.server_gen_n) {
        if n > 1 {
            extra.insert("server_tpot_ms".into(), g as f64 / 1e3 / (n - 1) as f64);
        }
    }
    server_drafts(&u, extra);
}

/// A server speculating with a draft model (llama.cpp's `--model-draft`) reports per
/// request the draft tokens it proposed (`server_draft_n`) and those its target accepted
/// (`server_draft_accepted`); from them `spec_acceptance_rate` (accepted ÷ proposed) and,
/// with the generated count, the target's decode steps after the first token: each emits
/// one token of the target's own beside the accepted ones, so steps = generated − 1 −
/// accepted. `spec_mean_accepted_len` is tokens per step ((generated − 1) ÷ steps) and
/// `spec_accepted_per_step` accepted ÷ steps, as the in-process figures (a step that
/// proposed nothing, as the last one may, counts as a step).
fn server_drafts(u: &super::sse::Usage, extra: &mut BTreeMap<String, f64>) {
    let (Some(n), Some(acc)) = (u.server_draft_n, u.server_draft_accepted) else {
        return;
    };
    extra.insert("server_draft_n".into(), n as f64);
    extra.insert("server_draft_accepted".into(), acc as f64);
    if n > 0 {
        extra.insert("spec_acceptance_rate".into(), acc as f64 / n as f64);
    }
    let Some(after_first) = u.server_gen_n.and_then(|g| g.checked_sub(1)) else {
        return;
    };
    if let Some(steps) = after_first.checked_sub(acc).filter(|s| *s > 0) {
        extra.insert("spec_target_steps".into(), steps as f64);
        let per = |x: u64| x as f64 / steps as f64;
        extra.insert("spec_mean_accepted_len".into(), per(after_first));
        extra.insert("spec_accepted_per_step".into(), per(acc));
    }
}

/// TTFT, E2EL, TPOT and ITLs of a successful request (at least one text event), with
/// the output token count they are divided by and, in open loop, the latencies from the
/// scheduled send time.
fn timings(
    o: &Outcome,
    tok: Option<&Tok>,
    rec: &mut RequestRecord,
    d: &mut Derived,
    extra: &mut BTreeMap<String, f64>,
) {
    let first = o.pieces[0].at;
    let ttft = ms(first.saturating_duration_since(o.sent));
    let e2e = ms(o.end.saturating_duration_since(o.sent));
    let (out_tokens, source) = match (rec.server_output_tokens, d.our_output_tokens) {
        (Some(n), _) if n > 0 => (n, 0.0),
        (_, Some(n)) => (n, 1.0),
        _ => (o.pieces.len() as u64, 2.0),
    };
    // 0 = server usage, 1 = our tokenizer, 2 = one token per text event
    extra.insert("output_tokens_source".into(), source);
    rec.output_tokens = out_tokens;
    rec.ttft_ms = Some(ttft);
    rec.e2e_ms = Some(e2e);
    if e2e > 0.0 {
        // The request's own output rate: a per-request sample of output tok/s for compare.
        extra.insert(
            "request_output_tok_per_s".into(),
            out_tokens as f64 / (e2e / 1e3),
        );
    }
    if out_tokens > 1 {
        rec.tpot_ms = Some((e2e - ttft) / (out_tokens - 1) as f64);
    }
    let texts: Vec<&str> = o.pieces.iter().map(|p| p.text.as_str()).collect();
    let per_chunk = tokens_per_chunk(&texts, out_tokens, tok);
    rec.itl_ms.extend(std::iter::repeat_n(
        0.0,
        per_chunk[0].saturating_sub(1) as usize,
    ));
    for (i, w) in o.pieces.windows(2).enumerate() {
        let gap = ms(w[1].at.saturating_duration_since(w[0].at));
        d.itl_chunk_ms.push(gap);
        let k = per_chunk[i + 1];
        rec.itl_ms
            .extend(std::iter::repeat_n(gap / k as f64, k as usize));
    }
    // Raw per-event gaps are stored only when they differ from the per-token ones.
    if per_chunk.iter().any(|&k| k != 1) {
        rec.itl_chunk_ms = d.itl_chunk_ms.clone();
    }
    if let Some(s) = o.scheduled {
        let late = ms(o.sent.saturating_duration_since(s));
        d.ttft_sched_ms = Some(ttft + late);
        d.e2e_sched_ms = Some(e2e + late);
        extra.insert("ttft_sched_ms".into(), ttft + late);
        extra.insert("e2e_sched_ms".into(), e2e + late);
    }
}

/// Whether a successful request meets every SLO (latencies from the scheduled send time
/// when there is one, so queueing in the client counts against it).
pub fn meets(slo: &Slo, rec: &RequestRecord, d: &Derived) -> bool {
    if rec.error.is_some() {
        return false;
    }
    let ttft = d.ttft_sched_ms.or(rec.ttft_ms);
    let e2e = d.e2e_sched_ms.or(rec.e2e_ms);
    let le = |v: Option<f64>, lim: Option<f64>| match lim {
        None => true,
        Some(l) => v.is_some_and(|v| v <= l),
    };
    le(ttft, slo.ttft_ms) && le(rec.tpot_ms, slo.tpot_ms) && le(e2e, slo.e2e_ms)
}

/// Failure kinds in a stable order, for reports.
pub fn error_kinds() -> [ErrorKind; 17] {
    [
        ErrorKind::Connect,
        ErrorKind::Timeout,
        ErrorKind::Http4xx,
        ErrorKind::Http5xx,
        ErrorKind::HttpOther,
        ErrorKind::MalformedSse,
        ErrorKind::StreamError,
        ErrorKind::ClosedMidStream,
        ErrorKind::Read,
        ErrorKind::NoOutput,
        ErrorKind::NotStreaming,
        ErrorKind::EmptyBody,
        ErrorKind::NoDone,
        ErrorKind::TooManyTokens,
        ErrorKind::TooFewTokens,
        ErrorKind::UsageMismatch,
        ErrorKind::Panic,
    ]
}

/// Checks a completed response against its request, turning an anomalous one into a
/// failure so that it never feeds a latency or throughput figure: more tokens than
/// `max_tokens`, fewer than asked when `exact` (EOS ignored), and the server's `usage`
/// far from our own count of the text. Counts are the server's `usage` when sent, else
/// our tokenizer's, else the whitespace-separated words (each at least one token).
pub fn validate(o: &mut Outcome, max_tokens: u64, exact: bool, tok: Option<&Tok>) {
    if o.failure.is_some() {
        return;
    }
    let text = o.text();
    let ours = tok.and_then(|t| o.text_tokens(|s| t.count_plain(s)));
    let server = o.usage.and_then(|u| u.completion_tokens);
    let words = text.split_whitespace().count() as u64;
    // Re-tokenizing streamed text may differ from the server's count (merges across
    // events, odd tokens of a real model: 5 of 16 seen on llama.cpp); only far more text
    // than the server claims is a lie.
    let slack = |n: u64| (n / 4).max(4);
    let lie = |n: u64| n + 8;
    let fail = |kind: ErrorKind, detail: String| Some(Failure { kind, detail });
    let failure = match (server, ours) {
        (Some(s), _) if s > max_tokens => fail(
            ErrorKind::TooManyTokens,
            format!("usage says {s} tokens, max_tokens was {max_tokens}"),
        ),
        (Some(s), Some(n)) if n > 2 * lie(s) => fail(
            ErrorKind::UsageMismatch,
            format!("usage says {s} tokens, the text holds {n}"),
        ),
        (Some(s), None) if words > 2 * lie(s) => fail(
            ErrorKind::UsageMismatch,
            format!("usage says {s} tokens, the text holds {words} words"),
        ),
        (Some(s), _) if exact && s < max_tokens => fail(
            ErrorKind::TooFewTokens,
            format!("usage says {s} tokens, {max_tokens} were asked with ignore_eos"),
        ),
        (None, Some(n)) if n > max_tokens + slack(max_tokens) => fail(
            ErrorKind::TooManyTokens,
            format!("the text holds {n} tokens, max_tokens was {max_tokens}"),
        ),
        (None, Some(n)) if exact && n + slack(max_tokens) < max_tokens => fail(
            ErrorKind::TooFewTokens,
            format!("the text holds {n} tokens, {max_tokens} were asked with ignore_eos"),
        ),
        (None, None) if words > max_tokens + slack(max_tokens) => fail(
            ErrorKind::TooManyTokens,
            format!("the text holds {words} words, max_tokens was {max_tokens}"),
        ),
        _ => None,
    };
    o.failure = failure;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::aggregate::{aggregate, process_cpu_s, ClientLag, Level};
    use crate::client::http::Piece;
    use crate::client::sse::Usage;
    use std::time::Duration;

    fn outcome(t0: Instant, gaps_ms: &[u64], texts: &[&str], usage: Option<u64>) -> Outcome {
        let sent = t0 + Duration::from_millis(10);
        let mut o = Outcome::new(0, sent);
        let mut at = sent;
        for (g, t) in gaps_ms.iter().zip(texts) {
            at += Duration::from_millis(*g);
            o.pieces.push(Piece {
                at,
                text: (*t).into(),
            });
        }
        o.end = at + Duration::from_millis(1);
        o.complete = true;
        o.usage = usage.map(|n| Usage {
            prompt_tokens: Some(4),
            completion_tokens: Some(n),
            ..Usage::default()
        });
        o
    }

    #[test]
    fn ttft_itl_tpot_from_known_gaps() {
        let t0 = Instant::now();
        let o = outcome(t0, &[100, 20, 20, 20], &["a", "b", "c", "d"], Some(4));
        let (r, d) = request_record(
            &o,
            Some(4),
            Context {
                t0,
                tok: None,
                trust_server_counts: false,
            },
        );
        assert!((r.start_s - 0.010).abs() < 1e-9);
        assert_eq!(r.ttft_ms, Some(100.0));
        assert_eq!(r.e2e_ms, Some(161.0));
        assert_eq!(r.itl_ms, vec![20.0, 20.0, 20.0]);
        assert!(
            r.itl_chunk_ms.is_empty(),
            "same as itl_ms, not stored twice"
        );
        assert_eq!(d.itl_chunk_ms, vec![20.0, 20.0, 20.0]);
        assert!((r.tpot_ms.unwrap() - 61.0 / 3.0).abs() < 1e-9);
        assert_eq!(r.output_tokens, 4);
        assert_eq!(r.server_input_tokens, Some(4));
    }

    #[test]
    fn multi_token_chunks_split_their_gap() {
        let t0 = Instant::now();
        // 3 events carrying 6 tokens by usage; no tokenizer: spread evenly (2 each).
        let o = outcome(t0, &[50, 30, 10], &["ab", "cd", "ef"], Some(6));
        let (r, d) = request_record(
            &o,
            None,
            Context {
                t0,
                tok: None,
                trust_server_counts: false,
            },
        );
        assert_eq!(r.output_tokens, 6);
        assert_eq!(r.itl_ms, vec![0.0, 15.0, 15.0, 5.0, 5.0]);
        assert_eq!(r.itl_chunk_ms, vec![30.0, 10.0]);
        assert_eq!(d.chunks, 3);
        assert_eq!(
            tokens_per_chunk(&["a", "b"], 5, None).iter().sum::<u64>(),
            5
        );
        assert_eq!(tokens_per_chunk(&["a", "b", "c"], 2, None), vec![1, 1, 1]);
    }

    #[test]
    fn failed_requests_and_goodput_and_lag() {
        let t0 = Instant::now();
        let good = outcome(t0, &[100, 10], &["a", "b"], Some(2));
        let slow = outcome(t0, &[300, 10], &["a", "b"], Some(2));
        let mut bad = Outcome::new(2, t0);
        bad.failure = Some(Failure {
            kind: ErrorKind::Http5xx,
            detail: "boom".into(),
        });
        bad.status = Some(503);
        let cx = Context {
            t0,
            tok: None,
            trust_server_counts: false,
        };
        let (mut recs, mut ders) = (Vec::new(), Vec::new());
        for o in [&good, &slow, &bad] {
            let (r, d) = request_record(o, Some(4), cx);
            recs.push(r);
            ders.push(d);
        }
        assert_eq!(recs[2].error.as_deref(), Some("http_5xx"));
        let slo = Slo::parse("ttft=200ms,tpot=50ms").unwrap();
        let lag = ClientLag {
            event_loop_ms: vec![0.1; 100],
            cpu_s: Some(0.5),
            cores: 2,
        };
        let a = aggregate(&Level {
            records: &recs,
            derived: &ders,
            duration: Duration::from_secs(1),
            offered_rate: None,
            slo: Some(&slo),
            lag: &lag,
            max_lag_ms: 10.0,
            kernel_stamps: false,
            chat: false,
            timeout: Duration::from_secs(5),
            cache_expected: false,
        });
        assert_eq!(a.scalars["completed"], 2.0);
        assert_eq!(a.scalars["failed_http_5xx"], 1.0);
        assert_eq!(a.scalars["goodput_req_per_s"], 1.0);
        assert!((a.scalars["goodput_frac"] - 1.0 / 3.0).abs() < 1e-12);
        assert_eq!(a.summary["ttft_ms"].n, 2);
        assert_eq!(a.summary["output_tok_per_s"].mean, 4.0);
        assert!(a.valid);
        assert!(a
            .warnings
            .iter()
            .any(|w| w.to_string().contains("1 http_5xx")));

        // The same level without SLOs, under a given client lag and way of timing tokens.
        let unsloped = |records: &[RequestRecord], lag: &ClientLag, kernel_stamps: bool| {
            aggregate(&Level {
                records,
                derived: &ders,
                duration: Duration::from_secs(1),
                offered_rate: None,
                slo: None,
                lag,
                max_lag_ms: 10.0,
                kernel_stamps,
                chat: false,
                timeout: Duration::from_secs(5),
                cache_expected: false,
            })
        };
        let laggy = ClientLag {
            event_loop_ms: vec![50.0; 10],
            cpu_s: None,
            cores: 2,
        };
        let a = unsloped(&recs, &laggy, false);
        assert!(!a.valid);
        assert_eq!(a.scalars["client_valid"], 0.0);
        let text: Vec<String> = a.warnings.iter().map(|w| w.to_string()).collect();
        assert!(
            text.iter()
                .any(|w| w.starts_with("INVALID") && w.contains("itl_ms")),
            "{text:?}"
        );
        // The same lag with kernel-stamped tokens moves no latency: a note, still valid.
        let a = unsloped(&recs, &laggy, true);
        assert!(a.valid);
        let text: Vec<String> = a.warnings.iter().map(|w| w.to_string()).collect();
        assert!(
            text.iter()
                .any(|w| w.starts_with("note: the client's event loop")),
            "{text:?}"
        );
        // Read-timed, a lag small beside every latency it could move is a note too.
        let small = ClientLag {
            event_loop_ms: vec![12.0; 10],
            cpu_s: None,
            cores: 2,
        };
        let long: Vec<RequestRecord> = recs
            .iter()
            .map(|r| RequestRecord {
                itl_ms: r.itl_ms.iter().map(|_| 400.0).collect(),
                ttft_ms: r.ttft_ms.map(|_| 400.0),
                e2e_ms: r.e2e_ms.map(|_| 800.0),
                ..r.clone()
            })
            .collect();
        let a = unsloped(&long, &small, false);
        assert!(a.valid, "12 ms of lag is 3% of a 400 ms gap");
    }

    #[test]
    fn slo_and_duration_parsing() {
        let s = Slo::parse("ttft=200ms, tpot=0.05s,e2e=2s").unwrap();
        assert_eq!(s.ttft_ms, Some(200.0));
        assert_eq!(s.tpot_ms, Some(50.0));
        assert_eq!(s.e2e_ms, Some(2000.0));
        let e = Slo::parse("ttft=200").unwrap_err();
        assert!(e.contains("200ms or 200s"), "{e}");
        assert!(Slo::parse("ttfb=1ms").unwrap_err().contains("ttfb"));
        assert!(Slo::parse("ttft=fast").is_err());
        assert!(Slo::parse("").is_err());
        assert_eq!(parse_ms("1.5s"), Some(1500.0));
        assert_eq!(parse_ms("-1"), None);
    }

    #[test]
    fn reads_own_cpu_time() {
        let t = process_cpu_s().expect("/proc/self/stat is readable on Linux");
        assert!(t >= 0.0);
    }

    #[test]
    fn anomalous_responses_become_failures() {
        let t0 = Instant::now();
        let kind = |mut o: Outcome, max: u64, exact: bool| {
            validate(&mut o, max, exact, None);
            o.failure.map(|f| f.kind.as_str())
        };
        let ok = outcome(t0, &[5, 5], &[" a", " b"], Some(2));
        assert_eq!(kind(ok.clone(), 2, true), None);
        assert_eq!(kind(ok.clone(), 4, false), None, "EOS may end it early");
        assert_eq!(kind(ok.clone(), 4, true), Some("too_few_tokens"));
        assert_eq!(kind(ok, 1, false), Some("too_many_tokens"));
        let flood = " w".repeat(5000);
        let one_event = outcome(t0, &[5], &[flood.as_str()], None);
        assert_eq!(kind(one_event.clone(), 8, false), Some("too_many_tokens"));
        let mut lying = one_event;
        lying.usage = Some(Usage {
            completion_tokens: Some(8),
            ..Usage::default()
        });
        assert_eq!(kind(lying, 8, true), Some("usage_mismatch"));
    }

    /// A speculating server's per-request draft counts become per-request acceptance and
    /// step figures, and the level pools them (accepted ÷ proposed over all requests, not
    /// the mean of the requests' rates); a plain server's requests get none of them.
    #[test]
    fn server_draft_counts_per_request_and_pooled_per_level() {
        let t0 = Instant::now();
        let cx = Context {
            t0,
            tok: None,
            trust_server_counts: true,
        };
        // (generated, proposed, accepted): 17 tokens, 16 proposed, 12 accepted → 16 tokens
        // after the first in 4 target steps; 9 tokens, 8 proposed, 2 accepted → 6 steps.
        let drafted = |(gen, n, acc): (u64, u64, u64)| {
            let mut o = outcome(t0, &[10, 10], &["a", "b"], Some(gen));
            let u = o.usage.as_mut().unwrap();
            (u.server_gen_n, u.server_draft_n, u.server_draft_accepted) =
                (Some(gen), Some(n), Some(acc));
            request_record(&o, None, cx)
        };
        let (recs, ders): (Vec<_>, Vec<_>) =
            [(17, 16, 12), (9, 8, 2)].into_iter().map(drafted).unzip();
        let e = &recs[0].extra;
        assert_eq!(e["server_draft_n"], 16.0);
        assert_eq!(e["server_draft_accepted"], 12.0);
        assert_eq!(e["spec_acceptance_rate"], 0.75);
        assert_eq!(e["spec_target_steps"], 4.0);
        assert_eq!(e["spec_mean_accepted_len"], 4.0);
        assert_eq!(e["spec_accepted_per_step"], 3.0);
        assert_eq!(recs[1].extra["spec_mean_accepted_len"], 8.0 / 6.0);
        let lag = ClientLag::default();
        let level = |records: &[RequestRecord]| {
            aggregate(&Level {
                records,
                derived: &ders,
                duration: Duration::from_secs(1),
                offered_rate: None,
                slo: None,
                lag: &lag,
                max_lag_ms: 10.0,
                kernel_stamps: false,
                chat: false,
                timeout: Duration::from_secs(5),
                cache_expected: false,
            })
        };
        let a = level(&recs);
        assert_eq!(a.scalars["server_draft_n"], 24.0);
        assert_eq!(a.scalars["server_draft_accepted"], 14.0);
        assert_eq!(a.scalars["spec_acceptance_rate_pooled"], 14.0 / 24.0);
        assert!((a.scalars["spec_mean_accepted_len_pooled"] - 24.0 / 10.0).abs() < 1e-12);
        let rate = &a.summary["spec_acceptance_rate"];
        assert_eq!((rate.n, rate.mean), (2, (0.75 + 0.25) / 2.0));
        assert_eq!(a.summary["spec_accepted_per_step"].max, 3.0);

        let plain: Vec<RequestRecord> = (0..2)
            .map(|_| request_record(&outcome(t0, &[10, 10], &["a", "b"], Some(2)), None, cx).0)
            .collect();
        assert!(plain[0]
            .extra
            .keys()
            .all(|k| !k.contains("draft") && !k.starts_with("spec_")));
        let a = level(&plain);
        assert!(!a.scalars.contains_key("server_draft_n"));
        assert!(!a.summary.contains_key("spec_acceptance_rate"));
    }
}
