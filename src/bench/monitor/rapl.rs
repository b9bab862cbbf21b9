//! Intel/AMD RAPL package energy counters in `/sys/class/powercap/intel-rapl:*`: which
//! domains to read (packages only, so nothing counts twice) and the energy between two
//! readings, allowing for the counter's wrap. Root-only on kernels patched for
//! CVE-2020-8694; an unreadable domain is absent.

use std::path::{Path, PathBuf};

use crate::platform::{list_dir, read_num, read_trim, under};

/// The package domains and the time of the previous reading.
pub(super) struct Rapl {
    pub(super) domains: Vec<RaplDomain>,
    last_t: Option<f64>,
}

/// One package counter: path of `energy_uj`, its wrap range and its last reading (µJ).
pub(super) struct RaplDomain {
    energy_path: PathBuf,
    max_range_uj: u64,
    last_uj: Option<u64>,
}

impl Rapl {
    pub(super) fn discover(root: &Path) -> Option<Rapl> {
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
        (!domains.is_empty()).then_some(Rapl {
            domains,
            last_t: None,
        })
    }

    /// Reads every counter at `t_s`: the mean power since the previous reading and the
    /// energy counted (J), both `None` on the first reading or when a counter failed.
    pub(super) fn read(&mut self, t_s: f64) -> (Option<f64>, Option<f64>) {
        let mut delta_uj = 0u64;
        let mut complete = true;
        for d in self.domains.iter_mut() {
            match read_num::<u64>(&d.energy_path) {
                Some(now) => {
                    if let Some(prev) = d.last_uj {
                        delta_uj += delta(prev, now, d.max_range_uj);
                    }
                    d.last_uj = Some(now);
                }
                None => complete = false,
            }
        }
        let mut counted = None;
        let w = match self.last_t {
            Some(prev_t) if complete && t_s > prev_t => {
                let j = delta_uj as f64 / 1e6;
                counted = Some(j);
                Some(j / (t_s - prev_t))
            }
            _ => None,
        };
        self.last_t = Some(t_s);
        (w, counted)
    }
}

/// Energy counted between two RAPL readings, allowing for one wrap of the counter.
pub(super) fn delta(prev: u64, now: u64, max_range: u64) -> u64 {
    if now >= prev {
        now - prev
    } else {
        max_range.saturating_sub(prev) + now
    }
}
