//! The quantization-impact table: per engine, size on disk, prefill and decode speed at a
//! point every engine ran, and perplexity, with ratios against a baseline engine
//! ("q4_0 vs q8_0: 1.40x decode, -38% size, +3.1% ppl").

use std::collections::BTreeMap;

use crate::record::{PointKind, Results, Status};

#[derive(Debug, Default, Clone)]
struct Row {
    quant: String,
    size_bytes: Option<u64>,
    prefill: Option<f64>,
    decode: Option<f64>,
    ppl: Option<f64>,
}

fn param_u64(p: &crate::record::Point, k: &str) -> Option<u64> {
    p.parameters.get(k).and_then(|v| v.as_u64())
}

fn engine_of(p: &crate::record::Point) -> Option<String> {
    p.parameters
        .get("engine")
        .and_then(|v| v.as_str())
        .map(str::to_owned)
}

fn size_of(engine: &serde_json::Value) -> Option<u64> {
    let files = engine.get("files")?.as_array()?;
    Some(files.iter().filter_map(|f| f.get("bytes")?.as_u64()).sum())
}

/// Renders the table, or `None` when there is nothing to compare (one engine and no
/// perplexity).
pub fn impact_table(r: &Results, baseline: Option<&str>) -> Option<String> {
    let mut rows: BTreeMap<String, Row> = BTreeMap::new();
    let mut order: Vec<String> = Vec::new();
    for p in r.points.iter().filter(|p| p.status == Status::Ok) {
        let Some(name) = engine_of(p) else { continue };
        if !order.contains(&name) {
            order.push(name.clone());
        }
        let row = rows.entry(name).or_default();
        if let Some(e) = &p.engine {
            row.quant = e
                .get("quant")
                .and_then(|q| q.as_str())
                .unwrap_or("")
                .to_owned();
            row.size_bytes = size_of(e);
        }
        if p.kind == PointKind::Quality {
            row.ppl = p.scalars.get("perplexity").copied();
        }
    }
    let has_ppl = rows.values().any(|r| r.ppl.is_some());
    if order.len() < 2 && !has_ppl {
        return None;
    }
    // The reference point: a (batch, isl, osl) every engine ran; smallest batch first,
    // then the longest prompt and output.
    let engine_points: Vec<_> = r
        .points
        .iter()
        .filter(|p| p.status == Status::Ok && p.kind == PointKind::Engine)
        .collect();
    let mut shapes: Vec<(u64, u64, u64)> = engine_points
        .iter()
        .filter_map(|p| {
            Some((
                param_u64(p, "batch")?,
                param_u64(p, "isl")?,
                param_u64(p, "osl")?,
            ))
        })
        .collect();
    shapes.sort_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)).then(b.2.cmp(&a.2)));
    shapes.dedup();
    let with_speed: Vec<&String> = order
        .iter()
        .filter(|e| {
            engine_points
                .iter()
                .any(|p| engine_of(p).as_ref() == Some(e))
        })
        .collect();
    let shape = shapes.into_iter().find(|s| {
        with_speed.iter().all(|e| {
            engine_points.iter().any(|p| {
                engine_of(p).as_ref() == Some(e)
                    && (
                        param_u64(p, "batch"),
                        param_u64(p, "isl"),
                        param_u64(p, "osl"),
                    ) == (Some(s.0), Some(s.1), Some(s.2))
            })
        })
    });
    if let Some(s) = shape {
        for p in &engine_points {
            if (
                param_u64(p, "batch"),
                param_u64(p, "isl"),
                param_u64(p, "osl"),
            ) != (Some(s.0), Some(s.1), Some(s.2))
            {
                continue;
            }
            if let Some(row) = engine_of(p).and_then(|e| rows.get_mut(&e)) {
                row.prefill = p.summary.get("prefill_tok_per_s").map(|s| s.p50);
                row.decode = p.summary.get("decode_tok_per_s").map(|s| s.p50);
            }
        }
    }
    let base_name = baseline
        .filter(|b| rows.contains_key(*b))
        .map(str::to_owned)
        .unwrap_or_else(|| order[0].clone());
    let base = rows[&base_name].clone();

    let mut out = String::from("## Quantization impact\n\n");
    match shape {
        Some((b, i, o)) => out.push_str(&format!(
            "Speed at batch {b}, isl {i}, osl {o} (p50); baseline: {base_name}.\n\n"
        )),
        None => out.push_str(&format!(
            "No (batch, isl, osl) point was run by every engine, so speed is not compared; baseline: {base_name}.\n\n"
        )),
    }
    out.push_str(
        "| engine | quant | size | prefill tok/s | decode tok/s | perplexity | vs baseline |\n",
    );
    out.push_str("|---|---|---:|---:|---:|---:|---|\n");
    let f = |v: Option<f64>, d: usize| v.map(|x| format!("{x:.d$}")).unwrap_or_else(|| "-".into());
    for name in &order {
        let row = &rows[name];
        let mut vs = Vec::new();
        if name != &base_name {
            if let (Some(a), Some(b)) = (row.prefill, base.prefill) {
                vs.push(format!("{:.2}x prefill", a / b));
            }
            if let (Some(a), Some(b)) = (row.decode, base.decode) {
                vs.push(format!("{:.2}x decode", a / b));
            }
            if let (Some(a), Some(b)) = (row.size_bytes, base.size_bytes) {
                vs.push(format!("{:+.0}% size", (a as f64 / b as f64 - 1.0) * 100.0));
            }
            if let (Some(a), Some(b)) = (row.ppl, base.ppl) {
                vs.push(format!("{:+.1}% ppl", (a / b - 1.0) * 100.0));
            }
        }
        out.push_str(&format!(
            "| {name} | {} | {} | {} | {} | {} | {} |\n",
            row.quant,
            row.size_bytes
                .map(crate::units::human_bytes)
                .unwrap_or_else(|| "-".into()),
            f(row.prefill, 1),
            f(row.decode, 1),
            f(row.ppl, 3),
            if name == &base_name {
                "baseline".to_owned()
            } else {
                vs.join(", ")
            }
        ));
    }
    Some(out)
}
