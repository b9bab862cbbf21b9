//! Which memory and power sources this machine has (see the parent module for the order
//! they are tried in and what each measures), and one sample from all of them. A source
//! that is not there is `None` here and absent in the report, never zero.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::rapl::Rapl;
use super::smi::Smi;
use crate::platform::{meminfo_bytes, read_trim, under, Ina3221};
use crate::record::MemorySample;

/// The sources found on this machine, read once per sample.
pub(super) struct Sources {
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
    /// RAPL package counters.
    Rapl(Rapl),
}

impl Sources {
    pub(super) fn discover(root: &Path, interval: Duration) -> Sources {
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
            .or_else(|| Rapl::discover(root).map(Power::Rapl));
        Sources {
            root: root.to_owned(),
            rss,
            hwm_reset,
            device,
            power,
            smi,
        }
    }

    pub(super) fn rss_label(&self) -> Option<String> {
        self.rss.then(|| {
            if self.hwm_reset {
                "/proc/self/status VmRSS (+ VmHWM reset at start)".to_owned()
            } else {
                "/proc/self/status VmRSS".to_owned()
            }
        })
    }

    pub(super) fn device_label(&self) -> Option<String> {
        self.device.as_ref().map(|d| match d {
            Device::Smi => "NVML via nvidia-smi memory.used (whole device)".to_owned(),
            Device::Unified { nvmap: true } => "Jetson unified memory: NvMapMemUsed".to_owned(),
            Device::Unified { nvmap: false } => {
                "Jetson unified memory: MemTotal - MemAvailable (system-wide)".to_owned()
            }
        })
    }

    pub(super) fn power_label(&self) -> Option<String> {
        let ina = |labels: Vec<&str>, total: Option<usize>| match total {
            Some(i) => format!("Jetson INA3221 rail {} (whole module)", labels[i]),
            None => format!("Jetson INA3221, sum of rails {}", labels.join("+")),
        };
        self.power.as_ref().map(|p| match p {
            Power::Ina3221(i) => ina(i.rails.iter().map(|r| r.label.as_str()).collect(), i.total),
            Power::Smi => "NVML via nvidia-smi power.draw (whole GPU board)".to_owned(),
            Power::Rapl(r) => {
                format!(
                    "RAPL package energy counters ({} package(s))",
                    r.domains.len()
                )
            }
        })
    }

    pub(super) fn power_is_counter(&self) -> bool {
        matches!(self.power, Some(Power::Rapl(_)))
    }

    pub(super) fn rss_hwm(&self) -> Option<u64> {
        if !self.hwm_reset {
            return None;
        }
        crate::platform::self_status_bytes(&self.root, "VmHWM")
    }

    /// One sample, and (for counter sources) the energy counted since the previous sample.
    pub(super) fn sample(&mut self, t_s: f64) -> (MemorySample, Option<f64>) {
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
            Some(Power::Rapl(r)) => {
                let (w, j) = r.read(t_s);
                counted = j;
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

    pub(super) fn close(&mut self) {
        if let Some(smi) = self.smi.take() {
            smi.close();
        }
    }
}
