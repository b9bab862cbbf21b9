//! The one GGUF reader: header, metadata key/values (every value type, arrays included)
//! and the tensor table (names, shapes, types), never the tensor data. The tokenizer builds
//! its vocabulary from it, the llama.cpp backend takes model dimensions from it, and the
//! magic/version check before any load is [`check`]. Pure Rust; depends only on `error`
//! (it sits below `engine` and every backend, so it must not know `ModelDims`).
//!
//! Format (GGUF v2/v3, little-endian, ggml's `docs/gguf.md`): magic `GGUF`, `u32` version,
//! `u64` tensor count, `u64` metadata count, then `count` × (string key, `u32` type, value),
//! where a string is `u64` length + UTF-8 bytes and an array is `u32` element type +
//! `u64` length + elements; then per tensor: name, `u32` dimension count, `u64` dims,
//! `u32` ggml type, `u64` data offset.

use std::collections::BTreeMap;
use std::fmt;
use std::io::{BufReader, Read};
use std::path::Path;

use crate::error::{Error, Result};

/// One metadata value. Integer kinds widen to `U64`/`I64`, floats to `F64`.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    U64(u64),
    I64(i64),
    F64(f64),
    Bool(bool),
    Str(String),
    Array(Vec<Value>),
}

impl Value {
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_u64(&self) -> Option<u64> {
        match self {
            Value::U64(v) => Some(*v),
            Value::I64(v) if *v >= 0 => Some(*v as u64),
            _ => None,
        }
    }

    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }

    pub fn as_array(&self) -> Option<&[Value]> {
        match self {
            Value::Array(a) => Some(a),
            _ => None,
        }
    }
}

/// Metadata key/values, sorted by key.
pub type Metadata = BTreeMap<String, Value>;

/// The fixed-size start of a GGUF file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    pub version: u32,
    pub tensor_count: u64,
    pub metadata_count: u64,
}

/// One entry of the tensor table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TensorInfo {
    pub name: String,
    /// Shape, innermost dimension first (ggml's `ne`).
    pub dims: Vec<u64>,
    /// `ggml_type` of the data.
    pub ggml_type: u32,
    /// Offset of the data from the start of the data section.
    pub offset_bytes: u64,
}

impl TensorInfo {
    /// Number of elements (product of the dimensions).
    pub fn elements(&self) -> u64 {
        self.dims.iter().product()
    }
}

/// A GGUF file's header, metadata and tensor table.
#[derive(Debug, Clone, PartialEq)]
pub struct Gguf {
    pub header: Header,
    pub metadata: Metadata,
    pub tensors: Vec<TensorInfo>,
}

impl Gguf {
    /// Reads `path`'s header, metadata and tensor table.
    pub fn read(path: &Path) -> Result<Gguf> {
        let f = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
        Gguf::parse(BufReader::with_capacity(1 << 20, f)).map_err(|m| m.at(path))
    }

    /// Parses from any reader positioned at the start of a GGUF file.
    pub fn parse(r: impl Read) -> std::result::Result<Gguf, Malformed> {
        let mut r = Reader { inner: r };
        let header = r.header()?;
        let metadata = r.metadata(header.metadata_count)?;
        let tensors = r.tensors(header.tensor_count)?;
        Ok(Gguf {
            header,
            metadata,
            tensors,
        })
    }

    pub fn get(&self, key: &str) -> Option<&Value> {
        self.metadata.get(key)
    }

    /// `general.architecture` (`llama`, `qwen3`, ...).
    pub fn architecture(&self) -> Option<&str> {
        self.get("general.architecture").and_then(Value::as_str)
    }

    /// The unsigned value of `<arch>.<suffix>` (e.g. `block_count`). A per-layer array
    /// gives its first element, as llama.cpp's `n_head()` does for layer 0.
    pub fn arch_u64(&self, suffix: &str) -> Option<u64> {
        let v = self.get(&format!("{}.{suffix}", self.architecture()?))?;
        match v {
            Value::Array(a) => a.first().and_then(Value::as_u64),
            v => v.as_u64(),
        }
    }

