//! The draft axis of a sweep (speculative decoding, `--draft`, `--draft-max`): every point
//! runs once without a draft (its vanilla twin) and once per draft engine and draft length;
//! each speculative point names its twin (`Point::vanilla_twin`), and after the sweep it
//! gets its speedup over that twin. The drafting itself is the engine's
//! (`engine::Engine::speculative_session`); this module only plans, pairs and divides.
//! Depends on `plan`, `record` and `error`.

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::bench::plan::{dir_name, Draft, Plan, PointSpec, RunSettings};
use crate::error::{Error, Result};
use crate::record::{point_key, Results, Status};

/// Tokens a draft proposes per step when `--draft-max` is not given (llama.cpp's
/// `llama-speculative-simple` defaults to 16; a 135M draft rarely keeps that many).
pub const DEFAULT_DRAFT_MAX: u32 = 4;

/// Every point of `plan`, then right after it its speculative twins: one per draft engine
/// and per draft length (a point and its twins share one engine load and sit together).
/// No drafts leave the plan as it was. Speculation runs batch 1 at depth 0: other points
/// with a draft are refused, naming the flag.
pub fn with_drafts(mut plan: Plan, drafts: &[PathBuf], draft_max: &[u32]) -> Result<Plan> {
    if drafts.is_empty() {
        if !draft_max.is_empty() {
            return Err(Error::config(
                "--draft-max",
                "needs a draft engine (--draft, or `draft` in the spec)",
            ));
        }
        return Ok(plan);
    }
    let maxes = if draft_max.is_empty() {
        vec![DEFAULT_DRAFT_MAX]
    } else {
        draft_max.to_vec()
    };
    if maxes.contains(&0) {
        return Err(Error::config("--draft-max", "values must be at least 1"));
    }
    if let Some(p) = plan.points.iter().find(|p| p.batch > 1) {
        return Err(Error::config(
            "--draft",
            format!(
                "speculative decoding runs batch 1 only (the plan has batch {}); sweep \
                 --batch 1 with --draft",
                p.batch
            ),
        ));
    }
    if let Some(p) = plan.points.iter().find(|p| p.depth > 0) {
        return Err(Error::config(
            "--draft",
            format!(
                "speculative points run at depth 0 (the plan has depth {})",
                p.depth
            ),
        ));
    }
    plan.points = plan
        .points
        .into_iter()
        .flat_map(|p| {
            let twins: Vec<PointSpec> = drafts
                .iter()
                .flat_map(|d| {
                    maxes.iter().map(|&max| PointSpec {
                        draft: Some(Draft {
                            dir: d.clone(),
                            name: dir_name(d),
                            max,
                            top_k: None,
                            verify: None,
                            block: None,
                        }),
                        ..p.clone()
                    })
                })
                .collect();
            std::iter::once(p).chain(twins)
        })
        .collect();
    Ok(plan)
}

/// Edge-LLM's drafting knobs as sweep axes: every speculative point of `plan` once per
/// value of each list given (`--draft-top-k`, `--draft-verify`, `--dflash-block`; an
/// empty list leaves the knob to the backend and out of the point's parameters). Lists
/// without a draft are refused, naming the flag.
pub fn with_draft_knobs(
    mut plan: Plan,
    top_k: &[u32],
    verify: &[u32],
    block: &[u32],
) -> Result<Plan> {
    let speculative = plan.points.iter().any(|p| p.draft.is_some());
    for (flag, list) in [
        ("--draft-top-k", top_k),
        ("--draft-verify", verify),
        ("--dflash-block", block),
    ] {
        if !list.is_empty() && !speculative {
            return Err(Error::config(
                flag,
                "needs a draft engine (--draft, or `draft` in the spec)",
            ));
        }
        if flag != "--dflash-block" && list.contains(&0) {
            return Err(Error::config(flag, "values must be at least 1"));
        }
    }
    let axis = |l: &[u32]| -> Vec<Option<u32>> {
        if l.is_empty() {
            vec![None]
        } else {
            l.iter().map(|&v| Some(v)).collect()
        }
    };
    let (ks, vs, bs) = (axis(top_k), axis(verify), axis(block));
    plan.points = plan
        .points
        .into_iter()
        .flat_map(|p| {
            let Some(d) = p.draft.clone() else {
                return vec![p];
            };
            let mut out = Vec::new();
            for &top_k in &ks {
                for &verify in &vs {
                    for &block in &bs {
                        out.push(PointSpec {
                            draft: Some(Draft {
                                top_k,
                                verify,
                                block,
                                ..d.clone()
                            }),
                            ..p.clone()
                        });
                    }
                }
            }
            out
        })
        .collect();
    Ok(plan)
}

