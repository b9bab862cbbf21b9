//! Memory and power on NVIDIA Jetson (unified memory), read from text the OS exposes:
//! `/proc/meminfo`, `/proc/self/status`, `tegrastats` lines and the INA3221 power monitors
//! in sysfs. Pure parsers plus thin readers; compiled without any feature and usable on any
//! Linux machine (the readers return `None`/errors off Jetson). Depends on `error` and `env`.
//!
//! Why not `cuMemGetInfo`/NVML on Jetson: the GPU shares system RAM, NVML reports no device
//! memory there, and `cuMemGetInfo` returns roughly `MemFree`, which ignores reclaimable page
//! cache; vLLM and SGLang use `MemAvailable` when the device is integrated, and so do we.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::env::meminfo_bytes;
use crate::error::{Error, Result};

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

/// The peak resident set size of a process from its `/proc/<pid>/status` text (`VmHWM`).
/// This is the same high-water mark `getrusage(RUSAGE_SELF).ru_maxrss` reports, which
/// Edge-LLM uses as "peak unified memory" on integrated GPUs (`examples/utils/memoryMonitor`).
pub fn peak_rss_from_status(status: &str) -> Option<u64> {
    meminfo_bytes(status, "VmHWM")
}

/// This process's peak RSS in bytes.
pub fn peak_rss_bytes() -> Option<u64> {
    peak_rss_from_status(&std::fs::read_to_string("/proc/self/status").ok()?)
}

/// One power rail of a tegrastats line: current and average power (and the maximum, which
/// JetPack 7 prints as a third value).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RailPower {
    pub current_mw: f64,
    pub average_mw: f64,
    pub max_mw: Option<f64>,
}

/// What trtbench keeps of one `tegrastats` line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TegraStats {
    pub ram_used_bytes: u64,
    pub ram_total_bytes: u64,
    pub swap_used_bytes: Option<u64>,
    pub swap_total_bytes: Option<u64>,
    /// GPU load in percent; Thor prints only clocks (`GR3D_FREQ @[...]`), then `None`.
    pub gpu_load_pct: Option<f64>,
    pub gpu_freq_mhz: Option<u32>,
    /// Per-core load in percent (`None` for an offline core).
    pub cpu_load_pct: Vec<Option<f64>>,
    pub temps_c: BTreeMap<String, f64>,
    pub rails: BTreeMap<String, RailPower>,
}

fn size_bytes(num: &str, unit: &str) -> Option<u64> {
    let n: f64 = num.parse().ok()?;
    let mult = match unit {
        "kB" | "KB" | "k" => 1024.0,
        "MB" | "M" => 1024.0 * 1024.0,
        "GB" | "G" => 1024.0 * 1024.0 * 1024.0,
        "B" | "" => 1.0,
        _ => return None,
    };
    Some((n * mult).round() as u64)
}

/// Splits `4722/7844MB` into used and total bytes.
fn used_total(tok: &str) -> Option<(u64, u64)> {
    let (used, rest) = tok.split_once('/')?;
    let split = rest.find(|c: char| !c.is_ascii_digit() && c != '.')?;
    let (total, unit) = rest.split_at(split);
    Some((size_bytes(used, unit)?, size_bytes(total, unit)?))
}

/// `5139mW`, `5139` (older JetPacks print no unit) or `5.1W` to milliwatts.
fn milliwatts(s: &str) -> Option<f64> {
    if let Some(v) = s.strip_suffix("mW") {
        v.parse().ok()
    } else if let Some(v) = s.strip_suffix('W') {
        v.parse::<f64>().ok().map(|w| w * 1000.0)
    } else {
        s.parse().ok()
    }
}

