//! trtbench: build LLM inference engines, run them, time every phase, sweep
//! configurations and report.
//!
//! The crate is the library that the `trtbench` binary is a thin shell over, and that
//! robotics applications embed: open an engine directory with [`engine::open`], make a
//! [`engine::Session`] sized for a batch and a sequence length, prefill, decode with a
//! token callback and read per-phase timings. See `ARCHITECTURE.md` for the map.
#![deny(unsafe_code)]

pub mod backends;
pub mod bench;
pub mod build;
pub mod cli;
pub mod client;
#[cfg(feature = "tensorrt")]
pub mod cuda;
pub mod engine;
pub mod env;
pub mod error;
pub mod fetch;
pub mod gguf;
pub mod import;
pub mod load;
pub mod mlperf;
pub mod platform;
pub mod record;
pub mod report;
pub mod roofline;
pub mod stats;
pub mod units;
pub mod warning;

pub use error::{Error, Result};
