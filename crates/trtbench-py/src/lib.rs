//! trtbench's Python module (`import trtbench`): a thin adapter at the top of the layers
//! (docs/ARCHITECTURE.md), beside the CLI and the C ABI. It owns handles, error
//! translation and callbacks; engines, sessions and sweeps are the library's own
//! (`backends::open`, `Engine`/`Session`, `bench::spec` + `bench::sweep::Sweep`,
//! `load::plan` + `load::run`).
//!
//! Errors are `trtbench.TrtbenchError`; a bad value is its subclass `ConfigError` whose
//! `field` attribute names the spec field or argument.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use pyo3::create_exception;
use pyo3::exceptions::PyException;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};

use trtbench::bench::sweep::{Observer, OutputMode, Sweep};
use trtbench::engine::{Request, Session, SessionConfig, Token, TokenEvent};

create_exception!(
    trtbench,
    TrtbenchError,
    PyException,
    "A trtbench call failed."
);
create_exception!(
    trtbench,
    ConfigError,
    TrtbenchError,
    "A value given to trtbench is invalid; `field` names it."
);

/// The library's error as a Python exception: `ConfigError` (with `field`) for a bad
/// value, `TrtbenchError` otherwise.
fn py_err(e: trtbench::Error) -> PyErr {
    let message = e.to_string();
    match e {
        trtbench::Error::Config { key, .. } => Python::with_gil(|py| {
            let err = ConfigError::new_err(message);
            // Setting an attribute on a fresh exception object cannot fail in practice;
            // if it did, the message still starts with the field.
            let _ = err.value(py).setattr("field", key);
            err
        }),
        _ => TrtbenchError::new_err(message),
    }
}

fn config_err(field: &str, reason: impl std::fmt::Display) -> PyErr {
    py_err(trtbench::Error::config(field, reason.to_string()))
}

/// An opened engine (weights loaded once) and the session it last made, reused while it
/// is large enough. Not shareable between threads (the library's engines are not `Send`).
#[pyclass(unsendable, module = "trtbench")]
struct Engine {
    // Declared before `engine`, so dropped before it: it borrows the engine.
    session: Option<(u32, Box<dyn Session + 'static>)>,
    engine: Box<dyn trtbench::engine::Engine>,
    threads: Option<u32>,
}

#[pymethods]
impl Engine {
    /// Engine.open(path, threads=None): an engine directory of any backend, or a GGUF file.
    #[staticmethod]
    #[pyo3(signature = (path, threads = None))]
    fn open(path: std::path::PathBuf, threads: Option<u32>) -> PyResult<Self> {
        if threads == Some(0) {
            return Err(config_err(
                "threads",
                "must be at least 1 (or None: every core)",
            ));
        }
        let engine = trtbench::backends::open(&path).map_err(py_err)?;
        Ok(Engine {
            session: None,
            engine,
            threads,
        })
    }

    /// The model's token ids for `text` (no special tokens; BOS first with `add_bos`).
    #[pyo3(signature = (text, add_bos = false))]
    fn tokenize(&self, text: &str, add_bos: bool) -> PyResult<Vec<Token>> {
        let mut ids: Vec<Token> = Vec::new();
        if add_bos {
            ids.extend(self.engine.bos());
        }
        ids.extend(self.engine.tokenize(text).map_err(py_err)?);
        Ok(ids)
    }

    fn detokenize(&self, tokens: Vec<Token>) -> PyResult<String> {
        self.engine.detokenize(&tokens).map_err(py_err)
    }

