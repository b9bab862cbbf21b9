//! `trtbench doctor`: can this machine run the Edge-LLM path, and what to fix. Checks the
//! binary's `tensorrt` feature, the native libraries (libnvinfer, libcudart, the Edge-LLM
//! plugin) and their versions, the device and its compute capability against the engine's,
//! free (unified) memory against what the engine reserves, and on Jetson the power mode and
//! whether clocks are locked. Every fact is read under a root directory and from a list of
//! library directories, so tests run it on fake trees. Depends on `env`, `platform`,
//! `warning`, `engine`, `cuda` (with the feature) and this backend's `config`.

use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::Value;

use super::memory;

/// `--mem-fraction`'s default for sweeps and runs: doctor checks what they would.
const DEFAULT_MEM_FRACTION: f64 = 0.9;

/// How much a finding matters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Ok,
    /// Runs, but the numbers may mislead (unlocked clocks) or a fact could not be read.
    Warn,
    /// The GPU path cannot run until this is fixed.
    Block,
}

/// One finding: what was checked, its status, and what was found or what to do.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Check {
    pub name: &'static str,
    pub status: Status,
    pub detail: String,
}

/// Everything `doctor` found.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    pub checks: Vec<Check>,
}

impl Report {
    /// True when nothing blocks the GPU path.
    pub fn ready(&self) -> bool {
        self.checks.iter().all(|c| c.status != Status::Block)
    }

    fn push(&mut self, name: &'static str, status: Status, detail: impl Into<String>) {
        self.checks.push(Check {
            name,
            status,
            detail: detail.into(),
        });
    }
}

/// What to examine.
#[derive(Debug, Clone)]
pub struct Inputs {
    /// Root of procfs/sysfs/etc (`/` on this machine).
    pub root: PathBuf,
    /// Directories searched for the libraries, in order.
    pub lib_dirs: Vec<PathBuf>,
    /// Engine directory to check the device and memory against.
    pub engine: Option<PathBuf>,
    /// Query the live device through CUDA (only with the feature, only on `/`).
    pub live: bool,
}

impl Inputs {
    /// This machine: `LD_LIBRARY_PATH`, `TENSORRT_ROOT/lib`, `CUDA_HOME/lib64`, then the
    /// places JetPack and the CUDA/TensorRT packages install to.
    pub fn this_machine(engine: Option<PathBuf>) -> Self {
        let mut lib_dirs: Vec<PathBuf> = std::env::var_os("LD_LIBRARY_PATH")
            .map(|v| std::env::split_paths(&v).collect())
            .unwrap_or_default();
        for (var, sub) in [
            ("TENSORRT_ROOT", "lib"),
            ("CUDA_HOME", "lib64"),
            ("CUDA_HOME", "lib"),
        ] {
            if let Some(v) = std::env::var_os(var) {
                lib_dirs.push(PathBuf::from(v).join(sub));
            }
        }
        lib_dirs.extend(
            [
                "/usr/lib/aarch64-linux-gnu",
                "/usr/lib/x86_64-linux-gnu",
                "/usr/local/cuda/lib64",
                "/usr/local/cuda/targets/aarch64-linux/lib",
                "/usr/local/cuda/targets/sbsa-linux/lib",
                "/usr/local/lib",
            ]
            .map(PathBuf::from),
        );
        Inputs {
            root: PathBuf::from("/"),
            lib_dirs,
            engine,
            live: true,
        }
    }
}

/// The libraries the GPU path loads: (label, file-name prefix).
const LIBRARIES: &[(&str, &str)] = &[
    ("libnvinfer (TensorRT)", "libnvinfer.so"),
    ("libcudart (CUDA runtime)", "libcudart.so"),
];
const PLUGIN: &str = "libNvInfer_edgellm_plugin.so";

/// Finds `prefix` (e.g. `libnvinfer.so`) in `dirs`: the directory and the most specific
/// version its file names carry (`libnvinfer.so.10.3.0` → `10.3.0`; empty when only the
/// unversioned name exists).
pub fn find_library(dirs: &[PathBuf], prefix: &str) -> Option<(PathBuf, String)> {
    for d in dirs {
        let Ok(rd) = std::fs::read_dir(d) else {
            continue;
        };
        let mut best: Option<(PathBuf, String)> = None;
        for e in rd.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            let Some(rest) = name.strip_prefix(prefix) else {
                continue;
            };
            let version = match rest.strip_prefix('.') {
                Some(v) if v.split('.').all(|p| p.parse::<u32>().is_ok()) => v.to_owned(),
                None if rest.is_empty() => String::new(),
                _ => continue,
            };
            if best.as_ref().is_none_or(|(_, b)| version.len() > b.len()) {
                best = Some((e.path(), version));
            }
        }
        if best.is_some() {
            return best;
        }
    }
    None
}

