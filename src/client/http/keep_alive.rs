//! How long a pooled connection may sit idle before it is dropped rather than reused:
//! below the server's own keep-alive timeout, so no request goes out on a connection the
//! server is closing (and must then be sent again).

use std::time::Duration;

/// Idle time after which a pooled connection is not reused, when the server advertises no
/// `Keep-Alive: timeout`: below the 5 s of llama.cpp's server (cpp-httplib) and of
/// uvicorn (vLLM's and transformers' servers), the shortest common defaults.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(4);

/// The idle timeout to keep under a server's `Keep-Alive` header (`timeout=5, max=100`):
/// its timeout less a margin of a second (or half of it, if shorter), so a connection is
/// dropped on our side before the server closes it. `None` without a `timeout`.
pub fn idle_timeout_for(keep_alive: &str) -> Option<Duration> {
    let secs: f64 = keep_alive.split(',').find_map(|part| {
        let (k, v) = part.split_once('=')?;
        (k.trim().eq_ignore_ascii_case("timeout"))
            .then(|| v.trim().parse::<f64>().ok())
            .flatten()
    })?;
    if !(secs.is_finite() && secs > 0.0) {
        return None;
    }
    let margin = (secs / 2.0).min(1.0);
    Some(Duration::from_secs_f64(secs - margin))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idle_connections_are_dropped_before_the_server_closes_them() {
        assert_eq!(
            idle_timeout_for("timeout=5, max=100"),
            Some(Duration::from_secs(4))
        );
        assert_eq!(
            idle_timeout_for("max=100, Timeout=1"),
            Some(Duration::from_millis(500))
        );
        assert_eq!(idle_timeout_for("max=100"), None);
        assert_eq!(idle_timeout_for("timeout=x"), None);
        assert!(DEFAULT_IDLE_TIMEOUT < Duration::from_secs(5));
    }
}
