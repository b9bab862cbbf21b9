//! `trtbench load` as one worker of a fleet: `--shard i/n` (or `auto` in a Kubernetes
//! Indexed Job or a Slurm array), `--shards`, `--start-at`. Checked by `load` (the
//! spec's `shard`, `shards`, `start_at`), run by `client` (its `fleet` module splits each
//! level and merges the workers' files).

/// Flags of a fleet worker.
#[derive(Debug, Clone, clap::Args)]
pub struct FleetArgs {
    /// Run as worker i of n (1-based): send 1/n of each level's rate or concurrency and
    /// of its prompts, distinct from the other workers'. `auto` reads
    /// JOB_COMPLETION_INDEX (Kubernetes Indexed Job, with --shards) or
    /// SLURM_ARRAY_TASK_ID / _MIN / _COUNT (Slurm array). `report`/`compare` merge the
    /// workers' files.
    #[arg(long, value_name = "i/n|auto")]
    pub shard: Option<String>,
    /// Number of workers, with `--shard auto` under Kubernetes (the Job's completions).
    #[arg(long, value_name = "N")]
    pub shards: Option<usize>,
    /// Start the first level's measured phase at this instant (RFC 3339, e.g.
    /// 2026-11-30T15:00:00Z, or unix seconds), after warmup: the workers start together.
    #[arg(long, value_name = "TIME")]
    pub start_at: Option<String>,
}
