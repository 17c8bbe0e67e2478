//! `paybank bench --quick` runs end to end, so the benchmark harness never rots. It asserts
//! that every scenario ran and answered without errors, never how fast: speed is measured by
//! the full benchmark, not by tests.

use std::process::Command;

#[test]
fn the_quick_benchmark_runs_every_scenario_without_errors() {
    let out = std::env::temp_dir().join(format!("paybank-bench-quick-{}", std::process::id()));
    let status = Command::new(env!("CARGO_BIN_EXE_paybank"))
        .args(["bench", "--quick", "--out"])
        .arg(&out)
        .status()
        .expect("run paybank bench");
    assert!(status.success());
    let json = std::fs::read_to_string(out.join("bench.json")).expect("bench.json");
    let report: serde_json::Value = serde_json::from_str(&json).expect("JSON");
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
    for scenario in scenarios {
        let found = rows.iter().filter(|row| {
            row["scenario"]
                .as_str()
                .is_some_and(|name| name.starts_with(scenario))
        });
        assert!(found.count() >= 1, "{scenario} missing from {json}");
    }
    for row in rows.iter().filter(|row| row["ok"].is_u64()) {
        assert!(row["ok"].as_u64() > Some(0), "{row}");
        assert_eq!(row["errors"], 0, "{row}");
    }
    assert!(std::fs::read_to_string(out.join("bench.md")).is_ok());
    let _ = std::fs::remove_dir_all(&out);
}
