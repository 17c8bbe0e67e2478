//! A throwaway PostgreSQL database for one scenario, created and dropped with `psql` (the
//! harness needs no database driver of its own), and the CPU time of the backends serving it,
//! which is work the server hands to another process.

use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

use crate::process::cpu_us;

/// Seconds `psql` waits for PostgreSQL to answer before the scenario is skipped.
const CONNECT_TIMEOUT_S: &str = "5";

/// Databases created by this run, for unique names.
static CREATED: AtomicU32 = AtomicU32::new(0);

/// A fresh database, dropped (with its connections) by `remove`, or when this is dropped.
pub struct Database {
    admin_url: String,
    pub name: String,
    /// The URL the server and the seeder open.
    pub url: String,
    removed: bool,
}

impl Database {
    /// Creates `paybank_bench_<pid>_<n>` through `admin_url`. The error says why not, in
    /// words fit for a report row: no `psql`, PostgreSQL unreachable, or refused.
    pub fn create(admin_url: &str) -> Result<Database, String> {
        let n = CREATED.fetch_add(1, Ordering::Relaxed);
        let name = format!("paybank_bench_{}_{n}", std::process::id());
        let url = database_url(admin_url, &name)
            .ok_or_else(|| format!("{admin_url} is not a postgres://…/database URL"))?;
        psql(admin_url, &format!("CREATE DATABASE {name}"))?;
        Ok(Database {
            admin_url: admin_url.to_owned(),
            name,
            url,
            removed: false,
        })
    }

    /// The database's size on disk.
    pub fn size_bytes(&self) -> Option<u64> {
        let sql = format!("SELECT pg_database_size('{}')", self.name);
        psql(&self.admin_url, &sql).ok()?.trim().parse().ok()
    }

    /// CPU time (user + system) of the backends connected to this database so far, in
    /// microseconds. Backends that already exited are not counted; the server's pool keeps
    /// its connections for the whole run.
    pub fn backend_cpu_us(&self) -> u64 {
        let sql = format!(
            "SELECT pid FROM pg_stat_activity WHERE datname = '{}'",
            self.name
        );
        let pids = psql(&self.admin_url, &sql).unwrap_or_default();
        pids.lines()
            .filter_map(|line| line.trim().parse::<u32>().ok())
            .filter_map(cpu_us)
            .sum()
    }

    /// Drops the database now; the error says why it could not be, for the report.
    pub fn remove(mut self) -> Result<(), String> {
        self.removed = true;
        psql(&self.admin_url, &self.drop_statement())
            .map(|_| ())
            .map_err(|error| format!("database {} left behind: {error}", self.name))
    }

    fn drop_statement(&self) -> String {
        format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name)
    }
}

/// A scenario that failed half-way still leaves no database behind, if PostgreSQL lets it.
impl Drop for Database {
    fn drop(&mut self) {
        if !self.removed {
            let _ = psql(&self.admin_url, &self.drop_statement());
        }
    }
}

/// Runs one statement; its unaligned output, or why it failed.
fn psql(url: &str, sql: &str) -> Result<String, String> {
    let output = Command::new("psql")
        .args([
            url,
            "-X",
            "-A",
            "-t",
            "-q",
            "-v",
            "ON_ERROR_STOP=1",
            "-c",
            sql,
        ])
        .env("PGCONNECT_TIMEOUT", CONNECT_TIMEOUT_S)
        .output()
        .map_err(|error| format!("psql is not available ({error})"))?;
    match output.status.success() {
        true => Ok(String::from_utf8_lossy(&output.stdout).into_owned()),
        false => {
            let stderr = String::from_utf8_lossy(&output.stderr);
            let first_line = stderr.lines().next().unwrap_or("no message").trim();
            Err(format!("PostgreSQL did not answer at {url}: {first_line}"))
        }
    }
}

/// `url` with its database replaced by `name`, query parameters kept.
fn database_url(url: &str, name: &str) -> Option<String> {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let (scheme, rest) = base.split_once("://")?;
    if !scheme.starts_with("postgres") {
        return None;
    }
    let authority = rest.split('/').next()?;
    let query = query.map_or(String::new(), |query| format!("?{query}"));
    Some(format!("{scheme}://{authority}/{name}{query}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Only the database changes; user, host, port and parameters stay.
    #[test]
    fn database_url_replaces_only_the_database() {
        let named = |url| database_url(url, "bench_1");
        assert_eq!(
            named("postgres://postgres@127.0.0.1:5432/test").as_deref(),
            Some("postgres://postgres@127.0.0.1:5432/bench_1")
        );
        assert_eq!(
            named("postgresql://u:p@db/test?sslmode=disable").as_deref(),
            Some("postgresql://u:p@db/bench_1?sslmode=disable")
        );
        assert_eq!(
            named("postgres://db").as_deref(),
            Some("postgres://db/bench_1")
        );
        assert_eq!(named("sqlite://x.db"), None);
    }
}
