//! `trtbench mlperf`: MLPerf's own LoadGen (feature `mlperf`) drives a trtbench engine as
//! its system under test. LoadGen issues queries by scenario, times them, applies its
//! early stopping and latency constraints and writes `mlperf_log_summary.txt` /
//! `mlperf_log_detail.txt` into the output directory, unchanged; the run's point is then
//! read back from those logs by `import::mlperf`, so `report` and `compare` work on it.
//!
//! The sample library (`qsl`) is a set of exact-length prompts (`bench::corpus`), a prompt
//! file, or pre-tokenized samples; the engine runs on the calling thread (engines are not
//! `Send`) while LoadGen runs on its own, the two joined by a channel of issued samples
//! (`sut`). A stop flag (Ctrl-C) ends generation: every later sample is completed empty
//! so LoadGen finishes and writes its logs, and the run reports the interruption. Nothing here is an MLPerf result: the
//! model, data set, accuracy check and audit are not MLPerf's (docs/mlperf.md).
//! Layer 8: uses bench, import, backends, engine, record; used by cli only.

#[cfg(feature = "mlperf")]
mod ffi;
pub mod qsl;
#[cfg(feature = "mlperf")]
mod server;
#[cfg(feature = "mlperf")]
mod sut;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

pub use qsl::{Library, Sample};

use crate::engine::Engine;
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
    /// The query sample library (its size is LoadGen's total and performance sample
    /// counts).
    pub library: Library,
    /// Samples run together at most (Offline, MultiStream, a Server queue).
    pub max_batch: u32,
    pub threads: Option<u32>,
    /// An OpenAI-compatible server as the system under test instead of the engine (whose
    /// tokenizer then only makes the prompts).
    pub url: Option<String>,
}

impl Plan {
    /// Checks the combination before anything runs.
    pub fn validate(&self) -> Result<()> {
        let osl = match &self.library {
            Library::Exact {
                isl, osl, count, ..
            } => {
                if *count == 0 {
                    return Err(Error::config("--samples", "must be at least 1"));
                }
                if *isl == 0 {
                    return Err(Error::config("--isl", "must be at least 1"));
                }
                Some(*osl)
            }
            Library::Dataset { osl, .. } => *osl,
            Library::Tokenized { .. } => None,
        };
        if osl.is_some_and(|o| o < self.min_output()) {
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

    /// The shortest output a sample may ask for: 2 with token latencies (TPOT needs a
    /// second token), else 1.
    pub fn min_output(&self) -> u32 {
        if self.overrides.token_latencies.unwrap_or(true) {
            2
        } else {
            1
        }
    }

    /// The parameters of the run's point (what it is, for its key and the report);
    /// `samples`: the library as made.
    pub fn parameters(&self, engine: &str, samples: &[Sample]) -> crate::import::mlperf::RunParams {
        let (isl, osl) = match &self.library {
            Library::Exact { isl, osl, .. } => (Some(*isl), Some(*osl)),
            _ => (None, None),
        };
        crate::import::mlperf::RunParams {
            engine: engine.to_owned(),
            sut: if self.url.is_some() {
                "server"
            } else {
                "engine"
            }
            .into(),
            isl,
            osl,
            batch: Some(self.max_batch),
            samples: Some(samples.len()),
            dataset: self
                .library
                .file()
                .and_then(|p| p.file_name())
                .map(|n| n.to_string_lossy().into_owned()),
        }
    }
}

/// What a run left: its results file (LoadGen's logs beside it) and the results.
#[derive(Debug)]
pub struct Outcome {
    pub results_path: PathBuf,
    pub results: Results,
    /// The stop flag was raised: LoadGen's figures count samples completed empty after
    /// it, so they are no measurement (the point says so, with status `error`).
    pub interrupted: bool,
}

/// The sample library of `plan`, one sample per LoadGen sample index.
pub fn samples(engine: &dyn Engine, plan: &Plan) -> Result<Vec<Sample>> {
    plan.library.samples(engine, plan.min_output())
}

/// Per completed sample, what the engine was given and made (`SAMPLES_FILE`).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct SampleLog {
    pub qsl_index: usize,
    pub input_tokens: usize,
    pub output_tokens: usize,
}

/// The file beside LoadGen's logs listing every sample the engine completed (JSON Lines
/// of [`SampleLog`]), so a sample index can be tied to the prompt the engine ran.
pub const SAMPLES_FILE: &str = "trtbench-samples.jsonl";

/// Why a run ended early: the stop flag, or an error of the system under test.
#[derive(Debug)]
pub enum Stopped {
    Interrupted,
    Failed(Error),
}

/// Runs LoadGen against `engine` over `samples`, then imports its logs into a trtbench
/// results file in `plan.out` (`trtbench-results.json`). Raising `stop` (Ctrl-C) ends
/// generation after the current batch; LoadGen then finishes on empty completions and
/// the outcome is `interrupted`.
pub fn run_engine(
    plan: &Plan,
    engine: &dyn Engine,
    samples: &[Sample],
    command: Vec<String>,
    stop: &AtomicBool,
) -> Result<Outcome> {
    plan.validate()?;
    std::fs::create_dir_all(&plan.out).map_err(|e| Error::io(&plan.out, e))?;
    let (name, served) = match &plan.url {
        None => (
            engine.manifest().name.clone(),
            run_loadgen(plan, engine, samples, stop),
        ),
        Some(url) => match run_server(plan, url, samples, stop) {
            Ok(model) => (model, Ok(())),
            Err(e) => (engine.manifest().name.clone(), Err(e)),
        },
    };
    // LoadGen has written its logs even when the system under test failed or was
    // stopped: they are imported, and the point carries the error.
    let params = plan.parameters(&name, samples);
    let mut point = crate::import::mlperf::read_dir(&plan.out, &params)?;
    let interrupted = matches!(served, Err(Stopped::Interrupted)) || stop.load(Ordering::SeqCst);
    if let Err(e) = served {
        point.status = crate::record::Status::Error;
        point.error = Some(match e {
            Stopped::Interrupted => INTERRUPTED.to_owned(),
            Stopped::Failed(e) => e.to_string(),
        });
    } else if interrupted {
        point.status = crate::record::Status::Error;
        point.error = Some(INTERRUPTED.to_owned());
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
        interrupted,
    })
}

