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
pub mod doctor;
pub mod env;
pub mod fetch;
pub mod import;
pub mod inspect;
pub mod kv;
pub mod load;
pub mod mlperf;
pub mod report;
pub mod run;

/// The help line of the hidden global `--device` flag, shown where it matters.
const DEVICE_HELP: &str = "GPU: --device N picks the CUDA device of the TensorRT / Edge-LLM \
path (an index after CUDA_VISIBLE_DEVICES; default 0).";

/// LLM inference benchmark and engine runner.
#[derive(Debug, Parser)]
#[command(name = "trtbench", version, about, long_about = None, after_help = DEVICE_HELP)]
pub struct Cli {
    /// CUDA device for the TensorRT / Edge-LLM path (engines, inspect, doctor, build):
    /// an index among the devices CUDA sees, i.e. after CUDA_VISIBLE_DEVICES. Accepted
    /// before or after any subcommand, shown only in the help of those it applies to.
    #[arg(
        long,
        global = true,
        default_value_t = 0,
        value_name = "N",
        hide = true
    )]
    pub device: u32,
    /// Let engine libraries log at INFO (Edge-LLM's runtime logs at WARNING otherwise).
    #[arg(long, global = true)]
    pub verbose: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Fetch the default model (SmolLM2-135M-Instruct Q4_1) into an engine directory.
    Fetch(fetch::Args),
    /// Run one benchmark point (engine × batch × input length × output length).
    #[command(after_help = DEVICE_HELP)]
    Run(run::RunArgs),
    /// Sweep engines × batch sizes × input/output lengths.
    #[command(after_help = DEVICE_HELP)]
    Sweep(run::SweepArgs),
    /// Build an engine: a GGUF quantization (llama.cpp) or a TensorRT Edge-LLM engine.
    #[command(after_help = DEVICE_HELP)]
    Build(build::Args),
    /// KV-cache plan of an engine: bytes per token, totals, what fits in memory.
    Kv(kv::Args),
    /// Render results files (merging shards and devices) as Markdown, CSV, HTML, PNG.
    Report(report::Args),
    /// Compare two results files metric by metric, with a significance test and a CI gate.
    Compare(compare::Args),
    /// Can this machine run the TensorRT / Edge-LLM path? Libraries, device, memory, Jetson
    /// power mode and clocks; exits 1 when something blocks.
    #[command(after_help = DEVICE_HELP)]
    Doctor(doctor::Args),
    /// Print the hardware and software fingerprint, with advice on noise sources.
    Env(env::Args),
    /// Describe a TensorRT engine file: I/O tensors, profiles, memory (needs `tensorrt`).
    #[command(after_help = DEVICE_HELP)]
    Inspect(inspect::Args),
    /// Benchmark an OpenAI-compatible server under concurrency levels or request rates.
    Load(Box<load::Args>),
    /// MLPerf LoadGen drives an engine: SingleStream, MultiStream, Offline or Server, with
    /// LoadGen's own logs (feature `mlperf`; not an MLPerf result).
    Mlperf(Box<mlperf::Args>),
    /// Import peers' results (llama-bench -o json) into a trtbench results file.
    Import(import::Args),
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

/// Says on stderr when an engine's manifest was derived from its GGUF (and where it was
/// cached, or that the directory is read-only), so a user knows why the first open hashed
/// the file.
pub fn note_derived(given: &std::path::Path, r: &crate::backends::Resolved) {
    use crate::backends::ManifestOrigin;
    if let ManifestOrigin::Derived { saved } = &r.origin {
        if r.manifest.backend == crate::engine::BackendKind::EdgeLlm {
            eprintln!(
                "note: {}: no manifest, derived it from Edge-LLM's config.json (nothing written)",
                given.display()
            );
            return;
        }
        let at = match saved {
            Some(p) => format!("cached in {}", p.display()),
            None => "not cached: the directory is not writable".into(),
        };
        eprintln!(
            "note: {}: no manifest, derived it from the GGUF (sha256 {}; {at})",
            given.display(),
            r.manifest
                .files
                .first()
                .map(|f| f.sha256.as_str())
                .unwrap_or("?")
        );
    }
}

/// True when progress bars should be drawn (stderr is a terminal).
pub fn interactive() -> bool {
    std::io::stderr().is_terminal()
}

/// Entry point of the binary.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    if cli.verbose {
        // Read by the Edge-LLM backend when it sets its logger's level; set before any
        // thread starts.
        std::env::set_var("TRTBENCH_EDGE_LLM_VERBOSE", "1");
    }
    crate::backends::trt::select_device(cli.device);
    let result = match cli.command {
        Command::Fetch(a) => fetch::run(a),
        Command::Run(a) => run::run_one(a),
        Command::Sweep(a) => run::sweep(a),
        Command::Build(a) => build::run(a),
        Command::Kv(a) => kv::run(a),
        Command::Report(a) => report::run(a),
        Command::Compare(a) => compare::run(a),
        Command::Doctor(a) => doctor::run(a),
        Command::Env(a) => env::run(a),
        Command::Inspect(a) => inspect::run(a),
        Command::Load(a) => load::run(*a),
        Command::Import(a) => import::run(a),
        Command::Mlperf(a) => mlperf::run(*a),
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
            eprintln!("error: {}", chain_text(&e));
            ExitCode::from(exit_code(&e))
        }
    }
}

/// An error and its causes on one line, `: `-separated, each cause left out when the
/// message before it already says it (our errors print their source in their own text,
/// so `{:#}` repeated it: "x.json: No such file or directory (os error 2): No such file
/// or directory (os error 2)").
pub fn chain_text(e: &anyhow::Error) -> String {
    let mut out = String::new();
    for cause in e.chain() {
        let text = cause.to_string();
        if out.contains(&text) {
            continue;
        }
        if !out.is_empty() {
            out.push_str(": ");
        }
        out.push_str(&text);
    }
    out
}

/// Checks the clap definition (hyperfine's `verify_app`).
pub fn verify() {
    Cli::command().debug_assert();
}

#[cfg(test)]
mod tests {
    use clap::{CommandFactory, Parser};

    #[test]
    fn cli_definition_is_valid() {
        super::verify();
    }

    #[test]
    fn an_error_says_each_cause_once() {
        let io = std::io::Error::new(std::io::ErrorKind::NotFound, "No such file or directory");
        let e = anyhow::Error::from(crate::Error::io("missing.json", io)).context("report");
        assert_eq!(
            super::chain_text(&e),
            "report: missing.json: No such file or directory"
        );
    }

    #[test]
    fn device_shows_only_where_it_applies_and_threads_must_be_positive() {
        let help = |sub: &str| {
            let mut c = super::Cli::command();
            c.find_subcommand_mut(sub)
                .unwrap()
                .render_help()
                .to_string()
        };
        assert!(help("sweep").contains("--device N"), "{}", help("sweep"));
        assert!(!help("load").contains("--device"), "{}", help("load"));
        assert!(!help("report").contains("--device"), "{}", help("report"));
        let parse = |args: &[&str]| super::Cli::try_parse_from(args);
        assert!(parse(&["trtbench", "sweep", "--device", "1"]).is_ok());
        assert!(parse(&["trtbench", "--device", "1", "sweep"]).is_ok());
        let e = parse(&["trtbench", "run", "--threads", "0"]).unwrap_err();
        assert!(e.to_string().contains("--threads"), "{e}");
    }
}
