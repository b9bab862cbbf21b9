//! Server-sent events as OpenAI-compatible servers stream them: an incremental parser that
//! takes bytes as they arrive (events split across reads, several events in one read, `:`
//! comments, CR, LF or CRLF line ends, a CRLF split between two reads) and the decoding of
//! each event's JSON into what the metrics need (content text, finish, usage, error).
//! Follows the WHATWG HTML "server-sent events" parsing rules (§9.2.6). Pure: no I/O, no
//! clock; depends on nothing of ours.

use serde::Deserialize;

mod fast;

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
        self.feed_with(bytes, |event, data| {
            out.push(Event {
                event: event.map(str::to_owned),
                data: data.to_owned(),
            })
        });
    }

    /// Parses `bytes`, calling `on_event(event name, data)` for every event it completes:
    /// [`feed`](Self::feed) without an allocation per event (the hot path of a load test).
    pub fn feed_with(&mut self, bytes: &[u8], mut on_event: impl FnMut(Option<&str>, &str)) {
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
            if self.line.is_empty() {
                self.line_done(head, &mut on_event);
            } else {
                self.line.extend_from_slice(head);
                let line = std::mem::take(&mut self.line);
                self.line_done(&line, &mut on_event);
                self.line = line; // its capacity serves the next split line
                self.line.clear();
            }
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
        self.finish_with(|event, data| {
            out.push(Event {
                event: event.map(str::to_owned),
                data: data.to_owned(),
            })
        });
    }

    /// [`finish`](Self::finish), calling `on_event` as [`feed_with`](Self::feed_with) does.
    pub fn finish_with(&mut self, mut on_event: impl FnMut(Option<&str>, &str)) {
        if !self.line.is_empty() {
            let line = std::mem::take(&mut self.line);
            self.line_done(&line, &mut on_event);
        }
        self.dispatch(&mut on_event);
    }

    fn line_done(&mut self, line: &[u8], on_event: &mut impl FnMut(Option<&str>, &str)) {
        if line.is_empty() {
            self.dispatch(on_event);
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

    fn dispatch(&mut self, on_event: &mut impl FnMut(Option<&str>, &str)) {
        let event = self.event.take();
        if !self.has_data {
            return;
        }
        self.has_data = false;
        on_event(event.as_deref(), &self.data);
        self.data.clear(); // kept allocated for the next event
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
    /// llama.cpp's `timings.draft_n` / `draft_n_accepted` (a server started with a draft
    /// model, `--model-draft`): draft tokens proposed for this request, and how many of
    /// them its target accepted.
    #[serde(skip)]
    pub server_draft_n: Option<u64>,
    #[serde(skip)]
    pub server_draft_accepted: Option<u64>,
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
            server_draft_n: later.server_draft_n.or(self.server_draft_n),
            server_draft_accepted: later.server_draft_accepted.or(self.server_draft_accepted),
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
    /// Sent only when the request drafted (llama.cpp's `server_slot_stats::to_json`).
    #[serde(default)]
    draft_n: Option<u64>,
    #[serde(default)]
    draft_n_accepted: Option<u64>,
}

impl Timings {
    /// Folds the server's own figures into the chunk's usage (made when absent), when the
    /// object carries any (llama.cpp sends it on its last chunk).
    fn fold_into(self, usage: &mut Option<Usage>) {
        if self.cache_n.is_none() && self.prompt_ms.is_none() && self.draft_n.is_none() {
            return;
        }
        let us = |ms: Option<f64>| {
            ms.filter(|v| v.is_finite() && *v >= 0.0)
                .map(|v| (v * 1e3).round() as u64)
        };
        let u = usage.get_or_insert_with(Usage::default);
        u.cached_tokens = u.cached_tokens.or(self.cache_n);
        u.server_prompt_us = us(self.prompt_ms);
        u.server_gen_us = us(self.predicted_ms);
        u.server_gen_n = self.predicted_n;
        u.server_draft_n = self.draft_n;
        u.server_draft_accepted = self.draft_n.and(self.draft_n_accepted);
    }
}

/// The message of an error object the server put in the stream (the whole object when it
/// has no `message`).
fn error_message(err: &serde_json::Value) -> String {
    err.get("message")
        .and_then(|m| m.as_str())
        .map(str::to_owned)
        .unwrap_or_else(|| err.to_string())
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

/// A chunk as sent, its choices folded as they are read: their strings are borrowed from
/// the event's data when they hold no escape, so the text is the only allocation.
#[derive(Deserialize)]
struct RawChunk {
    #[serde(default, deserialize_with = "fold_choices")]
    choices: Option<Choices>,
    #[serde(default)]
    usage: Option<Usage>,
    #[serde(default)]
    error: Option<serde_json::Value>,
    #[serde(default)]
    timings: Option<Timings>,
}

#[derive(Deserialize)]
struct RawChoice<'a> {
    /// `/v1/completions`.
    #[serde(default, borrow)]
    text: Option<Str<'a>>,
    /// `/v1/chat/completions`.
    #[serde(default, borrow)]
    delta: Option<RawDelta<'a>>,
    #[serde(default, borrow)]
    finish_reason: Option<Str<'a>>,
}

#[derive(Deserialize)]
struct RawDelta<'a> {
    #[serde(default, borrow)]
    content: Option<Str<'a>>,
    /// Reasoning models stream generated tokens here before `content` (vLLM, llama.cpp).
    #[serde(default, borrow)]
    reasoning_content: Option<Str<'a>>,
    #[serde(default, borrow)]
    reasoning: Option<Str<'a>>,
}

/// A JSON string, borrowed from the input unless it holds an escape.
struct Str<'a>(std::borrow::Cow<'a, str>);

