//! A whole sweep as one library call, so an application runs it without clap: checks the
//! inputs, opens the results file (new, resume or overwrite), opens each engine once, runs
//! its unfinished points and saves the file atomically after every point, turns a failed
//! point into a row with its error (or stops there when asked to fail fast), measures
//! perplexity once per engine, and annotates CUDA-graph speedups. Progress goes to an
//! [`Observer`]; stopping early is a flag the caller sets (the CLI sets it on Ctrl-C).
//! Knows no terminal, no clap and no exit codes; errors are [`crate::Error`], whose
//! messages name the CLI flag a value comes from, as everywhere in the library.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use crate::bench::corpus::Corpus;
use crate::bench::plan::{Plan, PointSpec};
use crate::bench::runner::{failed_point, run_point, threads_for};
use crate::engine::{sha256_file, BackendKind};
use crate::error::{Error, Result};
use crate::record::{point_key, EngineIdentity, Point, Results, RunIdentity, Status};

/// What to do with a results file that already exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OutputMode {
    /// Start a new file; an existing one is refused, never clobbered.
    #[default]
    New,
    /// Continue an existing file, keeping its finished points (it must exist).
    Resume,
    /// Start a new file, replacing any existing one.
    Overwrite,
}

/// Progress of a sweep, told as it happens. Every method does nothing by default.
pub trait Observer {
    /// The plan, minus the points a resumed file already holds: `todo` points to run,
    /// `kept` finished ones kept, each point taking `runs_per_point` generations.
    fn plan_ready(&mut self, _todo: usize, _kept: usize, _runs_per_point: u64) {}
    /// An engine directory is being opened (once per engine with work left).
    fn engine_loading(&mut self, _dir: &Path) {}
    /// A point starts its warmup and measured runs.
    fn point_started(&mut self, _point: &PointSpec) {}
    /// One generation of the current point (warmup or measured) finished.
    fn run_finished(&mut self) {}
    /// The perplexity measurement of an engine starts.
    fn quality_started(&mut self, _engine: &str) {}
    /// A point (engine or quality; ok, failed or refused) is in the results file.
    fn point_finished(&mut self, _point: &Point, _saved_to: &Path) {}
}

/// An observer that ignores everything.
pub struct NoProgress;

impl Observer for NoProgress {}

/// A sweep to run: a validated plan and where its results go.
#[derive(Debug, Clone)]
pub struct Sweep {
    pub plan: Plan,
    /// Results file (JSON), rewritten atomically after every point.
    pub out: PathBuf,
    pub mode: OutputMode,
    /// Stop at the first failing point instead of recording it and going on.
    pub fail_fast: bool,
    /// Command line recorded in a new results file.
    pub command: Vec<String>,
    /// Environment fingerprint recorded in a new results file; `None` takes
    /// [`crate::backends::fingerprint`] when (and only when) a new file is started.
    pub environment: Option<serde_json::Value>,
}

/// Where a fail-fast sweep stopped, and why.
#[derive(Debug)]
pub struct Stopped {
    /// What was being done: `opening <dir>` or `point <key> (stopping: --fail-fast)`.
    pub context: String,
    pub error: Error,
}

/// What a sweep ended with.
#[derive(Debug)]
pub struct Outcome {
    pub results: Results,
    pub path: PathBuf,
    pub failed: usize,
    pub skipped: usize,
    pub interrupted: bool,
    /// Some failure came from bad input (corrupt engine file, ...), not from a run.
    pub bad_input: bool,
    /// Set when `fail_fast` stopped the sweep; the results file holds the failed row.
    pub stopped: Option<Stopped>,
}

impl Outcome {
    /// The outcome as the embedding adapters hand it over (C's JSON string, Python's dict):
    /// the results file's path (null when it was a temporary file, `kept_file` false), the
    /// counts, and the results themselves.
    pub fn summary_json(&self, kept_file: bool) -> serde_json::Value {
        serde_json::json!({
            "path": if kept_file { self.path.display().to_string().into() } else { serde_json::Value::Null },
            "failed": self.failed,
            "skipped": self.skipped,
            "interrupted": self.interrupted,
            "results": self.results,
        })
    }
}

/// What the engine loop carries from one engine to the next.
struct State {
    results: Results,
    bad_input: bool,
    interrupted: bool,
    stopped: Option<Stopped>,
    /// The machine's peaks, measured once per run before its first point.
    machine: Option<crate::roofline::Machine>,
}

