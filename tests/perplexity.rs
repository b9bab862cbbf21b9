//! Perplexity equals llama.cpp's: `llama-perplexity` (built from the same llama.cpp the
//! crate links, by `scripts/llama-tools.sh build perplexity`) and trtbench score the same
//! text with the same context and chunk count, and must agree within 0.1 %. Skips with a
//! message when the tool is not built, unless TRTBENCH_REQUIRE_TOOLS=1.

use crate::util::{bin, engine, read_json};

/// `Final estimate: PPL = 12.3456 +/- 0.1234` from llama-perplexity's output.
fn final_estimate(text: &str) -> Option<f64> {
    let rest = text.split("Final estimate: PPL =").nth(1)?;
    rest.split_whitespace().next()?.parse().ok()
}

#[test]
fn perplexity_equals_llama_perplexity() {
    let _heavy = crate::util::heavy();
    // Beside the binary under test: scripts/llama-tools.sh builds into the same profile dir
    // of the same target dir (target/release, or target/ci/release under scripts/test.sh).
    let tool = std::path::Path::new(env!("CARGO_BIN_EXE_trtbench"))
        .with_file_name("llama-tools")
        .join("bin/llama-perplexity");
    if !tool.is_file() {
        let msg = format!(
            "{} is not built (scripts/llama-tools.sh build perplexity)",
            tool.display()
        );
        assert!(
            std::env::var("TRTBENCH_REQUIRE_TOOLS").as_deref() != Ok("1"),
            "{msg}"
        );
        eprintln!("skipped: {msg}");
        return;
    }
    let text = "/usr/share/common-licenses/GPL-3";
    let gguf = engine().join("SmolLM2-135M-Instruct.Q4_1.gguf");
    let o = std::process::Command::new(&tool)
        .arg("-m")
        .arg(&gguf)
        .args(["-f", text, "-c", "128", "--chunks", "2", "-t", "2"])
        .output()
        .unwrap();
    let log = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(o.status.success(), "llama-perplexity failed: {log}");
    let theirs = final_estimate(&log).unwrap_or_else(|| panic!("no estimate in: {log}"));

    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("ppl.json");
    let o = bin()
        .args([
            "run",
            "--isl",
            "8",
            "--osl",
            "2",
            "--warmup",
            "0",
            "--runs",
            "1",
            "-t",
            "2",
            "--ppl",
            text,
            "--ppl-ctx",
            "128",
            "--ppl-chunks",
            "2",
            "--engine",
        ])
        .arg(engine())
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let r = read_json(&out);
    let q = r["points"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["kind"] == "quality")
        .expect("a quality point");
    let ours = q["scalars"]["perplexity"].as_f64().unwrap();
    // The same tokens are scored: 2 chunks × (128 − 64 − 1).
    assert_eq!(q["scalars"]["ppl_tokens_scored"], 2.0 * 63.0);
    let rel = (ours / theirs - 1.0).abs();
    assert!(
        rel < 0.001,
        "trtbench {ours} vs llama-perplexity {theirs}: {:.3}% apart",
        rel * 100.0
    );
}
