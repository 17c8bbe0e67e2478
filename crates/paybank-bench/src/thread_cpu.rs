//! Where a server's CPU time went during a phase: user and kernel time by thread name (the
//! runtime's workers, the writer, the checkpoint thread) from `/proc/<pid>/task/*/stat`, and
//! how much of its one core the server used. A row's CPU per request says how much; this says
//! which thread spent it, in the program or in the kernel, and whether the core sat idle.

use std::collections::BTreeMap;

use crate::process::{parse_stat, ticks_per_second};

/// CPU time so far of each kind of thread of a process, by the name the kernel gives it
/// (at most 15 bytes: `paybank-checkpoint` reads `paybank-checkpo`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ThreadCpu {
    by_name: BTreeMap<String, Times>,
}

/// User and kernel time, in microseconds.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
struct Times {
    user_us: u64,
    kernel_us: u64,
}

impl ThreadCpu {
    /// The threads of process `pid` as they are now; empty if it cannot be read. A thread that
    /// ended since the last reading is missing from this one, so only long-lived threads (a
    /// server's) are compared well.
    pub fn of(pid: u32) -> ThreadCpu {
        let mut cpu = ThreadCpu::default();
        let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
            return cpu;
        };
        let ticks = ticks_per_second();
        for task in tasks.flatten() {
            let stat = std::fs::read_to_string(task.path().join("stat")).unwrap_or_default();
            if let Some((name, user, kernel)) = parse_stat(&stat) {
                let times = cpu.by_name.entry(name.to_owned()).or_default();
                times.user_us += user * 1_000_000 / ticks;
                times.kernel_us += kernel * 1_000_000 / ticks;
            }
        }
        cpu
    }

    /// What each kind of thread used since `before`, per request, as a row's note:
    /// "by thread, CPU µs/req user + kernel: …; paybank's core busy 88 %". `elapsed_s` is the
    /// phase's length: the server is pinned to one core, so its CPU time over that is how busy
    /// the core was with it.
    pub fn note_since(&self, before: &ThreadCpu, requests: u64, elapsed_s: f64) -> Option<String> {
        let requests = requests.max(1) as f64;
        let mut total_us = 0;
        let mut parts = Vec::new();
        for (name, now) in &self.by_name {
            let earlier = before.by_name.get(name).copied().unwrap_or_default();
            let user = now.user_us.saturating_sub(earlier.user_us);
            let kernel = now.kernel_us.saturating_sub(earlier.kernel_us);
            total_us += user + kernel;
            // Threads that did nothing in the phase (the idle pool, the signal thread) are left out.
            if user + kernel > 0 {
                let (user, kernel) = (user as f64 / requests, kernel as f64 / requests);
                parts.push(format!("{name} {user:.1} + {kernel:.1}"));
            }
        }
        if parts.is_empty() || elapsed_s <= 0.0 {
            return None;
        }
        let busy = total_us as f64 / (elapsed_s * 1e6) * 100.0;
        Some(format!(
            "by thread, CPU µs/req user + kernel: {}; its core busy {busy:.0} % of the phase",
            parts.join(", ")
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_note_gives_each_busy_thread_per_request_and_the_core_busy() {
        let times = |user_us, kernel_us| Times { user_us, kernel_us };
        let before = ThreadCpu {
            by_name: BTreeMap::from([
                ("paybank-writer".to_owned(), times(1_000_000, 0)),
                ("tokio-rt-worker".to_owned(), times(0, 0)),
            ]),
        };
        let after = ThreadCpu {
            by_name: BTreeMap::from([
                ("paybank-writer".to_owned(), times(1_300_000, 100_000)),
                ("tokio-rt-worker".to_owned(), times(200_000, 200_000)),
                ("idle-pool".to_owned(), times(0, 0)),
            ]),
        };
        let note = after.note_since(&before, 10_000, 1.0).expect("a note");
        assert_eq!(
            note,
            "by thread, CPU µs/req user + kernel: paybank-writer 30.0 + 10.0, \
             tokio-rt-worker 20.0 + 20.0; its core busy 80 % of the phase"
        );
        assert_eq!(ThreadCpu::default().note_since(&before, 1, 1.0), None);
    }
}
