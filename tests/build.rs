//! `trtbench build` (GGUF quantization), `trtbench kv`, perplexity and KV refusal, on
//! the real default model.

use crate::util::{bin, engine, read_json};

fn run(args: &[&str]) -> std::process::Output {
    bin().args(args).output().unwrap()
}

fn err(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn builds_q8_0_with_a_full_manifest_and_refuses_to_overwrite() {
    let _heavy = crate::util::heavy();
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("smollm2-q8");
    let src = engine();
    let args = [
        "build",
        "--from",
        src.to_str().unwrap(),
        "--quant",
        "q8_0",
        "--out",
        out.to_str().unwrap(),
    ];
    let o = run(&args);
    assert!(o.status.success(), "{}", err(&o));
    assert!(err(&o).contains("requantized from q4_1"), "{}", err(&o));
    // The quantizer's line per tensor stays out of stderr: the warning is what is there.
    assert!(err(&o).lines().count() < 10, "{}", err(&o));
    let m = read_json(&out.join("trtbench.json"));
    assert_eq!(m["quant"], "q8_0");
    assert_eq!(m["backend"], "llama.cpp");
    assert_eq!(m["model"]["layers"], 30);
    let gguf = out.join(m["files"][0]["path"].as_str().unwrap());
    assert_eq!(
        std::fs::metadata(&gguf).unwrap().len(),
        m["files"][0]["bytes"].as_u64().unwrap()
    );
    // q8_0 stores 34 bytes per 32 weights: clearly larger than the 4.5-bit source.
    assert!(m["files"][0]["bytes"].as_u64().unwrap() > 130_000_000);
    let src_manifest = read_json(&src.join("trtbench.json"));
    assert_eq!(m["source"]["sha256"], src_manifest["files"][0]["sha256"]);
    assert!(m["build"]["wall_s"].as_f64().unwrap() > 0.0);
    assert!(m["build"]["tool_version"]
        .as_str()
        .unwrap()
        .contains("ggml"));
    assert_eq!(m["build"]["settings"]["source_quant"], "q4_1");
    // No partial file is left behind.
    assert_eq!(std::fs::read_dir(&out).unwrap().count(), 2);

    let o = run(&args);
    assert_eq!(o.status.code(), Some(2), "{}", err(&o));
    assert!(err(&o).contains("--force"), "{}", err(&o));
    let mut forced = args.to_vec();
    forced.push("--force");
    let o = run(&forced);
    assert!(o.status.success(), "{}", err(&o));
}

#[test]
fn build_bad_input() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let src = engine();
    let src = src.to_str().unwrap();
    let out = t.join("x");
    let out = out.to_str().unwrap();

    let o = run(&["build", "--from", src, "--quant", "q9_9", "--out", out]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        err(&o).contains("q9_9") && err(&o).contains("q4_k_m"),
        "{}",
        err(&o)
    );

    let o = run(&[
        "build",
        "--from",
        "/no/such/model.gguf",
        "--quant",
        "q8_0",
        "--out",
        out,
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(err(&o).contains("/no/such/model.gguf"), "{}", err(&o));

    let not_gguf = t.join("weights.gguf");
    std::fs::write(&not_gguf, b"definitely not a model").unwrap();
    let o = run(&[
        "build",
        "--from",
        not_gguf.to_str().unwrap(),
        "--quant",
        "q8_0",
        "--out",
        out,
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(err(&o).contains("not a GGUF"), "{}", err(&o));

    let o = run(&[
        "build",
        "--from",
        src,
        "--quant",
        "q8_0",
        "--backend",
        "onnx",
        "--out",
        out,
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(err(&o).contains("unknown backend"), "{}", err(&o));
    assert!(!std::path::Path::new(out).exists());
}

#[test]
fn kv_plan_numbers_and_refusal() {
    let e = engine();
    let o = run(&[
        "kv",
        "--engine",
        e.to_str().unwrap(),
        "--batch",
        "4",
        "--seq",
        "1000",
        "--budget",
        "1GiB",
        "--json",
    ]);
    assert!(o.status.success(), "{}", err(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["bytes_per_token"], 23040.0);
    assert_eq!(v["slot_tokens"], 1024);
    assert_eq!(v["total_bytes"], 4 * 1024 * 23040);
    // 0.9 GiB / (1024 × 23040 B) = 40.96 → 40 sequences of 1000 tokens.
    assert_eq!(v["max_batch_at_seq"], 40);
    // 1 GiB holds far more than 8192 tokens for one sequence, but the model's context
    // is 8192: the limit says so instead of a sequence it could never hold.
    let o = run(&[
        "kv",
        "--engine",
        e.to_str().unwrap(),
        "--batch",
        "1",
        "--seq",
        "1000",
        "--budget",
        "1GiB",
    ]);
    assert!(o.status.success(), "{}", err(&o));
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(
        text.contains("longest seq at batch 1: 8192 (bound by the model's context of 8192)"),
        "{text}"
    );
    let o = run(&[
        "kv",
        "--engine",
        e.to_str().unwrap(),
        "--batch",
        "64",
        "--seq",
        "8192",
        "--budget",
        "1GiB",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(err(&o).contains("above the budget"), "{}", err(&o));
    let o = run(&[
        "kv",
        "--engine",
        e.to_str().unwrap(),
        "--kv-dtype",
        "q7",
        "--budget",
        "1GiB",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(err(&o).contains("--kv-dtype"), "{}", err(&o));
}

#[test]
fn sweep_refuses_points_whose_kv_does_not_fit() {
    let _heavy = crate::util::heavy();
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("kv.json");
    let e = engine();
    // A budget of a millionth of the available memory holds no KV cache at all.
    let o = bin()
        .args([
            "sweep",
            "--batch",
            "1",
            "--isl",
            "8",
            "--osl",
            "2",
            "--runs",
            "1",
            "--warmup",
            "0",
            "--mem-fraction",
            "0.000001",
        ])
        .arg("--engines")
        .arg(&e)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", err(&o));
    let p = &read_json(&out)["points"][0];
    assert_eq!(p["status"], "skipped");
    let msg = p["error"].as_str().unwrap();
    assert!(
        msg.contains("KV cache needs") && msg.contains("23040 B/token"),
        "{msg}"
    );
}

#[test]
fn perplexity_beside_speed_orders_quantizations() {
    let _heavy = crate::util::heavy();
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let src = engine();
    let q4 = t.join("engines").join("smollm2-135m-q4_0");
    let o = run(&[
        "build",
        "--from",
        src.to_str().unwrap(),
        "--quant",
        "q4_0",
        "--out",
        q4.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", err(&o));
    let out = t.join("ppl.json");
    let o = bin()
        .args([
            "sweep",
            "--batch",
            "1",
            "--isl",
            "16",
            "--osl",
            "4",
            "--runs",
            "1",
            "--warmup",
            "0",
            "--ppl",
            "--ppl-ctx",
            "128",
            "--ppl-chunks",
            "2",
        ])
        .arg("--engines")
        .arg(format!("{},{}", src.display(), q4.display()))
        .arg("--baseline")
        .arg("smollm2-135m-q4_1")
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", err(&o));
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(stdout.contains("## Quantization impact"), "{stdout}");
    assert!(stdout.contains("% ppl"), "{stdout}");
    let r = read_json(&out);
    let ppl: Vec<f64> = r["points"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["kind"] == "quality")
        .map(|p| {
            // llama-perplexity's count: ctx - ctx/2 - 1 per chunk.
            assert_eq!(p["scalars"]["ppl_tokens_scored"], 2.0 * 63.0);
            p["scalars"]["perplexity"].as_f64().unwrap()
        })
        .collect();
    assert_eq!(ppl.len(), 2);
    // A real language model on English text: far better than uniform over 49152 tokens.
    assert!(ppl.iter().all(|p| *p > 1.0 && *p < 1000.0), "{ppl:?}");
    // Requantizing q4_1 to q4_0 loses information; the evaluation is deterministic.
    assert!(
        ppl[1] > ppl[0],
        "q4_0 {} should be worse than q4_1 {}",
        ppl[1],
        ppl[0]
    );

    let empty = t.join("empty.txt");
    std::fs::write(&empty, "\n").unwrap();
    let o = bin()
        .args([
            "run", "--isl", "8", "--osl", "2", "--runs", "1", "--warmup", "0", "--ppl",
        ])
        .arg(&empty)
        .arg("--engine")
        .arg(&src)
        .arg("--out")
        .arg(t.join("e.json"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(
        err(&o).contains("empty.txt") && err(&o).contains("empty"),
        "{}",
        err(&o)
    );
}

#[test]
fn tensorrt_build_plan_and_validation() {
    let tmp = tempfile::tempdir().unwrap();
    let ckpt = tmp.path().join("qwen3-0.6b");
    std::fs::create_dir_all(&ckpt).unwrap();
    // The fields Edge-LLM's exporter reads from a Hugging Face config (Qwen3-0.6B's values).
    std::fs::write(
        ckpt.join("config.json"),
        r#"{"model_type":"qwen3","num_hidden_layers":28,"num_attention_heads":16,
            "num_key_value_heads":8,"head_dim":128,"hidden_size":1024,"vocab_size":151936}"#,
    )
    .unwrap();
    let c = ckpt.to_str().unwrap();
    let out = tmp.path().join("eng");
    let o = run(&[
        "build",
        "--backend",
        "tensorrt",
        "--from",
        c,
        "--quant",
        "int4_awq",
        "--max-input-len",
        "1024",
        "--max-seq-len",
        "2048",
        "--mem-budget",
        "1GiB",
        "--out",
        out.to_str().unwrap(),
        "--plan",
    ]);
    assert!(o.status.success(), "{}", err(&o));
    let plan = String::from_utf8_lossy(&o.stdout);
    // 2 × 28 layers × 8 KV heads × 128 × 2 B = 112 KiB per token; 2048 tokens per slot =
    // 224 MiB per sequence, so a 1 GiB budget holds 4 sequences.
    assert!(
        plan.contains("max batch 4") && plan.contains("KV capacity 2048"),
        "{plan}"
    );
    let lines: Vec<&str> = plan.lines().filter(|l| !l.starts_with('#')).collect();
    assert_eq!(lines.len(), 3, "{plan}");
    assert!(
        lines[0].starts_with("tensorrt-edgellm-quantize llm")
            && lines[0].contains("--quantization int4_awq")
    );
    assert!(lines[1].starts_with("tensorrt-edgellm-export"));
    assert!(
        lines[2].contains("--maxBatchSize=4") && lines[2].contains("--maxKVCacheCapacity=2048")
    );
    assert!(lines[2].contains("--maxInputLen=1024"));
    assert!(!out.exists(), "--plan must not create anything");

    let o = run(&[
        "build",
        "--backend",
        "tensorrt",
        "--from",
        c,
        "--quant",
        "int5",
        "--plan",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        err(&o).contains("int4_awq") && err(&o).contains("nvfp4"),
        "{}",
        err(&o)
    );
    let o = run(&[
        "build",
        "--backend",
        "tensorrt",
        "--from",
        c,
        "--quant",
        "fp8",
        "--max-input-len",
        "512",
        "--max-seq-len",
        "256",
        "--plan",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(err(&o).contains("--max-seq-len"), "{}", err(&o));
    // Without the Edge-LLM tools the build says what to install (nothing is created).
    let o = bin()
        .args([
            "build",
            "--backend",
            "tensorrt",
            "--from",
            c,
            "--quant",
            "fp16",
            "--max-batch",
            "2",
            "--out",
        ])
        .arg(&out)
        .env("PATH", "/usr/bin:/bin")
        .env_remove("TRTBENCH_EDGE_LLM_ROOT")
        .env_remove("TRTBENCH_EDGE_LLM_BUILD")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(
        err(&o).contains("pip install tensorrt-edgellm"),
        "{}",
        err(&o)
    );
    assert!(!out.exists());
}

/// `build --backend tensorrt --draft eagle3 --plan`: Edge-LLM's speculative workflow as
/// steps, the base quantized first, both engines into the one output directory.
#[test]
fn tensorrt_speculative_build_plan() {
    let tmp = tempfile::tempdir().unwrap();
    let ckpt = tmp.path().join("qwen3-1.7b");
    std::fs::create_dir_all(&ckpt).unwrap();
    std::fs::write(
        ckpt.join("config.json"),
        r#"{"model_type":"qwen3","num_hidden_layers":28,"num_attention_heads":16,
            "num_key_value_heads":8,"head_dim":128,"hidden_size":2048,"vocab_size":151936}"#,
    )
    .unwrap();
    let out = tmp.path().join("spec");
    let o = bin()
        .args(["build", "--backend", "tensorrt", "--quant", "fp8", "--from"])
        .arg(&ckpt)
        .args([
            "--max-batch",
            "1",
            "--max-seq-len",
            "2048",
            "--draft",
            "eagle3",
        ])
        .args(["--draft-from", "ckpt/eagle3", "--plan", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", err(&o));
    let plan = String::from_utf8_lossy(&o.stdout);
    assert!(plan.contains("# speculative: eagle3 draft"), "{plan}");
    let lines: Vec<&str> = plan.lines().filter(|l| !l.starts_with('#')).collect();
    assert_eq!(lines.len(), 5, "{plan}");
    assert!(
        lines[0].starts_with("tensorrt-edgellm-quantize llm"),
        "{plan}"
    );
    assert!(lines[1].ends_with("--eagle-base"), "{plan}");
    assert!(
        lines[2].starts_with("tensorrt-edgellm-export ckpt/eagle3"),
        "{plan}"
    );
    let engine_dir = format!("--engineDir={}", out.display());
    assert!(
        lines[3].ends_with("--maxVerifyTreeSize=60 --specBase"),
        "{plan}"
    );
    assert!(
        lines[4].ends_with("--maxDraftTreeSize=60 --specDraft"),
        "{plan}"
    );
    assert!(lines[3].contains(&engine_dir) && lines[4].contains(&engine_dir));
    assert!(!out.exists(), "--plan must not create anything");
    // An EAGLE3 draft needs its checkpoint; the flag is named.
    let o = bin()
        .args([
            "build",
            "--backend",
            "tensorrt",
            "--quant",
            "fp16",
            "--from",
        ])
        .arg(&ckpt)
        .args(["--max-batch", "1", "--draft", "eagle3", "--plan"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(err(&o).contains("--draft-from"), "{}", err(&o));
}

/// doctor fits the engine: a llama.cpp engine needs no GPU, so it is ready on this CPU
/// machine (exit 0), where the GPU path is not.
#[test]
fn doctor_says_a_llama_cpp_engine_needs_no_gpu() {
    let e = engine();
    let o = run(&["doctor", "--engine", e.to_str().unwrap()]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(0), "{out}{}", err(&o));
    assert!(out.contains("no GPU, CUDA or TensorRT is needed"), "{out}");
    assert!(!out.contains("BLOCK"), "{out}");
    assert!(out.contains("ready:"), "{out}");
    let o = run(&["doctor", "--engine", "/nonexistent/engine"]);
    assert_eq!(o.status.code(), Some(2), "{}", err(&o));
}
