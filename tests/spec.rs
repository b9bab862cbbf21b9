//! Speculative decoding on the real model: SmolLM2-135M Q4_1 drafting for the same model
//! requantized to Q8_0 (the only model at hand; a cheaper quantization of the target is
//! the draft). The output must be the target's own greedy output, token for token.

use std::path::{Path, PathBuf};

use trtbench::bench::corpus::{Corpus, DEFAULT_TEXT};
use trtbench::engine::{Request, SessionConfig};

use crate::util::{bin, engine};

/// The default engine requantized to q8_0 in `tmp` (about 1.5 s).
pub fn q8_target(tmp: &Path) -> PathBuf {
    let out = tmp.join("smollm2-135m-q8_0");
    let o = bin()
        .args(["build", "--from"])
        .arg(engine())
        .args(["--quant", "q8_0", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    out
}

fn generate(
    session: &mut dyn trtbench::engine::Session,
    prompt: &[i32],
    osl: u32,
) -> trtbench::engine::Generation {
    let prompts = vec![prompt.to_vec()];
    let mut events = 0;
    let g = session
        .generate(
            &Request {
                prompts: &prompts,
                output_len: osl,
            },
            &mut |_| events += 1,
        )
        .unwrap();
    assert_eq!(events, osl as usize);
    g
}

/// Drafted output equals the target's greedy output for several prompts and draft
/// lengths; the target ran fewer forward passes than tokens (it really verified
/// proposals in batches), and the counts add up.
#[test]
fn drafted_output_is_the_targets_greedy_output() {
    let _heavy = crate::util::heavy();
    let tmp = tempfile::tempdir().unwrap();
    let target = trtbench::backends::open(&q8_target(tmp.path())).unwrap();
    let draft = trtbench::backends::open(&engine()).unwrap();
    let corpus = Corpus::load(target.as_ref(), Path::new(DEFAULT_TEXT)).unwrap();
    let (isl, osl, runs) = (32usize, 20u32, 2u64);
    let cfg = SessionConfig::new(1, isl as u32 + osl);
    let prompts: Vec<Vec<i32>> = (0..runs)
        .map(|run| corpus.prompts(isl, 1, 7, run).remove(0))
        .collect();
    let mut vanilla = target.session(&cfg).unwrap();
    let wants: Vec<_> = prompts
        .iter()
        .map(|p| generate(&mut *vanilla, p, osl).tokens)
        .collect();
    drop(vanilla);
    let (mut proposed, mut accepted) = (0, 0);
    for draft_max in [1u32, 4] {
        let mut spec = target
            .speculative_session(draft.as_ref(), &cfg, &knobs(draft_max))
            .unwrap();
        for (run, (prompt, want)) in prompts.iter().zip(&wants).enumerate() {
            let got = generate(&mut *spec, prompt, osl);
            assert_eq!(&got.tokens, want, "draft_max {draft_max}, run {run}");
            let c = got
                .spec
                .expect("a speculative generation reports its counts");
            assert!(c.verify_steps > 0 && c.accepted <= c.proposed);
            assert!(c.proposed <= c.verify_steps * u64::from(draft_max));
            // Every step emits its accepted tokens plus one; the first token is the
            // prefill's, the last steps may be plain decode steps.
            assert!(c.accepted + c.verify_steps < u64::from(osl));
            assert_eq!(got.times.steps.len(), osl as usize - 1);
            proposed += c.proposed;
            accepted += c.accepted;
        }
        let notes = spec.setup_notes();
        let passes: u64 = notes["forward_passes"].parse().unwrap();
        // Vanilla: one prefill + osl − 1 steps per run; drafting with some acceptance
        // takes fewer target passes.
        assert!(passes < runs * u64::from(osl), "{notes:?}");
        assert!(notes["draft_forward_passes"].parse::<u64>().unwrap() > 0);
    }
    assert!(accepted > 0, "no proposed token was ever accepted");
    eprintln!("accepted {accepted} of {proposed} proposed tokens");
}

/// A batch above 1 is refused before any context is made, with an error naming --draft.
#[test]
fn speculation_refuses_batches_above_one() {
    let e = trtbench::backends::open(&engine()).unwrap();
    let cfg = SessionConfig::new(2, 64);
    let err = e
        .speculative_session(e.as_ref(), &cfg, &knobs(4))
        .err()
        .unwrap()
        .to_string();
    assert!(
        err.starts_with("--draft") && err.contains("batch 2"),
        "{err}"
    );
}

/// `sweep --draft`: the vanilla point runs once, its speculative twin names it, carries
/// per-run acceptance summaries and, after the sweep, its speedup over the twin. The
/// default model drafts for itself here (the test is about the pairing, not the figures).
#[test]
fn sweep_pairs_each_speculative_point_with_its_vanilla_twin() {
    let _heavy = crate::util::heavy();
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("r.json");
    let e = engine();
    let o = bin()
        .args(["sweep", "--engines"])
        .arg(&e)
        .arg("--draft")
        .arg(&e)
        .args(["--draft-max", "2", "--isl", "16", "--osl", "8"])
        .args(["--runs", "2", "--warmup", "0", "--sample-ms", "0", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let r = crate::util::read_json(&out);
    let points = r["points"].as_array().unwrap();
    assert_eq!(points.len(), 2);
    let (vanilla, spec) = (&points[0], &points[1]);
    assert!(vanilla.get("vanilla_twin").is_none());
    assert!(vanilla["summary"].get("spec_acceptance_rate").is_none());
    assert_eq!(spec["vanilla_twin"], vanilla["key"]);
    assert_eq!(spec["parameters"]["draft_max"], 2);
    let rate = spec["summary"]["spec_acceptance_rate"]["mean"]
        .as_f64()
        .unwrap();
    assert!((0.0..=1.0).contains(&rate), "{rate}");
    let len = spec["summary"]["spec_mean_accepted_len"]["mean"]
        .as_f64()
        .unwrap();
    assert!((1.0..=3.0).contains(&len), "{len}");
    assert!(vanilla["scalars"].get("draft_weights_bytes").is_none());
    let draft_bytes = spec["scalars"]["draft_weights_bytes"].as_f64().unwrap();
    assert_eq!(
        Some(draft_bytes as u64),
        spec["memory"]["weights_bytes"].as_u64()
    );
    let run = &spec["runs"][0]["spec"];
    assert!(run["verify_steps"].as_u64().unwrap() > 0);
    let speedup = spec["scalars"]["spec_speedup"].as_f64().unwrap();
    let tpot = |p: &serde_json::Value| p["summary"]["tpot_ms"]["mean"].as_f64().unwrap();
    assert!((speedup - tpot(vanilla) / tpot(spec)).abs() < 1e-9);
    // The printed report has the speculative row beside its twin's TPOT.
    let md = String::from_utf8_lossy(&o.stdout);
    assert!(md.contains("## Speculative decoding"), "{md}");
    assert!(md.contains("TPOT vanilla ms"), "{md}");
}

/// A plan with batch above 1 and a draft is refused before anything runs (exit 2).
#[test]
fn sweep_refuses_a_draft_above_batch_one() {
    let tmp = tempfile::tempdir().unwrap();
    let e = engine();
    let o = bin()
        .args(["sweep", "--engines"])
        .arg(&e)
        .arg("--draft")
        .arg(&e)
        .args(["--batch", "1,2", "--out"])
        .arg(tmp.path().join("r.json"))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("--draft") && err.contains("batch 2"), "{err}");
    assert!(!tmp.path().join("r.json").exists());
}

/// A results file whose speculative point keeps the same speed but accepts fewer of
/// its draft's tokens: `compare --fail-if-slower` names `spec_acceptance_rate` as
/// regressed and exits 1; against itself it passes.
#[test]
fn compare_gates_a_drop_in_acceptance() {
    use trtbench::record::{Clock, Point, PointKind, Results, RunRecord, SpecRun};
    let file = |accepted: &[u64]| {
        let runs: Vec<RunRecord> = accepted
            .iter()
            .enumerate()
            .map(|(i, &a)| RunRecord {
                prefill_ms: 10.0,
                ttft_ms: 10.0,
                e2e_ms: 100.0 + i as f64 * 0.01,
                tpot_ms: Some(3.0),
                itl_ms: vec![],
                prefill_tok_per_s: 6400.0,
                decode_tok_per_s: Some(333.0),
                output_tok_per_s: 320.0,
                requests_per_s: 10.0,
                output_tokens: 32,
                input_tokens: 64,
                peak_rss_bytes: None,
                spec: Some(SpecRun {
                    verify_steps: 10,
                    proposed_tokens: 40,
                    accepted_tokens: a,
                    draft_ms: 20.0,
                    target_ms: 30.0,
                }),
            })
            .collect();
        let mut params = std::collections::BTreeMap::new();
        params.insert("engine".to_string(), serde_json::json!("t"));
        params.insert("draft".to_string(), serde_json::json!("d"));
        let mut p = Point::new(PointKind::Engine, params);
        p.summary = trtbench::bench::runner::summarize_runs(&runs, Clock::HostMonotonic);
        p.runs = runs;
        let mut r = Results::new(vec!["test".into()], serde_json::json!({"hostname": "ci"}));
        r.points = vec![p];
        r
    };
    let base = file(&[38, 39, 38, 37, 39, 38]);
    let new = file(&[30, 31, 29, 30, 31, 30]);
    let dir = tempfile::tempdir().unwrap();
    let (b, n) = (dir.path().join("base.json"), dir.path().join("new.json"));
    base.save(&b).unwrap();
    new.save(&n).unwrap();
    let compare = |x: &Path, y: &Path| {
        bin()
            .arg("compare")
            .arg(x)
            .arg(y)
            .args(["--fail-if-slower", "5%"])
            .output()
            .unwrap()
    };
    let o = compare(&b, &n);
    let text = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(1), "{text}");
    let line = text
        .lines()
        .find(|l| l.contains("spec_acceptance_rate"))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(line.contains("REGRESSED"), "{line}");
    let o = compare(&b, &b);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
}

/// Knobs of a llama.cpp draft: a chain of `max` tokens.
fn knobs(max: u32) -> trtbench::engine::DraftKnobs {
    trtbench::engine::DraftKnobs {
        max,
        ..Default::default()
    }
}
