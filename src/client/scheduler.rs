//! When requests are sent: closed loop (N workers, each sending its next request when the
//! previous one ends) or open loop (send times drawn in advance from a Poisson or constant
//! arrival process at R requests/s, each request sent at its time whatever is in flight,
//! optionally behind a cap on requests in flight). Open-loop requests keep their scheduled
//! time, so latencies can be reported from it (no coordinated omission: Tene, "How NOT to
//! measure latency", 2015). The scheduler also watches itself: how late its dispatcher
//! woke for each request, and how late a periodic timer fires on the runtime (event-loop
//! delay). A multi-turn level runs its conversations in the closed loop: a worker takes a
//! whole conversation and sends its turns in order, each built from the replies before it
//! (`conversation::closed_loop`). Depends on `http`, `conversation` and `aggregate` types
//! only.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Exp};
use tokio::sync::{mpsc, watch, Semaphore};
use tokio::task::JoinSet;

use super::aggregate::{process_cpu_s, ClientLag};
use super::http::{ErrorKind, Failure, Outcome, Target};

/// Arrival process of an open-loop run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Arrival {
    /// Exponential gaps with mean 1/R (a Poisson process).
    Poisson,
    /// Every 1/R seconds exactly.
    Constant,
    /// At the times of a recorded trace (`--trace`).
    #[value(skip)]
    #[serde(skip)]
    Trace,
}

impl Arrival {
    pub fn as_str(self) -> &'static str {
        match self {
            Arrival::Poisson => "poisson",
            Arrival::Constant => "constant",
            Arrival::Trace => "trace",
        }
    }
}

/// How requests are issued in one level.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Shape {
    Closed {
        concurrency: usize,
    },
    Open {
        rate: f64,
        arrival: Arrival,
        max_inflight: Option<usize>,
    },
}

/// `concurrency 16` or `rate 2.5 req/s (poisson)`: how a level is named to people.
impl std::fmt::Display for Shape {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Shape::Closed { concurrency } => write!(f, "concurrency {concurrency}"),
            Shape::Open { rate, arrival, .. } => {
                write!(f, "rate {rate} req/s ({})", arrival.as_str())
            }
        }
    }
}

/// Send offsets (from the start of the level) of `n` open-loop requests.
pub fn schedule(n: usize, rate: f64, arrival: Arrival, seed: u64) -> Vec<Duration> {
    let mut out = Vec::with_capacity(n);
    let mut t = 0.0f64;
    match arrival {
        // A trace's times come with its requests (`SendPlan::offsets`); evenly spaced
        // here only if none were given.
        Arrival::Constant | Arrival::Trace => {
            for i in 0..n {
                out.push(Duration::from_secs_f64(i as f64 / rate));
            }
        }
        Arrival::Poisson => {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            let exp = Exp::new(rate).expect("rate is positive and finite");
            for _ in 0..n {
                out.push(Duration::from_secs_f64(t));
                t += exp.sample(&mut rng);
            }
        }
    }
    out
}

/// What one level sends.
#[derive(Debug, Clone)]
pub struct SendPlan {
    pub shape: Shape,
    /// Request bodies of the measured phase, in order.
    pub bodies: Arc<Vec<Vec<u8>>>,
    /// Warmup request bodies (sent first, never measured).
    pub warmup: Vec<Vec<u8>>,
    /// Stop sending new requests after this long (the measured phase).
    pub duration: Option<Duration>,
    pub timeout: Duration,
    pub seed: u64,
    /// Stop the level after this many failures in a row (an unreachable server must not
    /// spin through thousands of requests).
    pub max_consecutive_errors: usize,
    /// Told of every measured request as it finishes (progress display); never of warmup.
    pub progress: Option<mpsc::UnboundedSender<RequestDone>>,
    /// Start the measured phase at this wall-clock instant (after warmup): the workers of
    /// a fleet start together.
    pub start_at: Option<std::time::SystemTime>,
    /// Open loop: each measured request's send offset, instead of drawing them from the
    /// arrival process (trace replay).
    pub offsets: Option<Vec<Duration>>,
    /// Closed loop: send these conversations (whose turns are built as replies arrive)
    /// instead of `bodies`.
    pub conversations: Option<Arc<super::conversation::Script>>,
}

/// One measured request finished: what a progress display shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestDone {
    pub ok: bool,
    /// The server's `usage.completion_tokens`, else the number of text events.
    pub output_tokens: u64,
}

