//! `paybank serve` runs every one of its threads under `SCHED_BATCH` on Linux, unless
//! `server.batch_scheduling` is off.
#![cfg(target_os = "linux")]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

/// Linux's number for `SCHED_BATCH` (and 0 for the default policy, `SCHED_OTHER`).
const SCHED_BATCH: u32 = 3;
const SCHED_OTHER: u32 = 0;

/// A server on a free loopback port with a data directory of its own, once it says it listens.
fn serve(name: &str, batch_scheduling: &str) -> Child {
    let dir = std::env::temp_dir().join(format!("paybank-sched-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create the data directory");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
        .port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_paybank"))
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .env("PAYBANK_DATA_DIR", &dir)
        .env_remove("PAYBANK_DATABASE_URL")
        .env("PAYBANK_SERVER__BATCH_SCHEDULING", batch_scheduling)
        .stdout(Stdio::piped())
        .spawn()
        .expect("start paybank serve");
    // Read its output to the end on a thread of its own: a server writing to a pipe no one
    // reads would fail at its next line.
    let stdout = child.stdout.take().expect("its output");
    let (said, listening) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if line.contains("listening") {
                let _ = said.send(());
            }
        }
    });
    let waited = listening.recv_timeout(std::time::Duration::from_secs(60));
    assert!(waited.is_ok(), "paybank serve never said it listens");
    child
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
