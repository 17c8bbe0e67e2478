//! The writer's commands, each run inside its own savepoint of the batch transaction.

use std::sync::LazyLock;

use crate::codec;
use crate::columns::Columns;
use crate::db::{args, Db, DbRow};
use crate::rows;
use crate::sql::Backend;
use crate::writer::{Command, Reply};
use crate::{DeliveryRecord, EventState, NextDelivery, StoreError, StoreResult, WriteSet};
use paybank_core::change::Change;
use paybank_core::lightbox::LightboxSession;
use paybank_core::model::{Merchant, Payment, Transaction};

/// The one-row statements of a change, built once from the columns of `rows`.
static PAYMENT_INSERT: LazyLock<String> =
    LazyLock::new(|| rows::insert_sql("payments", &rows::PAYMENT_COLUMNS));
static PAYMENT_UPDATE: LazyLock<String> = LazyLock::new(|| {
    let columns = rows::PAYMENT_CHANGE_COLUMNS;
    let assignments: Vec<String> = (columns.iter().enumerate())
        .map(|(index, column)| format!("{column} = ${}", index + 1))
        .collect();
    format!(
        "UPDATE payments SET {} WHERE payment_id = ${} AND record_version = ${}",
        assignments.join(", "),
        columns.len() + 1,
        columns.len() + 2
    )
});
static TRANSACTION_UPSERT: LazyLock<String> = LazyLock::new(|| {
    let insert = rows::insert_sql("transactions", &rows::TRANSACTION_COLUMNS);
    format!("{insert} {}", rows::TRANSACTION_CONFLICT_UPDATE)
});
static POSTING_INSERT: LazyLock<String> =
    LazyLock::new(|| rows::insert_sql("ledger_postings", &rows::POSTING_COLUMNS));
static CLAIM_INSERT: LazyLock<String> =
    LazyLock::new(|| rows::insert_sql("reference_claims", &rows::CLAIM_COLUMNS));
static EVENT_INSERT: LazyLock<String> =
    LazyLock::new(|| rows::insert_sql("outbox_events", &rows::EVENT_COLUMNS));
static TIMER_INSERT: LazyLock<String> = LazyLock::new(|| {
    let insert = rows::insert_sql("timers", &rows::TIMER_COLUMNS);
    format!("{insert} ON CONFLICT (timer_id) DO NOTHING")
});

pub(crate) async fn apply(
    db: &mut Db<'_>,
    backend: Backend,
    command: &Command,
) -> StoreResult<Reply> {
    match command {
        Command::Commit(write) => commit(db, write).await.map(|()| Reply::Done),
        Command::ClaimTimers {
            now,
            lease_ms,
            limit,
        } => claim_timers(db, backend, *now, *lease_ms, *limit).await,
        Command::ClaimEvents {
            now,
            lease_ms,
            limit,
        } => claim_events(db, backend, *now, *lease_ms, *limit).await,
        Command::AdvanceClock { delta_ms } => {
            let offset = db
                .fetch_number(
                    "UPDATE clock SET offset_ms = offset_ms + $1 WHERE clock_id = 1 RETURNING offset_ms AS value",
                    args![*delta_ms],
                )
                .await?;
            Ok(Reply::Number(offset.ok_or(StoreError::NotFound)?))
        }
        Command::ReserveIds { count } => {
            let count =
                i64::try_from(*count).map_err(|_| StoreError::Invariant("id block too large"))?;
            let first = db
                .fetch_number(
                    "UPDATE id_counter SET next_value = next_value + $1 WHERE counter_id = 1 RETURNING next_value - $1 AS value",
                    args![count],
                )
                .await?;
            Ok(Reply::Number(first.ok_or(StoreError::NotFound)?))
        }
        Command::SettingOrInsert { key, value } => setting_or_insert(db, key, value).await,
        Command::ClaimRailJobs {
            now,
            lease_ms,
            limit,
        } => claim_rail_jobs(db, backend, *now, *lease_ms, *limit).await,
        Command::ReserveCounter { name, count } => reserve_counter(db, name, *count).await,
        // The writer answers these before a batch begins; inside one it would see the batch's
        // uncommitted writes.
        Command::ReadChain(_) => Err(StoreError::Invariant(
            "a chain read reached a write transaction",
        )),
        Command::EmptyWal => Err(StoreError::Invariant(
            "emptying the WAL reached a write transaction",
        )),
    }
}

