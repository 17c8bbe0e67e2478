//! Batch CPU scheduling for the server's threads on Linux: threads that wake one another take
//! turns on a core instead of preempting each other.
//!
//! Why: a durable write crosses threads twice. A request's task hands the write to the store's
//! writer thread, and the writer hands each answer back, waking a runtime worker. Under the
//! default policy every such wake-up preempts the thread that caused it when both share a
//! core: the writer lost the core at each answer it sent, the worker at each write it queued,
//! and a batch's answers went out one context switch apiece. A thread under `SCHED_BATCH` that
//! is woken waits for the running one to block or use up its slice, so a batch is committed
//! and answered in one go and its answers are then handled together. That took a durable
//! capture at the closed-loop peak from about 76 to 65 µs of CPU in `paybank bench --only b`
//! (BENCHMARKS.md, SQLite captures item 14).
//! Nothing else changes: batch threads get the same share of the CPU as before.

/// Puts every thread of this process under `SCHED_BATCH`; threads started later inherit it
/// from the thread that starts them. Returns how many threads were moved.
#[cfg(target_os = "linux")]
pub fn batch_all_threads() -> std::io::Result<usize> {
    let mut moved = 0;
    for entry in std::fs::read_dir("/proc/self/task")? {
        let name = entry?.file_name();
        let Some(thread_id) = name.to_str().and_then(|name| name.parse().ok()) else {
            continue;
        };
        match batch_thread(thread_id) {
            Ok(()) => moved += 1,
            // The thread ended since the listing: nothing to move.
            Err(error) if error.raw_os_error() == Some(libc::ESRCH) => {}
            Err(error) => return Err(error),
        }
    }
    Ok(moved)
}

#[cfg(not(target_os = "linux"))]
pub fn batch_all_threads() -> std::io::Result<usize> {
    Ok(0)
}

#[cfg(target_os = "linux")]
#[allow(unsafe_code)]
fn batch_thread(thread_id: libc::pid_t) -> std::io::Result<()> {
    // SCHED_BATCH takes no priority: it must be 0.
    let param = libc::sched_param { sched_priority: 0 };
    // SAFETY: sched_setscheduler only reads `param`, which outlives the call; a thread id that
    // is not ours, or no longer alive, is an error return, not undefined behaviour.
    let status = unsafe { libc::sched_setscheduler(thread_id, libc::SCHED_BATCH, &param) };
    match status {
        0 => Ok(()),
        _ => Err(std::io::Error::last_os_error()),
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    /// The policy the calling thread runs under, from /proc (field 41 of its stat line).
    fn own_policy() -> u32 {
        let stat = std::fs::read_to_string("/proc/thread-self/stat").unwrap();
        // The command name (field 2) may hold spaces: count the fields after it.
        let after_name = &stat[stat.rfind(')').unwrap() + 2..];
        after_name.split(' ').nth(38).unwrap().parse().unwrap()
    }

    #[test]
    fn every_thread_and_every_later_one_runs_batch() {
        let (started, running) = std::sync::mpsc::channel::<()>();
        let (moved, told) = std::sync::mpsc::channel::<()>();
        let earlier = std::thread::spawn(move || {
            started.send(()).unwrap();
            told.recv().unwrap();
            own_policy()
        });
        running.recv().unwrap();
        assert!(batch_all_threads().unwrap() >= 2);
        moved.send(()).unwrap();
        let batch = libc::SCHED_BATCH as u32;
        assert_eq!(own_policy(), batch);
        assert_eq!(earlier.join().unwrap(), batch, "a thread running before");
        let later = std::thread::spawn(own_policy).join().unwrap();
        assert_eq!(later, batch, "a thread started after");
    }
}
