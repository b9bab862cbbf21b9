//! Hardware and software fingerprint of the machine, embedded in every results file
//! (`trtbench env`): CPU, memory, clocks and governors, OS, GPUs, CUDA / TensorRT
//! installs, Jetson power mode and clocks. Reads what the OS exposes through `platform`;
//! a value it cannot read is absent, never guessed. Engine versions are added above it
//! (`backends::fingerprint`); the advice that goes with a fingerprint is `warning::machine`.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::{json, Map, Value};

use crate::platform::{meminfo_bytes, read_at, under};

/// `key: value` from /proc/cpuinfo's first processor block.
fn cpuinfo_field(cpuinfo: &str, key: &str) -> Option<String> {
    cpuinfo.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        (k.trim() == key).then(|| v.trim().to_owned())
    })
}

/// The fingerprint as JSON. Keys that cannot be read on this machine are absent.
pub fn fingerprint() -> Value {
    fingerprint_at(Path::new("/"))
}

/// The fingerprint, reading procfs/sysfs under `root` (tests use a fake tree). Commands
/// (`nvidia-smi`, `nvpmodel`) are only run when `root` is `/`.
pub fn fingerprint_at(root: &Path) -> Value {
    let live = root == Path::new("/");
    let mut m = Map::new();
    cpu(root, live, &mut m);
    cpufreq(root, &mut m);
    memory_and_os(root, &mut m);
    if live {
        if let Some(busy) = cpu_busy_fraction(std::time::Duration::from_millis(200)) {
            // Share of all CPUs' time spent busy while this process sat idle: other load.
            m.insert("cpu_busy_pct".into(), json!((busy * 1000.0).round() / 10.0));
        }
    }
    m.insert("trtbench_version".into(), json!(env!("CARGO_PKG_VERSION")));
    if let Some(c) = option_env!("TRTBENCH_GIT_COMMIT") {
        m.insert("trtbench_git_commit".into(), json!(c));
    }
    m.insert(
        "features".into(),
        json!({"tensorrt": cfg!(feature = "tensorrt"), "cuda": cfg!(feature = "cuda")}),
    );
    nvidia(root, live, &mut m);
    if let Some(v) = cuda_toolkit_version(root) {
        m.insert("cuda_toolkit_version".into(), json!(v));
    }
    if let Some(v) = tensorrt_version(root) {
        m.insert("tensorrt_version".into(), json!(v));
    }
    if crate::platform::is_jetson_at(root) {
        m.insert("jetson".into(), jetson(root, live));
    }
    Value::Object(m)
}

/// CPU model, core counts, SIMD flags and whether we run under a hypervisor, from
/// /proc/cpuinfo. A live run counts the cores this process may use, not the listed ones.
fn cpu(root: &Path, live: bool, m: &mut Map<String, Value>) {
    let cpuinfo = read_at(root, "/proc/cpuinfo").unwrap_or_default();
    if let Some(v) =
        cpuinfo_field(&cpuinfo, "model name").or_else(|| cpuinfo_field(&cpuinfo, "Model"))
    {
        m.insert("cpu_model".into(), json!(v));
    }
    if live {
        if let Ok(n) = std::thread::available_parallelism() {
            m.insert("cpu_logical_cores".into(), json!(n.get()));
        }
    } else {
        let n = cpuinfo
            .lines()
            .filter(|l| l.starts_with("processor"))
            .count();
        if n > 0 {
            m.insert("cpu_logical_cores".into(), json!(n));
        }
    }
    if let Some(n) = physical_cores(&cpuinfo) {
        m.insert("cpu_physical_cores".into(), json!(n));
    }
    if let Some(flags) = cpuinfo_field(&cpuinfo, "flags") {
        let simd: Vec<&str> = flags
            .split_whitespace()
            .filter(|f| {
                matches!(
                    *f,
                    "avx"
                        | "avx2"
                        | "fma"
                        | "f16c"
                        | "avx512f"
                        | "avx512_vnni"
                        | "avx_vnni"
                        | "amx_tile"
                )
            })
            .collect();
        m.insert("cpu_simd".into(), json!(simd));
        m.insert(
            "virtualized".into(),
            json!(flags.split_whitespace().any(|f| f == "hypervisor")),
        );
    } else if let Some(features) = cpuinfo_field(&cpuinfo, "Features") {
        // aarch64: the kernel's hwcap names (Documentation/arch/arm64/elf_hwcaps.rst).
        let simd: Vec<&str> = features
            .split_whitespace()
            .filter(|f| {
                matches!(
                    *f,
                    "asimd" | "asimdhp" | "asimddp" | "i8mm" | "bf16" | "sve" | "sve2" | "sme"
                )
            })
            .collect();
        m.insert("cpu_simd".into(), json!(simd));
    }
    if let Some(core) = arm_core(&cpuinfo) {
        m.insert("cpu_core".into(), json!(core));
        if !m.contains_key("cpu_model") {
            m.insert("cpu_model".into(), json!(core));
        }
    }
    let ggml = if live {
        detected_ggml_features()
    } else {
        cpuinfo_ggml_features(&cpuinfo)
    };
    if !ggml.is_empty() {
        m.insert("cpu_ggml_features".into(), json!(ggml));
    }
}

