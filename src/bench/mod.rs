//! Whole engine benchmarks: sweeps as one library call ([`sweep::Sweep`]), sweep plans,
//! the corpus prompts are cut from, the point runner, perplexity, shards and the
//! background memory/power monitor. Uses engines through the `engine` traits and writes
//! `record` types; only `sweep` reaches into `backends`, to open engine directories by
//! their manifest and fingerprint the machine. Never uses `cli`, `client` or `report`.
//! Statistics live in `stats`, machine readers in `platform`.

pub mod corpus;
pub mod depth;
pub mod draft;
pub mod monitor;
pub mod plan;
pub mod quality;
pub mod roofline;
pub mod runner;
pub mod runs_out;
pub mod shard;
pub mod spec;
pub mod sweep;
