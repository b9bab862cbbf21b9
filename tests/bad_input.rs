//! The bad-input corpus: one named test per way a user can hand trtbench something wrong
//! (engine files, flags, sweep specs, results files). Each must end within its timeout
//! with exit 1 or 2 and a message naming the file, flag or field, never a panic, and must
//! leave results already written as they were. Most fail before any engine runs.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::util::{bin, engine, engine_copy, read_json};

const TIMEOUT: Duration = Duration::from_secs(120);

/// Runs `cmd` to its end (killed and failed past [`TIMEOUT`]); returns (code, stderr).
fn finish(mut cmd: Command) -> (i32, String) {
    let mut child = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    loop {
        if let Some(st) = child.try_wait().unwrap() {
            let mut err = String::new();
            use std::io::Read;
            child
                .stderr
                .take()
                .unwrap()
                .read_to_string(&mut err)
                .unwrap();
            return (st.code().unwrap_or(-1), err);
        }
        if start.elapsed() > TIMEOUT {
            let _ = child.kill();
            panic!("{cmd:?} did not end within {TIMEOUT:?} (hang)");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// `trtbench args…` must fail with `code`, no panic, and name every one of `names`.
fn refused(args: &[&str], code: i32, names: &[&str]) -> String {
    let mut c = bin();
    c.args(args);
    let (got, err) = finish(c);
    assert_eq!(got, code, "{args:?}: {err}");
    assert!(!err.contains("panicked"), "{args:?} panicked: {err}");
    for n in names {
        assert!(err.contains(n), "{args:?}: `{n}` not named in: {err}");
    }
    err
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// A scratch dir, the path of a results file not yet written, and the engine as text.
fn setup() -> (tempfile::TempDir, PathBuf, String) {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out.json");
    (tmp, out, engine().to_str().unwrap().to_owned())
}

/// `run` on `engine_dir` must fail with 2 naming `names`, writing no results file.
fn run_refused(engine_dir: &Path, names: &[&str]) {
    let out = engine_dir.with_extension("out.json");
    refused(
        &["run", "--engine", s(engine_dir), "--out", s(&out)],
        2,
        names,
    );
    assert!(!out.exists(), "a refused run wrote {}", out.display());
}

fn edit_manifest(dir: &Path, f: impl FnOnce(&mut serde_json::Value)) {
    let path = dir.join("trtbench.json");
    let mut m = read_json(&path);
    f(&mut m);
    std::fs::write(path, serde_json::to_vec(&m).unwrap()).unwrap();
}

const GGUF: &str = "SmolLM2-135M-Instruct.Q4_1.gguf";

// ---- engine files -------------------------------------------------------------------

#[test]
fn bad_input_engine_missing() {
    run_refused(Path::new("/nonexistent/engine"), &["/nonexistent/engine"]);
}

#[test]
fn bad_input_engine_without_manifest() {
    let (tmp, _, _) = setup();
    let d = tmp.path().join("empty-engine");
    std::fs::create_dir(&d).unwrap();
    run_refused(&d, &["trtbench.json"]);
}

#[test]
fn bad_input_engine_empty_model_file() {
    let (tmp, _, _) = setup();
    let d = engine_copy(tmp.path(), "empty");
    std::fs::write(d.join(GGUF), b"").unwrap();
    run_refused(&d, &[GGUF, "0 bytes"]);
}

#[test]
fn bad_input_engine_truncated_model_file() {
    let (tmp, _, _) = setup();
    let d = engine_copy(tmp.path(), "truncated");
    let f = std::fs::OpenOptions::new()
        .write(true)
        .open(d.join(GGUF))
        .unwrap();
    f.set_len(4096).unwrap();
    run_refused(&d, &[GGUF, "truncated"]);
}

#[test]
fn bad_input_engine_not_gguf() {
    let (tmp, _, _) = setup();
    let d = engine_copy(tmp.path(), "notgguf");
    std::fs::write(d.join(GGUF), vec![7u8; 4096]).unwrap();
    edit_manifest(&d, |m| m["files"][0]["bytes"] = 4096.into());
    run_refused(&d, &[GGUF, "not a GGUF"]);
}

#[test]
fn bad_input_engine_wrong_magic() {
    let (tmp, _, _) = setup();
    let d = engine_copy(tmp.path(), "magic");
    let mut bytes = std::fs::read(d.join(GGUF)).unwrap();
    bytes[..4].copy_from_slice(b"GGML");
    std::fs::write(d.join(GGUF), bytes).unwrap();
    run_refused(&d, &[GGUF, "GGUF"]);
}

#[test]
fn bad_input_manifest_malformed() {
    let (tmp, _, _) = setup();
    let d = engine_copy(tmp.path(), "malformed");
    std::fs::write(d.join("trtbench.json"), "{\"name\": \"x\",").unwrap();
    run_refused(&d, &["trtbench.json"]);
}

#[test]
fn bad_input_manifest_missing_field() {
    let (tmp, _, _) = setup();
    let d = engine_copy(tmp.path(), "nofiles");
    edit_manifest(&d, |m| {
        m.as_object_mut().unwrap().remove("files");
    });
    run_refused(&d, &["trtbench.json", "files"]);
}

#[test]
fn bad_input_manifest_empty_file_list() {
    let (tmp, _, _) = setup();
    let d = engine_copy(tmp.path(), "emptyfiles");
    edit_manifest(&d, |m| m["files"] = serde_json::json!([]));
    run_refused(&d, &["trtbench.json", "files"]);
}

#[test]
fn bad_input_manifest_unknown_backend() {
    let (tmp, _, _) = setup();
    let d = engine_copy(tmp.path(), "backend");
    edit_manifest(&d, |m| m["backend"] = "onnxruntime".into());
    run_refused(&d, &["trtbench.json", "onnxruntime"]);
}

#[test]
fn bad_input_manifest_wrong_type() {
    let (tmp, _, _) = setup();
    let d = engine_copy(tmp.path(), "wrongtype");
    edit_manifest(&d, |m| m["model"]["layers"] = "thirty".into());
    // The file and the offending value are named (serde gives line and column).
    run_refused(&d, &["trtbench.json", "thirty", "expected u32"]);
}

// ---- flags --------------------------------------------------------------------------

/// `run`/`sweep` with these extra flags must exit 2 naming `names`, writing nothing.
fn flag_refused(cmd: &str, extra: &[&str], names: &[&str]) {
    let (_tmp, out, eng) = setup();
    let flag = if cmd == "run" {
        "--engine"
    } else {
        "--engines"
    };
    let mut args = vec![cmd, flag, &eng, "--out", s(&out)];
    args.extend_from_slice(extra);
    refused(&args, 2, names);
    assert!(!out.exists(), "a refused {cmd} wrote its results file");
}

#[test]
fn bad_input_flag_batch_zero() {
    flag_refused("run", &["--batch", "0"], &["--batch"]);
}

#[test]
fn bad_input_flag_batch_range_overflows() {
    flag_refused("sweep", &["--batch", "1-4000000000*2"], &["--batch"]);
}

#[test]
fn bad_input_flag_isl_range_overflows() {
    flag_refused("sweep", &["--isl", "4294967290-4294967295+1"], &["--isl"]);
}

#[test]
fn bad_input_flag_too_many_values() {
    flag_refused("sweep", &["--osl", "1-20000"], &["--osl", "10000 values"]);
}

#[test]
fn bad_input_flag_empty_list() {
    flag_refused("sweep", &["--batch", ","], &["--batch", "empty list"]);
}

#[test]
fn bad_input_flag_not_a_number() {
    flag_refused("sweep", &["--osl", "4,x"], &["--osl", "`x`"]);
}

#[test]
fn bad_input_flag_runs_zero() {
    flag_refused("run", &["--runs", "0"], &["--runs"]);
}

#[test]
fn bad_input_flag_runs_negative() {
    flag_refused("run", &["--runs=-3"], &["--runs", "-3"]);
}

#[test]
fn bad_input_flag_mem_fraction_out_of_range() {
    flag_refused("run", &["--mem-fraction", "1.5"], &["--mem-fraction"]);
}

#[test]
fn bad_input_flag_unknown_kv_dtype() {
    flag_refused("run", &["--kv-dtype", "q2"], &["--kv-dtype", "q2"]);
}

#[test]
fn bad_input_flag_text_missing() {
    flag_refused(
        "run",
        &["--text", "/no/such/text.txt"],
        &["--text", "/no/such/text.txt"],
    );
}

#[test]
fn bad_input_flag_ppl_text_missing() {
    flag_refused(
        "run",
        &["--ppl", "/no/such/ppl.txt"],
        &["--ppl", "/no/such/ppl.txt"],
    );
}

#[test]
fn bad_input_flag_unknown_cuda_graphs_value() {
    flag_refused(
        "sweep",
        &["--cuda-graphs", "maybe"],
        &["--cuda-graphs", "maybe"],
    );
}

#[test]
fn bad_input_flag_shard_out_of_range() {
    flag_refused("sweep", &["--shard", "5/4"], &["--shard"]);
}

#[test]
fn bad_input_flag_engine_glob_matches_nothing() {
    let (_tmp, out, _) = setup();
    refused(
        &["sweep", "--engines", "/nowhere/*", "--out", s(&out)],
        2,
        &["--engines", "/nowhere/*"],
    );
}

#[test]
fn bad_input_flag_compare_threshold() {
    let (_tmp, out, _) = setup();
    refused(
        &["compare", s(&out), s(&out), "--fail-if-slower", "lots"],
        2,
        &["--fail-if-slower", "lots"],
    );
}

// ---- sweep specs --------------------------------------------------------------------

fn spec_refused(toml: &str, names: &[&str]) {
    let (tmp, out, eng) = setup();
    let spec = tmp.path().join("spec.toml");
    std::fs::write(&spec, toml).unwrap();
    let mut want = vec!["spec.toml"];
    want.extend_from_slice(names);
    refused(
        &[
            "sweep",
            "--spec",
            s(&spec),
            "--engines",
            &eng,
            "--out",
            s(&out),
        ],
        2,
        &want,
    );
    assert!(!out.exists());
}

#[test]
fn bad_input_spec_syntax_error_names_the_line() {
    spec_refused("runs = 2\nbatch = = 3\nisl = [8]\n", &["line 2"]);
}

#[test]
fn bad_input_spec_unknown_key() {
    spec_refused("bach = [1]\n", &["bach"]);
}

#[test]
fn bad_input_spec_wrong_type() {
    spec_refused("runs = \"three\"\n", &["runs"]);
}

#[test]
fn bad_input_spec_range_overflows() {
    let (tmp, out, eng) = setup();
    let spec = tmp.path().join("spec.toml");
    std::fs::write(&spec, "isl = \"4294967290-4294967295+1\"\n").unwrap();
    refused(
        &[
            "sweep",
            "--spec",
            s(&spec),
            "--engines",
            &eng,
            "--out",
            s(&out),
        ],
        2,
        &["--isl"],
    );
    assert!(!out.exists());
}

#[test]
fn bad_input_spec_missing_file() {
    let (_tmp, out, eng) = setup();
    refused(
        &[
            "sweep",
            "--spec",
            "/no/such/spec.toml",
            "--engines",
            &eng,
            "--out",
            s(&out),
        ],
        2,
        &["/no/such/spec.toml"],
    );
}

// ---- results files ------------------------------------------------------------------

/// `report` and `compare` on a damaged results file must fail naming it, leaving it as
/// it was.
fn results_refused(content: &[u8], names: &[&str]) {
    let (tmp, _, _) = setup();
    let bad = tmp.path().join("bad.json");
    std::fs::write(&bad, content).unwrap();
    let mut want = vec!["bad.json"];
    want.extend_from_slice(names);
    let (code, err) = {
        let mut c = bin();
        c.args(["report", s(&bad)]);
        finish(c)
    };
    assert!(code == 1 || code == 2, "report: exit {code}: {err}");
    assert!(!err.contains("panicked"), "{err}");
    for n in &want {
        assert!(err.contains(n), "report: `{n}` not named in: {err}");
    }
    let (code, err) = {
        let mut c = bin();
        c.args(["compare", s(&bad), s(&bad), "--fail-if-slower", "5%"]);
        finish(c)
    };
    assert!(code == 1 || code == 2, "compare: exit {code}: {err}");
    assert!(
        err.contains("bad.json") && !err.contains("panicked"),
        "{err}"
    );
    assert_eq!(std::fs::read(&bad).unwrap(), content);
}

#[test]
fn bad_input_results_truncated_json() {
    results_refused(b"{\"schema_version\": 1, \"points\": [", &["EOF"]);
}

#[test]
fn bad_input_results_wrong_schema_version() {
    results_refused(
        b"{\"schema_version\": 99, \"points\": []}",
        &["schema_version 99"],
    );
}

#[test]
fn bad_input_results_not_an_object() {
    results_refused(b"[1, 2, 3]", &["schema_version"]);
}

#[test]
fn bad_input_results_missing_points() {
    results_refused(
        b"{\"schema_version\": 1, \"tool\": {\"name\": \"t\", \"version\": \"0\"}, \
          \"created_unix_s\": 0, \"command\": [], \"environment\": {}}",
        &["points"],
    );
}

/// A results file with one (refused, so cheap) point of a real engine copy, for resume.
fn resumable(tmp: &Path) -> (PathBuf, PathBuf, Vec<u8>) {
    let d = engine_copy(tmp, "m");
    let out = tmp.join("r.json");
    let mut c = bin();
    // isl 8190 + osl 10 does not fit: the point is a skipped row, no generation runs.
    c.args([
        "run", "--isl", "8190", "--osl", "10", "--runs", "2", "--engine",
    ])
    .arg(&d)
    .arg("--out")
    .arg(&out);
    let (code, err) = finish(c);
    assert_eq!(code, 2, "{err}");
    let bytes = std::fs::read(&out).unwrap();
    (d, out, bytes)
}

fn resume(d: &Path, out: &Path, extra: &[&str]) -> (i32, String) {
    let mut c = bin();
    c.args([
        "run", "--isl", "8190", "--osl", "10", "--resume", "--engine",
    ])
    .arg(d)
    .arg("--out")
    .arg(out)
    .args(extra);
    finish(c)
}

#[test]
fn bad_input_resume_with_other_settings() {
    let _heavy = crate::util::heavy();
    let tmp = tempfile::tempdir().unwrap();
    let (d, out, before) = resumable(tmp.path());
    let (code, err) = resume(&d, &out, &["--runs", "3", "--seed", "9"]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("--resume") && err.contains("runs differs (file 2, now 3)"),
        "{err}"
    );
    assert!(err.contains("seed differs (file 0, now 9)"), "{err}");
    assert_eq!(std::fs::read(&out).unwrap(), before);
}

#[test]
fn bad_input_resume_with_a_rebuilt_engine() {
    let _heavy = crate::util::heavy();
    let tmp = tempfile::tempdir().unwrap();
    let (d, out, before) = resumable(tmp.path());
    edit_manifest(&d, |m| m["files"][0]["sha256"] = "ab".repeat(32).into());
    let (code, err) = resume(&d, &out, &["--runs", "2"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("engine m sha256 differs"), "{err}");
    assert_eq!(std::fs::read(&out).unwrap(), before);
}

#[test]
fn bad_input_resume_with_an_engine_of_the_same_name_elsewhere() {
    let _heavy = crate::util::heavy();
    let tmp = tempfile::tempdir().unwrap();
    let (_d, out, before) = resumable(tmp.path());
    let other = engine_copy(&tmp.path().join("b"), "m");
    let (code, err) = resume(&other, &out, &["--runs", "2"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("engine m path differs"), "{err}");
    assert_eq!(std::fs::read(&out).unwrap(), before);
}

#[test]
fn bad_input_resume_of_a_file_without_identity() {
    let _heavy = crate::util::heavy();
    let tmp = tempfile::tempdir().unwrap();
    let (d, out, _) = resumable(tmp.path());
    let mut r = read_json(&out);
    r.as_object_mut().unwrap().remove("identity");
    let bytes = serde_json::to_vec(&r).unwrap();
    std::fs::write(&out, &bytes).unwrap();
    let (code, err) = resume(&d, &out, &["--runs", "2"]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("--resume") && err.contains("records no run settings"),
        "{err}"
    );
    assert_eq!(std::fs::read(&out).unwrap(), bytes);
}

#[test]
fn bad_input_resume_of_a_truncated_file() {
    let (tmp, _, eng) = setup();
    let out = tmp.path().join("r.json");
    std::fs::write(&out, b"{\"schema_version\": 1, \"poi").unwrap();
    let (code, err) = resume(Path::new(&eng), &out, &[]);
    assert!(code == 1 || code == 2, "{err}");
    assert!(err.contains("r.json") && !err.contains("panicked"), "{err}");
    assert_eq!(
        std::fs::read(&out).unwrap(),
        b"{\"schema_version\": 1, \"poi"
    );
}

#[test]
fn bad_input_existing_results_are_never_clobbered() {
    let (tmp, _, eng) = setup();
    let out = tmp.path().join("keep.json");
    std::fs::write(&out, b"precious").unwrap();
    refused(
        &["run", "--engine", &eng, "--out", s(&out)],
        2,
        &["keep.json", "already exists"],
    );
    assert_eq!(std::fs::read(&out).unwrap(), b"precious");
}
