//! Prompts of exact length for Edge-LLM, by construction. Edge-LLM takes prompts as text and
//! encodes them itself, so trtbench's token windows are turned into text that the engine's
//! own `tokenizer.json` encodes to exactly `--isl` tokens under the request trtbench sends,
//! and that is checked here before the run (and against the runtime's own count after it).
//!
//! What Edge-LLM tokenizes (0.10, `cpp/tokenizer/tokenizer.cpp` `applyChatTemplate`,
//! `llmInferenceRuntime.cpp` around l.790): trtbench sends one `user` message with
//! `applyChatTemplate = false` and no system message, so the formatted request is the message
//! text alone (no role prefix/suffix, no default system prompt, no generation prompt); the
//! `user` role must still exist in `processed_chat_template.json` or the message is dropped,
//! and the tokenizer refuses to load without that file (`loadFromHF(..., requireChatTemplate
//! = true)`). The text is then encoded with added tokens matched as special tokens (as the
//! `tokenizers` crate does) and without BOS: 0.8 to 0.10 call
//! `mTokenizer->encode(formattedCompleteRequest, false)` (`llmInferenceRuntime.cpp` l.791 in
//! 0.10.0), whatever `bos_token` `tokenizer_config.json` names, so the prompt's length is the
//! text's tokens alone.
//!
//! Pure Rust over the `tokenizers` crate; compiled without any feature. Depends on `error`.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;
use tokenizers::Tokenizer;

use crate::error::{Error, Result};

/// The chat template file Edge-LLM's tokenizer requires in every engine directory.
pub const CHAT_TEMPLATE_FILE: &str = "processed_chat_template.json";
/// The role trtbench's single message has.
const USER_ROLE: &str = "user";

/// One role of the template: text around a message of that role when the template is applied.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Role {
    pub prefix: String,
    pub suffix: String,
}

/// `processed_chat_template.json`, as Edge-LLM's tokenizer reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatTemplate {
    pub roles: BTreeMap<String, Role>,
    pub generation_prompt: String,
    pub default_system_prompt: String,
}

impl ChatTemplate {
    /// Reads and validates `dir/processed_chat_template.json`, naming the file in every error.
    pub fn load(dir: &Path) -> Result<Self> {
        let path = dir.join(CHAT_TEMPLATE_FILE);
        let text = std::fs::read_to_string(&path).map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                Error::bad_file(
                    &path,
                    "missing: Edge-LLM's tokenizer refuses to load without its chat template \
                     (loadFromHF requires it); Edge-LLM's export step writes it beside \
                     tokenizer.json, copy it into the engine directory",
                )
            } else {
                Error::io(&path, e)
            }
        })?;
        Self::parse(&text, &path)
    }

    /// Parses the template text; `path` only names the file in errors. Needs a `roles`
    /// object with a `user` role (the one trtbench sends); prefixes and suffixes are strings.
    pub fn parse(text: &str, path: &Path) -> Result<Self> {
        let v: Value = serde_json::from_str(text)
            .map_err(|e| Error::bad_file(path, format!("invalid JSON: {e}")))?;
        let roles_v = v.get("roles").and_then(Value::as_object).ok_or_else(|| {
            Error::bad_file(path, "field `roles` is required and must be an object")
        })?;
        let mut roles = BTreeMap::new();
        for (name, r) in roles_v {
            let part = |key: &str| -> Result<String> {
                match r.get(key) {
                    None | Some(Value::Null) => Ok(String::new()),
                    Some(Value::String(s)) => Ok(s.clone()),
                    Some(other) => Err(Error::bad_file(
                        path,
                        format!("field `roles.{name}.{key}` must be a string, found {other}"),
                    )),
                }
            };
            if !r.is_object() {
                return Err(Error::bad_file(
                    path,
                    format!("field `roles.{name}` must be an object"),
                ));
            }
            roles.insert(
                name.clone(),
                Role {
                    prefix: part("prefix")?,
                    suffix: part("suffix")?,
                },
            );
        }
        if !roles.contains_key(USER_ROLE) {
            return Err(Error::bad_file(
                path,
                "field `roles` has no `user` role: Edge-LLM would drop trtbench's user message \
                 and run an empty prompt",
            ));
        }
        let string = |key: &str| v.get(key).and_then(Value::as_str).unwrap_or("").to_owned();
        Ok(ChatTemplate {
            roles,
            generation_prompt: string("generation_prompt"),
            default_system_prompt: string("default_system_prompt"),
        })
    }

    /// The text Edge-LLM tokenizes for one user message under trtbench's request flags
    /// (`applyChatTemplate = false`, no system message): the message itself. Kept as a
    /// function so a change of flags changes the one place that models them.
    pub fn formatted<'a>(&self, message: &'a str) -> &'a str {
        message
    }
}

