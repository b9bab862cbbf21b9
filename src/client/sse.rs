//! Server-sent events as OpenAI-compatible servers stream them: an incremental parser that
//! takes bytes as they arrive (events split across reads, several events in one read, `:`
//! comments, CR, LF or CRLF line ends, a CRLF split between two reads) and the decoding of
//! each event's JSON into what the metrics need (content text, finish, usage, error).
//! Follows the WHATWG HTML "server-sent events" parsing rules (§9.2.6). Pure: no I/O, no
//! clock; depends on nothing of ours.

use serde::Deserialize;

/// One dispatched event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// The `event:` field, when one was given (some servers name error events).
    pub event: Option<String>,
    /// The `data:` lines joined with `\n`.
    pub data: String,
}

/// Incremental SSE parser. Feed it every read; it returns the events completed by it.
#[derive(Debug, Default)]
pub struct Parser {
    /// Bytes of the line being read (no terminator yet).
    line: Vec<u8>,
    /// The previous read ended on `\r`: a `\n` starting the next read belongs to it.
    after_cr: bool,
    data: String,
    has_data: bool,
    event: Option<String>,
    /// Total bytes seen, for diagnostics.
    pub bytes_seen: u64,
}

impl Parser {
    pub fn new() -> Self {
        Self::default()
    }

    /// Bytes held for the event being read (its lines so far): a bound on it stops a
    /// server that never ends an event from filling memory.
    pub fn pending_len(&self) -> usize {
        self.line.len() + self.data.len()
    }

    /// Parses `bytes`, appending every event it completes to `out`.
    pub fn feed(&mut self, bytes: &[u8], out: &mut Vec<Event>) {
        self.bytes_seen += bytes.len() as u64;
        let mut rest = bytes;
        if rest.is_empty() {
            return; // an empty read must not forget a pending CR
        }
        if self.after_cr {
            self.after_cr = false;
            if let Some(b'\n') = rest.first() {
                rest = &rest[1..];
            }
        }
        while let Some(pos) = rest.iter().position(|&b| b == b'\n' || b == b'\r') {
            let (head, tail) = rest.split_at(pos);
            let line = if self.line.is_empty() {
                std::borrow::Cow::Borrowed(head)
            } else {
                self.line.extend_from_slice(head);
                std::borrow::Cow::Owned(std::mem::take(&mut self.line))
            };
            self.line_done(&line, out);
            let is_cr = tail[0] == b'\r';
            rest = &tail[1..];
            if is_cr {
                match rest.first() {
                    Some(b'\n') => rest = &rest[1..],
                    Some(_) => {}
                    None => self.after_cr = true,
                }
            }
        }
        self.line.extend_from_slice(rest);
    }

    /// End of stream: an event whose blank line never came is still returned (servers that
    /// close right after the last `data:` line exist), a half line too.
    pub fn finish(&mut self, out: &mut Vec<Event>) {
        if !self.line.is_empty() {
            let line = std::mem::take(&mut self.line);
            self.line_done(&line, out);
        }
        self.dispatch(out);
    }

    fn line_done(&mut self, line: &[u8], out: &mut Vec<Event>) {
        if line.is_empty() {
            self.dispatch(out);
            return;
        }
        if line[0] == b':' {
            return; // comment / keep-alive
        }
        let (field, value) = match line.iter().position(|&b| b == b':') {
            Some(i) => {
                let v = &line[i + 1..];
                (&line[..i], v.strip_prefix(b" ").unwrap_or(v))
            }
            None => (line, &b""[..]),
        };
        match field {
            b"data" => {
                if self.has_data {
                    self.data.push('\n');
                }
                self.data.push_str(&String::from_utf8_lossy(value));
                self.has_data = true;
            }
            b"event" => self.event = Some(String::from_utf8_lossy(value).into_owned()),
            _ => {} // id, retry and unknown fields do not matter here
        }
    }

    fn dispatch(&mut self, out: &mut Vec<Event>) {
        let event = self.event.take();
        if !self.has_data {
            return;
        }
        self.has_data = false;
        out.push(Event {
            event,
            data: std::mem::take(&mut self.data),
        });
    }
}

