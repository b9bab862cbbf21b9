//! The query sample library of `trtbench mlperf`: the samples LoadGen's indices name, as
//! token ids in memory, each with the exact number of tokens to generate for it. Three
//! sources:
//!
//! - exact-length prompts cut from a text with the engine's tokenizer (`bench::corpus`, as
//!   `run` makes them), all of one input and one output length;
//! - a prompt file (`--dataset`) read by the load command's reader
//!   (`client::prompts::read_file`: JSON Lines of `prompt` / `text` / `conversations` /
//!   `messages`, or a ShareGPT array), each prompt tokenized by the engine as raw text (BOS
//!   first when the model has one, no chat template);
//! - pre-tokenized samples (`--samples-file`), one JSON object per line, read here
//!   ([`read_tokenized`]): the token ids are fed to the engine as they are.
//!
//! LoadGen's total and performance sample counts are the library's size, so a file's
//! samples are all loadable and each index maps to one entry of the file, in order.

use std::io::BufRead;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::engine::{Engine, Token};
use crate::error::{Error, Result};

/// One sample of the library.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// The prompt as the engine sees it.
    pub tokens: Vec<Token>,
    /// Tokens generated for it, exactly (end-of-sequence ignored).
    pub output_len: u32,
    /// Where it came from, for errors: the line of a samples file, the entry of a dataset
    /// (1-based), the prompt's number otherwise.
    pub origin: usize,
}

/// Fields of a pre-tokenized sample that hold the prompt's token ids: the name Hugging
/// Face tokenizers give them, and the column MLPerf's LLM data sets use
/// (`tok_input` in the llama2-70b / llama3.1-8b processed data).
pub const IDS_FIELDS: [&str; 2] = ["input_ids", "tok_input"];

/// Fields of a pre-tokenized sample that hold its output length (the first found wins):
/// ours, then the names the load command's prompt files use.
pub const OUTPUT_FIELDS: [&str; 3] = ["max_output_tokens", "output_tokens", "max_tokens"];

/// Where the library comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum Library {
    /// `count` prompts of exactly `isl` tokens cut from `text` (seeded), each generating
    /// `osl` tokens.
    Exact {
        isl: u32,
        osl: u32,
        count: usize,
        text: PathBuf,
        seed: u64,
    },
    /// A prompt file for the load command's reader, tokenized by the engine; `osl`
    /// overrides each entry's own output length.
    Dataset { path: PathBuf, osl: Option<u32> },
    /// Pre-tokenized samples, read and checked when the plan is made (bad lines are named
    /// before anything runs).
    Tokenized { path: PathBuf, samples: Vec<Sample> },
}

impl Library {
    /// The file the samples come from, when they come from one.
    pub fn file(&self) -> Option<&Path> {
        match self {
            Library::Exact { .. } => None,
            Library::Dataset { path, .. } | Library::Tokenized { path, .. } => Some(path),
        }
    }

    /// The library's samples, made with `engine`'s tokenizer where it needs one.
    /// `min_output`: the shortest output length allowed (2 with token latencies).
    pub fn samples(&self, engine: &dyn Engine, min_output: u32) -> Result<Vec<Sample>> {
        let samples = match self {
            Library::Exact {
                isl,
                osl,
                count,
                text,
                seed,
            } => {
                let corpus = crate::bench::corpus::Corpus::load(engine, text)?;
                let prompts = corpus.prompts(*isl as usize, *count, *seed, 0);
                prompts
                    .into_iter()
                    .enumerate()
                    .map(|(i, tokens)| Sample {
                        tokens,
                        output_len: *osl,
                        origin: i + 1,
                    })
                    .collect()
            }
            Library::Dataset { path, osl } => dataset(engine, path, *osl, min_output)?,
            Library::Tokenized { path, samples } => {
                check_vocab(samples, engine.manifest().model.vocab, path)?;
                samples.clone()
            }
        };
        Ok(samples)
    }
}

