//! `cargo xtask`: repository maintenance commands, written in std-only Rust so they run
//! anywhere cargo does, even while the rest of the workspace does not compile.

mod tidy;

use std::process::ExitCode;

const USAGE: &str = "usage: cargo xtask tidy\n\n  tidy    check repository rules (also run by `cargo test --workspace`)";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    match args.as_slice() {
        ["tidy"] => run_tidy(),
        ["help" | "--help" | "-h"] => {
            println!("{USAGE}");
            ExitCode::SUCCESS
        }
        _ => {
            eprintln!("{USAGE}");
            ExitCode::from(2)
        }
    }
}

/// Prints every problem, then fails once, so a single run shows all that needs fixing.
fn run_tidy() -> ExitCode {
    let failures = tidy::run(&tidy::repo_root());
    if failures.is_empty() {
        println!("tidy: all checks passed");
        return ExitCode::SUCCESS;
    }
    for failure in &failures {
        eprintln!("{failure}");
    }
    eprintln!("tidy: {} problem(s) found", failures.len());
    ExitCode::from(1)
}
