//! The `tokenizer` of a load spec, and the server's own tokenizer when there is none
//! (`from_server`). A GGUF (or a directory holding one and no
//! `tokenizer.json`) goes through llama.cpp's own tokenizer loaded vocab-only, so every
//! vocabulary type llama.cpp supports works exactly; a `tokenizer.json` or a Hugging Face
//! model directory goes through `client::tokenizer`. The llama.cpp side is wired here
//! because `client` never depends on `backends`.

use std::path::Path;
use std::sync::Arc;

use crate::backends::llama::VocabModel;
use crate::client::http::TargetOptions;
use crate::client::server_tok::ServerTok;
use crate::client::tokenizer::{Tok, Vocab};
use crate::error::Result;

use super::spec::Names;

struct LlamaVocab(VocabModel);

impl Vocab for LlamaVocab {
    fn encode(&self, text: &str, add_special: bool) -> Result<Vec<u32>, String> {
        Ok(self.0.tokenize(text, add_special))
    }
    fn decode(&self, ids: &[u32], skip_special: bool) -> Result<String, String> {
        Ok(self.0.detokenize(ids, skip_special))
    }
    fn vocab_size(&self) -> u32 {
        self.0.n_vocab()
    }
    fn special_ids(&self) -> std::collections::HashSet<u32> {
        (0..self.0.n_vocab())
            .filter(|&id| self.0.is_control(id))
            .collect()
    }
}

/// Loads the tokenizer at `path`.
pub fn load(path: &Path) -> Result<Tok> {
    let gguf = if path.is_dir() && !path.join("tokenizer.json").is_file() {
        // An engine directory or a directory holding one GGUF.
        let r = crate::backends::resolve(path)?;
        Some(r.manifest.primary_file(&r.dir))
    } else if path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("gguf"))
    {
        Some(path.to_owned())
    } else {
        None
    };
    match gguf {
        Some(g) => {
            let v = VocabModel::load(&g)?;
            let source = format!("{} (llama.cpp {} vocabulary)", g.display(), v.vocab_type());
            Ok(Tok::from_vocab(Arc::new(LlamaVocab(v)), source))
        }
        None => Tok::load(path),
    }
}

/// Fails, naming the URL, when nothing listens at its host and port: a server that is not
/// running is not a tokenizer problem (the advice to give a tokenizer would mislead).
fn reachable(url: &str, n: Names) -> Result<()> {
    let Ok(parsed) = reqwest::Url::parse(url) else {
        return Err(n.err(
            "url",
            format!("{url}: not a URL (e.g. http://127.0.0.1:8080/v1)"),
        ));
    };
    let addrs = parsed.socket_addrs(|| None).unwrap_or_default();
    let timeout = std::time::Duration::from_secs(5);
    let mut last = None;
    for a in &addrs {
        match std::net::TcpStream::connect_timeout(a, timeout) {
            Ok(_) => return Ok(()),
            Err(e) => last = Some(e),
        }
    }
    Err(n.err(
        "url",
        match last {
            Some(e) => {
                format!("{url}: cannot reach the server ({e}): is it running on that port?")
            }
            None => format!("{url}: the host does not resolve to any address"),
        },
    ))
}

/// The tokenizer found at the server when none was given.
pub enum FromServer {
    /// Its tokenize endpoint.
    Endpoint(Box<ServerTok>),
    /// The `tokenizer.json` of the directory it serves (it has no tokenize endpoint).
    Served(Tok),
}

/// With no `tokenizer`: the server's own tokenize endpoint, prompts cut from the
/// machine's GPL-3 text (the engine sweep's default corpus). Says so on stderr; when the
/// server has none, the error says what to give.
pub fn from_server(opts: TargetOptions, model: Option<String>, n: Names) -> Result<FromServer> {
    let path = crate::bench::corpus::DEFAULT_TEXT;
    let text = std::fs::read_to_string(path).map_err(|e| crate::Error::io(path, e))?;
    reachable(&opts.base_url, n)?;
    let tokenizer = n.of("tokenizer");
    match ServerTok::connect(opts.clone(), model.clone(), &text) {
        Ok(t) => {
            eprintln!(
                "no {tokenizer}: prompts are made and counted with {} (recorded as \
                 notes.tokenizer)",
                t.source
            );
            Ok(FromServer::Endpoint(Box::new(t)))
        }
        Err(why) => match crate::client::server_tok::served_model_dir(&opts, model) {
            Some(dir) => {
                let tok = Tok::load(&dir)?;
                eprintln!(
                    "no {tokenizer} and no tokenize endpoint ({why}): prompts are made and \
                     counted with {}, the directory the server says it serves (recorded as \
                     notes.tokenizer)",
                    tok.source
                );
                Ok(FromServer::Served(tok))
            }
            None => Err(n.err(
                "tokenizer",
                format!(
                    "random prompts of exact length need a tokenizer and the server's own \
                     cannot be used ({why}): give {tokenizer} <model.gguf | tokenizer.json | \
                     HF model directory> (or {} FILE)",
                    n.of("dataset")
                ),
            )),
        },
    }
}
