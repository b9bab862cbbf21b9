//! The one reader of this machine's facts: procfs and sysfs text (memory, this process's
//! resident set, Jetson detection, INA3221 power rails, RAPL counters). Every other module
//! that needs one of these facts calls here; nothing here depends on any other module of
//! the crate but `error`. Readers take a `root` where tests point them at a fake tree, and
//! return `None` (absent, never zero or guessed) for what the machine does not expose.
//!
//! Memory on NVIDIA Jetson: the GPU shares system RAM, NVML reports no device memory there
//! and `cuMemGetInfo` returns roughly `MemFree`, which ignores reclaimable page cache; vLLM
//! and SGLang use `MemAvailable` when the device is integrated, and so do we.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// `abs` (an absolute path such as `/proc/meminfo`) under `root`.
pub fn under(root: &Path, abs: &str) -> PathBuf {
    root.join(abs.trim_start_matches('/'))
}

/// A small sysfs/procfs file, trimmed of whitespace and NULs (device-tree strings end in one).
pub fn read_trim(p: &Path) -> Option<String> {
    std::fs::read_to_string(p).ok().map(|s| {
        s.trim_matches(|c: char| c.is_whitespace() || c == '\0')
            .to_owned()
    })
}

/// [`read_trim`] of `abs` under `root`.
pub fn read_at(root: &Path, abs: &str) -> Option<String> {
    read_trim(&under(root, abs))
}

/// A file holding one number.
pub fn read_num<T: std::str::FromStr>(p: &Path) -> Option<T> {
    read_trim(p)?.parse().ok()
}

/// When process `pid` started, in clock ticks since boot (`/proc/<pid>/stat` field 22):
/// with the pid it identifies a process even after the pid is reused. `None` when no such
/// process runs (or there is no procfs).
pub fn process_start_ticks(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name (which may hold spaces) start after the last ')'.
    let rest = stat.get(stat.rfind(')')? + 2..)?;
    // starttime is field 22 of the full line: the 20th after the command.
    rest.split_whitespace().nth(19)?.parse().ok()
}

/// This machine's host name (`/proc/sys/kernel/hostname`).
pub fn hostname() -> Option<String> {
    read_trim(Path::new("/proc/sys/kernel/hostname"))
}

/// The entries of a directory, sorted; empty when it cannot be read.
pub fn list_dir(p: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(p)
        .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    v.sort();
    v
}

/// A `Key:   1234 kB` field of `/proc/meminfo` or `/proc/<pid>/status`, in bytes.
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

/// The `/proc/meminfo` fields that matter for unified memory, in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemInfo {
    pub total_bytes: u64,
    pub free_bytes: u64,
    /// The kernel's estimate of memory available without swapping (includes reclaimable cache).
    pub available_bytes: u64,
    pub cached_bytes: Option<u64>,
    pub swap_total_bytes: Option<u64>,
    pub swap_free_bytes: Option<u64>,
    /// GPU/CPU shared nvmap allocations; present on Orin-class kernels, absent on Thor.
    pub nvmap_used_bytes: Option<u64>,
}

impl MemInfo {
    /// Parses `/proc/meminfo` text; `MemTotal`, `MemFree` and `MemAvailable` are required.
    pub fn parse(text: &str) -> Result<Self> {
        let req = |k: &str| {
            meminfo_bytes(text, k).ok_or_else(|| {
                Error::bad_file(
                    "/proc/meminfo",
                    format!("field `{k}` is missing or not a number"),
                )
            })
        };
        Ok(MemInfo {
            total_bytes: req("MemTotal")?,
            free_bytes: req("MemFree")?,
            available_bytes: req("MemAvailable")?,
            cached_bytes: meminfo_bytes(text, "Cached"),
            swap_total_bytes: meminfo_bytes(text, "SwapTotal"),
            swap_free_bytes: meminfo_bytes(text, "SwapFree"),
            nvmap_used_bytes: meminfo_bytes(text, "NvMapMemUsed"),
        })
    }

    /// Reads this machine's `/proc/meminfo`.
    pub fn read() -> Result<Self> {
        let text =
            std::fs::read_to_string("/proc/meminfo").map_err(|e| Error::io("/proc/meminfo", e))?;
        Self::parse(&text)
    }
}

/// Bytes of memory available for new allocations (Linux `MemAvailable`), if known.
pub fn available_memory_bytes() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/meminfo").ok()?;
    meminfo_bytes(&s, "MemAvailable")
}

/// A field of this process's `/proc/self/status` under `root`, in bytes.
pub fn self_status_bytes(root: &Path, key: &str) -> Option<u64> {
    meminfo_bytes(&read_at(root, "/proc/self/status")?, key)
}

