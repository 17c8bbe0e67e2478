//! The SQL store: SQLite or PostgreSQL behind one implementation of [`crate::Store`].

use std::str::FromStr;
use std::time::Duration;

use paybank_core::ids::StoredIds;
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyConnection, AnyPool, ConnectOptions, Connection, Executor};

use crate::chain_batch::ChainReads;
use crate::checkpointer::Checkpointer;
use crate::columns::sqlite_error;
use crate::merchant_cache::MerchantCache;
use crate::open_lock::OpenLock;
use crate::sqlite_reads::{Commits, SqliteReads};
use crate::stored_ids;
use crate::writer::{WriteConnection, WriterHandle};
use crate::{StoreError, StoreResult};

/// Which database is behind the store; decides the migrations and the few statements that
/// differ between the two.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Bounds of the group-commit writer.
#[derive(Clone, Copy, Debug)]
pub struct WriterOptions {
    /// Most commands committed together.
    pub batch_size_max: usize,
    /// Most commands waiting; callers wait (backpressure) beyond it.
    pub queue_length_max: usize,
    pub read_connections_max: u32,
}

impl Default for WriterOptions {
    fn default() -> WriterOptions {
        WriterOptions {
            batch_size_max: 256,
            queue_length_max: 4096,
            read_connections_max: 8,
        }
    }
}

/// SQLite or PostgreSQL, chosen by the URL scheme.
pub struct SqlStore {
    pub(crate) backend: Backend,
    pub(crate) reads: AnyPool,
    /// SQLite only: the hot reads, inline through rusqlite (see `sqlite_reads`).
    pub(crate) sqlite_reads: Option<SqliteReads>,
    /// PostgreSQL only: chain reads, gathered into shared statements under load.
    pub(crate) chain_reads: Option<ChainReads>,
    pub(crate) merchants: MerchantCache,
    pub(crate) writer: WriterHandle,
    /// SQLite only: copies the WAL back in the background while the store is open.
    _checkpointer: Option<Checkpointer>,
    /// How ids are kept in the database (see `stored_ids`).
    pub(crate) ids: StoredIds,
}

/// How long a SQLite connection waits for another's lock (the writer's, a checkpoint's); the
/// pragmas below spell the same 5,000 ms.
pub(crate) const BUSY_TIMEOUT: Duration = Duration::from_millis(5_000);
const SQLITE_PRAGMAS: &str = "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; \
    PRAGMA busy_timeout = 5000; PRAGMA foreign_keys = ON;";
/// The writer's own settings. A checkpoint copies every page written since the last one back
/// into the database file, once however often the page was rewritten, and the hot index pages
/// are rewritten by nearly every batch: checkpointing every 16,384 frames (64 MiB of WAL)
/// rather than SQLite's 1,000 copies each hot page far less often. A 32 MiB page cache keeps
/// those pages from being read back from the file between batches. Together they made durable
/// captures about 35 % faster in `paybank bench --only b` (see BENCHMARKS.md). A thread of its
/// own copies the frames back meanwhile (`checkpointer`), so the writer's checkpoint finds
/// little left and holds its commits back only briefly.
const SQLITE_WRITER_PRAGMAS: &str =
    "PRAGMA wal_autocheckpoint = 16384; PRAGMA cache_size = -32768;";
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// A read connection idle longer than this is pinged before use, so one the database dropped
/// meanwhile (a restart, a proxy's idle cut) is replaced instead of failing a request. sqlx
/// pings at every acquire by default: on PostgreSQL a round trip (and a backend wake-up) more
/// for each read, though a busy connection was in use a moment ago.
const PING_AFTER_IDLE: Duration = Duration::from_secs(1);
/// Statements the SQLite writer keeps prepared: every distinct write statement fits.
const WRITER_STATEMENT_CACHE: usize = 128;