async fn commit(db: &mut Db<'_>, write: &WriteSet) -> StoreResult<()> {
    if let Some(merchant) = &write.merchant {
        insert_merchant(db, merchant).await?;
    }
    if let Some(change) = &write.change {
        write_change(db, change).await?;
    }
    if let Some(session) = &write.session {
        upsert_session(db, session).await?;
    }
    if let Some(rail) = &write.rail {
        crate::rails::write(db, rail).await?;
    }
    if let Some(delivery) = &write.delivery {
        record_delivery(db, delivery).await?;
    }
    if let Some((event_id, due_at)) = write.resend {
        db.execute("UPDATE outbox_events SET state = $1, next_attempt_at = $2, lease_until = 0 WHERE event_id = $3", args![EventState::Pending.name(), due_at, db.id(event_id.0)]).await?;
    }
    Ok(())
}

async fn insert_merchant(db: &mut Db<'_>, merchant: &Merchant) -> StoreResult<()> {
    db.execute(
        "INSERT INTO merchants (merchant_id, name, access_id, access_key, notification_url, \
         allowed_origins, split_token_enabled, created_at, payouts_from_settled_only) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        args![
            db.id(merchant.merchant_id.0),
            &merchant.name,
            &merchant.access_id,
            &merchant.access_key,
            &merchant.notification_url,
            merchant.allowed_origins.join("\n"),
            i64::from(merchant.split_token_enabled),
            merchant.created_at,
            i64::from(merchant.payouts_from_settled_only)
        ],
    )
    .await?;
    Ok(())
}

async fn write_change(db: &mut Db<'_>, change: &Change) -> StoreResult<()> {
    change.check().map_err(StoreError::Invariant)?;
    write_payment(db, &change.payment, change.expected_version).await?;
    for txn in &change.transactions {
        upsert_transaction(db, txn).await?;
    }
    for posting in &change.postings {
        let values = rows::posting_values(posting, change.payment.updated_at, db.ids);
        db.execute(&POSTING_INSERT, &values).await?;
    }
    crate::floors::add_kept(db, &change.postings).await?;
    for claim in &change.reference_claims {
        db.execute(&CLAIM_INSERT, &rows::claim_values(claim, db.ids))
            .await
            .map_err(|error| match error {
                StoreError::Duplicate(_) => StoreError::Duplicate("merchantReference".to_owned()),
                other => other,
            })?;
    }
    crate::rails::insert_entries(db, &change.ach_entries).await?;
    crate::rails::insert_jobs(db, &change.rail_jobs).await?;
    crate::floors::check(db, &change.balance_floors).await?;
    write_events_and_timers(db, change).await
}

async fn write_events_and_timers(db: &mut Db<'_>, change: &Change) -> StoreResult<()> {
    for (ordinal, event) in change.events.iter().enumerate() {
        db.execute(&EVENT_INSERT, &rows::event_values(event, ordinal, db.ids))
            .await?;
    }
    for timer_id in &change.timers_done {
        let key = rows::timer_key_of(timer_id, db.ids)?;
        db.execute("DELETE FROM timers WHERE timer_id = $1", args![key])
            .await?;
    }
    for timer in &change.timers {
        db.execute(&TIMER_INSERT, &rows::timer_values(timer, db.ids))
            .await?;
    }
    Ok(())
}

/// Inserts a new payment, or updates it only if nobody else changed it since it was read.
async fn write_payment(
    db: &mut Db<'_>,
    payment: &Payment,
    expected_version: Option<i64>,
) -> StoreResult<()> {
    let rows_affected = match expected_version {
        None => insert_payment(db, payment).await?,
        Some(expected_version) => update_payment(db, payment, expected_version).await?,
    };
    if rows_affected != 1 {
        return Err(StoreError::Conflict);
    }
    Ok(())
}

async fn insert_payment(db: &mut Db<'_>, payment: &Payment) -> StoreResult<u64> {
    db.execute(&PAYMENT_INSERT, &rows::payment_values(payment, db.ids))
        .await
}

