//! TensorRT Edge-LLM engines, and raw TensorRT for `trtbench inspect`.
//!
//! Always compiled (pure Rust, testable anywhere): `config` (an engine directory's
//! `config.json`, the KV plan Edge-LLM reserves, the manifest) and `timing` (stage times →
//! phase times, the CUDA-graph axis) and `prompt` (exact-length prompt text for Edge-LLM's
//! own tokenizer, the chat template it requires). Building engines is `build::edge_llm`'s. With the `tensorrt` feature, `runtime`
//! drives Edge-LLM's `LLMInferenceRuntime` through the cxx bridge in `ffi` (C++ in `cpp/`);
//! without it, [`open`] and [`inspect`] answer `Error::NotCompiled`.
//! Depends on `engine`, `record` (clock tag), `cuda` and `jetson`; never on `bench` or `cli`.

pub mod config;
pub mod doctor;
pub mod prompt;
pub mod timing;

#[cfg(feature = "tensorrt")]
mod ffi;
#[cfg(feature = "tensorrt")]
mod runtime;

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

pub use config::{
    manifest_from_engine_dir, plan_from_config, EdgeLlmConfig, EdgeLlmPlan, TOKENS_PER_PAGE,
};
pub use timing::{graph_speedups, parse_graph_axis, GraphOutcome, GraphRow, GraphSpeedup};

use crate::engine::{Engine, Manifest};
use crate::error::Result;

/// True when this binary was built with the TensorRT / Edge-LLM runner.
pub const COMPILED: bool = cfg!(feature = "tensorrt");

#[cfg(not(feature = "tensorrt"))]
fn not_compiled() -> crate::error::Error {
    crate::error::Error::NotCompiled {
        backend: "tensorrt",
        feature: "tensorrt",
    }
}

/// Opens an Edge-LLM engine directory.
#[cfg(feature = "tensorrt")]
pub fn open(dir: &Path, manifest: Manifest) -> Result<Box<dyn Engine>> {
    Ok(Box::new(runtime::EdgeLlmEngine::open(dir, manifest)?))
}

/// Opens an Edge-LLM engine directory.
#[cfg(not(feature = "tensorrt"))]
pub fn open(_dir: &Path, _manifest: Manifest) -> Result<Box<dyn Engine>> {
    Err(not_compiled())
}

/// Min/opt/max shape of an input in one optimization profile.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProfileShape {
    pub min: Vec<i64>,
    pub opt: Vec<i64>,
    pub max: Vec<i64>,
}

/// One I/O tensor of an engine (`-1` marks a dynamic dimension).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TensorReport {
    pub name: String,
    /// `input` or `output`.
    pub io: String,
    pub dtype: String,
    pub location: String,
    pub format: String,
    pub shape: Vec<i64>,
    /// Inputs only: one entry per optimization profile.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub profiles: Vec<ProfileShape>,
}

/// What `trtbench inspect` reports about a serialized TensorRT engine.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InspectReport {
    pub path: String,
    pub tensorrt_library_version: String,
    pub tensorrt_header_version: String,
    pub optimization_profiles: u32,
    pub layers: u32,
    pub aux_streams: u32,
    /// Execution-context memory, max over profiles (`getDeviceMemorySizeV2`).
    pub device_memory_bytes: u64,
    pub device_memory_per_profile_bytes: Vec<u64>,
    pub tensors: Vec<TensorReport>,
}

/// Deserializes a `.engine`/`.plan` file and describes it. `plugin` is loaded first when
/// given (Edge-LLM engines need `libNvInfer_edgellm_plugin.so`). Needs a GPU.
#[cfg(feature = "tensorrt")]
pub fn inspect(path: &Path, plugin: Option<&Path>) -> Result<InspectReport> {
    runtime::inspect(path, plugin)
}

/// Deserializes a `.engine`/`.plan` file and describes it.
#[cfg(not(feature = "tensorrt"))]
pub fn inspect(_path: &Path, _plugin: Option<&Path>) -> Result<InspectReport> {
    Err(not_compiled())
}

/// Versions of the native libraries behind the runner (`edge_llm`, `tensorrt_library`,
/// `tensorrt_headers`), for the environment fingerprint; `None` without the feature.
pub fn runtime_versions() -> Option<std::collections::BTreeMap<&'static str, String>> {
    #[cfg(feature = "tensorrt")]
    {
        use ffi::sys;
        Some(std::collections::BTreeMap::from([
            ("edge_llm", sys::edge_llm_version()),
            ("tensorrt_library", sys::trt_library_version()),
            ("tensorrt_headers", sys::trt_header_version()),
        ]))
    }
    #[cfg(not(feature = "tensorrt"))]
    None
}

/// The Edge-LLM plugin library to load: `TRTBENCH_EDGE_LLM_PLUGIN`, else `EDGELLM_PLUGIN_PATH`
/// when absolute, else the one found at build time. Never Edge-LLM's relative default.
pub fn plugin_path() -> Option<PathBuf> {
    for var in ["TRTBENCH_EDGE_LLM_PLUGIN", "EDGELLM_PLUGIN_PATH"] {
        if let Some(p) = std::env::var_os(var).map(PathBuf::from) {
            if p.is_absolute() {
                return Some(p);
            }
        }
    }
    option_env!("TRTBENCH_EDGE_LLM_PLUGIN_DEFAULT")
        .filter(|s| !s.is_empty())
        .map(PathBuf::from)
}

#[cfg(test)]
mod tests {
    #[cfg(not(feature = "tensorrt"))]
    #[test]
    fn disabled_backend_says_which_feature() {
        let e = super::inspect(std::path::Path::new("x.engine"), None).unwrap_err();
        assert!(matches!(
            e,
            crate::Error::NotCompiled {
                backend: "tensorrt",
                feature: "tensorrt"
            }
        ));
    }
}
