//! The load generator's tokenizer: a Hugging Face `tokenizers::Tokenizer` read from a
//! `tokenizer.json`, or built from a GGUF model's own vocabulary (`tokenizer.ggml.*`), so
//! the default model (a GGUF) needs no hub. It is used to make prompts of exact token
//! length and to count output tokens when a server sends no `usage`. Depends on `gguf`
//! only; never on backends.
//!
//! GGUF → tokenizer: llama.cpp's `gpt2` vocabularies are byte-level BPE (GPT-2's byte→
//! unicode map is already applied to the stored token strings, merges are `"a b"`), so the
//! tokenizer is a `BPE` model with a `ByteLevel` pre-tokenizer and decoder. The
//! pre-tokenizer regex depends on `tokenizer.ggml.pre`; the table below mirrors the
//! regexes llama.cpp's `llama-vocab.cpp` uses for each name. Control and user-defined
//! tokens become added tokens, so `<|im_start|>` stays one token.

use std::path::Path;
use std::sync::Arc;

use serde_json::{json, Value as Json};
use tokenizers::Tokenizer;

use crate::error::{Error, Result};
use crate::gguf::{self, Value};

/// What the load generator needs of a tokenizer. Implemented here for a Hugging Face
/// `tokenizers::Tokenizer`; the CLI implements it over llama.cpp's own tokenizer (a GGUF's
/// vocabulary, any type), so `client` never depends on `backends`.
pub trait Vocab: Send + Sync {
    /// Token ids of `text`, with the special tokens the tokenizer adds when `add_special`.
    fn encode(&self, text: &str, add_special: bool) -> std::result::Result<Vec<u32>, String>;
    /// Text of `ids`, special tokens dropped when `skip_special`.
    fn decode(&self, ids: &[u32], skip_special: bool) -> std::result::Result<String, String>;
    /// Number of token ids (added tokens included).
    fn vocab_size(&self) -> u32;
    /// Special / control tokens, never used to make prompt text.
    fn special_ids(&self) -> std::collections::HashSet<u32>;
}

impl Vocab for Tokenizer {
    fn encode(&self, text: &str, add_special: bool) -> std::result::Result<Vec<u32>, String> {
        self.encode_fast(text, add_special)
            .map(|e| e.get_ids().to_vec())
            .map_err(|e| e.to_string())
    }
    fn decode(&self, ids: &[u32], skip_special: bool) -> std::result::Result<String, String> {
        // The inherent method of the TokenizerImpl it derefs to, not this trait method.
        (**self)
            .decode(ids, skip_special)
            .map_err(|e| e.to_string())
    }
    fn vocab_size(&self) -> u32 {
        self.get_vocab_size(true) as u32
    }
    fn special_ids(&self) -> std::collections::HashSet<u32> {
        self.get_added_tokens_decoder()
            .iter()
            .filter(|(_, a)| a.special)
            .map(|(id, _)| *id)
            .collect()
    }
}

/// A shared tokenizer plus what the workload needs to know about it.
#[derive(Clone)]
pub struct Tok {
    pub inner: Arc<dyn Vocab>,
    /// Where it came from (path), for messages and results.
    pub source: String,
    /// Tokens `encode(text, add_special_tokens = true)` adds around any text (e.g. BOS).
    pub special_added: usize,
}

impl std::fmt::Debug for Tok {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tok")
            .field("source", &self.source)
            .field("special_added", &self.special_added)
            .finish()
    }
}

