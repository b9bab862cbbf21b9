//! The server's own tokenizer, for `load` with no `--tokenizer`: llama.cpp's
//! `POST /tokenize {"content"}` → `{"tokens"}` and `POST /detokenize {"tokens"}` →
//! `{"content"}`, or vLLM's `POST /tokenize {"model", "prompt"}` → `{"count", "tokens"}`
//! and `POST /detokenize {"model", "tokens"}` → `{"prompt"}`.
//!
//! Probing a whole vocabulary one id at a time (what `prompts::PromptMaker` does with a
//! local tokenizer) would take tens of thousands of requests, so prompts are cut from a
//! real text instead: the text is tokenized once; each prompt is a short window of it
//! (its head, which makes prompts start differently) followed by a longer one (its body),
//! detokenized, then re-tokenized as the server will see it (special tokens added). A
//! prompt whose count is off by k has its body cut or lengthened by k tokens and goes
//! round again, with the others that missed, in concurrent requests. Every prompt that
//! is sent has been counted by the server itself. Depends on `http` and `prompts` only.

use std::collections::HashSet;
use std::future::Future;
use std::time::Duration;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::{json, Value};

use super::http::{Target, TargetOptions};
use super::prompts::{level_seed, start_words, Length, Prompt};
use crate::error::{Error, Result};

/// Per request; a tokenize call is cheap, a slow one means something is wrong.
const TIMEOUT: Duration = Duration::from_secs(30);
/// Requests in flight while prompts are made.
const IN_FLIGHT: usize = 16;
/// Rounds of detokenize → re-tokenize → fix before giving up on a prompt.
const ROUNDS: usize = 12;
/// Tokens of a prompt's head (the window that makes it start differently).
const HEAD: usize = 6;

/// Which server's tokenize API it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    LlamaCpp,
    Vllm,
}

impl Dialect {
    pub fn as_str(self) -> &'static str {
        match self {
            Dialect::LlamaCpp => "llama.cpp",
            Dialect::Vllm => "vLLM",
        }
    }
}

/// How to call the server's tokenizer (cheap to clone into a task).
#[derive(Debug, Clone)]
struct Api {
    root: String,
    dialect: Dialect,
    model: String,
}

impl Api {
    async fn tokenize(&self, t: &Target, text: &str, special: bool) -> Result2<Vec<u32>> {
        let url = format!("{}/tokenize", self.root);
        let body = match self.dialect {
            Dialect::LlamaCpp => json!({"content": text, "add_special": special}),
            Dialect::Vllm => {
                json!({"model": self.model, "prompt": text, "add_special_tokens": special})
            }
        };
        let v = ok_json(t, &url, &body).await?;
        let ids = token_ids(&v).ok_or_else(|| {
            format!(
                "POST {url}: no \"tokens\" list of token ids in the answer: {}",
                snip(&v)
            )
        })?;
        if let Some(count) = v.get("count").and_then(Value::as_u64) {
            if count != ids.len() as u64 {
                return Err(format!(
                    "POST {url}: \"count\" is {count} but \"tokens\" holds {}",
                    ids.len()
                ));
            }
        }
        Ok(ids)
    }

    async fn detokenize(&self, t: &Target, ids: &[u32]) -> Result2<String> {
        let url = format!("{}/detokenize", self.root);
        let (body, field) = match self.dialect {
            Dialect::LlamaCpp => (json!({"tokens": ids}), "content"),
            Dialect::Vllm => (json!({"model": self.model, "tokens": ids}), "prompt"),
        };
        let v = ok_json(t, &url, &body).await?;
        v.get(field)
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| {
                format!(
                    "POST {url}: no \"{field}\" string in the answer: {}",
                    snip(&v)
                )
            })
    }
}

type Result2<T> = std::result::Result<T, String>;

/// The answer of a POST that must be HTTP 200 with a JSON body.
async fn ok_json(t: &Target, url: &str, body: &Value) -> Result2<Value> {
    match t.post_json(url, body, TIMEOUT).await? {
        (200, v) => Ok(v),
        (status, v) => Err(format!("POST {url}: HTTP {status} {}", snip(&v))),
    }
}

fn snip(v: &Value) -> String {
    let s = v.to_string();
    s.chars().take(160).collect()
}

/// `tokens` as plain ids (llama.cpp also accepts `with_pieces`, which we never ask for).
fn token_ids(v: &Value) -> Option<Vec<u32>> {
    v.get("tokens")?
        .as_array()?
        .iter()
        .map(|x| x.as_u64().and_then(|i| u32::try_from(i).ok()))
        .collect()
}

