//! The rows a change writes: for each table, its columns named once and a record's values in
//! that order. The one-row statements of `writes` and PostgreSQL's batch statements of `bulk`
//! are both built from them, so the two ways of writing a row cannot drift apart.

use paybank_core::change::{ReferenceClaim, Timer};
use paybank_core::events::OutboxEvent;
use paybank_core::ids::StoredIds;
use paybank_core::ledger::Posting;
use paybank_core::model::{Payment, TimestampMs, Transaction};
use paybank_core::rails::Rail;
use paybank_core::signature::form_encode;

use crate::codec;
use crate::db::Arg;
use crate::EventState;

pub(crate) const PAYMENT_COLUMNS: [&str; 20] = [
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
];

pub(crate) fn payment_values(payment: &Payment, ids: StoredIds) -> [Arg<'_>; 20] {
    let [account_json, hash, expires_at, refreshable, decline, updated_at, version] =
        payment_change_values(payment);
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
    ]
}

/// The columns of a payment that change after establish; the rest never do.
pub(crate) const PAYMENT_CHANGE_COLUMNS: [&str; 7] = [
    "account_json",
    "split_token_hash",
    "split_token_expires_at",
    "split_token_refreshable",
    "decline_next_capture",
    "updated_at",
    "record_version",
];

pub(crate) fn payment_change_values(payment: &Payment) -> [Arg<'_>; 7] {
    let split_token = payment.split_token.as_ref();
    [
        payment.account.as_ref().map(codec::account_json).into(),
        split_token.map(|token| token.hash_hex.as_str()).into(),
        split_token.map(|token| token.expires_at).into(),
        split_token.map(|token| i64::from(token.refreshable)).into(),
        (&payment.decline_next_capture).into(),
        payment.updated_at.into(),
        payment.record_version.into(),
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
        (&timer.timer_id).into(),
        timer.kind.name().into(),
        ids.stored(timer.payment_id.0).into(),
        ids.stored(timer.transaction_id.0).into(),
        timer.due_at.into(),
        0_i64.into(),
    ]
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