/// The Arm cores trtbench is meant for and their neighbours, by `CPU part` (MIDR part
/// number; implementer 0x41, Arm): Jetson Orin's Cortex-A78AE, Jetson Thor's
/// Neoverse-V3AE, and the server cores CI emulates.
const ARM_PARTS: &[(&str, &str)] = &[
    ("0xd0b", "Cortex-A76"),
    ("0xd0c", "Neoverse-N1"),
    ("0xd40", "Neoverse-V1"),
    ("0xd41", "Cortex-A78"),
    ("0xd42", "Cortex-A78AE"),
    ("0xd49", "Neoverse-N2"),
    ("0xd4f", "Neoverse-V2"),
    ("0xd83", "Neoverse-V3AE"),
    ("0xd84", "Neoverse-V3"),
];

/// The Arm core named by /proc/cpuinfo's `CPU implementer` and `CPU part` (first block),
/// e.g. "Cortex-A78AE"; an unknown Arm part as "Arm part 0x…"; `None` off Arm.
fn arm_core(cpuinfo: &str) -> Option<String> {
    let implementer = cpuinfo_field(cpuinfo, "CPU implementer")?;
    let part = cpuinfo_field(cpuinfo, "CPU part")?;
    if implementer != "0x41" {
        return Some(format!("implementer {implementer} part {part}"));
    }
    Some(
        ARM_PARTS
            .iter()
            .find(|(p, _)| *p == part)
            .map_or_else(|| format!("Arm part {part}"), |(_, n)| (*n).to_owned()),
    )
}

/// ggml's CPU kernel features, as llama.cpp's system info names them, and the
/// /proc/cpuinfo flag (x86 `flags`, aarch64 `Features`) a CPU needs for each: the
/// features with kernels of their own in ggml-cpu (quantized dot products, f16 vector
/// arithmetic, matrix multiply-accumulate), so a build without one the CPU has is slower
/// than the machine. ARM_FMA comes with NEON. AVX-512 and the VNNI extensions are left out:
/// on an AVX-512 EPYC the default (AVX2) build measured at 1.10x (pp512) and 1.05x (tg128)
/// of llama-bench built with `GGML_NATIVE=ON`, so a build without them is not shown to
/// understate such a machine.
pub const GGML_KERNEL_FEATURES: &[(&str, &str)] = &[
    ("avx", "AVX"),
    ("avx2", "AVX2"),
    ("fma", "FMA"),
    ("f16c", "F16C"),
    ("asimd", "NEON"),
    ("asimdhp", "FP16_VA"),
    ("asimddp", "DOTPROD"),
    ("i8mm", "MATMUL_INT8"),
    ("sve", "SVE"),
];

/// [`GGML_KERNEL_FEATURES`] the CPU of a /proc/cpuinfo text has.
pub fn cpuinfo_ggml_features(cpuinfo: &str) -> Vec<&'static str> {
    let flags = cpuinfo_field(cpuinfo, "flags")
        .or_else(|| cpuinfo_field(cpuinfo, "Features"))
        .unwrap_or_default();
    let has: Vec<&str> = flags.split_whitespace().collect();
    GGML_KERNEL_FEATURES
        .iter()
        .filter(|(flag, _)| has.contains(flag))
        .map(|(_, g)| *g)
        .collect()
}

