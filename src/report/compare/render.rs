//! A comparison as people and programs read it: the Markdown table of changes with its
//! closing verdict and gate lines, and the same as JSON (`compare --json`).

use crate::report::gate::{figure_of_merit, samples_needed, MIN_WINDOW_EVENTS};

use super::{Comparison, Verdict};
use crate::report::fmt_num;
use crate::stats::bootstrap;

pub(super) fn pct(x: f64) -> String {
    if x.is_finite() {
        format!("{:+.1}%", x * 100.0)
    } else {
        "-".into()
    }
}

/// The comparison as a Markdown table with a closing verdict line.
pub fn render(c: &Comparison) -> String {
    let mut out = crate::report::markdown::table(&changes_table(c));
    out.push_str(&format!(
        "\nchange: new / base − 1 of the figures shown (stat: p50 of the samples, or the \
         point's single value, as `report` prints them); CI: {}; p: two-sided Mann–Whitney U \
         test (Mann & Whitney 1947) on the per-run / per-request samples (a load level's \
         throughput on its 1 s windows when they hold ≥ {} events). A change counts when \
         p < {} and |change| ≥ {:.1}% (noise floor); with fewer than {} samples a side no \
         ordering can reach p < {}: untestable. Only figures of merit (throughput, goodput, \
         latency, failures, memory peaks, quality) can fail the gate; untestable ones: \
         --untestable {}.\n",
        bootstrap::METHOD,
        MIN_WINDOW_EVENTS,
        c.options.alpha,
        c.options.noise * 100.0,
        samples_needed(c.options.alpha),
        c.options.alpha,
        c.options.untestable.as_str(),
    ));
    for (label, list) in [
        ("only in base", &c.only_in_base),
        ("only in new", &c.only_in_new),
        ("not finished on both sides", &c.not_comparable),
    ] {
        if !list.is_empty() {
            out.push_str(&format!("{label}: {}\n", list.join("; ")));
        }
    }
    let regressed = c
        .changes
        .iter()
        .filter(|x| x.verdict == Verdict::Regressed)
        .count();
    let improved = c
        .changes
        .iter()
        .filter(|x| x.verdict == Verdict::Improved)
        .count();
    out.push_str(&format!(
        "{} point(s) matched, {} metric(s) compared: {improved} improved, {regressed} regressed.\n",
        c.matched_points(),
        c.changes.len()
    ));
    if let Some(t) = c.options.fail_if_slower {
        out.push_str(&gate_line(c, t));
    }
    if let Some(t) = &c.loadgen {
        out.push_str(&format!("\n## {}\n\n", t.title));
        out.push_str(&crate::report::markdown::table(t));
        if let Some(n) = &t.note {
            out.push_str(&format!("\n_{n}_\n"));
        }
    }
    out
}

/// One row per metric of each matched point.
fn changes_table(c: &Comparison) -> crate::report::table::Table {
    use crate::report::table::{Cell, Table};
    let cell = |s: String, numeric: bool| Cell {
        text: s,
        noisy: false,
        title: None,
        numeric,
    };
    let rows = c
        .changes
        .iter()
        .map(|ch| {
            vec![
                cell(ch.point.clone(), false),
                cell(ch.metric.clone(), false),
                cell(ch.stat.to_owned(), false),
                cell(format!("{} (n={})", fmt_num(ch.base), ch.n_base), true),
                cell(format!("{} (n={})", fmt_num(ch.new), ch.n_new), true),
                cell(pct(ch.ratio - 1.0), true),
                cell(
                    ch.ratio_ci
                        .map(|[lo, hi]| format!("{} … {}", pct(lo - 1.0), pct(hi - 1.0)))
                        .unwrap_or_else(|| "-".into()),
                    true,
                ),
                cell(
                    ch.p.map(|p| format!("{p:.3}"))
                        .unwrap_or_else(|| "-".into()),
                    true,
                ),
                cell(
                    if ch.fails_gate {
                        format!("{} (fails gate)", ch.verdict.as_str())
                    } else {
                        ch.verdict.as_str().to_owned()
                    },
                    false,
                ),
            ]
        })
        .collect();
    Table {
        title: String::new(),
        headers: [
            "point",
            "metric",
            "stat",
            "base",
            "new",
            "change",
            "95% CI of change",
            "p",
            "verdict",
        ]
        .map(String::from)
        .to_vec(),
        rows,
        note: None,
    }
}

/// The `--fail-if-slower` verdict at threshold `t`, naming each reason it fails.
fn gate_line(c: &Comparison, t: f64) -> String {
    let fails = c.gate_failures();
    if fails.is_empty() {
        format!(
            "gate: PASS (no regression beyond {:.1}%, no lost point, no new failure)\n",
            t * 100.0
        )
    } else {
        format!(
            "gate: FAIL (threshold {:.1}%): {}\n",
            t * 100.0,
            fails.join("; ")
        )
    }
}

/// The comparison, machine-readable (`compare --json`): every change with its verdict,
/// the points on one side only, the lost points and the gate's outcome.
pub fn to_json(c: &Comparison) -> serde_json::Value {
    use serde_json::json;
    let num = |x: f64| if x.is_finite() { json!(x) } else { json!(null) };
    let changes: Vec<serde_json::Value> = c
        .changes
        .iter()
        .map(|x| {
            json!({
                "point": x.point,
                "metric": x.metric,
                "stat": x.stat,
                "base": num(x.base),
                "new": num(x.new),
                "n_base": x.n_base,
                "n_new": x.n_new,
                "ratio": num(x.ratio),
                "ratio_ci95": x.ratio_ci.map(|[a, b]| json!([num(a), num(b)])),
                "p": x.p,
                "worse_by": x.worse_by.map(num),
                "verdict": x.verdict.name(),
                "verdict_text": x.verdict.as_str(),
                "figure_of_merit": figure_of_merit(&x.metric),
                "fails_gate": x.fails_gate,
            })
        })
        .collect();
    let lost: Vec<serde_json::Value> = c
        .lost
        .iter()
        .map(|(k, what)| json!({"point": k, "what": what}))
        .collect();
    json!({
        "options": {
            "noise": c.options.noise,
            "alpha": c.options.alpha,
            "fail_if_slower": c.options.fail_if_slower,
            "metrics": c.options.metrics,
            "untestable": c.options.untestable.as_str(),
        },
        "matched_points": c.matched_points(),
        "changes": changes,
        "only_in_base": c.only_in_base,
        "only_in_new": c.only_in_new,
        "not_comparable": c.not_comparable,
        "lost": lost,
        "gate": c.options.fail_if_slower.map(|t| json!({
            "threshold": t,
            "passed": !c.failed(),
            "failures": c.gate_failures(),
        })),
    })
}
