//! The serialized results schema: one JSON document per invocation, the source of truth
//! every report and comparison is rendered from. Units live in field names. Depends only
//! on `units`; never on backends, so old results stay readable without them.

mod key;
pub use key::{model_label, point_key, portable_key};

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// Bumped whenever a field changes meaning or is removed (adding optional fields is not a bump).
pub const SCHEMA_VERSION: u32 = 1;

/// The parameter naming what served a load level (`load --framework`), which the report's
/// framework lab groups by.
pub const FRAMEWORK_PARAM: &str = "framework";

/// Which clock measured a duration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Clock {
    /// `std::time::Instant` (CLOCK_MONOTONIC) on the host.
    HostMonotonic,
    /// CUDA events recorded on the engine's stream.
    CudaEvent,
}

impl Clock {
    pub fn as_str(self) -> &'static str {
        match self {
            Clock::HostMonotonic => "host_monotonic",
            Clock::CudaEvent => "cuda_event",
        }
    }
}

/// Descriptive statistics of one metric over the measured samples (warmup excluded).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub n: usize,
    pub mean: f64,
    /// Sample standard deviation (n − 1); 0 when n < 2.
    pub stddev: f64,
    pub min: f64,
    pub p50: f64,
    pub p90: f64,
    pub p95: f64,
    pub p99: f64,
    pub max: f64,
    /// Unit of every value above (`ms`, `tok/s`, `req/s`, `bytes`).
    pub unit: String,
    /// Clock that measured the underlying durations, when the metric is time-based.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clock: Option<Clock>,
    /// Bootstrap confidence intervals, keyed by statistic (`p50`, `p99`), when computed.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub ci95: BTreeMap<String, [f64; 2]>,
}

/// One timed run of an engine point: a batch of `batch` sequences generating `osl` tokens.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunRecord {
    pub prefill_ms: f64,
    pub ttft_ms: f64,
    pub e2e_ms: f64,
    /// (E2E − TTFT) / (output tokens − 1); absent when osl is 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tpot_ms: Option<f64>,
    /// Every gap between consecutive output tokens (osl − 1 values).
    pub itl_ms: Vec<f64>,
    pub prefill_tok_per_s: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decode_tok_per_s: Option<f64>,
    pub output_tok_per_s: f64,
    pub requests_per_s: f64,
    pub output_tokens: u64,
    pub input_tokens: u64,
    /// Peak resident set size during this run, when measured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peak_rss_bytes: Option<u64>,
    /// Drafting and verifying of a speculative run (`--draft`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spec: Option<SpecRun>,
}

/// One speculative run: its verify steps (a draft proposal checked by the target in one
/// batch; plain decode steps are not counted), draft tokens proposed and accepted, and
/// the draft and target time over those steps.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SpecRun {
    pub verify_steps: u64,
    pub proposed_tokens: u64,
    pub accepted_tokens: u64,
    pub draft_ms: f64,
    pub target_ms: f64,
}

/// One request of a load-test point.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RequestRecord {
    /// Send time, seconds since the point started.
    pub start_s: f64,
    /// Scheduled send time (open loop), seconds since the point started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scheduled_s: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttft_ms: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub e2e_ms: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tpot_ms: Option<f64>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub itl_ms: Vec<f64>,
    /// Raw gaps between streamed events, stored when events carried several tokens (then
    /// `itl_ms` holds each gap divided over its event's tokens).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub itl_chunk_ms: Vec<f64>,
    #[serde(default)]
    pub input_tokens: u64,
    #[serde(default)]
    pub output_tokens: u64,
    /// Counts reported by the server's `usage`, when present.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_input_tokens: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_output_tokens: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_status: Option<u16>,
    /// Error kind (`connect`, `timeout`, `http_5xx`, `malformed_sse`, ...) when it failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Extra per-request values (chunk counts, queue time, ...).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub extra: BTreeMap<String, f64>,
}

/// Memory figures of a point. `None` means "not measured here", never zero.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Memory {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weights_bytes: Option<u64>,
    /// KV-cache bytes predicted by the formula for this point's session.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kv_formula_bytes: Option<u64>,
    /// KV-cache bytes the engine reported allocating.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kv_allocated_bytes: Option<u64>,
    /// Peak RSS of this process over the point's measured runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peak_rss_bytes: Option<u64>,
    /// Peak device memory in use, when a device is involved.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peak_device_bytes: Option<u64>,
    /// Sampled timeline: (seconds since point start, rss bytes).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub timeline: Vec<MemorySample>,
}

