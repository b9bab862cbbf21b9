//! Build script. Without the `tensorrt` feature it does nothing native. With it, it builds
//! the C++ shim in `cpp/` as a small shared library with CMake (C++17 + CUDA, with a
//! device-link step: Edge-LLM's static libraries use CUDA separable compilation, so linking
//! them straight into rustc's link fails with unresolved `__cudaRegisterLinkedBinary_*`),
//! compiles the cxx bridge and its thin adapter, and links the shim.
//!
//! `TRTBENCH_TRT_COMPILE_ONLY=1` compiles the raw-TensorRT part and the bridge against header
//! trees only and links nothing: it exists for `cargo check --features tensorrt` on machines
//! without a GPU (CI). A `cargo build` of a binary in that mode fails at link time.

#[path = "build_support/sdk.rs"]
#[allow(dead_code)]
mod sdk;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=build_support/sdk.rs");
    // Build scripts see the package's features as cfg; without `tensorrt` nothing native
    // is compiled.
    #[cfg(feature = "tensorrt")]
    tensorrt::build();
    #[cfg(feature = "mlperf")]
    mlperf::build();
}

/// MLPerf LoadGen (feature `mlperf`): its C++ sources, fetched and checked by
/// scripts/loadgen-src.sh (never kept in our tree), and our C shim over them
/// (`cpp/mlperf/`), compiled with `cc` as one static library.
#[cfg(feature = "mlperf")]
mod mlperf {
    use std::path::{Path, PathBuf};

    const SHIM: &[&str] = &["cpp/mlperf/loadgen_shim.h", "cpp/mlperf/loadgen_shim.cc"];
    /// LoadGen's library sources (its setup.py's list, without the Python and C bindings).
    const SOURCES: &[&str] = &[
        "early_stopping.cc",
        "issue_query_controller.cc",
        "loadgen.cc",
        "logging.cc",
        "test_settings_internal.cc",
        "utils.cc",
        "version.cc",
        "results.cc",
        "generated/version_generated.cc",
    ];

    fn source_dir() -> PathBuf {
        println!("cargo:rerun-if-env-changed=TRTBENCH_LOADGEN_SRC");
        let default =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("target/loadgen/mlcommons_loadgen-6.0.17");
        let dir = std::env::var_os("TRTBENCH_LOADGEN_SRC")
            .map(PathBuf::from)
            .unwrap_or(default);
        if !dir.join("loadgen.cc").is_file() {
            panic!(
                "\nthe `mlperf` feature needs MLPerf LoadGen's C++ sources, and {} has no \
                 loadgen.cc: run `export TRTBENCH_LOADGEN_SRC=\"$(scripts/loadgen-src.sh)\"` \
                 (downloads PyPI's mlcommons-loadgen 6.0.17 sdist and checks its sha256), \
                 then build again\n",
                dir.display()
            );
        }
        dir
    }

    pub fn build() {
        for f in SHIM {
            println!("cargo:rerun-if-changed={f}");
        }
        let src = source_dir();
        let version = std::fs::read_to_string(src.join("VERSION.txt")).unwrap_or_default();
        let mut parts = version.trim().split('.');
        let (major, minor) = (parts.next().unwrap_or("0"), parts.next().unwrap_or("0"));
        let mut b = cc::Build::new();
        b.cpp(true)
            .std("c++17")
            .include(&src)
            .define("MAJOR_VERSION", major)
            .define("MINOR_VERSION", minor)
            .warnings(false)
            .file("cpp/mlperf/loadgen_shim.cc");
        for f in SOURCES {
            let p = src.join(f);
            println!("cargo:rerun-if-changed={}", p.display());
            b.file(p);
        }
        b.compile("trtbench_loadgen");
    }
}

#[cfg(feature = "tensorrt")]
mod tensorrt {
    use super::sdk;
    use std::path::Path;