impl SqlStore {
    /// Opens the database at `database_url`, migrating it; `id_seed` becomes the deployment's
    /// id secret if it has none yet.
    pub async fn open(
        database_url: &str,
        id_seed: &str,
        options: WriterOptions,
    ) -> StoreResult<SqlStore> {
        sqlx::any::install_default_drivers();
        let backend = backend_of(database_url)?;
        let url = match backend {
            Backend::Sqlite if !database_url.contains("mode=") => {
                let separator = if database_url.contains('?') { '&' } else { '?' };
                format!("{database_url}{separator}mode=rwc")
            }
            _ => database_url.to_owned(),
        };
        let connect_options = AnyConnectOptions::from_str(&url)?.disable_statement_logging();
        // One process at a time migrates a SQLite file and gives it its id secret.
        let preparing = match backend {
            Backend::Sqlite => OpenLock::take(&sqlite_path(&url)?).await?,
            Backend::Postgres => None,
        };
        let mut write_connection = connect(&connect_options, backend).await?;
        migrate(&mut write_connection, backend).await?;
        let ids = stored_ids::prepare(&mut write_connection, backend, id_seed).await?;
        drop(preparing);
        let reads = read_pool(connect_options, backend, options).await?;
        let commits = Commits::default();
        let (sqlite_reads, write_connection) = match backend {
            Backend::Sqlite => {
                let path = sqlite_path(&url)?;
                let reads = SqliteReads::open(
                    &path,
                    options.read_connections_max as usize,
                    commits.clone(),
                    ids,
                )?;
                // Migrations ran through sqlx; from here on rusqlite is the only writer.
                write_connection.close().await?;
                (
                    Some((reads, Checkpointer::spawn(&path, commits.clone())?)),
                    WriteConnection::sqlite(sqlite_writer(&path)?, ids),
                )
            }
            Backend::Postgres => (None, WriteConnection::sqlx(write_connection, ids)),
        };
        let (sqlite_reads, checkpointer) = sqlite_reads.unzip();
        let writer = WriterHandle::spawn(write_connection, backend, options, commits)?;
        let chain_reads = match backend {
            Backend::Sqlite => None,
            Backend::Postgres => Some(ChainReads::spawn(reads.clone(), ids)),
        };
        Ok(SqlStore {
            backend,
            reads,
            sqlite_reads,
            chain_reads,
            merchants: MerchantCache::default(),
            writer,
            _checkpointer: checkpointer,
            ids,
        })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }
}

/// The pool of read connections (on SQLite, for the reads off the hot paths).
async fn read_pool(
    connect_options: AnyConnectOptions,
    backend: Backend,
    options: WriterOptions,
) -> StoreResult<AnyPool> {
    let pool = AnyPoolOptions::new()
        .max_connections(options.read_connections_max)
        .acquire_timeout(CONNECT_TIMEOUT)
        .test_before_acquire(false)
        .before_acquire(|connection, meta| {
            Box::pin(async move {
                if meta.idle_for > PING_AFTER_IDLE {
                    connection.ping().await?;
                }
                Ok(true)
            })
        })
        .after_connect(move |connection, _| {
            Box::pin(async move {
                if backend == Backend::Sqlite {
                    connection.execute("PRAGMA busy_timeout = 5000;").await?;
                }
                Ok(())
            })
        })
        .connect_with(connect_options)
        .await?;
    Ok(pool)
}

fn backend_of(database_url: &str) -> StoreResult<Backend> {
    if database_url.starts_with("sqlite:") {
        Ok(Backend::Sqlite)
    } else if database_url.starts_with("postgres:") || database_url.starts_with("postgresql:") {
        Ok(Backend::Postgres)
    } else {
        Err(StoreError::Database(format!(
            "unsupported database URL {database_url:?}: use sqlite://PATH or postgres://…"
        )))
    }
}

/// The writer's own SQLite connection, with the pragmas that make each commit durable.
fn sqlite_writer(path: &std::path::Path) -> StoreResult<rusqlite::Connection> {
    let connection = rusqlite::Connection::open(path).map_err(sqlite_error)?;
    connection
        .execute_batch(SQLITE_PRAGMAS)
        .map_err(sqlite_error)?;
    connection
        .execute_batch(SQLITE_WRITER_PRAGMAS)
        .map_err(sqlite_error)?;
    // The writer reads chains too, before each batch.
    connection
        .execute_batch(&crate::chain_read::SQLITE_VIEWS)
        .map_err(sqlite_error)?;
    connection.set_prepared_statement_cache_capacity(WRITER_STATEMENT_CACHE);
    Ok(connection)
}

