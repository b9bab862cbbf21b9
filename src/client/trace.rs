//! Trace replay (`load --trace FILE --trace-speed S`): arrival times and lengths from a
//! recorded trace, each request sent at its trace time ÷ S after the first, with a random
//! prompt of exactly its input length (unique, as every random prompt) and its output
//! length as `max_tokens`. Two formats:
//!
//! - JSON Lines as Mooncake publishes its traces (`FAST25-release/traces/*.jsonl`):
//!   `{"timestamp": ms, "input_length": n, "output_length": n, "hash_ids": [...]}`
//!   (`hash_ids`, the trace's shared-prefix blocks, are read but not replayed);
//! - CSV as BurstGPT publishes its traces: a header with `Timestamp` (seconds),
//!   `Request tokens` and `Response tokens` (other columns ignored; no quoted fields).
//!   Rows with 0 response tokens (requests that failed in the trace) are skipped.
//!
//! A bad line is an error naming the file, the line and the field. Depends on `prompts`.

use std::collections::HashSet;
use std::path::Path;
use std::time::Duration;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::prompts::{level_seed, Prompt, PromptMaker};
use crate::error::{Error, Result};

/// One request of a trace.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Entry {
    /// Arrival time in the trace, ms (any origin).
    pub at_ms: f64,
    pub input_tokens: u64,
    pub output_tokens: u64,
}

/// A trace read from a file, in arrival order.
#[derive(Debug, Clone, PartialEq)]
pub struct Trace {
    pub entries: Vec<Entry>,
    /// `--trace-speed`: 2 replays twice as fast.
    pub speed: f64,
}

impl Trace {
    /// Send offsets of the entries `indices`, from the first entry of the trace.
    pub fn offsets(&self, indices: &[usize]) -> Vec<Duration> {
        let t0 = self.entries.first().map_or(0.0, |e| e.at_ms);
        indices
            .iter()
            .map(|&i| Duration::from_secs_f64((self.entries[i].at_ms - t0) / 1e3 / self.speed))
            .collect()
    }

    /// Mean arrival rate of the replay, requests/s.
    pub fn rate(&self) -> f64 {
        let n = self.entries.len();
        let span_s = match (self.entries.first(), self.entries.last()) {
            (Some(a), Some(b)) => (b.at_ms - a.at_ms) / 1e3 / self.speed,
            _ => 0.0,
        };
        if n > 1 && span_s > 0.0 {
            (n - 1) as f64 / span_s
        } else {
            1.0
        }
    }

    /// Prompts for the entries `indices`: exact input lengths, unique starts.
    pub fn prompts(
        &self,
        maker: &PromptMaker,
        indices: &[usize],
        seed: u64,
        salt: u64,
    ) -> Result<Vec<Prompt>> {
        let mut words = ChaCha8Rng::seed_from_u64(level_seed(seed ^ salt, salt ^ 0x5452_4143));
        let mut seen = HashSet::with_capacity(indices.len());
        let mut out = Vec::with_capacity(indices.len());
        for &i in indices {
            let e = self.entries[i];
            let mut tries = 0;
            let text = loop {
                tries += 1;
                let text = maker
                    .exact(e.input_tokens, &mut words)
                    .map_err(|r| Error::config("--trace", format!("entry {}: {r}", i + 1)))?;
                let head: Vec<&str> = text.split_whitespace().take(8).collect();
                if seen.insert(head.join(" ")) || tries > 16 {
                    break text;
                }
            };
            out.push(Prompt {
                text,
                input_tokens: Some(e.input_tokens),
                output_tokens: e.output_tokens,
            });
        }
        Ok(out)
    }
}

/// Reads a Mooncake JSONL or BurstGPT CSV trace, sorted by arrival time.
pub fn read(path: &Path, speed: f64) -> Result<Trace> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    let first = text.trim_start().chars().next();
    let mut entries = match first {
        None => return Err(Error::bad_file(path, "the trace is empty")),
        Some('{') => jsonl(&text).map_err(|r| Error::bad_file(path, r))?,
        Some(_) => csv(&text).map_err(|r| Error::bad_file(path, r))?,
    };
    if entries.is_empty() {
        return Err(Error::bad_file(path, "the trace has no request"));
    }
    entries.sort_by(|a, b| a.at_ms.total_cmp(&b.at_ms));
    Ok(Trace { entries, speed })
}

/// A length field: a whole number of tokens, at least `min`.
fn tokens(v: Option<f64>, line: usize, field: &str, min: u64) -> std::result::Result<u64, String> {
    let v = v.ok_or_else(|| format!("line {line}: no `{field}`"))?;
    if !(v.is_finite() && v >= min as f64 && v.fract() == 0.0 && v < 1e9) {
        return Err(format!(
            "line {line}: `{field}` {v} is not a whole number of tokens >= {min}"
        ));
    }
    Ok(v as u64)
}

fn time_ms(v: Option<f64>, line: usize, field: &str) -> std::result::Result<f64, String> {
    match v {
        Some(t) if t.is_finite() && t >= 0.0 => Ok(t),
        Some(t) => Err(format!("line {line}: `{field}` {t} is not a time >= 0")),
        None => Err(format!("line {line}: no `{field}`")),
    }
}