/// Runs every check.
pub fn doctor(inputs: &Inputs) -> Report {
    let mut r = Report { checks: Vec::new() };
    if super::COMPILED {
        r.push("tensorrt feature", Status::Ok, "compiled in");
    } else {
        r.push(
            "tensorrt feature",
            Status::Block,
            "this binary was built without it: `cargo build --release --features tensorrt` \
             (docs/gpu.md lists the SDKs it needs)",
        );
    }
    libraries(inputs, &mut r);
    let env = crate::env::fingerprint_at(&inputs.root);
    let engine = inputs.engine.as_deref();
    device(inputs, engine, &mut r);
    memory(inputs, engine, &mut r);
    jetson(&env, &mut r);
    r
}

fn libraries(inputs: &Inputs, r: &mut Report) {
    for (label, prefix) in LIBRARIES {
        match find_library(&inputs.lib_dirs, prefix) {
            Some((p, v)) => r.push(
                label,
                Status::Ok,
                format!(
                    "{} (version {} from the file name)",
                    p.display(),
                    if v.is_empty() { "unknown" } else { &v }
                ),
            ),
            None => r.push(
                label,
                Status::Block,
                format!(
                    "{prefix}* not found in {} directories searched (LD_LIBRARY_PATH, \
                     TENSORRT_ROOT/lib, CUDA_HOME/lib64, the system library dirs)",
                    inputs.lib_dirs.len()
                ),
            ),
        }
    }
    let plugin = super::plugin_path()
        .filter(|p| p.is_file())
        .or_else(|| find_library(&inputs.lib_dirs, PLUGIN).map(|(p, _)| p));
    match plugin {
        Some(p) => r.push("Edge-LLM plugin", Status::Ok, p.display().to_string()),
        None => r.push(
            "Edge-LLM plugin",
            Status::Block,
            format!(
                "{PLUGIN} not found: set TRTBENCH_EDGE_LLM_PLUGIN to its absolute path (it is \
                 in Edge-LLM's build directory)"
            ),
        ),
    }
    if let Some(v) = super::runtime_versions() {
        let linked: Vec<String> = v.iter().map(|(k, v)| format!("{k} {v}")).collect();
        r.push("linked versions", Status::Ok, linked.join(", "));
        if let Some(edge) = v.get("edge_llm") {
            r.push(
                "Edge-LLM version",
                edge_llm_version_status(edge),
                edge_llm_version_detail(edge),
            );
        }
    }
}

/// Warn for an Edge-LLM version trtbench was not checked against (0.10.x is).
fn edge_llm_version_status(version: &str) -> Status {
    if crate::warning::edge_llm_version_checked(version) {
        Status::Ok
    } else {
        Status::Warn
    }
}

fn edge_llm_version_detail(version: &str) -> String {
    if crate::warning::edge_llm_version_checked(version) {
        format!("{version} (kRUNTIME_VERSION; checked: tests/trt_double/FIDELITY.md)")
    } else {
        crate::warning::Warning::UncheckedEdgeLlmVersion {
            version: version.to_owned(),
        }
        .to_string()
    }
}

/// The compute capability an engine records (`build.settings.compute_capability`, "8.7"),
/// when trtbench built it on a machine that knew it.
fn engine_sm(engine: &Path) -> Option<String> {
    let m = crate::engine::Manifest::load(engine).ok()?;
    let v = m.build?.settings.get("compute_capability")?.clone();
    v.as_str().map(str::to_owned)
}

fn device(inputs: &Inputs, engine: Option<&Path>, r: &mut Report) {
    let found = live_device(inputs);
    let want = engine.and_then(engine_sm);
    match (&found, &want) {
        (Some((name, sm)), Some(w)) if sm != w => r.push(
            "device",
            Status::Block,
            format!(
                "CUDA device {}: {name}, compute capability {sm}, but the engine was built for \
                 {w} (sm_{}): TensorRT engines only load on the compute capability they were \
                 built for; rebuild the engine on this device (`trtbench build --backend \
                 tensorrt`) or pick the device it was built for with --device",
                super::device(),
                w.replace('.', "")
            ),
        ),
        (Some((name, sm)), _) => r.push(
            "device",
            Status::Ok,
            format!(
                "CUDA device {}: {name}, compute capability {sm}{}",
                super::device(),
                if want.is_some() {
                    " (matches the engine)"
                } else {
                    ""
                }
            ),
        ),
        (None, _) => r.push(
            "device",
            Status::Warn,
            "not queried (needs the tensorrt feature and a CUDA driver); TensorRT refuses an \
             engine built for another compute capability at load",
        ),
    }
}

#[cfg(feature = "tensorrt")]
fn live_device(inputs: &Inputs) -> Option<(String, String)> {
    if !inputs.live {
        return None;
    }
    let d = crate::cuda::Device::open(super::device() as usize).ok()?;
    let (a, b) = d.compute_capability().ok()?;
    Some((d.name().ok()?, format!("{a}.{b}")))
}

