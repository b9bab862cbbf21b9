//! `trtbench import` (issue 13.6) on files llama-bench, vLLM's benchmark client and AIPerf
//! really produced here (see tests/fixtures/peers/README.md for how).

use std::path::Path;

use crate::util::{bin, read_json, repo};

fn fixture(name: &str) -> std::path::PathBuf {
    repo().join("tests/fixtures/peers").join(name)
}

#[test]
fn llama_bench_json_maps_prefill_and_decode_and_says_what_it_lacks() {
    let src = fixture("llama-bench-smollm2-q4_1.json");
    let peer = read_json(&src);
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("imported.json");
    let o = bin()
        .arg("import")
        .arg(&src)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    assert!(
        err.contains("llama-bench, 2 point(s)") && err.contains("lacks ttft_ms"),
        "{err}"
    );
    let r = read_json(&out);
    let points = r["points"].as_array().unwrap();
    assert_eq!(points.len(), 2, "{r}");
    let (pp, tg) = (&points[0], &points[1]);
    assert_eq!(pp["parameters"]["isl"], 64);
    assert_eq!(pp["parameters"]["osl"], 0);
    assert_eq!(tg["parameters"]["osl"], 16);
    // Means recomputed from the raw samples match llama-bench's own averages.
    for (p, t, key) in [
        (pp, &peer[0], "prefill_tok_per_s"),
        (tg, &peer[1], "decode_tok_per_s"),
    ] {
        let s = &p["summary"][key];
        assert_eq!(
            s["n"],
            t["samples_ts"].as_array().unwrap().len() as u64,
            "{p}"
        );
        let (ours, theirs) = (s["mean"].as_f64().unwrap(), t["avg_ts"].as_f64().unwrap());
        assert!(
            (ours - theirs).abs() <= 1e-6 * theirs,
            "{key}: {ours} vs {theirs}"
        );
        assert!(p["notes"]["lacks"].as_str().unwrap().contains("ttft_ms"));
    }
    // tpot = generation time / tokens, per repetition.
    let tpot = tg["summary"]["tpot_ms"]["mean"].as_f64().unwrap();
    let avg_ns = peer[1]["avg_ns"].as_f64().unwrap();
    assert!((tpot - avg_ns / 1e6 / 16.0).abs() < 1e-6 * tpot, "{tpot}");
    assert!(pp["summary"].get("decode_tok_per_s").is_none());
    // The report reads the imported file, and its runs column counts llama-bench's
    // repetitions (it kept no per-run records of ours, but ran them).
    let o = bin().arg("report").arg(&out).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let md = String::from_utf8_lossy(&o.stdout);
    let reps = peer[0]["samples_ts"].as_array().unwrap().len();
    let runs_col = md
        .lines()
        .find(|l| l.starts_with('|') && l.contains("| runs"))
        .map(|h| h.split('|').position(|c| c.trim() == "runs").unwrap())
        .expect("a runs column");
    let row = md
        .lines()
        .find(|l| l.starts_with('|') && l.contains("| 64 "));
    let row = row.unwrap_or_else(|| panic!("no isl 64 row in {md}"));
    assert_eq!(
        row.split('|').nth(runs_col).unwrap().trim(),
        reps.to_string(),
        "{md}"
    );
}

