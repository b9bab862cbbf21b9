//! `trtbench load` against answers recorded from the real peer servers (vLLM 0.32 on CPU,
//! `transformers serve` 5.23, llama.cpp's llama-server), replayed by
//! `support::replay`: each server's protocol as it really is, on every CI run, with no
//! server installed. The live runs are scripts/peer-check.sh's.

use std::time::Duration;

use trtbench::record::{Results, Status};

use crate::support::replay;
use crate::util;

/// Runs `load` against a replay of `server`'s recordings; the results and stderr.
fn load_against(server: &str, args: &[&str]) -> (Results, String, usize) {
    let (_rt, replay) = replay::start(replay::recorded(server));
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("r.json");
    let gguf = util::engine().join("SmolLM2-135M-Instruct.Q4_1.gguf");
    let assert = assert_cmd::Command::cargo_bin("trtbench")
        .unwrap()
        .args(["load", "--url", &replay.url, "--concurrency", "1"])
        .args(["--num-prompts", "3", "--warmup", "0", "--isl", "16"])
        .arg("--tokenizer")
        .arg(&gguf)
        .args(args)
        .arg("-o")
        .arg(&out)
        .timeout(Duration::from_secs(120))
        .assert()
        .success();
    let stderr = String::from_utf8_lossy(&assert.get_output().stderr).to_string();
    let sent = replay
        .completions
        .load(std::sync::atomic::Ordering::Relaxed);
    (Results::load(&out).unwrap(), stderr, sent)
}

/// `transformers serve`: lists no model, refuses `ignore_eos`/`min_tokens` with 422,
/// refuses any `model` but its own path, opens chat streams with a role-only chunk, and
/// ends them with no `[DONE]`. With nothing but `--url` (and a tokenizer) every request
/// succeeds, lengths unforced and said so, TTFT timed from the first text.
#[test]
fn pytorch_server_protocol_from_its_recorded_answers() {
    let (r, stderr, sent) = load_against("pytorch", &["--endpoint", "chat", "--osl", "8"]);
    let p = &r.points[0];
    assert_eq!(p.status, Status::Ok, "{stderr}");
    assert_eq!(p.requests.len(), 3);
    assert!(p.requests.iter().all(|q| q.error.is_none()), "{stderr}");
    // Two probes (with the fields, refused; without, taken), then the 3 measured.
    assert_eq!(sent, 2 + 3);
    assert_eq!(p.parameters["ignore_eos"], false);
    assert!(p.notes["ignore_eos"].contains("HTTP 422"), "{:?}", p.notes);
    assert!(p.notes["ignore_eos"].contains("not forced"));
    assert!(p.warnings.iter().any(|w| w.contains("refused ignore_eos")));
    assert!(p.notes.contains_key("model_field"), "model left out");
    // The model's name as its stream gives it: the served path, less its directories.
    assert_eq!(p.parameters["model"], "smollm2-135m-instruct-hf@main");
    for q in &p.requests {
        // Usage came in the last chunk, beside its finish_reason.
        assert_eq!(q.server_output_tokens, Some(8), "{q:?}");
        assert_eq!(q.output_tokens, 8);
        // The role-only chunk leads by one replay gap: TTFT is the first text's.
        let ttft = q.ttft_ms.unwrap();
        let gap = replay::EVENT_GAP.as_secs_f64() * 1e3;
        assert!(
            ttft >= 2.0 * gap * 0.9,
            "TTFT {ttft} ms counts the role chunk"
        );
        assert_eq!(q.itl_ms.len(), 7);
    }
}

/// `transformers serve` on its completions endpoint: no role chunk, no `[DONE]`, usage
/// on the finishing chunk.
#[test]
fn pytorch_server_completions_end_without_done() {
    let (r, stderr, _) = load_against("pytorch", &["--osl", "8"]);
    let p = &r.points[0];
    assert_eq!(p.status, Status::Ok, "{stderr}");
    assert!(p.requests.iter().all(|q| q.server_output_tokens == Some(8)));
    let ttft = p.requests[0].ttft_ms.unwrap();
    let gap = replay::EVENT_GAP.as_secs_f64() * 1e3;
    assert!(ttft >= gap * 0.9 && ttft < 2.0 * gap * 1.5, "TTFT {ttft}");
}

/// vLLM: a model listed at /models, `ignore_eos` taken (one probe), chat streams whose
/// first chunk has the role and empty content, usage in a last chunk with no choices,
/// then `[DONE]`.
#[test]
fn vllm_protocol_from_its_recorded_answers() {
    for endpoint in ["chat", "completions"] {
        let (r, stderr, sent) = load_against("vllm", &["--endpoint", endpoint, "--osl", "8"]);
        let p = &r.points[0];
        assert_eq!(p.status, Status::Ok, "{endpoint}: {stderr}");
        assert_eq!(sent, 1 + 3, "{endpoint}: one probe");
        assert_eq!(p.parameters["model"], "smollm2");
        assert_eq!(p.parameters["ignore_eos"], true);
        assert!(!p.notes.contains_key("ignore_eos"));
        assert!(!p.notes.contains_key("model_field"));
        for q in &p.requests {
            assert_eq!(q.server_output_tokens, Some(8), "{endpoint}: {q:?}");
            assert_eq!(q.output_tokens, 8, "{endpoint}");
            assert_eq!(q.itl_ms.len(), 7, "{endpoint}: the role chunk is no token");
        }
    }
}

/// llama.cpp's server: model listed by its path, `ignore_eos` taken, `timings` and usage
/// on the last chunk, `[DONE]`.
#[test]
fn llama_server_protocol_from_its_recorded_answers() {
    let (r, stderr, sent) = load_against("llama-server", &["--osl", "8"]);
    let p = &r.points[0];
    assert_eq!(p.status, Status::Ok, "{stderr}");
    assert_eq!(sent, 1 + 3);
    assert_eq!(p.parameters["model"], "SmolLM2-135M-Instruct.Q4_1.gguf");
    assert!(p.requests.iter().all(|q| q.server_output_tokens == Some(8)));
}
