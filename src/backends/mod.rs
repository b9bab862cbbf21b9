//! Engine backends and the one place that turns an engine directory into a running
//! engine. `llama` is always compiled (llama.cpp on CPU, CUDA with the `cuda` feature);
//! `trt` needs the `tensorrt` feature and otherwise answers `Error::NotCompiled`.

pub mod llama;
pub mod trt;

use std::path::Path;

use crate::engine::{BackendKind, Engine, Manifest, MANIFEST_FILE};
use crate::error::Result;

/// The manifest of the engine in `dir`: its `trtbench.json` when there is one, else one
/// derived on the fly from what the engine's own tools left there ([`derive_manifest`]).
/// Nothing is written into `dir`. Errors name the directory or the file that is wrong; a
/// directory no backend recognises gets `Manifest::load`'s "needs a trtbench.json".
pub fn manifest(dir: &Path) -> Result<Manifest> {
    if dir.is_dir() && !dir.join(MANIFEST_FILE).exists() {
        if let Some(m) = derive_manifest(dir)? {
            return Ok(m);
        }
    }
    Manifest::load(dir)
}

/// True when `dir` holds an engine trtbench can open: a `trtbench.json`, or files a
/// backend's own tools leave (for `--engines` globs).
pub fn is_engine_dir(dir: &Path) -> bool {
    dir.join(MANIFEST_FILE).is_file() || trt::config::looks_like_engine_dir(dir)
}

/// A manifest for an engine directory without `trtbench.json`, from the files a backend's own
/// tools leave: Edge-LLM's `llm_build` (`config.json` + `llm.engine`). `Ok(None)` when no
/// backend recognises the directory; an error when one does but its files are wrong. Needs
/// no feature: only files are read (opening the engine is what needs `tensorrt`).
/// One arm per backend: a bare GGUF file's derivation goes here too.
pub fn derive_manifest(dir: &Path) -> Result<Option<Manifest>> {
    if trt::config::looks_like_engine_dir(dir) {
        return trt::config::derive_manifest(dir).map(Some);
    }
    Ok(None)
}

/// Opens the engine in `dir`: reads (or derives) its manifest, checks its files and loads
/// it with the backend the manifest names. The weights are loaded once; make sessions from
/// the result.
pub fn open(dir: &Path) -> Result<Box<dyn Engine>> {
    let manifest = manifest(dir)?;
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