/// Key of a point's vanilla twin: its parameters without `draft` and `draft_max`. `None`
/// for a point without a draft.
pub fn vanilla_key(spec: &PointSpec, settings: &RunSettings, threads: u32) -> Option<String> {
    spec.draft.as_ref()?;
    let plain = PointSpec {
        draft: None,
        ..spec.clone()
    };
    Some(point_key(&plain.parameters(settings, threads)))
}

/// For every finished speculative point whose vanilla twin finished too, records
/// `spec_speedup` (twin's mean TPOT ÷ this point's: the decode speedup) and
/// `spec_e2e_speedup` (the same with E2E latency, prefill of both models included).
/// Returns whether anything changed.
pub fn annotate_speedups(results: &mut Results) -> bool {
    let mean = |r: &Results, key: &str, metric: &str| -> Option<f64> {
        let p = r
            .points
            .iter()
            .find(|p| p.key == key && p.status == Status::Ok)?;
        p.summary.get(metric).map(|s| s.mean)
    };
    let mut found: Vec<(usize, BTreeMap<String, f64>)> = Vec::new();
    for (i, p) in results.points.iter().enumerate() {
        let Some(twin) = p.vanilla_twin.as_deref() else {
            continue;
        };
        if p.status != Status::Ok {
            continue;
        }
        let mut scalars = BTreeMap::new();
        for (name, metric) in [("spec_speedup", "tpot_ms"), ("spec_e2e_speedup", "e2e_ms")] {
            let (Some(base), Some(own)) =
                (mean(results, twin, metric), mean(results, &p.key, metric))
            else {
                continue;
            };
            if own > 0.0 && base.is_finite() {
                scalars.insert(name.to_string(), base / own);
            }
        }
        if !scalars.is_empty() {
            found.push((i, scalars));
        }
    }
    let changed = !found.is_empty();
    for (i, scalars) in found {
        results.points[i].scalars.extend(scalars);
    }
    changed
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::plan::expand;
    use crate::record::{Point, PointKind};

    fn plan(batch: &[u32]) -> Plan {
        expand(
            &[PathBuf::from("engines/t")],
            batch,
            &[8],
            &[4, 5],
            &[],
            RunSettings::default(),
        )
        .unwrap()
    }

    #[test]
    fn each_point_then_its_speculative_twins_paired_by_key() {
        let drafts = [PathBuf::from("engines/d1"), PathBuf::from("x/d2")];
        let p = with_drafts(plan(&[1]), &drafts, &[2, 8]).unwrap();
        // 2 points × (1 vanilla + 2 drafts × 2 lengths).
        assert_eq!(p.points.len(), 10);
        assert!(p.points[0].draft.is_none());
        let d = p.points[4].draft.as_ref().unwrap();
        assert_eq!((d.name.as_str(), d.max), ("d2", 8));
        assert!(p.points[5].draft.is_none() && p.points[5].osl == 5);
        let s = RunSettings::default();
        let key = |q: &PointSpec| point_key(&q.parameters(&s, 2));
        // The vanilla point's key is what it was without drafts; the twin points at it.
        assert_eq!(key(&p.points[0]), key(&plan(&[1]).points[0]));
        assert_eq!(vanilla_key(&p.points[3], &s, 2), Some(key(&p.points[0])));
        assert_ne!(key(&p.points[3]), key(&p.points[0]));
        assert!(key(&p.points[2]).contains("draft=d1,draft_max=8"));
        assert_eq!(vanilla_key(&p.points[0], &s, 2), None);
        // The default draft length.
        let p = with_drafts(plan(&[1]), &drafts[..1], &[]).unwrap();
        assert_eq!(p.points[1].draft.as_ref().unwrap().max, DEFAULT_DRAFT_MAX);
    }

    #[test]
    fn refusals_name_the_flag() {
        let e = with_drafts(plan(&[1, 4]), &[PathBuf::from("d")], &[]).unwrap_err();
        assert!(
            e.is_usage() && e.to_string().starts_with("--draft: "),
            "{e}"
        );
        assert!(e.to_string().contains("batch 4"), "{e}");
        let e = with_drafts(plan(&[1]), &[], &[4]).unwrap_err();
        assert!(e.to_string().starts_with("--draft-max"), "{e}");
        let e = with_drafts(plan(&[1]), &[PathBuf::from("d")], &[0]).unwrap_err();
        assert!(e.to_string().starts_with("--draft-max"), "{e}");
        assert_eq!(with_drafts(plan(&[1, 4]), &[], &[]).unwrap(), plan(&[1, 4]));
    }

    #[test]
    fn edge_llm_drafting_knobs_sweep_the_speculative_points_only() {
        let drafts = [PathBuf::from("engines/spec")];
        let p = with_drafts(plan(&[1]), &drafts, &[3]).unwrap();
        let p = with_draft_knobs(p, &[1, 4], &[], &[0]).unwrap();
        // 2 vanilla points, each followed by 2 top-k values × 1 block.
        assert_eq!(p.points.len(), 6);
        assert!(p.points[0].draft.is_none() && p.points[3].draft.is_none());
        let d = p.points[2].draft.as_ref().unwrap();
        assert_eq!(
            (d.max, d.top_k, d.verify, d.block),
            (3, Some(4), None, Some(0))
        );
        let s = RunSettings::default();
        let key = point_key(&p.points[2].parameters(&s, 2));
        assert!(
            key.contains("draft_top_k=4") && key.contains("dflash_block=0"),
            "{key}"
        );
        assert!(!key.contains("draft_verify"), "{key}");
        // The twin is the vanilla point, whatever the knobs.
        assert_eq!(
            vanilla_key(&p.points[2], &s, 2),
            Some(point_key(&p.points[0].parameters(&s, 2)))
        );
        // No knob lists: the plan is unchanged; knobs without a draft or a zero: refused.
        let q = with_drafts(plan(&[1]), &drafts, &[3]).unwrap();
        assert_eq!(with_draft_knobs(q.clone(), &[], &[], &[]).unwrap(), q);
        let e = with_draft_knobs(plan(&[1]), &[], &[8], &[]).unwrap_err();
        assert!(e.to_string().starts_with("--draft-verify"), "{e}");
        let e = with_draft_knobs(q, &[0], &[], &[]).unwrap_err();
        assert!(e.to_string().starts_with("--draft-top-k"), "{e}");
    }

    fn point(key: &str, tpot: f64, twin: Option<&str>) -> Point {
        let mut p = Point::new(PointKind::Engine, BTreeMap::new());
        p.key = key.into();
        for (m, v) in [("tpot_ms", tpot), ("e2e_ms", 10.0 * tpot)] {
            p.summary.insert(
                m.into(),
                crate::stats::summarize(&[v, v], "ms", None).unwrap(),
            );
        }
        p.vanilla_twin = twin.map(str::to_owned);
        p
    }

    #[test]
    fn speedup_is_the_twins_tpot_over_the_points() {
        let mut r = Results::new(vec![], serde_json::json!({}));
        let mut failed = point("f", 1.0, Some("v"));
        failed.status = Status::Error;
        r.points = vec![
            point("v", 12.0, None),
            point("s", 8.0, Some("v")),
            point("orphan", 8.0, Some("missing")),
            failed,
        ];
        assert!(annotate_speedups(&mut r));
        assert_eq!(r.points[1].scalars["spec_speedup"], 1.5);
        assert_eq!(r.points[1].scalars["spec_e2e_speedup"], 1.5);
        for i in [0, 2, 3] {
            assert!(r.points[i].scalars.is_empty(), "{}", r.points[i].key);
        }
    }
}
