//! A test double: an OpenAI-compatible streaming server on 127.0.0.1 whose timing and
//! faults are set by the caller (delay to the first token, delay between events, tokens
//! per event, HTTP errors, malformed SSE, a connection closed mid-stream, a slow-loris
//! body). It exists to check the client's maths against known delays (tests/load.rs) and
//! to measure the client's own overhead against a server that streams as fast as it can
//! (`examples/sse_stub.rs`, `scripts/bench-load-client.sh`). It is not a model server: its
//! "tokens" are fixed words. Plain HTTP/1.1 over tokio, chunked transfer encoding,
//! keep-alive. Depends on nothing of ours.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader, BufWriter};
use tokio::net::{TcpListener, TcpStream};

/// What goes wrong, on purpose.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Fault {
    #[default]
    None,
    /// Answer every request with this HTTP status and a JSON error body.
    Status(u16),
    /// After this many text events, send an event that is not JSON.
    MalformedAfter(usize),
    /// After this many text events, close the connection (no terminating chunk).
    CloseAfter(usize),
    /// After this many text events, send an OpenAI error object in the stream.
    ErrorAfter(usize),
    /// Send the headers, then one keep-alive comment byte every this many ms, forever.
    SlowLoris(u64),
    /// End the body cleanly but without `[DONE]` or a `finish_reason`.
    NoDone,
    /// Complete every response, then close the connection without `Connection: close`
    /// (what llama.cpp's server does after a streamed response): the client's next request
    /// on that kept-alive connection meets a closed socket.
    CloseAfterResponse,
    /// Answer the first request of each connection; close the connection, unanswered, when
    /// another request arrives on it: every kept-alive connection is stale, whenever it is
    /// reused.
    CloseOnReuse,
    /// Read the request, then never answer (no status line, no headers).
    HangBeforeHeaders,
    /// A 200 event-stream answer whose body is empty.
    EmptyBody,
    /// A 200 answer that is one JSON completion (the server ignored `stream`).
    NotStreaming,
    /// One `data:` line of this many bytes that never ends.
    Oversized(usize),
    /// All the text in one event, this many words whatever `max_tokens` says, no `usage`.
    FloodOneEvent(usize),
}

/// The stub's own tokenizer, served at `/tokenize` and `/detokenize` (404 when `None`).
/// Its tokens are words, a word over 6 letters split after its 4th ("▁abcd" + "efg"), so
/// cutting a token window at a word's middle and re-tokenizing its text can change the
/// count, as with a real subword vocabulary.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Tokenize {
    #[default]
    None,
    /// llama.cpp's shapes; adds no special token.
    LlamaCpp,
    /// vLLM's shapes (`count`, `tokens`; `prompt` back); adds a BOS token by default.
    Vllm,
    /// A 200 answer whose body is not JSON.
    Malformed,
    /// vLLM's shapes with a `count` one above the tokens listed.
    CountMismatch,
    /// llama.cpp's shapes, but every text counts an odd number of tokens: an even length
    /// can never be met.
    OddCounts,
}

/// How the stub streams.
#[derive(Debug, Clone)]
pub struct Config {
    /// Delay from the end of the request to the first text event.
    pub ttft: Duration,
    /// Delay between text events.
    pub itl: Duration,
    /// Tokens (words) per text event.
    pub tokens_per_chunk: usize,
    /// Output length when the request has no `max_tokens`.
    pub default_tokens: usize,
    /// Send `usage` at the end when `stream_options.include_usage` is set.
    pub usage: bool,
    /// Put a `: keep-alive` comment before every event.
    pub comments: bool,
    /// Write each event in two halves with a flush between (events split across reads).
    pub split_events: bool,
    /// Use CRLF line ends in the SSE body.
    pub crlf: bool,
    pub fault: Fault,
    pub tokenize: Tokenize,
    /// Each text event's text is ` t<ns>`: this host's CLOCK_MONOTONIC (the clock of
    /// Rust's `Instant` on Linux), in ns, right before the event is written, so a client's
    /// timestamps can be checked against the true send times (`examples/itl_error.rs`).
    pub stamp: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            ttft: Duration::ZERO,
            itl: Duration::ZERO,
            tokens_per_chunk: 1,
            default_tokens: 16,
            usage: true,
            comments: false,
            split_events: false,
            crlf: false,
            fault: Fault::None,
            tokenize: Tokenize::None,
            stamp: false,
        }
    }
}

