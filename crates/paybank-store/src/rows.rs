//! The rows a change writes: for each table, its columns named once and a record's values in
//! that order. The one-row statements of `writes` and PostgreSQL's batch statements of `bulk`
//! are both built from them, so the two ways of writing a row cannot drift apart.

use paybank_core::change::{ReferenceClaim, Timer, TimerKind};
use paybank_core::events::OutboxEvent;
use paybank_core::ids::{StoredIds, TransactionId};
use paybank_core::ledger::Posting;
use paybank_core::model::{Payment, TimestampMs, Transaction};
use paybank_core::rails::Rail;
use paybank_core::signature::form_encode;

use crate::codec;
use crate::db::Arg;
use crate::sql::Backend;
use crate::{EventState, StoreError, StoreResult};

pub(crate) const PAYMENT_COLUMNS: [&str; 27] = [
    "payment_id",
    "merchant_id",
    "payment_type",
    "merchant_reference",
    "currency",
    "amount",
    "description",
    "return_url",
    "cancel_url",
    "notification_url",
    "establish_json",
    "authorization_id",
    "account_json",
    "split_token_hash",
    "split_token_expires_at",
    "split_token_refreshable",
    "decline_next_capture",
    "created_at",
    "updated_at",
    "record_version",
    "captures_held",
    "deposits_held",
    "total_pending",
    "total_paid",
    "total_refunded",
    "total_reversed",
    "preauthorizations",
];

pub(crate) fn payment_values(payment: &Payment, ids: StoredIds) -> [Arg<'_>; 27] {
    let [account_json, hash, expires_at, refreshable, decline, updated_at, version, totals @ ..] =
        payment_change_values(payment);
    let [captures, deposits, pending, paid, refunded, reversed, preauthorizations] = totals;
    [
        ids.stored(payment.payment_id.0).into(),
        ids.stored(payment.merchant_id.0).into(),
        i64::from(payment.payment_type.code()).into(),
        (&payment.merchant_reference).into(),
        (&payment.currency).into(),
        payment.amount.minor().into(),
        (&payment.description).into(),
        (&payment.return_url).into(),
        (&payment.cancel_url).into(),
        (&payment.notification_url).into(),
        (&payment.establish_json).into(),
        ids.stored(payment.authorization_id.0).into(),
        account_json,
        hash,
        expires_at,
        refreshable,
        decline,
        payment.created_at.into(),
        updated_at,
        version,
        captures,
        deposits,
        pending,
        paid,
        refunded,
        reversed,
        preauthorizations,
    ]
}

/// The columns holding a payment's `ChainTotals` (migration 0007), last in both
/// [`PAYMENT_COLUMNS`] and [`PAYMENT_CHANGE_COLUMNS`] (a test holds them to it). Tests that
/// take the totals away or zero them name them from here.
#[cfg(test)]
pub(crate) const PAYMENT_TOTAL_COLUMNS: [&str; 7] = [
    "captures_held",
    "deposits_held",
    "total_pending",
    "total_paid",
    "total_refunded",
    "total_reversed",
    "preauthorizations",
];

/// The columns of a payment that change after establish; the rest never do.
pub(crate) const PAYMENT_CHANGE_COLUMNS: [&str; 14] = [
    "account_json",
    "split_token_hash",
    "split_token_expires_at",
    "split_token_refreshable",
    "decline_next_capture",
    "updated_at",
    "record_version",
    "captures_held",
    "deposits_held",
    "total_pending",
    "total_paid",
    "total_refunded",
    "total_reversed",
    "preauthorizations",
];

pub(crate) fn payment_change_values(payment: &Payment) -> [Arg<'_>; 14] {
    let split_token = payment.split_token.as_ref();
    let totals = &payment.totals;
    [
        payment.account.as_deref().map(codec::account_json).into(),
        split_token.map(|token| token.hash_hex.as_str()).into(),
        split_token.map(|token| token.expires_at).into(),
        split_token.map(|token| i64::from(token.refreshable)).into(),
        (&payment.decline_next_capture).into(),
        payment.updated_at.into(),
        payment.record_version.into(),
        totals.captures_held.minor().into(),
        totals.deposits_held.minor().into(),
        totals.money_in.pending.minor().into(),
        totals.money_in.paid.minor().into(),
        totals.money_in.refunded.minor().into(),
        totals.money_in.reversed.minor().into(),
        totals.preauthorizations.into(),
    ]
}

