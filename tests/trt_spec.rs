//! Edge-LLM 0.10's speculative path (issue 26, item 4) against the CPU double
//! (tests/trt_double/, built and pointed at by scripts/test-trt-double.sh): the flat engine
//! directory `llm_build` leaves, the unified runtime with its drafting knobs, acceptance from
//! the runtime's speculative metrics, stage sums per round, the KV reserve, and the vanilla
//! twin through `disableSpecDecode` on the same engine. Skipped unless the linked runtime is
//! the double.

use std::path::PathBuf;

use serde_json::Value;

/// The double's fixture engine made into a speculative directory as `llm_build --specBase`
/// and `--specDraft` into one `--engineDir` leave it: an EAGLE3 base (KV capacity 256, 8
/// pages for batch 4) and draft (capacity 200), `d2t.safetensors` beside them.
fn spec_dir() -> (tempfile::TempDir, PathBuf) {
    let (t, dir) = crate::trt::fixture_engine_copy("spec");
    let mut cfg: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("config.json")).unwrap()).unwrap();
    let write = |name: &str, role: &str, cap: u64, cfg: &mut Value| {
        cfg["spec_decode_type"] = "eagle3".into();
        cfg["engine_role"] = role.into();
        cfg["builder_config"]["max_kv_cache_capacity"] = cap.into();
        cfg["builder_config"]["max_kv_pool_pages"] = (4 * cap.div_ceil(128)).into();
        cfg["builder_config"]["spec_base"] = (role == "base").into();
        cfg["builder_config"]["spec_draft"] = (role == "draft").into();
        std::fs::write(dir.join(name), serde_json::to_string_pretty(cfg).unwrap()).unwrap();
    };
    write("base_config.json", "base", 256, &mut cfg);
    write("draft_config.json", "draft", 200, &mut cfg);
    std::fs::remove_file(dir.join("config.json")).unwrap();
    std::fs::rename(dir.join("llm.engine"), dir.join("spec_base.engine")).unwrap();
    std::fs::write(dir.join("spec_draft.engine"), vec![0u8; 4096]).unwrap();
    std::fs::write(dir.join("d2t.safetensors"), vec![0u8; 64]).unwrap();
    (t, dir)
}

/// A half-built speculative directory is refused naming the missing file, by the manifest
/// and by opening it (derived manifest); an EAGLE3 one without d2t.safetensors too.
#[test]
fn half_a_speculative_dir_names_the_missing_file() {
    for (missing, needle) in [
        ("spec_draft.engine", "spec_draft.engine"),
        ("draft_config.json", "draft_config.json"),
        ("d2t.safetensors", "d2t.safetensors"),
    ] {
        let (_t, dir) = spec_dir();
        std::fs::remove_file(dir.join(missing)).unwrap();
        let e = trtbench::backends::trt::manifest_from_engine_dir(&dir, "s", "fp16")
            .unwrap_err()
            .to_string();
        assert!(e.contains(needle) && e.contains("missing"), "{e}");
        let o = assert_cmd::Command::cargo_bin("trtbench")
            .unwrap()
            .args(["kv", "--engine"])
            .arg(&dir)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(!o.status.success() && err.contains(needle), "{err}");
    }
    // Whole: its manifest lists the base engine first and records the strategy.
    let (_t, dir) = spec_dir();
    let m = trtbench::backends::trt::manifest_from_engine_dir(&dir, "s", "fp16").unwrap();
    assert_eq!(m.files[0].path, "spec_base.engine");
    for f in ["spec_draft.engine", "base_config.json", "d2t.safetensors"] {
        assert!(m.files.iter().any(|e| e.path == f), "{f}: {:?}", m.files);
    }
    let settings = &m.build.unwrap().settings;
    assert_eq!(settings["spec_decode_type"], "eagle3");
    assert_eq!(settings["draft_max_kv_cache_capacity"], 200);
    // The KV plan a speculative request sees: min(256, 200) − 100.
    let plan = trtbench::backends::trt::plan_from_config(&dir).unwrap();
    assert_eq!((plan.kv_capacity, plan.kv_reserve), (100, 100));
}

#[cfg(feature = "tensorrt")]
mod double {
    use std::path::Path;

    use trtbench::engine::{DraftKnobs, Engine, Request, SessionConfig, Token};

