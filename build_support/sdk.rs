//! Locates the native SDKs the `tensorrt` feature builds against: TensorRT, CUDA and a
//! built TensorRT Edge-LLM tree. Shared by `build.rs` (through `#[path]`) and the tests, so
//! the probing rules are tested without running a build. Std only; no crate dependencies.
//!
//! Every candidate path is recorded, and a failure lists all of them for every missing
//! component at once (cudarc's build script does the same), so one failed build tells the
//! user everything to fix.

use std::fmt;
use std::path::{Path, PathBuf};

/// What the build needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Headers, libraries, nvcc and Edge-LLM: build and link the shim.
    Full,
    /// Headers of TensorRT and CUDA only: compile the raw-TensorRT part and the bridge, link
    /// nothing (`TRTBENCH_TRT_COMPILE_ONLY=1`, for `cargo check` on machines without a GPU).
    CompileOnly,
}

/// Paths found for a full or compile-only build.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sdk {
    pub trt_include: PathBuf,
    pub cuda_include: PathBuf,
    /// Directory holding `libnvinfer.so` (full mode only).
    pub trt_lib: Option<PathBuf>,
    /// CUDA toolkit root holding `bin/nvcc` and the runtime library (full mode only).
    pub cuda_root: Option<PathBuf>,
    pub cuda_lib: Option<PathBuf>,
    /// Edge-LLM source root (holds `cpp/runtime/llmInferenceRuntime.h`), full mode only.
    pub edge_llm_root: Option<PathBuf>,
    /// Edge-LLM CMake build directory (holds `cpp/libedgellmCore.a`), full mode only.
    pub edge_llm_build: Option<PathBuf>,
    /// Absolute path of `libNvInfer_edgellm_plugin.so`, full mode only.
    pub edge_llm_plugin: Option<PathBuf>,
}

/// One component that could not be found, with every path that was tried.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Missing {
    pub what: &'static str,
    /// Environment variables that choose the location.
    pub env: &'static str,
    pub tried: Vec<PathBuf>,
}

/// Everything that is missing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeError {
    pub missing: Vec<Missing>,
}

impl fmt::Display for ProbeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "the `tensorrt` feature needs native SDKs that were not found:"
        )?;
        for m in &self.missing {
            writeln!(f, "  {} (set {}); tried:", m.what, m.env)?;
            if m.tried.is_empty() {
                writeln!(
                    f,
                    "    (nothing: the variable is unset and there is no default)"
                )?;
            }
            for p in &m.tried {
                writeln!(f, "    {}", p.display())?;
            }
        }
        write!(
            f,
            "see docs/gpu.md; for a compile-only check without a GPU set TRTBENCH_TRT_COMPILE_ONLY=1 \
             with TENSORRT_ROOT and CUDA_HOME pointing at header trees"
        )
    }
}

/// Multiarch directory names used by Debian/Ubuntu/JetPack packages.
const TRIPLETS: &[&str] = &["x86_64-linux-gnu", "aarch64-linux-gnu"];

/// Appends `cand` to `tried` and returns it when `file` exists inside it.
fn try_dir(tried: &mut Vec<PathBuf>, cand: PathBuf, file: &str) -> Option<PathBuf> {
    let hit = cand.join(file).is_file();
    tried.push(cand.join(file));
    hit.then_some(cand)
}

fn first_dir(tried: &mut Vec<PathBuf>, cands: Vec<PathBuf>, file: &str) -> Option<PathBuf> {
    for c in cands {
        if let Some(found) = try_dir(tried, c, file) {
            return Some(found);
        }
    }
    None
}

/// Candidate TensorRT roots: `TENSORRT_ROOT` when set, else the usual install places
/// (JetPack and the Debian packages install into /usr with multiarch subdirectories).
fn trt_roots(env: &dyn Fn(&str) -> Option<String>) -> Vec<PathBuf> {
    match env("TENSORRT_ROOT") {
        Some(r) if !r.is_empty() => vec![PathBuf::from(r)],
        _ => vec![
            PathBuf::from("/usr/local/tensorrt"),
            PathBuf::from("/opt/tensorrt"),
            PathBuf::from("/usr"),
        ],
    }
}

fn cuda_roots(env: &dyn Fn(&str) -> Option<String>) -> Vec<PathBuf> {
    for var in ["CUDA_HOME", "CUDA_PATH"] {
        if let Some(r) = env(var).filter(|r| !r.is_empty()) {
            return vec![PathBuf::from(r)];
        }
    }
    vec![PathBuf::from("/usr/local/cuda")]
}

fn include_cands(root: &Path) -> Vec<PathBuf> {
    let mut v = vec![root.join("include")];
    v.extend(TRIPLETS.iter().map(|t| root.join("include").join(t)));
    // Header-only trees (trtx-sys's TensorRT-Headers/TRT-Enterprise-11.4) have no include/.
    v.push(root.to_path_buf());
    v
}

fn lib_cands(root: &Path) -> Vec<PathBuf> {
    let mut v = vec![root.join("lib"), root.join("lib64")];
    v.extend(TRIPLETS.iter().map(|t| root.join("lib").join(t)));
    v.extend(
        ["x86_64-linux", "sbsa-linux", "aarch64-linux"]
            .iter()
            .map(|t| root.join("targets").join(t).join("lib")),
    );
    v
}

