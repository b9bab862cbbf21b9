//! Device memory of an Edge-LLM session: the check that refuses a session before it
//! allocates (engine + KV pool + activations against a share of free device memory), and the
//! notes comparing what construction took with that prediction. Pure Rust, compiled without
//! the feature; the runtime feeds it the device's figures. Depends on `error` and `units`.

use std::collections::BTreeMap;

use crate::error::{Error, Result};
use crate::units::human_bytes;

/// What a session will take on the device.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Need {
    /// The engine and its weights files (`llm.engine`, `*.safetensors`).
    pub engine: u64,
    /// The whole KV pool, reserved at construction.
    pub kv: u64,
    /// A lower bound of the activation buffers (`config::activation_floor_bytes`).
    pub activations: u64,
}

impl Need {
    pub fn total(&self) -> u64 {
        self.engine + self.kv + self.activations
    }
}

/// Refuses (as `Error::Capacity`, so a sweep records the point as skipped) a session whose
/// `need` exceeds `fraction` of `free` device memory, with every figure in the reason.
pub fn check(need: &Need, free: u64, fraction: f64, device: u32) -> Result<()> {
    let budget = (free as f64 * fraction) as u64;
    if need.total() <= budget {
        return Ok(());
    }
    let hint = if fraction < 1.0 {
        "; free device memory, use a smaller engine, or raise --mem-fraction (up to 1.0) to try anyway"
    } else {
        "; free device memory or use a smaller engine (rebuild with fewer KV pages)"
    };
    Err(Error::Capacity {
        reason: format!(
            "CUDA device {device}: engine {} + KV pool {} + activations >= {} = {} exceeds \
             {:.0}% of its {} free memory ({}){hint}",
            human_bytes(need.engine),
            human_bytes(need.kv),
            human_bytes(need.activations),
            human_bytes(need.total()),
            fraction * 100.0,
            human_bytes(free),
            human_bytes(budget),
        ),
    })
}

/// Notes comparing the free-memory drop while the runtime was created with the prediction.
/// Weights + KV is a floor (activations and the CUDA context come on top), so a measured drop
/// below 90 % of it means the model of memory is wrong.
pub fn notes(need: &Need, free_before: u64, free_after: u64) -> BTreeMap<String, String> {
    let measured = free_before.saturating_sub(free_after);
    let predicted = need.engine + need.kv;
    let verdict = if (measured as f64) < 0.9 * predicted as f64 {
        format!(
            "measured {measured} bytes < 90% of the predicted minimum {predicted} (weights + KV); \
             the prediction or the measurement is wrong"
        )
    } else {
        "ok: measured >= predicted weights + KV".into()
    };
    BTreeMap::from([
        ("memory_free_before_bytes".into(), free_before.to_string()),
        ("memory_measured_bytes".into(), measured.to_string()),
        ("memory_predicted_min_bytes".into(), predicted.to_string()),
        (
            "memory_activations_min_bytes".into(),
            need.activations.to_string(),
        ),
        ("memory_check".into(), verdict),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: u64 = 1 << 20;

    #[test]
    fn refuses_beyond_the_fraction_with_the_figures() {
        let need = Need {
            engine: 600 * MIB,
            kv: 300 * MIB,
            activations: 50 * MIB,
        };
        // 950 MiB of 1000 MiB free: over 90 %, under 100 %.
        let e = check(&need, 1000 * MIB, 0.9, 1).unwrap_err();
        assert!(matches!(e, Error::Capacity { .. }), "{e:?}");
        let msg = e.to_string();
        for needle in [
            "CUDA device 1",
            "engine 600",
            "KV pool 300",
            "activations >= 50",
            "950",
            "90%",
            "1000",
            "--mem-fraction",
        ] {
            assert!(msg.contains(needle), "{needle} not in {msg}");
        }
        assert!(check(&need, 1000 * MIB, 0.96, 1).is_ok());
        let e = check(&need, 900 * MIB, 1.0, 0).unwrap_err().to_string();
        assert!(!e.contains("--mem-fraction"), "{e}");
    }

    #[test]
    fn notes_flag_a_drop_below_the_floor() {
        let need = Need {
            engine: 100,
            kv: 100,
            activations: 7,
        };
        let n = notes(&need, 1000, 790);
        assert_eq!(n["memory_measured_bytes"], "210");
        assert!(n["memory_check"].starts_with("ok"));
        let n = notes(&need, 1000, 900);
        assert!(n["memory_check"].contains("< 90%"), "{n:?}");
        assert_eq!(n["memory_activations_min_bytes"], "7");
    }
}
