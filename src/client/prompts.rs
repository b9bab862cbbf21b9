//! What the load generator sends: random prompts of an exact token length, or prompts read
//! from a JSONL / ShareGPT-style file, each with its output length. Prompts are made from
//! a fixed seed, so a run is repeatable, and each request starts differently from every
//! other one (in this level and in every other level), so a server's prefix cache cannot
//! turn a measured prompt into a cache hit. Depends on `tokenizer`; never on backends.
//!
//! Exact length: random token ids decoded to text do not always re-encode to the same
//! number of tokens (merges across the joins; vLLM PRs #10524, #15516 fixed the same
//! drift). So the text is re-encoded, cut or padded to the target, decoded again, until the
//! re-encoding has exactly the target length. Tokens are drawn from whole words (a space
//! and ASCII letters), whose round trip is stable, which makes the loop end in one or two
//! rounds.

use std::collections::HashSet;
use std::io::BufRead;
use std::path::Path;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::tokenizer::Tok;
use crate::error::{Error, Result};

/// One prompt and the number of tokens to generate for it.
#[derive(Debug, Clone, PartialEq)]
pub struct Prompt {
    pub text: String,
    /// Prompt tokens as the model sees them (special tokens included), when a tokenizer
    /// is known.
    pub input_tokens: Option<u64>,
    pub output_tokens: u64,
}

/// A length with an optional uniform spread (`mean × (1 ± spread)`, vLLM's range ratio).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Length {
    pub mean: u64,
    pub spread: f64,
}

impl Length {
    pub fn fixed(mean: u64) -> Self {
        Length { mean, spread: 0.0 }
    }
    /// The shortest length `sample` can draw.
    pub fn shortest(&self) -> u64 {
        ((self.mean as f64) * (1.0 - self.spread.max(0.0)))
            .round()
            .max(1.0) as u64
    }
    pub fn sample(&self, rng: &mut impl Rng) -> u64 {
        if self.spread <= 0.0 {
            return self.mean.max(1);
        }
        let lo = self.shortest();
        let hi = ((self.mean as f64) * (1.0 + self.spread))
            .round()
            .max(lo as f64) as u64;
        rng.gen_range(lo..=hi)
    }
}

/// The first words of a prompt: two prompts sharing them would share a prefix-cache entry.
pub fn start_words(text: &str) -> String {
    text.split_whitespace()
        .take(8)
        .collect::<Vec<_>>()
        .join(" ")
}

