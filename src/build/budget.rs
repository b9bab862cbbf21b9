//! The one memory-budget policy for planning a KV cache: an explicit budget when the user
//! gives one, else a fraction of the memory available now (`MemAvailable`, read by
//! `platform`, the one reader), with where the number came from kept beside it so every
//! command can say so. Used by `trtbench kv` and `trtbench build --backend tensorrt`.
//! Depends on `platform` and `error` only.

use crate::error::{Error, Result};

/// Where the memory a budget is a fraction of came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BudgetSource {
    /// Given on the command line (the flag's name).
    Flag(&'static str),
    /// Linux `MemAvailable` (`/proc/meminfo`) at planning time.
    MemAvailable,
}

/// How a command turns "explicit or available memory" into a budget.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BudgetPolicy {
    /// The flag that gives an explicit amount (named in errors and as the source).
    pub flag: &'static str,
    /// Fraction of an explicit amount the budget is.
    pub explicit_fraction: f64,
    /// Fraction of `MemAvailable` the budget is when nothing explicit is given.
    pub available_fraction: f64,
}

/// A resolved budget.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MemoryBudget {
    /// The amount the budget is a fraction of.
    pub available_bytes: u64,
    pub source: BudgetSource,
    /// `budget_bytes / available_bytes`.
    pub fraction: f64,
    pub budget_bytes: u64,
}

impl BudgetPolicy {
    /// `trtbench kv`: `--mem-fraction` of `--budget`, else of `MemAvailable`.
    pub fn kv(mem_fraction: f64) -> Self {
        BudgetPolicy {
            flag: "--budget",
            explicit_fraction: mem_fraction,
            available_fraction: mem_fraction,
        }
    }

    /// `trtbench build --backend tensorrt`: `--mem-budget` as given, else half of
    /// `MemAvailable` (weights and activations need the rest).
    pub const EDGE_BUILD: BudgetPolicy = BudgetPolicy {
        flag: "--mem-budget",
        explicit_fraction: 1.0,
        available_fraction: 0.5,
    };

    /// The budget for `explicit_bytes`, else for the memory available now.
    pub fn resolve(&self, explicit_bytes: Option<u64>) -> Result<MemoryBudget> {
        let available = match explicit_bytes {
            Some(b) => Some(b),
            None => crate::platform::available_memory_bytes(),
        };
        self.resolve_with(explicit_bytes, available)
    }

    /// [`resolve`](Self::resolve) with the available memory given (`None`: unknown).
    pub fn resolve_with(
        &self,
        explicit_bytes: Option<u64>,
        mem_available_bytes: Option<u64>,
    ) -> Result<MemoryBudget> {
        let (available_bytes, source, fraction) = match explicit_bytes {
            Some(b) => (b, BudgetSource::Flag(self.flag), self.explicit_fraction),
            None => (
                mem_available_bytes.ok_or_else(|| {
                    Error::config(
                        self.flag,
                        format!("cannot read MemAvailable; pass {}", self.flag),
                    )
                })?,
                BudgetSource::MemAvailable,
                self.available_fraction,
            ),
        };
        // An exact fraction of 1 or ½ keeps the integer exact (no float rounding).
        let budget_bytes = if fraction == 1.0 {
            available_bytes
        } else if fraction == 0.5 {
            available_bytes / 2
        } else {
            (available_bytes as f64 * fraction) as u64
        };
        Ok(MemoryBudget {
            available_bytes,
            source,
            fraction,
            budget_bytes,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn explicit_wins_else_a_fraction_of_available() {
        let kv = BudgetPolicy::kv(0.9);
        let b = kv.resolve_with(Some(1000), Some(5000)).unwrap();
        assert_eq!(b.source, BudgetSource::Flag("--budget"));
        assert_eq!((b.available_bytes, b.budget_bytes), (1000, 900));
        let b = kv.resolve_with(None, Some(5000)).unwrap();
        assert_eq!(b.source, BudgetSource::MemAvailable);
        assert_eq!(b.budget_bytes, 4500);
        let b = BudgetPolicy::EDGE_BUILD
            .resolve_with(None, Some(5001))
            .unwrap();
        assert_eq!(b.budget_bytes, 2500);
        let b = BudgetPolicy::EDGE_BUILD
            .resolve_with(Some(7), None)
            .unwrap();
        assert_eq!(b.budget_bytes, 7);
        let e = kv.resolve_with(None, None).unwrap_err().to_string();
        assert!(e.contains("MemAvailable") && e.contains("--budget"), "{e}");
    }
}
