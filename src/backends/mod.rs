//! Engine backends and the one place that turns an engine directory into a running
//! engine. `llama` is always compiled (llama.cpp on CPU, CUDA with the `cuda` feature);
//! `trt` needs the `tensorrt` feature and otherwise answers `Error::NotCompiled`.

pub mod llama;
pub mod trt;

use std::path::{Path, PathBuf};

use crate::engine::{BackendKind, Engine, Manifest, DERIVED_SOURCE, MANIFEST_FILE};
use crate::error::{Error, Result};

/// Opens the engine at `path` (an engine directory, a directory holding one `.gguf`, or a
/// `.gguf` file; see `resolve`): checks its files and loads it with the backend the
/// manifest names. The weights are loaded once; make sessions from the result.
pub fn open(path: &Path) -> Result<Box<dyn Engine>> {
    let r = resolve(path)?;
    r.manifest.check_files(&r.dir)?;
    match r.manifest.backend {
        BackendKind::LlamaCpp => Ok(Box::new(llama::LlamaEngine::open(&r.dir, r.manifest)?)),
        BackendKind::EdgeLlm => trt::open(&r.dir, r.manifest),
    }
}

/// Where a resolved engine's manifest came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ManifestOrigin {
    /// A `trtbench.json` written by `fetch` or `build`.
    Read(PathBuf),
    /// A manifest trtbench derived earlier and cached there (still fresh).
    Cached(PathBuf),
    /// Derived now; `saved` is where it was cached, `None` when the directory is read-only.
    Derived { saved: Option<PathBuf> },
}

/// An engine on disk with its manifest: `dir` is what the manifest's file paths are
/// relative to (the directory of a `.gguf` given as a file).
#[derive(Debug, Clone)]
pub struct Resolved {
    pub dir: PathBuf,
    pub manifest: Manifest,
    pub origin: ManifestOrigin,
}

/// Resolves an engine path the way llama-bench's `-m` would accept it, manifest never
/// required:
/// - a directory with `trtbench.json`: that manifest (a derived one is re-derived when stale);
/// - a directory holding exactly one `.gguf`: its manifest, derived (several: an error
///   naming them);
/// - a `.gguf` file: its manifest, derived (or the directory's own when it names the file).
///
/// A derived manifest is cached beside the model (`trtbench.json`, or `<file>.trtbench.json`
/// when the directory holds several models) when the directory is writable.
/// - a directory as Edge-LLM's `llm_build` leaves it (`config.json` + `llm.engine`): its
///   manifest, derived from those files and never written into the directory.
pub fn resolve(path: &Path) -> Result<Resolved> {
    if path.is_file() {
        crate::gguf::check(path)?;
        let dir = parent_dir(path);
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        let own = dir.join(MANIFEST_FILE);
        let names_it = |m: &Manifest| m.files.first().is_some_and(|f| f.path == name);
        if let Ok(m) = Manifest::load(&dir) {
            if names_it(&m) && m.backend == BackendKind::LlamaCpp {
                if let Some(r) = fresh(&dir, &own, m, path) {
                    return Ok(r);
                }
                return derive_cached(path, &dir, own);
            }
        }
        let cache = if gguf_files(&dir)?.len() <= 1 && !own.exists() {
            own
        } else {
            dir.join(format!("{name}.{MANIFEST_FILE}"))
        };
        if let Some(m) = read_cache(&cache).filter(names_it) {
            if let Some(r) = fresh(&dir, &cache, m, path) {
                return Ok(r);
            }
        }
        return derive_cached(path, &dir, cache);
    }
    if !path.is_dir() {
        return Err(Error::config(
            "engine",
            format!(
                "{} does not exist (give an engine directory, a directory holding a .gguf, \
                 or a .gguf file; `trtbench fetch` makes the default one)",
                path.display()
            ),
        ));
    }
    let own = path.join(MANIFEST_FILE);
    if own.is_file() {
        let m = Manifest::load(path)?;
        if m.files.is_empty() {
            return Err(Error::bad_file(&own, "field `files` is empty"));
        }
        let model = m.primary_file(path);
        if let Some(r) = fresh(path, &own, m, &model) {
            return Ok(r);
        }
        return derive_cached(&model, path, own);
    }
    if let Some(manifest) = derive_manifest(path)? {
        // An engine directory as its backend's tools leave it: derived, never written to.
        return Ok(Resolved {
            dir: path.to_owned(),
            manifest,
            origin: ManifestOrigin::Derived { saved: None },
        });
    }
    match single_gguf(path)? {
        Some(gguf) => derive_cached(&gguf, path, own),
        None => Err(Error::bad_file(
            &own,
            "missing, and the directory holds no .gguf file to derive it from \
             (give an engine directory, a directory holding one .gguf, or a .gguf file)",
        )),
    }
}

