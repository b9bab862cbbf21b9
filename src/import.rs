//! Results of other tools as trtbench points, so they sit beside trtbench's in one report
//! or `compare`. Each importer maps the peer's fields onto ours and lists, in the point's
//! notes (`lacks`), the figures the peer does not measure.
//!
//! - llama-bench `-o json`: one engine point per test; `pp` tests give `prefill_tok_per_s`
//!   and `prefill_ms`, `tg` tests `decode_tok_per_s` and `tpot_ms` (time per generated
//!   token), from its per-repetition samples (`samples_ns`, `samples_ts`).
//! - `vllm bench serve --save-result` JSON, AIPerf's per-record `profile_export.jsonl` and
//!   its aggregate `profile_export_aiperf.json`: one load point per file (`serve`).

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::{json, Value};

use crate::error::{Error, Result};
use crate::record::{Clock, Point, PointKind, Status};

pub mod mlperf;
mod serve;

/// A peer tool whose results file trtbench recognises.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    LlamaBench,
    VllmBenchServe,
    AiPerf,
    /// MLPerf LoadGen's `mlperf_log_detail.txt` + `mlperf_log_summary.txt` (`mlperf`).
    MlperfLoadgen,
}

impl Format {
    pub fn as_str(self) -> &'static str {
        match self {
            Format::LlamaBench => "llama-bench",
            Format::VllmBenchServe => "vllm bench serve",
            Format::AiPerf => "aiperf",
            Format::MlperfLoadgen => "mlperf loadgen",
        }
    }
}

/// Which tool wrote `v`, from fields only that tool writes.
pub fn detect(v: &Value) -> Option<Format> {
    let first = v.as_array().and_then(|a| a.first());
    if first.is_some_and(|t| t.get("avg_ts").is_some() && t.get("n_prompt").is_some()) {
        return Some(Format::LlamaBench);
    }
    if v.get("request_throughput").is_some() && v.get("mean_ttft_ms").is_some() {
        return Some(Format::VllmBenchServe);
    }
    if v.get("time_to_first_token").is_some() || v.get("request_latency").is_some() {
        return Some(Format::AiPerf);
    }
    None
}

/// What importing one file gave.
#[derive(Debug, Clone)]
pub struct Imported {
    pub format: Format,
    pub points: Vec<Point>,
}

/// Reads `path` and maps it onto points; an unknown or unsupported file is bad input
/// naming it.
pub fn import(path: &Path) -> Result<Imported> {
    if mlperf::is_loadgen_log(path) {
        let dir = if path.is_dir() {
            path
        } else {
            path.parent().unwrap_or(Path::new("."))
        };
        let params = mlperf::RunParams {
            engine: "unknown".into(),
            sut: "unknown".into(),
            ..Default::default()
        };
        return Ok(Imported {
            format: Format::MlperfLoadgen,
            points: vec![mlperf::read_dir(dir, &params)?],
        });
    }
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let v: Value = match serde_json::from_slice(&bytes) {
        Ok(v) => v,
        Err(e) => match json_lines(&bytes) {
            Some(lines) => {
                return Ok(Imported {
                    format: Format::AiPerf,
                    points: serve::aiperf_records(&lines, path)?,
                })
            }
            None => return Err(Error::bad_file(path, format!("not JSON: {e}"))),
        },
    };
    let format = detect(&v).ok_or_else(|| {
        Error::bad_file(
            path,
            "not a results file trtbench can import (llama-bench -o json, vllm bench serve \
             --save-result, AIPerf profile_export_aiperf.json or profile_export.jsonl)",
        )
    })?;
    let points = match format {
        Format::LlamaBench => llama_bench(&v, path)?,
        Format::VllmBenchServe => serve::vllm(&v, path)?,
        Format::AiPerf => serve::aiperf_aggregate(&v, path)?,
        // Recognised by file name above, never by `detect`.
        Format::MlperfLoadgen => return Err(Error::bad_file(path, "a LoadGen log is text")),
    };
    Ok(Imported { format, points })
}