    // One lock with tests/trt.rs: its tests set the double's TRTBENCH_DOUBLE_* knobs in the
    // process environment, which a speculative test running beside them would read.
    use crate::trt::double::{is_double, lock};

    /// One prompt of exactly `isl` tokens (tests/trt.rs's, batch 1).
    fn prompt(engine: &dyn Engine, isl: usize) -> Vec<Vec<Token>> {
        crate::trt::double::prompts(engine, 1, isl)
    }

    fn knobs(max: u32) -> DraftKnobs {
        DraftKnobs {
            max,
            ..DraftKnobs::default()
        }
    }

    /// The double's known draft: in round k it gets k mod (step + 1) draft tokens accepted,
    /// so a round emits that plus one, clamped to what is left. Returns (rounds, accepted).
    fn known_draft(step: u32, osl: u32) -> (u64, u64) {
        let (mut left, mut rounds, mut accepted) = (osl - 1, 0u64, 0u64);
        while left > 0 {
            let emit = (rounds as u32 % (step + 1) + 1).min(left);
            accepted += u64::from(emit - 1);
            left -= emit;
            rounds += 1;
        }
        (rounds, accepted)
    }

    #[test]
    fn speculation_keeps_the_twins_tokens_and_counts_the_drafts_acceptance() {
        let _g = lock();
        if !is_double() {
            return;
        }
        let (_t, dir) = super::spec_dir();
        let engine = trtbench::backends::open(&dir).unwrap();
        let cfg = SessionConfig::new(1, 64);
        let (isl, osl) = (8usize, 20u32);
        let p = prompt(engine.as_ref(), isl);
        let req = Request {
            prompts: &p,
            output_len: osl,
        };
        let mut twin = engine.session(&cfg).unwrap();
        let notes = twin.setup_notes();
        assert!(notes.contains_key("spec_vanilla_twin"), "{notes:?}");
        assert_eq!(notes["spec_strategy"], "eagle");
        let vanilla = twin.generate(&req, &mut |_| {}).unwrap();
        assert!(vanilla.spec.is_none());
        // The twin runs the vanilla decoder: one llm_generation step per decode token.
        assert_eq!(
            vanilla.device.as_ref().unwrap().steps.len(),
            osl as usize - 1
        );
        drop(twin);

        for step in [1u32, 3] {
            let mut s = engine
                .speculative_session(engine.as_ref(), &cfg, &knobs(step))
                .unwrap();
            let mut events = 0;
            let g = s.generate(&req, &mut |_| events += 1).unwrap();
            assert_eq!(g.tokens, vanilla.tokens, "draft steps {step}");
            assert_eq!(events, osl as usize);
            let c = g.spec.expect("speculative counts");
            let (rounds, accepted) = known_draft(step, osl);
            assert_eq!(
                (c.verify_steps, c.accepted),
                (rounds, accepted),
                "step {step}"
            );
            assert_eq!(c.proposed, rounds * u64::from(step));
            // Host times stay per token; device steps are the rounds' stage sums.
            assert_eq!(g.times.steps.len(), osl as usize - 1);
            let d = g.device.as_ref().unwrap();
            assert_eq!(d.steps.len() as u64, rounds);
            assert!(c.draft > std::time::Duration::ZERO && c.target > c.draft / 10);
            let notes = s.setup_notes();
            assert_eq!(notes["spec_strategy"], "eagle");
            assert_eq!(
                notes["spec_drafting"],
                format!(
                    "draftingTopK=1 draftingStep={step} verifySize={} dflashBlockSize=0",
                    step + 1
                )
            );
            // Edge-LLM's own formula: generated tokens (prefill's included) per iteration.
            let rate: f64 = notes["edgellm_acceptance_rate"].parse().unwrap();
            assert!(
                (rate - f64::from(osl) / rounds as f64).abs() < 1e-3,
                "{rate}"
            );
        }
        // step 3, osl 20: rounds emit 1, 2, 3, 4, 1, 2, 3, then the 3 left of 4.
        assert_eq!(known_draft(3, 20), (8, 11));
    }