    /// generate(prompt, max_tokens, on_token=None) -> dict: greedy, exactly `max_tokens`
    /// tokens, `on_token(token_id, at_ms)` called as each becomes available. Returns
    /// `text`, `tokens` and the phase times (`prefill_ms`, `ttft_ms`, `e2e_ms`, `step_ms`,
    /// and `device` on GPU engines). An exception raised by `on_token` is re-raised after
    /// the generation ends.
    #[pyo3(signature = (prompt, max_tokens, on_token = None))]
    fn generate<'py>(
        &mut self,
        py: Python<'py>,
        prompt: &str,
        max_tokens: u32,
        on_token: Option<Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyDict>> {
        if max_tokens == 0 {
            return Err(config_err("max_tokens", "must be at least 1"));
        }
        let prompt_ids = self.tokenize(prompt, true)?;
        let need = prompt_ids.len() as u32 + max_tokens;
        let session = self.session_for(need)?;
        let mut pieces: Vec<Token> = Vec::with_capacity(max_tokens as usize);
        let mut raised: Option<PyErr> = None;
        let mut call = |ev: TokenEvent| {
            pieces.push(ev.token);
            if let (Some(cb), None) = (&on_token, &raised) {
                if let Err(e) = cb.call1((ev.token, trtbench::units::ms(ev.at))) {
                    raised = Some(e);
                }
            }
        };
        let req = Request {
            prompts: std::slice::from_ref(&prompt_ids),
            output_len: max_tokens,
        };
        let generation = session.generate(&req, &mut call).map_err(py_err)?;
        if let Some(e) = raised {
            return Err(e);
        }
        let text = self.engine.detokenize(&pieces).map_err(py_err)?;
        generation_dict(py, text, &generation)
    }

    /// The engine directory as opened.
    #[getter]
    fn dir(&self) -> std::path::PathBuf {
        self.engine.dir().to_path_buf()
    }

    /// Backend name and version, e.g. `llama.cpp (ggml 0.9.4)`.
    #[getter]
    fn backend_version(&self) -> String {
        self.engine.backend_version()
    }
}

impl Engine {
    /// A session of batch 1 for at least `need` tokens: the last one when large enough,
    /// else a new one (rounded up to 256 tokens, so growing prompts rarely re-make it).
    fn session_for(&mut self, need: u32) -> PyResult<&mut Box<dyn Session + 'static>> {
        if self.session.as_ref().is_none_or(|(len, _)| *len < need) {
            self.session = None;
            let len = need.div_ceil(256) * 256;
            let mut cfg = SessionConfig::new(1, len);
            cfg.threads = self.threads;
            let session = self.engine.session(&cfg).map_err(py_err)?;
            // SAFETY: the session borrows `self.engine`, a Box whose heap address never
            // moves while `self` lives; `self.session` is declared first, so it is dropped
            // before the engine, and it is replaced (dropped) only here, never moved out.
            #[allow(unsafe_code)]
            let session: Box<dyn Session + 'static> = unsafe { std::mem::transmute(session) };
            self.session = Some((len, session));
        }
        Ok(&mut self.session.as_mut().expect("set above").1)
    }
}

fn generation_dict<'py>(
    py: Python<'py>,
    text: String,
    g: &trtbench::engine::Generation,
) -> PyResult<Bound<'py, PyDict>> {
    let ms = trtbench::units::ms;
    let d = PyDict::new(py);
    d.set_item("text", text)?;
    d.set_item("tokens", g.tokens.first().cloned().unwrap_or_default())?;
    d.set_item("prefill_ms", ms(g.times.prefill))?;
    d.set_item("ttft_ms", ms(g.times.ttft))?;
    d.set_item("e2e_ms", ms(g.times.e2e))?;
    let steps: Vec<f64> = g.times.steps.iter().map(|s| ms(*s)).collect();
    d.set_item("step_ms", PyList::new(py, steps)?)?;
    d.set_item("clock", g.times.clock.as_str())?;
    match &g.device {
        Some(dev) => {
            let dd = PyDict::new(py);
            dd.set_item("prefill_ms", ms(dev.prefill))?;
            let steps: Vec<f64> = dev.steps.iter().map(|s| ms(*s)).collect();
            dd.set_item("step_ms", steps)?;
            d.set_item("device", dd)?;
        }
        None => d.set_item("device", py.None())?,
    }
    Ok(d)
}

