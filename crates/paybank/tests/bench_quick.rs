//! `paybank bench --quick` runs end to end, so the benchmark harness never rots. It asserts
//! that every scenario ran and answered without errors, never how fast: speed is measured by
//! the full benchmark, not by tests.

use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;

/// Runs `paybank bench --quick` with `args` into a fresh folder named after `name`; returns
/// the folder and its `bench.json`.
fn quick_bench(name: &str, args: &[&str]) -> (PathBuf, Value) {
    let out = std::env::temp_dir().join(format!("paybank-{name}-{}", std::process::id()));
    let status = Command::new(env!("CARGO_BIN_EXE_paybank"))
        .args(["bench", "--quick", "--out"])
        .arg(&out)
        .args(args)
        .status()
        .expect("run paybank bench");
    assert!(
        status.success(),
        "paybank bench {args:?} ended with {status}"
    );
    let json = std::fs::read_to_string(out.join("bench.json")).expect("bench.json");
    (out, serde_json::from_str(&json).expect("JSON"))
}

fn assert_has_scenarios(rows: &[Value], scenarios: &[&str]) {
    for scenario in scenarios {
        let found = rows.iter().filter(|row| {
            row["scenario"]
                .as_str()
                .is_some_and(|name| name.starts_with(scenario))
        });
        assert!(found.count() >= 1, "{scenario} missing from {rows:?}");
    }
}

fn assert_no_errors(rows: &[Value]) {
    for row in rows.iter().filter(|row| row["ok"].is_u64()) {
        assert!(row["ok"].as_u64() > Some(0), "{row}");
        assert_eq!(row["errors"], 0, "{row}");
    }
}

/// (f)'s rows each count the instructions per request, unless valgrind is missing, which its
/// one row then says.
fn assert_counted_instructions(rows: &[Value]) {
    let counted: Vec<&Value> = rows
        .iter()
        .filter(|row| {
            row["scenario"]
                .as_str()
                .is_some_and(|name| name.starts_with("(f)"))
        })
        .collect();
    if let [row] = counted[..] {
        if row["note"].as_str() == Some("skipped: valgrind not found (Debian's package valgrind)") {
            return;
        }
    }
    assert_eq!(counted.len(), 3, "{counted:?}");
    for row in counted {
        assert!(
            row["instructionsPerRequest"].as_f64() > Some(1_000.0),
            "{row}"
        );
    }
}

#[test]
fn the_quick_benchmark_runs_every_scenario_without_errors() {
    let (out, report) = quick_bench("bench-quick", &[]);
    let rows = report["rows"].as_array().expect("rows");
    // (b) on PostgreSQL runs only where PostgreSQL answers; its skipped row has no counts.
    let scenarios = [
        "(a) GET",
        "(a) ceiling",
        "(b) durable capture, SQLite",
        "(b) durable capture, PostgreSQL",
        "(c) full flow",
        "(d) event fan-out",
        "(e) NACHA",
        "(f) instructions per request",
    ];
    assert_has_scenarios(rows, &scenarios);
    assert_no_errors(rows);
    assert_counted_instructions(rows);
    // The server's /metrics reached the harness: both (b) rows on SQLite, and both of (c)'s
    // load rows, say what the writer did.
    let writes = rows.iter().filter(|row| {
        row["scenario"] == "(b) durable capture, SQLite"
            || (row["scenario"] == "(c) full flow"
                && row["system"]
                    .as_str()
                    .is_some_and(|system| !system.contains("events")))
    });
    for row in writes {
        let note = row["note"].as_str().unwrap_or_default();
        assert!(
            note.contains("writer: ") && note.contains(" commits/s"),
            "{row}"
        );
    }
    assert!(report.get("runs").is_none(), "one run is written as before");
    assert!(std::fs::read_to_string(out.join("bench.md")).is_ok());
    let _ = std::fs::remove_dir_all(&out);
}

/// Two runs over one seeded read store: every run answers without errors, and the merge has
/// one row per row of a run, each saying it is a median of both.
#[test]
fn the_quick_benchmark_merges_two_runs_into_medians() {
    let (out, report) = quick_bench("bench-runs", &["--runs", "2", "--only", "abe"]);
    let runs = report["runs"].as_array().expect("each run's report");
    assert_eq!(runs.len(), 2);
    for run in runs {
        assert_no_errors(run["rows"].as_array().expect("a run's rows"));
    }
    let rows = report["rows"].as_array().expect("merged rows");
    let scenarios = ["(a) GET", "(a) ceiling", "(b) durable capture", "(e) NACHA"];
    assert_has_scenarios(rows, &scenarios);
    assert_eq!(Some(rows.len()), runs[0]["rows"].as_array().map(Vec::len));
    assert_no_errors(rows);
    for row in rows.iter().filter(|row| row["achievedRate"].is_f64()) {
        let note = row["note"].as_str().unwrap_or_default();
        assert!(note.contains("median of 2 runs (achieved/s: "), "{row}");
    }
    let markdown = std::fs::read_to_string(out.join("bench.md")).expect("bench.md");
    assert!(markdown.contains("Per run, in order:"), "{markdown}");
    let _ = std::fs::remove_dir_all(&out);
}

/// Interrupted while a server under test runs, the harness stops that server before it exits,
/// instead of leaving it running pinned to a core.
#[test]
fn an_interrupted_benchmark_stops_its_servers() {
    let out = std::env::temp_dir().join(format!("paybank-bench-signal-{}", std::process::id()));
    let mut bench = Command::new(env!("CARGO_BIN_EXE_paybank"))
        .args([
            "bench",
            "--quick",
            "--no-peers",
            "--only",
            "a",
            "--phase-seconds",
            "30",
        ])
        .arg("--out")
        .arg(&out)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("run paybank bench");
    let server = wait_for_server_child(bench.id());
    let kill = Command::new("kill")
        .args(["-INT", &bench.id().to_string()])
        .status()
        .expect("send SIGINT");
    assert!(kill.success());
    let status = bench.wait().expect("wait for the harness");
    let _ = std::fs::remove_dir_all(&out);
    assert!(!status.success(), "the interrupted run said it succeeded");
    let left_running = alive(server);
    if left_running {
        let _ = Command::new("kill").arg(server.to_string()).status();
    }
    assert!(
        !left_running,
        "server {server} still ran after the harness stopped"
    );
}

/// The pid of the harness's child running `paybank serve`, once it has one (at most 60 s).
fn wait_for_server_child(harness: u32) -> u32 {
    for _ in 0..600 {
        let tasks =
            std::fs::read_dir(format!("/proc/{harness}/task")).expect("the harness's tasks");
        for task in tasks.flatten() {
            let children =
                std::fs::read_to_string(task.path().join("children")).unwrap_or_default();
            for child in children.split_whitespace() {
                let cmdline = std::fs::read(format!("/proc/{child}/cmdline")).unwrap_or_default();
                if String::from_utf8_lossy(&cmdline).contains("serve") {
                    return child.parse().expect("a pid");
                }
            }
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    panic!("the harness started no server within 60 s");
}

/// Whether the process exists and is not a zombie.
fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        stat.rsplit(')')
            .next()
            .is_some_and(|rest| !rest.trim_start().starts_with('Z'))
    })
}
