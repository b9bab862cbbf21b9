//! `trtbench load` workloads beyond independent random prompts: `--workload
//! shared-prefix` (`--prefixes`, `--prefix-len`), `--workload multi-turn` (`--turns`,
//! `--turn-len`, `--think-time`, `--conversations`) and trace replay (`--trace`,
//! `--trace-speed`). Checked by `load` (the spec's fields of the same names).

use std::path::PathBuf;

use crate::load::{Kind, LoadSpec};

/// Workload flags.
#[derive(Debug, Clone, clap::Args)]
pub struct WorkloadArgs {
    #[arg(long, value_enum, default_value_t = LoadSpec::default().workload)]
    pub workload: Kind,
    /// With --workload shared-prefix: the number of distinct prefixes.
    #[arg(long, default_value_t = LoadSpec::default().prefixes)]
    pub prefixes: usize,
    /// With --workload shared-prefix: tokens of each prefix (part of --isl).
    #[arg(long)]
    pub prefix_len: Option<u64>,
    /// Replay a trace: arrival times and lengths from Mooncake JSON Lines (timestamp ms,
    /// input_length, output_length) or a BurstGPT CSV (Timestamp s, Request tokens,
    /// Response tokens). One open-loop level; needs --tokenizer.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["dataset", "concurrency", "rate"])]
    pub trace: Option<PathBuf>,
    /// With --trace: replay speed (2 sends twice as fast as recorded).
    #[arg(long, default_value_t = LoadSpec::default().trace_speed)]
    pub trace_speed: f64,
    /// With --workload multi-turn: turns per conversation [default: 4].
    #[arg(long)]
    pub turns: Option<usize>,
    /// With --workload multi-turn: tokens of new user text in each turn after the first
    /// (the first has --isl) [default: --isl].
    #[arg(long)]
    pub turn_len: Option<u64>,
    /// With --workload multi-turn: pause between a reply and the next turn (e.g. 2s).
    #[arg(long)]
    pub think_time: Option<String>,
    /// With --workload multi-turn: conversations per level (default: enough for
    /// max(100, 4 × concurrency) requests).
    #[arg(long)]
    pub conversations: Option<usize>,
}
