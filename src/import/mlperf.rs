//! MLPerf LoadGen's logs as a trtbench point: `mlperf_log_detail.txt` (one
//! `:::MLLOG {json}` record per line) gives the scenario, the effective settings and every
//! `result_*` figure; `mlperf_log_summary.txt` gives the verdict LoadGen printed (`Result is
//! : VALID` / `INVALID`), which must agree with the detail log's `result_validity`.
//! Latencies LoadGen logs in ns become `_ms` scalars; its per-second figures keep their
//! meaning under our names (`requests_per_s` = samples per second, `output_tok_per_s` =
//! tokens per second). LoadGen logs percentiles, not samples, so the point has scalars
//! and no summaries with spread.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::{json, Value};

use crate::error::{Error, Result};
use crate::record::{Point, PointKind, Status};

/// The label every output of an MLPerf-style run carries.
pub const NOT_MLPERF: &str = "not an MLPerf result: the model, data set, accuracy target \
     and audit are not MLPerf's (trtbench mlperf, docs/mlperf.md)";

/// Whether `path` is a LoadGen log or a directory holding one.
pub fn is_loadgen_log(path: &Path) -> bool {
    if path.is_dir() {
        return path.join("mlperf_log_detail.txt").is_file();
    }
    path.file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n == "mlperf_log_detail.txt" || n == "mlperf_log_summary.txt")
}

/// What a run was, beside what LoadGen logs: the point's parameters.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RunParams {
    /// The engine's name, or the server's model.
    pub engine: String,
    /// `engine` (in process) or `server` (over HTTP).
    pub sut: String,
    pub isl: Option<u32>,
    pub osl: Option<u32>,
    pub batch: Option<u32>,
    pub samples: Option<usize>,
    /// The file name of the sample library, when it came from a file.
    pub dataset: Option<String>,
}

/// The `:::MLLOG` records of a detail log, key → value (a later record of a key wins).
pub fn detail_records(text: &str, path: &Path) -> Result<BTreeMap<String, Value>> {
    let mut out = BTreeMap::new();
    for (i, line) in text.lines().enumerate() {
        let Some(rest) = line.trim().strip_prefix(":::MLLOG") else {
            continue;
        };
        let v: Value = serde_json::from_str(rest.trim()).map_err(|e| {
            Error::bad_file(path, format!("line {}: not an MLLOG record: {e}", i + 1))
        })?;
        if let Some(k) = v.get("key").and_then(Value::as_str) {
            out.insert(k.to_owned(), v.get("value").cloned().unwrap_or(Value::Null));
        }
    }
    if out.is_empty() {
        return Err(Error::bad_file(
            path,
            "no :::MLLOG records (not a LoadGen detail log)",
        ));
    }
    Ok(out)
}

/// The verdict line of a summary log: `Some(true)` for VALID, `Some(false)` for INVALID.
pub fn summary_validity(text: &str) -> Option<bool> {
    text.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        if k.trim() != "Result is" {
            return None;
        }
        match v.trim() {
            "VALID" => Some(true),
            "INVALID" => Some(false),
            _ => None,
        }
    })
}

