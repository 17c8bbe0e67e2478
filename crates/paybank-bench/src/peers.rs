//! The peers paybank is measured against in the same run: Stoplight Prism mocking the
//! provider's OpenAPI document for (a) reads and (b) captures, and localstripe for (c)
//! create → capture → refund flows. Each is installed into a cache directory when missing,
//! started pinned to core 0 like paybank, and measured with the same loaders and the same CPU
//! accounting. A peer whose registry cannot be reached is skipped with a row saying why.

pub mod install;
pub mod localstripe;
pub mod prism;

use std::path::{Path, PathBuf};

use crate::report::{Report, Row};
use crate::Options;

/// Where the peers live and what Prism mocks.
#[derive(Clone, Debug)]
pub struct Setup {
    /// Installed peers; under the workspace's `target/` by default, which git ignores.
    pub cache_dir: PathBuf,
    /// The OpenAPI document Prism mocks.
    pub openapi: PathBuf,
}

impl Default for Setup {
    /// Paths from the workspace root this crate was built in, not from the current directory
    /// or an absolute path, so a clone anywhere (CI's included) with `shared/` beside it works.
    fn default() -> Setup {
        let workspace = Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .and_then(Path::parent)
            .expect("the crate sits at <workspace>/crates/paybank-bench");
        Setup {
            cache_dir: workspace.join("target/bench-cache"),
            openapi: workspace
                .parent()
                .unwrap_or(workspace)
                .join("shared/reference/trustly-na-openapi.yml"),
        }
    }
}

/// Measures every peer, if the options ask for peers (full runs do unless `--no-peers`).
pub async fn run(options: &Options, report: &mut Report) -> anyhow::Result<()> {
    let Some(setup) = &options.peers else {
        return Ok(());
    };
    std::fs::create_dir_all(&setup.cache_dir)?;
    prism::run(options, setup, report).await?;
    localstripe::run(options, setup, report).await
}

/// A row saying a peer was not measured, and why; it carries no numbers, so ratios read n/a.
fn skipped(scenario: &str, system: &str, why: &str) -> Row {
    tracing::warn!("skipping {system} on {scenario}: {why}");
    Row {
        scenario: scenario.to_owned(),
        system: system.to_owned(),
        note: format!("skipped: {why}"),
        ..Row::default()
    }
}