/// The entries of a prompt file, tokenized by `engine`. The output length is `osl` when
/// given, else the entry's own (`output_tokens` / `max_tokens`), else its reference
/// reply's length in the engine's tokens.
fn dataset(
    engine: &dyn Engine,
    path: &Path,
    osl: Option<u32>,
    min_output: u32,
) -> Result<Vec<Sample>> {
    let entries = crate::client::prompts::read_file(path)?;
    let mut out = Vec::with_capacity(entries.len());
    for (i, e) in entries.iter().enumerate() {
        let entry = i + 1;
        let output_len = match (osl, e.output_tokens, &e.reply) {
            (Some(n), _, _) => n,
            (None, Some(n), _) => u32::try_from(n).unwrap_or(u32::MAX),
            (None, None, Some(r)) => engine.tokenize(r)?.len() as u32,
            (None, None, None) => {
                return Err(Error::bad_file(
                    path,
                    format!(
                        "entry {entry}: no output length (no output_tokens / max_tokens, \
                         no reply): pass --osl"
                    ),
                ))
            }
        };
        if output_len < min_output {
            return Err(Error::bad_file(
                path,
                format!("entry {entry}: {}", too_short(output_len, min_output)),
            ));
        }
        let mut tokens: Vec<Token> = engine.bos().into_iter().collect();
        tokens.extend(engine.tokenize(&e.prompt)?);
        out.push(Sample {
            tokens,
            output_len,
            origin: entry,
        });
    }
    Ok(out)
}

fn too_short(n: u32, min: u32) -> String {
    format!(
        "output length {n}: at least {min} needed (with token latencies TPOT needs a second \
         token; --no-token-latencies lifts that)"
    )
}

/// Reads a JSON Lines file of pre-tokenized samples: one object per line with the prompt's
/// token ids (one of [`IDS_FIELDS`]) and its output length (one of [`OUTPUT_FIELDS`]);
/// `osl`, when given, is every sample's output length instead. Blank lines are skipped;
/// other fields are ignored (MLPerf's `input`, `output`, `dataset`, ...). Every error
/// names the file, the line and the field.
pub fn read_tokenized(path: &Path, osl: Option<u32>, min_output: u32) -> Result<Vec<Sample>> {
    let f = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let mut out = Vec::new();
    for (i, line) in std::io::BufReader::new(f).lines().enumerate() {
        let line = line.map_err(|e| Error::io(path, e))?;
        if line.trim().is_empty() {
            continue;
        }
        let at = i + 1;
        let sample = tokenized_line(&line, at, osl, min_output)
            .map_err(|reason| Error::bad_file(path, format!("line {at}: {reason}")))?;
        out.push(sample);
    }
    if out.is_empty() {
        return Err(Error::bad_file(path, "no sample in the file"));
    }
    Ok(out)
}

/// One line of a samples file (`at`: its number), or why it is not one.
fn tokenized_line(
    line: &str,
    at: usize,
    osl: Option<u32>,
    min_output: u32,
) -> std::result::Result<Sample, String> {
    let v: Value = serde_json::from_str(line).map_err(|e| format!("not JSON: {e}"))?;
    let obj = v.as_object().ok_or("not a JSON object")?;
    let (field, ids) = IDS_FIELDS
        .iter()
        .find_map(|k| obj.get(*k).map(|v| (*k, v)))
        .ok_or_else(|| {
            format!(
                "no `{}` or `{}` field (the prompt's token ids)",
                IDS_FIELDS[0], IDS_FIELDS[1]
            )
        })?;
    let ids = ids
        .as_array()
        .ok_or_else(|| format!("field `{field}`: not an array of token ids"))?;
    if ids.is_empty() {
        return Err(format!("field `{field}`: empty (a prompt needs a token)"));
    }
    let tokens = ids
        .iter()
        .enumerate()
        .map(|(k, t)| {
            t.as_u64()
                .and_then(|t| Token::try_from(t).ok())
                .ok_or_else(|| {
                    format!("field `{field}`: item {k} ({t}) is not a token id (0 to 2^31-1)")
                })
        })
        .collect::<std::result::Result<Vec<Token>, String>>()?;
    let output_len = match osl {
        Some(n) => n,
        None => {
            let (field, n) = OUTPUT_FIELDS
                .iter()
                .find_map(|k| obj.get(*k).map(|v| (*k, v)))
                .ok_or_else(|| {
                    format!(
                        "no `{}` field (or `{}` / `{}`) and no --osl",
                        OUTPUT_FIELDS[0], OUTPUT_FIELDS[1], OUTPUT_FIELDS[2]
                    )
                })?;
            n.as_u64()
                .and_then(|n| u32::try_from(n).ok())
                .filter(|n| *n >= 1)
                .ok_or_else(|| format!("field `{field}`: {n} is not a whole number from 1"))?
        }
    };
    if output_len < min_output {
        return Err(too_short(output_len, min_output));
    }
    Ok(Sample {
        tokens,
        output_len,
        origin: at,
    })
}