/// A `result_*` key of the detail log as a trtbench scalar name, with the factor its value
/// is multiplied by (ns → ms): `result_90.00_percentile_latency_ns` → `mlperf_latency_p90_ms`,
/// `result_first_token_mean_latency_ns` → `mlperf_ttft_mean_ms`,
/// `result_time_per_output_token_99.90_percentile_ns` → `mlperf_tpot_p99_9_ms`. Keys whose
/// unit is not clear from LoadGen's code (`result_token_throughput`) are left out.
pub fn scalar_name(key: &str) -> Option<(String, f64)> {
    let rest = key.strip_prefix("result_")?;
    let plain = match rest {
        "samples_per_second" => Some("requests_per_s"),
        "completed_samples_per_sec" => Some("mlperf_completed_requests_per_s"),
        "scheduled_samples_per_sec" => Some("mlperf_scheduled_requests_per_s"),
        "tokens_per_second" => Some("output_tok_per_s"),
        "completed_tokens_per_second" => Some("mlperf_completed_tok_per_s"),
        "qps_with_loadgen_overhead" => Some("mlperf_qps_with_loadgen_overhead"),
        "qps_without_loadgen_overhead" => Some("mlperf_qps_without_loadgen_overhead"),
        "token_throughput_with_loadgen_overhead" => Some("mlperf_tok_per_s_with_loadgen_overhead"),
        "query_count" => Some("mlperf_query_count"),
        _ => None,
    };
    if let Some(name) = plain {
        return Some((name.to_owned(), 1.0));
    }
    let (what, stat) = if let Some(r) = rest.strip_prefix("first_token_") {
        ("ttft", r)
    } else if let Some(r) = rest.strip_prefix("time_per_output_token_") {
        ("tpot", r)
    } else if let Some(r) = rest.strip_prefix("time_to_output_token_") {
        // LoadGen's min/max/mean of the time per output token, in ns without a suffix.
        ("tpot", r)
    } else if rest.ends_with("query_latency_ns") {
        // A whole query's latency (MultiStream's figure of merit).
        ("query_latency", rest)
    } else {
        ("latency", rest)
    };
    let stat = stat
        .trim_end_matches("_ns")
        .trim_end_matches("_latency")
        .trim_end_matches("_query")
        .trim_end_matches("_per")
        .trim_end_matches("_percentile");
    let stat = match stat {
        "min" | "max" | "mean" => stat.to_owned(),
        pct => {
            let x: f64 = pct.parse().ok()?;
            format!("p{}", format!("{x}").replace('.', "_"))
        }
    };
    Some((format!("mlperf_{what}_{stat}_ms"), 1e-6))
}

/// The settings a LoadGen run was judged by, as scalars: the target latency percentile
/// (`mlperf_target_percentile`, in percent: SingleStream's figure of merit is the sample
/// latency at it, MultiStream's the query latency, Server's TTFT and TPOT constraints
/// apply at it), Server's target QPS, and the TTFT / TPOT limits when token latencies
/// were on (`mlperf_ttft_limit_ms`, `mlperf_tpot_limit_ms`).
fn settings_scalars(records: &BTreeMap<String, Value>, point: &mut Point) {
    let num = |k: &str| records.get(k).and_then(Value::as_f64);
    if let Some(p) = num("effective_target_latency_percentile") {
        // A fraction in the log; percent to two decimals, as LoadGen names its results.
        let pct = (p * 1e4).round() / 1e2;
        point.scalars.insert("mlperf_target_percentile".into(), pct);
    }
    let server = records.get("effective_scenario").and_then(Value::as_str) == Some("Server");
    if !server {
        return;
    }
    if let Some(q) = num("effective_target_qps") {
        point.scalars.insert("mlperf_target_qps".into(), q);
    }
    let tokens = records
        .get("requested_use_token_latencies")
        .is_some_and(|v| v.as_bool() == Some(true) || v.as_f64() == Some(1.0));
    for (key, name) in [
        ("requested_server_ttft_latency", "mlperf_ttft_limit_ms"),
        ("requested_server_tpot_latency", "mlperf_tpot_limit_ms"),
    ] {
        if let (true, Some(ns)) = (tokens, num(key)) {
            point.scalars.insert(name.into(), ns * 1e-6);
        }
    }
}

/// Why LoadGen judged a run INVALID, from the detail log's flags and its own reason.
pub fn invalid_reasons(records: &BTreeMap<String, Value>) -> Vec<String> {
    let mut out = Vec::new();
    let unmet = |k: &str| records.get(k).and_then(Value::as_bool) == Some(false);
    if unmet("result_min_duration_met") {
        out.push("min duration not met".to_owned());
    }
    if unmet("result_min_queries_met") {
        out.push("min queries not met".to_owned());
    }
    if unmet("early_stopping_met") {
        out.push("early stopping not satisfied (too few queries)".to_owned());
    }
    if let Some(r) = records.get("result_invalid_reason").and_then(Value::as_str) {
        out.extend(
            r.split(['*', '\n'])
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(str::to_owned),
        );
    }
    out
}

