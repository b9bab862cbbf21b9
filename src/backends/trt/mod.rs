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
pub mod memory;
pub mod prompt;
pub mod timing;

#[cfg(feature = "tensorrt")]
mod ffi;
#[cfg(feature = "tensorrt")]
mod runtime;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

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

/// The CUDA device the TensorRT / Edge-LLM path uses (`--device`).
static DEVICE: AtomicU32 = AtomicU32::new(0);

/// Selects the CUDA device for every later engine, `inspect`, `doctor` and build query of
/// this process (`--device N`). `N` counts the devices CUDA makes visible, so under
/// `CUDA_VISIBLE_DEVICES=2,3` device 0 is the physical GPU 2, as in every CUDA program.
pub fn select_device(ordinal: u32) {
    DEVICE.store(ordinal, Ordering::Relaxed);
}

/// Whether Edge-LLM's own log runs at INFO: `TRTBENCH_EDGE_LLM_VERBOSE` set to anything but
/// empty, `0` or `false`. Otherwise the runner sets Edge-LLM's logger to WARNING, because its
/// INFO lines go to stdout on every request (0.10 logs "EDGELLM_IGNORE_EOS set" there) and
/// would mix with trtbench's own output.
pub fn edge_llm_verbose() -> bool {
    std::env::var("TRTBENCH_EDGE_LLM_VERBOSE")
        .is_ok_and(|v| !matches!(v.trim(), "" | "0" | "false"))
}

/// The selected CUDA device (0 unless [`select_device`] said otherwise).
pub fn device() -> u32 {
    DEVICE.load(Ordering::Relaxed)
}

/// Runtime facts for the environment fingerprint: [`runtime_versions`], the selected
/// device (`cuda_device`) and `CUDA_VISIBLE_DEVICES` when set; `None` without the feature.
pub fn environment() -> Option<std::collections::BTreeMap<&'static str, String>> {
    let mut m = runtime_versions()?;
    m.insert("cuda_device", device().to_string());
    if let Ok(v) = std::env::var("CUDA_VISIBLE_DEVICES") {
        m.insert("cuda_visible_devices", v);
    }
    Some(m)
}

/// The compute capability of the selected device ("8.7"), for the engine a build makes here:
/// through CUDA with the feature, else from `nvidia-smi`. `None` when neither can tell.
pub fn device_compute_capability() -> Option<String> {
    #[cfg(feature = "tensorrt")]
    {
        if let Ok(sm) =
            crate::cuda::Device::open(device() as usize).and_then(|d| d.compute_capability())
        {
            return Some(format!("{}.{}", sm.0, sm.1));
        }
    }
    let cvd = std::env::var("CUDA_VISIBLE_DEVICES").ok();
    let id = nvidia_smi_id(device(), cvd.as_deref())?;
    let out = std::process::Command::new("nvidia-smi")
        .args(["--query-gpu=compute_cap", "--format=csv,noheader"])
        .arg(format!("--id={id}"))
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    parse_compute_cap(&text).filter(|_| out.status.success())
}

/// nvidia-smi's id of CUDA device `ordinal`: nvidia-smi ignores `CUDA_VISIBLE_DEVICES`, so
/// the ordinal picks an entry of that list (an index or a UUID, both of which `--id` takes).
pub fn nvidia_smi_id(ordinal: u32, cuda_visible_devices: Option<&str>) -> Option<String> {
    match cuda_visible_devices {
        None => Some(ordinal.to_string()),
        Some(list) => list
            .split(',')
            .map(str::trim)
            .nth(ordinal as usize)
            .filter(|s| !s.is_empty())
            .map(str::to_owned),
    }
}

/// Free memory of the selected device (`MemAvailable` on an integrated GPU); `None` without
/// the feature or without a device.
pub fn device_free_bytes() -> Option<u64> {
    #[cfg(feature = "tensorrt")]
    {
        crate::cuda::Device::open(device() as usize)
            .and_then(|d| d.free_bytes())
            .ok()
    }
    #[cfg(not(feature = "tensorrt"))]
    None
}

/// What a session of the Edge-LLM engine in `dir` needs on the device at construction
/// (engine and weights files, the KV pool, the activation floor).
pub fn session_need(dir: &Path) -> Result<memory::Need> {
    let plan = config::plan_from_config(dir)?;
    let mut engine = 0;
    for e in std::fs::read_dir(dir)
        .map_err(|e| crate::error::Error::io(dir, e))?
        .flatten()
    {
        let name = e.file_name().to_string_lossy().into_owned();
        if name.ends_with(".engine") || name.ends_with(".safetensors") {
            engine += e.metadata().map(|m| m.len()).unwrap_or(0);
        }
    }
    Ok(memory::Need {
        engine,
        kv: plan.kv_bytes,
        activations: plan.activation_bytes,
    })
}

/// "8.7" from nvidia-smi's `compute_cap` column (first line).
pub fn parse_compute_cap(text: &str) -> Option<String> {
    let line = text.lines().next()?.trim();
    let (a, b) = line.split_once('.')?;
    (a.parse::<u32>().is_ok() && b.parse::<u32>().is_ok()).then(|| line.to_owned())
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
    #[test]
    fn compute_cap_from_nvidia_smi() {
        assert_eq!(super::parse_compute_cap("8.7\n").as_deref(), Some("8.7"));
        assert_eq!(
            super::parse_compute_cap("12.1\n9.0\n").as_deref(),
            Some("12.1")
        );
        assert_eq!(super::parse_compute_cap("[N/A]\n"), None);
        assert_eq!(super::parse_compute_cap(""), None);
        assert_eq!(super::nvidia_smi_id(1, None).as_deref(), Some("1"));
        assert_eq!(super::nvidia_smi_id(1, Some("2, 3")).as_deref(), Some("3"));
        assert_eq!(
            super::nvidia_smi_id(0, Some("GPU-8f2a")).as_deref(),
            Some("GPU-8f2a")
        );
        assert_eq!(super::nvidia_smi_id(1, Some("2")), None);
    }

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
