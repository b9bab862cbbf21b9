//! `load --workload multi-turn`: against the stub server (which records every body in
//! arrival order), each turn is sent only once the turn before it has finished, carries
//! that turn's whole reply and every earlier message, and adds exactly --turn-len tokens;
//! bad flags exit 2 naming the flag; and, when `TRTBENCH_SERVER_URL` is set, llama.cpp's
//! server counts each turn's prompt as the previous prompt plus its reply plus the new
//! text.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::support::stub;
use crate::util;
use trtbench::record::{Point, Results};

fn stub_server() -> (tokio::runtime::Runtime, stub::Server) {
    stub::in_background(stub::Config {
        ttft: Duration::from_millis(20),
        itl: Duration::from_millis(2),
        ..Default::default()
    })
}

fn tok() -> trtbench::client::tokenizer::Tok {
    let gguf = util::engine().join("SmolLM2-135M-Instruct.Q4_1.gguf");
    trtbench::client::tokenizer::Tok::load(&gguf).unwrap()
}

/// The measured requests of each conversation, in turn order.
fn by_conversation(p: &Point) -> BTreeMap<u64, Vec<&trtbench::record::RequestRecord>> {
    let mut out: BTreeMap<u64, Vec<_>> = BTreeMap::new();
    for r in &p.requests {
        out.entry(r.extra["conversation"] as u64)
            .or_default()
            .push(r);
    }
    for v in out.values_mut() {
        v.sort_by_key(|r| r.extra["turn"] as u64);
    }
    out
}

/// The user texts and replies a body carries, in order (chat messages, or for completions
/// the one prompt text).
fn messages(b: &serde_json::Value) -> Vec<(String, String)> {
    match b.get("messages") {
        Some(m) => m
            .as_array()
            .unwrap()
            .iter()
            .map(|m| {
                (
                    m["role"].as_str().unwrap().to_owned(),
                    m["content"].as_str().unwrap().to_owned(),
                )
            })
            .collect(),
        None => vec![("prompt".into(), b["prompt"].as_str().unwrap().to_owned())],
    }
}

#[test]
fn each_turn_waits_for_and_carries_the_previous_reply() {
    // The stub's reply to max_tokens 4: its first four words.
    let reply = " alpha bravo charlie delta";
    let tok = tok();
    for (endpoint, think_ms) in [("chat", 40u64), ("completions", 0)] {
        let (_rt, server) = stub_server();
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("mt.json");
        let o = util::bin()
            .args(["load", "--url", &server.url(), "--endpoint", endpoint])
            .args(["--concurrency", "2", "--workload", "multi-turn"])
            .args(["--turns", "3", "--turn-len", "16", "--conversations", "3"])
            .args(["--think-time", &format!("{think_ms}ms")])
            .args(["--isl", "32", "--osl", "4", "--warmup", "1", "--tokenizer"])
            .arg(util::engine())
            .arg("-o")
            .arg(&out)
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "{endpoint}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        let p = Results::load(&out).unwrap().points.remove(0);
        assert_eq!(p.parameters["workload"], "multi-turn");
        assert_eq!(p.parameters["turns"], 3);
        assert_eq!(p.parameters["conversations"], 3);
        assert_eq!(p.requests.len(), 9, "{endpoint}: 3 conversations × 3 turns");
        for t in 1..=3 {
            assert_eq!(p.scalars[&format!("turn{t}_requests")], 3.0, "{endpoint}");
        }
        // The client's clock: turn k+1 left after turn k's last byte, and think-time later.
        for (c, turns) in by_conversation(&p) {
            assert_eq!(turns.len(), 3, "{endpoint}: conversation {c}");
            for w in turns.windows(2) {
                let done = w[0].start_s + w[0].e2e_ms.unwrap() / 1e3;
                let gap_ms = (w[1].start_s - done) * 1e3;
                assert!(
                    gap_ms >= think_ms as f64 - 1.0,
                    "{endpoint}: conversation {c}: next turn {gap_ms:.1} ms after the reply"
                );
            }
        }
        // The server's side: bodies in arrival order (warmup's single one first).
        let bodies = server.bodies.lock().unwrap().clone();
        assert_eq!(bodies.len(), 10, "{endpoint}: 1 warmup + 9 turns");
        let turns: Vec<Vec<(String, String)>> = bodies[1..].iter().map(messages).collect();
        let first_of = |m: &Vec<(String, String)>| m[0].1.clone();
        let mut conversations: BTreeMap<String, Vec<&Vec<(String, String)>>> = BTreeMap::new();
        for m in &turns {
            let key = first_of(m);
            let key = key.split_whitespace().take(8).collect::<Vec<_>>().join(" ");
            conversations.entry(key).or_default().push(m);
        }
        assert_eq!(
            conversations.len(),
            3,
            "{endpoint}: three distinct first turns"
        );
        for seq in conversations.values() {
            assert_eq!(seq.len(), 3);
            if endpoint == "chat" {
                for (k, m) in seq.iter().enumerate() {
                    // turn k+1: k (user, assistant) pairs, then the new user text
                    assert_eq!(m.len(), 2 * k + 1, "{m:?}");
                    assert_eq!(tok.count(&m[0].1), Some(32), "turn 1 is exactly --isl");
                    if k > 0 {
                        let prev = seq[k - 1];
                        assert_eq!(&m[..2 * k - 1], &prev[..], "the history is carried");
                        assert_eq!(m[2 * k - 1], ("assistant".into(), reply.into()));
                        let new = &m[2 * k].1;
                        assert_eq!(tok.count_plain(new), Some(16), "--turn-len: {new:?}");
                    }
                }
            } else {
                for k in 1..seq.len() {
                    let (prev, cur) = (&seq[k - 1][0].1, &seq[k][0].1);
                    let carried = format!("{prev}{reply}");
                    assert!(
                        cur.starts_with(&carried),
                        "turn {} starts with turn {k} and its reply: {cur:?}",
                        k + 1
                    );
                    // The made texts start with a space (" word" tokens): joined as they are.
                    let new = &cur[carried.len()..];
                    assert_eq!(tok.count_plain(new), Some(16), "--turn-len: {new:?}");
                }
            }
        }
        // The report shows a per-turn table.
        let md = String::from_utf8_lossy(&o.stdout);
        assert!(md.contains("per turn"), "{md}");
    }
}

