//! What one request produced: its timed pieces of text, the server's usage, and, when it
//! failed, exactly why.

use std::sync::OnceLock;
use std::time::Instant;

use crate::client::sse::Usage;

/// Why a request failed; the strings are the `error` field of `RequestRecord`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ErrorKind {
    /// No connection (refused, unreachable, DNS).
    Connect,
    /// The per-request timeout expired first (includes slow-loris responses).
    Timeout,
    Http4xx,
    Http5xx,
    /// A non-2xx status that is neither 4xx nor 5xx.
    HttpOther,
    /// An event that is not a JSON completion chunk.
    MalformedSse,
    /// The server sent an error object inside the stream.
    StreamError,
    /// The connection broke before `[DONE]` or a `finish_reason`.
    ClosedMidStream,
    /// A transport error while reading the body.
    Read,
    /// The stream completed but carried no generated text.
    NoOutput,
    /// A 2xx answer that is one JSON document, not an event stream.
    NotStreaming,
    /// A 2xx answer with no body at all.
    EmptyBody,
    /// The body ended cleanly, but without `[DONE]` or a `finish_reason`.
    NoDone,
    /// More tokens than `max_tokens` asked for.
    TooManyTokens,
    /// Fewer tokens than asked for although EOS was to be ignored.
    TooFewTokens,
    /// The server's `usage.completion_tokens` and our count of the text disagree grossly.
    UsageMismatch,
    /// The task running the request panicked (a bug in the client, counted, not lost).
    Panic,
}

impl ErrorKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Connect => "connect",
            ErrorKind::Timeout => "timeout",
            ErrorKind::Http4xx => "http_4xx",
            ErrorKind::Http5xx => "http_5xx",
            ErrorKind::HttpOther => "http_other",
            ErrorKind::MalformedSse => "malformed_sse",
            ErrorKind::StreamError => "stream_error",
            ErrorKind::ClosedMidStream => "closed_mid_stream",
            ErrorKind::Read => "read_error",
            ErrorKind::NoOutput => "no_output",
            ErrorKind::NotStreaming => "not_streaming",
            ErrorKind::EmptyBody => "empty_body",
            ErrorKind::NoDone => "no_done",
            ErrorKind::TooManyTokens => "too_many_tokens",
            ErrorKind::TooFewTokens => "too_few_tokens",
            ErrorKind::UsageMismatch => "usage_mismatch",
            ErrorKind::Panic => "panic",
        }
    }
}

/// A failed request: its kind and a short message for the first-errors list.
#[derive(Debug, Clone, PartialEq)]
pub struct Failure {
    pub kind: ErrorKind,
    pub detail: String,
}

/// A piece of generated text and when the read that carried it returned.
#[derive(Debug, Clone, PartialEq)]
pub struct Piece {
    pub at: Instant,
    pub text: String,
}

/// Called once, as the first piece of text of a request arrives: how a caller that must
/// act on the first token at once (MLPerf LoadGen's `FirstTokenComplete`) hears of it.
#[derive(Clone, Default)]
pub struct FirstPiece(pub Option<std::sync::Arc<dyn Fn() + Send + Sync>>);

impl std::fmt::Debug for FirstPiece {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() {
            "FirstPiece(set)"
        } else {
            "FirstPiece(none)"
        })
    }
}

/// Everything observed about one request, raw: the metrics are computed later, off the
/// hot path.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// Index of the request in the workload.
    pub index: usize,
    /// Open loop: when it should have been sent.
    pub scheduled: Option<Instant>,
    /// Open loop: when the dispatcher woke up for it (before any in-flight cap wait).
    pub dispatched: Option<Instant>,
    /// Right before the request was handed to the HTTP client.
    pub sent: Instant,
    pub first_byte: Option<Instant>,
    /// Only events that carried text (a role-only or usage-only chunk is not a token).
    pub pieces: Vec<Piece>,
    /// Every SSE event received, with or without text.
    pub events: u32,
    /// `[DONE]` arrival, else the end of the body, else when it failed.
    pub end: Instant,
    pub usage: Option<Usage>,
    pub status: Option<u16>,
    pub failure: Option<Failure>,
    /// `[DONE]` or a `finish_reason` was seen.
    pub complete: bool,
    /// Times the request was sent again after a reused connection closed under it.
    pub retries: u32,
    /// Told when the first piece arrives (unset for load runs).
    pub on_first_piece: FirstPiece,
    /// Our tokenizer's count of the whole text, made once the stream is over (checking
    /// the response and building its record both need it; tokenizing is the costliest
    /// step of a load run after the network's).
    our_tokens: OnceLock<Option<u64>>,
}

impl Outcome {
    pub fn new(index: usize, sent: Instant) -> Self {
        Outcome {
            index,
            scheduled: None,
            dispatched: None,
            sent,
            first_byte: None,
            pieces: Vec::new(),
            events: 0,
            end: sent,
            usage: None,
            status: None,
            failure: None,
            complete: false,
            retries: 0,
            on_first_piece: FirstPiece::default(),
            our_tokens: OnceLock::new(),
        }
    }
    pub fn ok(&self) -> bool {
        self.failure.is_none()
    }
    pub fn text(&self) -> String {
        self.pieces.iter().map(|p| p.text.as_str()).collect()
    }
    /// `count(text)`, computed on the first call only: call it when no piece is to come
    /// (the stream is over), with the same tokenizer every time.
    pub fn text_tokens(&self, count: impl FnOnce(&str) -> Option<u64>) -> Option<u64> {
        *self.our_tokens.get_or_init(|| count(&self.text()))
    }
}
