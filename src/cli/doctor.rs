//! `trtbench doctor`: whether this machine can run the TensorRT / Edge-LLM path and what to
//! fix (`backends::trt::doctor`). Exit 0 when nothing blocks, 1 when something does.

use std::path::PathBuf;

use crate::backends::trt::doctor::{doctor, Inputs, Status};

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
    let report = doctor(&inputs);
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