/// Only the fields that change after establish are written; the version check makes the
/// whole chain change atomic against concurrent writers.
async fn update_payment(
    db: &mut Db<'_>,
    payment: &Payment,
    expected_version: i64,
) -> StoreResult<u64> {
    let mut values = rows::payment_change_values(payment).to_vec();
    values.extend([db.id(payment.payment_id.0).into(), expected_version.into()]);
    db.execute(&PAYMENT_UPDATE, &values).await
}

async fn upsert_transaction(db: &mut Db<'_>, txn: &Transaction) -> StoreResult<()> {
    db.execute(&TRANSACTION_UPSERT, &rows::transaction_values(txn, db.ids))
        .await?;
    Ok(())
}

async fn record_delivery(db: &mut Db<'_>, delivery: &DeliveryRecord) -> StoreResult<()> {
    let attempt = &delivery.attempt;
    db.execute("INSERT INTO event_attempts (event_id, attempt, attempted_at, duration_ms, http_status, error) \
         VALUES ($1, $2, $3, $4, $5, $6)", args![db.id(delivery.event_id.0), attempt.attempt, attempt.attempted_at, attempt.duration_ms, attempt.http_status, &attempt.error]).await?;
    let (state, next_attempt_at, delivered_at) = match delivery.next {
        NextDelivery::Delivered => (
            EventState::Delivered,
            attempt.attempted_at,
            Some(attempt.attempted_at),
        ),
        NextDelivery::RetryAt(due_at) => (EventState::Pending, due_at, None),
        NextDelivery::GiveUp => (EventState::Failed, attempt.attempted_at, None),
    };
    db.execute("UPDATE outbox_events SET state = $1, attempts = $2, next_attempt_at = $3, lease_until = 0, \
         delivered_at = COALESCE($4, delivered_at) WHERE event_id = $5", args![state.name(), attempt.attempt, next_attempt_at, delivered_at, db.id(delivery.event_id.0)]).await?;
    Ok(())
}

/// The rows due and not leased by another worker, first `order` first. PostgreSQL skips rows
/// other nodes hold.
fn claim_sql(
    table: &str,
    key: &str,
    due: &str,
    filter: &str,
    order: &str,
    backend: Backend,
) -> String {
    let skip_locked = match backend {
        Backend::Postgres => " FOR UPDATE SKIP LOCKED",
        Backend::Sqlite => "",
    };
    format!(
        "UPDATE {table} SET lease_until = $2 WHERE {key} IN (SELECT {key} FROM {table} WHERE {filter} \
         {due} <= $1 AND lease_until <= $1 ORDER BY {order} LIMIT $3{skip_locked}) RETURNING *"
    )
}

