//! SQLite's hot reads (a payment chain, a merchant, a Lightbox session, the claim on an establish's
//! merchant reference), run inline on the caller's thread through rusqlite with cached statements.
//!
//! Why not through sqlx: its SQLite driver runs every statement on a worker thread of its own
//! and hands rows back over channels, two thread switches per statement. A chain read was four
//! statements then (one now, see `chain_read`), so switching, not SQLite, was most of a read's
//! cost (a flame graph of `GET /transactions/{id}` showed ~45 % of the server's time in the kernel's task switch and
//! ~1 % in SQLite). A primary-key read from SQLite's page cache takes microseconds, so running
//! it on the async thread holds that thread no longer than a JSON render does.
//!
//! While reads outpace commits, a connection keeps its read transaction (its snapshot) open
//! across reads for as long as the writer has committed nothing since it began, and at most
//! [`SNAPSHOT_REUSE_MAX`]. Beginning and ending a read transaction takes the WAL's read lock
//! (two `fcntl` calls on the shared memory file and an `fstat`), which was a tenth of a read's
//! time in profiles of `GET /transactions/{id}`. The writer counts its batches ([`Commits`])
//! before it answers any of them, and a read loads the count before its snapshot begins, so a
//! read never misses a commit this process has acknowledged. Commits by another process on the same file (a second
//! server, `paybank clock`) are seen at most that long late. A sweep ends snapshots left open
//! on idle connections, which would otherwise keep the writer from emptying the WAL.

use std::path::Path;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use paybank_core::ids::{MerchantId, PaymentId, StoredIds, TransactionId};
use paybank_core::lightbox::LightboxSession;
use paybank_core::model::{Merchant, PaymentChain};
use rusqlite::{Connection, OpenFlags};

use crate::chain_batch::ChainKey;
use crate::chain_read::{self, ChainRows};
use crate::codec;
use crate::columns::{sqlite_error, ColumnIndex, SqliteRow};
use crate::db::sqlite_control;
use crate::StoreResult;

/// Statements each connection keeps prepared.
const STATEMENT_CACHE: usize = 32;
/// Each connection's page cache, in KiB. With SQLite's default (2 MiB) a chain read over a large
/// store fetched most of its pages from the kernel, a `pread` each (10 % of a read's time in a
/// profile with 200,000 stored); with 16 MiB, alternating runs of `paybank bench --only a`
/// served 2-10 % more reads per second. Only connections in use fill theirs, and reads keep to
/// the first connections, so this adds about 15 MB to the server's memory.
const PAGE_CACHE_KIB: u32 = 16_384;

/// Longest a read connection keeps one snapshot for later reads: how late a commit by another
/// process may be seen.
const SNAPSHOT_REUSE_MAX: Duration = Duration::from_millis(1);
/// How often idle connections' snapshots are ended.
const SNAPSHOT_SWEEP_EVERY: Duration = Duration::from_millis(20);

/// The writer's count of batches run, raised before any of a batch's callers is
/// answered; a snapshot begun at one count has seen every commit acknowledged before it.
#[derive(Clone, Default)]
pub(crate) struct Commits(Arc<AtomicU64>);

impl Commits {
    pub(crate) fn count(&self) -> u64 {
        self.0.load(Ordering::Acquire)
    }

    pub(crate) fn raise(&self) {
        self.0.fetch_add(1, Ordering::Release);
    }
}

/// A few read-only connections; a read takes whichever is free.
pub(crate) struct SqliteReads(Arc<Shared>);

struct Shared {
    connections: Vec<Mutex<ReadConnection>>,
    next: AtomicUsize,
    commits: Commits,
    ids: StoredIds,
    /// [`SNAPSHOT_REUSE_MAX`], or another span in tests.
    reuse_max: Duration,
}

/// A read-only connection and the read transaction it keeps open, if any.
struct ReadConnection {
    connection: Connection,
    snapshot: Option<Snapshot>,
    /// The writer's count of commits at this connection's last read.
    last_read_at: Option<u64>,
}