fn jsonl(text: &str) -> std::result::Result<Vec<Entry>, String> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate().map(|(i, l)| (i + 1, l)) {
        if line.trim().is_empty() {
            continue;
        }
        let v: serde_json::Value =
            serde_json::from_str(line).map_err(|e| format!("line {i}: not JSON: {e}"))?;
        let num = |k: &str| v.get(k).and_then(serde_json::Value::as_f64);
        out.push(Entry {
            at_ms: time_ms(num("timestamp"), i, "timestamp")?,
            input_tokens: tokens(num("input_length"), i, "input_length", 1)?,
            output_tokens: tokens(num("output_length"), i, "output_length", 1)?,
        });
    }
    Ok(out)
}

fn csv(text: &str) -> std::result::Result<Vec<Entry>, String> {
    let mut lines = text.lines().enumerate().map(|(i, l)| (i + 1, l));
    let (_, header) = lines.next().ok_or("the trace is empty")?;
    let cols: Vec<&str> = header.split(',').map(str::trim).collect();
    let col = |name: &str| {
        cols.iter()
            .position(|c| c.eq_ignore_ascii_case(name))
            .ok_or_else(|| {
                format!(
                    "line 1: no `{name}` column (a BurstGPT CSV has Timestamp, Request tokens, \
                 Response tokens; a Mooncake trace is JSON Lines)"
                )
            })
    };
    let (t, req, resp) = (
        col("Timestamp")?,
        col("Request tokens")?,
        col("Response tokens")?,
    );
    let mut out = Vec::new();
    for (i, line) in lines {
        if line.trim().is_empty() {
            continue;
        }
        if line.contains('"') {
            return Err(format!("line {i}: quoted CSV fields are not supported"));
        }
        let f: Vec<&str> = line.split(',').map(str::trim).collect();
        let num = |c: usize, name: &str| -> std::result::Result<Option<f64>, String> {
            let s = f
                .get(c)
                .ok_or_else(|| format!("line {i}: no `{name}` field"))?;
            s.parse::<f64>()
                .map(Some)
                .map_err(|_| format!("line {i}: `{name}` {s:?} is not a number"))
        };
        let output = tokens(num(resp, "Response tokens")?, i, "Response tokens", 0)?;
        if output == 0 {
            continue;
        }
        let at_s = time_ms(num(t, "Timestamp")?, i, "Timestamp")?;
        out.push(Entry {
            at_ms: at_s * 1e3,
            input_tokens: tokens(num(req, "Request tokens")?, i, "Request tokens", 1)?,
            output_tokens: output,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_both_formats_and_names_bad_lines() {
        let j =
            "{\"timestamp\": 500, \"input_length\": 7, \"output_length\": 3, \"hash_ids\": [1]}\n\
                 \n{\"timestamp\": 0, \"input_length\": 5, \"output_length\": 2}\n";
        let mut e = jsonl(j).unwrap();
        e.sort_by(|a, b| a.at_ms.total_cmp(&b.at_ms));
        assert_eq!(e[0].input_tokens, 5);
        let tr = Trace {
            entries: e,
            speed: 2.0,
        };
        assert_eq!(
            tr.offsets(&[0, 1]),
            vec![Duration::ZERO, Duration::from_millis(250)]
        );
        assert!((tr.rate() - 4.0).abs() < 1e-9);
        let c = "Timestamp,Model,Request tokens,Response tokens,Total tokens,Log Type\n\
                 5,ChatGPT,472,18,490,Conversation log\n\
                 45,ChatGPT,1087,0,1087,Conversation log\n\
                 118.5,GPT-4,417,276,693,API log\n";
        let e = csv(c).unwrap();
        assert_eq!(
            e.len(),
            2,
            "the failed request (0 response tokens) is skipped"
        );
        assert_eq!(
            (e[1].at_ms, e[1].input_tokens, e[1].output_tokens),
            (118_500.0, 417, 276)
        );
        for (bad, want) in [
            (
                "{\"timestamp\": 1, \"input_length\": 0, \"output_length\": 2}",
                "line 1: `input_length`",
            ),
            (
                "{\"timestamp\": -1, \"input_length\": 3, \"output_length\": 2}",
                "`timestamp`",
            ),
            (
                "{\"input_length\": 3, \"output_length\": 2}\n",
                "no `timestamp`",
            ),
            (
                "{\"timestamp\": 1, \"input_length\": 3, \"output_length\": 2}\n{oops",
                "line 2: not JSON",
            ),
        ] {
            let e = jsonl(bad).unwrap_err();
            assert!(e.contains(want), "{bad}: {e}");
        }
        let e = csv("Timestamp,Request tokens\n1,2\n").unwrap_err();
        assert!(e.contains("Response tokens"), "{e}");
        let e = csv("Timestamp,Request tokens,Response tokens\n1,x,2\n").unwrap_err();
        assert!(e.contains("line 2") && e.contains("Request tokens"), "{e}");
    }
}
