//! Runs sweep points on an engine: checks the point fits (context and memory) before
//! touching the engine, makes a session sized for it, runs warmup generations (never
//! counted), then the measured runs, and turns their phase times into a
//! [`record::Point`](crate::record::Point) with raw samples and summaries.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use crate::bench::corpus::Corpus;
use crate::bench::plan::{PointSpec, RunSettings};
use crate::engine::{Engine, Request, SessionConfig};
use crate::error::{Error, Result};
use crate::record::{unix_now, Clock, Memory, Point, PointKind, RunRecord, Status, Summary};
use crate::stats::summarize;
use crate::units::{ms, per_s};

/// Threads a point runs with.
pub fn threads_for(settings: &RunSettings) -> u32 {
    settings
        .threads
        .unwrap_or_else(crate::engine::default_threads)
}

/// Refuses a point that cannot fit, before running it: prompt + output beyond the context,
/// or a KV cache beyond `mem_fraction` of available memory. The error carries the KV plan.
pub fn check_fit(
    engine: &dyn Engine,
    spec: &PointSpec,
    settings: &RunSettings,
    available: Option<u64>,
) -> Result<()> {
    let dims = &engine.manifest().model;
    let ctx = settings.ctx.unwrap_or(dims.context_train);
    let seq = u64::from(spec.depth) + u64::from(spec.isl) + u64::from(spec.osl);
    if seq > u64::from(ctx) {
        let origin = if settings.ctx.is_some() {
            "--ctx"
        } else {
            "the model's trained context; raise it with --ctx"
        };
        return Err(Error::Capacity {
            reason: format!(
                "{}isl {} + osl {} = {seq} tokens per sequence exceeds the context of {ctx} ({origin})",
                crate::bench::depth::term(spec.depth),
                spec.isl,
                spec.osl
            ),
        });
    }
    let plan = engine.kv_plan(settings.kv_dtype);
    let need = plan.total_bytes(u64::from(spec.batch), seq);
    if let Some(avail) = available {
        let budget = (avail as f64 * settings.mem_fraction) as u64;
        if need > budget {
            return Err(Error::Capacity {
                reason: format!(
                    "KV cache needs {} ({} B/token × batch {} × {} tokens, {}) but the budget is {} \
                     ({:.0}% of {} available); largest batch at this length: {}",
                    crate::units::human_bytes(need),
                    plan.bytes_per_token(),
                    spec.batch,
                    plan.slot_tokens(seq),
                    settings.kv_dtype.as_str(),
                    crate::units::human_bytes(budget),
                    settings.mem_fraction * 100.0,
                    crate::units::human_bytes(avail),
                    plan.max_batch(seq, budget)
                ),
            });
        }
    }
    Ok(())
}

/// The point record for a point that did not run, carrying its error.
pub fn failed_point(
    spec: &PointSpec,
    settings: &RunSettings,
    engine: Option<serde_json::Value>,
    err: &Error,
) -> Point {
    let status = if matches!(err, Error::Capacity { .. }) {
        Status::Skipped
    } else {
        Status::Error
    };
    let mut p = Point::new(
        PointKind::Engine,
        spec.parameters(settings, threads_for(settings)),
    );
    p.status = status;
    p.error = Some(err.to_string());
    p.engine = engine;
    p.vanilla_twin = crate::bench::draft::vanilla_key(spec, settings, threads_for(settings));
    p
}