#[derive(Clone, Copy)]
struct Snapshot {
    /// The writer's count of commits when it began.
    commits: u64,
    began: Instant,
}

impl ReadConnection {
    /// Makes sure the open snapshot, if any, may serve a read now; otherwise ends it. A new
    /// snapshot is kept open (`BEGIN`, deferred: the read's first statement takes it) only when
    /// nothing was committed since this connection's last read, so reads outpace commits; while
    /// every read follows a commit (captures under load), reads run on their own as before,
    /// without a `BEGIN` and a `COMMIT` more each. The clock is read only to check or begin a
    /// kept snapshot, not for every read.
    fn ready(&mut self, commits: u64, reuse_max: Duration) -> StoreResult<()> {
        if let Some(snapshot) = self.snapshot {
            if snapshot.commits == commits && snapshot.began.elapsed() < reuse_max {
                return Ok(());
            }
            self.end()?;
        }
        if self.last_read_at.replace(commits) == Some(commits) {
            sqlite_control(&self.connection, "BEGIN")?;
            self.snapshot = Some(Snapshot {
                commits,
                began: Instant::now(),
            });
        }
        Ok(())
    }

    /// Ends the open read transaction, if any.
    fn end(&mut self) -> StoreResult<()> {
        if self.snapshot.take().is_some() && !self.connection.is_autocommit() {
            sqlite_control(&self.connection, "COMMIT")?;
        }
        Ok(())
    }

    /// Runs `read` in a snapshot no older than the writer's last commit; a failed read ends it.
    fn read<T>(
        &mut self,
        commits: u64,
        reuse_max: Duration,
        read: impl FnOnce(&Connection) -> StoreResult<T>,
    ) -> StoreResult<T> {
        self.ready(commits, reuse_max)?;
        let result = read(&self.connection);
        if result.is_err() {
            let _ = self.end();
        }
        result
    }
}

/// The point reads SQLite runs here and PostgreSQL through sqlx's pool (`reads.rs`), one text
/// for both; SQLite binds `$N` by position like `?N`.
pub(crate) const MERCHANT_BY_ACCESS_ID: &str = "SELECT * FROM merchants WHERE access_id = $1";
pub(crate) const SESSION_BY_ID: &str = "SELECT * FROM lightbox_sessions WHERE session_id = $1";
/// Every Lightbox session of a transaction (nearly always one), of which [`latest_session`]
/// picks the last updated: `ORDER BY updated_at DESC LIMIT 1` here had SQLite sort them in a
/// temporary B-tree, opened and dropped at every read, since the index is on `transaction_id`
/// alone (a sandbox authorization's answer asks, and a read of a pending authorization).
pub(crate) const SESSIONS_OF_TRANSACTION: &str =
    "SELECT * FROM lightbox_sessions WHERE transaction_id = $1";

/// The last updated of a transaction's sessions (of equals, the last read).
pub(crate) fn latest_session(sessions: Vec<LightboxSession>) -> Option<LightboxSession> {
    sessions
        .into_iter()
        .max_by_key(|session| session.updated_at)
}

pub(crate) const REFERENCE_CLAIM: &str = "SELECT transaction_id FROM reference_claims \
    WHERE merchant_id = $1 AND transaction_type = $2 AND merchant_reference = $3";

impl SqliteReads {
    /// Opens `count` read-only connections to the database file at `path` (which exists:
    /// the writer created and migrated it first).
    pub(crate) fn open(
        path: &Path,
        count: usize,
        commits: Commits,
        ids: StoredIds,
    ) -> StoreResult<SqliteReads> {
        SqliteReads::open_reusing(path, count, commits, ids, SNAPSHOT_REUSE_MAX)
    }

