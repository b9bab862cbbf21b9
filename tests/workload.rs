//! `load` workloads: trace replay (Mooncake JSONL, BurstGPT CSV) and shared prefixes,
//! against the stub server (which records what it was sent) and, when
//! `TRTBENCH_SERVER_URL` is set, llama.cpp's server (whose prefix cache must be hit).

use std::path::PathBuf;
use std::time::Duration;

use crate::support::stub;
use crate::util;
use trtbench::record::Results;

fn fixture(name: &str) -> PathBuf {
    util::repo().join("tests/fixtures/traces").join(name)
}

fn stub_server() -> (tokio::runtime::Runtime, stub::Server) {
    stub::in_background(stub::Config {
        ttft: Duration::from_millis(5),
        itl: Duration::from_millis(1),
        ..Default::default()
    })
}

fn tokenizer() -> String {
    util::engine().display().to_string()
}

/// (input, output) lengths of a JSONL trace fixture, in file order.
fn trace_lengths() -> Vec<(u64, u64)> {
    std::fs::read_to_string(fixture("mooncake-small.jsonl"))
        .unwrap()
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            (
                v["input_length"].as_u64().unwrap(),
                v["output_length"].as_u64().unwrap(),
            )
        })
        .collect()
}

#[test]
fn trace_replay_sends_the_traces_lengths_at_its_times() {
    let want = {
        let mut w = trace_lengths();
        w.sort();
        w
    };
    for file in ["mooncake-small.jsonl", "burstgpt-small.csv"] {
        let (_rt, server) = stub_server();
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("t.json");
        let o = util::bin()
            .args(["load", "--url", &server.url(), "--trace"])
            .arg(fixture(file))
            .args(["--trace-speed", "2", "--warmup", "0", "--tokenizer"])
            .arg(tokenizer())
            .arg("-o")
            .arg(&out)
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "{file}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        let p = Results::load(&out).unwrap().points.remove(0);
        assert_eq!(p.parameters["arrival"], "trace");
        let mut got: Vec<(u64, u64)> = p
            .requests
            .iter()
            .map(|r| (r.input_tokens, r.output_tokens))
            .collect();
        got.sort();
        assert_eq!(got, want, "{file}: every request has its trace lengths");
        // What the server saw: the trace's output lengths as max_tokens.
        let mut asked: Vec<u64> = server
            .bodies
            .lock()
            .unwrap()
            .iter()
            .map(|b| b["max_tokens"].as_u64().unwrap())
            .collect();
        asked.sort();
        let mut want_out: Vec<u64> = want.iter().map(|w| w.1).collect();
        want_out.sort();
        assert_eq!(asked, want_out);
        // Three bursts 1.5 s apart in the trace, 0.75 s at speed 2: the sends cluster so.
        let mut sent: Vec<f64> = p.requests.iter().map(|r| r.start_s).collect();
        sent.sort_by(f64::total_cmp);
        let gaps: Vec<f64> = sent.windows(2).map(|w| w[1] - w[0]).collect();
        let long = gaps.iter().filter(|g| **g > 0.5).count();
        assert_eq!(
            long, 2,
            "{file}: two long gaps between three bursts: {gaps:?}"
        );
        let span = sent.last().unwrap() - sent[0];
        assert!(
            (1.5..2.5).contains(&span),
            "{file}: replay span {span:.3} s, trace 1.57 s / 2"
        );
    }
}

#[test]
fn a_bad_trace_is_a_usage_error_naming_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    for (name, body, want) in [
        (
            "bad.jsonl",
            "{\"timestamp\": 0, \"input_length\": 5, \"output_length\": 2}\n{\"timestamp\": 3, \"output_length\": 2}\n",
            "line 2",
        ),
        ("bad.csv", "Timestamp,Model,Request tokens\n1,x,4\n", "Response tokens"),
        ("empty.jsonl", "", "empty"),
    ] {
        let path = dir.path().join(name);
        std::fs::write(&path, body).unwrap();
        let o = util::bin()
            .args(["load", "--url", "http://127.0.0.1:9/v1", "--trace"])
            .arg(&path)
            .args(["--tokenizer"])
            .arg(tokenizer())
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{name}: {err}");
        assert!(err.contains(name) && err.contains(want), "{name}: {err}");
    }
}

