//! Configuration: one typed struct, read once at start-up from the compiled-in defaults
//! (`config.default.toml`), an optional file, and `PAYBANK_` environment variables.

use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::Deserialize;

/// The defaults, documented key by key in the file itself.
pub const DEFAULT_CONFIG_TOML: &str = include_str!("../../../config.default.toml");

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub server: ServerConfig,
    pub sandbox: SandboxConfig,
    pub settlement: SettlementConfig,
    pub ach: AchConfig,
    pub instant: InstantConfig,
    pub clock: ClockConfig,
    pub lightbox: LightboxConfig,
    pub webhooks: WebhookConfig,
    pub workers: WorkerConfig,
    pub demo: DemoConfig,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerConfig {
    pub listen: String,
    pub data_dir: PathBuf,
    pub database_url: String,
    pub public_url: String,
    pub body_bytes_max: usize,
    pub request_timeout_ms: u64,
    pub batch_scheduling: bool,
    pub metrics: bool,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SandboxConfig {
    pub enabled: bool,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SettlementConfig {
    pub settlement_banking_days: u32,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AchConfig {
    pub odfi_routing: String,
    pub odfi_name: String,
    pub operator_routing: String,
    pub operator_name: String,
    pub same_day_enabled: bool,
    pub same_day_entry_limit_cents: i64,
    pub files_per_page_max: i64,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InstantConfig {
    pub rtp_limit_cents: i64,
    pub fednow_limit_cents: i64,
    pub response_ms: i64,
    pub timeout_ms: i64,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClockConfig {
    pub start: String,
    pub seed: String,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LightboxConfig {
    pub session_ttl_s: u64,
    pub split_token_ttl_s: u64,
    pub mobile_integration_strategy: MobileIntegrationStrategy,
}

/// What `/frontend/mobile/setup` tells the mobile SDKs to open the Lightbox in.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum MobileIntegrationStrategy {
    Webview,
    InAppBrowser,
}

impl MobileIntegrationStrategy {
    pub fn name(self) -> &'static str {
        match self {
            Self::Webview => "webview",
            Self::InAppBrowser => "in-app-browser",
        }
    }
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookConfig {
    pub timeout_ms: u64,
    pub retry_delay_first_s: u64,
    pub retry_delay_max_s: u64,
    pub retry_window_s: u64,
    pub concurrency_max: usize,
    pub concurrency_per_origin_max: usize,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkerConfig {
    pub enabled: bool,
    pub poll_interval_ms: u64,
    pub batch_size: i64,
    pub lease_ms: i64,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DemoConfig {
    pub enabled: bool,
}

/// Short environment names that scripts rely on, and the keys they set.
const ENV_SHORTHANDS: [(&str, &str, &str); 3] = [
    ("PAYBANK_LISTEN", "server", "listen"),
    ("PAYBANK_DATA_DIR", "server", "data_dir"),
    ("PAYBANK_DATABASE_URL", "server", "database_url"),
];

impl Config {
    /// The defaults alone.
    pub fn defaults() -> Config {
        Config::from_layers(None, std::iter::empty()).expect("the built-in defaults are valid")
    }

    /// Defaults, then the file (if any), then environment variables (`PAYBANK_A__B=v`).
    pub fn from_layers(
        file: Option<&Path>,
        env: impl Iterator<Item = (String, String)>,
    ) -> anyhow::Result<Config> {
        let mut merged: toml::Table =
            toml::from_str(DEFAULT_CONFIG_TOML).context("parsing built-in defaults")?;
        if let Some(path) = file {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading {}", path.display()))?;
            let overrides: toml::Table =
                toml::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
            merge(&mut merged, overrides);
        }
        for (name, value) in env {
            apply_env(&mut merged, &name, &value)?;
        }
        toml::Value::Table(merged)
            .try_into()
            .context("invalid configuration")
    }

    /// The database to use: the explicit URL, or SQLite in the data directory.
    pub fn database_url(&self) -> String {
        match self.server.database_url.trim() {
            "" => format!(
                "sqlite://{}",
                self.server.data_dir.join("paybank.db").display()
            ),
            url => url.to_owned(),
        }
    }

    /// Base URL of the hosted pages as browsers reach them.
    pub fn public_url(&self) -> String {
        match self.server.public_url.trim().trim_end_matches('/') {
            "" => format!("http://{}", self.server.listen),
            url => url.to_owned(),
        }
    }
}

fn merge(base: &mut toml::Table, overrides: toml::Table) {
    for (key, value) in overrides {
        match (base.get_mut(&key), value) {
            (Some(toml::Value::Table(base_table)), toml::Value::Table(table)) => {
                merge(base_table, table)
            }
            (_, value) => {
                base.insert(key, value);
            }
        }
    }
}

/// Applies one environment variable if it names a setting; the value is parsed as the type
/// the default has, so `PAYBANK_SANDBOX__ENABLED=false` is a boolean.
fn apply_env(merged: &mut toml::Table, name: &str, value: &str) -> anyhow::Result<()> {
    let path: Vec<String> = match ENV_SHORTHANDS
        .iter()
        .find(|(env_name, _, _)| *env_name == name)
    {
        Some((_, section, key)) => vec![(*section).to_owned(), (*key).to_owned()],
        None => match name.strip_prefix("PAYBANK_") {
            Some(rest) if rest.contains("__") => rest.split("__").map(str::to_lowercase).collect(),
            _ => return Ok(()),
        },
    };
    let [section, key] = path.as_slice() else {
        anyhow::bail!("{name}: expected PAYBANK_SECTION__KEY");
    };
    let Some(toml::Value::Table(table)) = merged.get_mut(section) else {
        anyhow::bail!("{name}: unknown section {section}");
    };
    let parsed = match table.get(key) {
        Some(toml::Value::String(_)) => toml::Value::String(value.to_owned()),
        Some(toml::Value::Integer(_)) => toml::Value::Integer(
            value
                .parse()
                .with_context(|| format!("{name} must be an integer"))?,
        ),
        Some(toml::Value::Boolean(_)) => toml::Value::Boolean(
            value
                .parse()
                .with_context(|| format!("{name} must be true or false"))?,
        ),
        _ => anyhow::bail!("{name}: unknown setting {section}.{key}"),
    };
    table.insert(key.clone(), parsed);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_parse_and_environment_overrides_apply() {
        let config = Config::defaults();
        assert_eq!(config.server.listen, "127.0.0.1:8080");
        assert!(config.database_url().starts_with("sqlite://"));
        let env = [
            ("PAYBANK_LISTEN".to_owned(), "127.0.0.1:9999".to_owned()),
            ("PAYBANK_WEBHOOKS__TIMEOUT_MS".to_owned(), "5000".to_owned()),
            ("PAYBANK_SANDBOX__ENABLED".to_owned(), "false".to_owned()),
            (
                "PAYBANK_DATABASE_URL".to_owned(),
                "postgres://x/y".to_owned(),
            ),
            ("UNRELATED".to_owned(), "1".to_owned()),
        ];
        let config = Config::from_layers(None, env.into_iter()).expect("valid");
        assert_eq!(config.server.listen, "127.0.0.1:9999");
        assert_eq!(config.webhooks.timeout_ms, 5000);
        assert!(!config.sandbox.enabled);
        assert_eq!(config.database_url(), "postgres://x/y");
        assert_eq!(config.public_url(), "http://127.0.0.1:9999");
    }

    #[test]
    fn bad_environment_values_are_refused() {
        let env = [("PAYBANK_WEBHOOKS__TIMEOUT_MS".to_owned(), "soon".to_owned())];
        assert!(Config::from_layers(None, env.into_iter()).is_err());
        let env = [("PAYBANK_NOPE__X".to_owned(), "1".to_owned())];
        assert!(Config::from_layers(None, env.into_iter()).is_err());
    }
}
