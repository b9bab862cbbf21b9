//! One integration-test binary (ripgrep's layout) to keep link time down.

mod bad_input_load;
mod build;
mod cli;
mod layers;
mod load;
mod report;
mod support;
mod trt;
mod util;
