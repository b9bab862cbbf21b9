//! Decode at context depth (llama-bench's `-d`, Edge-LLM llm_bench's `--pastKVLen`): the
//! depth axis of a plan, and the untimed fill of each sequence's cache with `depth` tokens
//! of text before a point's timed generations. The backend keeps the filled context and
//! prefills every timed prompt on top of it (`engine::Session::fill_context`).

use crate::bench::corpus::Corpus;
use crate::bench::plan::{Plan, PointSpec};
use crate::engine::{Engine, Session};
use crate::error::{Error, Result};

/// Seed stream of context text, disjoint from the measured and warmup prompts.
const CONTEXT_SEED: u64 = 0x0044_4550_5448;

/// Every point of `plan` once per depth, depth innermost (so a point and its deeper twins
/// share one engine load and sit side by side). Depth 0 leaves a point as it was.
pub fn with_depths(mut plan: Plan, depths: &[u32]) -> Plan {
    if depths.is_empty() || depths == [0] {
        return plan;
    }
    plan.points = plan
        .points
        .into_iter()
        .flat_map(|p| {
            depths
                .iter()
                .map(move |&depth| PointSpec { depth, ..p.clone() })
        })
        .collect();
    plan
}

/// `depth N + ` for messages about a sequence's length, empty at depth 0.
pub fn term(depth: u32) -> String {
    if depth == 0 {
        String::new()
    } else {
        format!("depth {depth} + ")
    }
}

/// Fills the session's cache with `spec.depth` tokens per sequence (nothing at depth 0).
/// A backend that cannot is named in the error.
pub fn fill(
    engine: &dyn Engine,
    session: &mut dyn Session,
    spec: &PointSpec,
    corpus: &Corpus,
    seed: u64,
) -> Result<()> {
    if spec.depth == 0 {
        return Ok(());
    }
    let contexts = corpus.prompts(
        spec.depth as usize,
        spec.batch as usize,
        seed ^ CONTEXT_SEED,
        0,
    );
    session.fill_context(&contexts).map_err(|e| match e {
        Error::Unsupported { op, .. } => Error::Unsupported {
            backend: engine.manifest().backend.as_str(),
            op,
        },
        e => e,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::plan::{expand, RunSettings};
    use std::path::PathBuf;

    #[test]
    fn depth_axis_multiplies_points_and_keeps_old_keys() {
        let plan = expand(
            &[PathBuf::from("engines/x")],
            &[1, 2],
            &[8],
            &[4],
            &[],
            RunSettings::default(),
        )
        .unwrap();
        let keys = |p: &Plan| -> Vec<String> {
            p.points
                .iter()
                .map(|s| crate::record::point_key(&s.parameters(&p.settings, 2)))
                .collect()
        };
        let before = keys(&plan);
        assert_eq!(keys(&with_depths(plan.clone(), &[0])), before);
        let deep = with_depths(plan, &[0, 512]);
        let after = keys(&deep);
        assert_eq!(after.len(), 4);
        // depth 0 keeps the key it always had; depth 512 is a new point right after it.
        assert_eq!(after[0], before[0]);
        assert_eq!(
            after[1],
            "batch=1,depth=512,engine=x,isl=8,kv_dtype=f16,osl=4,threads=2"
        );
        assert_eq!(after[2], before[1]);
        assert_eq!(term(0), "");
        assert_eq!(term(64), "depth 64 + ");
    }
}
