//! Keeps secrets out of everything a load run writes: results files (the recorded command
//! line, the URL parameter), reports made from them, logs and error messages. Redacts the
//! values of credential-bearing headers (`Authorization`, `api-key`, `x-api-key`, cookies,
//! anything that looks like a token), credentials in URLs (`user:pass@`, `?key=`), and
//! JSON fields named like keys. Pure string work; depends on nothing of ours.

/// What a redacted value is replaced by.
pub const MASK: &str = "***";

/// A header, query parameter or JSON field whose name says it holds a credential.
pub fn secret_name(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    [
        "auth",
        "key",
        "token",
        "secret",
        "password",
        "passwd",
        "cookie",
        "credential",
        "signature",
        "session",
    ]
    .iter()
    .any(|w| n.contains(w))
}

/// A value that looks like a credential whatever its name: `Bearer …`/`Basic …`, or one
/// long word of token characters mixing letters and digits.
pub fn looks_like_token(value: &str) -> bool {
    let v = value.trim();
    let lower = v.to_ascii_lowercase();
    if lower.starts_with("bearer ") || lower.starts_with("basic ") {
        return true;
    }
    v.len() >= 20
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.=+/:".contains(&b))
        && v.bytes().any(|b| b.is_ascii_digit())
        && v.bytes().any(|b| b.is_ascii_alphabetic())
}

/// The value of header `name` as it may be written.
pub fn header_value(name: &str, value: &str) -> String {
    if secret_name(name) || looks_like_token(value) {
        MASK.into()
    } else {
        value.into()
    }
}

/// A URL without its credentials: the user-info part (`user:pass@`) and the values of
/// query parameters named like keys are masked.
pub fn url(u: &str) -> String {
    let Some(scheme_end) = u.find("://").map(|i| i + 3) else {
        return u.into();
    };
    let (head, rest) = u.split_at(scheme_end);
    let auth_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(auth_end);
    let authority = match authority.rfind('@') {
        Some(at) => format!("{MASK}@{}", &authority[at + 1..]),
        None => authority.to_owned(),
    };
    let tail = match tail.split_once('?') {
        None => tail.to_owned(),
        Some((path, query)) => {
            let (query, frag) = match query.split_once('#') {
                Some((q, f)) => (q, Some(f)),
                None => (query, None),
            };
            let q: Vec<String> = query
                .split('&')
                .map(|kv| match kv.split_once('=') {
                    Some((k, v)) if secret_name(k) || looks_like_token(v) => format!("{k}={MASK}"),
                    _ => kv.to_owned(),
                })
                .collect();
            let frag = frag.map(|f| format!("#{f}")).unwrap_or_default();
            format!("{path}?{}{frag}", q.join("&"))
        }
    };
    format!("{head}{authority}{tail}")
}

/// `text` with every `http://` / `https://` URL in it redacted by [`url`] (error messages
/// quote the URL they failed on).
pub fn urls_in(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = ["http://", "https://"]
        .iter()
        .filter_map(|s| rest.find(s))
        .min()
    {
        out.push_str(&rest[..i]);
        let end = rest[i..]
            .find(|c: char| c.is_whitespace() || matches!(c, ')' | '"' | '\'' | '>' | ','))
            .map_or(rest.len(), |e| i + e);
        out.push_str(&url(&rest[i..end]));
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

/// A JSON value with the values of fields named like keys masked, at any depth.
pub fn json(v: &serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, v)| {
                    let v = if secret_name(k) && !v.is_object() && !v.is_array() {
                        Value::String(MASK.into())
                    } else {
                        json(v)
                    };
                    (k.clone(), v)
                })
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(json).collect()),
        Value::String(s) if looks_like_token(s) => Value::String(MASK.into()),
        other => other.clone(),
    }
}

/// `Name: value` of `--header`, redacted.
fn header_arg(h: &str) -> String {
    match h.split_once(':') {
        Some((k, v)) => format!("{k}: {}", header_value(k.trim(), v.trim())),
        None if looks_like_token(h) => MASK.into(),
        None => h.into(),
    }
}

/// `--extra-body` JSON, redacted (masked whole when it is not JSON: it may still hold one).
fn extra_body_arg(s: &str) -> String {
    match serde_json::from_str::<serde_json::Value>(s) {
        Ok(v) => json(&v).to_string(),
        Err(_) => MASK.into(),
    }
}

/// A command line as it may be recorded: `--header`, `--extra-body` and URL values
/// redacted, in both the `--flag value` and `--flag=value` spellings.
pub fn args(raw: impl IntoIterator<Item = String>) -> Vec<String> {
    let fix = |flag: &str, v: &str| -> String {
        match flag {
            "--header" => header_arg(v),
            "--extra-body" => extra_body_arg(v),
            _ => urls_in(v),
        }
    };
    let mut out = Vec::new();
    let mut pending: Option<String> = None;
    for a in raw {
        if let Some(flag) = pending.take() {
            out.push(fix(&flag, &a));
            continue;
        }
        match a.split_once('=') {
            Some((flag, v)) if flag.starts_with("--") => {
                out.push(format!("{flag}={}", fix(flag, v)));
            }
            _ if a == "--header" || a == "--extra-body" => {
                pending = Some(a.clone());
                out.push(a);
            }
            _ => out.push(urls_in(&a)),
        }
    }
    out
}

/// Removes every one of `secrets` (exact values known to be secret) from `text`.
pub fn scrub(text: &str, secrets: &[String]) -> String {
    let mut s = urls_in(text);
    for k in secrets.iter().filter(|k| k.len() >= 4) {
        s = s.replace(k.as_str(), MASK);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_lose_their_credentials() {
        assert_eq!(
            url("https://me:hunter22@host:8080/v1?key=abc&x=1#f"),
            "https://***@host:8080/v1?key=***&x=1#f"
        );
        assert_eq!(url("http://127.0.0.1:8080/v1"), "http://127.0.0.1:8080/v1");
        assert_eq!(
            urls_in("error for url (http://u:p@h/v1/completions): refused"),
            "error for url (http://***@h/v1/completions): refused"
        );
    }

    #[test]
    fn command_lines_lose_header_body_and_url_secrets() {
        let cmd = [
            "trtbench",
            "load",
            "--header",
            "Authorization: Bearer sk-live-123",
            "--header=X-Trace: plain",
            "--header",
            "X-Custom: abcdefghij0123456789xyz",
            "--extra-body",
            r#"{"top_k":1,"api_key":"sk-live-123"}"#,
            "--url=http://u:sk-live-123@h/v1",
        ]
        .map(String::from);
        let out = args(cmd).join(" ");
        assert!(!out.contains("sk-live-123"), "{out}");
        assert!(!out.contains("abcdefghij0123456789xyz"), "{out}");
        assert!(
            out.contains("X-Trace: plain") && out.contains("\"top_k\":1"),
            "{out}"
        );
    }
}