impl TegraStats {
    /// Parses one line. The format follows the tegrastats lines in jetson_stats' parser and
    /// tests (`jtop/core/tegra_parse.py`, `jtop/tests/test_06_tegra_parse.py`): an optional
    /// `MM-DD-YYYY HH:MM:SS` prefix, `RAM u/tMB (lfb ...)`, `SWAP u/tMB (cached ...)`,
    /// `CPU [l%@f,...]`, `GR3D_FREQ l%@f` or `l%@[f,...]` or `@[f,...]`, temperatures
    /// `name@T C`, power rails `NAME cur/avg[/max]` with or without `mW`.
    pub fn parse(line: &str) -> Result<Self> {
        let toks: Vec<&str> = line.split_whitespace().collect();
        let bad = |why: &str| Error::bad_file("tegrastats", format!("{why} in line `{line}`"));
        let mut ram = None;
        let mut swap = None;
        let mut gpu_load_pct = None;
        let mut gpu_freq_mhz = None;
        let mut cpu_load_pct = Vec::new();
        let mut temps_c = BTreeMap::new();
        let mut rails = BTreeMap::new();
        let mut i = 0;
        while i < toks.len() {
            let t = toks[i];
            let next = toks.get(i + 1).copied();
            match t {
                "RAM" => {
                    ram = next.and_then(used_total);
                    i += 2;
                    continue;
                }
                "SWAP" => {
                    swap = next.and_then(used_total);
                    i += 2;
                    continue;
                }
                "CPU" => {
                    if let Some(list) = next.and_then(|n| n.strip_prefix('[')?.strip_suffix(']')) {
                        cpu_load_pct = list
                            .split(',')
                            .map(|c| c.split_once('%').and_then(|(l, _)| l.parse().ok()))
                            .collect();
                    }
                    i += 2;
                    continue;
                }
                "GR3D_FREQ" => {
                    if let Some(v) = next {
                        let (load, freq) = v.split_once('@').unwrap_or((v, ""));
                        gpu_load_pct = load.strip_suffix('%').and_then(|l| l.parse().ok());
                        let freq = freq.trim_start_matches('[');
                        gpu_freq_mhz = freq.split([',', ']']).next().and_then(|f| f.parse().ok());
                    }
                    i += 2;
                    continue;
                }
                _ => {}
            }
            // Temperatures: `gpu@47.625C` (JetPack 7 repeats `/47.625C`).
            if let Some((name, temp)) = t.split_once('@') {
                if let Some(c) = temp
                    .split('/')
                    .next()
                    .and_then(|c| c.strip_suffix('C'))
                    .and_then(|c| c.parse::<f64>().ok())
                {
                    if !name.is_empty()
                        && name
                            .chars()
                            .all(|ch| ch.is_ascii_alphanumeric() || ch == '_')
                    {
                        temps_c.insert(name.to_owned(), c);
                    }
                }
            }
            // Power rails: an upper-case name followed by `cur/avg[/max]`.
            if let Some(v) = next {
                let is_name = t.chars().any(|c| c.is_ascii_uppercase())
                    && t.chars()
                        .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
                let parts: Vec<&str> = v.split('/').collect();
                if is_name && (2..=3).contains(&parts.len()) {
                    let vals: Option<Vec<f64>> = parts.iter().map(|p| milliwatts(p)).collect();
                    if let Some(vals) = vals {
                        rails.insert(
                            t.to_owned(),
                            RailPower {
                                current_mw: vals[0],
                                average_mw: vals[1],
                                max_mw: vals.get(2).copied(),
                            },
                        );
                        i += 2;
                        continue;
                    }
                }
            }
            i += 1;
        }
        let (ram_used_bytes, ram_total_bytes) =
            ram.ok_or_else(|| bad("no `RAM used/totalMB` field"))?;
        Ok(TegraStats {
            ram_used_bytes,
            ram_total_bytes,
            swap_used_bytes: swap.map(|s| s.0),
            swap_total_bytes: swap.map(|s| s.1),
            gpu_load_pct,
            gpu_freq_mhz,
            cpu_load_pct,
            temps_c,
            rails,
        })
    }

    /// Board input power in mW: the `VDD_IN` (or older `POM_5V_IN`) rail when present, else
    /// the sum of all rails, as jtop does (`jtop/core/power.py`, `total_power`).
    pub fn total_power_mw(&self) -> Option<f64> {
        for total in ["VDD_IN", "POM_5V_IN"] {
            if let Some(r) = self.rails.get(total) {
                return Some(r.current_mw);
            }
        }
        if self.rails.is_empty() {
            None
        } else {
            Some(self.rails.values().map(|r| r.current_mw).sum())
        }
    }
}

