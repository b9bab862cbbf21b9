//! Sweep plans: engines × batch × input length × output length (× CUDA graphs on/off),
//! from flags or a TOML spec, expanded in a fixed order (engine-major, so each engine is
//! loaded once) and validated before anything runs.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::quality::PplSpec;
use crate::engine::{KvDtype, MANIFEST_FILE};
use crate::error::{Error, Result};

/// Most values one list may expand to: a longer list is a typo, not a sweep.
pub const MAX_LIST_VALUES: usize = 10_000;

/// Largest batch, input or output length a plan accepts (16 Mi): beyond any engine.
pub const MAX_VALUE: u32 = 1 << 24;

/// Parses an integer list the way llama-bench does: `1,2,4`, a range with a step
/// `128-512+128`, or a geometric range `1-16*2`; parts can be mixed (`1,4-16*2`).
/// A range ends at its last value not past its end (arithmetic is checked: a step past
/// `u32::MAX` ends it too); a list of more than [`MAX_LIST_VALUES`] values is refused.
pub fn parse_list(key: &str, s: &str) -> Result<Vec<u32>> {
    let bad = |why: &str| Error::config(key, format!("`{s}`: {why}"));
    let mut out = Vec::new();
    for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        if let Some((a, rest)) = part.split_once('-') {
            let (b, op, step) = if let Some((b, m)) = rest.split_once('*') {
                (b, '*', m)
            } else if let Some((b, st)) = rest.split_once('+') {
                (b, '+', st)
            } else {
                (rest, '+', "1")
            };
            let num = |t: &str| {
                t.trim()
                    .parse::<u32>()
                    .map_err(|_| bad(&format!("`{t}` is not a whole number")))
            };
            let (a, b, step) = (num(a)?, num(b)?, num(step)?);
            if a > b {
                return Err(bad("range start is above its end"));
            }
            if (op == '*' && (step < 2 || a == 0)) || (op == '+' && step == 0) {
                return Err(bad("range step never advances"));
            }
            let mut v = Some(a);
            while let Some(x) = v.filter(|x| *x <= b) {
                if out.len() >= MAX_LIST_VALUES {
                    return Err(too_many(key, s));
                }
                out.push(x);
                // None (overflow) is past `b` too, which is at most u32::MAX.
                v = if op == '*' {
                    x.checked_mul(step)
                } else {
                    x.checked_add(step)
                };
            }
        } else {
            out.push(
                part.parse::<u32>()
                    .map_err(|_| bad(&format!("`{part}` is not a whole number")))?,
            );
        }
    }
    if out.is_empty() {
        return Err(bad("empty list"));
    }
    if out.len() > MAX_LIST_VALUES {
        return Err(too_many(key, s));
    }
    Ok(out)
}

fn too_many(key: &str, s: &str) -> Error {
    Error::config(
        key,
        format!("`{s}`: more than {MAX_LIST_VALUES} values (check the range and its step)"),
    )
}

/// A list in a TOML spec: `[1, 2, 4]` or the string syntax of [`parse_list`].
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum ListField {
    Ints(Vec<u32>),
    Text(String),
}

impl ListField {
    fn resolve(&self, key: &str) -> Result<Vec<u32>> {
        match self {
            ListField::Ints(v) if v.is_empty() => Err(Error::config(key, "empty list")),
            ListField::Ints(v) if v.len() > MAX_LIST_VALUES => Err(Error::config(
                key,
                format!("more than {MAX_LIST_VALUES} values"),
            )),
            ListField::Ints(v) => Ok(v.clone()),
            ListField::Text(s) => parse_list(key, s),
        }
    }
}