/// The database file a `sqlite://` URL names.
fn sqlite_path(url: &str) -> StoreResult<std::path::PathBuf> {
    let options = sqlx::sqlite::SqliteConnectOptions::from_str(url)?;
    Ok(options.get_filename().to_owned())
}

async fn connect(options: &AnyConnectOptions, backend: Backend) -> StoreResult<AnyConnection> {
    let mut connection = tokio::time::timeout(CONNECT_TIMEOUT, options.connect())
        .await
        .map_err(|_| StoreError::Database("timed out connecting to the database".to_owned()))??;
    if backend == Backend::Sqlite {
        connection.execute(SQLITE_PRAGMAS).await?;
    }
    Ok(connection)
}

async fn migrate(connection: &mut AnyConnection, backend: Backend) -> StoreResult<()> {
    let migrator = match backend {
        Backend::Sqlite => sqlx::migrate!("./migrations/sqlite"),
        Backend::Postgres => sqlx::migrate!("./migrations/postgres"),
    };
    // SQLite: a migration that replaces a table others refer to (0005) must not have the old
    // one's rows checked as it drops them. SQLite ignores this pragma inside a transaction, and
    // each migration runs in one, so it is set around them all and every reference checked
    // after: only when one is pending, since the check reads every row that refers to another
    // (about 0.4 s over a million transactions).
    let pending = match backend {
        Backend::Sqlite => sqlite_applied_migrations(connection).await? < migrator.migrations.len(),
        Backend::Postgres => false,
    };
    if pending {
        connection.execute("PRAGMA foreign_keys = OFF").await?;
    }
    let migrated = migrator
        .run(&mut *connection)
        .await
        .map_err(|error| StoreError::Database(format!("migrations failed: {error}")));
    if pending {
        connection.execute("PRAGMA foreign_keys = ON").await?;
        migrated?;
        return sqlite_references_intact(connection).await;
    }
    migrated
}

/// How many migrations a SQLite database has had applied; none before its first.
async fn sqlite_applied_migrations(connection: &mut AnyConnection) -> StoreResult<usize> {
    let table =
        "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations'";
    let tables: i64 = sqlx::query_scalar(table)
        .fetch_one(&mut *connection)
        .await?;
    if tables == 0 {
        return Ok(0);
    }
    let applied: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM _sqlx_migrations")
        .fetch_one(&mut *connection)
        .await?;
    Ok(usize::try_from(applied).unwrap_or(0))
}

