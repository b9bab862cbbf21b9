//! The quantization-impact table: per engine, size on disk, prefill and decode speed at a
//! point every engine ran, and perplexity, with ratios against a baseline engine
//! ("q4_0 vs q8_0: 1.40x decode, -38% size, +3.1% ppl").

use std::collections::BTreeMap;

use crate::record::{Point, PointKind, Results, Status};

#[derive(Debug, Default, Clone)]
struct Row {
    quant: String,
    size_bytes: Option<u64>,
    prefill: Option<f64>,
    decode: Option<f64>,
    ppl: Option<f64>,
}

/// The (batch, isl, osl) of an engine point: speeds are compared at one shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Shape {
    batch: u64,
    isl: u64,
    osl: u64,
}

impl Shape {
    fn of(p: &Point) -> Option<Shape> {
        let get = |k: &str| p.parameters.get(k).and_then(|v| v.as_u64());
        Some(Shape {
            batch: get("batch")?,
            isl: get("isl")?,
            osl: get("osl")?,
        })
    }
}

fn engine_of(p: &Point) -> Option<String> {
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
    let (mut rows, order) = engine_rows(r);
    let has_ppl = rows.values().any(|r| r.ppl.is_some());
    if order.len() < 2 && !has_ppl {
        return None;
    }
    let engine_points: Vec<&Point> = r
        .points
        .iter()
        .filter(|p| p.status == Status::Ok && p.kind == PointKind::Engine)
        .collect();
    let shape = common_shape(&engine_points, &order);
    if let Some(s) = shape {
        for p in engine_points.iter().filter(|p| Shape::of(p) == Some(s)) {
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
    Some(render(&rows, &order, &base_name, shape))
}

/// One row per engine with its quant, size and perplexity (speeds are filled in later),
/// and the engines in first-seen order.
fn engine_rows(r: &Results) -> (BTreeMap<String, Row>, Vec<String>) {
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
    (rows, order)
}

/// The reference point: a shape every engine with speed points ran; smallest batch first,
/// then the longest prompt and output.
fn common_shape(engine_points: &[&Point], order: &[String]) -> Option<Shape> {
    let mut shapes: Vec<Shape> = engine_points.iter().filter_map(|p| Shape::of(p)).collect();
    shapes.sort_by(|a, b| {
        a.batch
            .cmp(&b.batch)
            .then(b.isl.cmp(&a.isl))
            .then(b.osl.cmp(&a.osl))
    });
    shapes.dedup();
    let with_speed: Vec<&String> = order
        .iter()
        .filter(|e| {
            engine_points
                .iter()
                .any(|p| engine_of(p).as_ref() == Some(e))
        })
        .collect();
    shapes.into_iter().find(|s| {
        with_speed.iter().all(|e| {
            engine_points
                .iter()
                .any(|p| engine_of(p).as_ref() == Some(e) && Shape::of(p) == Some(*s))
        })
    })
}

fn render(
    rows: &BTreeMap<String, Row>,
    order: &[String],
    base_name: &str,
    shape: Option<Shape>,
) -> String {
    let base = &rows[base_name];
    let mut out = String::from("## Quantization impact\n\n");
    match shape {
        Some(Shape { batch, isl, osl }) => out.push_str(&format!(
            "Speed at batch {batch}, isl {isl}, osl {osl} (p50); baseline: {base_name}.\n\n"
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
    for name in order {
        let row = &rows[name];
        out.push_str(&format!(
            "| {name} | {} | {} | {} | {} | {} | {} |\n",
            row.quant,
            row.size_bytes
                .map(crate::units::human_bytes)
                .unwrap_or_else(|| "-".into()),
            f(row.prefill, 1),
            f(row.decode, 1),
            f(row.ppl, 3),
            if name == base_name {
                "baseline".to_owned()
            } else {
                vs_baseline(row, base)
            }
        ));
    }
    out
}

/// "1.40x decode, -38% size, +3.1% ppl": each figure both sides have.
fn vs_baseline(row: &Row, base: &Row) -> String {
    let mut vs = Vec::new();
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
    vs.join(", ")
}
