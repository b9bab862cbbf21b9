//! `trtbench import`: results of llama-bench, `vllm bench serve --save-result` and AIPerf
//! (per-record JSONL or aggregate JSON) and MLPerf LoadGen's logs as a trtbench results file, for `report` and
//! `compare`.

use std::path::PathBuf;

use anyhow::Context as _;

use crate::record::Results;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Peer results files: llama-bench `-o json`, `vllm bench serve --save-result` JSON,
    /// AIPerf `profile_export.jsonl` (per record) or `profile_export_aiperf.json`, or
    /// MLPerf LoadGen's logs (a directory holding `mlperf_log_detail.txt` and
    /// `mlperf_log_summary.txt`, or either file).
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// trtbench results file to write (points are added to it when it exists).
    #[arg(long, short)]
    pub out: PathBuf,
}

pub fn run(a: Args) -> anyhow::Result<()> {
    let mut results = if a.out.is_file() {
        Results::load(&a.out).with_context(|| format!("--out {}", a.out.display()))?
    } else {
        Results::new(
            std::env::args().collect(),
            serde_json::json!({"imported": true}),
        )
    };
    for f in &a.files {
        let got = crate::import::import(f)?;
        let lacks = got
            .points
            .first()
            .and_then(|p| p.notes.get("lacks").cloned())
            .unwrap_or_default();
        eprintln!(
            "{}: {}, {} point(s); lacks {lacks}",
            f.display(),
            got.format.as_str(),
            got.points.len()
        );
        for p in got.points {
            results.upsert(p);
        }
    }
    results.save(&a.out)?;
    println!("wrote {}", a.out.display());
    Ok(())
}
