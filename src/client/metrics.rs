//! From raw request outcomes to the results schema: per-request records (TTFT, every ITL,
//! TPOT, E2EL, token counts) and the level's summaries and scalars (throughput, goodput
//! under SLOs, failures by kind, client lag, token-count agreement with the server). Runs
//! after a level, never on the hot path. Depends on `record`, `bench::stats` and the
//! client's own `http`/`tokenizer` types.
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
use std::time::{Duration, Instant};

use super::http::{ErrorKind, Outcome};
use super::tokenizer::Tok;
use crate::record::{Clock, RequestRecord, Summary};
use crate::stats;
use crate::units::ms;
use crate::warning::Warning;

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
            let v = parse_ms(v.trim()).ok_or_else(|| {
                format!("{part:?}: {v:?} is not a duration (e.g. 200ms, 1.5s, 200)")
            })?;
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
    extra.insert("chunks".into(), o.pieces.len() as f64);
    extra.insert("events".into(), f64::from(o.events));

    let text = o.text();
    d.our_output_tokens = cx.tok.and_then(|t| t.count_plain(&text));
    if o.ok() {
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
        if out_tokens > 1 {
            rec.tpot_ms = Some((e2e - ttft) / (out_tokens - 1) as f64);
        }
        let texts: Vec<&str> = o.pieces.iter().map(|p| p.text.as_str()).collect();
        let per_chunk = tokens_per_chunk(&texts, out_tokens, cx.tok);
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

/// What the scheduler observed about itself during a level.
#[derive(Debug, Clone, Default)]
pub struct ClientLag {
    /// Event-loop delay samples: how late a periodic timer fired.
    pub event_loop_ms: Vec<f64>,
    /// CPU seconds this process used during the level.
    pub cpu_s: Option<f64>,
    pub cores: usize,
}

/// Everything a level's aggregates are computed from.
#[derive(Debug)]
pub struct Level<'a> {
    pub records: &'a [RequestRecord],
    pub derived: &'a [Derived],
    /// From the start of the measured phase to the end of its last request.
    pub duration: Duration,
    /// Open loop: the offered rate in requests/s.
    pub offered_rate: Option<f64>,
    pub slo: Option<&'a Slo>,
    pub lag: &'a ClientLag,
    /// Above this p99 client lag, the level is marked invalid.
    pub max_lag_ms: f64,
    pub chat: bool,
}

/// A level's summaries, scalars and warnings.
#[derive(Debug, Default)]
pub struct Aggregate {
    pub summary: BTreeMap<String, Summary>,
    pub scalars: BTreeMap<String, f64>,
    pub warnings: Vec<Warning>,
    /// False when the client's own lag could distort the figures.
    pub valid: bool,
}

fn one(value: f64, unit: &str) -> Summary {
    stats::summarize(&[value], unit, None).expect("one finite value")
}

/// Aggregates a level: latency distributions, throughput, failures, goodput, token-count
/// agreement with the server and the client's own health, each from its own function.
pub fn aggregate(l: &Level<'_>) -> Aggregate {
    let mut a = Aggregate {
        valid: true,
        ..Aggregate::default()
    };
    let ok: Vec<(&RequestRecord, &Derived)> = l
        .records
        .iter()
        .zip(l.derived)
        .filter(|(r, _)| r.error.is_none())
        .collect();
    a.summary = distributions(l, &ok);
    let t = Throughput::of(l, &ok);
    t.insert(&mut a);
    failures(l, ok.len(), &mut a);
    streaming(l, &ok, t.output_tokens, &mut a);
    open_loop_rates(l, &mut a);
    goodput(l, &t, &mut a);
    output_token_agreement(&ok, &mut a);
    input_token_agreement(l, &ok, &mut a);
    client_health(l, t.duration_s, &mut a);
    a.scalars
        .insert("client_valid".into(), if a.valid { 1.0 } else { 0.0 });
    a
}

