//! The tables a report shows (engine runs, load tests, quality, failures), as cells that
//! know whether their figure is noisy. Markdown and HTML render the same tables.

use super::{
    engine_bytes, fmt_ci_rel, fmt_num, metric_label, ordered_params, param_str, quant, Figure,
    Report, Row,
};
use crate::record::PointKind;
use crate::units::human_bytes;

/// One table cell.
#[derive(Debug, Clone, PartialEq)]
pub struct Cell {
    pub text: String,
    /// The figure's interval is wide, or a percentile has none.
    pub noisy: bool,
    /// Longer explanation (the interval itself), for a tooltip.
    pub title: Option<String>,
    pub numeric: bool,
}

impl Cell {
    fn text(s: impl Into<String>) -> Cell {
        Cell {
            text: s.into(),
            noisy: false,
            title: None,
            numeric: false,
        }
    }

    fn num(s: impl Into<String>) -> Cell {
        Cell {
            numeric: true,
            ..Cell::text(s)
        }
    }

    fn figure(f: &Figure, stat: &str) -> Cell {
        let mut text = fmt_num(f.value);
        if let Some(rel) = fmt_ci_rel(f) {
            text = format!("{text} {rel}");
        }
        let title = match f.ci {
            Some([lo, hi]) => Some(format!(
                "{stat} {} (95% CI {} – {})",
                fmt_num(f.value),
                fmt_num(lo),
                fmt_num(hi)
            )),
            None if f.noisy => Some(format!("{stat}: too few samples for a confidence interval")),
            None => None,
        };
        let title = if f.noisy && stat == "p99" {
            title.map(|t| format!("{t}; a p99 needs 100+ samples to be more than the maximum"))
        } else {
            title
        };
        Cell {
            text,
            noisy: f.noisy,
            title,
            numeric: true,
        }
    }
}

/// A titled table.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    pub title: String,
    pub headers: Vec<String>,
    pub rows: Vec<Vec<Cell>>,
    /// A line under the table explaining its figures.
    pub note: Option<String>,
}

/// A figure column: metric, statistic, header.
struct Col {
    metric: &'static str,
    stat: &'static str,
}

const ENGINE_COLS: [Col; 9] = [
    Col {
        metric: "prefill_tok_per_s",
        stat: "p50",
    },
    Col {
        metric: "decode_tok_per_s",
        stat: "p50",
    },
    // Percent of the measured memory bandwidth the decode reached (bench::roofline).
    Col {
        metric: "decode_sol_pct",
        stat: "p50",
    },
    Col {
        metric: "ttft_ms",
        stat: "p50",
    },
    Col {
        metric: "ttft_ms",
        stat: "p99",
    },
    Col {
        metric: "tpot_ms",
        stat: "p50",
    },
    Col {
        metric: "itl_ms",
        stat: "p99",
    },
    Col {
        metric: "e2e_ms",
        stat: "p50",
    },
    Col {
        metric: "tok_per_j",
        stat: "p50",
    },
];

const LOAD_COLS: [Col; 10] = [
    Col {
        metric: "output_tok_per_s",
        stat: "p50",
    },
    Col {
        metric: "requests_per_s",
        stat: "p50",
    },
    Col {
        metric: "ttft_ms",
        stat: "p50",
    },
    Col {
        metric: "ttft_ms",
        stat: "p99",
    },
    Col {
        metric: "tpot_ms",
        stat: "p50",
    },
    Col {
        metric: "itl_ms",
        stat: "p50",
    },
    Col {
        metric: "itl_ms",
        stat: "p99",
    },
    Col {
        metric: "e2e_ms",
        stat: "p99",
    },
    Col {
        metric: "goodput_req_per_s",
        stat: "p50",
    },
    Col {
        metric: "tok_per_j",
        stat: "p50",
    },
];

/// Explains the figures of engine and load tables.
pub fn figures_note(report: &Report) -> String {
    format!(
        "p50/p99: median / 99th percentile over measured runs (load tests: over requests). \
         ±: half-width of the 95% confidence interval relative to the figure ({}). \
         Marked noisy: interval wider than ±{:.0}%, too few samples for one, or a tail \
         percentile with fewer than one sample beyond it (a p99 needs 100 or more).",
        crate::stats::bootstrap::METHOD,
        report.max_ci * 100.0
    )
}

fn header(c: &Col, report: &Report, rows: &[&Row]) -> String {
    // Scalars (tok/J, aggregate throughputs of a load test) have no statistic.
    let distribution = rows.iter().any(|r| r.point.summary.contains_key(c.metric));
    let _ = report;
    if distribution {
        format!("{} {}", metric_label(c.metric), c.stat)
    } else {
        metric_label(c.metric)
    }
}

