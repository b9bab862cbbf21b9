//! One integration-test binary (ripgrep's layout) to keep link time down.

mod any_model;
mod bad_input;
mod bad_input_load;
mod build;
mod cli;
mod fleet;
mod import;
mod layers;
mod load;
mod mlperf;
mod multi_turn;
mod peers;
mod perplexity;
mod report;
mod roofline;
mod server_tokenizer;
mod size;
mod spec;
mod spec_server;
mod support;
mod tls;
mod trt;
mod trt_spec;
mod util;
mod workload;
