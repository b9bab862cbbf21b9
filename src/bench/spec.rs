//! A sweep spec (the TOML `trtbench sweep --spec` reads) to a [`Plan`] on its own, with no
//! flags over it: what an embedding application hands the library (the C ABI and the
//! Python module take the spec as a string). The same steps as the CLI's `sweep`: settings
//! over the defaults, the engines' globs, every combination (`plan::expand`), the depth and
//! draft axes, perplexity. Errors name the spec's field.

use std::path::PathBuf;

use crate::bench::plan::{
    expand, expand_engines, pick_list, ppl_spec, Plan, RunSettings, SweepSpec,
};
use crate::error::{Error, Result};

/// Parses a spec from TOML text; an unknown or mistyped field is a `Config` error whose
/// key is that field (the key on the line the TOML error points at), its reason the line
/// and what is wrong.
pub fn parse(text: &str) -> Result<SweepSpec> {
    toml::from_str(text).map_err(|e| Error::toml_field(text, &e, "sweep spec"))
}

/// The plan of a spec alone: defaults, then the spec's fields. Without `engines` the spec
/// means every engine under `engines/`, as `trtbench sweep` does.
pub fn plan(spec: &SweepSpec) -> Result<Plan> {
    let settings = RunSettings::default().with_spec(spec)?;
    let list = |key: &str, field| pick_list(key, None, field);
    let batch = list("batch", spec.batch.as_ref())?.unwrap_or(vec![1]);
    let isl = list("isl", spec.isl.as_ref())?.unwrap_or(vec![128]);
    let osl = list("osl", spec.osl.as_ref())?.unwrap_or(vec![32]);
    let depth = list("depth", spec.depth.as_ref())?.unwrap_or_default();
    let draft_max = list("draft_max", spec.draft_max.as_ref())?.unwrap_or_default();
    let engines = spec
        .engines
        .clone()
        .unwrap_or_else(|| vec!["engines/*".into()]);
    let engines = expand_engines(&engines)?;
    let graphs: Vec<Option<bool>> = spec
        .cuda_graphs
        .iter()
        .flatten()
        .map(|b| Some(*b))
        .collect();
    let mut plan = expand(&engines, &batch, &isl, &osl, &graphs, settings)?;
    plan = crate::bench::depth::with_depths(plan, &depth);
    let drafts: Vec<PathBuf> = match &spec.draft {
        Some(d) => expand_engines(&d.to_vec())?,
        None => Vec::new(),
    };
    plan = crate::bench::draft::with_drafts(plan, &drafts, &draft_max)?;
    let knob = |key: &str, field| list(key, field).map(Option::unwrap_or_default);
    plan = crate::bench::draft::with_draft_knobs(
        plan,
        &knob("draft_top_k", spec.draft_top_k.as_ref())?,
        &knob("draft_verify", spec.draft_verify.as_ref())?,
        &knob("dflash_block", spec.dflash_block.as_ref())?,
    )?;
    let threads = crate::bench::runner::threads_for(&plan.settings);
    plan.ppl = ppl_spec(&SweepSpec::default(), spec, threads);
    Ok(plan)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_name_the_field() {
        let e = parse("batch = [1]\nbach = [2]\n").unwrap_err().to_string();
        assert!(
            e.starts_with("bach: sweep spec line 2: unknown field"),
            "{e}"
        );
        let e = parse("warmup = 1\nruns = \"five\"\n")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("runs: sweep spec line 2: "), "{e}");
        let e = plan(&parse("isl = \"4-x\"\n").unwrap())
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("isl: "), "{e}");
        let e = plan(&parse("threads = 0\n").unwrap())
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("threads: "), "{e}");
    }

    #[test]
    fn a_spec_alone_expands_every_combination() {
        let spec =
            "engines = [\"/x/e\"]\nbatch = [1, 2]\nisl = \"4,8\"\nruns = 3\ndepth = [0, 16]\n";
        let plan = plan(&parse(spec).unwrap()).unwrap();
        let got: Vec<_> = plan
            .points
            .iter()
            .map(|p| (p.batch, p.isl, p.osl, p.depth))
            .collect();
        assert_eq!(got.len(), 8, "{got:?}");
        assert!(got.contains(&(2, 8, 32, 16)), "{got:?}");
        assert_eq!(plan.settings.runs, 3);
        assert!(plan
            .points
            .iter()
            .all(|p| p.engine_dir == std::path::Path::new("/x/e")));
    }
}