/// Every token id of a samples file within the engine's vocabulary (`vocab` ids); an id
/// beyond it would be read out of the embedding table.
fn check_vocab(samples: &[Sample], vocab: u32, path: &Path) -> Result<()> {
    for s in samples {
        if let Some(t) = s.tokens.iter().find(|t| **t as u32 >= vocab) {
            return Err(Error::bad_file(
                path,
                format!(
                    "line {}: token id {t} is beyond the engine's vocabulary of {vocab} ids \
                     (tokenized for another model?)",
                    s.origin
                ),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(text: &str) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("s.jsonl");
        std::fs::write(&p, text).unwrap();
        (dir, p)
    }

    #[test]
    fn reads_both_field_spellings_and_skips_blank_lines() {
        let (_d, p) = write(
            "{\"input_ids\": [1, 2, 3], \"max_output_tokens\": 4}\n\n\
             {\"tok_input\": [7], \"output_tokens\": 2, \"input\": \"ignored\"}\n",
        );
        let s = read_tokenized(&p, None, 2).unwrap();
        assert_eq!(s.len(), 2);
        assert_eq!((s[0].tokens.clone(), s[0].output_len), (vec![1, 2, 3], 4));
        assert_eq!(
            (s[1].tokens.clone(), s[1].output_len, s[1].origin),
            (vec![7], 2, 3)
        );
        // --osl stands in for (and overrides) the file's lengths.
        let s = read_tokenized(&p, Some(9), 2).unwrap();
        assert!(s.iter().all(|s| s.output_len == 9));
    }

    #[test]
    fn errors_name_the_file_the_line_and_the_field() {
        let cases = [
            (
                "{\"input_ids\": [1], \"max_output_tokens\": 2}\n{oops\n",
                "line 2: not JSON",
            ),
            ("[1, 2]\n", "line 1: not a JSON object"),
            ("{\"ids\": [1]}\n", "line 1: no `input_ids` or `tok_input`"),
            (
                "{\"input_ids\": \"1 2\"}\n",
                "line 1: field `input_ids`: not an array",
            ),
            ("{\"tok_input\": []}\n", "line 1: field `tok_input`: empty"),
            (
                "{\"input_ids\": [1, -5], \"max_output_tokens\": 2}\n",
                "line 1: field `input_ids`: item 1 (-5)",
            ),
            ("{\"input_ids\": [1]}\n", "line 1: no `max_output_tokens`"),
            (
                "{\"input_ids\": [1], \"max_tokens\": 0}\n",
                "line 1: field `max_tokens`: 0 is not",
            ),
            (
                "{\"input_ids\": [1], \"max_output_tokens\": 1}\n",
                "line 1: output length 1: at least 2",
            ),
            ("\n\n", "no sample in the file"),
        ];
        for (text, want) in cases {
            let (_d, p) = write(text);
            let e = read_tokenized(&p, None, 2).unwrap_err().to_string();
            assert!(e.contains("s.jsonl") && e.contains(want), "{text:?}: {e}");
        }
    }

    #[test]
    fn ids_beyond_the_vocabulary_are_named_with_their_line() {
        let s = vec![
            Sample {
                tokens: vec![1, 2],
                output_len: 2,
                origin: 1,
            },
            Sample {
                tokens: vec![3, 100],
                output_len: 2,
                origin: 4,
            },
        ];
        assert!(check_vocab(&s, 101, Path::new("x.jsonl")).is_ok());
        let e = check_vocab(&s, 100, Path::new("x.jsonl"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("x.jsonl: line 4: token id 100"), "{e}");
    }
}