/// The lines of an AIPerf per-record export (`{"metadata": ..., "metrics": ...}` each), or
/// `None` when `bytes` is not that.
fn json_lines(bytes: &[u8]) -> Option<Vec<Value>> {
    let text = std::str::from_utf8(bytes).ok()?;
    let lines: Vec<Value> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(serde_json::from_str)
        .collect::<std::result::Result<_, _>>()
        .ok()?;
    let is_record = |r: &Value| r.get("metadata").is_some() && r.get("metrics").is_some();
    (!lines.is_empty() && lines.iter().all(is_record)).then_some(lines)
}

/// Figures llama-bench does not measure (it times whole tests, not single tokens).
const LLAMA_BENCH_LACKS: &str = "ttft_ms, itl_ms, e2e_ms, output_tok_per_s, requests_per_s, \
     peak_rss_bytes (llama-bench times each test as a whole: pp = prompt processing only, \
     tg = generation only)";

fn f64s(v: &Value, key: &str) -> Vec<f64> {
    v.get(key)
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_f64).collect())
        .unwrap_or_default()
}

/// One point per llama-bench test.
pub fn llama_bench(v: &Value, path: &Path) -> Result<Vec<Point>> {
    let tests = v
        .as_array()
        .ok_or_else(|| Error::bad_file(path, "llama-bench JSON must be an array of tests"))?;
    let mut out = Vec::with_capacity(tests.len());
    for (i, t) in tests.iter().enumerate() {
        let field = |k: &str| {
            t.get(k)
                .and_then(Value::as_u64)
                .ok_or_else(|| Error::bad_file(path, format!("test {i}: field `{k}` missing")))
        };
        let (n_prompt, n_gen) = (field("n_prompt")?, field("n_gen")?);
        let model = t["model_filename"].as_str().unwrap_or("unknown");
        let name = Path::new(model)
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| model.to_owned());
        let mut p: BTreeMap<String, Value> = BTreeMap::new();
        p.insert("engine".into(), json!(name));
        p.insert("tool".into(), json!("llama-bench"));
        p.insert("batch".into(), json!(1));
        p.insert("isl".into(), json!(n_prompt));
        p.insert("osl".into(), json!(n_gen));
        for k in [
            "n_threads",
            "n_batch",
            "n_ubatch",
            "n_gpu_layers",
            "type_k",
            "type_v",
        ] {
            if let Some(x) = t.get(k) {
                p.insert(k.into(), x.clone());
            }
        }
        let mut point = Point::new(PointKind::Engine, p);
        point.status = Status::Ok;
        point.engine = Some(json!({
            "name": name,
            "backend": "llama.cpp",
            "model_filename": model,
            "model_type": t.get("model_type"),
            "model_size_bytes": t.get("model_size"),
            "model_n_params": t.get("model_n_params"),
            "build_commit": t.get("build_commit"),
            "backends": t.get("backends"),
        }));
        let ns = f64s(t, "samples_ns");
        let ts = f64s(t, "samples_ts");
        let clock = Some(Clock::HostMonotonic);
        let mut put = |key: &str, vals: Vec<f64>, unit: &str| {
            if let Some(s) = crate::stats::summarize(&vals, unit, clock) {
                point.summary.insert(key.into(), s);
            }
        };
        let ms: Vec<f64> = ns.iter().map(|x| x / 1e6).collect();
        match (n_prompt, n_gen) {
            (_, 0) => {
                put("prefill_tok_per_s", ts, "tok/s");
                put("prefill_ms", ms, "ms");
            }
            (0, g) => {
                put("decode_tok_per_s", ts, "tok/s");
                put("tpot_ms", ms.iter().map(|x| x / g as f64).collect(), "ms");
            }
            _ => put("e2e_ms", ms, "ms"),
        }
        point
            .notes
            .insert("imported_from".into(), path.display().to_string());
        point.notes.insert("lacks".into(), LLAMA_BENCH_LACKS.into());
        out.push(point);
    }
    Ok(out)
}