impl Sweep {
    /// A sweep writing a new file at `out`, recording this process's command line.
    pub fn new(plan: Plan, out: impl Into<PathBuf>) -> Self {
        Sweep {
            plan,
            out: out.into(),
            mode: OutputMode::New,
            fail_fast: false,
            command: std::env::args().collect(),
            environment: None,
        }
    }

    /// Runs the sweep. `stop` is checked between generations: once set, the sweep ends
    /// after the current generation with `interrupted` set and every finished point saved.
    /// Errors are those that stop the sweep before or between points (bad input, results
    /// file); a failing point is a row in the results instead.
    pub fn run(&self, observer: &mut dyn Observer, stop: &AtomicBool) -> Result<Outcome> {
        validate_inputs(&self.plan)?;
        let results = self.open_results()?;
        let settings = &self.plan.settings;
        let threads = threads_for(settings);
        let todo: Vec<&PointSpec> = self
            .plan
            .points
            .iter()
            .filter(|p| {
                results
                    .finished(&point_key(&p.parameters(settings, threads)))
                    .is_none()
            })
            .collect();
        let runs_per_point = u64::from(settings.warmup + settings.runs);
        observer.plan_ready(
            todo.len(),
            self.plan.points.len() - todo.len(),
            runs_per_point,
        );
        // Nothing is written until a point finishes; write the (possibly empty) file now
        // so a bad output path fails before minutes of work.
        results.save(&self.out)?;
        let mut state = State {
            results,
            bad_input: false,
            interrupted: false,
            stopped: None,
            machine: None,
        };
        for dir in self.engine_dirs() {
            let group: Vec<&PointSpec> = todo
                .iter()
                .copied()
                .filter(|p| p.engine_dir == dir)
                .collect();
            self.run_engine(dir, group, &mut state, observer, stop)?;
            if state.stopped.is_some() {
                return Ok(self.outcome(state));
            }
            if state.interrupted {
                break;
            }
        }
        let graphs = annotate_graph_speedups(&mut state.results);
        if crate::bench::draft::annotate_speedups(&mut state.results) || graphs {
            state.results.save(&self.out)?;
        }
        Ok(self.outcome(state))
    }

    /// Opens the results file: resumes it (when it was measured the same way), refuses
    /// to clobber it, or starts a new one.
    fn open_results(&self) -> Result<Results> {
        let path = &self.out;
        let exists = path.exists();
        let environment = || {
            self.environment
                .clone()
                .unwrap_or_else(crate::backends::fingerprint)
        };
        match self.mode {
            OutputMode::Resume if exists => {
                let mut results = Results::load(path)
                    .map_err(|e| with_context(format!("--resume {}", path.display()), e))?;
                let now = self.identity(&environment())?;
                let Some(file) = results.identity.as_mut() else {
                    return Err(Error::config(
                        "--resume",
                        format!(
                            "{} records no run settings (written by an older trtbench or by \
                             `load`), so its points cannot be checked against this run; \
                             start a new file (another --out, or --force)",
                            path.display()
                        ),
                    ));
                };
                let diffs = file.differences(&now);
                if !diffs.is_empty() {
                    return Err(Error::config(
                        "--resume",
                        format!(
                            "{} was measured otherwise, mixing would be wrong: {}",
                            path.display(),
                            diffs.join("; ")
                        ),
                    ));
                }
                for (name, e) in now.engines {
                    file.engines.entry(name).or_insert(e);
                }
                return Ok(results);
            }
            OutputMode::Resume => {
                return Err(Error::config(
                    "--resume",
                    format!("{} does not exist", path.display()),
                ))
            }
            // The key carries the path so the message reads "<path> already exists: ...".
            OutputMode::New if exists => {
                return Err(Error::config(
                    format!("{} already exists", path.display()),
                    "pass --resume to continue it or --force to overwrite it",
                ))
            }
            OutputMode::New | OutputMode::Overwrite => {}
        }
        let environment = environment();
        let mut results = Results::new(self.command.clone(), environment);
        results.identity = Some(self.identity(&results.environment)?);
        Ok(results)
    }

