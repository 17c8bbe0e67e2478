//! Processes under test: started pinned to core 0 with `taskset`, waited for until they answer,
//! and read from `/proc` for CPU time and peak memory. The harness pins itself to core 1.

use std::ffi::OsStr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long a server may take to start answering.
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// Whether `taskset` is here to pin processes to cores.
pub fn can_pin() -> bool {
    Command::new("taskset")
        .arg("--version")
        .output()
        .is_ok_and(|out| out.status.success())
}

/// Pins this process (every thread it has and will start) to `core`; false if it could not.
pub fn pin_self(core: u32) -> bool {
    let pid = std::process::id().to_string();
    can_pin()
        && Command::new("taskset")
            .args(["-a", "-p", "-c", &core.to_string(), &pid])
            .stdout(Stdio::null())
            .status()
            .is_ok_and(|status| status.success())
}

/// The nice value the harness raises itself to, so that it and the servers it starts (which
/// inherit it) run ahead of the machine's own background work. On the bench machine the kernel's
/// DAMON reclaim (`kdamond`) works for milliseconds at a time on whichever core it lands on: on
/// the server's, every request due meanwhile waited for it, and those waits were most of (b)'s
/// p99 at 10k/s offered (BENCHMARKS.md, Open-loop latency). A nice value only shortens its turns;
/// `background` keeps it to idle CPU while the harness measures.
pub const NICE: i32 = -10;

/// Sets the calling thread's nice value to [`NICE`]; threads and processes it starts later
/// inherit it, so the harness calls this before it starts any. Needs `CAP_SYS_NICE` (root).
#[allow(unsafe_code)]
pub fn raise_priority() -> std::io::Result<()> {
    // SAFETY: setpriority takes plain integers; `who` 0 is the calling thread.
    let status = unsafe { libc::setpriority(libc::PRIO_PROCESS, 0, NICE) };
    match status {
        0 => Ok(()),
        _ => Err(std::io::Error::last_os_error()),
    }
}

/// The calling thread's nice value.
#[allow(unsafe_code)]
pub fn nice() -> i32 {
    // SAFETY: as above. -1 is also a valid answer, so errno would tell an error apart; with
    // `who` 0 there is none to tell.
    unsafe { libc::getpriority(libc::PRIO_PROCESS, 0) }
}

/// A started server, killed when dropped.
pub struct Server {
    child: Child,
    pub base: String,
    /// Milliseconds from spawn to the first answered request.
    pub start_ms: f64,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    /// Runs `program args…` pinned to core 0 and waits until `probe_path` answers on `port`.
    pub async fn start(
        program: &Path,
        args: &[&str],
        envs: &[(&str, String)],
        port: u16,
        probe_path: &str,
    ) -> anyhow::Result<Server> {
        Server::start_wrapped(&[], program, args, envs, port, probe_path).await
    }