/// One sample of the memory/power timeline.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MemorySample {
    pub t_s: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rss_bytes: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_bytes: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub power_w: Option<f64>,
}

/// What kind of measurement a point is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PointKind {
    /// In-process engine run (`run`, `sweep`).
    Engine,
    /// HTTP load test against a server (`load`).
    Load,
    /// Perplexity evaluation.
    Quality,
}

/// Outcome of a point.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Ok,
    Error,
    /// Refused before running (does not fit, invalid combination).
    Skipped,
}

/// One sweep point: its parameters, what it ran on, raw samples and summaries.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Point {
    /// Stable identity built from the parameters; `--resume` and `compare` match on it.
    pub key: String,
    pub kind: PointKind,
    pub status: Status,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Sweep parameters (hyperfine's `parameters` map): engine, batch, isl, osl, ...
    pub parameters: BTreeMap<String, serde_json::Value>,
    /// The engine manifest (`trtbench.json`) the point ran, when it ran an engine.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub engine: Option<serde_json::Value>,
    pub started_unix_s: f64,
    /// Wall-clock instant (unix seconds) the request times `start_s` count from (load
    /// points): lines up the samples of workers on several machines when they are merged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub t0_unix_s: Option<f64>,
    pub wall_s: f64,
    pub warmup_runs: u32,
    /// Raw per-run samples (engine points).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub runs: Vec<RunRecord>,
    /// Raw per-request samples (load points).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub requests: Vec<RequestRecord>,
    /// Statistics per metric (`ttft_ms`, `decode_tok_per_s`, ...).
    #[serde(default)]
    pub summary: BTreeMap<String, Summary>,
    /// Point-level scalars that are not distributions (goodput, achieved rate, perplexity, ...).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub scalars: BTreeMap<String, f64>,
    /// Samples of point-wide figures that are neither per run nor per request: a load
    /// level's `output_tok_per_s`, `requests_per_s` and `goodput_req_per_s` per full 1 s
    /// window of its measured phase. `compare` tests these where a scalar has no spread.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub samples: BTreeMap<String, Vec<f64>>,
    #[serde(default)]
    pub memory: Memory,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    /// How the point's session was set up, as the backend reports it (CUDA-graph capture
    /// outcome, measured vs predicted memory, ...).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub notes: BTreeMap<String, String>,
    /// Key of the point this one is measured against: a speculative point's vanilla twin
    /// (the same parameters without `draft` and `draft_max`, run in the same sweep).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vanilla_twin: Option<String>,
}

impl Point {
    /// A point of `kind` with these parameters (its key derived from them), started now,
    /// with nothing measured yet; callers fill in what they measured.
    pub fn new(kind: PointKind, parameters: BTreeMap<String, serde_json::Value>) -> Self {
        Point {
            key: point_key(&parameters),
            kind,
            status: Status::Ok,
            error: None,
            parameters,
            engine: None,
            started_unix_s: unix_now(),
            t0_unix_s: None,
            wall_s: 0.0,
            warmup_runs: 0,
            runs: Vec::new(),
            requests: Vec::new(),
            summary: BTreeMap::new(),
            scalars: BTreeMap::new(),
            samples: BTreeMap::new(),
            memory: Memory::default(),
            warnings: Vec::new(),
            notes: BTreeMap::new(),
            vanilla_twin: None,
        }
    }
}

/// Tool identity written into every results file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tool {
    pub name: String,
    pub version: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub git_commit: Option<String>,
}

impl Default for Tool {
    fn default() -> Self {
        Tool {
            name: "trtbench".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            git_commit: option_env!("TRTBENCH_GIT_COMMIT").map(str::to_owned),
        }
    }
}

/// A whole results document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Results {
    pub schema_version: u32,
    pub tool: Tool,
    pub created_unix_s: f64,
    /// The command line that produced the file.
    pub command: Vec<String>,
    /// Hardware and software fingerprint (`trtbench env`).
    pub environment: serde_json::Value,
    /// What the points were measured with (engine runs): `--resume` refuses to add points
    /// measured otherwise. Absent in files written before trtbench recorded it, and in
    /// load-test files.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity: Option<RunIdentity>,
    pub points: Vec<Point>,
}

