//! The level's own health, apart from the server's figures: how late the client was
//! (event loop, sends) and whether that could move a reported latency, its CPU, and how
//! much of the prompts the server took from its prefix cache beyond what requests share
//! by construction. Writes scalars and typed warnings into a level's [`Aggregate`].
//! Depends on `record`, `stats`, `warning` and the client's `metrics`.

use super::aggregate::{extra_values, Aggregate, Level};
use super::metrics::Derived;
use crate::record::{RequestRecord, Summary};
use crate::stats;
use crate::warning::Warning;

/// Prompt tokens the server reported taken from its prefix cache: the mean fraction of the
/// server's prompt, and a warning when a request had more than 10% of it cached beyond
/// what every request shares by construction (the chat template: `cached_beyond_template_tokens`;
/// a level meant to share prefixes never warns). Prompts are all distinct, so a level is
/// meant to be cache-free beyond that.
pub(super) fn prompt_cache(ok: &[(&RequestRecord, &Derived)], expected: bool, a: &mut Aggregate) {
    let cached: Vec<&RequestRecord> = ok
        .iter()
        .map(|(r, _)| *r)
        .filter(|r| r.extra.contains_key("cached_frac"))
        .collect();
    if cached.is_empty() {
        return;
    }
    let n = cached.len() as f64;
    let mean = cached.iter().map(|r| r.extra["cached_frac"]).sum::<f64>() / n;
    let prompt = |r: &RequestRecord| r.server_input_tokens.unwrap_or(r.input_tokens).max(1) as f64;
    let beyond = |r: &RequestRecord| {
        let t = r.extra.get("cached_beyond_template_tokens");
        t.or(r.extra.get("cached_tokens")).copied().unwrap_or(0.0)
    };
    let hits = cached
        .iter()
        .filter(|r| beyond(r) / prompt(r) > 0.1)
        .count();
    let mean_beyond = cached.iter().map(|r| beyond(r) / prompt(r)).sum::<f64>() / n;
    let template = cached
        .iter()
        .filter_map(|r| r.extra.get("template_tokens"))
        .sum::<f64>()
        / n;
    a.scalars.insert("cached_prompt_frac".into(), mean);
    a.scalars
        .insert("cached_beyond_template_frac".into(), mean_beyond);
    a.scalars.insert("cache_hit_requests".into(), hits as f64);
    if expected {
        // Tables mark cache hits of a level meant to be cache-free; this one is not.
        a.scalars.insert("prompt_cache_expected".into(), 1.0);
    }
    if hits > 0 && !expected {
        a.warnings.push(Warning::PromptCacheHits {
            hits,
            requests: ok.len(),
            mean_cached_frac: mean_beyond,
            template_tokens: template,
        });
    }
}

/// Largest share of a reported latency figure the client's own delay may be able to move
/// before the level is INVALID.
pub const MAX_CLIENT_DISTORTION: f64 = 0.05;

/// The figure the client's delay could move most, as a share of it: at each of p50 and
/// p99, the lag's quantile against the same quantile of every latency it enters (the lag
/// cannot move a quantile by more than the lag at about that quantile). `None` when no
/// figure is moved. Returns (figure, share).
fn distortion(lag: &[f64], figures: &[(&str, &Summary)]) -> Option<(String, f64)> {
    if lag.is_empty() {
        return None;
    }
    let lag = stats::sorted(lag);
    let mut worst: Option<(String, f64)> = None;
    for (name, s) in figures {
        for (q, stat, v) in [(0.5, "p50", s.p50), (0.99, "p99", s.p99)] {
            let shift = stats::quantile_sorted(&lag, q);
            if v > 0.0 && shift > 0.0 {
                let frac = shift / v;
                if worst.as_ref().is_none_or(|(_, w)| frac > *w) {
                    worst = Some((format!("{name} {stat}"), frac));
                }
            }
        }
    }
    worst
}

/// The client watching itself. Its event-loop delay moves a token's timestamp only when
/// tokens are timed as reads return (kernel receive stamps are taken before the loop sees
/// them); open loop, a late send enters every latency counted from the schedule. A lag
/// past `--max-client-lag-ms` that could move a reported latency by more than
/// [`MAX_CLIENT_DISTORTION`] of it makes the level invalid; one that cannot is a note.
/// Heavy CPU use is a warning.
pub(super) fn client_health(l: &Level<'_>, duration_s: f64, a: &mut Aggregate) {
    let p99 = |v: &[f64]| stats::quantile_sorted(&stats::sorted(v), 0.99);
    let limit_ms = l.max_lag_ms;
    let figures = |names: &[&'static str]| -> Vec<(&'static str, Summary)> {
        names
            .iter()
            .filter_map(|n| a.summary.get(*n).map(|s| (*n, s.clone())))
            .collect()
    };
    if !l.lag.event_loop_ms.is_empty() {
        let v = p99(&l.lag.event_loop_ms);
        a.scalars.insert("event_loop_lag_p99_ms".into(), v);
        let max = l.lag.event_loop_ms.iter().copied().fold(0.0, f64::max);
        a.scalars.insert("event_loop_lag_max_ms".into(), max);
        if v > limit_ms {
            // Receive times: moved only when read-timed. (A closed loop's next send waits
            // for the loop too, but its latencies count from the actual send.)
            let moved = if l.kernel_stamps {
                Vec::new()
            } else {
                figures(&["ttft_ms", "itl_ms", "e2e_ms"])
            };
            let refs: Vec<(&str, &Summary)> = moved.iter().map(|(n, s)| (*n, s)).collect();
            let worst = distortion(&l.lag.event_loop_ms, &refs);
            let invalid = worst
                .as_ref()
                .is_some_and(|(_, f)| *f > MAX_CLIENT_DISTORTION);
            a.valid &= !invalid;
            a.warnings.push(Warning::EventLoopLag {
                p99_ms: v,
                limit_ms,
                worst,
                limit_frac: MAX_CLIENT_DISTORTION,
                kernel_stamps: l.kernel_stamps,
                invalid,
            });
        }
    }
    let lag = extra_values(l, "send_lag_ms");
    if !lag.is_empty() {
        let v = p99(&lag);
        a.scalars.insert("send_lag_p99_ms".into(), v);
        if v > limit_ms {
            let moved = figures(&["ttft_sched_ms", "e2e_sched_ms"]);
            let refs: Vec<(&str, &Summary)> = moved.iter().map(|(n, s)| (*n, s)).collect();
            let worst = distortion(&lag, &refs);
            let invalid = worst
                .as_ref()
                .is_some_and(|(_, f)| *f > MAX_CLIENT_DISTORTION);
            a.valid &= !invalid;
            a.warnings.push(Warning::SendLag {
                p99_ms: v,
                limit_ms,
                worst,
                limit_frac: MAX_CLIENT_DISTORTION,
                invalid,
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
