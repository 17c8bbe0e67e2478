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

/// A statement's column positions by name, found once per statement: rusqlite's own lookup by
/// name walks every column name for every value read, which for a 27-column row cost more
/// than the read itself.
pub(crate) struct ColumnIndex(HashMap<String, usize, BuildNameHasher>);

/// Column indexes by statement text, for statements that may be built at run time. The schema
/// is the same for every store in a process (each migrates to the latest on open), so a
/// statement's columns never change; the statements are the store's own, so the map stays small.
static BY_TEXT: Remembered<String> = LazyLock::new(Default::default);

/// Column indexes of the store's constant statements, by where their text lives: the hot reads
/// look theirs up without hashing the statement's text (hundreds of bytes for a chain read).
/// A `&'static str` is never freed, so its address names that one text for the process's life.
static BY_ADDRESS: Remembered<(usize, usize)> = LazyLock::new(Default::default);

/// Column indexes found so far, by what names their statement.
type Remembered<K> = LazyLock<RwLock<HashMap<K, Arc<ColumnIndex>>>>;

impl ColumnIndex {
    /// The columns of `statement`, prepared from `sql`, found once per statement text.
    pub(crate) fn of(sql: &str, statement: &rusqlite::Statement<'_>) -> Arc<ColumnIndex> {
        remembered(&BY_TEXT, sql, || sql.to_owned(), statement)
    }

    /// The columns of `statement`, prepared from the constant `sql`, found once per constant.
    pub(crate) fn of_constant(
        sql: &'static str,
        statement: &rusqlite::Statement<'_>,
    ) -> Arc<ColumnIndex> {
        let address = (sql.as_ptr() as usize, sql.len());
        remembered(&BY_ADDRESS, &address, || address, statement)
    }

    fn new(statement: &rusqlite::Statement<'_>) -> ColumnIndex {
        let names = statement.column_names().into_iter().map(str::to_owned);
        ColumnIndex(
            names
                .enumerate()
                .map(|(index, name)| (name, index))
                .collect(),
        )
    }
}

/// The index `known` holds under `key`, or a new one from `statement`, kept under `owned()`.
fn remembered<K, Q>(
    known: &Remembered<K>,
    key: &Q,
    owned: impl FnOnce() -> K,
    statement: &rusqlite::Statement<'_>,
) -> Arc<ColumnIndex>
where
    K: std::borrow::Borrow<Q> + std::hash::Hash + Eq,
    Q: std::hash::Hash + Eq + ?Sized,
{
    let found = known
        .read()
        .unwrap_or_else(|p| p.into_inner())
        .get(key)
        .cloned();
    found.unwrap_or_else(|| {
        let index = Arc::new(ColumnIndex::new(statement));
        let mut known = known.write().unwrap_or_else(|p| p.into_inner());
        known.insert(owned(), index.clone());
        index
    })
}

/// Hashes column names (FNV-1a). They are the schema's own short names, never input, so a
/// keyed hash buys nothing, and SipHash was the larger part of reading a row's columns by name.
pub(crate) struct NameHasher(u64);

pub(crate) type BuildNameHasher = std::hash::BuildHasherDefault<NameHasher>;

impl Default for NameHasher {
    fn default() -> NameHasher {
        NameHasher(0xcbf2_9ce4_8422_2325)
    }
}

impl std::hash::Hasher for NameHasher {
    fn write(&mut self, bytes: &[u8]) {
        const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;
        let mut hash = self.0;
        for byte in bytes {
            hash = (hash ^ u64::from(*byte)).wrapping_mul(FNV_PRIME);
        }
        self.0 = hash;
    }

    fn finish(&self) -> u64 {
        self.0
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