#[cfg(not(feature = "tensorrt"))]
fn live_device(_inputs: &Inputs) -> Option<(String, String)> {
    None
}

fn memory(inputs: &Inputs, engine: Option<&Path>, r: &mut Report) {
    let meminfo = crate::platform::read_at(&inputs.root, "/proc/meminfo")
        .and_then(|t| crate::platform::meminfo_bytes(&t, "MemAvailable"));
    let Some(engine) = engine else {
        if let Some(a) = meminfo {
            let what = format!("{} available (MemAvailable)", crate::units::human_bytes(a));
            r.push("memory", Status::Ok, what);
        }
        return;
    };
    let need = match super::session_need(engine) {
        Ok(n) => n,
        Err(e) => return r.push("memory", Status::Block, format!("engine: {e}")),
    };
    // On Jetson the GPU allocates system memory: MemAvailable is what the engine can get.
    // On a discrete GPU only the live device can say (with the feature).
    let device = super::device();
    let free = if crate::platform::is_jetson_at(&inputs.root) {
        meminfo.map(|a| (a, "available (unified memory)".to_owned()))
    } else if inputs.live {
        super::device_free_bytes().map(|f| (f, format!("free on CUDA device {device}")))
    } else {
        None
    };
    let Some((free, what)) = free else {
        return r.push(
            "memory",
            Status::Warn,
            format!(
                "a session needs >= {} (engine + KV pool + activations); device memory not read \
                 here (run on the GPU machine: `trtbench run` checks it when the session opens)",
                crate::units::human_bytes(need.total())
            ),
        );
    };
    // The same check, at the same default fraction, as the one a session makes.
    match memory::check(&need, free, DEFAULT_MEM_FRACTION, device) {
        Ok(()) => r.push(
            "memory",
            Status::Ok,
            format!(
                "{} {what}; a session needs >= {} (engine {} + KV pool {} + activations {})",
                crate::units::human_bytes(free),
                crate::units::human_bytes(need.total()),
                crate::units::human_bytes(need.engine),
                crate::units::human_bytes(need.kv),
                crate::units::human_bytes(need.activations),
            ),
        ),
        Err(e) => r.push(
            "memory",
            Status::Block,
            format!("{e}; or rebuild with fewer --maxKVCacheCapacity pages"),
        ),
    }
}

