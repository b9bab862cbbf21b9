//! The tables themselves, built from the columns and cells the parent module defines: a
//! figure table per kind of point (with its note), quality (perplexity), and the points
//! that failed or were skipped.

use super::*;

/// The note under a load table: the engine/load note, and what the load-only columns mean.
pub(super) fn load_note(report: &Report, rows: &[&Row], shown: &Shown) -> String {
    let mut note = figures_note(report);
    if rows.iter().any(|r| from_schedule(&r.point)) {
        note.push_str(
            " From schedule (open loop, --rate): TTFT and E2E count from each request's \
             scheduled send time, so time it waited in the client counts; figures from the \
             actual send are in the JSON (ttft_ms, e2e_ms).",
        );
    }
    note.push_str(
        " failed %: failed or anomalous requests per request sent. With failures: over \
         every request sent, a failed one counting as the request timeout; >timeout: the \
         percentile falls on a failed request.",
    );
    if shown.cache {
        note.push_str(
            " cache-free NO: the server took more than 10% of some prompts from its prefix \
             cache, which flatters TTFT.",
        );
    }
    if shown.resent {
        note.push_str(
            " re-sent: requests sent a second time, on a new connection, because the server \
             closed a kept-alive connection as it was reused.",
        );
    }
    note
}

pub(super) fn figure_table(
    report: &Report,
    rows: &[&Row],
    cols: &[Col],
    title: &str,
    kind: PointKind,
) -> Option<Table> {
    if rows.is_empty() {
        return None;
    }
    let shown = Shown::of(report, rows, cols, kind);
    let note = if kind == PointKind::Load {
        load_note(report, rows, &shown)
    } else {
        figures_note(report)
    };
    Some(Table {
        title: title.into(),
        headers: shown.headers(rows, kind),
        rows: rows.iter().map(|r| shown.cells(report, &r.point)).collect(),
        note: Some(note),
    })
}

pub(super) fn quality_table(report: &Report) -> Option<Table> {
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

pub(super) fn failed_table(report: &Report) -> Option<Table> {
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
