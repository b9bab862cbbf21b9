//! Serving benchmarks of other clients as trtbench load points: `vllm bench serve
//! --save-result` JSON (and the `benchmarks/benchmark_serving.py` it grew from), AIPerf's
//! per-record `profile_export.jsonl` and its aggregate `profile_export_aiperf.json`.
//!
//! Raw samples are kept wherever the peer saved them, and every summary is then computed
//! by `stats::summarize`, as for our own points, so `compare` can test significance. A
//! figure the peer only saved as an aggregate is either a complete summary (AIPerf gives
//! n, mean, std, min, p50, p90, p95, p99, max) or kept under the peer's own name in the
//! point's scalars (vLLM's E2E, which it saves as mean, median, std and chosen percentiles
//! only); what the peer does not measure at all is listed in `notes.lacks`.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::{json, Value};

use crate::error::{Error, Result};
use crate::record::{Clock, Point, PointKind, RequestRecord, Status, Summary};

const CLOCK: Option<Clock> = Some(Clock::HostMonotonic);

/// A load point from peer requests: summaries of the raw samples, throughputs as
/// single-value summaries and scalars (as `client::aggregate` gives them).
fn point(
    params: BTreeMap<String, Value>,
    requests: Vec<RequestRecord>,
    duration_s: Option<f64>,
) -> Point {
    let mut p = Point::new(PointKind::Load, params);
    let ok: Vec<&RequestRecord> = requests.iter().filter(|r| r.error.is_none()).collect();
    let mut put = |key: &str, vals: Vec<f64>, unit: &str| {
        if let Some(s) = crate::stats::summarize(&vals, unit, CLOCK) {
            p.summary.insert(key.into(), s);
        }
    };
    put(
        "ttft_ms",
        ok.iter().filter_map(|r| r.ttft_ms).collect(),
        "ms",
    );
    put("e2e_ms", ok.iter().filter_map(|r| r.e2e_ms).collect(), "ms");
    put(
        "tpot_ms",
        ok.iter().filter_map(|r| r.tpot_ms).collect(),
        "ms",
    );
    put(
        "itl_ms",
        ok.iter().flat_map(|r| r.itl_ms.clone()).collect(),
        "ms",
    );
    put(
        "itl_chunk_ms",
        ok.iter().flat_map(|r| r.itl_chunk_ms.clone()).collect(),
        "ms",
    );
    let tokens = |f: fn(&RequestRecord) -> u64| ok.iter().map(|r| f(r) as f64).collect();
    put("input_tokens", tokens(|r| r.input_tokens), "tokens");
    put("output_tokens", tokens(|r| r.output_tokens), "tokens");
    let output: u64 = ok.iter().map(|r| r.output_tokens).sum();
    p.scalars.insert("requests".into(), requests.len() as f64);
    p.scalars.insert("completed".into(), ok.len() as f64);
    p.scalars
        .insert("failed".into(), (requests.len() - ok.len()) as f64);
    if let Some(d) = duration_s.filter(|d| *d > 0.0) {
        p.scalars.insert("duration_s".into(), d);
        for (key, v) in [
            ("output_tok_per_s", output as f64 / d),
            ("requests_per_s", ok.len() as f64 / d),
        ] {
            p.scalars.insert(key.into(), v);
            put(
                key,
                vec![v],
                if key == "requests_per_s" {
                    "req/s"
                } else {
                    "tok/s"
                },
            );
        }
    }
    p.status = if ok.is_empty() {
        Status::Error
    } else {
        Status::Ok
    };
    if ok.is_empty() {
        p.error = Some("no request of the peer's run succeeded".into());
    }
    p.requests = requests;
    p
}

/// `isl` / `osl` parameters when every request had the same length.
fn uniform_lengths(p: &mut BTreeMap<String, Value>, reqs: &[RequestRecord]) {
    let ok: Vec<&RequestRecord> = reqs.iter().filter(|r| r.error.is_none()).collect();
    for (key, f) in [
        (
            "isl",
            (|r: &RequestRecord| r.input_tokens) as fn(&RequestRecord) -> u64,
        ),
        ("osl", |r: &RequestRecord| r.output_tokens),
    ] {
        let first = ok.first().map(|r| f(r));
        if let Some(v) = first.filter(|v| ok.iter().all(|r| f(r) == *v)) {
            p.entry(key.into()).or_insert(json!(v));
        }
    }
}

