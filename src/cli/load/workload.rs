//! `trtbench load` workloads beyond independent random prompts: `--workload
//! shared-prefix` (`--prefixes`, `--prefix-len`), `--workload multi-turn` (`--turns`,
//! `--turn-len`, `--think-time`, `--conversations`) and trace replay (`--trace`,
//! `--trace-speed`). Validated here into a `client::prompts::Source`.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context as _, Result};

use crate::client::conversation::MultiTurn;
use crate::client::trace::{self, Trace};

use crate::client::prompts::{Length, PromptMaker, Source};
use crate::client::shared_prefix::SharedPrefix;

/// What the prompts look like.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Kind {
    /// Independent random prompts, each starting differently (no prefix-cache hits).
    Random,
    /// --prefixes system prompts of --prefix-len tokens, each shared by many requests,
    /// then a unique suffix (total --isl): what a prefix cache buys.
    SharedPrefix,
    /// Conversations of --turns turns: each turn sends the whole history (earlier user
    /// texts and the server's replies) plus --turn-len new tokens, once the previous reply
    /// has arrived. --concurrency counts conversations in flight.
    MultiTurn,
}

/// Workload flags.
#[derive(Debug, Clone, clap::Args)]
pub struct WorkloadArgs {
    #[arg(long, value_enum, default_value = "random")]
    pub workload: Kind,
    /// With --workload shared-prefix: the number of distinct prefixes.
    #[arg(long, default_value_t = 4)]
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
    #[arg(long, default_value_t = 1.0)]
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

impl WorkloadArgs {
    /// The shared-prefix shape, when asked for (checked against `isl`).
    pub fn shared_prefix(&self, isl: u64) -> Result<Option<SharedPrefix>> {
        if self.workload != Kind::SharedPrefix {
            if self.prefix_len.is_some() {
                return Err(super::usage("--prefix-len needs --workload shared-prefix"));
            }
            return Ok(None);
        }
        let prefix_len = self.prefix_len.ok_or_else(|| {
            super::usage("--workload shared-prefix needs --prefix-len P (tokens of each prefix)")
        })?;
        if self.prefixes == 0 || prefix_len == 0 {
            return Err(super::usage(
                "--prefixes and --prefix-len must be at least 1",
            ));
        }
        if prefix_len >= isl {
            return Err(super::usage(format!(
                "--prefix-len {prefix_len} leaves no room for a unique suffix in --isl {isl}"
            )));
        }
        Ok(Some(SharedPrefix {
            prefixes: self.prefixes,
            prefix_len,
        }))
    }

    /// The multi-turn shape, when asked for; its flags are refused without it.
    pub fn multi_turn(&self, isl: u64) -> Result<Option<MultiTurn>> {
        if self.workload != Kind::MultiTurn {
            let given = [
                ("--turns", self.turns.is_some()),
                ("--turn-len", self.turn_len.is_some()),
                ("--think-time", self.think_time.is_some()),
                ("--conversations", self.conversations.is_some()),
            ];
            if let Some((flag, _)) = given.iter().find(|(_, g)| *g) {
                return Err(super::usage(format!("{flag} needs --workload multi-turn")));
            }
            return Ok(None);
        }
        let turns = self.turns.unwrap_or(4);
        if turns == 0 {
            return Err(super::usage("--turns must be at least 1"));
        }
        let turn_len = self.turn_len.unwrap_or(isl);
        if turn_len == 0 {
            return Err(super::usage("--turn-len must be at least 1"));
        }
        if self.conversations == Some(0) {
            return Err(super::usage("--conversations must be at least 1"));
        }
        let think = match &self.think_time {
            Some(t) if crate::client::metrics::parse_ms(t) == Some(0.0) => Duration::ZERO,
            Some(t) => super::duration_flag("--think-time", t)?,
            None => Duration::ZERO,
        };
        Ok(Some(MultiTurn {
            turns,
            turn_len,
            think,
        }))
    }

    /// The trace to replay, read and checked, when `--trace` is given.
    pub fn trace(&self) -> Result<Option<Trace>> {
        let speed_ok = self.trace_speed.is_finite() && (1e-3..=1e6).contains(&self.trace_speed);
        if !speed_ok {
            return Err(super::usage(format!(
                "--trace-speed {} must be between 0.001 and 1000000",
                self.trace_speed
            )));
        }
        let Some(path) = &self.trace else {
            if self.trace_speed != 1.0 {
                return Err(super::usage("--trace-speed needs --trace FILE"));
            }
            return Ok(None);
        };
        if self.workload != Kind::Random {
            return Err(super::usage("--trace sets the lengths: drop --workload"));
        }
        let t = trace::read(path, self.trace_speed)
            .with_context(|| format!("--trace {}", path.display()))?;
        Ok(Some(t))
    }

    /// The source of a shared-prefix workload.
    pub fn source(sp: SharedPrefix, maker: PromptMaker, isl: Length, osl: Length) -> Source {
        Source::SharedPrefix {
            maker,
            spec: sp,
            isl,
            osl,
        }
    }
}
