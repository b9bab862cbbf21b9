//! A reader for the metadata section of a GGUF file (the key/value pairs before the tensor
//! table), so the load generator can build a tokenizer from a model's own vocabulary with no
//! hub and no llama.cpp. It reads only what it needs and never the tensors; it must not
//! depend on `backends` (the client never does).
//!
//! Format (GGUF v2/v3, little-endian, ggml's `docs/gguf.md`): magic `GGUF`, `u32` version,
//! `u64` tensor count, `u64` metadata count, then `count` × (string key, `u32` type, value),
//! where a string is `u64` length + UTF-8 bytes and an array is `u32` element type +
//! `u64` length + elements.

use std::collections::BTreeMap;
use std::io::{BufReader, Read};
use std::path::Path;

use crate::error::{Error, Result};

/// One metadata value.
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

/// Largest string or array a metadata entry may declare; a corrupt length must give an
/// error, not an allocation of exabytes.
const MAX_LEN: u64 = 1 << 28;

struct Reader<R> {
    inner: R,
}

impl<R: Read> Reader<R> {
    fn bytes<const N: usize>(&mut self) -> std::io::Result<[u8; N]> {
        let mut b = [0u8; N];
        self.inner.read_exact(&mut b)?;
        Ok(b)
    }
    fn u32(&mut self) -> std::io::Result<u32> {
        Ok(u32::from_le_bytes(self.bytes()?))
    }
    fn u64(&mut self) -> std::io::Result<u64> {
        Ok(u64::from_le_bytes(self.bytes()?))
    }
    fn string(&mut self) -> std::result::Result<String, String> {
        let n = self.u64().map_err(|e| e.to_string())?;
        if n > MAX_LEN {
            return Err(format!("string length {n} is implausible"));
        }
        let mut b = vec![0u8; n as usize];
        self.inner.read_exact(&mut b).map_err(|e| e.to_string())?;
        String::from_utf8(b).map_err(|_| "string is not UTF-8".to_string())
    }
    fn value(&mut self, ty: u32, depth: u32) -> std::result::Result<Value, String> {
        let io = |e: std::io::Error| e.to_string();
        Ok(match ty {
            0 => Value::U64(u64::from(self.bytes::<1>().map_err(io)?[0])),
            1 => Value::I64(i64::from(self.bytes::<1>().map_err(io)?[0] as i8)),
            2 => Value::U64(u64::from(u16::from_le_bytes(self.bytes().map_err(io)?))),
            3 => Value::I64(i64::from(i16::from_le_bytes(self.bytes().map_err(io)?))),
            4 => Value::U64(u64::from(self.u32().map_err(io)?)),
            5 => Value::I64(i64::from(i32::from_le_bytes(self.bytes().map_err(io)?))),
            6 => Value::F64(f64::from(f32::from_le_bytes(self.bytes().map_err(io)?))),
            7 => Value::Bool(self.bytes::<1>().map_err(io)?[0] != 0),
            8 => Value::Str(self.string()?),
            9 => {
                if depth > 2 {
                    return Err("arrays nested too deeply".into());
                }
                let elem = self.u32().map_err(io)?;
                let n = self.u64().map_err(io)?;
                if n > MAX_LEN {
                    return Err(format!("array length {n} is implausible"));
                }
                let mut v = Vec::with_capacity(n.min(1 << 20) as usize);
                for _ in 0..n {
                    v.push(self.value(elem, depth + 1)?);
                }
                Value::Array(v)
            }
            10 => Value::U64(self.u64().map_err(io)?),
            11 => Value::I64(i64::from_le_bytes(self.bytes().map_err(io)?)),
            12 => Value::F64(f64::from_le_bytes(self.bytes().map_err(io)?)),
            other => return Err(format!("unknown value type {other}")),
        })
    }
}

/// Reads every metadata key/value of a GGUF file.
pub fn read_metadata(path: &Path) -> Result<BTreeMap<String, Value>> {
    let f = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    parse_metadata(BufReader::with_capacity(1 << 20, f))
        .map_err(|reason| Error::bad_file(path, format!("not a readable GGUF file: {reason}")))
}

/// Parses the metadata section from any reader positioned at the start of a GGUF file.
pub fn parse_metadata(r: impl Read) -> std::result::Result<BTreeMap<String, Value>, String> {
    let mut r = Reader { inner: r };
    let magic: [u8; 4] = r.bytes().map_err(|e| e.to_string())?;
    if &magic != b"GGUF" {
        return Err("missing GGUF magic".into());
    }
    let version = r.u32().map_err(|e| e.to_string())?;
    if !(2..=3).contains(&version) {
        return Err(format!("GGUF version {version} is not supported (2 or 3)"));
    }
    let _tensors = r.u64().map_err(|e| e.to_string())?;
    let n = r.u64().map_err(|e| e.to_string())?;
    if n > MAX_LEN {
        return Err(format!("metadata count {n} is implausible"));
    }
    let mut out = BTreeMap::new();
    for i in 0..n {
        let key = r.string().map_err(|e| format!("metadata entry {i}: {e}"))?;
        let ty = r.u32().map_err(|e| format!("{key}: {e}"))?;
        let v = r.value(ty, 0).map_err(|e| format!("{key}: {e}"))?;
        out.insert(key, v);
    }
    Ok(out)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Builds a GGUF v3 header with the given entries (test helper, also used by the
    /// tokenizer tests).
    pub(crate) fn build(entries: &[(&str, Value)]) -> Vec<u8> {
        fn put_str(b: &mut Vec<u8>, s: &str) {
            b.extend((s.len() as u64).to_le_bytes());
            b.extend(s.as_bytes());
        }
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
        b.extend(0u64.to_le_bytes());
        b.extend((entries.len() as u64).to_le_bytes());
        for (k, v) in entries {
            put_str(&mut b, k);
            b.extend(ty(v).to_le_bytes());
            put(&mut b, v);
        }
        b
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
        ];
        let m = parse_metadata(&build(&entries)[..]).unwrap();
        for (k, v) in entries {
            assert_eq!(m[k], v, "{k}");
        }
    }

    #[test]
    fn rejects_garbage_and_truncation() {
        assert!(parse_metadata(&b"GGML\x03\0\0\0"[..])
            .unwrap_err()
            .contains("magic"));
        let full = build(&[("k", Value::Str("value".into()))]);
        let err = parse_metadata(&full[..full.len() - 2]).unwrap_err();
        assert!(err.contains('k'), "{err}");
        // a declared length of 2^40 bytes is refused, not allocated
        let mut b = b"GGUF".to_vec();
        b.extend(3u32.to_le_bytes());
        b.extend(0u64.to_le_bytes());
        b.extend(1u64.to_le_bytes());
        b.extend((1u64 << 40).to_le_bytes());
        assert!(parse_metadata(&b[..]).unwrap_err().contains("implausible"));
    }
}
