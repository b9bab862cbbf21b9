//! `trtbench doctor`: whether this machine can run the TensorRT / Edge-LLM path and what to
//! fix (`backends::trt::doctor`), and whether the llama.cpp engine was built with this CPU's
//! kernels. Exit 0 when nothing blocks, 1 when something does.

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
            let mark = match c.status {
                Status::Ok => "ok   ",
                Status::Warn => "warn ",
                Status::Block => "BLOCK",
            };
            println!("{mark} {:<26} {}", c.name, c.detail);
        }
    }
    if report.ready() {
        if !a.json {
            println!("ready: nothing blocks the TensorRT / Edge-LLM path");
        }
        Ok(())
    } else {
        anyhow::bail!("not ready: fix the BLOCK lines above")
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