    /// What this sweep's points are measured with: its settings, each engine (absolute
    /// path, model sha256 from the manifest) and the machine of `environment`.
    pub fn identity(&self, environment: &serde_json::Value) -> Result<RunIdentity> {
        let s = &self.plan.settings;
        let mut settings = BTreeMap::new();
        let mut put = |k: &str, v: serde_json::Value| {
            settings.insert(k.to_string(), v);
        };
        put("runs", s.runs.into());
        put("warmup", s.warmup.into());
        put("seed", s.seed.into());
        put("ctx", s.ctx.into());
        put("kv_dtype", s.kv_dtype.as_str().into());
        put("threads", threads_for(s).into());
        put("text", absolute(&s.text).into());
        put("text_sha256", sha256_file(&s.text)?.into());
        let mut engines = BTreeMap::new();
        for p in &self.plan.points {
            if engines.contains_key(&p.name) {
                continue;
            }
            let m = crate::backends::manifest(&p.engine_dir)?;
            let sha256 = m
                .files
                .first()
                .map(|f| f.sha256.clone())
                .unwrap_or_default();
            let path = absolute(&p.engine_dir);
            engines.insert(p.name.clone(), EngineIdentity { path, sha256 });
        }
        // Draft engines too, so a resumed speculative point is drafted by the same model.
        for d in self.plan.points.iter().filter_map(|p| p.draft.as_ref()) {
            let key = format!("draft:{}", d.name);
            if engines.contains_key(&key) {
                continue;
            }
            let m = crate::backends::manifest(&d.dir)?;
            let sha256 = m
                .files
                .first()
                .map(|f| f.sha256.clone())
                .unwrap_or_default();
            let path = absolute(&d.dir);
            engines.insert(key, EngineIdentity { path, sha256 });
        }
        Ok(RunIdentity {
            settings,
            engines,
            machine: RunIdentity::machine_of(environment),
        })
    }

    /// Engine directories in plan order, each once.
    fn engine_dirs(&self) -> Vec<&Path> {
        let mut dirs: Vec<&Path> = Vec::new();
        for p in &self.plan.points {
            if !dirs.contains(&p.engine_dir.as_path()) {
                dirs.push(&p.engine_dir);
            }
        }
        dirs
    }

    /// Runs one engine's unfinished points, then its perplexity if asked for and not yet
    /// measured. The engine is opened only if it has work left.
    fn run_engine(
        &self,
        dir: &Path,
        group: Vec<&PointSpec>,
        state: &mut State,
        observer: &mut dyn Observer,
        stop: &AtomicBool,
    ) -> Result<()> {
        let settings = &self.plan.settings;
        let name = self
            .plan
            .points
            .iter()
            .find(|p| p.engine_dir == dir)
            .map(|p| p.engine_name())
            .unwrap_or_default();
        let ppl = self.plan.ppl.as_ref().filter(|spec| {
            let key = point_key(&crate::bench::quality::parameters(&name, spec));
            state.results.finished(&key).is_none()
        });
        if group.is_empty() && ppl.is_none() {
            return Ok(());
        }
        observer.engine_loading(dir);
        let opened = crate::backends::open(dir).and_then(|e| {
            let c = Corpus::load(e.as_ref(), &settings.text)?;
            Ok((e, c, open_drafts(&group)?))
        });
        let (engine, corpus, drafts) = match opened {
            Ok(x) => x,
            Err(e) => return self.engine_failed(dir, &group, e, state, observer),
        };
        let machine = crate::bench::roofline::machine_once(&mut state.machine, &mut state.results);
        let facts = crate::bench::roofline::ModelFacts::of(engine.as_ref(), settings.kv_dtype);
        for (p, draft) in group.into_iter().map(|p| (p, draft_of(&drafts, p))) {
            observer.point_started(p);
            let mut tick = || observer.run_finished();
            match run_point(
                engine.as_ref(),
                draft,
                p,
                settings,
                &corpus,
                stop,
                &mut tick,
            ) {
                Ok(mut point) => {
                    crate::bench::roofline::annotate(&mut point, &facts, &machine);
                    self.record(state, point, observer)?
                }
                Err(Error::Interrupted) => {
                    state.interrupted = true;
                    return Ok(());
                }
                Err(e) => {
                    state.bad_input |= e.is_usage();
                    let manifest = serde_json::to_value(engine.manifest()).ok();
                    self.record(state, failed_point(p, settings, manifest, &e), observer)?;
                    if self.fail_fast {
                        let key = point_key(&p.parameters(settings, threads_for(settings)));
                        state.stopped = Some(Stopped {
                            context: format!("point {key} (stopping: --fail-fast)"),
                            error: e,
                        });
                        return Ok(());
                    }
                }
            }
        }
        if stop.load(Ordering::Relaxed) {
            state.interrupted = true;
            return Ok(());
        }
        if let Some(spec) = ppl {
            observer.quality_started(&name);
            let point = crate::bench::quality::quality_point(engine.as_ref(), &name, spec);
            self.record(state, point, observer)?;
        }
        Ok(())
    }

