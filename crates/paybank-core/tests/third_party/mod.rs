//! Runs NACHA files through an independent third-party validator, so a file paybank writes is
//! known to be readable by software that is not paybank's own reader.
//!
//! The validator (achlens, see `scripts/third-party/nacha-check` for why this one) is pinned
//! and installed from PyPI into a virtual environment under `<workspace>/target/third-party/`
//! the first time a test needs it, so a fresh clone on a machine with `python3` sets itself
//! up. A failed install is a test failure, never a skip: a check that silently did not run
//! would prove nothing.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// The packages installed, pinned. `--no-deps` keeps achlens's MCP-server dependencies out:
/// only `achlens.core` is used, and it needs just PyYAML.
const PACKAGES: &[&str] = &["achlens==0.1.7", "PyYAML==6.0.2"];

pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A scratch directory for files under test, emptied first.
pub fn scratch_dir(name: &str) -> PathBuf {
    let dir = workspace_root().join("target/third-party/files").join(name);
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).expect("create the scratch directory");
    dir
}

/// Checks each `(path, entry count)` with the third-party validator; `Err` carries its
/// findings.
pub fn check_files(files: &[(PathBuf, usize)]) -> Result<(), String> {
    let python = python()?;
    let script = workspace_root().join("scripts/third-party/nacha-check");
    let arguments = files
        .iter()
        .map(|(path, entries)| format!("{}:{entries}", path.display()));
    let output = Command::new(python)
        .arg(script)
        .args(arguments)
        .output()
        .map_err(|err| format!("cannot run nacha-check: {err}"))?;
    if output.status.success() {
        return Ok(());
    }
    Err(format!(
        "nacha-check failed ({}):\n{}{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    ))
}

/// The virtual environment's Python, installing it once per test process.
fn python() -> Result<PathBuf, String> {
    static PYTHON: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    PYTHON.get_or_init(install).clone()
}

fn install() -> Result<PathBuf, String> {
    let venv = workspace_root().join("target/third-party/nacha-venv");
    let python = venv.join("bin/python");
    // The marker is written last and names the pins, so an interrupted or outdated install is
    // redone rather than trusted.
    let marker = venv.join("paybank-installed.txt");
    let wanted = PACKAGES.join("\n");
    if fs::read_to_string(&marker).is_ok_and(|found| found == wanted) && python.exists() {
        return Ok(python);
    }
    let _ = fs::remove_dir_all(&venv);
    run(Command::new("python3").args(["-m", "venv"]).arg(&venv))?;
    run(Command::new(&python)
        .args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
        ])
        .args(["--no-deps", "--only-binary", ":all:"])
        .args(PACKAGES))?;
    fs::write(&marker, wanted).map_err(|err| format!("cannot write {marker:?}: {err}"))?;
    Ok(python)
}

fn run(command: &mut Command) -> Result<(), String> {
    let output = command
        .output()
        .map_err(|err| format!("cannot start {command:?}: {err}"))?;
    if output.status.success() {
        return Ok(());
    }
    Err(format!(
        "installing the third-party NACHA validator failed: {command:?} exited with {}:\n{}{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    ))
}