/// [`GGML_KERNEL_FEATURES`] the CPU this process runs on has, as the CPU itself reports
/// them (cpuid on x86-64, the kernel's hwcaps on aarch64). Unlike /proc/cpuinfo this is
/// right under user-mode emulation too (qemu-user shows the host's /proc/cpuinfo).
pub fn detected_ggml_features() -> Vec<&'static str> {
    #[allow(unused_mut)] // Reason: nothing is pushed on other architectures.
    let mut v = Vec::new();
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::is_x86_feature_detected as has;
        for (on, name) in [
            (has!("avx"), "AVX"),
            (has!("avx2"), "AVX2"),
            (has!("fma"), "FMA"),
            (has!("f16c"), "F16C"),
        ] {
            if on {
                v.push(name);
            }
        }
    }
    #[cfg(target_arch = "aarch64")]
    {
        use std::arch::is_aarch64_feature_detected as has;
        for (on, name) in [
            (has!("neon"), "NEON"),
            (has!("fp16"), "FP16_VA"),
            (has!("dotprod"), "DOTPROD"),
            (has!("i8mm"), "MATMUL_INT8"),
            (has!("sve"), "SVE"),
        ] {
            if on {
                v.push(name);
            }
        }
    }
    v
}

/// The [`GGML_KERNEL_FEATURES`] a llama.cpp build was compiled with, from its system info
/// (`llama_print_system_info`: `CPU : NEON = 1 | ARM_FMA = 1 | DOTPROD = 1 | …`). ggml
/// reports these from its compile-time flags.
pub fn ggml_build_features(system_info: &str) -> Vec<&'static str> {
    let on: Vec<&str> = system_info
        .split('|')
        .filter_map(|item| {
            let (k, v) = item.rsplit_once('=')?;
            let k = k.rsplit(':').next()?.trim();
            (v.trim() == "1").then_some(k)
        })
        .collect();
    GGML_KERNEL_FEATURES
        .iter()
        .map(|(_, g)| *g)
        .filter(|g| on.contains(g))
        .collect()
}

/// RAM, OS release, kernel, hostname and load average.
fn memory_and_os(root: &Path, m: &mut Map<String, Value>) {
    if let Some(mem) = read_at(root, "/proc/meminfo") {
        if let Some(t) = meminfo_bytes(&mem, "MemTotal") {
            m.insert("ram_total_bytes".into(), json!(t));
        }
        if let Some(t) = meminfo_bytes(&mem, "MemAvailable") {
            m.insert("ram_available_bytes".into(), json!(t));
        }
    }
    if let Some(os) = read_at(root, "/etc/os-release").and_then(|s| {
        s.lines().find_map(|l| {
            l.strip_prefix("PRETTY_NAME=")
                .map(|v| v.trim_matches('"').to_owned())
        })
    }) {
        m.insert("os".into(), json!(os));
    }
    if let Some(k) = read_at(root, "/proc/sys/kernel/osrelease") {
        m.insert("kernel".into(), json!(k));
    }
    if let Some(h) = read_at(root, "/proc/sys/kernel/hostname") {
        m.insert("hostname".into(), json!(h));
    }
    if let Some(l) = read_at(root, "/proc/loadavg") {
        let v: Vec<f64> = l
            .split_whitespace()
            .take(3)
            .filter_map(|x| x.parse().ok())
            .collect();
        if v.len() == 3 {
            m.insert("loadavg".into(), json!(v));
        }
    }
}

/// NVIDIA driver version from procfs; on a live run also the GPUs and the CUDA version
/// the driver supports, from `nvidia-smi`. Nothing when the driver is not loaded.
fn nvidia(root: &Path, live: bool, m: &mut Map<String, Value>) {
    let Some(d) = read_at(root, "/proc/driver/nvidia/version") else {
        return;
    };
    if let Some(v) = d.lines().next().and_then(|l| {
        l.split_whitespace().find(|w| {
            w.chars().filter(|c| *c == '.').count() >= 1
                && w.chars().next().is_some_and(|c| c.is_ascii_digit())
        })
    }) {
        m.insert("nvidia_driver".into(), json!(v));
    }
    if live {
        if let Some(gpus) = nvidia_smi_gpus() {
            m.insert("gpus".into(), gpus);
        }
        if let Some(cuda) = nvidia_smi_cuda_version() {
            m.insert("cuda_driver_version".into(), json!(cuda));
        }
    }
}