    fn open_reusing(
        path: &Path,
        count: usize,
        commits: Commits,
        ids: StoredIds,
        reuse_max: Duration,
    ) -> StoreResult<SqliteReads> {
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let connections = (0..count.max(1))
            .map(|_| {
                let connection = Connection::open_with_flags(path, flags).map_err(sqlite_error)?;
                // A read waits this long for the writer's lock during a WAL checkpoint.
                connection
                    .busy_timeout(crate::sql::BUSY_TIMEOUT)
                    .map_err(sqlite_error)?;
                connection
                    .execute_batch(&format!("PRAGMA cache_size = -{PAGE_CACHE_KIB};"))
                    .map_err(sqlite_error)?;
                connection
                    .execute_batch(&chain_read::SQLITE_VIEWS)
                    .map_err(sqlite_error)?;
                connection.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
                Ok(Mutex::new(ReadConnection {
                    connection,
                    snapshot: None,
                    last_read_at: None,
                }))
            })
            .collect::<StoreResult<Vec<_>>>()?;
        let shared = Arc::new(Shared {
            connections,
            next: AtomicUsize::new(0),
            commits,
            ids,
            reuse_max,
        });
        tokio::spawn(sweep_snapshots(Arc::downgrade(&shared)));
        Ok(SqliteReads(shared))
    }

    /// Runs `read` on the first free connection; waits for one only when all are in use.
    /// Trying them in order keeps the reads on the first connections, whose page caches are
    /// warm, rather than spreading them over cold ones.
    fn with<T>(&self, read: impl FnOnce(&Connection) -> StoreResult<T>) -> StoreResult<T> {
        let shared = &self.0;
        // Loaded before the snapshot begins: see the module's comment.
        let commits = shared.commits.count();
        for connection in &shared.connections {
            if let Ok(mut connection) = connection.try_lock() {
                return connection.read(commits, shared.reuse_max, read);
            }
        }
        let index = shared.next.fetch_add(1, Ordering::Relaxed) % shared.connections.len();
        let mut connection = shared.connections[index]
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        connection.read(commits, shared.reuse_max, read)
    }

