//! Fleets of load clients: when one client machine cannot saturate a server, `load` runs
//! as N workers (`--shard i/n`, or `auto` in a Kubernetes Indexed Job or a Slurm array),
//! each sending its share of the level's concurrency or rate and of its prompts, all
//! starting at one wall-clock instant (`--start-at`), each writing its own results with
//! every request's raw samples. [`merge_workers`] pools the workers' requests of the same
//! level and recomputes every figure from the pooled samples through
//! `aggregate::aggregate` (exact percentiles, throughput over the union of the windows;
//! never an average of percentiles). Depends on `record`, `stats`, `warning` and the
//! client's own `aggregate`; `report` (beside it) never imports it: the CLI calls it.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};

use super::aggregate::{self, ClientLag};
use super::metrics::{Derived, Slo};
use super::scheduler::Shape;
use crate::error::{Error, Result};
use crate::record::{Point, PointKind, Results, Status};

/// How far in the past a `--start-at` may be (workers started a little late).
pub const START_GRACE: Duration = Duration::from_secs(5);
/// How far ahead a `--start-at` may be.
pub const START_HORIZON: Duration = Duration::from_secs(24 * 3600);

/// Worker `index` (1-based) of `count`: the split of `bench::shard::ShardSpec` (contiguous
/// shares that differ by at most one, the first `total % count` workers take the extra).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Worker {
    pub index: usize,
    pub count: usize,
}

impl Worker {
    /// This worker's share of `total` items.
    pub fn share(self, total: usize) -> usize {
        let i = self.index - 1;
        total / self.count + usize::from(i < total % self.count)
    }

    /// This worker's part of a level: a share of the concurrency or of the rate (its own
    /// Poisson process at rate/n; independent Poisson processes sum to one at the total
    /// rate). A concurrency smaller than the worker count leaves a worker nothing to do.
    pub fn shape(self, shape: Shape) -> Result<Shape> {
        Ok(match shape {
            Shape::Closed { concurrency } => {
                let c = self.share(concurrency);
                if c == 0 {
                    return Err(Error::config(
                        "--shard",
                        format!(
                            "concurrency {concurrency} cannot be shared by {} workers: give \
                             each at least one request in flight",
                            self.count
                        ),
                    ));
                }
                Shape::Closed { concurrency: c }
            }
            Shape::Open {
                rate,
                arrival,
                max_inflight,
            } => Shape::Open {
                rate: rate / self.count as f64,
                arrival,
                max_inflight: max_inflight.map(|m| self.share(m).max(1)),
            },
        })
    }

    /// Mixed into every seed of the worker, so workers send different prompts (and draw
    /// independent arrival times) from the same `--seed` and `--salt`.
    pub fn seed_mix(self) -> u64 {
        ((self.index as u64) << 32 | self.count as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)
    }

    pub fn label(self) -> String {
        format!("{}/{}", self.index, self.count)
    }
}

/// Parses `--start-at`: RFC 3339 (`2026-11-30T15:00:00Z`) or unix seconds
/// (`1796050800`, fractions allowed), refusing an instant more than [`START_GRACE`] in
/// the past of `now` or more than [`START_HORIZON`] ahead.
pub fn parse_start_at(s: &str, now: SystemTime) -> Result<SystemTime> {
    let bad = |why: String| Error::config("--start-at", why);
    let t = s.trim();
    let at = if let Ok(secs) = t.parse::<f64>() {
        if !(secs.is_finite() && secs >= 0.0) {
            return Err(bad(format!("{s:?} is not a time")));
        }
        UNIX_EPOCH + Duration::from_secs_f64(secs)
    } else {
        let dt = time::OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339)
            .map_err(|e| {
                bad(format!(
                    "{s:?} is neither RFC 3339 (2026-11-30T15:00:00Z) nor unix seconds: {e}"
                ))
            })?;
        let ns = dt.unix_timestamp_nanos();
        if ns < 0 {
            return Err(bad(format!("{s:?} is before 1970")));
        }
        UNIX_EPOCH + Duration::from_nanos(ns as u64)
    };
    if let Ok(late) = now.duration_since(at) {
        if late > START_GRACE {
            return Err(bad(format!(
                "{s:?} is {:.1} s in the past (more than {} s of grace): give a later instant",
                late.as_secs_f64(),
                START_GRACE.as_secs()
            )));
        }
    }
    if let Ok(ahead) = at.duration_since(now) {
        if ahead > START_HORIZON {
            return Err(bad(format!(
                "{s:?} is {:.0} s ahead, more than {} h: a typo?",
                ahead.as_secs_f64(),
                START_HORIZON.as_secs() / 3600
            )));
        }
    }
    Ok(at)
}

