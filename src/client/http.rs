//! One streamed request to an OpenAI-compatible server, timed where its bytes arrive. On a
//! plain-http endpoint reached without a proxy, each body frame carries the kernel's receive
//! time of its packet (`stamped`), so neither the client's queues nor other streams' work
//! move a timestamp; elsewhere (https, proxies) the monotonic clock is read right after each
//! read of the body returns, before any parsing. Also the HTTP/1.1 keep-alive clients and
//! the `/v1/models` look-up. Depends on `sse` only.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use hyper_util::client::proxy::matcher::Matcher;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue, ACCEPT, AUTHORIZATION, CONTENT_TYPE};

use stream::{is_json, read_stream, Body, Response};

mod keep_alive;
mod models;
mod outcome;
pub mod pinned;
mod probe;
pub mod stamped;
mod stream;
pub use keep_alive::{idle_timeout_for, DEFAULT_IDLE_TIMEOUT};
pub use models::Models;
pub use outcome::{ErrorKind, Failure, FirstPiece, Outcome, Piece};
pub use probe::{Probe, PROBE_HEADER};

/// Which OpenAI endpoint to call.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Endpoint {
    /// `/v1/completions` (prompt text in, `choices[].text` out).
    Completions,
    /// `/v1/chat/completions` (one user message in, `choices[].delta.content` out).
    Chat,
}

impl Endpoint {
    pub fn path(self) -> &'static str {
        match self {
            Endpoint::Completions => "/completions",
            Endpoint::Chat => "/chat/completions",
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Endpoint::Completions => "completions",
            Endpoint::Chat => "chat",
        }
    }
}

/// The HTTP side of a load test: one keep-alive client and the endpoint's full URL.
#[derive(Debug, Clone)]
pub struct Target {
    /// Side requests always; measured ones where `stamped` is not used.
    client: reqwest::Client,
    /// `client` with no pool: a request sent again after a kept-alive connection closed
    /// under it goes on a connection of its own, never on another one the server may have
    /// closed too.
    fresh: reqwest::Client,
    /// Measured requests to a plain-http endpoint with no proxy between: kernel timestamps.
    stamped: Option<Stamped>,
    pub url: String,
    headers: HeaderMap,
    /// Values never to be written: the API key, credential header values, URL passwords.
    secrets: Vec<String>,
}

/// The measured requests' client where they are timed by the kernel, the endpoint without
/// any `user:password@` (sent as a Basic `Authorization` header, as reqwest does), and the
/// headers of every request.
#[derive(Debug, Clone)]
struct Stamped {
    client: stamped::Client,
    /// As `Target::fresh`.
    fresh: stamped::Client,
    uri: http::Uri,
    headers: HeaderMap,
}

impl Stamped {
    /// For `url` (full endpoint URL), with `headers`; reqwest's own request builder takes the
    /// credentials out of the URL. `None` where reqwest cannot make a request of it.
    fn new(
        o: &TargetOptions,
        url: &str,
        client: &reqwest::Client,
        headers: &HeaderMap,
    ) -> Option<Stamped> {
        let probe = client.post(url).build().ok()?;
        let uri: http::Uri = probe.url().as_str().parse().ok()?;
        let mut all = HeaderMap::new();
        if let Some(basic) = probe.headers().get(AUTHORIZATION) {
            all.insert(AUTHORIZATION, basic.clone());
        }
        // Ours win over the URL's credentials (`--api-key-env`, `--header Authorization`).
        for (k, v) in headers {
            all.insert(k.clone(), v.clone());
        }
        Some(Stamped {
            client: stamped::client(o.connect_timeout, o.pool_size.max(1), idle(o)),
            fresh: stamped::client(o.connect_timeout, 0, idle(o)),
            uri,
            headers: all,
        })
    }
}

fn idle(o: &TargetOptions) -> Duration {
    o.idle_timeout.unwrap_or(DEFAULT_IDLE_TIMEOUT)
}

/// What `Target::new` needs.
#[derive(Debug, Clone)]
pub struct TargetOptions {
    /// Base URL, e.g. `http://127.0.0.1:8080/v1`.
    pub base_url: String,
    pub endpoint: Endpoint,
    pub api_key: Option<String>,
    /// Extra `Name: value` headers.
    pub headers: Vec<(String, String)>,
    pub connect_timeout: Duration,
    /// Connections kept open per host (the largest concurrency of the run).
    pub pool_size: usize,
    pub tls: TlsOptions,
    /// Time tokens by the kernel's receive timestamps where the endpoint allows it
    /// (`stamped`); false times every one after its read returns.
    pub kernel_timestamps: bool,
    /// How long a pooled connection may sit idle before it is dropped rather than reused;
    /// `None`: [`DEFAULT_IDLE_TIMEOUT`]. Must be below the server's own keep-alive timeout,
    /// or a request goes out on a connection the server is closing and must be sent again.
    pub idle_timeout: Option<Duration>,
}