#[test]
fn multi_turn_flags_that_cannot_work_exit_2_naming_the_flag() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("p.jsonl");
    std::fs::write(&data, "{\"prompt\": \"a b c\"}\n").unwrap();
    let trace = util::repo().join("tests/fixtures/traces/mooncake-small.jsonl");
    let mt = ["--workload", "multi-turn"];
    let cases: Vec<(Vec<String>, &str)> = vec![
        (vec!["--concurrency", "1", "--turns", "0"], "--turns"),
        (vec!["--concurrency", "1", "--turn-len", "0"], "--turn-len"),
        (
            vec!["--concurrency", "1", "--conversations", "0"],
            "--conversations",
        ),
        (
            vec!["--concurrency", "1", "--think-time", "soon"],
            "--think-time",
        ),
        (vec!["--rate", "1"], "--concurrency"),
        (
            vec!["--concurrency", "1", "--num-prompts", "4"],
            "--conversations",
        ),
    ]
    .into_iter()
    .map(|(a, f)| {
        let mut v: Vec<String> = mt.iter().map(|s| s.to_string()).collect();
        v.extend(a.iter().map(|s| s.to_string()));
        (v, f)
    })
    .chain([
        (
            vec![
                "--concurrency".into(),
                "1".into(),
                "--turns".into(),
                "3".into(),
            ],
            "--workload multi-turn",
        ),
        (
            [&mt[..], &["--concurrency", "1", "--dataset"]]
                .concat()
                .iter()
                .map(|s| s.to_string())
                .chain([data.display().to_string()])
                .collect(),
            "--dataset",
        ),
        (
            [&mt[..], &["--trace"]]
                .concat()
                .iter()
                .map(|s| s.to_string())
                .chain([trace.display().to_string()])
                .collect(),
            "--workload",
        ),
    ])
    .collect();
    for (args, flag) in cases {
        let o = util::bin()
            .args(["load", "--url", "http://127.0.0.1:9/v1", "--tokenizer"])
            .arg(util::engine())
            .args(&args)
            .arg("-o")
            .arg(dir.path().join("r.json"))
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(flag), "{args:?} names {flag}: {err}");
    }
}

/// On llama.cpp's server each turn's prompt is the previous turn's prompt, its reply and
/// the new user text: the prompt tokens the server counts grow by about that much, turn
/// after turn, and the history is served from its prefix cache. Skipped without
/// `TRTBENCH_SERVER_URL` / `TRTBENCH_MODEL` (as in tests/load.rs).
#[test]
fn e2e_llama_server_multi_turn_prompts_grow_by_the_reply() {
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
    for endpoint in ["completions", "chat"] {
        let out = dir.path().join(format!("{endpoint}.json"));
        let o = util::bin()
            .args(["load", "--url", &url, "--endpoint", endpoint])
            .args(["--concurrency", "2", "--workload", "multi-turn"])
            .args(["--turns", "3", "--turn-len", "32", "--conversations", "2"])
            .args(["--isl", "64", "--osl", "16", "--warmup", "1"])
            .args(["--tokenizer", &model])
            .arg("-o")
            .arg(&out)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let p = Results::load(&out).unwrap().points.remove(0);
        // A failed turn ends its conversation: say why, should one fail.
        let errors: Vec<_> = p
            .requests
            .iter()
            .filter_map(|q| q.error.as_deref())
            .collect();
        assert_eq!(
            p.requests.len(),
            6,
            "{endpoint}: failures {errors:?}, warnings {:?}",
            p.warnings
        );
        assert!(errors.is_empty(), "{endpoint}: {errors:?}");
        for (c, turns) in by_conversation(&p) {
            assert_eq!(turns.len(), 3, "{endpoint}: conversation {c}");
            for w in turns.windows(2) {
                let prev = w[0].server_input_tokens.unwrap();
                let next = w[1].server_input_tokens.unwrap();
                // Chat adds the template's tokens around each new message. The reply's text
                // re-tokenizes inside the history with merges across its edges, so it can
                // count fewer tokens than were generated (seen: 16 generated, 9 counted);
                // it must count for at least half, or the reply was not carried.
                let reply = w[0].output_tokens;
                let slack = if endpoint == "chat" { 12 } else { 3 };
                let grew = next.saturating_sub(prev + 32);
                assert!(
                    grew >= reply / 2 && grew <= reply + slack,
                    "{endpoint}: conversation {c}: {next} prompt tokens after {prev} + \
                     reply {} + 32",
                    w[0].output_tokens
                );
            }
        }
        // Later turns reuse the history llama.cpp just cached.
        let later = p.scalars["turn3_cached_prompt_frac"];
        assert!(later > 0.5, "{endpoint}: turn 3 cached fraction {later}");
    }
}
