//! Background memory and power sampler: a thread that, every `interval` (default 50 ms),
//! records this process's RSS, device memory and board/package power where the platform
//! exposes them, giving each sweep point a timeline, peaks, and energy. A source the
//! machine does not have is recorded as absent (`None`), never as zero. Depends on
//! `record` only; reads Linux procfs/sysfs and, on discrete NVIDIA GPUs, `nvidia-smi`.
//!
//! Sources, in the order tried:
//! - RSS: `VmRSS` in `/proc/self/status`. The kernel's high-water mark `VmHWM` is reset at
//!   start (`echo 5 > /proc/self/clear_refs`, Linux ≥ 4.0, proc(5)) and read at stop, so a
//!   peak shorter than the interval is not missed.
//! - Device memory: on a discrete GPU (`/proc/driver/nvidia/version` present) NVML through
//!   `nvidia-smi --query-gpu=... -lms N`, one long-lived child streaming CSV (no FFI, no
//!   `unsafe` here); this is device-wide, not per process. On Jetson, whose GPU shares DRAM
//!   with the CPU, `NvMapMemUsed` from `/proc/meminfo` when the L4T kernel reports it,
//!   else system RAM in use (`MemTotal − MemAvailable`).
//! - Power: Jetson INA3221 rails in sysfs (hwmon `in*_input` mV × `curr*_input` mA on
//!   L4T ≥ 34, iio `in_power*_input` mW on older releases; the `*_IN` rail is the whole
//!   module, otherwise rails are summed); NVML `power.draw`; Intel/AMD RAPL package
//!   counters in `/sys/class/powercap/intel-rapl:*` (root-only since CVE-2020-8694).
//!   All of these measure the board or package, idle draw included, not this process.

use std::collections::BTreeMap;
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::platform::{list_dir, meminfo_bytes, read_num, read_trim, under, Ina3221};
use crate::record::{MemorySample, Point};

/// Default sampling interval (`--sample-ms`).
pub const DEFAULT_INTERVAL: Duration = Duration::from_millis(50);

/// A running sampler. Dropping it without [`Monitor::stop`] stops the thread too.
pub struct Monitor {
    stop_tx: Option<mpsc::Sender<()>>,
    thread: Option<JoinHandle<MonitorReport>>,
}

/// What the sampler saw between start and stop.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MonitorReport {
    pub timeline: Vec<MemorySample>,
    pub peak_rss_bytes: Option<u64>,
    pub peak_device_bytes: Option<u64>,
    /// Energy over the sampled window, when a power source exists.
    pub energy_j: Option<f64>,
    pub mean_power_w: Option<f64>,
    /// Which source fed each series (`None` = absent on this machine).
    pub rss_source: Option<String>,
    pub device_source: Option<String>,
    pub power_source: Option<String>,
}

impl MonitorReport {
    /// Writes the timeline and peaks into `point.memory`, and `energy_j`, `mean_power_w`,
    /// `tok_per_j`, `j_per_tok` into `point.scalars` when power was measured. Absent
    /// sources leave their fields absent.
    pub fn apply(&self, point: &mut Point, output_tokens: u64) {
        point.memory.timeline = self.timeline.clone();
        if self.peak_rss_bytes.is_some() {
            point.memory.peak_rss_bytes = self.peak_rss_bytes;
        }
        if self.peak_device_bytes.is_some() {
            point.memory.peak_device_bytes = self.peak_device_bytes;
        }
        if let Some(e) = self.energy_j {
            point.scalars.insert("energy_j".into(), e);
            if e > 0.0 && output_tokens > 0 {
                point
                    .scalars
                    .insert("tok_per_j".into(), output_tokens as f64 / e);
                point
                    .scalars
                    .insert("j_per_tok".into(), e / output_tokens as f64);
            }
        }
        if let Some(p) = self.mean_power_w {
            point.scalars.insert("mean_power_w".into(), p);
        }
    }
}

impl Monitor {
    /// Starts sampling on a background thread. Never fails: sources that cannot be read
    /// are simply absent from the report.
    pub fn start(interval: Duration) -> Monitor {
        Monitor::start_at(interval, PathBuf::from("/"))
    }