/// A running stub; stops when dropped.
pub struct Server {
    pub addr: std::net::SocketAddr,
    /// Completion requests received so far.
    pub requests: Arc<AtomicUsize>,
    /// Their JSON bodies, in arrival order (what the client sent: prompts, histories).
    pub bodies: Arc<std::sync::Mutex<Vec<serde_json::Value>>>,
    /// Completion requests marked as the client's handshake probe (`x-trtbench-probe`),
    /// answered as any other but neither counted in `requests` nor kept in `bodies`.
    pub probes: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

/// A stub on a free port, served by a runtime of its own (two worker threads), for tests
/// that drive it from another process or thread (the CLI, a blocking client). The server
/// lives as long as the returned runtime.
pub fn in_background(config: Config) -> (tokio::runtime::Runtime, Server) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let server = rt.block_on(Server::start(config, 0)).unwrap();
    (rt, server)
}

impl Server {
    /// Starts a stub on 127.0.0.1 (`port` 0 picks a free one).
    pub async fn start(config: Config, port: u16) -> std::io::Result<Server> {
        let listener = TcpListener::bind(("127.0.0.1", port)).await?;
        let addr = listener.local_addr()?;
        let requests = Arc::new(AtomicUsize::new(0));
        let config = Arc::new(config);
        let counter = requests.clone();
        let bodies = Arc::new(std::sync::Mutex::new(Vec::new()));
        let probes = Arc::new(AtomicUsize::new(0));
        let tally = Tally {
            requests: counter,
            bodies: bodies.clone(),
            probes: probes.clone(),
        };
        let task = tokio::spawn(async move {
            let mut conns = tokio::task::JoinSet::new();
            loop {
                tokio::select! {
                    accepted = listener.accept() => {
                        let Ok((stream, _)) = accepted else { continue };
                        let _ = stream.set_nodelay(true);
                        conns.spawn(serve(stream, config.clone(), tally.clone()));
                    }
                    Some(_) = conns.join_next(), if !conns.is_empty() => {}
                }
            }
        });
        Ok(Server {
            addr,
            requests,
            bodies,
            probes,
            task,
        })
    }