impl<'de: 'a, 'a> Deserialize<'de> for Str<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Str<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Str<'de>, E> {
                Ok(Str(std::borrow::Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Str<'de>, E> {
                Ok(Str(std::borrow::Cow::Owned(v.to_owned())))
            }
            fn visit_string<E>(self, v: String) -> Result<Str<'de>, E> {
                Ok(Str(std::borrow::Cow::Owned(v)))
            }
        }
        d.deserialize_str(V)
    }
}

/// What the choices of one chunk carry: their text in order (each choice's `text`, then
/// its delta's `reasoning_content`, `reasoning` and `content`), and whether any finished.
#[derive(Default)]
struct Choices {
    text: String,
    finished: bool,
}

/// A data event with neither `choices` nor `usage`: not an OpenAI-compatible chunk. The
/// usual cause is a `--url` without its `/v1` (llama.cpp's server then answers on its own
/// native `/completions`, whose chunks have `content` and no `choices`).
pub const NOT_OPENAI: &str = "no `choices` and no `usage`: not an OpenAI-compatible chunk \
                              (does --url end in /v1, e.g. http://127.0.0.1:8080/v1?)";

/// `choices` (an array, or null) folded into [`Choices`] as it is read.
fn fold_choices<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Choices>, D::Error> {
    struct Seq;
    impl<'de> serde::de::Visitor<'de> for Seq {
        type Value = Choices;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a sequence") // serde's own words for a Vec
        }
        fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Choices, A::Error> {
            let mut out = Choices::default();
            while let Some(c) = seq.next_element::<RawChoice<'de>>()? {
                let delta = c
                    .delta
                    .map(|d| [d.reasoning_content, d.reasoning, d.content]);
                for t in std::iter::once(c.text)
                    .chain(delta.into_iter().flatten())
                    .flatten()
                {
                    if out.text.is_empty() {
                        out.text = t.0.into_owned(); // the common case: one piece, one copy
                    } else {
                        out.text.push_str(&t.0);
                    }
                }
                out.finished |= c.finish_reason.is_some();
            }
            Ok(out)
        }
    }
    struct Opt;
    impl<'de> serde::de::Visitor<'de> for Opt {
        type Value = Option<Choices>;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("an array of choices or null")
        }
        fn visit_none<E>(self) -> Result<Option<Choices>, E> {
            Ok(None)
        }
        fn visit_unit<E>(self) -> Result<Option<Choices>, E> {
            Ok(None)
        }
        fn visit_some<D2: serde::Deserializer<'de>>(
            self,
            d: D2,
        ) -> Result<Option<Choices>, D2::Error> {
            d.deserialize_seq(Seq).map(Some)
        }
    }
    d.deserialize_option(Opt)
}

