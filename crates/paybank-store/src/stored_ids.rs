//! How a database keeps ids: the deployment's id secret, and the one-time conversion of a
//! database written before ids were stored as the counters they were made from.
//!
//! Public ids are a keyed permutation of a counter (`paybank_core::ids`), so ids made one
//! after another land at random places in every index keyed by an id: each new row dirtied a
//! page of its own in each such index, and a read of a recent payment found its rows spread
//! over as many pages. Stored as their counters, rows made together sit together and indexes
//! grow at their end. The store holds the key ([`StoredIds`]) and translates at its edge, so
//! nothing outside it sees a stored value.

use paybank_core::ids::{permutation_key, StoredIds};
use sqlx::{AnyConnection, Executor, Row};

use crate::rows::timer_key_sql;
use crate::sql::Backend;
use crate::writes::{SETTING_INSERT, SETTING_SELECT};
use crate::{StoreError, StoreResult};

/// The setting that holds the secret the deployment's ids are made with.
pub const ID_SECRET_SETTING: &str = "id_permutation_secret";
/// Present once the database's id columns hold counters; absent in one written before.
const STORED_AS_SETTING: &str = "ids_stored_as";
const STORED_AS_COUNTERS: &str = "counters";
/// Present once timers are kept under their transaction's stored id (`rows::timer_key`), with
/// the same value as [`STORED_AS_SETTING`]; absent in a database written before.
const TIMER_KEYS_SETTING: &str = "timer_keys_stored_as";

/// Every column that holds an id, by table.
const ID_COLUMNS: &[(&str, &[&str])] = &[
    ("merchants", &["merchant_id"]),
    (
        "payments",
        &["payment_id", "merchant_id", "authorization_id"],
    ),
    (
        "transactions",
        &[
            "transaction_id",
            "payment_id",
            "merchant_id",
            "original_transaction_id",
        ],
    ),
    ("reference_claims", &["merchant_id", "transaction_id"]),
    ("ledger_postings", &["transaction_id"]),
    (
        "outbox_events",
        &["event_id", "merchant_id", "payment_id", "transaction_id"],
    ),
    ("event_attempts", &["event_id"]),
    ("timers", &["payment_id", "transaction_id"]),
    ("lightbox_sessions", &["payment_id", "transaction_id"]),
    (
        "ach_entries",
        &["transaction_id", "payment_id", "merchant_id"],
    ),
    ("rail_files", &["merchant_id"]),
    ("instant_messages", &["transaction_id", "merchant_id"]),
    ("forced_outcomes", &["transaction_id"]),
];

/// Moves every stored id out of the way first (ids are never negative before the
/// conversion, nor below `-10^12` after it), so that no row takes a key another row still
/// holds while the columns are rewritten.
const ASIDE: i64 = 4_000_000_000_000_000_000;
/// Rows of the id map written per statement.
const MAP_ROWS_PER_INSERT: usize = 500;

/// Stores `id_seed` as the deployment's id secret unless it has one, converts a database
/// written before ids were stored as counters, and says how ids are stored. Runs once at open,
/// on the connection that migrated, in one transaction: several nodes opening one database at
/// once agree on the secret, and a conversion is either whole or not begun.
pub(crate) async fn prepare(
    connection: &mut AnyConnection,
    backend: Backend,
    id_seed: &str,
) -> StoreResult<StoredIds> {
    connection.execute(begin(backend)).await?;
    let prepared = secret_and_conversion(connection, backend, id_seed).await;
    let end = if prepared.is_ok() {
        "COMMIT"
    } else {
        "ROLLBACK"
    };
    connection.execute(end).await?;
    prepared
}

fn begin(backend: Backend) -> &'static str {
    match backend {
        Backend::Sqlite => "BEGIN IMMEDIATE",
        // Opening nodes wait for each other here rather than convert twice.
        Backend::Postgres => "BEGIN; LOCK TABLE settings IN EXCLUSIVE MODE",
    }
}

