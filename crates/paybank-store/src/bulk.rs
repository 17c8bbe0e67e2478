//! PostgreSQL only: a batch's changes written with one statement, a data-modifying `WITH`
//! clause per table, each clause's rows (the columns and values of `rows`, as the one-row
//! statements write them) passed as one array per column and turned back into rows by
//! PostgreSQL (`unnest`). Arrays, not JSON rows: in the writer's backend, parsing the JSON
//! (twice: `json_in` checks it, `json_populate_recordset` reads it) was a third of its time, and
//! an array literal parses several times faster. The arrays go as text literals, since sqlx's
//! `Any` driver, which the writer uses on both backends, binds no arrays.
//!
//! Why: written one command at a time, a capture is five statements, each a round trip that
//! the writer waits for in turn, and PostgreSQL's work per statement (parse, bind, plan, the
//! protocol) was most of its cost per capture. Then a statement per table made a batch of any
//! size about eight round trips with `BEGIN` and `COMMIT`, and a capture's time mostly waiting
//! for them in turn. As one statement, which outside a transaction commits itself, a batch is
//! one round trip. SQLite runs its statements in-process and gains nothing from this.
//!
//! Writing the batch at once gives the same result as writing change by change only when the
//! changes cannot see each other's rows, so a batch goes this way only when each change has a
//! payment of its own and no balance floor to check (see [`changes_of`]). Whatever fails here
//! (a version conflict, a duplicate reference) is not answered from here: nothing is written,
//! and the writer runs the batch change by change, which says which change failed and why.

use std::collections::HashSet;

use paybank_core::change::{Change, Timer};
use paybank_core::ids::StoredIds;
use paybank_core::ledger::kept_balance_changes;

use crate::db::{Arg, Db};
use crate::rails::{entry_values, job_values, ENTRY_COLUMNS, JOB_COLUMNS, JOB_CONFLICT};
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
                    Some(&**change)
                }
                _ => None,
            },
            _ => None,
        })
        .collect()
}

/// Writes `changes` with one statement: each table's rows are a data-modifying `WITH` clause,
/// and the statement fails as a whole, writing nothing, if any clause fails or a changed
/// payment no longer has the version its change read. So outside a transaction the statement
/// is its own, and a batch is one round trip to the database and one commit.
///
/// The clauses of one statement share its snapshot and cannot see each other's rows. Nothing
/// here needs to: foreign keys are checked at the statement's end, the changes have distinct
/// payments, and a timer both finished and scheduled again in the batch is replaced in one
/// clause rather than deleted by one and inserted by another (see [`add_timers`]).
pub(crate) async fn write_changes(db: &mut Db<'_>, changes: &[&Change]) -> StoreResult<()> {
    for change in changes {
        change.check().map_err(StoreError::Invariant)?;
    }
    if let Some((sql, args)) = batch_statement(changes, db.ids)?.finish() {
        db.execute(&sql, &args).await?;
    }
    Ok(())
}

/// The one statement that writes every table `changes` touch.
fn batch_statement<'a>(changes: &[&'a Change], ids: StoredIds) -> StoreResult<BatchStatement<'a>> {
    let mut statement = BatchStatement::default();
    add_payments(&mut statement, changes, ids);
    let transactions = changes.iter().flat_map(|change| &change.transactions);
    statement.add(
        "transactions_written",
        column_arrays(transactions.map(|txn| transaction_values(txn, ids))),
        |unnest| {
            let insert = insert_sql("transactions", &TRANSACTION_COLUMNS, unnest);
            format!("{insert} {TRANSACTION_CONFLICT_UPDATE}")
        },
    );
    let postings = changes.iter().flat_map(|change| {
        let at = change.payment.updated_at;
        change
            .postings
            .iter()
            .map(move |posting| posting_values(posting, at, ids))
    });
    statement.add("postings", column_arrays(postings), posting_insert_sql);
    add_kept_balances(&mut statement, changes);
    let claims = changes.iter().flat_map(|change| &change.reference_claims);
    statement.add(
        "claims",
        column_arrays(claims.map(|claim| claim_values(claim, ids))),
        |unnest| insert_sql("reference_claims", &CLAIM_COLUMNS, unnest),
    );
    add_rail_rows(&mut statement, changes, ids);
    let events = changes.iter().flat_map(|change| {
        let events = change.events.iter().enumerate();
        events.map(move |(ordinal, event)| event_values(event, ordinal, ids))
    });
    statement.add("events", column_arrays(events), |unnest| {
        insert_sql("outbox_events", &EVENT_COLUMNS, unnest)
    });
    add_timers(&mut statement, changes, ids)?;
    Ok(statement)
}

