//! `trtbench inspect <engine file>`: deserializes a TensorRT `.engine`/`.plan` and prints its
//! I/O tensors (dtype, shape, per-profile min/opt/max), optimization profiles and
//! execution-context memory. Needs the `tensorrt` feature and a GPU.

use std::fmt::Write as _;
use std::path::PathBuf;

use anyhow::Context;

use crate::backends::trt::{self, InspectReport};
use crate::cli::Usage;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Serialized TensorRT engine (`.engine` or `.plan`), e.g. `engines/<name>/llm.engine`.
    pub engine: PathBuf,
    /// Plugin library to load before deserializing. Defaults to the Edge-LLM plugin when the
    /// engine sits in an Edge-LLM engine directory (a `config.json` beside it).
    #[arg(long)]
    pub plugin: Option<PathBuf>,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

pub fn run(a: Args) -> anyhow::Result<()> {
    if !a.engine.is_file() {
        return Err(Usage(format!(
            "{}: no such engine file (give the path of a .engine or .plan file)",
            a.engine.display()
        ))
        .into());
    }
    let plugin = match a.plugin {
        Some(p) if !p.is_file() => {
            return Err(Usage(format!("--plugin {}: no such file", p.display())).into())
        }
        Some(p) => Some(p),
        None => a
            .engine
            .parent()
            .filter(|d| d.join(trt::config::CONFIG_FILE).is_file())
            .and_then(|_| trt::plugin_path()),
    };
    let report = trt::inspect(&a.engine, plugin.as_deref())
        .with_context(|| format!("inspecting {}", a.engine.display()))?;
    let out = if a.json {
        serde_json::to_string_pretty(&report)? + "\n"
    } else {
        render(&report)
    };
    use std::io::Write;
    std::io::stdout().write_all(out.as_bytes())?;
    Ok(())
}

fn dims(d: &[i64]) -> String {
    let parts: Vec<String> = d.iter().map(i64::to_string).collect();
    format!("[{}]", parts.join(","))
}

/// The human-readable report.
pub fn render(r: &InspectReport) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "engine      {}", r.path);
    let _ = writeln!(
        s,
        "tensorrt    {} (shim headers {})",
        r.tensorrt_library_version, r.tensorrt_header_version
    );
    let _ = writeln!(
        s,
        "layers      {}   aux streams {}   optimization profiles {}",
        r.layers, r.aux_streams, r.optimization_profiles
    );
    let per: Vec<String> = r
        .device_memory_per_profile_bytes
        .iter()
        .map(|b| crate::units::human_bytes(*b))
        .collect();
    let _ = writeln!(
        s,
        "context mem {} (per profile: {})",
        crate::units::human_bytes(r.device_memory_bytes),
        per.join(", ")
    );
    let _ = writeln!(s);
    let _ = writeln!(
        s,
        "{:<6} {:<28} {:<6} {:<18} profiles (min / opt / max)",
        "io", "name", "dtype", "shape"
    );
    for t in &r.tensors {
        let profiles: Vec<String> = t
            .profiles
            .iter()
            .enumerate()
            .map(|(i, p)| {
                format!(
                    "{i}: {} / {} / {}",
                    dims(&p.min),
                    dims(&p.opt),
                    dims(&p.max)
                )
            })
            .collect();
        let _ = writeln!(
            s,
            "{:<6} {:<28} {:<6} {:<18} {}",
            t.io,
            t.name,
            t.dtype,
            dims(&t.shape),
            profiles.join("; ")
        );
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backends::trt::{ProfileShape, TensorReport};

    #[test]
    fn renders_profiles() {
        // Hand-made report shaped like an Edge-LLM engine's bindings
        // (cpp/runtime/exec/registryBuilder.cpp): two profiles, prefill then decode.
        let r = InspectReport {
            path: "e/llm.engine".into(),
            tensorrt_library_version: "10.3.0.30".into(),
            tensorrt_header_version: "10.3.0.30".into(),
            optimization_profiles: 2,
            layers: 100,
            aux_streams: 0,
            device_memory_bytes: 64 << 20,
            device_memory_per_profile_bytes: vec![64 << 20, 1 << 20],
            tensors: vec![TensorReport {
                name: "inputs_embeds".into(),
                io: "input".into(),
                dtype: "fp16".into(),
                location: "device".into(),
                format: String::new(),
                shape: vec![-1, -1, 1024],
                profiles: vec![
                    ProfileShape {
                        min: vec![1, 1, 1024],
                        opt: vec![2, 512, 1024],
                        max: vec![4, 2048, 1024],
                    },
                    ProfileShape {
                        min: vec![1, 1, 1024],
                        opt: vec![2, 1, 1024],
                        max: vec![4, 1, 1024],
                    },
                ],
            }],
        };
        let s = render(&r);
        assert!(
            s.contains("64.0 MiB (per profile: 64.0 MiB, 1.0 MiB)"),
            "{s}"
        );
        assert!(s.contains("[-1,-1,1024]"), "{s}");
        assert!(
            s.contains("0: [1,1,1024] / [2,512,1024] / [4,2048,1024]; 1: "),
            "{s}"
        );
    }
}
