//! A load spec's values checked and typed: one load mode, numbers in range, durations,
//! SLOs, headers, the workload's shape and the fleet worker. Every error names the field
//! (in the caller's [`Names`] style). Reads no file but a trace's.

use std::path::Path;
use std::time::{Duration, SystemTime};

use crate::bench::shard::ShardArg;
use crate::client::conversation::MultiTurn;
use crate::client::fleet::{self, Worker};
use crate::client::metrics::{parse_ms, Slo};
use crate::client::scheduler::{Arrival, Shape};
use crate::client::shared_prefix::SharedPrefix;
use crate::client::trace::{self, Trace};
use crate::client::{Levels, MaxRateSearch};
use crate::error::{Error, Result};

use super::spec::{Kind, LoadSpec, Names};

/// Longest `duration` / `timeout` taken: a week.
const MAX_DURATION_MS: f64 = 7.0 * 24.0 * 3600e3;
/// Rates taken by `rate` / `max_rate`, in requests/s.
const RATE_RANGE: std::ops::RangeInclusive<f64> = 1e-3..=1e6;

/// The values that need more than their type, checked and typed.
pub(crate) struct Checked {
    pub url: String,
    pub levels: Levels,
    pub duration: Option<Duration>,
    pub timeout: Duration,
    pub slo: Option<Slo>,
    pub headers: Vec<(String, String)>,
    pub extra_body: serde_json::Map<String, serde_json::Value>,
    pub worker: Option<Worker>,
    pub start_at: Option<SystemTime>,
    pub shared_prefix: Option<SharedPrefix>,
    pub multi_turn: Option<MultiTurn>,
    pub trace: Option<Trace>,
    pub salt: Option<u64>,
}

/// Checks `s`, naming fields as `n` does.
pub(crate) fn check(s: &LoadSpec, n: Names) -> Result<Checked> {
    let url = s
        .url
        .clone()
        .filter(|u| !u.trim().is_empty())
        .ok_or_else(|| {
            n.err(
                "url",
                "required: the API's base URL, e.g. http://127.0.0.1:8080/v1",
            )
        })?;
    ranges(s, n)?;
    let trace = trace_of(s, n)?;
    let slo = s
        .slo
        .as_deref()
        .map(Slo::parse)
        .transpose()
        .map_err(|e| n.err("slo", e))?;
    search(s, n, slo.is_some())?;
    let multi_turn = multi_turn(s, n)?;
    if multi_turn.is_some() {
        if s.concurrency.is_empty() {
            return Err(n.err(
                "workload",
                format!(
                    "multi-turn runs conversations in a closed loop: give {} (conversations in \
                     flight), not {} or {}",
                    n.of("concurrency"),
                    n.of("rate"),
                    n.of("find_max_rate")
                ),
            ));
        }
        if s.num_prompts.is_some() {
            return Err(n.err(
                "num_prompts",
                format!(
                    "counts single requests: with the multi-turn workload give {} N",
                    n.of("conversations")
                ),
            ));
        }
    }
    let (worker, start_at) = fleet_of(s, n)?;
    Ok(Checked {
        levels: levels(s, trace.as_ref()),
        duration: s
            .duration
            .as_deref()
            .map(|d| duration(n, "duration", d))
            .transpose()?,
        timeout: duration(n, "timeout", &s.timeout)?,
        slo,
        headers: headers(n, &s.headers)?,
        extra_body: extra_body(n, s.extra_body.as_ref())?,
        worker,
        start_at,
        shared_prefix: shared_prefix(s, n)?,
        multi_turn,
        trace,
        salt: s.salt.as_deref().map(|v| salt(n, v)).transpose()?,
        url,
    })
}

/// A positive duration of at most a week (`30s`, `500ms`).
pub(crate) fn duration(n: Names, field: &str, v: &str) -> Result<Duration> {
    let ms = parse_ms(v)
        .filter(|m| *m > 0.0)
        .ok_or_else(|| n.err(field, format!("{v:?} is not a duration (e.g. 30s, 500ms)")))?;
    if ms > MAX_DURATION_MS {
        return Err(n.err(field, format!("{v:?} is longer than a week")));
    }
    Ok(Duration::from_secs_f64(ms / 1e3))
}

/// An error reading the file a field names, as an error about that field, the path said
/// once.
pub(crate) fn file_err(n: Names, field: &str, path: &Path, e: impl std::fmt::Display) -> Error {
    let (text, shown) = (e.to_string(), path.display().to_string());
    match text.contains(&shown) {
        true => n.err(field, text),
        false => n.err(field, format!("{shown}: {text}")),
    }
}

/// A salt: up to 16 hex digits.
fn salt(n: Names, s: &str) -> Result<u64> {
    u64::from_str_radix(s.trim_start_matches("0x"), 16).map_err(|_| {
        n.err(
            "salt",
            format!("{s:?} is not a salt (up to 16 hex digits, e.g. 3f2a9c01d4e5b677)"),
        )
    })
}