    /// An engine that would not open: each of its points becomes a row with the error.
    fn engine_failed(
        &self,
        dir: &Path,
        group: &[&PointSpec],
        e: Error,
        state: &mut State,
        observer: &mut dyn Observer,
    ) -> Result<()> {
        state.bad_input |= e.is_usage();
        for p in group {
            let row = failed_point(p, &self.plan.settings, None, &e);
            self.record(state, row, observer)?;
        }
        if self.fail_fast {
            state.stopped = Some(Stopped {
                context: format!("opening {}", dir.display()),
                error: e,
            });
        }
        Ok(())
    }

    /// Adds a point to the results, saves the file, then tells the observer.
    fn record(&self, state: &mut State, point: Point, observer: &mut dyn Observer) -> Result<()> {
        let key = point.key.clone();
        state.results.upsert(point);
        state.results.save(&self.out)?;
        if let Some(saved) = state.results.points.iter().find(|p| p.key == key) {
            observer.point_finished(saved, &self.out);
        }
        Ok(())
    }

    fn outcome(&self, state: State) -> Outcome {
        let count = |st: Status| {
            state
                .results
                .points
                .iter()
                .filter(|p| p.status == st)
                .count()
        };
        let (failed, skipped) = (count(Status::Error), count(Status::Skipped));
        Outcome {
            results: state.results,
            path: self.out.clone(),
            failed,
            skipped,
            interrupted: state.interrupted,
            bad_input: state.bad_input,
            stopped: state.stopped,
        }
    }
}

/// The draft engines of an engine's points, each opened once (by directory).
type Drafts = Vec<(PathBuf, Box<dyn crate::engine::Engine>)>;

fn open_drafts(group: &[&PointSpec]) -> Result<Drafts> {
    let mut drafts: Drafts = Vec::new();
    for d in group.iter().filter_map(|p| p.draft.as_ref()) {
        if !drafts.iter().any(|(dir, _)| *dir == d.dir) {
            let e = crate::backends::open(&d.dir)
                .map_err(|e| with_context(format!("--draft {}", d.dir.display()), e))?;
            drafts.push((d.dir.clone(), e));
        }
    }
    Ok(drafts)
}

/// The opened draft engine of a speculative point.
fn draft_of<'a>(drafts: &'a Drafts, p: &PointSpec) -> Option<&'a dyn crate::engine::Engine> {
    let d = p.draft.as_ref()?;
    let (_, e) = drafts.iter().find(|(dir, _)| *dir == d.dir)?;
    Some(e.as_ref())
}

/// `path` made absolute (symbolic links resolved when it exists), as text.
fn absolute(path: &Path) -> String {
    std::fs::canonicalize(path)
        .or_else(|_| std::path::absolute(path))
        .unwrap_or_else(|_| path.to_owned())
        .display()
        .to_string()
}

/// Puts `context` before a usage error's message (`--ppl: <path>: ...`), keeping it a
/// usage error; a run failure is returned as it is, since its message already names
/// the path and its kind must stay a run failure.
fn with_context(context: String, e: Error) -> Error {
    if e.is_usage() {
        Error::config(context, e.to_string())
    } else {
        e
    }
}

