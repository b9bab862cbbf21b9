//! Engine build pipelines: GGUF quantisation through llama.cpp's own quantizer
//! (`gguf.rs`), and external pipelines (TensorRT Edge-LLM: quantize → ONNX export →
//! engine build) run as logged, timed steps (`steps.rs`).

pub mod gguf;
pub mod steps;

pub use crate::backends::llama::quant::{ftype_of_quant, quant_name_of_ftype, GGUF_QUANTS};
