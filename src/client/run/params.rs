//! A load level's parameters, which make its key: the workload (model as the server
//! names it, lengths or the data set's file name, endpoint, seed) and its shape
//! (concurrency, or rate and arrival). Never a host, port or local directory: where a
//! level ran is in its notes, so the same workload compares across machines.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::{json, Value};

use super::LoadPlan;
use crate::client::scheduler::Shape;
use crate::record;

/// A file's name without the directories it was read from.
fn file_name(path: &Path) -> String {
    path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    )
}

/// Parameters every point of the run shares: server, model, endpoint, seed, workload.
pub(super) fn base_parameters(
    plan: &LoadPlan,
    model: &str,
    ignore_eos: bool,
) -> BTreeMap<String, Value> {
    let w = &plan.workload;
    let mut p: BTreeMap<String, Value> = BTreeMap::new();
    // The identity of a level is the workload, not the machine: no host, port or local
    // path (those are in the point's notes), so the same workload compares across runs
    // on other ports and machines.
    p.insert("model".into(), json!(record::model_label(model)));
    p.insert("endpoint".into(), json!(plan.settings.endpoint.as_str()));
    p.insert("ignore_eos".into(), json!(ignore_eos));
    p.insert("seed".into(), json!(plan.seed));
    if let Some(f) = &w.framework {
        p.insert(record::FRAMEWORK_PARAM.into(), json!(f));
    }
    if plan.tls.insecure {
        p.insert("tls_insecure".into(), json!(true));
    }
    match (&w.dataset, &w.trace) {
        (_, Some((t, speed))) => {
            p.insert("trace".into(), json!(file_name(t)));
            p.insert("trace_speed".into(), json!(speed));
        }
        (Some(d), None) => {
            p.insert("dataset".into(), json!(file_name(d)));
            if let Some(o) = w.osl {
                p.insert("osl".into(), json!(o));
            }
        }
        (None, None) => {
            p.insert("isl".into(), json!(w.isl));
            p.insert("osl".into(), json!(w.osl.unwrap_or(128)));
        }
    }
    if let Some(sp) = w.shared_prefix {
        p.insert("workload".into(), json!("shared-prefix"));
        p.insert("prefixes".into(), json!(sp.prefixes));
        p.insert("prefix_len".into(), json!(sp.prefix_len));
    }
    if let Some(mt) = w.multi_turn {
        p.insert("workload".into(), json!("multi-turn"));
        p.insert("turns".into(), json!(mt.turns));
        p.insert("turn_len".into(), json!(mt.turn_len));
        if !mt.think.is_zero() {
            p.insert("think_time_s".into(), json!(mt.think.as_secs_f64()));
        }
    }
    if w.isl_spread > 0.0 {
        p.insert("isl_spread".into(), json!(w.isl_spread));
    }
    if w.osl_spread > 0.0 {
        p.insert("osl_spread".into(), json!(w.osl_spread));
    }
    if let Some(d) = plan.settings.duration {
        p.insert("duration_s".into(), json!(d.as_secs_f64()));
    }
    p
}

/// The shape's own parameters (concurrency, or rate, arrival and in-flight cap).
pub(super) fn shape_parameters(shape: Shape, p: &mut BTreeMap<String, Value>) {
    match shape {
        Shape::Closed { concurrency } => {
            p.insert("concurrency".into(), json!(concurrency));
        }
        Shape::Open {
            rate,
            arrival,
            max_inflight,
        } => {
            p.insert("rate".into(), json!(rate));
            p.insert("arrival".into(), json!(arrival.as_str()));
            if let Some(m) = max_inflight {
                p.insert("max_inflight".into(), json!(m));
            }
        }
    }
}
