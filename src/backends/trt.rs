//! TensorRT / TensorRT Edge-LLM backend. Without the `tensorrt` feature it only says so.

use std::path::Path;

use crate::engine::{Engine, Manifest};
use crate::error::{Error, Result};

/// Opens an Edge-LLM engine directory.
pub fn open(_dir: &Path, _manifest: Manifest) -> Result<Box<dyn Engine>> {
    Err(Error::NotCompiled {
        backend: "tensorrt",
        feature: "tensorrt",
    })
}