/// Distinct (physical id, core id) pairs; `None` when cpuinfo does not say (ARM).
fn physical_cores(cpuinfo: &str) -> Option<usize> {
    let mut set = std::collections::BTreeSet::new();
    for block in cpuinfo.split("\n\n") {
        let phys = cpuinfo_field(block, "physical id");
        let core = cpuinfo_field(block, "core id");
        if let (Some(p), Some(c)) = (phys, core) {
            set.insert((p, c));
        }
    }
    (!set.is_empty()).then_some(set.len())
}

fn cpufreq(root: &Path, m: &mut Map<String, Value>) {
    let mut governors = std::collections::BTreeSet::new();
    let (mut min_khz, mut max_khz) = (None::<u64>, None::<u64>);
    let mut locked = true;
    let mut any = false;
    for cpu in 0..1024 {
        let base = format!("/sys/devices/system/cpu/cpu{cpu}/cpufreq");
        if !under(root, &base).exists() {
            if cpu > 0 && !under(root, &format!("/sys/devices/system/cpu/cpu{cpu}")).exists() {
                break;
            }
            continue;
        }
        any = true;
        if let Some(g) = read_at(root, &format!("{base}/scaling_governor")) {
            governors.insert(g);
        }
        let lo =
            read_at(root, &format!("{base}/scaling_min_freq")).and_then(|s| s.parse::<u64>().ok());
        let hi =
            read_at(root, &format!("{base}/scaling_max_freq")).and_then(|s| s.parse::<u64>().ok());
        if let (Some(lo), Some(hi)) = (lo, hi) {
            locked &= lo == hi;
            min_khz = Some(min_khz.map_or(lo, |v| v.min(lo)));
            max_khz = Some(max_khz.map_or(hi, |v| v.max(hi)));
        } else {
            locked = false;
        }
    }
    if !governors.is_empty() {
        let g: Vec<String> = governors.into_iter().collect();
        m.insert("cpu_governor".into(), json!(g.join(",")));
    }
    if let (Some(lo), Some(hi)) = (min_khz, max_khz) {
        m.insert("cpu_freq_min_mhz".into(), json!(lo / 1000));
        m.insert("cpu_freq_max_mhz".into(), json!(hi / 1000));
    }
    if any {
        m.insert(
            "cpu_clocks_locked".into(),
            json!(locked && min_khz.is_some()),
        );
    }
    if let Some(t) = read_at(root, "/sys/devices/system/cpu/intel_pstate/no_turbo") {
        m.insert("cpu_turbo".into(), json!(t == "0"));
    } else if let Some(b) = read_at(root, "/sys/devices/system/cpu/cpufreq/boost") {
        m.insert("cpu_turbo".into(), json!(b == "1"));
    }
}

/// Busy share of all CPUs over `window`, from two reads of /proc/stat (proc(5)).
pub fn cpu_busy_fraction(window: std::time::Duration) -> Option<f64> {
    fn totals() -> Option<(u64, u64)> {
        let s = std::fs::read_to_string("/proc/stat").ok()?;
        let line = s.lines().find(|l| l.starts_with("cpu "))?;
        let v: Vec<u64> = line
            .split_whitespace()
            .skip(1)
            .filter_map(|x| x.parse().ok())
            .collect();
        // user nice system idle iowait irq softirq steal (guest is inside user)
        let idle = v.get(3)? + v.get(4).copied().unwrap_or(0);
        let total: u64 = v.iter().take(8).sum();
        Some((idle, total))
    }
    let (i0, t0) = totals()?;
    std::thread::sleep(window);
    let (i1, t1) = totals()?;
    let dt = t1.checked_sub(t0)?;
    if dt == 0 {
        return None;
    }
    Some(1.0 - (i1.saturating_sub(i0)) as f64 / dt as f64)
}

