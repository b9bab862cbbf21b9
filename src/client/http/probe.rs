//! One small untimed request before a run (`Target::probe`): does the server take the
//! body trtbench sends, and what does it call its model? Servers differ here in ways no
//! listing shows: `transformers serve` refuses fields outside OpenAI's schema with 422
//! (`ignore_eos`, `min_tokens`) and lists no model at `/v1/models` yet names the one it
//! serves in every chunk.

use std::time::Duration;

use super::{body, error_chain, Endpoint, Target};

/// What the server said to a probe.
#[derive(Debug, Clone, PartialEq)]
pub struct Probe {
    /// HTTP status; 0 when no answer came.
    pub status: u16,
    /// The error detail of a refusal (a short piece of its body), or why nothing came.
    pub detail: String,
    /// The `model` field of the first streamed chunk that has one.
    pub model: Option<String>,
}

impl Probe {
    pub fn ok(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// A refusal that names a field trtbench adds to force output lengths.
    pub fn refuses_ignore_eos(&self) -> bool {
        (400..500).contains(&self.status)
            && (self.detail.contains("ignore_eos") || self.detail.contains("min_tokens"))
    }
}

/// The header every probe carries (`handshake`); measured requests never do.
pub const PROBE_HEADER: &str = "x-trtbench-probe";

/// Longest piece of a refusal kept for messages.
const DETAIL_BYTES: usize = 300;

impl Target {
    /// Sends one streamed request of one output token with the body a run would send
    /// (`model` omitted when empty) and reads the whole answer. Never timed, never counted.
    pub async fn probe(
        &self,
        base_url: &str,
        endpoint: Endpoint,
        model: &str,
        ignore_eos: bool,
        extra: &serde_json::Map<String, serde_json::Value>,
        timeout: Duration,
    ) -> Probe {
        let url = format!("{}{}", super::base(base_url), endpoint.path());
        let b = body(endpoint, model, "Hello", 1, ignore_eos, extra);
        let send = self
            .client
            .post(&url)
            .headers(self.headers.clone())
            // Says what it is, to a server's logs and to test doubles counting requests.
            .header(PROBE_HEADER, "handshake")
            .body(b)
            .send();
        let failed = |detail: String| Probe {
            status: 0,
            detail,
            model: None,
        };
        let resp = match tokio::time::timeout(timeout, send).await {
            Err(_) => return failed(format!("POST {url}: no answer within {timeout:?}")),
            Ok(Err(e)) => return failed(format!("POST {url}: {}", self.scrub(&error_chain(&e)))),
            Ok(Ok(r)) => r,
        };
        let status = resp.status().as_u16();
        let text = match tokio::time::timeout(timeout, resp.text()).await {
            Ok(Ok(t)) => t,
            Ok(Err(e)) => return failed(format!("POST {url}: HTTP {status}, reading: {e}")),
            Err(_) => return failed(format!("POST {url}: HTTP {status}, no body in {timeout:?}")),
        };
        let mut detail = text.trim().to_owned();
        if detail.len() > DETAIL_BYTES {
            let cut = (0..=DETAIL_BYTES)
                .rev()
                .find(|&i| detail.is_char_boundary(i))
                .unwrap_or(0);
            detail.truncate(cut);
            detail.push('…');
        }
        Probe {
            status,
            detail,
            model: streamed_model(&text),
        }
    }
}

/// The `model` of the first `data:` event (or the one JSON answer) that names one.
fn streamed_model(text: &str) -> Option<String> {
    let from = |s: &str| -> Option<String> {
        let v: serde_json::Value = serde_json::from_str(s.trim()).ok()?;
        Some(v.get("model")?.as_str()?.to_owned()).filter(|m| !m.is_empty())
    };
    text.lines()
        .filter_map(|l| l.strip_prefix("data:"))
        .find_map(from)
        .or_else(|| from(text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_model_comes_from_the_first_chunk_that_names_one() {
        let stream = "data: {\"choices\":[]}\n\n\
                      data: {\"model\":\"/srv/m@main\",\"choices\":[{\"delta\":{\"role\":\"assistant\"}}]}\n\n\
                      data: {\"model\":\"other\"}\n\n";
        assert_eq!(streamed_model(stream).as_deref(), Some("/srv/m@main"));
        assert_eq!(
            streamed_model("{\"model\":\"one\"}").as_deref(),
            Some("one")
        );
        assert_eq!(streamed_model("data: [DONE]\n\n"), None);
    }

    #[test]
    fn only_a_client_error_naming_our_fields_is_a_refusal_of_ignore_eos() {
        let p = |status: u16, detail: &str| Probe {
            status,
            detail: detail.into(),
            model: None,
        };
        let fields =
            "{\"detail\":\"Unexpected fields in the request: {'ignore_eos', 'min_tokens'}\"}";
        assert!(p(422, fields).refuses_ignore_eos());
        assert!(!p(500, fields).refuses_ignore_eos());
        assert!(!p(422, "{\"detail\":\"bad temperature\"}").refuses_ignore_eos());
        assert!(p(200, "").ok() && !p(422, fields).ok());
    }
}