async fn secret_and_conversion(
    connection: &mut AnyConnection,
    backend: Backend,
    id_seed: &str,
) -> StoreResult<StoredIds> {
    let secret = setting_or_insert(connection, ID_SECRET_SETTING, id_seed).await?;
    let ids = StoredIds::new(permutation_key(secret.as_bytes()));
    let stored_as = setting_or_insert(connection, STORED_AS_SETTING, "public").await?;
    if stored_as != STORED_AS_COUNTERS {
        let to_counters = |public: i64| Some(ids.stored(u64::try_from(public).ok()?));
        rewrite_ids(connection, backend, to_counters).await?;
        set_setting(connection, STORED_AS_SETTING, STORED_AS_COUNTERS).await?;
    }
    // After the ids: a timer's key is made from its transaction's stored id.
    let timer_keys = setting_or_insert(connection, TIMER_KEYS_SETTING, "public").await?;
    if timer_keys != STORED_AS_COUNTERS {
        let rekey = format!("UPDATE timers SET timer_id = {}", timer_key_sql(backend));
        connection.execute(&*rekey).await?;
        set_setting(connection, TIMER_KEYS_SETTING, STORED_AS_COUNTERS).await?;
    }
    Ok(ids)
}

async fn set_setting(connection: &mut AnyConnection, key: &str, value: &str) -> StoreResult<()> {
    sqlx::query("UPDATE settings SET setting_value = $1 WHERE setting_key = $2")
        .bind(value)
        .bind(key)
        .execute(&mut *connection)
        .await?;
    Ok(())
}

async fn setting_or_insert(
    connection: &mut AnyConnection,
    key: &str,
    value: &str,
) -> StoreResult<String> {
    sqlx::query(SETTING_INSERT)
        .bind(key)
        .bind(value)
        .execute(&mut *connection)
        .await?;
    let row = sqlx::query(SETTING_SELECT)
        .bind(key)
        .fetch_one(&mut *connection)
        .await?;
    Ok(row.try_get("setting_value")?)
}

/// Rewrites every id column through `rewrite`, inside the caller's transaction. `rewrite` must
/// be one to one on the values present; `None` means a value it cannot take, and nothing is
/// changed then.
pub(crate) async fn rewrite_ids(
    connection: &mut AnyConnection,
    backend: Backend,
    rewrite: impl Fn(i64) -> Option<i64>,
) -> StoreResult<()> {
    let mut values = Vec::new();
    for (table, columns) in ID_COLUMNS {
        for column in *columns {
            let sql = format!("SELECT DISTINCT {column} FROM {table} WHERE {column} IS NOT NULL");
            let rows = sqlx::query(&sql).fetch_all(&mut *connection).await?;
            for row in rows {
                values.push(row.try_get::<i64, _>(0)?);
            }
        }
    }
    if values.is_empty() {
        return Ok(());
    }
    values.sort_unstable();
    values.dedup();
    let mut map = Vec::with_capacity(values.len());
    for value in values {
        let rewritten = rewrite(value)
            .ok_or_else(|| StoreError::Database(format!("cannot convert the stored id {value}")))?;
        map.push((value - ASIDE, rewritten));
    }
    tracing::info!(
        ids = map.len(),
        "converting the database's ids to their stored form"
    );
    let (release, restore) = foreign_keys_held(backend);
    connection.execute(release).await?;
    write_map(connection, &map).await?;
    for (table, columns) in ID_COLUMNS {
        for column in *columns {
            let aside = format!("UPDATE {table} SET {column} = {column} - {ASIDE}");
            connection.execute(aside.as_str()).await?;
            let rewrite = format!(
                "UPDATE {table} SET {column} = (SELECT new_id FROM stored_id_map \
                 WHERE old_id = {table}.{column}) WHERE {column} IS NOT NULL"
            );
            connection.execute(rewrite.as_str()).await?;
        }
    }
    connection.execute("DROP TABLE stored_id_map").await?;
    connection.execute(restore).await?;
    Ok(())
}