/// Checks every engine of the plan before anything runs: the directory, its manifest,
/// the files' sizes, and (for GGUF) the file's magic. Also checks the prompt text and the
/// perplexity text.
pub fn validate_inputs(plan: &Plan) -> Result<()> {
    let mut seen: Vec<&Path> = Vec::new();
    for p in &plan.points {
        if seen.contains(&p.engine_dir.as_path()) {
            continue;
        }
        seen.push(&p.engine_dir);
        let r = crate::backends::resolve(&p.engine_dir)?;
        r.manifest.check_files(&r.dir)?;
        if r.manifest.backend == BackendKind::LlamaCpp {
            crate::gguf::check(&r.manifest.primary_file(&r.dir))?;
        }
    }
    for d in plan.points.iter().filter_map(|p| p.draft.as_ref()) {
        let checked = crate::backends::resolve(&d.dir).and_then(|r| {
            r.manifest.check_files(&r.dir)?;
            if r.manifest.backend == BackendKind::LlamaCpp {
                crate::gguf::check(&r.manifest.primary_file(&r.dir))?;
            }
            Ok(())
        });
        checked.map_err(|e| with_context(format!("--draft {}", d.dir.display()), e))?;
    }
    let text = &plan.settings.text;
    if !text.is_file() {
        return Err(Error::config(
            "--text",
            format!(
                "{} is not a readable file (prompts are cut from it)",
                text.display()
            ),
        ));
    }
    if let Some(spec) = &plan.ppl {
        crate::bench::quality::read_text(&spec.text)
            .map_err(|e| with_context("--ppl".into(), e))?;
    }
    Ok(())
}