    /// Reads an environment variable and asks cargo to rerun when it changes (ort's pattern).
    fn env(name: &str) -> Option<String> {
        println!("cargo:rerun-if-env-changed={name}");
        std::env::var(name).ok()
    }

    const BRIDGE: &str = "src/backends/trt/ffi.rs";
    const CPP_FILES: &[&str] = &[
        "cpp/CMakeLists.txt",
        "cpp/bridge.h",
        "cpp/bridge.cc",
        "cpp/trt_inspect.h",
        "cpp/trt_inspect.cpp",
        "cpp/trt_logger.h",
        "cpp/cuda_device.h",
        "cpp/edgellm_runner.h",
        "cpp/edgellm_runner.cpp",
        "cpp/device_link_stub.cu",
    ];

    pub fn build() {
        println!("cargo:rerun-if-changed={BRIDGE}");
        for f in CPP_FILES {
            println!("cargo:rerun-if-changed={f}");
        }
        let compile_only = sdk::truthy(env("TRTBENCH_TRT_COMPILE_ONLY"));
        let mode = if compile_only {
            sdk::Mode::CompileOnly
        } else {
            sdk::Mode::Full
        };
        let found = match sdk::probe(mode, &env) {
            Ok(s) => s,
            Err(e) => {
                // A panic shows the whole message in cargo's output; never build silently
                // without the backend that was asked for.
                panic!("\n{e}\n");
            }
        };

        if compile_only {
            compile_only_build(&found);
        } else {
            full_build(&found);
        }
    }

    fn bridge_build() -> cc::Build {
        let mut b = cxx_build::bridge(BRIDGE);
        b.file("cpp/bridge.cc")
            .include("cpp")
            .std("c++17")
            .flag_if_supported("-Wno-deprecated-declarations");
        b
    }

    /// The architectures of the shim's device link: `TRTBENCH_CUDA_ARCHS` (or the older
    /// `TRTBENCH_CUDA_ARCHITECTURES`), else those Edge-LLM's objects were built for, else the
    /// build machine's GPU. Never CMake's `native`: it needs CMake 3.24 (JetPack 6 has 3.22)
    /// and ignores what Edge-LLM's relocatable objects contain.
    fn cuda_archs(edge_build: &Path) -> String {
        for var in ["TRTBENCH_CUDA_ARCHS", "TRTBENCH_CUDA_ARCHITECTURES"] {
            if let Some(a) = env(var).filter(|a| !a.trim().is_empty()) {
                return a;
            }
        }
        // Only files that exist: cargo reruns a build script on every build for a missing one.
        for f in [
            "CMakeCache.txt",
            "cpp/CMakeFiles/edgellmCore.dir/flags.make",
            "CMakeFiles/edgellmCore.dir/flags.make",
            "build.ninja",
        ] {
            let p = edge_build.join(f);
            if p.exists() {
                println!("cargo:rerun-if-changed={}", p.display());
            }
        }
        let info = sdk::edge_llm_build_info(edge_build);
        if let Some(a) = sdk::edge_llm_archs(&info) {
            println!(
                "cargo:warning=CUDA architectures {a} (from Edge-LLM's build in {})",
                edge_build.display()
            );
            return a;
        }
        // The device's compute capability, when a driver is there to ask.
        let smi = std::process::Command::new("nvidia-smi")
            .args(["--query-gpu=compute_cap", "--format=csv,noheader"])
            .output();
        if let Some(o) = smi.ok().filter(|o| o.status.success()) {
            let cc = String::from_utf8_lossy(&o.stdout);
            if let Some((ma, mi)) = cc.lines().next().and_then(sdk::major_minor) {
                return format!("{ma}{mi}");
            }
        }
        panic!(
            "\ncannot tell which CUDA architectures Edge-LLM was built for: {} has no \
             edgellmCore compile flags (flags.make, build.ninja), no EMBEDDED_TARGET or nvcc \
             record, and nvidia-smi gave no compute capability; set TRTBENCH_CUDA_ARCHS (87 Jetson Orin, 110a Jetson Thor, 121a DGX \
             Spark, or Edge-LLM's list, e.g. 80;86;89;100a;120)\n",
            edge_build.join("CMakeCache.txt").display()
        );
    }

