//! Reading a column by name from either driver's row: sqlx's `AnyRow` (PostgreSQL, and SQLite
//! off the hot paths) and rusqlite's `Row` (SQLite's inline reads), so that one codec turns
//! both into domain records.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, RwLock};

use sqlx::any::AnyRow;

use crate::{StoreError, StoreResult};

/// A row whose columns can be read by name.
pub(crate) trait Columns {
    fn get<T: Value>(&self, column: &str) -> StoreResult<T>;
}

/// The column types the schema uses: integers and text, each maybe NULL.
pub(crate) trait Value: Sized {
    fn from_any(row: &AnyRow, column: &str) -> StoreResult<Self>;
    fn from_sqlite(row: &rusqlite::Row<'_>, index: usize) -> StoreResult<Self>;
}

impl Columns for AnyRow {
    fn get<T: Value>(&self, column: &str) -> StoreResult<T> {
        T::from_any(self, column)
    }
}

/// A statement's column positions by name, found once per query: rusqlite's own lookup by
/// name walks every column name for every value read, which for a 27-column row cost more
/// than the read itself.
pub(crate) struct ColumnIndex(HashMap<String, usize>);

/// Column indexes by statement text. The schema is the same for every store in a process (each
/// migrates to the latest on open), so a statement's columns never change; the statements are
/// the store's own constants, so the map stays small.
static COLUMN_INDEXES: LazyLock<RwLock<HashMap<String, Arc<ColumnIndex>>>> =
    LazyLock::new(Default::default);

impl ColumnIndex {
    /// The columns of `statement`, prepared from `sql`, found once per statement text.
    pub(crate) fn of(sql: &str, statement: &rusqlite::Statement<'_>) -> Arc<ColumnIndex> {
        let known = COLUMN_INDEXES.read().unwrap_or_else(|p| p.into_inner());
        if let Some(index) = known.get(sql) {
            return index.clone();
        }
        drop(known);
        let names = statement.column_names().into_iter().map(str::to_owned);
        let index = Arc::new(ColumnIndex(
            names
                .enumerate()
                .map(|(index, name)| (name, index))
                .collect(),
        ));
        let mut known = COLUMN_INDEXES.write().unwrap_or_else(|p| p.into_inner());
        known.insert(sql.to_owned(), index.clone());
        index
    }
}

/// A rusqlite row read through its statement's [`ColumnIndex`].
pub(crate) struct SqliteRow<'a> {
    pub(crate) row: &'a rusqlite::Row<'a>,
    pub(crate) columns: &'a ColumnIndex,
}

impl Columns for SqliteRow<'_> {
    fn get<T: Value>(&self, column: &str) -> StoreResult<T> {
        let index = self
            .columns
            .0
            .get(column)
            .ok_or_else(|| StoreError::Database(format!("no column {column} in the result")))?;
        T::from_sqlite(self.row, *index)
    }
}

/// Implements [`Value`] for a type both drivers decode natively.
macro_rules! native_value {
    ($($kind:ty),*) => {$(
        impl Value for $kind {
            fn from_any(row: &AnyRow, column: &str) -> StoreResult<Self> {
                Ok(sqlx::Row::try_get(row, column)?)
            }
            fn from_sqlite(row: &rusqlite::Row<'_>, index: usize) -> StoreResult<Self> {
                row.get(index).map_err(sqlite_error)
            }
        }
    )*};
}

native_value!(i64, Option<i64>, String, Option<String>);

pub(crate) fn sqlite_error(error: rusqlite::Error) -> StoreError {
    use rusqlite::ffi::{SQLITE_CONSTRAINT_PRIMARYKEY, SQLITE_CONSTRAINT_UNIQUE};
    match error {
        rusqlite::Error::QueryReturnedNoRows => StoreError::NotFound,
        rusqlite::Error::SqliteFailure(failure, message)
            if [SQLITE_CONSTRAINT_UNIQUE, SQLITE_CONSTRAINT_PRIMARYKEY]
                .contains(&failure.extended_code) =>
        {
            StoreError::Duplicate(message.unwrap_or_else(|| failure.to_string()))
        }
        other => StoreError::Database(other.to_string()),
    }
}