    /// `general.file_type` (a `llama_ftype`), when the file records it.
    pub fn file_type(&self) -> Option<u32> {
        self.get("general.file_type")
            .and_then(Value::as_u64)
            .and_then(|v| u32::try_from(v).ok())
    }

    /// Tokens in the vocabulary (`tokenizer.ggml.tokens`), when the file carries one.
    pub fn vocab_size(&self) -> Option<u64> {
        self.get("tokenizer.ggml.tokens")
            .and_then(Value::as_array)
            .map(|a| a.len() as u64)
    }

    /// Sum of the elements of every tensor in the file.
    pub fn parameter_count(&self) -> u64 {
        self.tensors.iter().map(TensorInfo::elements).sum()
    }
}

/// Why bytes are not a readable GGUF file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Malformed {
    /// The first four bytes are not `GGUF`.
    BadMagic([u8; 4]),
    /// Fewer than four bytes.
    TooShort,
    /// A version this reader does not know (it reads 2 and 3).
    Version(u32),
    /// The data ends inside `what`.
    Truncated { what: String },
    /// A value that cannot be right (implausible length, unknown type, bad UTF-8).
    Invalid { what: String, reason: String },
}

impl fmt::Display for Malformed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Malformed::BadMagic(m) => {
                write!(
                    f,
                    "not a GGUF file (starts with {m:02x?}, expected \"GGUF\")"
                )
            }
            Malformed::TooShort => write!(f, "not a GGUF file (shorter than its 4-byte magic)"),
            Malformed::Version(v) => write!(f, "GGUF version {v} is not supported (2 or 3)"),
            Malformed::Truncated { what } => write!(f, "truncated: the file ends inside {what}"),
            Malformed::Invalid { what, reason } => write!(f, "{what}: {reason}"),
        }
    }
}

impl Malformed {
    /// The library error for this problem in `path`.
    pub fn at(&self, path: &Path) -> Error {
        match self {
            Malformed::BadMagic(_) | Malformed::TooShort => Error::bad_file(path, self.to_string()),
            _ => Error::bad_file(path, format!("not a readable GGUF file: {self}")),
        }
    }
}

/// Reads `path`'s header only: the check that a file is GGUF before llama.cpp loads it,
/// so a wrong file gets a clear message.
pub fn check(path: &Path) -> Result<Header> {
    let f = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    Reader { inner: f }.header().map_err(|m| m.at(path))
}

/// Reads every metadata key/value of a GGUF file (not the tensor table).
pub fn read_metadata(path: &Path) -> Result<Metadata> {
    let f = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    parse_metadata(BufReader::with_capacity(1 << 20, f)).map_err(|m| m.at(path))
}

/// Parses the header and metadata from any reader positioned at the start of a GGUF file.
pub fn parse_metadata(r: impl Read) -> std::result::Result<Metadata, Malformed> {
    let mut r = Reader { inner: r };
    let header = r.header()?;
    r.metadata(header.metadata_count)
}

/// Largest string, array or table a file may declare; a corrupt length must give an
/// error, not an allocation of exabytes.
const MAX_LEN: u64 = 1 << 28;
/// ggml tensors have at most 4 dimensions; allow some room for future formats.
const MAX_DIMS: u32 = 8;

struct Reader<R> {
    inner: R,
}

impl<R: Read> Reader<R> {
    fn bytes<const N: usize>(&mut self, what: &str) -> std::result::Result<[u8; N], Malformed> {
        let mut b = [0u8; N];
        self.inner.read_exact(&mut b).map_err(|e| io_err(e, what))?;
        Ok(b)
    }
    fn u32(&mut self, what: &str) -> std::result::Result<u32, Malformed> {
        Ok(u32::from_le_bytes(self.bytes(what)?))
    }
    fn u64(&mut self, what: &str) -> std::result::Result<u64, Malformed> {
        Ok(u64::from_le_bytes(self.bytes(what)?))
    }
    fn len(&mut self, what: &str) -> std::result::Result<u64, Malformed> {
        let n = self.u64(what)?;
        if n > MAX_LEN {
            return Err(invalid(what, format!("length {n} is implausible")));
        }
        Ok(n)
    }
    fn string(&mut self, what: &str) -> std::result::Result<String, Malformed> {
        let n = self.len(what)?;
        let mut b = vec![0u8; n as usize];
        self.inner.read_exact(&mut b).map_err(|e| io_err(e, what))?;
        String::from_utf8(b).map_err(|_| invalid(what, "string is not UTF-8"))
    }

