//! `paybank serve` stops on SIGTERM, as service managers and containers stop it, the way it
//! stops on Ctrl-C: it stops taking connections, answers what is in flight, stops its workers
//! and exits with success, the WAL emptied, rather than being ended by the signal mid-request.
#![cfg(target_os = "linux")]

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[test]
fn a_server_stops_cleanly_on_sigterm() {
    let dir = std::env::temp_dir().join(format!("paybank-stop-{}", std::process::id()));
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
        .stdout(Stdio::piped())
        .spawn()
        .expect("start paybank serve");
    let stdout = child.stdout.take().expect("its output");
    let (said, listening) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if line.contains("listening") {
                let _ = said.send(());
            }
        }
    });
    let waited = listening.recv_timeout(Duration::from_secs(60));
    assert!(waited.is_ok(), "paybank serve never said it listens");
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
