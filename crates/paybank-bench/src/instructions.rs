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
use crate::scenarios::{fresh_dir, merchant_target};
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
    let read_path = format!("/api/v1/transactions/{}", ids[0]);
    let answer_bytes = answer_bytes(&target, &read_path).await?;
    let reads = reads(&ids);
    let outcome = count(&server, &target, reads, &counts, &dir).await?;
    report.push(row("paybank: GET /transactions/{id}", &outcome, &counts));
    let captures = captures(&ids);
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
    /// Of them, SQLite's checkpoints copying the WAL back into the database file.
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
    // rest repeats to about 0.1 %.
    if counted.checkpoints > 0 {
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
    let dump = newest_dump(dir, server.pid(), &before)?;
    let instructions = totals(&std::fs::read_to_string(&dump)?)
        .ok_or_else(|| anyhow::anyhow!("{} has no totals line", dump.display()))?;
    let writer = writer_stats_since(&target.client, &target.base, writer_before).await;
    Ok(Counted {
        outcome,
        instructions,
        checkpoints: inclusive(&dump, CHECKPOINT).unwrap_or(0).min(instructions),
        writer,
    })
}

fn reads(ids: &Arc<Vec<String>>) -> Calls {
    let ids = ids.clone();
    Arc::new(move |n| Call {
        post: false,
        path: format!("/api/v1/transactions/{}", ids[n as usize % ids.len()]),
        form: None,
    })
}

/// Captures of $1.00, one per authorization in each phase; references never repeat.
fn captures(ids: &Arc<Vec<String>>) -> Calls {
    let ids = ids.clone();
    Arc::new(move |n| Call {
        post: true,
        path: format!(
            "/api/v1/transactions/{}/capture",
            ids[n as usize % ids.len()]
        ),
        form: Some(format!("merchantReference=instr-{n}&amount=1.00")),
    })
}

fn reads_of_ceiling() -> Calls {
    Arc::new(|_| Call {
        post: false,
        path: "/".to_owned(),
        form: None,
    })
}

async fn answer_bytes(target: &Target, path: &str) -> anyhow::Result<usize> {
    let (user, key) = target.credentials.clone().unwrap_or_default();
    let response = target
        .client
        .get(format!("{}{path}", target.base))
        .basic_auth(user, Some(key))
        .send()
        .await?
        .error_for_status()?;
    Ok(response.bytes().await?.len())
}

/// callgrind, counting nothing until told to, its dumps into `dir`.
fn wrapper(dir: &Path) -> Vec<String> {
    vec![
        "valgrind".to_owned(),
        "--quiet".to_owned(),
        "--tool=callgrind".to_owned(),
        "--instr-atstart=no".to_owned(),
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

/// The one dump written since `before` was listed.
fn newest_dump(dir: &Path, pid: u32, before: &[PathBuf]) -> anyhow::Result<PathBuf> {
    let mut new: Vec<PathBuf> = dumps(dir, pid)?
        .into_iter()
        .filter(|path| !before.contains(path))
        .collect();
    anyhow::ensure!(
        new.len() == 1,
        "expected one new callgrind dump, found {new:?}"
    );
    Ok(new.remove(0))
}

/// SQLite's function that copies the WAL back into the database file.
const CHECKPOINT: &str = "sqlite3WalCheckpoint";

/// The instructions `function` and everything it called ran, from `callgrind_annotate`; `None`
/// where the tool is missing or the function never ran.
fn inclusive(dump: &Path, function: &str) -> Option<u64> {
    let output = Command::new("callgrind_annotate")
        .args(["--inclusive=yes", "--auto=no", "--threshold=100"])
        .arg(dump)
        .output()
        .ok()?;
    inclusive_in(&String::from_utf8_lossy(&output.stdout), function)
}

/// `function`'s count in `callgrind_annotate`'s listing, whose lines read
/// `  1,234 (0.5%)  file.c:function [object]`.
fn inclusive_in(listing: &str, function: &str) -> Option<u64> {
    let ending = format!(":{function} [");
    let line = listing.lines().find(|line| line.contains(&ending))?;
    let count = line.split_whitespace().next()?;
    count.replace(',', "").parse().ok()
}

/// The instructions a callgrind dump counts in all: its `totals:` line (`summary:` in older
/// versions), whose first number is the instructions run.
fn totals(dump: &str) -> Option<u64> {
    dump.lines()
        .find_map(|line| {
            line.strip_prefix("totals:")
                .or_else(|| line.strip_prefix("summary:"))
        })
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|first| first.parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dumps_totals_are_its_first_number_after_totals_or_summary() {
        let dump =
            "version: 1\ncreator: callgrind-3.19.0\nevents: Ir\nfn=main\n1 5\ntotals: 123456\n";
        assert_eq!(totals(dump), Some(123_456));
        assert_eq!(totals("events: Ir Dr\nsummary: 42 7\n"), Some(42));
        assert_eq!(totals("events: Ir\nfn=main\n1 5\n"), None);
    }

    #[test]
    fn a_functions_inclusive_count_is_read_off_its_line_in_the_listing() {
        let listing = "\
--------------------------------------------------------------------------------
Ir                   file:function
--------------------------------------------------------------------------------
612,387,226 (100.0%)  PROGRAM TOTALS
 43,845,102 ( 7.44%)  /src/sqlite3.c:sqlite3WalCheckpoint [/bin/paybank]
 43,769,012 ( 7.43%)  /src/sqlite3.c:walCheckpoint [/bin/paybank]
";
        assert_eq!(inclusive_in(listing, CHECKPOINT), Some(43_845_102));
        assert_eq!(inclusive_in(listing, "walCheckpoint"), Some(43_769_012));
        assert_eq!(inclusive_in(listing, "sqlite3_step"), None);
    }
}
