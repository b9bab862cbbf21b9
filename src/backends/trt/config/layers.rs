//! The per-layer KV geometry of an Edge-LLM engine's `config.json`, as 0.10 reads it.

use std::path::Path;

use serde_json::Value;

use super::{opt_u32, KvLayer};
use crate::error::{Error, Result};

/// Per-layer KV geometry, following 0.10's `populateLayerTypes`
/// (`cpp/runtime/config/llmEngineConfig.cpp`): explicit `kv_layer_configs` with `layer_types`
/// (null entries are Mamba layers); else, when every `layer_types` entry is
/// `sliding_attention` or `full_attention` (Gemma 4), one layer per entry whose head dim is
/// `global_head_dim` (default `head_dim`) for `full_attention` and `head_dim` for sliding
/// ones; else uniform over `num_attention_layers` (default `num_hidden_layers`).
pub(super) fn kv_layers(
    v: &Value,
    layers: u32,
    kv_heads: u32,
    head_dim: u32,
    path: &Path,
) -> Result<Vec<KvLayer>> {
    if let Some(cfgs) = v.get("kv_layer_configs") {
        return explicit(v, cfgs, path);
    }
    let gemma_types = v.get("layer_types").and_then(Value::as_array).filter(|t| {
        !t.is_empty()
            && t.iter()
                .all(|x| matches!(x.as_str(), Some("sliding_attention" | "full_attention")))
    });
    if let Some(types) = gemma_types {
        let global = opt_u32(v, "global_head_dim", path)?.unwrap_or(head_dim);
        if global == 0 {
            return Err(Error::bad_file(
                path,
                "field `global_head_dim` must be positive",
            ));
        }
        return Ok(types
            .iter()
            .map(|t| KvLayer {
                kv_heads,
                head_dim: if t.as_str() == Some("full_attention") {
                    global
                } else {
                    head_dim
                },
            })
            .collect());
    }
    let attn = opt_u32(v, "num_attention_layers", path)?.unwrap_or(layers);
    Ok(vec![KvLayer { kv_heads, head_dim }; attn as usize])
}

/// Explicit `kv_layer_configs` with `layer_types` (null entries are Mamba layers).
fn explicit(v: &Value, cfgs: &Value, path: &Path) -> Result<Vec<KvLayer>> {
    {
        let types = v
            .get("layer_types")
            .and_then(|t| t.as_array())
            .ok_or_else(|| {
                Error::bad_file(
                    path,
                    "field `kv_layer_configs` requires an array `layer_types`",
                )
            })?;
        let cfgs = cfgs
            .as_array()
            .ok_or_else(|| Error::bad_file(path, "field `kv_layer_configs` must be an array"))?;
        if cfgs.len() != types.len() {
            return Err(Error::bad_file(
                path,
                format!(
                    "layer_types ({}) and kv_layer_configs ({}) must have equal length",
                    types.len(),
                    cfgs.len()
                ),
            ));
        }
        let mut out = Vec::new();
        for (i, (t, c)) in types.iter().zip(cfgs).enumerate() {
            match t.as_str() {
                Some("attention") => {
                    let h = c.get("num_kv_heads").and_then(Value::as_u64);
                    let d = c.get("head_dim").and_then(Value::as_u64);
                    match (h, d) {
                        (Some(h), Some(d)) if h > 0 && d > 0 => out.push(KvLayer {
                            kv_heads: h as u32,
                            head_dim: d as u32,
                        }),
                        _ => {
                            return Err(Error::bad_file(
                                path,
                                format!(
                                "kv_layer_configs[{i}] needs positive num_kv_heads and head_dim"
                            ),
                            ))
                        }
                    }
                }
                Some("mamba") => {}
                other => {
                    return Err(Error::bad_file(
                        path,
                        format!("layer_types[{i}] is {other:?} (expected attention or mamba)"),
                    ))
                }
            }
        }
        Ok(out)
    }
}
