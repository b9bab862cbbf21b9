//! Where `load`'s prompts come from: a dataset file, random exact-length prompts from a
//! local tokenizer, the server's own `/tokenize`, or a workload (shared prefix, trace,
//! conversations of several turns, whose turns come from either tokenizer).

use std::time::Duration;

use anyhow::{Context as _, Result};

use super::{usage, workload, Args, Validated};
use crate::client;
use crate::client::prompts::{self, Length, PromptMaker, Source};

/// Where the server's tokenizer is reached (as `client::run_load` reaches the server).
pub(super) fn target_options(
    a: &Args,
    headers: &[(String, String)],
) -> client::http::TargetOptions {
    client::http::TargetOptions {
        base_url: a.url.clone(),
        endpoint: a.endpoint,
        api_key: std::env::var(&a.api_key_env).ok().filter(|k| !k.is_empty()),
        headers: headers.to_vec(),
        connect_timeout: Duration::from_secs(10),
        pool_size: 16,
        tls: client::http::TlsOptions {
            cacert: a.cacert.clone(),
            insecure: a.insecure,
        },
        kernel_timestamps: true,
        idle_timeout: None,
    }
}

pub(super) fn source(a: &Args, v: &Validated) -> Result<Source> {
    let tok = a
        .tokenizer
        .as_deref()
        .map(|p| {
            super::super::tokenizer::load(p).with_context(|| format!("--tokenizer {}", p.display()))
        })
        .transpose()?;
    let maker = tok
        .map(|t| PromptMaker::new(t).context("--tokenizer"))
        .transpose()?;
    if a.dataset.is_some() && (v.shared_prefix.is_some() || v.multi_turn.is_some()) {
        return Err(usage(format!(
            "--workload {} makes its own prompts: drop --dataset",
            if v.multi_turn.is_some() {
                "multi-turn"
            } else {
                "shared-prefix"
            }
        )));
    }
    let first = source_single(a, v, maker)?;
    Ok(match v.multi_turn {
        Some(spec) => Source::MultiTurn {
            first: Box::new(first),
            spec,
        },
        None => first,
    })
}

/// The source of single prompts (a multi-turn source's first turns).
fn source_single(a: &Args, v: &Validated, maker: Option<PromptMaker>) -> Result<Source> {
    let len = |mean: u64, spread: f64| Length { mean, spread };
    match &a.dataset {
        Some(path) => Ok(Source::File {
            entries: prompts::read_file(path)
                .with_context(|| format!("--dataset {}", path.display()))?,
            maker,
            osl: a.osl.map(|o| len(o, a.osl_spread)),
            prefix_tokens: a.prefix_tokens,
        }),
        None => {
            let (isl, osl) = (
                len(a.isl, a.isl_spread),
                len(a.osl.unwrap_or(128), a.osl_spread),
            );
            let maker =
                match maker {
                    Some(maker) => maker,
                    // No local tokenizer: the server's own /tokenize makes and counts the prompts.
                    None if v.shared_prefix.is_none() && v.trace.is_none() => {
                        use super::super::tokenizer::{from_server, FromServer};
                        match from_server(target_options(a, &v.headers), a.model.clone())? {
                            FromServer::Endpoint(tok) => {
                                return Ok(Source::Server {
                                    tok: *tok,
                                    isl,
                                    osl,
                                })
                            }
                            FromServer::Served(tok) => PromptMaker::new(tok)
                                .context("the served directory's tokenizer.json")?,
                        }
                    }
                    None => return Err(usage(
                        "--workload shared-prefix and --trace make prompts of exact length with a \
                         local tokenizer: pass --tokenizer <model.gguf | tokenizer.json>",
                    )),
                };
            Ok(match (v.shared_prefix, &v.trace) {
                (_, Some(t)) => Source::Trace {
                    maker,
                    trace: t.clone(),
                },
                (Some(sp), None) => workload::WorkloadArgs::source(sp, maker, isl, osl),
                (None, None) => Source::Random { maker, isl, osl },
            })
        }
    }
}