/// Sleeps until the wall-clock instant `at` (at once when it has passed).
pub async fn wait_until(at: SystemTime) {
    if let Ok(d) = at.duration_since(SystemTime::now()) {
        tokio::time::sleep(d).await;
    }
}

/// Parameter naming the worker of a point (set after the key: workers of one level share
/// the key of the whole level).
pub const SHARD_PARAM: &str = "shard";
/// Parameter of a merged point: how many workers' files it pooled.
pub const WORKERS_PARAM: &str = "workers";

/// Folds the worker files among `inputs` (files whose points carry a `shard`) into one
/// input whose worker points of the same level are merged by [`merge_points`]; other
/// files pass through unchanged. The merged input is named after its files, joined by `+`.
pub fn merge_workers(inputs: Vec<(String, Results)>) -> Vec<(String, Results)> {
    let is_worker = |r: &Results| {
        r.points
            .iter()
            .any(|p| p.parameters.contains_key(SHARD_PARAM))
    };
    let (workers, mut out): (Vec<_>, Vec<_>) = inputs.into_iter().partition(|(_, r)| is_worker(r));
    if workers.is_empty() {
        return out;
    }
    let name = workers
        .iter()
        .map(|(f, _)| f.as_str())
        .collect::<Vec<_>>()
        .join("+");
    let mut carrier = workers[0].1.clone();
    carrier.points.clear();
    // Points in first-seen order, each with every worker's copy.
    let mut order: Vec<String> = Vec::new();
    let mut groups: BTreeMap<String, Vec<Point>> = BTreeMap::new();
    for (_, r) in workers {
        for p in r.points {
            if !groups.contains_key(&p.key) {
                order.push(p.key.clone());
            }
            groups.entry(p.key.clone()).or_default().push(p);
        }
    }
    for key in order {
        let mut copies = groups.remove(&key).unwrap_or_default();
        let merged = if copies.len() == 1 && !copies[0].parameters.contains_key(SHARD_PARAM) {
            copies.remove(0)
        } else {
            merge_points(&copies)
        };
        carrier.points.push(merged);
    }
    out.insert(0, (name, carrier));
    out
}

/// Loads a results file, or every file a glob pattern matches (`'w*.json'`), merging
/// worker files with [`merge_workers`]: what `compare` reads for each side.
pub fn load_merged(path: &Path) -> Result<Results> {
    let pattern = path.to_string_lossy();
    if !pattern.contains(['*', '?', '[']) {
        let r = Results::load(path)?;
        return Ok(merge_workers(vec![(pattern.into_owned(), r)]).remove(0).1);
    }
    let files: Vec<_> = glob::glob(&pattern)
        .map_err(|e| Error::config("results file", format!("{pattern}: {e}")))?
        .filter_map(|p| p.ok())
        .collect();
    if files.is_empty() {
        return Err(Error::config(
            "results file",
            format!("{pattern}: no file matches"),
        ));
    }
    let mut inputs = Vec::new();
    for f in files {
        let r = Results::load(&f)?;
        inputs.push((f.display().to_string(), r));
    }
    let mut merged = merge_workers(inputs);
    let mut first = merged.remove(0).1;
    for (_, r) in merged {
        first.points.extend(r.points);
    }
    Ok(first)
}