fn note(p: &mut Point, path: &Path, lacks: &str) {
    p.notes
        .insert("imported_from".into(), path.display().to_string());
    p.notes.insert("lacks".into(), lacks.into());
}

const VLLM_LACKS: &str = "e2e_ms per request (vLLM saves E2E only as mean/median/std/\
     percentiles: kept as scalars vllm_*_e2el_ms), the send time of each request, the \
     server's own token counts (usage), cached prompt tokens";

/// `vllm bench serve --save-result`: per-request `ttfts` and `itls` (seconds),
/// `input_lens`, `output_lens` and `errors`; the run's settings beside them.
pub fn vllm(v: &Value, path: &Path) -> Result<Vec<Point>> {
    let list = |k: &str| -> Result<&Vec<Value>> {
        v.get(k).and_then(Value::as_array).ok_or_else(|| {
            Error::bad_file(
                path,
                format!("field `{k}` missing: save the run with --save-result (per-request lists)"),
            )
        })
    };
    let (ttfts, itls) = (list("ttfts")?, list("itls")?);
    let (ins, outs) = (list("input_lens")?, list("output_lens")?);
    let errors = v.get("errors").and_then(Value::as_array);
    if [itls.len(), ins.len(), outs.len()] != [ttfts.len(); 3] {
        return Err(Error::bad_file(
            path,
            "ttfts, itls, input_lens and output_lens differ in length",
        ));
    }
    let mut reqs = Vec::with_capacity(ttfts.len());
    for i in 0..ttfts.len() {
        let err = errors
            .and_then(|e| e.get(i))
            .and_then(Value::as_str)
            .filter(|e| !e.is_empty());
        let itl: Vec<f64> = itls[i]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_f64)
                    .map(|s| s * 1e3)
                    .collect()
            })
            .unwrap_or_default();
        let out = outs[i].as_u64().unwrap_or(0);
        reqs.push(RequestRecord {
            ttft_ms: ttfts[i].as_f64().filter(|_| err.is_none()).map(|s| s * 1e3),
            // vLLM's TPOT is (latency − TTFT) / (tokens − 1); without the latency, the
            // sum of the token gaps stands for latency − TTFT.
            tpot_ms: (out > 1 && err.is_none()).then(|| itl.iter().sum::<f64>() / (out - 1) as f64),
            itl_ms: itl,
            input_tokens: ins[i].as_u64().unwrap_or(0),
            output_tokens: out,
            error: err.map(|_| "peer_error".to_owned()),
            ..empty_request()
        });
    }
    let mut params = BTreeMap::new();
    params.insert("tool".into(), json!("vllm bench serve"));
    params.insert(
        "model".into(),
        v.get("model_id").cloned().unwrap_or(json!("unknown")),
    );
    let endpoint = match v.get("backend").and_then(Value::as_str) {
        Some("openai-chat") => "chat",
        _ => "completions",
    };
    params.insert("endpoint".into(), json!(endpoint));
    match (
        v.get("max_concurrency").and_then(Value::as_u64),
        v.get("request_rate"),
    ) {
        (Some(c), _) => params.insert("concurrency".into(), json!(c)),
        (None, Some(r)) => params.insert("rate".into(), r.clone()),
        _ => None,
    };
    params.insert("num_prompts".into(), json!(reqs.len()));
    uniform_lengths(&mut params, &reqs);
    let mut p = point(params, reqs, v.get("duration").and_then(Value::as_f64));
    for (k, x) in v.as_object().into_iter().flatten() {
        if k.ends_with("_e2el_ms") {
            if let Some(x) = x.as_f64() {
                p.scalars.insert(format!("vllm_{k}"), x);
            }
        }
    }
    note(&mut p, path, VLLM_LACKS);
    Ok(vec![p])
}