/// The max-rate search's settings.
fn search(s: &LoadSpec, n: Names, has_slo: bool) -> Result<()> {
    if s.find_max_rate && !has_slo {
        return Err(n.err(
            "find_max_rate",
            format!("needs {} (e.g. ttft=200ms,tpot=50ms)", n.of("slo")),
        ));
    }
    if !(s.slo_attainment > 0.0 && s.slo_attainment <= 1.0) {
        return Err(n.err("slo_attainment", "must be in (0, 1]"));
    }
    if !RATE_RANGE.contains(&s.max_rate) {
        return Err(n.err(
            "max_rate",
            format!(
                "must be between {} and {} req/s",
                RATE_RANGE.start(),
                RATE_RANGE.end()
            ),
        ));
    }
    if !(s.max_client_lag_ms.is_finite() && s.max_client_lag_ms > 0.0) {
        return Err(n.err("max_client_lag_ms", "must be a positive number"));
    }
    Ok(())
}

/// One load mode, and numbers in range.
fn ranges(s: &LoadSpec, n: Names) -> Result<()> {
    let modes = usize::from(!s.concurrency.is_empty())
        + usize::from(!s.rate.is_empty() && !s.find_max_rate)
        + usize::from(s.find_max_rate)
        + usize::from(s.trace.is_some());
    if modes != 1 {
        return Err(n.err(
            "concurrency",
            format!(
                "give exactly one of {} LIST, {} LIST, {} or {} FILE",
                n.of("concurrency"),
                n.of("rate"),
                n.of("find_max_rate"),
                n.of("trace")
            ),
        ));
    }
    if s.concurrency.contains(&0) {
        return Err(n.err("concurrency", "every value must be at least 1"));
    }
    if s.rate.iter().any(|r| !RATE_RANGE.contains(r)) {
        return Err(n.err(
            "rate",
            format!(
                "every value must be between {} and {} req/s",
                RATE_RANGE.start(),
                RATE_RANGE.end()
            ),
        ));
    }
    for (field, v) in [("isl_spread", s.isl_spread), ("osl_spread", s.osl_spread)] {
        if !(0.0..1.0).contains(&v) {
            return Err(n.err(field, format!("must be in [0, 1), got {v}")));
        }
    }
    for (field, zero) in [
        ("isl", s.isl == 0),
        ("osl", s.osl == Some(0)),
        ("num_prompts", s.num_prompts == Some(0)),
        ("max_inflight", s.max_inflight == Some(0)),
    ] {
        if zero {
            return Err(n.err(field, "must be at least 1"));
        }
    }
    if s.max_inflight.is_some() && !s.concurrency.is_empty() {
        return Err(n.err(
            "max_inflight",
            format!(
                "applies to {}; {} already bounds what is in flight",
                n.of("rate"),
                n.of("concurrency")
            ),
        ));
    }
    Ok(())
}

/// `Name: value` headers.
fn headers(n: Names, raw: &[String]) -> Result<Vec<(String, String)>> {
    raw.iter()
        .map(|h| {
            h.split_once(':')
                .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
                .filter(|(k, _)| !k.is_empty())
                .ok_or_else(|| n.err("headers", format!("{h:?}: expected `Name: value`")))
        })
        .collect()
}

/// A JSON object, given as one or as its text.
fn extra_body(
    n: Names,
    raw: Option<&serde_json::Value>,
) -> Result<serde_json::Map<String, serde_json::Value>> {
    let parsed = match raw {
        None => return Ok(serde_json::Map::new()),
        Some(serde_json::Value::String(s)) => serde_json::from_str(s).ok(),
        Some(v) => Some(v.clone()),
    };
    match parsed {
        Some(serde_json::Value::Object(m)) => Ok(m),
        _ => Err(n.err("extra_body", "expected a JSON object")),
    }
}

/// The levels the mode fields ask for (after `ranges`).
fn levels(s: &LoadSpec, trace: Option<&Trace>) -> Levels {
    if let Some(t) = trace {
        Levels::Shapes(vec![Shape::Open {
            rate: t.rate(),
            arrival: Arrival::Trace,
            max_inflight: s.max_inflight,
        }])
    } else if s.find_max_rate {
        Levels::MaxRate(MaxRateSearch {
            start_req_per_s: s.rate.first().copied().unwrap_or(1.0),
            max_req_per_s: s.max_rate,
            bisect_steps: s.search_steps,
            attainment: s.slo_attainment,
            arrival: s.arrival,
            max_inflight: s.max_inflight,
        })
    } else if !s.concurrency.is_empty() {
        Levels::Shapes(
            s.concurrency
                .iter()
                .map(|&c| Shape::Closed { concurrency: c })
                .collect(),
        )
    } else {
        Levels::Shapes(
            s.rate
                .iter()
                .map(|&rate| Shape::Open {
                    rate,
                    arrival: s.arrival,
                    max_inflight: s.max_inflight,
                })
                .collect(),
        )
    }
}