/// Token counts a server reported in `usage`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
pub struct Usage {
    #[serde(default)]
    pub prompt_tokens: Option<u64>,
    #[serde(default)]
    pub completion_tokens: Option<u64>,
    /// Prompt tokens the server took from its prefix cache: OpenAI's
    /// `usage.prompt_tokens_details.cached_tokens`, or llama.cpp's `timings.cache_n`.
    #[serde(
        default,
        rename = "prompt_tokens_details",
        deserialize_with = "cached_tokens"
    )]
    pub cached_tokens: Option<u64>,
    /// llama.cpp's own `timings` (µs): prompt processing, and generation after the first
    /// token over `server_gen_n` tokens, to tell server compute from the rest of what the
    /// client sees (`report::attribution`).
    #[serde(skip)]
    pub server_prompt_us: Option<u64>,
    #[serde(skip)]
    pub server_gen_us: Option<u64>,
    #[serde(skip)]
    pub server_gen_n: Option<u64>,
}

impl Usage {
    /// `self` with the fields `later` has replaced (a usage-only chunk after a timings one).
    pub fn merged(self, later: Usage) -> Usage {
        Usage {
            prompt_tokens: later.prompt_tokens.or(self.prompt_tokens),
            completion_tokens: later.completion_tokens.or(self.completion_tokens),
            cached_tokens: later.cached_tokens.or(self.cached_tokens),
            server_prompt_us: later.server_prompt_us.or(self.server_prompt_us),
            server_gen_us: later.server_gen_us.or(self.server_gen_us),
            server_gen_n: later.server_gen_n.or(self.server_gen_n),
        }
    }
}

fn cached_tokens<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    #[derive(Deserialize)]
    struct Details {
        #[serde(default)]
        cached_tokens: Option<u64>,
    }
    Ok(Option::<Details>::deserialize(d)?.and_then(|x| x.cached_tokens))
}

/// llama.cpp's `timings` object: prompt tokens reused from its cache, and its own times.
#[derive(Debug, Clone, Copy, Deserialize)]
struct Timings {
    #[serde(default)]
    cache_n: Option<u64>,
    #[serde(default)]
    prompt_ms: Option<f64>,
    #[serde(default)]
    predicted_ms: Option<f64>,
    #[serde(default)]
    predicted_n: Option<u64>,
}

/// What one event means for the measurement.
#[derive(Debug, Clone, PartialEq)]
pub enum Chunk {
    /// `data: [DONE]`.
    Done,
    /// A completion chunk. `text` is empty for role-only deltas and usage-only chunks, which
    /// must not count as a token.
    Data {
        text: String,
        finished: bool,
        usage: Option<Usage>,
    },
    /// The server reported an error inside the stream.
    Error(String),
    /// The event is not JSON, or not a completion chunk.
    Malformed(String),
}

#[derive(Deserialize)]
struct RawChunk {
    #[serde(default)]
    choices: Option<Vec<RawChoice>>,
    #[serde(default)]
    usage: Option<Usage>,
    #[serde(default)]
    error: Option<serde_json::Value>,
    #[serde(default)]
    timings: Option<Timings>,
}

#[derive(Deserialize)]
struct RawChoice {
    /// `/v1/completions`.
    #[serde(default)]
    text: Option<String>,
    /// `/v1/chat/completions`.
    #[serde(default)]
    delta: Option<RawDelta>,
    #[serde(default)]
    finish_reason: Option<String>,
}

#[derive(Deserialize)]
struct RawDelta {
    #[serde(default)]
    content: Option<String>,
    /// Reasoning models stream generated tokens here before `content` (vLLM, llama.cpp).
    #[serde(default)]
    reasoning_content: Option<String>,
    #[serde(default)]
    reasoning: Option<String>,
}