/// A stop flag for `sweep` and `load`: `set()` from any thread ends a sweep after its
/// current generation, a load run's level early, with everything finished saved.
#[pyclass(module = "trtbench")]
#[derive(Default)]
struct Stop {
    flag: Arc<AtomicBool>,
}

#[pymethods]
impl Stop {
    #[new]
    fn new() -> Self {
        Stop::default()
    }

    fn set(&self) {
        self.flag.store(true, Ordering::SeqCst);
    }

    fn is_set(&self) -> bool {
        self.flag.load(Ordering::SeqCst)
    }
}

/// Calls the Python `on_point(point: dict)` per finished point, taking the GIL for it.
struct PointCallback {
    on_point: Option<Py<PyAny>>,
    raised: Option<PyErr>,
}

impl Observer for PointCallback {
    fn point_finished(&mut self, point: &trtbench::record::Point, _saved_to: &std::path::Path) {
        let Some(cb) = &self.on_point else { return };
        if self.raised.is_some() {
            return;
        }
        let json = serde_json::to_string(point).unwrap_or_default();
        Python::with_gil(|py| {
            if let Err(e) = json_loads(py, &json).and_then(|p| cb.call1(py, (p,))) {
                self.raised = Some(e);
            }
        });
    }
}

fn json_loads<'py>(py: Python<'py>, text: &str) -> PyResult<Bound<'py, PyAny>> {
    py.import("json")?.call_method1("loads", (text,))
}

fn output_mode(mode: &str) -> PyResult<OutputMode> {
    match mode {
        "new" => Ok(OutputMode::New),
        "resume" => Ok(OutputMode::Resume),
        "overwrite" => Ok(OutputMode::Overwrite),
        m => Err(config_err(
            "mode",
            format!("`{m}`: one of new, resume, overwrite"),
        )),
    }
}

/// sweep(spec, out=None, mode="new", on_point=None, stop=None) -> dict: runs the sweep a
/// TOML spec (the text `trtbench sweep --spec` reads) describes, the GIL released while
/// it runs. `out`: the results file, saved after every point (None: a temporary file,
/// removed). Returns `path`, `failed`, `skipped`, `interrupted` and `results` (the
/// whole results document). `on_point(point)` is called per finished point.
#[pyfunction]
#[pyo3(signature = (spec, out = None, mode = "new", on_point = None, stop = None))]
fn sweep<'py>(
    py: Python<'py>,
    spec: &str,
    out: Option<std::path::PathBuf>,
    mode: &str,
    on_point: Option<Py<PyAny>>,
    stop: Option<PyRef<'py, Stop>>,
) -> PyResult<Bound<'py, PyAny>> {
    let spec = trtbench::bench::spec::parse(spec).map_err(py_err)?;
    let plan = trtbench::bench::spec::plan(&spec).map_err(py_err)?;
    let temp = match &out {
        Some(_) => None,
        None => Some(tempfile::tempdir().map_err(|e| TrtbenchError::new_err(e.to_string()))?),
    };
    let path = match (&temp, out) {
        (Some(dir), _) => dir.path().join("sweep.json"),
        (None, Some(p)) => p,
        (None, None) => unreachable!("one of the two is set"),
    };
    let mut sweep = Sweep::new(plan, path);
    sweep.mode = output_mode(mode)?;
    let flag = stop.map_or_else(|| Arc::new(AtomicBool::new(false)), |s| s.flag.clone());
    let mut observer = PointCallback {
        on_point,
        raised: None,
    };
    let outcome = py.allow_threads(|| sweep.run(&mut observer, &flag));
    let outcome = outcome.map_err(py_err)?;
    if let Some(e) = observer.raised {
        return Err(e);
    }
    let json = outcome.summary_json(temp.is_none());
    json_loads(py, &json.to_string())
}

/// Calls the Python `on_level(point: dict)` per finished load level, taking the GIL for it.
struct LevelCallback {
    on_level: Option<Py<PyAny>>,
    raised: Option<PyErr>,
}

