//! One integration-test binary (ripgrep's layout) to keep link time down.

mod build;
mod cli;
mod layers;
mod load;
mod report;
mod roofline;
mod support;
mod trt;
mod util;
