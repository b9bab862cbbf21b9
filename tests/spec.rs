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
            .speculative_session(draft.as_ref(), &cfg, draft_max)
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
        .speculative_session(e.as_ref(), &cfg, 4)
        .err()
        .unwrap()
        .to_string();
    assert!(
        err.starts_with("--draft") && err.contains("batch 2"),
        "{err}"
    );
}
