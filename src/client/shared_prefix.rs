//! The shared-prefix workload (`--workload shared-prefix --prefixes N --prefix-len P`):
//! N distinct "system prompts" of P tokens, each put in front of many requests, each
//! request then a unique suffix, the whole exactly `isl` tokens. It shows what a server's
//! prefix cache buys: the server reports the cached prompt tokens (`cached_prompt_frac`),
//! and such a level is meant to hit the cache, so hits are not a warning. Requests take
//! the prefixes in turn (request j uses prefix j mod N), so every prefix is reused at the
//! same pace. Depends on `prompts` and `tokenizer`.

use std::collections::HashSet;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::prompts::{level_seed, start_words, Length, Prompt, PromptMaker};
use crate::error::{Error, Result};

/// The shape of a shared-prefix workload.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SharedPrefix {
    /// Distinct prefixes.
    pub prefixes: usize,
    /// Tokens of each prefix.
    pub prefix_len: u64,
}

/// `n` prompts of exactly `isl` tokens (special tokens included): prefix `j mod N`, then a
/// unique random suffix. `seed` draws the lengths, `seed` and `salt` the texts (the
/// prefixes from the salt and seed too, so a level's prefixes are its own: its first
/// request per prefix is a cache miss, the others can hit).
pub fn prompts(
    maker: &PromptMaker,
    sp: SharedPrefix,
    n: usize,
    isl: Length,
    osl: Length,
    seed: u64,
    salt: u64,
) -> Result<Vec<Prompt>> {
    let special = maker.tok().special_added as u64;
    let shortest = isl.shortest();
    if shortest < sp.prefix_len + special + 1 {
        return Err(Error::config(
            "--prefix-len",
            format!(
                "a prefix of {} tokens leaves no room for a suffix in --isl {} (the shortest \
                 prompt is {shortest} tokens{}): raise --isl or lower --prefix-len",
                sp.prefix_len,
                isl.mean,
                if special > 0 {
                    format!(", {special} of them special")
                } else {
                    String::new()
                }
            ),
        ));
    }
    let mut words = ChaCha8Rng::seed_from_u64(level_seed(seed ^ salt, salt ^ 0x5052_4546));
    let heads: Vec<String> = (0..sp.prefixes)
        .map(|_| maker.exact(sp.prefix_len + special, &mut words))
        .collect::<std::result::Result<_, _>>()
        .map_err(|r| Error::config("--prefix-len", r))?;
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut seen = HashSet::with_capacity(n);
    let mut out = Vec::with_capacity(n);
    let mut attempts = 0usize;
    while out.len() < n {
        attempts += 1;
        if attempts > 8 * n + 64 {
            return Err(Error::config(
                "--num-prompts",
                format!(
                    "only {} distinct suffixes could be made, {n} asked",
                    out.len()
                ),
            ));
        }
        let len = isl.sample(&mut rng);
        let head = &heads[out.len() % heads.len()];
        let Some(text) = joined(maker, head, len - sp.prefix_len - special, len, &mut words) else {
            continue;
        };
        // The suffix's first words tell requests of one prefix apart.
        let suffix_head = start_words(&text[head.len()..]);
        if !seen.insert((out.len() % heads.len(), suffix_head)) {
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

/// `head` + a random suffix of `suffix` text tokens whose whole re-encodes to exactly
/// `len` tokens (a merge across the join can change the count: then another suffix).
fn joined(
    maker: &PromptMaker,
    head: &str,
    suffix: u64,
    len: u64,
    rng: &mut ChaCha8Rng,
) -> Option<String> {
    let special = maker.tok().special_added as u64;
    for _ in 0..8 {
        let tail = maker.exact(suffix + special, rng).ok()?;
        let sep = if tail.starts_with(' ') || head.ends_with(' ') {
            ""
        } else {
            " "
        };
        let text = format!("{head}{sep}{tail}");
        if maker.tok().count(&text) == Some(len) {
            return Some(text);
        }
    }
    None
}
