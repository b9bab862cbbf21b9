//! Charts: which charts a report has (built from its points) and how they are drawn with
//! `plotters`, as SVG text for the HTML report or as PNG files. Each chart is a plain spec
//! (series of points with optional interval bars), defined here; `selection` and
//! `quant` build specs from report rows, `draw` draws a spec for both backends without
//! knowing where it came from, and `font` finds the TrueType font chart text needs
//! (Debian's `fonts-dejavu-core`, or `$TRTBENCH_FONT`); without one, charts fail with an
//! error naming what to install. Series colours are the Tableau 10 palette, so a test can
//! tell data marks from axes. Depends on `record` and the rest of `report` only.

mod depth;
mod draw;
mod font;
mod frameworks;
mod quant;
mod selection;

pub use draw::{png, svg};
pub use font::{ensure_font, FONT_CANDIDATES};

use selection::{percentiles, timeline, versus};

use super::{Report, Row};
use crate::record::{PointKind, Status};

/// Series colours (Tableau 10), in order.
pub const PALETTE: [(u8, u8, u8); 10] = [
    (0x4E, 0x79, 0xA7),
    (0xF2, 0x8E, 0x2B),
    (0xE1, 0x57, 0x59),
    (0x76, 0xB7, 0xB2),
    (0x59, 0xA1, 0x4F),
    (0xED, 0xC9, 0x48),
    (0xB0, 0x7A, 0xA1),
    (0xFF, 0x9D, 0xA7),
    (0x9C, 0x75, 0x5F),
    (0xBA, 0xB0, 0xAC),
];

/// Most series drawn in one chart; the rest are named in the chart's note.
pub const MAX_SERIES: usize = 10;

/// Pixel size of every chart.
pub const SIZE: (u32, u32) = (1100, 500);

/// One point of a series, with an optional 95 % interval.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Xy {
    pub x: f64,
    pub y: f64,
    pub ci: Option<[f64; 2]>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub name: String,
    pub points: Vec<Xy>,
}

/// How the x axis is laid out.
#[derive(Debug, Clone, PartialEq)]
pub enum XAxis {
    /// Numeric, evenly scaled.
    Linear,
    /// Categories at x = 0, 1, 2, ... with these labels (batch sizes, lengths, quant names).
    Categories(Vec<String>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    Lines,
    Bars,
}

/// A chart to draw.
#[derive(Debug, Clone, PartialEq)]
pub struct Chart {
    /// File-name-safe identifier (`decode-tok-per-s-vs-batch`).
    pub id: String,
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    pub x_axis: XAxis,
    pub style: Style,
    pub series: Vec<Series>,
    /// Shown under the chart (what was left out, how figures were chosen).
    pub note: Option<String>,
}

/// Every chart the report's data supports, in display order. A chart without data is
/// left out, so each returned chart has at least one point.
pub fn charts(report: &Report) -> Vec<Chart> {
    let mut out = engine_charts(report);
    out.push(depth::chart(report));
    out.extend(timelines(report));
    out.extend(load_charts(report));
    out.push(frameworks::chart(report));
    out.into_iter()
        .flatten()
        .chain(quant::charts(report))
        .collect()
}

/// Engine sweeps: throughput and latency against batch and input length, then the
/// latency percentiles of each point.
fn engine_charts(report: &Report) -> Vec<Option<Chart>> {
    let engine: Vec<&Row> = report.ok(PointKind::Engine).collect();
    let mut out: Vec<Option<Chart>> = vec![
        versus(
            report,
            &engine,
            "batch",
            &[("decode_tok_per_s", "p50")],
            "Decode throughput vs batch",
            "batch",
            "decode tok/s (p50)",
        ),
        versus(
            report,
            &engine,
            "batch",
            &[("prefill_tok_per_s", "p50")],
            "Prefill throughput vs batch",
            "batch",
            "prefill tok/s (p50)",
        ),
        versus(
            report,
            &engine,
            "isl",
            &[("ttft_ms", "p50")],
            "TTFT vs input length",
            "input tokens",
            "TTFT ms (p50)",
        ),
        versus(
            report,
            &engine,
            "isl",
            &[("tpot_ms", "p50")],
            "TPOT vs input length",
            "input tokens",
            "TPOT ms (p50)",
        ),
        versus(
            report,
            &engine,
            "batch",
            &[("tok_per_j", "p50")],
            "Energy efficiency vs batch",
            "batch",
            "output tokens per joule",
        ),
    ];
    for m in ["ttft_ms", "tpot_ms", "itl_ms", "e2e_ms"] {
        out.push(percentiles(report, &engine, m));
    }
    out
}

/// RSS, device memory and power over each finished point's run.
fn timelines(report: &Report) -> [Option<Chart>; 3] {
    let all_ok: Vec<&Row> = report
        .rows
        .iter()
        .filter(|r| r.point.status == Status::Ok)
        .collect();
    [
        timeline(&all_ok, "Memory timeline (RSS)", "RSS MiB", |s| {
            s.rss_bytes.map(|b| b as f64 / 1048576.0)
        }),
        timeline(&all_ok, "Device memory timeline", "device MiB", |s| {
            s.device_bytes.map(|b| b as f64 / 1048576.0)
        }),
        timeline(&all_ok, "Power timeline", "watts", |s| s.power_w),
    ]
}

/// Load tests: latencies (p50 and p99) and output throughput against concurrency, or
/// against request rate when no point set a concurrency.
fn load_charts(report: &Report) -> Vec<Option<Chart>> {
    let load: Vec<&Row> = report.ok(PointKind::Load).collect();
    let mut out = Vec::new();
    let x = if load
        .iter()
        .any(|r| r.point.parameters.contains_key("concurrency"))
    {
        "concurrency"
    } else {
        "rate"
    };
    let xl = if x == "rate" {
        "request rate (req/s)"
    } else {
        "concurrency"
    };
    for (metric, title, y) in [
        ("ttft_ms", "TTFT", "TTFT ms"),
        ("tpot_ms", "TPOT", "TPOT ms"),
        ("itl_ms", "ITL", "ITL ms"),
        ("e2e_ms", "E2E latency", "E2EL ms"),
    ] {
        out.push(versus(
            report,
            &load,
            x,
            &[(metric, "p50"), (metric, "p99")],
            &format!("{title} vs {x}"),
            xl,
            y,
        ));
    }
    out.push(versus(
        report,
        &load,
        x,
        &[("output_tok_per_s", "p50")],
        &format!("Output throughput vs {x}"),
        xl,
        "output tok/s",
    ));
    out
}