fn figure_table(
    report: &Report,
    rows: &[&Row],
    cols: &[Col],
    title: &str,
    kind: PointKind,
) -> Option<Table> {
    if rows.is_empty() {
        return None;
    }
    let params = ordered_params(rows.iter().copied());
    let show_quant =
        !params.iter().any(|p| p == "quant") && rows.iter().any(|r| quant(&r.point).is_some());
    let cols: Vec<&Col> = cols
        .iter()
        .filter(|c| {
            rows.iter()
                .any(|r| report.figure(&r.point, c.metric, c.stat).is_some())
        })
        .collect();
    let show_rss = rows.iter().any(|r| r.point.memory.peak_rss_bytes.is_some());
    let show_dev = rows
        .iter()
        .any(|r| r.point.memory.peak_device_bytes.is_some());
    // A load level whose client lagged: its figures may be distorted (`client_valid` 0).
    let show_valid = kind == PointKind::Load
        && rows
            .iter()
            .any(|r| r.point.scalars.get("client_valid") == Some(&0.0));

    let mut headers: Vec<String> = params.clone();
    if show_quant {
        headers.push("quant".into());
    }
    headers.push(if kind == PointKind::Load {
        "ok/sent".into()
    } else {
        "runs".into()
    });
    headers.extend(cols.iter().map(|c| header(c, report, rows)));
    if show_rss {
        headers.push("peak RSS".into());
    }
    if show_dev {
        headers.push("peak device mem".into());
    }
    if show_valid {
        headers.push("valid".into());
    }
    let body = rows
        .iter()
        .map(|r| {
            let p = &r.point;
            let mut cells: Vec<Cell> = params.iter().map(|k| Cell::text(param_str(p, k))).collect();
            if show_quant {
                cells.push(Cell::text(quant(p).unwrap_or_else(|| "-".into())));
            }
            cells.push(Cell::num(if kind == PointKind::Load {
                let ok = p.requests.iter().filter(|q| q.error.is_none()).count();
                format!("{ok}/{}", p.requests.len())
            } else {
                p.runs.len().to_string()
            }));
            for c in &cols {
                cells.push(match report.figure(p, c.metric, c.stat) {
                    Some(f) => Cell::figure(&f, c.stat),
                    None => Cell::num("-"),
                });
            }
            if show_rss {
                cells.push(Cell::num(
                    p.memory.peak_rss_bytes.map_or("-".into(), human_bytes),
                ));
            }
            if show_dev {
                cells.push(Cell::num(
                    p.memory.peak_device_bytes.map_or("-".into(), human_bytes),
                ));
            }
            if show_valid {
                let valid = p.scalars.get("client_valid") != Some(&0.0);
                cells.push(Cell::text(if valid { "yes" } else { "NO" }));
            }
            cells
        })
        .collect();
    Some(Table {
        title: title.into(),
        headers,
        rows: body,
        note: Some(figures_note(report)),
    })
}

fn quality_table(report: &Report) -> Option<Table> {
    let rows: Vec<&Row> = report.ok(PointKind::Quality).collect();
    if rows.is_empty() {
        return None;
    }
    let params = ordered_params(rows.iter().copied());
    let mut headers = params.clone();
    let show_quant = !params.iter().any(|p| p == "quant");
    if show_quant {
        headers.push("quant".into());
    }
    headers.extend(["size".to_string(), "perplexity".to_string()]);
    let body = rows
        .iter()
        .map(|r| {
            let p = &r.point;
            let mut cells: Vec<Cell> = params.iter().map(|k| Cell::text(param_str(p, k))).collect();
            if show_quant {
                cells.push(Cell::text(quant(p).unwrap_or_else(|| "-".into())));
            }
            cells.push(Cell::num(engine_bytes(p).map_or("-".into(), human_bytes)));
            let ppl = p.scalars.get("perplexity").copied();
            let se = p.scalars.get("perplexity_stderr").copied();
            cells.push(Cell::num(match (ppl, se) {
                (Some(v), Some(se)) => format!("{} ± {}", fmt_num(v), fmt_num(se)),
                (Some(v), None) => fmt_num(v),
                _ => "-".into(),
            }));
            cells
        })
        .collect();
    Some(Table {
        title: "Quality".into(),
        headers,
        rows: body,
        note: Some("perplexity ± its standard error when the evaluation reported one; size: engine files on disk".into()),
    })
}

fn failed_table(report: &Report) -> Option<Table> {
    let rows: Vec<&Row> = report.failed().collect();
    if rows.is_empty() {
        return None;
    }
    let body = rows
        .iter()
        .map(|r| {
            let p = &r.point;
            vec![
                Cell::text(p.key.clone()),
                Cell::text(format!("{:?}", p.kind).to_lowercase()),
                Cell::text(format!("{:?}", p.status).to_lowercase()),
                Cell::text(p.error.clone().unwrap_or_default()),
            ]
        })
        .collect();
    Some(Table {
        title: "Failed or skipped points".into(),
        headers: ["point", "kind", "status", "error"]
            .map(String::from)
            .to_vec(),
        rows: body,
        note: None,
    })
}

/// Every table of the report, in display order; empty sections are left out.
pub fn tables(report: &Report) -> Vec<Table> {
    let engine: Vec<&Row> = report.ok(PointKind::Engine).collect();
    let load: Vec<&Row> = report.ok(PointKind::Load).collect();
    [
        figure_table(
            report,
            &engine,
            &ENGINE_COLS,
            "Engine runs",
            PointKind::Engine,
        ),
        figure_table(report, &load, &LOAD_COLS, "Load tests", PointKind::Load),
        quality_table(report),
        failed_table(report),
    ]
    .into_iter()
    .flatten()
    .collect()
}
