//! The Edge-LLM engine build pipeline as command lines: quantize (ModelOpt, x86 GPU) →
//! ONNX export (CPU) → `llm_build` (on the target). `trtbench build --backend tensorrt`
//! runs these steps through its step runner; this module only decides them. Pure Rust.
//!
//! Entry points and flags were read in TensorRT Edge-LLM 0.10.0: `pyproject.toml`
//! (`tensorrt-edgellm-quantize`, `tensorrt-edgellm-export`), `tensorrt_edgellm/scripts/
//! quantize.py` (subcommand `llm`, `--model_dir`, `--output_dir`, `--quantization`,
//! `--kv_cache_quantization`, `--lm_head_quantization`, `--num_samples`),
//! `tensorrt_edgellm/scripts/export.py` (positional `model output_dir`; writes `llm/`) and
//! `examples/llm/llm_build.cpp` (`--onnxDir`, `--engineDir`, `--maxInputLen`,
//! `--maxKVCacheCapacity`, `--maxBatchSize`).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::config::Limits;
use crate::error::{Error, Result};

/// Quantisations the Edge-LLM quantizer offers for the LLM backbone, plus `fp16` (none).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EdgeQuant {
    Fp16,
    Fp8,
    Int4Awq,
    Nvfp4,
    Mxfp8,
    Int8Sq,
}

impl EdgeQuant {
    pub const ALL: [EdgeQuant; 6] = [
        EdgeQuant::Fp16,
        EdgeQuant::Fp8,
        EdgeQuant::Int4Awq,
        EdgeQuant::Nvfp4,
        EdgeQuant::Mxfp8,
        EdgeQuant::Int8Sq,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EdgeQuant::Fp16 => "fp16",
            EdgeQuant::Fp8 => "fp8",
            EdgeQuant::Int4Awq => "int4_awq",
            EdgeQuant::Nvfp4 => "nvfp4",
            EdgeQuant::Mxfp8 => "mxfp8",
            EdgeQuant::Int8Sq => "int8_sq",
        }
    }

    pub fn parse(s: &str) -> Result<Self> {
        let s = s.to_ascii_lowercase();
        EdgeQuant::ALL
            .into_iter()
            .find(|q| q.as_str() == s)
            .ok_or_else(|| {
                Error::config(
                    "--quant",
                    format!(
                        "`{s}` is not an Edge-LLM quantisation (valid: {})",
                        EdgeQuant::ALL.map(|q| q.as_str()).join(", ")
                    ),
                )
            })
    }

    /// Lowest compute capability whose tensor cores run this format. FP8 needs Ada/Hopper
    /// (8.9); the microscaling formats need Blackwell (10.0). Jetson Orin is 8.7, so it runs
    /// fp16, int8 and int4 engines only (Edge-LLM support matrix).
    pub fn min_sm(self) -> (u32, u32) {
        match self {
            EdgeQuant::Fp16 | EdgeQuant::Int4Awq | EdgeQuant::Int8Sq => (8, 0),
            EdgeQuant::Fp8 => (8, 9),
            EdgeQuant::Nvfp4 | EdgeQuant::Mxfp8 => (10, 0),
        }
    }
}

/// Refuses a quantisation (or FP8 KV cache) the device cannot run, before hours of building.
pub fn check_quant_for_device(quant: EdgeQuant, kv_fp8: bool, sm: (u32, u32)) -> Result<()> {
    let need = quant.min_sm();
    if sm < need {
        return Err(Error::config(
            "--quant",
            format!(
                "{} needs compute capability {}.{} or newer; this device is {}.{} \
                 (Jetson Orin is 8.7: use fp16, int8_sq or int4_awq)",
                quant.as_str(),
                need.0,
                need.1,
                sm.0,
                sm.1
            ),
        ));
    }
    if kv_fp8 && sm < (8, 9) {
        return Err(Error::config(
            "--kv-dtype",
            format!(
                "an FP8 KV cache needs compute capability 8.9 or newer; this device is {}.{}",
                sm.0, sm.1
            ),
        ));
    }
    Ok(())
}

/// What to build.
#[derive(Debug, Clone, PartialEq)]
pub struct BuildSpec {
    /// Hugging Face model id or local checkpoint directory.
    pub model: String,
    /// Scratch directory for the quantized checkpoint and the ONNX export.
    pub work_dir: PathBuf,
    /// Output engine directory.
    pub engine_dir: PathBuf,
    pub quant: EdgeQuant,
    /// Quantize the KV cache to FP8 (a quantizer option; export reads it from the checkpoint).
    pub kv_cache_fp8: bool,
    pub lm_head_quant: Option<EdgeQuant>,
    /// Calibration samples for the quantizer (its default is 512).
    pub calib_samples: Option<u32>,
    pub limits: Limits,
    /// Path of the `llm_build` binary from the Edge-LLM build (`build/examples/llm/llm_build`).
    pub llm_build: PathBuf,
}

/// One command of the pipeline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Step {
    pub name: String,
    pub argv: Vec<String>,
}

fn s(p: &Path) -> String {
    p.display().to_string()
}

/// The ONNX directory `llm_build` reads: `tensorrt-edgellm-export` writes `<out>/llm/`.
pub fn onnx_dir(work_dir: &Path) -> PathBuf {
    work_dir.join("onnx").join("llm")
}

