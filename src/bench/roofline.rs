//! Percent of speed of light for each engine point: the bytes one decode step reads and
//! the FLOPs one prefill computes for this model and shape, the rates the point achieved,
//! and those rates against the machine's measured peaks ([`crate::roofline::Machine`]).
//! Writes point scalars and, above 100 %, a warning; knows no CLI or report.

use crate::engine::Engine;
use crate::record::{Point, Results};
use crate::roofline::{
    decode_bytes_per_step, mean_decode_context, pct, prefill_flops, Machine, PrefillShape,
};
use crate::warning::Warning;

/// What the formulas need to know about a model.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelFacts {
    /// Bytes of weights as loaded (llama.cpp's model size: every tensor).
    pub weights_bytes: u64,
    pub kv_bytes_per_token: f64,
    /// Parameter count, when the engine knows it.
    pub params: Option<u64>,
    pub vocab: u32,
    pub embedding: u32,
    pub layers: u32,
    pub heads: u32,
    pub head_dim: u32,
}

impl ModelFacts {
    /// The facts of an opened engine with its KV cache in `kv_dtype`.
    pub fn of(engine: &dyn Engine, kv_dtype: crate::engine::KvDtype) -> Self {
        let d = &engine.manifest().model;
        ModelFacts {
            weights_bytes: engine.weights_bytes(),
            kv_bytes_per_token: engine.kv_plan(kv_dtype).bytes_per_token(),
            params: d.params,
            vocab: d.vocab,
            embedding: d.embedding,
            layers: d.layers,
            heads: d.heads,
            head_dim: d.head_dim,
        }
    }
}

/// The machine's peaks, for the first call of a run: the figures measured before on this
/// machine (same fingerprint, [`fingerprint`]), else measured now (every core, see
/// [`crate::roofline::measure`]) and kept for later runs; recorded in the results'
/// environment as `roofline` with when they were measured. Later calls return the same
/// figures. Re-measured when `TRTBENCH_REMEASURE_PEAKS=1` or the fingerprint changes:
/// a peak re-measured per file moved the speed-of-light percentages by more than the
/// engines did (85 vs 114 GFLOP/s on one machine).
pub fn machine_once(cell: &mut Option<Machine>, results: &mut Results) -> Machine {
    if let Some(m) = cell {
        return m.clone();
    }
    let fp = fingerprint(&results.environment);
    let force = std::env::var("TRTBENCH_REMEASURE_PEAKS").is_ok_and(|v| v == "1");
    let kept = cached_peaks(&peaks_file(), &fp, force, || crate::roofline::measure(None));
    if let (Some(env), Ok(mut v)) = (
        results.environment.as_object_mut(),
        serde_json::to_value(&kept.machine),
    ) {
        if let Some(o) = v.as_object_mut() {
            o.insert("measured_unix_s".into(), kept.measured_unix_s.into());
            o.insert("fingerprint".into(), fp.clone().into());
            o.insert("reused".into(), kept.reused.into());
        }
        env.insert("roofline".into(), v);
    }
    *cell = Some(kept.machine.clone());
    kept.machine
}

/// Peaks as kept between runs.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct KeptPeaks {
    pub machine: Machine,
    pub measured_unix_s: f64,
    /// Read from the file, not measured by this run.
    #[serde(skip)]
    pub reused: bool,
}

/// What identifies a machine's peaks: CPU model, cores, SIMD, memory, kernel, host name,
/// the probe's instructions and trtbench's version (a new probe measures anew).
pub fn fingerprint(environment: &serde_json::Value) -> String {
    let field = |k: &str| environment.get(k).map_or(String::new(), |v| v.to_string());
    let parts = [
        "cpu_model",
        "cpu_logical_cores",
        "cpu_simd",
        "ram_total_bytes",
        "kernel",
        "hostname",
    ]
    .map(field);
    format!(
        "{}|{}|{}",
        parts.join("|"),
        crate::roofline::fma_isa(),
        env!("CARGO_PKG_VERSION")
    )
}

/// Where peaks are kept: `$TRTBENCH_CACHE_DIR`, else `$XDG_CACHE_HOME/trtbench`, else
/// `~/.cache/trtbench`; `machine-peaks.json` there.
pub fn peaks_file() -> std::path::PathBuf {
    let var = |k: &str| std::env::var_os(k).filter(|v| !v.is_empty());
    let dir = var("TRTBENCH_CACHE_DIR")
        .map(std::path::PathBuf::from)
        .or_else(|| var("XDG_CACHE_HOME").map(|d| std::path::PathBuf::from(d).join("trtbench")))
        .or_else(|| var("HOME").map(|h| std::path::PathBuf::from(h).join(".cache/trtbench")))
        .unwrap_or_else(|| std::env::temp_dir().join("trtbench"));
    dir.join("machine-peaks.json")
}

