//! `paybank serve` stops on SIGTERM, as service managers and containers stop it, the way it
//! stops on Ctrl-C: it stops taking connections, answers what is in flight, stops its workers
//! and exits with success, the WAL emptied, rather than being ended by the signal mid-request.
#![cfg(target_os = "linux")]

use std::process::Command;
use std::time::{Duration, Instant};

mod support;

#[test]
fn a_server_stops_cleanly_on_sigterm() {
    let (mut child, dir) = support::serve("stop", &[]);
    let sent = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("run kill");
    assert!(sent.success());
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = child.try_wait().expect("the server's status") {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "still running 30 s after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(
        status.code(),
        Some(0),
        "ended by the signal, not stopped: {status}"
    );
    // The demo merchant made at start was a commit; the WAL holding it is emptied on the way out.
    let wal = std::fs::metadata(dir.join("paybank.db-wal")).map_or(0, |file| file.len());
    assert_eq!(wal, 0, "the WAL was left behind");
    let _ = std::fs::remove_dir_all(&dir);
}
