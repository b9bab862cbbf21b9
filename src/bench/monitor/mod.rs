//! Background memory and power sampler: a thread that, every `interval` (default 50 ms),
//! records this process's RSS, device memory and board/package power where the platform
//! exposes them, giving each sweep point a timeline, peaks, and energy. A source the
//! machine does not have is recorded as absent (`None`), never as zero. Depends on
//! `platform` and `record` only; reads Linux procfs/sysfs and, on discrete NVIDIA GPUs,
//! `nvidia-smi`.
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
//!
//! This module runs the sampling thread and sums up what it saw; `source` discovers and
//! reads the sources, `smi` owns the `nvidia-smi` child and `rapl` the energy counters.

mod rapl;
mod smi;
mod source;

use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::record::{MemorySample, Point};

use source::Sources;

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::platform::under;

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
        assert_eq!(rapl::delta(10, 25, 100), 15);
        assert_eq!(rapl::delta(90, 5, 100), 15);
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
    fn power_integral_needs_two_samples() {
        assert_eq!(integrate_power(&[]), None);
    }
}
