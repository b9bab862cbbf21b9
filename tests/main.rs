//! One integration-test binary (ripgrep's layout) to keep link time down.

mod any_model;
mod build;
mod cli;
mod import;
mod layers;
mod load;
mod report;
mod roofline;
mod support;
mod tls;
mod trt;
mod util;
