//! SQLite's hot reads (a payment chain, a merchant, a Lightbox session), run inline on the caller's thread through
//! rusqlite with cached statements.
//!
//! Why not through sqlx: its SQLite driver runs every statement on a worker thread of its own
//! and hands rows back over channels, two thread switches per statement. A chain read was four
//! statements then (one now, see `chain_read`), so switching, not SQLite, was most of a read's
//! cost (a flame graph of `GET /transactions/{id}` showed ~45 % of the server's time in the kernel's task switch and
//! ~1 % in SQLite). A primary-key read from SQLite's page cache takes microseconds, so running
//! it on the async thread holds that thread no longer than a JSON render does.

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use paybank_core::ids::{PaymentId, TransactionId};
use paybank_core::lightbox::LightboxSession;
use paybank_core::model::{Merchant, PaymentChain};
use rusqlite::{Connection, OpenFlags};

use crate::chain_read::{self, ChainRows};
use crate::codec::{self, sql_id};
use crate::columns::{sqlite_error, ColumnIndex, SqliteRow};
use crate::StoreResult;

/// Statements each connection keeps prepared.
const STATEMENT_CACHE: usize = 32;
/// Each connection's page cache, in KiB. With SQLite's default (2 MiB) a chain read over a large
/// store fetched most of its pages from the kernel, a `pread` each (10 % of a read's time in a
/// profile with 200,000 stored); with 16 MiB, alternating runs of `paybank bench --only a`
/// served 2-10 % more reads per second. Only connections in use fill theirs, and reads keep to
/// the first connections, so this adds about 15 MB to the server's memory.
const PAGE_CACHE_KIB: u32 = 16_384;

/// A few read-only connections; a read takes whichever is free.
pub(crate) struct SqliteReads {
    connections: Vec<Mutex<Connection>>,
    next: AtomicUsize,
}

impl SqliteReads {
    /// Opens `count` read-only connections to the database file at `path` (which exists:
    /// the writer created and migrated it first).
    pub(crate) fn open(path: &Path, count: usize) -> StoreResult<SqliteReads> {
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
                connection.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
                Ok(Mutex::new(connection))
            })
            .collect::<StoreResult<Vec<_>>>()?;
        Ok(SqliteReads {
            connections,
            next: AtomicUsize::new(0),
        })
    }

    /// Runs `read` on the first free connection; waits for one only when all are in use.
    /// Trying them in order keeps the reads on the first connections, whose page caches are
    /// warm, rather than spreading them over cold ones.
    fn with<T>(&self, read: impl FnOnce(&Connection) -> StoreResult<T>) -> StoreResult<T> {
        for connection in &self.connections {
            if let Ok(connection) = connection.try_lock() {
                return read(&connection);
            }
        }
        let index = self.next.fetch_add(1, Ordering::Relaxed) % self.connections.len();
        let connection = self.connections[index]
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        read(&connection)
    }

    /// The first row `sql` finds for `key`, decoded.
    fn first<T>(
        &self,
        sql: &'static str,
        key: impl rusqlite::ToSql,
        decode: impl Fn(&SqliteRow<'_>) -> StoreResult<T>,
    ) -> StoreResult<Option<T>> {
        self.with(|connection| {
            let mut statement = connection.prepare_cached(sql).map_err(sqlite_error)?;
            let columns = ColumnIndex::of_constant(sql, &statement);
            let mut rows = statement.query([key]).map_err(sqlite_error)?;
            match rows.next().map_err(sqlite_error)? {
                Some(row) => decode(&SqliteRow {
                    row,
                    columns: &columns,
                })
                .map(Some),
                None => Ok(None),
            }
        })
    }

    pub(crate) fn merchant_by_access_id(&self, access_id: &str) -> StoreResult<Option<Merchant>> {
        let sql = "SELECT * FROM merchants WHERE access_id = ?1";
        self.first(sql, access_id, |row| codec::merchant(row))
    }

    pub(crate) fn lightbox_session(
        &self,
        session_id: &str,
    ) -> StoreResult<Option<LightboxSession>> {
        let sql = "SELECT * FROM lightbox_sessions WHERE session_id = ?1";
        self.first(sql, session_id, |row| codec::lightbox_session(row))
    }

    pub(crate) fn lightbox_session_of_transaction(
        &self,
        transaction_id: TransactionId,
    ) -> StoreResult<Option<LightboxSession>> {
        let sql = "SELECT * FROM lightbox_sessions WHERE transaction_id = ?1 \
                   ORDER BY updated_at DESC LIMIT 1";
        let key = sql_id(transaction_id.0);
        self.first(sql, key, |row| codec::lightbox_session(row))
    }

    pub(crate) fn chain(&self, payment_id: PaymentId) -> StoreResult<Option<PaymentChain>> {
        self.with(|connection| load_chain(connection, &chain_read::BY_PAYMENT, payment_id.0))
    }

    pub(crate) fn chain_of_transaction(
        &self,
        transaction_id: TransactionId,
    ) -> StoreResult<Option<PaymentChain>> {
        self.with(|connection| {
            load_chain(connection, &chain_read::BY_TRANSACTION, transaction_id.0)
        })
    }
}

/// Runs the chain statement `sql` for the id `key`: one statement, so one snapshot.
fn load_chain(
    connection: &Connection,
    sql: &'static str,
    key: u64,
) -> StoreResult<Option<PaymentChain>> {
    let mut statement = connection.prepare_cached(sql).map_err(sqlite_error)?;
    let columns = ColumnIndex::of_constant(sql, &statement);
    let mut rows = statement.query([sql_id(key)]).map_err(sqlite_error)?;
    let mut chain = ChainRows::default();
    while let Some(row) = rows.next().map_err(sqlite_error)? {
        chain.push(&SqliteRow {
            row,
            columns: &columns,
        })?;
    }
    Ok(chain.finish())
}
