//! `trtbench mlperf`: MLPerf's own LoadGen (feature `mlperf`) drives a trtbench engine as
//! its system under test. LoadGen issues queries by scenario, times them, applies its
//! early stopping and latency constraints and writes `mlperf_log_summary.txt` /
//! `mlperf_log_detail.txt` into the output directory, unchanged; the run's point is then
//! read back from those logs by `import::mlperf`, so `report` and `compare` work on it.
//!
//! The sample library is a set of exact-length prompts (`bench::corpus`); the engine runs
//! on the calling thread (engines are not `Send`) while LoadGen runs on its own, the two
//! joined by a channel of issued samples (`sut`). Nothing here is an MLPerf result: the
//! model, data set, accuracy check and audit are not MLPerf's (docs/mlperf.md).
//! Layer 8: uses bench, import, backends, engine, record; used by cli only.

#[cfg(feature = "mlperf")]
mod ffi;
#[cfg(feature = "mlperf")]
mod server;
#[cfg(feature = "mlperf")]
mod sut;

use std::path::{Path, PathBuf};

use crate::engine::{Engine, Token};
use crate::error::{Error, Result};
use crate::record::Results;

pub use crate::import::mlperf::NOT_MLPERF;

/// LoadGen's four scenarios.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scenario {
    SingleStream,
    MultiStream,
    Server,
    Offline,
}

impl Scenario {
    /// From the flag's spelling (`single-stream`, ...) or LoadGen's (`SingleStream`).
    pub fn parse(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().replace(['-', '_'], "").as_str() {
            "singlestream" => Ok(Scenario::SingleStream),
            "multistream" => Ok(Scenario::MultiStream),
            "server" => Ok(Scenario::Server),
            "offline" => Ok(Scenario::Offline),
            _ => Err(Error::config(
                "--scenario",
                format!("`{s}`: expected single-stream, multi-stream, server or offline"),
            )),
        }
    }

    /// LoadGen's name (its logs and config keys use it).
    pub fn loadgen_name(self) -> &'static str {
        match self {
            Scenario::SingleStream => "SingleStream",
            Scenario::MultiStream => "MultiStream",
            Scenario::Server => "Server",
            Scenario::Offline => "Offline",
        }
    }
}

/// LoadGen's test modes that a run here can ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Performance,
    /// Every sample once, responses logged to `mlperf_log_accuracy.json` (token ids,
    /// int32 little-endian); no accuracy check is run here.
    Accuracy,
}

impl Mode {
    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "performance" => Ok(Mode::Performance),
            "accuracy" => Ok(Mode::Accuracy),
            _ => Err(Error::config(
                "--mode",
                format!("`{s}`: expected performance or accuracy"),
            )),
        }
    }
}

/// LoadGen settings given on the command line; `None` leaves what LoadGen's mlperf.conf
/// and the `--mlperf-conf` / `--user-conf` files set.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Overrides {
    pub min_duration_ms: Option<u64>,
    pub max_duration_ms: Option<u64>,
    pub min_query_count: Option<u64>,
    pub max_query_count: Option<u64>,
    /// Server: target QPS; Offline: expected QPS (how many samples LoadGen issues).
    pub target_qps: Option<f64>,
    /// SingleStream / MultiStream: expected latency; Server: target latency.
    pub target_latency_ms: Option<f64>,
    /// Server constraints on token latencies (with `token_latencies`).
    pub ttft_ms: Option<f64>,
    pub tpot_ms: Option<f64>,
    pub samples_per_query: Option<u64>,
    /// Report first tokens and judge TTFT / TPOT (LoadGen's `use_token_latencies`).
    pub token_latencies: Option<bool>,
}

/// A validated `trtbench mlperf` run on an engine.
#[derive(Debug, Clone)]
pub struct Plan {
    pub scenario: Scenario,
    pub mode: Mode,
    /// The model name LoadGen looks config keys up under (`llama3_1-8b-edge.Server.…`).
    pub model_name: String,
    pub mlperf_conf: Option<PathBuf>,
    pub user_conf: Option<PathBuf>,
    pub overrides: Overrides,
    /// Where LoadGen's logs and trtbench's results file go.
    pub out: PathBuf,
    pub isl: u32,
    pub osl: u32,
    /// Prompts in the sample library (LoadGen's total and performance sample counts).
    pub samples: usize,
    /// Samples run together at most (Offline, MultiStream, a Server queue).
    pub max_batch: u32,
    pub threads: Option<u32>,
    pub seed: u64,
    pub text: PathBuf,
    /// An OpenAI-compatible server as the system under test instead of the engine (whose
    /// tokenizer then only makes the prompts).
    pub url: Option<String>,
}