/// Per-request latency and token-count distributions (successful requests only, except
/// the client's own lag figures).
fn distributions(l: &Level<'_>, ok: &[(&RequestRecord, &Derived)]) -> BTreeMap<String, Summary> {
    let mono = Some(Clock::HostMonotonic);
    let mut out = BTreeMap::new();
    let mut put = |name: &str, values: Vec<f64>, unit: &str, clock| {
        if let Some(s) = stats::summarize(&values, unit, clock) {
            out.insert(name.to_owned(), s);
        }
    };
    let of = |f: fn(&RequestRecord) -> Option<f64>| ok.iter().filter_map(|(r, _)| f(r)).collect();
    put("ttft_ms", of(|r| r.ttft_ms), "ms", mono);
    put("tpot_ms", of(|r| r.tpot_ms), "ms", mono);
    let itl = ok.iter().flat_map(|(r, _)| r.itl_ms.iter().copied());
    put("itl_ms", itl.collect(), "ms", mono);
    let chunk = ok.iter().flat_map(|(_, d)| d.itl_chunk_ms.iter().copied());
    put("itl_chunk_ms", chunk.collect(), "ms", mono);
    put("e2e_ms", of(|r| r.e2e_ms), "ms", mono);
    put(
        "output_tokens",
        of(|r| Some(r.output_tokens as f64)),
        "tok",
        None,
    );
    put(
        "input_tokens",
        of(|r| Some(r.input_tokens as f64)),
        "tok",
        None,
    );
    if l.offered_rate.is_some() {
        let sched = |f: fn(&Derived) -> Option<f64>| -> Vec<f64> {
            ok.iter().filter_map(|(_, d)| f(d)).collect()
        };
        put("ttft_sched_ms", sched(|d| d.ttft_sched_ms), "ms", mono);
        put("e2e_sched_ms", sched(|d| d.e2e_sched_ms), "ms", mono);
        put("queue_ms", extra_values(l, "queue_ms"), "ms", mono);
        put("send_lag_ms", extra_values(l, "send_lag_ms"), "ms", mono);
    }
    put("event_loop_lag_ms", l.lag.event_loop_ms.clone(), "ms", mono);
    out
}

/// Every request's `extra[key]`, where present.
fn extra_values(l: &Level<'_>, key: &str) -> Vec<f64> {
    l.records
        .iter()
        .filter_map(|r| r.extra.get(key).copied())
        .collect()
}

/// A level's counts and rates over its measured duration: a fixed set of scalars, three
/// of them also stored as one-value summaries so reports find them where engine points
/// keep theirs.
#[derive(Debug, Clone, Copy)]
struct Throughput {
    duration_s: f64,
    requests: usize,
    completed: usize,
    output_tokens: f64,
    input_tokens: f64,
}

impl Throughput {
    fn of(l: &Level<'_>, ok: &[(&RequestRecord, &Derived)]) -> Throughput {
        Throughput {
            duration_s: l.duration.as_secs_f64(),
            requests: l.records.len(),
            completed: ok.len(),
            output_tokens: ok.iter().map(|(r, _)| r.output_tokens as f64).sum(),
            input_tokens: ok.iter().map(|(r, _)| r.input_tokens as f64).sum(),
        }
    }

    /// `x` per second of the level (0 for an empty level).
    fn per_s(&self, x: f64) -> f64 {
        if self.duration_s > 0.0 {
            x / self.duration_s
        } else {
            0.0
        }
    }

    fn insert(&self, a: &mut Aggregate) {
        let completed = self.completed as f64;
        let rates = [
            ("requests_per_s", self.per_s(completed), "req/s"),
            ("output_tok_per_s", self.per_s(self.output_tokens), "tok/s"),
            (
                "total_tok_per_s",
                self.per_s(self.output_tokens + self.input_tokens),
                "tok/s",
            ),
        ];
        let sc = &mut a.scalars;
        sc.insert("duration_s".into(), self.duration_s);
        sc.insert("requests".into(), self.requests as f64);
        sc.insert("completed".into(), completed);
        sc.insert("failed".into(), self.requests as f64 - completed);
        for (name, v, unit) in rates {
            sc.insert(name.into(), v);
            a.summary.insert(name.into(), one(v, unit));
        }
    }
}

/// Failed requests by kind, and requests retried on a stale kept-alive connection.
fn failures(l: &Level<'_>, ok: usize, a: &mut Aggregate) {
    let mut by_kind: BTreeMap<&str, usize> = BTreeMap::new();
    for r in l.records {
        if let Some(e) = &r.error {
            *by_kind.entry(e.as_str()).or_default() += 1;
        }
    }
    for (k, n) in &by_kind {
        a.scalars.insert(format!("failed_{k}"), *n as f64);
    }
    if !by_kind.is_empty() {
        a.warnings.push(Warning::RequestsFailed {
            failed: l.records.len() - ok,
            requests: l.records.len(),
            by_kind: by_kind.iter().map(|(k, n)| ((*k).to_owned(), *n)).collect(),
        });
    }
    let retried = l
        .records
        .iter()
        .filter(|r| r.extra.get("retries").is_some_and(|n| *n > 0.0))
        .count();
    if retried > 0 {
        a.scalars.insert("retried_requests".into(), retried as f64);
        a.warnings.push(Warning::RequestsRetried { retried });
    }
}