/// Builds prompt text from token windows so that the engine's tokenizer encodes each to an
/// exact number of tokens.
pub struct PromptBuilder {
    tokenizer: Tokenizer,
    template: ChatTemplate,
    /// A token whose text, repeated k times, encodes to exactly k tokens (space + word).
    pad: Option<String>,
}

fn tok_err(op: &'static str, e: impl std::fmt::Display) -> Error {
    Error::Engine {
        backend: "edge-llm",
        op,
        message: e.to_string(),
    }
}

/// Candidate pad words, tried in order: a leading space makes each its own pre-token in
/// byte-level BPE and SentencePiece vocabularies alike.
const PAD_WORDS: &[&str] = &[" the", " a", " and", " of", " w1", " x"];

impl PromptBuilder {
    pub fn new(tokenizer: Tokenizer, template: ChatTemplate) -> Self {
        let mut b = PromptBuilder {
            tokenizer,
            template,
            pad: None,
        };
        b.pad = PAD_WORDS
            .iter()
            .find(|w| {
                [1usize, 2, 7, 64]
                    .iter()
                    .all(|&k| b.count(&w.repeat(k)).ok() == Some(k))
            })
            .map(|w| (*w).to_owned());
        b
    }

    /// The engine's tokenizer.
    pub fn tokenizer(&self) -> &Tokenizer {
        &self.tokenizer
    }

    /// Tokens Edge-LLM will count for `text` as trtbench sends it.
    pub fn count(&self, text: &str) -> Result<usize> {
        Ok(self.encode(text)?.len())
    }

    fn encode(&self, text: &str) -> Result<Vec<u32>> {
        let enc = self
            .tokenizer
            .encode(self.template.formatted(text), false)
            .map_err(|e| tok_err("tokenize", e))?;
        Ok(enc.get_ids().to_vec())
    }

    fn decode(&self, ids: &[u32]) -> Result<String> {
        self.tokenizer
            .decode(ids, false)
            .map_err(|e| tok_err("detokenize", e))
    }

