//! Installs and runs a real XML Schema validator for the ISO 20022 tests: PyPI's `xmlschema`,
//! pinned, in a virtual environment under `<target>/third-party/xsd-venv`, driven by
//! `scripts/third-party/xsd-check`. A failed install fails the test: schema validity is a
//! requirement, not a nice-to-have that may silently go unchecked.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// The validator and its one dependency, pinned so every machine checks the same way.
const XMLSCHEMA: &str = "xmlschema==4.3.2";
const ELEMENTPATH: &str = "elementpath==5.1.4";
const XMLSCHEMA_VERSION: &str = "4.3.2";

fn manifest_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The vendored schemas (see `tests/data/fednow/README.md`).
pub fn schema_dir() -> PathBuf {
    manifest_dir().join("tests/data/fednow/xsd")
}

/// Where tests may write files: cargo's per-target temporary directory.
pub fn scratch_dir(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    std::fs::create_dir_all(&dir).expect("create the scratch directory");
    dir
}

fn script() -> PathBuf {
    manifest_dir().join("../../scripts/third-party/xsd-check")
}

fn venv_dir() -> PathBuf {
    // CARGO_TARGET_TMPDIR is `<target>/tmp`, so this honours a relocated target directory.
    let target = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .expect("the target directory");
    target.join("third-party/xsd-venv")
}

fn venv_python(venv: &Path) -> PathBuf {
    venv.join("bin/python")
}

fn run(command: &mut Command) -> Result<String, String> {
    let shown = format!("{command:?}");
    let output = command
        .output()
        .map_err(|err| format!("cannot run {shown}: {err}"))?;
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    if output.status.success() {
        return Ok(stdout);
    }
    let stderr = String::from_utf8_lossy(&output.stderr);
    Err(format!(
        "{shown} failed ({}):\n{stdout}\n{stderr}",
        output.status
    ))
}

fn is_installed(venv: &Path) -> bool {
    let check =
        format!("import xmlschema, sys; sys.exit(xmlschema.__version__ != '{XMLSCHEMA_VERSION}')");
    Command::new(venv_python(venv))
        .args(["-c", &check])
        .output()
        .is_ok_and(|output| output.status.success())
}

/// Builds the environment beside its final place and renames it there, so a half-built one is
/// never mistaken for a working one and parallel test binaries do not trip over each other.
fn install(venv: &Path) -> Result<(), String> {
    let building = venv.with_extension(format!("building-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&building);
    run(Command::new("python3").arg("-m").arg("venv").arg(&building))?;
    run(Command::new(venv_python(&building)).args([
        "-m",
        "pip",
        "install",
        "--disable-pip-version-check",
        "--no-input",
        "--quiet",
        XMLSCHEMA,
        ELEMENTPATH,
    ]))?;
    if is_installed(venv) {
        // Another test binary finished first; keep its environment.
        let _ = std::fs::remove_dir_all(&building);
        return Ok(());
    }
    let _ = std::fs::remove_dir_all(venv);
    std::fs::rename(&building, venv).map_err(|err| {
        format!(
            "cannot move {} to {}: {err}",
            building.display(),
            venv.display()
        )
    })
}

/// The python of a virtual environment with the pinned validator, installed on first use.
/// Panics with the installer's output when the install fails.
pub fn validator_python() -> &'static Path {
    static PYTHON: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    let python = PYTHON.get_or_init(|| {
        let venv = venv_dir();
        if !is_installed(&venv) {
            install(&venv)?;
        }
        Ok(venv_python(&venv))
    });
    match python {
        Ok(python) => python,
        Err(err) => panic!("installing the XML Schema validator ({XMLSCHEMA}) failed: {err}"),
    }
}

/// Validates the ISO parts of `files` against the vendored schemas: `Ok` with the checker's
/// report (`ok FILE DEFINITION` per part) or `Err` with everything it said.
pub fn xsd_check(files: &[PathBuf]) -> Result<String, String> {
    let mut command = Command::new(validator_python());
    command.arg(script()).arg(schema_dir()).args(files);
    run(&mut command)
}
