//! A level's aggregates, computed once after it ends: latency distributions, throughput,
//! failures by kind, goodput under SLOs, token-count agreement with the server, and the
//! client's own health (event-loop delay, late sends, CPU), with typed warnings where a
//! figure needs advice. The JSON keys are the results schema `report` and `compare` read.
//! Depends on `record`, `stats`, `warning` and the client's per-request `metrics`.

use std::collections::BTreeMap;
use std::time::Duration;

use super::metrics::{meets, Derived, Slo};
use crate::record::{Clock, RequestRecord, Summary};
use crate::stats;
use crate::warning::Warning;

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
    /// Client lag at p99 below this is never mentioned; above it, it is a note, and the
    /// level is invalid only if the lag could also move a reported figure by more than
    /// [`super::health::MAX_CLIENT_DISTORTION`] of it.
    pub max_lag_ms: f64,
    /// Tokens were timed by the kernel's receive timestamps (`client::http::Timestamps`):
    /// the event loop's delay then moves no receive time.
    pub kernel_stamps: bool,
    pub chat: bool,
    /// Per-request timeout: what a failed request counts as in the latency percentiles
    /// "with failures".
    pub timeout: Duration,
    /// The workload shares prompt prefixes on purpose (`--workload shared-prefix`): cache
    /// hits are what it measures, not a warning.
    pub cache_expected: bool,
}

