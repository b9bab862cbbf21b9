//! Deterministic slicing of a sweep plan into `n` shards, so an external scheduler (Slurm
//! job arrays, Kubernetes indexed Jobs, a fleet of Jetsons) can run shard `i` of `n`
//! anywhere and `trtbench report` can merge the result files. Pure; depends on nothing.
//!
//! Numbering is **1-based**: `--shard 1/4` … `--shard 4/4`, as Playwright, Jest and Vitest
//! spell `--shard`. Schedulers that hand out 0-based indices (Kubernetes'
//! `JOB_COMPLETION_INDEX`, `SLURM_ARRAY_TASK_ID` with `--array=0-3`) add one:
//! `--shard $((JOB_COMPLETION_INDEX + 1))/4`.
//!
//! Each shard is a *contiguous* run of the plan (sizes differ by at most one, the first
//! `len % n` shards take the extra item), not a round-robin deal: plans are ordered
//! engine-major, so contiguous slices make each machine load as few engines as possible,
//! and concatenating shards 1..=n gives back the plan in its original order.
//!
//! `--shard auto` ([`ShardArg::Auto`]) reads the worker's index from the scheduler that
//! started it: `JOB_COMPLETION_INDEX` (a Kubernetes Indexed Job, 0-based; the count from
//! `--shards`, since Kubernetes does not export `completions`) or `SLURM_ARRAY_TASK_ID`
//! with `SLURM_ARRAY_TASK_MIN` and `SLURM_ARRAY_TASK_COUNT` (a Slurm job array of step 1).

use std::fmt;
use std::str::FromStr;

use crate::error::Error;

/// Shard `index` (1-based) of `count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShardSpec {
    index: usize,
    count: usize,
}

impl ShardSpec {
    /// A validated spec: `1 <= index <= count`.
    pub fn new(index: usize, count: usize) -> Result<Self, Error> {
        if count == 0 {
            return Err(Error::config(
                "--shard",
                "the shard count must be at least 1 (e.g. 1/4)",
            ));
        }
        if index == 0 {
            return Err(Error::config(
                "--shard",
                format!(
                    "shards are numbered 1..={count} (1-based, like Playwright's --shard); \
                     for a 0-based index such as Kubernetes' JOB_COMPLETION_INDEX pass index+1"
                ),
            ));
        }
        if index > count {
            return Err(Error::config(
                "--shard",
                format!("shard {index} does not exist: shards are numbered 1..={count}"),
            ));
        }
        Ok(ShardSpec { index, count })
    }

    /// 1-based index.
    pub fn index(self) -> usize {
        self.index
    }

    pub fn count(self) -> usize {
        self.count
    }

    /// The half-open range of plan positions this shard runs out of `len` items.
    pub fn range(self, len: usize) -> std::ops::Range<usize> {
        let (n, i) = (self.count, self.index - 1);
        let base = len / n;
        let extra = len % n;
        let start = i * base + i.min(extra);
        let size = base + usize::from(i < extra);
        start..start + size
    }
}

impl FromStr for ShardSpec {
    type Err = Error;

    /// Parses `i/n`, e.g. `2/8`.
    fn from_str(s: &str) -> Result<Self, Error> {
        let bad = || {
            Error::config(
                "--shard",
                format!("`{s}` is not of the form i/n with 1 <= i <= n (e.g. --shard 2/8)"),
            )
        };
        let (i, n) = s.trim().split_once('/').ok_or_else(bad)?;
        let i: usize = i.trim().parse().map_err(|_| bad())?;
        let n: usize = n.trim().parse().map_err(|_| bad())?;
        ShardSpec::new(i, n)
    }
}

impl fmt::Display for ShardSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// `--shard`: a fixed `i/n`, or `auto` (from the scheduler's environment).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShardArg {
    Fixed(ShardSpec),
    Auto,
}

impl FromStr for ShardArg {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        if s.trim() == "auto" {
            return Ok(ShardArg::Auto);
        }
        s.parse().map(ShardArg::Fixed)
    }
}