impl Plan {
    /// Checks the combination before anything runs.
    pub fn validate(&self) -> Result<()> {
        if self.samples == 0 {
            return Err(Error::config("--samples", "must be at least 1"));
        }
        if self.isl == 0 {
            return Err(Error::config("--isl", "must be at least 1"));
        }
        let tokens = self.overrides.token_latencies.unwrap_or(true);
        if self.osl < 2 && tokens {
            return Err(Error::config(
                "--osl",
                "must be at least 2 with token latencies (TPOT needs a second token)",
            ));
        }
        if self.max_batch == 0 {
            return Err(Error::config("--batch", "must be at least 1"));
        }
        for (flag, p) in [
            ("--mlperf-conf", &self.mlperf_conf),
            ("--user-conf", &self.user_conf),
        ] {
            if let Some(p) = p {
                if !p.is_file() {
                    return Err(Error::config(
                        flag,
                        format!("{}: no such file", p.display()),
                    ));
                }
            }
        }
        Ok(())
    }

    /// The parameters of the run's point (what it is, for its key and the report).
    pub fn parameters(&self, engine: &str) -> crate::import::mlperf::RunParams {
        crate::import::mlperf::RunParams {
            engine: engine.to_owned(),
            sut: if self.url.is_some() {
                "server"
            } else {
                "engine"
            }
            .into(),
            isl: Some(self.isl),
            osl: Some(self.osl),
            batch: Some(self.max_batch),
            samples: Some(self.samples),
        }
    }
}

/// What a run left: its results file (LoadGen's logs beside it) and the results.
#[derive(Debug)]
pub struct Outcome {
    pub results_path: PathBuf,
    pub results: Results,
}

/// The exact-length prompts of the sample library, one per sample index.
pub fn prompts(engine: &dyn Engine, plan: &Plan) -> Result<Vec<Vec<Token>>> {
    let corpus = crate::bench::corpus::Corpus::load(engine, &plan.text)?;
    Ok(corpus.prompts(plan.isl as usize, plan.samples, plan.seed, 0))
}

/// Runs LoadGen against `engine` over `prompts`, then imports its logs into a trtbench
/// results file in `plan.out` (`trtbench-results.json`).
pub fn run_engine(
    plan: &Plan,
    engine: &dyn Engine,
    prompts: &[Vec<Token>],
    command: Vec<String>,
) -> Result<Outcome> {
    plan.validate()?;
    std::fs::create_dir_all(&plan.out).map_err(|e| Error::io(&plan.out, e))?;
    let (name, served) = match &plan.url {
        None => (
            engine.manifest().name.clone(),
            run_loadgen(plan, engine, prompts),
        ),
        Some(url) => match run_server(plan, url, prompts) {
            Ok(model) => (model, Ok(())),
            Err(e) => (engine.manifest().name.clone(), Err(e)),
        },
    };
    // LoadGen has written its logs even when the system under test failed: they are
    // imported, and the point carries the error.
    let mut point = crate::import::mlperf::read_dir(&plan.out, &plan.parameters(&name))?;
    if let Err(e) = served {
        point.status = crate::record::Status::Error;
        point.error = Some(e.to_string());
    }
    if plan.url.is_none() {
        point.engine = serde_json::to_value(engine.manifest()).ok();
    }
    let mut results = Results::new(command, crate::backends::fingerprint());
    results.upsert(point);
    let results_path = plan.out.join(RESULTS_FILE);
    results.save(&results_path)?;
    Ok(Outcome {
        results_path,
        results,
    })
}

/// The trtbench results file a run writes beside LoadGen's logs.
pub const RESULTS_FILE: &str = "trtbench-results.json";

#[cfg(feature = "mlperf")]
fn run_loadgen(plan: &Plan, engine: &dyn Engine, prompts: &[Vec<Token>]) -> Result<()> {
    sut::run(plan, engine, prompts)
}

#[cfg(feature = "mlperf")]
fn run_server(plan: &Plan, url: &str, prompts: &[Vec<Token>]) -> Result<String> {
    server::run(plan, url, prompts)
}

#[cfg(not(feature = "mlperf"))]
fn run_server(_plan: &Plan, _url: &str, _prompts: &[Vec<Token>]) -> Result<String> {
    Err(not_built())
}

#[cfg(not(feature = "mlperf"))]
fn run_loadgen(_plan: &Plan, _engine: &dyn Engine, _prompts: &[Vec<Token>]) -> Result<()> {
    Err(not_built())
}

/// The error of a binary built without LoadGen.
pub fn not_built() -> Error {
    Error::FeatureOff {
        what: "trtbench mlperf (MLPerf LoadGen)",
        feature: "mlperf",
        how: "export TRTBENCH_LOADGEN_SRC=\"$(scripts/loadgen-src.sh)\"; \
              cargo build --release --features mlperf (docs/mlperf.md)",
    }
}

/// True when this binary has LoadGen compiled in.
pub const fn compiled() -> bool {
    cfg!(feature = "mlperf")
}

/// Checks an output directory: LoadGen would silently append to or overwrite the logs of
/// an earlier run, so a directory holding them is refused.
pub fn check_out(out: &Path) -> Result<()> {
    let summary = out.join("mlperf_log_summary.txt");
    if summary.exists() {
        return Err(Error::config(
            "--out",
            format!(
                "{} already holds a LoadGen run ({}); give a new directory",
                out.display(),
                summary.display()
            ),
        ));
    }
    Ok(())
}