/// One INA3221 channel reading.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RailReading {
    pub name: String,
    pub bus_mv: f64,
    pub current_ma: f64,
    /// mV × mA / 1000.
    pub power_mw: f64,
    /// The channel's critical current limit (`curr{n}_crit`), when exposed.
    pub crit_ma: Option<f64>,
}

fn read_num(path: &Path) -> Option<f64> {
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}

/// Reads every INA3221 channel under `sys_root` (normally `/sys`), following the kernel's
/// hwmon ABI (`Documentation/hwmon/ina3221.rst`: `in{n}_label`, `in{n}_input` in mV,
/// `curr{n}_input` in mA) and jtop's discovery (`/sys/bus/i2c/devices/*/name` = `ina3221`,
/// then `hwmon/hwmon*/`). Channels labelled `NC` or the shunt-voltage sum are skipped.
/// Returns an empty list when there is no INA3221 (not a Jetson).
pub fn read_ina3221(sys_root: &Path) -> Result<Vec<RailReading>> {
    let devices = sys_root.join("bus/i2c/devices");
    let Ok(entries) = std::fs::read_dir(&devices) else {
        return Ok(Vec::new());
    };
    let mut dev_dirs: Vec<PathBuf> = entries.filter_map(|e| e.ok()).map(|e| e.path()).collect();
    dev_dirs.sort();
    let mut out = Vec::new();
    for dev in dev_dirs {
        let name = std::fs::read_to_string(dev.join("name")).unwrap_or_default();
        if name.trim() != "ina3221" {
            continue;
        }
        let hwmon_root = dev.join("hwmon");
        let mut hwmons: Vec<PathBuf> = std::fs::read_dir(&hwmon_root)
            .map_err(|e| Error::io(&hwmon_root, e))?
            .filter_map(|e| e.ok())
            .map(|e| e.path())
            .collect();
        hwmons.sort();
        for hw in hwmons {
            for n in 1..=3 {
                let Ok(label) = std::fs::read_to_string(hw.join(format!("in{n}_label"))) else {
                    continue;
                };
                let label = label.trim();
                if label.is_empty()
                    || label == "NC"
                    || label.to_ascii_lowercase().contains("sum of shunt")
                {
                    continue;
                }
                let (Some(mv), Some(ma)) = (
                    read_num(&hw.join(format!("in{n}_input"))),
                    read_num(&hw.join(format!("curr{n}_input"))),
                ) else {
                    continue;
                };
                out.push(RailReading {
                    name: label.to_owned(),
                    bus_mv: mv,
                    current_ma: ma,
                    power_mw: mv * ma / 1000.0,
                    crit_ma: read_num(&hw.join(format!("curr{n}_crit"))),
                });
            }
        }
    }
    Ok(out)
}

/// True when this looks like a Jetson (`/etc/nv_tegra_release` exists).
pub fn is_jetson() -> bool {
    Path::new("/etc/nv_tegra_release").exists()
}

#[cfg(test)]
mod tests {
    use super::*;

    // Fixture lines below are written by hand in the formats shown by jetson_stats' parser and
    // tests (jtop/core/tegra_parse.py, jtop/tests/test_06_tegra_parse.py); numbers are made up.

    /// JetPack 7 AGX Orin form: date prefix, GR3D array with load, three-value rails, temps
    /// with a `/` repeat.
    const ORIN_JP7: &str = "07-25-2026 09:08:28 RAM 20642/62817MB (lfb 1x2MB) \
        CPU [23%@2201,10%@2201,off,14%@2201] EMC_FREQ 3%@3199 GR3D_FREQ 12%@[1300,1300] \
        NVENC0 off APE 174 cpu@52.968C/52.968C gpu@47.625C/47.625C \
        VDD_GPU_SOC 5139mW/5139mW/5200mW VDD_CPU_CV 3268mW/3268mW/3300mW VIN_SYS_5V0 5500mW/5500mW/5500mW";
    /// JetPack 5/6 Orin NX form: SWAP, plain GR3D value, two-value rails with VDD_IN total.
    const ORIN_NX_JP6: &str = "RAM 2448/15388MB (lfb 2778x4MB) SWAP 12/7694MB (cached 0MB) \
        CPU [2%@729,0%@729] EMC_FREQ 0%@2133 GR3D_FREQ 10%@1300 cpu@44.5C gpu@43.1C \
        VDD_IN 4998mW/4998mW VDD_CPU_GPU_CV 597mW/597mW VDD_SOC 1435mW/1435mW";
    /// Thor form: clocks only for the GPU, kB units for lfb.
    const THOR: &str =
        "RAM 4722/7844MB (lfb 1x512kB) EMC_FREQ 2%@1866 GR3D_FREQ @[1000,1000,1000] APE 150";
    /// Older JetPack (Xavier/Nano) form: power without the mW unit, POM_5V_IN total.
    const OLD: &str = "RAM 1500/3964MB (lfb 100x4MB) CPU [5%@1479,3%@1479] GR3D_FREQ 0%@76 \
        POM_5V_IN 2970/2970 POM_5V_GPU 40/40";