fn run_cmd(cmd: &str, args: &[&str]) -> Option<String> {
    let out = std::process::Command::new(cmd)
        .args(args)
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

fn nvidia_smi_gpus() -> Option<Value> {
    let out = run_cmd(
        "nvidia-smi",
        &[
            "--query-gpu=name,driver_version,memory.total,clocks.max.sm,persistence_mode",
            "--format=csv,noheader,nounits",
        ],
    )?;
    let gpus: Vec<Value> = out
        .lines()
        .map(|l| {
            let f: Vec<&str> = l.split(',').map(str::trim).collect();
            let mut g = Map::new();
            if let Some(n) = f.first() {
                g.insert("name".into(), json!(n));
            }
            if let Some(d) = f.get(1) {
                g.insert("driver".into(), json!(d));
            }
            if let Some(mib) = f.get(2).and_then(|v| v.parse::<u64>().ok()) {
                g.insert("memory_total_bytes".into(), json!(mib * 1024 * 1024));
            }
            if let Some(mhz) = f.get(3).and_then(|v| v.parse::<u64>().ok()) {
                g.insert("sm_clock_max_mhz".into(), json!(mhz));
            }
            if let Some(p) = f.get(4) {
                g.insert("persistence_mode".into(), json!(p));
            }
            Value::Object(g)
        })
        .collect();
    (!gpus.is_empty()).then(|| json!(gpus))
}

/// "CUDA Version: 12.4" from nvidia-smi's banner: the newest CUDA the driver supports.
fn nvidia_smi_cuda_version() -> Option<String> {
    let out = run_cmd("nvidia-smi", &[])?;
    let at = out.find("CUDA Version:")?;
    out[at + "CUDA Version:".len()..]
        .split_whitespace()
        .next()
        .map(str::to_owned)
}

fn cuda_toolkit_version(root: &Path) -> Option<String> {
    let home = std::env::var("CUDA_HOME").unwrap_or_else(|_| "/usr/local/cuda".into());
    let text = read_at(root, &format!("{home}/version.json"))?;
    let v: Value = serde_json::from_str(&text).ok()?;
    v.get("cuda")?.get("version")?.as_str().map(str::to_owned)
}

/// TensorRT version from `NvInferVersion.h` (TensorRT 10 defines `TRT_MAJOR_ENTERPRISE` and
/// aliases `NV_TENSORRT_MAJOR` to it; older releases define `NV_TENSORRT_MAJOR` directly).
fn tensorrt_version(root: &Path) -> Option<String> {
    let mut dirs = Vec::new();
    if let Ok(r) = std::env::var("TENSORRT_ROOT") {
        dirs.push(format!("{r}/include"));
    }
    dirs.extend(
        [
            "/usr/include/x86_64-linux-gnu",
            "/usr/include/aarch64-linux-gnu",
            "/usr/include",
            "/usr/local/tensorrt/include",
        ]
        .map(String::from),
    );
    let text = dirs
        .iter()
        .find_map(|d| read_at(root, &format!("{d}/NvInferVersion.h")))?;
    parse_trt_version_header(&text)
}

fn parse_trt_version_header(text: &str) -> Option<String> {
    let defines: BTreeMap<&str, &str> = text
        .lines()
        .filter_map(|l| {
            let mut it = l.split_whitespace();
            (it.next()? == "#define").then_some(())?;
            Some((it.next()?, it.next()?))
        })
        .collect();
    let resolve = |name: &str| -> Option<u64> {
        let mut v = *defines.get(name)?;
        for _ in 0..4 {
            if let Ok(n) = v.parse() {
                return Some(n);
            }
            v = defines.get(v)?;
        }
        None
    };
    let major = resolve("NV_TENSORRT_MAJOR")?;
    let minor = resolve("NV_TENSORRT_MINOR")?;
    let patch = resolve("NV_TENSORRT_PATCH").unwrap_or(0);
    Some(format!("{major}.{minor}.{patch}"))
}

/// `# R36 (release), REVISION: 3.0, ...` → `36.3.0`.
fn parse_l4t_release(text: &str) -> Option<String> {
    let first = text.lines().next()?;
    let major = first
        .trim_start_matches('#')
        .trim()
        .strip_prefix('R')?
        .split_whitespace()
        .next()?;
    let rev = first.split("REVISION:").nth(1)?.split(',').next()?.trim();
    Some(format!("{major}.{rev}"))
}

fn jetson(root: &Path, live: bool) -> Value {
    let mut j = Map::new();
    if let Some(model) = read_at(root, "/proc/device-tree/model") {
        j.insert("module".into(), json!(model));
    }
    if let Some(r) = read_at(root, "/etc/nv_tegra_release").and_then(|t| parse_l4t_release(&t)) {
        j.insert("l4t_release".into(), json!(r));
    }
    if live {
        // `nvpmodel -q` prints "NV Power Mode: MAXN" then the mode number.
        if let Some(out) = run_cmd("nvpmodel", &["-q"]) {
            if let Some(mode) = out
                .lines()
                .find_map(|l| l.strip_prefix("NV Power Mode:"))
                .map(str::trim)
            {
                j.insert("power_mode".into(), json!(mode));
            }
        }
    }
    // The mode id nvpmodel last set (readable without running it, and on fake trees).
    if let Some(id) = crate::platform::nvpmodel_mode_at(root) {
        j.insert("power_mode_id".into(), json!(id));
    }
    // jetson_clocks pins every clock's minimum to its maximum; check the GPU's devfreq
    // node (the CPU is checked by cpu_clocks_locked).
    let mut gpu_locked = None;
    if let Ok(rd) = std::fs::read_dir(under(root, "/sys/class/devfreq")) {
        for e in rd.flatten() {
            let name = e.file_name().to_string_lossy().to_string();
            if ["gpu", "gv11b", "ga10b", "gp10b", "gb10b"]
                .iter()
                .any(|k| name.contains(k))
            {
                let lo = std::fs::read_to_string(e.path().join("min_freq")).ok();
                let hi = std::fs::read_to_string(e.path().join("max_freq")).ok();
                if let (Some(lo), Some(hi)) = (lo, hi) {
                    gpu_locked = Some(gpu_locked.unwrap_or(true) && lo.trim() == hi.trim());
                }
            }
        }
    }
    if let Some(g) = gpu_locked {
        j.insert("gpu_clocks_locked".into(), json!(g));
    }
    Value::Object(j)
}

// ---------------------------------------------------------------------------------------
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_meminfo() {
        let s = "MemTotal:       24576000 kB\nMemAvailable:   20000000 kB\nHugePages_Total: 0\n";
        assert_eq!(meminfo_bytes(s, "MemAvailable"), Some(20_000_000 * 1024));
        assert_eq!(meminfo_bytes(s, "HugePages_Total"), Some(0));
        assert_eq!(meminfo_bytes(s, "Nope"), None);
    }

    #[test]
    fn parses_versions() {
        assert_eq!(
            parse_l4t_release("# R36 (release), REVISION: 3.0, GCID: 36191598, BOARD: generic")
                .as_deref(),
            Some("36.3.0")
        );
        let trt10 = "#define TRT_MAJOR_ENTERPRISE 10\n#define TRT_MINOR_ENTERPRISE 3\n\
                     #define TRT_PATCH_ENTERPRISE 0\n#define NV_TENSORRT_MAJOR TRT_MAJOR_ENTERPRISE\n\
                     #define NV_TENSORRT_MINOR TRT_MINOR_ENTERPRISE\n#define NV_TENSORRT_PATCH TRT_PATCH_ENTERPRISE\n";
        assert_eq!(parse_trt_version_header(trt10).as_deref(), Some("10.3.0"));
        let trt8 = "#define NV_TENSORRT_MAJOR 8 //!< major\n#define NV_TENSORRT_MINOR 6\n#define NV_TENSORRT_PATCH 2\n";
        assert_eq!(parse_trt_version_header(trt8).as_deref(), Some("8.6.2"));
    }

    fn write(root: &Path, rel: &str, content: &str) {
        let p = under(root, rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, content).unwrap();
    }

    #[test]
    fn fake_jetson_with_unlocked_clocks_and_powersave() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        write(
            root,
            "/proc/cpuinfo",
            "processor : 0\nModel : NVIDIA Jetson Orin Nano\n\nprocessor : 1\n",
        );
        write(
            root,
            "/etc/nv_tegra_release",
            "# R35 (release), REVISION: 4.1, GCID: 1\n",
        );
        write(
            root,
            "/proc/device-tree/model",
            "NVIDIA Jetson Orin Nano Developer Kit\0",
        );
        for cpu in 0..2 {
            let b = format!("/sys/devices/system/cpu/cpu{cpu}/cpufreq");
            write(root, &format!("{b}/scaling_governor"), "schedutil\n");
            write(root, &format!("{b}/scaling_min_freq"), "115200\n");
            write(root, &format!("{b}/scaling_max_freq"), "1510400\n");
        }
        write(
            root,
            "/sys/class/devfreq/17000000.ga10b/min_freq",
            "306000000\n",
        );
        write(
            root,
            "/sys/class/devfreq/17000000.ga10b/max_freq",
            "624750000\n",
        );
        write(root, "/proc/loadavg", "1.90 0.50 0.20 2/100 123\n");
        let env = fingerprint_at(root);
        assert_eq!(env["cpu_logical_cores"], 2);
        assert_eq!(env["cpu_governor"], "schedutil");
        assert_eq!(env["cpu_freq_max_mhz"], 1510);
        assert_eq!(env["cpu_clocks_locked"], false);
        assert_eq!(env["jetson"]["l4t_release"], "35.4.1");
        assert_eq!(
            env["jetson"]["module"],
            "NVIDIA Jetson Orin Nano Developer Kit"
        );
        assert_eq!(env["jetson"]["gpu_clocks_locked"], false);
        assert!(
            env.get("gpus").is_none(),
            "no GPU keys on a machine without the driver"
        );
        // The advice for such a machine is tested in `warning`.
        assert_eq!(env["loadavg"][0], 1.9);
    }

    #[test]
    fn aarch64_cpuinfo_of_orin_and_thor() {
        let orin = include_str!("../tests/fixtures/aarch64/orin-cpuinfo.txt");
        let thor = include_str!("../tests/fixtures/aarch64/thor-cpuinfo.txt");
        assert_eq!(
            cpuinfo_ggml_features(orin),
            ["NEON", "FP16_VA", "DOTPROD"],
            "Cortex-A78AE: Armv8.2-A with dotprod and fp16, no i8mm or SVE"
        );
        assert_eq!(
            cpuinfo_ggml_features(thor),
            ["NEON", "FP16_VA", "DOTPROD", "MATMUL_INT8", "SVE"]
        );
        assert_eq!(arm_core(orin).as_deref(), Some("Cortex-A78AE"));
        assert_eq!(arm_core(thor).as_deref(), Some("Neoverse-V3AE"));
        assert_eq!(arm_core("flags : avx\n"), None);
        assert_eq!(
            arm_core("CPU implementer : 0x41\nCPU part : 0xfff\n").as_deref(),
            Some("Arm part 0xfff")
        );

        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "/proc/cpuinfo", orin);
        write(
            dir.path(),
            "/proc/device-tree/model",
            "NVIDIA Jetson AGX Orin Developer Kit\0",
        );
        let env = fingerprint_at(dir.path());
        assert_eq!(env["cpu_core"], "Cortex-A78AE");
        // The kernel's own (generic) model name is kept; the core is beside it.
        assert_eq!(env["cpu_model"], "ARMv8 Processor rev 1 (v8l)");
        assert_eq!(env["cpu_logical_cores"], 2);
        assert_eq!(env["cpu_simd"], json!(["asimd", "asimdhp", "asimddp"]));
        assert_eq!(
            env["cpu_ggml_features"],
            json!(["NEON", "FP16_VA", "DOTPROD"])
        );
        assert!(
            env.get("virtualized").is_none(),
            "no hypervisor flag on Arm"
        );
        assert!(
            env.get("jetson").is_some(),
            "device-tree model names a Jetson"
        );
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "/proc/cpuinfo", thor);
        let env = fingerprint_at(dir.path());
        assert_eq!(env["cpu_model"], "Neoverse-V3AE");
        assert_eq!(
            env["cpu_simd"],
            json!(["asimd", "asimdhp", "asimddp", "sve", "sve2", "i8mm", "bf16"])
        );
    }

    #[test]
    fn build_features_from_llama_cpp_system_info() {
        // x86-64, this repository's default build on an AVX2 machine.
        let x86 = "CPU : SSE3 = 1 | SSSE3 = 1 | AVX = 1 | AVX2 = 1 | F16C = 1 | FMA = 1 | \
                   BMI2 = 1 | LLAMAFILE = 1 | OPENMP = 1 | REPACK = 1 | ";
        assert_eq!(ggml_build_features(x86), ["AVX", "AVX2", "FMA", "F16C"]);
        let sve = "CPU : NEON = 1 | ARM_FMA = 1 | FP16_VA = 1 | MATMUL_INT8 = 1 | SVE = 1 | \
                   DOTPROD = 1 | SVE_CNT = 16 | OPENMP = 1 | ";
        assert_eq!(
            ggml_build_features(sve),
            ["NEON", "FP16_VA", "DOTPROD", "MATMUL_INT8", "SVE"]
        );
        assert!(ggml_build_features("").is_empty());
        // The live CPU: whatever it is, it reports its architecture's baseline.
        let live = detected_ggml_features();
        if cfg!(target_arch = "aarch64") {
            assert!(live.contains(&"NEON"), "{live:?}");
        }
    }
}