/// The commands that build `spec`, in order.
pub fn build_commands(spec: &BuildSpec) -> Result<Vec<Step>> {
    if spec.model.is_empty() {
        return Err(Error::config(
            "--from",
            "model id or checkpoint directory is empty",
        ));
    }
    if spec
        .lm_head_quant
        .is_some_and(|q| matches!(q, EdgeQuant::Fp16 | EdgeQuant::Int8Sq))
    {
        return Err(Error::config(
            "--lm-head-quant",
            "the LM head can be quantised to fp8, int4_awq, nvfp4 or mxfp8 only",
        ));
    }
    let mut steps = Vec::new();
    let needs_quantize =
        spec.quant != EdgeQuant::Fp16 || spec.kv_cache_fp8 || spec.lm_head_quant.is_some();
    let export_input = if needs_quantize {
        let out = spec.work_dir.join("quantized");
        let mut argv = vec![
            "tensorrt-edgellm-quantize".to_owned(),
            "llm".to_owned(),
            "--model_dir".to_owned(),
            spec.model.clone(),
            "--output_dir".to_owned(),
            s(&out),
        ];
        if spec.quant != EdgeQuant::Fp16 {
            argv.extend(["--quantization".to_owned(), spec.quant.as_str().to_owned()]);
        }
        if spec.kv_cache_fp8 {
            argv.extend(["--kv_cache_quantization".to_owned(), "fp8".to_owned()]);
        }
        if let Some(q) = spec.lm_head_quant {
            argv.extend(["--lm_head_quantization".to_owned(), q.as_str().to_owned()]);
        }
        if let Some(n) = spec.calib_samples {
            argv.extend(["--num_samples".to_owned(), n.to_string()]);
        }
        steps.push(Step {
            name: "quantize".into(),
            argv,
        });
        s(&out)
    } else {
        spec.model.clone()
    };
    steps.push(Step {
        name: "export".into(),
        argv: vec![
            "tensorrt-edgellm-export".to_owned(),
            export_input,
            s(&spec.work_dir.join("onnx")),
        ],
    });
    let l = spec.limits;
    steps.push(Step {
        name: "llm_build".into(),
        argv: vec![
            s(&spec.llm_build),
            format!("--onnxDir={}", s(&onnx_dir(&spec.work_dir))),
            format!("--engineDir={}", s(&spec.engine_dir)),
            format!("--maxInputLen={}", l.max_input_len),
            format!("--maxKVCacheCapacity={}", l.kv_capacity),
            format!("--maxBatchSize={}", l.max_batch),
        ],
    });
    Ok(steps)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(quant: EdgeQuant) -> BuildSpec {
        BuildSpec {
            model: "Qwen/Qwen3-0.6B".into(),
            work_dir: PathBuf::from("/w"),
            engine_dir: PathBuf::from("/e"),
            quant,
            kv_cache_fp8: false,
            lm_head_quant: None,
            calib_samples: None,
            limits: Limits {
                max_batch: 8,
                max_input_len: 1024,
                kv_capacity: 1152,
                kv_bytes: 0,
            },
            llm_build: PathBuf::from("/el/build/examples/llm/llm_build"),
        }
    }

    #[test]
    fn int4_awq_pipeline() {
        let steps = build_commands(&spec(EdgeQuant::Int4Awq)).unwrap();
        let names: Vec<&str> = steps.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["quantize", "export", "llm_build"]);
        assert_eq!(
            steps[0].argv,
            [
                "tensorrt-edgellm-quantize",
                "llm",
                "--model_dir",
                "Qwen/Qwen3-0.6B",
                "--output_dir",
                "/w/quantized",
                "--quantization",
                "int4_awq"
            ]
        );
        assert_eq!(
            steps[1].argv,
            ["tensorrt-edgellm-export", "/w/quantized", "/w/onnx"]
        );
        assert_eq!(
            steps[2].argv,
            [
                "/el/build/examples/llm/llm_build",
                "--onnxDir=/w/onnx/llm",
                "--engineDir=/e",
                "--maxInputLen=1024",
                "--maxKVCacheCapacity=1152",
                "--maxBatchSize=8"
            ]
        );
    }

    #[test]
    fn fp16_skips_quantize_unless_kv_fp8() {
        let steps = build_commands(&spec(EdgeQuant::Fp16)).unwrap();
        assert_eq!(steps.len(), 2);
        assert_eq!(steps[0].argv[1], "Qwen/Qwen3-0.6B");
        let mut sp = spec(EdgeQuant::Fp16);
        sp.kv_cache_fp8 = true;
        let steps = build_commands(&sp).unwrap();
        assert_eq!(steps[0].argv[6..], ["--kv_cache_quantization", "fp8"]);
    }

    #[test]
    fn orin_refuses_fp8_and_fp4() {
        let orin = (8, 7);
        assert!(check_quant_for_device(EdgeQuant::Int4Awq, false, orin).is_ok());
        let e = check_quant_for_device(EdgeQuant::Fp8, false, orin)
            .unwrap_err()
            .to_string();
        assert!(e.contains("8.9") && e.contains("8.7"), "{e}");
        assert!(check_quant_for_device(EdgeQuant::Nvfp4, false, (9, 0)).is_err());
        assert!(check_quant_for_device(EdgeQuant::Int4Awq, true, orin).is_err());
        assert!(check_quant_for_device(EdgeQuant::Nvfp4, true, (12, 0)).is_ok());
        assert_eq!(EdgeQuant::parse("INT4_AWQ").unwrap(), EdgeQuant::Int4Awq);
        assert!(EdgeQuant::parse("q4_0")
            .unwrap_err()
            .to_string()
            .contains("int4_awq"));
    }
}