/// An engine as a results file knows it: where it was and which model file it held.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EngineIdentity {
    /// Absolute path of the engine directory.
    pub path: String,
    /// SHA-256 of the model file, as the engine's manifest records it.
    pub sha256: String,
}

/// Everything that must be equal for points to be comparable inside one results file:
/// the run settings, each engine and the machine.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RunIdentity {
    /// Run settings (`runs`, `warmup`, `seed`, `text`, `text_sha256`, `ctx`, `kv_dtype`,
    /// `threads`, ...), by the flag name without its dashes.
    pub settings: BTreeMap<String, serde_json::Value>,
    /// Engines by the name their points carry in `parameters.engine`.
    pub engines: BTreeMap<String, EngineIdentity>,
    /// The identity fields of the machine fingerprint ([`MACHINE_FIELDS`]).
    pub machine: BTreeMap<String, serde_json::Value>,
}

/// Fingerprint fields that identify a machine and its inference libraries; other fields
/// (load, free memory, warnings) change from minute to minute and are not identity.
pub const MACHINE_FIELDS: &[&str] = &[
    "hostname",
    "cpu_model",
    "cpu_logical_cores",
    "ram_total_bytes",
    "gpus",
    "nvidia_driver",
    "cuda_toolkit_version",
    "tensorrt_version",
    "llama_cpp",
    "features",
];

impl RunIdentity {
    /// The identity fields of a fingerprint (`trtbench env`).
    pub fn machine_of(environment: &serde_json::Value) -> BTreeMap<String, serde_json::Value> {
        MACHINE_FIELDS
            .iter()
            .filter_map(|k| Some((k.to_string(), environment.get(*k)?.clone())))
            .collect()
    }

    /// Every way `now` differs from `self` (the file), one phrase each: `runs differs
    /// (file 5, now 3)`, `engine m sha256 differs (file ab12.., now cd34..)`. Engines only
    /// in one of the two are not differences (a resumed sweep may add engines).
    pub fn differences(&self, now: &RunIdentity) -> Vec<String> {
        let mut out = Vec::new();
        let show = |v: Option<&serde_json::Value>| match v {
            None | Some(serde_json::Value::Null) => "none".to_string(),
            Some(serde_json::Value::String(s)) => s.clone(),
            Some(v) => v.to_string(),
        };
        let mut map_diff = |what: &str, a: &BTreeMap<_, _>, b: &BTreeMap<_, _>| {
            let keys: std::collections::BTreeSet<&String> = a.keys().chain(b.keys()).collect();
            for k in keys {
                if a.get(k) != b.get(k) {
                    out.push(format!(
                        "{what}{k} differs (file {}, now {})",
                        show(a.get(k)),
                        show(b.get(k))
                    ));
                }
            }
        };
        map_diff("", &self.settings, &now.settings);
        map_diff("machine ", &self.machine, &now.machine);
        for (name, e) in &self.engines {
            let Some(n) = now.engines.get(name) else {
                continue;
            };
            if e.path != n.path {
                out.push(format!(
                    "engine {name} path differs (file {}, now {})",
                    e.path, n.path
                ));
            }
            if e.sha256 != n.sha256 {
                out.push(format!(
                    "engine {name} sha256 differs (file {}, now {}): the model file was rebuilt or replaced",
                    short(&e.sha256),
                    short(&n.sha256)
                ));
            }
        }
        out
    }
}

fn short(sha: &str) -> &str {
    sha.get(..12).unwrap_or(sha)
}

impl Results {
    pub fn new(command: Vec<String>, environment: serde_json::Value) -> Self {
        Results {
            schema_version: SCHEMA_VERSION,
            tool: Tool::default(),
            created_unix_s: unix_now(),
            command,
            environment,
            identity: None,
            points: Vec::new(),
        }
    }

