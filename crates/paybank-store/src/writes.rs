//! The writer's commands, each run inside its own savepoint of the batch transaction.

use paybank_core::change::Change;
use paybank_core::lightbox::LightboxSession;
use paybank_core::model::{Merchant, Payment, Transaction};
use paybank_core::rails::Rail;
use paybank_core::signature::form_encode;
use sqlx::any::AnyRow;
use sqlx::{Any, AnyConnection, Transaction as DbTransaction};

use crate::codec::{self, sql_id};
use crate::sql::Backend;
use crate::writer::{Command, Reply};
use crate::{DeliveryRecord, EventState, NextDelivery, StoreError, StoreResult, WriteSet};

type Tx<'a> = DbTransaction<'a, Any>;

pub(crate) async fn apply(
    tx: &mut Tx<'_>,
    backend: Backend,
    command: &Command,
) -> StoreResult<Reply> {
    match command {
        Command::Commit(write) => commit(tx, write).await.map(|()| Reply::Done),
        Command::ClaimTimers {
            now,
            lease_ms,
            limit,
        } => claim_timers(tx, backend, *now, *lease_ms, *limit).await,
        Command::ClaimEvents {
            now,
            lease_ms,
            limit,
        } => claim_events(tx, backend, *now, *lease_ms, *limit).await,
        Command::AdvanceClock { delta_ms } => {
            let row: (i64,) = sqlx::query_as("UPDATE clock SET offset_ms = offset_ms + $1 WHERE clock_id = 1 RETURNING offset_ms")
                .bind(delta_ms)
                .fetch_one(conn(tx))
                .await?;
            Ok(Reply::Number(row.0))
        }
        Command::ReserveIds { count } => {
            let count =
                i64::try_from(*count).map_err(|_| StoreError::Invariant("id block too large"))?;
            let row: (i64,) = sqlx::query_as(
                "UPDATE id_counter SET next_value = next_value + $1 WHERE counter_id = 1 RETURNING next_value - $1",
            )
            .bind(count)
            .fetch_one(conn(tx))
            .await?;
            Ok(Reply::Number(row.0))
        }
        Command::SettingOrInsert { key, value } => setting_or_insert(tx, key, value).await,
        Command::ClaimRailJobs {
            now,
            lease_ms,
            limit,
        } => claim_rail_jobs(tx, backend, *now, *lease_ms, *limit).await,
        Command::ReserveCounter { name, count } => reserve_counter(tx, name, *count).await,
    }
}

fn conn<'a>(tx: &'a mut Tx<'_>) -> &'a mut AnyConnection {
    &mut *tx
}

async fn commit(tx: &mut Tx<'_>, write: &WriteSet) -> StoreResult<()> {
    if let Some(merchant) = &write.merchant {
        insert_merchant(tx, merchant).await?;
    }
    if let Some(change) = &write.change {
        write_change(tx, change).await?;
    }
    if let Some(session) = &write.session {
        upsert_session(tx, session).await?;
    }
    if let Some(rail) = &write.rail {
        crate::rails::write(tx, rail).await?;
    }
    if let Some(delivery) = &write.delivery {
        record_delivery(tx, delivery).await?;
    }
    if let Some((event_id, due_at)) = write.resend {
        sqlx::query("UPDATE outbox_events SET state = $1, next_attempt_at = $2, lease_until = 0 WHERE event_id = $3")
            .bind(EventState::Pending.name())
            .bind(due_at)
            .bind(sql_id(event_id.0))
            .execute(conn(tx))
            .await?;
    }
    Ok(())
}

async fn insert_merchant(tx: &mut Tx<'_>, merchant: &Merchant) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO merchants (merchant_id, name, access_id, access_key, notification_url, \
         allowed_origins, split_token_enabled, created_at, payouts_from_settled_only) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(sql_id(merchant.merchant_id.0))
    .bind(&merchant.name)
    .bind(&merchant.access_id)
    .bind(&merchant.access_key)
    .bind(&merchant.notification_url)
    .bind(merchant.allowed_origins.join("\n"))
    .bind(i64::from(merchant.split_token_enabled))
    .bind(merchant.created_at)
    .bind(i64::from(merchant.payouts_from_settled_only))
    .execute(conn(tx))
    .await?;
    Ok(())
}

