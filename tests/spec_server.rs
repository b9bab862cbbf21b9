//! `trtbench load` against a real llama.cpp server speculating with a draft model
//! (`--model-draft`): SmolLM2-135M Q4_1 drafting for the same model requantized to Q8_0
//! (built here with `trtbench build`, as in tests/spec.rs; the only model at hand). The
//! server is started by the test, on a free port, from the llama-server that
//! scripts/llama-tools.sh builds beside the binary under test; skipped with a message when
//! it is not built, unless TRTBENCH_REQUIRE_TOOLS=1. The per-request draft counts trtbench
//! records are checked against the server's own Prometheus counters (`/metrics`), which
//! trtbench never reads.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use trtbench::record::{Results, Status};

use crate::util::{bin, engine};

/// A llama-server child process, killed when dropped.
struct Server {
    child: Child,
    port: u16,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn llama_server() -> Option<PathBuf> {
    let tool = Path::new(env!("CARGO_BIN_EXE_trtbench"))
        .with_file_name("llama-tools")
        .join("bin/llama-server");
    if tool.is_file() {
        return Some(tool);
    }
    let msg = format!(
        "{} is not built (scripts/llama-tools.sh build server)",
        tool.display()
    );
    assert!(
        std::env::var("TRTBENCH_REQUIRE_TOOLS").as_deref() != Ok("1"),
        "{msg}"
    );
    eprintln!("skipped: {msg}");
    None
}

/// GET `path` on 127.0.0.1:`port`: the status line's code and the body.
fn get(port: u16, path: &str) -> Option<(u16, String)> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    write!(s, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").ok()?;
    let mut text = String::new();
    s.read_to_string(&mut text).ok()?;
    let code = text.split_whitespace().nth(1)?.parse().ok()?;
    let body = text.split_once("\r\n\r\n")?.1.to_owned();
    Some((code, body))
}

/// Starts llama-server on a free port with `draft` drafting (up to 4 tokens per step) for
/// `target`, two slots, its Prometheus endpoint on; waits for /health.
fn start(tool: &Path, target: &Path, draft: &Path, log: &Path) -> Server {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new(tool)
        .arg("-m")
        .arg(target)
        .arg("--model-draft")
        .arg(draft)
        .args(["--spec-type", "draft-simple", "--spec-draft-n-max", "4"])
        .args(["--host", "127.0.0.1", "--port", &port.to_string()])
        .args(["-np", "2", "-c", "1024", "-t", "2", "--metrics", "--no-ui"])
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(log).unwrap())
        .spawn()
        .unwrap();
    let mut server = Server { child, port };
    let t0 = Instant::now();
    while get(port, "/health").map(|(c, _)| c) != Some(200) {
        let log = || std::fs::read_to_string(log).unwrap_or_default();
        if let Some(status) = server.child.try_wait().unwrap() {
            panic!("llama-server exited ({status}): {}", log());
        }
        assert!(
            t0.elapsed() < Duration::from_secs(180),
            "no /health: {}",
            log()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    server
}

/// The server's speculative counters (`llamacpp:spec_decode_num_*_total`, unlabelled).
fn spec_counters(port: u16) -> BTreeMap<String, f64> {
    let (code, body) = get(port, "/metrics").expect("GET /metrics");
    assert_eq!(code, 200, "{body}");
    body.lines()
        .filter_map(|l| l.strip_prefix("llamacpp:spec_decode_num_"))
        .filter_map(|l| l.split_once(' '))
        .filter(|(k, _)| !k.contains('{'))
        .map(|(k, v)| (k.to_owned(), v.trim().parse().unwrap()))
        .collect()
}

fn gguf_in(dir: &Path) -> PathBuf {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|x| x == "gguf"))
        .unwrap()
}

/// Two levels (concurrency 1 and 2) against a speculating server: every request carries
/// the server's draft counts, their sums are exactly what the server's own counters
/// moved by, the derived target steps bracket its verify steps (a last step may propose
/// nothing), each level pools its acceptance, and the report shows the table.
#[test]
fn load_records_a_speculating_servers_draft_counts() {
    let _heavy = crate::util::heavy();
    let Some(tool) = llama_server() else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let target = gguf_in(&crate::spec::q8_target(tmp.path()));
    let draft = engine().join("SmolLM2-135M-Instruct.Q4_1.gguf");
    let server = start(&tool, &target, &draft, &tmp.path().join("server.log"));
    let before = spec_counters(server.port);
    let out = tmp.path().join("load.json");
    let url = format!("http://127.0.0.1:{}/v1", server.port);
    let o = bin()
        .args(["load", "--url", &url, "--concurrency", "1,2"])
        .args(["--isl", "32", "--osl", "12", "--num-prompts", "2"])
        .args(["--warmup", "0", "--timeout", "120s", "--tokenizer"])
        .arg(&draft)
        .arg("-o")
        .arg(&out)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let after = spec_counters(server.port);
    let moved = |k: &str| after[k] - before.get(k).copied().unwrap_or(0.0);
    let r = Results::load(&out).unwrap();
    check_levels(&r);
    let sum = |k: &str| -> f64 {
        r.points
            .iter()
            .flat_map(|p| &p.requests)
            .map(|q| q.extra[k])
            .sum()
    };
    assert_eq!(sum("server_draft_n"), moved("draft_tokens_total"));
    assert_eq!(sum("server_draft_accepted"), moved("accepted_tokens_total"));
    let (steps, verify) = (sum("spec_target_steps"), moved("drafts_total"));
    assert!(
        steps >= verify && steps <= verify + 4.0,
        "{steps} target steps, {verify} verify steps"
    );
    let md = bin().arg("report").arg(&out).output().unwrap();
    let md = String::from_utf8_lossy(&md.stdout);
    assert!(md.contains("## Speculative decoding on the server"), "{md}");
}

/// Equal but for rounding: the same ratio of counts, divided in another order (the
/// library sums each level's counts itself; 16/17 came out one ulp apart).
fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-12 * b.abs().max(1.0)
}

fn check_levels(r: &Results) {
    assert_eq!(r.points.len(), 2);
    for p in &r.points {
        assert_eq!(p.status, Status::Ok, "{:?}", p.error);
        assert_eq!(p.requests.len(), 2);
        for q in &p.requests {
            assert!(q.error.is_none(), "{:?}", q.error);
            let (n, acc) = (q.extra["server_draft_n"], q.extra["server_draft_accepted"]);
            assert!(n > 0.0 && acc <= n, "{n} proposed, {acc} accepted");
            assert!(close(q.extra["spec_acceptance_rate"], acc / n), "{q:?}");
        }
        let sum = |k: &str| p.requests.iter().map(|q| q.extra[k]).sum::<f64>();
        let pooled = p.scalars["spec_acceptance_rate_pooled"];
        let want = sum("server_draft_accepted") / sum("server_draft_n");
        assert!(close(pooled, want), "pooled {pooled}, counts give {want}");
        assert_eq!(p.scalars["server_draft_n"], sum("server_draft_n"));
        assert_eq!(p.summary["spec_acceptance_rate"].n, 2);
        // The draft is the target's own model at a cheaper quantization: greedy, it
        // should mostly agree (97 % in process, README).
        assert!(pooled > 0.5, "accepted {pooled}");
        eprintln!(
            "concurrency {}: {} of {} proposed accepted ({:.1}%), {:.2} tokens per target step",
            p.parameters["concurrency"],
            sum("server_draft_accepted"),
            sum("server_draft_n"),
            100.0 * pooled,
            p.scalars["spec_mean_accepted_len_pooled"]
        );
    }
}