impl ShardArg {
    /// The shard this process runs. `shards` is `--shards` (the worker count, needed
    /// under Kubernetes); `env` reads an environment variable (`std::env::var` in the CLI).
    pub fn resolve(
        self,
        shards: Option<usize>,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<ShardSpec, Error> {
        let spec = match self {
            ShardArg::Fixed(s) => s,
            ShardArg::Auto => from_env(shards, &env)?,
        };
        if let Some(n) = shards.filter(|n| *n != spec.count) {
            return Err(Error::config(
                "--shards",
                format!("{n} workers given, but the shard is {spec}"),
            ));
        }
        Ok(spec)
    }
}

/// The shard a Kubernetes Indexed Job or a Slurm job array gave this process.
fn from_env(
    shards: Option<usize>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<ShardSpec, Error> {
    let num = |key: &str| -> Result<Option<usize>, Error> {
        env(key)
            .map(|v| {
                v.trim().parse::<usize>().map_err(|_| {
                    Error::config(
                        "--shard",
                        format!("auto: {key}={v:?} is not a whole number"),
                    )
                })
            })
            .transpose()
    };
    if let Some(i) = num("JOB_COMPLETION_INDEX")? {
        let n = shards.ok_or_else(|| {
            Error::config(
                "--shards",
                "--shard auto under Kubernetes (JOB_COMPLETION_INDEX is set) needs the \
                 worker count: pass --shards N (the Job's `completions`)",
            )
        })?;
        return ShardSpec::new(i + 1, n);
    }
    if let Some(id) = num("SLURM_ARRAY_TASK_ID")? {
        let min = num("SLURM_ARRAY_TASK_MIN")?.unwrap_or(0);
        let n = match (shards, num("SLURM_ARRAY_TASK_COUNT")?) {
            (Some(n), Some(c)) if n != c => {
                return Err(Error::config(
                    "--shards",
                    format!("{n} workers given, but SLURM_ARRAY_TASK_COUNT is {c}"),
                ))
            }
            (Some(n), _) | (None, Some(n)) => n,
            (None, None) => {
                return Err(Error::config(
                    "--shard",
                    "auto: SLURM_ARRAY_TASK_COUNT is not set; pass --shards N",
                ))
            }
        };
        let i = id.checked_sub(min).ok_or_else(|| {
            Error::config(
                "--shard",
                format!("auto: SLURM_ARRAY_TASK_ID {id} is below SLURM_ARRAY_TASK_MIN {min}"),
            )
        })?;
        return ShardSpec::new(i + 1, n);
    }
    Err(Error::config(
        "--shard",
        "auto: neither JOB_COMPLETION_INDEX (Kubernetes Indexed Job) nor SLURM_ARRAY_TASK_ID \
         (Slurm job array) is set; pass --shard i/n",
    ))
}

/// The items of shard `spec` out of `items`, in their original order.
pub fn shard<T>(items: Vec<T>, spec: ShardSpec) -> Vec<T> {
    let r = spec.range(items.len());
    items.into_iter().skip(r.start).take(r.len()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_and_validates() {
        let s: ShardSpec = "2/8".parse().unwrap();
        assert_eq!(
            (s.index(), s.count(), s.to_string()),
            (2, 8, "2/8".to_string())
        );
        for bad in ["0/4", "5/4", "1/0", "x/4", "3", "-1/4", "1/4/2"] {
            let e = bad.parse::<ShardSpec>().unwrap_err().to_string();
            assert!(e.contains("--shard"), "{bad}: {e}");
        }
        assert!("0/4"
            .parse::<ShardSpec>()
            .unwrap_err()
            .to_string()
            .contains("1-based"));
    }

    #[test]
    fn contiguous_and_balanced() {
        let items: Vec<u32> = (0..10).collect();
        let parts: Vec<Vec<u32>> = (1..=4)
            .map(|i| shard(items.clone(), ShardSpec::new(i, 4).unwrap()))
            .collect();
        assert_eq!(
            parts,
            vec![vec![0, 1, 2], vec![3, 4, 5], vec![6, 7], vec![8, 9]]
        );
        // more shards than items: the extra shards are empty, none is lost
        let parts: Vec<Vec<u32>> = (1..=3)
            .map(|i| shard(vec![7u32], ShardSpec::new(i, 3).unwrap()))
            .collect();
        assert_eq!(parts, vec![vec![7], vec![], vec![]]);
    }

    #[test]
    fn auto_reads_kubernetes_and_slurm() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| {
                pairs
                    .iter()
                    .find(|(n, _)| *n == k)
                    .map(|(_, v)| v.to_string())
            }
        };
        let k8s = env(&[("JOB_COMPLETION_INDEX", "2")]);
        assert_eq!(
            ShardArg::Auto.resolve(Some(3), k8s).unwrap().to_string(),
            "3/3"
        );
        let e = ShardArg::Auto.resolve(None, k8s).unwrap_err().to_string();
        assert!(e.contains("--shards"), "{e}");
        let slurm = env(&[
            ("SLURM_ARRAY_TASK_ID", "11"),
            ("SLURM_ARRAY_TASK_MIN", "10"),
            ("SLURM_ARRAY_TASK_COUNT", "4"),
        ]);
        assert_eq!(
            ShardArg::Auto.resolve(None, slurm).unwrap().to_string(),
            "2/4"
        );
        let e = ShardArg::Auto
            .resolve(Some(5), slurm)
            .unwrap_err()
            .to_string();
        assert!(e.contains("--shards"), "{e}");
        let none = env(&[]);
        let e = ShardArg::Auto.resolve(None, none).unwrap_err().to_string();
        assert!(e.contains("JOB_COMPLETION_INDEX"), "{e}");
        let bad = env(&[("JOB_COMPLETION_INDEX", "x")]);
        let e = ShardArg::Auto
            .resolve(Some(2), bad)
            .unwrap_err()
            .to_string();
        assert!(e.contains("JOB_COMPLETION_INDEX"), "{e}");
        let fixed: ShardArg = "2/5".parse().unwrap();
        assert_eq!(fixed.resolve(None, none).unwrap().to_string(), "2/5");
    }

    proptest! {
        #[test]
        fn shards_partition_the_plan(len in 0usize..200, n in 1usize..40) {
            let items: Vec<usize> = (0..len).collect();
            let mut joined = Vec::new();
            let mut sizes = Vec::new();
            for i in 1..=n {
                let part = shard(items.clone(), ShardSpec::new(i, n).unwrap());
                sizes.push(part.len());
                joined.extend(part);
            }
            prop_assert_eq!(joined, items);
            let (lo, hi) = (sizes.iter().min().unwrap(), sizes.iter().max().unwrap());
            prop_assert!(hi - lo <= 1);
        }
    }
}
