//! PostgreSQL only: a batch's changes written with one statement per table, each statement's
//! rows passed as one JSON array and unpacked by PostgreSQL (`json_populate_recordset`).
//!
//! Why: written one command at a time, a capture is five statements, each a round trip that
//! the writer waits for in turn, and PostgreSQL's work per statement (parse, bind, plan, the
//! protocol) was most of its cost per capture. Table by table, a batch of any size is about
//! five statements. SQLite runs its statements in-process and gains nothing from this.
//!
//! Writing table by table gives the same result as writing change by change only when the
//! changes cannot see each other's rows, so a batch goes this way only when each change has a
//! payment of its own and no balance floor to check (see [`changes_of`]). Whatever fails here
//! (a version conflict, a duplicate reference) is not answered from here: the writer rolls the
//! batch back and runs it change by change, which says which change failed and why.

use std::collections::HashSet;

use paybank_core::change::{Change, ReferenceClaim, Timer};
use paybank_core::events::OutboxEvent;
use paybank_core::ledger::Posting;
use paybank_core::model::{Payment, Transaction};
use paybank_core::rails::Rail;
use paybank_core::signature::form_encode;
use serde_json::{json, Value};

use crate::codec::{self, sql_id};
use crate::db::{args, Db};
use crate::writer::Command;
use crate::{EventState, StoreError, StoreResult, WriteSet};

/// Commands that touch no table a change writes (an id block, a rail counter), so they may run
/// one by one beside a table-by-table write. A server reserves a block of ids every 128
/// commands, and under load that command shares a batch with hundreds of changes.
pub(crate) fn runs_beside(command: &Command) -> bool {
    matches!(
        command,
        Command::ReserveIds { .. } | Command::ReserveCounter { .. }
    )
}

/// The changes of a batch that may be written table by table: every other command [`runs_beside`]
/// them, every change comes alone (no merchant, session, rail work or delivery with it), no two
/// changes share a payment, and none has a balance floor (a floor is checked against the
/// postings written before it, so its answer depends on the order).
pub(crate) fn changes_of<'a>(
    commands: impl Iterator<Item = &'a Command>,
) -> Option<Vec<&'a Change>> {
    let mut payments = HashSet::new();
    commands
        .filter(|command| !runs_beside(command))
        .map(|command| match command {
            Command::Commit(write) => match write.as_ref() {
                WriteSet {
                    change: Some(change),
                    session: None,
                    merchant: None,
                    delivery: None,
                    resend: None,
                    rail: None,
                } if change.balance_floors.is_empty()
                    && payments.insert(change.payment.payment_id) =>
                {
                    Some(change)
                }
                _ => None,
            },
            _ => None,
        })
        .collect()
}

/// Writes `changes` inside the batch's transaction, one statement per table. Any error leaves
/// the transaction to be rolled back.
pub(crate) async fn write_changes(db: &mut Db<'_>, changes: &[&Change]) -> StoreResult<()> {
    for change in changes {
        change.check().map_err(StoreError::Invariant)?;
    }
    write_payments(db, changes).await?;
    let transactions = rows(changes, |change| {
        change.transactions.iter().map(transaction_row).collect()
    });
    run(db, TRANSACTIONS_UPSERT, transactions).await?;
    let postings = rows(changes, |change| {
        let at = change.payment.updated_at;
        let row = |posting: &Posting| {
            json!({"transaction_id": sql_id(posting.transaction_id.0), "account": posting.account.name(),
                   "amount": posting.amount.minor(), "created_at": at})
        };
        change.postings.iter().map(row).collect()
    });
    run(db, POSTINGS_INSERT, postings).await?;
    let claims = rows(changes, |change| {
        let row = |claim: &ReferenceClaim| {
            json!({"merchant_id": sql_id(claim.merchant_id.0), "transaction_type": i64::from(claim.transaction_type),
                   "merchant_reference": claim.merchant_reference, "transaction_id": sql_id(claim.transaction_id.0)})
        };
        change.reference_claims.iter().map(row).collect()
    });
    run(db, CLAIMS_INSERT, claims).await?;
    for change in changes {
        crate::rails::insert_entries(db, &change.ach_entries).await?;
        crate::rails::insert_jobs(db, &change.rail_jobs).await?;
    }
    write_events_and_timers(db, changes).await
}

