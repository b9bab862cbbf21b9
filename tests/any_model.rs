//! Any GGUF, no ceremony (issue 13.1): `--engine`/`-m` takes a bare `.gguf` file or a
//! directory holding one; the manifest is derived on the fly (through llama.cpp and the
//! crate's GGUF reader), cached beside the model when the directory is writable.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::util::{bin, engine, read_json};

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The real model's GGUF, and its sha256 as `trtbench fetch` recorded it.
fn model() -> (PathBuf, String) {
    let dir = engine();
    let m = read_json(&dir.join("trtbench.json"));
    let f = &m["files"][0];
    (
        dir.join(f["path"].as_str().unwrap()),
        f["sha256"].as_str().unwrap().to_owned(),
    )
}

/// A bare copy of the model (no manifest) in `dir` as `name`.
fn bare_copy(dir: &Path, name: &str) -> PathBuf {
    let dst = dir.join(name);
    std::fs::copy(model().0, &dst).unwrap();
    dst
}

fn kv_json(engine: &Path) -> (Output, Option<serde_json::Value>) {
    let o = bin()
        .args(["kv", "--json", "-m"])
        .arg(engine)
        .output()
        .unwrap();
    let v = serde_json::from_slice(&o.stdout).ok();
    (o, v)
}

/// Checks a derived manifest: the real model's dims, quant, size, sha256, and a `derived`
/// source naming the file's absolute path.
fn assert_derived(m: &serde_json::Value, gguf: &Path) {
    let (_, sha) = model();
    assert_eq!(m["backend"], "llama.cpp", "{m}");
    assert_eq!(m["quant"], "q4_1", "{m}");
    assert_eq!(m["model"]["layers"], 30, "{m}");
    assert_eq!(m["model"]["kv_heads"], 3, "{m}");
    assert_eq!(m["files"][0]["sha256"], sha.as_str(), "{m}");
    assert_eq!(
        m["files"][0]["bytes"],
        std::fs::metadata(gguf).unwrap().len(),
        "{m}"
    );
    assert_eq!(m["source"]["kind"], "derived", "{m}");
    assert_eq!(m["source"]["sha256"], sha.as_str(), "{m}");
    let abs = std::fs::canonicalize(gguf).unwrap();
    assert_eq!(m["source"]["path"], abs.display().to_string(), "{m}");
}

#[test]
fn bare_gguf_file_is_derived_cached_and_recorded_in_the_point() {
    let _heavy = crate::util::heavy();
    let tmp = tempfile::tempdir().unwrap();
    let gguf = bare_copy(tmp.path(), "copy.gguf");
    let (o, v) = kv_json(&gguf);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("derived it from the GGUF"),
        "{}",
        stderr(&o)
    );
    assert_eq!(v.unwrap()["layers"], 30);
    let cache = tmp.path().join("trtbench.json");
    assert_derived(&read_json(&cache), &gguf);
    // Second open: the cache is used, nothing derived again.
    let (o, _) = kv_json(&gguf);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(!stderr(&o).contains("derived"), "{}", stderr(&o));

    let out = tmp.path().join("r.json");
    let o = bin()
        .args([
            "run", "--isl", "8", "--osl", "2", "--warmup", "0", "--runs", "1",
        ])
        .arg("-m")
        .arg(&gguf)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let p = &read_json(&out)["points"][0];
    assert_eq!(p["status"], "ok", "{p}");
    assert_derived(&p["engine"], &gguf);
}

#[test]
fn directory_holding_one_gguf_is_an_engine() {
    let _heavy = crate::util::heavy();
    let tmp = tempfile::tempdir().unwrap();
    let gguf = bare_copy(tmp.path(), "model.gguf");
    let (o, v) = kv_json(tmp.path());
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(v.unwrap()["engine"], "model");
    assert_derived(&read_json(&tmp.path().join("trtbench.json")), &gguf);
}

