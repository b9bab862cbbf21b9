//! Fleets of load clients: three `trtbench load --shard i/3 --start-at T` processes
//! against the stub server (known timings) match one client at the same total load, and
//! the merged figures are the figures of the pooled raw samples.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::support::stub;
use crate::util;
use trtbench::record::{Point, Results, Status};

/// Total load: 6 in flight, 60 measured requests of 16 output tokens.
const CONCURRENCY: &str = "6";
const PROMPTS: usize = 60;

fn load_args(url: &str, out: &std::path::Path) -> Vec<String> {
    let tok = util::engine();
    [
        "load",
        "--url",
        url,
        "--concurrency",
        CONCURRENCY,
        "--num-prompts",
        &PROMPTS.to_string(),
        "--isl",
        "32",
        "--osl",
        "16",
        "--warmup",
        "0",
        "--salt",
        "5",
        "--tokenizer",
        &tok.display().to_string(),
        "--force",
        "-o",
        &out.display().to_string(),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

fn ok_values(p: &Point, f: fn(&trtbench::record::RequestRecord) -> Option<f64>) -> Vec<f64> {
    p.requests
        .iter()
        .filter(|r| r.error.is_none())
        .filter_map(f)
        .collect()
}

fn sorted(mut v: Vec<f64>) -> Vec<f64> {
    v.sort_by(f64::total_cmp);
    v
}

#[test]
fn three_workers_match_one_client_at_the_same_load() {
    let (_rt, server) = stub::in_background(stub::Config {
        ttft: Duration::from_millis(40),
        itl: Duration::from_millis(5),
        ..Default::default()
    });
    let dir = tempfile::tempdir().unwrap();
    let single = dir.path().join("single.json");
    let out = util::bin()
        .args(load_args(&server.url(), &single))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // Far enough ahead for three processes to load the tokenizer on a busy machine.
    let start = SystemTime::now().duration_since(UNIX_EPOCH).unwrap() + Duration::from_secs(10);
    let start = format!("{:.3}", start.as_secs_f64());
    let workers: Vec<_> = (1..=3)
        .map(|i| {
            let path = dir.path().join(format!("w{i}.json"));
            let child = util::bin()
                .args(load_args(&server.url(), &path))
                .args(["--shard", &format!("{i}/3"), "--start-at", &start])
                .stderr(std::process::Stdio::piped())
                .stdout(std::process::Stdio::null())
                .spawn()
                .unwrap();
            (path, child)
        })
        .collect();
    let mut files = Vec::new();
    for (path, child) in workers {
        let o = child.wait_with_output().unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        files.push(path);
    }

    // Each worker: its share of the level, its own samples, the level's key.
    let one = Results::load(&single).unwrap().points.remove(0);
    let parts: Vec<Point> = files
        .iter()
        .map(|f| Results::load(f).unwrap().points.remove(0))
        .collect();
    for (i, p) in parts.iter().enumerate() {
        assert_eq!(
            p.key, one.key,
            "a worker's point is keyed by the whole level"
        );
        assert_eq!(p.parameters["shard"], format!("{}/3", i + 1));
        assert_eq!(p.requests.len(), PROMPTS / 3);
        assert_eq!(
            p.scalars["peak_in_flight"], 2.0,
            "concurrency 6 / 3 workers"
        );
    }
    // Prompts are distinct across workers (and within each): the stub saw 120 different.
    let prompts: std::collections::HashSet<String> = server
        .bodies
        .lock()
        .unwrap()
        .iter()
        .map(|b| b["prompt"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(prompts.len(), 2 * PROMPTS);
    // The workers started together: their measured phases begin within 1 s.
    let t0: Vec<f64> = parts.iter().map(|p| p.t0_unix_s.unwrap()).collect();
    let spread =
        t0.iter().cloned().fold(f64::MIN, f64::max) - t0.iter().cloned().fold(f64::MAX, f64::min);
    assert!(spread < 1.0, "workers started {spread:.3} s apart");

    let inputs = files
        .iter()
        .zip(&parts)
        .map(|(f, p)| {
            let mut r = Results::load(f).unwrap();
            r.points = vec![p.clone()];
            (f.display().to_string(), r)
        })
        .collect();
    let merged = trtbench::client::fleet::merge_workers(inputs);
    assert_eq!(merged.len(), 1);
    let m = &merged[0].1.points[0];
    assert_eq!(m.status, Status::Ok);
    assert_eq!(m.key, one.key);
    assert_eq!(m.parameters["workers"], 3);
    assert!(!m.parameters.contains_key("shard"));
    // Counts exact.
    assert_eq!(m.requests.len(), PROMPTS);
    assert_eq!(m.scalars["completed"], one.scalars["completed"]);
    assert_eq!(m.scalars["completed"], PROMPTS as f64);
    // The pool is exactly the workers' samples, and every percentile is the pool's own
    // (not an average of the workers' percentiles).
    let pooled: Vec<f64> = parts
        .iter()
        .flat_map(|p| ok_values(p, |r| r.ttft_ms))
        .collect();
    assert_eq!(sorted(ok_values(m, |r| r.ttft_ms)), sorted(pooled.clone()));
    for metric in ["ttft_ms", "e2e_ms", "tpot_ms"] {
        let f = match metric {
            "ttft_ms" => |r: &trtbench::record::RequestRecord| r.ttft_ms,
            "e2e_ms" => |r: &trtbench::record::RequestRecord| r.e2e_ms,
            _ => |r: &trtbench::record::RequestRecord| r.tpot_ms,
        };
        let want = trtbench::stats::summarize(&ok_values(m, f), "ms", None).unwrap();
        let got = &m.summary[metric];
        assert_eq!(got.n, PROMPTS);
        for (a, b) in [
            (got.p50, want.p50),
            (got.p90, want.p90),
            (got.p99, want.p99),
        ] {
            assert_eq!(
                a, b,
                "{metric}: merged percentile = pooled samples' percentile"
            );
        }
    }
    let itl_n: usize = parts.iter().map(|p| p.summary["itl_ms"].n).sum();
    assert_eq!(m.summary["itl_ms"].n, itl_n);
    // Throughput over the union window: the workers together did what one client did.
    // Margins are wide on purpose (five engineers share two cores): the stub's 40 ms
    // TTFT dominates, and a worker late to start stretches the window.
    let ratio = |k: &str| m.scalars[k] / one.scalars[k];
    let tput = ratio("output_tok_per_s");
    assert!(
        (0.6..1.5).contains(&tput),
        "merged / single output tok/s = {tput:.3}"
    );
    let ttft = m.summary["ttft_ms"].p50 / one.summary["ttft_ms"].p50;
    assert!(
        (0.7..1.4).contains(&ttft),
        "merged / single TTFT p50 = {ttft:.3}"
    );
    assert!(
        m.summary["ttft_ms"].p50 >= 40.0,
        "the stub's TTFT is a floor"
    );

    // The CLI hooks: `report` merges the files, `compare` takes a glob of them.
    let rep = util::bin().arg("report").args(&files).output().unwrap();
    assert!(
        rep.status.success(),
        "{}",
        String::from_utf8_lossy(&rep.stderr)
    );
    let md = String::from_utf8_lossy(&rep.stdout);
    assert!(md.contains("workers"), "{md}");
    let glob = dir.path().join("w*.json");
    let cmp = util::bin()
        .arg("compare")
        .arg(&single)
        .arg(&glob)
        .output()
        .unwrap();
    assert!(
        cmp.status.success(),
        "{}",
        String::from_utf8_lossy(&cmp.stderr)
    );
}

#[test]
fn a_start_in_the_past_or_a_bad_shard_is_a_usage_error() {
    let cases: [&[&str]; 4] = [
        &["--start-at", "1000000000"],
        &["--start-at", "next tuesday"],
        &["--shard", "4/3"],
        &["--shard", "auto"],
    ];
    for extra in cases {
        let out = util::bin()
            .args([
                "load",
                "--url",
                "http://127.0.0.1:9/v1",
                "--concurrency",
                "3",
            ])
            .args(extra)
            .env_remove("JOB_COMPLETION_INDEX")
            .env_remove("SLURM_ARRAY_TASK_ID")
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{extra:?}: {err}");
        assert!(err.contains(extra[0]), "{extra:?}: {err}");
    }
}