/// The workers' requests on one time axis, from the earliest worker's start (returned),
/// in order of sending.
fn pool(copies: &[Point]) -> (Vec<crate::record::RequestRecord>, f64) {
    let t0 = |p: &Point| p.t0_unix_s.unwrap_or(p.started_unix_s);
    let t0_min = copies.iter().map(t0).fold(f64::INFINITY, f64::min);
    let mut records = Vec::new();
    for p in copies.iter().filter(|p| p.kind == PointKind::Load) {
        let shift = t0(p) - t0_min;
        for r in &p.requests {
            let mut r = r.clone();
            r.start_s += shift;
            r.scheduled_s = r.scheduled_s.map(|s| s + shift);
            records.push(r);
        }
    }
    records.sort_by(|a, b| a.start_s.total_cmp(&b.start_s));
    (records, t0_min)
}

/// One point from the workers' copies of a level: their requests pooled on one time axis
/// (each worker's `t0_unix_s`), every figure recomputed from the pool.
pub fn merge_points(copies: &[Point]) -> Point {
    let (records, t0_min) = pool(copies);
    let derived: Vec<Derived> = records.iter().map(derived_of).collect();
    let end_s = records
        .iter()
        .map(|r| r.start_s + r.e2e_ms.unwrap_or(0.0) / 1e3)
        .fold(0.0, f64::max);
    let first = &copies[0];
    let sum = |k: &str| -> Option<f64> {
        copies
            .iter()
            .map(|p| p.scalars.get(k).copied())
            .sum::<Option<f64>>()
    };
    let slo_of = |k: &str| first.scalars.get(k).copied();
    let slo = Slo {
        ttft_ms: slo_of("slo_ttft_ms"),
        tpot_ms: slo_of("slo_tpot_ms"),
        e2e_ms: slo_of("slo_e2e_ms"),
    };
    let agg = aggregate::aggregate(&aggregate::Level {
        records: &records,
        derived: &derived,
        duration: Duration::from_secs_f64(end_s.max(0.0)),
        offered_rate: sum("offered_rate_req_per_s"),
        slo: (!slo.is_empty()).then_some(&slo),
        // The workers judged their own lag; their verdicts are carried below.
        lag: &ClientLag::default(),
        max_lag_ms: f64::INFINITY,
        kernel_stamps: true,
        chat: first.parameters.get("endpoint") == Some(&json!("chat")),
        cache_expected: first.parameters.contains_key("prefixes"),
        timeout: Duration::from_secs_f64(
            first
                .scalars
                .get("request_timeout_s")
                .copied()
                .filter(|t| t.is_finite() && *t >= 0.0)
                .unwrap_or(0.0),
        ),
    });
    let mut point = first.clone();
    point.parameters.remove(SHARD_PARAM);
    point
        .parameters
        .insert(WORKERS_PARAM.into(), json!(copies.len()));
    point.requests = records;
    point.summary = agg.summary;
    point.scalars = agg.scalars;
    point.samples = agg.samples;
    if let Some(t) = first.scalars.get("request_timeout_s") {
        point.scalars.insert("request_timeout_s".into(), *t);
    }
    worker_health(copies, &mut point);
    point.t0_unix_s = Some(t0_min);
    span_and_status(copies, &mut point);
    point.warnings = crate::warning::sentences(&agg.warnings);
    for p in copies {
        let who = p.parameters.get(SHARD_PARAM).and_then(Value::as_str);
        for w in &p.warnings {
            point
                .warnings
                .push(format!("worker {}: {w}", who.unwrap_or("?")));
        }
    }
    if let Some(n) = shard_count(first).filter(|n| *n != copies.len()) {
        point.warnings.push(format!(
            "only {} of the {n} workers' results were merged: the figures cover part of the load",
            copies.len()
        ));
    }
    crate::stats::bootstrap::add_intervals(&mut point, crate::stats::bootstrap::DEFAULT_SEED);
    point
}

