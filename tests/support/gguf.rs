//! A small GGUF writer for tests: a vocabulary-only GGUF (no tensors) with a SentencePiece
//! ("llama"-type) vocabulary, which no package registry carries. llama.cpp loads it with
//! `vocab_only` (`backends::llama::VocabModel`), as `load --tokenizer` does.
//!
//! The file is GGUF v3 (magic, version, tensor count 0, key/value count, then the keys,
//! padded to the default 32-byte alignment), with the hyperparameter keys llama.cpp reads
//! before it reaches the vocabulary (context length, embedding size, blocks, heads, RMS
//! epsilon) set to tiny values. The vocabulary follows a SentencePiece BPE model: `<unk>`,
//! `<s>`, `</s>`, the 256 byte-fallback tokens `<0x00>`..`<0xFF>` (type 6), every single
//! character used, and every prefix of every word as a `▁`-prefixed piece scored by its
//! length, so llama.cpp's SPM merges (best score first) build whole words.

use std::collections::BTreeSet;
use std::path::Path;

enum V {
    U32(u32),
    F32(f32),
    Bool(bool),
    Str(String),
    Strs(Vec<String>),
    F32s(Vec<f32>),
    I32s(Vec<i32>),
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    out.extend((s.len() as u64).to_le_bytes());
    out.extend(s.as_bytes());
}

fn put(out: &mut Vec<u8>, key: &str, v: &V) {
    put_str(out, key);
    // GGUF value types: 4 u32, 5 i32, 6 f32, 7 bool, 8 string, 9 array
    let array = |out: &mut Vec<u8>, ty: u32, n: usize| {
        out.extend(9u32.to_le_bytes());
        out.extend(ty.to_le_bytes());
        out.extend((n as u64).to_le_bytes());
    };
    match v {
        V::U32(x) => {
            out.extend(4u32.to_le_bytes());
            out.extend(x.to_le_bytes());
        }
        V::F32(x) => {
            out.extend(6u32.to_le_bytes());
            out.extend(x.to_le_bytes());
        }
        V::Bool(b) => {
            out.extend(7u32.to_le_bytes());
            out.push(u8::from(*b));
        }
        V::Str(s) => {
            out.extend(8u32.to_le_bytes());
            put_str(out, s);
        }
        V::Strs(v) => {
            array(out, 8, v.len());
            v.iter().for_each(|s| put_str(out, s));
        }
        V::F32s(v) => {
            array(out, 6, v.len());
            v.iter().for_each(|x| out.extend(x.to_le_bytes()));
        }
        V::I32s(v) => {
            array(out, 5, v.len());
            v.iter().for_each(|x| out.extend(x.to_le_bytes()));
        }
    }
}

/// Token types as llama.cpp numbers them.
const NORMAL: i32 = 1;
const UNKNOWN: i32 = 2;
const CONTROL: i32 = 3;
const BYTE: i32 = 6;

/// The pieces of a SentencePiece vocabulary over `words`: (piece, score, type).
pub fn spm_vocab(words: &[&str]) -> Vec<(String, f32, i32)> {
    let mut v: Vec<(String, f32, i32)> = vec![
        ("<unk>".into(), 0.0, UNKNOWN),
        ("<s>".into(), 0.0, CONTROL),
        ("</s>".into(), 0.0, CONTROL),
    ];
    v.extend((0..=255u8).map(|b| (format!("<0x{b:02X}>"), 0.0, BYTE)));
    let mut pieces = BTreeSet::new();
    for w in words {
        let chars: Vec<char> = std::iter::once('▁').chain(w.chars()).collect();
        for c in &chars {
            pieces.insert(c.to_string());
        }
        for k in 2..=chars.len() {
            pieces.insert(chars[..k].iter().collect::<String>());
        }
    }
    // A longer piece scores higher, so the merges that make whole words come first.
    v.extend(
        pieces
            .into_iter()
            .map(|p| (p.clone(), p.chars().count() as f32 - 100.0, NORMAL)),
    );
    v
}

/// Writes a vocabulary-only GGUF with a SentencePiece vocabulary over `words` to `path`.
pub fn write_spm(path: &Path, words: &[&str]) {
    let vocab = spm_vocab(words);
    let kv: Vec<(&str, V)> = vec![
        ("general.architecture", V::Str("llama".into())),
        (
            "general.name",
            V::Str("trtbench test SentencePiece vocabulary".into()),
        ),
        ("llama.context_length", V::U32(256)),
        ("llama.embedding_length", V::U32(8)),
        ("llama.block_count", V::U32(1)),
        ("llama.feed_forward_length", V::U32(16)),
        ("llama.rope.dimension_count", V::U32(8)),
        ("llama.attention.head_count", V::U32(1)),
        ("llama.attention.head_count_kv", V::U32(1)),
        ("llama.attention.layer_norm_rms_epsilon", V::F32(1e-5)),
        ("tokenizer.ggml.model", V::Str("llama".into())),
        (
            "tokenizer.ggml.tokens",
            V::Strs(vocab.iter().map(|t| t.0.clone()).collect()),
        ),
        (
            "tokenizer.ggml.scores",
            V::F32s(vocab.iter().map(|t| t.1).collect()),
        ),
        (
            "tokenizer.ggml.token_type",
            V::I32s(vocab.iter().map(|t| t.2).collect()),
        ),
        ("tokenizer.ggml.unknown_token_id", V::U32(0)),
        ("tokenizer.ggml.bos_token_id", V::U32(1)),
        ("tokenizer.ggml.eos_token_id", V::U32(2)),
        ("tokenizer.ggml.add_bos_token", V::Bool(true)),
        ("tokenizer.ggml.add_eos_token", V::Bool(false)),
    ];
    let mut out = Vec::new();
    out.extend(b"GGUF");
    out.extend(3u32.to_le_bytes());
    out.extend(0u64.to_le_bytes()); // tensors
    out.extend((kv.len() as u64).to_le_bytes());
    for (k, v) in &kv {
        put(&mut out, k, v);
    }
    out.resize(out.len().div_ceil(32) * 32, 0);
    std::fs::write(path, out).unwrap();
}