/// What the changes' postings move the kept balances by (see `floors.rs`), summed over the
/// batch: one clause may update a row only once. The accounts come in name order, the order
/// every writer takes their rows' locks in.
fn add_kept_balances(statement: &mut BatchStatement<'_>, changes: &[&Change]) {
    let postings = changes.iter().flat_map(|change| &change.postings);
    let rows = kept_balance_changes(postings)
        .into_iter()
        .map(|(account, minor)| [Arg::from(account), Arg::from(minor)]);
    statement.add("kept_balances", column_arrays(rows), |unnest| {
        format!(
            "INSERT INTO account_balances (account, balance) SELECT * FROM {unnest} {}",
            crate::floors::KEPT_BALANCE_ON_CONFLICT
        )
    });
}

/// New payments in one clause, changed ones in another whose count of rows updated proves
/// every version check passed (see [`BatchStatement::finish`]).
fn add_payments<'a>(statement: &mut BatchStatement<'a>, changes: &[&'a Change], ids: StoredIds) {
    let new = changes
        .iter()
        .filter(|change| change.expected_version.is_none());
    let new = new.map(|change| payment_values(&change.payment, ids));
    statement.add("new_payments", column_arrays(new), |unnest| {
        insert_sql("payments", &PAYMENT_COLUMNS, unnest)
    });
    let changed: Vec<Vec<Arg<'_>>> = (changes.iter())
        .filter_map(|change| Some((change, change.expected_version?)))
        .map(|(change, expected_version)| changed_payment_row(change, expected_version, ids))
        .collect();
    statement.changed_payments = changed.len();
    statement.add(
        CHANGED_PAYMENTS,
        column_arrays(changed.into_iter()),
        |unnest| format!("{} RETURNING 1", payment_update_sql(unnest)),
    );
}

/// The ACH entries the changes submit and the network jobs they schedule. Jobs are named by
/// what they do, so changes may schedule the same one: the first is kept, as one at a time
/// would keep it, since one clause cannot insert a row twice.
fn add_rail_rows<'a>(statement: &mut BatchStatement<'a>, changes: &[&'a Change], ids: StoredIds) {
    let entries = changes.iter().flat_map(|change| &change.ach_entries);
    statement.add(
        "entries",
        column_arrays(entries.map(|entry| entry_values(entry, ids))),
        |unnest| insert_sql("ach_entries", &ENTRY_COLUMNS, unnest),
    );
    let mut scheduled = HashSet::new();
    let jobs = (changes.iter())
        .flat_map(|change| &change.rail_jobs)
        .filter(|job| scheduled.insert(job.job_id.as_str()));
    statement.add("jobs", column_arrays(jobs.map(job_values)), |unnest| {
        let insert = insert_sql("rail_jobs", &JOB_COLUMNS, unnest);
        format!("{insert} {JOB_CONFLICT}")
    });
}

