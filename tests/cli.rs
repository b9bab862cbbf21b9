//! `trtbench run` / `sweep` through the CLI on the real llama.cpp engine and the real
//! SmolLM2-135M model, with tiny lengths so the suite stays fast.

use std::process::Output;
use std::time::{Duration, Instant};

use crate::util::{bin, engine, engine_copy, read_json};

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn run_one_point_records_every_metric() {
    let _heavy = crate::util::heavy();
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("r.json");
    let o = bin()
        .args([
            "run", "--batch", "2", "--isl", "16", "--osl", "4", "--warmup", "1", "--runs", "3",
            "-t", "2",
        ])
        .arg("--engine")
        .arg(engine())
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let table = stdout(&o);
    let row = table
        .lines()
        .find(|l| l.starts_with("| smollm2-135m-q4_1"))
        .unwrap_or_else(|| panic!("no table row in {table}"));
    let cells: Vec<&str> = row.split('|').map(str::trim).collect();
    assert_eq!(
        &cells[1..5],
        &["smollm2-135m-q4_1", "2", "16", "4"],
        "{row}"
    );
    let r = read_json(&out);
    assert_eq!(r["schema_version"], 1);
    assert!(r["environment"]["llama_cpp"]
        .as_str()
        .unwrap()
        .contains("ggml"));
    let p = &r["points"][0];
    assert_eq!(p["status"], "ok");
    assert_eq!(p["warmup_runs"], 1);
    assert_eq!(p["engine"]["quant"], "q4_1");
    let runs = p["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 3, "warmup runs must not be recorded");
    // Warmup ran, observed from outside: the backend counted its forward passes,
    // (warmup 1 + runs 3) × (1 prefill + osl 4 − 1 steps), and every prefill started from
    // an empty KV cache (nothing of one run leaks into the next). Only 3 are in the stats.
    assert_eq!(p["notes"]["forward_passes"], "16", "{}", p["notes"]);
    assert_eq!(p["notes"]["prefills"], "4");
    assert_eq!(p["notes"]["prefills_on_empty_kv_cache"], "4");
    assert_eq!(p["summary"]["ttft_ms"]["n"], 3);
    // The file says what it was measured with, for --resume to check.
    let id = &r["identity"];
    assert_eq!(id["settings"]["runs"], 3);
    assert_eq!(id["settings"]["warmup"], 1);
    let e = &id["engines"]["smollm2-135m-q4_1"];
    assert!(e["path"].as_str().unwrap().starts_with('/'), "{e}");
    assert_eq!(e["sha256"].as_str().unwrap().len(), 64);
    assert_eq!(id["machine"]["cpu_model"], r["environment"]["cpu_model"]);
    for run in runs {
        assert_eq!(run["output_tokens"], 8);
        assert_eq!(run["input_tokens"], 32);
        assert_eq!(run["itl_ms"].as_array().unwrap().len(), 3);
        let (ttft, e2e) = (
            run["ttft_ms"].as_f64().unwrap(),
            run["e2e_ms"].as_f64().unwrap(),
        );
        assert!(ttft > 0.0 && ttft < e2e, "ttft {ttft} e2e {e2e}");
        // TPOT is (E2E - TTFT) / (osl - 1) by definition.
        let tpot = run["tpot_ms"].as_f64().unwrap();
        assert!((tpot - (e2e - ttft) / 3.0).abs() < 1e-6);
    }
    for metric in [
        "prefill_ms",
        "ttft_ms",
        "tpot_ms",
        "itl_ms",
        "e2e_ms",
        "prefill_tok_per_s",
        "decode_tok_per_s",
        "output_tok_per_s",
        "requests_per_s",
    ] {
        let s = &p["summary"][metric];
        assert_eq!(s["clock"], "host_monotonic", "{metric}");
        for stat in [
            "n", "mean", "stddev", "min", "p50", "p90", "p95", "p99", "max",
        ] {
            assert!(s[stat].is_number(), "{metric}.{stat} missing");
        }
        assert!(s["min"].as_f64() <= s["p50"].as_f64() && s["p50"].as_f64() <= s["max"].as_f64());
    }
    assert_eq!(p["summary"]["itl_ms"]["n"], 9);
    // 9 ITL samples are enough for a bootstrap interval of the median; it brackets it.
    let itl = &p["summary"]["itl_ms"];
    let ci = itl["ci95"]["p50"].as_array().unwrap();
    assert!(ci[0].as_f64() <= itl["p50"].as_f64() && itl["p50"].as_f64() <= ci[1].as_f64());
    // The sampler recorded an RSS timeline during the measured runs.
    let timeline = p["memory"]["timeline"].as_array().unwrap();
    assert!(!timeline.is_empty() && timeline[0]["rss_bytes"].as_u64().unwrap() > 0);
    // 9 ITL samples are enough for a bootstrap interval of the median; it brackets it.
    let itl = &p["summary"]["itl_ms"];
    let ci = itl["ci95"]["p50"].as_array().unwrap();
    assert!(ci[0].as_f64() <= itl["p50"].as_f64() && itl["p50"].as_f64() <= ci[1].as_f64());
    // The sampler recorded an RSS timeline during the measured runs.
    let timeline = p["memory"]["timeline"].as_array().unwrap();
    assert!(!timeline.is_empty() && timeline[0]["rss_bytes"].as_u64().unwrap() > 0);
    let m = &p["memory"];
    assert_eq!(m["weights_bytes"], 96_576_768);
    assert!(m["peak_rss_bytes"].as_u64().unwrap() > 96_576_768 / 2);
    // llama.cpp pads each sequence to 256 cells: 2 × 256 × 23040 B.
    assert_eq!(m["kv_formula_bytes"], 2 * 256 * 23040);
}

#[test]
fn kv_formula_matches_what_llama_cpp_allocates() {
    let _heavy = crate::util::heavy();
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("kv.json");
    let o = bin()
        .args([
            "run", "--batch", "2", "--isl", "260", "--osl", "2", "--warmup", "0", "--runs", "1",
        ])
        .arg("--engine")
        .arg(engine())
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let m = &read_json(&out)["points"][0]["memory"];
    let formula = m["kv_formula_bytes"].as_f64().unwrap();
    let allocated = m["kv_allocated_bytes"].as_f64().unwrap();
    // 2 sequences × 512 cells (262 rounded up to 256s) × 23040 B = 23.6 MB.
    assert_eq!(formula, 2.0 * 512.0 * 23040.0);
    assert!(
        (allocated - formula).abs() / formula < 0.01,
        "{allocated} vs {formula}"
    );
}

#[test]
fn sweep_writes_every_point_and_resume_skips_finished_ones() {
    let _heavy = crate::util::heavy();
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("s.json");
    let args = |extra: &[&str]| {
        let mut c = bin();
        c.args([
            "sweep", "--batch", "1,2", "--isl", "8", "--osl", "2,3", "--warmup", "0", "--runs", "1",
        ])
        .arg("--engines")
        .arg(engine())
        .arg("--out")
        .arg(&out)
        .args(extra);
        c
    };
    let o = args(&[]).output().unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let first = read_json(&out);
    assert_eq!(first["points"].as_array().unwrap().len(), 4);
    // Same file again without --resume or --force: refused, nothing lost.
    let o = args(&[]).output().unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("--resume"), "{}", stderr(&o));
    assert_eq!(read_json(&out), first);
    // --resume with everything finished reruns nothing.
    let o = args(&["--resume"]).output().unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(read_json(&out)["points"], first["points"]);
}