/// How https endpoints are verified: the system's root certificates, plus `cacert`'s.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TlsOptions {
    /// PEM file of extra trusted certificates (`--cacert`), e.g. a self-signed server's.
    pub cacert: Option<std::path::PathBuf>,
    /// Accept any certificate and host name (`--insecure`); recorded in the results.
    pub insecure: bool,
}

/// True when `url`'s host is this machine (`localhost`, 127.0.0.0/8, `::1`): such a
/// server is never reached through a proxy.
pub fn is_loopback(url: &str) -> bool {
    let Some(host) = reqwest::Url::parse(url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_owned))
    else {
        return false;
    };
    let h = host.trim_start_matches('[').trim_end_matches(']');
    h.eq_ignore_ascii_case("localhost")
        || h.parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// The client configuration `--cacert` asks for: the file's certificates as roots, and
/// each also accepted as the server's own (a self-signed one marked CA:TRUE, as `openssl
/// req -x509` makes): `pinned`. `None` without the flag. Read once per target, however
/// many clients it builds. A missing, unreadable or certificate-less file is an error
/// naming it.
fn cacert_config(tls: &TlsOptions) -> crate::Result<Option<rustls::ClientConfig>> {
    let Some(path) = tls.cacert.as_ref().filter(|_| !tls.insecure) else {
        return Ok(None);
    };
    let pem = std::fs::read(path).map_err(|e| crate::Error::io(path, e))?;
    let certs: Vec<rustls::pki_types::CertificateDer<'static>> =
        rustls::pki_types::pem::PemObject::pem_slice_iter(&pem)
            .collect::<Result<_, _>>()
            .map_err(|e| crate::Error::bad_file(path, format!("--cacert: not PEM: {e}")))?;
    if certs.is_empty() {
        return Err(crate::Error::bad_file(
            path,
            "--cacert: no PEM certificate (-----BEGIN CERTIFICATE-----) in it",
        ));
    }
    pinned::client_config(&certs)
        .map(Some)
        .map_err(|e| crate::Error::bad_file(path, format!("--cacert: {e}")))
}

/// Adds `tls` to a client builder: `--insecure`, or the `--cacert` configuration
/// ([`cacert_config`]).
fn with_tls(
    b: reqwest::ClientBuilder,
    tls: &TlsOptions,
    cacert: &Option<rustls::ClientConfig>,
) -> reqwest::ClientBuilder {
    let b = b.use_rustls_tls();
    match cacert {
        _ if tls.insecure => b.danger_accept_invalid_certs(true),
        Some(config) => b.use_preconfigured_tls(config.clone()),
        None => b,
    }
}

/// True when requests to `url` go straight to the server over plain TCP: `http://`, and
/// either on this machine (`Target::new` turns proxies off there) or not sent through a
/// proxy by `proxies` (reqwest's own rules: `Matcher::from_system`, NO_PROXY included).
fn direct_http(url: &str, proxies: &Matcher) -> bool {
    let Ok(uri) = url.parse::<http::Uri>() else {
        return false;
    };
    uri.scheme_str() == Some("http") && (is_loopback(url) || proxies.intercept(&uri).is_none())
}

/// How a target times token arrivals.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Timestamps {
    /// The kernel's receive time of each packet, where the socket gives one (`stamped`).
    Kernel,
    /// When each read of the body returns.
    Read,
}

impl Timestamps {
    pub fn as_str(self) -> &'static str {
        match self {
            Timestamps::Kernel => "kernel",
            Timestamps::Read => "read",
        }
    }

    /// What a point's `notes.timestamps` says.
    pub fn note(self) -> &'static str {
        match self {
            Timestamps::Kernel => {
                "token arrival: the kernel's receive time of its packet (SO_TIMESTAMPNS)"
            }
            Timestamps::Read => {
                "token arrival: when the read of its bytes returned (https or a proxy)"
            }
        }
    }
}

/// Base URL without a trailing slash.
pub fn base(url: &str) -> &str {
    url.trim_end_matches('/')
}