fn empty_request() -> RequestRecord {
    RequestRecord {
        start_s: 0.0,
        scheduled_s: None,
        ttft_ms: None,
        e2e_ms: None,
        tpot_ms: None,
        itl_ms: Vec::new(),
        itl_chunk_ms: Vec::new(),
        input_tokens: 0,
        output_tokens: 0,
        server_input_tokens: None,
        server_output_tokens: None,
        http_status: None,
        error: None,
        extra: BTreeMap::new(),
    }
}

/// The run's settings from AIPerf's `input_config` (the aggregate export).
fn aiperf_params(v: &Value) -> BTreeMap<String, Value> {
    let c = &v["input_config"];
    let mut p = BTreeMap::new();
    p.insert("tool".into(), json!("aiperf"));
    if let Some(m) = c.pointer("/models/items/0/name") {
        p.insert("model".into(), m.clone());
    }
    if let Some(u) = c.pointer("/endpoint/urls/0") {
        p.insert("url".into(), u.clone());
    }
    let endpoint = match c.pointer("/endpoint/type").and_then(Value::as_str) {
        Some("chat") => "chat",
        _ => "completions",
    };
    p.insert("endpoint".into(), json!(endpoint));
    let phases = c["phases"].as_array().into_iter().flatten();
    if let Some(ph) = phases.into_iter().find(|ph| ph["kind"] == "profiling") {
        for (ours, theirs) in [
            ("concurrency", "concurrency"),
            ("rate", "request_rate"),
            ("num_prompts", "requests"),
        ] {
            if let Some(x) = ph.get(theirs).filter(|x| !x.is_null()) {
                p.insert(ours.into(), x.clone());
            }
        }
    }
    for (ours, theirs) in [
        ("isl", "/datasets/0/prompts/isl/mean"),
        ("osl", "/datasets/0/prompts/osl/mean"),
    ] {
        if let Some(x) = c.pointer(theirs).and_then(Value::as_f64) {
            p.insert(ours.into(), json!(x.round() as u64));
        }
    }
    p
}

const AIPERF_AGG_LACKS: &str = "raw per-request samples (import AIPerf's per-record \
     profile_export.jsonl for them, so compare can test significance), itl_ms per token \
     (AIPerf aggregates gaps per chunk: kept as itl_chunk_ms)";

/// AIPerf's aggregate export: every metric is a complete summary (count, avg, std, min,
/// p50, p90, p95, p99, max), mapped as it is.
pub fn aiperf_aggregate(v: &Value, path: &Path) -> Result<Vec<Point>> {
    let mut p = Point::new(PointKind::Load, aiperf_params(v));
    for (ours, theirs) in [
        ("ttft_ms", "time_to_first_token"),
        ("e2e_ms", "request_latency"),
        // AIPerf's per-request ITL is (latency − TTFT) / (tokens − 1): our TPOT.
        ("tpot_ms", "inter_token_latency"),
        ("itl_chunk_ms", "inter_chunk_latency"),
        ("input_tokens", "input_sequence_length"),
        ("output_tokens", "output_sequence_length"),
    ] {
        if let Some(s) = aiperf_summary(&v[theirs]) {
            p.summary.insert(ours.into(), s);
        }
    }
    for (ours, theirs) in [
        ("requests_per_s", "request_throughput"),
        ("output_tok_per_s", "output_token_throughput"),
        ("total_tok_per_s", "total_token_throughput"),
        ("duration_s", "benchmark_duration"),
        ("completed", "completed_request_count"),
        ("requests", "request_count"),
    ] {
        if let Some(x) = v[theirs]["avg"].as_f64() {
            p.scalars.insert(ours.into(), x);
        }
    }
    if !p.summary.contains_key("ttft_ms") {
        return Err(Error::bad_file(
            path,
            "AIPerf export without time_to_first_token",
        ));
    }
    p.status = Status::Ok;
    note(&mut p, path, AIPERF_AGG_LACKS);
    Ok(vec![p])
}

