//! Quantisation charts: perplexity, size on disk and decode speed as bars with one slot
//! per quantisation seen in the quality or engine points, in first-seen order.

use std::collections::{BTreeMap, BTreeSet};

use super::{Chart, Series, Style, XAxis, Xy};
use crate::record::PointKind;
use crate::report::{engine_bytes, param_f64, quant, Report, Row};

/// Quantisation impact: perplexity, size on disk and decode speed per quantisation. None
/// when there is a single quantisation and no perplexity to show.
pub(super) fn charts(report: &Report) -> Vec<Chart> {
    let quality: Vec<&Row> = report.ok(PointKind::Quality).collect();
    let engine: Vec<&Row> = report.ok(PointKind::Engine).collect();
    let mut cats: Vec<String> = quality
        .iter()
        .chain(&engine)
        .filter_map(|r| quant(&r.point))
        .collect();
    let mut seen = BTreeSet::new();
    cats.retain(|c| seen.insert(c.clone()));
    if cats.len() < 2 && quality.is_empty() {
        return Vec::new();
    }
    let bar = |id: &str, title: &str, y_label: &str, pts: Vec<Xy>, note: Option<&str>| {
        (!pts.is_empty()).then(|| Chart {
            id: id.into(),
            title: title.into(),
            x_label: "quantisation".into(),
            y_label: y_label.into(),
            x_axis: XAxis::Categories(cats.clone()),
            style: Style::Bars,
            series: vec![Series {
                name: y_label.into(),
                points: pts,
            }],
            note: note.map(str::to_owned),
        })
    };
    let all: Vec<&Row> = quality.iter().chain(&engine).copied().collect();
    [
        bar(
            "quant-perplexity",
            "Perplexity by quantisation",
            "perplexity (lower is better)",
            perplexity(&quality, &cats),
            None,
        ),
        bar(
            "quant-size",
            "Engine size by quantisation",
            "MiB on disk",
            size_mib(&all, &cats),
            None,
        ),
        bar(
            "quant-decode-speed",
            "Decode speed by quantisation",
            "decode tok/s p50",
            decode_speed(report, &engine, &cats),
            Some("each quantisation at its smallest batch and input length"),
        ),
    ]
    .into_iter()
    .flatten()
    .collect()
}

/// The x position of a quantisation's slot.
fn slot(cats: &[String], c: &str) -> Option<f64> {
    cats.iter().position(|x| x == c).map(|i| i as f64)
}

/// Perplexity with its 95 % interval, one quality point per quantisation: the first.
fn perplexity(quality: &[&Row], cats: &[String]) -> Vec<Xy> {
    let mut ppl: BTreeMap<String, Xy> = BTreeMap::new();
    for r in quality {
        if let (Some(c), Some(&v)) = (quant(&r.point), r.point.scalars.get("perplexity")) {
            let se = r.point.scalars.get("perplexity_stderr").copied();
            ppl.entry(c.clone()).or_insert(Xy {
                x: slot(cats, &c).unwrap_or(0.0),
                y: v,
                ci: se.map(|s| [v - 1.96 * s, v + 1.96 * s]),
            });
        }
    }
    ppl.into_values().collect()
}

/// Engine size on disk in MiB, from the first point of each quantisation with a manifest.
fn size_mib(rows: &[&Row], cats: &[String]) -> Vec<Xy> {
    let mut size: BTreeMap<String, Xy> = BTreeMap::new();
    for r in rows {
        if let (Some(c), Some(b)) = (quant(&r.point), engine_bytes(&r.point)) {
            size.entry(c.clone()).or_insert(Xy {
                x: slot(cats, &c).unwrap_or(0.0),
                y: b as f64 / (1024.0 * 1024.0),
                ci: None,
            });
        }
    }
    size.into_values().collect()
}

/// Decode speed p50 at each quantisation's smallest batch (then shortest input), so the
/// bars compare like with like.
fn decode_speed(report: &Report, engine: &[&Row], cats: &[String]) -> Vec<Xy> {
    let mut best: BTreeMap<String, (f64, f64, &Row)> = BTreeMap::new();
    for r in engine {
        let (Some(c), Some(_)) = (
            quant(&r.point),
            report.figure(&r.point, "decode_tok_per_s", "p50"),
        ) else {
            continue;
        };
        let b = param_f64(&r.point, "batch").unwrap_or(f64::INFINITY);
        let l = param_f64(&r.point, "isl").unwrap_or(f64::INFINITY);
        let e = best.entry(c).or_insert((b, l, r));
        if (b, l) < (e.0, e.1) {
            *e = (b, l, r);
        }
    }
    best.iter()
        .filter_map(|(c, (_, _, r))| {
            let f = report.figure(&r.point, "decode_tok_per_s", "p50")?;
            Some(Xy {
                x: slot(cats, c)?,
                y: f.value,
                ci: f.ci,
            })
        })
        .collect()
}
