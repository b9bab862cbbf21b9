//! `trtbench doctor`: whether this machine can run an engine, and what to fix. For a
//! llama.cpp engine (`--engine` naming one): its files, the memory it needs and whether it
//! was built with this CPU's kernels, on the CPU, with no GPU or TensorRT involved.
//! Otherwise the TensorRT / Edge-LLM path (`backends::trt::doctor`) and the llama.cpp
//! kernels line. Exit codes: 0 the engine (or the GPU path) can run, 1 something blocks it
//! (the BLOCK lines say what), 2 bad input (an engine that does not exist or cannot be
//! read).

use std::path::{Path, PathBuf};

use crate::backends::trt::doctor::{doctor, Check, Inputs, Status};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Engine directory to check the device and memory against.
    #[arg(long, short = 'e')]
    pub engine: Option<PathBuf>,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
    /// Read procfs/sysfs under this directory instead of `/` (a copy of another machine's
    /// tree); the live device is then not queried.
    #[arg(long, hide = true)]
    pub root: Option<PathBuf>,
    /// Directories to search for the libraries instead of this machine's (repeatable).
    #[arg(long = "lib-dir", hide = true)]
    pub lib_dirs: Vec<PathBuf>,
}

pub fn run(a: Args) -> anyhow::Result<()> {
    if let Some(e) = &a.engine {
        let r = crate::backends::resolve(e)?;
        if r.manifest.backend == crate::engine::BackendKind::LlamaCpp {
            return llama_cpp(&a, &r);
        }
    }
    let mut inputs = Inputs::this_machine(a.engine);
    if let Some(root) = a.root {
        inputs.root = root;
        inputs.live = false;
    }
    if !a.lib_dirs.is_empty() {
        inputs.lib_dirs = a.lib_dirs;
    }
    let mut report = doctor(&inputs);
    report.checks.push(engine_build(
        &inputs.root,
        inputs.live,
        &crate::backends::llama::system_info(),
    ));
    if a.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        for c in &report.checks {
            println!("{} {:<26} {}", mark(c.status), c.name, c.detail);
        }
    }
    if report.ready() {
        if !a.json {
            println!("ready: nothing blocks the TensorRT / Edge-LLM path");
        }
        Ok(())
    } else {
        if !a.json {
            println!(
                "this machine cannot run the TensorRT / Edge-LLM (GPU) path as it is. llama.cpp \
                 engines run on its CPU without it: `trtbench doctor --engine DIR` checks one"
            );
        }
        anyhow::bail!("not ready for the GPU path: fix the BLOCK lines above")
    }
}

/// A llama.cpp engine's checks: its files as its manifest lists them, and the memory its
/// weights need against what is available. No GPU, driver or TensorRT is involved.
fn llama_cpp_checks(a: &Args, r: &crate::backends::Resolved) -> Vec<Check> {
    let mut checks = vec![Check {
        name: "backend",
        status: Status::Ok,
        detail: format!(
            "{} is a llama.cpp engine: it runs on the CPU (this build: {}); no GPU, CUDA or \
             TensorRT is needed",
            r.manifest.name,
            if cfg!(feature = "cuda") {
                "llama.cpp with CUDA"
            } else {
                "llama.cpp on CPU"
            }
        ),
    }];
    let files = r.manifest.check_files(&r.dir);
    checks.push(Check {
        name: "engine files",
        status: if files.is_ok() {
            Status::Ok
        } else {
            Status::Block
        },
        detail: match &files {
            Ok(()) => format!(
                "{} file(s) present with their recorded sizes in {}",
                r.manifest.files.len(),
                r.dir.display()
            ),
            Err(e) => e.to_string(),
        },
    });
    let weights: u64 = r.manifest.files.iter().map(|f| f.bytes).sum();
    let root = a.root.clone().unwrap_or_else(|| PathBuf::from("/"));
    let available = std::fs::read_to_string(root.join("proc/meminfo"))
        .ok()
        .and_then(|t| crate::platform::MemInfo::parse(&t).ok())
        .map(|m| m.available_bytes);
    checks.push(match available {
        Some(av) => Check {
            name: "memory",
            status: if weights < av {
                Status::Ok
            } else {
                Status::Block
            },
            detail: format!(
                "weights {} of {} available (MemAvailable); the KV cache adds per token \
                 what `trtbench kv` shows",
                crate::units::human_bytes(weights),
                crate::units::human_bytes(av)
            ),
        },
        None => Check {
            name: "memory",
            status: Status::Warn,
            detail: "MemAvailable could not be read".into(),
        },
    });
    checks
}

