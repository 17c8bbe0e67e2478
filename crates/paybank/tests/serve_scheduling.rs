//! `paybank serve` runs every one of its threads under `SCHED_BATCH` on Linux, unless
//! `server.batch_scheduling` is off.
#![cfg(target_os = "linux")]

use std::process::Child;

mod support;

/// Linux's number for `SCHED_BATCH` (and 0 for the default policy, `SCHED_OTHER`).
const SCHED_BATCH: u32 = 3;
const SCHED_OTHER: u32 = 0;

/// A server started with `server.batch_scheduling` set to `batch_scheduling`.
fn serve(name: &str, batch_scheduling: &str) -> Child {
    let name = format!("sched-{name}");
    let envs = [("PAYBANK_SERVER__BATCH_SCHEDULING", batch_scheduling)];
    support::serve(&name, &envs).0
}

/// The scheduling policy of each of the process's threads (field 41 of each stat line).
fn policies(pid: u32) -> Vec<u32> {
    let tasks = std::fs::read_dir(format!("/proc/{pid}/task")).expect("the threads");
    tasks
        .map(|task| {
            let stat = std::fs::read_to_string(task.expect("a thread").path().join("stat"))
                .expect("its stat");
            // The command name (field 2) may hold spaces: count the fields after it.
            let after_name = &stat[stat.rfind(')').expect("the name's end") + 2..];
            after_name
                .split(' ')
                .nth(38)
                .expect("field 41")
                .parse()
                .expect("a number")
        })
        .collect()
}

fn stop(mut child: Child) {
    let _ = child.kill();
    let _ = child.wait();
}

#[test]
fn every_thread_of_a_server_runs_batch_unless_turned_off() {
    let batch = serve("on", "true");
    let threads = policies(batch.id());
    stop(batch);
    assert!(
        threads.len() > 2,
        "the runtime's and the store's threads: {threads:?}"
    );
    assert!(
        threads.iter().all(|&policy| policy == SCHED_BATCH),
        "{threads:?}"
    );

    let other = serve("off", "false");
    let threads = policies(other.id());
    stop(other);
    assert!(
        threads.iter().all(|&policy| policy == SCHED_OTHER),
        "{threads:?}"
    );
}
