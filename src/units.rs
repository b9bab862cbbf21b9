//! Unit conversions used at the edges (records, reports). Inside the code durations are
//! [`std::time::Duration`] and sizes are bytes; these helpers turn them into the numbers
//! stored in fields named after their unit (`_ms`, `_bytes`, `_tok_per_s`).

use std::time::Duration;

/// Milliseconds as f64.
pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// Tokens (or requests) per second over `d`; 0 when `d` is zero.
pub fn per_s(count: f64, d: Duration) -> f64 {
    let s = d.as_secs_f64();
    if s > 0.0 {
        count / s
    } else {
        0.0
    }
}

/// Mebibytes, for display only.
pub fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

/// Human-readable bytes: "90.0 MiB".
pub fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = bytes as f64;
    let mut i = 0;
    while v >= 1024.0 && i + 1 < UNITS.len() {
        v /= 1024.0;
        i += 1;
    }
    if i == 0 {
        format!("{bytes} B")
    } else {
        format!("{v:.1} {}", UNITS[i])
    }
}

/// Splits `1.5 GiB` into (1.5, "GiB"): a non-negative number and the unit after it.
pub fn split_number_unit(s: &str) -> Option<(f64, &str)> {
    let s = s.trim();
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    Some((num.parse().ok()?, unit.trim()))
}

/// Parses a size such as `512MiB`, `2GiB`, `1.5GB`, `4096` (bytes).
pub fn parse_bytes(s: &str) -> Option<u64> {
    let (v, unit) = split_number_unit(s)?;
    let mult = match unit.to_ascii_lowercase().as_str() {
        "" | "b" => 1.0,
        "k" | "kb" => 1e3,
        "kib" => 1024.0,
        "m" | "mb" => 1e6,
        "mib" => 1024.0 * 1024.0,
        "g" | "gb" => 1e9,
        "gib" => 1024.0 * 1024.0 * 1024.0,
        _ => return None,
    };
    Some((v * mult).round() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_sizes() {
        assert_eq!(parse_bytes("4096"), Some(4096));
        assert_eq!(parse_bytes("2GiB"), Some(2 << 30));
        assert_eq!(parse_bytes("1.5 GB"), Some(1_500_000_000));
        assert_eq!(parse_bytes("12 parsecs"), None);
        assert_eq!(human_bytes(90 * 1024 * 1024), "90.0 MiB");
        assert_eq!(per_s(10.0, Duration::from_millis(500)), 20.0);
    }
}
