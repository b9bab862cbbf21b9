//! CSV export: one row per point (every file, every status), parameters as columns, then
//! every statistic of every metric with the 95 % intervals of p50 and p99, scalars and
//! memory. RFC 4180 quoting. Units are in the column names.

use std::collections::BTreeSet;

use super::{engine_bytes, ordered_params, param_str, quant, stat_of, Report, Row};

const STATS: [&str; 9] = [
    "n", "mean", "stddev", "min", "p50", "p90", "p95", "p99", "max",
];

fn quote(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}

fn num(v: f64) -> String {
    if v.is_finite() {
        // Shortest text that round-trips (Rust's `{}` for f64), so no precision is lost.
        format!("{v}")
    } else {
        String::new()
    }
}

/// The columns that vary with the data: parameters, then metrics with a distribution,
/// then scalars, each as seen in any point.
struct Columns<'a> {
    params: Vec<String>,
    metrics: BTreeSet<&'a str>,
    scalars: BTreeSet<&'a str>,
}

/// Renders the report as CSV (header line + one line per point).
pub fn render(report: &Report) -> String {
    let cols = Columns {
        params: ordered_params(report.rows.iter()),
        metrics: report
            .rows
            .iter()
            .flat_map(|r| r.point.summary.keys().map(String::as_str))
            .collect(),
        scalars: report
            .rows
            .iter()
            .flat_map(|r| r.point.scalars.keys().map(String::as_str))
            .collect(),
    };
    let mut out = header(&cols)
        .iter()
        .map(|h| quote(h))
        .collect::<Vec<_>>()
        .join(",");
    out.push('\n');
    for r in &report.rows {
        out.push_str(
            &row(report, r, &cols)
                .iter()
                .map(|c| quote(c))
                .collect::<Vec<_>>()
                .join(","),
        );
        out.push('\n');
    }
    out
}

fn header(cols: &Columns) -> Vec<String> {
    let mut header: Vec<String> = ["file", "key", "kind", "status", "error"]
        .map(String::from)
        .to_vec();
    header.extend(cols.params.iter().cloned());
    header.extend(["quant", "engine_bytes", "runs", "requests", "requests_ok"].map(String::from));
    for m in &cols.metrics {
        for s in STATS {
            header.push(format!("{m}_{s}"));
            if s == "p50" || s == "p99" {
                header.push(format!("{m}_{s}_ci95_lo"));
                header.push(format!("{m}_{s}_ci95_hi"));
            }
        }
    }
    header.extend(cols.scalars.iter().map(|s| s.to_string()));
    header.extend(
        [
            "weights_bytes",
            "kv_formula_bytes",
            "kv_allocated_bytes",
            "peak_rss_bytes",
            "peak_device_bytes",
            "timeline_samples",
            "vanilla_twin",
        ]
        .map(String::from),
    );
    header
}

/// One point's fields, in [`header`]'s order; absent values are empty.
fn row(report: &Report, r: &Row, cols: &Columns) -> Vec<String> {
    let p = &r.point;
    let mut row: Vec<String> = vec![
        report.sources[r.source].file.clone(),
        p.key.clone(),
        format!("{:?}", p.kind).to_lowercase(),
        format!("{:?}", p.status).to_lowercase(),
        p.error.clone().unwrap_or_default(),
    ];
    row.extend(cols.params.iter().map(|k| {
        let v = param_str(p, k);
        if v == "-" && !p.parameters.contains_key(k) {
            String::new()
        } else {
            v
        }
    }));
    row.push(quant(p).unwrap_or_default());
    row.push(engine_bytes(p).map(|b| b.to_string()).unwrap_or_default());
    row.push(p.runs.len().to_string());
    row.push(p.requests.len().to_string());
    row.push(
        p.requests
            .iter()
            .filter(|q| q.error.is_none())
            .count()
            .to_string(),
    );
    for m in &cols.metrics {
        let s = p.summary.get(*m);
        for st in STATS {
            row.push(s.and_then(|s| stat_of(s, st)).map(num).unwrap_or_default());
            if st == "p50" || st == "p99" {
                let ci = s.and_then(|_| report.figure(p, m, st)).and_then(|f| f.ci);
                row.push(ci.map(|c| num(c[0])).unwrap_or_default());
                row.push(ci.map(|c| num(c[1])).unwrap_or_default());
            }
        }
    }
    row.extend(
        cols.scalars
            .iter()
            .map(|k| p.scalars.get(*k).map(|v| num(*v)).unwrap_or_default()),
    );
    let m = &p.memory;
    for v in [
        m.weights_bytes,
        m.kv_formula_bytes,
        m.kv_allocated_bytes,
        m.peak_rss_bytes,
        m.peak_device_bytes,
    ] {
        row.push(v.map(|b| b.to_string()).unwrap_or_default());
    }
    row.push(m.timeline.len().to_string());
    // A speculative point's pairing: the key of the same point without a draft.
    row.push(p.vanilla_twin.clone().unwrap_or_default());
    row
}

#[cfg(test)]
mod tests {
    #[test]
    fn quoting() {
        assert_eq!(super::quote("a,b"), "\"a,b\"");
        assert_eq!(super::quote("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(super::quote("plain"), "plain");
        assert_eq!(super::num(f64::NAN), "");
        assert_eq!(super::num(0.1), "0.1");
    }
}
