//! PostgreSQL only: a batch's changes written with one statement per table, each statement's
//! rows (the columns and values of `rows`, as the one-row statements write them) passed as one
//! array per column and turned back into rows by PostgreSQL (`unnest`). Arrays, not the JSON
//! rows this used before: in the writer's backend, parsing the JSON (twice: `json_in` checks it,
//! `json_populate_recordset` reads it) was a third of its time, and an array literal parses
//! several times faster. The arrays go as text literals, since sqlx's `Any` driver, which the
//! writer uses on both backends, binds no arrays.
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

use paybank_core::change::Change;

use crate::codec::sql_id;
use crate::db::{Arg, Db};
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
    run(
        db,
        column_arrays(transactions.map(transaction_values)),
        |unnest| {
            let insert = insert_sql("transactions", &TRANSACTION_COLUMNS, unnest);
            format!("{insert} {TRANSACTION_CONFLICT_UPDATE}")
        },
    )
    .await?;
    let postings = changes.iter().flat_map(|change| {
        let at = change.payment.updated_at;
        change
            .postings
            .iter()
            .map(move |posting| posting_values(posting, at))
    });
    run(db, column_arrays(postings), posting_insert_sql).await?;
    let claims = changes.iter().flat_map(|change| &change.reference_claims);
    run(db, column_arrays(claims.map(claim_values)), |unnest| {
        insert_sql("reference_claims", &CLAIM_COLUMNS, unnest)
    })
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
    run(db, column_arrays(new), |unnest| {
        insert_sql("payments", &PAYMENT_COLUMNS, unnest)
    })
    .await?;
    let changed: Vec<Vec<Arg<'_>>> = (changes.iter())
        .filter_map(|change| Some((change, change.expected_version?)))
        .map(|(change, expected_version)| changed_payment_row(change, expected_version))
        .collect();
    let expected = changed.len() as u64;
    if run(db, column_arrays(changed.iter()), payment_update_sql).await? != expected {
        return Err(StoreError::Conflict);
    }
    Ok(())
}

async fn write_events_and_timers(db: &mut Db<'_>, changes: &[&Change]) -> StoreResult<()> {
    let events = changes.iter().flat_map(|change| {
        let events = change.events.iter().enumerate();
        events.map(|(ordinal, event)| event_values(event, ordinal))
    });
    run(db, column_arrays(events), |unnest| {
        insert_sql("outbox_events", &EVENT_COLUMNS, unnest)
    })
    .await?;
    let done = changes.iter().flat_map(|change| &change.timers_done);
    let done = done.map(|timer_id| [Arg::from(timer_id.as_str())]);
    run(db, column_arrays(done), |unnest| {
        format!("DELETE FROM timers WHERE timer_id IN (SELECT * FROM {unnest})")
    })
    .await?;
    let timers = changes.iter().flat_map(|change| &change.timers);
    run(db, column_arrays(timers.map(timer_values)), |unnest| {
        let insert = insert_sql("timers", &TIMER_COLUMNS, unnest);
        format!("{insert} ON CONFLICT (timer_id) DO NOTHING")
    })
    .await?;
    Ok(())
}

/// A changed payment's row: the columns that change ([`PAYMENT_CHANGE_COLUMNS`]), then its key
/// and the version it must have.
fn changed_payment_row(change: &Change, expected_version: i64) -> Vec<Arg<'_>> {
    let mut row = payment_change_values(&change.payment).to_vec();
    row.push(sql_id(change.payment.payment_id.0).into());
    row.push(expected_version.into());
    row
}

/// Runs the statement `sql` makes for a table's rows (from [`column_arrays`]), unless there are
/// none; returns the rows changed. The rows go as one array parameter per column (`$1` the
/// first column's), and `sql` is given the expression that turns them back into rows:
/// `unnest($1::BIGINT[], …)`.
async fn run(
    db: &mut Db<'_>,
    columns: Option<ColumnArrays>,
    sql: impl FnOnce(&str) -> String,
) -> StoreResult<u64> {
    let Some(columns) = columns else {
        return Ok(0);
    };
    let casts: Vec<String> = (columns.iter().enumerate())
        .map(|(index, (sql_type, _))| format!("${}::{sql_type}[]", index + 1))
        .collect();
    let sql = sql(&format!("unnest({})", casts.join(", ")));
    let arrays: Vec<Arg<'_>> = columns.into_iter().map(|(_, array)| array.into()).collect();
    db.execute(&sql, &arrays).await
}

/// Each column's SQL type and its values as an array literal.
type ColumnArrays = Vec<(&'static str, String)>;

/// Each column's SQL type and its values as a PostgreSQL array literal, or `None` for no rows.
/// The schema has only integers and text, so a column's type is its values' kind.
fn column_arrays<'a, R: AsRef<[Arg<'a>]>>(rows: impl Iterator<Item = R>) -> Option<ColumnArrays> {
    let mut columns = ColumnArrays::new();
    for row in rows {
        let row = row.as_ref();
        if columns.is_empty() {
            columns = row
                .iter()
                .map(|value| (sql_type(value), String::new()))
                .collect();
        }
        for ((_, array), value) in columns.iter_mut().zip(row) {
            array.push(if array.is_empty() { '{' } else { ',' });
            push_element(array, value);
        }
    }
    for (_, array) in &mut columns {
        array.push('}');
    }
    (!columns.is_empty()).then_some(columns)
}