    /// As [`Monitor::start`], reading sysfs/procfs under `root` (tests point it at a fake tree).
    pub fn start_at(interval: Duration, root: PathBuf) -> Monitor {
        let interval = interval.max(Duration::from_millis(1));
        let (tx, rx) = mpsc::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("trtbench-sampler".into())
            .spawn(move || run(interval, &root, rx))
            .ok();
        Monitor {
            stop_tx: Some(tx),
            thread,
        }
    }

    /// Stops the thread (it takes one last sample) and returns what it recorded.
    pub fn stop(mut self) -> MonitorReport {
        self.finish()
    }

    fn finish(&mut self) -> MonitorReport {
        if let Some(tx) = self.stop_tx.take() {
            let _ = tx.send(());
        }
        self.thread
            .take()
            .and_then(|t| t.join().ok())
            .unwrap_or_default()
    }
}

impl Drop for Monitor {
    fn drop(&mut self) {
        let _ = self.finish();
    }
}

fn run(interval: Duration, root: &Path, rx: mpsc::Receiver<()>) -> MonitorReport {
    let mut sources = Sources::discover(root, interval);
    let t0 = Instant::now();
    let mut timeline = Vec::new();
    let mut energy_counter_j = 0.0;
    let mut tick = 0u32;
    loop {
        let t_s = t0.elapsed().as_secs_f64();
        let (sample, counted_j) = sources.sample(t_s);
        energy_counter_j += counted_j.unwrap_or(0.0);
        timeline.push(sample);
        tick += 1;
        let next = interval * tick;
        let wait = next.saturating_sub(t0.elapsed());
        match rx.recv_timeout(wait) {
            Err(RecvTimeoutError::Timeout) => continue,
            // Stop requested (or the handle was dropped): take one last sample and leave.
            _ => {
                let t_s = t0.elapsed().as_secs_f64();
                let (sample, counted_j) = sources.sample(t_s);
                energy_counter_j += counted_j.unwrap_or(0.0);
                timeline.push(sample);
                break;
            }
        }
    }
    let hwm = sources.rss_hwm();
    sources.close();

    let peak_rss_bytes = timeline.iter().filter_map(|s| s.rss_bytes).chain(hwm).max();
    let peak_device_bytes = timeline.iter().filter_map(|s| s.device_bytes).max();
    let duration = timeline.last().map(|s| s.t_s).unwrap_or(0.0)
        - timeline.first().map(|s| s.t_s).unwrap_or(0.0);
    let energy_j = if sources.power_is_counter() {
        Some(energy_counter_j)
    } else {
        integrate_power(&timeline)
    };
    let mean_power_w = match energy_j {
        Some(e) if duration > 0.0 => Some(e / duration),
        _ => None,
    };
    MonitorReport {
        timeline,
        peak_rss_bytes,
        peak_device_bytes,
        energy_j,
        mean_power_w,
        rss_source: sources.rss_label(),
        device_source: sources.device_label(),
        power_source: sources.power_label(),
    }
}

/// Trapezoidal integral of power over time, over consecutive samples that both have power.
/// `None` when fewer than two samples carry power.
pub fn integrate_power(timeline: &[MemorySample]) -> Option<f64> {
    let mut total = 0.0;
    let mut pairs = 0;
    for w in timeline.windows(2) {
        if let (Some(a), Some(b)) = (w[0].power_w, w[1].power_w) {
            total += (w[1].t_s - w[0].t_s) * (a + b) / 2.0;
            pairs += 1;
        }
    }
    (pairs > 0).then_some(total)
}

// ---------------------------------------------------------------------------------------
// Sources

struct Sources {
    root: PathBuf,
    rss: bool,
    hwm_reset: bool,
    device: Option<Device>,
    power: Option<Power>,
    smi: Option<Smi>,
}

enum Device {
    Smi,
    /// Jetson: `NvMapMemUsed` when present, else MemTotal − MemAvailable.
    Unified {
        nvmap: bool,
    },
}