/// The worker this process is, and when it starts; `shard` is refused with the max-rate
/// search, whose probes a worker cannot judge alone.
fn fleet_of(s: &LoadSpec, n: Names) -> Result<(Option<Worker>, Option<SystemTime>)> {
    if s.shards.is_some() && s.shard.is_none() {
        return Err(n.err("shards", format!("needs {} auto (or i/n)", n.of("shard"))));
    }
    let shard = s
        .shard
        .as_deref()
        .map(|v| v.parse::<ShardArg>())
        .transpose()
        .map_err(|e| n.rename(e))?;
    let worker = shard
        .map(|a| a.resolve(s.shards, |k| std::env::var(k).ok()))
        .transpose()
        .map_err(|e| n.rename(e))?
        .map(|spec| Worker {
            index: spec.index(),
            count: spec.count(),
        });
    if worker.is_some() && s.find_max_rate {
        return Err(n.err(
            "shard",
            format!(
                "{} judges each probe on one client's results; run the workers at fixed {} \
                 levels and merge them with `trtbench report`",
                n.of("find_max_rate"),
                n.of("rate")
            ),
        ));
    }
    let start_at = s
        .start_at
        .as_deref()
        .map(|v| fleet::parse_start_at(v, SystemTime::now()))
        .transpose()
        .map_err(|e| n.rename(e))?;
    Ok((worker, start_at))
}

/// The shared-prefix shape, when asked for (checked against `isl`).
fn shared_prefix(s: &LoadSpec, n: Names) -> Result<Option<SharedPrefix>> {
    if s.workload != Kind::SharedPrefix {
        if s.prefix_len.is_some() {
            return Err(n.err(
                "prefix_len",
                format!("needs {} shared-prefix", n.of("workload")),
            ));
        }
        return Ok(None);
    }
    let prefix_len = s.prefix_len.ok_or_else(|| {
        n.err(
            "prefix_len",
            format!(
                "{} shared-prefix needs {} P (tokens of each prefix)",
                n.of("workload"),
                n.of("prefix_len")
            ),
        )
    })?;
    if s.prefixes == 0 || prefix_len == 0 {
        return Err(n.err(
            "prefix_len",
            format!(
                "{} and {} must be at least 1",
                n.of("prefixes"),
                n.of("prefix_len")
            ),
        ));
    }
    if prefix_len >= s.isl {
        return Err(n.err(
            "prefix_len",
            format!(
                "{prefix_len} leaves no room for a unique suffix in {} {}",
                n.of("isl"),
                s.isl
            ),
        ));
    }
    Ok(Some(SharedPrefix {
        prefixes: s.prefixes,
        prefix_len,
    }))
}

/// The multi-turn shape, when asked for; its fields are refused without it.
fn multi_turn(s: &LoadSpec, n: Names) -> Result<Option<MultiTurn>> {
    if s.workload != Kind::MultiTurn {
        let given = [
            ("turns", s.turns.is_some()),
            ("turn_len", s.turn_len.is_some()),
            ("think_time", s.think_time.is_some()),
            ("conversations", s.conversations.is_some()),
        ];
        if let Some((field, _)) = given.iter().find(|(_, g)| *g) {
            return Err(n.err(field, format!("needs {} multi-turn", n.of("workload"))));
        }
        return Ok(None);
    }
    let turns = s.turns.unwrap_or(4);
    let turn_len = s.turn_len.unwrap_or(s.isl);
    for (field, zero) in [
        ("turns", turns == 0),
        ("turn_len", turn_len == 0),
        ("conversations", s.conversations == Some(0)),
    ] {
        if zero {
            return Err(n.err(field, "must be at least 1"));
        }
    }
    let think = match &s.think_time {
        Some(t) if parse_ms(t) == Some(0.0) => Duration::ZERO,
        Some(t) => duration(n, "think_time", t)?,
        None => Duration::ZERO,
    };
    Ok(Some(MultiTurn {
        turns,
        turn_len,
        think,
    }))
}

/// The trace to replay, read and checked, when `trace` is given.
fn trace_of(s: &LoadSpec, n: Names) -> Result<Option<Trace>> {
    let speed_ok = s.trace_speed.is_finite() && (1e-3..=1e6).contains(&s.trace_speed);
    if !speed_ok {
        return Err(n.err(
            "trace_speed",
            format!("{} must be between 0.001 and 1000000", s.trace_speed),
        ));
    }
    let Some(path) = &s.trace else {
        if s.trace_speed != 1.0 {
            return Err(n.err("trace_speed", format!("needs {} FILE", n.of("trace"))));
        }
        return Ok(None);
    };
    if s.workload != Kind::Random {
        return Err(n.err(
            "trace",
            format!("sets the lengths: drop {}", n.of("workload")),
        ));
    }
    if s.dataset.is_some() {
        return Err(n.err("trace", format!("replaces {}: drop it", n.of("dataset"))));
    }
    let t = trace::read(path, s.trace_speed).map_err(|e| file_err(n, "trace", path, e))?;
    Ok(Some(t))
}
