//! Workloads, the runner, sweep plans, statistics and the memory sampler. Uses engines
//! only through the `engine` traits and writes `record` types; knows no backend.

pub mod bootstrap;
pub mod sampler;
pub mod samples;
pub mod shard;
pub mod stats;
