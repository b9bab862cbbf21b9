//! The framework lab's chart: output throughput against concurrency, one series per
//! framework and input length (the rows of the report's "Frameworks" table).

use super::selection::versus;
use super::Chart;
use crate::report::frameworks::lab_rows;
use crate::report::{Report, Row};

/// The chart, or `None` when no load level names its framework.
pub(super) fn chart(report: &Report) -> Option<Chart> {
    let rows = lab_rows(report)?;
    let refs: Vec<&Row> = rows.iter().collect();
    versus(
        report,
        &refs,
        "concurrency",
        &[("output_tok_per_s", "p50")],
        "Output throughput vs concurrency, by framework",
        "concurrency (in-process engine: batch)",
        "output tok/s (p50)",
    )
}