/// This process's current resident set size.
pub fn rss_bytes() -> Option<u64> {
    self_status_bytes(Path::new("/"), "VmRSS")
}

/// This process's peak resident set size (`VmHWM`) since the last [`reset_peak_rss`] (or
/// process start). The same high-water mark `getrusage(RUSAGE_SELF).ru_maxrss` reports,
/// which Edge-LLM uses as "peak unified memory" on integrated GPUs.
pub fn peak_rss_bytes() -> Option<u64> {
    self_status_bytes(Path::new("/"), "VmHWM")
}

/// Resets the peak RSS to the current RSS by writing `5` to `/proc/self/clear_refs`
/// (proc(5), Linux >= 4.0), so each measurement gets its own peak. False when refused.
pub fn reset_peak_rss(root: &Path) -> bool {
    std::fs::write(under(root, "/proc/self/clear_refs"), b"5").is_ok()
}

/// True on an NVIDIA Jetson (L4T) board: `/etc/nv_tegra_release` or a device-tree model
/// naming a Jetson, under `root`.
pub fn is_jetson_at(root: &Path) -> bool {
    under(root, "/etc/nv_tegra_release").exists()
        || read_at(root, "/proc/device-tree/model").is_some_and(|m| m.contains("Jetson"))
}

/// The current Jetson power mode id as `nvpmodel` last set it: `pmode:NNNN` in
/// `/var/lib/nvpmodel/status` under `root` (what `nvpmodel -q` reads back).
pub fn nvpmodel_mode_at(root: &Path) -> Option<u32> {
    let text = read_at(root, "/var/lib/nvpmodel/status")?;
    text.split_whitespace()
        .find_map(|w| w.strip_prefix("pmode:"))
        .and_then(|n| n.parse().ok())
}

/// [`is_jetson_at`] on this machine.
pub fn is_jetson() -> bool {
    is_jetson_at(Path::new("/"))
}

/// Where one INA3221 channel's reading lives.
#[derive(Debug, Clone, PartialEq)]
pub enum RailSource {
    /// L4T >= 34, hwmon: bus voltage in mV and current in mA.
    Hwmon { mv: PathBuf, ma: PathBuf },
    /// Older L4T, iio: power in mW.
    Iio { mw: PathBuf },
}

/// One labelled INA3221 power rail.
#[derive(Debug, Clone, PartialEq)]
pub struct Rail {
    pub label: String,
    pub source: RailSource,
}

impl Rail {
    /// The rail's power now, in watts.
    pub fn watts(&self) -> Option<f64> {
        match &self.source {
            RailSource::Hwmon { mv, ma } => Some(read_num::<f64>(mv)? * read_num::<f64>(ma)? / 1e6),
            RailSource::Iio { mw } => read_num::<f64>(mw).map(|mw| mw / 1e3),
        }
    }
}

/// The INA3221 power monitors of a Jetson board.
#[derive(Debug, Clone, PartialEq)]
pub struct Ina3221 {
    pub rails: Vec<Rail>,
    /// Index of the rail that measures the whole module (`VDD_IN`, `POM_5V_IN`, ...).
    pub total: Option<usize>,
}

impl Ina3221 {
    /// Module power now, in watts: the module rail, else the sum of the rails.
    pub fn watts(&self) -> Option<f64> {
        match self.total {
            Some(i) => self.rails[i].watts(),
            None => self.rails.iter().map(Rail::watts).sum(),
        }
    }
}

fn is_module_rail(label: &str) -> bool {
    let l = label.to_ascii_uppercase();
    l == "VDD_IN" || l == "POM_5V_IN" || l.ends_with("_IN") && !l.contains("SHUNT")
}

