//! SQLite only: copies the WAL back into the database file on a thread of its own, so the
//! writer's checkpoints find little left to copy and its commits do not wait behind the copy.
//!
//! The writer still checkpoints every 16,384 frames (see `sql.rs`): only a checkpoint that
//! finds every frame copied lets the next transaction start the WAL over, and only the writer
//! can be sure nothing is appended meanwhile. Before this thread, each of those checkpoints
//! copied some thousands of pages and waited for the database file's fsync on the writer
//! thread, holding every commit behind it for tens of milliseconds. Now the copy happens here,
//! in `PASSIVE` checkpoints that never block the writer or a reader. SQLite flushes the
//! database file only after a checkpoint that reached the WAL's end, which under load is the
//! writer's own, so this thread also flushes the file itself every [`FLUSH_EVERY`], and the
//! writer's flush finds little left to write (see [`Flushes`]).

use std::fs::File;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::columns::sqlite_error;
use crate::sqlite_reads::Commits;
use crate::{StoreError, StoreResult};

/// How often the WAL's new frames are copied back, if the writer has committed since the last
/// pass. Each pass copies each page written since the last one once, so passes further apart
/// copy the pages rewritten by most batches less often; closer ones leave the writer's
/// checkpoint less to do (BENCHMARKS.md, SQLite captures item 18).
const PASS_EVERY: Duration = Duration::from_millis(20);

/// How often the database file is flushed while passes write to it. Left to SQLite, the
/// writer's checkpoint every 16,384 frames flushed everything the passes had copied since the
/// last one, tens of megabytes, while the writer and every commit behind it waited: commits of
/// 5 to 10 ms about once a second at 10,000 captures/s, and far longer when the disk was slow,
/// which set the p99 there (BENCHMARKS.md, SQLite captures item 22). Flushing after every pass
/// cost more than it saved (item 18); every fifth pass, the writer's commits stay short.
const FLUSH_EVERY: Duration = Duration::from_millis(100);

/// Stops the checkpoint thread when dropped (with the store), and waits for it to end, so no
/// pass is left running against a database its store has closed.
pub(crate) struct Checkpointer {
    running: Option<mpsc::Sender<()>>,
    thread: Option<JoinHandle<()>>,
    /// How many times the thread has flushed the database file, for the tests.
    #[cfg(test)]
    flushed: Arc<AtomicU64>,
}

impl Checkpointer {
    /// Starts the thread on a connection of its own to the database at `path`; it copies the
    /// WAL back only after `commits` has counted a commit of the writer's.
    pub(crate) fn spawn(path: &Path, commits: Commits) -> StoreResult<Checkpointer> {
        let connection = rusqlite::Connection::open(path).map_err(sqlite_error)?;
        // A checkpoint syncs the database file before the WAL may start over.
        (connection.execute_batch("PRAGMA synchronous = FULL;")).map_err(sqlite_error)?;
        let file = File::open(path).map_err(|error| StoreError::Database(error.to_string()))?;
        let flushed = Arc::new(AtomicU64::new(0));
        let mut flushes = Flushes::new(file, flushed.clone());
        let (running, stopped) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("paybank-checkpoint".to_owned())
            .spawn(move || run(&connection, &mut flushes, &commits, &stopped))
            .map_err(|error| StoreError::Database(error.to_string()))?;
        Ok(Checkpointer {
            running: Some(running),
            thread: Some(thread),
            #[cfg(test)]
            flushed,
        })
    }

    /// How many times the database file has been flushed by this thread.
    #[cfg(test)]
    fn flushed(&self) -> u64 {
        self.flushed.load(Ordering::Relaxed)
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

fn run(
    connection: &rusqlite::Connection,
    flushes: &mut Flushes,
    commits: &Commits,
    stopped: &mpsc::Receiver<()>,
) {
    let mut copied_after = commits.count();
    while let Err(mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(PASS_EVERY) {
        flushes.when_due();
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
        flushes.copied();
    }
}

/// Flushes of the database file, each [`FLUSH_EVERY`] at most, and only after a pass. SQLite
/// does not know of them and needs none of them: its own flushes stand where they are, and a
/// file flushed more often is only on disk sooner.
struct Flushes {
    file: File,
    last: Instant,
    /// A pass has written to the file since the last flush.
    pending: bool,
    flushed: Arc<AtomicU64>,
}

impl Flushes {
    fn new(file: File, flushed: Arc<AtomicU64>) -> Flushes {
        Flushes {
            file,
            last: Instant::now(),
            pending: false,
            flushed,
        }
    }

    fn copied(&mut self) {
        self.pending = true;
    }

    fn when_due(&mut self) {
        if !self.pending || self.last.elapsed() < FLUSH_EVERY {
            return;
        }
        // A failed flush leaves the pages for the next one, or for SQLite's own.
        if let Err(error) = self.file.sync_data() {
            tracing::debug!(%error, "flushing the database file failed");
        }
        (self.last, self.pending) = (Instant::now(), false);
        self.flushed.fetch_add(1, Ordering::Relaxed);
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
        // The file is flushed after passes, every FLUSH_EVERY at most, and not while idle.
        std::thread::sleep(FLUSH_EVERY + PASS_EVERY * 3);
        let flushed = checkpointer.flushed();
        assert!(flushed >= 1, "never flushed");
        std::thread::sleep(FLUSH_EVERY * 3);
        assert_eq!(checkpointer.flushed(), flushed, "flushed an idle store");
        drop(checkpointer);
        let count: i64 =
            (writer.query_row("SELECT COUNT(*) FROM t", [], |row| row.get(0))).expect("count");
        assert_eq!(count, 400);
    }
}