enum Power {
    /// Jetson INA3221 rails (hwmon or iio).
    Ina3221(Ina3221),
    Smi,
    /// RAPL package counters: (path of energy_uj, wrap range µJ, last reading µJ, last t).
    Rapl {
        domains: Vec<RaplDomain>,
        last_t: Option<f64>,
    },
}

struct RaplDomain {
    energy_path: PathBuf,
    max_range_uj: u64,
    last_uj: Option<u64>,
}

/// A long-lived `nvidia-smi -lms` child and the latest values per GPU index.
struct Smi {
    child: Child,
    latest: Arc<Mutex<BTreeMap<u32, SmiReading>>>,
    reader: Option<JoinHandle<()>>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
struct SmiReading {
    memory_used_bytes: Option<u64>,
    power_w: Option<f64>,
}

fn discover_rapl(root: &Path) -> Option<Power> {
    let mut domains = Vec::new();
    for d in list_dir(&under(root, "/sys/class/powercap")) {
        let name = d.file_name().and_then(|n| n.to_str()).unwrap_or("");
        // Top-level domains only (`intel-rapl:0`, not the sub-domains `intel-rapl:0:0`,
        // which are included in their package), and packages only (`psys` covers the
        // packages too, so adding it would count twice).
        let top = name
            .strip_prefix("intel-rapl:")
            .is_some_and(|rest| !rest.contains(':'));
        if !top || !read_trim(&d.join("name")).is_some_and(|n| n.starts_with("package")) {
            continue;
        }
        let energy_path = d.join("energy_uj");
        // Unreadable for non-root users on patched kernels: then the domain is absent.
        if read_num::<u64>(&energy_path).is_none() {
            continue;
        }
        let max_range_uj = read_num(&d.join("max_energy_range_uj")).unwrap_or(u64::MAX);
        domains.push(RaplDomain {
            energy_path,
            max_range_uj,
            last_uj: None,
        });
    }
    (!domains.is_empty()).then_some(Power::Rapl {
        domains,
        last_t: None,
    })
}

impl Sources {
    fn discover(root: &Path, interval: Duration) -> Sources {
        let rss = crate::platform::self_status_bytes(root, "VmRSS").is_some();
        // Reset the high-water mark so VmHWM at stop is this window's peak.
        let hwm_reset = rss && crate::platform::reset_peak_rss(root);
        let jetson = crate::platform::is_jetson_at(root);
        let smi = if !jetson && under(root, "/proc/driver/nvidia/version").exists() {
            Smi::spawn(interval)
        } else {
            None
        };
        let device = if smi.is_some() {
            Some(Device::Smi)
        } else if jetson {
            let nvmap = read_trim(&under(root, "/proc/meminfo"))
                .is_some_and(|m| meminfo_bytes(&m, "NvMapMemUsed").is_some());
            Some(Device::Unified { nvmap })
        } else {
            None
        };
        let power = crate::platform::ina3221_at(root)
            .map(Power::Ina3221)
            .or_else(|| smi.as_ref().map(|_| Power::Smi))
            .or_else(|| discover_rapl(root));
        Sources {
            root: root.to_owned(),
            rss,
            hwm_reset,
            device,
            power,
            smi,
        }
    }

    fn rss_label(&self) -> Option<String> {
        self.rss.then(|| {
            if self.hwm_reset {
                "/proc/self/status VmRSS (+ VmHWM reset at start)".to_owned()
            } else {
                "/proc/self/status VmRSS".to_owned()
            }
        })
    }

    fn device_label(&self) -> Option<String> {
        self.device.as_ref().map(|d| match d {
            Device::Smi => "NVML via nvidia-smi memory.used (whole device)".to_owned(),
            Device::Unified { nvmap: true } => "Jetson unified memory: NvMapMemUsed".to_owned(),
            Device::Unified { nvmap: false } => {
                "Jetson unified memory: MemTotal - MemAvailable (system-wide)".to_owned()
            }
        })
    }