    /// Text close to `window` (a token window of a real text) that encodes to exactly `len`
    /// tokens as Edge-LLM counts them. Decodes the window, then repairs the length: a text
    /// that encodes too long is cut to its first tokens, one too short is filled with the
    /// pad word; the result is verified before it is returned. The repair converges because
    /// cutting a canonical tokenization rarely merges across the cut and every pad word adds
    /// one token; if it still does not, the text is the pad word alone (verified at
    /// construction), so no window can make a point fail.
    pub fn exact(&self, window: &[i32], len: usize) -> Result<String> {
        if len == 0 {
            return Err(Error::config(
                "isl",
                "an input length of 0 leaves no text (Edge-LLM refuses an empty prompt)",
            ));
        }
        let want = len;
        let ids: Vec<u32> = window.iter().take(want).map(|&t| t as u32).collect();
        let mut text = self.decode(&ids)?;
        for _ in 0..8 {
            let got = self.encode(&text)?;
            if got.len() == want {
                return Ok(text);
            }
            if got.len() > want {
                text = self.decode(&got[..want])?;
            } else if let Some(pad) = &self.pad {
                text.push_str(&pad.repeat(want - got.len()));
            } else {
                break;
            }
        }
        if let Some(pad) = &self.pad {
            let text = pad.repeat(want);
            if self.encode(&text)?.len() == want {
                return Ok(text);
            }
        }
        Err(tok_err(
            "prompt",
            format!(
                "cannot build a prompt of exactly {len} tokens with this tokenizer (no pad word \
                 among {PAD_WORDS:?} encodes to one token per repetition)"
            ),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn template(roles: &str) -> Result<ChatTemplate> {
        ChatTemplate::parse(
            &format!(r#"{{"roles": {roles}, "generation_prompt": "<|a|>"}}"#),
            Path::new("processed_chat_template.json"),
        )
    }

    #[test]
    fn chat_template_is_validated() {
        let t = template(r#"{"user": {"prefix": "<u>", "suffix": "</u>"}, "system": {}}"#).unwrap();
        assert_eq!(t.roles["user"].prefix, "<u>");
        assert_eq!(t.roles["system"], Role::default());
        assert_eq!(t.generation_prompt, "<|a|>");
        let e = |roles: &str| template(roles).unwrap_err().to_string();
        assert!(e(r#"{"system": {}}"#).contains("no `user` role"));
        assert!(e(r#"{"user": {"prefix": 3}}"#).contains("roles.user.prefix"));
        assert!(e(r#"[]"#).contains("`roles` is required"));
        assert!(e(r#"{"user": "x"}"#).contains("roles.user"));
        let e = ChatTemplate::parse("{", Path::new("t.json")).unwrap_err();
        assert!(e.to_string().contains("t.json") && e.to_string().contains("invalid JSON"));
        let dir = tempfile::tempdir().unwrap();
        let e = ChatTemplate::load(dir.path()).unwrap_err().to_string();
        assert!(e.contains(CHAT_TEMPLATE_FILE) && e.contains("missing"));
    }

    /// A byte-level BPE tokenizer (the kind Qwen3 and SmolLM2 ship) trained here on the
    /// crate's own docs, with two special tokens, so the test needs no download.
    fn bpe() -> Tokenizer {
        use tokenizers::models::bpe::{BpeTrainerBuilder, BPE};
        use tokenizers::models::TrainerWrapper;
        use tokenizers::pre_tokenizers::byte_level::ByteLevel;
        use tokenizers::AddedToken;
        let text = [
            include_str!("../../../README.md"),
            include_str!("../../../docs/ARCHITECTURE.md"),
            include_str!("../../../docs/gpu.md"),
        ];
        let specials = vec![
            AddedToken::from("<|endoftext|>", true),
            AddedToken::from("<|im_start|>", true),
        ];
        let mut trainer = TrainerWrapper::from(
            BpeTrainerBuilder::new()
                .vocab_size(700)
                .min_frequency(2)
                .show_progress(false)
                .initial_alphabet(ByteLevel::alphabet().into_iter().collect())
                .special_tokens(specials.clone())
                .build(),
        );
        let mut tok = Tokenizer::new(BPE::default());
        tok.with_pre_tokenizer(Some(ByteLevel::default()));
        tok.with_decoder(Some(ByteLevel::default()));
        tok.train(
            &mut trainer,
            text.iter().flat_map(|t| t.lines()).map(str::to_owned),
        )
        .unwrap();
        tok.add_special_tokens(&specials);
        tok
    }

    fn lcg(seed: u64) -> impl FnMut(u64) -> u64 {
        let mut x = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        move |n| {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (x >> 33) % n
        }
    }

    #[test]
    fn every_seed_gives_the_exact_length() {
        let tpl = template(r#"{"user": {}}"#).unwrap();
        let b = PromptBuilder::new(bpe(), tpl);
        assert!(b.pad.is_some(), "no pad word found");
        // Windows of real text (the corpus path) and of arbitrary token ids (byte pieces and
        // special tokens that merge or split when re-encoded), many seeds and lengths.
        let corpus: Vec<i32> = b
            .tokenizer()
            .encode(include_str!("../../../CONTRIBUTING.md"), false)
            .unwrap()
            .get_ids()
            .iter()
            .map(|&t| t as i32)
            .collect();
        let vocab = b.tokenizer().get_vocab_size(true) as u64;
        let (mut repaired, mut checked) = (0, 0);
        for seed in 0..300u64 {
            let mut r = lcg(seed);
            let len = 1 + r(200) as usize;
            let window: Vec<i32> = if seed % 2 == 0 {
                let at = r((corpus.len() - len) as u64) as usize;
                corpus[at..at + len].to_vec()
            } else {
                (0..len).map(|_| r(vocab) as i32).collect()
            };
            let text = b.exact(&window, len).unwrap();
            assert_eq!(b.count(&text).unwrap(), len, "seed {seed}: {text:?}");
            let plain = b
                .decode(&window.iter().map(|&t| t as u32).collect::<Vec<_>>())
                .unwrap();
            repaired += usize::from(b.count(&plain).unwrap() != len);
            checked += 1;
        }
        // The repair is exercised: some windows do not round-trip as plain decoded text.
        assert!(repaired > 0, "no window of {checked} needed repair");
    }
}