/// The point of one LoadGen run whose logs are in `dir`.
pub fn read_dir(dir: &Path, params: &RunParams) -> Result<Point> {
    let detail_path = dir.join("mlperf_log_detail.txt");
    let summary_path = dir.join("mlperf_log_summary.txt");
    let detail = std::fs::read_to_string(&detail_path).map_err(|e| Error::io(&detail_path, e))?;
    let summary =
        std::fs::read_to_string(&summary_path).map_err(|e| Error::io(&summary_path, e))?;
    point(&detail, &summary, params, dir)
}

/// The verdict of a run: the detail log's `result_validity`, which must agree with the
/// summary's `Result is :` line.
fn validity(records: &BTreeMap<String, Value>, summary: &str, dir: &Path) -> Result<bool> {
    let from_summary = summary_validity(summary).ok_or_else(|| {
        Error::bad_file(
            dir.join("mlperf_log_summary.txt"),
            "no `Result is : VALID|INVALID` line",
        )
    })?;
    let valid = match records.get("result_validity").and_then(Value::as_str) {
        Some("VALID") => true,
        Some("INVALID") => false,
        other => {
            return Err(Error::bad_file(
                dir.join("mlperf_log_detail.txt"),
                format!("result_validity is {other:?}, not VALID or INVALID"),
            ))
        }
    };
    if valid != from_summary {
        return Err(Error::bad_file(
            dir,
            "the summary and detail logs disagree on the result's validity",
        ));
    }
    Ok(valid)
}

/// The point's parameters: what the run was (`params`) and LoadGen's effective scenario
/// and mode.
fn parameters(records: &BTreeMap<String, Value>, params: &RunParams) -> BTreeMap<String, Value> {
    let effective = |k: &str| {
        records
            .get(k)
            .and_then(Value::as_str)
            .unwrap_or("unknown")
            .to_owned()
    };
    let mut p: BTreeMap<String, Value> = BTreeMap::new();
    p.insert("engine".into(), json!(params.engine));
    p.insert("tool".into(), json!("mlperf-loadgen"));
    p.insert("scenario".into(), json!(effective("effective_scenario")));
    p.insert(
        "mlperf_mode".into(),
        json!(effective("effective_test_mode")),
    );
    p.insert("sut".into(), json!(params.sut));
    for (k, v) in [
        ("isl", params.isl),
        ("osl", params.osl),
        ("batch", params.batch),
    ] {
        if let Some(v) = v {
            p.insert(k.into(), json!(v));
        }
    }
    if let Some(n) = params.samples {
        p.insert("samples".into(), json!(n));
    }
    if let Some(d) = &params.dataset {
        p.insert("dataset".into(), json!(d));
    }
    p
}

