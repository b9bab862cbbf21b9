//! The library's one error type. Every variant carries the path, key or operation it is
//! about, so a message printed to a user names what to fix. Depends on nothing of ours.

use std::path::PathBuf;

/// Result alias used across the library.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything the library can fail with.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A file or directory could not be read or written.
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A value given by the user (flag, spec field, manifest field) is invalid.
    #[error("{key}: {reason}")]
    Config { key: String, reason: String },
    /// A file exists but its content is not what it must be (corrupt, truncated, wrong format).
    #[error("{path}: {reason}")]
    BadFile { path: PathBuf, reason: String },
    /// An engine operation failed at run time.
    #[error("{backend} {op} failed: {message}")]
    Engine {
        backend: &'static str,
        op: &'static str,
        message: String,
    },
    /// The request does not fit the session (context, batch, memory).
    #[error("does not fit: {reason}")]
    Capacity { reason: String },
    /// The backend was not compiled into this binary.
    #[error(
        "backend `{backend}` is not compiled in: rebuild with the `{feature}` feature \
         (`cargo build --release --features {feature}`; docs/gpu.md lists the SDKs it needs)"
    )]
    NotCompiled {
        backend: &'static str,
        feature: &'static str,
    },
    /// A part of trtbench behind a cargo feature this binary was built without.
    #[error("{what} is not compiled in: rebuild with the `{feature}` feature ({how})")]
    FeatureOff {
        what: &'static str,
        feature: &'static str,
        how: &'static str,
    },
    /// An operation is not offered by this backend.
    #[error("{backend} does not support {op}")]
    Unsupported {
        backend: &'static str,
        op: &'static str,
    },
    /// An external tool (pip, python, a build step) failed or is missing.
    #[error("{tool}: {message}")]
    Tool { tool: String, message: String },
    /// JSON (de)serialisation of a results or manifest file failed.
    #[error("{path}: {source}")]
    Json {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    /// The run was interrupted (Ctrl-C); everything finished so far is saved.
    #[error("interrupted")]
    Interrupted,
}

impl Error {
    /// Wraps an I/O error with the path it concerns.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }

    /// A configuration error about `key`.
    pub fn config(key: impl Into<String>, reason: impl Into<String>) -> Self {
        Error::Config {
            key: key.into(),
            reason: reason.into(),
        }
    }

    /// A TOML document's error as a `Config` error keyed by the field on the line it
    /// points at (`what` when that line names none), its reason the line and what is
    /// wrong: `bach: sweep spec line 2: unknown field ...`.
    pub fn toml_field(text: &str, e: &toml::de::Error, what: &str) -> Self {
        let at = e.span().map_or(0, |s| s.start).min(text.len());
        let line_no = text[..at].matches('\n').count() + 1;
        let line = text.lines().nth(line_no - 1).unwrap_or("");
        let key = line
            .split_once('=')
            .map(|(k, _)| k.trim())
            .filter(|k| !k.is_empty() && !k.contains(char::is_whitespace))
            .unwrap_or(what);
        Error::config(key, format!("{what} line {line_no}: {}", e.message()))
    }

    /// A file whose content is wrong.
    pub fn bad_file(path: impl Into<PathBuf>, reason: impl Into<String>) -> Self {
        Error::BadFile {
            path: path.into(),
            reason: reason.into(),
        }
    }

    /// True when the error comes from what the user asked for (bad flag, path, file),
    /// rather than from a run that failed; the CLI exits 2 for these.
    pub fn is_usage(&self) -> bool {
        matches!(
            self,
            Error::Config { .. }
                | Error::BadFile { .. }
                | Error::NotCompiled { .. }
                | Error::FeatureOff { .. }
        ) || matches!(self, Error::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound)
    }
}
