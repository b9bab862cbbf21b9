//! The speculative-decoding table (`sweep --draft`): each speculative point beside its
//! vanilla twin (`Point::vanilla_twin`, the same point without a draft in the same file),
//! with the acceptance figures the runs recorded (`spec_*` summaries) and the speedup
//! the sweep computed (`spec_speedup`, `spec_e2e_speedup`). Markdown and HTML show it;
//! CSV has the same figures as columns of every point. A second table does the same for
//! load levels against a server speculating with its own draft model (llama.cpp's
//! `--model-draft`: its per-request draft counts, `client::metrics::server_drafts`).
//! Depends on `record`.

use super::table::{Cell, Table};
use super::{fmt_num, param_str, Report};
use crate::record::PointKind;

/// The "Speculative decoding" table, when the report holds a speculative point.
pub fn table(report: &Report) -> Option<Table> {
    let mut rows = Vec::new();
    for r in report.ok(PointKind::Engine) {
        let p = &r.point;
        let Some(twin_key) = p.vanilla_twin.as_deref() else {
            continue;
        };
        let twin = report
            .ok(PointKind::Engine)
            .find(|t| t.source == r.source && t.point.key == twin_key);
        let mean = |m: &str| report.figure(p, m, "mean").map(|f| f.value);
        let num = |v: Option<f64>| Cell::num(v.map_or("-".into(), fmt_num));
        let times = |v: Option<f64>| Cell::num(v.map_or("-".into(), |x| format!("{x:.2}x")));
        rows.push(vec![
            Cell::text(param_str(p, "engine")),
            Cell::text(param_str(p, "draft")),
            Cell::num(param_str(p, "draft_max")),
            Cell::num(param_str(p, "isl")),
            Cell::num(param_str(p, "osl")),
            Cell::num(
                mean("spec_acceptance_rate").map_or("-".into(), |f| format!("{:.1}%", 100.0 * f)),
            ),
            num(mean("spec_accepted_per_step")),
            num(mean("spec_mean_accepted_len")),
            num(mean("spec_draft_step_ms")),
            num(mean("spec_target_step_ms")),
            num(twin.and_then(|t| report.figure(&t.point, "tpot_ms", "mean").map(|f| f.value))),
            num(mean("tpot_ms")),
            times(p.scalars.get("spec_speedup").copied()),
            times(p.scalars.get("spec_e2e_speedup").copied()),
        ]);
    }
    if rows.is_empty() {
        return None;
    }
    Some(Table {
        title: "Speculative decoding (each point beside its vanilla twin)".into(),
        headers: [
            "engine",
            "draft",
            "draft max",
            "isl",
            "osl",
            "accepted",
            "accepted/step",
            "tokens/step",
            "draft ms/step",
            "target ms/step",
            "TPOT vanilla ms",
            "TPOT ms",
            "speedup",
            "E2E speedup",
        ]
        .map(String::from)
        .to_vec(),
        rows,
        note: Some(
            "Means over the measured runs. accepted: share of the draft's proposed tokens the \
             target accepted (greedy: equal to its own choice); accepted/step: accepted draft \
             tokens per verify step; tokens/step: tokens a verify step emits (accepted + the \
             target's own), the mean accepted length; draft/target ms/step: each model's time \
             per verify step. speedup: the vanilla twin's mean TPOT ÷ this point's, both from \
             the same sweep (E2E speedup: the same with E2E latency, both models' prefill \
             included). Output tokens are the target's own greedy tokens."
                .into(),
        ),
    })
}