    fn power_label(&self) -> Option<String> {
        let ina = |labels: Vec<&str>, total: Option<usize>| match total {
            Some(i) => format!("Jetson INA3221 rail {} (whole module)", labels[i]),
            None => format!("Jetson INA3221, sum of rails {}", labels.join("+")),
        };
        self.power.as_ref().map(|p| match p {
            Power::Ina3221(i) => ina(i.rails.iter().map(|r| r.label.as_str()).collect(), i.total),
            Power::Smi => "NVML via nvidia-smi power.draw (whole GPU board)".to_owned(),
            Power::Rapl { domains, .. } => {
                format!(
                    "RAPL package energy counters ({} package(s))",
                    domains.len()
                )
            }
        })
    }

    fn power_is_counter(&self) -> bool {
        matches!(self.power, Some(Power::Rapl { .. }))
    }

    fn rss_hwm(&self) -> Option<u64> {
        if !self.hwm_reset {
            return None;
        }
        crate::platform::self_status_bytes(&self.root, "VmHWM")
    }

    /// One sample, and (for counter sources) the energy counted since the previous sample.
    fn sample(&mut self, t_s: f64) -> (MemorySample, Option<f64>) {
        let rss_bytes = if self.rss {
            crate::platform::self_status_bytes(&self.root, "VmRSS")
        } else {
            None
        };
        let smi_now = self.smi.as_ref().map(|s| s.snapshot());
        let device_bytes = match &self.device {
            Some(Device::Smi) => smi_now.as_ref().and_then(|m| {
                let v: Vec<u64> = m.values().filter_map(|r| r.memory_used_bytes).collect();
                (!v.is_empty()).then(|| v.iter().sum())
            }),
            Some(Device::Unified { nvmap }) => {
                let m = read_trim(&under(&self.root, "/proc/meminfo"));
                m.and_then(|m| {
                    if *nvmap {
                        meminfo_bytes(&m, "NvMapMemUsed")
                    } else {
                        let total = meminfo_bytes(&m, "MemTotal")?;
                        let avail = meminfo_bytes(&m, "MemAvailable")?;
                        Some(total.saturating_sub(avail))
                    }
                })
            }
            None => None,
        };
        let mut counted = None;
        let power_w = match &mut self.power {
            Some(Power::Ina3221(i)) => i.watts(),
            Some(Power::Smi) => smi_now.as_ref().and_then(|m| {
                let v: Vec<f64> = m.values().filter_map(|r| r.power_w).collect();
                (!v.is_empty()).then(|| v.iter().sum())
            }),
            Some(Power::Rapl { domains, last_t }) => {
                let mut delta_uj = 0u64;
                let mut complete = true;
                for d in domains.iter_mut() {
                    match read_num::<u64>(&d.energy_path) {
                        Some(now) => {
                            if let Some(prev) = d.last_uj {
                                delta_uj += rapl_delta(prev, now, d.max_range_uj);
                            }
                            d.last_uj = Some(now);
                        }
                        None => complete = false,
                    }
                }
                let w = match *last_t {
                    Some(prev_t) if complete && t_s > prev_t => {
                        let j = delta_uj as f64 / 1e6;
                        counted = Some(j);
                        Some(j / (t_s - prev_t))
                    }
                    _ => None,
                };
                *last_t = Some(t_s);
                w
            }
            None => None,
        };
        (
            MemorySample {
                t_s,
                rss_bytes,
                device_bytes,
                power_w,
            },
            counted,
        )
    }