/// A sweep described in TOML. Every field is optional; flags override it.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SweepSpec {
    pub engines: Option<Vec<String>>,
    pub batch: Option<ListField>,
    pub isl: Option<ListField>,
    pub osl: Option<ListField>,
    pub cuda_graphs: Option<Vec<bool>>,
    /// Context depths: tokens already in the KV cache before the timed prefill.
    pub depth: Option<ListField>,
    pub warmup: Option<u32>,
    pub runs: Option<u32>,
    pub seed: Option<u64>,
    pub threads: Option<u32>,
    pub kv_dtype: Option<String>,
    pub ctx: Option<u32>,
    pub text: Option<PathBuf>,
    pub mem_fraction: Option<f64>,
    pub sample_ms: Option<u64>,
    /// Text to measure perplexity on (`true` = the default text).
    pub ppl: Option<PplField>,
    pub ppl_ctx: Option<u32>,
    pub ppl_chunks: Option<u32>,
    /// Engine name the quantization-impact table compares against.
    pub baseline: Option<String>,
    /// Draft engines: every point also runs speculatively with each (`--draft`).
    pub draft: Option<EnginesField>,
    /// Tokens a draft proposes per step at most, a list sweeps it (`--draft-max`).
    pub draft_max: Option<ListField>,
    /// Edge-LLM drafting fan-out per step (`draftingTopK`; `--draft-top-k`), a list sweeps it.
    pub draft_top_k: Option<ListField>,
    /// Edge-LLM base verification input size (`verifySize`; `--draft-verify`).
    pub draft_verify: Option<ListField>,
    /// Edge-LLM DFlash draft block (`dflashBlockSize`; `--dflash-block`).
    pub dflash_block: Option<ListField>,
}

/// `draft = "engines/x"` or `draft = ["engines/x", "engines/y"]` in a spec.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum EnginesField {
    One(String),
    Many(Vec<String>),
}

impl EnginesField {
    pub fn to_vec(&self) -> Vec<String> {
        match self {
            EnginesField::One(s) => vec![s.clone()],
            EnginesField::Many(v) => v.clone(),
        }
    }
}

/// `ppl = true` or `ppl = "path/to/text"` in a spec.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum PplField {
    Enabled(bool),
    Path(PathBuf),
}

impl SweepSpec {
    /// Reads a spec file; errors name the file and, for TOML errors, line and column.
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        toml::from_str(&text).map_err(|e| Error::bad_file(path, format!("invalid sweep spec: {e}")))
    }
}

/// Settings shared by every point of a plan.
#[derive(Debug, Clone, PartialEq)]
pub struct RunSettings {
    pub warmup: u32,
    pub runs: u32,
    pub seed: u64,
    pub threads: Option<u32>,
    pub kv_dtype: KvDtype,
    /// Per-sequence context limit; `None` = the model's trained context.
    pub ctx: Option<u32>,
    /// Text prompts are cut from.
    pub text: PathBuf,
    /// Fraction of available memory a point's KV cache may take.
    pub mem_fraction: f64,
    /// Memory/power sampling interval during measured runs; 0 = off.
    pub sample_ms: u64,
}

impl Default for RunSettings {
    fn default() -> Self {
        RunSettings {
            warmup: 2,
            runs: 5,
            seed: 0,
            threads: None,
            kv_dtype: KvDtype::F16,
            ctx: None,
            text: PathBuf::from(super::corpus::DEFAULT_TEXT),
            mem_fraction: 0.9,
            sample_ms: 50,
        }
    }
}

impl RunSettings {
    /// These settings with every field `spec` sets taking its place. A CLI layers them:
    /// defaults, then the spec file, then the flags (as a spec), each layer validated as
    /// it is applied, so a bad value names the layer it came from.
    pub fn with_spec(self, spec: &SweepSpec) -> Result<RunSettings> {
        let kv_dtype = match &spec.kv_dtype {
            Some(s) => KvDtype::parse(s)?,
            None => self.kv_dtype,
        };
        if spec.threads == Some(0) {
            return Err(Error::config(
                "threads",
                "must be at least 1 (or left out: every core)",
            ));
        }
        Ok(RunSettings {
            warmup: spec.warmup.unwrap_or(self.warmup),
            runs: spec.runs.unwrap_or(self.runs),
            seed: spec.seed.unwrap_or(self.seed),
            threads: spec.threads.or(self.threads),
            kv_dtype,
            ctx: spec.ctx.or(self.ctx),
            text: spec.text.clone().unwrap_or(self.text),
            mem_fraction: spec.mem_fraction.unwrap_or(self.mem_fraction),
            sample_ms: spec.sample_ms.unwrap_or(self.sample_ms),
        })
    }
}

