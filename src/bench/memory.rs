//! This process's memory as Linux reports it: current and peak resident set size. The
//! peak (`VmHWM`) is reset between measurements by writing `5` to `/proc/self/clear_refs`
//! (proc(5), Linux ≥ 4.0), so each run gets its own peak instead of the process's
//! lifetime maximum. On other systems every figure is `None` (absent, not zero).

/// Reads a `/proc/self/status` field (in kB) as bytes.
fn status_field(key: &str) -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    parse_status_field(&s, key)
}

/// Parses `Key:   1234 kB` from /proc/PID/status text.
pub fn parse_status_field(status: &str, key: &str) -> Option<u64> {
    status.lines().find_map(|l| {
        let rest = l.strip_prefix(key)?.strip_prefix(':')?;
        let kb: u64 = rest.split_whitespace().next()?.parse().ok()?;
        Some(kb * 1024)
    })
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
    fn parses_status() {
        let s = "Name:\ttrtbench\nVmHWM:\t  133000 kB\nVmRSS:\t  120000 kB\n";
        assert_eq!(parse_status_field(s, "VmHWM"), Some(133_000 * 1024));
        assert_eq!(parse_status_field(s, "VmRSS"), Some(120_000 * 1024));
        assert_eq!(parse_status_field(s, "VmSwap"), None);
    }

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
