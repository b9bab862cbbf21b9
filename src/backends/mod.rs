//! Engine backends and the one place that turns an engine directory into a running
//! engine. `llama` is always compiled (llama.cpp on CPU, CUDA with the `cuda` feature);
//! `trt` needs the `tensorrt` feature and otherwise answers `Error::NotCompiled`.

pub mod llama;
pub mod trt;

use std::path::Path;

use crate::engine::{BackendKind, Engine, Manifest};
use crate::error::Result;

/// Opens the engine in `dir`: reads its manifest, checks its files and loads it with the
/// backend the manifest names. The weights are loaded once; make sessions from the result.
pub fn open(dir: &Path) -> Result<Box<dyn Engine>> {
    let manifest = Manifest::load(dir)?;
    manifest.check_files(dir)?;
    match manifest.backend {
        BackendKind::LlamaCpp => Ok(Box::new(llama::LlamaEngine::open(dir, manifest)?)),
        BackendKind::EdgeLlm => trt::open(dir, manifest),
    }
}

/// The machine's fingerprint (`env::fingerprint`) with the versions of the engine libraries
/// this build links (llama.cpp, and Edge-LLM / TensorRT with the `tensorrt` feature): what
/// every results file embeds.
pub fn fingerprint() -> serde_json::Value {
    let mut env = crate::env::fingerprint();
    if let Some(m) = env.as_object_mut() {
        m.insert("llama_cpp".into(), llama::version().into());
        m.insert("llama_cpp_system_info".into(), llama::system_info().into());
        for (k, v) in trt::runtime_versions().unwrap_or_default() {
            m.insert(k.into(), v.into());
        }
    }
    env
}