/// Decodes one event.
pub fn decode(event: &Event) -> Chunk {
    decode_data(event.event.as_deref(), &event.data)
}

/// Decodes one event given its name (`event:` field) and data, as
/// [`Parser::feed_with`] hands them.
pub fn decode_data(name: Option<&str>, data: &str) -> Chunk {
    let data = data.trim();
    if data == "[DONE]" {
        return Chunk::Done;
    }
    if name != Some("error") {
        if let Some((text, finished)) = fast::scan(data) {
            return Chunk::Data {
                text,
                finished,
                usage: None,
            };
        }
    }
    let mut raw: RawChunk = match serde_json::from_str(data) {
        Ok(r) => r,
        Err(e) => {
            let head: String = data.chars().take(80).collect();
            return Chunk::Malformed(format!("{e} in {head:?}"));
        }
    };
    if let Some(t) = raw.timings {
        t.fold_into(&mut raw.usage);
    }
    if let Some(err) = raw.error {
        return Chunk::Error(error_message(&err));
    }
    if name == Some("error") {
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
        return Chunk::Malformed(NOT_OPENAI.into());
    };
    Chunk::Data {
        text: choices.text,
        finished: choices.finished,
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
    fn a_native_llama_cpp_chunk_hints_at_the_missing_v1() {
        // llama.cpp's own /completions (a --url without /v1) streams `content` chunks.
        let c = decode(&data(r#"{"content":" hi","stop":false,"id_slot":0}"#));
        assert!(
            matches!(c, Chunk::Malformed(ref m) if m.contains("/v1")),
            "{c:?}"
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

    /// The decoder before the borrowed parse (owned strings, choices collected into a Vec),
    /// kept as the reference the borrowed one must agree with.
    mod reference {
        use super::super::{error_message, Chunk, Timings, Usage};
        use serde::Deserialize;

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
            #[serde(default)]
            text: Option<String>,
            #[serde(default)]
            delta: Option<RawDelta>,
            #[serde(default)]
            finish_reason: Option<String>,
        }

        #[derive(Deserialize)]
        struct RawDelta {
            #[serde(default)]
            content: Option<String>,
            #[serde(default)]
            reasoning_content: Option<String>,
            #[serde(default)]
            reasoning: Option<String>,
        }

        pub fn decode(name: Option<&str>, data: &str) -> Chunk {
            let data = data.trim();
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
            // The folding of llama.cpp's timings and error objects is shared: what this
            // reference checks is the borrowed, folded parsing path, not those.
            if let Some(t) = raw.timings {
                t.fold_into(&mut raw.usage);
            }
            if let Some(err) = raw.error {
                return Chunk::Error(error_message(&err));
            }
            if name == Some("error") {
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
                return Chunk::Malformed(super::NOT_OPENAI.into());
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
    }

    /// Tricky chunks: escapes (borrowing impossible), unicode and surrogate pairs, several
    /// choices and reasoning fields, usage-only, role-only, null choices, wrong types,
    /// duplicate keys, `[DONE]`, errors, and what is not JSON.
    const TRICKY: &[&str] = &[
        r#"{"choices":[{"index":0,"text":" alpha","finish_reason":null}]}"#,
        r#"{"choices":[{"index":0,"text":"a\"b\\c\nd\u00e9\ud83d\ude00","finish_reason":"length"}]}"#,
        r#"{"choices":[{"delta":{"content":"héllo 世界 🙂"}}]}"#,
        r#"{"choices":[{"delta":{"reasoning_content":"think","content":"\t"}},{"text":"x","delta":{"reasoning":"r"}}]}"#,
        r#"{"choices":[{"delta":{"role":"assistant"},"finish_reason":null}]}"#,
        r#"{"choices":[],"usage":{"prompt_tokens":5,"completion_tokens":7,"total_tokens":12}}"#,
        r#"{"choices":null,"usage":{"prompt_tokens":5}}"#,
        r#"{"usage":{"completion_tokens":3,"prompt_tokens_details":{"cached_tokens":2}}}"#,
        r#"{"choices":[{"text":"","finish_reason":"stop"}],"timings":{"cache_n":3,"prompt_ms":1.5,"predicted_ms":2.25,"predicted_n":4}}"#,
        r#"{"choices":[{"text":5}]}"#,
        r#"{"choices":[{"text":"a","finish_reason":7}]}"#,
        r#"{"choices":[null]}"#,
        r#"{"choices":{"text":"a"}}"#,
        r#"{"choices":[{"text":"a"}],"choices":[{"text":"b"}]}"#,
        r#"{"choices":[{"text":"a","text":"b"}]}"#,
        r#"{"error":{"message":"boom","code":500}}"#,
        r#"{"error":"plain"}"#,
        r#"{"choices":[{"text":"a\ud800"}]}"#,
        "  [DONE]  ",
        "[DONE]",
        "{not json",
        "{}",
        "",
        r#"{"choices":[{"text":"a"}]} trailing"#,
    ];

    /// Chunks aimed at the fast scan: what it must accept, and the near misses it must
    /// leave to serde (or decide exactly as serde does).
    const NEAR_MISSES: &[&str] = &[
        r#"{"id":"cmpl-1","object":"text_completion","created":1732900000,"model":"m","choices":[{"index":0,"text":" hi","logprobs":null,"finish_reason":null}]}"#,
        r#" { "choices" : [ { "text" : "a" , "finish_reason" : "stop" } ] , "x" : -0.5e+3 } "#,
        r#"{"choices":[{"finish_reason":null,"delta":{"content":"c","role":"assistant"},"text":"t"}]}"#,
        r#"{"choices":[{"delta":null}]}"#,
        r#"{"choices":[{"delta":{}}]}"#,
        r#"{"choices":[{}]}"#,
        r#"{"choices":[]}"#,
        r#"{"choices":[{"text":"a"}],"x":01}"#,
        r#"{"choices":[{"text":"a"}],"x":1.}"#,
        r#"{"choices":[{"text":"a"}],"x":1e}"#,
        r#"{"choices":[{"text":"a"}],"x":-}"#,
        r#"{"choices":[{"text":"a"}],"x":+1}"#,
        r#"{"choices":[{"text":"a"}],"x":tru}"#,
        r#"{"choices":[{"text":"a"}],"x":[1,2]}"#,
        r#"{"choices":[{"text":"a","logprobs":{"tokens":["a"]}}]}"#,
        r#"{"choices":[{"text":"a"},]}"#,
        r#"{"choices":[{"text":"a",}]}"#,
        r#"{"choices":[{"text":"a"}],}"#,
        r#"{"choices":[{"text":"a"}]"#,
        r#"{"choices":[{"text":"a"}]}}"#,
        "{\"choices\":[{\"text\":\"a\u{1}\"}]}",
        "{\"choices\":[{\"text\":\"tab\there\"}]}",
        r#"{"choi\u0063es":[{"text":"a"}]}"#,
        r#"{"choices":[{"delta":{"content":"a","content":"b"}}]}"#,
        r#"{"choices":[{"delta":{"content":"a"},"delta":{"content":"b"}}]}"#,
        r#"{"choices":[{"finish_reason":"a","finish_reason":null}]}"#,
        r#"{"choices":[{"text":"a"}],"usage":null}"#,
        r#"{"choices":[{"text":"a"}],"error":null}"#,
        r#"{"x":1}"#,
        r#"{"choices":[{"text":null,"delta":{"content":null,"reasoning":"r"}}]}"#,
        r#"["choices"]"#,
        r#"{"choices":[{"text":"é\u00e9"}]}"#,
    ];

    #[test]
    fn fast_scan_takes_the_common_chunks_and_agrees_with_serde_everywhere() {
        for common in [
            r#"{"object":"text_completion","choices":[{"index":0,"text":" alpha","finish_reason":null}]}"#,
            r#"{"object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":" a"},"finish_reason":"length"}]}"#,
            r#"{"choices":[{"index":0,"delta":{"role":"assistant"},"finish_reason":null}]}"#,
        ] {
            assert!(fast::scan(common).is_some(), "{common}");
        }
        for data in NEAR_MISSES.iter().chain(TRICKY) {
            let data = data.trim();
            if let Some((text, finished)) = fast::scan(data) {
                let fast = Chunk::Data {
                    text,
                    finished,
                    usage: None,
                };
                assert_eq!(fast, reference::decode(None, data), "{data}");
            }
            assert_eq!(
                decode_data(None, data),
                reference::decode(None, data),
                "{data}"
            );
        }
    }

    #[test]
    fn borrowed_decode_agrees_with_the_owned_serde_path() {
        for data in TRICKY {
            for name in [None, Some("error"), Some("message")] {
                assert_eq!(
                    decode_data(name, data),
                    reference::decode(name, data),
                    "{name:?} {data}"
                );
            }
        }
    }

    #[test]
    fn events_fed_in_pieces_decode_as_when_whole() {
        // Every tricky event split at every byte: the same events, decoded the same.
        for data in TRICKY.iter().filter(|d| !d.is_empty()) {
            let bytes = format!("data: {data}\n\n").into_bytes();
            for cut in 0..=bytes.len() {
                let mut p = Parser::new();
                let mut got = Vec::new();
                for part in [&bytes[..cut], &bytes[cut..]] {
                    p.feed_with(part, |name, d| got.push(decode_data(name, d)));
                }
                p.finish_with(|name, d| got.push(decode_data(name, d)));
                assert_eq!(
                    got,
                    [reference::decode(None, data.trim())],
                    "{data} cut at {cut}"
                );
            }
        }
    }

    proptest! {
        /// Anything made of JSON's punctuation and the chunk's words decodes exactly as
        /// serde's path decodes it, whether the fast scan takes it or not.
        #[test]
        fn jsonish_noise_decodes_as_the_owned_path_does(
            parts in prop::collection::vec(prop::sample::select(vec![
                "{", "}", "[", "]", ",", ":", " ", "\"choices\"", "\"text\"", "\"delta\"",
                "\"content\"", "\"finish_reason\"", "\"index\"", "null", "true", "0",
                "-1.5e3", "01", "\"a\"", "\"\\n\"", "\"é\"", "\"usage\"", "\"x\"",
            ]), 0..24),
        ) {
            let data: String = parts.concat();
            prop_assert_eq!(decode_data(None, &data), reference::decode(None, &data));
        }

        /// Completion chunks with arbitrary strings (any escapes, any unicode) decode the
        /// same through the borrowed path as through the owned one.
        #[test]
        fn any_text_decodes_as_the_owned_path_does(
            texts in prop::collection::vec(any::<String>(), 0..4),
            chat in any::<bool>(),
            finish in prop::option::of("[a-z]{0,6}"),
        ) {
            let choices: Vec<serde_json::Value> = texts
                .iter()
                .map(|t| {
                    let mut c = if chat {
                        serde_json::json!({"index": 0, "delta": {"content": t}})
                    } else {
                        serde_json::json!({"index": 0, "text": t})
                    };
                    c["finish_reason"] = finish.clone().map_or(serde_json::Value::Null, Into::into);
                    c
                })
                .collect();
            let data = serde_json::json!({"object": "x", "choices": choices}).to_string();
            prop_assert_eq!(decode_data(None, &data), reference::decode(None, &data));
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

    /// A server with a draft model (`--model-draft`) adds `draft_n` / `draft_n_accepted`
    /// to its last chunk's `timings` (llama.cpp's tools/server/server-common.cpp); a plain
    /// server leaves them out, and so does the usage.
    #[test]
    fn draft_counts_from_llama_timings() {
        let drafts = |json: &str| match decode(&data(json)) {
            Chunk::Data { usage, .. } => usage.map(|u| (u.server_draft_n, u.server_draft_accepted)),
            other => panic!("{other:?}"),
        };
        assert_eq!(
            drafts(
                r#"{"choices":[{"text":"","finish_reason":"length"}],"timings":{"cache_n":0,"prompt_ms":3.5,"predicted_n":16,"draft_n":20,"draft_n_accepted":13}}"#
            ),
            Some((Some(20), Some(13)))
        );
        assert_eq!(
            drafts(r#"{"choices":[],"timings":{"cache_n":0,"prompt_ms":3.5}}"#),
            Some((None, None))
        );
        // Only the counts: still folded into a usage of their own.
        assert_eq!(
            drafts(r#"{"choices":[],"timings":{"draft_n":4,"draft_n_accepted":0}}"#),
            Some((Some(4), Some(0)))
        );
    }
}
