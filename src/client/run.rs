//! A whole load run as one library call: every level of a validated [`LoadPlan`] (a list
//! of concurrencies or rates, or the `--find-max-rate` search), each with its own prompts
//! and warmup, the results file rewritten atomically after every level (so a later failure
//! or Ctrl-C loses nothing), and an [`Observer`] told what happens (progress, per-level
//! saves, search probes). Owns the rules for how many prompts a level gets and the
//! parameters each point records. The caller passes in the environment fingerprint and
//! the command line: `client` never depends on `env`, `backends`, `bench` or `report`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};
use tokio::sync::{mpsc, watch};

use super::fleet::{Worker, SHARD_PARAM};
use super::http::{idle_timeout_for, Target, TargetOptions, DEFAULT_IDLE_TIMEOUT};
use super::prompts::{self, Source};
use super::scheduler::{Arrival, RequestDone, Shape};
use super::search::RateSearch;
use super::{run_level_reporting, Config, Level, LevelResult, Settings};
use crate::error::{Error, Result};
use crate::record::{self, Point, Results};

mod handshake;
mod params;
use handshake::{handshake, Handshake};
use params::{base_parameters, shape_parameters};

/// Requests kept open per host when no level bounds what is in flight.
const DEFAULT_POOL: usize = 256;

/// How long finding the server or its model may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// What the prompts are, as recorded in every point's parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct WorkloadParams {
    /// What serves the model, as the user named it (`--framework`).
    pub framework: Option<String>,
    /// Prompts from this file; `None` for random prompts of `isl` tokens.
    pub dataset: Option<PathBuf>,
    pub isl: u64,
    /// Output tokens; with a dataset, `None` keeps each entry's own.
    pub osl: Option<u64>,
    pub isl_spread: f64,
    pub osl_spread: f64,
    /// `--trace FILE` and its `--trace-speed`.
    pub trace: Option<(PathBuf, f64)>,
    /// `--workload shared-prefix`: how many prefixes, of how many tokens.
    pub shared_prefix: Option<super::shared_prefix::SharedPrefix>,
    /// `--workload multi-turn`: turns per conversation, tokens per later turn, think time.
    pub multi_turn: Option<super::conversation::MultiTurn>,
}

/// The `--find-max-rate` search: open-loop probes from `start_req_per_s`, doubling or
/// halving, then bisecting (see [`RateSearch`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MaxRateSearch {
    pub start_req_per_s: f64,
    pub max_req_per_s: f64,
    pub bisect_steps: u32,
    /// Fraction of requests that must meet every SLO for a probe to pass.
    pub attainment: f64,
    pub arrival: Arrival,
    pub max_inflight: Option<usize>,
}

/// The levels of a run, in order.
#[derive(Debug, Clone, PartialEq)]
pub enum Levels {
    Shapes(Vec<Shape>),
    MaxRate(MaxRateSearch),
}

impl Levels {
    /// Connections worth keeping open: the most requests any level keeps in flight.
    pub fn pool_size(&self) -> usize {
        match self {
            Levels::Shapes(shapes) => shapes
                .iter()
                .map(|s| match s {
                    Shape::Closed { concurrency } => *concurrency,
                    Shape::Open { max_inflight, .. } => max_inflight.unwrap_or(DEFAULT_POOL),
                })
                .max()
                .unwrap_or(1),
            Levels::MaxRate(_) => DEFAULT_POOL,
        }
    }
}

/// A validated load run: the server, what to send, the levels, where to save.
pub struct LoadPlan {
    /// Base URL of the API, e.g. `http://127.0.0.1:8080/v1`.
    pub url: String,
    /// Model name to send; `None` asks the server (`{url}/models`).
    pub model: Option<String>,
    /// Sent as a Bearer token when set.
    pub api_key: Option<String>,
    pub headers: Vec<(String, String)>,
    /// https verification (`--cacert`, `--insecure`).
    pub tls: super::http::TlsOptions,
    /// How each request is sent and judged (endpoint, timeout, SLOs, ...).
    pub settings: Settings,
    pub levels: Levels,
    pub source: Source,
    pub workload: WorkloadParams,
    /// Measured requests per level (conversations, with a multi-turn source); `None`
    /// applies [`prompt_count`]'s defaults.
    pub num_prompts: Option<usize>,
    /// Warmup requests per level (distinct prompts, never measured).
    pub warmup: usize,
    pub seed: u64,
    /// Mixed into the prompt texts (not their lengths) so that no two runs send the same
    /// prompts to a server's prefix cache; recorded in every point as `salt`.
    pub salt: u64,
    /// This process is one worker of a fleet: it sends its share of every level.
    pub worker: Option<Worker>,
    /// The first level's measured phase starts at this wall-clock instant (`--start-at`).
    pub start_at: Option<std::time::SystemTime>,
    /// Keep the levels of an existing `output` that finished (status ok) and run the rest.
    pub resume: bool,
    /// Results file, rewritten after every level.
    pub output: PathBuf,
    /// The command line recorded in the results.
    pub command: Vec<String>,
    /// The machine fingerprint recorded in the results (the caller's `env::fingerprint`).
    pub environment: Value,
}

