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

/// The double's fixture engine (tests/fixtures/edgellm-double) copied into `<temp>/name`.
pub(crate) fn fixture_engine_copy(name: &str) -> (tempfile::TempDir, std::path::PathBuf) {
    let t = tempfile::tempdir().unwrap();
    let dir = t.path().join(name);
    std::fs::create_dir(&dir).unwrap();
    for e in std::fs::read_dir("tests/fixtures/edgellm-double").unwrap() {
        let p = e.unwrap().path();
        std::fs::copy(&p, dir.join(p.file_name().unwrap())).unwrap();
    }
    (t, dir)
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

/// `trtbench doctor` on this machine: without the feature it blocks and says how to build;
/// with it (against the double, whose libraries the test script puts on the search path) it
/// finds libnvinfer 11, libcudart 13, the plugin and the device, and exits 0.
#[test]
fn doctor_says_what_blocks() {
    let out = assert_cmd::Command::cargo_bin("trtbench")
        .unwrap()
        .args(["doctor", "--json"])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let check = |name: &str| {
        v["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == name)
            .unwrap_or_else(|| panic!("{name}: {v}"))
            .clone()
    };
    if cfg!(feature = "tensorrt") {
        assert_eq!(out.status.code(), Some(0), "{v}");
        assert!(check("libnvinfer (TensorRT)")["detail"]
            .as_str()
            .unwrap()
            .contains("version 11"));
        assert!(check("libcudart (CUDA runtime)")["detail"]
            .as_str()
            .unwrap()
            .contains("version 13"));
        assert_eq!(check("device")["status"], "ok", "{v}");
        assert!(check("device")["detail"].as_str().unwrap().contains("8.7"));
    } else {
        assert_eq!(out.status.code(), Some(1), "{v}");
        let f = check("tensorrt feature");
        assert_eq!(f["status"], "block");
        assert!(f["detail"]
            .as_str()
            .unwrap()
            .contains("--features tensorrt"));
    }
    // An empty library search path blocks on every library, whatever the build.
    let empty = tempfile::tempdir().unwrap();
    let out = assert_cmd::Command::cargo_bin("trtbench")
        .unwrap()
        .args(["doctor", "--lib-dir"])
        .arg(empty.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("BLOCK libnvinfer") && text.contains("BLOCK libcudart"),
        "{text}"
    );
}

/// scripts/gpu-smoke.sh up to where hardware is needed: the plan it would run.
#[test]
fn gpu_smoke_plan() {
    let out = std::process::Command::new("scripts/gpu-smoke.sh")
        .args(["--dry-run", "--out", "/tmp/smoke-plan"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    let steps: Vec<&str> = text
        .lines()
        .filter(|l| l.trim_start().starts_with(|c: char| c.is_ascii_digit()))
        .collect();
    assert_eq!(steps.len(), 8, "{text}");
    assert!(steps[0].contains("--features tensorrt"));
    for q in ["int4_awq", "fp16"] {
        assert!(
            steps
                .iter()
                .any(|s| s.contains("build --backend tensorrt")
                    && s.contains(&format!("--quant {q}"))),
            "{text}"
        );
    }
    assert!(steps[6].contains("sweep") && steps[6].contains("--batch 1,2,4"));
    assert!(steps[6].contains("--cuda-graphs on,off"));
    assert!(steps[7].contains("report") && steps[7].contains("--html"));
    let bad = std::process::Command::new("scripts/gpu-smoke.sh")
        .arg("--bogus")
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
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
    for f in [
        "llm.engine",
        "embedding.safetensors",
        "tokenizer.json",
        "processed_chat_template.json",
    ] {
        std::fs::write(dir.path().join(f), b"x").unwrap();
    }
    // As Edge-LLM's tools leave it (no trtbench.json): the manifest is derived, then the
    // backend says which feature and which command.
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
    assert!(err
        .to_string()
        .contains("cargo build --release --features tensorrt"));
    let m = trtbench::backends::trt::manifest_from_engine_dir(dir.path(), "q", "fp16").unwrap();
    m.save(dir.path()).unwrap();
    assert!(trtbench::backends::open(dir.path()).is_err());
}

/// `trtbench kv` on an Edge-LLM engine directory without trtbench.json: the KV the engine
/// allocates (pool pages × 128 tokens, its int8 dtype), no feature needed.
#[test]
fn kv_reads_a_bare_edge_llm_dir() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string("tests/fixtures/edgellm-double/config.json").unwrap(),
    )
    .unwrap();
    cfg["kv_cache_dtype"] = "int8".into();
    std::fs::write(dir.path().join("config.json"), cfg.to_string()).unwrap();
    for f in [
        "llm.engine",
        "embedding.safetensors",
        "tokenizer.json",
        "processed_chat_template.json",
    ] {
        std::fs::copy(
            Path::new("tests/fixtures/edgellm-double").join(f),
            dir.path().join(f),
        )
        .unwrap();
    }
    let out = assert_cmd::Command::cargo_bin("trtbench")
        .unwrap()
        .args([
            "kv", "--json", "--budget", "1GiB", "--seq", "128", "--engine",
        ])
        .arg(dir.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    // 2 layers × 2 (K,V) × 4 pages × 128 tokens × 2 KV heads × head dim 16 × 1 byte.
    assert_eq!(
        v["engine_kv"]["kv_allocated_bytes"],
        2 * 2 * 4 * 128 * 2 * 16
    );
    assert_eq!(v["engine_kv"]["kv_dtype"], "int8");
    assert_eq!(v["engine_kv"]["pool_pages"], 4);
    assert_eq!(v["engine_kv"]["pool_tokens"], 512);
    assert!(!dir.path().join("trtbench.json").exists());
}

#[test]
fn archs_and_versions_from_an_edge_llm_build() {
    let t = tempfile::tempdir().unwrap();
    let b = t.path();
    std::fs::write(
        b.join("CMakeCache.txt"),
        "EMBEDDED_TARGET:STRING=jetson-orin\nTRT_PACKAGE_DIR:PATH=/usr\n",
    )
    .unwrap();
    touch(&b.join("CMakeFiles/3.22.1/CMakeCUDACompiler.cmake"));
    std::fs::write(
        b.join("CMakeFiles/3.22.1/CMakeCUDACompiler.cmake"),
        "set(CMAKE_CUDA_COMPILER \"/usr/local/cuda/bin/nvcc\")\nset(CMAKE_CUDA_COMPILER_VERSION \"12.6.85\")\n",
    )
    .unwrap();
    let info = sdk::edge_llm_build_info(b);
    assert_eq!(info.cuda_version.as_deref(), Some("12.6.85"));
    assert_eq!(sdk::edge_llm_archs(&info).as_deref(), Some("87"));
    let thor = sdk::EdgeLlmBuildInfo {
        embedded_target: Some("jetson-thor".into()),
        ..info.clone()
    };
    assert_eq!(sdk::edge_llm_archs(&thor).as_deref(), Some("110a"));
    let x86 = sdk::EdgeLlmBuildInfo {
        embedded_target: None,
        cuda_version: Some("13.0.48".into()),
        ..info.clone()
    };
    assert_eq!(
        sdk::edge_llm_archs(&x86).as_deref(),
        Some("80;86;89;100a;120")
    );
    assert_eq!(sdk::edge_llm_archs(&sdk::EdgeLlmBuildInfo::default()), None);
    let old_ctk = sdk::EdgeLlmBuildInfo {
        cuda_ctk_version: Some("12.6".into()),
        ..x86.clone()
    };
    assert_eq!(sdk::edge_llm_archs(&old_ctk).as_deref(), Some("80;86;89"));

    // x86: CMake caches nvcc's default (75 for CUDA 13) and Edge-LLM's CMakeLists overrides it
    // with a normal variable; the archs are those of the compile flags, not the cache.
    let x = tempfile::tempdir().unwrap();
    std::fs::write(
        x.path().join("CMakeCache.txt"),
        "CMAKE_CUDA_ARCHITECTURES:STRING=75\nTRT_PACKAGE_DIR:PATH=/opt/trt\n",
    )
    .unwrap();
    let flags = x.path().join("cpp/CMakeFiles/edgellmCore.dir/flags.make");
    touch(&flags);
    std::fs::write(
        &flags,
        "CUDA_FLAGS = -O3 --generate-code=arch=compute_80,code=[compute_80,sm_80] \
         --generate-code=arch=compute_86,code=[compute_86,sm_86] \
         --generate-code=arch=compute_89,code=[compute_89,sm_89] \
         --generate-code=arch=compute_100a,code=[compute_100a,sm_100a] \
         --generate-code=arch=compute_120,code=[compute_120,sm_120] -Xcompiler=-fPIC\n",
    )
    .unwrap();
    let info = sdk::edge_llm_build_info(x.path());
    assert_eq!(
        sdk::edge_llm_archs(&info).as_deref(),
        Some("80;86;89;100a;120")
    );
    assert_eq!(
        sdk::archs_from_nvcc_flags("-gencode arch=compute_87,code=sm_87 -x cu").as_deref(),
        Some("87-real")
    );
    assert_eq!(
        sdk::archs_from_nvcc_flags("--generate-code=arch=compute_110a,code=[compute_110a]")
            .as_deref(),
        Some("110a-virtual")
    );
    assert_eq!(sdk::archs_from_nvcc_flags("-O3 -std=c++17"), None);
    assert_eq!(
        sdk::edge_llm_header_version(
            "namespace version\n{\ninline constexpr char const* kRUNTIME_VERSION = \"0.10.0\";\n}\n"
        )
        .as_deref(),
        Some("0.10.0")
    );
    assert_eq!(sdk::edge_llm_header_version("// nothing\n"), None);

    let trt11 = "#define TRT_MAJOR_ENTERPRISE 11\n#define TRT_MINOR_ENTERPRISE 4\n";
    assert_eq!(sdk::trt_header_version(trt11), Some((11, 4)));
    assert_eq!(
        sdk::cudart_header_version("#define CUDART_VERSION 13050\n"),
        Some((13, 5))
    );
    let v = |t, c| sdk::Versions {
        tensorrt: t,
        cuda: c,
    };
    let jp6 = v(Some((10, 3)), Some((12, 6)));
    assert!(sdk::check_versions(jp6, jp6).unwrap().is_empty());
    let e = sdk::check_versions(v(Some((11, 4)), Some((12, 6))), jp6).unwrap_err();
    assert!(
        e.contains("TensorRT 11.4") && e.contains("TensorRT 10.3"),
        "{e}"
    );
    let w = sdk::check_versions(v(Some((10, 3)), None), jp6).unwrap();
    assert!(w[0].contains("CUDA version not checked"), "{w:?}");
}

/// The Edge-LLM backend end to end against the CPU double (tests/trt_double/, built and
/// pointed at by scripts/test-trt-double.sh). Skipped unless the linked runtime is the double.
#[cfg(feature = "tensorrt")]
pub(crate) mod double {
    use std::path::{Path, PathBuf};
    use std::sync::{Mutex, MutexGuard};
    use std::time::Duration;

    use trtbench::engine::{Engine, Request, SessionConfig, Token};
    use trtbench::Error;

    /// The double reads its knobs (TRTBENCH_DOUBLE_*) from the process environment: every
    /// test that opens a double engine, in this file or another, holds this one lock.
    static ENV: Mutex<()> = Mutex::new(());

    pub(crate) fn lock() -> MutexGuard<'static, ()> {
        ENV.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn is_double() -> bool {
        let v = trtbench::backends::trt::runtime_versions().unwrap();
        let yes = v["edge_llm"].ends_with("+trtbench-double");
        if !yes {
            eprintln!(
                "skipped: the linked Edge-LLM is {} (not the CPU double)",
                v["edge_llm"]
            );
        }
        yes
    }

    fn engine_dir() -> (tempfile::TempDir, PathBuf) {
        let (t, dir) = super::fixture_engine_copy("toy");
        let m = trtbench::backends::trt::manifest_from_engine_dir(&dir, "toy", "fp16").unwrap();
        m.save(&dir).unwrap();
        (t, dir)
    }

    fn open(dir: &Path) -> Box<dyn Engine> {
        trtbench::backends::open(dir).unwrap_or_else(|e| panic!("open: {e}"))
    }

    pub(crate) fn prompts(engine: &dyn Engine, batch: usize, isl: usize) -> Vec<Vec<Token>> {
        (0..batch)
            .map(|b| {
                let text: Vec<String> = (0..isl)
                    .map(|i| format!("w{}", (b * 5 + i) % 63 + 1))
                    .collect();
                let toks = engine.tokenize(&text.join(" ")).unwrap();
                assert_eq!(toks.len(), isl);
                toks
            })
            .collect()
    }

    fn ms(notes: &std::collections::BTreeMap<String, String>, key: &str) -> f64 {
        notes[key]
            .parse()
            .unwrap_or_else(|_| panic!("{key} = {}", notes[key]))
    }

    #[test]
    fn batches_with_and_without_cuda_graphs() {
        let _g = lock();
        if !is_double() {
            return;
        }
        let (_t, dir) = engine_dir();
        let engine = open(&dir);
        assert!(engine.backend_version().contains("+trtbench-double"));
        let (isl, osl) = (8usize, 5u32);
        let mut step_ms = [0.0f64; 2];
        for graphs in [false, true] {
            for batch in 1..=4u32 {
                let cfg = SessionConfig {
                    cuda_graphs: graphs,
                    ..SessionConfig::new(batch, 64)
                };
                let mut s = engine.session(&cfg).unwrap();
                let notes = s.setup_notes();
                assert_eq!(notes["cuda_graphs"], if graphs { "on" } else { "off" });
                // The double reserves exactly weights + the KV pool from config.json.
                let kv: u64 = notes["kv_formula_bytes"].parse().unwrap();
                assert_eq!(kv, 2 * 2 * 4 * 128 * 2 * 16 * 2);
                let measured: u64 = notes["memory_measured_bytes"].parse().unwrap();
                assert!(measured >= kv, "{notes:?}");
                assert!(notes["memory_check"].starts_with("ok"), "{notes:?}");

                let p = prompts(engine.as_ref(), batch as usize, isl);
                let mut events = Vec::new();
                let g = s
                    .generate(
                        &Request {
                            prompts: &p,
                            output_len: osl,
                        },
                        &mut |e| events.push(e),
                    )
                    .unwrap();
                // Deterministic tokens: (input length + 7 × sequence + step) mod vocab.
                for (b, toks) in g.tokens.iter().enumerate() {
                    let want: Vec<Token> = (0..osl as usize)
                        .map(|i| ((isl + 7 * b + i) % 64) as Token)
                        .collect();
                    assert_eq!(toks, &want, "batch {batch} seq {b}");
                }
                assert_eq!(events.len(), batch as usize * osl as usize);
                // Host wall clock: TTFT covers tokenization (1 ms) + prefill (6 ms); each ITL a
                // device step (4 ms, 1 ms with graphs), all but the first also 1 ms of host
                // work (the double does it after each callback); E2E everything.
                let t = &g.times;
                assert_eq!(t.clock, trtbench::record::Clock::HostMonotonic);
                assert!(t.ttft >= Duration::from_millis(7), "{t:?}");
                assert_eq!(t.steps.len(), osl as usize - 1);
                let step = Duration::from_millis(if graphs { 1 } else { 4 });
                assert!(t.steps.iter().all(|d| *d >= step), "{t:?}");
                let host = Duration::from_millis(1);
                assert!(t.steps[1..].iter().all(|d| *d >= step + host), "{t:?}");
                assert!(t.e2e >= t.ttft + t.steps.iter().sum::<Duration>(), "{t:?}");
                let notes = s.setup_notes();
                assert!(ms(&notes, "device_prefill_ms") >= 6.0, "{notes:?}");
                // Host overhead = E2E − device stages ≥ 1 ms tokenization + 1 ms per step.
                assert!(ms(&notes, "host_overhead_ms") >= 5.0, "{notes:?}");
                assert!(ms(&notes, "device_prefill_ms") < t.ttft.as_secs_f64() * 1e3);
                step_ms[graphs as usize] += ms(&notes, "device_step_ms");
                // The same device times travel with the generation, for the runner.
                let d = g.device.as_ref().expect("device stage times");
                assert!(d.prefill >= Duration::from_millis(6), "{d:?}");
                assert_eq!(d.steps.len(), osl as usize - 1);
                assert!(d.steps.iter().all(|s| *s >= step), "{d:?}");
                let sum = trtbench::engine::DeviceTimes::summaries(std::slice::from_ref(&g));
                assert!(sum["host_overhead_ms"].mean >= 5.0, "{sum:?}");
                assert_eq!(notes["kv_allocated_bytes"], notes["kv_formula_bytes"]);
                assert_eq!(notes["kv_pool_tokens"], "512");
            }
        }
        // Captured graphs make the double's steps 1 ms instead of 4.
        assert!(step_ms[1] < step_ms[0], "{step_ms:?}");
    }

    /// The double's process-wide profiling switch (a test-only symbol of the double, looked
    /// up at run time so that builds against the real Edge-LLM still link).
    fn double_profiling_enabled() -> bool {
        // SAFETY: dlsym with RTLD_DEFAULT and a NUL-terminated name only reads the loaded
        // objects' symbol tables.
        let f = unsafe {
            libc::dlsym(
                libc::RTLD_DEFAULT,
                c"trtbench_double_profiling_enabled".as_ptr(),
            )
        };
        assert!(!f.is_null(), "the double's profiling probe is not loaded");
        // SAFETY: the double defines it as `extern "C" int trtbench_double_profiling_enabled()`.
        let f: extern "C" fn() -> i32 = unsafe { std::mem::transmute(f) };
        f() != 0
    }

    /// Edge-LLM 0.10 numbers token callbacks by `generationRound`, which is 0 for the prefill
    /// token and for the first decode token (the double does the same): every token must
    /// still get its own time, for one sequence and for a batch, and osl 2 is the smallest
    /// case where a round-keyed shim loses a token.
    #[test]
    fn every_token_gets_a_time_although_rounds_repeat() {
        let _g = lock();
        if !is_double() {
            return;
        }
        let (_t, dir) = engine_dir();
        let engine = open(&dir);
        for (batch, osl) in [(1usize, 2u32), (3, 6)] {
            let cfg = SessionConfig {
                cuda_graphs: false,
                ..SessionConfig::new(batch as u32, 64)
            };
            let mut s = engine.session(&cfg).unwrap();
            let p = prompts(engine.as_ref(), batch, 4);
            let g = s
                .generate(
                    &Request {
                        prompts: &p,
                        output_len: osl,
                    },
                    &mut |_| {},
                )
                .unwrap_or_else(|e| panic!("batch {batch} osl {osl}: {e}"));
            assert_eq!(g.times.steps.len(), osl as usize - 1);
            // Each decode token comes after at least one 4 ms device step.
            assert!(
                g.times.steps.iter().all(|d| *d >= Duration::from_millis(4)),
                "{:?}",
                g.times
            );
        }
    }

    /// A Llama-style tokenizer (a `bos_token` in tokenizer_config.json): Edge-LLM 0.10 encodes
    /// the request with `addBos = false`, so the prompt is the text's tokens alone and every
    /// point keeps its exact input length.
    #[test]
    fn a_bos_tokenizer_gets_no_bos_from_edge_llm() {
        let _g = lock();
        if !is_double() {
            return;
        }
        let (_t, dir) = engine_dir();
        std::fs::write(
            dir.join("tokenizer_config.json"),
            r#"{"tokenizer_class": "LlamaTokenizerFast", "bos_token": "<s>", "add_bos_token": true,
                "eos_token": "</s>", "unk_token": "[UNK]"}"#,
        )
        .unwrap();
        let m = trtbench::backends::trt::manifest_from_engine_dir(&dir, "toy", "fp16").unwrap();
        m.save(&dir).unwrap();
        let engine = open(&dir);
        let mut s = engine.session(&SessionConfig::new(2, 64)).unwrap();
        let p = prompts(engine.as_ref(), 2, 8);
        // osl 1: nothing here depends on how token rounds are numbered.
        let g = s
            .generate(
                &Request {
                    prompts: &p,
                    output_len: 1,
                },
                &mut |_| {},
            )
            .unwrap_or_else(|e| panic!("{e}"));
        // The double's first output token is the input length it counted.
        assert_eq!(g.tokens[0][0], 8);
    }

    #[test]
    fn failed_capture_is_recorded_not_fatal() {
        let _g = lock();
        if !is_double() {
            return;
        }
        let (_t, dir) = engine_dir();
        let engine = open(&dir);
        std::env::set_var("TRTBENCH_DOUBLE_FAIL", "graph_capture");
        let s = engine.session(&SessionConfig::new(1, 64));
        std::env::remove_var("TRTBENCH_DOUBLE_FAIL");
        let notes = s.unwrap().setup_notes();
        assert!(
            notes["cuda_graphs"].starts_with("failed: captureDecodingCUDAGraph returned false"),
            "{notes:?}"
        );
    }

    fn engine_error(op_want: &str, e: Error, needle: &str) {
        match e {
            Error::Engine {
                backend,
                op,
                message,
            } => {
                assert_eq!((backend, op), ("edge-llm", op_want), "{message}");
                assert!(message.contains(needle), "{message}");
            }
            other => panic!("expected an Engine error from {op_want}, got {other:?}"),
        }
    }

    #[test]
    fn cpp_errors_reach_rust_typed() {
        let _g = lock();
        if !is_double() {
            return;
        }
        let (_t, dir) = engine_dir();
        let engine = open(&dir);
        let cfg = SessionConfig::new(2, 64);
        let with_fail = |what: &str, f: &mut dyn FnMut() -> Result<(), Error>| {
            std::env::set_var("TRTBENCH_DOUBLE_FAIL", what);
            let r = f();
            std::env::remove_var("TRTBENCH_DOUBLE_FAIL");
            r.expect_err(what)
        };
        // The constructor throws std::runtime_error.
        let e = with_fail("load", &mut || engine.session(&cfg).map(|_| ()));
        engine_error("open runtime", e, "injected load failure");

        let p = prompts(engine.as_ref(), 2, 8);
        let req = Request {
            prompts: &p,
            output_len: 3,
        };
        let mut s = engine.session(&cfg).unwrap();
        // handleRequest returns false; then throws.
        let e = with_fail("generate", &mut || {
            s.generate(&req, &mut |_| {}).map(|_| ())
        });
        engine_error("handleRequest", e, "returned false");
        let e = with_fail("generate_throw", &mut || {
            s.generate(&req, &mut |_| {}).map(|_| ())
        });
        engine_error("handleRequest", e, "injected CUDA failure");
        // However handleRequest ended, Edge-LLM's process-wide profiling is off again.
        assert!(
            !double_profiling_enabled(),
            "profiling left on after a throw"
        );
        // The runtime's own tokenization disagrees with the prompt's length.
        let e = with_fail("retokenize", &mut || {
            s.generate(&req, &mut |_| {}).map(|_| ())
        });
        engine_error("tokenize", e, "but the runtime counted");
        // The session still works after every failure.
        assert_eq!(s.generate(&req, &mut |_| {}).unwrap().tokens[1].len(), 3);

        // Edge-LLM 0.10 loads embedding.safetensors at construction: without it the runtime
        // does not construct.
        std::fs::rename(dir.join("embedding.safetensors"), dir.join("moved")).unwrap();
        let e = engine.session(&cfg).err().expect("no embedding must fail");
        std::fs::rename(dir.join("moved"), dir.join("embedding.safetensors")).unwrap();
        engine_error("open runtime", e, "embedding.safetensors");
        // A chat template without the `user` role (changed after trtbench checked it): the
        // message is dropped, the request tokenizes to nothing, handleRequest returns false.
        std::fs::write(
            dir.join("processed_chat_template.json"),
            r#"{"roles": {"system": {"prefix": "", "suffix": ""}}, "generation_prompt": ""}"#,
        )
        .unwrap();
        let mut no_user = engine.session(&cfg).unwrap();
        let e = no_user.generate(&req, &mut |_| {}).unwrap_err();
        engine_error("handleRequest", e, "returned false");

        // Over the engine's max batch: refused before the runtime.
        let five = prompts(engine.as_ref(), 5, 8);
        let e = s
            .generate(
                &Request {
                    prompts: &five,
                    output_len: 2,
                },
                &mut |_| {},
            )
            .unwrap_err();
        assert!(matches!(e, Error::Capacity { .. }), "{e:?}");
    }

    #[test]
    fn driver_and_plugin_failures() {
        let _g = lock();
        if !is_double() {
            return;
        }
        let (_t, dir) = engine_dir();
        // A driver that sees no GPU (a container without the NVIDIA runtime).
        std::env::set_var("TRTBENCH_DOUBLE_FAIL", "no_device");
        let e = trtbench::backends::open(&dir)
            .err()
            .expect("no GPU must fail");
        std::env::remove_var("TRTBENCH_DOUBLE_FAIL");
        assert!(
            matches!(
                &e,
                Error::Engine {
                    backend: "cuda",
                    ..
                }
            ) && e.to_string().contains("CUDA_ERROR_NO_DEVICE"),
            "{e}"
        );

        // A plugin path that is not a plugin library: dlopen fails inside the shim.
        std::env::set_var("TRTBENCH_EDGE_LLM_PLUGIN", dir.join("config.json"));
        let engine = open(&dir);
        std::env::remove_var("TRTBENCH_EDGE_LLM_PLUGIN");
        let e = engine.session(&SessionConfig::new(1, 64)).err().unwrap();
        engine_error("open runtime", e, "cannot load the Edge-LLM plugin library");
        // One engine's plugin must not leak into the next one the process opens.
        assert!(std::env::var_os("EDGELLM_PLUGIN_PATH").is_none());
        assert!(open(&dir).session(&SessionConfig::new(1, 64)).is_ok());
    }

    /// An engine directory as Edge-LLM's tools leave it (no trtbench.json) opens, and prompts
    /// cut from random token windows reach the runtime at exactly their length, for many
    /// seeds (the runtime double counts the words of the text it is given).
    #[test]
    fn bare_engine_dir_and_exact_prompts_for_every_seed() {
        let _g = lock();
        if !is_double() {
            return;
        }
        let (_t, dir) = super::fixture_engine_copy("toy-fp16");
        let engine = open(&dir);
        assert_eq!(engine.manifest().quant, "fp16");
        let mut s = engine.session(&SessionConfig::new(2, 64)).unwrap();
        let mut x: u64 = 7;
        for seed in 0..40u64 {
            let len = 1 + (seed as usize * 13) % 40;
            let p: Vec<Vec<Token>> = (0..2)
                .map(|_| {
                    (0..len)
                        .map(|_| {
                            x = x.wrapping_mul(6364136223846793005).wrapping_add(seed | 1);
                            ((x >> 33) % 64) as Token
                        })
                        .collect()
                })
                .collect();
            let g = s
                .generate(
                    &Request {
                        prompts: &p,
                        output_len: 2,
                    },
                    &mut |_| {},
                )
                .unwrap_or_else(|e| panic!("seed {seed}: {e}"));
            // Output tokens start at the input length the runtime counted.
            assert_eq!(g.tokens[0][0], (len % 64) as Token, "seed {seed}");
        }
        // Without the chat template the engine does not open, and the error names the file.
        std::fs::remove_file(dir.join("processed_chat_template.json")).unwrap();
        let e = trtbench::backends::open(&dir).err().unwrap().to_string();
        assert!(e.contains("processed_chat_template.json"), "{e}");
    }

    /// Sets double knobs for one test and puts everything back (also the selected device),
    /// even when an assertion fails.
    struct Knobs(&'static [&'static str]);

    impl Knobs {
        fn set(vars: &'static [(&'static str, &'static str)]) -> Knobs {
            static NAMES: [&str; 4] = [
                "TRTBENCH_DOUBLE_DEVICES",
                "TRTBENCH_DOUBLE_TOTAL_KIB",
                "TRTBENCH_DOUBLE_SM",
                "TRTBENCH_DOUBLE_FAIL",
            ];
            for (k, v) in vars {
                assert!(NAMES.contains(k), "{k}");
                std::env::set_var(k, v);
            }
            Knobs(&NAMES)
        }
    }

    impl Drop for Knobs {
        fn drop(&mut self) {
            for k in self.0 {
                std::env::remove_var(k);
            }
            trtbench::backends::trt::select_device(0);
        }
    }

    /// Two devices: 170 KiB on device 0, 1 GiB on device 1. A session of the toy engine needs
    /// 161 KiB (112 B of files + 128 KiB KV pool + 33 KiB activations), so only device 1 holds
    /// it at the default 90 %; and the free-memory drop measured on device 1 matches only if
    /// the runtime (after the shim's cudaSetDevice) allocated there. Ignoring the index on
    /// either side fails one of the two.
    #[test]
    fn device_index_reaches_cuda_and_the_runtime() {
        let _g = lock();
        if !is_double() {
            return;
        }
        let (_t, dir) = engine_dir();
        let _k = Knobs::set(&[
            ("TRTBENCH_DOUBLE_DEVICES", "2"),
            ("TRTBENCH_DOUBLE_TOTAL_KIB", "170,1048576"),
        ]);
        trtbench::backends::trt::select_device(1);
        let engine = open(&dir);
        let s = engine
            .session(&SessionConfig::new(1, 64))
            .unwrap_or_else(|e| panic!("device 1: {e}"));
        let notes = s.setup_notes();
        assert_eq!(notes["cuda_device"], "1");
        let measured: u64 = notes["memory_measured_bytes"].parse().unwrap();
        assert!(measured >= 131072, "{notes:?}");
        assert!(notes["memory_check"].starts_with("ok"), "{notes:?}");
        drop(s);
        drop(engine);

        // Device 0 is too small: refused before the runtime allocates, with the figures.
        trtbench::backends::trt::select_device(0);
        let engine = open(&dir);
        let e = engine.session(&SessionConfig::new(1, 64)).err().unwrap();
        assert!(matches!(e, Error::Capacity { .. }), "{e:?}");
        let msg = e.to_string();
        for needle in [
            "CUDA device 0",
            "KV pool 128.0 KiB",
            "activations >= 33.0 KiB",
            "90%",
            "170.0 KiB free",
            "--mem-fraction",
        ] {
            assert!(msg.contains(needle), "{needle} not in {msg}");
        }
        // A raised --mem-fraction lets it try: 161 KiB of 170 KiB.
        let cfg = SessionConfig {
            mem_fraction: 1.0,
            ..SessionConfig::new(1, 64)
        };
        let s = engine.session(&cfg).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(s.setup_notes()["cuda_device"], "0");
        drop(s);
        drop(engine);

        // A device that does not exist is bad input naming the flag.
        trtbench::backends::trt::select_device(2);
        let e = trtbench::backends::open(&dir).err().unwrap();
        let msg = e.to_string();
        assert!(
            e.is_usage() && msg.contains("--device") && msg.contains("CUDA sees 2 device(s)"),
            "{msg}"
        );
    }

    /// The same through the CLI: `--device` reaches the run and the results' environment; the
    /// default device refuses the point as skipped (exit 2, saved with its reason) until
    /// `--mem-fraction` is raised.
    #[test]
    fn device_and_mem_fraction_through_the_cli() {
        let _g = lock();
        if !is_double() {
            return;
        }
        let (t, dir) = engine_dir();
        let run = |name: &str, extra: &[&str]| {
            let out = t.path().join(name);
            let o = assert_cmd::Command::cargo_bin("trtbench")
                .unwrap()
                .env("TRTBENCH_DOUBLE_DEVICES", "2")
                .env("TRTBENCH_DOUBLE_TOTAL_KIB", "170,1048576")
                .args(["run", "--batch", "1", "--isl", "8", "--osl", "4"])
                .args(extra)
                .args(["--warmup", "0", "--runs", "1", "--engine"])
                .arg(&dir)
                .arg("--text")
                .arg("tests/fixtures/edgellm-double/corpus.txt")
                .arg("--out")
                .arg(&out)
                .output()
                .unwrap();
            let json: serde_json::Value = std::fs::read(&out)
                .map(|b| serde_json::from_slice(&b).unwrap())
                .unwrap_or_default();
            (o, json)
        };
        let (o, r) = run("dev1.json", &["--device", "1"]);
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(o.status.success(), "{err}");

        assert_eq!(r["environment"]["cuda_device"], "1", "{}", r["environment"]);
        assert_eq!(r["points"][0]["status"], "ok");
        // Edge-LLM's own figures beside ours: osl 4 at batch 1 is 4 tokens (the prefill token
        // included) over 3 decode stages of at least 1 ms each (the double's captured-graph
        // step), so at most 4 tokens / 3 ms; prefill is 8 tokens over the one prefill stage.
        let s = &r["points"][0]["summary"];
        let gen = s["edgellm_generation_tok_per_s"]["mean"].as_f64().unwrap();
        assert!(gen > 0.0 && gen <= 4.0 / 0.003, "{s}");
        let pre = s["edgellm_prefill_tok_per_s"]["mean"].as_f64().unwrap();
        let pre_ms = s["edgellm_prefill_ms"]["mean"].as_f64().unwrap();
        assert!((pre - 8.0 / (pre_ms / 1e3)).abs() < 1e-6 * pre, "{s}");
        let notes = &r["points"][0]["notes"];
        assert_eq!(notes["edge_llm_version"], "0.10.0+trtbench-double");
        // GPU memory by Edge-LLM's discrete-GPU method: at least what construction took.
        let gpu: u64 = notes["edgellm_gpu_memory_bytes"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap();
        let built: u64 = notes["memory_measured_bytes"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!(gpu >= built && built > 0, "{notes}");
        assert!(notes["edgellm_gpu_memory_method"]
            .as_str()
            .unwrap()
            .contains("every 50 ms"));

        let (o, r) = run("dev0.json", &[]);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{err}");
        assert!(
            err.contains("CUDA device 0") && err.contains("--mem-fraction"),
            "{err}"
        );
        assert_eq!(r["points"][0]["status"], "skipped", "{r}");
        assert!(
            r["points"][0]["error"]
                .as_str()
                .unwrap()
                .contains("activations"),
            "{r}"
        );

        let (o, r) = run("dev0-all.json", &["--mem-fraction", "1.0"]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        assert_eq!(r["environment"]["cuda_device"], "0");
        assert_eq!(r["points"][0]["status"], "ok");

        let (o, _) = run("dev5.json", &["--device", "5"]);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{err}");
        assert!(
            err.contains("--device") && err.contains("CUDA sees 2"),
            "{err}"
        );
    }

    /// What a profiler sees: the shim's NVTX ranges, recorded by a test NVTX tool that
    /// NVTX3's loader attaches from NVTX_INJECTION64_PATH as it attaches Nsight Systems
    /// (tests/trt_double/src/nvtx_recorder.cpp). Each warmup and measured generation is
    /// one range named after it, holding "prefill" then "decode", in the order they ran.
    #[test]
    fn nvtx_ranges_mark_warmup_runs_prefill_and_decode_in_order() {
        let _g = lock();
        if !is_double() {
            return;
        }
        let build = std::env::var("TRTBENCH_EDGE_LLM_BUILD").expect(
            "TRTBENCH_EDGE_LLM_BUILD names the double's build (scripts/test-trt-double.sh)",
        );
        let recorder = Path::new(&build).join("libtrtbench_nvtx_recorder.so");
        assert!(recorder.is_file(), "{} is not built", recorder.display());
        let (t, dir) = engine_dir();
        let log = t.path().join("nvtx.log");
        let o = assert_cmd::Command::cargo_bin("trtbench")
            .unwrap()
            .env("NVTX_INJECTION64_PATH", &recorder)
            .env("TRTBENCH_NVTX_LOG", &log)
            .args(["run", "--batch", "1", "--isl", "8", "--osl", "3"])
            .args(["--warmup", "1", "--runs", "2", "--engine"])
            .arg(&dir)
            .arg("--text")
            .arg("tests/fixtures/edgellm-double/corpus.txt")
            .arg("--out")
            .arg(t.path().join("r.json"))
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let got = std::fs::read_to_string(&log).expect("the NVTX tool was attached");
        let mut want = Vec::new();
        for run in ["warmup 1/1", "run 1/2", "run 2/2"] {
            want.push(format!("push {run}"));
            for phase in ["prefill", "decode"] {
                want.extend([format!("push {phase}"), "pop".to_owned()]);
            }
            want.push("pop".to_owned());
        }
        assert_eq!(got.lines().collect::<Vec<_>>(), want);

        // A request that throws inside handleRequest still closes every range it opened.
        std::fs::remove_file(&log).unwrap();
        let o = assert_cmd::Command::cargo_bin("trtbench")
            .unwrap()
            .env("NVTX_INJECTION64_PATH", &recorder)
            .env("TRTBENCH_NVTX_LOG", &log)
            .env("TRTBENCH_DOUBLE_FAIL", "generate_throw")
            .args([
                "run", "--isl", "8", "--osl", "3", "--warmup", "0", "--runs", "1",
            ])
            .arg("--engine")
            .arg(&dir)
            .arg("--text")
            .arg("tests/fixtures/edgellm-double/corpus.txt")
            .arg("--out")
            .arg(t.path().join("fail.json"))
            .output()
            .unwrap();
        assert!(!o.status.success());
        let got = std::fs::read_to_string(&log).unwrap();
        let lines: Vec<&str> = got.lines().collect();
        assert_eq!(lines.first(), Some(&"push run 1/1"), "{got}");
        let depth = lines.iter().try_fold(0i32, |d, l| {
            let d = if l.starts_with("push") { d + 1 } else { d - 1 };
            (d >= 0).then_some(d)
        });
        assert_eq!(depth, Some(0), "unbalanced: {got}");
    }

    /// Edge-LLM 0.10 logs an INFO line to stdout on every request (EDGELLM_IGNORE_EOS): the
    /// runner keeps its logger at WARNING unless TRTBENCH_EDGE_LLM_VERBOSE asks for INFO.
    #[test]
    fn edge_llm_info_log_stays_off_stdout_unless_asked() {
        let _g = lock();
        if !is_double() {
            return;
        }
        let (t, dir) = engine_dir();
        let run = |verbose: &str| {
            let o = assert_cmd::Command::cargo_bin("trtbench")
                .unwrap()
                .env("TRTBENCH_EDGE_LLM_VERBOSE", verbose)
                .args(["run", "--batch", "1", "--isl", "8", "--osl", "1"])
                .args(["--warmup", "0", "--runs", "2", "--engine"])
                .arg(&dir)
                .arg("--text")
                .arg("tests/fixtures/edgellm-double/corpus.txt")
                .arg("--out")
                .arg(t.path().join(format!("log-{verbose}.json")))
                .output()
                .unwrap();
            assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
            String::from_utf8_lossy(&o.stdout).into_owned()
        };
        let quiet = run("0");
        assert!(!quiet.contains("[INFO]"), "{quiet}");
        let verbose = run("1");
        assert!(
            verbose.contains("[INFO] EDGELLM_IGNORE_EOS set"),
            "{verbose}"
        );
    }

    /// `build --backend tensorrt` records the compute capability of the device llm_build
    /// targets, read from the device (the double says 9.0 here); doctor on an 8.7 device
    /// refuses that engine and says what to do; and an NVFP4 build is refused on 8.7.
    #[test]
    fn build_records_the_target_arch_and_doctor_compares_it() {
        use trtbench::build::edge_llm::{build_settings, plan, EdgeQuant, Request};
        let _g = lock();
        if !is_double() {
            return;
        }
        let (t, dir) = engine_dir();
        let ckpt = t.path().join("qwen3-0.6b");
        std::fs::create_dir_all(&ckpt).unwrap();
        std::fs::write(
            ckpt.join("config.json"),
            r#"{"model_type":"qwen3","num_hidden_layers":28,"num_attention_heads":16,
                "num_key_value_heads":8,"head_dim":128,"hidden_size":1024}"#,
        )
        .unwrap();
        let mut req = Request {
            from: ckpt.clone(),
            quant: EdgeQuant::Int4Awq,
            out: Some(t.path().join("eng")),
            engines_dir: t.path().to_owned(),
            force: false,
            plan_only: true,
            max_batch: Some(1),
            max_input_len: 256,
            max_seq_len: Some(512),
            mem_budget_bytes: None,
            draft: None,
        };
        let p = {
            let _k = Knobs::set(&[("TRTBENCH_DOUBLE_SM", "9.0")]);
            plan(&req).unwrap()
        };
        assert_eq!(p.compute_capability.as_deref(), Some("9.0"));
        let settings = build_settings(&p);
        assert_eq!(settings["target_arch"], "sm_90");
        let mut m = trtbench::engine::Manifest::load(&dir).unwrap();
        m.build = Some(trtbench::engine::BuildInfo {
            tool: "test".into(),
            tool_version: "test".into(),
            wall_s: 0.0,
            steps: vec![],
            settings,
        });
        m.save(&dir).unwrap();

        let doctor = |sm: &str| {
            let o = assert_cmd::Command::cargo_bin("trtbench")
                .unwrap()
                .env("TRTBENCH_DOUBLE_SM", sm)
                .args(["doctor", "--json", "--engine"])
                .arg(&dir)
                .output()
                .unwrap();
            let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
            let device = v["checks"]
                .as_array()
                .unwrap()
                .iter()
                .find(|c| c["name"] == "device")
                .unwrap()
                .clone();
            (o.status.code(), device)
        };
        let (code, d) = doctor("8.7");
        assert_eq!(code, Some(1), "{d}");
        assert_eq!(d["status"], "block");
        let detail = d["detail"].as_str().unwrap();
        assert!(
            detail.contains("compute capability 8.7")
                && detail.contains("built for 9.0 (sm_90)")
                && detail.contains("rebuild"),
            "{detail}"
        );
        let (code, d) = doctor("9.0");
        assert_eq!(code, Some(0), "{d}");
        assert!(d["detail"].as_str().unwrap().contains("matches the engine"));

        // The double's default device is 8.7 (Orin): NVFP4 is refused before any step runs.
        req.quant = EdgeQuant::Nvfp4;
        let e = plan(&req).unwrap_err().to_string();
        assert!(e.contains("10.0") && e.contains("8.7"), "{e}");
    }

    #[test]
    fn inspect_reports_what_tensorrt_logged() {
        let _g = lock();
        if !is_double() {
            return;
        }
        let e = trtbench::backends::trt::inspect(
            Path::new("tests/fixtures/edgellm-double/llm.engine"),
            None,
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("createInferRuntime failed") && e.contains("no TensorRT runtime"),
            "{e}"
        );
    }
}
