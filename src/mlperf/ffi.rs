//! The C entry points of our LoadGen shim (`cpp/mlperf/loadgen_shim.h`, feature `mlperf`),
//! declared by hand (five functions, plain C types) and wrapped safely: LoadGen's issue
//! callback becomes a channel of [`Query`] samples, and a sample's response id can be
//! completed once only, because [`Issued::complete`] consumes it (LoadGen reads the id as
//! a pointer to its own bookkeeping, so a made-up or repeated id would be memory unsafety).
#![allow(unsafe_code)]

use std::ffi::{c_char, c_int, c_void, CString};
use std::path::Path;
use std::sync::mpsc::Sender;

use crate::error::{Error, Result};

#[repr(C)]
struct RawSample {
    id: usize,
    index: usize,
}

type IssueFn = extern "C" fn(*mut c_void, *const RawSample, usize);
type FlushFn = extern "C" fn(*mut c_void);

/// `tb_lg_config` in loadgen_shim.h, field for field.
#[repr(C)]
struct RawConfig {
    scenario: c_int,
    mode: c_int,
    model: *const c_char,
    mlperf_conf: *const c_char,
    user_conf: *const c_char,
    outdir: *const c_char,
    total_sample_count: usize,
    performance_sample_count: usize,
    min_duration_ms: f64,
    max_duration_ms: f64,
    min_query_count: f64,
    max_query_count: f64,
    target_qps: f64,
    target_latency_ms: f64,
    ttft_ms: f64,
    tpot_ms: f64,
    samples_per_query: f64,
    use_token_latencies: c_int,
}

extern "C" {
    fn tb_lg_run(
        cfg: *const RawConfig,
        ctx: *mut c_void,
        issue: IssueFn,
        flush: FlushFn,
        err: *mut c_char,
        err_len: usize,
    ) -> c_int;
    fn tb_lg_first_token(id: usize, data: *const u8, size: usize);
    fn tb_lg_complete(id: usize, data: *const u8, size: usize, n_tokens: i64);
}

/// One sample LoadGen issued: which prompt (`index` into the sample library) and the
/// response id to answer it with.
#[derive(Debug)]
pub struct Issued {
    id: usize,
    pub index: usize,
}

impl Issued {
    /// Reports the sample's first token (LoadGen's `FirstTokenComplete`); LoadGen copies
    /// `data` before returning.
    pub fn first_token(&self, data: &[u8]) {
        // SAFETY: `id` came from LoadGen's IssueQuery and is not completed yet (completing
        // consumes self); `data` is valid for `len` bytes for the duration of the call.
        unsafe { tb_lg_first_token(self.id, data.as_ptr(), data.len()) }
    }

    /// Completes the sample with `n_tokens` output tokens (LoadGen's
    /// `QuerySamplesComplete`); LoadGen copies `data` before returning.
    pub fn complete(self, data: &[u8], n_tokens: u64) {
        // SAFETY: as in `first_token`; `self` is consumed, so the id completes once.
        unsafe { tb_lg_complete(self.id, data.as_ptr(), data.len(), n_tokens as i64) }
    }
}

/// What the shim's callbacks hand over: the samples of one query.
pub type Query = Vec<Issued>;

extern "C" fn on_issue(ctx: *mut c_void, samples: *const RawSample, n: usize) {
    let _ = std::panic::catch_unwind(|| {
        // SAFETY: `ctx` is the `Sender` `run` passed, alive until `tb_lg_run` returns;
        // `samples` points to `n` samples for the duration of this call.
        let (tx, raw) = unsafe {
            (
                &*(ctx as *const Sender<Query>),
                std::slice::from_raw_parts(samples, n),
            )
        };
        let query = raw
            .iter()
            .map(|s| Issued {
                id: s.id,
                index: s.index,
            })
            .collect();
        // A closed receiver means the SUT has stopped; LoadGen then waits for nothing
        // more from us and the run's end will report the error that stopped it.
        let _ = tx.send(query);
    });
}

