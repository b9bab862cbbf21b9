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

/// What an Edge-LLM CMake build directory records about how it was built
/// (`CMakeCache.txt` and `CMakeFiles/<cmake version>/CMakeCUDACompiler.cmake`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EdgeLlmBuildInfo {
    /// The architectures Edge-LLM's CUDA objects were compiled for, read from the compile
    /// flags CMake generated for its core targets (`--generate-code=arch=compute_87,...`).
    /// Not the cached `CMAKE_CUDA_ARCHITECTURES`: CMake always caches nvcc's default there,
    /// and Edge-LLM's top-level CMakeLists.txt then overrides it with a normal variable.
    pub cuda_archs: Option<String>,
    /// `EMBEDDED_TARGET` (jetson-orin, jetson-thor, gb10, auto-thor), empty for x86.
    pub embedded_target: Option<String>,
    /// `TRT_PACKAGE_DIR`: the TensorRT Edge-LLM compiled and linked against.
    pub trt_package_dir: Option<PathBuf>,
    /// nvcc's version, "12.6.85".
    pub cuda_version: Option<String>,
    /// `CUDA_CTK_VERSION` when passed to Edge-LLM's CMake (its x86 arch list depends on it,
    /// not on nvcc; unset means its default, 12.8).
    pub cuda_ctk_version: Option<String>,
}

fn cache_value(cache: &str, key: &str) -> Option<String> {
    cache.lines().find_map(|l| {
        let (k, v) = l.split_once('=')?;
        (k.split(':').next()? == key && !v.is_empty()).then(|| v.to_owned())
    })
}

/// The architectures in nvcc flags as CMake writes them for `CMAKE_CUDA_ARCHITECTURES`
/// (`--generate-code=arch=compute_87,code=[compute_87,sm_87]`, or `-gencode`), in the same
/// notation: `87` (real and virtual), `87-real`, `87-virtual`; joined with `;`, first seen
/// first. `None` when the flags name no architecture.
pub fn archs_from_nvcc_flags(flags: &str) -> Option<String> {
    let mut out: Vec<String> = Vec::new();
    let mut rest = flags;
    while let Some(at) = rest.find("arch=compute_") {
        rest = &rest[at + "arch=compute_".len()..];
        let arch: String = rest
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect();
        // The code list: `code=[compute_87,sm_87]` or `code=sm_87`, up to the next space.
        let code = rest
            .split_whitespace()
            .next()
            .and_then(|w| w.split_once("code="))
            .map(|(_, c)| c.trim_matches(|c| c == '[' || c == ']' || c == '"'))
            .unwrap_or("");
        let has = |prefix: &str| code.split(',').any(|c| c == format!("{prefix}_{arch}"));
        let item = match (has("sm"), has("compute")) {
            (true, true) => arch.clone(),
            (true, false) => format!("{arch}-real"),
            (false, true) => format!("{arch}-virtual"),
            (false, false) => continue,
        };
        if !arch.is_empty() && !out.contains(&item) {
            out.push(item);
        }
    }
    (!out.is_empty()).then(|| out.join(";"))
}

/// The compile flags of Edge-LLM's relocatable-device-code targets in a build directory:
/// `flags.make` of `edgellmCore` / `edgellmKernels` (Makefile generators; under `cpp/` in
/// Edge-LLM, at the top in the test double), else `build.ninja` (Ninja).
fn edge_llm_cuda_flags(build: &Path) -> String {
    let mut text = String::new();
    for dir in ["cpp/CMakeFiles", "CMakeFiles"] {
        for target in ["edgellmCore", "edgellmKernels"] {
            let p = build
                .join(dir)
                .join(format!("{target}.dir"))
                .join("flags.make");
            if let Ok(t) = std::fs::read_to_string(p) {
                text.push_str(&t);
                text.push('\n');
            }
        }
    }
    if text.is_empty() {
        text = std::fs::read_to_string(build.join("build.ninja")).unwrap_or_default();
    }
    text
}

/// Reads `build/CMakeCache.txt`, the CUDA compiler record beside it, and the CUDA compile
/// flags of Edge-LLM's core targets. Missing files give empty fields: the caller decides
/// what it can still check.
pub fn edge_llm_build_info(build: &Path) -> EdgeLlmBuildInfo {
    let cache = std::fs::read_to_string(build.join("CMakeCache.txt")).unwrap_or_default();
    let cuda_version = std::fs::read_dir(build.join("CMakeFiles"))
        .into_iter()
        .flatten()
        .flatten()
        .find_map(|d| std::fs::read_to_string(d.path().join("CMakeCUDACompiler.cmake")).ok())
        .and_then(|t| {
            t.lines().find_map(|l| {
                l.trim()
                    .strip_prefix("set(CMAKE_CUDA_COMPILER_VERSION \"")
                    .and_then(|r| r.split('"').next())
                    .map(str::to_owned)
            })
        });
    EdgeLlmBuildInfo {
        cuda_archs: archs_from_nvcc_flags(&edge_llm_cuda_flags(build)),
        embedded_target: cache_value(&cache, "EMBEDDED_TARGET"),
        trt_package_dir: cache_value(&cache, "TRT_PACKAGE_DIR").map(PathBuf::from),
        cuda_version,
        cuda_ctk_version: cache_value(&cache, "CUDA_CTK_VERSION"),
    }
}