    /// As [`Server::start`], with `program` run by `wrapper` (`valgrind --tool=callgrind …`),
    /// whose process is then the one measured and stopped.
    pub async fn start_wrapped(
        wrapper: &[String],
        program: &Path,
        args: &[&str],
        envs: &[(&str, String)],
        port: u16,
        probe_path: &str,
    ) -> anyhow::Result<Server> {
        let mut line: Vec<&OsStr> = wrapper.iter().map(OsStr::new).collect();
        line.push(program.as_os_str());
        let mut command = match can_pin() {
            true => {
                let mut command = Command::new("taskset");
                command.args(["-c", "0"]).args(&line);
                command
            }
            false => {
                let mut command = Command::new(line[0]);
                command.args(&line[1..]);
                command
            }
        };
        command
            .args(args)
            .envs(envs.iter().map(|(key, value)| (*key, value.as_str())))
            .stdout(Stdio::null())
            .stderr(Stdio::inherit());
        let started = Instant::now();
        let child = command.spawn()?;
        let base = format!("http://127.0.0.1:{port}");
        let mut server = Server {
            child,
            base: base.clone(),
            start_ms: 0.0,
        };
        server.start_ms = wait_until_answering(&format!("{base}{probe_path}"), started).await?;
        // Asked now, before any load, for the reason `ticks_per_second` gives.
        ticks_per_second();
        Ok(server)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// CPU time (user + system) the process has used so far, in microseconds.
    pub fn cpu_us(&self) -> u64 {
        cpu_us(self.pid()).unwrap_or(0)
    }

    /// The most resident memory the process has held, in bytes.
    pub fn peak_rss_bytes(&self) -> u64 {
        peak_rss_bytes(self.pid()).unwrap_or(0)
    }
}

async fn wait_until_answering(url: &str, started: Instant) -> anyhow::Result<f64> {
    let client = reqwest::Client::new();
    while started.elapsed() < START_TIMEOUT {
        if client.get(url).send().await.is_ok() {
            return Ok(started.elapsed().as_secs_f64() * 1000.0);
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    anyhow::bail!("{url} did not answer within {START_TIMEOUT:?}")
}

/// Clock ticks per second, as `/proc/<pid>/stat` counts CPU time. Asked of `getconf` once: a
/// child started at every reading was a fork of the load generator right beside its phases.
pub(crate) fn ticks_per_second() -> u64 {
    static TICKS: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    *TICKS.get_or_init(|| {
        Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|out| String::from_utf8(out.stdout).ok())
            .and_then(|text| text.trim().parse().ok())
            .unwrap_or(100)
    })
}

/// CPU time (user + system) process `pid` has used so far, in microseconds.
pub fn cpu_us(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let (_, user, kernel) = parse_stat(&stat)?;
    Some((user + kernel) * 1_000_000 / ticks_per_second())
}

/// A process's or thread's name and its user and kernel time in clock ticks, from its `stat`
/// line. The name sits in parentheses and may itself hold spaces or parentheses, so the fields
/// are counted from the last `)`.
pub(crate) fn parse_stat(stat: &str) -> Option<(&str, u64, u64)> {
    let (head, rest) = stat.rsplit_once(')')?;
    let name = head.split_once('(')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are the 14th and 15th fields, the 12th and 13th after the name.
    let user = fields.get(11)?.parse().ok()?;
    let kernel = fields.get(12)?.parse().ok()?;
    Some((name, user, kernel))
}

fn peak_rss_bytes(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|line| line.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// A free loopback port.
pub fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// Bytes under `dir`, recursively.
pub fn dir_bytes(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|entry| match entry.file_type() {
            Ok(kind) if kind.is_dir() => dir_bytes(&entry.path()),
            _ => entry.metadata().map(|meta| meta.len()).unwrap_or(0),
        })
        .sum()
}

/// Reads every file in `dir` once, so the OS page cache holds them as it would for a server
/// that has been running a while. Some machines evict cold file pages on their own (this one
/// runs DAMON's proactive reclaim, which pages out what went unread for a minute), and a read
/// scenario started right after seeding and other scenarios would otherwise measure the disk.
///
/// `cat` reads them in a child process; this process never opens them. Closing any descriptor
/// of a SQLite file drops every POSIX lock the process holds on that file, including those of
/// the seeding store's connections, which close in the background after it is dropped. The
/// server started next then found the shared-memory file unclaimed, reset it, and the seeding
/// connections still mapping it died of SIGBUS (one quick test run in three, concurrently).
pub fn warm_page_cache(dir: &Path) -> std::io::Result<()> {
    let files: Vec<_> = std::fs::read_dir(dir)?
        .flatten()
        .map(|entry| entry.path())
        .filter(|path| path.is_file())
        .collect();
    // Its exit status is not checked: SQLite deletes the `-wal` and `-shm` files when the last
    // connection closes, which may happen while `cat` runs, and a file gone has nothing to warm.
    Command::new("cat")
        .args(&files)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stat_line_gives_the_name_and_both_times() {
        let line = "4242 (paybank-writer) S 1 2 3 4 5 6 7 8 9 10 731 129 0 0 20 0 5 0 99";
        assert_eq!(parse_stat(line), Some(("paybank-writer", 731, 129)));
        // A name with a space and a parenthesis of its own.
        let odd = "7 (a (b) c) R 1 2 3 4 5 6 7 8 9 10 11 12 0 0";
        assert_eq!(parse_stat(odd), Some(("a (b) c", 11, 12)));
        assert_eq!(parse_stat("7 (short) R 1 2"), None);
    }

    #[test]
    fn the_raised_priority_is_the_threads_own_and_inherited() {
        // On a thread of its own, so the test runner's other threads keep theirs.
        let before = nice();
        let raised = std::thread::spawn(|| match raise_priority() {
            Ok(()) => Some((nice(), std::thread::spawn(nice).join().unwrap())),
            Err(error) => {
                assert_eq!(error.kind(), std::io::ErrorKind::PermissionDenied);
                None
            }
        });
        if let Some((own, child)) = raised.join().unwrap() {
            assert_eq!((own, child), (NICE, NICE));
            assert_eq!(nice(), before, "the test's own thread is left alone");
        }
    }
}