pub(crate) const TRANSACTION_COLUMNS: [&str; 27] = [
    "transaction_id",
    "payment_id",
    "merchant_id",
    "transaction_type",
    "original_transaction_id",
    "status",
    "merchant_reference",
    "currency",
    "amount",
    "pending",
    "paid",
    "refunded",
    "reversed",
    "provider_status",
    "provider_message",
    "provider_reason_code",
    "provider_extended_code",
    "error_code",
    "ip",
    "created_at",
    "updated_at",
    "processed_at",
    "completed_at",
    "expired_at",
    "pre_authorized",
    "record_version",
    "rail",
];

pub(crate) fn transaction_values(txn: &Transaction, ids: StoredIds) -> [Arg<'_>; 27] {
    [
        ids.stored(txn.transaction_id.0).into(),
        ids.stored(txn.payment_id.0).into(),
        ids.stored(txn.merchant_id.0).into(),
        i64::from(txn.transaction_type.code()).into(),
        txn.original_transaction_id
            .map(|id| ids.stored(id.0))
            .into(),
        i64::from(txn.status.code()).into(),
        (&txn.merchant_reference).into(),
        (&txn.currency).into(),
        txn.amount.minor().into(),
        txn.pending.minor().into(),
        txn.paid.minor().into(),
        txn.refunded.minor().into(),
        txn.reversed.minor().into(),
        (&txn.provider.status).into(),
        (&txn.provider.status_message).into(),
        (&txn.provider.reason_code).into(),
        (&txn.provider.extended_reason_code).into(),
        txn.error_code.map(i64::from).into(),
        (&txn.ip).into(),
        txn.created_at.into(),
        txn.updated_at.into(),
        txn.processed_at.into(),
        txn.completed_at.into(),
        txn.expired_at.into(),
        i64::from(txn.pre_authorized).into(),
        txn.record_version.into(),
        txn.rail.map(Rail::name).into(),
    ]
}

/// What writing a transaction that already exists changes.
pub(crate) const TRANSACTION_CONFLICT_UPDATE: &str =
    "ON CONFLICT (transaction_id) DO UPDATE SET status = excluded.status, \
     pending = excluded.pending, paid = excluded.paid, refunded = excluded.refunded, \
     reversed = excluded.reversed, provider_status = excluded.provider_status, \
     provider_message = excluded.provider_message, provider_reason_code = excluded.provider_reason_code, \
     provider_extended_code = excluded.provider_extended_code, error_code = excluded.error_code, \
     updated_at = excluded.updated_at, processed_at = excluded.processed_at, \
     completed_at = excluded.completed_at, expired_at = excluded.expired_at, \
     pre_authorized = excluded.pre_authorized, record_version = excluded.record_version";

/// A posting's row; `created_at` is its change's time.
pub(crate) const POSTING_COLUMNS: [&str; 4] = ["transaction_id", "account", "amount", "created_at"];

pub(crate) fn posting_values(
    posting: &Posting,
    created_at: TimestampMs,
    ids: StoredIds,
) -> [Arg<'static>; 4] {
    [
        ids.stored(posting.transaction_id.0).into(),
        posting.account.name().into(),
        posting.amount.minor().into(),
        created_at.into(),
    ]
}

pub(crate) const CLAIM_COLUMNS: [&str; 4] = [
    "merchant_id",
    "transaction_type",
    "merchant_reference",
    "transaction_id",
];

pub(crate) fn claim_values(claim: &ReferenceClaim, ids: StoredIds) -> [Arg<'_>; 4] {
    [
        ids.stored(claim.merchant_id.0).into(),
        i64::from(claim.transaction_type).into(),
        (&claim.merchant_reference).into(),
        ids.stored(claim.transaction_id.0).into(),
    ]
}

pub(crate) const EVENT_COLUMNS: [&str; 14] = [
    "event_id",
    "merchant_id",
    "payment_id",
    "transaction_id",
    "event_type",
    "body",
    "notification_url",
    "created_at",
    "state",
    "attempts",
    "next_attempt_at",
    "lease_until",
    "delivered_at",
    "ordinal",
];

