//! A point's identity: its key, built from its parameters, and what of a key is the
//! workload rather than the machine it ran on (`portable_key`, `model_label`).

use std::collections::BTreeMap;

/// Builds the stable key of a point from its parameters (sorted, `k=v` joined by `,`).
pub fn point_key(parameters: &BTreeMap<String, serde_json::Value>) -> String {
    parameters
        .iter()
        .map(|(k, v)| match v {
            serde_json::Value::String(s) => format!("{k}={s}"),
            other => format!("{k}={other}"),
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// The model as a point's identity names it: the server's own name, except that a local
/// path (llama.cpp's server names its model by the `-m` path, vLLM by the directory it
/// serves) becomes its last component. `org/name` hub ids stay whole.
pub fn model_label(model: &str) -> String {
    let path = model.starts_with('/') || model.starts_with("./") || model.starts_with("~/");
    if path {
        let trimmed = model.trim_end_matches('/');
        trimmed.rsplit('/').next().unwrap_or(trimmed).to_owned()
    } else {
        model.to_owned()
    }
}

/// A point key without what tied keys to one machine before they left it out: the `url`
/// of a load level and the directories of a `model` path. `compare` matches points on it,
/// so a file written before still matches the same workload run elsewhere.
pub fn portable_key(key: &str) -> String {
    // Values may hold commas (JSON arrays): a segment starts at `name=`.
    let mut segments: Vec<String> = Vec::new();
    for piece in key.split(',') {
        let named = piece.split_once('=').is_some_and(|(k, _)| {
            !k.is_empty() && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        });
        match segments.last_mut() {
            Some(last) if !named => {
                last.push(',');
                last.push_str(piece);
            }
            _ => segments.push(piece.to_owned()),
        }
    }
    segments
        .into_iter()
        .filter(|s| !s.starts_with("url="))
        .map(|s| match s.strip_prefix("model=") {
            Some(m) => format!("model={}", model_label(m)),
            None => s,
        })
        .collect::<Vec<_>>()
        .join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn portable_keys_drop_the_machine() {
        let old = "concurrency=1,endpoint=completions,isl=32,model=/root/m/SmolLM2.gguf,\
                   osl=16,url=http://127.0.0.1:18201/v1";
        let new = "concurrency=1,endpoint=completions,isl=32,model=SmolLM2.gguf,osl=16";
        assert_eq!(portable_key(old), new);
        assert_eq!(portable_key(new), new);
        assert_eq!(portable_key("batch=[1,2],isl=3"), "batch=[1,2],isl=3");
    }
}
