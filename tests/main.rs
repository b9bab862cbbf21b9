//! One integration-test binary (ripgrep's layout) to keep link time down.

mod build;
mod cli;
mod load;
mod report;
mod trt;
mod util;