    fn read(p: &Path) -> String {
        std::fs::read_to_string(p).unwrap_or_default()
    }

    /// Fails the build when TensorRT or CUDA differ from what Edge-LLM was built with.
    fn check_versions(found: &sdk::Sdk, edge_build: &Path) {
        let ours = sdk::Versions {
            tensorrt: sdk::trt_header_version(&read(&found.trt_include.join("NvInferVersion.h"))),
            cuda: sdk::cudart_header_version(&read(&found.cuda_include.join("cuda_runtime_api.h"))),
        };
        let info = sdk::edge_llm_build_info(edge_build);
        let their_trt = info.trt_package_dir.as_ref().and_then(|d| {
            [
                "include",
                "include/aarch64-linux-gnu",
                "include/x86_64-linux-gnu",
            ]
            .iter()
            .find_map(|i| sdk::trt_header_version(&read(&d.join(i).join("NvInferVersion.h"))))
        });
        let theirs = sdk::Versions {
            tensorrt: their_trt,
            cuda: info.cuda_version.as_deref().and_then(sdk::major_minor),
        };
        match sdk::check_versions(ours, theirs) {
            Ok(unchecked) => {
                for u in unchecked {
                    println!("cargo:warning={u}");
                }
            }
            Err(e) => panic!("\n{e}\n"),
        }
    }

    fn compile_only_build(found: &sdk::Sdk) {
        println!(
            "cargo:warning=TRTBENCH_TRT_COMPILE_ONLY: compiling the TensorRT shim and bridge against {} \
             and {} without linking; binaries built this way do not link",
            found.trt_include.display(),
            found.cuda_include.display()
        );
        // The raw-TensorRT part, compiled to check it against the headers; not linked.
        cc::Build::new()
            .cpp(true)
            .std("c++17")
            .file("cpp/trt_inspect.cpp")
            .include("cpp")
            .include(&found.trt_include)
            .include(&found.cuda_include)
            .flag_if_supported("-Wno-deprecated-declarations")
            .warnings_into_errors(false)
            .cargo_metadata(false)
            .compile("trtbench_trt_inspect_check");
        // The bridge and adapter need no SDK header: they only see the shim's plain headers.
        bridge_build()
            .cargo_metadata(false)
            .compile("trtbench_bridge_check");
        println!("cargo:rustc-env=TRTBENCH_EDGE_LLM_PLUGIN_DEFAULT=");
    }

    /// A cross build (Jetson from x86-64; the cmake crate sets CMAKE_SYSTEM_* then): nvcc
    /// must compile host code with the target's C++ compiler, the one cc uses
    /// (CXX_<target>), not its default g++. CUDAHOSTCXX, when set, is CMake's own choice.
    fn cuda_host_compiler(cfg: &mut cmake::Config) {
        let (target, host) = (std::env::var("TARGET"), std::env::var("HOST"));
        if target.is_ok() && target != host && env("CUDAHOSTCXX").is_none() {
            let cxx = cc::Build::new().cpp(true).get_compiler();
            cfg.define("CMAKE_CUDA_HOST_COMPILER", cxx.path());
        }
    }

    /// A cross linker checks the shim's dependencies in its RUNPATH but never finds the
    /// driver, libcuda.so.1, which only the target system has (a native linker also looks in
    /// LD_LIBRARY_PATH): TRTBENCH_RPATH_LINK names directories holding it, e.g. a copy of a
    /// Jetson's driver directory, or the CPU double's (test-trt-double.sh --aarch64).
    fn rpath_link() {
        if let Some(dirs) = env("TRTBENCH_RPATH_LINK") {
            for d in std::env::split_paths(&dirs) {
                println!("cargo:rustc-link-arg=-Wl,-rpath-link,{}", d.display());
            }
        }
    }

