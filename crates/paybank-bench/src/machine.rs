//! The machine a run measured: cores, CPU model, and how long the disk takes to flush a write
//! (the floor under every durable commit).

use std::io::Write;
use std::path::Path;
use std::time::Instant;

use serde::Serialize;

/// Flushes timed to find the disk's flush latency.
const FLUSHES: usize = 200;

#[derive(Clone, Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Machine {
    pub cores: usize,
    pub cpu_model: String,
    /// Median time to write 4 KiB and `fdatasync` it, in microseconds.
    pub disk_flush_us: u64,
    /// The nice value the harness and the servers it starts ran at (see `process::NICE`).
    pub nice: i32,
}

pub fn describe(dir: &Path) -> Machine {
    Machine {
        cores: cores(),
        cpu_model: cpu_model(),
        disk_flush_us: disk_flush_us(dir).unwrap_or(0),
        nice: crate::process::nice(),
    }
}

/// The machine's cores, not this process's share: the harness has pinned itself to one.
fn cores() -> usize {
    let info = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let count = info
        .lines()
        .filter(|line| line.starts_with("processor"))
        .count();
    count.max(1)
}

fn cpu_model() -> String {
    let info = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    info.lines()
        .find(|line| line.starts_with("model name"))
        .and_then(|line| line.split_once(':'))
        .map_or("unknown".to_owned(), |(_, model)| model.trim().to_owned())
}

fn disk_flush_us(dir: &Path) -> std::io::Result<u64> {
    let path = dir.join("flush-probe");
    let mut file = std::fs::File::create(&path)?;
    let block = [0u8; 4096];
    let mut times = Vec::with_capacity(FLUSHES);
    for _ in 0..FLUSHES {
        let started = Instant::now();
        file.write_all(&block)?;
        file.sync_data()?;
        times.push(started.elapsed().as_micros() as u64);
    }
    let _ = std::fs::remove_file(&path);
    times.sort_unstable();
    Ok(times[times.len() / 2])
}