/// Finds the SDKs. `env` reads an environment variable (build.rs passes a helper that also
/// prints `cargo:rerun-if-env-changed`).
pub fn probe(mode: Mode, env: &dyn Fn(&str) -> Option<String>) -> Result<Sdk, ProbeError> {
    let mut missing = Vec::new();

    let mut tried = Vec::new();
    let trt_include = first_dir(
        &mut tried,
        trt_roots(env)
            .iter()
            .flat_map(|r| include_cands(r))
            .collect(),
        "NvInfer.h",
    );
    if trt_include.is_none() {
        missing.push(Missing {
            what: "TensorRT headers (NvInfer.h)",
            env: "TENSORRT_ROOT",
            tried,
        });
    }

    let mut tried = Vec::new();
    let cuda_include = first_dir(
        &mut tried,
        cuda_roots(env)
            .iter()
            .flat_map(|r| include_cands(r))
            .collect(),
        "cuda_runtime_api.h",
    );
    if cuda_include.is_none() {
        missing.push(Missing {
            what: "CUDA headers (cuda_runtime_api.h)",
            env: "CUDA_HOME or CUDA_PATH",
            tried,
        });
    }

    let mut sdk = Sdk {
        trt_include: trt_include.clone().unwrap_or_default(),
        cuda_include: cuda_include.clone().unwrap_or_default(),
        trt_lib: None,
        cuda_root: None,
        cuda_lib: None,
        edge_llm_root: None,
        edge_llm_build: None,
        edge_llm_plugin: None,
    };

    if mode == Mode::Full {
        let mut tried = Vec::new();
        sdk.trt_lib = first_dir(
            &mut tried,
            trt_roots(env).iter().flat_map(|r| lib_cands(r)).collect(),
            "libnvinfer.so",
        );
        if sdk.trt_lib.is_none() {
            missing.push(Missing {
                what: "TensorRT library (libnvinfer.so)",
                env: "TENSORRT_ROOT",
                tried,
            });
        }

        let mut tried = Vec::new();
        sdk.cuda_root = first_dir(&mut tried, cuda_roots(env), "bin/nvcc");
        if sdk.cuda_root.is_none() {
            missing.push(Missing {
                what: "CUDA compiler (bin/nvcc, needed for the device-link step)",
                env: "CUDA_HOME or CUDA_PATH",
                tried,
            });
        }
        let mut tried = Vec::new();
        sdk.cuda_lib = first_dir(
            &mut tried,
            cuda_roots(env).iter().flat_map(|r| lib_cands(r)).collect(),
            "libcudart.so",
        );
        if sdk.cuda_lib.is_none() {
            missing.push(Missing {
                what: "CUDA runtime library (libcudart.so)",
                env: "CUDA_HOME or CUDA_PATH",
                tried,
            });
        }

        let root = env("TRTBENCH_EDGE_LLM_ROOT").filter(|r| !r.is_empty());
        let mut tried = Vec::new();
        sdk.edge_llm_root = root.as_ref().and_then(|r| {
            try_dir(
                &mut tried,
                PathBuf::from(r),
                "cpp/runtime/llmInferenceRuntime.h",
            )
        });
        if sdk.edge_llm_root.is_none() {
            missing.push(Missing {
                what: "TensorRT Edge-LLM source tree (cpp/runtime/llmInferenceRuntime.h)",
                env: "TRTBENCH_EDGE_LLM_ROOT",
                tried,
            });
        }

        let build = env("TRTBENCH_EDGE_LLM_BUILD")
            .filter(|b| !b.is_empty())
            .map(PathBuf::from)
            .or_else(|| root.as_ref().map(|r| PathBuf::from(r).join("build")));
        let mut tried = Vec::new();
        sdk.edge_llm_build = build
            .clone()
            .and_then(|b| try_dir(&mut tried, b, "cpp/libedgellmCore.a"));
        if sdk.edge_llm_build.is_none() {
            missing.push(Missing {
                what: "built Edge-LLM core library (cpp/libedgellmCore.a; build Edge-LLM first)",
                env: "TRTBENCH_EDGE_LLM_BUILD (default $TRTBENCH_EDGE_LLM_ROOT/build)",
                tried,
            });
        }
        let mut tried = Vec::new();
        sdk.edge_llm_plugin = build
            .and_then(|b| try_dir(&mut tried, b, "libNvInfer_edgellm_plugin.so"))
            .map(|d| d.join("libNvInfer_edgellm_plugin.so"));
        if sdk.edge_llm_plugin.is_none() {
            missing.push(Missing {
                what: "Edge-LLM plugin library (libNvInfer_edgellm_plugin.so)",
                env: "TRTBENCH_EDGE_LLM_BUILD (default $TRTBENCH_EDGE_LLM_ROOT/build)",
                tried,
            });
        }
    }

    if missing.is_empty() {
        Ok(sdk)
    } else {
        Err(ProbeError { missing })
    }
}

/// True when a boolean environment value is set to something other than 0/false/empty.
pub fn truthy(v: Option<String>) -> bool {
    matches!(v, Some(s) if !s.is_empty() && s != "0" && !s.eq_ignore_ascii_case("false"))
}