/// Tokens per text event, and the peak number of requests in flight at once.
fn streaming(
    l: &Level<'_>,
    ok: &[(&RequestRecord, &Derived)],
    output_tokens: f64,
    a: &mut Aggregate,
) {
    let chunks: u64 = ok.iter().map(|(_, d)| d.chunks).sum();
    if chunks > 0 {
        let ratio = output_tokens / chunks as f64;
        a.scalars.insert("tokens_per_chunk".into(), ratio);
        if ratio > 1.05 {
            a.warnings.push(Warning::MultiTokenEvents {
                tokens_per_event: ratio,
            });
        }
    }
    let mut edges: Vec<(f64, i32)> = Vec::with_capacity(l.records.len() * 2);
    for r in l.records {
        let end = r.start_s + r.e2e_ms.unwrap_or(0.0) / 1e3;
        edges.push((r.start_s, 1));
        edges.push((end, -1));
    }
    edges.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    let mut cur = 0;
    let mut peak = 0;
    for (_, d) in edges {
        cur += d;
        peak = peak.max(cur);
    }
    a.scalars.insert("peak_in_flight".into(), f64::from(peak));
}

/// Open loop: the offered rate next to the send rate achieved.
fn open_loop_rates(l: &Level<'_>, a: &mut Aggregate) {
    let Some(rate) = l.offered_rate else {
        return;
    };
    a.scalars.insert("offered_rate_req_per_s".into(), rate);
    let mut starts: Vec<f64> = l.records.iter().map(|r| r.start_s).collect();
    starts.sort_by(f64::total_cmp);
    if starts.len() > 1 {
        let span = starts[starts.len() - 1] - starts[0];
        if span > 0.0 {
            let achieved = (starts.len() - 1) as f64 / span;
            a.scalars.insert("achieved_rate_req_per_s".into(), achieved);
        }
    }
}

/// Requests meeting every SLO, per second and as a fraction of those sent.
fn goodput(l: &Level<'_>, t: &Throughput, a: &mut Aggregate) {
    let Some(slo) = l.slo else {
        return;
    };
    let good = l
        .records
        .iter()
        .zip(l.derived)
        .filter(|(r, d)| meets(slo, r, d))
        .count() as f64;
    a.scalars.insert("goodput_req_per_s".into(), t.per_s(good));
    if !l.records.is_empty() {
        a.scalars
            .insert("goodput_frac".into(), good / l.records.len() as f64);
    }
    for (k, v) in [
        ("slo_ttft_ms", slo.ttft_ms),
        ("slo_tpot_ms", slo.tpot_ms),
        ("slo_e2e_ms", slo.e2e_ms),
    ] {
        if let Some(v) = v {
            a.scalars.insert(k.into(), v);
        }
    }
}

/// Output token counts: the server's next to our tokenizer's.
fn output_token_agreement(ok: &[(&RequestRecord, &Derived)], a: &mut Aggregate) {
    let pairs: Vec<(u64, u64)> = ok
        .iter()
        .filter_map(|(r, d)| Some((r.server_output_tokens?, d.our_output_tokens?)))
        .collect();
    if pairs.is_empty() {
        return;
    }
    let bad = pairs.iter().filter(|(s, o)| s != o).count();
    let frac = bad as f64 / pairs.len() as f64;
    a.scalars.insert("output_tokens_mismatch_frac".into(), frac);
    let mean_diff = pairs
        .iter()
        .map(|(s, o)| *o as f64 - *s as f64)
        .sum::<f64>()
        / pairs.len() as f64;
    a.scalars
        .insert("output_tokens_ours_minus_server_mean".into(), mean_diff);
    if bad > 0 {
        a.warnings.push(Warning::OutputTokensMismatch {
            disagree: bad,
            requests: pairs.len(),
            mean_ours_minus_server: mean_diff,
        });
    }
}