async fn write_change(tx: &mut Tx<'_>, change: &Change) -> StoreResult<()> {
    change.check().map_err(StoreError::Invariant)?;
    write_payment(tx, &change.payment, change.expected_version).await?;
    for txn in &change.transactions {
        upsert_transaction(tx, txn).await?;
    }
    for posting in &change.postings {
        sqlx::query("INSERT INTO ledger_postings (transaction_id, account, amount, created_at) VALUES ($1, $2, $3, $4)")
            .bind(sql_id(posting.transaction_id.0))
            .bind(posting.account.name())
            .bind(posting.amount.minor())
            .bind(change.payment.updated_at)
            .execute(conn(tx))
            .await?;
    }
    for claim in &change.reference_claims {
        sqlx::query(
            "INSERT INTO reference_claims (merchant_id, transaction_type, merchant_reference, transaction_id) \
             VALUES ($1, $2, $3, $4)",
        )
        .bind(sql_id(claim.merchant_id.0))
        .bind(i64::from(claim.transaction_type))
        .bind(&claim.merchant_reference)
        .bind(sql_id(claim.transaction_id.0))
        .execute(conn(tx))
        .await
        .map_err(|error| match StoreError::from(error) {
            StoreError::Duplicate(_) => StoreError::Duplicate("merchantReference".to_owned()),
            other => other,
        })?;
    }
    crate::rails::insert_entries(tx, &change.ach_entries).await?;
    crate::rails::insert_jobs(tx, &change.rail_jobs).await?;
    let floors: Vec<String> = change
        .balance_floors
        .iter()
        .map(|account| account.name())
        .collect();
    crate::rails::check_floors(tx, &floors).await?;
    write_events_and_timers(tx, change).await
}

async fn write_events_and_timers(tx: &mut Tx<'_>, change: &Change) -> StoreResult<()> {
    for (ordinal, event) in change.events.iter().enumerate() {
        sqlx::query(
            "INSERT INTO outbox_events (event_id, merchant_id, payment_id, transaction_id, event_type, body, \
             notification_url, created_at, state, attempts, next_attempt_at, lease_until, delivered_at, ordinal) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 0, $10, 0, NULL, $11)",
        )
        .bind(sql_id(event.event_id.0))
        .bind(sql_id(event.merchant_id.0))
        .bind(sql_id(event.payment_id.0))
        .bind(sql_id(event.transaction_id.0))
        .bind(&event.event_type)
        .bind(form_encode(&event.params))
        .bind(&event.notification_url)
        .bind(event.created_at)
        .bind(EventState::Pending.name())
        .bind(event.created_at)
        .bind(ordinal as i64)
        .execute(conn(tx))
        .await?;
    }
    for timer_id in &change.timers_done {
        sqlx::query("DELETE FROM timers WHERE timer_id = $1")
            .bind(timer_id)
            .execute(conn(tx))
            .await?;
    }
    for timer in &change.timers {
        sqlx::query(
            "INSERT INTO timers (timer_id, kind, payment_id, transaction_id, due_at, lease_until) \
             VALUES ($1, $2, $3, $4, $5, 0) ON CONFLICT (timer_id) DO NOTHING",
        )
        .bind(&timer.timer_id)
        .bind(timer.kind.name())
        .bind(sql_id(timer.payment_id.0))
        .bind(sql_id(timer.transaction_id.0))
        .bind(timer.due_at)
        .execute(conn(tx))
        .await?;
    }
    Ok(())
}