/// Timers the changes finished are deleted and those they schedule inserted, unless one is
/// already there. A timer both finished and scheduled again is replaced instead: one clause
/// may not delete a row that another inserts again, since neither sees the other's work.
fn add_timers<'a>(
    statement: &mut BatchStatement<'a>,
    changes: &[&'a Change],
    ids: StoredIds,
) -> StoreResult<()> {
    let done = (changes.iter())
        .flat_map(|change| &change.timers_done)
        .map(|timer_id| timer_key_of(timer_id, ids));
    let done: HashSet<String> = done.collect::<StoreResult<_>>()?;
    let timers: Vec<&Timer> = changes.iter().flat_map(|change| &change.timers).collect();
    let key = |timer: &Timer| timer_key(timer.kind, timer.transaction_id, ids);
    let again: HashSet<String> = (timers.iter())
        .map(|timer| key(timer))
        .filter(|timer_key| done.contains(timer_key))
        .collect();
    let deleted = (done.into_iter()).filter(|timer_key| !again.contains(timer_key));
    let deleted = deleted.map(|timer_key| [Arg::from(timer_key)]);
    statement.add("timers_done", column_arrays(deleted), |unnest| {
        format!("DELETE FROM timers WHERE timer_id IN (SELECT * FROM {unnest})")
    });
    let (replaced, new): (Vec<&Timer>, Vec<&Timer>) =
        (timers.into_iter()).partition(|timer| again.contains(&key(timer)));
    let inserts = [
        ("timers_new", new, "DO NOTHING"),
        ("timers_replaced", replaced, TIMER_REPLACEMENT),
    ];
    for (name, timers, on_conflict) in inserts {
        let rows = column_arrays(timers.into_iter().map(|timer| timer_values(timer, ids)));
        statement.add(name, rows, |unnest| {
            let insert = insert_sql("timers", &TIMER_COLUMNS, unnest);
            format!("{insert} ON CONFLICT (timer_id) {on_conflict}")
        });
    }
    Ok(())
}

/// A timer scheduled again takes every column of its new row but its id.
const TIMER_REPLACEMENT: &str =
    "DO UPDATE SET kind = excluded.kind, payment_id = excluded.payment_id, \
     transaction_id = excluded.transaction_id, due_at = excluded.due_at, \
     lease_until = excluded.lease_until";

/// A changed payment's row: the columns that change ([`PAYMENT_CHANGE_COLUMNS`]), then its key
/// and the version it must have.
fn changed_payment_row(change: &Change, expected_version: i64, ids: StoredIds) -> Vec<Arg<'_>> {
    let mut row = payment_change_values(&change.payment).to_vec();
    row.push(ids.stored(change.payment.payment_id.0).into());
    row.push(expected_version.into());
    row
}

/// The clause that updates changed payments, whose rows the statement counts.
const CHANGED_PAYMENTS: &str = "changed_payments";

/// A statement being built: its `WITH` clauses and their parameters, one array per column.
#[derive(Default)]
struct BatchStatement<'a> {
    clauses: Vec<String>,
    args: Vec<Arg<'a>>,
    /// How many payments the [`CHANGED_PAYMENTS`] clause must update.
    changed_payments: usize,
}

impl<'a> BatchStatement<'a> {
    /// Adds the clause `sql` makes for a table's rows (from [`column_arrays`]), named `name`,
    /// unless there are none. The rows go as one array parameter per column, and `sql` is given
    /// the expression that turns them back into rows: `unnest($4::BIGINT[], …)`.
    fn add(&mut self, name: &str, columns: Option<ColumnArrays>, sql: impl FnOnce(&str) -> String) {
        let Some(columns) = columns else {
            return;
        };
        let first = self.args.len() + 1;
        let casts: Vec<String> = (columns.iter().enumerate())
            .map(|(index, (sql_type, _))| format!("${}::{sql_type}[]", first + index))
            .collect();
        let clause = sql(&format!("unnest({})", casts.join(", ")));
        self.clauses.push(format!("{name} AS ({clause})"));
        let arrays = columns.into_iter().map(|(_, array)| Arg::from(array));
        self.args.extend(arrays);
    }

