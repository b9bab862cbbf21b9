//! Engine vs server, attributed: for the same isl and osl, an in-process engine point
//! (`run`, batch 1) beside a served load level at concurrency 1, with the TTFT and TPOT
//! difference split into what each part costs. The parts come from three clocks on one
//! request: the engine's own (token ids in, no tokenizer, no HTTP), the server's
//! (llama.cpp's `timings` in its last stream event, per request: `server_prompt_ms`,
//! `server_tpot_ms`) and the client's (what `load` observed). Server − engine is the
//! server's compute at its own settings (threads, batch size, context, sampling) against
//! the engine's; client − server is HTTP, SSE framing, tokenizing the prompt, and the
//! server's scheduling and queueing, per request. Depends on `record` and `stats`.

use super::table::{Cell, Table};
use super::{fmt_num, param_f64, param_str, Report, Row};
use crate::record::{Point, PointKind};
use crate::stats::median;
use crate::stats::samples::raw;

/// A load level at concurrency 1 whose server reported its own times.
fn served(r: &Row) -> bool {
    let p = &r.point;
    param_f64(p, "concurrency") == Some(1.0) && raw(p, "server_prompt_ms").is_some()
}

/// The engine point of the same shape: batch 1, no context depth, same isl and osl.
fn engine_for<'a>(report: &'a Report, load: &Point) -> Option<&'a Point> {
    let same =
        |p: &Point, k: &str| param_f64(p, k).is_some() && param_f64(p, k) == param_f64(load, k);
    report.ok(PointKind::Engine).map(|r| &r.point).find(|p| {
        param_f64(p, "batch") == Some(1.0)
            && param_f64(p, "depth").unwrap_or(0.0) == 0.0
            && same(p, "isl")
            && same(p, "osl")
    })
}

/// Median over requests of `client - server`, both per request.
fn paired_gap(
    load: &Point,
    client: fn(&crate::record::RequestRecord) -> Option<f64>,
    server: &str,
) -> Option<f64> {
    let gaps: Vec<f64> = load
        .requests
        .iter()
        .filter(|q| q.error.is_none())
        .filter_map(|q| Some(client(q)? - q.extra.get(server)?))
        .collect();
    (!gaps.is_empty()).then(|| median(&gaps))
}

/// One figure (TTFT or TPOT) of a pair: engine, server compute, client, and the parts.
fn figure_row(
    names: [String; 4],
    engine: Option<f64>,
    server: Option<f64>,
    client: Option<f64>,
    transport: Option<f64>,
) -> Vec<Cell> {
    let num = |v: Option<f64>| Cell::num(v.map_or("-".into(), fmt_num));
    let diff = |a: Option<f64>, b: Option<f64>| num(a.zip(b).map(|(a, b)| a - b));
    let mut cells: Vec<Cell> = names.into_iter().map(Cell::text).collect();
    cells.extend([
        num(engine),
        num(server),
        num(client),
        diff(client, engine),
        diff(server, engine),
        num(transport),
    ]);
    cells
}

