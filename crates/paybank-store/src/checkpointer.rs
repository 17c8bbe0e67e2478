//! SQLite only: copies the WAL back into the database file on a thread of its own, so the
//! writer's checkpoints find little left to copy and its commits do not wait behind the copy.
//!
//! The writer still checkpoints every 16,384 frames (see `sql.rs`): only a checkpoint that
//! finds every frame copied lets the next transaction start the WAL over, and only the writer
//! can be sure nothing is appended meanwhile. Before this thread, each of those checkpoints
//! copied some thousands of pages and waited for the database file's fsync on the writer
//! thread, holding every commit behind it for tens of milliseconds. Now the copy happens here,
//! in `PASSIVE` checkpoints that never block the writer or a reader; the writer's checkpoint
//! still flushes the database file (see [`copy_back`]).

use std::path::Path;
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::Duration;

use crate::columns::sqlite_error;
use crate::sqlite_reads::Commits;
use crate::{StoreError, StoreResult};

/// How often the WAL's new frames are copied back, if the writer has committed since the last
/// pass. Each pass copies each page written since the last one once, so passes further apart
/// copy the pages rewritten by most batches less often; closer ones leave the writer's
/// checkpoint less to do (BENCHMARKS.md, SQLite captures item 18).
const PASS_EVERY: Duration = Duration::from_millis(20);

/// Stops the checkpoint thread when dropped (with the store), and waits for it to end, so no
/// pass is left running against a database its store has closed.
pub(crate) struct Checkpointer {
    running: Option<mpsc::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Checkpointer {
    /// Starts the thread on a connection of its own to the database at `path`; it copies the
    /// WAL back only after `commits` has counted a commit of the writer's.
    pub(crate) fn spawn(path: &Path, commits: Commits) -> StoreResult<Checkpointer> {
        let connection = rusqlite::Connection::open(path).map_err(sqlite_error)?;
        // A checkpoint syncs the database file before the WAL may start over.
        (connection.execute_batch("PRAGMA synchronous = FULL;")).map_err(sqlite_error)?;
        let (running, stopped) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("paybank-checkpoint".to_owned())
            .spawn(move || run(&connection, &commits, &stopped))
            .map_err(|error| StoreError::Database(error.to_string()))?;
        Ok(Checkpointer {
            running: Some(running),
            thread: Some(thread),
        })
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        // The thread sees the channel close at its next wait, at most one pass from now.
        drop(self.running.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn run(connection: &rusqlite::Connection, commits: &Commits, stopped: &mpsc::Receiver<()>) {
    let mut copied_after = commits.count();
    while let Err(mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(PASS_EVERY) {
        // An idle store's WAL has nothing new: the thread only looks at a counter.
        let committed = commits.count();
        if committed == copied_after {
            continue;
        }
        copied_after = committed;
        // A pass that finds the checkpoint lock taken (the writer's own checkpoint) or fails
        // leaves the frames for the next pass or the writer: nothing is lost by skipping one.
        if let Err(error) = copy_back(connection) {
            tracing::debug!(%error, "a background WAL checkpoint failed");
        }
    }
}

/// Copies the WAL's new frames into the database file. SQLite flushes the file only after a
/// pass that reached the WAL's end, which under load the writer has always moved by then, so
/// the writer's own checkpoint still flushes what these passes wrote. Flushing after every
/// pass here instead cost more than it saved (BENCHMARKS.md, SQLite captures item 18).
fn copy_back(connection: &rusqlite::Connection) -> StoreResult<()> {
    let checkpoint = "PRAGMA wal_checkpoint(PASSIVE)";
    (connection.query_row(checkpoint, [], |_| Ok(()))).map_err(sqlite_error)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    /// A database in WAL mode whose writer never checkpoints, holding `rows` rows in the WAL.
    fn database_with_frames(name: &str, rows: i64) -> (std::path::PathBuf, rusqlite::Connection) {
        let dir = std::env::temp_dir().join(format!("paybank-ckpt-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create the directory");
        let path = dir.join("ckpt.db");
        let writer = rusqlite::Connection::open(&path).expect("open the writer");
        let setup = "PRAGMA journal_mode = WAL; PRAGMA wal_autocheckpoint = 0; \
                     CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT);";
        writer.execute_batch(setup).expect("set up");
        for k in 0..rows {
            let insert = "INSERT INTO t VALUES (?1, printf('%.500c', 'x'))";
            writer.execute(insert, [k]).expect("insert");
        }
        (path, writer)
    }

    /// The pages only the WAL held reach the database file without the writer checkpointing,
    /// once the writer has counted a commit, while it goes on committing.
    #[test]
    fn the_wal_is_copied_back_in_the_background() {
        let (path, writer) = database_with_frames("copied", 400);
        let file_bytes = || std::fs::metadata(&path).expect("the file").len();
        let before = file_bytes();
        let commits = Commits::default();
        let checkpointer = Checkpointer::spawn(&path, commits.clone()).expect("spawn");
        // No commit counted yet: the WAL stays where it is.
        std::thread::sleep(PASS_EVERY * 5);
        assert_eq!(file_bytes(), before);
        let deadline = Instant::now() + Duration::from_secs(10);
        while file_bytes() < 40 * before && Instant::now() < deadline {
            writer
                .execute("UPDATE t SET v = 'y' WHERE k = 0", [])
                .expect("update");
            commits.raise();
            std::thread::sleep(PASS_EVERY / 4);
        }
        assert!(
            file_bytes() >= 40 * before,
            "{before} → {} bytes",
            file_bytes()
        );
        drop(checkpointer);
        let count: i64 =
            (writer.query_row("SELECT COUNT(*) FROM t", [], |row| row.get(0))).expect("count");
        assert_eq!(count, 400);
    }
}