    /// The whole statement and its parameters, or `None` when there is nothing to write. Its
    /// answer is one row; when fewer payments were updated than changed (one's version moved
    /// since its change read it) it fails instead, with a cast of a text that says so.
    /// PostgreSQL evaluates a `CASE` branch only when taken, and this one is not constant, so it
    /// is not evaluated when the statement is planned. The count expected is a parameter, so
    /// batches of any size share the prepared statement.
    fn finish(mut self) -> Option<(String, Vec<Arg<'a>>)> {
        if self.clauses.is_empty() {
            return None;
        }
        let answer = match self.changed_payments {
            0 => "SELECT 0".to_owned(),
            expected => {
                self.args.push(Arg::from(expected as i64));
                let (count, expected) = (
                    format!("(SELECT count(*) FROM {CHANGED_PAYMENTS})"),
                    format!("${}::BIGINT", self.args.len()),
                );
                format!(
                    "SELECT CASE WHEN {count} = {expected} THEN 0 ELSE ('payments updated: ' \
                     || {count} || ' of ' || {expected} || ', the others changed since read')\
                     ::BIGINT END"
                )
            }
        };
        let sql = format!("WITH {} {answer}", self.clauses.join(", "));
        Some((sql, self.args))
    }
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

    /// The one statement writes a batch with every kind of row whole, a timer finished and
    /// scheduled again and a network job scheduled twice among them, and writes nothing when
    /// one changed payment's version has moved. The writer's fallback would hide a statement
    /// that always fails, so this calls it directly. Runs where `PAYBANK_TEST_POSTGRES_URL`
    /// names a server, as `.ci/run` does.
    #[tokio::test]
    async fn postgres_writes_a_batch_in_one_statement() {
        use crate::bulk_fixture::Batch;
        use crate::test_support::{postgres_url, Schema};
        let Some(base) = postgres_url() else {
            return;
        };
        let schema = Schema::create(&base, "bulk").await;
        let store = crate::open(&schema.url, crate::test_support::TEST_ID_SEED)
            .await
            .expect("open the store");
        let batch = Batch::of_every_kind(&store, &schema.url).await;
        let mut connection = batch.connection().await;

        let mut stale = batch.changes.clone();
        stale[0].expected_version = stale[0].expected_version.map(|version| version + 1);
        let stale: Vec<&Change> = stale.iter().collect();
        let refused = write_changes(
            &mut Db::sqlx(&mut connection, crate::test_support::test_ids()),
            &stale,
        )
        .await;
        assert!(refused.is_err(), "a stale version was written");
        assert_eq!(batch.rows(&mut connection).await, batch.rows_before);

        let changes: Vec<&Change> = batch.changes.iter().collect();
        write_changes(
            &mut Db::sqlx(&mut connection, crate::test_support::test_ids()),
            &changes,
        )
        .await
        .expect("the batch in one statement");
        batch.assert_written(&store, &mut connection).await;
        schema.drop().await;
    }

    /// Two settlements of one merchant in one batch move its kept balance once, by both: one
    /// clause may update a row only once, so the batch sums each account's postings first.
    /// Runs where `PAYBANK_TEST_POSTGRES_URL` names a server, as `.ci/run` does.
    #[tokio::test]
    async fn postgres_moves_a_kept_balance_once_per_batch() {
        use crate::test_support::{postgres_url, Schema};
        let Some(base) = postgres_url() else {
            return;
        };
        let schema = Schema::create(&base, "bulk_kept").await;
        let store = crate::open(&schema.url, crate::test_support::TEST_ID_SEED)
            .await
            .expect("open the store");
        let settling = crate::bulk_fixture::two_settlements(&store).await;
        let settled: i64 = (settling.iter())
            .flat_map(|change| &change.postings)
            .filter(|posting| posting.account.keeps_balance())
            .map(|posting| posting.amount.minor())
            .sum();
        let mut connection = <sqlx::AnyConnection as sqlx::Connection>::connect(&schema.url)
            .await
            .expect("connect");
        let changes: Vec<&Change> = settling.iter().collect();
        write_changes(
            &mut Db::sqlx(&mut connection, crate::test_support::test_ids()),
            &changes,
        )
        .await
        .expect("the batch in one statement");
        let kept = store.kept_balances().await.expect("kept balances");
        schema.drop().await;
        assert_eq!(settled, 5_000);
        assert_eq!(
            kept.iter().map(|(_, minor)| *minor).collect::<Vec<_>>(),
            [5_000]
        );
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
