//! Command-line interface: clap derive, one file per subcommand. Each subcommand turns
//! raw arguments into a validated plan, then calls the library. Errors map to exit codes
//! here and nowhere else.

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand};

pub mod common;
pub mod fetch;
pub mod load;
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
    /// Benchmark an OpenAI-compatible server under concurrency levels or request rates.
    Load(Box<load::Args>),
}

/// A usage error found after parsing (bad combination of flags, bad file named by a flag).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Usage(pub String);

/// Exit code for an error: 2 for usage errors, 130 for an interruption, 1 otherwise.
pub fn exit_code(err: &anyhow::Error) -> u8 {
    for cause in err.chain() {
        if cause.downcast_ref::<Usage>().is_some() {
            return 2;
        }
        if let Some(e) = cause.downcast_ref::<crate::Error>() {
            if matches!(e, crate::Error::Interrupted) {
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