/// Every row that refers to another (a foreign key) finds it.
async fn sqlite_references_intact(connection: &mut AnyConnection) -> StoreResult<()> {
    let dangling = sqlx::query("PRAGMA foreign_key_check")
        .fetch_all(&mut *connection)
        .await?;
    match dangling.len() {
        0 => Ok(()),
        rows => Err(StoreError::Database(format!(
            "after migrating, {rows} rows refer to rows that do not exist"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use paybank_core::ids::TransactionId;
    use paybank_core::model::Transaction;
    use sqlx::Executor;

    use crate::bulk_fixture::Batch;
    use crate::contract_support::{add_merchant, merchant, put, World, T0};
    use crate::rows;
    use crate::test_support::{SqliteFile, TEST_ID_SEED};
    use crate::Store;

    use super::{SqlStore, WriterOptions};

    const ROWID_KEYS: &str = include_str!("../migrations/sqlite/0005_id_keys_are_rowids.sql");
    const TOTALS: &str = include_str!("../migrations/sqlite/0007_payment_totals.sql");
    const WITHOUT_ROWID: &str =
        include_str!("../migrations/sqlite/0008_key_tables_without_rowid.sql");
    const TOTALS_POSTGRES: &str = include_str!("../migrations/postgres/0007_payment_totals.sql");

    /// Processes started together on a new database (`serve` and `merchant create` from the
    /// README, say) each open a store on it: one migrates, the others wait for it and find the
    /// migrations applied, instead of running them again beside it. Each opens on a thread and
    /// runtime of its own, as a process would, all at once.
    #[test]
    fn stores_opened_at_once_on_a_new_database_all_open() {
        let file = SqliteFile::create("opened-at-once");
        let start = Arc::new(std::sync::Barrier::new(6));
        let opening: Vec<_> = (0..6)
            .map(|_| {
                let (url, start) = (file.url.clone(), start.clone());
                std::thread::spawn(move || {
                    let runtime = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                        .expect("a runtime");
                    start.wait();
                    runtime.block_on(async {
                        let store = SqlStore::open(&url, TEST_ID_SEED, WriterOptions::default())
                            .await
                            .map_err(|error| error.to_string())?;
                        let found = store.merchant_by_access_id("nobody").await;
                        found
                            .map(|merchant| merchant.is_none())
                            .map_err(|e| e.to_string())
                    })
                })
            })
            .collect();
        for thread in opening {
            assert_eq!(thread.join().expect("the thread ran"), Ok(true));
        }
    }

    #[test]
    fn both_backends_sum_the_totals_alike() {
        assert_eq!(TOTALS, TOTALS_POSTGRES);
    }

    #[tokio::test]
    async fn sqlite_sums_the_totals_of_older_payments_as_changes_keep_them() {
        let file = SqliteFile::create("totals");
        sums_the_totals_of_older_payments_as_changes_keep_them(&file.url).await;
    }

    /// Runs where `PAYBANK_TEST_POSTGRES_URL` names a server, as `.ci/run` does.
    #[tokio::test]
    async fn postgres_sums_the_totals_of_older_payments_as_changes_keep_them() {
        let Some(base) = crate::test_support::postgres_url() else {
            return;
        };
        let schema = crate::test_support::Schema::create(&base, "totals").await;
        sums_the_totals_of_older_payments_as_changes_keep_them(&schema.url).await;
        schema.drop().await;
    }

    /// A payment holding a transaction of every type in every status: the totals 0007 sums
    /// for an older database are the ones its changes kept (`ChainTotals`).
    async fn sums_the_totals_of_older_payments_as_changes_keep_them(url: &str) {
        use paybank_core::codes::{TransactionStatus, TransactionType};
        use paybank_core::model::ChainTotals;
        use paybank_core::money::Amount;

        let store = crate::open(url, TEST_ID_SEED).await.expect("open");
        let mut world = World::new(merchant(1, false), 1_000);
        add_merchant(&store, &world.merchant).await;
        let mut change = world.establish("TOTALS", T0);
        let template = change.transactions[0].clone();
        let mut next_id = 500_000;
        for transaction_type in TransactionType::ALL {
            for status in TransactionStatus::ALL {
                next_id += 1;
                let minor = |part: i64| Amount::from_minor(next_id * 10 + part);
                change.put(Transaction {
                    transaction_id: TransactionId(next_id as u64),
                    transaction_type,
                    status,
                    merchant_reference: format!("TOTALS-{next_id}"),
                    amount: minor(1),
                    pending: minor(2),
                    paid: Amount::from_minor(next_id * 30 + 9),
                    refunded: minor(3),
                    reversed: minor(1),
                    ..template.clone()
                });
            }
        }
        let expected = ChainTotals::of(&change.transactions);
        assert_eq!(change.payment.totals, expected);
        assert!(expected.captures_held.minor() > 0 && expected.deposits_held.minor() > 0);
        assert_eq!(expected.preauthorizations, 14);
        put(&store, &change).await.expect("commit");
        let payment_id = change.payment.payment_id;
        let read = |store: &Arc<dyn Store>| {
            let store = store.clone();
            async move {
                store
                    .chain(payment_id)
                    .await
                    .expect("read")
                    .expect("a chain")
            }
        };
        assert_eq!(read(&store).await.payment.totals, expected);

        let mut connection = {
            use sqlx::Connection;
            sqlx::AnyConnection::connect(url).await.expect("connect")
        };
        let zeros: Vec<String> = (rows::PAYMENT_TOTAL_COLUMNS.iter())
            .map(|column| format!("{column} = 0"))
            .collect();
        let forget = format!("UPDATE payments SET {}", zeros.join(", "));
        connection
            .execute(&*forget)
            .await
            .expect("forget the totals");
        // One text for both backends (`both_backends_sum_the_totals_alike`).
        let backfill = &TOTALS[TOTALS.find("UPDATE payments").expect("the backfill")..];
        connection.execute(backfill).await.expect("sum the totals");
        assert_eq!(read(&store).await.payment.totals, expected);
    }

    /// The indexes SQLite made for primary keys that are not the rowid.
    async fn key_indexes(connection: &mut sqlx::AnyConnection) -> Vec<String> {
        key_indexes_of(
            connection,
            "'payments', 'transactions', 'outbox_events', 'ach_entries'",
        )
        .await
    }

    /// The same, for the tables `tables` lists (quoted, comma-separated).
    async fn key_indexes_of(connection: &mut sqlx::AnyConnection, tables: &str) -> Vec<String> {
        let sql = format!(
            "SELECT name FROM sqlite_master WHERE name LIKE 'sqlite_autoindex_%' \
             AND tbl_name IN ({tables}) ORDER BY name"
        );
        sqlx::query_scalar(&sql)
            .fetch_all(connection)
            .await
            .expect("list")
    }

    /// A database file named after `name` holding a committed batch of every kind, its store
    /// closed, and a connection of its own to it.
    async fn stored_batch(name: &str) -> (SqliteFile, Batch, sqlx::AnyConnection) {
        let file = SqliteFile::create(name);
        let store = crate::open(&file.url, TEST_ID_SEED).await.expect("open");
        let batch = Batch::of_every_kind(&store, &file.url).await;
        for change in &batch.changes {
            put(&store, change).await.expect("commit");
        }
        drop(store);
        let connection = batch.connection().await;
        (file, batch, connection)
    }

    /// A database from before 0005 (made here by declaring its tables back as they were)
    /// keeps every row, and every reference between rows, when its id keys become rowids.
    #[tokio::test]
    async fn tables_keyed_by_an_id_become_rowid_tables_keeping_their_rows() {
        let (file, batch, mut connection) = stored_batch("rowids").await;
        let url = &file.url;
        assert!(key_indexes(&mut connection).await.is_empty());
        let rows = batch.rows(&mut connection).await;

        connection
            .execute("PRAGMA foreign_keys = OFF")
            .await
            .expect("off");
        // The payments' totals (0007) came after; they go first and come back after 0005.
        for column in rows::PAYMENT_TOTAL_COLUMNS {
            let drop = format!("ALTER TABLE payments DROP COLUMN {column}");
            connection.execute(&*drop).await.expect("drop a total");
        }
        let before = ROWID_KEYS.replace("INTEGER PRIMARY KEY", "BIGINT PRIMARY KEY");
        connection.execute(&*before).await.expect("declare back");
        let forget = "DELETE FROM _sqlx_migrations WHERE version IN (5, 7)";
        connection
            .execute(forget)
            .await
            .expect("forget 0005 and 0007");
        assert_eq!(key_indexes(&mut connection).await.len(), 4);

        let store = crate::open(url, TEST_ID_SEED).await.expect("reopen");
        assert!(key_indexes(&mut connection).await.is_empty());
        assert_eq!(batch.rows(&mut connection).await, rows);
        batch.assert_written(&store, &mut connection).await;
    }

    /// A database from before 0008 (made here by declaring the two tables back with a rowid)
    /// keeps every claim and timer, and finds them by their keys, once they are kept without.
    #[tokio::test]
    async fn claims_and_timers_are_kept_without_rowid_keeping_their_rows() {
        const KEYED: &str = "'reference_claims', 'timers'";
        let (file, batch, mut connection) = stored_batch("without-rowid").await;
        let url = &file.url;
        assert!(key_indexes_of(&mut connection, KEYED).await.is_empty());
        let rows = batch.rows(&mut connection).await;

        let before = WITHOUT_ROWID.replace(") WITHOUT ROWID;", ");");
        connection.execute(&*before).await.expect("declare back");
        let forget = "DELETE FROM _sqlx_migrations WHERE version = 8";
        connection.execute(forget).await.expect("forget 0008");
        assert_eq!(key_indexes_of(&mut connection, KEYED).await.len(), 2);

        let store = crate::open(url, TEST_ID_SEED).await.expect("reopen");
        assert!(key_indexes_of(&mut connection, KEYED).await.is_empty());
        assert_eq!(batch.rows(&mut connection).await, rows);
        batch.assert_written(&store, &mut connection).await;
    }
}
