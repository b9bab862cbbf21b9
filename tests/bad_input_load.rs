//! Bad input for `trtbench load`: a faulty server (one named test per fault) and flags
//! that must exit 2. Every run ends within its timeout, with the right exit code and a
//! message naming the failure kind or the flag, never a panic; results already written
//! stay, and no secret given on the command line is ever written anywhere.

use std::time::Duration;

use trtbench::record::{Results, Status};

use crate::support::stub::{self, Fault};

fn stub_in_background(fault: Fault) -> (tokio::runtime::Runtime, stub::Server) {
    stub::in_background(stub::Config {
        fault,
        ..Default::default()
    })
}

/// Runs `load` against a stub with `fault`; every request must fail as `kind`.
fn fault_case(fault: Fault, kind: &str) {
    let (_rt, server) = stub_in_background(fault);
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("p.jsonl");
    std::fs::write(&data, "{\"prompt\": \"a b c\"}\n").unwrap();
    let out = dir.path().join("r.json");
    let a = assert_cmd::Command::cargo_bin("trtbench")
        .unwrap()
        .args(["load", "--url", &server.url(), "--model", "stub-model"])
        .args(["--concurrency", "1", "--num-prompts", "3", "--osl", "4"])
        .args(["--warmup", "0", "--timeout", "2s"])
        .arg("--dataset")
        .arg(&data)
        .arg("--out")
        .arg(&out)
        .timeout(Duration::from_secs(60))
        .assert()
        .code(1);
    let err = String::from_utf8_lossy(&a.get_output().stderr).to_string();
    assert!(!err.contains("panicked"), "{err}");
    assert!(err.contains(kind), "stderr names {kind}: {err}");
    let r = Results::load(&out).expect("the level's results were written");
    let p = &r.points[0];
    assert_eq!(p.status, Status::Error);
    assert_eq!(
        p.scalars.get(&format!("failed_{kind}")),
        Some(&3.0),
        "{:?}",
        p.scalars
    );
    assert!(
        !p.summary.contains_key("ttft_ms"),
        "no latency from failed requests"
    );
    assert_eq!(p.scalars["output_tok_per_s"], 0.0);
}

#[test]
fn bad_input_load_http_5xx() {
    fault_case(Fault::Status(503), "http_5xx");
}

#[test]
fn bad_input_load_hang_before_headers() {
    fault_case(Fault::HangBeforeHeaders, "timeout");
}

#[test]
fn bad_input_load_close_mid_stream() {
    fault_case(Fault::CloseAfter(2), "closed_mid_stream");
}

#[test]
fn bad_input_load_malformed_event() {
    fault_case(Fault::MalformedAfter(1), "malformed_sse");
}

#[test]
fn bad_input_load_error_event() {
    fault_case(Fault::ErrorAfter(1), "stream_error");
}

#[test]
fn bad_input_load_empty_body() {
    fault_case(Fault::EmptyBody, "empty_body");
}

#[test]
fn bad_input_load_not_streaming() {
    fault_case(Fault::NotStreaming, "not_streaming");
}

#[test]
fn bad_input_load_oversized_event() {
    fault_case(Fault::Oversized(8 << 20), "malformed_sse");
}

#[test]
fn bad_input_load_missing_done() {
    fault_case(Fault::NoDone, "no_done");
}

#[test]
fn bad_input_load_too_many_tokens_in_one_event() {
    fault_case(Fault::FloodOneEvent(5000), "too_many_tokens");
}

fn load_cmd(args: &[&str]) -> assert_cmd::assert::Assert {
    assert_cmd::Command::cargo_bin("trtbench")
        .unwrap()
        .args(["load", "--url", "http://127.0.0.1:9/v1", "--model", "m"])
        .args(args)
        .timeout(Duration::from_secs(30))
        .assert()
}