/// Runs one point: warmup, measured runs, summary. `tick` is called after every
/// generation (for progress bars); `stop` is checked between generations. A speculative
/// point (`spec.draft`) runs on a session of `engine` drafted by `draft`.
pub fn run_point(
    engine: &dyn Engine,
    draft: Option<&dyn Engine>,
    spec: &PointSpec,
    settings: &RunSettings,
    corpus: &Corpus,
    stop: &AtomicBool,
    tick: &mut dyn FnMut(),
) -> Result<Point> {
    check_fit(
        engine,
        spec,
        settings,
        crate::platform::available_memory_bytes(),
    )?;
    let started_unix_s = unix_now();
    let wall = Instant::now();
    let threads = threads_for(settings);
    let seq = spec.depth + spec.isl + spec.osl;
    let cfg = session_config(spec, settings, threads);
    let mut session = open_session(engine, draft, spec, &cfg)?;
    crate::bench::depth::fill(engine, &mut *session, spec, corpus, settings.seed)?;
    let kv_allocated = session.kv_allocated_bytes();

    let mut gen = Generations {
        session: &mut *session,
        spec,
        settings,
        corpus,
        stop,
        tick,
    };
    gen.warmup()?;
    let sampler = (settings.sample_ms > 0).then(|| {
        crate::bench::monitor::Monitor::start(std::time::Duration::from_millis(settings.sample_ms))
    });
    let measured = gen.measured()?;
    let sampled = sampler.map(|s| s.stop());
    // Read after the runs, so counts the backend keeps (forward passes, prefills on an
    // empty KV cache) cover warmup and measured runs.
    let notes = session.setup_notes();
    drop(session);

    let mut point = Point::new(PointKind::Engine, spec.parameters(settings, threads));
    point.engine = serde_json::to_value(engine.manifest()).ok();
    point.started_unix_s = started_unix_s;
    point.wall_s = wall.elapsed().as_secs_f64();
    point.warmup_runs = settings.warmup;
    let plan = engine.kv_plan(settings.kv_dtype);
    point.memory = Memory {
        weights_bytes: Some(engine.weights_bytes()),
        kv_formula_bytes: Some(plan.total_bytes(u64::from(spec.batch), u64::from(seq))),
        kv_allocated_bytes: kv_allocated,
        peak_rss_bytes: measured.runs.iter().filter_map(|r| r.peak_rss_bytes).max(),
        peak_device_bytes: None,
        timeline: Vec::new(),
    };
    point.summary = point_summaries(&measured, spec);
    point.runs = measured.runs;
    point.scalars = kv_scalars(plan.bytes_per_token(), &notes);
    pair(&mut point, spec, settings, draft);
    let exact_peak = point.memory.peak_rss_bytes;
    if let Some(report) = &sampled {
        let tokens = point.runs.iter().map(|r| r.output_tokens).sum();
        report.apply(&mut point, tokens);
        // VmHWM is exact; the sampler's peak is only as fine as its interval.
        point.memory.peak_rss_bytes = exact_peak.max(point.memory.peak_rss_bytes);
    }
    point.notes = notes;
    crate::stats::bootstrap::add_intervals(
        &mut point,
        settings.seed ^ crate::stats::bootstrap::DEFAULT_SEED,
    );
    point.warnings = crate::warning::sentences(&crate::warning::point(&point));
    Ok(point)
}

/// A point's summaries: the host-timed figures of its runs, the device stage times where
/// the backend has them, and Edge-LLM's own figures by its formulas (empty for backends
/// without stage times).
fn point_summaries(
    measured: &Measured,
    spec: &PointSpec,
) -> std::collections::BTreeMap<String, crate::record::Summary> {
    let mut s = summarize_runs(&measured.runs, measured.clock);
    s.extend(crate::engine::DeviceTimes::summaries(&measured.device));
    s.extend(crate::backends::trt::timing::edge_llm_figures(
        &measured.device,
        spec.batch,
        spec.isl,
        spec.osl,
    ));
    s
}

/// The session a point runs on: plain, or drafted by `draft` for a speculative point.
fn open_session<'e>(
    engine: &'e dyn Engine,
    draft: Option<&'e dyn Engine>,
    spec: &PointSpec,
    cfg: &SessionConfig,
) -> Result<Box<dyn crate::engine::Session + 'e>> {
    match (&spec.draft, draft) {
        (None, _) => engine.session(cfg),
        (Some(d), Some(de)) => engine.speculative_session(de, cfg, &d.knobs()),
        (Some(d), None) => Err(Error::config(
            "--draft",
            format!("draft engine {} was not opened", d.dir.display()),
        )),
    }
}

/// A speculative point's pairing (the key of its vanilla twin) and its draft's weights,
/// a second model held beside the target's.
fn pair(point: &mut Point, spec: &PointSpec, settings: &RunSettings, draft: Option<&dyn Engine>) {
    point.vanilla_twin = crate::bench::draft::vanilla_key(spec, settings, threads_for(settings));
    // An Edge-LLM draft is built into the target's own directory: its weights are the
    // target's already (both engines), not a second model beside it.
    let beside = |d: &dyn Engine| d.manifest().backend != crate::engine::BackendKind::EdgeLlm;
    if let (Some(_), Some(d)) = (&spec.draft, draft.filter(|d| beside(*d))) {
        point
            .scalars
            .insert("draft_weights_bytes".into(), d.weights_bytes() as f64);
    }
}

/// The session a point needs: its batch, depth + isl + osl tokens per sequence, and the
/// run settings.
fn session_config(spec: &PointSpec, settings: &RunSettings, threads: u32) -> SessionConfig {
    let mut cfg = SessionConfig::new(spec.batch, spec.depth + spec.isl + spec.osl);
    cfg.threads = Some(threads);
    cfg.kv_dtype = settings.kv_dtype;
    cfg.mem_fraction = settings.mem_fraction;
    cfg.cuda_graphs = spec.cuda_graphs.unwrap_or(true);
    cfg
}