/// The perplexity measurement asked for, if any: each field of `over` (flags) wins over
/// the same field of `base` (a spec file). `ppl = true` means the default text; chunks of
/// 512 tokens, 8 chunks at most unless set.
pub fn ppl_spec(over: &SweepSpec, base: &SweepSpec, threads: u32) -> Option<PplSpec> {
    let text = match over.ppl.as_ref().or(base.ppl.as_ref())? {
        PplField::Path(p) => p.clone(),
        PplField::Enabled(true) => PathBuf::from(super::corpus::DEFAULT_TEXT),
        PplField::Enabled(false) => return None,
    };
    Some(PplSpec {
        text,
        ctx: over.ppl_ctx.or(base.ppl_ctx).unwrap_or(512),
        max_chunks: over.ppl_chunks.or(base.ppl_chunks).unwrap_or(8),
        threads,
    })
}

/// One point of a sweep.
#[derive(Debug, Clone, PartialEq)]
pub struct PointSpec {
    pub engine_dir: PathBuf,
    /// The engine's name in the results: its directory name, or the directory as given
    /// when another engine of the plan has the same directory name (`a/m`, `b/m`).
    pub name: String,
    pub batch: u32,
    pub isl: u32,
    pub osl: u32,
    /// `None` when the axis was not asked for (CPU backends).
    pub cuda_graphs: Option<bool>,
    /// Tokens prefilled untimed into each sequence's cache before the timed prefill
    /// (llama-bench's `-d`); 0 = an empty cache.
    pub depth: u32,
    /// The draft engine of a speculative point (`--draft`); `None` = plain decoding.
    pub draft: Option<Draft>,
}

/// A speculative point's draft: the engine proposing tokens and how many per step.
#[derive(Debug, Clone, PartialEq)]
pub struct Draft {
    pub dir: PathBuf,
    /// The draft's name in the point's parameters (`draft`): its directory name.
    pub name: String,
    /// Tokens proposed per verify step at most (`--draft-max`).
    pub max: u32,
    /// Edge-LLM's other drafting knobs (`--draft-top-k`, `--draft-verify`, `--dflash-block`);
    /// `None` when not swept (the backend's default), and then not in the point's parameters.
    pub top_k: Option<u32>,
    pub verify: Option<u32>,
    pub block: Option<u32>,
}

impl Draft {
    /// The knobs a backend's speculative session takes.
    pub fn knobs(&self) -> crate::engine::DraftKnobs {
        crate::engine::DraftKnobs {
            max: self.max,
            top_k: self.top_k,
            verify: self.verify,
            block: self.block,
        }
    }
}

impl PointSpec {
    /// The engine's name in the results and its point keys (see [`PointSpec::name`]).
    pub fn engine_name(&self) -> String {
        self.name.clone()
    }

    /// Parameters recorded with the point (and its key).
    pub fn parameters(&self, s: &RunSettings, threads: u32) -> BTreeMap<String, serde_json::Value> {
        let mut p = BTreeMap::new();
        p.insert("engine".into(), self.engine_name().into());
        p.insert("batch".into(), self.batch.into());
        p.insert("isl".into(), self.isl.into());
        p.insert("osl".into(), self.osl.into());
        p.insert("kv_dtype".into(), s.kv_dtype.as_str().into());
        p.insert("threads".into(), threads.into());
        if let Some(g) = self.cuda_graphs {
            p.insert("cuda_graphs".into(), g.into());
        }
        // Only when set, so the keys of points without depth stay as they were.
        if self.depth > 0 {
            p.insert("depth".into(), self.depth.into());
        }
        if let Some(d) = &self.draft {
            p.insert("draft".into(), d.name.clone().into());
            p.insert("draft_max".into(), d.max.into());
            for (key, v) in [
                ("draft_top_k", d.top_k),
                ("draft_verify", d.verify),
                ("dflash_block", d.block),
            ] {
                if let Some(v) = v {
                    p.insert(key.into(), v.into());
                }
            }
        }
        p
    }
}

/// The directory name of an engine (its name unless another engine shares it).
pub fn dir_name(dir: &Path) -> String {
    dir.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| dir.display().to_string())
}

/// An engine's name: its directory's, also when it is given as the model file its
/// directory's manifest names (`run -m engines/x/model.gguf` is engine `x`, as
/// `run --engine engines/x` is); a `.gguf` of its own is named by its file.
pub fn engine_name(path: &Path) -> String {
    if path.is_file() {
        let parent = path.parent().filter(|d| !d.as_os_str().is_empty());
        let file = path.file_name().map(|n| n.to_string_lossy().into_owned());
        if let (Some(dir), Some(file)) = (parent, file) {
            let own = crate::engine::Manifest::load(dir)
                .is_ok_and(|m| m.files.first().is_some_and(|f| f.path == file));
            if own {
                return dir_name(&dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf()));
            }
        }
    }
    dir_name(path)
}