async fn claim_rows<T>(
    db: &mut Db<'_>,
    sql: &str,
    (now, lease_ms, limit): (i64, i64, i64),
    decode: impl Fn(&DbRow<'_>) -> StoreResult<T>,
) -> StoreResult<Vec<T>> {
    db.fetch(sql, args![now, now + lease_ms, limit], decode)
        .await
}

async fn claim_timers(
    db: &mut Db<'_>,
    backend: Backend,
    now: i64,
    lease_ms: i64,
    limit: i64,
) -> StoreResult<Reply> {
    let sql = claim_sql(
        "timers",
        "timer_id",
        "due_at",
        "",
        "due_at, timer_id",
        backend,
    );
    let ids = db.ids;
    let mut timers = claim_rows(db, &sql, (now, lease_ms, limit), |row| {
        codec::timer(row, ids)
    })
    .await?;
    timers.sort_by(|a, b| (a.due_at, &a.timer_id).cmp(&(b.due_at, &b.timer_id)));
    Ok(Reply::Timers(timers))
}

async fn claim_events(
    db: &mut Db<'_>,
    backend: Backend,
    now: i64,
    lease_ms: i64,
    limit: i64,
) -> StoreResult<Reply> {
    let sql = events_claim_sql(backend);
    let ids = db.ids;
    let mut events = claim_rows(db, &sql, (now, lease_ms, limit), |row| {
        codec::due_event(row, ids)
    })
    .await?;
    events.sort_by_key(|event| {
        (
            event.next_attempt_at,
            event.created_at,
            event.ordinal,
            ids.stored(event.event_id.0),
        )
    });
    Ok(Reply::Events(events))
}

/// Leases the pending events due, in the order of `outbox_events_pending` (migration 0009), so
/// the index is read in order and no sort is needed.
pub(crate) fn events_claim_sql(backend: Backend) -> String {
    claim_sql(
        "outbox_events",
        "event_id",
        "next_attempt_at",
        "state = 'pending' AND",
        "next_attempt_at, created_at, ordinal, event_id",
        backend,
    )
}

async fn claim_rail_jobs(
    db: &mut Db<'_>,
    backend: Backend,
    now: i64,
    lease_ms: i64,
    limit: i64,
) -> StoreResult<Reply> {
    let sql = claim_sql(
        "rail_jobs",
        "job_id",
        "due_at",
        "",
        "due_at, job_id",
        backend,
    );
    let mut jobs = claim_rows(db, &sql, (now, lease_ms, limit), |row| {
        crate::rails::rail_job(row)
    })
    .await?;
    jobs.sort_by(|a, b| (a.due_at, &a.job_id).cmp(&(b.due_at, &b.job_id)));
    Ok(Reply::RailJobs(jobs))
}

/// Takes `count` values of a named counter (trace numbers, file id modifiers); returns the first.
async fn reserve_counter(db: &mut Db<'_>, name: &str, count: i64) -> StoreResult<Reply> {
    db.execute(
        "INSERT INTO rail_counters (name, next_value) VALUES ($1, 0) ON CONFLICT (name) DO NOTHING",
        args![name],
    )
    .await?;
    let first = db
        .fetch_number(
            "UPDATE rail_counters SET next_value = next_value + $1 WHERE name = $2 RETURNING next_value - $1 AS value",
            args![count, name],
        )
        .await?;
    Ok(Reply::Number(first.ok_or(StoreError::NotFound)?))
}

/// Stores `$2` as the setting `$1` unless it has one (with [`SETTING_SELECT`], also used at open
/// by `stored_ids`, before a [`Db`] can be made).
pub(crate) const SETTING_INSERT: &str = "INSERT INTO settings (setting_key, setting_value) \
     VALUES ($1, $2) ON CONFLICT (setting_key) DO NOTHING";

/// The value of the setting `$1`.
pub(crate) const SETTING_SELECT: &str = "SELECT setting_value FROM settings WHERE setting_key = $1";

async fn setting_or_insert(db: &mut Db<'_>, key: &str, value: &str) -> StoreResult<Reply> {
    db.execute(SETTING_INSERT, args![key, value]).await?;
    let values = db
        .fetch(SETTING_SELECT, args![key], |row| {
            row.get::<String>("setting_value")
        })
        .await?;
    Ok(Reply::Text(
        values.into_iter().next().ok_or(StoreError::NotFound)?,
    ))
}

async fn upsert_session(db: &mut Db<'_>, session: &LightboxSession) -> StoreResult<()> {
    db.execute("INSERT INTO lightbox_sessions (session_id, payment_id, transaction_id, step, bank_id, username, behaviour, \
         account_index, error, csrf_token, expires_at, redirect_url, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, \
         $8, $9, $10, $11, $12, $13) ON CONFLICT (session_id) DO UPDATE SET step = excluded.step, \
         bank_id = excluded.bank_id, username = excluded.username, behaviour = excluded.behaviour, \
         account_index = excluded.account_index, error = excluded.error, redirect_url = excluded.redirect_url, \
         updated_at = excluded.updated_at", args![&session.session_id, db.id(session.payment_id.0), db.id(session.transaction_id.0), session.step.name(), &session.bank_id, &session.username, session.behaviour.as_ref().map(|behaviour| behaviour.encode()), session.account_index.map(i64::from), session.error.map(|error| error.name()), &session.csrf_token, session.expires_at, &session.redirect_url, session.updated_at]).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::events_claim_sql;
    use crate::sql::Backend;
    use crate::test_support::sqlite_plans_on_a_new_store;

    /// The claim reads the pending events' index in its own order, so it neither walks delivered
    /// events nor sorts what it finds.
    #[tokio::test]
    async fn the_events_claim_reads_the_pending_index_in_order() {
        let claim = events_claim_sql(Backend::Sqlite);
        let [plan] = sqlite_plans_on_a_new_store("claim-plan", [&claim]).await;
        assert!(plan.contains("USING INDEX outbox_events_pending"), "{plan}");
        assert!(!plan.contains("TEMP B-TREE"), "{plan}");
    }
}
