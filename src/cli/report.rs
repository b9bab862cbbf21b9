//! `trtbench report`: re-renders one or more results files (shards, devices) as Markdown,
//! CSV, HTML and PNG charts without re-running anything.

use std::path::{Path, PathBuf};

use anyhow::Context;

use crate::record::{write_atomic, Results};
use crate::report::{chart, csv, html, markdown, Report};

use super::compare::parse_percent;
use super::Usage;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Results files to render; several files (shards of one sweep, or runs on several
    /// devices) are merged into one report.
    #[arg(required = true, value_name = "RESULTS.json")]
    pub files: Vec<PathBuf>,
    /// Write PREFIX.md (Markdown tables). Without any format flag, Markdown goes to stdout.
    #[arg(long)]
    pub md: bool,
    /// Write PREFIX.csv (one row per point).
    #[arg(long)]
    pub csv: bool,
    /// Write PREFIX.html (one self-contained file with SVG charts).
    #[arg(long)]
    pub html: bool,
    /// Write the same charts as PNG files into PREFIX-charts/.
    #[arg(long)]
    pub png: bool,
    /// Output path prefix [default: the input path without `.json`, or `trtbench-report`
    /// when merging several files].
    #[arg(short, long, value_name = "PREFIX")]
    pub out: Option<PathBuf>,
    /// Mark a p50/p99 figure as noisy when its 95% confidence interval is wider than
    /// ±this much of the figure.
    #[arg(long, default_value = "5%", value_parser = parse_percent, value_name = "PCT")]
    pub max_ci: f64,
}

fn with_suffix(prefix: &Path, suffix: &str) -> PathBuf {
    let mut s = prefix.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

/// Loads and merges the files named on the command line.
pub fn load_all(files: &[PathBuf]) -> anyhow::Result<Report> {
    let mut inputs = Vec::new();
    for f in files {
        let r =
            Results::load(f).with_context(|| format!("reading results file {}", f.display()))?;
        inputs.push((f.display().to_string(), r));
    }
    // Workers of one load level (`load --shard i/n`) pool their raw samples first.
    Ok(Report::merge(crate::client::fleet::merge_workers(inputs)))
}

pub fn run(a: Args) -> anyhow::Result<()> {
    let mut report = load_all(&a.files)?;
    report.max_ci = a.max_ci;
    if !(a.md || a.csv || a.html || a.png) {
        use std::io::Write;
        std::io::stdout()
            .write_all(markdown::render(&report).as_bytes())
            .context("writing to stdout")?;
        return Ok(());
    }
    let prefix = match &a.out {
        Some(p) => p.clone(),
        None if a.files.len() == 1 => a.files[0].with_extension(""),
        None => PathBuf::from("trtbench-report"),
    };
    let mut written = Vec::new();
    let mut put = |suffix: &str, bytes: &[u8]| -> anyhow::Result<()> {
        let path = with_suffix(&prefix, suffix);
        write_atomic(&path, bytes).with_context(|| format!("writing {}", path.display()))?;
        written.push(path);
        Ok(())
    };
    if a.md {
        put(".md", markdown::render(&report).as_bytes())?;
    }
    if a.csv {
        put(".csv", csv::render(&report).as_bytes())?;
    }
    if a.html {
        if let Err(e) = chart::ensure_font() {
            eprintln!("warning: the HTML report will have no charts: {e}");
        }
        put(".html", html::render(&report).as_bytes())?;
    }
    if a.png {
        chart::ensure_font().map_err(|e| Usage(format!("--png: {e}")))?;
        let dir = with_suffix(&prefix, "-charts");
        for c in chart::charts(&report) {
            let path = dir.join(format!("{}.png", c.id));
            chart::png(&c, &path).with_context(|| format!("drawing {}", path.display()))?;
            written.push(path);
        }
    }
    for p in written {
        eprintln!("wrote {}", p.display());
    }
    Ok(())
}
