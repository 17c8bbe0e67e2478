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
    ];
    assert_has_scenarios(rows, &scenarios);
    assert_no_errors(rows);
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
