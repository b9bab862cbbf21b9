//! A load run against an OpenAI-compatible server from a spec (TOML or JSON) through the
//! library's `load::parse_any`, `load::plan` and `load::run` (what `trtbench load` runs),
//! with a per-level callback and the sweep's stop flag.

use std::ffi::{c_char, c_void};
use std::sync::atomic::AtomicBool;

use trtbench::client::run::FinishedLevel;
use trtbench::client::Observer;
use trtbench::load::{self, Names};

use crate::sweep::{TrtbenchPointFn, TrtbenchStop};
use crate::{c_string, guard, str_arg, Failure};

/// Hands each finished level (its point) to the C callback.
struct LevelCallback {
    f: TrtbenchPointFn,
    user: *mut c_void,
}

impl Observer for LevelCallback {
    fn level_finished(&mut self, level: &FinishedLevel<'_>) {
        let Some(f) = self.f else { return };
        let json = serde_json::to_string(level.point).unwrap_or_default();
        let json = std::ffi::CString::new(json).unwrap_or_default();
        // SAFETY: the caller of trtbench_load promised `f` is safe to call with `user`.
        unsafe { f(self.user, json.as_ptr()) };
    }
}

/// Runs the load a spec describes: the settings of `trtbench load` by field name (each
/// flag with `_` for `-`: `url`, `model`, `concurrency` (a list: one level per value),
/// `rate`, `num_prompts`, `isl`, `osl`, `tokenizer`, `out`, ...), as TOML, or as a JSON
/// object when the text starts with `{`. Without `out` the results go to a temporary
/// file, removed at the end; an existing `out` needs `force = true` or `resume = true`.
/// Calls `on_level` (may be NULL) with each finished level's point as JSON (the results
/// file's `points[i]`: `parameters`, `summary` with `ttft_ms`, `tpot_ms`, `itl_ms`,
/// `e2e_ms` statistics, `scalars` with `output_tok_per_s`, `requests_per_s`,
/// `completed`, ...); `stop` (may be NULL) ends the current level early, its finished
/// requests saved. Blocks until the run ends. Returns a JSON object `{"path",
/// "interrupted", "max_rate_req_per_s", "results"}`; NULL when the run could not start
/// (a bad field: trtbench_last_error() starts with its name; the server unreachable). A
/// level whose requests fail is a point with status "error", not a failure of the call.
/// Thread-safety: any thread; each call has its own connections and runtime.
///
/// # Safety
/// `spec` is a NUL-terminated string; `on_level` safe to call with `user`; `stop` NULL or
/// a live handle.
#[no_mangle]
pub unsafe extern "C" fn trtbench_load(
    spec: *const c_char,
    on_level: TrtbenchPointFn,
    user: *mut c_void,
    stop: *const TrtbenchStop,
) -> *mut c_char {
    guard(
        |_| std::ptr::null_mut(),
        || {
            // SAFETY: forwarded from this function's contract.
            let text = unsafe { str_arg(spec, "spec") }?;
            let mut spec = load::parse_any(text)?;
            let temp = match spec.out {
                Some(_) => None,
                None => {
                    let dir = tempfile::tempdir_in(std::env::temp_dir())
                        .map_err(|e| Failure::from(trtbench::Error::io(std::env::temp_dir(), e)))?;
                    spec.out = Some(dir.path().join("load.json"));
                    Some(dir)
                }
            };
            // Not the spec's text: its headers may hold a secret.
            let command = vec!["trtbench_load (C ABI)".to_owned()];
            let plan = load::plan(&spec, Names::Fields, command)?;
            let lowered = AtomicBool::new(false);
            // SAFETY: NULL or a live handle (this function's contract).
            let flag = unsafe { stop.as_ref() }.map_or(&lowered, |s| s.flag());
            let mut observer = LevelCallback { f: on_level, user };
            let outcome = load::run(&plan, &mut observer, flag)?;
            let kept = temp.is_none().then_some(plan.output.as_path());
            Ok(c_string(load::summary_json(&outcome, kept).to_string()))
        },
    )
}
