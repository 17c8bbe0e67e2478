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
    /// The 99th percentile of the same flushes, and the slowest: a commit waits for its flush,
    /// so the tail is what the latency targets meet.
    pub disk_flush_p99_us: u64,
    pub disk_flush_max_us: u64,
    /// The nice value the harness and the servers it starts ran at (see `process::NICE`).
    pub nice: i32,
    /// Kernel threads kept to idle CPU during the run (see `background`).
    pub idled: Vec<String>,
}

pub fn describe(dir: &Path) -> Machine {
    let flushes = flush_times_us(dir).map_or(Spread::default(), Spread::of);
    Machine {
        cores: cores(),
        cpu_model: cpu_model(),
        disk_flush_us: flushes.median,
        disk_flush_p99_us: flushes.p99,
        disk_flush_max_us: flushes.max,
        nice: crate::process::nice(),
        idled: Vec::new(),
    }
}

/// The median, 99th percentile and largest of some timings.
#[derive(Debug, Default, PartialEq)]
struct Spread {
    median: u64,
    p99: u64,
    max: u64,
}

impl Spread {
    fn of(mut times: Vec<u64>) -> Spread {
        times.sort_unstable();
        let at = |q: f64| times[((times.len() - 1) as f64 * q).round() as usize];
        match times.is_empty() {
            true => Spread::default(),
            false => Spread {
                median: at(0.5),
                p99: at(0.99),
                max: at(1.0),
            },
        }
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

fn flush_times_us(dir: &Path) -> std::io::Result<Vec<u64>> {
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
    Ok(times)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_spread_is_the_median_the_99th_percentile_and_the_slowest() {
        let times: Vec<u64> = (1..=200).rev().collect();
        let spread = Spread::of(times);
        assert_eq!(
            spread,
            Spread {
                median: 101,
                p99: 198,
                max: 200
            }
        );
        assert_eq!(Spread::of(Vec::new()), Spread::default());
    }
}
