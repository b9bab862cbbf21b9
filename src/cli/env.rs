//! `trtbench env`: prints the hardware and software fingerprint embedded in every results
//! file, and advice where results from this machine will be noisy.

use anyhow::Context;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Print JSON (the fingerprint plus a `warnings` array) instead of text.
    #[arg(long)]
    pub json: bool,
}

pub fn run(a: Args) -> anyhow::Result<()> {
    use std::io::Write;
    let env = crate::backends::fingerprint();
    let warnings = crate::warning::sentences(&crate::warning::machine(&env));
    let text = if a.json {
        let mut v = env.clone();
        if let Some(m) = v.as_object_mut() {
            m.insert("warnings".into(), serde_json::json!(warnings));
        }
        serde_json::to_string_pretty(&v).context("encoding JSON")? + "\n"
    } else {
        let mut s = String::new();
        if let Some(m) = env.as_object() {
            let w = m.keys().map(|k| k.len()).max().unwrap_or(0);
            for (k, v) in m {
                let v = match v {
                    serde_json::Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                s.push_str(&format!("{k:<w$}  {v}\n"));
            }
        }
        for w in &warnings {
            s.push_str(&format!("warning: {w}\n"));
        }
        s
    };
    std::io::stdout()
        .write_all(text.as_bytes())
        .context("writing to stdout")?;
    Ok(())
}
