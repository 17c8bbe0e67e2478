//! (f) Instructions per request: (a)'s read, (b)'s capture on SQLite and the ceiling's bare
//! answer, each server run under valgrind's callgrind and counted over a fixed number of
//! requests. Unlike time, the count does not move with how fast the host is this hour, so two
//! builds can be compared to a per cent; the profile it leaves (`callgrind_annotate`) says
//! where the instructions go.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use crate::load::{counted_loop, Call, Calls, Outcome, Target};
use crate::process::{free_port, Server};
use crate::report::{Report, Row};
use crate::scenarios::{capture_calls, first_body_bytes, fresh_dir, merchant_target, read_calls};
use crate::seed::{config, seed};
use crate::writer_note::{writer_stats, writer_stats_since};
use crate::Options;
use paybank_store::WriterStats;

const SCENARIO: &str = "(f) instructions per request, under callgrind";

/// Connections sending at once: as many as the closed-loop peaks of (a) and (b), so group
/// commit packs captures as it does there.
const CONNECTIONS: usize = 64;

/// How many requests a phase sends before it counts (caches filled, connections open), and
/// how many it counts.
struct Counts {
    warm: u64,
    counted: u64,
}

impl Counts {
    fn of(options: &Options) -> Counts {
        match options.quick {
            true => Counts {
                warm: 64,
                counted: 128,
            },
            false => Counts {
                warm: 2_000,
                counted: 4_000,
            },
        }
    }
}

/// Runs (f), or says why it cannot: valgrind is not installed.
pub async fn instructions(options: &Options, report: &mut Report) -> anyhow::Result<()> {
    if !valgrind_found() {
        report.push(Row {
            scenario: SCENARIO.to_owned(),
            system: "paybank".to_owned(),
            note: "skipped: valgrind not found (Debian's package valgrind)".to_owned(),
            ..Row::default()
        });
        return Ok(());
    }
    let counts = Counts::of(options);
    let dir = fresh_dir(options, "instructions")?;
    let authorizations = (counts.warm + counts.counted) as usize;
    let seeded = seed(config(&dir, ""), authorizations).await?;
    let ids = Arc::new(seeded.authorizations);
    let server = start_counted_paybank(options, &dir).await?;
    let target = merchant_target(&server, &seeded.merchant);
    let answer_bytes = first_body_bytes(&target, &ids[0]).await?;
    let reads = read_calls(&ids);
    let outcome = count(&server, &target, reads, &counts, &dir).await?;
    report.push(row("paybank: GET /transactions/{id}", &outcome, &counts));
    let captures = capture_calls(&ids);
    let outcome = count(&server, &target, captures, &counts, &dir).await?;
    report.push(row("paybank: durable capture, SQLite", &outcome, &counts));
    drop(server);
    let ceiling = start_counted_ceiling(options, &dir, answer_bytes).await?;
    let target = Target::new(ceiling.base.clone(), None);
    let outcome = count(&ceiling, &target, reads_of_ceiling(), &counts, &dir).await?;
    report.push(row("axum: bare answer of the same size", &outcome, &counts));
    Ok(())
}

/// What one counted phase sent, the instructions the server ran meanwhile, and what its
/// group-commit writer did (paybank only).
struct Counted {
    outcome: Outcome,
    instructions: u64,
    /// Of them, the checkpoint thread's, copying the WAL back into the database file.
    checkpoints: u64,
    writer: Option<WriterStats>,
}

fn row(system: &str, counted: &Counted, counts: &Counts) -> Row {
    let requests = (counted.outcome.ok + counted.outcome.errors).max(1);
    let mut row = Row {
        scenario: SCENARIO.to_owned(),
        system: system.to_owned(),
        ok: Some(counted.outcome.ok),
        errors: Some(counted.outcome.errors),
        instructions_per_request: Some(counted.instructions as f64 / requests as f64),
        note: format!(
            "{} requests from {CONNECTIONS} connections counted, after {} not counted",
            counts.counted, counts.warm
        ),
        ..Row::default()
    };
    // The checkpoint thread copies the WAL back as it fills, in passes of thousands of pages,
    // so how many fall inside a phase moves its count by several per cent between runs; the
    // other threads' repeat to about 0.2 %. Reads leave it only its idle checks, not worth a
    // word.
    if counted.checkpoints * 200 > counted.instructions {
        row.add_note(&format!(
            "of which {:.0} copying the WAL back into the database, which varies from run to \
             run ({:.0} without)",
            counted.checkpoints as f64 / requests as f64,
            (counted.instructions - counted.checkpoints) as f64 / requests as f64
        ));
    }
    // Group commit shares a commit's cost among its captures, so the count depends on how
    // many each commit held.
    if let Some(writer) = counted.writer.as_ref().filter(|writer| writer.batches > 0) {
        row.add_note(&format!(
            "{} commits of {:.1} commands each on average",
            writer.batches,
            writer.commands as f64 / writer.batches as f64
        ));
    }
    row
}

