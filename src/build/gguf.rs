//! GGUF quantisation with llama.cpp's own quantizer (`llama_model_quantize`), writing a
//! complete engine directory. Requantizing an already quantized model is allowed (users
//! ask for it to compare formats) but warned about: it cannot recover lost precision.
//! GGUF metadata is read with `crate::gguf`; the built file's dims and parameter count
//! come from llama.cpp's load (`backends::llama::inspect_gguf`), as `trtbench fetch`'s do.

use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::backends::llama::quant::{ftype_of_quant, quant_name_of_ftype};
use crate::engine::{self, BackendKind, BuildInfo, FileEntry, Manifest, Source, MANIFEST_VERSION};
use crate::error::{Error, Result};

/// True for formats that hold full-precision weights (quantizing from them loses nothing
/// beyond the target format's own loss).
pub fn is_full_precision(quant: &str) -> bool {
    matches!(quant, "f32" | "f16" | "bf16")
}

/// A resolved build source: a GGUF file, and the engine it came from when it did.
#[derive(Debug, Clone)]
pub struct SourceModel {
    pub gguf: PathBuf,
    pub engine: Option<Manifest>,
    /// Base name for derived engines (`smollm2-135m` from `smollm2-135m-q4_1`).
    pub base_name: String,
}

/// Resolves `--from`: an engine directory (its GGUF) or a `.gguf` file.
pub fn resolve_source(from: &Path) -> Result<SourceModel> {
    if from.is_dir() {
        let resolved = crate::backends::resolve(from)?;
        let (m, from) = (resolved.manifest, resolved.dir.as_path());
        if m.backend != BackendKind::LlamaCpp {
            return Err(Error::config(
                "--from",
                format!(
                    "{} is a {} engine; GGUF builds start from a GGUF file or a llama.cpp engine",
                    from.display(),
                    m.backend.as_str()
                ),
            ));
        }
        m.check_files(from)?;
        let gguf = m.primary_file(from);
        let suffix = format!("-{}", m.quant);
        let base_name = m.name.strip_suffix(&suffix).unwrap_or(&m.name).to_owned();
        return Ok(SourceModel {
            gguf,
            engine: Some(m),
            base_name,
        });
    }
    if !from.exists() {
        return Err(Error::config(
            "--from",
            format!("{} does not exist", from.display()),
        ));
    }
    crate::gguf::check(from)?;
    let stem = from
        .file_stem()
        .map(|s| s.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_else(|| "model".into());
    Ok(SourceModel {
        gguf: from.to_owned(),
        engine: None,
        base_name: stem.replace(['.', ' '], "-"),
    })
}

/// What a GGUF build did.
#[derive(Debug, Clone)]
pub struct Built {
    pub dir: PathBuf,
    pub manifest: Manifest,
    pub source_quant: String,
    pub requantized: bool,
}

/// Quantizes `src` to `quant` into `out_dir` (created; must not exist unless `force`).
/// The output is written to a temporary file first and renamed only on success, so a
/// failed quantization (llama.cpp leaves a truncated file behind) leaves no engine.
pub fn build_gguf(
    src: &SourceModel,
    quant: &str,
    out_dir: &Path,
    force: bool,
    threads: u32,
) -> Result<Built> {
    let ftype = ftype_of_quant(quant)?;
    let quant = quant.to_ascii_lowercase();
    if out_dir.exists() {
        if !force {
            return Err(Error::config(
                "--out",
                format!(
                    "{} already exists; pass --force to replace it",
                    out_dir.display()
                ),
            ));
        }
        std::fs::remove_dir_all(out_dir).map_err(|e| Error::io(out_dir, e))?;
    }
    // The source's format from its metadata; llama.cpp's quantizer validates the rest.
    let source_quant = crate::gguf::Gguf::read(&src.gguf)?
        .file_type()
        .and_then(quant_name_of_ftype)
        .unwrap_or("unknown")
        .to_owned();
    let requantized = !is_full_precision(&source_quant);
    std::fs::create_dir_all(out_dir).map_err(|e| Error::io(out_dir, e))?;
    let name = out_dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| format!("{}-{quant}", src.base_name));
    let file_name = format!("{name}.gguf");
    let final_path = out_dir.join(&file_name);
    let tmp_path = out_dir.join(format!(".{file_name}.partial"));
    let t = Instant::now();
    let r =
        crate::backends::llama::model_quantize(&src.gguf, &tmp_path, ftype, threads as i32, true);
    let wall_s = t.elapsed().as_secs_f64();
    if let Err(msg) = r {
        let _ = std::fs::remove_dir_all(out_dir);
        return Err(Error::Engine {
            backend: "llama.cpp",
            op: "quantize",
            message: format!("{msg} (quantizing {} to {quant})", src.gguf.display()),
        });
    }
    std::fs::rename(&tmp_path, &final_path).map_err(|e| Error::io(&final_path, e))?;
    let mut settings = std::collections::BTreeMap::new();
    settings.insert("ftype".into(), serde_json::json!(ftype));
    settings.insert("threads".into(), serde_json::json!(threads));
    settings.insert("allow_requantize".into(), serde_json::json!(true));
    settings.insert("source_quant".into(), serde_json::json!(source_quant));
    let build = BuildInfo {
        tool: "llama.cpp llama_model_quantize".into(),
        tool_version: crate::backends::llama::version(),
        wall_s,
        steps: Vec::new(),
        settings,
    };
    let manifest = quantized_manifest(src, &final_path, name, &quant, build)?;
    manifest.save(out_dir)?;
    Ok(Built {
        dir: out_dir.to_owned(),
        manifest,
        source_quant,
        requantized,
    })
}

/// The manifest of a freshly quantized GGUF at `path`: dims read back from the file, its
/// size and sha256, where it came from, and `build`.
fn quantized_manifest(
    src: &SourceModel,
    path: &Path,
    name: String,
    quant: &str,
    build: BuildInfo,
) -> Result<Manifest> {
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let dims = crate::backends::llama::inspect_gguf(path)?.dims;
    let bytes = std::fs::metadata(path)
        .map_err(|e| Error::io(path, e))?
        .len();
    let src_sha = match &src.engine {
        Some(m) => m.files[0].sha256.clone(),
        None => engine::sha256_file(&src.gguf)?,
    };
    Ok(Manifest {
        schema_version: MANIFEST_VERSION,
        name,
        backend: BackendKind::LlamaCpp,
        quant: quant.to_owned(),
        files: vec![FileEntry {
            path: file_name,
            bytes,
            sha256: engine::sha256_file(path)?,
        }],
        model: dims,
        source: Some(Source {
            kind: if src.engine.is_some() {
                "engine"
            } else {
                "file"
            }
            .into(),
            package: None,
            version: None,
            path: Some(src.gguf.display().to_string()),
            sha256: Some(src_sha),
        }),
        build: Some(build),
    })
}
