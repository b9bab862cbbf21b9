//! Whole engine benchmarks: sweep plans, the corpus prompts are cut from, the point runner,
//! perplexity, shards and the background memory/power monitor. Uses engines only through
//! the `engine` traits and writes `record` types; knows no backend. Statistics live in
//! `stats`, machine readers in `platform`.

pub mod corpus;
pub mod monitor;
pub mod plan;
pub mod quality;
pub mod runner;
pub mod shard;