    /// Reads a results file, checking its schema version.
    pub fn load(path: &Path) -> Result<Self> {
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        let value: serde_json::Value = serde_json::from_slice(&bytes).map_err(|e| Error::Json {
            path: path.to_owned(),
            source: e,
        })?;
        match value.get("schema_version").and_then(|v| v.as_u64()) {
            Some(v) if v == u64::from(SCHEMA_VERSION) => {}
            Some(v) => {
                return Err(Error::bad_file(
                    path,
                    format!(
                    "schema_version {v} is not supported (this trtbench reads {SCHEMA_VERSION})"
                ),
                ))
            }
            None => {
                return Err(Error::bad_file(
                    path,
                    "not a trtbench results file (no schema_version)",
                ))
            }
        }
        serde_json::from_value(value).map_err(|e| Error::Json {
            path: path.to_owned(),
            source: e,
        })
    }

    /// Writes the document atomically: a temporary file in the same directory, fsynced,
    /// then renamed over `path`, so a reader or a crash never sees half a file.
    pub fn save(&self, path: &Path) -> Result<()> {
        let bytes = serde_json::to_vec_pretty(self).map_err(|e| Error::Json {
            path: path.to_owned(),
            source: e,
        })?;
        write_atomic(path, &bytes)
    }

    /// Adds or replaces the point with the same key.
    pub fn upsert(&mut self, point: Point) {
        match self.points.iter_mut().find(|p| p.key == point.key) {
            Some(p) => *p = point,
            None => self.points.push(point),
        }
    }

    /// The finished (status ok) point with this key.
    pub fn finished(&self, key: &str) -> Option<&Point> {
        self.points
            .iter()
            .find(|p| p.key == key && p.status == Status::Ok)
    }
}

/// Writes `bytes` to `path` atomically (temp file + fsync + rename + fsync of the
/// directory, so the rename itself survives a power cut).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    let dir: PathBuf = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
    let writer = Writer::this();
    if let Some(w) = &writer {
        w.clean_stale(&dir);
    }
    let name = path
        .file_name()
        .map_or("out".into(), |n| n.to_string_lossy());
    let prefix = format!(".{name}{TEMP_TAG}");
    let suffix = writer.as_ref().map_or(String::new(), Writer::suffix);
    let mut tmp = tempfile::Builder::new()
        .prefix(&prefix)
        .suffix(&suffix)
        .tempfile_in(&dir)
        .map_err(|e| Error::io(&dir, e))?;
    // Temp files are created 0600; results and manifests are ordinary files.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        tmp.as_file()
            .set_permissions(std::fs::Permissions::from_mode(0o644))
            .map_err(|e| Error::io(path, e))?;
    }
    tmp.write_all(bytes).map_err(|e| Error::io(path, e))?;
    tmp.as_file().sync_all().map_err(|e| Error::io(path, e))?;
    tmp.persist(path).map_err(|e| Error::io(path, e.error))?;
    // The new directory entry is durable only once the directory is synced.
    #[cfg(unix)]
    std::fs::File::open(&dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| Error::io(&dir, e))?;
    Ok(())
}

/// Marks the temp files of [`write_atomic`]: `.<file><TEMP_TAG><random>.<pid>.<start>.<host>`.
pub const TEMP_TAG: &str = ".trtbench-tmp.";

/// The process writing a temp file: host, pid and the pid's start time, so a later save
/// can tell a writer that died (SIGKILL, power cut) from one still writing.
#[derive(Debug, Clone, PartialEq)]
struct Writer {
    host: String,
    pid: u32,
    start: u64,
}

impl Writer {
    /// This process; `None` without procfs (then no temp file is ever cleaned).
    fn this() -> Option<Writer> {
        let pid = std::process::id();
        Some(Writer {
            // Dots separate the fields of the name.
            host: crate::platform::hostname()?.replace('.', "_"),
            pid,
            start: crate::platform::process_start_ticks(pid)?,
        })
    }

    fn suffix(&self) -> String {
        format!(".{}.{}.{}", self.pid, self.start, self.host)
    }

    /// The writer a temp file name records, if it is one of ours with a writer.
    fn of(name: &str) -> Option<Writer> {
        if !name.starts_with('.') || !name.contains(TEMP_TAG) {
            return None;
        }
        let mut f = name.rsplitn(4, '.');
        let host = f.next()?.to_owned();
        let start = f.next()?.parse().ok()?;
        let pid = f.next()?.parse().ok()?;
        f.next().filter(|rest| rest.contains(TEMP_TAG))?;
        Some(Writer { host, pid, start })
    }

