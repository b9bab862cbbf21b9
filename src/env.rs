//! Hardware and software fingerprint embedded in every results file (`trtbench env`).
//! Reads what the OS exposes; a value it cannot read is absent, never guessed.

use serde_json::{json, Map, Value};

fn read(path: &str) -> Option<String> {
    std::fs::read_to_string(path)
        .ok()
        .map(|s| s.trim().to_owned())
}

/// `key: value` from /proc/cpuinfo's first processor block.
fn cpuinfo_field(cpuinfo: &str, key: &str) -> Option<String> {
    cpuinfo.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        (k.trim() == key).then(|| v.trim().to_owned())
    })
}

/// A `/proc/meminfo` field in bytes.
pub fn meminfo_bytes(meminfo: &str, key: &str) -> Option<u64> {
    meminfo.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        if k.trim() != key {
            return None;
        }
        let mut it = v.split_whitespace();
        let n: u64 = it.next()?.parse().ok()?;
        Some(match it.next() {
            Some("kB") => n * 1024,
            _ => n,
        })
    })
}

/// The fingerprint as JSON.
pub fn fingerprint() -> Value {
    let mut m = Map::new();
    let cpuinfo = read("/proc/cpuinfo").unwrap_or_default();
    if let Some(v) = cpuinfo_field(&cpuinfo, "model name") {
        m.insert("cpu_model".into(), json!(v));
    }
    if let Ok(n) = std::thread::available_parallelism() {
        m.insert("cpu_logical_cores".into(), json!(n.get()));
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
    }
    if let Some(g) = read("/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor") {
        m.insert("cpu_governor".into(), json!(g));
    }
    if let Some(mem) = read("/proc/meminfo") {
        if let Some(t) = meminfo_bytes(&mem, "MemTotal") {
            m.insert("ram_total_bytes".into(), json!(t));
        }
    }
    if let Some(os) = read("/etc/os-release").and_then(|s| {
        s.lines().find_map(|l| {
            l.strip_prefix("PRETTY_NAME=")
                .map(|v| v.trim_matches('"').to_owned())
        })
    }) {
        m.insert("os".into(), json!(os));
    }
    if let Some(k) = read("/proc/sys/kernel/osrelease") {
        m.insert("kernel".into(), json!(k));
    }
    if let Some(h) = read("/proc/sys/kernel/hostname") {
        m.insert("hostname".into(), json!(h));
    }
    m.insert("trtbench_version".into(), json!(env!("CARGO_PKG_VERSION")));
    if let Some(c) = option_env!("TRTBENCH_GIT_COMMIT") {
        m.insert("trtbench_git_commit".into(), json!(c));
    }
    m.insert("llama_cpp".into(), json!(crate::backends::llama::version()));
    m.insert(
        "llama_cpp_system_info".into(),
        json!(crate::backends::llama::system_info()),
    );
    m.insert(
        "features".into(),
        json!({"tensorrt": cfg!(feature = "tensorrt"), "cuda": cfg!(feature = "cuda")}),
    );
    Value::Object(m)
}

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
}