fn sweep8(out: &std::path::Path, runs: &str) -> std::process::Command {
    let mut cmd = bin();
    cmd.args([
        "sweep",
        "--batch",
        "1",
        "--isl",
        "8",
        "--osl",
        "2,3,4,5,6,7,8,9",
        "--warmup",
        "0",
        "--runs",
        runs,
        "--sample-ms",
        "0",
    ])
    .arg("--engines")
    .arg(engine())
    .arg("--out")
    .arg(out);
    cmd
}

/// Deterministic: the CLI's test hook raises the stop flag after 3 generations, i.e. in
/// the middle of the second point (2 runs each). Exactly one point is kept, exit 130.
#[test]
fn interrupted_sweep_keeps_finished_points_and_resumes() {
    let _heavy = crate::util::heavy();
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("i.json");
    let o = sweep8(&out, "2")
        .env("TRTBENCH_STOP_AFTER_RUNS", "3")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(130), "{}", stderr(&o));
    assert!(stderr(&o).contains("--resume"), "{}", stderr(&o));
    let kept = read_json(&out)["points"].as_array().unwrap().clone();
    assert_eq!(kept.len(), 1, "{kept:?}");
    assert_eq!(kept[0]["status"], "ok");
    assert_eq!(kept[0]["parameters"]["osl"], 2);
    // Resuming with other settings is refused, naming the field; nothing is lost.
    let o = sweep8(&out, "3").arg("--resume").output().unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("runs differs (file 2, now 3)"),
        "{}",
        stderr(&o)
    );
    assert_eq!(read_json(&out)["points"].as_array().unwrap(), &kept);
    let o = sweep8(&out, "2").arg("--resume").output().unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let all = read_json(&out)["points"].as_array().unwrap().clone();
    assert_eq!(all.len(), 8);
    // The point finished before the interruption is kept byte for byte.
    assert!(
        all.contains(&kept[0]),
        "point {} was rerun or lost",
        kept[0]["key"]
    );
}