#[test]
fn unknown_file_is_bad_input_naming_it() {
    let tmp = tempfile::tempdir().unwrap();
    let f = tmp.path().join("other.json");
    std::fs::write(&f, r#"{"hello": 1}"#).unwrap();
    let o = bin()
        .arg("import")
        .arg(&f)
        .arg("--out")
        .arg(tmp.path().join("x.json"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("other.json") && err.contains("llama-bench"),
        "{err}"
    );
    assert!(!Path::new(&tmp.path().join("x.json")).exists());
}

/// Imports `src` into a new file; the stderr line and the one point.
fn import_one(src: &Path) -> (String, serde_json::Value) {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("imported.json");
    let o = bin()
        .arg("import")
        .arg(src)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(o.status.success(), "{err}");
    let r = read_json(&out);
    assert_eq!(r["points"].as_array().unwrap().len(), 1, "{r}");
    // The report reads it as a load point.
    let rep = bin().arg("report").arg(&out).output().unwrap();
    assert!(
        rep.status.success(),
        "{}",
        String::from_utf8_lossy(&rep.stderr)
    );
    assert!(String::from_utf8_lossy(&rep.stdout).contains("Load tests"));
    (err, r["points"][0].clone())
}

fn close(ours: &serde_json::Value, theirs: &serde_json::Value, what: &str) {
    let (a, b) = (ours.as_f64().unwrap(), theirs.as_f64().unwrap());
    assert!(
        (a - b).abs() <= 1e-9 * b.abs().max(1.0),
        "{what}: ours {a} vs theirs {b}"
    );
}

/// vLLM's benchmark client: summaries recomputed from its per-request lists equal its own
/// figures (numpy's percentiles are Hyndman & Fan type 7, as ours).
#[test]
fn vllm_benchmark_serving_maps_per_request_samples() {
    let src = fixture("vllm-benchmark-serving-smollm2-q4_1.json");
    let peer = read_json(&src);
    let (err, p) = import_one(&src);
    assert!(
        err.contains("vllm bench serve, 1 point(s)") && err.contains("lacks e2e_ms"),
        "{err}"
    );
    assert_eq!(p["kind"], "load");
    assert_eq!(p["parameters"]["concurrency"], peer["max_concurrency"]);
    assert_eq!(p["parameters"]["isl"], 32);
    assert_eq!(p["requests"].as_array().unwrap().len(), 6);
    let s = &p["summary"];
    close(&s["ttft_ms"]["mean"], &peer["mean_ttft_ms"], "ttft mean");
    close(&s["ttft_ms"]["p50"], &peer["median_ttft_ms"], "ttft p50");
    close(&s["ttft_ms"]["p99"], &peer["p99_ttft_ms"], "ttft p99");
    close(&s["itl_ms"]["mean"], &peer["mean_itl_ms"], "itl mean");
    close(&s["itl_ms"]["p90"], &peer["p90_itl_ms"], "itl p90");
    close(
        &s["requests_per_s"]["mean"],
        &peer["request_throughput"],
        "req/s",
    );
    close(
        &s["output_tok_per_s"]["mean"],
        &peer["output_throughput"],
        "tok/s",
    );
    // E2E is only an aggregate in vLLM's file: kept under its own name, never a summary.
    assert!(s.get("e2e_ms").is_none());
    close(
        &p["scalars"]["vllm_p99_e2el_ms"],
        &peer["p99_e2el_ms"],
        "e2el p99",
    );
}

/// AIPerf: the per-record JSONL gives the same summaries as AIPerf's own aggregate
/// export, and importing the aggregate alone maps its statistics as they are.
#[test]
fn aiperf_records_and_aggregate_agree() {
    let agg = fixture("aiperf/profile_export_aiperf.json");
    let peer = read_json(&agg);
    let (err, from_records) = import_one(&fixture("aiperf/profile_export.jsonl"));
    assert!(err.contains("aiperf, 1 point(s)"), "{err}");
    // 7 records, the warmup one skipped.
    assert_eq!(from_records["requests"].as_array().unwrap().len(), 6);
    let (err, from_agg) = import_one(&agg);
    assert!(err.contains("lacks raw per-request samples"), "{err}");
    assert!(from_agg.get("requests").is_none());
    assert_eq!(from_records["parameters"]["concurrency"], 2);
    assert_eq!(from_records["parameters"], from_agg["parameters"]);
    for (ours, theirs) in [
        ("ttft_ms", "time_to_first_token"),
        ("e2e_ms", "request_latency"),
        ("tpot_ms", "inter_token_latency"),
        ("itl_ms", "inter_chunk_latency"),
    ] {
        for stat in ["mean", "p50", "p90", "p99", "max"] {
            let theirs_stat = if stat == "mean" { "avg" } else { stat };
            let what = format!("{ours} {stat}");
            close(
                &from_records["summary"][ours][stat],
                &peer[theirs][theirs_stat],
                &what,
            );
        }
    }
    close(
        &from_agg["summary"]["ttft_ms"]["p90"],
        &peer["time_to_first_token"]["p90"],
        "agg",
    );
    assert_eq!(from_agg["summary"]["ttft_ms"]["n"], 6);
}
