//! `trtbench load` over https (issue 13.3): a local TLS front with a certificate made by
//! the test, in front of the stub server. `--cacert` trusts it, no flag refuses it naming
//! the URL, `--insecure` skips verification loudly and is recorded in the results.

use std::process::Output;
use std::time::Duration;

use crate::support::{stub, tls};
use crate::util::read_json;

struct Setup {
    _rt: tokio::runtime::Runtime,
    _stub: stub::Server,
    front: tls::Front,
    dir: tempfile::TempDir,
}

fn setup() -> Setup {
    setup_with(false)
}

fn setup_with(ca: bool) -> Setup {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let (stub, front) = rt.block_on(async {
        let stub = stub::Server::start(stub::Config::default(), 0)
            .await
            .unwrap();
        let front = tls::Front::start_with(stub.addr, ca).await.unwrap();
        (stub, front)
    });
    Setup {
        _rt: rt,
        _stub: stub,
        front,
        dir: tempfile::tempdir().unwrap(),
    }
}

fn load(s: &Setup, extra: &[&str]) -> Output {
    let data = s.dir.path().join("prompts.jsonl");
    std::fs::write(&data, "{\"prompt\": \"Tell me a story\"}\n").unwrap();
    assert_cmd::Command::cargo_bin("trtbench")
        .unwrap()
        .args(["load", "--url", &s.front.url(), "--concurrency", "1"])
        .args(["--num-prompts", "3", "--osl", "4", "--warmup", "0"])
        .arg("--dataset")
        .arg(&data)
        .arg("-o")
        .arg(s.dir.path().join("r.json"))
        .args(extra)
        // A proxy in the environment must not be used for a server on this machine.
        .env("HTTPS_PROXY", "http://127.0.0.1:9")
        .env("ALL_PROXY", "http://127.0.0.1:9")
        .timeout(Duration::from_secs(60))
        .output()
        .unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn cacert_trusts_a_self_signed_server() {
    let s = setup();
    let pem = s.dir.path().join("server.pem");
    s.front.write_cert(&pem);
    let o = load(&s, &["--cacert", pem.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let r = read_json(&s.dir.path().join("r.json"));
    let p = &r["points"][0];
    assert_eq!(p["status"], "ok", "{p}");
    assert_eq!(p["requests"].as_array().unwrap().len(), 3, "{p}");
    // The url is where it ran, not what ran: a note, out of the point's key.
    assert_eq!(p["notes"]["url"], s.front.url());
    assert!(p["parameters"].get("url").is_none(), "{p}");
    assert!(!p["key"].as_str().unwrap().contains("127.0.0.1"), "{p}");
    assert!(p["parameters"].get("tls_insecure").is_none(), "{p}");
}

/// A self-signed certificate that says CA:TRUE, as plain `openssl req -x509` makes it:
/// curl and Python accept it with --cacert, and so do we (webpki alone refuses a CA
/// certificate as the server's own: `CaUsedAsEndEntity`).
#[test]
fn cacert_trusts_a_self_signed_ca_certificate_as_openssl_makes_it() {
    let s = setup_with(true);
    let pem = s.dir.path().join("server.pem");
    s.front.write_cert(&pem);
    let o = load(&s, &["--cacert", pem.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let r = read_json(&s.dir.path().join("r.json"));
    assert_eq!(r["points"][0]["status"], "ok", "{r}");
    // Without it the same server is still refused.
    let o = load(&s, &[]);
    assert!(!o.status.success());
}

#[test]
fn untrusted_certificate_fails_naming_the_url() {
    let s = setup();
    let o = load(&s, &[]);
    assert!(!o.status.success());
    assert!(matches!(o.status.code(), Some(1 | 2)), "{}", stderr(&o));
    let e = stderr(&o);
    assert!(e.contains(&s.front.url()), "{e}");
    assert!(e.to_lowercase().contains("certificate"), "{e}");
}

#[test]
fn insecure_skips_verification_loudly_and_is_recorded() {
    let s = setup();
    let o = load(&s, &["--insecure"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("NOT verified"), "{}", stderr(&o));
    let p = &read_json(&s.dir.path().join("r.json"))["points"][0];
    assert_eq!(p["status"], "ok", "{p}");
    assert_eq!(p["parameters"]["tls_insecure"], true, "{p}");
}

#[test]
fn cacert_that_is_not_pem_is_bad_input_naming_it() {
    let s = setup();
    let bad = s.dir.path().join("not-a-cert.pem");
    std::fs::write(&bad, "hello\n").unwrap();
    let o = load(&s, &["--cacert", bad.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("not-a-cert.pem"), "{}", stderr(&o));
}
