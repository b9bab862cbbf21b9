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