    fn header(&mut self) -> std::result::Result<Header, Malformed> {
        let mut magic = [0u8; 4];
        self.inner
            .read_exact(&mut magic)
            .map_err(|_| Malformed::TooShort)?;
        if &magic != b"GGUF" {
            return Err(Malformed::BadMagic(magic));
        }
        let version = self.u32("the header")?;
        if !(2..=3).contains(&version) {
            return Err(Malformed::Version(version));
        }
        let tensor_count = self.u64("the header")?;
        let metadata_count = self.u64("the header")?;
        for (n, what) in [
            (tensor_count, "tensor count"),
            (metadata_count, "metadata count"),
        ] {
            if n > MAX_LEN {
                return Err(invalid("the header", format!("{what} {n} is implausible")));
            }
        }
        Ok(Header {
            version,
            tensor_count,
            metadata_count,
        })
    }

    fn metadata(&mut self, count: u64) -> std::result::Result<Metadata, Malformed> {
        let mut out = BTreeMap::new();
        for i in 0..count {
            let key = self.string(&format!("metadata entry {i}'s key"))?;
            let ty = self.u32(&key)?;
            let v = self.value(ty, 0, &key)?;
            out.insert(key, v);
        }
        Ok(out)
    }

    fn tensors(&mut self, count: u64) -> std::result::Result<Vec<TensorInfo>, Malformed> {
        let mut out = Vec::with_capacity(count.min(1 << 16) as usize);
        for i in 0..count {
            let name = self.string(&format!("tensor {i}'s name"))?;
            let what = format!("tensor `{name}`");
            let n_dims = self.u32(&what)?;
            if n_dims > MAX_DIMS {
                return Err(invalid(
                    &what,
                    format!("{n_dims} dimensions is implausible"),
                ));
            }
            let dims = (0..n_dims)
                .map(|_| self.u64(&what))
                .collect::<std::result::Result<Vec<_>, _>>()?;
            let ggml_type = self.u32(&what)?;
            let offset_bytes = self.u64(&what)?;
            out.push(TensorInfo {
                name,
                dims,
                ggml_type,
                offset_bytes,
            });
        }
        Ok(out)
    }

    fn value(&mut self, ty: u32, depth: u32, key: &str) -> std::result::Result<Value, Malformed> {
        Ok(match ty {
            0 => Value::U64(u64::from(self.bytes::<1>(key)?[0])),
            1 => Value::I64(i64::from(self.bytes::<1>(key)?[0] as i8)),
            2 => Value::U64(u64::from(u16::from_le_bytes(self.bytes(key)?))),
            3 => Value::I64(i64::from(i16::from_le_bytes(self.bytes(key)?))),
            4 => Value::U64(u64::from(self.u32(key)?)),
            5 => Value::I64(i64::from(i32::from_le_bytes(self.bytes(key)?))),
            6 => Value::F64(f64::from(f32::from_le_bytes(self.bytes(key)?))),
            7 => Value::Bool(self.bytes::<1>(key)?[0] != 0),
            8 => Value::Str(self.string(key)?),
            9 => {
                if depth > 2 {
                    return Err(invalid(key, "arrays nested too deeply"));
                }
                let elem = self.u32(key)?;
                let n = self.len(key)?;
                let mut v = Vec::with_capacity(n.min(1 << 20) as usize);
                for _ in 0..n {
                    v.push(self.value(elem, depth + 1, key)?);
                }
                Value::Array(v)
            }
            10 => Value::U64(self.u64(key)?),
            11 => Value::I64(i64::from_le_bytes(self.bytes(key)?)),
            12 => Value::F64(f64::from_le_bytes(self.bytes(key)?)),
            other => return Err(invalid(key, format!("unknown value type {other}"))),
        })
    }
}

fn invalid(what: &str, reason: impl Into<String>) -> Malformed {
    Malformed::Invalid {
        what: what.to_owned(),
        reason: reason.into(),
    }
}