fn jetson(env: &Value, r: &mut Report) {
    let Some(j) = env.get("jetson") else {
        return;
    };
    let module = j.get("module").and_then(Value::as_str).unwrap_or("Jetson");
    let mode = j
        .get("power_mode")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .or_else(|| j.get("power_mode_id").map(|v| format!("mode {v}")));
    match mode {
        Some(m) => r.push(
            "power mode",
            Status::Ok,
            format!("{module}: {m} (nvpmodel)"),
        ),
        None => r.push(
            "power mode",
            Status::Warn,
            crate::warning::Warning::JetsonPowerModeUnknown.to_string(),
        ),
    }
    let gpu = j.get("gpu_clocks_locked").and_then(Value::as_bool);
    let cpu = env.get("cpu_clocks_locked").and_then(Value::as_bool);
    if gpu == Some(false) || cpu == Some(false) {
        r.push(
            "clocks",
            Status::Warn,
            crate::warning::Warning::JetsonClocksUnlocked.to_string(),
        );
    } else if gpu == Some(true) {
        r.push("clocks", Status::Ok, "locked (jetson_clocks)");
    } else {
        r.push("clocks", Status::Warn, "GPU clock limits not readable");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backends::trt::config::ENGINE_FILE;

    fn write(root: &Path, rel: &str, text: &str) {
        let p = root.join(rel.trim_start_matches('/'));
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }

    /// A fake Orin: device tree, L4T release, nvpmodel status, meminfo, GPU devfreq limits
    /// (`locked` pins min to max), one CPU with its frequency limits.
    fn orin(root: &Path, locked: bool, available_kib: u64) {
        write(
            root,
            "/proc/device-tree/model",
            "NVIDIA Jetson AGX Orin Developer Kit\0",
        );
        write(
            root,
            "/etc/nv_tegra_release",
            "# R36 (release), REVISION: 4.3\n",
        );
        write(
            root,
            "/var/lib/nvpmodel/status",
            "pmode:0000 fmode:fanNull\n",
        );
        write(
            root,
            "/proc/meminfo",
            &format!("MemTotal: 65000000 kB\nMemAvailable: {available_kib} kB\n"),
        );
        let dev = "/sys/class/devfreq/17000000.gpu";
        write(root, &format!("{dev}/max_freq"), "1300500000\n");
        write(
            root,
            &format!("{dev}/min_freq"),
            if locked {
                "1300500000\n"
            } else {
                "306000000\n"
            },
        );
        let cpu = "/sys/devices/system/cpu/cpu0/cpufreq";
        write(root, &format!("{cpu}/scaling_max_freq"), "2201600\n");
        write(
            root,
            &format!("{cpu}/scaling_min_freq"),
            if locked { "2201600\n" } else { "115200\n" },
        );
        write(root, &format!("{cpu}/scaling_governor"), "schedutil\n");
    }

    fn libs(dir: &Path) -> Vec<PathBuf> {
        for f in [
            "libnvinfer.so",
            "libnvinfer.so.10",
            "libnvinfer.so.10.3.0",
            "libcudart.so.12",
        ] {
            std::fs::write(dir.join(f), b"").unwrap();
        }
        std::fs::write(dir.join(PLUGIN), b"").unwrap();
        vec![PathBuf::from("/nonexistent"), dir.to_owned()]
    }

    fn status(r: &Report, name: &str) -> Status {
        r.checks
            .iter()
            .find(|c| c.name == name)
            .unwrap_or_else(|| panic!("{name}: {r:?}"))
            .status
    }

    #[test]
    fn edge_llm_versions_other_than_0_10_warn() {
        assert_eq!(edge_llm_version_status("0.10.0"), Status::Ok);
        assert_eq!(
            edge_llm_version_status("0.10.0+trtbench-double"),
            Status::Ok
        );
        assert_eq!(edge_llm_version_status("0.11.0"), Status::Warn);
        assert_eq!(edge_llm_version_status("0.9.1"), Status::Warn);
        assert!(edge_llm_version_detail("0.11.0").contains("not a version trtbench was checked"));
    }

    #[test]
    fn library_versions_come_from_file_names() {
        let d = tempfile::tempdir().unwrap();
        let dirs = libs(d.path());
        let (p, v) = find_library(&dirs, "libnvinfer.so").unwrap();
        assert_eq!(v, "10.3.0");
        assert!(p.ends_with("libnvinfer.so.10.3.0"));
        // `libnvinfer.so_plugin` and the like are other libraries.
        std::fs::write(d.path().join("libcudart.so.12.backup"), b"").unwrap();
        assert_eq!(find_library(&dirs, "libcudart.so").unwrap().1, "12");
        assert!(find_library(&dirs, "libnvonnxparser.so").is_none());
    }

    #[test]
    fn orin_with_unlocked_clocks_and_an_engine_too_big() {
        let root = tempfile::tempdir().unwrap();
        orin(root.path(), false, 1024);
        let d = tempfile::tempdir().unwrap();
        let engine = tempfile::tempdir().unwrap();
        std::fs::copy(
            "tests/fixtures/edgellm-double/config.json",
            engine.path().join("config.json"),
        )
        .unwrap();
        std::fs::write(engine.path().join(ENGINE_FILE), vec![0u8; 4096]).unwrap();
        let r = doctor(&Inputs {
            root: root.path().to_owned(),
            lib_dirs: libs(d.path()),
            engine: Some(engine.path().to_owned()),
            live: false,
        });
        assert_eq!(status(&r, "libnvinfer (TensorRT)"), Status::Ok);
        assert_eq!(status(&r, "Edge-LLM plugin"), Status::Ok);
        // 1 MiB available ≥ 4 KiB engine + 64 KiB KV pool.
        assert_eq!(status(&r, "memory"), Status::Ok, "{r:?}");
        assert_eq!(status(&r, "power mode"), Status::Ok);
        assert!(
            r.checks.iter().any(|c| c.detail.contains("mode 0")),
            "{r:?}"
        );
        assert_eq!(status(&r, "clocks"), Status::Warn);
        // Less memory than the engine reserves (4 KiB + 2·2·4·128·2·16·2 = 64 KiB of KV).
        orin(root.path(), true, 16);
        let r = doctor(&Inputs {
            root: root.path().to_owned(),
            lib_dirs: libs(d.path()),
            engine: Some(engine.path().to_owned()),
            live: false,
        });
        assert_eq!(status(&r, "memory"), Status::Block, "{r:?}");
        assert_eq!(status(&r, "clocks"), Status::Ok, "{r:?}");
        assert!(!r.ready());
    }

    #[test]
    fn missing_libraries_block() {
        let root = tempfile::tempdir().unwrap();
        let empty = tempfile::tempdir().unwrap();
        let r = doctor(&Inputs {
            root: root.path().to_owned(),
            lib_dirs: vec![empty.path().to_owned()],
            engine: None,
            live: false,
        });
        assert_eq!(status(&r, "libcudart (CUDA runtime)"), Status::Block);
        assert!(!r.ready());
        // Not a Jetson: no power-mode or clock findings.
        assert!(r.checks.iter().all(|c| c.name != "clocks"));
    }
}