    /// Deletes the temp files in `dir` whose writer ran on this host and is gone (no
    /// process with that pid, or one started at another time). A file of a live writer,
    /// or of another host sharing the directory, is never touched. Best effort.
    fn clean_stale(&self, dir: &Path) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for e in entries.flatten() {
            let name = e.file_name();
            let Some(w) = Writer::of(&name.to_string_lossy()) else {
                continue;
            };
            let alive = crate::platform::process_start_ticks(w.pid) == Some(w.start);
            if w.host == self.host && !alive {
                let _ = std::fs::remove_file(e.path());
            }
        }
    }
}

/// Seconds since the Unix epoch.
pub fn unix_now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn save_is_atomic_and_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.json");
        let mut r = Results::new(vec!["trtbench".into()], serde_json::json!({"os": "test"}));
        let mut params = BTreeMap::new();
        params.insert("batch".to_string(), serde_json::json!(4));
        params.insert("engine".to_string(), serde_json::json!("e"));
        let mut p = Point::new(PointKind::Engine, params);
        p.status = Status::Error;
        p.error = Some("boom".into());
        // A value that prints exactly: serde_json's default float parsing is not
        // guaranteed to round-trip every f64 to the last bit.
        p.started_unix_s = 1.5;
        r.created_unix_s = 2.5;
        r.upsert(p);
        r.save(&path).unwrap();
        let back = Results::load(&path).unwrap();
        assert_eq!(back, r);
        assert_eq!(back.points[0].key, "batch=4,engine=e");
        assert!(back.finished("batch=4,engine=e").is_none());
        // only the target file remains: no temp files left behind
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    /// A temp file of a writer that died is removed by the next save; one of a live
    /// writer (another process, really running) and files not ours are kept.
    #[test]
    fn stale_temp_files_of_dead_writers_are_cleaned() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.json");
        let me = Writer::this().expect("procfs on Linux");
        let temp_of = |pid: u32, start: u64| {
            let w = Writer {
                pid,
                start,
                ..me.clone()
            };
            let p = dir
                .path()
                .join(format!(".r.json{TEMP_TAG}abc123{}", w.suffix()));
            std::fs::write(&p, b"{half a fi").unwrap();
            assert_eq!(
                Writer::of(&p.file_name().unwrap().to_string_lossy()),
                Some(w)
            );
            p
        };
        let mut live = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .unwrap();
        let live_start = crate::platform::process_start_ticks(live.id()).unwrap();
        let mut dead = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .unwrap();
        let dead_start = crate::platform::process_start_ticks(dead.id()).unwrap();
        dead.kill().unwrap(); // SIGKILL, as a writer killed mid-save
        dead.wait().unwrap();
        let live_tmp = temp_of(live.id(), live_start);
        let dead_tmp = temp_of(dead.id(), dead_start);
        // The live pid, but another start time: the pid was reused, the writer is gone.
        let reused_tmp = temp_of(live.id(), live_start + 1);
        let other_host = dir.path().join(format!(
            ".r.json{TEMP_TAG}x.{}.{}.elsewhere",
            dead.id(),
            dead_start
        ));
        std::fs::write(&other_host, b"x").unwrap();
        let foreign = dir.path().join(".tmpXYZ");
        std::fs::write(&foreign, b"x").unwrap();

        Results::new(vec![], serde_json::json!({}))
            .save(&path)
            .unwrap();
        assert!(live_tmp.exists(), "a live writer's temp file was deleted");
        assert!(!dead_tmp.exists() && !reused_tmp.exists());
        assert!(other_host.exists() && foreign.exists());
        live.kill().unwrap();
        live.wait().unwrap();
        Results::new(vec![], serde_json::json!({}))
            .save(&path)
            .unwrap();
        assert!(!live_tmp.exists(), "its writer is dead now");
        Results::load(&path).unwrap();
    }

    #[test]
    fn rejects_foreign_json() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.json");
        std::fs::write(&path, b"{\"hello\": 1}").unwrap();
        let err = Results::load(&path).unwrap_err().to_string();
        assert!(
            err.contains("x.json") && err.contains("schema_version"),
            "{err}"
        );
    }
}