/// An AIPerf metric object as a summary; `None` unless every statistic is there.
fn aiperf_summary(m: &Value) -> Option<Summary> {
    let f = |k: &str| m.get(k).and_then(Value::as_f64);
    Some(Summary {
        n: f("count")? as usize,
        mean: f("avg")?,
        stddev: f("std")?,
        min: f("min")?,
        p50: f("p50")?,
        p90: f("p90")?,
        p95: f("p95")?,
        p99: f("p99")?,
        max: f("max")?,
        unit: m
            .get("unit")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned(),
        clock: CLOCK,
        ci95: BTreeMap::new(),
    })
}

const AIPERF_RECORDS_LACKS: &str = "the run's settings when profile_export_aiperf.json is not \
     beside the records (concurrency, rate, url), cached prompt tokens per request";

/// AIPerf's per-record JSONL (`profile_export.jsonl`): one request per line, warmup
/// records skipped. Settings come from `profile_export_aiperf.json` beside it, if there.
pub fn aiperf_records(lines: &[Value], path: &Path) -> Result<Vec<Point>> {
    let metric = |r: &Value, k: &str| r["metrics"][k]["value"].clone();
    let profiling: Vec<&Value> = lines
        .iter()
        .filter(|r| r["metadata"]["benchmark_phase"] != "warmup")
        .collect();
    let t0 = profiling
        .iter()
        .filter_map(|r| r["metadata"]["request_start_ns"].as_f64())
        .fold(f64::INFINITY, f64::min);
    let mut reqs = Vec::with_capacity(profiling.len());
    for r in &profiling {
        let num = |k: &str| metric(r, k).as_f64();
        let tokens = |k: &str| metric(r, k).as_u64();
        let chunks: Vec<f64> = metric(r, "inter_chunk_latency")
            .as_array()
            .map(|a| a.iter().filter_map(Value::as_f64).collect())
            .unwrap_or_default();
        let out = tokens("output_sequence_length").unwrap_or(0);
        // One token per chunk: the chunk gaps are the token gaps.
        let per_token = out > 0 && chunks.len() as u64 == out - 1;
        let failed = r.get("error").is_some_and(|e| !e.is_null());
        reqs.push(RequestRecord {
            start_s: r["metadata"]["request_start_ns"]
                .as_f64()
                .map_or(0.0, |s| (s - t0) / 1e9),
            ttft_ms: num("time_to_first_token"),
            e2e_ms: num("request_latency"),
            tpot_ms: num("inter_token_latency"),
            itl_ms: if per_token {
                chunks.clone()
            } else {
                Vec::new()
            },
            itl_chunk_ms: if per_token { Vec::new() } else { chunks },
            input_tokens: tokens("input_sequence_length").unwrap_or(0),
            output_tokens: out,
            server_input_tokens: tokens("usage_prompt_tokens"),
            server_output_tokens: tokens("usage_completion_tokens"),
            error: failed.then(|| "peer_error".to_owned()),
            ..empty_request()
        });
    }
    if reqs.is_empty() {
        return Err(Error::bad_file(
            path,
            "no profiling record in the AIPerf JSONL",
        ));
    }
    let agg = path
        .parent()
        .map(|d| d.join("profile_export_aiperf.json"))
        .and_then(|f| std::fs::read(f).ok())
        .and_then(|b| serde_json::from_slice::<Value>(&b).ok());
    let mut params = match &agg {
        Some(a) => aiperf_params(a),
        None => BTreeMap::from([("tool".to_owned(), json!("aiperf"))]),
    };
    params.insert("num_prompts".into(), json!(reqs.len()));
    uniform_lengths(&mut params, &reqs);
    let duration = agg
        .as_ref()
        .and_then(|a| a["benchmark_duration"]["avg"].as_f64());
    let mut p = point(params, reqs, duration);
    let lacks = if agg.is_some() {
        "cached prompt tokens per request"
    } else {
        AIPERF_RECORDS_LACKS
    };
    note(&mut p, path, lacks);
    Ok(vec![p])
}