/// The manifest of the engine at `path` ([`resolve`]).
pub fn manifest(path: &Path) -> Result<Manifest> {
    resolve(path).map(|r| r.manifest)
}

/// A manifest for an engine directory without `trtbench.json` that a backend's own tools
/// laid out (Edge-LLM's `llm_build`: `config.json` + `llm.engine`). `Ok(None)` when no
/// backend recognises it. Needs no feature: only files are read. (Bare GGUF files and
/// directories holding one are derived by [`resolve`].)
pub fn derive_manifest(dir: &Path) -> Result<Option<Manifest>> {
    if trt::config::looks_like_engine_dir(dir) {
        return trt::config::derive_manifest(dir).map(Some);
    }
    Ok(None)
}

/// True when `dir` holds an engine trtbench can open without being told which file: a
/// `trtbench.json`, or the files Edge-LLM's tools leave (for `--engines` globs).
pub fn is_engine_dir(dir: &Path) -> bool {
    dir.join(MANIFEST_FILE).is_file() || trt::config::looks_like_engine_dir(dir)
}

fn parent_dir(file: &Path) -> PathBuf {
    match file.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
        _ => PathBuf::from("."),
    }
}

/// The `.gguf` files directly in `dir`, sorted.
fn gguf_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| Error::io(dir, e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.is_file()
                && p.extension()
                    .is_some_and(|x| x.eq_ignore_ascii_case("gguf"))
        })
        .collect();
    v.sort();
    Ok(v)
}

/// The one `.gguf` of `dir`, `None` when there is none, an error naming them when several.
fn single_gguf(dir: &Path) -> Result<Option<PathBuf>> {
    let mut v = gguf_files(dir)?;
    if v.len() > 1 {
        let names: Vec<String> = v.iter().map(|p| p.display().to_string()).collect();
        return Err(Error::config(
            "engine",
            format!(
                "{} holds {} GGUF files ({}); give the one to use as a file path",
                dir.display(),
                v.len(),
                names.join(", ")
            ),
        ));
    }
    Ok(v.pop())
}

/// A cached derived manifest, or `None` when missing, unreadable or of another schema
/// (a cache is never required: it is then derived again).
fn read_cache(path: &Path) -> Option<Manifest> {
    let m: Manifest = serde_json::from_slice(&std::fs::read(path).ok()?).ok()?;
    (m.schema_version == crate::engine::MANIFEST_VERSION).then_some(m)
}

/// `m` as resolved when it is authoritative (written by fetch/build) or a derived cache
/// still describing `model` (same size, model not modified after the cache); else `None`.
fn fresh(dir: &Path, at: &Path, m: Manifest, model: &Path) -> Option<Resolved> {
    let derived = m.source.as_ref().is_some_and(|s| s.kind == DERIVED_SOURCE);
    if !derived {
        return Some(Resolved {
            dir: dir.to_owned(),
            manifest: m,
            origin: ManifestOrigin::Read(at.to_owned()),
        });
    }
    let mtime = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    let same_size = std::fs::metadata(model)
        .is_ok_and(|md| m.files.first().is_some_and(|f| f.bytes == md.len()));
    let older = matches!((mtime(model), mtime(at)), (Some(a), Some(b)) if a <= b);
    (same_size && older).then(|| Resolved {
        dir: dir.to_owned(),
        manifest: m,
        origin: ManifestOrigin::Cached(at.to_owned()),
    })
}

/// Derives the manifest of `gguf` and caches it at `cache` when the directory is writable.
fn derive_cached(gguf: &Path, dir: &Path, cache: PathBuf) -> Result<Resolved> {
    let manifest = llama::derive_manifest(gguf)?;
    let saved = serde_json::to_vec_pretty(&manifest)
        .ok()
        .and_then(|b| crate::record::write_atomic(&cache, &b).ok())
        .map(|_| cache);
    Ok(Resolved {
        dir: dir.to_owned(),
        manifest,
        origin: ManifestOrigin::Derived { saved },
    })
}

/// The machine's fingerprint (`env::fingerprint`) with the versions of the engine libraries
/// this build links (llama.cpp, and Edge-LLM / TensorRT with the `tensorrt` feature): what
/// every results file embeds.
pub fn fingerprint() -> serde_json::Value {
    let mut env = crate::env::fingerprint();
    if let Some(m) = env.as_object_mut() {
        m.insert("llama_cpp".into(), llama::version().into());
        let info = llama::system_info();
        m.insert(
            "llama_cpp_build_features".into(),
            crate::env::ggml_build_features(&info).into(),
        );
        m.insert("llama_cpp_system_info".into(), info.into());
        for (k, v) in trt::environment().unwrap_or_default() {
            m.insert(k.into(), v.into());
        }
    }
    env
}
