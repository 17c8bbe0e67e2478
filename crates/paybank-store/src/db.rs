//! The one statement interface the writer's commands use, over either driver: rusqlite on
//! SQLite (statements run inline on the writer's own thread, prepared once and cached) and
//! sqlx on PostgreSQL. The SQL text is the same for both: `$N` placeholders, which SQLite
//! reads as named parameters and which are bound here by their number.

use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

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
    Sqlite(&'c mut rusqlite::Connection),
    Sqlx(&'c mut AnyConnection),
}

/// A row of either driver, read by column name.
pub(crate) enum DbRow<'a> {
    Any(&'a AnyRow),
    Sqlite(SqliteRow<'a>),
}

impl Columns for DbRow<'_> {
    fn get<T: Value>(&self, column: &str) -> StoreResult<T> {
        match self {
            DbRow::Any(row) => row.get(column),
            DbRow::Sqlite(row) => row.get(column),
        }
    }
}

impl<'c> Db<'c> {
    pub(crate) fn sqlite(connection: &'c mut rusqlite::Connection, ids: StoredIds) -> Db<'c> {
        Db {
            connection: Connection::Sqlite(connection),
            ids,
        }
    }

    pub(crate) fn sqlx(connection: &'c mut AnyConnection, ids: StoredIds) -> Db<'c> {
        Db {
            connection: Connection::Sqlx(connection),
            ids,
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
            Connection::Sqlite(connection) => {
                let mut statement = connection.prepare_cached(sql).map_err(sqlite_error)?;
                bind_sqlite(&mut statement, sql, args)?;
                Ok(statement.raw_execute().map_err(sqlite_error)? as u64)
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
            Connection::Sqlite(connection) => {
                let mut statement = connection.prepare_cached(sql).map_err(sqlite_error)?;
                bind_sqlite(&mut statement, sql, args)?;
                let columns = ColumnIndex::of(sql, &statement);
                let mut rows = statement.raw_query();
                let mut decoded = Vec::new();
                while let Some(row) = rows.next().map_err(sqlite_error)? {
                    let columns = &columns;
                    decoded.push(decode(&DbRow::Sqlite(SqliteRow::new(row, columns)))?);
                }
                Ok(decoded)
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

/// Binds `$N` (SQLite's name for the parameter) to `args[N - 1]`; `sql` is the statement's
/// text.
fn bind_sqlite(
    statement: &mut rusqlite::CachedStatement<'_>,
    sql: &str,
    args: &[Arg<'_>],
) -> StoreResult<()> {
    let numbers = parameter_numbers(statement, sql);
    for (position, &number) in numbers.iter().enumerate() {
        let arg = args.get(number - 1).ok_or_else(|| {
            crate::StoreError::Database(format!("no value for parameter ${number}"))
        })?;
        let index = position + 1;
        let bound = match arg {
            Arg::Int(value) => statement.raw_bind_parameter(index, value),
            Arg::Text(value) => statement.raw_bind_parameter(index, value.as_deref()),
        };
        bound.map_err(sqlite_error)?;
    }
    Ok(())
}

/// Statement texts whose parameter numbers this thread has found, by where the text lives
/// and its length; the text itself is kept to check that the same place still holds the same
/// statement. The writer's statements are a few dozen, most of them static.
type KnownNumbers = HashMap<(usize, usize), (Box<str>, Rc<[usize]>)>;

/// Texts remembered per thread before the map starts afresh (statements built at run time
/// each bring a new place).
const KNOWN_NUMBERS_MAX: usize = 256;

thread_local! {
    static KNOWN_NUMBERS: RefCell<KnownNumbers> = RefCell::new(HashMap::new());
}

/// The number N of each parameter `$N`, by position, found once per statement text: SQLite
/// finds a parameter's name by walking every name before it, so asking for all of a
/// 30-parameter row's names each time cost more than binding its values.
fn parameter_numbers(statement: &rusqlite::CachedStatement<'_>, sql: &str) -> Rc<[usize]> {
    let key = (sql.as_ptr() as usize, sql.len());
    let known = KNOWN_NUMBERS.with_borrow(|known| match known.get(&key) {
        Some((text, numbers)) if **text == *sql => Some(numbers.clone()),
        _ => None,
    });
    if let Some(numbers) = known {
        return numbers;
    }
    let numbers: Rc<[usize]> = (1..=statement.parameter_count())
        .map(|index| {
            statement
                .parameter_name(index)
                .and_then(|name| name.strip_prefix('$'))
                .and_then(|number| number.parse::<usize>().ok())
                .unwrap_or(index)
        })
        .collect();
    KNOWN_NUMBERS.with_borrow_mut(|known| {
        if known.len() >= KNOWN_NUMBERS_MAX {
            known.clear();
        }
        known.insert(key, (sql.into(), numbers.clone()));
    });
    numbers
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
