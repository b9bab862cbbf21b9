//! The load spec: every setting of a load run by name, with its default, as `trtbench
//! load`'s flags give it (each flag is the field with `-` for `_`: `--num-prompts` is
//! `num_prompts`; `--header` is `headers`) and as an embedding application writes it in
//! TOML or JSON. The defaults live here only; the CLI's help shows them from here.

use std::path::PathBuf;

use serde::{Deserialize, Deserializer};

use crate::client::http::Endpoint;
use crate::client::scheduler::Arrival;
use crate::error::{Error, Result};

/// What the prompts look like.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    /// Independent random prompts, each starting differently (no prefix-cache hits).
    Random,
    /// --prefixes system prompts of --prefix-len tokens, each shared by many requests,
    /// then a unique suffix (total --isl): what a prefix cache buys.
    SharedPrefix,
    /// Conversations of --turns turns: each turn sends the whole history (earlier user
    /// texts and the server's replies) plus --turn-len new tokens, once the previous reply
    /// has arrived. --concurrency counts conversations in flight.
    MultiTurn,
}

/// A load run as settings (see `trtbench load --help` for each one's meaning). Unknown
/// fields are refused; every field may be left out but `url` and one load mode
/// (`concurrency`, `rate`, `find_max_rate` or `trace`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LoadSpec {
    pub url: Option<String>,
    pub model: Option<String>,
    pub framework: Option<String>,
    pub endpoint: Endpoint,
    #[serde(deserialize_with = "one_or_many")]
    pub concurrency: Vec<usize>,
    #[serde(deserialize_with = "one_or_many")]
    pub rate: Vec<f64>,
    pub arrival: Arrival,
    pub max_inflight: Option<usize>,
    pub num_prompts: Option<usize>,
    /// e.g. "30s", "2m".
    pub duration: Option<String>,
    pub warmup: usize,
    pub timeout: String,
    pub isl: u64,
    /// `None`: 128, or with a dataset each entry's own.
    pub osl: Option<u64>,
    pub isl_spread: f64,
    pub osl_spread: f64,
    pub ignore_eos: bool,
    pub use_server_token_count: bool,
    pub seed: u64,
    pub tokenizer: Option<PathBuf>,
    pub dataset: Option<PathBuf>,
    pub prefix_tokens: usize,
    /// e.g. "ttft=200ms,tpot=50ms".
    pub slo: Option<String>,
    pub find_max_rate: bool,
    pub slo_attainment: f64,
    pub max_rate: f64,
    pub search_steps: u32,
    /// The results file; `None`: `results-load.json` (the embedding adapters: a temporary
    /// file).
    pub out: Option<PathBuf>,
    pub force: bool,
    pub resume: bool,
    /// Up to 16 hex digits.
    pub salt: Option<String>,
    pub api_key_env: String,
    pub cacert: Option<PathBuf>,
    pub insecure: bool,
    /// `Name: value` each.
    pub headers: Vec<String>,
    /// A JSON object, or its text.
    pub extra_body: Option<serde_json::Value>,
    pub max_client_lag_ms: f64,
    pub max_consecutive_errors: usize,
    /// `i/n` or `auto`.
    pub shard: Option<String>,
    pub shards: Option<usize>,
    pub start_at: Option<String>,
    pub workload: Kind,
    pub prefixes: usize,
    pub prefix_len: Option<u64>,
    pub trace: Option<PathBuf>,
    pub trace_speed: f64,
    pub turns: Option<usize>,
    pub turn_len: Option<u64>,
    pub think_time: Option<String>,
    pub conversations: Option<usize>,
}

