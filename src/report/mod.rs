//! Reports: pure functions from records to bytes.

use crate::record::{Results, Status};

/// Markdown summary of every point (placeholder until the report module lands).
pub fn summary_table(r: &Results) -> String {
    let mut s = String::from("| engine | batch | isl | osl | prefill tok/s | decode tok/s | TTFT p50 ms | TPOT p50 ms | E2E p50 ms | status |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---|\n");
    for p in r
        .points
        .iter()
        .filter(|p| p.kind != crate::record::PointKind::Quality)
    {
        let g = |k: &str| {
            p.parameters
                .get(k)
                .map(|v| v.to_string().trim_matches('"').to_owned())
                .unwrap_or_default()
        };
        let m = |k: &str| {
            p.summary
                .get(k)
                .map(|s| format!("{:.1}", s.p50))
                .unwrap_or_else(|| "-".into())
        };
        let status = match p.status {
            Status::Ok => "ok".to_owned(),
            _ => p.error.clone().unwrap_or_default(),
        };
        s.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |\n",
            g("engine"),
            g("batch"),
            g("isl"),
            g("osl"),
            m("prefill_tok_per_s"),
            m("decode_tok_per_s"),
            m("ttft_ms"),
            m("tpot_ms"),
            m("e2e_ms"),
            status
        ));
    }
    s
}

pub mod quant;