extern "C" fn on_flush(_ctx: *mut c_void) {}

/// The TestSettings a run starts from, as the shim takes them (negative = leave the
/// configuration files' value).
#[derive(Debug, Clone)]
pub struct RawSettings<'a> {
    pub scenario: i32,
    pub mode: i32,
    pub model: &'a str,
    pub mlperf_conf: Option<&'a Path>,
    pub user_conf: Option<&'a Path>,
    pub outdir: &'a Path,
    pub total_sample_count: usize,
    pub performance_sample_count: usize,
    pub min_duration_ms: f64,
    pub max_duration_ms: f64,
    pub min_query_count: f64,
    pub max_query_count: f64,
    pub target_qps: f64,
    pub target_latency_ms: f64,
    pub ttft_ms: f64,
    pub tpot_ms: f64,
    pub samples_per_query: f64,
    pub use_token_latencies: i32,
}

fn c_string(key: &str, s: &str) -> Result<CString> {
    CString::new(s).map_err(|_| Error::config(key, "contains a NUL byte"))
}

fn c_path(key: &str, p: &Path) -> Result<CString> {
    c_string(key, &p.to_string_lossy())
}

/// Runs one LoadGen test; every query LoadGen issues is sent on `tx` (from LoadGen's
/// thread). Blocks until LoadGen has written its logs.
pub fn run(s: &RawSettings<'_>, tx: Sender<Query>) -> Result<()> {
    let model = c_string("--model-name", s.model)?;
    let mlperf_conf = s
        .mlperf_conf
        .map(|p| c_path("--mlperf-conf", p))
        .transpose()?;
    let user_conf = s.user_conf.map(|p| c_path("--user-conf", p)).transpose()?;
    let outdir = c_path("--out", s.outdir)?;
    let opt = |c: &Option<CString>| c.as_ref().map_or(std::ptr::null(), |c| c.as_ptr());
    let cfg = RawConfig {
        scenario: s.scenario,
        mode: s.mode,
        model: model.as_ptr(),
        mlperf_conf: opt(&mlperf_conf),
        user_conf: opt(&user_conf),
        outdir: outdir.as_ptr(),
        total_sample_count: s.total_sample_count,
        performance_sample_count: s.performance_sample_count,
        min_duration_ms: s.min_duration_ms,
        max_duration_ms: s.max_duration_ms,
        min_query_count: s.min_query_count,
        max_query_count: s.max_query_count,
        target_qps: s.target_qps,
        target_latency_ms: s.target_latency_ms,
        ttft_ms: s.ttft_ms,
        tpot_ms: s.tpot_ms,
        samples_per_query: s.samples_per_query,
        use_token_latencies: s.use_token_latencies,
    };
    let mut err = vec![0 as c_char; 1024];
    let ctx = &tx as *const Sender<Query> as *mut c_void;
    // SAFETY: every pointer in `cfg` points into CStrings alive until this returns; `ctx`
    // is `tx`, alive for the call, and only read (shared) by `on_issue`; `err` has
    // `err.len()` bytes for the shim's NUL-terminated message.
    let rc = unsafe { tb_lg_run(&cfg, ctx, on_issue, on_flush, err.as_mut_ptr(), err.len()) };
    if rc != 0 {
        // SAFETY: the shim NUL-terminates within `err`.
        let msg = unsafe { std::ffi::CStr::from_ptr(err.as_ptr()) };
        return Err(Error::Tool {
            tool: "MLPerf LoadGen".into(),
            message: msg.to_string_lossy().into_owned(),
        });
    }
    Ok(())
}

/// Ends the process with `code` without running exit handlers or static destructors
/// (`_exit`): LoadGen's threads may still be running, and its static objects must not be
/// destroyed under them.
pub fn exit_now(code: i32) -> ! {
    // SAFETY: `_exit` takes no pointers and never returns; skipping destructors is the
    // point (the kernel reclaims the process; files LoadGen wrote stay as written).
    unsafe { libc::_exit(code) }
}
