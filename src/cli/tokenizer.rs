//! `--tokenizer` resolution for `load`: a GGUF (or a directory holding one and no
//! `tokenizer.json`) goes through llama.cpp's own tokenizer loaded vocab-only, so every
//! vocabulary type llama.cpp supports works exactly; a `tokenizer.json` or a Hugging Face
//! model directory goes through `client::tokenizer`. The llama.cpp side is wired here
//! because `client` never depends on `backends`.

use std::path::Path;
use std::sync::Arc;

use crate::backends::llama::VocabModel;
use crate::client::tokenizer::{Tok, Vocab};

struct LlamaVocab(VocabModel);

impl Vocab for LlamaVocab {
    fn encode(&self, text: &str, add_special: bool) -> Result<Vec<u32>, String> {
        Ok(self.0.tokenize(text, add_special))
    }
    fn decode(&self, ids: &[u32], skip_special: bool) -> Result<String, String> {
        Ok(self.0.detokenize(ids, skip_special))
    }
    fn vocab_size(&self) -> u32 {
        self.0.n_vocab()
    }
    fn special_ids(&self) -> std::collections::HashSet<u32> {
        (0..self.0.n_vocab())
            .filter(|&id| self.0.is_control(id))
            .collect()
    }
}

/// Loads `--tokenizer PATH`.
pub fn load(path: &Path) -> crate::Result<Tok> {
    let gguf = if path.is_dir() && !path.join("tokenizer.json").is_file() {
        // An engine directory or a directory holding one GGUF.
        let r = crate::backends::resolve(path)?;
        Some(r.manifest.primary_file(&r.dir))
    } else if path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("gguf"))
    {
        Some(path.to_owned())
    } else {
        None
    };
    match gguf {
        Some(g) => {
            let v = VocabModel::load(&g)?;
            let source = format!("{} (llama.cpp {} vocabulary)", g.display(), v.vocab_type());
            Ok(Tok::from_vocab(Arc::new(LlamaVocab(v)), source))
        }
        None => Tok::load(path),
    }
}