impl Default for LoadSpec {
    fn default() -> Self {
        LoadSpec {
            url: None,
            model: None,
            framework: None,
            endpoint: Endpoint::Completions,
            concurrency: Vec::new(),
            rate: Vec::new(),
            arrival: Arrival::Poisson,
            max_inflight: None,
            num_prompts: None,
            duration: None,
            warmup: 2,
            timeout: "120s".into(),
            isl: 128,
            osl: None,
            isl_spread: 0.0,
            osl_spread: 0.0,
            ignore_eos: true,
            use_server_token_count: false,
            seed: 0,
            tokenizer: None,
            dataset: None,
            prefix_tokens: 4,
            slo: None,
            find_max_rate: false,
            slo_attainment: 0.95,
            max_rate: 1000.0,
            search_steps: 4,
            out: None,
            force: false,
            resume: false,
            salt: None,
            api_key_env: "OPENAI_API_KEY".into(),
            cacert: None,
            insecure: false,
            headers: Vec::new(),
            extra_body: None,
            max_client_lag_ms: 10.0,
            max_consecutive_errors: 32,
            shard: None,
            shards: None,
            start_at: None,
            workload: Kind::Random,
            prefixes: 4,
            prefix_len: None,
            trace: None,
            trace_speed: 1.0,
            turns: None,
            turn_len: None,
            think_time: None,
            conversations: None,
        }
    }
}

/// The output length when neither the spec nor a dataset sets one.
pub const DEFAULT_OSL: u64 = 128;

/// The results file when the spec names none.
pub const DEFAULT_OUT: &str = "results-load.json";

/// A list field also taken as a single value (`concurrency = 4`).
fn one_or_many<'de, D, T>(d: D) -> std::result::Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum List<T> {
        One(T),
        Many(Vec<T>),
    }
    Ok(match List::deserialize(d)? {
        List::One(v) => vec![v],
        List::Many(v) => v,
    })
}

/// How errors write a field's name: as the spec's field (`num_prompts`) or as the CLI's
/// flag (`--num-prompts`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Names {
    Fields,
    Flags,
}

impl Names {
    /// `field` (a spec field, `snake_case`) as this style writes it.
    pub fn of(self, field: &str) -> String {
        match (self, field) {
            (Names::Fields, f) => f.to_owned(),
            (Names::Flags, "headers") => "--header".into(),
            (Names::Flags, f) => format!("--{}", f.replace('_', "-")),
        }
    }

    /// A configuration error about `field`, named in this style.
    pub fn err(self, field: &str, reason: impl Into<String>) -> Error {
        Error::config(self.of(field), reason)
    }

    /// A library error whose key is a flag (`--shards`, as the lower modules name their
    /// values) with that key named in this style; other errors as they are.
    pub fn rename(self, e: Error) -> Error {
        match e {
            Error::Config { key, reason } if key.starts_with("--") => {
                let field = key.trim_start_matches("--").replace('-', "_");
                Error::config(self.of(&field), reason)
            }
            e => e,
        }
    }
}

/// A spec from TOML text; an unknown or mistyped field is a `Config` error keyed by it.
pub fn parse(text: &str) -> Result<LoadSpec> {
    toml::from_str(text).map_err(|e| Error::toml_field(text, &e, "load spec"))
}

/// A spec from a JSON object (what the Python module's keyword arguments become); its
/// errors name the field as [`parse`]'s do.
pub fn parse_json(text: &str) -> Result<LoadSpec> {
    let value: serde_json::Value =
        serde_json::from_str(text).map_err(|e| Error::config("load spec", e.to_string()))?;
    let serde_json::Value::Object(fields) = value else {
        return Err(Error::config("load spec", "expected a JSON object"));
    };
    // Through TOML, one `field = value` line per field, so a bad field is found by its
    // line. TOML has no null: a null field is left out (its default).
    let mut table = toml::Table::new();
    for (k, v) in fields {
        if v.is_null() {
            continue;
        }
        let v = toml::Value::try_from(&v)
            .map_err(|e| Error::config(k.clone(), format!("not a spec value: {e}")))?;
        table.insert(k, v);
    }
    let text = toml::to_string(&table).map_err(|e| Error::config("load spec", e.to_string()))?;
    parse(&text)
}

/// [`parse`] or [`parse_json`], by the text's first character (`{`: JSON).
pub fn parse_any(text: &str) -> Result<LoadSpec> {
    match text.trim_start().starts_with('{') {
        true => parse_json(text),
        false => parse(text),
    }
}