/// Input token counts: the server's next to ours. On the chat endpoint a constant
/// difference is the chat template, not a tokenizer mismatch.
fn input_token_agreement(l: &Level<'_>, ok: &[(&RequestRecord, &Derived)], a: &mut Aggregate) {
    let diffs: Vec<i64> = ok
        .iter()
        .filter_map(|(r, d)| Some((r.server_input_tokens?, d.our_input_tokens?)))
        .map(|(s, o)| s as i64 - o as i64)
        .collect();
    if diffs.is_empty() {
        return;
    }
    let bad = diffs.iter().filter(|d| **d != 0).count();
    a.scalars.insert(
        "input_tokens_mismatch_frac".into(),
        bad as f64 / diffs.len() as f64,
    );
    let mean = diffs.iter().sum::<i64>() as f64 / diffs.len() as f64;
    a.scalars
        .insert("input_tokens_server_minus_ours_mean".into(), mean);
    let constant = diffs.iter().all(|d| *d == diffs[0]);
    if l.chat && constant {
        if diffs[0] != 0 {
            a.warnings.push(Warning::ChatTemplateTokens {
                extra_per_request: diffs[0],
            });
        }
    } else if bad > 0 {
        a.warnings.push(Warning::InputTokensMismatch {
            disagree: bad,
            requests: diffs.len(),
            mean_server_minus_ours: mean,
        });
    }
}

/// The client watching itself: event-loop delay and late sends past the limit make the
/// level invalid; heavy CPU use is a warning.
fn client_health(l: &Level<'_>, duration_s: f64, a: &mut Aggregate) {
    let p99 = |v: &[f64]| stats::quantile_sorted(&stats::sorted(v), 0.99);
    let limit_ms = l.max_lag_ms;
    if !l.lag.event_loop_ms.is_empty() {
        let v = p99(&l.lag.event_loop_ms);
        a.scalars.insert("event_loop_lag_p99_ms".into(), v);
        let max = l.lag.event_loop_ms.iter().copied().fold(0.0, f64::max);
        a.scalars.insert("event_loop_lag_max_ms".into(), max);
        if v > limit_ms {
            a.valid = false;
            a.warnings.push(Warning::EventLoopLag {
                p99_ms: v,
                limit_ms,
            });
        }
    }
    let lag = extra_values(l, "send_lag_ms");
    if !lag.is_empty() {
        let v = p99(&lag);
        a.scalars.insert("send_lag_p99_ms".into(), v);
        if v > limit_ms {
            a.valid = false;
            a.warnings.push(Warning::SendLag {
                p99_ms: v,
                limit_ms,
            });
        }
    }
    if let Some(cpu) = l.lag.cpu_s {
        a.scalars.insert("client_cpu_s".into(), cpu);
        if duration_s > 0.0 && l.lag.cores > 0 {
            let frac = cpu / (duration_s * l.lag.cores as f64);
            a.scalars.insert("client_cpu_frac".into(), frac);
            if frac > 0.8 {
                a.warnings.push(Warning::ClientCpu {
                    used_frac: frac,
                    cores: l.lag.cores,
                });
            }
        }
    }
}

/// CPU seconds (user + system) this process has used, from `/proc/self/stat`. The kernel
/// reports them in USER_HZ ticks, which is 100 on every Linux ABI (`man 5 proc`).
pub fn process_cpu_s() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name (which may hold spaces) start after the last ')'.
    let rest = &stat[stat.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the full line: 12 and 13 here.
    let utime: f64 = f.get(11)?.parse().ok()?;
    let stime: f64 = f.get(12)?.parse().ok()?;
    Some((utime + stime) / 100.0)
}

/// Failure kinds in a stable order, for reports.
pub fn error_kinds() -> [ErrorKind; 10] {
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
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::http::{Failure, Piece};
    use crate::client::sse::Usage;

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
        });
        o
    }

    #[test]
    fn ttft_itl_tpot_from_known_gaps() {
        let t0 = Instant::now();
        let o = outcome(t0, &[100, 20, 20, 20], &["a", "b", "c", "d"], Some(4));
        let (r, d) = request_record(&o, Some(4), Context { t0, tok: None });
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
        let (r, d) = request_record(&o, None, Context { t0, tok: None });
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
        let cx = Context { t0, tok: None };
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
            chat: false,
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

        let laggy = ClientLag {
            event_loop_ms: vec![50.0; 10],
            cpu_s: None,
            cores: 2,
        };
        let a = aggregate(&Level {
            records: &recs,
            derived: &ders,
            duration: Duration::from_secs(1),
            offered_rate: None,
            slo: None,
            lag: &laggy,
            max_lag_ms: 10.0,
            chat: false,
        });
        assert!(!a.valid);
        assert_eq!(a.scalars["client_valid"], 0.0);
        assert!(a
            .warnings
            .iter()
            .any(|w| w.to_string().starts_with("INVALID")));
    }

    #[test]
    fn slo_and_duration_parsing() {
        let s = Slo::parse("ttft=200ms, tpot=0.05s,e2e=2").unwrap();
        assert_eq!(s.ttft_ms, Some(200.0));
        assert_eq!(s.tpot_ms, Some(50.0));
        assert_eq!(s.e2e_ms, Some(2.0));
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
}
