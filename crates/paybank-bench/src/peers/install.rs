//! Installing the peers into the cache directory with their ordinary clients (npm for Prism, a
//! virtual environment and pip for localstripe), pinned to one version each. An install that
//! fails because its registry cannot be reached skips that peer; any other failure is an error,
//! since a broken install would silently drop a comparison the benchmark promises.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The Prism release compared with (`npm view @stoplight/prism-cli versions`: 5.16.0 is the
/// only 5.16 release).
pub const PRISM_VERSION: &str = "5.16.0";
/// The localstripe release compared with.
pub const LOCALSTRIPE_VERSION: &str = "1.15.10";

/// What a peer's install came to.
#[derive(Debug, PartialEq)]
pub enum Installed {
    /// Ready to run, at this version.
    Ready(String),
    /// Not installed because its registry could not be reached; says why.
    Skipped(String),
}

/// A program and its arguments, built apart from running them so they can be checked.
#[derive(Debug, PartialEq)]
pub struct CommandLine {
    pub program: String,
    pub args: Vec<String>,
}

pub fn prism_dir(cache: &Path) -> PathBuf {
    cache.join("prism")
}

/// The script node runs: started directly (not through `npx` or the `.bin` shim), so the
/// process the harness spawns is the one serving and its CPU time is Prism's.
pub fn prism_entry(cache: &Path) -> PathBuf {
    prism_dir(cache).join("node_modules/@stoplight/prism-cli/dist/index.js")
}

pub fn localstripe_venv(cache: &Path) -> PathBuf {
    cache.join("localstripe")
}

pub fn localstripe_python(cache: &Path) -> PathBuf {
    localstripe_venv(cache).join("bin/python")
}

/// `npm install` of the pinned Prism into its own prefix, with few retries so an unreachable
/// registry is reported in seconds rather than minutes.
pub fn prism_commands(cache: &Path) -> Vec<CommandLine> {
    vec![CommandLine {
        program: "npm".to_owned(),
        args: [
            "install",
            "--prefix",
            &prism_dir(cache).display().to_string(),
            "--no-audit",
            "--no-fund",
            "--fetch-retries",
            "1",
            &format!("@stoplight/prism-cli@{PRISM_VERSION}"),
        ]
        .map(str::to_owned)
        .to_vec(),
    }]
}

/// A virtual environment, then `pip install` of the pinned localstripe into it.
pub fn localstripe_commands(cache: &Path) -> Vec<CommandLine> {
    let venv = localstripe_venv(cache).display().to_string();
    let pip = localstripe_venv(cache)
        .join("bin/pip")
        .display()
        .to_string();
    vec![
        CommandLine {
            program: "python3".to_owned(),
            args: ["-m", "venv", &venv].map(str::to_owned).to_vec(),
        },
        CommandLine {
            program: pip,
            args: [
                "install",
                "--disable-pip-version-check",
                "--retries",
                "1",
                "--timeout",
                "20",
                &format!("localstripe=={LOCALSTRIPE_VERSION}"),
            ]
            .map(str::to_owned)
            .to_vec(),
        },
    ]
}

/// Prism, installed unless the pinned version already is.
pub fn ensure_prism(cache: &Path) -> anyhow::Result<Installed> {
    if prism_version(cache).as_deref() == Some(PRISM_VERSION) {
        return Ok(Installed::Ready(PRISM_VERSION.to_owned()));
    }
    tracing::info!(
        "installing Prism {PRISM_VERSION} into {}",
        prism_dir(cache).display()
    );
    if let Some(why) = run_all(&prism_commands(cache), "npm registry")? {
        return Ok(Installed::Skipped(why));
    }
    match prism_version(cache) {
        Some(version) if version == PRISM_VERSION => Ok(Installed::Ready(version)),
        found => anyhow::bail!("npm installed Prism {found:?}, not {PRISM_VERSION}"),
    }
}

/// localstripe, installed unless the pinned version already is.
pub fn ensure_localstripe(cache: &Path) -> anyhow::Result<Installed> {
    if localstripe_version(cache).as_deref() == Some(LOCALSTRIPE_VERSION) {
        return Ok(Installed::Ready(LOCALSTRIPE_VERSION.to_owned()));
    }
    let venv = localstripe_venv(cache);
    tracing::info!(
        "installing localstripe {LOCALSTRIPE_VERSION} into {}",
        venv.display()
    );
    if let Some(why) = run_all(&localstripe_commands(cache), "PyPI")? {
        return Ok(Installed::Skipped(why));
    }
    match localstripe_version(cache) {
        Some(version) if version == LOCALSTRIPE_VERSION => Ok(Installed::Ready(version)),
        found => anyhow::bail!("pip installed localstripe {found:?}, not {LOCALSTRIPE_VERSION}"),
    }
}