/// A new event's row: pending, due at once, never tried; `ordinal` is its place in its change.
pub(crate) fn event_values(event: &OutboxEvent, ordinal: usize, ids: StoredIds) -> [Arg<'_>; 14] {
    [
        ids.stored(event.event_id.0).into(),
        ids.stored(event.merchant_id.0).into(),
        ids.stored(event.payment_id.0).into(),
        ids.stored(event.transaction_id.0).into(),
        (&event.event_type).into(),
        form_encode(&event.params).into(),
        (&event.notification_url).into(),
        event.created_at.into(),
        EventState::Pending.name().into(),
        0_i64.into(),
        event.created_at.into(),
        0_i64.into(),
        Option::<i64>::None.into(),
        (ordinal as i64).into(),
    ]
}

pub(crate) const TIMER_COLUMNS: [&str; 6] = [
    "timer_id",
    "kind",
    "payment_id",
    "transaction_id",
    "due_at",
    "lease_until",
];

/// A new timer's row, not leased.
pub(crate) fn timer_values(timer: &Timer, ids: StoredIds) -> [Arg<'_>; 6] {
    [
        timer_key(timer.kind, timer.transaction_id, ids).into(),
        timer.kind.name().into(),
        ids.stored(timer.payment_id.0).into(),
        ids.stored(timer.transaction_id.0).into(),
        timer.due_at.into(),
        0_i64.into(),
    ]
}

/// The key a timer is kept under: its kind and its transaction's stored id, zero-padded so
/// that the keys sort as the ids do. Timers are made with their transactions, so new keys go
/// in at the end of the table's key index; the timer's own id (`kind:public id`, see
/// [`Timer::id_for`]) is a permutation away from that and put each new timer at a random
/// place in the index, a page written per capture (SQLite captures item 17 in BENCHMARKS.md).
pub(crate) fn timer_key(kind: TimerKind, transaction_id: TransactionId, ids: StoredIds) -> String {
    // What `format!("{}:{:020}", …)` writes, the zeros after any sign, without `core::fmt`
    // (about 1.5k of a capture's instructions, (f)).
    let stored = ids.stored(transaction_id.0);
    let mut digits = itoa::Buffer::new();
    let digits = digits.format(stored.unsigned_abs());
    let width = if stored < 0 { 19 } else { 20 };
    let mut key = String::with_capacity(kind.name().len() + 22);
    key.push_str(kind.name());
    key.push(':');
    if stored < 0 {
        key.push('-');
    }
    key.extend(std::iter::repeat_n('0', width - digits.len().min(width)));
    key.push_str(digits);
    key
}

/// The key of the timer whose id is `timer_id` (`kind:public id`, as [`Timer::id_for`] makes).
pub(crate) fn timer_key_of(timer_id: &str, ids: StoredIds) -> StoreResult<String> {
    let parsed = timer_id.split_once(':').and_then(|(kind, id)| {
        Some((TimerKind::from_name(kind)?, TransactionId(id.parse().ok()?)))
    });
    let (kind, transaction_id) = parsed.ok_or(StoreError::Invariant(
        "a timer id not made by Timer::id_for",
    ))?;
    Ok(timer_key(kind, transaction_id, ids))
}

/// [`timer_key`] in SQL, from a timers row's own columns: rekeys the timers of a database
/// written before timers were kept under it.
pub(crate) fn timer_key_sql(backend: Backend) -> &'static str {
    match backend {
        Backend::Sqlite => "kind || ':' || printf('%020d', transaction_id)",
        // Rust pads after the sign, as printf does; lpad would pad before it.
        Backend::Postgres => {
            "kind || ':' || CASE WHEN transaction_id < 0 \
             THEN '-' || lpad((-transaction_id)::text, 19, '0') \
             ELSE lpad(transaction_id::text, 20, '0') END"
        }
    }
}