/// One probe of the max-rate search.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Probe {
    pub index: u32,
    pub rate_req_per_s: f64,
    /// Fraction of requests that met every SLO.
    pub goodput_frac: f64,
    pub pass: bool,
}

/// A level that finished and was saved.
#[derive(Debug)]
pub struct FinishedLevel<'a> {
    pub shape: Shape,
    pub point: &'a Point,
    /// False when the client's own lag could distort the figures.
    pub valid: bool,
    pub saved_to: &'a Path,
}

/// Told what a run does, as it happens. Every method does nothing by default.
pub trait Observer {
    /// A level is about to generate its prompts.
    fn level_preparing(&mut self, _shape: Shape, _prompts: usize) {}
    /// A level starts sending (warmup first).
    fn level_started(&mut self, _shape: Shape, _prompts: usize) {}
    /// A measured request finished.
    fn request_finished(&mut self, _ok: bool, _output_tokens: u64) {}
    /// A level finished and the results file was rewritten.
    fn level_finished(&mut self, _level: &FinishedLevel<'_>) {}
    /// A probe of the max-rate search was judged.
    fn search_probe(&mut self, _probe: &Probe) {}
}

/// An observer that ignores everything.
#[derive(Debug, Clone, Copy, Default)]
pub struct Quiet;

impl Observer for Quiet {}

/// What a max-rate search found.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SearchOutcome {
    /// Highest probed rate that passed, if any did.
    pub best_req_per_s: Option<f64>,
    pub attainment: f64,
}

/// What a run produced (also saved in `plan.output`).
#[derive(Debug)]
pub struct LoadOutcome {
    pub results: Results,
    /// Stopped by the stop signal; the finished requests of the last level are saved.
    pub interrupted: bool,
    /// Present when the plan was a max-rate search that ran to its end.
    pub search: Option<SearchOutcome>,
}

/// Measured requests of a level when `--num-prompts` is not given: enough for tail
/// percentiles (4 per slot, at least 100), or with `--duration` enough never to run out
/// (the rate times the duration, or 50 per slot and at least 1000).
pub fn prompt_count(num_prompts: Option<usize>, shape: Shape, duration: Option<Duration>) -> usize {
    match (num_prompts, shape, duration) {
        (Some(n), _, _) => n,
        (None, Shape::Open { rate, .. }, Some(d)) => {
            ((rate * d.as_secs_f64()).ceil() as usize).max(1)
        }
        (None, Shape::Closed { concurrency }, Some(_)) => 1000.max(50 * concurrency),
        (None, Shape::Closed { concurrency }, None) => 100.max(4 * concurrency),
        (None, Shape::Open { .. }, None) => 100,
    }
}

/// Runs every level of `plan`, rewriting `plan.output` after each. Fails on a bad target
/// (headers), an unknown model, prompts that cannot be made, or a results file that cannot
/// be written; a level whose requests fail is a point with status `error`, not a failure.
/// A true `stop` ends the current level early and the run with `interrupted` set.
pub async fn run_load(
    plan: &LoadPlan,
    observer: &mut dyn Observer,
    stop: watch::Receiver<bool>,
) -> Result<LoadOutcome> {
    let (cfg, hs) = connect(plan).await?;
    let results = if plan.resume && plan.output.exists() {
        Results::load(&plan.output)?
    } else {
        Results::new(plan.command.clone(), plan.environment.clone())
    };
    let mut runner = LevelRunner {
        plan,
        base: base_parameters(plan, &hs.label, cfg.settings.ignore_eos),
        cfg,
        hs,
        results,
        stop,
        index: 0,
        start_at: plan.start_at,
        observer,
    };
    let mut search = None;
    let interrupted = match &plan.levels {
        Levels::Shapes(shapes) => {
            let mut interrupted = false;
            for shape in shapes {
                if runner.level(*shape, BTreeMap::new()).await?.interrupted {
                    interrupted = true;
                    break;
                }
            }
            interrupted
        }
        Levels::MaxRate(s) => match runner.search(s).await? {
            Some(found) => {
                search = Some(found);
                false
            }
            None => true,
        },
    };
    Ok(LoadOutcome {
        results: runner.results,
        interrupted,
        search,
    })
}

