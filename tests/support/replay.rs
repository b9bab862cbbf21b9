//! Replays answers recorded from real servers (tests/fixtures/peers/recorded/<server>/,
//! made by scripts/capture-peer-streams.sh against vLLM, `transformers serve` and
//! llama-server): each recorded answer's status, content type and body bytes, as the
//! server sent them. Which recording answers a request follows the rule the real server
//! applied when it was recorded:
//!
//! - `GET …/models` → `models`; `POST /tokenize` → `tokenize`;
//! - a completion request carrying `ignore_eos` or `min_tokens` → `<endpoint>-forced`
//!   (the server's answer to those fields: a stream, or a 422 refusal);
//! - one naming a `model` other than the recorded request's, where the server refused
//!   such a name (`chat-other-model` is an error) → that refusal;
//! - otherwise → `<endpoint>`, the plain stream.
//!
//! Stream bodies go out one event per HTTP chunk, `EVENT_GAP` apart, so a client times
//! each event on its own (the recordings keep bytes, not times). It is a protocol double:
//! the text is the model's, recorded once; its timing is not the server's.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncWriteExt, BufReader, BufWriter};
use tokio::net::{TcpListener, TcpStream};

use super::stub::{chunk, read_request, Request};

/// Between two events of a replayed stream.
pub const EVENT_GAP: Duration = Duration::from_millis(20);

/// One recorded answer.
#[derive(Debug, Clone)]
struct Answer {
    status: u16,
    reason: String,
    content_type: String,
    body: Vec<u8>,
}

/// A replay server on 127.0.0.1; stops when its runtime is dropped.
pub struct Replay {
    pub url: String,
    /// Completion requests answered (probes included).
    pub completions: Arc<AtomicUsize>,
}

/// The recordings of one server, e.g. `recorded("vllm")`.
pub fn recorded(server: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("tests/fixtures/peers/recorded/{server}"))
}

fn load(dir: &Path, name: &str) -> Option<Answer> {
    let head = std::fs::read_to_string(dir.join(format!("{name}.head"))).ok()?;
    let body = std::fs::read(dir.join(format!("{name}.body"))).ok()?;
    let mut lines = head.lines();
    let status_line = lines.next()?.trim().to_owned();
    let mut parts = status_line.splitn(3, ' ');
    parts.next()?;
    let status = parts.next()?.parse().ok()?;
    let reason = parts.next().unwrap_or("").to_owned();
    let content_type = lines
        .filter_map(|l| l.split_once(':'))
        .find(|(k, _)| k.trim().eq_ignore_ascii_case("content-type"))
        .map(|(_, v)| v.trim().to_owned())
        .unwrap_or_else(|| "application/json".into());
    Some(Answer {
        status,
        reason,
        content_type,
        body,
    })
}

/// The `model` a recorded request sent, if any.
fn recorded_model(dir: &Path, name: &str) -> Option<String> {
    let req = std::fs::read(dir.join(format!("{name}.req.json"))).ok()?;
    let v: serde_json::Value = serde_json::from_slice(&req).ok()?;
    Some(v.get("model")?.as_str()?.to_owned())
}

fn choose(dir: &Path, req: &Request) -> Option<Answer> {
    let path = req.path.as_str();
    if req.method == "GET" && path.ends_with("/models") {
        return load(dir, "models");
    }
    if req.method != "POST" {
        return None;
    }
    if path == "/tokenize" {
        return load(dir, "tokenize");
    }
    let endpoint = if path.ends_with("/chat/completions") {
        "chat"
    } else if path.ends_with("/completions") {
        "completions"
    } else {
        return None;
    };
    let body: serde_json::Value = serde_json::from_slice(&req.body).unwrap_or_default();
    if body.get("ignore_eos").is_some() || body.get("min_tokens").is_some() {
        return load(dir, &format!("{endpoint}-forced"));
    }
    if let Some(m) = body.get("model").and_then(|m| m.as_str()) {
        let refusal = load(dir, "chat-other-model").filter(|a| a.status >= 400);
        if refusal.is_some() && recorded_model(dir, endpoint).as_deref() != Some(m) {
            return refusal;
        }
    }
    load(dir, endpoint)
}

async fn answer<W: AsyncWriteExt + Unpin>(w: &mut W, a: &Answer) -> std::io::Result<()> {
    let streamed = a.content_type.starts_with("text/event-stream");
    if !streamed {
        let head = format!(
            "HTTP/1.1 {} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\n\r\n",
            a.status,
            a.reason,
            a.content_type,
            a.body.len()
        );
        w.write_all(head.as_bytes()).await?;
        w.write_all(&a.body).await?;
        return w.flush().await;
    }
    let head = format!(
        "HTTP/1.1 {} {}\r\nContent-Type: {}\r\nTransfer-Encoding: chunked\r\n\r\n",
        a.status, a.reason, a.content_type
    );
    w.write_all(head.as_bytes()).await?;
    w.flush().await?;
    let text = String::from_utf8_lossy(&a.body);
    for event in text.split_inclusive("\n\n") {
        tokio::time::sleep(EVENT_GAP).await;
        chunk(w, event.as_bytes()).await?;
        w.flush().await?;
    }
    w.write_all(b"0\r\n\r\n").await?;
    w.flush().await
}

async fn serve(stream: TcpStream, dir: Arc<PathBuf>, completions: Arc<AtomicUsize>) {
    let (rd, wr) = stream.into_split();
    let mut rd = BufReader::new(rd);
    let mut wr = BufWriter::new(wr);
    while let Some(req) = read_request(&mut rd).await {
        if req.path.ends_with("completions") {
            completions.fetch_add(1, Ordering::Relaxed);
        }
        let a = choose(&dir, &req).unwrap_or(Answer {
            status: 404,
            reason: "Not Found".into(),
            content_type: "application/json".into(),
            body: br#"{"detail":"Not Found"}"#.to_vec(),
        });
        if answer(&mut wr, &a).await.is_err() {
            return;
        }
    }
}

/// Starts a replay of `dir`'s recordings on a runtime of its own (the server lives as
/// long as the runtime), for tests that drive it from the CLI.
pub fn start(dir: PathBuf) -> (tokio::runtime::Runtime, Replay) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let completions = Arc::new(AtomicUsize::new(0));
    let counter = completions.clone();
    let listener = rt
        .block_on(TcpListener::bind(("127.0.0.1", 0)))
        .expect("a free port");
    let url = format!("http://{}/v1", listener.local_addr().unwrap());
    let dir = Arc::new(dir);
    rt.spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            tokio::spawn(serve(stream, dir.clone(), counter.clone()));
        }
    });
    (rt, Replay { url, completions })
}