/// Decodes one event.
pub fn decode(event: &Event) -> Chunk {
    let data = event.data.trim();
    if data == "[DONE]" {
        return Chunk::Done;
    }
    let mut raw: RawChunk = match serde_json::from_str(data) {
        Ok(r) => r,
        Err(e) => {
            let head: String = data.chars().take(80).collect();
            return Chunk::Malformed(format!("{e} in {head:?}"));
        }
    };
    if let Some(t) = raw
        .timings
        .filter(|t| t.cache_n.is_some() || t.prompt_ms.is_some())
    {
        let us = |ms: Option<f64>| {
            ms.filter(|v| v.is_finite() && *v >= 0.0)
                .map(|v| (v * 1e3).round() as u64)
        };
        let u = raw.usage.get_or_insert_with(Usage::default);
        u.cached_tokens = u.cached_tokens.or(t.cache_n);
        u.server_prompt_us = us(t.prompt_ms);
        u.server_gen_us = us(t.predicted_ms);
        u.server_gen_n = t.predicted_n;
    }
    if let Some(err) = raw.error {
        let msg = err
            .get("message")
            .and_then(|m| m.as_str())
            .map(str::to_owned)
            .unwrap_or_else(|| err.to_string());
        return Chunk::Error(msg);
    }
    if event.event.as_deref() == Some("error") {
        return Chunk::Error(data.chars().take(200).collect());
    }
    let Some(choices) = raw.choices else {
        if raw.usage.is_some() {
            return Chunk::Data {
                text: String::new(),
                finished: false,
                usage: raw.usage,
            };
        }
        return Chunk::Malformed("no `choices` and no `usage`".into());
    };
    let mut text = String::new();
    let mut finished = false;
    for c in choices {
        if let Some(t) = c.text {
            text.push_str(&t);
        }
        if let Some(d) = c.delta {
            for t in [d.reasoning_content, d.reasoning, d.content]
                .into_iter()
                .flatten()
            {
                text.push_str(&t);
            }
        }
        finished |= c.finish_reason.is_some();
    }
    Chunk::Data {
        text,
        finished,
        usage: raw.usage,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn parse_all(reads: &[&[u8]]) -> Vec<Event> {
        let mut p = Parser::new();
        let mut out = Vec::new();
        for r in reads {
            p.feed(r, &mut out);
        }
        p.finish(&mut out);
        out
    }

    fn data(s: &str) -> Event {
        Event {
            event: None,
            data: s.into(),
        }
    }

    #[test]
    fn events_split_and_batched_and_commented() {
        let evs = parse_all(&[
            b": keep-alive\n\ndata: {\"a\"",
            b":1}\n\ndata: x\n\ndata: y\n",
            b"\n",
        ]);
        assert_eq!(evs, [data("{\"a\":1}"), data("x"), data("y")]);
    }

    #[test]
    fn crlf_and_cr_including_crlf_split_across_reads() {
        let evs = parse_all(&[b"data: a\r", b"\n\r", b"\ndata: b\r\rdata:c\r\n\r\n"]);
        assert_eq!(evs, [data("a"), data("b"), data("c")]);
        // an empty read between CR and LF (found by the proptest below)
        let evs = parse_all(&[b"data: a\r", b"", b"\ndata: b\r\n\r\n"]);
        assert_eq!(evs, [data("a\nb")]);
    }

    #[test]
    fn multiline_data_event_name_and_missing_final_blank_line() {
        let evs = parse_all(&[b"event: error\ndata: 1\ndata: 2\n\ndata: [DONE]"]);
        assert_eq!(
            evs,
            [
                Event {
                    event: Some("error".into()),
                    data: "1\n2".into()
                },
                data("[DONE]")
            ]
        );
    }

    #[test]
    fn decodes_chat_completion_usage_error_done() {
        let role = decode(&data(
            r#"{"choices":[{"index":0,"delta":{"role":"assistant"},"finish_reason":null}]}"#,
        ));
        assert_eq!(
            role,
            Chunk::Data {
                text: String::new(),
                finished: false,
                usage: None
            }
        );
        let c = decode(&data(r#"{"choices":[{"delta":{"content":"Hi"}}]}"#));
        assert!(matches!(c, Chunk::Data { ref text, .. } if text == "Hi"));
        let c = decode(&data(
            r#"{"choices":[{"text":" there","finish_reason":"length"}]}"#,
        ));
        assert!(matches!(c, Chunk::Data { ref text, finished: true, .. } if text == " there"));
        let u = decode(&data(
            r#"{"choices":[],"usage":{"prompt_tokens":5,"completion_tokens":7,"total_tokens":12}}"#,
        ));
        assert_eq!(
            u,
            Chunk::Data {
                text: String::new(),
                finished: false,
                usage: Some(Usage {
                    prompt_tokens: Some(5),
                    completion_tokens: Some(7),
                    ..Usage::default()
                })
            }
        );
        assert!(matches!(
            decode(&data(r#"{"error":{"message":"boom","code":500}}"#)),
            Chunk::Error(m) if m == "boom"
        ));
        assert_eq!(decode(&data("[DONE]")), Chunk::Done);
        assert!(matches!(decode(&data("{not json")), Chunk::Malformed(_)));
        assert!(matches!(decode(&data("{}")), Chunk::Malformed(_)));
    }

    fn serialize(events: &[String], crlf: bool) -> Vec<u8> {
        let nl = if crlf { "\r\n" } else { "\n" };
        let mut s = String::new();
        for (i, e) in events.iter().enumerate() {
            if i % 3 == 0 {
                s.push_str(&format!(": ping{nl}"));
            }
            for line in e.split('\n') {
                s.push_str(&format!("data: {line}{nl}"));
            }
            s.push_str(nl);
        }
        s.into_bytes()
    }

    proptest! {
        /// However the byte stream is cut into reads, the same events come out.
        #[test]
        fn any_split_gives_the_same_events(
            events in prop::collection::vec("[a-z{}\":, \\[\\]\n]{1,20}", 0..8),
            cuts in prop::collection::vec(0usize..400, 0..12),
            crlf in any::<bool>(),
        ) {
            let events: Vec<String> = events
                .into_iter()
                .map(|e| e.trim_matches('\n').to_string())
                .filter(|e| !e.is_empty())
                .collect();
            let bytes = serialize(&events, crlf);
            let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c % (bytes.len() + 1)).collect();
            cuts.sort_unstable();
            let mut reads = Vec::new();
            let mut last = 0;
            for c in cuts {
                reads.push(&bytes[last..c]);
                last = c;
            }
            reads.push(&bytes[last..]);
            let got: Vec<String> = parse_all(&reads).into_iter().map(|e| e.data).collect();
            prop_assert_eq!(got, events);
        }

        /// Arbitrary bytes never panic the parser or the decoder.
        #[test]
        fn arbitrary_bytes_never_panic(reads in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..64), 0..8)) {
            let mut p = Parser::new();
            let mut out = Vec::new();
            for r in &reads {
                p.feed(r, &mut out);
            }
            p.finish(&mut out);
            for e in &out {
                let _ = decode(e);
            }
        }
    }

    #[test]
    fn cached_prompt_tokens_from_openai_usage_or_llama_timings() {
        let openai = decode(&data(
            r#"{"choices":[],"usage":{"prompt_tokens":64,"completion_tokens":8,"prompt_tokens_details":{"cached_tokens":48}}}"#,
        ));
        let llama = decode(&data(
            r#"{"choices":[{"text":"","finish_reason":"length"}],"timings":{"cache_n":63,"prompt_n":1}}"#,
        ));
        let cached = |c: Chunk| match c {
            Chunk::Data { usage, .. } => usage.and_then(|u| u.cached_tokens),
            other => panic!("{other:?}"),
        };
        assert_eq!(cached(openai), Some(48));
        assert_eq!(cached(llama), Some(63));
        let timed = decode(&data(
            r#"{"choices":[],"timings":{"cache_n":0,"prompt_n":64,"prompt_ms":12.5,"predicted_n":9,"predicted_ms":40.25}}"#,
        ));
        let Chunk::Data { usage: Some(u), .. } = timed else {
            panic!("{timed:?}")
        };
        assert_eq!(
            (u.server_prompt_us, u.server_gen_us, u.server_gen_n),
            (Some(12_500), Some(40_250), Some(9))
        );
        let none = decode(&data(r#"{"choices":[],"usage":{"prompt_tokens":3}}"#));
        assert_eq!(cached(none), None);
    }
}
