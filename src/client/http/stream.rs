//! Reading a streamed answer: its body from either client, each piece timed where it
//! arrived (`stamped`'s kernel receive time, or when reqwest's read returned), parsed into
//! events and applied to the request's `Outcome`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::BodyExt;
use reqwest::header::{HeaderMap, CONTENT_TYPE};

use super::super::sse::{self, Chunk};
use super::{error_chain, stamped, ErrorKind, Failure, Outcome, Piece};

/// A response head and the body still to read, from either client.
pub(super) struct Response {
    pub(super) status: reqwest::StatusCode,
    /// `Content-Type: application/json`: one document, not an event stream.
    pub(super) json: bool,
    pub(super) body: Body,
}

/// A body being read, and how its pieces are timed.
pub(super) enum Body {
    /// reqwest's: each piece timed when its read returns.
    Read(reqwest::Response),
    /// hyper's over `stamped` connections: each piece timed by when it reached the machine.
    Stamped {
        body: hyper::body::Incoming,
        landings: Option<Arc<stamped::Landings>>,
    },
}

/// Why the body could not be read on.
struct ReadError {
    timeout: bool,
    detail: String,
}

impl Body {
    /// The next piece of the body and when it arrived; `None` at its end.
    async fn chunk(&mut self) -> Result<Option<(Bytes, Instant)>, ReadError> {
        match self {
            Body::Read(r) => {
                let next = r.chunk().await;
                // The timestamp of everything in this read: taken before any parsing.
                let at = Instant::now();
                next.map(|c| c.map(|b| (b, at))).map_err(|e| ReadError {
                    timeout: e.is_timeout(),
                    detail: error_chain(&e),
                })
            }
            Body::Stamped { body, landings } => loop {
                let next = body.frame().await;
                let now = Instant::now();
                match next {
                    None => return Ok(None),
                    Some(Err(e)) => {
                        return Err(ReadError {
                            timeout: e.is_timeout(),
                            detail: error_chain(&e),
                        })
                    }
                    Some(Ok(frame)) => {
                        if let Ok(data) = frame.into_data() {
                            let landed = landings.as_deref().and_then(|l| l.at(&data));
                            return Ok(Some((data, landed.map_or(now, |t| t.min(now)))));
                        }
                        // Trailers: nothing to time, read on.
                    }
                }
            },
        }
    }

    /// Up to `limit` bytes of the rest of the body as text, read within `timeout` (for a
    /// failure's message).
    pub(super) async fn peek(mut self, limit: usize, timeout: Duration) -> String {
        let mut buf = Vec::new();
        let read = async {
            while buf.len() < limit {
                match self.chunk().await {
                    Ok(Some((b, _))) => buf.extend_from_slice(&b),
                    _ => break,
                }
            }
        };
        let _ = tokio::time::timeout(timeout, read).await;
        String::from_utf8_lossy(&buf[..buf.len().min(limit)]).into_owned()
    }
}

/// Reads a streamed body to its end, timing every piece where it arrived.
// Long: one loop over the reads of a body, each exit a distinct failure kind
pub(super) async fn read_stream(resp: Response, out: &mut Outcome) -> Result<(), Failure> {
    if resp.json {
        return Err(not_streaming(resp.body).await);
    }
    let mut body = resp.body;
    let mut parser = sse::Parser::new();
    let mut st = Applied::default();
    loop {
        let next = if st.done {
            // After [DONE] the body should end at once; read on briefly so the
            // connection goes back to the pool, but never wait on a server that does not
            // close it.
            match tokio::time::timeout(Duration::from_secs(1), body.chunk()).await {
                Ok(r) => r,
                Err(_) => return Ok(()),
            }
        } else {
            body.chunk().await
        };
        let eof = match next {
            Ok(Some((bytes, at))) => {
                out.first_byte.get_or_insert(at);
                parser.feed_with(&bytes, |name, data| st.apply(name, data, at, out));
                if parser.pending_len() > MAX_EVENT_BYTES {
                    return Err(Failure {
                        kind: ErrorKind::MalformedSse,
                        detail: format!(
                            "an event grew past {} MiB without ending",
                            MAX_EVENT_BYTES >> 20
                        ),
                    });
                }
                false
            }
            Ok(None) => {
                let at = Instant::now();
                parser.finish_with(|name, data| st.apply(name, data, at, out));
                true
            }
            Err(e) => {
                if st.done || out.complete {
                    return Ok(());
                }
                return Err(Failure {
                    kind: if e.timeout {
                        ErrorKind::Timeout
                    } else {
                        ErrorKind::ClosedMidStream
                    },
                    detail: e.detail,
                });
            }
        };
        if let Some(f) = st.failed.take() {
            return Err(f);
        }
        if eof {
            if out.complete {
                return Ok(());
            }
            if parser.bytes_seen == 0 {
                return Err(Failure {
                    kind: ErrorKind::EmptyBody,
                    detail: format!("HTTP {} with an empty body", out.status.unwrap_or(0)),
                });
            }
            return Err(Failure {
                kind: ErrorKind::NoDone,
                detail: format!(
                    "the stream ended after {} events without [DONE] or a finish_reason",
                    out.events
                ),
            });
        }
    }
}

/// Largest event the client holds (an endless line is a broken server, not a token).
const MAX_EVENT_BYTES: usize = 4 << 20;

/// The answer says it is one JSON document (`Content-Type: application/json`).
pub(super) fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim_start().starts_with("application/json"))
}

/// A `not_streaming` failure with a short look at the JSON answer (bounded in time).
async fn not_streaming(body: Body) -> Failure {
    let body = body.peek(120, Duration::from_secs(2)).await;
    Failure {
        kind: ErrorKind::NotStreaming,
        detail: format!(
            "the server answered with one JSON document, not an event stream (is `stream` \
             ignored?): {}",
            body.trim()
        ),
    }
}

/// Where the events of a stream have got to: `[DONE]` seen, or the failure an event
/// caused (events after either are not applied).
#[derive(Default)]
struct Applied {
    done: bool,
    failed: Option<Failure>,
}

impl Applied {
    fn apply(&mut self, name: Option<&str>, data: &str, at: Instant, out: &mut Outcome) {
        if self.done || self.failed.is_some() {
            return;
        }
        match apply_event(name, data, at, out) {
            Ok(done) => self.done = done,
            Err(f) => self.failed = Some(f),
        }
    }
}

/// Records one event (its name and data) read at `at`; true when it was `[DONE]`.
fn apply_event(
    name: Option<&str>,
    data: &str,
    at: Instant,
    out: &mut Outcome,
) -> Result<bool, Failure> {
    out.events += 1;
    match sse::decode_data(name, data) {
        Chunk::Done => {
            out.complete = true;
            out.end = at;
            Ok(true)
        }
        Chunk::Data {
            text,
            finished,
            usage,
        } => {
            if !text.is_empty() {
                if out.pieces.is_empty() {
                    if let Some(f) = &out.on_first_piece.0 {
                        f();
                    }
                }
                out.pieces.push(Piece { at, text });
            }
            if finished {
                out.complete = true;
            }
            if let Some(u) = usage {
                out.usage = Some(out.usage.map_or(u, |old| old.merged(u)));
            }
            out.end = at;
            Ok(false)
        }
        Chunk::Error(m) => Err(Failure {
            kind: ErrorKind::StreamError,
            detail: m,
        }),
        Chunk::Malformed(m) => Err(Failure {
            kind: ErrorKind::MalformedSse,
            detail: m,
        }),
    }
}