fn prism_version(cache: &Path) -> Option<String> {
    if !prism_entry(cache).is_file() {
        return None;
    }
    let path = prism_dir(cache).join("node_modules/@stoplight/prism-cli/package.json");
    let text = std::fs::read_to_string(path).ok()?;
    let manifest: serde_json::Value = serde_json::from_str(&text).ok()?;
    Some(manifest["version"].as_str()?.to_owned())
}

/// Asks the environment's own Python, which also proves the environment runs.
fn localstripe_version(cache: &Path) -> Option<String> {
    let out = Command::new(localstripe_python(cache))
        .args([
            "-c",
            "import importlib.metadata as m; print(m.version('localstripe'))",
        ])
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    Some(String::from_utf8(out.stdout).ok()?.trim().to_owned())
}

/// Runs each command in turn. `Ok(Some(why))` when one failed for want of the registry.
/// The installs run while nothing is being measured, so blocking this thread costs nothing.
fn run_all(commands: &[CommandLine], registry: &str) -> anyhow::Result<Option<String>> {
    for command in commands {
        let shown = format!("{} {}", command.program, command.args.join(" "));
        let out = Command::new(&command.program)
            .args(&command.args)
            .output()
            .map_err(|error| {
                anyhow::anyhow!("running `{shown}`: {error} (install it, or pass --no-peers)")
            })?;
        if out.status.success() {
            continue;
        }
        let text = format!(
            "{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        if let Some(line) = unreachable_registry(&text) {
            return Ok(Some(format!("{registry} unreachable ({line})")));
        }
        anyhow::bail!("`{shown}` failed ({}):\n{text}", out.status);
    }
    Ok(None)
}

/// What npm and pip print when they cannot reach a registry at all, most telling first.
const NETWORK_MARKERS: [&str; 14] = [
    "Failed to establish a new connection",
    "Temporary failure in name resolution",
    "Name or service not known",
    "Network is unreachable",
    "NewConnectionError",
    "ConnectTimeoutError",
    "ProxyError",
    "ENOTFOUND",
    "ECONNREFUSED",
    "ETIMEDOUT",
    "EAI_AGAIN",
    "ECONNRESET",
    "ENETUNREACH",
    "EHOSTUNREACH",
];

/// Longest excerpt of an install's output quoted in a skip note.
const EXCERPT_CHARS: usize = 120;

/// Where an install's output says the registry could not be reached: the line, or from the
/// marker on when the line is long (pip's lines start with object addresses).
pub fn unreachable_registry(output: &str) -> Option<String> {
    NETWORK_MARKERS.iter().find_map(|marker| {
        let line = output.lines().find(|line| line.contains(marker))?.trim();
        let excerpt = match line.chars().count() <= EXCERPT_CHARS {
            true => line,
            false => &line[line.find(marker)?..],
        };
        Some(excerpt.chars().take(EXCERPT_CHARS).collect())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The install commands pin the versions and keep everything inside the cache directory.
    #[test]
    fn install_commands_pin_versions_inside_the_cache() {
        let cache = Path::new("/cache");
        let prism = prism_commands(cache);
        assert_eq!(prism[0].program, "npm");
        assert_eq!(
            prism[0].args,
            [
                "install",
                "--prefix",
                "/cache/prism",
                "--no-audit",
                "--no-fund",
                "--fetch-retries",
                "1",
                "@stoplight/prism-cli@5.16.0"
            ]
        );
        let localstripe = localstripe_commands(cache);
        assert_eq!(localstripe[0].args, ["-m", "venv", "/cache/localstripe"]);
        assert_eq!(localstripe[1].program, "/cache/localstripe/bin/pip");
        assert_eq!(localstripe[1].args.last().unwrap(), "localstripe==1.15.10");
        assert_eq!(
            prism_entry(cache),
            Path::new("/cache/prism/node_modules/@stoplight/prism-cli/dist/index.js")
        );
    }

    /// Network failures from npm and pip are told apart from other install failures.
    #[test]
    fn unreachable_registries_are_recognised_and_other_failures_are_not() {
        let npm = "npm error code ECONNREFUSED\nnpm error syscall connect";
        assert_eq!(
            unreachable_registry(npm).as_deref(),
            Some("npm error code ECONNREFUSED")
        );
        let pip = "WARNING: Retrying (Retry(total=0, connect=None, read=None, redirect=None, \
                   status=None)) after connection broken by 'NewConnectionError('<pip._vendor.\
                   urllib3.connection.HTTPConnection object at 0x7f8>: Failed to establish a new \
                   connection: [Errno 111] Connection refused')'";
        assert_eq!(
            unreachable_registry(pip).as_deref(),
            Some("Failed to establish a new connection: [Errno 111] Connection refused')'")
        );
        let other = "npm error code ETARGET\nnpm error notarget No matching version found";
        assert_eq!(unreachable_registry(other), None);
    }
}
