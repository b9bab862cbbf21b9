//! Where a load run's prompts come from: a dataset file, random exact-length prompts from
//! a local tokenizer, the server's own `/tokenize`, or a workload (shared prefix, trace,
//! conversations of several turns, whose turns come from either tokenizer).

use std::time::Duration;

use crate::client;
use crate::client::prompts::{self, Length, PromptMaker, Source};
use crate::error::Result;

use super::check::{file_err, Checked};
use super::spec::{LoadSpec, Names, DEFAULT_OSL};
use super::tokenizer::{self, FromServer};

/// The API key the spec's `api_key_env` names, when it is set and not empty.
pub(crate) fn api_key(s: &LoadSpec) -> Option<String> {
    std::env::var(&s.api_key_env).ok().filter(|k| !k.is_empty())
}

/// Where the server's tokenizer is reached (as `client::run_load` reaches the server).
fn target_options(s: &LoadSpec, c: &Checked) -> client::http::TargetOptions {
    client::http::TargetOptions {
        base_url: c.url.clone(),
        endpoint: s.endpoint,
        api_key: api_key(s),
        headers: c.headers.clone(),
        connect_timeout: Duration::from_secs(10),
        pool_size: 16,
        tls: client::http::TlsOptions {
            cacert: s.cacert.clone(),
            insecure: s.insecure,
        },
        kernel_timestamps: true,
        idle_timeout: None,
    }
}

/// The prompts' source of a checked spec (contacting the server when its tokenizer is
/// the one to use).
pub(crate) fn source(s: &LoadSpec, c: &Checked, n: Names) -> Result<Source> {
    let tok = s
        .tokenizer
        .as_deref()
        .map(|p| tokenizer::load(p).map_err(|e| file_err(n, "tokenizer", p, e)))
        .transpose()?;
    let maker = tok
        .map(|t| PromptMaker::new(t).map_err(|e| n.err("tokenizer", e.to_string())))
        .transpose()?;
    if s.dataset.is_some() && (c.shared_prefix.is_some() || c.multi_turn.is_some()) {
        return Err(n.err(
            "dataset",
            format!(
                "{} {} makes its own prompts: drop {}",
                n.of("workload"),
                if c.multi_turn.is_some() {
                    "multi-turn"
                } else {
                    "shared-prefix"
                },
                n.of("dataset")
            ),
        ));
    }
    let first = single(s, c, n, maker)?;
    Ok(match c.multi_turn {
        Some(spec) => Source::MultiTurn {
            first: Box::new(first),
            spec,
        },
        None => first,
    })
}

/// The source of single prompts (a multi-turn source's first turns).
fn single(s: &LoadSpec, c: &Checked, n: Names, maker: Option<PromptMaker>) -> Result<Source> {
    let len = |mean: u64, spread: f64| Length { mean, spread };
    if let Some(path) = &s.dataset {
        return Ok(Source::File {
            entries: prompts::read_file(path).map_err(|e| file_err(n, "dataset", path, e))?,
            maker,
            osl: s.osl.map(|o| len(o, s.osl_spread)),
            prefix_tokens: s.prefix_tokens,
        });
    }
    let (isl, osl) = (
        len(s.isl, s.isl_spread),
        len(s.osl.unwrap_or(DEFAULT_OSL), s.osl_spread),
    );
    let maker = match maker {
        Some(maker) => maker,
        // No local tokenizer: the server's own /tokenize makes and counts the prompts.
        None if c.shared_prefix.is_none() && c.trace.is_none() => {
            match tokenizer::from_server(target_options(s, c), s.model.clone(), n)? {
                FromServer::Endpoint(tok) => {
                    return Ok(Source::Server {
                        tok: *tok,
                        isl,
                        osl,
                    })
                }
                FromServer::Served(tok) => PromptMaker::new(tok).map_err(|e| {
                    n.err(
                        "tokenizer",
                        format!("the served directory's tokenizer.json: {e}"),
                    )
                })?,
            }
        }
        None => {
            return Err(n.err(
                "tokenizer",
                format!(
                    "{} shared-prefix and {} make prompts of exact length with a local \
                     tokenizer: give {} <model.gguf | tokenizer.json>",
                    n.of("workload"),
                    n.of("trace"),
                    n.of("tokenizer")
                ),
            ))
        }
    };
    Ok(match (c.shared_prefix, &c.trace) {
        (_, Some(t)) => Source::Trace {
            maker,
            trace: t.clone(),
        },
        (Some(sp), None) => Source::SharedPrefix {
            maker,
            spec: sp,
            isl,
            osl,
        },
        (None, None) => Source::Random { maker, isl, osl },
    })
}