/// When the fleet ran (first start to last end), its warmup, and its status: ok when any
/// worker's was.
fn span_and_status(copies: &[Point], point: &mut Point) {
    point.started_unix_s = copies
        .iter()
        .map(|p| p.started_unix_s)
        .fold(f64::INFINITY, f64::min);
    point.wall_s = copies
        .iter()
        .map(|p| p.started_unix_s + p.wall_s)
        .fold(0.0, f64::max)
        - point.started_unix_s;
    point.warmup_runs = copies.iter().map(|p| p.warmup_runs).sum();
    point.status = if copies.iter().any(|p| p.status == Status::Ok) {
        Status::Ok
    } else {
        Status::Error
    };
    point.error = copies.iter().find_map(|p| p.error.clone());
}

/// The client's own health over the fleet: valid only when every worker was, its CPU
/// summed, its event-loop lag the worst worker's.
fn worker_health(copies: &[Point], point: &mut Point) {
    let sc = |p: &Point, k: &str| p.scalars.get(k).copied();
    let valid = copies.iter().all(|p| sc(p, "client_valid") == Some(1.0));
    point
        .scalars
        .insert("client_valid".into(), f64::from(u8::from(valid)));
    let cpu: f64 = copies.iter().filter_map(|p| sc(p, "client_cpu_s")).sum();
    point.scalars.insert("client_cpu_s".into(), cpu);
    for k in ["event_loop_lag_p99_ms", "event_loop_lag_max_ms"] {
        if let Some(v) = copies.iter().filter_map(|p| sc(p, k)).reduce(f64::max) {
            point.scalars.insert(k.into(), v);
        }
    }
}

/// `n` of a point's `shard` parameter `i/n`.
fn shard_count(p: &Point) -> Option<usize> {
    let s = p.parameters.get(SHARD_PARAM)?.as_str()?;
    s.split_once('/')?.1.parse().ok()
}

/// What the aggregates need beside a stored record, rebuilt from it.
fn derived_of(r: &crate::record::RequestRecord) -> Derived {
    let x = |k: &str| r.extra.get(k).copied();
    Derived {
        itl_chunk_ms: r.itl_chunk_ms.clone(),
        chunks: x("chunks").unwrap_or(0.0) as u64,
        our_output_tokens: None,
        our_input_tokens: None,
        ttft_sched_ms: x("ttft_sched_ms"),
        e2e_sched_ms: x("e2e_sched_ms"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_add_up_to_the_level() {
        for total in 0..20 {
            for count in 1..6 {
                let s: usize = (1..=count)
                    .map(|index| Worker { index, count }.share(total))
                    .sum();
                assert_eq!(s, total);
            }
        }
        let w = Worker { index: 3, count: 3 };
        let e = w.shape(Shape::Closed { concurrency: 2 }).unwrap_err();
        assert!(e.to_string().contains("--shard"), "{e}");
    }

    #[test]
    fn start_at_takes_rfc3339_and_unix_seconds() {
        let now = UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let at = parse_start_at("1800000010", now).unwrap();
        assert_eq!(at, now + Duration::from_secs(10));
        // 1_800_000_000 = 2027-01-15T08:00:00Z
        let at = parse_start_at("2027-01-15T08:00:30Z", now).unwrap();
        assert_eq!(at, now + Duration::from_secs(30));
        let at = parse_start_at("2027-01-15T09:00:30+01:00", now).unwrap();
        assert_eq!(at, now + Duration::from_secs(30));
        assert!(
            parse_start_at("1799999998", now).is_ok(),
            "within the grace"
        );
        for bad in [
            "1799999000",
            "1900000000",
            "tomorrow",
            "-5",
            "2027-01-15 08:00",
        ] {
            let e = parse_start_at(bad, now).unwrap_err().to_string();
            assert!(e.contains("--start-at"), "{bad}: {e}");
        }
    }
}
