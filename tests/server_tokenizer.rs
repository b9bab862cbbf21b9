//! `trtbench load` with no `--tokenizer` (issue 13.4): prompts made and counted with the
//! server's own `/tokenize` + `/detokenize`. Against the stub server's word tokenizer in
//! both dialects (llama.cpp, vLLM) and its faults, and against a real llama.cpp server when
//! `TRTBENCH_SERVER_URL` is set. Exactness is checked from outside: the prompt tokens each
//! server counted in the requests it was sent (`server_input_tokens`).

use std::process::Output;

use crate::support::stub::{self, Tokenize};
use crate::util::{bin, read_json};

fn stub(tokenize: Tokenize) -> (tokio::runtime::Runtime, stub::Server) {
    stub::in_background(stub::Config {
        tokenize,
        ..Default::default()
    })
}

/// `load` at concurrency 2 with no `--tokenizer`; the results when it succeeded.
fn load(url: &str, args: &[&str], out: &std::path::Path) -> (Output, Option<serde_json::Value>) {
    let o = bin()
        .args([
            "load",
            "--url",
            url,
            "--concurrency",
            "2",
            "--num-prompts",
            "6",
        ])
        .args(["--warmup", "0", "--timeout", "120s", "--out"])
        .arg(out)
        .args(args)
        .output()
        .unwrap();
    let r = o.status.success().then(|| read_json(out));
    (o, r)
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Every request's prompt counted by the server, next to the length asked.
fn counts(r: &serde_json::Value) -> Vec<(u64, u64)> {
    r["points"][0]["requests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|q| {
            let count = |k: &str| {
                q[k].as_u64()
                    .unwrap_or_else(|| panic!("request without {k}: {q}"))
            };
            (count("input_tokens"), count("server_input_tokens"))
        })
        .collect()
}

fn exact_through_stub(mode: Tokenize, dialect: &str) {
    let (_rt, server) = stub(mode);
    let dir = tempfile::tempdir().unwrap();
    let (o, r) = load(
        &server.url(),
        &["--isl", "30", "--isl-spread", "0.3", "--osl", "4"],
        &dir.path().join("r.json"),
    );
    let r = r.unwrap_or_else(|| panic!("{}", stderr(&o)));
    assert!(
        stderr(&o).contains("no --tokenizer") && stderr(&o).contains(dialect),
        "{}",
        stderr(&o)
    );
    let note = r["points"][0]["notes"]["tokenizer"].as_str().unwrap();
    assert!(
        note.contains("/tokenize") && note.contains(dialect),
        "{note}"
    );
    let c = counts(&r);
    assert_eq!(c.len(), 6);
    assert!(c.iter().all(|(ours, server)| ours == server), "{c:?}");
    assert!(
        c.iter().any(|(l, _)| *l != 30),
        "the spread was drawn: {c:?}"
    );
}

#[test]
fn llama_cpp_dialect_makes_exact_prompts() {
    exact_through_stub(Tokenize::LlamaCpp, "llama.cpp");
}

#[test]
fn vllm_dialect_makes_exact_prompts_bos_included() {
    exact_through_stub(Tokenize::Vllm, "vLLM");
}

/// A fault of the server's tokenizer: exit `code`, stderr naming every `needle`.
fn refused(mode: Tokenize, code: i32, needles: &[&str]) {
    let (_rt, server) = stub(mode);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("r.json");
    let (o, _) = load(&server.url(), &["--isl", "20", "--osl", "2"], &out);
    let e = stderr(&o);
    assert_eq!(o.status.code(), Some(code), "{e}");
    for n in needles {
        assert!(e.contains(n), "{n:?} not in: {e}");
    }
    assert!(!e.contains("panicked"), "{e}");
    assert_eq!(
        server.requests.load(std::sync::atomic::Ordering::Relaxed),
        0
    );
}

#[test]
fn no_tokenize_endpoint_says_what_to_pass() {
    refused(Tokenize::None, 2, &["404", "--tokenizer", "--dataset"]);
}

#[test]
fn malformed_tokenize_answer_is_named() {
    refused(
        Tokenize::Malformed,
        2,
        &["/tokenize", "not JSON", "--tokenizer"],
    );
}

#[test]
fn tokenize_count_disagreeing_with_its_tokens_is_named() {
    refused(Tokenize::CountMismatch, 2, &["\"count\" is", "--tokenizer"]);
}

#[test]
fn lengths_the_server_never_counts_are_refused_not_sent() {
    refused(Tokenize::OddCounts, 1, &["exact length", "--tokenizer"]);
}

/// The real llama.cpp server: its `/tokenize` makes the prompts, and its own usage counts
/// of what it was sent equal the lengths asked.
#[test]
fn real_llama_server_counts_exactly_what_was_asked() {
    let _heavy = crate::util::heavy();
    let require = std::env::var("TRTBENCH_REQUIRE_SERVER").is_ok_and(|v| v == "1");
    let Ok(url) = std::env::var("TRTBENCH_SERVER_URL") else {
        assert!(
            !require,
            "TRTBENCH_REQUIRE_SERVER=1 but TRTBENCH_SERVER_URL is unset"
        );
        eprintln!("skipped: TRTBENCH_SERVER_URL is unset");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (o, r) = load(
        &url,
        &["--isl", "48", "--isl-spread", "0.5", "--osl", "2"],
        &dir.path().join("r.json"),
    );
    let r = r.unwrap_or_else(|| panic!("{}", stderr(&o)));
    let note = r["points"][0]["notes"]["tokenizer"].as_str().unwrap();
    assert!(note.contains("llama.cpp"), "{note}");
    let c = counts(&r);
    assert_eq!(c.len(), 6);
    assert!(c.iter().all(|(ours, server)| ours == server), "{c:?}");
    assert!(
        c.iter().any(|(l, _)| *l != 48),
        "the spread was drawn: {c:?}"
    );
}