    /// The KV plan is the speculative one (min(base, draft) − 100): a point the runtime
    /// would cut silently is refused, naming the reserve; one that fits runs in full.
    #[test]
    fn the_kv_reserve_is_honoured() {
        let _g = lock();
        if !is_double() {
            return;
        }
        let (_t, dir) = super::spec_dir();
        let engine = trtbench::backends::open(&dir).unwrap();
        let cfg = SessionConfig::new(1, 100);
        let p = prompt(engine.as_ref(), 8);
        let mut s = engine
            .speculative_session(engine.as_ref(), &cfg, &knobs(2))
            .unwrap();
        let err = s
            .generate(
                &Request {
                    prompts: &p,
                    output_len: 93,
                },
                &mut |_| {},
            )
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("100-token reserve"), "{err}");
        let g = s
            .generate(
                &Request {
                    prompts: &p,
                    output_len: 92,
                },
                &mut |_| {},
            )
            .unwrap();
        assert_eq!(g.tokens[0].len(), 92);
        // A session asking for more than the speculative capacity is refused up front.
        let big = SessionConfig::new(1, 101);
        assert!(engine
            .speculative_session(engine.as_ref(), &big, &knobs(2))
            .is_err());
    }

    /// A draft that is not the target's own speculative directory, and a vanilla directory
    /// with a draft, are refused naming --draft; bad drafting knobs name their flag.
    #[test]
    fn edge_llm_drafts_only_inside_its_own_directory() {
        let _g = lock();
        if !is_double() {
            return;
        }
        let (_t, dir) = super::spec_dir();
        let (_u, other) = super::spec_dir();
        let engine = trtbench::backends::open(&dir).unwrap();
        let draft = trtbench::backends::open(&other).unwrap();
        let cfg = SessionConfig::new(1, 64);
        let e = engine
            .speculative_session(draft.as_ref(), &cfg, &knobs(2))
            .err()
            .unwrap()
            .to_string();
        assert!(e.starts_with("--draft"), "{e}");
        let tree = DraftKnobs {
            top_k: Some(4),
            ..knobs(2)
        };
        let e = engine
            .speculative_session(engine.as_ref(), &cfg, &tree)
            .err()
            .unwrap()
            .to_string();
        assert!(e.starts_with("--draft-verify"), "{e}");
        assert!(Path::new(&dir).join("spec_base.engine").is_file());
    }

    /// `trtbench sweep --draft` on a speculative directory: each drafted point beside its
    /// vanilla twin (same engine, disableSpecDecode), with acceptance and speedup, and the
    /// drafting knobs as axes.
    #[test]
    fn sweep_pairs_drafted_points_with_their_twin_on_one_engine() {
        let _g = lock();
        if !is_double() {
            return;
        }
        let (t, dir) = super::spec_dir();
        let out = t.path().join("r.json");
        let o = assert_cmd::Command::cargo_bin("trtbench")
            .unwrap()
            .args(["sweep", "--engines"])
            .arg(&dir)
            .arg("--draft")
            .arg(&dir)
            .args(["--draft-max", "3", "--draft-top-k", "1", "--isl", "8"])
            .args([
                "--osl",
                "20",
                "--runs",
                "2",
                "--warmup",
                "0",
                "--sample-ms",
                "0",
            ])
            .arg("--text")
            .arg("tests/fixtures/edgellm-double/corpus.txt")
            .arg("--out")
            .arg(&out)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let r: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
        let points = r["points"].as_array().unwrap();
        assert_eq!(points.len(), 2);
        let (vanilla, spec) = (&points[0], &points[1]);
        assert_eq!(spec["vanilla_twin"], vanilla["key"]);
        assert_eq!(spec["parameters"]["draft_max"], 3);
        assert_eq!(spec["parameters"]["draft_top_k"], 1);
        // The known draft at step 3, osl 20: 8 rounds, 11 accepted of 24 proposed.
        let mean = |k: &str| spec["summary"][k]["mean"].as_f64().unwrap();
        assert!((mean("spec_acceptance_rate") - 11.0 / 24.0).abs() < 1e-9);
        assert!((mean("spec_mean_accepted_len") - 19.0 / 8.0).abs() < 1e-9);
        assert!(spec["scalars"]["spec_speedup"].as_f64().unwrap() > 0.0);
        assert!(vanilla["summary"].get("spec_acceptance_rate").is_none());
    }
}
