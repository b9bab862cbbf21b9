//! Speculative Edge-LLM builds (`trtbench build --backend tensorrt --draft eagle3|mtp|dflash`):
//! the export and `llm_build` steps of Edge-LLM 0.10's documented workflow
//! (`docs/source/user_guide/examples/speculative-decoding.md`), which leave one flat engine
//! directory holding the base (`--specBase`) and the draft (`--specDraft`):
//! - EAGLE3: the base exported with `--eagle-base`, the draft checkpoint exported as a plain
//!   `llm/` component; `llm_build` with `--maxVerifyTreeSize` and `--maxDraftTreeSize`;
//! - MTP: one export with `--mtp` writes `llm/` (base) and `mtp_draft/` (its draft layer);
//! - DFlash: the base exported with `--dflash-base --dflash-draft-dir D`, the draft with
//!   `--dflash-draft --dflash-draft-dir D` into `dflash_draft/`.
//!
//! Planned here and shown as steps; this machine has no GPU to run them on.

use std::path::{Path, PathBuf};

use crate::build::steps::Step;
use crate::error::{Error, Result};

/// The draft strategies whose build trtbench plans.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DraftKind {
    Eagle3,
    Mtp,
    Dflash,
}

impl DraftKind {
    pub fn parse(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "eagle3" => Ok(DraftKind::Eagle3),
            "mtp" => Ok(DraftKind::Mtp),
            "dflash" => Ok(DraftKind::Dflash),
            other => Err(Error::config(
                "--draft",
                format!("`{other}` is not a draft Edge-LLM builds (eagle3, mtp or dflash)"),
            )),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            DraftKind::Eagle3 => "eagle3",
            DraftKind::Mtp => "mtp",
            DraftKind::Dflash => "dflash",
        }
    }

    /// The verify / draft tree size of Edge-LLM's documented example for this strategy
    /// (EAGLE3 60, MTP 4, DFlash 16).
    pub fn default_tree(self) -> u32 {
        match self {
            DraftKind::Eagle3 => 60,
            DraftKind::Mtp => 4,
            DraftKind::Dflash => 16,
        }
    }
}

/// The draft of a speculative build.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DraftBuild {
    pub kind: DraftKind,
    /// The draft checkpoint (EAGLE3, DFlash); MTP's draft is part of the base checkpoint.
    pub from: Option<PathBuf>,
    /// `--maxVerifyTreeSize` of the base and `--maxDraftTreeSize` of the draft.
    pub tree: u32,
}

impl DraftBuild {
    /// Checks the draft checkpoint is given exactly when the strategy has one.
    pub fn new(kind: DraftKind, from: Option<PathBuf>, tree: Option<u32>) -> Result<Self> {
        match (kind, &from) {
            (DraftKind::Mtp, Some(_)) => {
                return Err(Error::config(
                    "--draft-from",
                    "an MTP draft is part of the base checkpoint (tensorrt-edgellm-export --mtp); \
                     drop --draft-from",
                ))
            }
            (DraftKind::Eagle3 | DraftKind::Dflash, None) => {
                return Err(Error::config(
                    "--draft-from",
                    format!(
                        "an {} build needs the draft checkpoint (--draft-from DIR)",
                        kind.as_str()
                    ),
                ))
            }
            _ => {}
        }
        let tree = tree.unwrap_or(kind.default_tree());
        if tree == 0 {
            return Err(Error::config("--max-verify", "must be at least 1"));
        }
        Ok(DraftBuild { kind, from, tree })
    }
}

