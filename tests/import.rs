//! `trtbench import` (issue 13.6) on a file llama-bench really produced here (see
//! tests/fixtures/peers/README.md for how).

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
    // The report reads the imported file.
    let o = bin().arg("report").arg(&out).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
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