/// Statements that let the two foreign keys (payments to merchants, transactions to payments)
/// wait while both ends are rewritten, and that check them again after.
fn foreign_keys_held(backend: Backend) -> (&'static str, &'static str) {
    match backend {
        Backend::Sqlite => ("PRAGMA defer_foreign_keys = ON", "SELECT 1"),
        Backend::Postgres => (
            "ALTER TABLE payments DROP CONSTRAINT payments_merchant_id_fkey; \
             ALTER TABLE transactions DROP CONSTRAINT transactions_payment_id_fkey",
            "ALTER TABLE payments ADD CONSTRAINT payments_merchant_id_fkey \
             FOREIGN KEY (merchant_id) REFERENCES merchants (merchant_id); \
             ALTER TABLE transactions ADD CONSTRAINT transactions_payment_id_fkey \
             FOREIGN KEY (payment_id) REFERENCES payments (payment_id)",
        ),
    }
}

/// A temporary table of (moved-aside value, new value).
async fn write_map(connection: &mut AnyConnection, map: &[(i64, i64)]) -> StoreResult<()> {
    connection
        .execute(
            "CREATE TEMPORARY TABLE stored_id_map \
             (old_id BIGINT PRIMARY KEY, new_id BIGINT NOT NULL)",
        )
        .await?;
    for rows in map.chunks(MAP_ROWS_PER_INSERT) {
        let placeholders: Vec<String> = (0..rows.len())
            .map(|row| format!("(${}, ${})", 2 * row + 1, 2 * row + 2))
            .collect();
        let sql = format!(
            "INSERT INTO stored_id_map (old_id, new_id) VALUES {}",
            placeholders.join(", ")
        );
        let mut insert = sqlx::query(&sql);
        for (old_id, new_id) in rows {
            insert = insert.bind(*old_id).bind(*new_id);
        }
        insert.execute(&mut *connection).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;
    use std::sync::Arc;

    use paybank_core::change::{Timer, TimerKind};
    use paybank_core::ids::TransactionId;

    use super::*;
    use crate::bulk_fixture::Batch;
    use crate::contract_support::put;
    use crate::test_support::{postgres_url, test_ids, Schema, SqliteFile, TEST_ID_SEED};
    use crate::Store;

    /// A database written before ids were stored as counters (made here by converting one
    /// back) is converted when the store opens it: every row reads back as it was written,
    /// the columns hold counters again, and the id secret is the one the database had.
    async fn converts_a_database_of_public_ids(url: &str, backend: Backend) {
        let store = crate::open(url, TEST_ID_SEED).await.expect("open");
        let batch = Batch::of_every_kind(&store, url).await;
        for change in &batch.changes {
            put(&store, change).await.expect("commit");
        }
        let mut connection = batch.connection().await;
        batch.assert_written(&store, &mut connection).await;
        let new_payment = batch.changes[1].payment.payment_id.0;
        assert_eq!(
            payment_ids(&mut connection).await,
            [test_ids().stored(new_payment)]
        );
        drop(store);

        let to_public = |stored| test_ids().id(stored).and_then(|id| i64::try_from(id).ok());
        connection.execute(begin(backend)).await.expect("begin");
        rewrite_ids(&mut connection, backend, to_public)
            .await
            .expect("back to public ids");
        set_setting(&mut connection, STORED_AS_SETTING, "public")
            .await
            .expect("mark");
        connection.execute("COMMIT").await.expect("commit");
        assert_eq!(payment_ids(&mut connection).await, [new_payment as i64]);

        let store: Arc<dyn Store> = crate::open(url, "another seed").await.expect("reopen");
        batch.assert_written(&store, &mut connection).await;
        assert_eq!(
            payment_ids(&mut connection).await,
            [test_ids().stored(new_payment)]
        );
        let secret = setting_or_insert(&mut connection, ID_SECRET_SETTING, "unused").await;
        assert_eq!(secret.expect("the secret"), TEST_ID_SEED);
    }

    /// A database whose timers are kept under their own ids (`kind:public id`), as before
    /// `rows::timer_key`, has them rekeyed when the store opens it, once: each timer is then
    /// found, replaced and deleted under its new key.
    async fn rekeys_timers_kept_under_their_ids(url: &str) {
        let store = crate::open(url, TEST_ID_SEED).await.expect("open");
        let batch = Batch::of_every_kind(&store, url).await;
        for change in &batch.changes[..2] {
            put(&store, change).await.expect("commit");
        }
        drop(store);
        let mut connection = batch.connection().await;
        let keyed: Vec<(String, String, i64)> =
            sqlx::query_as("SELECT timer_id, kind, transaction_id FROM timers")
                .fetch_all(&mut connection)
                .await
                .expect("timers");
        assert!(keyed.len() >= 2, "{keyed:?}");
        for (key, kind, stored) in &keyed {
            let id = test_ids().id(*stored).expect("an id");
            let kind = TimerKind::from_name(kind).expect("a kind");
            assert_eq!(
                key,
                &crate::rows::timer_key(kind, TransactionId(id), test_ids())
            );
            sqlx::query("UPDATE timers SET timer_id = $1 WHERE timer_id = $2")
                .bind(Timer::id_for(kind, TransactionId(id)))
                .bind(key)
                .execute(&mut connection)
                .await
                .expect("key it by its id");
        }
        sqlx::query("DELETE FROM settings WHERE setting_key = $1")
            .bind(TIMER_KEYS_SETTING)
            .execute(&mut connection)
            .await
            .expect("forget");

        let store: Arc<dyn Store> = crate::open(url, TEST_ID_SEED).await.expect("reopen");
        let rekeyed: Vec<String> = sqlx::query_scalar("SELECT timer_id FROM timers")
            .fetch_all(&mut connection)
            .await
            .expect("timers");
        let expected: HashSet<String> = keyed.into_iter().map(|(key, _, _)| key).collect();
        assert_eq!(rekeyed.into_iter().collect::<HashSet<_>>(), expected);
        for change in &batch.changes[2..] {
            put(&store, change).await.expect("commit");
        }
        batch.assert_written(&store, &mut connection).await;
        drop(store);
        // Opened again, nothing is rekeyed twice.
        let store = crate::open(url, TEST_ID_SEED).await.expect("reopen");
        batch.assert_written(&store, &mut connection).await;
    }

    #[tokio::test]
    async fn sqlite_rekeys_timers_kept_under_their_ids() {
        let file = SqliteFile::create("timer-keys");
        rekeys_timers_kept_under_their_ids(&file.url).await;
    }

    /// Runs where `PAYBANK_TEST_POSTGRES_URL` names a server, as `.ci/run` does.
    #[tokio::test]
    async fn postgres_rekeys_timers_kept_under_their_ids() {
        let Some(base) = postgres_url() else {
            return;
        };
        let schema = Schema::create(&base, "timer_keys").await;
        rekeys_timers_kept_under_their_ids(&schema.url).await;
        schema.drop().await;
    }

    /// The id column of the batch's new payment (reference `B-2…`), as the database holds it.
    async fn payment_ids(connection: &mut AnyConnection) -> Vec<i64> {
        let sql = "SELECT payment_id FROM payments WHERE merchant_reference LIKE 'B-2%'";
        sqlx::query_scalar(sql)
            .fetch_all(connection)
            .await
            .expect("payment ids")
    }

    #[tokio::test]
    async fn sqlite_converts_a_database_of_public_ids() {
        let file = SqliteFile::create("ids");
        converts_a_database_of_public_ids(&file.url, Backend::Sqlite).await;
    }

    /// Runs where `PAYBANK_TEST_POSTGRES_URL` names a server, as `.ci/run` does.
    #[tokio::test]
    async fn postgres_converts_a_database_of_public_ids() {
        let Some(base) = postgres_url() else {
            return;
        };
        let schema = Schema::create(&base, "stored_ids").await;
        converts_a_database_of_public_ids(&schema.url, Backend::Postgres).await;
        schema.drop().await;
    }
}
