//! Command-line interface: clap derive, one file per subcommand. Each subcommand turns
//! raw arguments into a validated plan, then calls the library. Errors map to exit codes
//! here and nowhere else.

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand};

pub mod build;
pub mod build_trt;
pub mod common;
pub mod compare;
pub mod env;
pub mod fetch;
pub mod inspect;
pub mod kv;
pub mod load;
pub mod report;
pub mod run;

/// LLM inference benchmark and engine runner.
#[derive(Debug, Parser)]
#[command(name = "trtbench", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Fetch the default model (SmolLM2-135M-Instruct Q4_1) into an engine directory.
    Fetch(fetch::Args),
    /// Run one benchmark point (engine × batch × input length × output length).
    Run(run::RunArgs),
    /// Sweep engines × batch sizes × input/output lengths.
    Sweep(run::SweepArgs),
    /// Build an engine: a GGUF quantization (llama.cpp) or a TensorRT Edge-LLM engine.
    Build(build::Args),
    /// KV-cache plan of an engine: bytes per token, totals, what fits in memory.
    Kv(kv::Args),
    /// Render results files (merging shards and devices) as Markdown, CSV, HTML, PNG.
    Report(report::Args),
    /// Compare two results files metric by metric, with a significance test and a CI gate.
    Compare(compare::Args),
    /// Print the hardware and software fingerprint, with advice on noise sources.
    Env(env::Args),
    /// Describe a TensorRT engine file: I/O tensors, profiles, memory (needs `tensorrt`).
    Inspect(inspect::Args),
    /// Benchmark an OpenAI-compatible server under concurrency levels or request rates.
    Load(Box<load::Args>),
}

/// A usage error found after parsing (bad combination of flags, bad file named by a flag).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Usage(pub String);

/// Exit code for an error: 2 for usage errors, 130 for an interruption (143 when it was
/// SIGTERM), 1 otherwise.
pub fn exit_code(err: &anyhow::Error) -> u8 {
    for cause in err.chain() {
        if cause.downcast_ref::<Usage>().is_some() {
            return 2;
        }
        if let Some(e) = cause.downcast_ref::<crate::Error>() {
            if matches!(e, crate::Error::Interrupted) {
                if common::TERMINATED.load(std::sync::atomic::Ordering::SeqCst) {
                    return 143;
                }
                return 130;
            }
            if e.is_usage() {
                return 2;
            }
        }
    }
    1
}

/// True when progress bars should be drawn (stderr is a terminal).
pub fn interactive() -> bool {
    std::io::stderr().is_terminal()
}

/// Entry point of the binary.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Fetch(a) => fetch::run(a),
        Command::Run(a) => run::run_one(a),
        Command::Sweep(a) => run::sweep(a),
        Command::Build(a) => build::run(a),
        Command::Kv(a) => kv::run(a),
        Command::Report(a) => report::run(a),
        Command::Compare(a) => compare::run(a),
        Command::Env(a) => env::run(a),
        Command::Inspect(a) => inspect::run(a),
        Command::Load(a) => load::run(*a),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // A closed stdout (`trtbench ... | head`) is not a failure.
            if e.chain().any(|c| {
                c.downcast_ref::<std::io::Error>()
                    .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            }) {
                return ExitCode::SUCCESS;
            }
            eprintln!("error: {e:#}");
            ExitCode::from(exit_code(&e))
        }
    }
}

/// Checks the clap definition (hyperfine's `verify_app`).
pub fn verify() {
    Cli::command().debug_assert();
}

#[cfg(test)]
mod tests {
    #[test]
    fn cli_definition_is_valid() {
        super::verify();
    }
}
