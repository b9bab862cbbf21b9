//! A load run from a [`LoadSpec`]: the spec's values checked ([`check`]), the prompts'
//! source found (a local tokenizer, llama.cpp's for a GGUF, or the server's own), and the
//! whole run as one blocking call over `client::run_load` with a stop flag. What `trtbench
//! load` (its flags become a spec), the C ABI and the Python module all call, so a load
//! plan is built in one place. Above `client` because resolving a tokenizer needs
//! `backends` (llama.cpp's vocabularies) and `bench` (the default text).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crate::client::{self, LoadOutcome, LoadPlan, Observer, Settings, WorkloadParams};
use crate::error::{Error, Result};

mod check;
mod source;
pub mod spec;
pub mod tokenizer;

pub use spec::{parse, parse_any, parse_json, Kind, LoadSpec, Names};

/// The run a spec describes, checked, with its prompts' source (for random prompts without
/// a `tokenizer`, the server is asked for its own: it must be up). `command` is recorded
/// in the results. Errors name the field in `n`'s style; an existing `out` is refused
/// unless `force` or `resume` is set.
pub fn plan(s: &LoadSpec, n: Names, command: Vec<String>) -> Result<LoadPlan> {
    let c = check::check(s, n)?;
    let output = s
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from(spec::DEFAULT_OUT));
    if s.force && s.resume {
        return Err(n.err(
            "resume",
            format!("keeps the file {} would replace: give one", n.of("force")),
        ));
    }
    if output.exists() && !s.force && !s.resume {
        return Err(n.err(
            "out",
            format!(
                "{}: the file exists; pass {} to overwrite it or {} to keep its finished levels",
                output.display(),
                n.of("force"),
                n.of("resume")
            ),
        ));
    }
    let source = source::source(s, &c, n)?;
    Ok(LoadPlan {
        api_key: source::api_key(s),
        workload: WorkloadParams {
            framework: s.framework.clone(),
            dataset: s.dataset.clone(),
            isl: s.isl,
            osl: s.osl,
            isl_spread: s.isl_spread,
            osl_spread: s.osl_spread,
            shared_prefix: c.shared_prefix,
            multi_turn: c.multi_turn,
            trace: s.trace.clone().map(|p| (p, s.trace_speed)),
        },
        url: c.url,
        model: s.model.clone(),
        headers: c.headers,
        tls: client::http::TlsOptions {
            cacert: s.cacert.clone(),
            insecure: s.insecure,
        },
        settings: Settings {
            endpoint: s.endpoint,
            timeout: c.timeout,
            duration: c.duration,
            ignore_eos: s.ignore_eos,
            server_token_counts: s.use_server_token_count,
            slo: c.slo,
            max_lag_ms: s.max_client_lag_ms,
            max_consecutive_errors: s.max_consecutive_errors,
            extra_body: c.extra_body,
        },
        levels: c.levels,
        source,
        // Multi-turn: conversations (`check` refused num_prompts with it).
        num_prompts: s.num_prompts.or(s.conversations),
        warmup: s.warmup,
        seed: s.seed,
        worker: c.worker,
        start_at: c.start_at,
        salt: c.salt.unwrap_or_else(rand::random),
        resume: s.resume,
        output,
        command,
        environment: crate::backends::fingerprint(),
    })
}

/// Runs `plan` to its end on a runtime of its own, blocking the calling thread; `stop`,
/// raised from any thread, ends the current level early (its finished requests saved)
/// and the run with `interrupted` set. The observer is called on this thread.
pub fn run(plan: &LoadPlan, observer: &mut dyn Observer, stop: &AtomicBool) -> Result<LoadOutcome> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Tool {
            tool: "tokio".into(),
            message: format!("starting the async runtime: {e}"),
        })?;
    rt.block_on(async {
        let (tx, rx) = tokio::sync::watch::channel(stop.load(Ordering::SeqCst));
        let run = client::run_load(plan, observer, rx);
        tokio::pin!(run);
        let mut tick = tokio::time::interval(Duration::from_millis(20));
        loop {
            tokio::select! {
                r = &mut run => break r,
                _ = tick.tick() => {
                    if stop.load(Ordering::SeqCst) {
                        let _ = tx.send(true);
                    }
                }
            }
        }
    })
}

