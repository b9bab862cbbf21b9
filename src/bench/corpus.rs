//! Prompts of exactly ISL tokens, cut from real text with the engine's own tokenizer, and
//! deterministic for a seed. The prompt is handed to the engine as token ids, never
//! detokenized and re-encoded, so its length cannot drift (the trap vLLM and SGLang fell
//! into with random-text prompts). Each sequence of each run gets its own window of the
//! text, so no two prompts share a prefix.

use std::path::{Path, PathBuf};

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::engine::{Engine, Token};
use crate::error::{Error, Result};

/// Plain text present on every Debian and Ubuntu machine, used when no text is given.
pub const DEFAULT_TEXT: &str = "/usr/share/common-licenses/GPL-3";

/// A tokenized corpus prompts are cut from.
pub struct Corpus {
    tokens: Vec<Token>,
    bos: Option<Token>,
    /// Where the text came from (recorded in results).
    pub source: PathBuf,
}

impl Corpus {
    /// Reads and tokenizes `path` with `engine`'s tokenizer.
    pub fn load(engine: &dyn Engine, path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        let tokens = engine.tokenize(&text)?;
        if tokens.len() < 16 {
            return Err(Error::bad_file(
                path,
                format!(
                    "only {} tokens of text; prompts need a longer text",
                    tokens.len()
                ),
            ));
        }
        Ok(Corpus {
            tokens,
            bos: engine.bos(),
            source: path.to_owned(),
        })
    }

    /// Builds a corpus from tokens directly (tests, library users with their own text).
    pub fn from_tokens(tokens: Vec<Token>, bos: Option<Token>) -> Self {
        Corpus {
            tokens,
            bos,
            source: PathBuf::new(),
        }
    }

    pub fn len(&self) -> usize {
        self.tokens.len()
    }

    pub fn is_empty(&self) -> bool {
        self.tokens.is_empty()
    }

    /// `batch` prompts of exactly `isl` tokens each (BOS included when the model uses one),
    /// for run number `run` of a point. Same (seed, run) → same prompts.
    pub fn prompts(&self, isl: usize, batch: usize, seed: u64, run: u64) -> Vec<Vec<Token>> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed ^ run.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        (0..batch)
            .map(|_| {
                let mut p = Vec::with_capacity(isl);
                if let Some(b) = self.bos {
                    if isl > 0 {
                        p.push(b);
                    }
                }
                let mut at = rng.gen_range(0..self.tokens.len());
                while p.len() < isl {
                    p.push(self.tokens[at]);
                    at = (at + 1) % self.tokens.len();
                }
                p
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prompts_are_exact_and_deterministic() {
        let c = Corpus::from_tokens((100..400).collect(), Some(1));
        let a = c.prompts(513, 4, 7, 0);
        assert_eq!(a.len(), 4);
        assert!(a.iter().all(|p| p.len() == 513 && p[0] == 1));
        assert_eq!(a, c.prompts(513, 4, 7, 0));
        assert_ne!(a, c.prompts(513, 4, 7, 1));
        assert_ne!(a, c.prompts(513, 4, 8, 0));
        // sequences within a batch start at different places of the text
        assert!(a.windows(2).any(|w| w[0] != w[1]));
        let no_bos = Corpus::from_tokens((100..400).collect(), None);
        assert!(no_bos.prompts(5, 1, 0, 0)[0].iter().all(|t| *t >= 100));
    }
}
