//! Workloads, the runner, sweep plans, statistics and the memory sampler. Uses engines
//! only through the `engine` traits and writes `record` types; knows no backend.

pub mod bootstrap;
pub mod memory;
pub mod plan;
pub mod quality;
pub mod runner;
pub mod sampler;
pub mod samples;
pub mod shard;
pub mod stats;
pub mod workload;
