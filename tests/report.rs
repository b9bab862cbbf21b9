//! Reports, compare and env end to end: Markdown/CSV snapshots from a hand-made fixture,
//! the HTML report opened in headless Chromium, PNG charts, merging shards and devices,
//! and compare's exit codes on a constructed regression and on pure noise.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use assert_cmd::prelude::*;
use rand::SeedableRng;
use rand_distr::{Distribution, Normal};
use trtbench::bench::shard::{shard, ShardSpec};
use trtbench::record::{Point, PointKind, Results, RunRecord};
use trtbench::report::chart::PALETTE;
use trtbench::report::{csv, markdown, Report};
use trtbench::stats::summarize;

fn fixture_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/report_fixture.json")
}

fn fixture() -> Results {
    Results::load(&fixture_path()).expect("fixture loads")
}

fn trtbench() -> Command {
    Command::cargo_bin("trtbench").unwrap()
}

#[test]
fn markdown_snapshot() {
    let md = markdown::render(&Report::single(&fixture(), "report_fixture.json"));
    insta::assert_snapshot!("report_markdown", md);
}

#[test]
fn csv_snapshot() {
    let text = csv::render(&Report::single(&fixture(), "report_fixture.json"));
    // One header line and one line per point, each with the same number of fields.
    let r = fixture();
    assert_eq!(text.lines().count(), r.points.len() + 1);
    insta::assert_snapshot!("report_csv", text);
}

/// Three LoadGen runs (SingleStream VALID, Offline, Server INVALID on its TTFT limit)
/// imported from their logs (`tests/fixtures/loadgen`, see the README there), as one
/// results file with a fixed date and machine.
fn loadgen_results() -> Results {
    use trtbench::import::mlperf::{read_dir, RunParams};
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/loadgen");
    let mut r = Results::new(
        vec!["trtbench".into(), "mlperf".into()],
        serde_json::json!({"hostname": "fixture-host", "trtbench_version": "0.1.0"}),
    );
    r.created_unix_s = 1_750_000_000.0;
    for (run, batch) in [("single-stream", 1), ("offline", 4), ("server", 1)] {
        let params = RunParams {
            engine: "smollm2-135m-q4_1".into(),
            sut: "engine".into(),
            isl: Some(32),
            osl: Some(8),
            batch: Some(batch),
            samples: Some(8),
            dataset: None,
        };
        let mut p = read_dir(&dir.join(run), &params).unwrap();
        p.started_unix_s = 1_750_000_000.0;
        p.notes.insert("imported_from".into(), run.into());
        r.upsert(p);
    }
    r
}

/// LoadGen runs get a table of their own: scenario, mode, LoadGen's verdict, the
/// scenario's figure of merit, TTFT / TPOT at the target percentile and Server's limits,
/// under the label that none of it is an MLPerf result (and no row in "Load tests").
#[test]
fn loadgen_markdown_snapshot() {
    let md = markdown::render(&Report::single(&loadgen_results(), "loadgen.json"));
    assert!(
        md.contains("## LoadGen runs (not an MLPerf result)"),
        "{md}"
    );
    assert!(!md.contains("## Load tests"), "{md}");
    insta::assert_snapshot!("report_loadgen_markdown", md);
}

/// `compare` shows the LoadGen runs of both files side by side, base then new.
#[test]
fn compare_shows_loadgen_runs_of_both_files() {
    use trtbench::report::compare::{compare, render, Options};
    let base = loadgen_results();
    let mut new = loadgen_results();
    let ss = new
        .points
        .iter_mut()
        .find(|p| p.parameters["scenario"] == "SingleStream")
        .unwrap();
    ss.scalars.insert("mlperf_latency_p90_ms".into(), 999.0);
    let c = compare(&base, &new, &Options::default());
    let t = c.loadgen.as_ref().expect("a LoadGen table");
    assert_eq!(t.rows.len(), 6);
    let sides: Vec<&str> = t.rows.iter().map(|r| r[0].text.as_str()).collect();
    assert_eq!(sides, ["base", "new", "base", "new", "base", "new"]);
    let text = render(&c);
    assert!(
        text.contains("LoadGen runs (not an MLPerf result)"),
        "{text}"
    );
    assert!(text.contains("999.0") && text.contains("NOT met"), "{text}");
}

