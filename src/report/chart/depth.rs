//! Decode throughput against context depth (`--depth`): one series per engine and shape,
//! depth 0 being the points recorded without a depth. Drawn only when some point ran at a
//! depth above 0.

use super::selection::versus;
use super::Chart;
use crate::record::PointKind;
use crate::report::{param_f64, Report, Row};

/// The chart, or `None` when no engine point ran at depth.
pub(super) fn chart(report: &Report) -> Option<Chart> {
    let engine: Vec<&Row> = report.ok(PointKind::Engine).collect();
    if !engine
        .iter()
        .any(|r| param_f64(&r.point, "depth").is_some_and(|d| d > 0.0))
    {
        return None;
    }
    // Points without a depth ran on an empty cache: depth 0 on this chart.
    let rows: Vec<Row> = engine
        .iter()
        .map(|r| {
            let mut r = (*r).clone();
            r.point
                .parameters
                .entry("depth".into())
                .or_insert_with(|| 0.into());
            r
        })
        .collect();
    let refs: Vec<&Row> = rows.iter().collect();
    versus(
        report,
        &refs,
        "depth",
        &[("decode_tok_per_s", "p50")],
        "Decode throughput vs context depth",
        "context depth (tokens in the cache before the prompt)",
        "decode tok/s (p50)",
    )
}
