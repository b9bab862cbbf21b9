//! This process's memory as Linux reports it: current and peak resident set size. The
//! peak (`VmHWM`) is reset between measurements by writing `5` to `/proc/self/clear_refs`
//! (proc(5), Linux ≥ 4.0), so each run gets its own peak instead of the process's
//! lifetime maximum. On other systems every figure is `None` (absent, not zero).

/// Reads a `/proc/self/status` field (`Key:   1234 kB`, the layout of /proc/meminfo) as bytes.
fn status_field(key: &str) -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    crate::env::meminfo_bytes(&s, key)
}

/// Current resident set size.
pub fn rss_bytes() -> Option<u64> {
    status_field("VmRSS")
}

/// Peak resident set size since the last [`reset_peak`] (or process start).
pub fn peak_rss_bytes() -> Option<u64> {
    status_field("VmHWM")
}

/// Resets the peak RSS to the current RSS. Returns false when the kernel refused.
pub fn reset_peak() -> bool {
    std::fs::write("/proc/self/clear_refs", b"5").is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peak_follows_an_allocation_on_linux() {
        if !cfg!(target_os = "linux") {
            return;
        }
        assert!(reset_peak());
        let before = peak_rss_bytes().unwrap();
        let big = vec![1u8; 64 << 20];
        std::hint::black_box(&big);
        let after = peak_rss_bytes().unwrap();
        assert!(after >= before + (60 << 20), "{before} -> {after}");
    }
}
