//! The one statement interface the writer's commands use, over either driver: rusqlite on
//! SQLite (statements run inline on the writer's own thread, prepared once and cached) and
//! sqlx on PostgreSQL. The SQL text is the same for both: `$N` placeholders, which SQLite
//! reads as named parameters and which are bound here by their number.

use std::borrow::Cow;
use std::sync::Arc;

use sqlx::any::AnyRow;
use sqlx::AnyConnection;

use paybank_core::ids::StoredIds;

use crate::columns::{sqlite_error, ColumnIndex, Columns, SqliteRow, Value};
use crate::sql::Backend;
use crate::StoreResult;

/// A bound value: the schema has only integers and text, each maybe NULL.
#[derive(Clone, Debug)]
pub(crate) enum Arg<'a> {
    Int(Option<i64>),
    Text(Option<Cow<'a, str>>),
}

impl From<i64> for Arg<'_> {
    fn from(value: i64) -> Self {
        Arg::Int(Some(value))
    }
}

impl From<Option<i64>> for Arg<'_> {
    fn from(value: Option<i64>) -> Self {
        Arg::Int(value)
    }
}

impl<'a> From<&'a str> for Arg<'a> {
    fn from(value: &'a str) -> Self {
        Arg::Text(Some(Cow::Borrowed(value)))
    }
}

impl<'a> From<&'a String> for Arg<'a> {
    fn from(value: &'a String) -> Self {
        Arg::Text(Some(Cow::Borrowed(value)))
    }
}

impl From<String> for Arg<'_> {
    fn from(value: String) -> Self {
        Arg::Text(Some(Cow::Owned(value)))
    }
}

impl<'a> From<Option<&'a str>> for Arg<'a> {
    fn from(value: Option<&'a str>) -> Self {
        Arg::Text(value.map(Cow::Borrowed))
    }
}

impl<'a> From<&'a Option<String>> for Arg<'a> {
    fn from(value: &'a Option<String>) -> Self {
        Arg::Text(value.as_deref().map(Cow::Borrowed))
    }
}

impl From<Option<String>> for Arg<'_> {
    fn from(value: Option<String>) -> Self {
        Arg::Text(value.map(Cow::Owned))
    }
}

/// `args![a, b, …]`: the values of `$1`, `$2`, … in order.
macro_rules! args {
    ($($value:expr),* $(,)?) => {
        &[$($crate::db::Arg::from($value)),*]
    };
}
pub(crate) use args;

/// The writer's connection, inside the batch's transaction, and how ids are stored.
pub(crate) struct Db<'c> {
    connection: Connection<'c>,
    pub(crate) ids: StoredIds,
}

enum Connection<'c> {
    Sqlite(SqliteDb<'c>),
    Sqlx(&'c mut AnyConnection),
}

/// SQLite's side of a [`Db`]: the connection, and the statements run on it so far, kept
/// ready until the `Db` is dropped (the writer makes one per batch). rusqlite's cache hashes a
/// statement's whole text when it is taken and again when it is given back, copies the text,
/// and clears the bindings: for a batch's statements, a few hundred bytes to 1.3 KB each, that
/// was a tenth of a durable capture's instructions. A statement kept here is found by where
/// its text lives, checked against it, and goes back to rusqlite's cache once.
struct SqliteDb<'c> {
    connection: &'c rusqlite::Connection,
    kept: Vec<Kept<'c>>,
}

// SAFETY: `Db::sqlite` builds this from an exclusive borrow of the connection, so while it
// lives nothing else reaches the connection: the connection and the statements prepared on it
// move between threads only together and are used from one thread at a time, which is what
// rusqlite's `Connection: Send` allows (SQLite's multi-thread mode). Its statements are not
// `Send` only because, alone, they could be used on one thread while the connection is used on
// another. The writer's commands are async for sqlx's sake, so a `Db` is held across awaits.
#[allow(unsafe_code)]
unsafe impl Send for SqliteDb<'_> {}

/// A statement a [`Db`] keeps, with what it learned of it once.
struct Kept<'c> {
    /// Where the text lives and how long it is: found first by these, then compared.
    place: (usize, usize),
    text: Box<str>,
    statement: rusqlite::CachedStatement<'c>,
    /// The number N of each parameter `$N`, by position.
    numbers: Box<[usize]>,
    columns: Option<Arc<ColumnIndex>>,
}

/// Statements a [`Db`] keeps at most; past them (statements built at run time, each a text of
/// its own), the one kept longest goes back to rusqlite's cache to make room.
const KEPT_MAX: usize = 32;