/// KV figures of a point: bytes per token from the plan, and what the engine itself
/// allocates (Edge-LLM's KV pool) when its setup notes say.
fn kv_scalars(bytes_per_token: f64, notes: &BTreeMap<String, String>) -> BTreeMap<String, f64> {
    let mut scalars = BTreeMap::new();
    scalars.insert("kv_bytes_per_token".into(), bytes_per_token);
    if let Some(v) = notes
        .get("kv_allocated_bytes")
        .and_then(|v| v.parse::<f64>().ok())
    {
        scalars.insert("kv_allocated_bytes".into(), v);
    }
    scalars
}

/// What the measured runs of a point produced.
struct Measured {
    runs: Vec<RunRecord>,
    clock: Clock,
    /// Device stage times (GPU engines), kept beside the host figures.
    device: Vec<crate::engine::Generation>,
}

/// The generations of one point on its session: warmup first, then the measured runs.
struct Generations<'a, 'b> {
    session: &'a mut dyn crate::engine::Session,
    spec: &'a PointSpec,
    settings: &'a RunSettings,
    corpus: &'a Corpus,
    stop: &'a AtomicBool,
    tick: &'b mut dyn FnMut(),
}

impl Generations<'_, '_> {
    /// One generation, named `label` on a profiler's timeline.
    fn generate(
        &mut self,
        seed: u64,
        index: u64,
        label: &str,
    ) -> Result<crate::engine::Generation> {
        if self.stop.load(Ordering::Relaxed) {
            return Err(Error::Interrupted);
        }
        self.session.label_next_generation(label);
        let (isl, batch) = (self.spec.isl as usize, self.spec.batch as usize);
        let prompts = self.corpus.prompts(isl, batch, seed, index);
        self.session.generate(
            &Request {
                prompts: &prompts,
                output_len: self.spec.osl,
            },
            &mut |_| {},
        )
    }

    /// Warmup generations, never counted. Their prompts come from their own seed stream,
    /// disjoint from the measured runs'.
    fn warmup(&mut self) -> Result<()> {
        for w in 0..self.settings.warmup {
            let label = format!("warmup {}/{}", w + 1, self.settings.warmup);
            self.generate(self.settings.seed ^ 0x5741_524d, u64::from(w), &label)?;
            (self.tick)();
        }
        Ok(())
    }

    /// The measured runs, each checked to have produced exactly batch × osl tokens.
    fn measured(&mut self) -> Result<Measured> {
        let mut out = Measured {
            runs: Vec::with_capacity(self.settings.runs as usize),
            clock: Clock::HostMonotonic,
            device: Vec::new(),
        };
        let peak_reset = crate::platform::reset_peak_rss(std::path::Path::new("/"));
        for r in 0..self.settings.runs {
            if peak_reset {
                crate::platform::reset_peak_rss(std::path::Path::new("/"));
            }
            let label = format!("run {}/{}", r + 1, self.settings.runs);
            let g = self.generate(self.settings.seed, u64::from(r), &label)?;
            let peak = if peak_reset {
                crate::platform::peak_rss_bytes()
            } else {
                None
            };
            self.check_lengths(&g)?;
            out.clock = g.times.clock;
            let mut record = run_record(self.spec, &g.times, peak);
            record.spec = g.spec.map(|c| crate::record::SpecRun {
                verify_steps: c.verify_steps,
                proposed_tokens: c.proposed,
                accepted_tokens: c.accepted,
                draft_ms: ms(c.draft),
                target_ms: ms(c.target),
            });
            out.runs.push(record);
            out.device.push(crate::engine::Generation {
                tokens: Vec::new(),
                ..g
            });
            (self.tick)();
        }
        Ok(out)
    }

    fn check_lengths(&self, g: &crate::engine::Generation) -> Result<()> {
        let (batch, osl) = (self.spec.batch as usize, self.spec.osl as usize);
        if g.tokens.len() == batch && g.tokens.iter().all(|t| t.len() == osl) {
            return Ok(());
        }
        Err(Error::Engine {
            backend: "runner",
            op: "generate",
            message: format!(
                "expected {batch} sequences of {osl} tokens, got {:?}",
                g.tokens.iter().map(Vec::len).collect::<Vec<_>>()
            ),
        })
    }
}