/// The llama.cpp engine's report; exit 0 when nothing blocks it.
fn llama_cpp(a: &Args, r: &crate::backends::Resolved) -> anyhow::Result<()> {
    let mut checks = llama_cpp_checks(a, r);
    let root = a.root.clone().unwrap_or_else(|| PathBuf::from("/"));
    checks.push(engine_build(
        &root,
        a.root.is_none(),
        &crate::backends::llama::system_info(),
    ));
    let ready = checks.iter().all(|c| c.status != Status::Block);
    if a.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "engine": r.manifest.name,
                "backend": "llama.cpp",
                "ready": ready,
                "checks": checks,
            }))?
        );
    } else {
        for c in &checks {
            println!("{} {:<26} {}", mark(c.status), c.name, c.detail);
        }
    }
    if ready {
        if !a.json {
            println!("ready: {} can run here", r.manifest.name);
        }
        Ok(())
    } else {
        anyhow::bail!("not ready: fix the BLOCK lines above")
    }
}

fn mark(s: Status) -> &'static str {
    match s {
        Status::Ok => "ok   ",
        Status::Warn => "warn ",
        Status::Block => "BLOCK",
    }
}

/// Whether the llama.cpp build this binary links has the CPU kernels this machine's CPU has
/// (the `warning::Warning::BuildLacksCpuFeatures` of a results file): the CPU as it reports
/// itself when live, its /proc/cpuinfo under `root` otherwise.
pub fn engine_build(root: &Path, live: bool, system_info: &str) -> Check {
    let cpu = if live {
        crate::env::detected_ggml_features()
    } else {
        crate::env::cpuinfo_ggml_features(
            &crate::platform::read_at(root, "/proc/cpuinfo").unwrap_or_default(),
        )
    };
    let build = crate::env::ggml_build_features(system_info);
    let missing = crate::warning::missing_build_features(&cpu, &build);
    let (status, detail) = if missing.is_empty() {
        (Status::Ok, format!("built with {}", build.join(", ")))
    } else {
        (
            Status::Warn,
            crate::warning::Warning::BuildLacksCpuFeatures { missing }.to_string(),
        )
    };
    Check {
        name: "llama.cpp CPU kernels",
        status,
        detail,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn engine_build_check_against_an_orin() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("proc")).unwrap();
        std::fs::write(
            dir.path().join("proc/cpuinfo"),
            include_str!("../../tests/fixtures/aarch64/orin-cpuinfo.txt"),
        )
        .unwrap();
        let armv8 = "CPU : NEON = 1 | ARM_FMA = 1 | LLAMAFILE = 1 | OPENMP = 1 | REPACK = 1 | ";
        let c = engine_build(dir.path(), false, armv8);
        assert_eq!(c.status, Status::Warn);
        assert!(
            c.detail.contains("without FP16_VA, DOTPROD"),
            "{}",
            c.detail
        );
        let orin = "CPU : NEON = 1 | ARM_FMA = 1 | FP16_VA = 1 | DOTPROD = 1 | OPENMP = 1 | ";
        let c = engine_build(dir.path(), false, orin);
        assert_eq!(c.status, Status::Ok);
        assert_eq!(c.detail, "built with NEON, FP16_VA, DOTPROD");
    }
}