    /// The first row `sql` finds with `params`, decoded.
    fn first<T>(
        &self,
        sql: &'static str,
        params: impl rusqlite::Params,
        decode: impl Fn(&SqliteRow<'_>) -> StoreResult<T>,
    ) -> StoreResult<Option<T>> {
        self.query(sql, params, |rows, columns| {
            match rows.next().map_err(sqlite_error)? {
                Some(row) => decode(&SqliteRow::new(row, columns)).map(Some),
                None => Ok(None),
            }
        })
    }

    /// Every row `sql` finds with `params`, decoded.
    fn every<T>(
        &self,
        sql: &'static str,
        params: impl rusqlite::Params,
        decode: impl Fn(&SqliteRow<'_>) -> StoreResult<T>,
    ) -> StoreResult<Vec<T>> {
        self.query(sql, params, |rows, columns| {
            let mut decoded = Vec::new();
            while let Some(row) = rows.next().map_err(sqlite_error)? {
                decoded.push(decode(&SqliteRow::new(row, columns))?);
            }
            Ok(decoded)
        })
    }

    /// [`query_on`] a connection of the pool.
    fn query<T>(
        &self,
        sql: &'static str,
        params: impl rusqlite::Params,
        read: impl FnOnce(&mut rusqlite::Rows<'_>, &ColumnIndex) -> StoreResult<T>,
    ) -> StoreResult<T> {
        self.with(|connection| query_on(connection, sql, params, read))
    }

    pub(crate) fn merchant_by_access_id(&self, access_id: &str) -> StoreResult<Option<Merchant>> {
        self.first(MERCHANT_BY_ACCESS_ID, [access_id], |row| {
            codec::merchant(row, self.0.ids)
        })
    }

    pub(crate) fn lightbox_session(
        &self,
        session_id: &str,
    ) -> StoreResult<Option<LightboxSession>> {
        self.first(SESSION_BY_ID, [session_id], |row| {
            codec::lightbox_session(row, self.0.ids)
        })
    }

    pub(crate) fn lightbox_session_of_transaction(
        &self,
        transaction_id: TransactionId,
    ) -> StoreResult<Option<LightboxSession>> {
        let key = self.0.ids.stored(transaction_id.0);
        let sessions = self.every(SESSIONS_OF_TRANSACTION, [key], |row| {
            codec::lightbox_session(row, self.0.ids)
        })?;
        Ok(latest_session(sessions))
    }

    /// The transaction holding a merchant's reference for a type, if one does.
    pub(crate) fn reference_claim(
        &self,
        merchant_id: MerchantId,
        transaction_type: u8,
        merchant_reference: &str,
    ) -> StoreResult<Option<TransactionId>> {
        let ids = self.0.ids;
        let params = (
            ids.stored(merchant_id.0),
            i64::from(transaction_type),
            merchant_reference,
        );
        self.first(REFERENCE_CLAIM, params, |row| {
            codec::id(row, ids, "transaction_id").map(TransactionId)
        })
    }

    pub(crate) fn chain(&self, payment_id: PaymentId) -> StoreResult<Option<PaymentChain>> {
        let key = ChainKey::Payment(self.0.ids.stored(payment_id.0));
        self.with(|connection| load_chain_by(connection, self.0.ids, key))
    }

    pub(crate) fn chain_of_transaction(
        &self,
        transaction_id: TransactionId,
    ) -> StoreResult<Option<PaymentChain>> {
        let key = ChainKey::Transaction(self.0.ids.stored(transaction_id.0));
        self.with(|connection| load_chain_by(connection, self.0.ids, key))
    }
}

/// Ends the snapshots of connections not read from for longer than a snapshot may serve, until
/// the reads are dropped. A connection in use is left to its reader.
async fn sweep_snapshots(shared: Weak<Shared>) {
    let mut ticks = tokio::time::interval(SNAPSHOT_SWEEP_EVERY);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        let Some(shared) = shared.upgrade() else {
            return;
        };
        let now = Instant::now();
        for connection in &shared.connections {
            let Ok(mut connection) = connection.try_lock() else {
                continue;
            };
            let stale = (connection.snapshot)
                .is_some_and(|snapshot| now - snapshot.began >= shared.reuse_max);
            if stale {
                if let Err(error) = connection.end() {
                    tracing::warn!(%error, "ending an idle read snapshot failed");
                }
            }
        }
    }
}

/// Reads the chain `key` names on `connection`: one statement, so one snapshot.
pub(crate) fn load_chain_by(
    connection: &Connection,
    ids: StoredIds,
    key: ChainKey,
) -> StoreResult<Option<PaymentChain>> {
    let (sql, id) = match key {
        ChainKey::Payment(id) => (chain_read::BY_PAYMENT, id),
        ChainKey::Transaction(id) => (chain_read::BY_TRANSACTION, id),
        ChainKey::ForNewChild(id) => {
            let part = load_chain(connection, chain_read::FOR_NEW_CHILD, ids, id)?;
            if !part.as_ref().is_some_and(chain_read::needs_whole) {
                return Ok(part);
            }
            (chain_read::BY_TRANSACTION, id)
        }
    };
    load_chain(connection, sql, ids, id)
}

/// Runs the chain statement `sql` for the id `key`: one statement, so one snapshot.
fn load_chain(
    connection: &Connection,
    sql: &'static str,
    ids: StoredIds,
    key: i64,
) -> StoreResult<Option<PaymentChain>> {
    query_on(connection, sql, [key], |rows, columns| {
        let mut chain = ChainRows::new(ids);
        while let Some(row) = rows.next().map_err(sqlite_error)? {
            chain.push(&SqliteRow::new(row, columns))?;
        }
        Ok(chain.finish())
    })
}

/// Runs the cached statement `sql` with `params` on `connection` and hands its rows, with the
/// statement's columns, to `read`.
fn query_on<T>(
    connection: &Connection,
    sql: &'static str,
    params: impl rusqlite::Params,
    read: impl FnOnce(&mut rusqlite::Rows<'_>, &ColumnIndex) -> StoreResult<T>,
) -> StoreResult<T> {
    let mut statement = connection.prepare_cached(sql).map_err(sqlite_error)?;
    let columns = ColumnIndex::of_constant(sql, &statement);
    let mut rows = statement.query(params).map_err(sqlite_error)?;
    read(&mut rows, &columns)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A database file with one row, and a connection writing to it as the writer would.
    fn database(name: &str) -> (std::path::PathBuf, Connection) {
        let dir = std::env::temp_dir().join(format!("paybank-reads-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create the directory");
        let path = dir.join("reads.db");
        let writer = Connection::open(&path).expect("open the writer");
        writer
            .execute_batch(
                "PRAGMA journal_mode = WAL; CREATE TABLE t (k INTEGER PRIMARY KEY, v INTEGER); \
                 INSERT INTO t VALUES (1, 1);",
            )
            .expect("create the table");
        (path, writer)
    }

    /// Reads opened as the store opens them, which have read twice with no commit between (so
    /// the connection keeps a snapshot); then another connection, uncounted, changes the row.
    fn snapshot_kept_then_changed(name: &str) -> (std::path::PathBuf, Connection, SqliteReads) {
        let (path, writer) = database(name);
        let ids = crate::test_support::test_ids();
        let reads = SqliteReads::open(&path, 1, Commits::default(), ids).expect("open the reads");
        assert_eq!(value(&reads), 1);
        assert_eq!(value(&reads), 1);
        writer.execute("UPDATE t SET v = 2", []).expect("update");
        (path, writer, reads)
    }

    fn value(reads: &SqliteReads) -> i64 {
        let sql = "SELECT v FROM t WHERE k = ?1";
        let found = reads.first(sql, [1], |row| row.row.get(0).map_err(sqlite_error));
        found.expect("read").expect("the row")
    }

    /// Snapshots kept for an hour: a commit the writer has counted is seen by the very next
    /// read; one it has not counted (another process's) is not, until the writer counts one.
    /// A read that follows a commit keeps no snapshot; the next, with no commit between, does.
    #[tokio::test]
    async fn reads_see_every_counted_commit_at_once() {
        let (path, writer) = database("commits");
        let commits = Commits::default();
        let hour = Duration::from_secs(3600);
        let ids = crate::test_support::test_ids();
        let reads = SqliteReads::open_reusing(&path, 1, commits.clone(), ids, hour).expect("open");
        let kept = || {
            reads.0.connections[0]
                .lock()
                .expect("lock")
                .snapshot
                .is_some()
        };
        assert_eq!(value(&reads), 1);
        assert!(!kept(), "the first read kept a snapshot");
        assert_eq!(value(&reads), 1);
        assert!(
            kept(),
            "a second read with no commit between kept no snapshot"
        );

        writer.execute("UPDATE t SET v = 2", []).expect("update");
        commits.raise();
        assert_eq!(value(&reads), 2);
        assert!(!kept(), "a read right after a commit kept a snapshot");

        assert_eq!(value(&reads), 2);
        writer.execute("UPDATE t SET v = 3", []).expect("update");
        assert_eq!(value(&reads), 2, "the snapshot was not kept");
        commits.raise();
        assert_eq!(value(&reads), 3);
        let _ = std::fs::remove_dir_all(path.parent().expect("the directory"));
    }

    /// A commit the writer has not counted is seen once the snapshot has served its time.
    #[tokio::test]
    async fn uncounted_commits_are_seen_after_the_reuse_span() {
        let (path, _writer, reads) = snapshot_kept_then_changed("uncounted");
        std::thread::sleep(SNAPSHOT_REUSE_MAX * 2);
        assert_eq!(value(&reads), 2);
        let _ = std::fs::remove_dir_all(path.parent().expect("the directory"));
    }

    /// A snapshot left open by the last read is ended by the sweep, so the writer can empty
    /// the WAL.
    #[tokio::test]
    async fn idle_snapshots_are_swept() {
        // `_reads` stays alive to the end: dropped, its connections would close and free the WAL.
        let (path, writer, _reads) = snapshot_kept_then_changed("sweep");
        tokio::time::sleep(SNAPSHOT_SWEEP_EVERY * 3).await;
        let busy: i64 = writer
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |row| row.get(0))
            .expect("checkpoint");
        assert_eq!(busy, 0, "a reader kept the WAL in use");
        let _ = std::fs::remove_dir_all(path.parent().expect("the directory"));
    }
}