/// What the speculative steps need from the vanilla plan.
pub struct SpecBuild<'a> {
    /// Checkpoint the base export reads (the quantized one when a quantize step ran).
    pub base_input: String,
    pub work_dir: &'a Path,
    pub engine_dir: &'a Path,
    pub llm_build: &'a Path,
    /// `--maxInputLen`, `--maxKVCacheCapacity`, `--maxBatchSize`.
    pub limits: [(&'static str, u32); 3],
}

impl<'a> SpecBuild<'a> {
    /// The speculative steps' inputs from a build spec and the base export's input.
    pub fn of(spec: &'a crate::build::edge_llm::BuildSpec, base_input: String) -> Self {
        let l = spec.limits;
        SpecBuild {
            base_input,
            work_dir: &spec.work_dir,
            engine_dir: &spec.engine_dir,
            llm_build: &spec.llm_build,
            limits: [
                ("maxInputLen", l.max_input_len),
                ("maxKVCacheCapacity", l.kv_capacity),
                ("maxBatchSize", l.max_batch),
            ],
        }
    }
}

fn s(p: &Path) -> String {
    p.display().to_string()
}

/// The export steps of a speculative build, with the base's and the draft's ONNX directories.
fn export_steps(b: &SpecBuild<'_>, d: &DraftBuild) -> (Vec<Step>, PathBuf, PathBuf) {
    let export = |args: Vec<String>| {
        let mut argv = vec!["tensorrt-edgellm-export".to_owned()];
        argv.extend(args);
        argv
    };
    let base_out = b.work_dir.join("base-export");
    let draft_out = b.work_dir.join("draft-export");
    let draft_from = d.from.as_deref().map(s).unwrap_or_default();
    let mut steps = Vec::new();
    match d.kind {
        DraftKind::Eagle3 => {
            steps.push(Step::new(
                "export base",
                export(vec![
                    b.base_input.clone(),
                    s(&base_out),
                    "--eagle-base".into(),
                ]),
            ));
            steps.push(Step::new(
                "export draft",
                export(vec![draft_from, s(&draft_out)]),
            ));
            (steps, base_out.join("llm"), draft_out.join("llm"))
        }
        DraftKind::Mtp => {
            let onnx = b.work_dir.join("onnx");
            steps.push(Step::new(
                "export base and draft",
                export(vec![b.base_input.clone(), s(&onnx), "--mtp".into()]),
            ));
            (steps, onnx.join("llm"), onnx.join("mtp_draft"))
        }
        DraftKind::Dflash => {
            for (name, out, role) in [
                ("export base", &base_out, "--dflash-base"),
                ("export draft", &draft_out, "--dflash-draft"),
            ] {
                steps.push(Step::new(
                    name,
                    export(vec![
                        b.base_input.clone(),
                        s(out),
                        role.into(),
                        "--dflash-draft-dir".into(),
                        draft_from.clone(),
                    ]),
                ));
            }
            (steps, base_out.join("llm"), draft_out.join("dflash_draft"))
        }
    }
}

/// The export and build steps of a speculative engine directory, after any quantize step.
pub fn spec_steps(b: &SpecBuild<'_>, d: &DraftBuild) -> Vec<Step> {
    let (mut steps, base_onnx, draft_onnx) = export_steps(b, d);
    let build = |name: &str, onnx: &Path, tree_flag: &str, role: &str| {
        let mut argv = vec![
            s(b.llm_build),
            format!("--onnxDir={}", s(onnx)),
            format!("--engineDir={}", s(b.engine_dir)),
        ];
        argv.extend(b.limits.iter().map(|(k, v)| format!("--{k}={v}")));
        argv.push(format!("--{tree_flag}={}", d.tree));
        argv.push(role.to_owned());
        Step::new(name, argv)
    };
    steps.push(build(
        "llm_build base",
        &base_onnx,
        "maxVerifyTreeSize",
        "--specBase",
    ));
    steps.push(build(
        "llm_build draft",
        &draft_onnx,
        "maxDraftTreeSize",
        "--specDraft",
    ));
    steps
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(d: &DraftBuild) -> Vec<String> {
        let b = SpecBuild {
            base_input: "ckpt/base".into(),
            work_dir: Path::new("w"),
            engine_dir: Path::new("engines/e"),
            llm_build: Path::new("llm_build"),
            limits: [
                ("maxInputLen", 1024),
                ("maxKVCacheCapacity", 2048),
                ("maxBatchSize", 1),
            ],
        };
        spec_steps(&b, d).iter().map(Step::shell_line).collect()
    }

    /// Edge-LLM's documented EAGLE3 workflow: two exports, two builds into one directory.
    #[test]
    fn eagle3_exports_base_and_draft_and_builds_both_into_one_dir() {
        let d = DraftBuild::new(DraftKind::Eagle3, Some("ckpt/draft".into()), None).unwrap();
        let lines = plan(&d);
        assert_eq!(
            lines,
            [
                "tensorrt-edgellm-export ckpt/base w/base-export --eagle-base",
                "tensorrt-edgellm-export ckpt/draft w/draft-export",
                "llm_build --onnxDir=w/base-export/llm --engineDir=engines/e --maxInputLen=1024 \
                 --maxKVCacheCapacity=2048 --maxBatchSize=1 --maxVerifyTreeSize=60 --specBase",
                "llm_build --onnxDir=w/draft-export/llm --engineDir=engines/e --maxInputLen=1024 \
                 --maxKVCacheCapacity=2048 --maxBatchSize=1 --maxDraftTreeSize=60 --specDraft",
            ]
        );
    }

    #[test]
    fn mtp_and_dflash_follow_their_own_exports() {
        let mtp = plan(&DraftBuild::new(DraftKind::Mtp, None, None).unwrap());
        assert_eq!(mtp.len(), 3);
        assert_eq!(mtp[0], "tensorrt-edgellm-export ckpt/base w/onnx --mtp");
        assert!(mtp[2].contains("--onnxDir=w/onnx/mtp_draft") && mtp[2].contains("=4 "));
        let d = DraftBuild::new(DraftKind::Dflash, Some("z".into()), None).unwrap();
        let df = plan(&d);
        assert!(
            df[1].ends_with("--dflash-draft --dflash-draft-dir z"),
            "{}",
            df[1]
        );
        assert!(df[3].contains("w/draft-export/dflash_draft") && df[3].contains("=16 "));
        // The draft checkpoint exactly when the strategy has one, naming the flag.
        let e = DraftBuild::new(DraftKind::Eagle3, None, None).unwrap_err();
        assert!(e.to_string().starts_with("--draft-from"), "{e}");
        let e = DraftBuild::new(DraftKind::Mtp, Some("x".into()), None).unwrap_err();
        assert!(e.to_string().starts_with("--draft-from"), "{e}");
        assert!(DraftKind::parse("medusa")
            .unwrap_err()
            .to_string()
            .starts_with("--draft"));
    }
}