/// Runs `trtbench` unable to write `dir`: as `nobody` when the tests run as root (root
/// ignores directory permissions), else with the directory made read-only.
fn without_write_access(dir: &Path) -> Command {
    let perms = |mode| {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(mode)).unwrap();
    };
    perms(0o555);
    // Root ignores directory permissions: if a probe can still be written, drop to nobody.
    let probe = dir.join(".probe");
    let root = std::fs::write(&probe, b"").is_ok();
    if root {
        perms(0o755);
        std::fs::remove_file(&probe).unwrap();
        perms(0o555);
    }
    if root {
        let mut c = Command::new("setpriv");
        c.args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(env!("CARGO_BIN_EXE_trtbench"));
        c
    } else {
        bin()
    }
}

#[test]
fn read_only_directory_is_derived_but_not_cached() {
    let _heavy = crate::util::heavy();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("ro");
    std::fs::create_dir(&dir).unwrap();
    let gguf = bare_copy(&dir, "model.gguf");
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        std::fs::set_permissions(&gguf, std::fs::Permissions::from_mode(0o644)).unwrap();
    }
    for target in [gguf.clone(), dir.clone()] {
        let o = without_write_access(&dir)
            .args(["kv", "--json", "-m"])
            .arg(&target)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", stderr(&o));
        assert!(stderr(&o).contains("not cached"), "{}", stderr(&o));
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        assert_eq!(v["layers"], 30);
    }
    let names: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, ["model.gguf"], "nothing may be written");
}

#[test]
fn directory_with_two_ggufs_names_both() {
    let tmp = tempfile::tempdir().unwrap();
    bare_copy(tmp.path(), "a.gguf");
    bare_copy(tmp.path(), "b.gguf");
    let (o, _) = kv_json(tmp.path());
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let e = stderr(&o);
    assert!(e.contains("a.gguf") && e.contains("b.gguf"), "{e}");
    assert!(e.contains("2 GGUF files"), "{e}");
}

#[test]
fn non_gguf_file_is_bad_input_naming_it() {
    let tmp = tempfile::tempdir().unwrap();
    let f = tmp.path().join("notes.txt");
    std::fs::write(&f, "just some text, not a model\n").unwrap();
    let (o, _) = kv_json(&f);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let e = stderr(&o);
    assert!(
        e.contains(&f.display().to_string()) && e.contains("not a GGUF"),
        "{e}"
    );
}

#[test]
fn sweep_glob_of_gguf_files_runs_each_with_its_own_cache() {
    let _heavy = crate::util::heavy();
    let tmp = tempfile::tempdir().unwrap();
    let models = tmp.path().join("models");
    std::fs::create_dir(&models).unwrap();
    let a = bare_copy(&models, "a.gguf");
    let b = bare_copy(&models, "b.gguf");
    let out = tmp.path().join("r.json");
    let o = bin()
        .args([
            "sweep", "--isl", "8", "--osl", "2", "--warmup", "0", "--runs", "1",
        ])
        .arg("--engines")
        .arg(format!("{}/*.gguf", models.display()))
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let r = read_json(&out);
    let points = r["points"].as_array().unwrap();
    assert_eq!(points.len(), 2, "{r}");
    for (p, gguf) in points.iter().zip([&a, &b]) {
        assert_eq!(p["status"], "ok", "{p}");
        assert_derived(&p["engine"], gguf);
    }
    // Two models in one directory: each is cached in its own sidecar, not trtbench.json.
    assert!(models.join("a.gguf.trtbench.json").is_file());
    assert!(models.join("b.gguf.trtbench.json").is_file());
    assert!(!models.join("trtbench.json").exists());
}

/// Distinct lower-case words of the machine's GPL-3 text (2 to 10 letters), in order.
fn gpl_words(n: usize) -> Vec<String> {
    let text = std::fs::read_to_string(trtbench::bench::corpus::DEFAULT_TEXT).unwrap();
    let mut seen = std::collections::HashSet::new();
    text.split(|c: char| !c.is_ascii_alphabetic())
        .map(str::to_ascii_lowercase)
        .filter(|w| (2..=10).contains(&w.len()) && seen.insert(w.clone()))
        .take(n)
        .collect()
}