impl Target {
    /// Fails on a header (or API key) that is not a valid HTTP header, naming the flag.
    pub fn new(o: &TargetOptions) -> crate::Result<Target> {
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        headers.insert(ACCEPT, HeaderValue::from_static("text/event-stream"));
        if let Some(k) = &o.api_key {
            let v = HeaderValue::from_str(&format!("Bearer {k}")).map_err(|_| {
                crate::Error::config(
                    "--api-key-env",
                    "the API key holds characters not allowed in a header",
                )
            })?;
            headers.insert(AUTHORIZATION, v);
        }
        for (k, v) in &o.headers {
            let name = HeaderName::from_bytes(k.as_bytes()).map_err(|_| {
                crate::Error::config("--header", format!("{k:?} is not a valid header name"))
            })?;
            let value = HeaderValue::from_str(v).map_err(|_| {
                crate::Error::config(
                    "--header",
                    format!("the value of {k} is not a valid header value"),
                )
            })?;
            headers.insert(name, value);
        }
        // HTTP/1.1 with keep-alive, as vLLM's and AIPerf's clients use. Proxies come from
        // the usual variables (HTTPS_PROXY, HTTP_PROXY, ALL_PROXY, NO_PROXY), as curl's do,
        // except for a server on this machine: a proxy there would only add to every figure.
        let cacert = cacert_config(&o.tls)?;
        let build = |pool: usize| {
            let mut builder = reqwest::Client::builder();
            if is_loopback(&o.base_url) {
                builder = builder.no_proxy();
            }
            with_tls(builder, &o.tls, &cacert)
                .http1_only()
                .tcp_nodelay(true)
                .pool_max_idle_per_host(pool)
                .pool_idle_timeout(idle(o))
                .connect_timeout(o.connect_timeout)
                .build()
                .map_err(|e| {
                    crate::Error::config("HTTP client", format!("building it failed: {e}"))
                })
        };
        let client = build(o.pool_size.max(1))?;
        let fresh = build(0)?;
        let mut secrets: Vec<String> = o.api_key.iter().cloned().collect();
        for (k, v) in &o.headers {
            if super::redact::header_value(k, v) != *v {
                secrets.push(v.clone());
                secrets.extend(v.split_whitespace().skip(1).map(str::to_owned));
            }
        }
        let url = format!("{}{}", base(&o.base_url), o.endpoint.path());
        let stamped = (o.kernel_timestamps && direct_http(&url, &Matcher::from_system()))
            .then(|| Stamped::new(o, &url, &client, &headers))
            .flatten();
        Ok(Target {
            client,
            fresh,
            stamped,
            url,
            headers,
            secrets,
        })
    }

    /// How token arrival times are taken.
    pub fn timestamps(&self) -> Timestamps {
        if self.stamped.is_some() {
            Timestamps::Kernel
        } else {
            Timestamps::Read
        }
    }

    /// `text` without any secret of this target (for failure messages).
    pub fn scrub(&self, text: &str) -> String {
        super::redact::scrub(text, &self.secrets)
    }

    /// Sends one request and reads its stream, filling `out`. Never panics and never waits
    /// longer than `timeout` (after which the outcome is a `timeout` failure, unless the
    /// stream had already completed).
    pub async fn run(&self, body: Vec<u8>, timeout: Duration, out: &mut Outcome) {
        out.sent = Instant::now();
        let deadline = tokio::time::Instant::from_std(out.sent + timeout);
        let result = tokio::time::timeout_at(deadline, self.stream(body, out)).await;
        match result {
            Ok(Ok(())) => {}
            Ok(Err(f)) => {
                out.end = Instant::now();
                out.failure = Some(f);
            }
            Err(_) if out.complete => {}
            Err(_) => {
                out.end = Instant::now();
                out.failure = Some(Failure {
                    kind: ErrorKind::Timeout,
                    detail: format!("no complete response within {timeout:?}"),
                });
            }
        }
        if let Some(f) = &mut out.failure {
            f.detail = self.scrub(&f.detail);
        }
        if out.failure.is_none() && out.pieces.is_empty() {
            out.failure = Some(Failure {
                kind: ErrorKind::NoOutput,
                detail: "the stream completed without any generated text".into(),
            });
        }
    }

    async fn stream(&self, body: Vec<u8>, out: &mut Outcome) -> Result<(), Failure> {
        let resp = self.send(body, out).await?;
        read_stream(resp, out).await
    }