/// The server root (`http://host:port`) of an OpenAI base URL (`http://host:port/v1`).
fn root(base_url: &str) -> String {
    let b = super::http::base(base_url);
    b.strip_suffix("/v1").unwrap_or(b).to_owned()
}

/// Runs `fut` on a runtime of its own, on a thread of its own, so it can be called from
/// plain code and from inside another runtime alike (prompts are made between levels).
fn on_own_runtime<T: Send>(fut: impl Future<Output = Result2<T>> + Send) -> Result2<T> {
    std::thread::scope(|s| {
        s.spawn(|| {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| format!("starting a runtime for the tokenize requests: {e}"))?
                .block_on(fut)
        })
        .join()
        .unwrap_or_else(|_| Err("the tokenize requests' thread panicked".into()))
    })
}

/// The directory a server on this machine serves its model from, when it says so and that
/// directory holds a `tokenizer.json`: `transformers serve` has no tokenize endpoint but
/// names its model by its path (`/models`' id, or the `model` of its stream, with an
/// `@revision` after it). Only for a server on a loopback address: a path another machine
/// names need not be the same files here.
pub fn served_model_dir(opts: &TargetOptions, model: Option<String>) -> Option<std::path::PathBuf> {
    if !super::http::is_loopback(&opts.base_url) {
        return None;
    }
    let named = on_own_runtime(async {
        let t = Target::new(opts).map_err(|e| e.to_string())?;
        if let Some(m) = model {
            return Ok(m);
        }
        if let Ok(m) = t.first_model(&opts.base_url, TIMEOUT).await {
            return Ok(m);
        }
        let no_extra = serde_json::Map::new();
        let p = t
            .probe(&opts.base_url, opts.endpoint, "", false, &no_extra, TIMEOUT)
            .await;
        p.model.ok_or(p.detail)
    })
    .ok()?;
    model_dir(&named)
}

/// `named` (less an `@revision` suffix) as a directory holding `tokenizer.json`.
fn model_dir(named: &str) -> Option<std::path::PathBuf> {
    let candidates = [named, named.rsplit_once('@').map_or(named, |(p, _)| p)];
    candidates
        .iter()
        .map(std::path::Path::new)
        .find(|p| p.is_absolute() && p.join("tokenizer.json").is_file())
        .map(std::path::Path::to_path_buf)
}

/// `f(api, target, item)` for every item, `IN_FLIGHT` at a time, answers in item order.
async fn each<I, O, F, Fut>(api: &Api, t: &Target, items: Vec<I>, f: F) -> Result2<Vec<O>>
where
    I: Send + 'static,
    O: Send + 'static,
    F: Fn(Api, Target, I) -> Fut,
    Fut: Future<Output = Result2<O>> + Send + 'static,
{
    let mut out: Vec<Option<O>> = (0..items.len()).map(|_| None).collect();
    let mut items = items.into_iter().enumerate().peekable();
    while items.peek().is_some() {
        let mut set = tokio::task::JoinSet::new();
        for (i, item) in items.by_ref().take(IN_FLIGHT) {
            let fut = f(api.clone(), t.clone(), item);
            set.spawn(async move { (i, fut.await) });
        }
        while let Some(joined) = set.join_next().await {
            let (i, r) = joined.map_err(|e| format!("a tokenize request failed: {e}"))?;
            out[i] = Some(r?);
        }
    }
    Ok(out.into_iter().flatten().collect())
}

/// The server's tokenizer, found and checked, with the text prompts are cut from.
#[derive(Debug)]
pub struct ServerTok {
    opts: TargetOptions,
    api: Api,
    corpus: Vec<u32>,
    /// Tokens the server adds around any prompt (e.g. BOS).
    pub special_added: usize,
    /// What it is, for the stderr line and the results (`notes.tokenizer`).
    pub source: String,
}