impl Tok {
    /// Loads `path`: a `.gguf` model (vocabulary read from its metadata) or a
    /// `tokenizer.json` (or a directory holding one).
    pub fn load(path: &Path) -> Result<Tok> {
        let path_buf;
        let path = if path.is_dir() {
            path_buf = path.join("tokenizer.json");
            path_buf.as_path()
        } else {
            path
        };
        let is_gguf = path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("gguf"));
        let tokenizer = if is_gguf {
            let meta = gguf::read_metadata(path)?;
            from_gguf_metadata(&meta).map_err(|reason| Error::bad_file(path, reason))?
        } else {
            let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
            Tokenizer::from_bytes(&bytes)
                .map_err(|e| Error::bad_file(path, format!("not a tokenizers JSON file: {e}")))?
        };
        Ok(Tok::new(tokenizer, path.display().to_string()))
    }

    /// Wraps an already built tokenizer.
    pub fn new(tokenizer: Tokenizer, source: String) -> Tok {
        Tok::from_vocab(Arc::new(tokenizer), source)
    }

    /// Wraps any tokenizer (`source` names it in messages and results).
    pub fn from_vocab(vocab: Arc<dyn Vocab>, source: String) -> Tok {
        let with = vocab.encode("a", true).map(|e| e.len()).unwrap_or(0);
        let without = vocab.encode("a", false).map(|e| e.len()).unwrap_or(0);
        Tok {
            inner: vocab,
            source,
            special_added: with.saturating_sub(without),
        }
    }

    /// Number of tokens of `text` as the model sees it (special tokens added).
    pub fn count(&self, text: &str) -> Option<u64> {
        self.inner.encode(text, true).ok().map(|e| e.len() as u64)
    }

    /// Number of tokens of a piece of generated text (no special tokens added).
    pub fn count_plain(&self, text: &str) -> Option<u64> {
        self.inner.encode(text, false).ok().map(|e| e.len() as u64)
    }
}

/// The pre-tokenizer for a `tokenizer.ggml.pre` value, as tokenizers JSON.
fn pre_tokenizer(pre: &str) -> std::result::Result<Json, String> {
    let byte_level = |use_regex: bool| {
        json!({"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true,
               "use_regex": use_regex})
    };
    let split = |regex: &str| {
        json!({"type": "Split", "pattern": {"Regex": regex}, "behavior": "Isolated",
               "invert": false})
    };
    Ok(match pre {
        // GPT-2's own regex lives inside ByteLevel(use_regex = true).
        "" | "default" | "gpt2" | "gpt-2" => byte_level(true),
        // llama.cpp: "\p{N}" first (one digit per token), then the GPT-2 regex.
        "smollm" | "codeshell" | "exaone" | "minerva" | "mellum2" => json!({
            "type": "Sequence",
            "pretokenizers": [{"type": "Digits", "individual_digits": true}, byte_level(true)]
        }),
        "llama-bpe" | "llama3" | "smaug-bpe" | "falcon3" => json!({
            "type": "Sequence",
            "pretokenizers": [split(
                r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
            ), byte_level(false)]
        }),
        "qwen2" | "deepseek-r1-qwen" => json!({
            "type": "Sequence",
            "pretokenizers": [split(
                r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
            ), byte_level(false)]
        }),
        other => {
            return Err(format!(
                "tokenizer.ggml.pre = {other:?} is not one this reader knows \
                 (gpt2, smollm, llama-bpe, qwen2, ...); pass --tokenizer <tokenizer.json>"
            ))
        }
    })
}

/// What a GPT-2 style GGUF vocabulary holds, read from its metadata.
struct GgufBpe<'a> {
    tokens: &'a [Value],
    merges: Vec<&'a str>,
    types: &'a [Value],
    pre: &'a str,
    add_bos: bool,
    bos_id: Option<u64>,
}

type Meta = std::collections::BTreeMap<String, Value>;