/// For every point run with CUDA graphs on whose twin ran with them off, records the decode
/// speedup (TPOT off ÷ TPOT on) as the scalar `cuda_graph_speedup` on the "on" point.
/// Returns whether anything changed.
pub fn annotate_graph_speedups(results: &mut Results) -> bool {
    use crate::backends::trt::timing::{graph_speedups, GraphRow};
    // (index of the point, its row); the key without the graph axis is built once.
    let rows: Vec<(usize, GraphRow)> = results
        .points
        .iter()
        .enumerate()
        .filter(|(_, p)| p.status == Status::Ok)
        .filter_map(|(i, p)| {
            let on = p.parameters.get("cuda_graphs")?.as_bool()?;
            // Asked for graphs but capture failed (Edge-LLM returns false): no speedup.
            let captured = crate::backends::trt::timing::graphs_captured(&p.notes);
            if on && captured != Some(true) {
                return None;
            }
            let tpot = p.summary.get("tpot_ms")?.mean;
            let mut params = p.parameters.clone();
            params.remove("cuda_graphs");
            Some((
                i,
                GraphRow {
                    key_without_graphs: point_key(&params),
                    graphs_on: on,
                    tpot_ms: tpot,
                },
            ))
        })
        .collect();
    let plain: Vec<GraphRow> = rows.iter().map(|(_, r)| r.clone()).collect();
    let speedups = graph_speedups(&plain);
    for sp in &speedups {
        if let Some((i, _)) = rows
            .iter()
            .find(|(_, r)| r.graphs_on && r.key_without_graphs == sp.key)
        {
            results.points[*i]
                .scalars
                .insert("cuda_graph_speedup".into(), sp.speedup);
        }
    }
    !speedups.is_empty()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::plan::{expand, RunSettings};
    use crate::record::PointKind;
    use std::collections::BTreeMap;

    fn point(graphs: bool, tpot: f64) -> Point {
        let mut parameters = BTreeMap::new();
        parameters.insert("engine".to_string(), serde_json::json!("e"));
        parameters.insert("cuda_graphs".to_string(), serde_json::json!(graphs));
        let mut summary = BTreeMap::new();
        summary.insert(
            "tpot_ms".to_string(),
            crate::stats::summarize(&[tpot], "ms", None).unwrap(),
        );
        let mut p = Point::new(PointKind::Engine, parameters);
        p.summary = summary;
        // What the Edge-LLM session records: whether graphs really ran.
        let label = if graphs { "on" } else { "off" };
        p.notes.insert("cuda_graphs".into(), label.into());
        p
    }

    #[test]
    fn graph_speedup_lands_on_the_graphs_on_point() {
        let mut r = Results::new(vec![], serde_json::json!({}));
        r.points = vec![point(true, 8.0), point(false, 10.0)];
        assert!(annotate_graph_speedups(&mut r));
        assert_eq!(r.points[0].scalars["cuda_graph_speedup"], 1.25);
        assert!(r.points[1].scalars.is_empty());
    }

    #[test]
    fn no_speedup_where_graph_capture_failed() {
        let mut r = Results::new(vec![], serde_json::json!({}));
        let mut failed = point(true, 8.0);
        failed.notes.insert(
            "cuda_graphs".into(),
            "failed: capture returned false".into(),
        );
        r.points = vec![failed, point(false, 10.0)];
        assert!(!annotate_graph_speedups(&mut r));
        assert!(r.points[0].scalars.is_empty());
    }

    /// The results-file rules, observed on disk: a new sweep refuses an existing file and
    /// leaves it untouched, resume needs the file, overwrite replaces it.
    #[test]
    fn results_file_is_never_clobbered_unless_asked() {
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("r.json");
        // An empty plan runs no engine, so this needs no model.
        let mut plan = expand(
            &[PathBuf::from("e")],
            &[1],
            &[1],
            &[1],
            &[],
            RunSettings::default(),
        )
        .unwrap();
        plan.points.clear();
        plan.settings.text = tmp.path().join("prompts.txt");
        std::fs::write(&plan.settings.text, "Some text to cut prompts from.").unwrap();
        let mut sweep = Sweep::new(plan, &out);
        sweep.environment = Some(serde_json::json!({"test": true}));
        let stop = AtomicBool::new(false);

        sweep.mode = OutputMode::Resume;
        let e = sweep.run(&mut NoProgress, &stop).unwrap_err();
        assert!(
            e.is_usage() && e.to_string().contains("does not exist"),
            "{e}"
        );
        assert!(!out.exists());

        sweep.mode = OutputMode::New;
        let o = sweep.run(&mut NoProgress, &stop).unwrap();
        assert!(o.results.points.is_empty() && !o.interrupted && o.stopped.is_none());
        let first = std::fs::read(&out).unwrap();

        let e = sweep.run(&mut NoProgress, &stop).unwrap_err();
        assert!(e.is_usage() && e.to_string().contains("--resume"), "{e}");
        assert_eq!(std::fs::read(&out).unwrap(), first);

        sweep.mode = OutputMode::Resume;
        sweep.run(&mut NoProgress, &stop).unwrap();
        sweep.mode = OutputMode::Overwrite;
        sweep.run(&mut NoProgress, &stop).unwrap();
        assert!(Results::load(&out).unwrap().environment["test"] == true);
    }

    /// `--resume` of a file measured otherwise refuses, naming every differing field, and
    /// leaves the file as it was.
    #[test]
    fn resume_refuses_other_settings_and_machines() {
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("r.json");
        let mut plan = expand(
            &[PathBuf::from("e")],
            &[1],
            &[1],
            &[1],
            &[],
            RunSettings::default(),
        )
        .unwrap();
        plan.points.clear();
        plan.settings.text = tmp.path().join("prompts.txt");
        plan.settings.runs = 5;
        std::fs::write(&plan.settings.text, "Some text to cut prompts from.").unwrap();
        let mut sweep = Sweep::new(plan, &out);
        sweep.environment = Some(serde_json::json!({"hostname": "a", "loadavg": [1.0]}));
        let stop = AtomicBool::new(false);
        sweep.run(&mut NoProgress, &stop).unwrap();
        let id = Results::load(&out).unwrap().identity.unwrap();
        assert_eq!(id.settings["runs"], 5);
        assert_eq!(id.machine["hostname"], "a");

        sweep.mode = OutputMode::Resume;
        // A load figure is not identity: resuming under other load is fine.
        sweep.environment = Some(serde_json::json!({"hostname": "a", "loadavg": [9.0]}));
        sweep.run(&mut NoProgress, &stop).unwrap();
        // (Read after the resume's save: a float may print differently once reparsed.)
        let first = std::fs::read(&out).unwrap();
        sweep.plan.settings.runs = 3;
        sweep.plan.settings.seed = 7;
        sweep.environment = Some(serde_json::json!({"hostname": "b"}));
        let e = sweep.run(&mut NoProgress, &stop).unwrap_err().to_string();
        assert!(e.starts_with("--resume"), "{e}");
        for part in [
            "runs differs (file 5, now 3)",
            "seed differs (file 0, now 7)",
            "machine hostname differs (file a, now b)",
        ] {
            assert!(e.contains(part), "{part} missing in: {e}");
        }
        std::fs::write(&sweep.plan.settings.text, "Another text.").unwrap();
        sweep.plan.settings.runs = 5;
        sweep.plan.settings.seed = 0;
        sweep.environment = Some(serde_json::json!({"hostname": "a"}));
        let e = sweep.run(&mut NoProgress, &stop).unwrap_err().to_string();
        assert!(e.contains("text_sha256 differs"), "{e}");
        assert_eq!(std::fs::read(&out).unwrap(), first);
    }
}
