//! `trtbench`: parse, validate, run, map errors to exit codes (0 ok, 1 run failure,
//! 2 bad usage, 130 interrupted). Everything else lives in the library.

use std::process::ExitCode;

fn main() -> ExitCode {
    trtbench::cli::main()
}