impl<'a> GgufBpe<'a> {
    /// Reads the `tokenizer.ggml.*` keys; any other model type is refused, naming it.
    fn read(meta: &'a Meta) -> std::result::Result<Self, String> {
        let get = |k: &str| {
            meta.get(k)
                .ok_or_else(|| format!("metadata key {k} is missing"))
        };
        let model = get("tokenizer.ggml.model")?
            .as_str()
            .ok_or("tokenizer.ggml.model is not a string")?;
        if model != "gpt2" {
            return Err(format!(
                "tokenizer.ggml.model = {model:?}: only GPT-2 style byte-level BPE \
                 vocabularies can be rebuilt from a GGUF; pass --tokenizer <tokenizer.json>"
            ));
        }
        let merges = get("tokenizer.ggml.merges")?
            .as_array()
            .ok_or("tokenizer.ggml.merges is not an array")?
            .iter()
            .map(|m| m.as_str().ok_or("tokenizer.ggml.merges holds a non-string"))
            .collect::<std::result::Result<_, _>>()?;
        Ok(GgufBpe {
            tokens: get("tokenizer.ggml.tokens")?
                .as_array()
                .ok_or("tokenizer.ggml.tokens is not an array")?,
            merges,
            types: meta
                .get("tokenizer.ggml.token_type")
                .and_then(Value::as_array)
                .unwrap_or(&[]),
            pre: meta
                .get("tokenizer.ggml.pre")
                .and_then(Value::as_str)
                .unwrap_or("default"),
            add_bos: meta
                .get("tokenizer.ggml.add_bos_token")
                .and_then(Value::as_bool)
                .unwrap_or(false),
            bos_id: meta
                .get("tokenizer.ggml.bos_token_id")
                .and_then(Value::as_u64),
        })
    }

    /// The BPE vocabulary (string → id) and the added tokens: control and user-defined
    /// tokens stay whole.
    fn vocab(&self) -> std::result::Result<(serde_json::Map<String, Json>, Vec<Json>), String> {
        let mut vocab = serde_json::Map::with_capacity(self.tokens.len());
        let mut added = Vec::new();
        for (id, t) in self.tokens.iter().enumerate() {
            let s = t
                .as_str()
                .ok_or("tokenizer.ggml.tokens holds a non-string")?;
            vocab.insert(s.to_owned(), json!(id));
            // llama.cpp token types: 1 normal, 2 unknown, 3 control, 4 user-defined,
            // 5 unused, 6 byte
            let ty = self.types.get(id).and_then(Value::as_u64).unwrap_or(1);
            if ty == 3 || ty == 4 {
                added.push(json!({"id": id, "content": s, "single_word": false,
                                  "lstrip": false, "rstrip": false, "normalized": false,
                                  "special": ty == 3}));
            }
        }
        Ok((vocab, added))
    }

    /// BOS in front of every text when the GGUF asks for it.
    fn post_processor(&self) -> std::result::Result<Json, String> {
        let (true, Some(id)) = (self.add_bos, self.bos_id) else {
            return Ok(Json::Null);
        };
        let bos = self
            .tokens
            .get(id as usize)
            .and_then(Value::as_str)
            .ok_or("tokenizer.ggml.bos_token_id is out of range")?;
        Ok(json!({"type": "TemplateProcessing",
               "single": [{"SpecialToken": {"id": bos, "type_id": 0}},
                          {"Sequence": {"id": "A", "type_id": 0}}],
               "pair": [{"SpecialToken": {"id": bos, "type_id": 0}},
                        {"Sequence": {"id": "A", "type_id": 0}},
                        {"Sequence": {"id": "B", "type_id": 1}}],
               "special_tokens": {bos: {"id": bos, "ids": [id], "tokens": [bos]}}}))
    }
}

