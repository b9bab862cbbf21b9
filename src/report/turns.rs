//! The per-turn table of multi-turn load levels (`--workload multi-turn`): for each level
//! and turn, the prompt tokens the server counted (history included), TTFT and E2E, and
//! the fraction of the prompt the server took from its prefix cache, read from the
//! `turn<k>_*` scalars `client::conversation` records. It shows TTFT growing with the
//! history, or staying flat where the prefix cache serves the history. Depends on
//! `record`.

use super::table::{Cell, Table};
use super::{fmt_num, param_str, Report};
use crate::record::{Point, PointKind};

/// Turns a point has figures for (1, 2, ...).
fn turns(p: &Point) -> Vec<u64> {
    (1..)
        .take_while(|t| p.scalars.contains_key(&format!("turn{t}_requests")))
        .collect()
}

/// The "Per turn" table, when the report holds a multi-turn level.
pub fn table(report: &Report) -> Option<Table> {
    let mut rows = Vec::new();
    for r in report.ok(PointKind::Load) {
        let p = &r.point;
        for t in turns(p) {
            let get = |k: &str| p.scalars.get(&format!("turn{t}_{k}")).copied();
            let num = |v: Option<f64>| Cell::num(v.map_or("-".into(), fmt_num));
            rows.push(vec![
                Cell::text(param_str(p, "concurrency")),
                Cell::num(t.to_string()),
                Cell::num(get("requests").map_or("-".into(), |n| format!("{n:.0}"))),
                num(get("input_tokens_mean")),
                num(get("ttft_ms_p50")),
                num(get("ttft_ms_mean")),
                num(get("e2e_ms_p50")),
                Cell::num(
                    get("cached_prompt_frac").map_or("-".into(), |f| format!("{:.0}%", 100.0 * f)),
                ),
            ]);
        }
    }
    if rows.is_empty() {
        return None;
    }
    Some(Table {
        title: "Load tests per turn (multi-turn)".into(),
        headers: [
            "conversations in flight",
            "turn",
            "requests ok",
            "prompt tok (mean)",
            "TTFT p50 ms",
            "TTFT mean ms",
            "E2E p50 ms",
            "cached",
        ]
        .map(String::from)
        .to_vec(),
        rows,
        note: Some(
            "Each turn carries the conversation so far (earlier user texts and replies): prompt \
             tok is the whole prompt as the server counted it; cached is the share of it the \
             server reported taking from its prefix cache (- when it reports none)."
                .into(),
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::{Point, Results};
    use std::collections::BTreeMap;

    #[test]
    fn one_row_per_turn_of_a_multi_turn_level() {
        let mut params = BTreeMap::new();
        params.insert("concurrency".to_string(), serde_json::json!(4));
        let mut p = Point::new(PointKind::Load, params.clone());
        for (t, ttft, tok) in [(1, 50.0, 128.0), (2, 20.0, 224.0)] {
            p.scalars.insert(format!("turn{t}_requests"), 4.0);
            p.scalars.insert(format!("turn{t}_ttft_ms_p50"), ttft);
            p.scalars.insert(format!("turn{t}_input_tokens_mean"), tok);
        }
        p.scalars.insert("turn2_cached_prompt_frac".into(), 0.55);
        params.insert("concurrency".to_string(), serde_json::json!(8));
        let plain = Point::new(PointKind::Load, params);
        let mut res = Results::new(vec![], serde_json::json!({}));
        res.points = vec![p, plain];
        let report = Report::single(&res, "r.json");
        let t = table(&report).expect("a table");
        assert_eq!(t.rows.len(), 2, "two turns, nothing for the plain level");
        let text: Vec<Vec<&str>> = t
            .rows
            .iter()
            .map(|r| r.iter().map(|c| c.text.as_str()).collect())
            .collect();
        assert_eq!(text[1][1], "2");
        assert_eq!(text[1][2], "4");
        assert_eq!(text[1][3], "224.0");
        assert_eq!(text[1][7], "55%");
        assert_eq!(text[0][7], "-");
    }
}