/// SIGTERM (what Slurm, Kubernetes and systemd send) is handled like Ctrl-C: finished
/// points kept, exit 143.
#[test]
fn sigterm_keeps_finished_points_and_exits_143() {
    let _heavy = crate::util::heavy();
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("t.json");
    let mut child = sweep8(&out, "2")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    while !(out.exists()
        && std::fs::read(&out).is_ok_and(|b| {
            serde_json::from_slice::<serde_json::Value>(&b)
                .is_ok_and(|v| v["points"].as_array().is_some_and(|p| !p.is_empty()))
        }))
    {
        assert!(Instant::now() < deadline, "no point written in time");
        if let Some(st) = child.try_wait().unwrap() {
            panic!("sweep ended ({st}) before the signal");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let kill = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let o = child.wait_with_output().unwrap();
    let kept = read_json(&out)["points"].as_array().unwrap().clone();
    // 8 points of 2 runs: the signal lands long before the last one.
    assert_eq!(o.status.code(), Some(143), "{}", stderr(&o));
    assert!(!kept.is_empty() && kept.len() < 8);
    assert!(kept.iter().all(|p| p["status"] == "ok"));
}

/// Atomic save, tested by killing: a child process (this test binary, re-run as a writer)
/// rewrites a large results file in a loop; it is SIGKILLed at random moments and the
/// file must parse every time, as one of the versions written.
#[test]
fn results_file_survives_sigkill_mid_save() {
    let _heavy = crate::util::heavy();
    use trtbench::record::{Point, PointKind, Results};
    const WRITER: &str = "TRTBENCH_TEST_ATOMIC_WRITER";
    let big = |n: usize| {
        let mut r = Results::new(vec!["writer".into()], serde_json::json!({}));
        for i in 0..n {
            let mut params = std::collections::BTreeMap::new();
            params.insert("i".to_string(), serde_json::json!(i));
            let mut p = Point::new(PointKind::Engine, params);
            p.warnings = vec!["x".repeat(2000)];
            r.points.push(p);
        }
        r
    };
    if let Ok(path) = std::env::var(WRITER) {
        let path = std::path::PathBuf::from(path);
        let versions = [big(300), big(301)];
        // Each round's writer starts with the version the file does not hold yet.
        let first: usize =
            std::env::var("TRTBENCH_TEST_WRITER_FIRST").map_or(0, |v| v.parse().unwrap());
        for k in first.. {
            versions[k % 2].save(&path).unwrap();
        }
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("big.json");
    big(300).save(&path).unwrap();
    let mut seen = std::collections::BTreeSet::new();
    for round in 0..25u64 {
        let mut child = std::process::Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "cli::results_file_survives_sigkill_mid_save",
                "--quiet",
            ])
            .env(WRITER, &path)
            .env("TRTBENCH_TEST_WRITER_FIRST", ((round + 1) % 2).to_string())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        // Kill only once the writer is rewriting (the file's inode changes per rename).
        use std::os::unix::fs::MetadataExt;
        let inode = std::fs::metadata(&path).unwrap().ino();
        let deadline = Instant::now() + Duration::from_secs(60);
        while std::fs::metadata(&path).map_or(true, |m| m.ino() == inode) {
            assert!(Instant::now() < deadline, "the writer never saved");
            std::thread::sleep(Duration::from_millis(2));
        }
        std::thread::sleep(Duration::from_millis((round * 7) % 40));
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        let r = Results::load(&path).unwrap_or_else(|e| panic!("round {round}: {e}"));
        assert!(r.points.len() == 300 || r.points.len() == 301);
        seen.insert(r.points.len());
    }
    // The writer really was rewriting the file while it was killed.
    assert_eq!(seen.len(), 2, "{seen:?}");
    // Each killed writer's temp file was removed by the next writer's first save; the
    // last one's goes with this save: nothing but the results file is left.
    big(300).save(&path).unwrap();
    let left: Vec<_> = std::fs::read_dir(tmp.path()).unwrap().flatten().collect();
    assert_eq!(left.len(), 1, "{left:?}");
}

#[test]
fn failing_point_becomes_a_row_and_the_sweep_goes_on() {
    let _heavy = crate::util::heavy();
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("f.json");
    // isl 8190 + osl 4 exceeds SmolLM2's 8192-token context: refused, the other runs.
    let o = bin()
        .args([
            "sweep", "--batch", "1", "--isl", "8,8190", "--osl", "4", "--warmup", "0", "--runs",
            "1",
        ])
        .arg("--engines")
        .arg(engine())
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let pts = read_json(&out)["points"].as_array().unwrap().clone();
    assert_eq!(pts.len(), 2);
    assert_eq!(pts[0]["status"], "ok");
    assert_eq!(pts[1]["status"], "skipped");
    assert!(pts[1]["error"]
        .as_str()
        .unwrap()
        .contains("exceeds the context of 8192"));
    assert!(stdout(&o).contains("exceeds the context"), "{}", stdout(&o));
}

/// Runs a command expected to fail with `code`, returning stderr.
fn fails(args: &[&str], code: i32) -> String {
    let o = bin().args(args).output().unwrap();
    assert_eq!(o.status.code(), Some(code), "args {args:?}: {}", stderr(&o));
    let e = stderr(&o);
    assert!(!e.contains("panicked"), "{e}");
    e
}

#[test]
fn bad_input_gets_a_clear_message_and_exit_2() {
    let _heavy = crate::util::heavy();
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let out_path = t.join("x.json");
    let out = out_path.to_str().unwrap();

    let e = fails(&["run", "--engine", "/nonexistent/engine", "--out", out], 2);
    assert!(e.contains("/nonexistent/engine"), "{e}");

    let eng = engine();
    let eng = eng.to_str().unwrap();
    let e = fails(&["run", "--engine", eng, "--batch", "0", "--out", out], 2);
    assert!(e.contains("--batch"), "{e}");
    // A point that cannot fit is refused, and recorded as a skipped row.
    let ctx = t.join("ctx.json");
    let e = fails(
        &[
            "run",
            "--engine",
            eng,
            "--isl",
            "8190",
            "--osl",
            "10",
            "--out",
            ctx.to_str().unwrap(),
        ],
        2,
    );
    assert!(e.contains("exceeds the context"), "{e}");
    assert_eq!(read_json(&ctx)["points"][0]["status"], "skipped");

    // Truncated GGUF: the size no longer matches the manifest.
    let d = engine_copy(t, "truncated");
    let gguf = d.join("SmolLM2-135M-Instruct.Q4_1.gguf");
    let f = std::fs::OpenOptions::new().write(true).open(&gguf).unwrap();
    f.set_len(1 << 20).unwrap();
    let e = fails(&["run", "--engine", d.to_str().unwrap(), "--out", out], 2);
    assert!(e.contains("truncated") && e.contains("Q4_1.gguf"), "{e}");

    // Truncated, with the manifest edited to agree: llama.cpp itself refuses it. The
    // failure is recorded as a row in the results file.
    let mut m = crate::util::read_json(&d.join("trtbench.json"));
    m["files"][0]["bytes"] = serde_json::json!(1 << 20);
    std::fs::write(d.join("trtbench.json"), serde_json::to_vec(&m).unwrap()).unwrap();
    let row = t.join("row.json");
    let e = fails(
        &[
            "run",
            "--engine",
            d.to_str().unwrap(),
            "--out",
            row.to_str().unwrap(),
        ],
        2,
    );
    assert!(e.contains("llama.cpp could not load it"), "{e}");
    assert_eq!(read_json(&row)["points"][0]["status"], "error");

    // Not a GGUF at all.
    std::fs::write(&gguf, vec![0u8; 1 << 20]).unwrap();
    let e = fails(&["run", "--engine", d.to_str().unwrap(), "--out", out], 2);
    assert!(e.contains("not a GGUF"), "{e}");

    // Unknown backend in the manifest.
    let d = engine_copy(t, "unknown-backend");
    let mut m = crate::util::read_json(&d.join("trtbench.json"));
    m["backend"] = serde_json::json!("onnxruntime");
    std::fs::write(d.join("trtbench.json"), serde_json::to_vec(&m).unwrap()).unwrap();
    let e = fails(&["run", "--engine", d.to_str().unwrap(), "--out", out], 2);
    assert!(
        e.contains("onnxruntime") && e.contains("trtbench.json"),
        "{e}"
    );

    // Malformed sweep spec: the file and the line are named.
    let spec = t.join("bad.toml");
    std::fs::write(&spec, "batch = [1, 2]\nisl = [oops]\n").unwrap();
    let e = fails(
        &[
            "sweep",
            "--spec",
            spec.to_str().unwrap(),
            "--engines",
            eng,
            "--out",
            out,
        ],
        2,
    );
    assert!(e.contains("bad.toml") && e.contains("line 2"), "{e}");
    std::fs::write(&spec, "bach = [1]\n").unwrap();
    let e = fails(
        &[
            "sweep",
            "--spec",
            spec.to_str().unwrap(),
            "--engines",
            eng,
            "--out",
            out,
        ],
        2,
    );
    assert!(e.contains("bach"), "{e}");

    let e = fails(&["sweep", "--engines", "/nowhere/*", "--out", out], 2);
    assert!(e.contains("/nowhere/*"), "{e}");
    let e = fails(
        &["sweep", "--engines", eng, "--batch", "1-x", "--out", out],
        2,
    );
    assert!(e.contains("--batch"), "{e}");
    // Nothing was written by any refused invocation.
    assert!(!out_path.exists());
}

#[test]
fn shards_split_a_sweep_and_merge_back() {
    let _heavy = crate::util::heavy();
    let tmp = tempfile::tempdir().unwrap();
    let mut files = Vec::new();
    for i in 1..=2 {
        let out = tmp.path().join(format!("shard-{i}.json"));
        let o = bin()
            .args([
                "sweep", "--batch", "1,2", "--isl", "8", "--osl", "2", "--warmup", "0", "--runs",
                "1",
            ])
            .arg("--shard")
            .arg(format!("{i}/2"))
            .arg("--engines")
            .arg(engine())
            .arg("--out")
            .arg(&out)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", stderr(&o));
        let pts = read_json(&out)["points"].as_array().unwrap().clone();
        assert_eq!(pts.len(), 1);
        assert_eq!(pts[0]["parameters"]["batch"], i);
        files.push(out);
    }
    let o = bin().arg("report").args(&files).output().unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let md = stdout(&o);
    let rows = md
        .lines()
        .filter(|l| l.starts_with("| smollm2-135m-q4_1"))
        .count();
    assert_eq!(rows, 2, "{md}");
    let e = fails(
        &[
            "sweep",
            "--shard",
            "3/2",
            "--engines",
            engine().to_str().unwrap(),
        ],
        2,
    );
    assert!(e.contains("--shard"), "{e}");
}