/// Metrics of one run from its phase times.
pub fn run_record(
    spec: &PointSpec,
    t: &crate::engine::PhaseTimes,
    peak_rss_bytes: Option<u64>,
) -> RunRecord {
    let b = f64::from(spec.batch);
    let osl = f64::from(spec.osl);
    let decode = t.e2e.saturating_sub(t.ttft);
    let (tpot_ms, decode_tok_per_s) = if spec.osl > 1 {
        (
            Some(ms(decode) / (osl - 1.0)),
            Some(per_s(b * (osl - 1.0), decode)),
        )
    } else {
        (None, None)
    };
    RunRecord {
        prefill_ms: ms(t.prefill),
        ttft_ms: ms(t.ttft),
        e2e_ms: ms(t.e2e),
        tpot_ms,
        itl_ms: t.steps.iter().map(|d| ms(*d)).collect(),
        prefill_tok_per_s: per_s(b * f64::from(spec.isl), t.prefill),
        decode_tok_per_s,
        output_tok_per_s: per_s(b * osl, t.e2e),
        requests_per_s: per_s(b, t.e2e),
        output_tokens: u64::from(spec.batch) * u64::from(spec.osl),
        input_tokens: u64::from(spec.batch) * u64::from(spec.isl),
        peak_rss_bytes,
        spec: None,
    }
}

/// Summaries of every metric over the measured runs (ITL pools every gap of every run).
pub fn summarize_runs(runs: &[RunRecord], clock: Clock) -> BTreeMap<String, Summary> {
    let mut out = BTreeMap::new();
    let mut put = |name: &str, values: Vec<f64>, unit: &str| {
        if let Some(s) = summarize(&values, unit, Some(clock)) {
            out.insert(name.to_owned(), s);
        }
    };
    put(
        "prefill_ms",
        runs.iter().map(|r| r.prefill_ms).collect(),
        "ms",
    );
    put("ttft_ms", runs.iter().map(|r| r.ttft_ms).collect(), "ms");
    put("e2e_ms", runs.iter().map(|r| r.e2e_ms).collect(), "ms");
    put(
        "tpot_ms",
        runs.iter().filter_map(|r| r.tpot_ms).collect(),
        "ms",
    );
    put(
        "itl_ms",
        runs.iter().flat_map(|r| r.itl_ms.iter().copied()).collect(),
        "ms",
    );
    put(
        "prefill_tok_per_s",
        runs.iter().map(|r| r.prefill_tok_per_s).collect(),
        "tok/s",
    );
    put(
        "decode_tok_per_s",
        runs.iter().filter_map(|r| r.decode_tok_per_s).collect(),
        "tok/s",
    );
    put(
        "output_tok_per_s",
        runs.iter().map(|r| r.output_tok_per_s).collect(),
        "tok/s",
    );
    put(
        "requests_per_s",
        runs.iter().map(|r| r.requests_per_s).collect(),
        "req/s",
    );
    // Speculative runs only: per-run acceptance and draft/target time per verify step.
    for (name, unit) in crate::stats::samples::SPEC_METRICS {
        put(
            name,
            runs.iter()
                .filter_map(|r| crate::stats::samples::spec_metric(r.spec.as_ref()?, name))
                .collect(),
            unit,
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::PhaseTimes;
    use std::path::PathBuf;
    use std::time::Duration;

    fn spec(batch: u32, isl: u32, osl: u32) -> PointSpec {
        PointSpec {
            engine_dir: PathBuf::from("engines/x"),
            name: "x".into(),
            batch,
            isl,
            osl,
            cuda_graphs: None,
            depth: 0,
            draft: None,
        }
    }

    #[test]
    fn metrics_from_phase_times() {
        // prefill 100 ms, then 4 steps of 10 ms: e2e 140 ms, osl 5, batch 2, isl 50.
        let t = PhaseTimes {
            clock: Clock::HostMonotonic,
            prefill: Duration::from_millis(100),
            ttft: Duration::from_millis(100),
            steps: vec![Duration::from_millis(10); 4],
            e2e: Duration::from_millis(140),
        };
        let r = run_record(&spec(2, 50, 5), &t, None);
        assert!((r.prefill_tok_per_s - 1000.0).abs() < 1e-9); // 100 tokens / 0.1 s
        assert!((r.tpot_ms.unwrap() - 10.0).abs() < 1e-9); // (140 - 100) / 4
        assert!((r.decode_tok_per_s.unwrap() - 200.0).abs() < 1e-9); // 2 × 4 / 0.04 s
        assert!((r.output_tok_per_s - 10.0 / 0.14).abs() < 1e-9);
        assert!((r.requests_per_s - 2.0 / 0.14).abs() < 1e-9);
        assert_eq!(r.itl_ms, vec![10.0; 4]);
        assert_eq!((r.output_tokens, r.input_tokens), (10, 100));
        let one = run_record(&spec(1, 8, 1), &t, None);
        assert!(one.tpot_ms.is_none() && one.decode_tok_per_s.is_none());
    }
}