/// The "Engine vs server" table, when the report holds such a pair.
pub fn table(report: &Report) -> Option<Table> {
    let mut rows = Vec::new();
    for r in report.ok(PointKind::Load).filter(|r| served(r)) {
        let load = &r.point;
        let Some(engine) = engine_for(report, load) else {
            continue;
        };
        let p50 = |p: &Point, m: &str| p.summary.get(m).map(|s| s.p50);
        let server = |m: &str| raw(load, m).map(|v| median(&v));
        let names = |what: &str| {
            [
                param_str(engine, "engine"),
                param_str(load, "model"),
                format!("{}/{}", param_str(load, "isl"), param_str(load, "osl")),
                what.to_owned(),
            ]
        };
        rows.push(figure_row(
            names("TTFT ms"),
            p50(engine, "ttft_ms"),
            server("server_prompt_ms"),
            p50(load, "ttft_ms"),
            paired_gap(load, |q| q.ttft_ms, "server_prompt_ms"),
        ));
        rows.push(figure_row(
            names("TPOT ms"),
            p50(engine, "tpot_ms"),
            server("server_tpot_ms"),
            p50(load, "tpot_ms"),
            paired_gap(load, |q| q.tpot_ms, "server_tpot_ms"),
        ));
    }
    if rows.is_empty() {
        return None;
    }
    let headers = [
        "engine (run)",
        "server model (load)",
        "isl/osl",
        "figure",
        "engine p50",
        "server compute p50",
        "client p50",
        "client − engine",
        "server − engine",
        "client − server",
    ];
    Some(Table {
        title: "Engine vs server".into(),
        headers: headers.map(String::from).to_vec(),
        rows,
        note: Some(
            "Batch 1 in process (`run`) beside concurrency 1 through the server (`load`), same \
             isl and osl (the model is not checked: compare the names). engine: the engine's \
             own clock, token ids in. server compute: the server's own timings per request \
             (llama.cpp: prompt_ms; predicted_ms ÷ (predicted_n − 1)). client: what the load \
             client saw. server − engine: the server's compute at its settings (threads, \
             batch size, context) against the engine's. client − server: median over requests \
             of each request's difference: HTTP, SSE, tokenizing the prompt, and the server's \
             scheduling and queueing (not separated from one another)."
                .into(),
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::{RequestRecord, Results};
    use std::collections::BTreeMap;

    fn point(kind: PointKind, params: &[(&str, serde_json::Value)]) -> Point {
        let params: BTreeMap<String, serde_json::Value> = params
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect();
        Point::new(kind, params)
    }

    fn request(ttft: f64, tpot: f64, server_prompt: f64, server_tpot: f64) -> RequestRecord {
        let extra = [
            ("server_prompt_ms", server_prompt),
            ("server_tpot_ms", server_tpot),
        ];
        RequestRecord {
            start_s: 0.0,
            scheduled_s: None,
            ttft_ms: Some(ttft),
            e2e_ms: Some(ttft + 7.0 * tpot),
            tpot_ms: Some(tpot),
            itl_ms: Vec::new(),
            itl_chunk_ms: Vec::new(),
            input_tokens: 64,
            output_tokens: 8,
            server_input_tokens: None,
            server_output_tokens: None,
            http_status: None,
            error: None,
            extra: extra.iter().map(|(k, v)| (k.to_string(), *v)).collect(),
        }
    }

    #[test]
    fn splits_the_difference_per_request() {
        use serde_json::json;
        let put = |p: &mut Point, m: &str, v: &[f64]| {
            let s = crate::stats::summarize(v, "ms", None).unwrap();
            p.summary.insert(m.into(), s);
        };
        let shape = [("isl", json!(64)), ("osl", json!(8))];
        let mut e = point(
            PointKind::Engine,
            &[
                shape[0].clone(),
                shape[1].clone(),
                ("batch", json!(1)),
                ("engine", json!("m")),
            ],
        );
        put(&mut e, "ttft_ms", &[20.0, 20.0, 20.0]);
        put(&mut e, "tpot_ms", &[5.0, 5.0, 5.0]);
        let mut l = point(
            PointKind::Load,
            &[
                shape[0].clone(),
                shape[1].clone(),
                ("concurrency", json!(1)),
                ("model", json!("m.gguf")),
            ],
        );
        // Each request: the server computed 25 ms of prompt, the client saw 3 ms more.
        l.requests = (0..5)
            .map(|i| {
                let d = f64::from(i);
                request(28.0 + d, 6.5, 25.0 + d, 6.0)
            })
            .collect();
        put(&mut l, "ttft_ms", &[28.0, 29.0, 30.0, 31.0, 32.0]);
        put(&mut l, "tpot_ms", &[6.5; 5]);
        let mut other = point(
            PointKind::Load,
            &[shape[0].clone(), ("concurrency", json!(4))],
        );
        other.requests = l.requests.clone();
        let mut results = Results::new(vec![], json!({}));
        results.points = vec![e, l, other];
        let t = table(&Report::single(&results, "r.json")).expect("a pair");
        let text =
            |row: usize| -> Vec<String> { t.rows[row].iter().map(|c| c.text.clone()).collect() };
        // engine, server compute, client, client − engine, server − engine, client − server
        assert_eq!(
            text(0)[4..],
            ["20.00", "27.00", "30.00", "10.00", "7.000", "3.000"]
        );
        assert_eq!(
            text(1)[4..],
            ["5.000", "6.000", "6.500", "1.500", "1.000", "0.500"]
        );
        assert_eq!(t.rows.len(), 2, "the concurrency-4 level is not paired");
    }
}