/// `INSERT INTO table (c1, …) VALUES ($1, …)`.
pub(crate) fn insert_sql(table: &str, columns: &[&str]) -> String {
    let placeholders: Vec<String> = (1..=columns.len()).map(|n| format!("${n}")).collect();
    format!(
        "INSERT INTO {table} ({}) VALUES ({})",
        columns.join(", "),
        placeholders.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use sqlx::Connection;

    use super::*;
    use crate::test_support::{postgres_url, test_ids, Schema};

    #[test]
    fn both_payment_column_lists_end_with_the_totals() {
        let totals = PAYMENT_TOTAL_COLUMNS.len();
        assert_eq!(
            PAYMENT_COLUMNS[PAYMENT_COLUMNS.len() - totals..],
            PAYMENT_TOTAL_COLUMNS
        );
        let change = &PAYMENT_CHANGE_COLUMNS;
        assert_eq!(change[change.len() - totals..], PAYMENT_TOTAL_COLUMNS);
    }

    /// Stored ids of every form: counters, and the negative form of ids below the counters'.
    const STORED: [i64; 6] = [-1_000_000_000_001, -5, -1, 0, 7, 999_999_999_999];

    /// What [`timer_key`] writes for a stored id, checked against it below.
    fn key_of_stored(kind: TimerKind, stored: i64) -> String {
        format!("{}:{stored:020}", kind.name())
    }

    #[test]
    fn timer_keys_sort_as_the_stored_ids_and_come_from_timer_ids() {
        let ids = test_ids();
        // Counters (every id made since ids were stored so) sort as numbers.
        let counters = [0, 7, 10, 99, 100, 123_456, 999_999_999_999];
        let keys = counters.map(|stored| key_of_stored(TimerKind::Settle, stored));
        assert!(keys.is_sorted(), "{keys:?}");
        for kind in TimerKind::ALL {
            for id in [4, 1_000_000_000_000, 1_234_567_890_123, 20_000_000_000_000] {
                let id = TransactionId(id);
                let key = timer_key(kind, id, ids);
                assert_eq!(key, key_of_stored(kind, ids.stored(id.0)));
                assert_eq!(timer_key_of(&Timer::id_for(kind, id), ids).unwrap(), key);
            }
        }
        // Every form of stored id an id has, negative ones padded after their sign.
        let forms = STORED
            .iter()
            .filter_map(|&stored| Some((stored, ids.id(stored)?)));
        for (stored, id) in forms {
            let key = timer_key(TimerKind::Settle, TransactionId(id), ids);
            assert_eq!(key, key_of_stored(TimerKind::Settle, stored));
        }
        for bad in [
            "submit",
            "submit:",
            "later:1234567890123",
            "submit:12x",
            ":5",
        ] {
            assert!(timer_key_of(bad, ids).is_err(), "{bad}");
        }
    }

    /// The SQL that rekeys old rows writes the same key as [`timer_key`], on both backends.
    async fn sql_keys_match(connection: &mut sqlx::AnyConnection, backend: Backend) {
        let sql = format!(
            "SELECT {} AS timer_key FROM (SELECT $1 AS kind, $2 AS transaction_id) AS timers",
            timer_key_sql(backend)
        );
        let sql = match backend {
            Backend::Sqlite => sql,
            Backend::Postgres => sql.replace("$2 AS", "$2::BIGINT AS"),
        };
        for kind in TimerKind::ALL {
            for stored in STORED {
                let key: String = sqlx::query_scalar(&sql)
                    .bind(kind.name())
                    .bind(stored)
                    .fetch_one(&mut *connection)
                    .await
                    .expect("the key");
                assert_eq!(key, key_of_stored(kind, stored), "{backend:?}");
            }
        }
    }

    #[tokio::test]
    async fn the_rekeying_sql_makes_the_same_keys() {
        sqlx::any::install_default_drivers();
        let mut sqlite = sqlx::AnyConnection::connect("sqlite::memory:")
            .await
            .expect("open");
        sql_keys_match(&mut sqlite, Backend::Sqlite).await;
        let Some(base) = postgres_url() else {
            return;
        };
        let schema = Schema::create(&base, "timer_key_sql").await;
        let mut postgres = sqlx::AnyConnection::connect(&schema.url)
            .await
            .expect("open");
        sql_keys_match(&mut postgres, Backend::Postgres).await;
        drop(postgres);
        schema.drop().await;
    }
}