fn io_err(e: std::io::Error, what: &str) -> Malformed {
    if e.kind() == std::io::ErrorKind::UnexpectedEof {
        Malformed::Truncated {
            what: what.to_owned(),
        }
    } else {
        invalid(what, e.to_string())
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    fn put_str(b: &mut Vec<u8>, s: &str) {
        b.extend((s.len() as u64).to_le_bytes());
        b.extend(s.as_bytes());
    }

    /// Builds a GGUF v3 file with the given entries and tensors (name, dims) (test helper,
    /// also used by the tokenizer tests through [`build`]).
    pub(crate) fn build_with_tensors(
        entries: &[(&str, Value)],
        tensors: &[(&str, &[u64])],
    ) -> Vec<u8> {
        fn ty(v: &Value) -> u32 {
            match v {
                Value::U64(_) => 10,
                Value::I64(_) => 11,
                Value::F64(_) => 12,
                Value::Bool(_) => 7,
                Value::Str(_) => 8,
                Value::Array(_) => 9,
            }
        }
        fn put(b: &mut Vec<u8>, v: &Value) {
            match v {
                Value::U64(x) => b.extend(x.to_le_bytes()),
                Value::I64(x) => b.extend(x.to_le_bytes()),
                Value::F64(x) => b.extend(x.to_le_bytes()),
                Value::Bool(x) => b.push(u8::from(*x)),
                Value::Str(s) => put_str(b, s),
                Value::Array(a) => {
                    b.extend(a.first().map_or(8, ty).to_le_bytes());
                    b.extend((a.len() as u64).to_le_bytes());
                    for x in a {
                        put(b, x);
                    }
                }
            }
        }
        let mut b = b"GGUF".to_vec();
        b.extend(3u32.to_le_bytes());
        b.extend((tensors.len() as u64).to_le_bytes());
        b.extend((entries.len() as u64).to_le_bytes());
        for (k, v) in entries {
            put_str(&mut b, k);
            b.extend(ty(v).to_le_bytes());
            put(&mut b, v);
        }
        for (i, (name, dims)) in tensors.iter().enumerate() {
            put_str(&mut b, name);
            b.extend((dims.len() as u32).to_le_bytes());
            for d in *dims {
                b.extend(d.to_le_bytes());
            }
            b.extend(2u32.to_le_bytes());
            b.extend((i as u64 * 4096).to_le_bytes());
        }
        b
    }

    /// A GGUF v3 file with the given metadata entries and no tensors.
    pub(crate) fn build(entries: &[(&str, Value)]) -> Vec<u8> {
        build_with_tensors(entries, &[])
    }

    #[test]
    fn round_trips_every_kind() {
        let entries = [
            ("a.u", Value::U64(7)),
            ("a.i", Value::I64(-3)),
            ("a.f", Value::F64(0.5)),
            ("a.b", Value::Bool(true)),
            ("a.s", Value::Str("gpt2".into())),
            (
                "a.arr",
                Value::Array(vec![Value::Str("x".into()), Value::Str("y z".into())]),
            ),
            (
                "a.nums",
                Value::Array(vec![Value::U64(1), Value::U64(2), Value::U64(3)]),
            ),
        ];
        let m = parse_metadata(&build(&entries)[..]).unwrap();
        for (k, v) in entries {
            assert_eq!(m[k], v, "{k}");
        }
    }

    #[test]
    fn reads_the_tensor_table_and_arch_keys() {
        let bytes = build_with_tensors(
            &[
                ("general.architecture", Value::Str("llama".into())),
                ("general.file_type", Value::U64(3)),
                ("llama.block_count", Value::U64(2)),
                (
                    "llama.attention.head_count",
                    Value::Array(vec![Value::U64(8), Value::U64(4)]),
                ),
            ],
            &[("token_embd.weight", &[64, 100]), ("norm", &[64])],
        );
        let g = Gguf::parse(&bytes[..]).unwrap();
        assert_eq!(g.header.version, 3);
        assert_eq!(g.header.tensor_count, 2);
        assert_eq!(g.tensors[0].name, "token_embd.weight");
        assert_eq!(g.tensors[1].offset_bytes, 4096);
        assert_eq!(g.parameter_count(), 6400 + 64);
        assert_eq!(g.architecture(), Some("llama"));
        assert_eq!(g.arch_u64("block_count"), Some(2));
        assert_eq!(g.arch_u64("attention.head_count"), Some(8));
        assert_eq!(g.arch_u64("context_length"), None);
        assert_eq!(g.file_type(), Some(3));
    }

    #[test]
    fn names_what_is_wrong() {
        assert_eq!(
            parse_metadata(&b"GGML\x03\0\0\0"[..]).unwrap_err(),
            Malformed::BadMagic(*b"GGML")
        );
        assert_eq!(parse_metadata(&b"GG"[..]).unwrap_err(), Malformed::TooShort);
        let mut v1 = b"GGUF".to_vec();
        v1.extend(1u32.to_le_bytes());
        v1.extend([0u8; 16]);
        assert_eq!(parse_metadata(&v1[..]).unwrap_err(), Malformed::Version(1));
        let full = build(&[("k", Value::Str("value".into()))]);
        let err = parse_metadata(&full[..full.len() - 2]).unwrap_err();
        assert_eq!(err, Malformed::Truncated { what: "k".into() });
        assert!(err.to_string().contains("truncated"), "{err}");
        let t = build_with_tensors(&[], &[("blk.0.attn_q.weight", &[4, 4])]);
        let err = Gguf::parse(&t[..t.len() - 3]).unwrap_err().to_string();
        assert!(err.contains("blk.0.attn_q.weight"), "{err}");
        // a declared length of 2^40 bytes is refused, not allocated
        let mut b = b"GGUF".to_vec();
        b.extend(3u32.to_le_bytes());
        b.extend(0u64.to_le_bytes());
        b.extend(1u64.to_le_bytes());
        b.extend((1u64 << 40).to_le_bytes());
        assert!(parse_metadata(&b[..])
            .unwrap_err()
            .to_string()
            .contains("implausible"));
    }

    #[test]
    fn file_errors_name_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.gguf");
        std::fs::write(&p, b"PK\x03\x04rest").unwrap();
        let e = check(&p).unwrap_err();
        assert!(e.is_usage(), "{e}");
        let e = e.to_string();
        assert!(e.contains("x.gguf") && e.contains("not a GGUF"), "{e}");
        std::fs::write(&p, b"GG").unwrap();
        assert!(check(&p).unwrap_err().to_string().contains("4-byte magic"));
        let full = build(&[("general.name", Value::Str("toy".into()))]);
        std::fs::write(&p, &full[..full.len() - 1]).unwrap();
        assert!(check(&p).is_ok());
        let e = read_metadata(&p).unwrap_err().to_string();
        assert!(e.contains("x.gguf") && e.contains("truncated"), "{e}");
    }

    #[test]
    fn reads_the_real_model() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("engines/smollm2-135m-q4_1");
        let Some(path) = std::fs::read_dir(&dir).ok().and_then(|rd| {
            rd.filter_map(|e| e.ok().map(|e| e.path()))
                .find(|p| p.extension().is_some_and(|x| x == "gguf"))
        }) else {
            eprintln!("skipped: no model in {}", dir.display());
            return;
        };
        let g = Gguf::read(&path).unwrap();
        assert_eq!(g.architecture(), Some("llama"));
        assert_eq!(g.arch_u64("block_count"), Some(30));
        assert_eq!(g.arch_u64("attention.head_count"), Some(9));
        assert_eq!(g.arch_u64("attention.head_count_kv"), Some(3));
        assert_eq!(g.arch_u64("embedding_length"), Some(576));
        assert_eq!(g.arch_u64("context_length"), Some(8192));
        assert_eq!(g.vocab_size(), Some(49152));
        let head_dim = g.arch_u64("attention.key_length").unwrap_or(576 / 9);
        assert_eq!(head_dim, 64);
        assert_eq!(g.tensors.len() as u64, g.header.tensor_count);
        assert!(g.parameter_count() > 100_000_000, "{}", g.parameter_count());
    }
}