/// A SentencePiece ("llama"-type) GGUF works as `--tokenizer` (issue 13.4): llama.cpp
/// loads it vocab-only, its merges build whole words, unknown characters fall back to
/// bytes, and prompts made from it re-encode to their exact length through a second,
/// independent llama.cpp load of the same file.
#[test]
fn sentencepiece_gguf_makes_exact_length_prompts() {
    use crate::support::gguf;
    use trtbench::backends::llama::VocabModel;
    use trtbench::client::prompts::{Length, PromptMaker};

    let dir = tempfile::tempdir().unwrap();
    let words = gpl_words(400);
    assert!(words.len() >= 300, "{}", words.len());
    let refs: Vec<&str> = words.iter().map(String::as_str).collect();
    let path = dir.path().join("spm-vocab.gguf");
    gguf::write_spm(&path, &refs);

    let check = VocabModel::load(&path).unwrap();
    assert_eq!(check.vocab_type(), "spm");
    let vocab = gguf::spm_vocab(&refs);
    let id = |piece: &str| vocab.iter().position(|t| t.0 == piece).unwrap() as u32;
    // SentencePiece: a space prefix, then merges up to the whole word's piece ...
    assert_eq!(
        check.tokenize(&words[0], false),
        [id(&format!("▁{}", words[0]))]
    );
    assert_eq!(
        check.tokenize(&words[0], true),
        [1, id(&format!("▁{}", words[0]))]
    );
    // ... and bytes for what the vocabulary lacks (é is C3 A9 in UTF-8).
    assert_eq!(check.tokenize("é", false), [id("▁"), 3 + 0xC3, 3 + 0xA9]);

    let tok = trtbench::load::tokenizer::load(&path).unwrap();
    assert!(tok.source.contains("spm"), "{}", tok.source);
    assert_eq!(tok.special_added, 1, "BOS");
    let maker = PromptMaker::new(tok).unwrap();
    let isl = Length {
        mean: 24,
        spread: 0.5,
    };
    let prompts = maker.random(30, isl, Length::fixed(4), 7, 1).unwrap();
    let mut lengths = std::collections::BTreeSet::new();
    for p in &prompts {
        let asked = p.input_tokens.unwrap();
        lengths.insert(asked);
        assert_eq!(
            check.tokenize(&p.text, true).len() as u64,
            asked,
            "{:?}",
            p.text
        );
    }
    assert!(lengths.len() > 3, "lengths drawn: {lengths:?}");
}

/// `run --requests-out FILE.jsonl` (issue 13.7): one row per measured run, the same
/// figures as the results file's raw runs, warmup never included; a path in a missing
/// directory is refused before anything runs.
#[test]
fn run_writes_one_jsonl_row_per_measured_run() {
    let _heavy = crate::util::heavy();
    let dir = tempfile::tempdir().unwrap();
    let (out, rows) = (dir.path().join("r.json"), dir.path().join("runs.jsonl"));
    let o = bin()
        .args(["run", "-m"])
        .arg(engine())
        .args([
            "--isl", "16", "--osl", "4", "--warmup", "1", "--runs", "3", "--out",
        ])
        .arg(&out)
        .arg("--requests-out")
        .arg(&rows)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let r = read_json(&out);
    let runs = r["points"][0]["runs"].as_array().unwrap();
    let lines: Vec<serde_json::Value> = std::fs::read_to_string(&rows)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 3);
    for (i, (row, run)) in lines.iter().zip(runs).enumerate() {
        assert_eq!(row["run"], i);
        assert_eq!(row["point"], r["points"][0]["key"]);
        assert_eq!(row["ttft_ms"], run["ttft_ms"]);
        assert_eq!(row["itl_ms"].as_array().unwrap().len(), 3);
        assert_eq!(row["output_tokens"], 4);
        assert_eq!(row["input_tokens"], 16);
    }
    let o = bin()
        .args(["run", "-m"])
        .arg(engine())
        .arg("--out")
        .arg(dir.path().join("r2.json"))
        .args(["--requests-out", "/nonexistent/dir/runs.jsonl"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("--requests-out"), "{}", stderr(&o));
    assert!(!dir.path().join("r2.json").exists());
}