/// Sends the phase's unmeasured requests, then its counted ones with callgrind's
/// instrumentation on, and reads the instructions from the dump taken right after them.
async fn count(
    server: &Server,
    target: &Target,
    calls: Calls,
    counts: &Counts,
    dir: &Path,
) -> anyhow::Result<Counted> {
    counted_loop(target, calls.clone(), CONNECTIONS, (0, counts.warm)).await;
    let writer_before = writer_stats(&target.client, &target.base).await;
    callgrind_control(server.pid(), "--instr=on")?;
    let outcome = counted_loop(target, calls, CONNECTIONS, (counts.warm, counts.counted)).await;
    let before = dumps(dir, server.pid())?;
    callgrind_control(server.pid(), "--dump")?;
    callgrind_control(server.pid(), "--instr=off")?;
    let (mut instructions, mut checkpoints) = (0, 0);
    // One file per thread.
    for dump in new_dumps(dir, server.pid(), &before)? {
        let text = std::fs::read_to_string(&dump)?;
        let thread = totals(&text)
            .ok_or_else(|| anyhow::anyhow!("{} has no totals line", dump.display()))?;
        instructions += thread;
        if text.contains(CHECKPOINT_THREAD) {
            checkpoints += thread;
        }
    }
    let writer = writer_stats_since(&target.client, &target.base, writer_before).await;
    Ok(Counted {
        outcome,
        instructions,
        checkpoints,
        writer,
    })
}

fn reads_of_ceiling() -> Calls {
    Arc::new(|_| Call {
        post: false,
        path: "/".to_owned(),
        form: None,
    })
}

/// callgrind, counting nothing until told to, its dumps into `dir`.
fn wrapper(dir: &Path) -> Vec<String> {
    vec![
        "valgrind".to_owned(),
        "--quiet".to_owned(),
        "--tool=callgrind".to_owned(),
        "--instr-atstart=no".to_owned(),
        "--separate-threads=yes".to_owned(),
        format!("--callgrind-out-file={}/callgrind.out.%p", dir.display()),
    ]
}

async fn start_counted_paybank(options: &Options, dir: &Path) -> anyhow::Result<Server> {
    let port = free_port()?;
    let envs = [
        ("PAYBANK_DATA_DIR", dir.display().to_string()),
        ("PAYBANK_LISTEN", format!("127.0.0.1:{port}")),
        ("PAYBANK_DEMO__ENABLED", "false".to_owned()),
        ("PAYBANK_WORKERS__ENABLED", "false".to_owned()),
        ("PAYBANK_LOG", "warn".to_owned()),
        ("PAYBANK_SERVER__METRICS", "true".to_owned()),
    ];
    let args = ["serve"];
    Server::start_wrapped(
        &wrapper(dir),
        &options.exe,
        &args,
        &envs,
        port,
        "/api/v1/nothing",
    )
    .await
}

async fn start_counted_ceiling(
    options: &Options,
    dir: &Path,
    answer_bytes: usize,
) -> anyhow::Result<Server> {
    let port = free_port()?;
    let listen = format!("127.0.0.1:{port}");
    let bytes = answer_bytes.to_string();
    let args = ["bench-ceiling", "--listen", &listen, "--body-bytes", &bytes];
    Server::start_wrapped(&wrapper(dir), &options.exe, &args, &[], port, "/").await
}

fn valgrind_found() -> bool {
    Command::new("valgrind")
        .arg("--version")
        .output()
        .is_ok_and(|output| output.status.success())
}

/// Runs `callgrind_control <option> <pid>`, which returns once the server has done it.
fn callgrind_control(pid: u32, option: &str) -> anyhow::Result<()> {
    let output = Command::new("callgrind_control")
        .args([option, &pid.to_string()])
        .output()?;
    anyhow::ensure!(
        output.status.success(),
        "callgrind_control {option} {pid}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    Ok(())
}

/// The dump files callgrind has written for `pid` in `dir` so far.
fn dumps(dir: &Path, pid: u32) -> anyhow::Result<Vec<PathBuf>> {
    let prefix = format!("callgrind.out.{pid}");
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        let name = path.file_name().and_then(|name| name.to_str());
        if name.is_some_and(|name| name.starts_with(&prefix)) {
            found.push(path);
        }
    }
    Ok(found)
}

/// The dump files written since `before` was listed: one per thread.
fn new_dumps(dir: &Path, pid: u32, before: &[PathBuf]) -> anyhow::Result<Vec<PathBuf>> {
    let new: Vec<PathBuf> = dumps(dir, pid)?
        .into_iter()
        .filter(|path| !before.contains(path))
        .collect();
    anyhow::ensure!(
        !new.is_empty(),
        "callgrind wrote no dump in {}",
        dir.display()
    );
    Ok(new)
}

/// What marks the dump of the thread that copies the WAL back into the database file: its
/// code's file (the compiler inlines its functions into the thread's closure, so their names
/// do not appear), which nothing on other threads runs.
const CHECKPOINT_THREAD: &str = "paybank-store/src/checkpointer.rs";

/// The instructions a callgrind dump counts in all: its `totals:` line, whose first number is
/// the instructions run, or else its `summary:` line (the same count, in the file's header;
/// in a thread's dump it can be wrong, wrapped below zero).
fn totals(dump: &str) -> Option<u64> {
    let first_number = |prefix: &str| {
        dump.lines()
            .find_map(|line| line.strip_prefix(prefix))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|first| first.parse().ok())
    };
    first_number("totals:").or_else(|| first_number("summary:"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dumps_totals_are_its_first_number_after_totals_or_summary() {
        let dump =
            "version: 1\ncreator: callgrind-3.19.0\nevents: Ir\nfn=main\n1 5\ntotals: 123456\n";
        assert_eq!(totals(dump), Some(123_456));
        let thread = "summary: 18446744073687291925\nfn=main\n1 5\ntotals: 332059544 0\n";
        assert_eq!(totals(thread), Some(332_059_544));
        assert_eq!(totals("events: Ir Dr\nsummary: 42 7\n"), Some(42));
        assert_eq!(totals("events: Ir\nfn=main\n1 5\n"), None);
    }
}
