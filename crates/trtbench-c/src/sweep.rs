//! A sweep from a TOML spec through the library's `bench::spec::plan` and
//! `bench::sweep::Sweep` (what `trtbench sweep --spec` runs), with a per-point callback
//! and a stop flag another thread may raise.

use std::ffi::{c_char, c_void};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

use trtbench::bench::sweep::{Observer, OutputMode, Sweep};
use trtbench::record::Point;

use crate::{c_string, guard, status, str_arg, Failure, TrtbenchStatus};

/// A stop flag for trtbench_sweep and trtbench_load: raised from any thread (a signal
/// handler's thread, a ROS 2 service callback), the sweep ends after its current
/// generation, a load run after the requests in flight, and both save.
pub struct TrtbenchStop {
    flag: AtomicBool,
}

impl TrtbenchStop {
    /// The flag itself, for the runs that poll it.
    pub(crate) fn flag(&self) -> &AtomicBool {
        &self.flag
    }
}

/// What to do with a results file that already exists at the sweep's output path.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrtbenchOutput {
    /// Refuse it (never clobbered).
    New = 0,
    /// Continue it, keeping its finished points.
    Resume = 1,
    /// Replace it.
    Overwrite = 2,
}

/// Called once per finished point (a sweep's point, a load run's level) with the point as JSON (the results file's `points[i]`:
/// `key`, `status`, `parameters`, `summary` with every metric's statistics, ...); the
/// string is valid during the call only.
pub type TrtbenchPointFn =
    Option<unsafe extern "C" fn(user: *mut c_void, point_json: *const c_char)>;

/// A new, lowered stop flag. Thread-safety: any thread.
#[no_mangle]
pub extern "C" fn trtbench_stop_new() -> *mut TrtbenchStop {
    guard(
        |_| std::ptr::null_mut(),
        || {
            Ok(Box::into_raw(Box::new(TrtbenchStop {
                flag: AtomicBool::new(false),
            })))
        },
    )
}

/// Raises the flag. Thread-safety: any thread, while a sweep runs with it.
///
/// # Safety
/// `stop` is a live handle from trtbench_stop_new.
#[no_mangle]
pub unsafe extern "C" fn trtbench_stop_request(stop: *const TrtbenchStop) -> TrtbenchStatus {
    status(|| {
        // SAFETY: a live handle (this function's contract); as_ref checks NULL.
        let stop = unsafe { stop.as_ref() }.ok_or_else(|| Failure::invalid("stop: NULL"))?;
        stop.flag.store(true, Ordering::SeqCst);
        Ok(())
    })
}

/// Releases a stop flag (no sweep may still be using it). NULL is allowed.
/// Thread-safety: any thread, after every sweep using it has returned.
///
/// # Safety
/// `stop` is NULL or a handle from trtbench_stop_new, not yet freed.
#[no_mangle]
pub unsafe extern "C" fn trtbench_stop_free(stop: *mut TrtbenchStop) {
    // SAFETY: the handle is NULL or from Box::into_raw in trtbench_stop_new, freed once.
    unsafe { crate::free_boxed(stop) }
}

/// Hands each finished point to the C callback.
struct PointCallback {
    f: TrtbenchPointFn,
    user: *mut c_void,
}

impl Observer for PointCallback {
    fn point_finished(&mut self, point: &Point, _saved_to: &Path) {
        let Some(f) = self.f else { return };
        let json = serde_json::to_string(point).unwrap_or_default();
        let json = std::ffi::CString::new(json).unwrap_or_default();
        // SAFETY: the caller of trtbench_sweep promised `f` is safe to call with `user`.
        unsafe { f(self.user, json.as_ptr()) };
    }
}

fn output_mode(mode: i32) -> Result<OutputMode, Failure> {
    Ok(match mode {
        m if m == TrtbenchOutput::New as i32 => OutputMode::New,
        m if m == TrtbenchOutput::Resume as i32 => OutputMode::Resume,
        m if m == TrtbenchOutput::Overwrite as i32 => OutputMode::Overwrite,
        m => {
            return Err(Failure::invalid(format!(
                "mode: {m} is not a TrtbenchOutput"
            )))
        }
    })
}

/// Runs the sweep a TOML spec describes (the file `trtbench sweep --spec` reads, as a
/// string; paths in it are relative to the working directory), saving the results file
/// at `out_path` after every point (`mode`, a `TrtbenchOutput`, says what to do with an
/// existing one; NULL `out_path`: a temporary file, removed at the end). Calls `on_point` (may be NULL) per
/// finished point; `stop` (may be NULL) ends the sweep after the current generation.
/// Returns a JSON object: `{"path", "failed", "skipped", "interrupted", "results"}` where
/// `results` is the whole results document; NULL when the sweep could not start (a bad
/// spec field, an engine that is not there: trtbench_last_error() names it). A failing
/// point is a row with its error, not a failure of the call.
/// Thread-safety: any thread; it opens its own engines.
///
/// # Safety
/// `spec_toml` is a NUL-terminated string; `out_path` NULL or one; `on_point` safe to call
/// with `user`; `stop` NULL or a live handle.
#[no_mangle]
pub unsafe extern "C" fn trtbench_sweep(
    spec_toml: *const c_char,
    out_path: *const c_char,
    mode: i32,
    on_point: TrtbenchPointFn,
    user: *mut c_void,
    stop: *const TrtbenchStop,
) -> *mut c_char {
    guard(
        |_| std::ptr::null_mut(),
        || {
            // SAFETY: forwarded from this function's contract.
            let spec = unsafe { str_arg(spec_toml, "spec_toml") }?;
            let out = match out_path.is_null() {
                true => None,
                // SAFETY: forwarded from this function's contract.
                false => Some(unsafe { str_arg(out_path, "out_path") }?),
            };
            let plan = trtbench::bench::spec::plan(&trtbench::bench::spec::parse(spec)?)?;
            let temp = match out {
                Some(_) => None,
                None => Some(
                    tempfile::tempdir_in(std::env::temp_dir())
                        .map_err(|e| Failure::from(trtbench::Error::io(std::env::temp_dir(), e)))?,
                ),
            };
            let path = match (&temp, out) {
                (Some(dir), _) => dir.path().join("sweep.json"),
                (None, Some(p)) => p.into(),
                (None, None) => unreachable!("one of the two is set"),
            };
            let mut sweep = Sweep::new(plan, path);
            sweep.mode = output_mode(mode)?;
            let lowered = AtomicBool::new(false);
            // SAFETY: NULL or a live handle (this function's contract).
            let flag = unsafe { stop.as_ref() }.map_or(&lowered, |s| &s.flag);
            let mut observer = PointCallback { f: on_point, user };
            let outcome = sweep.run(&mut observer, flag)?;
            let json = outcome.summary_json(temp.is_none());
            Ok(c_string(json.to_string()))
        },
    )
}