/// Inserts a new payment, or updates it only if nobody else changed it since it was read.
async fn write_payment(
    tx: &mut Tx<'_>,
    payment: &Payment,
    expected_version: Option<i64>,
) -> StoreResult<()> {
    let rows_affected = match expected_version {
        None => insert_payment(tx, payment).await?,
        Some(expected_version) => update_payment(tx, payment, expected_version).await?,
    };
    if rows_affected != 1 {
        return Err(StoreError::Conflict);
    }
    Ok(())
}

async fn insert_payment(tx: &mut Tx<'_>, payment: &Payment) -> StoreResult<u64> {
    let split_token = payment.split_token.as_ref();
    let result = sqlx::query(
        "INSERT INTO payments (payment_id, merchant_id, payment_type, merchant_reference, currency, amount, \
         description, return_url, cancel_url, notification_url, establish_json, authorization_id, account_json, \
         split_token_hash, split_token_expires_at, split_token_refreshable, decline_next_capture, created_at, \
         updated_at, record_version) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, \
         $16, $17, $18, $19, $20)",
    )
    .bind(sql_id(payment.payment_id.0))
    .bind(sql_id(payment.merchant_id.0))
    .bind(i64::from(payment.payment_type.code()))
    .bind(&payment.merchant_reference)
    .bind(&payment.currency)
    .bind(payment.amount.minor())
    .bind(&payment.description)
    .bind(&payment.return_url)
    .bind(&payment.cancel_url)
    .bind(&payment.notification_url)
    .bind(&payment.establish_json)
    .bind(sql_id(payment.authorization_id.0))
    .bind(payment.account.as_ref().map(codec::account_json))
    .bind(split_token.map(|token| token.hash_hex.clone()))
    .bind(split_token.map(|token| token.expires_at))
    .bind(split_token.map(|token| i64::from(token.refreshable)))
    .bind(&payment.decline_next_capture)
    .bind(payment.created_at)
    .bind(payment.updated_at)
    .bind(payment.record_version)
    .execute(conn(tx))
    .await?;
    Ok(result.rows_affected())
}

/// Only the fields that change after establish are written; the version check makes the
/// whole chain change atomic against concurrent writers.
async fn update_payment(
    tx: &mut Tx<'_>,
    payment: &Payment,
    expected_version: i64,
) -> StoreResult<u64> {
    let split_token = payment.split_token.as_ref();
    let result = sqlx::query(
        "UPDATE payments SET account_json = $1, split_token_hash = $2, split_token_expires_at = $3, \
         split_token_refreshable = $4, decline_next_capture = $5, updated_at = $6, record_version = $7 \
         WHERE payment_id = $8 AND record_version = $9",
    )
    .bind(payment.account.as_ref().map(codec::account_json))
    .bind(split_token.map(|token| token.hash_hex.clone()))
    .bind(split_token.map(|token| token.expires_at))
    .bind(split_token.map(|token| i64::from(token.refreshable)))
    .bind(&payment.decline_next_capture)
    .bind(payment.updated_at)
    .bind(payment.record_version)
    .bind(sql_id(payment.payment_id.0))
    .bind(expected_version)
    .execute(conn(tx))
    .await?;
    Ok(result.rows_affected())
}