/// Builds the HTTP target and settles with the server what every request sends
/// (`handshake`).
async fn connect(plan: &LoadPlan) -> Result<(Config, Handshake)> {
    let mut options = TargetOptions {
        base_url: plan.url.clone(),
        endpoint: plan.settings.endpoint,
        api_key: plan.api_key.clone(),
        headers: plan.headers.clone(),
        connect_timeout: CONNECT_TIMEOUT,
        pool_size: plan.levels.pool_size(),
        tls: plan.tls.clone(),
        kernel_timestamps: true,
        idle_timeout: None,
    };
    let mut target = Target::new(&options)?;
    // One look at the server: its model, and how long it keeps idle connections. Pooled
    // connections are dropped before the server would close them idle (its advertised
    // Keep-Alive timeout), so no request is sent on a closing connection.
    let models = target.models(&plan.url, CONNECT_TIMEOUT).await;
    if let Some(idle) = models.keep_alive.as_deref().and_then(idle_timeout_for) {
        if idle != DEFAULT_IDLE_TIMEOUT {
            options.idle_timeout = Some(idle);
            target = Target::new(&options)?;
        }
    }
    let hs = handshake(&target, plan, models.first).await?;
    let mut settings = plan.settings.clone();
    settings.ignore_eos = hs.ignore_eos;
    let cfg = Config {
        target: Arc::new(target),
        model: hs.wire.clone(),
        tok: plan.source.tok(),
        settings,
    };
    Ok((cfg, hs))
}

/// How one level went, for the caller driving the levels.
struct LevelVerdict {
    goodput_frac: f64,
    valid: bool,
    interrupted: bool,
}

/// Runs the levels of one run one after the other, saving after each.
struct LevelRunner<'a> {
    plan: &'a LoadPlan,
    cfg: Config,
    /// What the server answered before the first level.
    hs: Handshake,
    base: BTreeMap<String, Value>,
    results: Results,
    stop: watch::Receiver<bool>,
    /// Levels run so far: seeds each level's prompts.
    index: u64,
    /// Taken by the first level run.
    start_at: Option<std::time::SystemTime>,
    observer: &'a mut dyn Observer,
}