    #[test]
    fn tegrastats_orin_jp7() {
        let s = TegraStats::parse(ORIN_JP7).unwrap();
        assert_eq!(s.ram_used_bytes, 20642 << 20);
        assert_eq!(s.ram_total_bytes, 62817 << 20);
        assert_eq!(s.gpu_load_pct, Some(12.0));
        assert_eq!(s.gpu_freq_mhz, Some(1300));
        assert_eq!(
            s.cpu_load_pct,
            vec![Some(23.0), Some(10.0), None, Some(14.0)]
        );
        assert_eq!(s.temps_c["gpu"], 47.625);
        assert_eq!(s.rails["VDD_GPU_SOC"].max_mw, Some(5200.0));
        assert_eq!(s.rails.len(), 3);
        // No VDD_IN: total is the sum of the rails.
        assert_eq!(s.total_power_mw(), Some(5139.0 + 3268.0 + 5500.0));
    }

    #[test]
    fn tegrastats_other_jetpacks() {
        let s = TegraStats::parse(ORIN_NX_JP6).unwrap();
        assert_eq!(s.swap_used_bytes, Some(12 << 20));
        assert_eq!(s.gpu_load_pct, Some(10.0));
        assert_eq!(s.total_power_mw(), Some(4998.0));
        let t = TegraStats::parse(THOR).unwrap();
        assert_eq!((t.gpu_load_pct, t.gpu_freq_mhz), (None, Some(1000)));
        assert!(t.rails.is_empty() && t.total_power_mw().is_none());
        let o = TegraStats::parse(OLD).unwrap();
        assert_eq!(o.total_power_mw(), Some(2970.0));
        assert_eq!(o.rails["POM_5V_GPU"].average_mw, 40.0);
        let e = TegraStats::parse("EMC_FREQ 2%@1866")
            .unwrap_err()
            .to_string();
        assert!(e.contains("RAM"), "{e}");
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
        assert_eq!(peak_rss_from_status(status), Some(812_345 * 1024));
        // This process has one.
        assert!(peak_rss_bytes().unwrap() > 0);
    }

    #[test]
    fn ina3221_sysfs_tree() {
        // Layout from Documentation/hwmon/ina3221.rst and jtop/core/power.py: an i2c device
        // named ina3221 with hwmon/hwmonN/{in,curr}{1..3}_*. Values made up.
        let root = tempfile::tempdir().unwrap();
        let dev = root.path().join("bus/i2c/devices/1-0040");
        let hw = dev.join("hwmon/hwmon3");
        std::fs::create_dir_all(&hw).unwrap();
        std::fs::create_dir_all(root.path().join("bus/i2c/devices/0-0050")).unwrap();
        std::fs::write(root.path().join("bus/i2c/devices/0-0050/name"), "eeprom\n").unwrap();
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
        std::fs::write(hw.join("curr1_crit"), "5000\n").unwrap();
        let r = read_ina3221(root.path()).unwrap();
        assert_eq!(r.len(), 2);
        assert_eq!(r[0].name, "VDD_IN");
        assert_eq!(r[0].power_mw, 5008.0);
        assert_eq!(r[0].crit_ma, Some(5000.0));
        assert!((r[1].power_mw - 599.04).abs() < 1e-9);
        assert!(read_ina3221(&root.path().join("nope")).unwrap().is_empty());
    }
}