/// Builds a tokenizer from GGUF metadata (see the module docs).
pub fn from_gguf_metadata(meta: &Meta) -> std::result::Result<Tokenizer, String> {
    let g = GgufBpe::read(meta)?;
    let (vocab, added) = g.vocab()?;
    let doc = json!({
        "version": "1.0",
        "truncation": null,
        "padding": null,
        "added_tokens": added,
        "normalizer": null,
        "pre_tokenizer": pre_tokenizer(g.pre)?,
        "post_processor": g.post_processor()?,
        "decoder": {"type": "ByteLevel", "add_prefix_space": true, "trim_offsets": true,
                    "use_regex": true},
        "model": {"type": "BPE", "dropout": null, "unk_token": null,
                  "continuing_subword_prefix": null, "end_of_word_suffix": null,
                  "fuse_unk": false, "byte_fallback": false, "ignore_merges": false,
                  "vocab": vocab, "merges": g.merges}
    });
    let text = serde_json::to_string(&doc).map_err(|e| e.to_string())?;
    text.parse::<Tokenizer>()
        .map_err(|e| format!("building the tokenizer from the GGUF vocabulary failed: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gguf::tests::build;

    /// A toy byte-level BPE vocabulary: bytes of "hello world" plus a few merges.
    fn toy(pre: &str, add_bos: bool) -> Vec<u8> {
        let tokens = [
            "<|endoftext|>",
            "h",
            "e",
            "l",
            "o",
            "Ġ",
            "w",
            "r",
            "d",
            "1",
            "2",
            "he",
            "ll",
            "hell",
            "hello",
            "Ġw",
            "or",
            "Ġwor",
            "Ġworld",
            "ld",
            "12",
        ];
        let merges = [
            "h e", "l l", "he ll", "hell o", "Ġ w", "o r", "Ġw or", "l d", "Ġwor ld", "1 2",
        ];
        let s = |v: &[&str]| Value::Array(v.iter().map(|x| Value::Str((*x).into())).collect());
        let mut types = vec![Value::U64(3)];
        types.extend(std::iter::repeat_n(Value::U64(1), tokens.len() - 1));
        build(&[
            ("tokenizer.ggml.model", Value::Str("gpt2".into())),
            ("tokenizer.ggml.pre", Value::Str(pre.into())),
            ("tokenizer.ggml.tokens", s(&tokens)),
            ("tokenizer.ggml.merges", s(&merges)),
            ("tokenizer.ggml.token_type", Value::Array(types)),
            ("tokenizer.ggml.add_bos_token", Value::Bool(add_bos)),
            ("tokenizer.ggml.bos_token_id", Value::U64(0)),
        ])
    }

    fn raw(pre: &str, add_bos: bool) -> Tokenizer {
        let meta = gguf::parse_metadata(&toy(pre, add_bos)[..]).unwrap();
        from_gguf_metadata(&meta).unwrap()
    }

    fn tok(pre: &str, add_bos: bool) -> Tok {
        Tok::new(raw(pre, add_bos), "toy".into())
    }

    #[test]
    fn encodes_and_decodes_like_bpe() {
        let raw = raw("gpt2", false);
        let e = (*raw).encode("hello world", false).unwrap();
        assert_eq!(e.get_tokens(), ["hello", "Ġworld"]);
        let t = tok("gpt2", false);
        // Through the `Vocab` trait object the load generator uses.
        let ids = t.inner.encode("hello world", false).unwrap();
        assert_eq!(ids, e.get_ids());
        assert_eq!(t.inner.decode(&ids, false).unwrap(), "hello world");
        assert_eq!(t.special_added, 0);
        // the control token stays whole
        let ids = t.inner.encode("<|endoftext|>hello", false).unwrap();
        assert_eq!(ids, [0, 14]);
    }

    #[test]
    fn smollm_splits_digits() {
        assert_eq!(tok("gpt2", false).count_plain("12"), Some(1));
        assert_eq!(tok("smollm", false).count_plain("12"), Some(2));
    }

    #[test]
    fn bos_is_added_when_the_gguf_says_so() {
        let t = tok("gpt2", true);
        assert_eq!(t.special_added, 1);
        assert_eq!(t.count("hello"), Some(2));
        assert_eq!(t.count_plain("hello"), Some(1));
    }

    #[test]
    fn unknown_pre_tokenizer_is_an_error_naming_it() {
        let meta = gguf::parse_metadata(&toy("martian", false)[..]).unwrap();
        let err = from_gguf_metadata(&meta).unwrap_err();
        assert!(
            err.contains("martian") && err.contains("--tokenizer"),
            "{err}"
        );
    }
}