fn sql_type(value: &Arg<'_>) -> &'static str {
    match value {
        Arg::Int(_) => "BIGINT",
        Arg::Text(_) => "TEXT",
    }
}

/// One element of an array literal: text is always quoted, so no value reads as NULL or as a
/// separator; inside the quotes only `"` and `\` need a backslash.
fn push_element(array: &mut String, value: &Arg<'_>) {
    match value {
        Arg::Int(Some(number)) => array.push_str(&number.to_string()),
        Arg::Int(None) | Arg::Text(None) => array.push_str("NULL"),
        Arg::Text(Some(text)) => {
            array.push('"');
            for character in text.chars() {
                if character == '"' || character == '\\' {
                    array.push('\\');
                }
                array.push(character);
            }
            array.push('"');
        }
    }
}

/// `INSERT INTO table (columns) SELECT * FROM` the rows of `unnest`, in the order of `columns`.
fn insert_sql(table: &str, columns: &[&str], unnest: &str) -> String {
    format!(
        "INSERT INTO {table} ({}) SELECT * FROM {unnest}",
        columns.join(", ")
    )
}

/// In the order of the arrays, so posting ids keep the order a change by change write gives.
fn posting_insert_sql(unnest: &str) -> String {
    let columns = POSTING_COLUMNS.join(", ");
    format!(
        "INSERT INTO ledger_postings ({columns}) SELECT {columns} \
         FROM {unnest} WITH ORDINALITY AS row ({columns}, ordinality) ORDER BY ordinality"
    )
}

/// Each row of [`changed_payment_row`] sets the changing columns of the payment it names,
/// provided the payment still has the version the change read.
fn payment_update_sql(unnest: &str) -> String {
    let assignments: Vec<String> = (PAYMENT_CHANGE_COLUMNS.iter())
        .map(|column| format!("{column} = row.{column}"))
        .collect();
    format!(
        "UPDATE payments AS p SET {} FROM {unnest} AS row ({}, payment_id, expected_version) \
         WHERE p.payment_id = row.payment_id AND p.record_version = row.expected_version",
        assignments.join(", "),
        PAYMENT_CHANGE_COLUMNS.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Values an array literal must quote or escape, beside plain ones.
    const AWKWARD: [Option<&str>; 6] = [
        Some("plain"),
        Some("with \"quotes\", {braces} and \\ a backslash"),
        Some("NULL"),
        Some(""),
        None,
        Some("é ∑ 日本"),
    ];

    fn awkward_rows() -> Vec<[Arg<'static>; 2]> {
        (AWKWARD.iter().enumerate())
            .map(|(index, text)| {
                [
                    Arg::Text(text.map(Into::into)),
                    Arg::Int(Some(index as i64 - 2)),
                ]
            })
            .collect()
    }

    #[test]
    fn array_literals_quote_every_text_and_spell_nulls() {
        let columns = column_arrays(awkward_rows().iter()).expect("rows");
        let literal =
            r#"{"plain","with \"quotes\", {braces} and \\ a backslash","NULL","",NULL,"é ∑ 日本"}"#;
        assert_eq!(columns[0], ("TEXT", literal.to_owned()));
        assert_eq!(columns[1], ("BIGINT", "{-2,-1,0,1,2,3}".to_owned()));
        assert!(column_arrays(Vec::<[Arg<'static>; 2]>::new().iter()).is_none());
    }

    /// PostgreSQL reads the literals back as the values they were made from. Runs where
    /// `PAYBANK_TEST_POSTGRES_URL` names a server, as `.ci/run` does.
    #[tokio::test]
    async fn postgres_reads_the_array_literals_back() {
        use sqlx::Connection;
        let Some(url) = crate::test_support::postgres_url() else {
            return;
        };
        let mut connection = sqlx::PgConnection::connect(&url).await.expect("connect");
        let columns = column_arrays(awkward_rows().iter()).expect("rows");
        let rows: Vec<(Option<String>, i64)> = sqlx::query_as(
            "SELECT t, n FROM unnest($1::TEXT::TEXT[], $2::TEXT::BIGINT[]) WITH ORDINALITY AS r (t, n, o) \
             ORDER BY o",
        )
        .bind(&columns[0].1)
        .bind(&columns[1].1)
        .fetch_all(&mut connection)
        .await
        .expect("unnest the literals");
        let expected: Vec<(Option<String>, i64)> = (AWKWARD.iter().enumerate())
            .map(|(index, text)| (text.map(str::to_owned), index as i64 - 2))
            .collect();
        assert_eq!(rows, expected);
    }
}