impl LevelRunner<'_> {
    /// Runs one level, records its point and rewrites the results file.
    async fn level(
        &mut self,
        shape: Shape,
        extra: BTreeMap<String, Value>,
    ) -> Result<LevelVerdict> {
        let plan = self.plan;
        let total = self.total(shape);
        let mut params = self.base.clone();
        params.extend(extra);
        // A worker's point records the whole level (its key is the level's), so the
        // workers' files merge into the point one client at the whole load would make.
        shape_parameters(shape, &mut params);
        let requests = |n: usize| match &plan.source {
            Source::MultiTurn { spec, .. } => n * spec.turns,
            _ => n,
        };
        if matches!(plan.source, Source::MultiTurn { .. }) {
            params.insert("conversations".into(), json!(total));
        }
        params.insert("num_prompts".into(), json!(requests(total)));
        params.insert("warmup".into(), json!(plan.warmup));
        let mix = plan.worker.map_or(0, Worker::seed_mix);
        let seed = prompts::level_seed(plan.seed ^ mix, self.index);
        let warm_seed = prompts::level_seed(plan.seed ^ mix ^ 0x5741_524D, self.index);
        self.index += 1;
        let key = crate::record::point_key(&params);
        if let Some(done) = self.finished(&key) {
            return Ok(done);
        }
        let (shape, n) = match plan.worker {
            Some(w) => (w.shape(shape)?, w.share(total)),
            None => (shape, total),
        };
        if n == 0 {
            return Err(Error::config(
                "--num-prompts",
                format!("{total} prompts leave this worker none: give at least one per worker"),
            ));
        }
        // What the observer counts are requests: every turn of every conversation.
        self.observer.level_preparing(shape, requests(n));
        let (prompts, offsets) = self.prompts(total, n, seed)?;
        let level = Level {
            shape,
            prompts,
            offsets,
            warmup: plan.source.prompts(plan.warmup, warm_seed, plan.salt)?,
            parameters: params,
            seed,
            start_at: self.start_at.take(),
            cache_expected: plan.source.shares_prefixes(),
            conversation: match &plan.source {
                Source::MultiTurn { spec, .. } => Some(*spec),
                _ => None,
            },
        };
        self.observer.level_started(shape, requests(n));
        let mut r = self.run_observed(level).await;
        self.label(&mut r.point);
        let verdict = LevelVerdict {
            goodput_frac: r.point.scalars.get("goodput_frac").copied().unwrap_or(0.0),
            valid: r.valid,
            interrupted: r.interrupted,
        };
        let key = r.point.key.clone();
        self.results.upsert(r.point);
        self.results.save(&plan.output)?;
        if let Some(point) = self.results.points.iter().find(|p| p.key == key) {
            self.observer.level_finished(&FinishedLevel {
                shape,
                point,
                valid: r.valid,
                saved_to: &plan.output,
            });
        }
        Ok(verdict)
    }

    /// Measured requests of a level of `shape` (conversations, for a multi-turn source),
    /// before a worker takes its share.
    fn total(&self, shape: Shape) -> usize {
        let plan = self.plan;
        match &plan.source {
            // A trace replays its own requests (the first --num-prompts of them).
            Source::Trace { trace, .. } => plan
                .num_prompts
                .map_or(trace.entries.len(), |n| n.min(trace.entries.len())),
            // Conversations: by default as many as give the usual number of requests.
            Source::MultiTurn { spec, .. } => plan.num_prompts.unwrap_or_else(|| {
                prompt_count(None, shape, plan.settings.duration).div_ceil(spec.turns)
            }),
            _ => prompt_count(plan.num_prompts, shape, plan.settings.duration),
        }
    }

    /// What a finished level's point records beyond its key: the salt (runs that differ
    /// only in their salt are the same point), the tokenizer and the worker.
    fn label(&self, point: &mut crate::record::Point) {
        let plan = self.plan;
        point
            .notes
            .insert("url".into(), super::redact::url(&plan.url));
        let served = &self.hs.label;
        if record::model_label(served) != *served {
            point.notes.insert("served_model".into(), served.clone());
        }
        if self.hs.wire.is_empty() {
            point.notes.insert(
                "model_field".into(),
                "left out of requests: the server lists no model and names its own in its \
                 stream"
                    .into(),
            );
        }
        if let Some(why) = &self.hs.ignore_eos_refused {
            point.notes.insert(
                "ignore_eos".into(),
                format!(
                    "refused by the server ({why}): sent without ignore_eos / min_tokens, so \
                     output lengths were not forced; output figures count the tokens the model \
                     chose to write"
                ),
            );
            point.warnings.push(
                crate::warning::Warning::IgnoreEosRefused {
                    detail: why.clone(),
                }
                .to_string(),
            );
        }
        point
            .parameters
            .insert("salt".into(), json!(format!("{:016x}", plan.salt)));
        if let Some(t) = plan.source.tokenizer_note() {
            point.notes.insert("tokenizer".into(), t);
        }
        if let Some(w) = plan.worker {
            point
                .parameters
                .insert(SHARD_PARAM.into(), json!(w.label()));
        }
    }

    /// The `n` measured prompts of this worker's share of a level of `total`, with their
    /// send offsets when they replay a trace (a worker takes every count-th request, so
    /// the workers' shares spread over the whole trace).
    fn prompts(
        &self,
        total: usize,
        n: usize,
        seed: u64,
    ) -> Result<(Vec<prompts::Prompt>, Option<Vec<Duration>>)> {
        let plan = self.plan;
        match &plan.source {
            Source::Trace { maker, trace } => {
                let picked: Vec<usize> = (0..total)
                    .filter(|i| plan.worker.is_none_or(|w| i % w.count == w.index - 1))
                    .collect();
                let p = trace.prompts(maker, &picked, seed, plan.salt)?;
                Ok((p, Some(trace.offsets(&picked))))
            }
            Source::MultiTurn { first, spec } => Ok((
                super::conversation::prompts(first, *spec, n, seed, plan.salt)?,
                None,
            )),
            _ => Ok((plan.source.prompts(n, seed, plan.salt)?, None)),
        }
    }

    /// With `resume`, the verdict of a level the results file already holds finished.
    fn finished(&self, key: &str) -> Option<LevelVerdict> {
        if !self.plan.resume {
            return None;
        }
        let p = self
            .results
            .points
            .iter()
            .find(|p| p.key == key && p.status == crate::record::Status::Ok)?;
        Some(LevelVerdict {
            goodput_frac: p.scalars.get("goodput_frac").copied().unwrap_or(0.0),
            valid: p.scalars.get("client_valid") == Some(&1.0),
            interrupted: false,
        })
    }

    /// Runs a level, passing each finished request on to the observer as it comes.
    async fn run_observed(&mut self, level: Level) -> LevelResult {
        let (tx, mut rx) = mpsc::unbounded_channel::<RequestDone>();
        let observer = &mut *self.observer;
        let run = run_level_reporting(&self.cfg, level, self.stop.clone(), Some(tx));
        tokio::pin!(run);
        let r = loop {
            tokio::select! {
                r = &mut run => break r,
                Some(d) = rx.recv() => observer.request_finished(d.ok, d.output_tokens),
            }
        };
        while let Ok(d) = rx.try_recv() {
            observer.request_finished(d.ok, d.output_tokens);
        }
        r
    }

    /// Drives the max-rate search; `None` when interrupted. The point at the best rate
    /// gets a `max_rate_req_per_s` scalar and the file is saved again.
    async fn search(&mut self, s: &MaxRateSearch) -> Result<Option<SearchOutcome>> {
        let mut search = RateSearch::new(s.start_req_per_s, s.max_req_per_s, s.bisect_steps);
        let mut index = 0;
        while let Some(rate) = search.next() {
            let mut extra = BTreeMap::new();
            extra.insert("search".to_string(), json!("max_rate"));
            extra.insert("probe".to_string(), json!(index));
            let shape = Shape::Open {
                rate,
                arrival: s.arrival,
                max_inflight: s.max_inflight,
            };
            let v = self.level(shape, extra).await?;
            if v.interrupted {
                return Ok(None);
            }
            let pass = v.valid && v.goodput_frac >= s.attainment;
            self.observer.search_probe(&Probe {
                index,
                rate_req_per_s: rate,
                goodput_frac: v.goodput_frac,
                pass,
            });
            search.record(rate, pass);
            index += 1;
        }
        if let Some(best) = search.best {
            let at_best = self
                .results
                .points
                .iter_mut()
                .find(|p| p.parameters.get("rate").and_then(Value::as_f64) == Some(best));
            if let Some(p) = at_best {
                p.scalars.insert("max_rate_req_per_s".into(), best);
            }
            self.results.save(&self.plan.output)?;
        }
        Ok(Some(SearchOutcome {
            best_req_per_s: search.best,
            attainment: s.attainment,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prompt_counts_follow_the_shape_and_duration() {
        let closed = |c| Shape::Closed { concurrency: c };
        let open = Shape::Open {
            rate: 2.5,
            arrival: Arrival::Constant,
            max_inflight: None,
        };
        let d = Some(Duration::from_secs(3));
        assert_eq!(prompt_count(Some(7), closed(64), d), 7);
        assert_eq!(prompt_count(None, closed(1), None), 100);
        assert_eq!(prompt_count(None, closed(64), None), 256);
        assert_eq!(prompt_count(None, closed(64), d), 3200);
        assert_eq!(prompt_count(None, open, d), 8);
        assert_eq!(prompt_count(None, open, None), 100);
    }

    #[test]
    fn keys_name_the_model_not_where_it_lives() {
        use record::model_label;
        assert_eq!(
            model_label("/root/engines/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"),
            "SmolLM2-135M-Instruct.Q4_1.gguf"
        );
        assert_eq!(model_label("/work/.cache/smollm2-hf/"), "smollm2-hf");
        assert_eq!(
            model_label("HuggingFaceTB/SmolLM2-135M-Instruct"),
            "HuggingFaceTB/SmolLM2-135M-Instruct"
        );
        assert_eq!(model_label("default"), "default");
    }

    #[test]
    fn pool_size_is_the_largest_level() {
        let l = Levels::Shapes(vec![
            Shape::Closed { concurrency: 4 },
            Shape::Closed { concurrency: 16 },
        ]);
        assert_eq!(l.pool_size(), 16);
    }
}
