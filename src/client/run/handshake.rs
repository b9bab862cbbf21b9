//! What a run settles with the server before its first level, from `GET /models` and at
//! most two untimed probe requests of one output token (as `vllm bench serve` sends its
//! own test request first): the model's name, whether `model` is sent at all, and whether
//! the server takes the fields that force output lengths.
//!
//! - A server that lists no model (`transformers serve`) is probed without `model`; the
//!   model it names in its stream becomes the points' label, and requests leave `model`
//!   out, which such a server requires (it refuses any name but its own path).
//! - A server that refuses `ignore_eos` / `min_tokens` (422 from a strict OpenAI schema)
//!   is probed again without them; when that is taken, the run goes on without forcing
//!   lengths, and every point says so (`ignore_eos` false in its key, a note, a warning):
//!   its output lengths are the ones the model chose, measured as always.

use std::time::Duration;

use super::LoadPlan;
use crate::client::http::Target;
use crate::error::{Error, Result};

/// Longest wait for one probe answer (one token; a cold server may load its model first).
const PROBE_TIMEOUT: Duration = Duration::from_secs(120);

/// What the server answered before the first level.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Handshake {
    /// What the points record as the model (the server's own name for it).
    pub label: String,
    /// Sent as `model` in every request; empty: left out.
    pub wire: String,
    /// Whether requests carry `ignore_eos` / `min_tokens`.
    pub ignore_eos: bool,
    /// The refusal that turned `ignore_eos` off (status and detail).
    pub ignore_eos_refused: Option<String>,
}

/// Settles the model and the body's fields; `served` is what `GET /models` gave.
pub(crate) async fn handshake(
    target: &Target,
    plan: &LoadPlan,
    served: std::result::Result<String, String>,
) -> Result<Handshake> {
    let s = &plan.settings;
    let given = plan.model.clone().or_else(|| served.clone().ok());
    let wire = given.clone().unwrap_or_default();
    if given.is_some() && !s.ignore_eos {
        return Ok(Handshake {
            label: wire.clone(),
            wire,
            ignore_eos: false,
            ignore_eos_refused: None,
        });
    }
    let timeout = s.timeout.min(PROBE_TIMEOUT);
    let probe = |ignore_eos: bool| {
        target.probe(
            &plan.url,
            s.endpoint,
            &wire,
            ignore_eos,
            &s.extra_body,
            timeout,
        )
    };
    let first = probe(s.ignore_eos).await;
    let (answer, refusal) = if s.ignore_eos && first.refuses_ignore_eos() {
        let refusal = format!("HTTP {}: {}", first.status, first.detail);
        (probe(false).await, Some(refusal))
    } else {
        (first, None)
    };
    // A refusal that leaving the fields out did not cure is not about them: the run goes
    // on as asked and its failed requests say what is wrong.
    let refused = refusal.filter(|_| answer.ok());
    let label = match given {
        Some(m) => m,
        None => match (answer.ok(), answer.model.clone()) {
            (true, Some(m)) => m,
            _ => {
                return Err(Error::Tool {
                    tool: "--url".into(),
                    message: target.scrub(&format!(
                        "finding the model name failed: {}; a request without `model` was \
                         answered HTTP {}: {} (pass --model)",
                        served.err().unwrap_or_default(),
                        answer.status,
                        answer.detail
                    )),
                })
            }
        },
    };
    Ok(Handshake {
        label,
        wire,
        ignore_eos: s.ignore_eos && refused.is_none(),
        ignore_eos_refused: refused,
    })
}
