//! The raw llama.cpp calls the safe `llama-cpp-2` wrapper does not offer: capturing
//! llama.cpp's log (it is the only place llama.cpp reports the KV buffer it allocated and
//! why a load failed), quantizing a model, and version strings. All `unsafe` of the llama
//! backend lives here.
#![allow(unsafe_code)]

use std::collections::VecDeque;
use std::ffi::{c_char, c_void, CStr, CString};
use std::path::Path;
use std::sync::{Mutex, Once};

/// Lines kept from llama.cpp's log (a ring; old lines fall off). Creating one context logs
/// over a thousand lines at debug level, so the ring is large.
const LOG_CAPACITY: usize = 10_000;

struct LogState {
    /// Complete lines, oldest first, each tagged with a sequence number.
    lines: VecDeque<(u64, String)>,
    /// Text of the line still being written (llama.cpp logs in pieces).
    partial: String,
    next: u64,
    echo: bool,
}

static LOG: Mutex<LogState> = Mutex::new(LogState {
    lines: VecDeque::new(),
    partial: String::new(),
    next: 0,
    echo: false,
});
static INSTALL: Once = Once::new();

extern "C" fn on_log(_level: llama_cpp_sys_2::ggml_log_level, text: *const c_char, _: *mut c_void) {
    if text.is_null() {
        return;
    }
    // SAFETY: llama.cpp passes a NUL-terminated string valid for the duration of the call.
    let text = unsafe { CStr::from_ptr(text) }.to_string_lossy();
    let Ok(mut log) = LOG.lock() else { return };
    if log.echo {
        eprint!("{text}");
    }
    log.partial.push_str(&text);
    while let Some(nl) = log.partial.find('\n') {
        let line: String = log.partial.drain(..=nl).collect();
        let seq = log.next;
        log.next += 1;
        log.lines.push_back((seq, line.trim_end().to_owned()));
        if log.lines.len() > LOG_CAPACITY {
            log.lines.pop_front();
        }
    }
}

/// Routes llama.cpp's and ggml's log into trtbench's buffer (once per process). With
/// `TRTBENCH_LLAMA_LOG=1` the log is also echoed to stderr.
pub fn install_log_capture() {
    INSTALL.call_once(|| {
        if let Ok(mut log) = LOG.lock() {
            log.echo = std::env::var_os("TRTBENCH_LLAMA_LOG").is_some_and(|v| v != "0");
        }
        // SAFETY: `on_log` has the callback signature llama.cpp expects and never unwinds
        // (it only locks a mutex and copies text); the user-data pointer is unused.
        unsafe { llama_cpp_sys_2::llama_log_set(Some(on_log), std::ptr::null_mut()) };
    });
}

/// A position in the log; lines after it can be read with [`log_since`].
pub fn log_mark() -> u64 {
    LOG.lock().map(|l| l.next).unwrap_or(0)
}

/// Log lines written after `mark`.
pub fn log_since(mark: u64) -> Vec<String> {
    LOG.lock()
        .map(|l| {
            l.lines
                .iter()
                .filter(|(s, _)| *s >= mark)
                .map(|(_, t)| t.clone())
                .collect()
        })
        .unwrap_or_default()
}

/// ggml's version string (the vendored llama.cpp carries no git commit).
pub fn ggml_version() -> String {
    // SAFETY: returns a pointer to a static NUL-terminated string.
    let v = unsafe { llama_cpp_sys_2::ggml_version() };
    if v.is_null() {
        return "unknown".into();
    }
    // SAFETY: non-null static string, see above.
    unsafe { CStr::from_ptr(v) }.to_string_lossy().into_owned()
}

/// ggml's build commit, when the build recorded one.
pub fn ggml_commit() -> String {
    // SAFETY: returns a pointer to a static NUL-terminated string.
    let v = unsafe { llama_cpp_sys_2::ggml_commit() };
    if v.is_null() {
        return "unknown".into();
    }
    // SAFETY: non-null static string, see above.
    unsafe { CStr::from_ptr(v) }.to_string_lossy().into_owned()
}

/// llama.cpp's system-info line (SIMD features compiled in and used).
pub fn system_info() -> String {
    // SAFETY: returns a pointer to a static NUL-terminated buffer.
    let v = unsafe { llama_cpp_sys_2::llama_print_system_info() };
    if v.is_null() {
        return String::new();
    }
    // SAFETY: non-null, see above.
    unsafe { CStr::from_ptr(v) }
        .to_string_lossy()
        .trim()
        .to_owned()
}

/// Quantizes `input` into `output` with llama.cpp's own quantizer. `ftype` is a
/// `llama_ftype` value. Returns llama.cpp's status code (0 = success).
pub fn model_quantize(
    input: &Path,
    output: &Path,
    ftype: u32,
    threads: i32,
    allow_requantize: bool,
) -> Result<(), String> {
    let cin = CString::new(input.to_string_lossy().as_bytes())
        .map_err(|_| format!("{}: path contains a NUL byte", input.display()))?;
    let cout = CString::new(output.to_string_lossy().as_bytes())
        .map_err(|_| format!("{}: path contains a NUL byte", output.display()))?;
    // The quantizer logs a line per tensor (hundreds): into the log buffer, not stderr,
    // where they buried the one warning `build` prints; a failure quotes the last lines.
    install_log_capture();
    let mark = log_mark();
    // SAFETY: returns a plain struct by value.
    let mut params = unsafe { llama_cpp_sys_2::llama_model_quantize_default_params() };
    params.nthread = threads;
    params.ftype = ftype as _;
    params.allow_requantize = allow_requantize;
    // SAFETY: both paths are valid NUL-terminated strings that outlive the call and
    // `params` is a fully initialised struct from llama.cpp's own defaults.
    let rc = unsafe { llama_cpp_sys_2::llama_model_quantize(cin.as_ptr(), cout.as_ptr(), &params) };
    if rc == 0 {
        Ok(())
    } else {
        let log = log_since(mark);
        let tail = log[log.len().saturating_sub(5)..].join(" / ");
        Err(format!("llama_model_quantize returned {rc}: {tail}"))
    }
}