/// The point of a run from the texts of its detail and summary logs.
pub fn point(detail: &str, summary: &str, params: &RunParams, dir: &Path) -> Result<Point> {
    let records = detail_records(detail, &dir.join("mlperf_log_detail.txt"))?;
    let mut point = Point::new(PointKind::Load, parameters(&records, params));
    point.status = Status::Ok;
    for (k, v) in &records {
        if let (Some((name, factor)), Some(x)) = (scalar_name(k), v.as_f64()) {
            point.scalars.insert(name, x * factor);
        }
    }
    settings_scalars(&records, &mut point);
    // An accuracy run times nothing: LoadGen writes no results and no verdict, only the
    // responses (mlperf_log_accuracy.json).
    let accuracy = point.parameters["mlperf_mode"] == "AccuracyOnly";
    let valid = if accuracy {
        point.notes.insert(
            "mlperf_result_validity".into(),
            "none (accuracy mode: responses in mlperf_log_accuracy.json)".into(),
        );
        true
    } else {
        let valid = validity(&records, summary, dir)?;
        point
            .scalars
            .insert("mlperf_valid".into(), if valid { 1.0 } else { 0.0 });
        let verdict = if valid { "VALID" } else { "INVALID" };
        point
            .notes
            .insert("mlperf_result_validity".into(), verdict.into());
        valid
    };
    for k in [
        "early_stopping_result",
        "early_stopping_ttft_result",
        "early_stopping_tpot_result",
    ] {
        if let Some(s) = records.get(k).and_then(Value::as_str) {
            point.notes.insert(format!("mlperf_{k}"), s.to_owned());
        }
    }
    if !valid {
        point.warnings.push(format!(
            "LoadGen judged this run INVALID ({})",
            invalid_reasons(&records).join("; ")
        ));
    }
    point.notes.insert("mlperf".into(), NOT_MLPERF.into());
    point
        .notes
        .insert("imported_from".into(), dir.display().to_string());
    Ok(point)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(key: &str, value: &str) -> String {
        format!(
            ":::MLLOG {{\"key\": \"{key}\", \"value\": {value}, \"time_ms\": 1.0, \
             \"namespace\": \"mlperf::logging\", \"event_type\": \"POINT_IN_TIME\"}}\n"
        )
    }

    fn detail(validity: &str, extra: &[(&str, &str)]) -> String {
        let mut d = String::from("junk line LoadGen never writes\n");
        d += &rec("effective_scenario", "\"Server\"");
        d += &rec("effective_test_mode", "\"PerformanceOnly\"");
        d += &rec("result_validity", &format!("\"{validity}\""));
        d += &rec("result_first_token_99.00_percentile_latency_ns", "2500000");
        d += &rec(
            "result_time_per_output_token_99.90_percentile_ns",
            "40000000",
        );
        d += &rec("result_time_to_output_token_mean", "30000000");
        d += &rec("result_50.00_percentile_latency_ns", "123456789");
        d += &rec("result_completed_samples_per_sec", "1.5");
        d += &rec("result_token_throughput", "2.5e-09");
        for (k, v) in extra {
            d += &rec(k, v);
        }
        d
    }

    const SUMMARY_INVALID: &str = "SUT name : trtbench\nScenario : Server\nResult is : INVALID\n";
    const SUMMARY_VALID: &str = "Result is : VALID\n  Min duration satisfied : Yes\n";

    fn params() -> RunParams {
        RunParams {
            engine: "smollm2".into(),
            sut: "engine".into(),
            isl: Some(32),
            osl: Some(8),
            batch: Some(1),
            samples: Some(16),
            dataset: None,
        }
    }

    #[test]
    fn names_and_units_of_result_keys() {
        let n = |k| scalar_name(k).unwrap();
        assert_eq!(
            n("result_90.00_percentile_latency_ns"),
            ("mlperf_latency_p90_ms".into(), 1e-6)
        );
        assert_eq!(
            n("result_first_token_mean_latency_ns").0,
            "mlperf_ttft_mean_ms"
        );
        assert_eq!(
            n("result_time_per_output_token_99.90_percentile_ns").0,
            "mlperf_tpot_p99_9_ms"
        );
        assert_eq!(n("result_time_to_output_token_max").0, "mlperf_tpot_max_ms");
        assert_eq!(
            n("result_samples_per_second"),
            ("requests_per_s".into(), 1.0)
        );
        assert_eq!(n("result_tokens_per_second").0, "output_tok_per_s");
        assert_eq!(
            n("result_99.00_percentile_per_query_latency_ns"),
            ("mlperf_query_latency_p99_ms".into(), 1e-6)
        );
        assert_eq!(
            n("result_mean_query_latency_ns").0,
            "mlperf_query_latency_mean_ms"
        );
        assert_eq!(scalar_name("result_token_throughput"), None);
        assert_eq!(scalar_name("effective_target_qps"), None);
    }

    #[test]
    fn invalid_server_run_is_flagged_with_its_reason() {
        let d = detail(
            "INVALID",
            &[
                ("early_stopping_met", "true"),
                ("result_min_duration_met", "true"),
                (
                    "result_invalid_reason",
                    "\" * TTFT constrain not met: Reduce target QPS to improve latency.\"",
                ),
                ("effective_target_latency_percentile", "0.99"),
                ("effective_target_qps", "2"),
                ("requested_use_token_latencies", "true"),
                ("requested_server_ttft_latency", "1000"),
                ("requested_server_tpot_latency", "10000000000"),
            ],
        );
        let p = point(&d, SUMMARY_INVALID, &params(), Path::new("/x")).unwrap();
        assert_eq!(p.scalars["mlperf_valid"], 0.0);
        assert_eq!(p.notes["mlperf_result_validity"], "INVALID");
        assert!(p.notes["mlperf"].starts_with("not an MLPerf result"));
        assert_eq!(p.parameters["scenario"], "Server");
        assert_eq!(p.parameters["isl"], 32);
        assert!((p.scalars["mlperf_ttft_p99_ms"] - 2.5).abs() < 1e-9);
        assert!((p.scalars["mlperf_tpot_p99_9_ms"] - 40.0).abs() < 1e-9);
        assert!((p.scalars["mlperf_tpot_mean_ms"] - 30.0).abs() < 1e-9);
        assert!((p.scalars["mlperf_latency_p50_ms"] - 123.456789).abs() < 1e-9);
        assert_eq!(p.scalars["mlperf_completed_requests_per_s"], 1.5);
        assert!(
            p.warnings[0].contains("TTFT constrain not met"),
            "{:?}",
            p.warnings
        );
        assert!(!p.warnings[0].contains("min duration"));
        assert_eq!(p.scalars["mlperf_target_percentile"], 99.0);
        assert_eq!(p.scalars["mlperf_target_qps"], 2.0);
        assert!((p.scalars["mlperf_ttft_limit_ms"] - 0.001).abs() < 1e-12);
        assert!((p.scalars["mlperf_tpot_limit_ms"] - 10000.0).abs() < 1e-9);
    }

    #[test]
    fn valid_run_has_no_warning_and_disagreement_is_refused() {
        let p = point(
            &detail("VALID", &[]),
            SUMMARY_VALID,
            &params(),
            Path::new("/x"),
        )
        .unwrap();
        assert_eq!(p.scalars["mlperf_valid"], 1.0);
        assert!(p.warnings.is_empty());
        let e = point(
            &detail("VALID", &[]),
            SUMMARY_INVALID,
            &params(),
            Path::new("/x"),
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("disagree"), "{e}");
    }

    #[test]
    fn accuracy_run_has_no_verdict_and_needs_none() {
        let mut d = rec("effective_scenario", "\"SingleStream\"");
        d += &rec("effective_test_mode", "\"AccuracyOnly\"");
        let p = point(
            &d,
            "No errors encountered during test.\n",
            &params(),
            Path::new("/x"),
        )
        .unwrap();
        assert!(p.notes["mlperf_result_validity"].starts_with("none (accuracy mode"));
        assert!(!p.scalars.contains_key("mlperf_valid"));
        assert!(p.warnings.is_empty());
    }

    #[test]
    fn bad_logs_name_the_file() {
        let e = point("no records\n", SUMMARY_VALID, &params(), Path::new("/r"))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("/r/mlperf_log_detail.txt") && e.contains("MLLOG"),
            "{e}"
        );
        let e = point(&detail("VALID", &[]), "nothing", &params(), Path::new("/r"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("mlperf_log_summary.txt"), "{e}");
        let e = point(
            ":::MLLOG {not json\n",
            SUMMARY_VALID,
            &params(),
            Path::new("/r"),
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("line 1"), "{e}");
    }
}