/// Derives the seed of one level (and of its warmup) from the run's seed, so levels never
/// share prompts.
pub fn level_seed(seed: u64, level: u64) -> u64 {
    // splitmix64 finaliser: different levels give unrelated streams.
    let mut z = seed ^ level.wrapping_add(1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Makes random prompts of exact token length from a tokenizer's vocabulary.
pub struct PromptMaker {
    tok: Tok,
    candidates: Vec<u32>,
}

impl PromptMaker {
    pub fn new(tok: Tok) -> Result<Self> {
        let t = &tok.inner;
        let specials: HashSet<u32> = t.special_ids();
        let size = t.vocab_size();
        let decoded: Vec<(u32, String)> = (0..size)
            .filter(|id| !specials.contains(id))
            .filter_map(|id| Some((id, t.decode(&[id], false).ok()?)))
            .collect();
        let is_word = |s: &str, space: bool| {
            let letters = if space {
                match s.strip_prefix(' ') {
                    Some(r) => r,
                    None => return false,
                }
            } else {
                s
            };
            (2..=12).contains(&letters.len()) && letters.bytes().all(|b| b.is_ascii_alphabetic())
        };
        // Best: " word" tokens (byte-level BPE); then bare words (SentencePiece vocabularies
        // decode a lone "▁word" without its space); then anything not special.
        let mut candidates: Vec<u32> = decoded
            .iter()
            .filter(|(_, s)| is_word(s, true))
            .map(|(id, _)| *id)
            .collect();
        if candidates.len() < 256 {
            candidates = decoded
                .iter()
                .filter(|(_, s)| is_word(s, false))
                .map(|(id, _)| *id)
                .collect();
        }
        if candidates.len() < 256 {
            candidates = decoded
                .iter()
                .filter(|(_, s)| !s.is_empty())
                .map(|(id, _)| *id)
                .collect();
        }
        if candidates.is_empty() {
            return Err(Error::bad_file(
                &tok.source,
                "the tokenizer's vocabulary has no usable tokens",
            ));
        }
        Ok(PromptMaker { tok, candidates })
    }

    pub fn tok(&self) -> &Tok {
        &self.tok
    }

    fn random_ids(&self, n: usize, rng: &mut impl Rng) -> Vec<u32> {
        (0..n)
            .map(|_| self.candidates[rng.gen_range(0..self.candidates.len())])
            .collect()
    }

    /// Random text that encodes to exactly `len` tokens (special tokens included).
    pub fn exact(&self, len: u64, rng: &mut impl Rng) -> std::result::Result<String, String> {
        let special = self.tok.special_added as u64;
        if len <= special {
            return Err(format!(
                "an input length of {len} leaves no room for text after the {special} \
                 special token(s) the tokenizer adds"
            ));
        }
        let target = (len - special) as usize;
        let t = &self.tok.inner;
        for _attempt in 0..8 {
            let mut ids = self.random_ids(target, rng);
            for _round in 0..16 {
                let text = t.decode(&ids, true)?;
                let enc = t.encode(text.as_str(), false)?;
                let n = enc.len();
                // With no special tokens added, the count with them is this count: the
                // second encode is needed only where the tokenizer adds some (measured:
                // 2,304 SmolLM2 prompts of 32 tokens in 0.98 CPU-s instead of 1.82).
                if n == target && (special == 0 || self.tok.count(&text) == Some(len)) {
                    return Ok(text);
                }
                ids = enc;
                if ids.len() > target {
                    ids.truncate(target);
                } else {
                    let more = self.random_ids(target - ids.len(), rng);
                    ids.extend(more);
                }
            }
        }
        Err(format!(
            "could not make a prompt that re-encodes to exactly {len} tokens"
        ))
    }

    /// `n` random prompts of `isl` tokens, each generating `osl` tokens; the first tokens
    /// of every prompt differ from every other prompt's. `seed` draws the lengths, `seed`
    /// and `salt` together the texts, so a new salt gives new texts of the same lengths.
    /// Refuses (naming the flag) a count no vocabulary can make distinct.
    pub fn random(
        &self,
        n: usize,
        isl: Length,
        osl: Length,
        seed: u64,
        salt: u64,
    ) -> Result<Vec<Prompt>> {
        self.check_distinct(n, isl)?;
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut words = ChaCha8Rng::seed_from_u64(level_seed(seed ^ salt, salt));
        let mut seen = HashSet::with_capacity(n);
        let mut out = Vec::with_capacity(n);
        let mut attempts = 0usize;
        while out.len() < n {
            attempts += 1;
            if attempts > 8 * n + 64 {
                return Err(Error::config(
                    "--num-prompts",
                    format!(
                        "only {} distinct prompts of about {} tokens could be made, {n} asked",
                        out.len(),
                        isl.mean
                    ),
                ));
            }
            let len = isl.sample(&mut rng);
            let text = self
                .exact(len, &mut words)
                .map_err(|reason| Error::config("--isl", reason))?;
            // Two prompts sharing their first words would share a prefix-cache entry.
            if !seen.insert(start_words(&text)) {
                continue;
            }
            out.push(Prompt {
                text,
                input_tokens: Some(len),
                output_tokens: osl.sample(&mut rng),
            });
        }
        Ok(out)
    }

    /// Refuses up front `n` prompts that cannot all start differently: the shortest
    /// prompt's first (at most 8) text tokens allow `candidates ^ k` different starts.
    fn check_distinct(&self, n: usize, isl: Length) -> Result<()> {
        let shortest = isl.shortest();
        let k = shortest
            .saturating_sub(self.tok.special_added as u64)
            .clamp(1, 8);
        let starts = (self.candidates.len() as f64).powi(k as i32);
        // Random draws repeat long before every start is used (birthday bound).
        if (n as f64) > starts / 4.0 {
            return Err(Error::config(
                "--num-prompts",
                format!(
                    "{n} distinct prompts of {shortest} tokens cannot be made from this \
                     vocabulary (about {starts:.0} possible starts); raise --isl or lower \
                     --num-prompts"
                ),
            ));
        }
        Ok(())
    }

    /// A few random words to put in front of a file prompt so it starts uniquely.
    pub fn prefix(&self, tokens: usize, rng: &mut impl Rng) -> String {
        let ids = self.random_ids(tokens, rng);
        self.tok
            .inner
            .decode(&ids, true)
            .unwrap_or_default()
            .trim()
            .to_owned()
    }
}

/// A prompt read from a file, before lengths are settled.
#[derive(Debug, Clone, PartialEq)]
pub struct FileEntry {
    pub prompt: String,
    /// The reference reply (ShareGPT), whose length sets the output length.
    pub reply: Option<String>,
    /// An explicit output length (`output_tokens` / `max_tokens`).
    pub output_tokens: Option<u64>,
}

/// Reads a prompt file: JSON Lines (`{"prompt": ...}` / `{"text": ...}`, optional
/// `output_tokens` or `max_tokens`, or a `conversations` / `messages` list per line) or a
/// ShareGPT-style JSON array of `{"conversations": [{"from": "human", "value": ...}, ...]}`.
pub fn read_file(path: &Path) -> Result<Vec<FileEntry>> {
    let f = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let mut reader = std::io::BufReader::new(f);
    let first = loop {
        let buf = reader.fill_buf().map_err(|e| Error::io(path, e))?;
        match buf.iter().find(|b| !b.is_ascii_whitespace()) {
            Some(b) => break Some(*b),
            None if buf.is_empty() => break None,
            None => {
                let n = buf.len();
                reader.consume(n);
            }
        }
    };
    let mut out = Vec::new();
    match first {
        None => return Err(Error::bad_file(path, "the prompt file is empty")),
        Some(b'[') => {
            let v: serde_json::Value = serde_json::from_reader(reader).map_err(|e| {
                Error::bad_file(path, format!("not a JSON array of conversations: {e}"))
            })?;
            for (i, item) in v.as_array().into_iter().flatten().enumerate() {
                match entry(item) {
                    Ok(Some(e)) => out.push(e),
                    Ok(None) => {}
                    Err(reason) => {
                        return Err(Error::bad_file(path, format!("item {i}: {reason}")))
                    }
                }
            }
        }
        Some(_) => {
            for (i, line) in reader.lines().enumerate() {
                let line = line.map_err(|e| Error::io(path, e))?;
                if line.trim().is_empty() {
                    continue;
                }
                let v: serde_json::Value = serde_json::from_str(&line)
                    .map_err(|e| Error::bad_file(path, format!("line {}: not JSON: {e}", i + 1)))?;
                match entry(&v) {
                    Ok(Some(e)) => out.push(e),
                    Ok(None) => {}
                    Err(reason) => {
                        return Err(Error::bad_file(path, format!("line {}: {reason}", i + 1)))
                    }
                }
            }
        }
    }
    if out.is_empty() {
        return Err(Error::bad_file(path, "no prompt found in the file"));
    }
    Ok(out)
}

/// One item of a prompt file; `None` for an item with no user turn (skipped, as vLLM does).
fn entry(v: &serde_json::Value) -> std::result::Result<Option<FileEntry>, String> {
    let obj = v.as_object().ok_or("not a JSON object")?;
    let output_tokens = ["output_tokens", "max_tokens", "output_len"]
        .iter()
        .find_map(|k| obj.get(*k).and_then(|x| x.as_u64()));
    if let Some(p) = obj.get("prompt").or_else(|| obj.get("text")) {
        let prompt = p.as_str().ok_or("`prompt` is not a string")?;
        return Ok((!prompt.is_empty()).then(|| FileEntry {
            prompt: prompt.to_owned(),
            reply: None,
            output_tokens,
        }));
    }
    let turns = obj
        .get("conversations")
        .or_else(|| obj.get("messages"))
        .and_then(|c| c.as_array())
        .ok_or("no `prompt`, `text`, `conversations` or `messages` field")?;
    let role = |t: &serde_json::Value| {
        t.get("from")
            .or_else(|| t.get("role"))
            .and_then(|r| r.as_str())
            .unwrap_or("")
            .to_owned()
    };
    let value = |t: &serde_json::Value| {
        t.get("value")
            .or_else(|| t.get("content"))
            .and_then(|r| r.as_str())
            .map(str::to_owned)
    };
    let Some(user) = turns
        .iter()
        .position(|t| matches!(role(t).as_str(), "human" | "user"))
    else {
        return Ok(None);
    };
    let Some(prompt) = value(&turns[user]).filter(|p| !p.is_empty()) else {
        return Ok(None);
    };
    let reply = turns[user + 1..]
        .iter()
        .find(|t| matches!(role(t).as_str(), "gpt" | "assistant"))
        .and_then(value);
    Ok(Some(FileEntry {
        prompt,
        reply,
        output_tokens,
    }))
}

/// Turns file entries into `n` prompts (cycling through a seeded shuffle when the file has
/// fewer), each with `prefix_tokens` unique random words in front. The output length is
/// `osl` when given, else the entry's own, else the reference reply's token count.
pub fn file_prompts(
    entries: &[FileEntry],
    n: usize,
    osl: Option<Length>,
    maker: Option<&PromptMaker>,
    prefix_tokens: usize,
    seed: u64,
    salt: u64,
) -> std::result::Result<Vec<Prompt>, String> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut words = ChaCha8Rng::seed_from_u64(level_seed(seed ^ salt, salt));
    let mut order: Vec<usize> = (0..entries.len()).collect();
    let mut out = Vec::with_capacity(n);
    let mut i = 0;
    while out.len() < n {
        if i % entries.len() == 0 {
            // a fresh shuffle per pass over the file
            for k in (1..order.len()).rev() {
                order.swap(k, rng.gen_range(0..=k));
            }
        }
        let e = &entries[order[i % entries.len()]];
        i += 1;
        let text = match (maker, prefix_tokens) {
            (Some(m), k) if k > 0 => format!("{} {}", m.prefix(k, &mut words), e.prompt),
            _ => e.prompt.clone(),
        };
        let tok = maker.map(PromptMaker::tok);
        let output_tokens = match (osl, e.output_tokens, &e.reply, tok) {
            (Some(l), _, _, _) => l.sample(&mut rng),
            (None, Some(k), _, _) => k,
            (None, None, Some(r), Some(t)) => t.count_plain(r).unwrap_or(0).max(1),
            _ => {
                return Err(
                    "the prompt file gives no output length (no output_tokens/max_tokens, \
                     or a reply but no --tokenizer): pass --osl"
                        .into(),
                )
            }
        };
        out.push(Prompt {
            input_tokens: tok.and_then(|t| t.count(&text)),
            text,
            output_tokens,
        });
    }
    Ok(out)
}

/// Where a run's prompts come from.
pub enum Source {
    /// Random prompts of exact token length.
    Random {
        maker: PromptMaker,
        isl: Length,
        osl: Length,
    },
    /// Random prompts of exact token length sharing a few prefixes on purpose
    /// (`--workload shared-prefix`, see `client::shared_prefix`).
    SharedPrefix {
        maker: PromptMaker,
        spec: super::shared_prefix::SharedPrefix,
        isl: Length,
        osl: Length,
    },
    /// A recorded trace's lengths (and, through the scheduler, its arrival times).
    Trace {
        maker: PromptMaker,
        trace: super::trace::Trace,
    },
    /// Prompts from a file, each with `prefix_tokens` unique random words in front (needs
    /// a tokenizer; without one the prompts are sent as they are).
    File {
        entries: Vec<FileEntry>,
        maker: Option<PromptMaker>,
        osl: Option<Length>,
        prefix_tokens: usize,
    },
    /// Random prompts of exact token length, made and counted by the server's own
    /// tokenizer (no local one given).
    Server {
        tok: super::server_tok::ServerTok,
        isl: Length,
        osl: Length,
    },
    /// Conversations of several turns (`--workload multi-turn`, see
    /// `client::conversation`): `first` (`Random` or `Server`) makes each first turn, and
    /// with the same tokenizer every later turn's new user text.
    MultiTurn {
        first: Box<Source>,
        spec: super::conversation::MultiTurn,
    },
}

impl Source {
    /// The tokenizer prompts are made and counted with, when there is one.
    pub fn tok(&self) -> Option<Tok> {
        match self {
            Source::Random { maker, .. }
            | Source::SharedPrefix { maker, .. }
            | Source::Trace { maker, .. } => Some(maker.tok().clone()),
            Source::File { maker, .. } => maker.as_ref().map(|m| m.tok().clone()),
            Source::Server { .. } => None,
            Source::MultiTurn { first, .. } => first.tok(),
        }
    }

    /// What prompts are made and counted with, for the results (`notes.tokenizer`).
    pub fn tokenizer_note(&self) -> Option<String> {
        match self {
            Source::Server { tok, .. } => Some(tok.source.clone()),
            Source::MultiTurn { first, .. } => first.tokenizer_note(),
            _ => self.tok().map(|t| t.source),
        }
    }

    /// Whether the prompts share prefixes on purpose (prefix-cache hits are expected; a
    /// conversation's history is one).
    pub fn shares_prefixes(&self) -> bool {
        matches!(self, Source::SharedPrefix { .. } | Source::MultiTurn { .. })
    }

    /// `n` prompts from `seed` (for `MultiTurn`, `n` independent first turns: its warmup;
    /// its conversations come from `client::conversation::prompts`).
    pub fn prompts(&self, n: usize, seed: u64, salt: u64) -> Result<Vec<Prompt>> {
        match self {
            Source::Random { maker, isl, osl } => maker.random(n, *isl, *osl, seed, salt),
            Source::SharedPrefix {
                maker,
                spec,
                isl,
                osl,
            } => super::shared_prefix::prompts(maker, *spec, n, *isl, *osl, seed, salt),
            Source::Trace { maker, trace } => {
                let all: Vec<usize> = (0..n).map(|i| i % trace.entries.len()).collect();
                trace.prompts(maker, &all, seed, salt)
            }
            Source::File {
                entries,
                maker,
                osl,
                prefix_tokens,
            } => file_prompts(entries, n, *osl, maker.as_ref(), *prefix_tokens, seed, salt)
                .map_err(|reason| Error::config("--dataset", reason)),
            Source::Server { tok, isl, osl } => tok.random(n, *isl, *osl, seed, salt),
            Source::MultiTurn { first, .. } => first.prompts(n, seed, salt),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn length_spread_stays_in_range() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let l = Length {
            mean: 100,
            spread: 0.2,
        };
        let v: Vec<u64> = (0..500).map(|_| l.sample(&mut rng)).collect();
        assert!(v.iter().all(|x| (80..=120).contains(x)));
        assert!(v.iter().any(|&x| x < 90) && v.iter().any(|&x| x > 110));
        assert_eq!(Length::fixed(7).sample(&mut rng), 7);
    }

    #[test]
    fn level_seeds_differ() {
        let s: HashSet<u64> = (0..100).map(|l| level_seed(0, l)).collect();
        assert_eq!(s.len(), 100);
        assert_eq!(level_seed(3, 4), level_seed(3, 4));
    }

    #[test]
    fn reads_jsonl_and_sharegpt() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("p.jsonl");
        std::fs::write(
            &p,
            "{\"prompt\": \"hi\", \"output_tokens\": 5}\n\n{\"text\": \"yo\"}\n\
             {\"messages\": [{\"role\": \"user\", \"content\": \"q\"}, {\"role\": \"assistant\", \"content\": \"a b\"}]}\n",
        )
        .unwrap();
        let e = read_file(&p).unwrap();
        assert_eq!(e.len(), 3);
        assert_eq!(e[0].output_tokens, Some(5));
        assert_eq!(e[2].reply.as_deref(), Some("a b"));
        let p2 = dir.path().join("s.json");
        std::fs::write(
            &p2,
            r#" [{"conversations": [{"from": "gpt", "value": "x"}]},
                {"conversations": [{"from": "human", "value": "Q?"}, {"from": "gpt", "value": "A."}]}]"#,
        )
        .unwrap();
        let e = read_file(&p2).unwrap();
        assert_eq!(e.len(), 1);
        assert_eq!(e[0].prompt, "Q?");
        // errors name the file and the line
        let bad = dir.path().join("bad.jsonl");
        std::fs::write(&bad, "{\"prompt\": \"ok\"}\n{oops\n").unwrap();
        let err = read_file(&bad).unwrap_err().to_string();
        assert!(err.contains("bad.jsonl") && err.contains("line 2"), "{err}");
        let prompts = file_prompts(&e, 3, None, None, 0, 1, 0);
        assert!(prompts.unwrap_err().contains("--osl"));
        let prompts = file_prompts(&e, 3, Some(Length::fixed(4)), None, 0, 1, 0).unwrap();
        assert_eq!(prompts.len(), 3);
        assert!(prompts
            .iter()
            .all(|p| p.output_tokens == 4 && p.text == "Q?"));
    }
}