/// Finds the INA3221 rails under `root` (normally `/`), following the kernel's hwmon ABI
/// (`Documentation/hwmon/ina3221.rst`: `in{n}_label`, `in{n}_input` in mV, `curr{n}_input`
/// in mA) and jtop's discovery (the `ina3221` i2c driver, or i2c devices named `ina3221`;
/// older L4T: `ina3221x` iio devices with `rail_name_N`, `in_powerN_input` in mW).
/// Channels labelled `NC` or the shunt-voltage sum are skipped. `None` off Jetson.
pub fn ina3221_at(root: &Path) -> Option<Ina3221> {
    let mut devices = list_dir(&under(root, "/sys/bus/i2c/drivers/ina3221"));
    for dev in list_dir(&under(root, "/sys/bus/i2c/devices")) {
        let named = read_trim(&dev.join("name")).is_some_and(|n| n == "ina3221");
        let seen = devices.iter().any(|d| {
            d.file_name() == dev.file_name()
                || std::fs::canonicalize(d).ok() == std::fs::canonicalize(&dev).ok()
        });
        if named && !seen {
            devices.push(dev);
        }
    }
    let mut rails = Vec::new();
    for dev in devices {
        for hw in list_dir(&dev.join("hwmon")) {
            for ch in 1..=8 {
                let Some(label) = read_trim(&hw.join(format!("in{ch}_label"))) else {
                    continue;
                };
                if label.is_empty()
                    || label == "NC"
                    || label.to_ascii_lowercase().contains("sum of shunt")
                {
                    continue;
                }
                let mv = hw.join(format!("in{ch}_input"));
                let ma = hw.join(format!("curr{ch}_input"));
                if mv.exists() && ma.exists() {
                    let source = RailSource::Hwmon { mv, ma };
                    rails.push(Rail { label, source });
                }
            }
        }
    }
    if rails.is_empty() {
        for dev in list_dir(&under(root, "/sys/bus/i2c/drivers/ina3221x")) {
            for iio in list_dir(&dev) {
                let is_iio = iio
                    .file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with("iio"));
                if !is_iio {
                    continue;
                }
                for ch in 0..8 {
                    let mw = iio.join(format!("in_power{ch}_input"));
                    if !mw.exists() {
                        continue;
                    }
                    let label = read_trim(&iio.join(format!("rail_name_{ch}")))
                        .unwrap_or_else(|| format!("channel {ch}"));
                    rails.push(Rail {
                        label,
                        source: RailSource::Iio { mw },
                    });
                }
            }
        }
    }
    if rails.is_empty() {
        return None;
    }
    let total = rails.iter().position(|r| is_module_rail(&r.label));
    Some(Ina3221 { rails, total })
}

/// Bytes of last-level cache on this machine, under `root`: the highest-level data or
/// unified cache of `cpu*/cache/index*` in sysfs (sysfs-devices-system-cpu ABI), its
/// `size` (`8192K`) times the number of distinct instances (`shared_cpu_list`), so a
/// machine with one L3 per core complex counts all of them. `None` when sysfs has none.
pub fn last_level_cache_bytes(root: &Path) -> Option<u64> {
    let mut best: Option<(u32, u64)> = None; // (level, size of one instance)
    let mut instances: Vec<(u32, String)> = Vec::new();
    for cpu in list_dir(&under(root, "/sys/devices/system/cpu")) {
        let name = cpu.file_name()?.to_string_lossy().into_owned();
        if name
            .strip_prefix("cpu")
            .is_none_or(|n| n.parse::<u32>().is_err())
        {
            continue;
        }
        for idx in list_dir(&cpu.join("cache")) {
            let Some(level) = read_num::<u32>(&idx.join("level")) else {
                continue;
            };
            if read_trim(&idx.join("type")).as_deref() == Some("Instruction") {
                continue;
            }
            let Some(size) = read_trim(&idx.join("size")).and_then(|s| cache_size(&s)) else {
                continue;
            };
            if best.is_none_or(|(l, _)| level > l) {
                best = Some((level, size));
            }
            let shared = read_trim(&idx.join("shared_cpu_list")).unwrap_or(name.clone());
            if !instances.contains(&(level, shared.clone())) {
                instances.push((level, shared));
            }
        }
    }
    let (level, size) = best?;
    let n = instances.iter().filter(|(l, _)| *l == level).count() as u64;
    Some(size * n.max(1))
}