impl trtbench::client::Observer for LevelCallback {
    fn level_finished(&mut self, level: &trtbench::client::run::FinishedLevel<'_>) {
        let Some(cb) = &self.on_level else { return };
        if self.raised.is_some() {
            return;
        }
        let json = serde_json::to_string(level.point).unwrap_or_default();
        Python::with_gil(|py| {
            if let Err(e) = json_loads(py, &json).and_then(|p| cb.call1(py, (p,))) {
                self.raised = Some(e);
            }
        });
    }
}

/// load(spec=None, *, on_level=None, stop=None, **fields) -> dict: a load run against an
/// OpenAI-compatible server, as `trtbench load` runs it, the GIL released while it runs
/// (the server's tokenizer looked up, then every level). The settings are `trtbench
/// load`'s by field name (`url`, `concurrency`, `num_prompts`, `isl`, `osl`, `tokenizer`,
/// `out`, ...), given as keyword arguments or as a TOML `spec` string, not both. Without
/// `out` the results go to a temporary file, removed. Returns `path`, `interrupted`,
/// `max_rate_req_per_s` and `results` (the whole results document, one point per level).
/// `on_level(point)` is called per finished level; `stop.set()` ends the current level
/// early. A bad field raises `ConfigError` whose `field` names it.
#[pyfunction]
#[pyo3(signature = (spec = None, *, on_level = None, stop = None, **fields))]
fn load<'py>(
    py: Python<'py>,
    spec: Option<&str>,
    on_level: Option<Py<PyAny>>,
    stop: Option<PyRef<'py, Stop>>,
    fields: Option<&Bound<'py, PyDict>>,
) -> PyResult<Bound<'py, PyAny>> {
    let fields = fields.filter(|f| !f.is_empty());
    let mut spec = match (spec, fields) {
        (Some(_), Some(_)) => {
            return Err(config_err(
                "spec",
                "give a TOML spec or keyword fields, not both",
            ))
        }
        (Some(text), None) => trtbench::load::parse(text).map_err(py_err)?,
        (None, f) => {
            let json: String = match f {
                Some(f) => py.import("json")?.call_method1("dumps", (f,))?.extract()?,
                None => "{}".into(),
            };
            trtbench::load::parse_json(&json).map_err(py_err)?
        }
    };
    let temp = match &spec.out {
        Some(_) => None,
        None => {
            let dir = tempfile::tempdir().map_err(|e| TrtbenchError::new_err(e.to_string()))?;
            spec.out = Some(dir.path().join("load.json"));
            Some(dir)
        }
    };
    let flag = stop.map_or_else(|| Arc::new(AtomicBool::new(false)), |s| s.flag.clone());
    let mut observer = LevelCallback {
        on_level,
        raised: None,
    };
    let ran = py.allow_threads(|| {
        // Not the spec's text: its headers may hold a secret.
        let command = vec!["trtbench.load (Python)".to_owned()];
        let plan = trtbench::load::plan(&spec, trtbench::load::Names::Fields, command)?;
        let outcome = trtbench::load::run(&plan, &mut observer, &flag)?;
        let kept = temp.is_none().then_some(plan.output.as_path());
        Ok::<_, trtbench::Error>(trtbench::load::summary_json(&outcome, kept).to_string())
    });
    let json = ran.map_err(py_err)?;
    if let Some(e) = observer.raised {
        return Err(e);
    }
    json_loads(py, &json)
}

#[pymodule]
#[pyo3(name = "trtbench")]
fn trtbench_py(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_class::<Engine>()?;
    m.add_class::<Stop>()?;
    m.add_function(wrap_pyfunction!(sweep, m)?)?;
    m.add_function(wrap_pyfunction!(load, m)?)?;
    m.add("TrtbenchError", m.py().get_type::<TrtbenchError>())?;
    m.add("ConfigError", m.py().get_type::<ConfigError>())?;
    Ok(())
}