/// A row of either driver, read by column name.
pub(crate) enum DbRow<'a> {
    Any(&'a AnyRow),
    Sqlite(SqliteRow<'a>),
}

impl Columns for DbRow<'_> {
    fn get<T: Value>(&self, column: &'static str) -> StoreResult<T> {
        match self {
            DbRow::Any(row) => row.get(column),
            DbRow::Sqlite(row) => row.get(column),
        }
    }
}

impl<'c> Db<'c> {
    /// The exclusive borrow is what makes [`SqliteDb`] safe to send.
    pub(crate) fn sqlite(connection: &'c mut rusqlite::Connection, ids: StoredIds) -> Db<'c> {
        let sqlite = SqliteDb {
            connection,
            kept: Vec::new(),
        };
        Db {
            connection: Connection::Sqlite(sqlite),
            ids,
        }
    }

    pub(crate) fn sqlx(connection: &'c mut AnyConnection, ids: StoredIds) -> Db<'c> {
        Db {
            connection: Connection::Sqlx(connection),
            ids,
        }
    }

    /// Runs a statement that takes no values and returns no rows (BEGIN, COMMIT, …).
    pub(crate) async fn control(&mut self, sql: &str) -> StoreResult<()> {
        match &mut self.connection {
            Connection::Sqlite(sqlite) => sqlite_control(sqlite.connection, sql),
            Connection::Sqlx(connection) => {
                sqlx::Executor::execute(&mut **connection, sql).await?;
                Ok(())
            }
        }
    }

    /// Which database this is: the SQLite writer holds a rusqlite connection, so sqlx's is
    /// always PostgreSQL's.
    pub(crate) fn backend(&self) -> Backend {
        match self.connection {
            Connection::Sqlite(_) => Backend::Sqlite,
            Connection::Sqlx(_) => Backend::Postgres,
        }
    }

    /// The value `id` is stored as.
    pub(crate) fn id(&self, id: u64) -> i64 {
        self.ids.stored(id)
    }

    /// Runs a statement; returns how many rows it changed.
    pub(crate) async fn execute(&mut self, sql: &str, args: &[Arg<'_>]) -> StoreResult<u64> {
        match &mut self.connection {
            Connection::Sqlite(sqlite) => {
                let changed = sqlite
                    .kept(sql)?
                    .bound(args)?
                    .raw_execute()
                    .map_err(sqlite_error)?;
                Ok(changed as u64)
            }
            Connection::Sqlx(connection) => {
                let result = sqlx::query_with(sql, sqlx_args(args)?)
                    .execute(&mut **connection)
                    .await?;
                Ok(result.rows_affected())
            }
        }
    }

    /// Runs a query and decodes every row it returns.
    pub(crate) async fn fetch<T>(
        &mut self,
        sql: &str,
        args: &[Arg<'_>],
        decode: impl Fn(&DbRow<'_>) -> StoreResult<T>,
    ) -> StoreResult<Vec<T>> {
        match &mut self.connection {
            Connection::Sqlite(sqlite) => {
                let kept = sqlite.kept(sql)?;
                let columns = kept.columns(sql);
                decode_rows(kept.bound(args)?, &columns, decode)
            }
            Connection::Sqlx(connection) => {
                let rows = sqlx::query_with(sql, sqlx_args(args)?)
                    .fetch_all(&mut **connection)
                    .await?;
                rows.iter().map(|row| decode(&DbRow::Any(row))).collect()
            }
        }
    }

    /// A query answering one row of one integer column named `value` (or none).
    pub(crate) async fn fetch_number(
        &mut self,
        sql: &str,
        args: &[Arg<'_>],
    ) -> StoreResult<Option<i64>> {
        let rows = self
            .fetch(sql, args, |row| row.get::<Option<i64>>("value"))
            .await?;
        Ok(rows.into_iter().next().flatten())
    }
}

/// Runs a SQLite statement that takes no values and returns no rows (BEGIN, COMMIT, …),
/// prepared once per connection.
pub(crate) fn sqlite_control(connection: &rusqlite::Connection, sql: &str) -> StoreResult<()> {
    let mut statement = connection.prepare_cached(sql).map_err(sqlite_error)?;
    statement.raw_execute().map_err(sqlite_error)?;
    Ok(())
}

impl<'c> SqliteDb<'c> {
    /// The statement kept for `sql`, prepared (or taken from rusqlite's cache) the first time
    /// this `Db` runs that text.
    fn kept(&mut self, sql: &str) -> StoreResult<&mut Kept<'c>> {
        let place = (sql.as_ptr() as usize, sql.len());
        // Found by place, then compared: a text built at run time and dropped may leave its
        // place to another text of the same length.
        let found = self
            .kept
            .iter()
            .position(|kept| kept.place == place && *kept.text == *sql);
        let index = match found {
            Some(index) => index,
            None => {
                let statement = self.connection.prepare_cached(sql).map_err(sqlite_error)?;
                if self.kept.len() == KEPT_MAX {
                    self.kept.remove(0);
                }
                self.kept.push(Kept {
                    place,
                    text: sql.into(),
                    numbers: parameter_numbers(&statement),
                    statement,
                    columns: None,
                });
                self.kept.len() - 1
            }
        };
        Ok(&mut self.kept[index])
    }
}

impl<'c> Kept<'c> {
    /// The statement with `$N` (SQLite's name for the parameter) bound to `args[N - 1]`.
    fn bound(&mut self, args: &[Arg<'_>]) -> StoreResult<&mut rusqlite::CachedStatement<'c>> {
        for (position, &number) in self.numbers.iter().enumerate() {
            let arg = args.get(number - 1).ok_or_else(|| {
                crate::StoreError::Database(format!("no value for parameter ${number}"))
            })?;
            let index = position + 1;
            let bound = match arg {
                Arg::Int(value) => self.statement.raw_bind_parameter(index, value),
                Arg::Text(value) => self.statement.raw_bind_parameter(index, value.as_deref()),
            };
            bound.map_err(sqlite_error)?;
        }
        Ok(&mut self.statement)
    }

    /// The statement's columns by name, found the first time they are asked for.
    fn columns(&mut self, sql: &str) -> Arc<ColumnIndex> {
        let statement = &self.statement;
        self.columns
            .get_or_insert_with(|| ColumnIndex::of(sql, statement))
            .clone()
    }
}

/// Decodes every row `statement` returns.
fn decode_rows<T>(
    statement: &mut rusqlite::CachedStatement<'_>,
    columns: &ColumnIndex,
    decode: impl Fn(&DbRow<'_>) -> StoreResult<T>,
) -> StoreResult<Vec<T>> {
    let mut rows = statement.raw_query();
    let mut decoded = Vec::new();
    while let Some(row) = rows.next().map_err(sqlite_error)? {
        decoded.push(decode(&DbRow::Sqlite(SqliteRow::new(row, columns)))?);
    }
    Ok(decoded)
}

/// The number N of each parameter `$N`, by position, found once per kept statement: SQLite
/// finds a parameter's name by walking every name before it, so asking for all of a
/// 30-parameter row's names at each use cost more than binding its values.
fn parameter_numbers(statement: &rusqlite::CachedStatement<'_>) -> Box<[usize]> {
    (1..=statement.parameter_count())
        .map(|index| {
            statement
                .parameter_name(index)
                .and_then(|name| name.strip_prefix('$'))
                .and_then(|number| number.parse::<usize>().ok())
                .unwrap_or(index)
        })
        .collect()
}

fn sqlx_args<'q>(args: &'q [Arg<'_>]) -> StoreResult<sqlx::any::AnyArguments<'q>> {
    use sqlx::Arguments;
    let mut bound = sqlx::any::AnyArguments::default();
    for arg in args {
        let added = match arg {
            Arg::Int(value) => bound.add(*value),
            Arg::Text(value) => bound.add(value.as_deref()),
        };
        added.map_err(|error| crate::StoreError::Database(error.to_string()))?;
    }
    Ok(bound)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs `sql` on a fresh in-memory database and reads its one number.
    fn number(connection: &mut rusqlite::Connection, sql: &str, args: &[Arg<'_>]) -> i64 {
        let ids = crate::test_support::test_ids();
        let mut db = Db::sqlite(connection, ids);
        let future = db.fetch_number(sql, args);
        let value = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("a runtime")
            .block_on(future);
        value.expect("the statement runs").expect("a number")
    }

    #[test]
    fn parameters_bind_by_their_number_whatever_their_order_in_the_text() {
        let mut connection = rusqlite::Connection::open_in_memory().expect("open");
        let args = [Arg::Int(Some(100)), Arg::Int(Some(20)), Arg::Int(Some(3))];
        let in_order = "SELECT $1 - $2 - $3 AS value";
        let shuffled = "SELECT $3 - $1 + $2 + $3 AS value";
        for _ in 0..2 {
            assert_eq!(number(&mut connection, in_order, &args), 77);
            assert_eq!(number(&mut connection, shuffled, &args), -74);
        }
        // A statement built at run time, at a new place each time, with the same text or not.
        for round in 0..3 {
            let built = format!("SELECT $2 * {round} + $1 AS value");
            assert_eq!(number(&mut connection, &built, &args), 20 * round + 100);
        }
        // Another text of the same length at the same place is not taken for the first.
        let mut text = String::with_capacity(64);
        text.push_str("SELECT $1 AS value");
        assert_eq!(number(&mut connection, &text, &args), 100);
        text.clear();
        text.push_str("SELECT $2 AS value");
        assert_eq!(number(&mut connection, &text, &args), 20);
    }
}