/// Names of `engines`, in order: directory names, except that engines sharing one are
/// named by their directory as given, so their points never share a key.
pub fn engine_names(engines: &[PathBuf]) -> Vec<String> {
    let short: Vec<String> = engines.iter().map(|e| engine_name(e)).collect();
    engines
        .iter()
        .zip(&short)
        .map(|(e, n)| {
            if short.iter().filter(|m| *m == n).count() > 1 {
                e.display().to_string().trim_end_matches('/').to_owned()
            } else {
                n.clone()
            }
        })
        .collect()
}

/// A validated, expanded sweep.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    pub points: Vec<PointSpec>,
    pub settings: RunSettings,
    /// Perplexity to measure once per engine, when asked for.
    pub ppl: Option<PplSpec>,
}

/// Expands engine patterns (globs like `engines/*` or `models/*.gguf`) into engines: a
/// glob keeps directories holding a manifest or a `.gguf`, and `.gguf` files. A pattern
/// that matches nothing is an error naming it.
pub fn expand_engines(patterns: &[String]) -> Result<Vec<PathBuf>> {
    let mut out: Vec<PathBuf> = Vec::new();
    for pat in patterns {
        let is_glob = pat.contains(['*', '?', '[']);
        let matched: Vec<PathBuf> = if is_glob {
            glob::glob(pat)
                .map_err(|e| Error::config("--engines", format!("`{pat}`: {e}")))?
                .filter_map(|p| p.ok())
                .filter(|p| is_engine_path(p))
                .collect()
        } else {
            vec![PathBuf::from(pat)]
        };
        if matched.is_empty() {
            return Err(Error::config(
                "--engines",
                format!(
                    "`{pat}` matches no engine (a directory holding {MANIFEST_FILE} or a \
                     .gguf, or a .gguf file)"
                ),
            ));
        }
        for m in matched {
            if !out.contains(&m) {
                out.push(m);
            }
        }
    }
    Ok(out)
}

/// Whether a glob match can be an engine: a `.gguf` file, or a directory holding a
/// manifest or a `.gguf` (`backends::resolve` decides the rest when it is opened).
fn is_engine_path(p: &Path) -> bool {
    let gguf = |p: &Path| {
        p.is_file()
            && p.extension()
                .is_some_and(|x| x.eq_ignore_ascii_case("gguf"))
    };
    if p.is_file() {
        return gguf(p);
    }
    crate::backends::is_engine_dir(p)
        || std::fs::read_dir(p).is_ok_and(|rd| rd.filter_map(|e| e.ok()).any(|e| gguf(&e.path())))
}

/// Builds the plan: every combination, engine-major, then batch, isl, osl, graphs.
pub fn expand(
    engines: &[PathBuf],
    batch: &[u32],
    isl: &[u32],
    osl: &[u32],
    cuda_graphs: &[Option<bool>],
    settings: RunSettings,
) -> Result<Plan> {
    if engines.is_empty() {
        return Err(Error::config("--engines", "no engine given"));
    }
    for (key, list) in [("--batch", batch), ("--isl", isl), ("--osl", osl)] {
        if list.is_empty() {
            return Err(Error::config(key, "empty list"));
        }
        if list.contains(&0) {
            return Err(Error::config(key, "values must be at least 1 (got 0)"));
        }
        if let Some(v) = list.iter().find(|v| **v > MAX_VALUE) {
            return Err(Error::config(
                key,
                format!("{v} is beyond any engine (at most {MAX_VALUE})"),
            ));
        }
    }
    if settings.runs == 0 {
        return Err(Error::config("--runs", "must be at least 1"));
    }
    if !(settings.mem_fraction > 0.0 && settings.mem_fraction <= 1.0) {
        return Err(Error::config("--mem-fraction", "must be in (0, 1]"));
    }
    let graphs: Vec<Option<bool>> = if cuda_graphs.is_empty() {
        vec![None]
    } else {
        cuda_graphs.to_vec()
    };
    let mut points = Vec::new();
    for (e, name) in engines.iter().zip(engine_names(engines)) {
        for &b in batch {
            for &i in isl {
                for &o in osl {
                    for &g in &graphs {
                        points.push(PointSpec {
                            engine_dir: e.clone(),
                            name: name.clone(),
                            batch: b,
                            isl: i,
                            osl: o,
                            cuda_graphs: g,
                            depth: 0,
                            draft: None,
                        });
                    }
                }
            }
        }
    }
    Ok(Plan {
        points,
        settings,
        ppl: None,
    })
}

