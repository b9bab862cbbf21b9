//! `--find-max-rate`: the highest open-loop request rate whose goodput meets the SLOs.
//! Exponential search (double the rate while it passes, halve while it fails) brackets the
//! edge, then bisection narrows it; every probe is a full measured level. Pure: the caller
//! runs the probes. Depends on nothing of ours.

/// State of the search.
#[derive(Debug, Clone)]
pub struct RateSearch {
    /// Highest rate that passed.
    pub best: Option<f64>,
    /// Lowest rate that failed.
    pub worst: Option<f64>,
    next: Option<f64>,
    max_rate: f64,
    min_rate: f64,
    /// Bisection steps left once the edge is bracketed.
    steps_left: u32,
    /// Stop bisecting when the bracket is narrower than this fraction of its top.
    rel_tol: f64,
}

impl RateSearch {
    pub fn new(start: f64, max_rate: f64, bisect_steps: u32) -> Self {
        RateSearch {
            best: None,
            worst: None,
            next: Some(start.min(max_rate)),
            max_rate,
            min_rate: start / 1024.0,
            steps_left: bisect_steps,
            rel_tol: 0.02,
        }
    }

    /// The next rate to probe, or `None` when done.
    pub fn next(&self) -> Option<f64> {
        self.next
    }

    /// Records the result of probing `rate`.
    pub fn record(&mut self, rate: f64, pass: bool) {
        if pass {
            self.best = Some(self.best.map_or(rate, |b| b.max(rate)));
        } else {
            self.worst = Some(self.worst.map_or(rate, |w| w.min(rate)));
        }
        self.next = match (self.best, self.worst) {
            (Some(b), None) => {
                // Still passing: double, up to the cap.
                (b < self.max_rate).then(|| (b * 2.0).min(self.max_rate))
            }
            (None, Some(w)) => {
                // Nothing passed yet: halve, down to a floor.
                let r = w / 2.0;
                (r >= self.min_rate).then_some(r)
            }
            (Some(b), Some(w)) => {
                if self.steps_left == 0 || (w - b) <= self.rel_tol * w || b >= w {
                    None
                } else {
                    self.steps_left -= 1;
                    Some((b + w) / 2.0)
                }
            }
            (None, None) => None,
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(edge: f64, start: f64, max: f64, steps: u32) -> (Option<f64>, usize) {
        let mut s = RateSearch::new(start, max, steps);
        let mut probes = 0;
        while let Some(r) = s.next() {
            probes += 1;
            assert!(probes < 100, "the search must end");
            s.record(r, r <= edge);
        }
        (s.best, probes)
    }

    #[test]
    fn brackets_then_bisects() {
        let (best, probes) = run(13.0, 1.0, 1000.0, 6);
        let best = best.unwrap();
        assert!(best <= 13.0 && best > 12.0, "{best}");
        assert!(probes <= 5 + 6, "{probes}");
    }

    #[test]
    fn edge_below_start_and_above_cap() {
        let (best, _) = run(0.3, 4.0, 100.0, 5);
        let best = best.unwrap();
        assert!(best <= 0.3 && best > 0.25, "{best}");
        assert_eq!(run(1e9, 1.0, 64.0, 4).0, Some(64.0));
        assert_eq!(run(-1.0, 1.0, 64.0, 4).0, None);
    }
}
