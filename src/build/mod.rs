//! Engine build pipelines: GGUF quantisation through llama.cpp's own quantizer, and the
//! TensorRT Edge-LLM pipeline (quantize → ONNX export → engine build) run as steps.

use llama_cpp_sys_2 as sys;

/// GGUF quantisations `trtbench build` offers, with the `llama_ftype` each maps to.
pub const GGUF_QUANTS: &[(&str, u32)] = &[
    ("f32", sys::LLAMA_FTYPE_ALL_F32),
    ("f16", sys::LLAMA_FTYPE_MOSTLY_F16),
    ("bf16", sys::LLAMA_FTYPE_MOSTLY_BF16),
    ("q8_0", sys::LLAMA_FTYPE_MOSTLY_Q8_0),
    ("q6_k", sys::LLAMA_FTYPE_MOSTLY_Q6_K),
    ("q5_k_m", sys::LLAMA_FTYPE_MOSTLY_Q5_K_M),
    ("q5_k_s", sys::LLAMA_FTYPE_MOSTLY_Q5_K_S),
    ("q5_1", sys::LLAMA_FTYPE_MOSTLY_Q5_1),
    ("q5_0", sys::LLAMA_FTYPE_MOSTLY_Q5_0),
    ("q4_k_m", sys::LLAMA_FTYPE_MOSTLY_Q4_K_M),
    ("q4_k_s", sys::LLAMA_FTYPE_MOSTLY_Q4_K_S),
    ("q4_1", sys::LLAMA_FTYPE_MOSTLY_Q4_1),
    ("q4_0", sys::LLAMA_FTYPE_MOSTLY_Q4_0),
    ("q3_k_m", sys::LLAMA_FTYPE_MOSTLY_Q3_K_M),
    ("q2_k", sys::LLAMA_FTYPE_MOSTLY_Q2_K),
];

/// The quantisation name of a `llama_ftype` value.
pub fn quant_name_of_ftype(ftype: u32) -> Option<&'static str> {
    GGUF_QUANTS
        .iter()
        .find(|(_, f)| *f == ftype)
        .map(|(n, _)| *n)
}

/// The `llama_ftype` of a quantisation name (case-insensitive).
pub fn ftype_of_quant(name: &str) -> Option<u32> {
    let name = name.to_ascii_lowercase();
    GGUF_QUANTS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, f)| *f)
}
