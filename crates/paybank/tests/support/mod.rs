//! What the tests that run `paybank serve` as a process share: a server started on a free
//! loopback port with a data directory of its own.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

/// Starts `paybank serve` on a free loopback port, in a fresh data directory named after
/// `name` (returned beside the process), with `envs` set, once it says it listens.
pub fn serve(name: &str, envs: &[(&str, &str)]) -> (Child, PathBuf) {
    let dir = std::env::temp_dir().join(format!("paybank-{name}-{}", std::process::id()));
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
        .envs(envs.iter().copied())
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
    (child, dir)
}
