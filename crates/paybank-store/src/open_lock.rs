//! SQLite only: one process at a time prepares a database as it opens it (the migrations, the
//! id secret), so that processes started together on a new database, such as `serve` and
//! `merchant create` in the README's walkthrough, do not run the same migration side by side
//! (the second failed with "table merchants already exists"). On PostgreSQL sqlx's migrator
//! holds an advisory lock for this; on SQLite it takes none.
//!
//! The lock is an advisory lock (`flock`) on a file of its own beside the database,
//! `<database>-open.lock`, never on the database file: closing any descriptor of that file
//! would drop the POSIX locks SQLite's connections in the same process hold on it.

use std::fs::{File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::{StoreError, StoreResult};

/// How long a process waits for another to finish preparing the database before it gives up
/// with an error. A migration that rebuilds a table of millions of rows takes a minute or two.
const WAIT_MAX: Duration = Duration::from_secs(600);

/// How often the lock is tried again while another process holds it.
const RETRY_EVERY: Duration = Duration::from_millis(20);

/// Held while this process prepares the database; dropping it lets the next one in.
pub(crate) struct OpenLock {
    _file: File,
}

impl OpenLock {
    /// Waits until no other process is preparing the database at `database`, then holds it
    /// off until this one is done. An in-memory database has no file to share, and no lock.
    pub(crate) async fn take(database: &Path) -> StoreResult<Option<OpenLock>> {
        if database.as_os_str().is_empty() || database == Path::new(":memory:") {
            return Ok(None);
        }
        let path = lock_path(database);
        let file = (OpenOptions::new().create(true).truncate(false).write(true))
            .open(&path)
            .map_err(|error| failed(&path, &error.to_string()))?;
        let began = Instant::now();
        loop {
            match file.try_lock() {
                Ok(()) => return Ok(Some(OpenLock { _file: file })),
                Err(TryLockError::WouldBlock) if began.elapsed() < WAIT_MAX => {
                    tokio::time::sleep(RETRY_EVERY).await;
                }
                Err(TryLockError::WouldBlock) => {
                    let waited = "another process has been preparing the database for 10 minutes";
                    return Err(failed(&path, waited));
                }
                Err(TryLockError::Error(error)) => return Err(failed(&path, &error.to_string())),
            }
        }
    }
}

fn lock_path(database: &Path) -> PathBuf {
    let mut name = database.as_os_str().to_owned();
    name.push("-open.lock");
    PathBuf::from(name)
}

fn failed(path: &Path, why: &str) -> StoreError {
    StoreError::Database(format!(
        "locking {} to open the database: {why}",
        path.display()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_second_taker_waits_until_the_first_lets_go() {
        let dir = std::env::temp_dir().join(format!("paybank-open-lock-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("a directory");
        let database = dir.join("paybank.db");
        let first = OpenLock::take(&database).await.expect("the lock");
        assert!(first.is_some());
        assert!(dir.join("paybank.db-open.lock").exists());
        let second = tokio::spawn({
            let database = database.clone();
            async move { OpenLock::take(&database).await.map(|lock| lock.is_some()) }
        });
        tokio::time::sleep(RETRY_EVERY * 5).await;
        assert!(
            !second.is_finished(),
            "the second took the lock the first holds"
        );
        drop(first);
        let second = tokio::time::timeout(Duration::from_secs(5), second).await;
        assert!(matches!(second, Ok(Ok(Ok(true)))), "{second:?}");
        assert!(OpenLock::take(Path::new(":memory:"))
            .await
            .expect("no lock")
            .is_none());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