/// What `connect` found out about the server.
async fn detect(t: &Target, root: &str, model: Option<String>, base: &str) -> Result2<Api> {
    let url = format!("{root}/tokenize");
    let probe = "Hello world";
    let (status, v) = t
        .post_json(
            &url,
            &json!({"content": probe, "add_special": false}),
            TIMEOUT,
        )
        .await?;
    if status == 200 && v.get("count").is_none() && token_ids(&v).is_some_and(|t| !t.is_empty()) {
        return Ok(Api {
            root: root.to_owned(),
            dialect: Dialect::LlamaCpp,
            model: model.unwrap_or_default(),
        });
    }
    let first = (status, v);
    let model = match model {
        Some(m) => m,
        None => t.first_model(base, TIMEOUT).await?,
    };
    let api = Api {
        root: root.to_owned(),
        dialect: Dialect::Vllm,
        model,
    };
    let (status, v) = t
        .post_json(&url, &json!({"model": api.model, "prompt": probe}), TIMEOUT)
        .await?;
    if status == 200 && v.get("count").is_some() && token_ids(&v).is_some() {
        return Ok(api);
    }
    Err(match (first.0, status) {
        (404, 404) => format!("POST {url}: HTTP 404, the server has no tokenize endpoint"),
        _ => format!(
            "POST {url}: neither a llama.cpp nor a vLLM tokenize answer (HTTP {}: {}; \
             HTTP {status}: {})",
            first.0,
            snip(&first.1),
            snip(&v)
        ),
    })
}

impl ServerTok {
    /// Finds the tokenize endpoint beside `opts.base_url`, then tokenizes `text` (the
    /// text prompts are cut from). The error says why the server's tokenizer cannot be
    /// used (no endpoint, an answer of the wrong shape, a connection failure).
    pub fn connect(opts: TargetOptions, model: Option<String>, text: &str) -> Result2<ServerTok> {
        let root = root(&opts.base_url);
        on_own_runtime(async {
            let t = Target::new(&opts).map_err(|e| e.to_string())?;
            let api = detect(&t, &root, model, &opts.base_url).await?;
            let corpus = api.tokenize(&t, text, false).await?;
            if corpus.len() < 4 * HEAD {
                return Err(format!(
                    "the server tokenized the prompt text into only {} tokens",
                    corpus.len()
                ));
            }
            let with = api.tokenize(&t, probe_word(), true).await?.len();
            let without = api.tokenize(&t, probe_word(), false).await?.len();
            Ok(ServerTok {
                source: format!(
                    "the server's tokenizer (POST {root}/tokenize, {})",
                    api.dialect.as_str()
                ),
                special_added: with.saturating_sub(without),
                corpus,
                api,
                opts: opts.clone(),
            })
        })
    }

    pub fn dialect(&self) -> Dialect {
        self.api.dialect
    }

    /// `n` prompts of `isl` tokens as the server counts them (special tokens included),
    /// each generating `osl` tokens: `seed` draws the lengths, `seed` and `salt` the
    /// windows, as `PromptMaker::random` does.
    pub fn random(
        &self,
        n: usize,
        isl: Length,
        osl: Length,
        seed: u64,
        salt: u64,
    ) -> Result<Vec<Prompt>> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut words = ChaCha8Rng::seed_from_u64(level_seed(seed ^ salt, salt));
        let special = self.special_added as u64;
        let mut windows = Vec::with_capacity(n);
        let mut outs = Vec::with_capacity(n);
        for _ in 0..n {
            let len = isl.sample(&mut rng);
            if len <= special {
                return Err(Error::config(
                    "--isl",
                    format!(
                        "an input length of {len} leaves no room for text after the \
                         {special} special token(s) the server adds"
                    ),
                ));
            }
            windows.push(Window::new(
                len,
                len - special,
                self.corpus.len(),
                &mut words,
            ));
            outs.push(osl.sample(&mut rng));
        }
        let texts =
            on_own_runtime(self.fit(windows, &mut words)).map_err(|message| Error::Tool {
                tool: "server tokenizer".into(),
                message,
            })?;
        Ok(texts
            .into_iter()
            .zip(outs)
            .map(|((text, len), output_tokens)| Prompt {
                text,
                input_tokens: Some(len),
                output_tokens,
            })
            .collect())
    }

    /// Detokenize → re-tokenize → fix, until every window's text counts exactly its
    /// length and starts differently from every other one.
    async fn fit(&self, mut w: Vec<Window>, rng: &mut ChaCha8Rng) -> Result2<Vec<(String, u64)>> {
        let t = Target::new(&self.opts).map_err(|e| e.to_string())?;
        let mut done: Vec<Option<String>> = vec![None; w.len()];
        let mut heads = HashSet::new();
        for round in 0..ROUNDS {
            let pending: Vec<usize> = (0..w.len()).filter(|&i| done[i].is_none()).collect();
            if pending.is_empty() {
                break;
            }
            let ids: Vec<Vec<u32>> = pending.iter().map(|&i| w[i].ids(&self.corpus)).collect();
            let texts = each(&self.api, &t, ids, |api, t, ids| async move {
                api.detokenize(&t, &ids).await
            })
            .await?;
            let counts = each(&self.api, &t, texts.clone(), |api, t, text| async move {
                api.tokenize(&t, &text, true).await.map(|v| v.len() as u64)
            })
            .await?;
            for ((&i, text), count) in pending.iter().zip(texts).zip(counts) {
                let win = &mut w[i];
                if count == win.len && heads.insert(start_words(&text)) {
                    done[i] = Some(text);
                } else if count == win.len {
                    // Same start as another prompt: a prefix cache would share it.
                    *win = Window::new(
                        win.len,
                        (win.body + win.head) as u64,
                        self.corpus.len(),
                        rng,
                    );
                } else {
                    win.adjust(count, round, self.corpus.len(), rng);
                }
            }
        }
        let missed: Vec<u64> = (0..w.len())
            .filter(|&i| done[i].is_none())
            .map(|i| w[i].len)
            .collect();
        if let Some(len) = missed.first() {
            return Err(format!(
                "{} of {} prompts (e.g. one of {len} tokens) did not re-tokenize to their \
                 exact length through POST {}/tokenize after {ROUNDS} rounds; the server's \
                 tokenize and detokenize disagree: pass --tokenizer",
                missed.len(),
                w.len(),
                self.api.root
            ));
        }
        Ok(done
            .into_iter()
            .flatten()
            .zip(w.iter().map(|x| x.len))
            .collect())
    }
}