/// The outcome as the embedding adapters hand it over (C's JSON string, Python's dict):
/// the results file's path (null when it was a temporary file: `kept` is None), whether
/// the run was interrupted, the max-rate search's answer, and the results themselves.
pub fn summary_json(o: &LoadOutcome, kept: Option<&Path>) -> serde_json::Value {
    serde_json::json!({
        "path": kept.map(|p| p.display().to_string()),
        "interrupted": o.interrupted,
        "max_rate_req_per_s": o.search.and_then(|s| s.best_req_per_s),
        "results": o.results,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> Error {
        match parse(text) {
            Err(e) => e,
            Ok(s) => plan(&s, Names::Fields, Vec::new()).err().expect("refused"),
        }
    }

    fn key(e: &Error) -> &str {
        match e {
            Error::Config { key, .. } => key,
            e => panic!("not a config error: {e}"),
        }
    }

    #[test]
    fn errors_name_the_field() {
        let with_url = |rest: &str| format!("url = \"http://127.0.0.1:9/v1\"\n{rest}");
        let cases = [
            (
                "concurrency = [1]\nconcurency = 4\n".to_owned(),
                "concurency",
            ),
            ("isl = \"long\"\n".to_owned(), "isl"),
            (with_url("isl = 0\nconcurrency = 1\n"), "isl"),
            (with_url("concurrency = [1, 0]\n"), "concurrency"),
            (with_url("concurrency = 1\nrate = 2.0\n"), "concurrency"),
            (with_url("rate = 1e-9\n"), "rate"),
            (with_url("rate = 1.0\ntimeout = \"soon\"\n"), "timeout"),
            (with_url("rate = 1.0\nslo = \"x=1\"\n"), "slo"),
            (with_url("find_max_rate = true\n"), "find_max_rate"),
            (with_url("rate = 1.0\nheaders = [\"nocolon\"]\n"), "headers"),
            (with_url("rate = 1.0\nextra_body = \"[1]\"\n"), "extra_body"),
            (with_url("rate = 1.0\nsalt = \"xyz\"\n"), "salt"),
            (with_url("rate = 1.0\nturns = 3\n"), "turns"),
            (with_url("rate = 1.0\nshards = 3\n"), "shards"),
            (with_url("rate = 1.0\nshard = \"5/3\"\n"), "shard"),
            (with_url("rate = 1.0\narrival = \"trace\"\n"), "arrival"),
            ("concurrency = 1\n".to_owned(), "url"),
        ];
        for (text, field) in &cases {
            let e = err(text);
            assert_eq!(key(&e), *field, "{text}: {e}");
        }
        let e = err("concurrency = 1\nconcurency = 4\n").to_string();
        assert!(
            e.starts_with("concurency: load spec line 2: unknown field"),
            "{e}"
        );
    }

    #[test]
    fn json_specs_name_the_field_too() {
        let e =
            parse_json(r#"{"url": "http://h/v1", "concurrency": [1], "osl": "x"}"#).unwrap_err();
        assert_eq!(key(&e), "osl", "{e}");
        let e = parse_json(r#"{"url": "u", "num_promts": 3}"#).unwrap_err();
        assert_eq!(key(&e), "num_promts", "{e}");
        let s = parse_any(r#"{"url": "u", "concurrency": 2, "model": null, "isl": 32}"#).unwrap();
        assert_eq!((s.concurrency, s.isl, s.model), (vec![2], 32, None));
        assert_eq!(s.osl, None, "left out: the default");
    }

    #[test]
    fn flags_style_names_flags() {
        let s =
            parse("url = \"u\"\nconcurrency = 1\nnum_prompts = 0\nheaders = [\"x\"]\n").unwrap();
        let e = plan(&s, Names::Flags, Vec::new())
            .err()
            .unwrap()
            .to_string();
        assert!(e.starts_with("--num-prompts: "), "{e}");
        assert_eq!(Names::Flags.of("headers"), "--header");
        assert_eq!(Names::Fields.of("max_client_lag_ms"), "max_client_lag_ms");
        let renamed = Names::Fields.rename(Error::config("--start-at", "bad"));
        assert_eq!(key(&renamed), "start_at");
    }

    #[test]
    fn a_spec_checks_into_levels_and_settings() {
        let s = parse(
            "url = \"http://127.0.0.1:9/v1\"\nconcurrency = [1, 4]\nisl = 64\nosl = 16\n\
             timeout = \"30s\"\nextra_body = { top_k = 1 }\nslo = \"ttft=200ms\"\n",
        )
        .unwrap();
        let c = check::check(&s, Names::Fields).unwrap();
        let closed = |c| crate::client::scheduler::Shape::Closed { concurrency: c };
        assert_eq!(c.levels, client::Levels::Shapes(vec![closed(1), closed(4)]));
        assert_eq!(c.timeout, Duration::from_secs(30));
        assert_eq!(c.extra_body["top_k"], serde_json::json!(1));
        assert!(c.slo.is_some() && c.worker.is_none());
    }

    #[test]
    fn a_server_tokenizer_needs_a_reachable_url() {
        // No tokenizer: the server's own is used, so a URL that is none is said to be
        // that, not a tokenizer problem.
        let s = parse("url = \"u\"\nconcurrency = 1\nout = \"/nonexistent/trtbench/r.json\"\n")
            .unwrap();
        let e = plan(&s, Names::Flags, Vec::new())
            .err()
            .unwrap()
            .to_string();
        assert!(e.starts_with("--url: u: not a URL"), "{e}");
    }
}
