//! Speed of light and context depth on the real default model: a depth run records its
//! depth, its machine peaks and its percent of speed of light; a filled context changes
//! what the model generates exactly as if the context had been part of the prompt; a depth
//! that does not fit the context is refused, naming the depth.

use std::process::Command;

use trtbench::engine::{Request, SessionConfig};

use crate::util::{bin, engine, read_json};

fn run(args: &[&str]) -> std::process::Output {
    let mut c: Command = bin();
    c.args(args).output().unwrap()
}

#[test]
fn depth_run_records_depth_and_speed_of_light() {
    let _heavy = crate::util::heavy();
    let t = tempfile::tempdir().unwrap();
    let out = t.path().join("r.json");
    let eng = engine();
    let o = run(&[
        "run",
        "--engine",
        eng.to_str().unwrap(),
        "--isl",
        "8",
        "--osl",
        "4",
        "--depth",
        "16",
        "--warmup",
        "0",
        "--runs",
        "2",
        "-t",
        "2",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let r = read_json(&out);
    let m = &r["environment"]["roofline"];
    assert!(m["bandwidth_gb_per_s"].as_f64().unwrap() > 0.0, "{m}");
    assert!(m["triad_bytes"].as_u64().unwrap() >= 256 << 20, "{m}");
    let p = &r["points"][0];
    assert_eq!(p["status"], "ok", "{p}");
    assert_eq!(p["parameters"]["depth"], 16);
    assert!(p["key"].as_str().unwrap().contains("depth=16"));
    let s = &p["scalars"];
    // 16 + 8 + 4/2 = 26 tokens of KV in the mean decode step, on top of the weights.
    let kv = s["kv_bytes_per_token"].as_f64().unwrap();
    let weights = p["memory"]["weights_bytes"].as_f64().unwrap();
    assert_eq!(
        s["decode_bytes_per_step"].as_f64().unwrap(),
        weights + 26.0 * kv
    );
    for k in ["decode_bw_gb_per_s", "decode_sol_pct", "prefill_flop_per_s"] {
        assert!(s[k].as_f64().unwrap() > 0.0, "{k}: {s}");
    }
    // The KV formula covers the depth: 16 + 8 + 4 = 28 tokens, one 256-cell slot.
    assert_eq!(
        p["memory"]["kv_formula_bytes"].as_f64().unwrap(),
        256.0 * kv
    );
    let md = String::from_utf8_lossy(&o.stdout);
    assert!(md.contains("decode sol pct"), "{md}");
}

#[test]
fn depth_beyond_the_context_is_refused_naming_it() {
    let _heavy = crate::util::heavy();
    let t = tempfile::tempdir().unwrap();
    let out = t.path().join("r.json");
    let eng = engine();
    let o = run(&[
        "run",
        "--engine",
        eng.to_str().unwrap(),
        "--isl",
        "8",
        "--osl",
        "4",
        "--depth",
        "8190",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(!o.status.success());
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(e.contains("depth 8190 + isl 8"), "{e}");
    assert_eq!(read_json(&out)["points"][0]["status"], "skipped");
}

/// Greedy generation after `fill_context(c)` equals greedy generation from the prompt
/// `c ++ p` on an empty cache, and stays so on a second generation (the previous one's
/// cells are dropped, the context kept).
#[test]
fn filled_context_acts_as_a_prompt_prefix() {
    let _heavy = crate::util::heavy();
    let e = trtbench::backends::open(&engine()).unwrap();
    let text = "The quick brown fox jumps over the lazy dog. It was a bright cold day in April, \
                and the clocks were striking thirteen.";
    let toks = e.tokenize(text).unwrap();
    let (ctx, prompt) = toks.split_at(toks.len() - 4);
    let mut cfg = SessionConfig::new(1, toks.len() as u32 + 8);
    cfg.threads = Some(2);
    let mut s = e.session(&cfg).unwrap();
    let whole = vec![toks.clone()];
    let req = |p| Request {
        prompts: p,
        output_len: 6,
    };
    let reference = s.generate(&req(&whole), &mut |_| {}).unwrap().tokens;
    let part = vec![prompt.to_vec()];
    let cold = s.generate(&req(&part), &mut |_| {}).unwrap().tokens;
    s.fill_context(&[ctx.to_vec()]).unwrap();
    let first = s.generate(&req(&part), &mut |_| {}).unwrap().tokens;
    let second = s.generate(&req(&part), &mut |_| {}).unwrap().tokens;
    assert_eq!(first, reference);
    assert_eq!(second, reference);
    // Without the context the model continues differently: the check can fail.
    assert_ne!(cold, reference);
}