    fn full_build(found: &sdk::Sdk) {
        let edge_root = found.edge_llm_root.as_ref().expect("probed");
        let edge_build = found.edge_llm_build.as_ref().expect("probed");
        let cuda_root = found.cuda_root.as_ref().expect("probed");
        let trt_lib = found.trt_lib.as_ref().expect("probed");
        let cuda_lib = found.cuda_lib.as_ref().expect("probed");
        let plugin = found.edge_llm_plugin.as_ref().expect("probed");

        // The shim links Edge-LLM's core archive whole and compiles against its headers: a
        // rebuilt or updated Edge-LLM must relink it (cargo checks these paths' mtimes).
        for p in [
            edge_build.join("cpp").join("libedgellmCore.a"),
            edge_root.join("cpp").join("common"),
            edge_root.join("cpp").join("runtime"),
            edge_root.join("cpp").join("profiling"),
        ] {
            println!("cargo:rerun-if-changed={}", p.display());
        }
        let mut cfg = cmake::Config::new("cpp");
        cfg.define("TRT_INCLUDE_DIR", &found.trt_include)
            .define("TRT_LIB_DIR", trt_lib)
            .define("CUDA_INCLUDE_DIR", &found.cuda_include)
            .define("CUDA_LIB_DIR", cuda_lib)
            .define(
                "CMAKE_CUDA_COMPILER",
                Path::new(cuda_root).join("bin").join("nvcc"),
            )
            .define("EDGE_LLM_ROOT", edge_root)
            .define("EDGE_LLM_BUILD_DIR", edge_build)
            .define("CMAKE_CUDA_ARCHITECTURES", cuda_archs(edge_build));
        cuda_host_compiler(&mut cfg);
        check_versions(found, edge_build);
        // The Edge-LLM version the shim compiles against (the shim returns the same
        // kRUNTIME_VERSION at run time, for doctor and every result): said at build time,
        // with a warning for a version other than the checked 0.10.x.
        let version_h = Path::new(edge_root).join("cpp/common/version.h");
        match sdk::edge_llm_header_version(&read(&version_h)) {
            Some(v) if v.starts_with("0.10.") => println!(
                "cargo:warning=Edge-LLM {v} (kRUNTIME_VERSION of {})",
                version_h.display()
            ),
            Some(v) => println!(
                "cargo:warning=Edge-LLM {v}: trtbench was checked against 0.10.x only; \
                 token-callback rounds, BOS, stage scopes and log may differ \
                 (tests/trt_double/FIDELITY.md)"
            ),
            None => println!(
                "cargo:warning=cannot read kRUNTIME_VERSION from {}: the Edge-LLM version is \
                 known only at run time (doctor, results)",
                version_h.display()
            ),
        }
        if let Some(extra) = env("TRTBENCH_EDGE_LLM_EXTRA_LIBS") {
            cfg.define("EDGE_LLM_EXTRA_LIBS", extra);
        }
        let dst = cfg.build();
        let lib = dst.join("lib");

        // The bridge (static) calls into the shim (shared): emit the bridge first so the
        // linker still needs the shim when it reaches it, even with --as-needed.
        bridge_build().compile("trtbench_bridge");
        println!("cargo:rustc-link-search=native={}", lib.display());
        println!("cargo:rustc-link-lib=dylib=trtbench_shim");
        // The shim carries its own RUNPATH (TensorRT, CUDA, Edge-LLM); the binary needs the shim's.
        println!("cargo:rustc-link-arg=-Wl,-rpath,{}", lib.display());
        rpath_link();
        println!(
            "cargo:rustc-env=TRTBENCH_EDGE_LLM_PLUGIN_DEFAULT={}",
            plugin.display()
        );
    }
}