/// A word whose tokenization shows what the server adds around a prompt.
fn probe_word() -> &'static str {
    "Hello"
}

/// One prompt being made: `head` tokens from `a`, then `body` tokens from `b` (indices
/// into the corpus, wrapping around), meant to count `len` tokens.
#[derive(Debug, Clone)]
struct Window {
    len: u64,
    a: usize,
    b: usize,
    head: usize,
    body: usize,
}

impl Window {
    fn new(len: u64, text_tokens: u64, corpus: usize, rng: &mut impl Rng) -> Window {
        let text = text_tokens.max(1) as usize;
        let head = HEAD.min(text / 2);
        Window {
            len,
            a: rng.gen_range(0..corpus),
            b: rng.gen_range(0..corpus),
            head,
            body: text - head,
        }
    }

    fn ids(&self, corpus: &[u32]) -> Vec<u32> {
        let at = |start: usize, n: usize| (0..n).map(move |k| corpus[(start + k) % corpus.len()]);
        at(self.a, self.head).chain(at(self.b, self.body)).collect()
    }

    /// The text counted `count` tokens, not `len`: cut or lengthen the body by the
    /// difference; after a few rounds, cut elsewhere (a join that keeps merging).
    fn adjust(&mut self, count: u64, round: usize, corpus: usize, rng: &mut impl Rng) {
        let diff = self.len as i64 - count as i64;
        let body = (self.body as i64 + diff).max(1) as usize;
        if round >= 3 && round % 2 == 1 {
            self.a = rng.gen_range(0..corpus);
            self.b = rng.gen_range(0..corpus);
        }
        self.body = body;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_drops_the_openai_prefix() {
        assert_eq!(root("http://h:8080/v1"), "http://h:8080");
        assert_eq!(root("http://h:8080/v1/"), "http://h:8080");
        assert_eq!(root("https://h/api"), "https://h/api");
    }

    #[test]
    fn token_ids_reads_plain_lists_only() {
        assert_eq!(token_ids(&json!({"tokens": [1, 2]})), Some(vec![1, 2]));
        assert_eq!(token_ids(&json!({"tokens": [1, "x"]})), None);
        assert_eq!(token_ids(&json!({"tokens": [-1]})), None);
        assert_eq!(token_ids(&json!({"content": "x"})), None);
    }

    #[test]
    fn windows_wrap_around_and_adjust() {
        let corpus: Vec<u32> = (0..20).collect();
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let mut w = Window::new(30, 29, corpus.len(), &mut rng);
        assert_eq!(w.ids(&corpus).len(), 29);
        assert!(w.ids(&corpus).iter().all(|&i| i < 20));
        w.adjust(33, 0, corpus.len(), &mut rng); // 3 too many
        assert_eq!(w.ids(&corpus).len(), 26);
        w.adjust(28, 0, corpus.len(), &mut rng); // 2 too few
        assert_eq!(w.ids(&corpus).len(), 28);
    }
}
