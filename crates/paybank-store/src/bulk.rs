//! PostgreSQL only: a batch's changes written with one statement per table, each statement's
//! rows (the columns and values of `rows`, as the one-row statements write them) passed as one
//! JSON array and unpacked by PostgreSQL (`json_populate_recordset`).
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
use std::sync::LazyLock;

use paybank_core::change::Change;
use serde_json::{Map, Value};

use crate::codec::sql_id;
use crate::db::{args, Arg, Db};
use crate::rows::*;
use crate::writer::Command;
use crate::{StoreError, StoreResult, WriteSet};

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
    let transactions = changes.iter().flat_map(|change| &change.transactions);
    let transactions = json_rows(&TRANSACTION_COLUMNS, transactions.map(transaction_values));
    run(db, &TRANSACTION_UPSERT, transactions).await?;
    let postings = changes.iter().flat_map(|change| {
        let at = change.payment.updated_at;
        change
            .postings
            .iter()
            .map(move |posting| posting_values(posting, at))
    });
    run(db, &POSTING_INSERT, json_rows(&POSTING_COLUMNS, postings)).await?;
    let claims = changes.iter().flat_map(|change| &change.reference_claims);
    run(
        db,
        &CLAIM_INSERT,
        json_rows(&CLAIM_COLUMNS, claims.map(claim_values)),
    )
    .await?;
    for change in changes {
        crate::rails::insert_entries(db, &change.ach_entries).await?;
        crate::rails::insert_jobs(db, &change.rail_jobs).await?;
    }
    write_events_and_timers(db, changes).await
}

/// New payments in one statement, changed ones in another whose count of rows updated proves
/// every version check passed.
async fn write_payments(db: &mut Db<'_>, changes: &[&Change]) -> StoreResult<()> {
    let new = changes
        .iter()
        .filter(|change| change.expected_version.is_none());
    let new = new.map(|change| payment_values(&change.payment));
    run(db, &PAYMENT_INSERT, json_rows(&PAYMENT_COLUMNS, new)).await?;
    let changed: Vec<Value> = (changes.iter())
        .filter_map(|change| Some((change, change.expected_version?)))
        .map(|(change, expected_version)| changed_payment_row(change, expected_version))
        .collect();
    let expected = changed.len() as u64;
    if run(db, &PAYMENT_UPDATE, changed).await? != expected {
        return Err(StoreError::Conflict);
    }
    Ok(())
}

async fn write_events_and_timers(db: &mut Db<'_>, changes: &[&Change]) -> StoreResult<()> {
    let events = changes.iter().flat_map(|change| {
        let events = change.events.iter().enumerate();
        events.map(|(ordinal, event)| event_values(event, ordinal))
    });
    run(db, &EVENT_INSERT, json_rows(&EVENT_COLUMNS, events)).await?;
    let done = changes.iter().flat_map(|change| &change.timers_done);
    let done = done.map(|timer_id| Value::from(timer_id.as_str()));
    run(db, TIMERS_DELETE, done.collect()).await?;
    let timers = changes.iter().flat_map(|change| &change.timers);
    run(
        db,
        &TIMER_INSERT,
        json_rows(&TIMER_COLUMNS, timers.map(timer_values)),
    )
    .await?;
    Ok(())
}

/// Rows of one table, each given as its values in the order of `columns`, as JSON objects.
fn json_rows<'a, const N: usize>(
    columns: &[&str; N],
    rows: impl Iterator<Item = [Arg<'a>; N]>,
) -> Vec<Value> {
    rows.map(|values| json_row(columns, &values)).collect()
}

/// A changed payment's row: the columns that change, its key and the version it must have.
fn changed_payment_row(change: &Change, expected_version: i64) -> Value {
    let mut row = json_row(
        &PAYMENT_CHANGE_COLUMNS,
        &payment_change_values(&change.payment),
    );
    if let Value::Object(fields) = &mut row {
        fields.insert(
            "payment_id".into(),
            sql_id(change.payment.payment_id.0).into(),
        );
        fields.insert("expected_version".into(), expected_version.into());
    }
    row
}

/// A row as a JSON object keyed by column name.
fn json_row(columns: &[&str], values: &[Arg<'_>]) -> Value {
    let fields = columns.iter().zip(values).map(|(column, value)| {
        let value = match value {
            Arg::Int(number) => number.map_or(Value::Null, Value::from),
            Arg::Text(text) => text.as_deref().map_or(Value::Null, Value::from),
        };
        ((*column).to_owned(), value)
    });
    Value::Object(fields.collect::<Map<String, Value>>())
}

/// Runs `sql` with `rows` as its one parameter, unless there are none; returns the rows changed.
async fn run(db: &mut Db<'_>, sql: &str, rows: Vec<Value>) -> StoreResult<u64> {
    if rows.is_empty() {
        return Ok(0);
    }
    let rows = Value::Array(rows).to_string();
    db.execute(sql, args![rows]).await
}

/// `INSERT INTO table (columns) SELECT columns FROM` the JSON rows of `$1`.
fn insert_sql(table: &str, columns: &[&str]) -> String {
    let columns = columns.join(", ");
    format!(
        "INSERT INTO {table} ({columns}) SELECT {columns} \
         FROM json_populate_recordset(NULL::{table}, $1::json)"
    )
}

static PAYMENT_INSERT: LazyLock<String> =
    LazyLock::new(|| insert_sql("payments", &PAYMENT_COLUMNS));

/// Each row is read as a payments row (`expected_version` aside, read from the JSON itself).
static PAYMENT_UPDATE: LazyLock<String> = LazyLock::new(|| {
    let assignments: Vec<String> = (PAYMENT_CHANGE_COLUMNS.iter())
        .map(|column| format!("{column} = v.{column}"))
        .collect();
    format!(
        "UPDATE payments AS p SET {} FROM json_array_elements($1::json) AS row, \
         json_populate_record(NULL::payments, row) AS v \
         WHERE p.payment_id = v.payment_id AND p.record_version = (row->>'expected_version')::BIGINT",
        assignments.join(", ")
    )
});

static TRANSACTION_UPSERT: LazyLock<String> = LazyLock::new(|| {
    let insert = insert_sql("transactions", &TRANSACTION_COLUMNS);
    format!("{insert} {TRANSACTION_CONFLICT_UPDATE}")
});

/// In the order of the array, so posting ids keep the order a change by change write gives.
static POSTING_INSERT: LazyLock<String> = LazyLock::new(|| {
    let insert = insert_sql("ledger_postings", &POSTING_COLUMNS);
    format!("{insert} WITH ORDINALITY ORDER BY ordinality")
});

static CLAIM_INSERT: LazyLock<String> =
    LazyLock::new(|| insert_sql("reference_claims", &CLAIM_COLUMNS));

static EVENT_INSERT: LazyLock<String> =
    LazyLock::new(|| insert_sql("outbox_events", &EVENT_COLUMNS));

const TIMERS_DELETE: &str =
    "DELETE FROM timers WHERE timer_id IN (SELECT json_array_elements_text($1::json))";

static TIMER_INSERT: LazyLock<String> = LazyLock::new(|| {
    let insert = insert_sql("timers", &TIMER_COLUMNS);
    format!("{insert} ON CONFLICT (timer_id) DO NOTHING")
});
