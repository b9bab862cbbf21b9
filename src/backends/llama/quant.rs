//! The GGUF quantisation names trtbench knows and the `llama_ftype` each is: one table,
//! read by the llama.cpp backend (what a loaded model is) and by `build` (what to make).

use llama_cpp_sys_2 as sys;

use crate::error::{Error, Result};

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

/// The `llama_ftype` of a quantisation name (case-insensitive), or an error listing the
/// valid names.
pub fn ftype_of_quant(name: &str) -> Result<u32> {
    let lower = name.to_ascii_lowercase();
    GGUF_QUANTS
        .iter()
        .find(|(n, _)| *n == lower)
        .map(|(_, f)| *f)
        .ok_or_else(|| {
            Error::config(
                "--quant",
                format!(
                    "unknown GGUF quantization `{name}`; valid: {}",
                    GGUF_QUANTS
                        .iter()
                        .map(|(n, _)| *n)
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quant_names() {
        assert_eq!(
            ftype_of_quant("Q8_0").unwrap(),
            sys::LLAMA_FTYPE_MOSTLY_Q8_0
        );
        assert_eq!(
            quant_name_of_ftype(sys::LLAMA_FTYPE_MOSTLY_Q4_1),
            Some("q4_1")
        );
        let e = ftype_of_quant("q9_9").unwrap_err().to_string();
        assert!(
            e.contains("--quant") && e.contains("q4_k_m") && e.contains("q8_0"),
            "{e}"
        );
        for q in ["f16", "q8_0", "q5_k_m", "q4_k_m", "q4_0"] {
            assert!(ftype_of_quant(q).is_ok(), "{q}");
        }
    }
}