/// The CUDA architectures Edge-LLM's relocatable objects were built for, which the shim's
/// device link must use: those its compile flags name, else the value Edge-LLM 0.10's
/// CMake sets for its target (`cmake/aarch64_linux_toolchain.cmake`: jetson-orin 87,
/// jetson-thor 110a, gb10 121a, auto-thor 110a from CUDA 13 (101a before); top-level
/// `CMakeLists.txt` on x86: 80;86;89, plus 100a;120 when `CUDA_CTK_VERSION` (default 12.8)
/// is 12.8 or later).
pub fn edge_llm_archs(info: &EdgeLlmBuildInfo) -> Option<String> {
    if let Some(a) = &info.cuda_archs {
        return Some(a.clone());
    }
    let cuda = info.cuda_version.as_deref().and_then(major_minor);
    match info.embedded_target.as_deref() {
        Some("jetson-orin") => Some("87".into()),
        Some("jetson-thor") => Some("110a".into()),
        Some("gb10") => Some("121a".into()),
        Some("auto-thor") => Some(if cuda? >= (13, 0) { "110a" } else { "101a" }.into()),
        Some(_) => None,
        None => {
            // Only for a configured CUDA build (nvcc recorded); the list follows the CTK version.
            info.cuda_version.as_ref()?;
            let ctk = major_minor(info.cuda_ctk_version.as_deref().unwrap_or("12.8"))?;
            Some(
                if ctk >= (12, 8) {
                    "80;86;89;100a;120"
                } else {
                    "80;86;89"
                }
                .into(),
            )
        }
    }
}

/// `kRUNTIME_VERSION` from Edge-LLM's `cpp/common/version.h`
/// (`inline constexpr char const* kRUNTIME_VERSION = "0.10.0";`).
pub fn edge_llm_header_version(header: &str) -> Option<String> {
    header.lines().find_map(|l| {
        let rest = &l[l.find("kRUNTIME_VERSION")? + "kRUNTIME_VERSION".len()..];
        let v = rest.split('"').nth(1)?;
        (!v.is_empty()).then(|| v.to_owned())
    })
}

/// "12.6.85" or "12.6" → (12, 6).
pub fn major_minor(v: &str) -> Option<(u32, u32)> {
    let mut it = v.trim().split('.');
    Some((it.next()?.parse().ok()?, it.next()?.parse().ok()?))
}

/// TensorRT version from an `NvInferVersion.h` (the `TRT_*_ENTERPRISE` macros of 10.13+ or
/// the plain `NV_TENSORRT_*` numbers of older headers), as (major, minor).
pub fn trt_header_version(header: &str) -> Option<(u32, u32)> {
    let num = |names: &[&str]| {
        header.lines().find_map(|l| {
            let mut w = l.split_whitespace();
            (w.next()? == "#define" && names.contains(&w.next()?))
                .then(|| w.next()?.parse::<u32>().ok())
                .flatten()
        })
    };
    Some((
        num(&["TRT_MAJOR_ENTERPRISE", "NV_TENSORRT_MAJOR"])?,
        num(&["TRT_MINOR_ENTERPRISE", "NV_TENSORRT_MINOR"])?,
    ))
}

/// CUDA version from `cuda_runtime_api.h` (`#define CUDART_VERSION 13050`) as (major, minor).
pub fn cudart_header_version(header: &str) -> Option<(u32, u32)> {
    header.lines().find_map(|l| {
        let v: u32 = l
            .trim()
            .strip_prefix("#define CUDART_VERSION")?
            .trim()
            .parse()
            .ok()?;
        Some((v / 1000, v % 1000 / 10))
    })
}

/// (major, minor) of TensorRT and CUDA on one side of the check; `None` where unknown.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Versions {
    pub tensorrt: Option<(u32, u32)>,
    pub cuda: Option<(u32, u32)>,
}

/// Refuses a build whose TensorRT or CUDA differs (major.minor) from what Edge-LLM was built
/// against: its static core library would be linked into the shim with another ABI. Returns
/// what could not be checked.
pub fn check_versions(ours: Versions, theirs: Versions) -> Result<Vec<String>, String> {
    let mut unchecked = Vec::new();
    let mut errors = Vec::new();
    for (what, o, t, var) in [
        ("TensorRT", ours.tensorrt, theirs.tensorrt, "TENSORRT_ROOT"),
        ("CUDA", ours.cuda, theirs.cuda, "CUDA_HOME"),
    ] {
        match (o, t) {
            (Some(o), Some(t)) if o != t => errors.push(format!(
                "{what} {}.{} (from {var}) differs from the {what} {}.{} Edge-LLM was built with",
                o.0, o.1, t.0, t.1
            )),
            (Some(_), Some(_)) => {}
            _ => unchecked.push(format!(
                "{what} version not checked against Edge-LLM's build (not recorded or not readable)"
            )),
        }
    }
    if errors.is_empty() {
        Ok(unchecked)
    } else {
        Err(format!(
            "{}; point {{TENSORRT_ROOT, CUDA_HOME}} at the SDKs Edge-LLM was built with, or rebuild Edge-LLM",
            errors.join("; ")
        ))
    }
}
