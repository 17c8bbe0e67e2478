//! The kernel's memory reclaim threads (DAMON's `kdamond`) kept to idle CPU while the harness
//! measures, and given back their scheduling policy after.
//!
//! Why: the bench machine runs DAMON's proactive reclaim with a quota of up to 50 ms of CPU a
//! second. The harness keeps both cores busy (the server on one, the generator spinning on the
//! other), so kdamond's bursts land on the server's core: a scheduler trace of (b) at 10k/s
//! offered caught it holding the core for 14 of 16 ms while the writer and the runtime's worker
//! waited, runnable. At that rate a single burst of 20–50 ms puts hundreds of captures over
//! 10 ms, which is the run's p99 by itself (BENCHMARKS.md, Open-loop latency). A server with a
//! spare core would run kdamond there; this machine has none to spare during a run. Under
//! `SCHED_IDLE` kdamond still reclaims, on CPU nothing else wants.

use std::path::Path;

/// A thread's scheduling policy and priority, as `sched_getscheduler` and `sched_getparam` give
/// them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Policy {
    policy: libc::c_int,
    priority: libc::c_int,
}

/// Threads put under `SCHED_IDLE`, each given back its own policy when this is dropped.
#[derive(Debug, Default)]
pub struct IdledThreads {
    idled: Vec<(libc::pid_t, String, Policy)>,
}

impl IdledThreads {
    /// Puts every DAMON worker thread under `SCHED_IDLE`. Without the right to (not root, no
    /// `CAP_SYS_NICE`), or on a machine without DAMON, it changes nothing.
    pub fn damon_workers() -> IdledThreads {
        let mut threads = IdledThreads::default();
        for (pid, name) in damon_workers(Path::new("/proc")) {
            threads.idle(pid, name);
        }
        threads
    }

    /// Puts thread `pid` under `SCHED_IDLE` and keeps what it had, unless that fails.
    fn idle(&mut self, pid: libc::pid_t, name: String) {
        let Some(before) = policy_of(pid) else {
            return;
        };
        let idle = Policy {
            policy: libc::SCHED_IDLE,
            priority: 0,
        };
        if set_policy(pid, idle).is_ok() {
            self.idled.push((pid, name, before));
        }
    }

    /// The names of the threads idled, in the order found.
    pub fn names(&self) -> Vec<String> {
        self.idled.iter().map(|(_, name, _)| name.clone()).collect()
    }
}

impl Drop for IdledThreads {
    fn drop(&mut self) {
        for (pid, name, before) in self.idled.drain(..) {
            if let Err(error) = set_policy(pid, before) {
                tracing::warn!(%error, thread = %name, "could not give back its scheduling policy");
            }
        }
    }
}

/// DAMON's worker threads (`kdamond.N`), by the names `proc` gives its processes.
fn damon_workers(proc: &Path) -> Vec<(libc::pid_t, String)> {
    let Ok(entries) = std::fs::read_dir(proc) else {
        return Vec::new();
    };
    let mut found: Vec<(libc::pid_t, String)> = entries
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let pid = entry.file_name().to_str()?.parse().ok()?;
            let name = std::fs::read_to_string(entry.path().join("comm")).ok()?;
            let name = name.trim_end();
            is_damon_worker(name).then(|| (pid, name.to_owned()))
        })
        .collect();
    found.sort_unstable();
    found
}

fn is_damon_worker(name: &str) -> bool {
    name.strip_prefix("kdamond.")
        .is_some_and(|number| !number.is_empty() && number.bytes().all(|b| b.is_ascii_digit()))
}

#[allow(unsafe_code)]
fn policy_of(pid: libc::pid_t) -> Option<Policy> {
    let mut param = libc::sched_param { sched_priority: 0 };
    // SAFETY: both calls take a thread id and write only into `param`, which outlives them.
    let (policy, status) = unsafe {
        (
            libc::sched_getscheduler(pid),
            libc::sched_getparam(pid, &mut param),
        )
    };
    (policy >= 0 && status == 0).then_some(Policy {
        policy,
        priority: param.sched_priority,
    })
}

#[allow(unsafe_code)]
fn set_policy(pid: libc::pid_t, to: Policy) -> std::io::Result<()> {
    let param = libc::sched_param {
        sched_priority: to.priority,
    };
    // SAFETY: takes a thread id, a policy and a pointer to `param`, read only during the call.
    match unsafe { libc::sched_setscheduler(pid, to.policy, &param) } {
        0 => Ok(()),
        _ => Err(std::io::Error::last_os_error()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn damon_workers_are_known_by_their_names() {
        assert!(is_damon_worker("kdamond.0"));
        assert!(is_damon_worker("kdamond.12"));
        for other in [
            "kdamond.",
            "kdamond",
            "kdamond.x",
            "kdamond.0a",
            "kworker/0:1",
        ] {
            assert!(!is_damon_worker(other), "{other}");
        }
    }

    #[test]
    fn damon_workers_are_found_in_proc() {
        let proc = std::env::temp_dir().join(format!("paybank-proc-{}", std::process::id()));
        for (pid, name) in [("7", "kdamond.0\n"), ("12", "kdamond.1\n"), ("9", "bash\n")] {
            std::fs::create_dir_all(proc.join(pid)).expect("a process");
            std::fs::write(proc.join(pid).join("comm"), name).expect("its name");
        }
        std::fs::create_dir_all(proc.join("self")).expect("not a process");
        let found = damon_workers(&proc);
        std::fs::remove_dir_all(&proc).expect("clean up");
        assert_eq!(
            found,
            vec![(7, "kdamond.0".to_owned()), (12, "kdamond.1".to_owned())]
        );
    }

    /// On a thread of its own, as the harness does with kdamond's: idled while held, its own
    /// policy back when dropped. Any thread may lower its own policy, but only a privileged
    /// one (`CAP_SYS_NICE`, as root has) may be sure to raise it back, so the last check runs as
    /// root, as `.ci/run` does on the bench machine.
    #[test]
    fn a_thread_idled_gets_its_policy_back() {
        let (tid_sender, tid) = std::sync::mpsc::channel();
        let (done, wait) = std::sync::mpsc::channel::<()>();
        let thread = std::thread::spawn(move || {
            // SAFETY: gettid takes nothing and cannot fail.
            #[allow(unsafe_code)]
            let own = unsafe { libc::gettid() };
            tid_sender.send(own).expect("send the id");
            wait.recv().ok();
        });
        let pid = tid.recv().expect("the thread's id");
        let before = policy_of(pid).expect("its policy");
        let mut threads = IdledThreads::default();
        threads.idle(pid, "test".to_owned());
        if threads.names().is_empty() {
            assert_eq!(policy_of(pid), Some(before), "refused, and unchanged");
        } else {
            assert_eq!(policy_of(pid).map(|p| p.policy), Some(libc::SCHED_IDLE));
            drop(threads);
            // SAFETY: geteuid takes nothing and cannot fail.
            #[allow(unsafe_code)]
            let root = unsafe { libc::geteuid() } == 0;
            if root {
                assert_eq!(policy_of(pid), Some(before), "given back");
            }
        }
        done.send(()).ok();
        thread.join().expect("the thread ends");
    }
}