    /// Sends the request and waits for the response head; an HTTP error status is a
    /// failure with a short look at the body.
    async fn send(&self, body: Vec<u8>, out: &mut Outcome) -> Result<Response, Failure> {
        let body = Bytes::from(body);
        let resp = match &self.stamped {
            Some(st) => self.send_stamped(st, body, out).await?,
            None => self.send_reqwest(body, out).await?,
        };
        out.status = Some(resp.status.as_u16());
        if resp.status.is_success() {
            return Ok(resp);
        }
        let status = resp.status;
        let kind = if status.is_client_error() {
            ErrorKind::Http4xx
        } else if status.is_server_error() {
            ErrorKind::Http5xx
        } else {
            ErrorKind::HttpOther
        };
        // A short look at the body for the message; bounded in time and size.
        let body = resp.body.peek(300, Duration::from_secs(2)).await;
        Err(Failure {
            kind,
            detail: format!("HTTP {status}: {}", body.trim()),
        })
    }

    async fn send_reqwest(&self, body: Bytes, out: &mut Outcome) -> Result<Response, Failure> {
        loop {
            let client = if out.retries == 0 {
                &self.client
            } else {
                &self.fresh
            };
            let sent = client
                .post(&self.url)
                .headers(self.headers.clone())
                .body(body.clone())
                .send()
                .await;
            match sent {
                Ok(r) => {
                    return Ok(Response {
                        status: r.status(),
                        json: is_json(r.headers()),
                        body: Body::Read(r),
                    })
                }
                // A kept-alive connection the server closed as we reused it ("connection
                // closed before message completed": llama.cpp's server closes after each
                // streamed response): no response byte came, so send once more, on a new
                // connection (`fresh`). Counted in `retries`; latencies stay from the first
                // attempt.
                Err(e)
                    if out.retries == 0 && e.is_request() && !e.is_connect() && !e.is_timeout() =>
                {
                    out.retries += 1;
                }
                Err(e) => {
                    return Err(Failure {
                        kind: if e.is_connect() {
                            ErrorKind::Connect
                        } else if e.is_timeout() {
                            ErrorKind::Timeout
                        } else {
                            ErrorKind::Read
                        },
                        detail: error_chain(&e),
                    })
                }
            }
        }
    }

    async fn send_stamped(
        &self,
        st: &Stamped,
        body: Bytes,
        out: &mut Outcome,
    ) -> Result<Response, Failure> {
        loop {
            let mut req = http::Request::new(http_body_util::Full::new(body.clone()));
            *req.method_mut() = http::Method::POST;
            *req.uri_mut() = st.uri.clone();
            *req.headers_mut() = st.headers.clone();
            let client = if out.retries == 0 {
                &st.client
            } else {
                &st.fresh
            };
            match client.request(req).await {
                Ok(r) => {
                    let landings = r.extensions().get::<Arc<stamped::Landings>>().cloned();
                    let (head, body) = r.into_parts();
                    return Ok(Response {
                        status: head.status,
                        json: is_json(&head.headers),
                        body: Body::Stamped { body, landings },
                    });
                }
                // As in `send_reqwest`: a reused connection closed under the request.
                Err(e) if out.retries == 0 && !e.is_connect() => out.retries += 1,
                Err(e) => {
                    return Err(Failure {
                        kind: if e.is_connect() {
                            ErrorKind::Connect
                        } else {
                            ErrorKind::Read
                        },
                        detail: error_chain(&e),
                    })
                }
            }
        }
    }

    /// POSTs `body` as JSON to `url` (with this target's headers and TLS) and reads a JSON
    /// answer: `(status, body)`, or why there was no JSON answer. Not timed: for side
    /// requests such as a server's `/tokenize`, never for measured ones.
    pub async fn post_json(
        &self,
        url: &str,
        body: &serde_json::Value,
        timeout: Duration,
    ) -> Result<(u16, serde_json::Value), String> {
        let send = self
            .client
            .post(url)
            .headers(self.headers.clone())
            .json(body)
            .send();
        let resp = tokio::time::timeout(timeout, send)
            .await
            .map_err(|_| format!("POST {url}: no answer within {timeout:?}"))?
            .map_err(|e| format!("POST {url}: {}", self.scrub(&error_chain(&e))))?;
        let status = resp.status().as_u16();
        let bytes = tokio::time::timeout(timeout, resp.bytes())
            .await
            .map_err(|_| format!("POST {url}: no body within {timeout:?}"))?
            .map_err(|e| format!("POST {url}: reading the body: {e}"))?;
        match serde_json::from_slice(&bytes) {
            Ok(v) => Ok((status, v)),
            Err(_) if status != 200 => Ok((status, serde_json::Value::Null)),
            Err(e) => Err(format!(
                "POST {url}: HTTP {status}, the body is not JSON ({e}): {:?}",
                String::from_utf8_lossy(&bytes[..bytes.len().min(120)])
            )),
        }
    }
}

