//! Per-run rows of engine points as JSON Lines (`run` / `sweep --requests-out FILE.jsonl`),
//! the engine side of `load --requests-out`: one object per measured generation with its
//! point key, run index, TTFT, prefill, the ITL list, E2E and token counts, for people who
//! want the raw samples in a spreadsheet or pandas without reading the results schema.
//! Written to a temporary file beside the target and renamed over it, so a reader never
//! sees half a file. Uses `record` only.

use std::io::Write;
use std::path::Path;

use serde_json::{json, Value};

use crate::error::{Error, Result};
use crate::record::{PointKind, Results};

/// One row per measured run of every engine point of `results` (warmup runs are never
/// recorded), in point order. Quality and load points have no runs and give no rows.
pub fn rows(results: &Results) -> Vec<Value> {
    let mut out = Vec::new();
    for p in results
        .points
        .iter()
        .filter(|p| p.kind == PointKind::Engine)
    {
        for (i, r) in p.runs.iter().enumerate() {
            out.push(json!({
                "point": p.key,
                "run": i,
                "engine": p.parameters.get("engine"),
                "batch": p.parameters.get("batch"),
                "prefill_ms": r.prefill_ms,
                "ttft_ms": r.ttft_ms,
                "itl_ms": r.itl_ms,
                "tpot_ms": r.tpot_ms,
                "e2e_ms": r.e2e_ms,
                "input_tokens": r.input_tokens,
                "output_tokens": r.output_tokens,
                "peak_rss_bytes": r.peak_rss_bytes,
            }));
        }
    }
    out
}

/// Writes [`rows`] of `results` to `path` atomically; returns how many rows.
pub fn write(path: &Path, results: &Results) -> Result<usize> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let rows = rows(results);
    let io = |e: std::io::Error| Error::io(path, e);
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(io)?;
    {
        let mut w = std::io::BufWriter::new(&mut tmp);
        for r in &rows {
            writeln!(w, "{r}").map_err(io)?;
        }
        w.flush().map_err(io)?;
    }
    tmp.as_file().sync_all().map_err(io)?;
    tmp.persist(path).map_err(|e| io(e.error))?;
    Ok(rows.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::{Point, RunRecord};

    fn run(ttft: f64, itl: Vec<f64>) -> RunRecord {
        RunRecord {
            prefill_ms: ttft - 1.0,
            ttft_ms: ttft,
            e2e_ms: ttft + itl.iter().sum::<f64>(),
            tpot_ms: None,
            itl_ms: itl,
            prefill_tok_per_s: 1.0,
            decode_tok_per_s: None,
            output_tok_per_s: 1.0,
            requests_per_s: 1.0,
            output_tokens: 3,
            input_tokens: 8,
            peak_rss_bytes: None,
            spec: None,
        }
    }

    #[test]
    fn one_row_per_engine_run_written_whole() {
        let mut params = std::collections::BTreeMap::new();
        params.insert("engine".into(), json!("e"));
        params.insert("batch".into(), json!(2));
        let mut p = Point::new(PointKind::Engine, params);
        p.runs = vec![run(10.0, vec![1.0, 2.0]), run(11.0, vec![3.0, 4.0])];
        let q = Point::new(PointKind::Quality, Default::default());
        let mut results = Results::new(vec![], json!({}));
        results.points = vec![p.clone(), q];
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("runs.jsonl");
        std::fs::write(&path, "old content\n").unwrap();
        assert_eq!(write(&path, &results).unwrap(), 2);
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[1]["run"], 1);
        assert_eq!(lines[1]["point"], p.key.as_str());
        assert_eq!(lines[1]["itl_ms"], json!([3.0, 4.0]));
        assert_eq!(lines[0]["e2e_ms"], 13.0);
        assert_eq!(lines[0]["batch"], 2);
        // nothing else is left beside it
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