async fn upsert_transaction(tx: &mut Tx<'_>, txn: &Transaction) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO transactions (transaction_id, payment_id, merchant_id, transaction_type, original_transaction_id, \
         status, merchant_reference, currency, amount, pending, paid, refunded, reversed, provider_status, \
         provider_message, provider_reason_code, provider_extended_code, error_code, ip, created_at, updated_at, \
         processed_at, completed_at, expired_at, pre_authorized, record_version, rail) VALUES ($1, $2, $3, $4, $5, $6, \
         $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25, $26, $27) \
         ON CONFLICT (transaction_id) DO UPDATE SET status = excluded.status, pending = excluded.pending, \
         paid = excluded.paid, refunded = excluded.refunded, reversed = excluded.reversed, \
         provider_status = excluded.provider_status, provider_message = excluded.provider_message, \
         provider_reason_code = excluded.provider_reason_code, provider_extended_code = excluded.provider_extended_code, \
         error_code = excluded.error_code, updated_at = excluded.updated_at, processed_at = excluded.processed_at, \
         completed_at = excluded.completed_at, expired_at = excluded.expired_at, \
         pre_authorized = excluded.pre_authorized, record_version = excluded.record_version",
    )
    .bind(sql_id(txn.transaction_id.0))
    .bind(sql_id(txn.payment_id.0))
    .bind(sql_id(txn.merchant_id.0))
    .bind(i64::from(txn.transaction_type.code()))
    .bind(txn.original_transaction_id.map(|id| sql_id(id.0)))
    .bind(i64::from(txn.status.code()))
    .bind(&txn.merchant_reference)
    .bind(&txn.currency)
    .bind(txn.amount.minor())
    .bind(txn.pending.minor())
    .bind(txn.paid.minor())
    .bind(txn.refunded.minor())
    .bind(txn.reversed.minor())
    .bind(&txn.provider.status)
    .bind(&txn.provider.status_message)
    .bind(&txn.provider.reason_code)
    .bind(&txn.provider.extended_reason_code)
    .bind(txn.error_code.map(i64::from))
    .bind(&txn.ip)
    .bind(txn.created_at)
    .bind(txn.updated_at)
    .bind(txn.processed_at)
    .bind(txn.completed_at)
    .bind(txn.expired_at)
    .bind(i64::from(txn.pre_authorized))
    .bind(txn.record_version)
    .bind(txn.rail.map(Rail::name))
    .execute(conn(tx))
    .await?;
    Ok(())
}

