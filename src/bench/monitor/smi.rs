//! The `nvidia-smi --query-gpu=... -lms N` child: one long-lived process streaming CSV
//! (NVML without FFI, so no `unsafe` here), a reader thread keeping the latest reading
//! per GPU, and ending the child we started by its handle. Device-wide figures, not per
//! process.

use std::collections::BTreeMap;
use std::io::BufRead;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// A long-lived `nvidia-smi -lms` child and the latest values per GPU index.
pub(super) struct Smi {
    child: Child,
    latest: Arc<Mutex<BTreeMap<u32, SmiReading>>>,
    reader: Option<JoinHandle<()>>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct SmiReading {
    pub(super) memory_used_bytes: Option<u64>,
    pub(super) power_w: Option<f64>,
}

impl Smi {
    pub(super) fn spawn(interval: Duration) -> Option<Smi> {
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

    /// Ends the child we started, by its handle, and waits for the reader to finish.
    pub(super) fn close(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if let Some(r) = self.reader.take() {
            let _ = r.join();
        }
    }

    pub(super) fn snapshot(&self) -> BTreeMap<u32, SmiReading> {
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
    }
}