/// New payments in one statement, changed ones in another whose count of rows updated proves
/// every version check passed.
async fn write_payments(db: &mut Db<'_>, changes: &[&Change]) -> StoreResult<()> {
    let (new, changed): (Vec<&Change>, Vec<&Change>) = changes
        .iter()
        .partition(|change| change.expected_version.is_none());
    let new_rows = new.iter().map(|change| new_payment_row(&change.payment));
    run(db, PAYMENTS_INSERT, new_rows.collect()).await?;
    let changed_rows: Vec<Value> = changed
        .iter()
        .map(|change| changed_payment_row(change))
        .collect();
    let expected = changed_rows.len() as u64;
    if run(db, PAYMENTS_UPDATE, changed_rows).await? != expected {
        return Err(StoreError::Conflict);
    }
    Ok(())
}

async fn write_events_and_timers(db: &mut Db<'_>, changes: &[&Change]) -> StoreResult<()> {
    let events = rows(changes, |change| {
        let row = |(ordinal, event): (usize, &OutboxEvent)| {
            json!({"event_id": sql_id(event.event_id.0), "merchant_id": sql_id(event.merchant_id.0),
                   "payment_id": sql_id(event.payment_id.0), "transaction_id": sql_id(event.transaction_id.0),
                   "event_type": event.event_type, "body": form_encode(&event.params),
                   "notification_url": event.notification_url, "created_at": event.created_at,
                   "ordinal": ordinal as i64, "state": EventState::Pending.name(), "attempts": 0,
                   "next_attempt_at": event.created_at, "lease_until": 0, "delivered_at": null})
        };
        change.events.iter().enumerate().map(row).collect()
    });
    run(db, EVENTS_INSERT, events).await?;
    let done = rows(changes, |change| {
        change
            .timers_done
            .iter()
            .map(|timer_id| json!(timer_id))
            .collect()
    });
    run(db, TIMERS_DELETE, done).await?;
    let timers = rows(changes, |change| {
        let row = |timer: &Timer| {
            json!({"timer_id": timer.timer_id, "kind": timer.kind.name(), "payment_id": sql_id(timer.payment_id.0),
                   "transaction_id": sql_id(timer.transaction_id.0), "due_at": timer.due_at, "lease_until": 0})
        };
        change.timers.iter().map(row).collect()
    });
    run(db, TIMERS_INSERT, timers).await?;
    Ok(())
}

/// Every change's rows for one table, in the order of the changes.
fn rows(changes: &[&Change], of: impl Fn(&Change) -> Vec<Value>) -> Vec<Value> {
    changes.iter().flat_map(|change| of(change)).collect()
}

/// Runs `sql` with `rows` as its one parameter, unless there are none; returns the rows changed.
async fn run(db: &mut Db<'_>, sql: &str, rows: Vec<Value>) -> StoreResult<u64> {
    if rows.is_empty() {
        return Ok(0);
    }
    let rows = Value::Array(rows).to_string();
    db.execute(sql, args![rows]).await
}

fn new_payment_row(payment: &Payment) -> Value {
    let split_token = payment.split_token.as_ref();
    json!({
        "payment_id": sql_id(payment.payment_id.0), "merchant_id": sql_id(payment.merchant_id.0),
        "payment_type": i64::from(payment.payment_type.code()), "merchant_reference": payment.merchant_reference,
        "currency": payment.currency, "amount": payment.amount.minor(), "description": payment.description,
        "return_url": payment.return_url, "cancel_url": payment.cancel_url,
        "notification_url": payment.notification_url, "establish_json": payment.establish_json,
        "authorization_id": sql_id(payment.authorization_id.0),
        "account_json": payment.account.as_ref().map(codec::account_json),
        "split_token_hash": split_token.map(|token| &token.hash_hex),
        "split_token_expires_at": split_token.map(|token| token.expires_at),
        "split_token_refreshable": split_token.map(|token| i64::from(token.refreshable)),
        "decline_next_capture": payment.decline_next_capture, "created_at": payment.created_at,
        "updated_at": payment.updated_at, "record_version": payment.record_version,
    })
}