    /// Base URL (`http://127.0.0.1:PORT/v1`).
    pub fn url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    /// Runs until the task ends (for the example binary).
    pub async fn wait(mut self) {
        let _ = (&mut self.task).await;
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// What the stub counts of what it was sent.
#[derive(Clone)]
struct Tally {
    requests: Arc<AtomicUsize>,
    bodies: Arc<std::sync::Mutex<Vec<serde_json::Value>>>,
    probes: Arc<AtomicUsize>,
}

pub(super) struct Request {
    pub(super) method: String,
    pub(super) path: String,
    pub(super) body: Vec<u8>,
    /// Sent with `x-trtbench-probe`: the client's handshake, not a measured request.
    pub(super) probe: bool,
}

pub(super) async fn read_request(
    r: &mut BufReader<tokio::net::tcp::OwnedReadHalf>,
) -> Option<Request> {
    let mut line = String::new();
    if r.read_line(&mut line).await.ok()? == 0 {
        return None;
    }
    let mut parts = line.split_whitespace();
    let method = parts.next()?.to_owned();
    let path = parts.next()?.to_owned();
    let mut len = 0usize;
    let mut probe = false;
    loop {
        line.clear();
        if r.read_line(&mut line).await.ok()? == 0 {
            return None;
        }
        let l = line.trim_end();
        if l.is_empty() {
            break;
        }
        if let Some((k, v)) = l.split_once(':') {
            if k.trim().eq_ignore_ascii_case("content-length") {
                len = v.trim().parse().ok()?;
            }
            probe |= k.trim().eq_ignore_ascii_case("x-trtbench-probe");
        }
    }
    let mut body = vec![0u8; len.min(16 << 20)];
    r.read_exact(&mut body).await.ok()?;
    Some(Request {
        method,
        path,
        body,
        probe,
    })
}

async fn serve(stream: TcpStream, cfg: Arc<Config>, tally: Tally) {
    let (rd, wr) = stream.into_split();
    let mut rd = BufReader::new(rd);
    let mut wr = BufWriter::with_capacity(16 * 1024, wr);
    let mut answered = 0;
    while let Some(req) = read_request(&mut rd).await {
        if cfg.fault == Fault::CloseOnReuse && answered > 0 {
            return;
        }
        answered += 1;
        let ok = match (req.method.as_str(), req.path.as_str()) {
            ("GET", p) if p.ends_with("/models") => {
                json_response(
                    &mut wr,
                    200,
                    r#"{"object":"list","data":[{"id":"stub-model","object":"model"}]}"#,
                )
                .await
            }
            ("GET", "/health") => json_response(&mut wr, 200, r#"{"status":"ok"}"#).await,
            ("POST", p @ ("/tokenize" | "/detokenize")) if cfg.tokenize != Tokenize::None => {
                let (status, body) = tokenizer::answer(cfg.tokenize, p, &req.body);
                json_response(&mut wr, status, &body).await
            }
            ("POST", p) if p.ends_with("/completions") => {
                if req.probe {
                    tally.probes.fetch_add(1, Ordering::Relaxed);
                } else {
                    tally.requests.fetch_add(1, Ordering::Relaxed);
                    let body = serde_json::from_slice(&req.body).unwrap_or_default();
                    tally
                        .bodies
                        .lock()
                        .expect("no panics while holding it")
                        .push(body);
                }
                stream_completion(&mut wr, &cfg, &req).await
            }
            _ => json_response(&mut wr, 404, r#"{"error":{"message":"not found"}}"#).await,
        };
        if ok.is_err() {
            return;
        }
        if cfg.fault == Fault::CloseAfterResponse {
            // Close a little later, as a server thread finishing its cleanup does: the
            // client has already reused the connection by then.
            tokio::time::sleep(Duration::from_millis(30)).await;
            return;
        }
    }
}

async fn json_response<W: AsyncWriteExt + Unpin>(
    w: &mut W,
    status: u16,
    body: &str,
) -> std::io::Result<()> {
    let head = format!(
        "HTTP/1.1 {status} {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\
         Connection: keep-alive\r\n\r\n",
        reason(status),
        body.len()
    );
    w.write_all(head.as_bytes()).await?;
    w.write_all(body.as_bytes()).await?;
    w.flush().await
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        404 => "Not Found",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "Status",
    }
}

/// One HTTP chunk (chunked transfer encoding).
pub(super) async fn chunk<W: AsyncWriteExt + Unpin>(w: &mut W, data: &[u8]) -> std::io::Result<()> {
    w.write_all(format!("{:x}\r\n", data.len()).as_bytes())
        .await?;
    w.write_all(data).await?;
    w.write_all(b"\r\n").await
}

const WORDS: [&str; 8] = [
    " alpha", " bravo", " charlie", " delta", " echo", " foxtrot", " golf", " hotel",
];

/// What a request asked for.
struct Asked {
    chat: bool,
    max_tokens: usize,
    include_usage: bool,
    prompt_tokens: usize,
}

impl Asked {
    fn of(cfg: &Config, req: &Request) -> Asked {
        let body: serde_json::Value = serde_json::from_slice(&req.body).unwrap_or_default();
        Asked {
            chat: req.path.ends_with("/chat/completions"),
            max_tokens: body
                .get("max_tokens")
                .and_then(|v| v.as_u64())
                .map_or(cfg.default_tokens, |v| v as usize),
            include_usage: body
                .pointer("/stream_options/include_usage")
                .and_then(|v| v.as_bool())
                .unwrap_or(false),
            prompt_tokens: body
                .get("prompt")
                .and_then(|p| p.as_str())
                .or_else(|| body.pointer("/messages/0/content").and_then(|p| p.as_str()))
                .map_or(0, |p| match cfg.tokenize {
                    Tokenize::None => p.split_whitespace().count(),
                    mode => tokenizer::count(mode, p, true),
                }),
        }
    }
}

/// A fault that replaces the whole answer: `Some` is the end of the response.
async fn early_fault<W: AsyncWriteExt + Unpin>(
    w: &mut W,
    cfg: &Config,
    chat: bool,
) -> Option<std::io::Result<()>> {
    let head = b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\
                 Transfer-Encoding: chunked\r\nConnection: keep-alive\r\n\r\n";
    Some(match cfg.fault {
        Fault::Status(code) => {
            json_response(w, code, r#"{"error":{"message":"stub error","code":500}}"#).await
        }
        Fault::HangBeforeHeaders => std::future::pending().await,
        Fault::EmptyBody => match w.write_all(head).await {
            Ok(()) => finish(w).await,
            Err(e) => Err(e),
        },
        Fault::NotStreaming => {
            let body = if chat {
                r#"{"object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":" alpha"},"finish_reason":"length"}],"usage":{"prompt_tokens":1,"completion_tokens":1}}"#
            } else {
                r#"{"object":"text_completion","choices":[{"index":0,"text":" alpha","finish_reason":"length"}],"usage":{"prompt_tokens":1,"completion_tokens":1}}"#
            };
            json_response(w, 200, body).await
        }
        Fault::Oversized(bytes) => {
            let run = async {
                w.write_all(head).await?;
                chunk(w, b"data: {\"choices\":[{\"text\":\"").await?;
                let block = vec![b'a'; 64 * 1024];
                for _ in 0..bytes.div_ceil(block.len()) {
                    chunk(w, &block).await?;
                }
                w.flush().await?;
                std::future::pending::<()>().await;
                Ok(())
            };
            run.await
        }
        Fault::FloodOneEvent(words) => {
            let text: String = (0..words).map(|j| WORDS[j % WORDS.len()]).collect();
            let data = format!(
                r#"{{"object":"text_completion","choices":[{{"index":0,"text":"{text}","finish_reason":"length"}}]}}"#
            );
            let run = async {
                w.write_all(head).await?;
                chunk(w, format!("data: {data}\n\ndata: [DONE]\n\n").as_bytes()).await?;
                finish(w).await
            };
            run.await
        }
        _ => return None,
    })
}

/// A fault due before event `events`: `Some` ends the stream with its result.
async fn mid_stream_fault<W: AsyncWriteExt + Unpin>(
    w: &mut W,
    cfg: &Config,
    events: usize,
    event: impl Fn(&str) -> String,
) -> Option<std::io::Result<()>> {
    let sent = match cfg.fault {
        Fault::MalformedAfter(k) if events == k => {
            send(w, cfg.split_events, event("{this is not json")).await
        }
        Fault::ErrorAfter(k) if events == k => {
            let e =
                event(r#"{"error":{"message":"stub failure mid-stream","type":"server_error"}}"#);
            match send(w, cfg.split_events, e).await {
                Ok(()) => send(w, cfg.split_events, event("[DONE]")).await,
                Err(e) => Err(e),
            }
        }
        // Drop the connection without the terminating chunk.
        Fault::CloseAfter(k) if events == k => {
            return Some(Err(std::io::Error::other("closing mid-stream on purpose")))
        }
        _ => return None,
    };
    Some(match sent {
        Ok(()) => finish(w).await,
        Err(e) => Err(e),
    })
}

async fn stream_completion<W: AsyncWriteExt + Unpin>(
    w: &mut W,
    cfg: &Config,
    req: &Request,
) -> std::io::Result<()> {
    let Asked {
        chat,
        max_tokens,
        include_usage,
        prompt_tokens,
    } = Asked::of(cfg, req);
    if let Some(end) = early_fault(w, cfg, chat).await {
        return end;
    }
    w.write_all(
        b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n\
          Transfer-Encoding: chunked\r\nConnection: keep-alive\r\n\r\n",
    )
    .await?;
    w.flush().await?;
    let nl = if cfg.crlf { "\r\n" } else { "\n" };
    let event = |data: &str| {
        let c = if cfg.comments {
            format!(": keep-alive{nl}")
        } else {
            String::new()
        };
        format!("{c}data: {data}{nl}{nl}")
    };
    if let Fault::SlowLoris(every_ms) = cfg.fault {
        loop {
            tokio::time::sleep(Duration::from_millis(every_ms)).await;
            chunk(w, b":").await?;
            w.flush().await?;
        }
    }
    if chat {
        // Role-only first delta: not a token.
        send(
            w,
            cfg.split_events,
            event(r#"{"object":"chat.completion.chunk","choices":[{"index":0,"delta":{"role":"assistant"},"finish_reason":null}]}"#),
        )
        .await?;
    }
    // Absolute deadlines, so timer lateness (up to ~1 ms per sleep) does not accumulate.
    let first_at = tokio::time::Instant::now() + cfg.ttft;
    tokio::time::sleep_until(first_at).await;
    let per = cfg.tokens_per_chunk.max(1);
    let mut sent = 0usize;
    let mut events = 0usize;
    while sent < max_tokens {
        if let Some(end) = mid_stream_fault(w, cfg, events, event).await {
            return end;
        }
        if events > 0 {
            tokio::time::sleep_until(first_at + cfg.itl * events as u32).await;
        }
        let k = per.min(max_tokens - sent);
        let text: String = if cfg.stamp {
            format!(" t{}", monotonic_ns())
        } else {
            (0..k).map(|j| WORDS[(sent + j) % WORDS.len()]).collect()
        };
        sent += k;
        events += 1;
        let last = sent >= max_tokens && cfg.fault != Fault::NoDone;
        let finish_reason = if last { r#""length""# } else { "null" };
        let data = if chat {
            format!(
                r#"{{"object":"chat.completion.chunk","choices":[{{"index":0,"delta":{{"content":"{text}"}},"finish_reason":{finish_reason}}}]}}"#
            )
        } else {
            format!(
                r#"{{"object":"text_completion","choices":[{{"index":0,"text":"{text}","finish_reason":{finish_reason}}}]}}"#
            )
        };
        send(w, cfg.split_events, event(&data)).await?;
    }
    if cfg.fault == Fault::NoDone {
        return finish(w).await;
    }
    if include_usage && cfg.usage {
        let data = format!(
            r#"{{"choices":[],"usage":{{"prompt_tokens":{prompt_tokens},"completion_tokens":{sent},"total_tokens":{}}}}}"#,
            prompt_tokens + sent
        );
        send(w, cfg.split_events, event(&data)).await?;
    }
    send(w, cfg.split_events, event("[DONE]")).await?;
    finish(w).await
}

/// CLOCK_MONOTONIC in ns.
fn monotonic_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid timespec to write; CLOCK_MONOTONIC always exists on Linux.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// Writes one SSE event as one HTTP chunk, or as two with a flush between when `split`.
async fn send<W: AsyncWriteExt + Unpin>(w: &mut W, split: bool, ev: String) -> std::io::Result<()> {
    if split && ev.len() > 2 {
        let (a, b) = ev.as_bytes().split_at(ev.len() / 2);
        chunk(w, a).await?;
        w.flush().await?;
        chunk(w, b).await?;
    } else {
        chunk(w, ev.as_bytes()).await?;
    }
    w.flush().await
}

async fn finish<W: AsyncWriteExt + Unpin>(w: &mut W) -> std::io::Result<()> {
    w.write_all(b"0\r\n\r\n").await?;
    w.flush().await
}

/// The stub's `/tokenize` and `/detokenize` (see [`Tokenize`]).
mod tokenizer {
    use std::collections::HashMap;
    use std::sync::{Mutex, OnceLock};

    use serde_json::{json, Value};

    use super::Tokenize;

    /// Token strings by id and ids by string, shared by every stub of the process; id 0
    /// is the BOS token.
    type Table = (Vec<String>, HashMap<String, u64>);

    fn table() -> &'static Mutex<Table> {
        static T: OnceLock<Mutex<Table>> = OnceLock::new();
        T.get_or_init(|| Mutex::new((vec!["<s>".into()], HashMap::from([("<s>".into(), 0)]))))
    }

    fn pieces(text: &str) -> Vec<String> {
        let mut out = Vec::new();
        for w in text.split_whitespace() {
            let chars: Vec<char> = w.chars().collect();
            if chars.len() > 6 {
                out.push(format!("▁{}", chars[..4].iter().collect::<String>()));
                out.push(chars[4..].iter().collect());
            } else {
                out.push(format!("▁{w}"));
            }
        }
        out
    }

    fn ids(mode: Tokenize, text: &str, special: bool) -> Vec<u64> {
        let mut t = table().lock().unwrap();
        let mut out: Vec<u64> = Vec::new();
        if special && matches!(mode, Tokenize::Vllm | Tokenize::CountMismatch) {
            out.push(0);
        }
        for p in pieces(text) {
            let id = match t.1.get(&p) {
                Some(&id) => id,
                None => {
                    let id = t.0.len() as u64;
                    t.0.push(p.clone());
                    t.1.insert(p, id);
                    id
                }
            };
            out.push(id);
        }
        if mode == Tokenize::OddCounts && out.len() % 2 == 0 {
            out.push(out.last().copied().unwrap_or(1));
        }
        out
    }

    /// Tokens the stub counts in a prompt it is sent (`usage.prompt_tokens`).
    pub fn count(mode: Tokenize, text: &str, special: bool) -> usize {
        ids(mode, text, special).len()
    }

    fn text(ids: &[u64]) -> String {
        let t = table().lock().unwrap();
        let s: String = ids
            .iter()
            .filter(|&&i| i != 0)
            .filter_map(|&i| t.0.get(i as usize))
            .map(|p| p.replace('▁', " "))
            .collect();
        s.trim_start().to_owned()
    }

    /// Status and body of a `/tokenize` or `/detokenize` request.
    pub fn answer(mode: Tokenize, path: &str, body: &[u8]) -> (u16, String) {
        if mode == Tokenize::Malformed {
            return (200, "tokens: [1, 2".into());
        }
        let req: Value = serde_json::from_slice(body).unwrap_or_default();
        let vllm = matches!(mode, Tokenize::Vllm | Tokenize::CountMismatch);
        let bad = (400, r#"{"error":{"message":"bad request"}}"#.to_owned());
        if path == "/tokenize" {
            let (field, special_key, default) = if vllm {
                ("prompt", "add_special_tokens", true)
            } else {
                ("content", "add_special", false)
            };
            let Some(content) = req.get(field).and_then(Value::as_str) else {
                // llama.cpp answers an empty list; vLLM refuses the request
                return if vllm {
                    bad
                } else {
                    (200, r#"{"tokens":[]}"#.into())
                };
            };
            let special = req
                .get(special_key)
                .and_then(Value::as_bool)
                .unwrap_or(default);
            let ids = ids(mode, content, special);
            let v = if vllm {
                let extra = usize::from(mode == Tokenize::CountMismatch);
                json!({"count": ids.len() + extra, "max_model_len": 2048, "tokens": ids})
            } else {
                json!({ "tokens": ids })
            };
            return (200, v.to_string());
        }
        let Some(list) = req.get("tokens").and_then(Value::as_array) else {
            return bad;
        };
        let ids: Vec<u64> = list.iter().filter_map(Value::as_u64).collect();
        let field = if vllm { "prompt" } else { "content" };
        (200, json!({ field: text(&ids) }).to_string())
    }
}