/// The error of a point whose run was stopped.
pub const INTERRUPTED: &str = "interrupted (Ctrl-C): samples issued after it were completed \
     empty so LoadGen could finish; its figures count them and measure nothing";

/// Writes the per-sample log beside LoadGen's.
#[cfg(feature = "mlperf")]
fn write_sample_log(out: &Path, log: &[SampleLog]) -> Result<()> {
    let mut text = String::with_capacity(log.len() * 64);
    for l in log {
        text.push_str(&serde_json::to_string(l).unwrap_or_default());
        text.push('\n');
    }
    let path = out.join(SAMPLES_FILE);
    std::fs::write(&path, text).map_err(|e| Error::io(&path, e))
}

/// The trtbench results file a run writes beside LoadGen's logs.
pub const RESULTS_FILE: &str = "trtbench-results.json";

#[cfg(feature = "mlperf")]
fn run_loadgen(
    plan: &Plan,
    engine: &dyn Engine,
    samples: &[Sample],
    stop: &AtomicBool,
) -> std::result::Result<(), Stopped> {
    sut::run(plan, engine, samples, stop)
}

#[cfg(feature = "mlperf")]
fn run_server(
    plan: &Plan,
    url: &str,
    samples: &[Sample],
    stop: &AtomicBool,
) -> std::result::Result<String, Stopped> {
    server::run(plan, url, samples, stop)
}

#[cfg(not(feature = "mlperf"))]
fn run_server(
    _plan: &Plan,
    _url: &str,
    _samples: &[Sample],
    _stop: &AtomicBool,
) -> std::result::Result<String, Stopped> {
    Err(Stopped::Failed(not_built()))
}

#[cfg(not(feature = "mlperf"))]
fn run_loadgen(
    _plan: &Plan,
    _engine: &dyn Engine,
    _samples: &[Sample],
    _stop: &AtomicBool,
) -> std::result::Result<(), Stopped> {
    Err(Stopped::Failed(not_built()))
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

/// Ends the process at once with `code` (a second Ctrl-C). With LoadGen running, no exit
/// handler may run: `std::process::exit` destroys LoadGen's static logger under its own
/// threads, which crashed (SIGSEGV) in a Server run stopped twice.
pub fn exit_now(code: i32) -> ! {
    #[cfg(feature = "mlperf")]
    ffi::exit_now(code);
    #[cfg(not(feature = "mlperf"))]
    std::process::exit(code)
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