/// A sysfs cache size: `32K`, `8192K`, `1M`, or plain bytes.
fn cache_size(s: &str) -> Option<u64> {
    let (num, mult) = match s.as_bytes().last()? {
        b'K' => (&s[..s.len() - 1], 1024),
        b'M' => (&s[..s.len() - 1], 1024 * 1024),
        b'G' => (&s[..s.len() - 1], 1024 * 1024 * 1024),
        _ => (s, 1),
    };
    num.trim().parse::<u64>().ok().map(|n| n * mult)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_meminfo_fields() {
        let s = "MemTotal:       24576000 kB\nMemAvailable:   20000000 kB\nHugePages_Total: 0\n";
        assert_eq!(meminfo_bytes(s, "MemAvailable"), Some(20_000_000 * 1024));
        assert_eq!(meminfo_bytes(s, "HugePages_Total"), Some(0));
        assert_eq!(meminfo_bytes(s, "MemFree"), None);
    }

    #[test]
    fn peak_follows_an_allocation_on_linux() {
        if !cfg!(target_os = "linux") {
            return;
        }
        // Other tests run on other threads of this process and allocate too, so each
        // attempt compares figures read around one 64 MiB allocation, and a reset has to
        // show the drop once in three attempts.
        let mut reset_dropped = false;
        for _ in 0..3 {
            assert!(reset_peak_rss(Path::new("/")));
            let big = vec![1u8; 64 << 20];
            std::hint::black_box(&big);
            let during = rss_bytes().unwrap();
            let peak = peak_rss_bytes().unwrap();
            assert!(during >= 64 << 20, "RSS {during} holds a 64 MiB buffer");
            assert!(peak >= during, "peak {peak} below the current RSS {during}");
            drop(big);
            assert!(reset_peak_rss(Path::new("/")));
            let after = peak_rss_bytes().unwrap();
            if after + (48 << 20) <= peak {
                reset_dropped = true;
                break;
            }
        }
        assert!(
            reset_dropped,
            "resetting never lowered the peak below the freed buffer"
        );
    }

    #[test]
    fn meminfo_and_status() {
        // Field layout of /proc/meminfo (proc(5)); NvMapMemUsed as Orin kernels add it
        // (jtop/core/memory.py reads it). Numbers made up.
        let text = "MemTotal:       64305200 kB\nMemFree:         1200000 kB\n\
            MemAvailable:   40100000 kB\nBuffers:           10000 kB\nCached:         38000000 kB\n\
            SwapTotal:      32152600 kB\nSwapFree:       32152600 kB\nNvMapMemUsed:    2100000 kB\n";
        let m = MemInfo::parse(text).unwrap();
        assert_eq!(m.available_bytes, 40_100_000 * 1024);
        assert_eq!(m.nvmap_used_bytes, Some(2_100_000 * 1024));
        let e = MemInfo::parse("MemTotal: 1 kB\n").unwrap_err().to_string();
        assert!(e.contains("MemFree"), "{e}");
        // /proc/<pid>/status excerpt (proc(5)).
        let status =
            "Name:\ttrtbench\nVmPeak:\t 2000000 kB\nVmHWM:\t  812345 kB\nVmRSS:\t  700000 kB\n";
        assert_eq!(meminfo_bytes(status, "VmHWM"), Some(812_345 * 1024));
        // This process has one.
        assert!(peak_rss_bytes().unwrap() > 0);
    }

    #[test]
    fn ina3221_sysfs_tree() {
        // Layout from Documentation/hwmon/ina3221.rst and jtop/core/power.py: an i2c device
        // named ina3221 with hwmon/hwmonN/{in,curr}{1..3}_*. Values made up.
        let root = tempfile::tempdir().unwrap();
        let dev = root.path().join("sys/bus/i2c/devices/1-0040");
        let hw = dev.join("hwmon/hwmon3");
        std::fs::create_dir_all(&hw).unwrap();
        let other = root.path().join("sys/bus/i2c/devices/0-0050");
        std::fs::create_dir_all(&other).unwrap();
        std::fs::write(other.join("name"), "eeprom\n").unwrap();
        std::fs::write(dev.join("name"), "ina3221\n").unwrap();
        for (n, label, mv, ma) in [
            (1, "VDD_IN", "5008", "1000"),
            (2, "VDD_CPU_GPU_CV", "4992", "120"),
            (3, "NC", "0", "0"),
        ] {
            std::fs::write(hw.join(format!("in{n}_label")), format!("{label}\n")).unwrap();
            std::fs::write(hw.join(format!("in{n}_input")), format!("{mv}\n")).unwrap();
            std::fs::write(hw.join(format!("curr{n}_input")), format!("{ma}\n")).unwrap();
        }
        let ina = ina3221_at(root.path()).unwrap();
        assert_eq!(ina.rails.len(), 2);
        assert_eq!(ina.rails[0].label, "VDD_IN");
        assert_eq!(ina.total, Some(0));
        assert_eq!(ina.watts(), Some(5.008));
        assert!((ina.rails[1].watts().unwrap() - 0.59904).abs() < 1e-9);
        assert!(ina3221_at(&root.path().join("nope")).is_none());
    }

    #[test]
    fn jetson_detection() {
        let root = tempfile::tempdir().unwrap();
        assert!(!is_jetson_at(root.path()));
        let dt = root.path().join("proc/device-tree");
        std::fs::create_dir_all(&dt).unwrap();
        std::fs::write(dt.join("model"), "NVIDIA Jetson AGX Orin Developer Kit\0").unwrap();
        assert!(is_jetson_at(root.path()));
        assert_eq!(nvpmodel_mode_at(root.path()), None);
        let nv = root.path().join("var/lib/nvpmodel");
        std::fs::create_dir_all(&nv).unwrap();
        std::fs::write(nv.join("status"), "pmode:0002 fmode:quiet\n").unwrap();
        assert_eq!(nvpmodel_mode_at(root.path()), Some(2));
    }
}
