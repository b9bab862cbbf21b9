//! The one look `load` takes at a server before it sends anything: `GET {base}/models`,
//! for the model it serves and how long it keeps idle connections (`Keep-Alive`).

use std::time::Duration;

use super::{base, error_chain, Target};

impl Target {
    /// What `GET {base}/models` says, in one request: the server's `Keep-Alive` header
    /// (how long it keeps an idle connection open; read whatever the status) and the first
    /// model id it serves.
    pub async fn models(&self, base_url: &str, timeout: Duration) -> Models {
        let url = format!("{}/models", base(base_url));
        let sent = tokio::time::timeout(
            timeout,
            self.client.get(&url).headers(self.headers.clone()).send(),
        )
        .await;
        let resp = match sent {
            Err(_) => return Models::failed(format!("GET {url}: no answer within {timeout:?}")),
            Ok(Err(e)) => return Models::failed(format!("GET {url}: {}", error_chain(&e))),
            Ok(Ok(resp)) => resp,
        };
        let keep_alive = resp
            .headers()
            .get("keep-alive")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let status = resp.status();
        let body = tokio::time::timeout(timeout, resp.json::<serde_json::Value>())
            .await
            .map_err(|_| format!("GET {url}: no body within {timeout:?}"))
            .and_then(|r| {
                r.map_err(|e| format!("GET {url}: HTTP {status}, body is not JSON: {e}"))
            });
        let first = body.and_then(|body| {
            body.get("data")
                .and_then(|d| d.as_array())
                .and_then(|a| a.first())
                .and_then(|m| m.get("id"))
                .and_then(|id| id.as_str())
                .map(str::to_owned)
                .ok_or_else(|| format!("GET {url}: HTTP {status}, no data[0].id in the answer"))
        });
        Models { keep_alive, first }
    }

    /// The first model id served at `{base}/models`.
    pub async fn first_model(&self, base_url: &str, timeout: Duration) -> Result<String, String> {
        self.models(base_url, timeout).await.first
    }
}

/// A server's answer to `GET {base}/models` (`Target::models`).
#[derive(Debug)]
pub struct Models {
    /// Its `Keep-Alive` header, when it sent one.
    pub keep_alive: Option<String>,
    /// The first model id it serves, or why there is none.
    pub first: Result<String, String>,
}

impl Models {
    fn failed(why: String) -> Models {
        Models {
            keep_alive: None,
            first: Err(why),
        }
    }
}