#[test]
fn bad_input_load_tiny_rate_names_the_flag() {
    let a = load_cmd(&["--rate", "1e-20"]).code(2);
    let err = String::from_utf8_lossy(&a.get_output().stderr).to_string();
    assert!(err.contains("--rate") && !err.contains("panicked"), "{err}");
    let a = load_cmd(&["--rate", "1", "--timeout", "1e30s"]).code(2);
    let err = String::from_utf8_lossy(&a.get_output().stderr).to_string();
    assert!(
        err.contains("--timeout") && !err.contains("panicked"),
        "{err}"
    );
}

#[test]
fn bad_input_load_existing_output_needs_force() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("r.json");
    std::fs::write(&out, "earlier results").unwrap();
    let o = out.to_str().unwrap();
    let a = load_cmd(&["--concurrency", "1", "-o", o]).code(2);
    let err = String::from_utf8_lossy(&a.get_output().stderr).to_string();
    assert!(err.contains("--out") && err.contains("--force"), "{err}");
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "earlier results");
    // The old spelling still works, and is refused the same way.
    load_cmd(&["--concurrency", "1", "--output", o]).code(2);
}

#[test]
fn bad_input_load_secrets_are_never_written() {
    let (_rt, server) = stub_in_background(Fault::Status(500));
    let secret = "sk-planted-0123456789abcdef";
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("p.jsonl");
    std::fs::write(&data, "{\"prompt\": \"a b c\"}\n").unwrap();
    let out = dir.path().join("r.json");
    let url = server
        .url()
        .replace("http://", &format!("http://user:{secret}@"));
    let a = assert_cmd::Command::cargo_bin("trtbench")
        .unwrap()
        .env("PLANTED_KEY", secret)
        .args([
            "load",
            "--url",
            &format!("{url}?key={secret}"),
            "--model",
            "m",
        ])
        .args([
            "--concurrency",
            "1",
            "--num-prompts",
            "2",
            "--osl",
            "4",
            "--warmup",
            "0",
        ])
        .args(["--api-key-env", "PLANTED_KEY"])
        .args(["--header", &format!("Authorization: Bearer {secret}")])
        .args(["--header", &format!("X-Api-Key: {secret}")])
        .args(["--header", &format!("Cookie: session={secret}")])
        .args([
            "--extra-body",
            &format!("{{\"api_key\": \"{secret}\", \"top_k\": 1}}"),
        ])
        .arg("--dataset")
        .arg(&data)
        .arg("-o")
        .arg(&out)
        .timeout(Duration::from_secs(60))
        .assert();
    let out_all = a.get_output();
    let mut seen = vec![
        String::from_utf8_lossy(&out_all.stderr).to_string(),
        String::from_utf8_lossy(&out_all.stdout).to_string(),
        std::fs::read_to_string(&out).expect("results written"),
    ];
    let report = dir.path().join("rep");
    std::fs::create_dir(&report).unwrap();
    let r = assert_cmd::Command::cargo_bin("trtbench")
        .unwrap()
        .arg("report")
        .arg(&out)
        .args(["--md", "--html", "--out"])
        .arg(report.join("r"))
        .timeout(Duration::from_secs(60))
        .assert();
    seen.push(String::from_utf8_lossy(&r.get_output().stdout).to_string());
    seen.push(String::from_utf8_lossy(&r.get_output().stderr).to_string());
    for ext in ["md", "html"] {
        seen.push(std::fs::read_to_string(report.join(format!("r.{ext}"))).unwrap());
    }
    assert!(
        seen[2].contains("***"),
        "the redaction is visible: {}",
        seen[2]
    );
    for (i, s) in seen.iter().enumerate() {
        assert!(!s.contains(secret), "output {i} leaks the secret: {s}");
    }
}

/// A server that is not running is named as such, not taken for a tokenizer problem.
#[test]
fn bad_input_load_dead_port_says_the_server_is_unreachable() {
    let a = load_cmd(&["--concurrency", "1"]).code(2);
    let err = String::from_utf8_lossy(&a.get_output().stderr).to_string();
    assert!(
        err.contains("cannot reach the server") && err.contains("127.0.0.1:9"),
        "{err}"
    );
    assert!(!err.contains("--tokenizer"), "{err}");
}
