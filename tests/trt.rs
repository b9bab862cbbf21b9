//! The `tensorrt` feature's build-time probing and the disabled backend, tested without a
//! GPU: build_support/sdk.rs (shared with build.rs) against fake SDK trees, and the CLI's
//! `inspect` when the feature is off.

#[path = "../build_support/sdk.rs"]
#[allow(dead_code)]
mod sdk;

use std::collections::HashMap;
use std::path::Path;

fn touch(p: &Path) {
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, b"").unwrap();
}

fn env_of(map: HashMap<&'static str, String>) -> impl Fn(&str) -> Option<String> {
    move |k| map.get(k).cloned()
}

#[test]
fn probe_lists_every_missing_component_and_path() {
    let empty = tempfile::tempdir().unwrap();
    let root = empty.path().display().to_string();
    let env = env_of(HashMap::from([
        ("TENSORRT_ROOT", root.clone()),
        ("CUDA_HOME", root.clone()),
        ("TRTBENCH_EDGE_LLM_ROOT", root.clone()),
    ]));
    let err = sdk::probe(sdk::Mode::Full, &env).unwrap_err();
    let what: Vec<&str> = err.missing.iter().map(|m| m.what).collect();
    assert_eq!(what.len(), 8, "{what:?}");
    let msg = err.to_string();
    for needle in [
        format!("{root}/include/NvInfer.h"),
        format!("{root}/include/aarch64-linux-gnu/NvInfer.h"),
        format!("{root}/lib/aarch64-linux-gnu/libnvinfer.so"),
        format!("{root}/include/cuda_runtime_api.h"),
        format!("{root}/bin/nvcc"),
        format!("{root}/targets/aarch64-linux/lib/libcudart.so"),
        format!("{root}/cpp/runtime/llmInferenceRuntime.h"),
        format!("{root}/build/cpp/libedgellmCore.a"),
        format!("{root}/build/libNvInfer_edgellm_plugin.so"),
        "TRTBENCH_TRT_COMPILE_ONLY".to_string(),
    ] {
        assert!(msg.contains(&needle), "missing {needle} in:\n{msg}");
    }
}

#[test]
fn probe_unset_edge_llm_root_says_so() {
    let err = sdk::probe(sdk::Mode::Full, &|_| None).unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("TRTBENCH_EDGE_LLM_ROOT"), "{msg}");
    assert!(msg.contains("the variable is unset"), "{msg}");
    // Defaults are tried when TENSORRT_ROOT/CUDA_HOME are unset.
    assert!(
        msg.contains("/usr/local/tensorrt/include/NvInfer.h"),
        "{msg}"
    );
    assert!(
        msg.contains("/usr/local/cuda/include/cuda_runtime_api.h"),
        "{msg}"
    );
}

#[test]
fn probe_finds_a_jetpack_layout() {
    // JetPack installs TensorRT into /usr with multiarch directories; CUDA in /usr/local/cuda
    // with targets/aarch64-linux/lib; Edge-LLM builds into <root>/build.
    let t = tempfile::tempdir().unwrap();
    let usr = t.path().join("usr");
    let cuda = t.path().join("cuda");
    let el = t.path().join("TensorRT-Edge-LLM");
    touch(&usr.join("include/aarch64-linux-gnu/NvInfer.h"));
    touch(&usr.join("lib/aarch64-linux-gnu/libnvinfer.so"));
    touch(&cuda.join("include/cuda_runtime_api.h"));
    touch(&cuda.join("bin/nvcc"));
    touch(&cuda.join("targets/aarch64-linux/lib/libcudart.so"));
    touch(&el.join("cpp/runtime/llmInferenceRuntime.h"));
    touch(&el.join("build/cpp/libedgellmCore.a"));
    touch(&el.join("build/libNvInfer_edgellm_plugin.so"));
    let env = env_of(HashMap::from([
        ("TENSORRT_ROOT", usr.display().to_string()),
        ("CUDA_PATH", cuda.display().to_string()),
        ("TRTBENCH_EDGE_LLM_ROOT", el.display().to_string()),
    ]));
    let s = sdk::probe(sdk::Mode::Full, &env).unwrap();
    assert_eq!(s.trt_include, usr.join("include/aarch64-linux-gnu"));
    assert_eq!(s.trt_lib, Some(usr.join("lib/aarch64-linux-gnu")));
    assert_eq!(s.cuda_lib, Some(cuda.join("targets/aarch64-linux/lib")));
    assert_eq!(
        s.edge_llm_plugin,
        Some(el.join("build/libNvInfer_edgellm_plugin.so"))
    );
}

#[test]
fn compile_only_needs_headers_only() {
    // The trtx-sys header tree has NvInfer.h at its root (no include/ directory).
    let t = tempfile::tempdir().unwrap();
    let trt = t.path().join("TRT-Enterprise-11.4");
    let cuda = t.path().join("cu13");
    touch(&trt.join("NvInfer.h"));
    touch(&cuda.join("include/cuda_runtime_api.h"));
    let env = env_of(HashMap::from([
        ("TENSORRT_ROOT", trt.display().to_string()),
        ("CUDA_HOME", cuda.display().to_string()),
    ]));
    let s = sdk::probe(sdk::Mode::CompileOnly, &env).unwrap();
    assert_eq!(s.trt_include, trt);
    assert!(s.trt_lib.is_none() && s.edge_llm_root.is_none());
    assert!(sdk::probe(sdk::Mode::Full, &env).is_err());
    assert!(sdk::truthy(Some("1".into())) && !sdk::truthy(Some("0".into())));
    assert!(!sdk::truthy(None) && !sdk::truthy(Some("false".into())));
}

#[cfg(not(feature = "tensorrt"))]
#[test]
fn inspect_without_the_feature_says_how_to_get_it() {
    let dir = tempfile::tempdir().unwrap();
    let engine = dir.path().join("llm.engine");
    std::fs::write(&engine, b"not really an engine").unwrap();
    let out = assert_cmd::Command::cargo_bin("trtbench")
        .unwrap()
        .args(["inspect", engine.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("not compiled in") && err.contains("--features tensorrt"),
        "{err}"
    );
}

#[test]
fn inspect_missing_file_is_a_usage_error() {
    let out = assert_cmd::Command::cargo_bin("trtbench")
        .unwrap()
        .args(["inspect", "/nonexistent/x.engine"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("/nonexistent/x.engine"), "{err}");
}

#[cfg(not(feature = "tensorrt"))]
#[test]
fn opening_an_edge_llm_engine_without_the_feature() {
    // A real manifest for an Edge-LLM directory, made by the library from a config.json
    // fixture (tests/fixtures/edgellm/README.md says where it comes from).
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        "tests/fixtures/edgellm/qwen3-0.6b-config.json",
        dir.path().join("config.json"),
    )
    .unwrap();
    for f in ["llm.engine", "embedding.safetensors", "tokenizer.json"] {
        std::fs::write(dir.path().join(f), b"x").unwrap();
    }
    let m = trtbench::backends::trt::manifest_from_engine_dir(dir.path(), "q", "fp16").unwrap();
    m.save(dir.path()).unwrap();
    let err = trtbench::backends::open(dir.path())
        .err()
        .expect("must fail");
    assert!(matches!(
        err,
        trtbench::Error::NotCompiled {
            backend: "tensorrt",
            feature: "tensorrt"
        }
    ));
}