    fn close(&mut self) {
        if let Some(mut smi) = self.smi.take() {
            // We started this child; end it by its handle.
            let _ = smi.child.kill();
            let _ = smi.child.wait();
            if let Some(r) = smi.reader.take() {
                let _ = r.join();
            }
        }
    }
}

/// Energy counted between two RAPL readings, allowing for one wrap of the counter.
fn rapl_delta(prev: u64, now: u64, max_range: u64) -> u64 {
    if now >= prev {
        now - prev
    } else {
        max_range.saturating_sub(prev) + now
    }
}

impl Smi {
    fn spawn(interval: Duration) -> Option<Smi> {
        let ms = interval.as_millis().clamp(1, 1_000_000).to_string();
        let mut child = Command::new("nvidia-smi")
            .args([
                "--query-gpu=index,memory.used,power.draw",
                "--format=csv,noheader,nounits",
                "-lms",
                &ms,
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .ok()?;
        let stdout = child.stdout.take()?;
        let latest = Arc::new(Mutex::new(BTreeMap::new()));
        let sink = Arc::clone(&latest);
        let reader = std::thread::Builder::new()
            .name("trtbench-nvidia-smi".into())
            .spawn(move || read_smi_stream(std::io::BufReader::new(stdout), &sink))
            .ok();
        Some(Smi {
            child,
            latest,
            reader,
        })
    }

    fn snapshot(&self) -> BTreeMap<u32, SmiReading> {
        self.latest.lock().map(|m| m.clone()).unwrap_or_default()
    }
}

fn read_smi_stream(r: impl BufRead, sink: &Mutex<BTreeMap<u32, SmiReading>>) {
    for line in r.lines() {
        let Ok(line) = line else { break };
        if let Some((idx, reading)) = parse_smi_line(&line) {
            if let Ok(mut m) = sink.lock() {
                m.insert(idx, reading);
            }
        }
    }
}

/// Parses `0, 1234, 71.52` (index, MiB, W); `[N/A]` fields become `None`.
fn parse_smi_line(line: &str) -> Option<(u32, SmiReading)> {
    let mut it = line.split(',').map(str::trim);
    let idx: u32 = it.next()?.parse().ok()?;
    let mem = it
        .next()?
        .parse::<f64>()
        .ok()
        .map(|mib| (mib * 1024.0 * 1024.0) as u64);
    let power = it.next().and_then(|p| p.parse::<f64>().ok());
    Some((
        idx,
        SmiReading {
            memory_used_bytes: mem,
            power_w: power,
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(root: &Path, rel: &str, content: &str) {
        let p = under(root, rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, content).unwrap();
    }

    #[test]
    fn samples_real_rss_and_sees_an_allocation() {
        let s = Monitor::start(Duration::from_millis(5));
        std::thread::sleep(Duration::from_millis(30));
        // Touch 64 MiB so it is resident, hold it past a few ticks, then free it.
        let big = vec![1u8; 64 << 20];
        std::thread::sleep(Duration::from_millis(40));
        let sum: u64 = big.iter().step_by(4096).map(|&b| u64::from(b)).sum();
        drop(big);
        let r = s.stop();
        assert_eq!(sum, (64 << 20) / 4096);
        assert!(r.timeline.len() >= 3, "{}", r.timeline.len());
        assert!(r.timeline.windows(2).all(|w| w[0].t_s <= w[1].t_s));
        let first = r.timeline[0].rss_bytes.unwrap();
        let peak = r.peak_rss_bytes.unwrap();
        assert!(peak >= first + (48 << 20), "peak {peak} first {first}");
        assert!(r.rss_source.is_some());
    }

    #[test]
    fn absent_sources_stay_absent() {
        // An empty root: nothing to read, so every series is None (never 0).
        let dir = tempfile::tempdir().unwrap();
        let r = Monitor::start_at(Duration::from_millis(2), dir.path().into()).stop();
        assert!(!r.timeline.is_empty());
        assert!(r
            .timeline
            .iter()
            .all(|s| s.rss_bytes.is_none() && s.device_bytes.is_none() && s.power_w.is_none()));
        assert_eq!(
            (r.peak_rss_bytes, r.energy_j, r.mean_power_w),
            (None, None, None)
        );
        assert_eq!(
            (r.device_source.clone(), r.power_source.clone()),
            (None, None)
        );
        let mut p = crate::record::Point::new(crate::record::PointKind::Engine, Default::default());
        r.apply(&mut p, 100);
        assert!(p.scalars.is_empty() && p.memory.peak_rss_bytes.is_none());
    }

    #[test]
    fn jetson_hwmon_rails_and_unified_memory() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        write(
            root,
            "/etc/nv_tegra_release",
            "# R36 (release), REVISION: 3.0\n",
        );
        let hw = "/sys/bus/i2c/drivers/ina3221/1-0040/hwmon/hwmon3";
        write(root, &format!("{hw}/in1_label"), "VDD_IN\n");
        write(root, &format!("{hw}/in1_input"), "5000\n"); // mV
        write(root, &format!("{hw}/curr1_input"), "2000\n"); // mA -> 10 W
        write(root, &format!("{hw}/in2_label"), "VDD_CPU_GPU_CV\n");
        write(root, &format!("{hw}/in2_input"), "5000\n");
        write(root, &format!("{hw}/curr2_input"), "1000\n");
        write(root, &format!("{hw}/in7_label"), "sum of shunt voltages\n");
        write(
            root,
            "/proc/meminfo",
            "MemTotal: 8000 kB\nMemAvailable: 3000 kB\n",
        );
        let r = Monitor::start_at(Duration::from_millis(5), root.into());
        std::thread::sleep(Duration::from_millis(60));
        let r = r.stop();
        assert!(r.power_source.as_deref().unwrap().contains("VDD_IN"));
        assert!(r.timeline.iter().all(|s| s.power_w == Some(10.0)));
        assert!(r
            .timeline
            .iter()
            .all(|s| s.device_bytes == Some(5000 * 1024)));
        let span = r.timeline.last().unwrap().t_s - r.timeline[0].t_s;
        let e = r.energy_j.unwrap();
        assert!((e - 10.0 * span).abs() < 1e-9, "{e} vs {span}");
        assert!((r.mean_power_w.unwrap() - 10.0).abs() < 1e-9);
    }

    #[test]
    fn rapl_counters_with_wrap_and_iio_sum() {
        assert_eq!(rapl_delta(10, 25, 100), 15);
        assert_eq!(rapl_delta(90, 5, 100), 15);
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let d = "/sys/class/powercap/intel-rapl:0";
        write(root, &format!("{d}/name"), "package-0\n");
        write(root, &format!("{d}/energy_uj"), "1000\n");
        write(root, &format!("{d}/max_energy_range_uj"), "262143328850\n");
        write(root, "/sys/class/powercap/intel-rapl:0:0/name", "core\n");
        write(root, "/sys/class/powercap/intel-rapl:0:0/energy_uj", "5\n");
        write(root, "/sys/class/powercap/intel-rapl:1/name", "psys\n");
        write(root, "/sys/class/powercap/intel-rapl:1/energy_uj", "5\n");
        let mut s = Sources::discover(root, Duration::from_millis(10));
        assert!(s.power_label().unwrap().contains("1 package"));
        let (a, ja) = s.sample(0.0);
        assert_eq!((a.power_w, ja), (None, None));
        write(root, &format!("{d}/energy_uj"), "3001000\n"); // +3 J
        let (b, jb) = s.sample(0.5);
        assert_eq!((b.power_w, jb), (Some(6.0), Some(3.0)));

        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let iio = "/sys/bus/i2c/drivers/ina3221x/6-0040/iio:device0";
        write(root, &format!("{iio}/rail_name_0"), "VDD_GPU\n");
        write(root, &format!("{iio}/in_power0_input"), "1500\n");
        write(root, &format!("{iio}/rail_name_1"), "VDD_CPU\n");
        write(root, &format!("{iio}/in_power1_input"), "500\n");
        let mut s = Sources::discover(root, Duration::from_millis(10));
        assert!(s
            .power_label()
            .unwrap()
            .contains("sum of rails VDD_GPU+VDD_CPU"));
        assert_eq!(s.sample(0.0).0.power_w, Some(2.0));
    }

    #[test]
    fn parses_nvidia_smi_stream() {
        let text = "0, 1024, 71.50\n1, 2048, [N/A]\ngarbage\n";
        let sink = Mutex::new(BTreeMap::new());
        read_smi_stream(std::io::Cursor::new(text), &sink);
        let m = sink.into_inner().unwrap();
        assert_eq!(m[&0].memory_used_bytes, Some(1 << 30));
        assert_eq!(m[&0].power_w, Some(71.5));
        assert_eq!(m[&1].power_w, None);
        assert_eq!(m.len(), 2);
        assert_eq!(integrate_power(&[]), None);
    }
}