async fn record_delivery(tx: &mut Tx<'_>, delivery: &DeliveryRecord) -> StoreResult<()> {
    let attempt = &delivery.attempt;
    sqlx::query(
        "INSERT INTO event_attempts (event_id, attempt, attempted_at, duration_ms, http_status, error) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(sql_id(delivery.event_id.0))
    .bind(attempt.attempt)
    .bind(attempt.attempted_at)
    .bind(attempt.duration_ms)
    .bind(attempt.http_status)
    .bind(&attempt.error)
    .execute(conn(tx))
    .await?;
    let (state, next_attempt_at, delivered_at) = match delivery.next {
        NextDelivery::Delivered => (
            EventState::Delivered,
            attempt.attempted_at,
            Some(attempt.attempted_at),
        ),
        NextDelivery::RetryAt(due_at) => (EventState::Pending, due_at, None),
        NextDelivery::GiveUp => (EventState::Failed, attempt.attempted_at, None),
    };
    sqlx::query(
        "UPDATE outbox_events SET state = $1, attempts = $2, next_attempt_at = $3, lease_until = 0, \
         delivered_at = COALESCE($4, delivered_at) WHERE event_id = $5",
    )
    .bind(state.name())
    .bind(attempt.attempt)
    .bind(next_attempt_at)
    .bind(delivered_at)
    .bind(sql_id(delivery.event_id.0))
    .execute(conn(tx))
    .await?;
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

async fn claim_rows(
    tx: &mut Tx<'_>,
    sql: &str,
    now: i64,
    lease_ms: i64,
    limit: i64,
) -> StoreResult<Vec<AnyRow>> {
    Ok(sqlx::query(sql)
        .bind(now)
        .bind(now + lease_ms)
        .bind(limit)
        .fetch_all(conn(tx))
        .await?)
}

async fn claim_timers(
    tx: &mut Tx<'_>,
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
    let rows = claim_rows(tx, &sql, now, lease_ms, limit).await?;
    let mut timers = rows
        .iter()
        .map(codec::timer)
        .collect::<StoreResult<Vec<_>>>()?;
    timers.sort_by(|a, b| (a.due_at, &a.timer_id).cmp(&(b.due_at, &b.timer_id)));
    Ok(Reply::Timers(timers))
}

async fn claim_events(
    tx: &mut Tx<'_>,
    backend: Backend,
    now: i64,
    lease_ms: i64,
    limit: i64,
) -> StoreResult<Reply> {
    let sql = claim_sql(
        "outbox_events",
        "event_id",
        "next_attempt_at",
        "state = 'pending' AND",
        "next_attempt_at, created_at, ordinal, event_id",
        backend,
    );
    let rows = claim_rows(tx, &sql, now, lease_ms, limit).await?;
    let mut events = rows
        .iter()
        .map(codec::stored_event)
        .collect::<StoreResult<Vec<_>>>()?;
    events.sort_by_key(|event| {
        (
            event.next_attempt_at,
            event.event.created_at,
            event.ordinal,
            event.event.event_id,
        )
    });
    Ok(Reply::Events(events))
}

async fn claim_rail_jobs(
    tx: &mut Tx<'_>,
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
    let rows = claim_rows(tx, &sql, now, lease_ms, limit).await?;
    let mut jobs = rows
        .iter()
        .map(crate::rails::rail_job)
        .collect::<StoreResult<Vec<_>>>()?;
    jobs.sort_by(|a, b| (a.due_at, &a.job_id).cmp(&(b.due_at, &b.job_id)));
    Ok(Reply::RailJobs(jobs))
}

/// Takes `count` values of a named counter (trace numbers, file id modifiers); returns the first.
async fn reserve_counter(tx: &mut Tx<'_>, name: &str, count: i64) -> StoreResult<Reply> {
    sqlx::query(
        "INSERT INTO rail_counters (name, next_value) VALUES ($1, 0) ON CONFLICT (name) DO NOTHING",
    )
    .bind(name)
    .execute(conn(tx))
    .await?;
    let row: (i64,) = sqlx::query_as(
        "UPDATE rail_counters SET next_value = next_value + $1 WHERE name = $2 RETURNING next_value - $1",
    )
    .bind(count)
    .bind(name)
    .fetch_one(conn(tx))
    .await?;
    Ok(Reply::Number(row.0))
}

async fn setting_or_insert(tx: &mut Tx<'_>, key: &str, value: &str) -> StoreResult<Reply> {
    sqlx::query("INSERT INTO settings (setting_key, setting_value) VALUES ($1, $2) ON CONFLICT (setting_key) DO NOTHING")
        .bind(key)
        .bind(value)
        .execute(conn(tx))
        .await?;
    let row: (String,) =
        sqlx::query_as("SELECT setting_value FROM settings WHERE setting_key = $1")
            .bind(key)
            .fetch_one(conn(tx))
            .await?;
    Ok(Reply::Text(row.0))
}

async fn upsert_session(tx: &mut Tx<'_>, session: &LightboxSession) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO lightbox_sessions (session_id, payment_id, transaction_id, step, bank_id, username, behaviour, \
         account_index, error, csrf_token, expires_at, redirect_url, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, \
         $8, $9, $10, $11, $12, $13) ON CONFLICT (session_id) DO UPDATE SET step = excluded.step, \
         bank_id = excluded.bank_id, username = excluded.username, behaviour = excluded.behaviour, \
         account_index = excluded.account_index, error = excluded.error, redirect_url = excluded.redirect_url, \
         updated_at = excluded.updated_at",
    )
    .bind(&session.session_id)
    .bind(sql_id(session.payment_id.0))
    .bind(sql_id(session.transaction_id.0))
    .bind(session.step.name())
    .bind(&session.bank_id)
    .bind(&session.username)
    .bind(session.behaviour.as_ref().map(|behaviour| behaviour.encode()))
    .bind(session.account_index.map(i64::from))
    .bind(session.error.map(|error| error.name()))
    .bind(&session.csrf_token)
    .bind(session.expires_at)
    .bind(&session.redirect_url)
    .bind(session.updated_at)
    .execute(conn(tx))
    .await?;
    Ok(())
}