/// A level's summaries, scalars and warnings.
#[derive(Debug, Default)]
pub struct Aggregate {
    pub summary: BTreeMap<String, Summary>,
    pub scalars: BTreeMap<String, f64>,
    pub warnings: Vec<Warning>,
    /// False when the client's own lag could distort the figures.
    pub valid: bool,
    /// Level-wide rates per full window of the measured phase (`record::Point::samples`).
    pub samples: BTreeMap<String, Vec<f64>>,
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
    with_failures(l, &mut a.summary);
    let t = Throughput::of(l, &ok);
    t.insert(&mut a);
    failures(l, ok.len(), &mut a);
    streaming(l, &ok, t.output_tokens, &mut a);
    open_loop_rates(l, &mut a);
    goodput(l, &t, &mut a);
    a.samples = windows(l, &ok);
    output_token_agreement(&ok, &mut a);
    input_token_agreement(l, &ok, &mut a);
    super::health::prompt_cache(&ok, l.cache_expected, &mut a);
    server_drafts(&ok, &mut a);
    let ok_records: Vec<&RequestRecord> = ok.iter().map(|(r, _)| *r).collect();
    a.scalars
        .extend(super::conversation::turn_scalars(&ok_records));
    super::health::client_health(l, t.duration_s, &mut a);
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
    let rates = ok
        .iter()
        .filter_map(|(r, _)| r.extra.get("request_output_tok_per_s"));
    put(
        "request_output_tok_per_s",
        rates.copied().collect(),
        "tok/s",
        None,
    );
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

/// TTFT and E2E percentiles over every request sent, a failed or anomalous one counting
/// as the worst value (as if it had timed out): the request timeout, or the largest
/// latency seen when a scheduled-time figure is larger. vLLM's and AIPerf's latency
/// percentiles leave failures out, which flatters an overloaded server: with 5% of
/// requests timing out, the success-only p99 is still a success. Names end in
/// `_with_failures_ms` (`_with_failures_sched_ms` from the scheduled send, open loop).
fn with_failures(l: &Level<'_>, out: &mut BTreeMap<String, Summary>) {
    if l.records.is_empty() {
        return;
    }
    let timeout_ms = crate::units::ms(l.timeout);
    type Latency = fn(&RequestRecord, &Derived) -> Option<f64>;
    let figures: [(&str, Latency); 4] = [
        ("ttft_with_failures_ms", |r, _| r.ttft_ms),
        ("e2e_with_failures_ms", |r, _| r.e2e_ms),
        ("ttft_with_failures_sched_ms", |_, d| d.ttft_sched_ms),
        ("e2e_with_failures_sched_ms", |_, d| d.e2e_sched_ms),
    ];
    for (name, f) in figures {
        if name.ends_with("_sched_ms") && l.offered_rate.is_none() {
            continue;
        }
        let ok: Vec<Option<f64>> = l
            .records
            .iter()
            .zip(l.derived)
            .map(|(r, d)| if r.error.is_none() { f(r, d) } else { None })
            .collect();
        let worst = ok.iter().flatten().fold(timeout_ms, |m, v| m.max(*v));
        let values: Vec<f64> = ok.iter().map(|v| v.unwrap_or(worst)).collect();
        let clock = Some(Clock::HostMonotonic);
        if let Some(s) = stats::summarize(&values, "ms", clock) {
            out.insert(name.to_owned(), s);
        }
    }
}

/// Length of the windows level-wide rates are sampled over.
pub const WINDOW_S: f64 = 1.0;

/// Level-wide rates per full [`WINDOW_S`] window of the measured phase: output tokens
/// (each token at the time its event arrived: TTFT, then the per-token gaps), completed
/// requests and, with SLOs, requests meeting them, each per second. These are the
/// samples `compare` tests throughput and goodput with (a level's single total cannot be
/// tested); the partial last window is left out. Successful requests only.
fn windows(l: &Level<'_>, ok: &[(&RequestRecord, &Derived)]) -> BTreeMap<String, Vec<f64>> {
    let n = (l.duration.as_secs_f64() / WINDOW_S).floor() as usize;
    let mut out = BTreeMap::new();
    if n == 0 {
        return out;
    }
    let slot = |t_s: f64| -> Option<usize> {
        let k = (t_s / WINDOW_S).floor();
        (k >= 0.0 && (k as usize) < n).then_some(k as usize)
    };
    let (mut tokens, mut done, mut good) = (vec![0.0; n], vec![0.0; n], vec![0.0; n]);
    for (r, d) in ok {
        let (Some(ttft), Some(e2e)) = (r.ttft_ms, r.e2e_ms) else {
            continue;
        };
        let mut t_ms = ttft;
        let mut times = vec![t_ms];
        for gap in &r.itl_ms {
            t_ms += gap;
            times.push(t_ms);
        }
        // Tokens the gaps do not place (none when counts agree) arrive with the end.
        let rest = (r.output_tokens as usize).saturating_sub(times.len());
        times.extend(std::iter::repeat_n(e2e, rest));
        times.truncate(r.output_tokens.max(1) as usize);
        for t in times {
            if let Some(k) = slot(r.start_s + t / 1e3) {
                tokens[k] += 1.0;
            }
        }
        if let Some(k) = slot(r.start_s + e2e / 1e3) {
            done[k] += 1.0;
            if l.slo.is_some_and(|s| meets(s, r, d)) {
                good[k] += 1.0;
            }
        }
    }
    let per_s = |v: Vec<f64>| v.into_iter().map(|x| x / WINDOW_S).collect::<Vec<f64>>();
    out.insert("output_tok_per_s".into(), per_s(tokens));
    out.insert("requests_per_s".into(), per_s(done));
    if l.slo.is_some() {
        out.insert("goodput_req_per_s".into(), per_s(good));
    }
    out
}

/// Every request's `extra[key]`, where present.
pub(super) fn extra_values(l: &Level<'_>, key: &str) -> Vec<f64> {
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
        if self.requests > 0 {
            // Failed or anomalous requests per request sent, in percent: the failure-rate
            // column of every load table, and what `compare` gates on.
            let pct = 100.0 * (self.requests as f64 - completed) / self.requests as f64;
            sc.insert("failure_pct".into(), pct);
        }
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

/// A speculating server's draft counts over the level (`metrics::server_drafts` per
/// request): the per-request acceptance, tokens per step and accepted per step as
/// distributions (their `spec_*` names, as an engine point's per-run figures), and the
/// level's own pooled figures as scalars: `server_draft_n` / `server_draft_accepted`
/// summed, `spec_acceptance_rate_pooled` (accepted ÷ proposed over the level) and
/// `spec_mean_accepted_len_pooled` (tokens after the first ÷ target steps over the level).
fn server_drafts(ok: &[(&RequestRecord, &Derived)], a: &mut Aggregate) {
    let of = |k: &str| -> Vec<f64> {
        ok.iter()
            .filter_map(|(r, _)| r.extra.get(k).copied())
            .collect()
    };
    let proposed = of("server_draft_n");
    if proposed.is_empty() {
        return;
    }
    for (m, unit) in [
        ("spec_acceptance_rate", "fraction"),
        ("spec_mean_accepted_len", "tok"),
        ("spec_accepted_per_step", "tok"),
    ] {
        if let Some(s) = stats::summarize(&of(m), unit, None) {
            a.summary.insert(m.into(), s);
        }
    }
    let proposed: f64 = proposed.iter().sum();
    let accepted: f64 = of("server_draft_accepted").iter().sum();
    a.scalars.insert("server_draft_n".into(), proposed);
    a.scalars.insert("server_draft_accepted".into(), accepted);
    if proposed > 0.0 {
        a.scalars
            .insert("spec_acceptance_rate_pooled".into(), accepted / proposed);
    }
    // Tokens after the first, and target steps, of the requests that had steps.
    let (emitted, steps) = ok
        .iter()
        .filter_map(|(r, _)| {
            let steps = *r.extra.get("spec_target_steps")?;
            Some((steps * r.extra.get("spec_mean_accepted_len")?, steps))
        })
        .fold((0.0, 0.0), |(e, s), (de, ds)| (e + de, s + ds));
    if steps > 0.0 {
        a.scalars
            .insert("spec_mean_accepted_len_pooled".into(), emitted / steps);
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(start_s: f64, ttft: f64, itl: &[f64], e2e: f64, error: Option<&str>) -> RequestRecord {
        RequestRecord {
            start_s,
            scheduled_s: None,
            ttft_ms: error.is_none().then_some(ttft),
            e2e_ms: Some(e2e),
            tpot_ms: None,
            itl_ms: itl.to_vec(),
            itl_chunk_ms: Vec::new(),
            input_tokens: 4,
            output_tokens: if error.is_none() {
                itl.len() as u64 + 1
            } else {
                0
            },
            server_input_tokens: None,
            server_output_tokens: None,
            http_status: None,
            error: error.map(str::to_owned),
            extra: BTreeMap::new(),
        }
    }

    #[test]
    fn failures_count_as_the_timeout_and_windows_place_each_token() {
        let records = [
            // tokens at 0.3, 0.8, 1.3, 1.8 s; ends at 1.801 s
            rec(0.2, 100.0, &[500.0, 500.0, 500.0], 1601.0, None),
            // two tokens in its first event at 1.6 s, one at 2.6 s; ends at 2.65 s
            rec(1.5, 100.0, &[0.0, 1000.0], 1150.0, None),
            rec(0.0, 0.0, &[], 300.0, Some("http_5xx")),
            // a token at 2.95 s, one at 3.15 s and its end past the last full window
            rec(2.9, 50.0, &[200.0], 260.0, None),
        ];
        let derived = vec![Derived::default(); records.len()];
        let a = aggregate(&Level {
            records: &records,
            derived: &derived,
            duration: Duration::from_millis(3160),
            offered_rate: None,
            slo: None,
            lag: &ClientLag::default(),
            max_lag_ms: 10.0,
            kernel_stamps: true,
            chat: false,
            timeout: Duration::from_secs(5),
            cache_expected: false,
        });
        assert_eq!(a.scalars["failure_pct"], 25.0);
        let wf = &a.summary["e2e_with_failures_ms"];
        assert_eq!(
            (wf.n, wf.max),
            (4, 5000.0),
            "the failure counts as the timeout"
        );
        assert_eq!(wf.p50, (1150.0 + 1601.0) / 2.0);
        assert_eq!(a.summary["e2e_ms"].n, 3, "success-only figure unchanged");
        assert_eq!(a.summary["ttft_with_failures_ms"].max, 5000.0);
        assert!(!a.summary.contains_key("e2e_with_failures_sched_ms"));
        assert_eq!(a.samples["output_tok_per_s"], vec![2.0, 4.0, 2.0]);
        assert_eq!(a.samples["requests_per_s"], vec![0.0, 1.0, 1.0]);
        assert!(!a.samples.contains_key("goodput_req_per_s"), "no SLO");
    }

    #[test]
    fn the_chat_template_cached_raises_no_alarm_and_fractions_use_the_servers_count() {
        // A chat request: 32 tokens of ours, 62 as the server counts them (its template's
        // 30), 24 of them cached: the template's header, which every request shares.
        let chat = |cached: u64| {
            let mut r = rec(0.0, 10.0, &[5.0], 20.0, None);
            r.input_tokens = 32;
            r.server_input_tokens = Some(62);
            let mut extra = BTreeMap::new();
            crate::client::metrics::cache_accounting(cached, &r, &mut extra);
            r.extra = extra;
            r
        };
        let level = |records: &[RequestRecord]| {
            let derived = vec![Derived::default(); records.len()];
            aggregate(&Level {
                records,
                derived: &derived,
                duration: Duration::from_secs(1),
                offered_rate: None,
                slo: None,
                lag: &ClientLag::default(),
                max_lag_ms: 10.0,
                kernel_stamps: true,
                chat: true,
                timeout: Duration::from_secs(5),
                cache_expected: false,
            })
        };
        let a = level(&[chat(24), chat(24), chat(24)]);
        assert!((a.scalars["cached_prompt_frac"] - 24.0 / 62.0).abs() < 1e-12);
        assert_eq!(a.scalars["cache_hit_requests"], 0.0);
        assert!(
            !a.warnings
                .iter()
                .any(|w| w.to_string().contains("PREFIX CACHE")),
            "{:?}",
            a.warnings
        );
        // 20 tokens of our own prompt cached beyond the template: an alarm naming it.
        let a = level(&[chat(50), chat(24), chat(24)]);
        assert_eq!(a.scalars["cache_hit_requests"], 1.0);
        let w: Vec<String> = a.warnings.iter().map(|w| w.to_string()).collect();
        assert!(
            w.iter()
                .any(|w| w.contains("PREFIX CACHE") && w.contains("chat template's 30 tokens")),
            "{w:?}"
        );
    }
}
