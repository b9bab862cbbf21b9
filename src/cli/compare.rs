//! `trtbench compare BASE NEW`: per-metric ratios with a significance test, and a CI gate
//! (`--fail-if-slower 5%` exits 1 on a significant regression beyond 5%).

use std::path::PathBuf;

use anyhow::Context;

use crate::report::compare::{compare, render, to_json, Options, UntestablePolicy};

use super::Usage;

/// Parses a percentage: `5%` or `5` mean five percent; returns the fraction (0.05).
pub fn parse_percent(s: &str) -> Result<f64, String> {
    let t = s.trim();
    let num = t.strip_suffix('%').unwrap_or(t).trim();
    let v: f64 = num
        .parse()
        .map_err(|_| format!("`{s}` is not a percentage (e.g. 5%)"))?;
    if !(v.is_finite() && v >= 0.0) {
        return Err(format!("`{s}` must be a percentage >= 0"));
    }
    Ok(v / 100.0)
}

fn parse_alpha(s: &str) -> Result<f64, String> {
    let v: f64 = s.parse().map_err(|_| format!("`{s}` is not a number"))?;
    if !(v > 0.0 && v < 1.0) {
        return Err(format!("`{s}` must be between 0 and 1 (e.g. 0.05)"));
    }
    Ok(v)
}

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Baseline results file (or a quoted glob of fleet workers' files, merged).
    pub base: PathBuf,
    /// New results file (or a quoted glob of workers' files), compared against the baseline.
    pub new: PathBuf,
    /// Exit 1 when a figure of merit (throughput, goodput, latency, memory peak,
    /// perplexity) is significantly worse by more than this (e.g. 5%), a load level's
    /// failure rate rises, or a point of the base is missing, failed or skipped in the new
    /// file. Client diagnostics (client CPU, event-loop lag, duration) and derived figures
    /// (bandwidth, % of peak) never fail it.
    #[arg(long, value_parser = parse_percent, value_name = "PCT")]
    pub fail_if_slower: Option<f64>,
    /// What the gate does with a figure of merit it cannot test (one value per side, or
    /// too few runs for the U test to reach --alpha): `threshold` fails when it is worse
    /// by more than --fail-if-slower, `pass` never fails on it, `fail` always does (exit 1).
    #[arg(long, value_enum, default_value = "threshold", value_name = "POLICY")]
    pub untestable: Untestable,
    /// Changes smaller than this are reported as noise even when significant.
    #[arg(long, default_value = "2%", value_parser = parse_percent, value_name = "PCT")]
    pub noise: f64,
    /// Significance level of the Mann-Whitney U test.
    #[arg(long, default_value = "0.05", value_parser = parse_alpha)]
    pub alpha: f64,
    /// Compare only these metrics (repeat or comma-separate: decode_tok_per_s,ttft_ms).
    #[arg(long = "metric", value_delimiter = ',')]
    pub metrics: Vec<String>,
    /// Also write the verdicts as JSON to this file (`--out` and `-o` are the same flag).
    #[arg(long, visible_alias = "out", short = 'o', value_name = "FILE")]
    pub json: Option<PathBuf>,
}

/// `--untestable`'s values.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum Untestable {
    Threshold,
    Pass,
    Fail,
}

pub fn run(a: Args) -> anyhow::Result<()> {
    // A side may be a glob of fleet workers' files ('w*.json'): their samples are pooled.
    let load = crate::client::fleet::load_merged;
    let base = load(&a.base).with_context(|| format!("reading base {}", a.base.display()))?;
    let new = load(&a.new).with_context(|| format!("reading new {}", a.new.display()))?;
    let opts = Options {
        noise: a.noise,
        alpha: a.alpha,
        fail_if_slower: a.fail_if_slower,
        metrics: a.metrics,
        untestable: match a.untestable {
            Untestable::Threshold => UntestablePolicy::Threshold,
            Untestable::Pass => UntestablePolicy::Pass,
            Untestable::Fail => UntestablePolicy::Fail,
        },
    };
    let c = compare(&base, &new, &opts);
    if let Some(path) = &a.json {
        let bytes = serde_json::to_vec_pretty(&to_json(&c)).context("encoding the verdicts")?;
        crate::record::write_atomic(path, &bytes)
            .with_context(|| format!("--json {}", path.display()))?;
    }
    {
        use std::io::Write;
        std::io::stdout()
            .write_all(render(&c).as_bytes())
            .context("writing to stdout")?;
    }
    // No key in common at all is the wrong pair of files, not a regression.
    if c.matched_points() == 0 && c.not_comparable.is_empty() {
        // A gate that compared nothing must not pass silently.
        return Err(Usage(format!(
            "{} and {} have no finished point (and metric) in common: nothing was compared",
            a.base.display(),
            a.new.display()
        ))
        .into());
    }
    if c.failed() {
        anyhow::bail!(
            "the gate fails: {} (see the table above)",
            c.gate_failures().join("; ")
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn percentages() {
        assert_eq!(super::parse_percent("5%"), Ok(0.05));
        assert_eq!(super::parse_percent("2.5"), Ok(0.025));
        assert!(super::parse_percent("-1%").is_err());
        assert!(super::parse_percent("five").is_err());
    }
}