#[test]
fn shared_prefix_prompts_share_n_prefixes_and_keep_their_length() {
    let (_rt, server) = stub_server();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("sp.json");
    let o = util::bin()
        .args(["load", "--url", &server.url(), "--concurrency", "2"])
        .args(["--workload", "shared-prefix", "--prefixes", "3"])
        .args(["--prefix-len", "48", "--isl", "64", "--osl", "4"])
        .args(["--num-prompts", "12", "--warmup", "0", "--tokenizer"])
        .arg(tokenizer())
        .arg("-o")
        .arg(&out)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let p = Results::load(&out).unwrap().points.remove(0);
    assert_eq!(p.parameters["workload"], "shared-prefix");
    assert_eq!(p.parameters["prefixes"], 3);
    let gguf = util::engine().join("SmolLM2-135M-Instruct.Q4_1.gguf");
    let tok = trtbench::client::tokenizer::Tok::load(&gguf).unwrap();
    let prompts: Vec<String> = server
        .bodies
        .lock()
        .unwrap()
        .iter()
        .map(|b| b["prompt"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(prompts.len(), 12);
    for q in &prompts {
        assert_eq!(tok.count(q), Some(64), "exact length: {q:?}");
    }
    let distinct: std::collections::HashSet<&String> = prompts.iter().collect();
    assert_eq!(distinct.len(), 12, "every request is unique");
    // The first 30 words lie inside the 48-token prefix: exactly 3 different openings,
    // each shared by 4 requests.
    let mut heads: std::collections::BTreeMap<String, usize> = Default::default();
    for q in &prompts {
        let h: Vec<&str> = q.split_whitespace().take(30).collect();
        *heads.entry(h.join(" ")).or_default() += 1;
    }
    assert_eq!(heads.values().copied().collect::<Vec<_>>(), vec![4, 4, 4]);
}

/// On llama.cpp's server the shared prefix is served from its cache: a large cached
/// fraction, no "cache hits" warning, and a lower TTFT than unique prompts of the same
/// length. Skipped without `TRTBENCH_SERVER_URL` / `TRTBENCH_MODEL` (as in tests/load.rs).
#[test]
fn e2e_llama_server_shared_prefix_hits_the_cache() {
    let _heavy = crate::util::heavy();
    let (Ok(url), Ok(model)) = (
        std::env::var("TRTBENCH_SERVER_URL"),
        std::env::var("TRTBENCH_MODEL"),
    ) else {
        let require = std::env::var("TRTBENCH_REQUIRE_SERVER").is_ok_and(|v| v == "1");
        assert!(!require, "TRTBENCH_REQUIRE_SERVER=1 but no server given");
        eprintln!("skipping: TRTBENCH_SERVER_URL or TRTBENCH_MODEL is not set");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let run = |name: &str, extra: &[&str]| {
        let out = dir.path().join(name);
        let o = util::bin()
            .args(["load", "--url", &url, "--concurrency", "1"])
            .args(["--isl", "128", "--osl", "4", "--num-prompts", "10"])
            .args(["--warmup", "1", "--tokenizer", &model])
            .args(extra)
            .arg("-o")
            .arg(&out)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        Results::load(&out).unwrap().points.remove(0)
    };
    let unique = run("unique.json", &[]);
    let shared = run(
        "shared.json",
        &[
            "--workload",
            "shared-prefix",
            "--prefixes",
            "2",
            "--prefix-len",
            "112",
        ],
    );
    let frac = shared.scalars["cached_prompt_frac"];
    // 8 of 10 requests reuse a prefix of 112 of 128 tokens (more when the warmup request
    // already filled a slot with one): about 0.7 at best. Prompts are kept short: a
    // 128-token prefill takes ~1 s on the 2-core CI machine.
    assert!(frac > 0.5, "cached fraction {frac}");
    assert!(
        !shared.warnings.iter().any(|w| w.contains("PREFIX CACHE")),
        "{:?}",
        shared.warnings
    );
    let (a, b) = (unique.summary["ttft_ms"].p50, shared.summary["ttft_ms"].p50);
    assert!(
        b < a,
        "TTFT p50 with a cached prefix {b:.1} ms, without {a:.1} ms"
    );
}
