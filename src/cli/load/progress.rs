//! `load`'s progress on stderr.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::client::run::{FinishedLevel, Probe};
use crate::client::scheduler::Shape;
use crate::client::Observer;

/// Progress on stderr: a bar per level on a terminal (requests done, failures), else one
/// plain line per finished level, so a long run is never silent in a log.
pub(super) struct Progress {
    bar: Option<ProgressBar>,
    failed: u64,
    output_tokens: u64,
}

impl Progress {
    pub(super) fn new() -> Progress {
        Progress {
            bar: None,
            failed: 0,
            output_tokens: 0,
        }
    }

    pub(super) fn clear(&mut self) {
        if let Some(b) = self.bar.take() {
            b.finish_and_clear();
        }
    }
}

impl Observer for Progress {
    fn level_preparing(&mut self, shape: Shape, prompts: usize) {
        eprintln!("{shape}: preparing {prompts} prompts");
    }

    fn level_started(&mut self, shape: Shape, prompts: usize) {
        eprintln!("{shape}: running");
        self.failed = 0;
        self.output_tokens = 0;
        if super::super::interactive() {
            let bar =
                ProgressBar::with_draw_target(Some(prompts as u64), ProgressDrawTarget::stderr());
            bar.set_style(
                ProgressStyle::with_template(
                    "{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} {msg}",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            bar.set_message(shape.to_string());
            self.bar = Some(bar);
        }
    }

    fn request_finished(&mut self, ok: bool, output_tokens: u64) {
        self.failed += u64::from(!ok);
        self.output_tokens += output_tokens;
        if let Some(b) = &self.bar {
            b.inc(1);
            if self.failed > 0 {
                b.set_message(format!("{} failed", self.failed));
            }
        }
    }

    fn level_finished(&mut self, level: &FinishedLevel<'_>) {
        self.clear();
        let p = level.point;
        for w in &p.warnings {
            eprintln!("  warning: {w}");
        }
        let sc = |k: &str| p.scalars.get(k).copied().unwrap_or(0.0);
        let ttft = p
            .summary
            .get("ttft_ms")
            .map_or("-".into(), |s| format!("{:.1}", s.p50));
        eprintln!(
            "{}: {}/{} ok, {:.2} req/s, {:.1} out tok/s, TTFT p50 {ttft} ms{}; saved to {}",
            level.shape,
            sc("completed"),
            p.requests.len(),
            sc("requests_per_s"),
            sc("output_tok_per_s"),
            if level.valid { "" } else { ", INVALID" },
            level.saved_to.display()
        );
    }

    fn search_probe(&mut self, probe: &Probe) {
        eprintln!(
            "probe {}: {:.3} req/s -> {:.1}% of requests met the SLOs: {}",
            probe.index,
            probe.rate_req_per_s,
            probe.goodput_frac * 100.0,
            if probe.pass { "pass" } else { "fail" }
        );
    }
}