#[test]
fn markdown_entry_point_takes_results() {
    // The function the sweep prints at its end.
    let md = trtbench::report::markdown(&fixture());
    assert!(md.contains("## Engine runs") && md.contains("smollm-q4_0"));
}

// ---------------------------------------------------------------------------------------
// HTML in a browser

fn hex(c: (u8, u8, u8)) -> String {
    format!("#{:02X}{:02X}{:02X}", c.0, c.1, c.2)
}

/// Attributes of every `<tag ...>` element in `svg`.
fn elements<'a>(svg: &'a str, tag: &str) -> Vec<&'a str> {
    let open = format!("<{tag} ");
    svg.match_indices(&open)
        .map(|(i, _)| {
            let rest = &svg[i..];
            &rest[..rest.find('>').unwrap_or(rest.len())]
        })
        .collect()
}

fn attr<'a>(el: &'a str, name: &str) -> Option<&'a str> {
    let key = format!(" {name}=\"");
    let at = el.find(&key)? + key.len();
    let rest = &el[at..];
    Some(&rest[..rest.find('"')?])
}

/// True when the chart's SVG has data marks in a series colour: a line or point marker, or
/// a bar taller than the 12-pixel legend swatches.
fn has_data(svg: &str) -> bool {
    let palette: Vec<String> = PALETTE.iter().map(|&c| hex(c)).collect();
    let is_pal =
        |v: Option<&str>| v.is_some_and(|v| palette.iter().any(|p| p.eq_ignore_ascii_case(v)));
    elements(svg, "polyline").iter().any(|e| {
        is_pal(attr(e, "stroke"))
            && attr(e, "points").is_some_and(|p| p.split_whitespace().count() >= 2)
    }) || elements(svg, "circle")
        .iter()
        .any(|e| is_pal(attr(e, "fill")))
        || elements(svg, "rect").iter().any(|e| {
            is_pal(attr(e, "fill"))
                && attr(e, "height")
                    .and_then(|h| h.parse::<f64>().ok())
                    .is_some_and(|h| h > 12.0)
        })
}

fn chromium() -> Option<PathBuf> {
    ["chromium", "chromium-browser", "google-chrome"]
        .iter()
        .find_map(|name| {
            std::env::var_os("PATH").and_then(|paths| {
                std::env::split_paths(&paths)
                    .map(|d| d.join(name))
                    .find(|p| p.is_file())
            })
        })
}

/// Decodes a PNG into 8-bit RGB(A) pixels: (width, height, channels, bytes).
fn decode_png(path: &Path) -> (u32, u32, usize, Vec<u8>) {
    let mut dec = png::Decoder::new(std::fs::File::open(path).unwrap());
    dec.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
    let mut reader = dec.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).unwrap();
    let ch = info.color_type.samples();
    buf.truncate(info.buffer_size());
    (info.width, info.height, ch, buf)
}

/// (non-white share, pixels within a small distance of a palette colour).
fn pixel_stats(path: &Path) -> (f64, usize) {
    let (w, h, ch, buf) = decode_png(path);
    assert!(ch >= 3, "{} has {ch} channels", path.display());
    let mut non_white = 0usize;
    let mut palette = 0usize;
    for px in buf.chunks(ch) {
        let (r, g, b) = (px[0], px[1], px[2]);
        if r < 245 || g < 245 || b < 245 {
            non_white += 1;
        }
        if PALETTE
            .iter()
            .any(|&(pr, pg, pb)| r.abs_diff(pr) <= 8 && g.abs_diff(pg) <= 8 && b.abs_diff(pb) <= 8)
        {
            palette += 1;
        }
    }
    (non_white as f64 / (w as f64 * h as f64), palette)
}