/// The "Speculative decoding on the server" table, when a load level recorded the
/// server's draft counts.
pub fn load_table(report: &Report) -> Option<Table> {
    let mut rows = Vec::new();
    for r in report.ok(PointKind::Load) {
        let p = &r.point;
        let Some(&proposed) = p.scalars.get("server_draft_n") else {
            continue;
        };
        let scalar = |m: &str| p.scalars.get(m).copied();
        let mean = |m: &str| report.figure(p, m, "mean").map(|f| f.value);
        let pct =
            |v: Option<f64>| Cell::num(v.map_or("-".into(), |f| format!("{:.1}%", 100.0 * f)));
        let num = |v: Option<f64>| Cell::num(v.map_or("-".into(), fmt_num));
        rows.push(vec![
            Cell::text(param_str(p, "model")),
            Cell::num(param_str(p, "concurrency")),
            Cell::num(param_str(p, "rate")),
            Cell::num(param_str(p, "isl")),
            Cell::num(param_str(p, "osl")),
            Cell::num(format!("{proposed}")),
            Cell::num(scalar("server_draft_accepted").map_or("-".into(), |v| format!("{v}"))),
            pct(scalar("spec_acceptance_rate_pooled")),
            pct(mean("spec_acceptance_rate")),
            pct(report
                .figure(p, "spec_acceptance_rate", "min")
                .map(|f| f.value)),
            num(scalar("spec_mean_accepted_len_pooled")),
            num(mean("spec_accepted_per_step")),
            num(mean("tpot_ms")),
        ]);
    }
    if rows.is_empty() {
        return None;
    }
    Some(Table {
        title: "Speculative decoding on the server (its own draft counts)".into(),
        headers: [
            "model",
            "concurrency",
            "rate",
            "isl",
            "osl",
            "proposed",
            "accepted",
            "accepted %",
            "accepted % per request (mean)",
            "accepted % per request (min)",
            "tokens/step",
            "accepted/step",
            "TPOT ms",
        ]
        .map(String::from)
        .to_vec(),
        rows,
        note: Some(
            "From the server's own per-request counts (llama.cpp's `timings.draft_n` and \
             `draft_n_accepted`, sent by a server started with `--model-draft`). proposed / \
             accepted: draft tokens over the level's successful requests; accepted %: \
             accepted ÷ proposed over the level (per request: each request's own share, \
             mean and worst). tokens/step: tokens after the first ÷ the target's decode \
             steps (each emits one token of its own beside the accepted ones, so steps = \
             generated − 1 − accepted); accepted/step: the same per request, mean. No \
             speedup here: the server has no vanilla twin in the same file; run the same \
             load against it without a draft and `trtbench compare` the two files."
                .into(),
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::{Point, Results};
    use std::collections::BTreeMap;

    fn point(draft: Option<u32>, tpot: f64) -> Point {
        let mut params = BTreeMap::new();
        params.insert("engine".to_string(), serde_json::json!("t"));
        params.insert("isl".to_string(), serde_json::json!(8));
        if let Some(m) = draft {
            params.insert("draft".to_string(), serde_json::json!("d"));
            params.insert("draft_max".to_string(), serde_json::json!(m));
        }
        let mut p = Point::new(PointKind::Engine, params);
        let mut put = |m: &str, v: f64, unit: &str| {
            let s = crate::stats::summarize(&[v], unit, None).unwrap();
            p.summary.insert(m.into(), s);
        };
        put("tpot_ms", tpot, "ms");
        if draft.is_some() {
            put("spec_acceptance_rate", 0.75, "fraction");
            put("spec_mean_accepted_len", 2.5, "tok");
        }
        p
    }

    #[test]
    fn speculative_rows_beside_their_twins() {
        let vanilla = point(None, 12.0);
        let mut spec = point(Some(2), 8.0);
        spec.vanilla_twin = Some(vanilla.key.clone());
        spec.scalars.insert("spec_speedup".into(), 1.5);
        let mut r = Results::new(vec![], serde_json::json!({}));
        r.points = vec![vanilla.clone(), spec];
        let t = table(&Report::single(&r, "r.json")).unwrap();
        assert_eq!(t.rows.len(), 1);
        let cell = |h: &str| {
            let i = t.headers.iter().position(|x| x == h).unwrap();
            t.rows[0][i].text.clone()
        };
        assert_eq!(cell("draft"), "d");
        assert_eq!(cell("accepted"), "75.0%");
        assert_eq!(cell("tokens/step"), fmt_num(2.5));
        assert_eq!(cell("TPOT vanilla ms"), fmt_num(12.0));
        assert_eq!(cell("TPOT ms"), fmt_num(8.0));
        assert_eq!(cell("speedup"), "1.50x");
        assert_eq!(cell("E2E speedup"), "-");
        // No speculative point, no table.
        r.points = vec![vanilla];
        assert!(table(&Report::single(&r, "r.json")).is_none());
    }

    #[test]
    fn server_draft_counts_in_their_own_table() {
        let mut params = BTreeMap::new();
        params.insert("model".to_string(), serde_json::json!("q8.gguf"));
        params.insert("concurrency".to_string(), serde_json::json!(2));
        let mut p = Point::new(PointKind::Load, params);
        p.scalars.insert("server_draft_n".into(), 40.0);
        p.scalars.insert("server_draft_accepted".into(), 30.0);
        p.scalars.insert("spec_acceptance_rate_pooled".into(), 0.75);
        p.scalars
            .insert("spec_mean_accepted_len_pooled".into(), 3.5);
        let s = crate::stats::summarize(&[0.5, 1.0], "fraction", None).unwrap();
        p.summary.insert("spec_acceptance_rate".into(), s);
        let plain = Point::new(PointKind::Load, BTreeMap::new());
        let mut r = Results::new(vec![], serde_json::json!({}));
        r.points = vec![p, plain.clone()];
        let t = load_table(&Report::single(&r, "r.json")).unwrap();
        assert_eq!(t.rows.len(), 1, "the plain level has no row");
        let cell = |h: &str| {
            let i = t.headers.iter().position(|x| x == h).unwrap();
            t.rows[0][i].text.clone()
        };
        assert_eq!(cell("model"), "q8.gguf");
        assert_eq!(cell("proposed"), "40");
        assert_eq!(cell("accepted"), "30");
        assert_eq!(cell("accepted %"), "75.0%");
        assert_eq!(cell("accepted % per request (mean)"), "75.0%");
        assert_eq!(cell("accepted % per request (min)"), "50.0%");
        assert_eq!(cell("tokens/step"), fmt_num(3.5));
        assert_eq!(cell("accepted/step"), "-");
        r.points = vec![plain];
        assert!(load_table(&Report::single(&r, "r.json")).is_none());
        assert!(table(&Report::single(&r, "r.json")).is_none());
    }
}