/// What one level observed.
#[derive(Debug)]
pub struct Run {
    /// Measured requests that finished (successfully or not), in completion order.
    pub outcomes: Vec<Outcome>,
    /// Start of the measured phase.
    pub t0: Instant,
    pub wall: Duration,
    pub lag: ClientLag,
    pub warmup_done: usize,
    /// Ctrl-C (or the stop signal) arrived; requests still in flight were dropped.
    pub interrupted: bool,
    /// The level was cut short for this reason (too many failures in a row).
    pub aborted: Option<String>,
    /// Prompts ran out before `duration` ended.
    pub exhausted: bool,
}

/// Resolves once the stop signal is true; never when its sender is gone.
pub async fn stopped(rx: &mut watch::Receiver<bool>) {
    loop {
        if *rx.borrow_and_update() {
            return;
        }
        if rx.changed().await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}

pub(super) struct Shared {
    target: Arc<Target>,
    timeout: Duration,
    consecutive_errors: AtomicUsize,
    max_consecutive_errors: usize,
    pub(super) abort: AtomicBool,
    progress: Option<mpsc::UnboundedSender<RequestDone>>,
    /// Set once warmup is over: only measured requests are reported as progress.
    measuring: AtomicBool,
}

impl Shared {
    pub(super) fn note(&self, o: &Outcome) {
        if let Some(tx) = self.progress.as_ref() {
            if self.measuring.load(Ordering::Relaxed) {
                // A closed receiver only means nobody watches any more.
                let _ = tx.send(RequestDone {
                    ok: o.ok(),
                    output_tokens: o
                        .usage
                        .and_then(|u| u.completion_tokens)
                        .unwrap_or(o.pieces.len() as u64),
                });
            }
        }
        if o.ok() {
            self.consecutive_errors.store(0, Ordering::Relaxed);
        } else {
            let n = self.consecutive_errors.fetch_add(1, Ordering::Relaxed) + 1;
            if n >= self.max_consecutive_errors {
                self.abort.store(true, Ordering::Relaxed);
            }
        }
    }
}

/// Aborts a task when dropped (a request whose level was interrupted).
struct AbortOnDrop(tokio::task::AbortHandle);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Runs one request on its own task, so that a panic inside it becomes a counted `panic`
/// failure of request `index` instead of losing it (and, in a closed loop, every other
/// request of its worker).
pub async fn guarded<F>(index: usize, f: F) -> Outcome
where
    F: std::future::Future<Output = Outcome> + Send + 'static,
{
    let sent = Instant::now();
    let mut task = tokio::spawn(f);
    let _abort = AbortOnDrop(task.abort_handle());
    match (&mut task).await {
        Ok(o) => o,
        Err(e) => {
            let detail = if e.is_panic() {
                let p = e.into_panic();
                let msg = p
                    .downcast_ref::<&str>()
                    .map(|s| (*s).to_owned())
                    .or_else(|| p.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "a non-text panic".into());
                format!("the request task panicked: {msg}")
            } else {
                "the request task was cancelled".into()
            };
            let mut o = Outcome::new(index, sent);
            o.end = Instant::now();
            o.failure = Some(Failure {
                kind: ErrorKind::Panic,
                detail,
            });
            o
        }
    }
}

/// One timed request of `target`, on its own task (see [`guarded`]).
pub(super) async fn request(shared: &Shared, index: usize, body: Vec<u8>) -> Outcome {
    let (target, timeout) = (shared.target.clone(), shared.timeout);
    guarded(index, async move {
        let mut o = Outcome::new(index, Instant::now());
        target.run(body, timeout, &mut o).await;
        o
    })
    .await
}

/// Samples event-loop delay every `period` until `done` is set.
fn spawn_lag_monitor(done: Arc<AtomicBool>, period: Duration) -> tokio::task::JoinHandle<Vec<f64>> {
    tokio::spawn(async move {
        let mut samples = Vec::new();
        while !done.load(Ordering::Relaxed) {
            let expected = Instant::now() + period;
            tokio::time::sleep(period).await;
            let late = Instant::now().saturating_duration_since(expected);
            samples.push(late.as_secs_f64() * 1e3);
        }
        samples
    })
}

/// Closed loop over `bodies[..]` with `concurrency` workers; returns the outcomes.
async fn closed_loop(
    shared: &Arc<Shared>,
    bodies: Arc<Vec<Vec<u8>>>,
    concurrency: usize,
    deadline: Option<Instant>,
    stop: &watch::Receiver<bool>,
) -> (Vec<Outcome>, bool) {
    let next = Arc::new(AtomicUsize::new(0));
    let interrupted = Arc::new(AtomicBool::new(false));
    let mut set = JoinSet::new();
    for _ in 0..concurrency.max(1) {
        let (shared, bodies, next, interrupted) = (
            shared.clone(),
            bodies.clone(),
            next.clone(),
            interrupted.clone(),
        );
        let mut stop = stop.clone();
        set.spawn(async move {
            let mut mine = Vec::new();
            loop {
                if shared.abort.load(Ordering::Relaxed) || *stop.borrow() {
                    break;
                }
                if deadline.is_some_and(|d| Instant::now() >= d) {
                    break;
                }
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(body) = bodies.get(i) else { break };
                tokio::select! {
                    o = request(&shared, i, body.clone()) => {
                        shared.note(&o);
                        mine.push(o);
                    }
                    _ = stopped(&mut stop) => {
                        interrupted.store(true, Ordering::Relaxed);
                        break;
                    }
                }
            }
            mine
        });
    }
    let mut out = Vec::new();
    while let Some(r) = set.join_next().await {
        if let Ok(mut v) = r {
            out.append(&mut v);
        }
    }
    (out, interrupted.load(Ordering::Relaxed))
}

/// Sends the warmup requests in a closed loop (as many in flight as the level will
/// have, at most 8 for an uncapped open loop); returns how many finished.
async fn warmup(shared: &Arc<Shared>, plan: &SendPlan, stop: &watch::Receiver<bool>) -> usize {
    if plan.warmup.is_empty() {
        return 0;
    }
    let conc = match plan.shape {
        Shape::Closed { concurrency } => concurrency,
        Shape::Open { max_inflight, .. } => max_inflight.unwrap_or(8),
    }
    .clamp(1, plan.warmup.len().max(1));
    let bodies = Arc::new(plan.warmup.clone());
    let (w, _) = closed_loop(shared, bodies, conc, None, stop).await;
    w.len()
}

/// Warmup, then the counters reset for the measured phase and, for a fleet worker, the
/// wait for `--start-at`. Returns how many warmup requests were sent.
async fn before_measuring(
    shared: &Arc<Shared>,
    plan: &SendPlan,
    stop: &watch::Receiver<bool>,
) -> usize {
    let warmup_done = warmup(shared, plan, stop).await;
    // Warmup failures do not count towards aborting the measured phase.
    shared.consecutive_errors.store(0, Ordering::Relaxed);
    shared.abort.store(false, Ordering::Relaxed);
    shared.measuring.store(true, Ordering::Relaxed);
    if let Some(at) = plan.start_at {
        let mut stop = stop.clone();
        tokio::select! {
            _ = super::fleet::wait_until(at) => {}
            _ = stopped(&mut stop) => {}
        }
    }
    warmup_done
}

/// The measured phase of a level, in its shape: closed loop (of single requests or of
/// conversations) or open loop. Returns the outcomes and whether it was interrupted.
async fn measured(
    shared: &Arc<Shared>,
    plan: &SendPlan,
    t0: Instant,
    deadline: Option<Instant>,
    stop: &watch::Receiver<bool>,
) -> (Vec<Outcome>, bool) {
    match (plan.shape, &plan.conversations) {
        (Shape::Closed { concurrency }, Some(script)) => {
            super::conversation::closed_loop(shared, script, concurrency, deadline, stop).await
        }
        (Shape::Closed { concurrency }, None) => {
            closed_loop(shared, plan.bodies.clone(), concurrency, deadline, stop).await
        }
        (
            Shape::Open {
                rate,
                arrival,
                max_inflight,
            },
            _,
        ) => {
            open_loop(
                shared,
                plan,
                OpenSpec {
                    rate,
                    arrival,
                    max_inflight,
                    t0,
                    deadline,
                },
                stop.clone(),
            )
            .await
        }
    }
}

/// Runs one level: warmup (closed loop, never measured), then the measured phase.
pub async fn run(target: Arc<Target>, plan: SendPlan, stop: watch::Receiver<bool>) -> Run {
    let shared = Arc::new(Shared {
        target,
        timeout: plan.timeout,
        consecutive_errors: AtomicUsize::new(0),
        max_consecutive_errors: plan.max_consecutive_errors.max(1),
        abort: AtomicBool::new(false),
        progress: plan.progress.clone(),
        measuring: AtomicBool::new(false),
    });
    let warmup_done = before_measuring(&shared, &plan, &stop).await;

    let done = Arc::new(AtomicBool::new(false));
    let monitor = spawn_lag_monitor(done.clone(), Duration::from_millis(10));
    let cpu0 = process_cpu_s();
    let t0 = Instant::now();
    let deadline = plan.duration.map(|d| t0 + d);
    let n = plan
        .conversations
        .as_ref()
        .map_or(plan.bodies.len(), |s| s.turns.len());

    let (outcomes, mut interrupted) = measured(&shared, &plan, t0, deadline, &stop).await;
    let wall = t0.elapsed();
    let cpu1 = process_cpu_s();
    done.store(true, Ordering::Relaxed);
    let event_loop_ms = monitor.await.unwrap_or_default();
    interrupted |= *stop.borrow();
    let aborted = shared.abort.load(Ordering::Relaxed).then(|| {
        format!(
            "stopped after {} failed requests in a row",
            shared.max_consecutive_errors
        )
    });
    let sent = outcomes.len();
    Run {
        exhausted: plan.duration.is_some()
            && sent >= n
            && !interrupted
            && aborted.is_none()
            && deadline.is_some_and(|d| Instant::now() < d),
        outcomes,
        t0,
        wall,
        lag: ClientLag {
            event_loop_ms,
            cpu_s: cpu0.zip(cpu1).map(|(a, b)| b - a),
            cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
        },
        warmup_done,
        interrupted,
        aborted,
    }
}

struct OpenSpec {
    rate: f64,
    arrival: Arrival,
    max_inflight: Option<usize>,
    t0: Instant,
    deadline: Option<Instant>,
}

async fn open_loop(
    shared: &Arc<Shared>,
    plan: &SendPlan,
    spec: OpenSpec,
    mut stop: watch::Receiver<bool>,
) -> (Vec<Outcome>, bool) {
    let offsets = match &plan.offsets {
        Some(o) => o.clone(),
        None => schedule(plan.bodies.len(), spec.rate, spec.arrival, plan.seed),
    };
    let sem = spec
        .max_inflight
        .map(|k| Arc::new(Semaphore::new(k.max(1))));
    let results = Arc::new(Mutex::new(Vec::with_capacity(plan.bodies.len())));
    let mut set = JoinSet::new();
    let mut interrupted = false;
    for (i, off) in offsets.into_iter().enumerate() {
        let at = spec.t0 + off;
        if spec.deadline.is_some_and(|d| at >= d) || shared.abort.load(Ordering::Relaxed) {
            break;
        }
        tokio::select! {
            _ = tokio::time::sleep_until(tokio::time::Instant::from_std(at)) => {}
            _ = stopped(&mut stop) => { interrupted = true; break; }
        }
        // How late the dispatcher itself woke: client lag, not queueing.
        let woke = Instant::now();
        let (shared, sem, results) = (shared.clone(), sem.clone(), results.clone());
        let body = plan.bodies[i].clone();
        // The task waits for an in-flight slot, so the dispatcher never blocks and every
        // later request still leaves on time.
        set.spawn(async move {
            let _permit = match &sem {
                Some(s) => s.clone().acquire_owned().await.ok(),
                None => None,
            };
            let mut o = request(&shared, i, body).await;
            o.scheduled = Some(at);
            o.dispatched = Some(woke);
            shared.note(&o);
            results.lock().expect("no panics while holding it").push(o);
        });
        // Reap finished tasks as we go so the set stays small.
        while set.try_join_next().is_some() {}
    }
    if !interrupted {
        loop {
            tokio::select! {
                r = set.join_next() => if r.is_none() { break },
                _ = stopped(&mut stop) => { interrupted = true; break; }
            }
        }
    }
    set.abort_all();
    while set.join_next().await.is_some() {}
    let out = std::mem::take(&mut *results.lock().expect("no panics while holding it"));
    (out, interrupted)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constant_and_poisson_schedules() {
        let c = schedule(5, 10.0, Arrival::Constant, 0);
        assert_eq!(c[0], Duration::ZERO);
        assert!((c[4].as_secs_f64() - 0.4).abs() < 1e-12);
        let p = schedule(20_000, 50.0, Arrival::Poisson, 7);
        assert!(p.windows(2).all(|w| w[0] <= w[1]));
        // mean gap of a Poisson process at 50/s is 20 ms (±3% at n = 20000)
        let mean_gap = p.last().unwrap().as_secs_f64() / (p.len() - 1) as f64;
        assert!((mean_gap - 0.02).abs() < 0.0006, "{mean_gap}");
        assert_eq!(p, schedule(20_000, 50.0, Arrival::Poisson, 7), "seeded");
    }

    #[test]
    fn a_panicking_request_is_a_counted_failure() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let o = rt.block_on(guarded(3, async { panic!("boom in a request") }));
        assert_eq!(o.index, 3);
        let f = o.failure.expect("a failure, not a lost request");
        assert_eq!(f.kind, ErrorKind::Panic);
        assert!(f.detail.contains("boom in a request"), "{}", f.detail);
        let fine = rt.block_on(guarded(4, async { Outcome::new(4, Instant::now()) }));
        assert!(fine.failure.is_none());
    }
}
