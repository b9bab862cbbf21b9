//! Engine build pipelines: GGUF quantisation through llama.cpp's own quantizer
//! (`gguf.rs`); the TensorRT Edge-LLM pipeline (quantize → ONNX export → engine build),
//! its limits and manifest (`edge_llm.rs`), its speculative variant (`edge_spec.rs`: base
//! and draft into one directory), run as logged, timed steps (`steps.rs`); and
//! the one memory-budget policy for KV planning (`budget.rs`). Depends on `backends`,
//! `engine`, `gguf`, `platform`; never on `bench`, `client` or `cli`.

pub mod budget;
pub mod edge_llm;
pub mod edge_spec;
pub mod gguf;
pub mod steps;

pub use crate::backends::llama::quant::{ftype_of_quant, quant_name_of_ftype, GGUF_QUANTS};