/// The peaks kept in `file` for `fp`, or (none kept, unreadable, or `force`) `measure()`
/// kept there for next time. A file that cannot be written costs only the reuse.
pub fn cached_peaks(
    file: &std::path::Path,
    fp: &str,
    force: bool,
    measure: impl FnOnce() -> Machine,
) -> KeptPeaks {
    let mut all: std::collections::BTreeMap<String, KeptPeaks> = std::fs::read(file)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default();
    if !force {
        if let Some(k) = all.get(fp) {
            return KeptPeaks {
                reused: true,
                ..k.clone()
            };
        }
    }
    let kept = KeptPeaks {
        machine: measure(),
        measured_unix_s: crate::record::unix_now(),
        reused: false,
    };
    all.insert(fp.to_owned(), kept.clone());
    if let Some(dir) = file.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    if let Ok(bytes) = serde_json::to_vec_pretty(&all) {
        let _ = crate::record::write_atomic(file, &bytes);
    }
    kept
}

fn param_u32(p: &Point, key: &str) -> u32 {
    p.parameters
        .get(key)
        .and_then(serde_json::Value::as_u64)
        .and_then(|v| u32::try_from(v).ok())
        .unwrap_or(0)
}

/// Adds `decode_bytes_per_step`, `decode_bw_gb_per_s`, `decode_sol_pct`,
/// `prefill_flop_per_s`, `prefill_sol_pct` and the peaks they were divided by
/// (`sol_bw_gb_per_s`, `sol_flop_per_s`) to a finished engine point, from the medians of
/// its TPOT and prefill time; a figure above 100 % also adds a warning. Figures whose
/// inputs are missing (osl 1 has no TPOT) are left out.
pub fn annotate(point: &mut Point, m: &ModelFacts, machine: &Machine) {
    let (batch, isl, osl) = (
        param_u32(point, "batch"),
        param_u32(point, "isl"),
        param_u32(point, "osl"),
    );
    let depth = param_u32(point, "depth");
    let mut put = |k: &str, v: f64| {
        point.scalars.insert(k.into(), v);
    };
    put("sol_bw_gb_per_s", machine.bandwidth_gb_per_s);
    if let Some(f) = machine.compute_flop_per_s {
        put("sol_flop_per_s", f);
    }
    let mut warnings = Vec::new();
    let bytes = decode_bytes_per_step(
        m.weights_bytes,
        m.kv_bytes_per_token,
        batch,
        mean_decode_context(depth, isl, osl),
    );
    put("decode_bytes_per_step", bytes);
    if let Some(tpot) = point.summary.get("tpot_ms").map(|s| s.p50) {
        let bw = bytes / (tpot / 1e3) / 1e9;
        point.scalars.insert("decode_bw_gb_per_s".into(), bw);
        if let Some(p) = pct(bw, machine.bandwidth_gb_per_s) {
            point.scalars.insert("decode_sol_pct".into(), p);
            if p > 100.0 {
                warnings.push(Warning::BeyondSpeedOfLight {
                    figure: "decode bandwidth".into(),
                    pct: p,
                });
            }
        }
    }
    let prefill_s = point.summary.get("prefill_ms").map(|s| s.p50 / 1e3);
    if let (Some(params), Some(t)) = (m.params, prefill_s) {
        let table = u64::from(m.vocab) * u64::from(m.embedding);
        let flops = prefill_flops(&PrefillShape {
            matmul_params: params.saturating_sub(table),
            head_params: table,
            layers: m.layers,
            heads: m.heads,
            head_dim: m.head_dim,
            depth,
            isl,
            batch,
        });
        let rate = flops / t;
        point.scalars.insert("prefill_flop_per_s".into(), rate);
        if let Some(p) = machine.compute_flop_per_s.and_then(|peak| pct(rate, peak)) {
            point.scalars.insert("prefill_sol_pct".into(), p);
            if p > 100.0 {
                warnings.push(Warning::BeyondSpeedOfLight {
                    figure: "prefill compute".into(),
                    pct: p,
                });
            }
        }
    }
    point.warnings.extend(crate::warning::sentences(&warnings));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::PointKind;
    use std::collections::BTreeMap;

    fn machine(gb: f64, flop: f64) -> Machine {
        Machine {
            bandwidth_gb_per_s: gb,
            triad_bytes: 256 << 20,
            triad_reps: 1,
            llc_bytes: None,
            threads: 2,
            compute_flop_per_s: Some(flop),
            compute_method: "test".into(),
        }
    }

    fn point(depth: Option<u32>, tpot_ms: f64, prefill_ms: f64) -> Point {
        let mut params = BTreeMap::new();
        params.insert("batch".into(), 2.into());
        params.insert("isl".into(), 8.into());
        params.insert("osl".into(), 5.into());
        if let Some(d) = depth {
            params.insert("depth".into(), d.into());
        }
        let mut p = Point::new(PointKind::Engine, params);
        for (k, v) in [("tpot_ms", tpot_ms), ("prefill_ms", prefill_ms)] {
            p.summary
                .insert(k.into(), crate::stats::summarize(&[v], "ms", None).unwrap());
        }
        p
    }

    const FACTS: ModelFacts = ModelFacts {
        weights_bytes: 1_000_000,
        kv_bytes_per_token: 1000.0,
        params: Some(1_100),
        vocab: 10,
        embedding: 10,
        layers: 1,
        heads: 1,
        head_dim: 1,
    };

    #[test]
    fn decode_and_prefill_against_the_peaks() {
        // depth 10, isl 8, osl 5: mean context 20.5; bytes 1e6 + 2 × 1000 × 20.5 = 1.041e6.
        let mut p = point(Some(10), 1.0, 2.0);
        annotate(&mut p, &FACTS, &machine(2.082, 1e9));
        let s = &p.scalars;
        assert_eq!(s["decode_bytes_per_step"], 1_041_000.0);
        assert!((s["decode_bw_gb_per_s"] - 1.041).abs() < 1e-9); // per 1 ms
        assert!((s["decode_sol_pct"] - 50.0).abs() < 1e-9);
        // dense 2 × 1000 × 8 × 2 + 2 × 100 × 2 = 32400; pairs 8·10 + 36 = 116, attention
        // 4 × 116 × 2 = 928; 33328 FLOPs in 2 ms.
        assert!((s["prefill_flop_per_s"] - 33_328.0 / 2e-3).abs() < 1e-6);
        assert!((s["prefill_sol_pct"] - 100.0 * 16_664_000.0 / 1e9).abs() < 1e-9);
        assert!(p.warnings.is_empty(), "{:?}", p.warnings);
    }

    #[test]
    fn above_the_peak_is_flagged_impossible() {
        let mut p = point(None, 0.1, 2.0);
        annotate(&mut p, &FACTS, &machine(1.0, 1e9));
        assert!(p.scalars["decode_sol_pct"] > 100.0);
        assert_eq!(p.warnings.len(), 1);
        assert!(p.warnings[0].contains("impossible"), "{:?}", p.warnings);
    }

    #[test]
    fn peaks_are_measured_once_per_machine_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("sub/machine-peaks.json");
        let calls = std::cell::Cell::new(0);
        let probe = |gb: f64| {
            calls.set(calls.get() + 1);
            Machine {
                bandwidth_gb_per_s: gb,
                triad_bytes: 1,
                triad_reps: 1,
                llc_bytes: None,
                threads: 2,
                compute_flop_per_s: Some(1e11),
                compute_method: "test".into(),
            }
        };
        let first = cached_peaks(&file, "m1", false, || probe(30.0));
        assert!(!first.reused);
        // The next run on the same machine: the same figures, not a new measurement.
        let again = cached_peaks(&file, "m1", false, || probe(33.5));
        assert!(again.reused);
        assert_eq!(again.machine.bandwidth_gb_per_s, 30.0);
        // The same measurement's time (JSON keeps it to a few ulps).
        assert!((again.measured_unix_s - first.measured_unix_s).abs() < 1e-3);
        assert_eq!(calls.get(), 1);
        // Another fingerprint, or a request: measured anew.
        assert_eq!(
            cached_peaks(&file, "m2", false, || probe(20.0))
                .machine
                .bandwidth_gb_per_s,
            20.0
        );
        let forced = cached_peaks(&file, "m1", true, || probe(33.5));
        assert!(!forced.reused && forced.machine.bandwidth_gb_per_s == 33.5);
        assert_eq!(calls.get(), 3);
        assert_eq!(
            cached_peaks(&file, "m1", false, || probe(1.0))
                .machine
                .bandwidth_gb_per_s,
            33.5
        );
        let env = serde_json::json!({"cpu_model": "X", "hostname": "h"});
        let other = serde_json::json!({"cpu_model": "Y", "hostname": "h"});
        assert_ne!(fingerprint(&env), fingerprint(&other));
    }
}