#[test]
fn html_report_charts_have_data_and_render_in_chromium() {
    let _heavy = crate::util::heavy();
    let dir = tempfile::tempdir().unwrap();
    let prefix = dir.path().join("r");
    trtbench()
        .args([
            "report",
            fixture_path().to_str().unwrap(),
            "--html",
            "--out",
        ])
        .arg(&prefix)
        .assert()
        .success();
    let html_path = dir.path().join("r.html");
    let html = std::fs::read_to_string(&html_path).unwrap();

    // Self-contained: nothing is fetched.
    for needle in ["http://", "https://", "<script", "<link", "@import", "url("] {
        let stripped = html
            .replace("http://www.w3.org/2000/svg", "")
            .replace("http://127.0.0.1:8080/v1", "");
        assert!(!stripped.contains(needle), "HTML references {needle}");
    }
    // Every chart the fixture supports is there and has drawn data.
    let figures: Vec<&str> = html.split("<figure class=\"chart\"").skip(1).collect();
    let expected = [
        "decode-throughput-vs-batch",
        "prefill-throughput-vs-batch",
        "ttft-vs-input-length",
        "tpot-vs-input-length",
        "ttft-ms-percentiles",
        "itl-ms-percentiles",
        "memory-timeline-rss",
        "ttft-vs-concurrency",
        "tpot-vs-concurrency",
        "itl-vs-concurrency",
        "e2e-latency-vs-concurrency",
        "output-throughput-vs-concurrency",
        "quant-perplexity",
        "quant-size",
        "quant-decode-speed",
    ];
    for id in expected {
        assert!(
            html.contains(&format!("id=\"chart-{id}\"")),
            "chart {id} missing"
        );
    }
    for f in &figures {
        let body = &f[..f.find("</figure>").unwrap()];
        let id = attr(&format!(" {}", &body[..body.find('>').unwrap()]), "id")
            .unwrap_or("?")
            .to_owned();
        assert!(body.contains("<svg"), "{id}: no SVG (font missing?)");
        assert!(has_data(body), "{id}: no data drawn");
    }
    // Noisy figures are greyed with their interval in a tooltip.
    assert!(
        html.contains("class=\"num noisy\" title=\"p99"),
        "no greyed p99"
    );

    // Open it in Chromium and look at the pixels.
    let require = std::env::var_os("TRTBENCH_REQUIRE_CHROMIUM").is_some();
    let Some(browser) = chromium() else {
        assert!(!require, "TRTBENCH_REQUIRE_CHROMIUM is set but no chromium is on PATH (apt-get install chromium)");
        eprintln!("skipping the browser half: chromium not installed (set TRTBENCH_REQUIRE_CHROMIUM to make this fail)");
        return;
    };
    let shot = dir.path().join("shot.png");
    let profile = dir.path().join("profile");
    let out = Command::new(&browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
            "--window-size=1280,9000",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(format!("--screenshot={}", shot.display()))
        .arg(format!("file://{}", html_path.display()))
        .output()
        .expect("chromium runs");
    assert!(
        shot.is_file(),
        "no screenshot; chromium said: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    if let Some(keep) = std::env::var_os("TRTBENCH_KEEP_SCREENSHOT") {
        std::fs::copy(&shot, keep).unwrap();
    }
    let (non_white, palette) = pixel_stats(&shot);
    assert!(
        non_white > 0.03,
        "screenshot is nearly blank ({:.3} non-white)",
        non_white
    );
    // 15 charts with lines, markers and bars: thousands of series-coloured pixels.
    assert!(
        palette > 20_000,
        "only {palette} series-coloured pixels in the screenshot"
    );
}

#[test]
fn png_charts_are_written_and_drawn() {
    let _heavy = crate::util::heavy();
    let dir = tempfile::tempdir().unwrap();
    let prefix = dir.path().join("r");
    trtbench()
        .args([
            "report",
            fixture_path().to_str().unwrap(),
            "--png",
            "--md",
            "--csv",
            "--out",
        ])
        .arg(&prefix)
        .assert()
        .success();
    assert!(dir.path().join("r.md").is_file() && dir.path().join("r.csv").is_file());
    let pngs: Vec<PathBuf> = std::fs::read_dir(dir.path().join("r-charts"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert!(pngs.len() >= 15, "{} charts", pngs.len());
    for p in pngs {
        let (w, h, _, _) = decode_png(&p);
        assert_eq!((w, h), trtbench::report::chart::SIZE);
        let (non_white, palette) = pixel_stats(&p);
        assert!(
            non_white > 0.01 && palette > 100,
            "{}: {non_white} {palette}",
            p.display()
        );
    }
}

// ---------------------------------------------------------------------------------------
// Shards and devices

#[test]
fn shards_merge_back_into_the_same_report() {
    let full = fixture();
    let dir = tempfile::tempdir().unwrap();
    let mut files = Vec::new();
    for i in 1..=3 {
        let mut part = full.clone();
        part.points = shard(full.points.clone(), ShardSpec::new(i, 3).unwrap());
        let path = dir.path().join(format!("shard{i}.json"));
        part.save(&path).unwrap();
        files.push(path);
    }
    let out = trtbench().arg("report").args(&files).output().unwrap();
    assert!(out.status.success());
    let merged = String::from_utf8(out.stdout).unwrap();
    let single = markdown::render(&Report::single(&full, "x"));
    // Same tables, only the list of sources differs.
    let body = |s: &str| s[s.find("## Engine runs").unwrap()..].to_owned();
    assert_eq!(body(&merged), body(&single));
    assert_eq!(merged.matches("on **fixture-host**").count(), 3);

    // A second device: its points are told apart by a `device` column.
    let mut other = full.clone();
    other.environment["hostname"] = serde_json::json!("jetson-1");
    let p2 = dir.path().join("jetson.json");
    other.save(&p2).unwrap();
    let out = trtbench()
        .arg("report")
        .arg(&files[0])
        .arg(&p2)
        .output()
        .unwrap();
    let md = String::from_utf8(out.stdout).unwrap();
    assert!(md.contains("| device "), "{md}");
    assert!(md.contains("| jetson-1 ") && md.contains("| fixture-host "));
}

// ---------------------------------------------------------------------------------------
// compare

/// An engine results file whose decode speed per run is drawn from N(mean, sd²).
fn synthetic(mean_tok_s: f64, sd: f64, runs: usize, seed: u64) -> Results {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let normal = Normal::new(mean_tok_s, sd).unwrap();
    let mut r = Results::new(vec!["test".into()], serde_json::json!({"hostname": "ci"}));
    for batch in [1u32, 4] {
        let mut params = BTreeMap::new();
        params.insert("engine".to_string(), serde_json::json!("e"));
        params.insert("batch".to_string(), serde_json::json!(batch));
        let recs: Vec<RunRecord> = (0..runs)
            .map(|_| {
                let tok_s = normal.sample(&mut rng) * f64::from(batch);
                let decode_ms = 127.0 * 1000.0 / tok_s;
                RunRecord {
                    prefill_ms: 20.0,
                    ttft_ms: 20.0,
                    e2e_ms: 20.0 + decode_ms,
                    tpot_ms: Some(decode_ms / 127.0),
                    itl_ms: vec![],
                    prefill_tok_per_s: 6400.0,
                    decode_tok_per_s: Some(tok_s),
                    output_tok_per_s: 128.0 * 1000.0 / (20.0 + decode_ms),
                    requests_per_s: 1000.0 / (20.0 + decode_ms),
                    output_tokens: 128,
                    input_tokens: 128,
                    peak_rss_bytes: None,
                    spec: None,
                }
            })
            .collect();
        let mut summary = BTreeMap::new();
        let dec: Vec<f64> = recs.iter().filter_map(|x| x.decode_tok_per_s).collect();
        summary.insert(
            "decode_tok_per_s".into(),
            summarize(&dec, "tok/s", None).unwrap(),
        );
        let e2e: Vec<f64> = recs.iter().map(|x| x.e2e_ms).collect();
        summary.insert("e2e_ms".into(), summarize(&e2e, "ms", None).unwrap());
        let mut p = Point::new(PointKind::Engine, params);
        p.wall_s = 1.0;
        p.warmup_runs = 1;
        p.runs = recs;
        p.summary = summary;
        r.upsert(p);
    }
    r
}

fn compare_files(base: &Results, new: &Results, extra: &[&str]) -> std::process::Output {
    let dir = tempfile::tempdir().unwrap();
    let (b, n) = (dir.path().join("base.json"), dir.path().join("new.json"));
    base.save(&b).unwrap();
    new.save(&n).unwrap();
    trtbench()
        .arg("compare")
        .arg(&b)
        .arg(&n)
        .args(extra)
        .output()
        .unwrap()
}

#[test]
fn compare_passes_on_pure_noise() {
    // Same distribution (1 % run-to-run spread), different seeds.
    let out = compare_files(
        &synthetic(100.0, 1.0, 20, 1),
        &synthetic(100.0, 1.0, 20, 2),
        &["--fail-if-slower", "5%"],
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("gate: PASS"), "{text}");
    assert!(!text.contains("REGRESSED"), "{text}");
}

#[test]
fn compare_fails_on_a_real_regression() {
    // 10 % slower decode: significant, beyond the noise floor, beyond the 5 % gate.
    let out = compare_files(
        &synthetic(100.0, 1.0, 20, 1),
        &synthetic(90.0, 1.0, 20, 2),
        &["--fail-if-slower", "5%"],
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("REGRESSED (fails gate)"), "{text}");
    assert!(text.contains("gate: FAIL"), "{text}");
    // E2E got longer, which is also worse: direction is per metric.
    let e2e_line = text.lines().find(|l| l.contains("| e2e_ms")).unwrap();
    assert!(e2e_line.contains("REGRESSED"), "{e2e_line}");

    // The same 10 % change passes a 15 % gate, and a faster build is an improvement.
    let out = compare_files(
        &synthetic(100.0, 1.0, 20, 1),
        &synthetic(90.0, 1.0, 20, 2),
        &["--fail-if-slower", "15%"],
    );
    assert_eq!(out.status.code(), Some(0));
    let out = compare_files(
        &synthetic(90.0, 1.0, 20, 1),
        &synthetic(100.0, 1.0, 20, 2),
        &["--fail-if-slower", "5%"],
    );
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).contains("improved"));
}

#[test]
fn compare_refuses_files_with_nothing_in_common() {
    let mut other = synthetic(100.0, 1.0, 10, 3);
    for p in &mut other.points {
        p.key.push_str(",engine=other");
    }
    let out = compare_files(
        &synthetic(100.0, 1.0, 10, 1),
        &other,
        &["--fail-if-slower", "5%"],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("nothing was compared"));
}

#[test]
fn compare_fixture_against_itself_is_no_change() {
    let out = trtbench()
        .arg("compare")
        .arg(fixture_path())
        .arg(fixture_path())
        .args(["--fail-if-slower", "1%"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(
        !text.contains("REGRESSED") && !text.contains("improved |"),
        "{text}"
    );
    assert!(!text.contains("only in base"));
}

// ---------------------------------------------------------------------------------------
// env

#[test]
fn env_prints_a_fingerprint() {
    let out = trtbench().args(["env", "--json"]).output().unwrap();
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(v["cpu_logical_cores"].as_u64().unwrap() >= 1);
    assert_eq!(v["trtbench_version"], env!("CARGO_PKG_VERSION"));
    assert!(v["kernel"].is_string() && v["ram_total_bytes"].as_u64().unwrap() > 0);
    assert!(v["warnings"].is_array());
    assert!(v["llama_cpp"].as_str().unwrap().contains("llama.cpp"));
}
