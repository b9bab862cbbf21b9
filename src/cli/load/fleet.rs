//! `trtbench load` as one worker of a fleet: `--shard i/n` (or `auto` in a Kubernetes
//! Indexed Job or a Slurm array), `--shards`, `--start-at`. Validated here, run by
//! `client` (its `fleet` module splits each level and merges the workers' files).

use std::time::SystemTime;

use anyhow::Result;

use crate::bench::shard::ShardArg;
use crate::client::fleet::{self, Worker};

/// Flags of a fleet worker.
#[derive(Debug, Clone, clap::Args)]
pub struct FleetArgs {
    /// Run as worker i of n (1-based): send 1/n of each level's rate or concurrency and
    /// of its prompts, distinct from the other workers'. `auto` reads
    /// JOB_COMPLETION_INDEX (Kubernetes Indexed Job, with --shards) or
    /// SLURM_ARRAY_TASK_ID / _MIN / _COUNT (Slurm array). `report`/`compare` merge the
    /// workers' files.
    #[arg(long, value_name = "i/n|auto")]
    pub shard: Option<ShardArg>,
    /// Number of workers, with `--shard auto` under Kubernetes (the Job's completions).
    #[arg(long, value_name = "N")]
    pub shards: Option<usize>,
    /// Start the first level's measured phase at this instant (RFC 3339, e.g.
    /// 2026-11-30T15:00:00Z, or unix seconds), after warmup: the workers start together.
    #[arg(long, value_name = "TIME")]
    pub start_at: Option<String>,
}

/// The worker this process is, and when it starts.
pub struct Fleet {
    pub worker: Option<Worker>,
    pub start_at: Option<SystemTime>,
}

impl FleetArgs {
    /// Checks the flags; `search` is `--find-max-rate` (whose probes a worker cannot judge
    /// alone).
    pub fn validate(&self, search: bool) -> Result<Fleet> {
        if self.shards.is_some() && self.shard.is_none() {
            return Err(super::usage("--shards needs --shard auto (or i/n)"));
        }
        let worker = self
            .shard
            .map(|s| s.resolve(self.shards, |k| std::env::var(k).ok()))
            .transpose()?
            .map(|s| Worker {
                index: s.index(),
                count: s.count(),
            });
        if worker.is_some() && search {
            return Err(super::usage(
                "--shard: --find-max-rate judges each probe on one client's results; run the \
                 workers at fixed --rate levels and merge them with `trtbench report`",
            ));
        }
        let start_at = self
            .start_at
            .as_deref()
            .map(|s| fleet::parse_start_at(s, SystemTime::now()))
            .transpose()?;
        Ok(Fleet { worker, start_at })
    }
}