/// An error and its sources on one line (reqwest's Display alone hides the cause).
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}

/// Builds the JSON body of one request. An empty `model` is left out: the server serves
/// its own (`transformers serve` takes only its own path or none).
pub fn body(
    endpoint: Endpoint,
    model: &str,
    prompt: &str,
    max_tokens: u64,
    ignore_eos: bool,
    extra: &serde_json::Map<String, serde_json::Value>,
) -> Vec<u8> {
    let mut b = serde_json::Map::new();
    if !model.is_empty() {
        b.insert("model".into(), model.into());
    }
    match endpoint {
        Endpoint::Completions => {
            b.insert("prompt".into(), prompt.into());
        }
        Endpoint::Chat => {
            b.insert(
                "messages".into(),
                serde_json::json!([{"role": "user", "content": prompt}]),
            );
        }
    }
    b.insert("max_tokens".into(), max_tokens.into());
    b.insert("stream".into(), true.into());
    b.insert(
        "stream_options".into(),
        serde_json::json!({"include_usage": true}),
    );
    b.insert("temperature".into(), 0.into());
    if ignore_eos {
        // vLLM, llama.cpp and SGLang honour `ignore_eos`; `min_tokens` backs it up on vLLM.
        b.insert("ignore_eos".into(), true.into());
        b.insert("min_tokens".into(), max_tokens.into());
    }
    for (k, v) in extra {
        b.insert(k.clone(), v.clone());
    }
    serde_json::to_vec(&serde_json::Value::Object(b)).expect("a JSON map always serializes")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(url: &str, kernel_timestamps: bool) -> TargetOptions {
        TargetOptions {
            base_url: url.into(),
            endpoint: Endpoint::Completions,
            api_key: None,
            headers: vec![],
            connect_timeout: Duration::from_secs(1),
            pool_size: 1,
            tls: TlsOptions::default(),
            kernel_timestamps,
            idle_timeout: None,
        }
    }

    fn target(url: &str, kernel_timestamps: bool) -> Target {
        Target::new(&options(url, kernel_timestamps)).unwrap()
    }

    #[test]
    fn kernel_timestamps_only_on_plain_http_with_no_proxy_between() {
        let none = Matcher::builder().build();
        let proxy = Matcher::builder().http("http://proxy.example:3128").build();
        let except = Matcher::builder()
            .http("http://proxy.example:3128")
            .no("10.0.0.7")
            .build();
        assert!(direct_http("http://127.0.0.1:8080/v1", &none));
        assert!(direct_http("http://10.0.0.7:8000/v1", &none));
        assert!(
            direct_http("http://[::1]:8080/v1", &proxy),
            "loopback is never proxied"
        );
        assert!(direct_http("http://localhost:8080/v1", &proxy));
        assert!(
            !direct_http("http://10.0.0.7:8000/v1", &proxy),
            "through a proxy"
        );
        assert!(direct_http("http://10.0.0.7:8000/v1", &except), "NO_PROXY");
        assert!(!direct_http("https://127.0.0.1:8443/v1", &none), "TLS");
        assert!(!direct_http("not a url", &none));
        let t = |url, kernel| target(url, kernel).timestamps();
        assert_eq!(t("http://127.0.0.1:9/v1", true), Timestamps::Kernel);
        assert_eq!(t("http://127.0.0.1:9/v1", false), Timestamps::Read);
        assert_eq!(t("https://127.0.0.1:9/v1", true), Timestamps::Read);
    }

    #[test]
    fn credentials_in_the_url_become_basic_auth_unless_a_header_says_otherwise() {
        let t = target("http://user:p%40ss@127.0.0.1:9/v1", true);
        let st = t.stamped.as_ref().unwrap();
        assert_eq!(st.uri.to_string(), "http://127.0.0.1:9/v1/completions");
        // base64("user:p@ss")
        assert_eq!(st.headers[AUTHORIZATION], "Basic dXNlcjpwQHNz");
        assert_eq!(st.headers[ACCEPT], "text/event-stream");
        let t = Target::new(&TargetOptions {
            api_key: Some("k".into()),
            ..options("http://user:pw@127.0.0.1:9/v1", true)
        })
        .unwrap();
        assert_eq!(t.stamped.unwrap().headers[AUTHORIZATION], "Bearer k");
        let plain = target("http://127.0.0.1:9/v1", true);
        assert!(!plain.stamped.unwrap().headers.contains_key(AUTHORIZATION));
    }
}