/// Resolves a spec's list field, preferring the flag's value.
pub fn pick_list(
    key: &str,
    flag: Option<&str>,
    spec: Option<&ListField>,
) -> Result<Option<Vec<u32>>> {
    match (flag, spec) {
        (Some(f), _) => parse_list(key, f).map(Some),
        (None, Some(s)) => s.resolve(key).map(Some),
        (None, None) => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_model_file_given_alone_is_named_as_its_engine_directory() {
        use crate::engine::{BackendKind, FileEntry, Manifest, ModelDims};
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("smollm2-135m-q4_1");
        std::fs::create_dir(&dir).unwrap();
        std::fs::write(dir.join("m.gguf"), b"GGUF").unwrap();
        std::fs::write(root.path().join("loose.gguf"), b"GGUF").unwrap();
        let dims = ModelDims {
            arch: "llama".into(),
            layers: 1,
            heads: 1,
            kv_heads: 1,
            head_dim: 1,
            embedding: 1,
            vocab: 1,
            context_train: 1,
            params: None,
        };
        Manifest {
            schema_version: crate::engine::MANIFEST_VERSION,
            name: "smollm2-135m-q4_1".into(),
            backend: BackendKind::LlamaCpp,
            quant: "q4_1".into(),
            files: vec![FileEntry {
                path: "m.gguf".into(),
                bytes: 4,
                sha256: String::new(),
            }],
            model: dims,
            source: None,
            build: None,
        }
        .save(&dir)
        .unwrap();
        assert_eq!(engine_name(&dir.join("m.gguf")), "smollm2-135m-q4_1");
        assert_eq!(engine_name(&dir), "smollm2-135m-q4_1");
        assert_eq!(engine_name(&root.path().join("loose.gguf")), "loose.gguf");
    }

    #[test]
    fn list_syntax() {
        assert_eq!(parse_list("b", "1,2,4,8").unwrap(), vec![1, 2, 4, 8]);
        assert_eq!(parse_list("b", "1-16*2").unwrap(), vec![1, 2, 4, 8, 16]);
        assert_eq!(
            parse_list("b", "128-512+128").unwrap(),
            vec![128, 256, 384, 512]
        );
        assert_eq!(parse_list("b", "1,4-6").unwrap(), vec![1, 4, 5, 6]);
        // Ranges whose step would overflow u32 end, in bounded time (they looped forever).
        assert_eq!(parse_list("b", "4294967290-4294967295+1").unwrap().len(), 6);
        assert_eq!(parse_list("b", "1-4000000000*2").unwrap().len(), 32);
        assert_eq!(parse_list("b", "4-300000*65536").unwrap(), vec![4, 262144]);
        for bad in ["1-4000000000+1", "1-20000", "1-9999,1-9999"] {
            let e = parse_list("--batch", bad).unwrap_err().to_string();
            assert!(
                e.starts_with("--batch") && e.contains("10000 values"),
                "{bad}: {e}"
            );
        }
        for bad in ["", "x", "4-1", "1-8*1", "0-8*2", "1-8+0", "1,,z"] {
            let e = parse_list("--batch", bad).unwrap_err().to_string();
            assert!(e.starts_with("--batch"), "{bad}: {e}");
        }
    }

    #[test]
    fn expansion_order_and_validation() {
        let e = vec![PathBuf::from("a"), PathBuf::from("b")];
        let p = expand(&e, &[1, 2], &[8], &[4, 5], &[], RunSettings::default()).unwrap();
        assert_eq!(p.points.len(), 8);
        assert_eq!(p.points[0].engine_dir, PathBuf::from("a"));
        assert_eq!((p.points[1].batch, p.points[1].osl), (1, 5));
        assert_eq!(p.points[4].engine_dir, PathBuf::from("b"));
        // Two engines with one directory name get distinct names, hence distinct keys.
        let twins = vec![
            PathBuf::from("a/m"),
            PathBuf::from("b/m/"),
            PathBuf::from("c/n"),
        ];
        let p = expand(&twins, &[1], &[8], &[4], &[], RunSettings::default()).unwrap();
        let names: Vec<String> = p.points.iter().map(PointSpec::engine_name).collect();
        assert_eq!(names, ["a/m", "b/m", "n"]);
        let err = expand(&e, &[1], &[u32::MAX], &[4], &[], RunSettings::default()).unwrap_err();
        assert!(
            err.to_string().starts_with("--isl: 4294967295 is beyond"),
            "{err}"
        );
        let err = expand(&e, &[0], &[8], &[4], &[], RunSettings::default()).unwrap_err();
        assert!(err.to_string().contains("--batch") && err.is_usage());
        let p = expand(
            &e[..1],
            &[1],
            &[8],
            &[4],
            &[Some(true), Some(false)],
            RunSettings::default(),
        )
        .unwrap();
        assert_eq!(p.points.len(), 2);
    }

    #[test]
    fn spec_parses_and_rejects_typos() {
        let s: SweepSpec = toml::from_str(
            "engines = [\"engines/*\"]\nbatch = [1, 2]\nisl = \"128-256+128\"\nosl = [16]\nruns = 3\n",
        )
        .unwrap();
        assert_eq!(
            pick_list("--isl", None, s.isl.as_ref()).unwrap(),
            Some(vec![128, 256])
        );
        assert_eq!(
            pick_list("--batch", Some("4"), s.batch.as_ref()).unwrap(),
            Some(vec![4])
        );
        assert!(toml::from_str::<SweepSpec>("bach = [1]").is_err());
        let s: SweepSpec =
            toml::from_str("draft = \"engines/d\"\ndraft_max = \"1-4*2\"\n").unwrap();
        assert_eq!(s.draft.unwrap().to_vec(), ["engines/d"]);
        assert_eq!(
            pick_list("--draft-max", None, s.draft_max.as_ref()).unwrap(),
            Some(vec![1, 2, 4])
        );
        let s: SweepSpec = toml::from_str("draft = [\"a\", \"b\"]\n").unwrap();
        assert_eq!(s.draft.unwrap().to_vec(), ["a", "b"]);
    }

    #[test]
    fn flags_override_the_spec_file_which_overrides_defaults() {
        let file: SweepSpec = toml::from_str(
            "runs = 3\nthreads = 2\nkv_dtype = \"q8_0\"\nppl = true\nppl_ctx = 64\n",
        )
        .unwrap();
        let flags = SweepSpec {
            runs: Some(7),
            ppl_chunks: Some(2),
            ..SweepSpec::default()
        };
        let s = RunSettings::default()
            .with_spec(&file)
            .unwrap()
            .with_spec(&flags)
            .unwrap();
        assert_eq!((s.runs, s.threads, s.kv_dtype), (7, Some(2), KvDtype::Q8_0));
        assert_eq!(s.warmup, RunSettings::default().warmup);
        let ppl = ppl_spec(&flags, &file, 4).unwrap();
        assert_eq!(ppl.text, PathBuf::from(crate::bench::corpus::DEFAULT_TEXT));
        assert_eq!((ppl.ctx, ppl.max_chunks, ppl.threads), (64, 2, 4));
        assert!(ppl_spec(&flags, &SweepSpec::default(), 4).is_none());
        let bad = SweepSpec {
            kv_dtype: Some("q2".into()),
            ..SweepSpec::default()
        };
        let err = RunSettings::default().with_spec(&bad).unwrap_err();
        assert!(err.to_string().contains("--kv-dtype") && err.is_usage());
    }

    #[test]
    fn point_key_parameters() {
        let p = PointSpec {
            engine_dir: PathBuf::from("engines/x"),
            name: "x".into(),
            batch: 2,
            isl: 8,
            osl: 4,
            cuda_graphs: None,
            depth: 0,
            draft: None,
        };
        let params = p.parameters(&RunSettings::default(), 2);
        assert_eq!(
            crate::record::point_key(&params),
            "batch=2,engine=x,isl=8,kv_dtype=f16,osl=4,threads=2"
        );
    }
}