/// The columns that change after establish, as `update_payment` in `writes` writes them.
fn changed_payment_row(change: &Change) -> Value {
    let payment = &change.payment;
    let split_token = payment.split_token.as_ref();
    json!({
        "payment_id": sql_id(payment.payment_id.0), "expected_version": change.expected_version,
        "account_json": payment.account.as_ref().map(codec::account_json),
        "split_token_hash": split_token.map(|token| &token.hash_hex),
        "split_token_expires_at": split_token.map(|token| token.expires_at),
        "split_token_refreshable": split_token.map(|token| i64::from(token.refreshable)),
        "decline_next_capture": payment.decline_next_capture, "updated_at": payment.updated_at,
        "record_version": payment.record_version,
    })
}

fn transaction_row(txn: &Transaction) -> Value {
    json!({
        "transaction_id": sql_id(txn.transaction_id.0), "payment_id": sql_id(txn.payment_id.0),
        "merchant_id": sql_id(txn.merchant_id.0), "transaction_type": i64::from(txn.transaction_type.code()),
        "original_transaction_id": txn.original_transaction_id.map(|id| sql_id(id.0)),
        "status": i64::from(txn.status.code()), "merchant_reference": txn.merchant_reference,
        "currency": txn.currency, "amount": txn.amount.minor(), "pending": txn.pending.minor(),
        "paid": txn.paid.minor(), "refunded": txn.refunded.minor(), "reversed": txn.reversed.minor(),
        "provider_status": txn.provider.status, "provider_message": txn.provider.status_message,
        "provider_reason_code": txn.provider.reason_code,
        "provider_extended_code": txn.provider.extended_reason_code,
        "error_code": txn.error_code.map(i64::from), "ip": txn.ip, "created_at": txn.created_at,
        "updated_at": txn.updated_at, "processed_at": txn.processed_at, "completed_at": txn.completed_at,
        "expired_at": txn.expired_at, "pre_authorized": i64::from(txn.pre_authorized),
        "record_version": txn.record_version, "rail": txn.rail.map(Rail::name),
    })
}

// The inserts below take every column of their table from the JSON rows (a key missing from a
// row reads as NULL, not as the column's default), so a column added to one of these tables
// must be added to its row above as well as to the one-row statement in `writes`; the contract
// suite reads every row back and compares it whole.

const PAYMENTS_INSERT: &str =
    "INSERT INTO payments SELECT * FROM json_populate_recordset(NULL::payments, $1::json)";

const PAYMENTS_UPDATE: &str = "UPDATE payments AS p SET account_json = v.account_json, \
     split_token_hash = v.split_token_hash, split_token_expires_at = v.split_token_expires_at, \
     split_token_refreshable = v.split_token_refreshable, decline_next_capture = v.decline_next_capture, \
     updated_at = v.updated_at, record_version = v.record_version \
     FROM json_to_recordset($1::json) AS v(payment_id BIGINT, expected_version BIGINT, account_json TEXT, \
     split_token_hash TEXT, split_token_expires_at BIGINT, split_token_refreshable BIGINT, \
     decline_next_capture TEXT, updated_at BIGINT, record_version BIGINT) \
     WHERE p.payment_id = v.payment_id AND p.record_version = v.expected_version";

const TRANSACTIONS_UPSERT: &str = concat!(
    "INSERT INTO transactions SELECT * FROM json_populate_recordset(NULL::transactions, $1::json) ",
    crate::writes::transaction_conflict_update!()
);

/// In the order of the array, so posting ids keep the order a change by change write gives.
const POSTINGS_INSERT: &str = "INSERT INTO ledger_postings (transaction_id, account, amount, created_at) \
     SELECT r.transaction_id, r.account, r.amount, r.created_at FROM ROWS FROM \
     (json_to_recordset($1::json) AS (transaction_id BIGINT, account TEXT, amount BIGINT, created_at BIGINT)) \
     WITH ORDINALITY AS r(transaction_id, account, amount, created_at, position) ORDER BY r.position";

const CLAIMS_INSERT: &str = "INSERT INTO reference_claims \
     SELECT * FROM json_populate_recordset(NULL::reference_claims, $1::json)";

const EVENTS_INSERT: &str =
    "INSERT INTO outbox_events SELECT * FROM json_populate_recordset(NULL::outbox_events, $1::json)";

const TIMERS_DELETE: &str =
    "DELETE FROM timers WHERE timer_id IN (SELECT json_array_elements_text($1::json))";

const TIMERS_INSERT: &str =
    "INSERT INTO timers SELECT * FROM json_populate_recordset(NULL::timers, $1::json) \
     ON CONFLICT (timer_id) DO NOTHING";
