//! Reading a column by name from either driver's row: sqlx's `AnyRow` (PostgreSQL, and SQLite
//! off the hot paths) and rusqlite's `Row` (SQLite's inline reads), so that one codec turns
//! both into domain records.

use std::cell::Cell;
use std::collections::HashMap;
use std::sync::atomic::{AtomicPtr, Ordering};
use std::sync::{Arc, LazyLock, RwLock};

use rusqlite::types::ValueRef;
use sqlx::any::AnyRow;

use crate::{StoreError, StoreResult};

/// A row whose columns can be read by name. The names are the codec's own constants, which
/// lets [`ColumnIndex::position`] know a name again by where it lives.
pub(crate) trait Columns {
    fn get<T: Value>(&self, column: &'static str) -> StoreResult<T>;
}

/// The column types the schema uses: integers and text, each maybe NULL.
pub(crate) trait Value: Sized {
    fn from_any(row: &AnyRow, column: &str) -> StoreResult<Self>;
    fn from_sqlite(row: &rusqlite::Row<'_>, index: usize) -> StoreResult<Self>;
}

impl Columns for AnyRow {
    fn get<T: Value>(&self, column: &'static str) -> StoreResult<T> {
        T::from_any(self, column)
    }
}

/// A statement's column positions by name, found once per statement: rusqlite's own lookup by
/// name walks every column name for every value read, which for a 27-column row cost more
/// than the read itself.
pub(crate) struct ColumnIndex {
    by_name: HashMap<String, usize, BuildNameHasher>,
    /// The names in column order when no two are alike, for [`SqliteRow`]'s guesses; empty
    /// otherwise, so a guess can never pick a different column than the map would.
    in_order: Vec<String>,
    /// For each column in order, where the last name found equal to it lives (null before
    /// any). The names asked for are constants, so the same place and length is the same name:
    /// a guess is confirmed by comparing two addresses instead of two names, which was a call
    /// to `memcmp` for every column of every row read.
    known_at: Vec<AtomicPtr<u8>>,
}

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
        ColumnIndex::of_names(names.collect())
    }

    /// Positions of `names`, in their order.
    pub(crate) fn of_names(names: Vec<String>) -> ColumnIndex {
        let by_name: HashMap<_, _, _> = names
            .iter()
            .enumerate()
            .map(|(index, name)| (name.clone(), index))
            .collect();
        let in_order = match by_name.len() == names.len() {
            true => names,
            false => Vec::new(),
        };
        let known_at = in_order.iter().map(|_| AtomicPtr::default()).collect();
        ColumnIndex {
            by_name,
            in_order,
            known_at,
        }
    }

    /// The position of `column`, trying `guess` first. Inlined, and the names compared
    /// elsewhere: the comparisons and the error made this a call that cost more to enter and
    /// leave than the check that nearly always answers.
    #[inline]
    pub(crate) fn position(&self, column: &'static str, guess: usize) -> StoreResult<usize> {
        let place = column.as_ptr().cast_mut();
        // Relaxed: a stale null or an older place only sends the check to the names.
        let known = (self.known_at.get(guess))
            .is_some_and(|known_at| known_at.load(Ordering::Relaxed) == place);
        if known && self.in_order[guess].len() == column.len() {
            return Ok(guess);
        }
        self.position_by_name(column, guess)
    }

    #[inline(never)]
    fn position_by_name(&self, column: &'static str, guess: usize) -> StoreResult<usize> {
        if let Some(name) = self.in_order.get(guess) {
            if name == column {
                self.known_at[guess].store(column.as_ptr().cast_mut(), Ordering::Relaxed);
                return Ok(guess);
            }
        }
        self.by_name
            .get(column)
            .copied()
            .ok_or_else(|| StoreError::Database(format!("no column {column} in the result")))
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

type BuildNameHasher = std::hash::BuildHasherDefault<NameHasher>;

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

/// A rusqlite row read through its statement's [`ColumnIndex`]. The codec reads most columns
/// in the order the statement gives them, so each read first tries the column after the one
/// read last: a comparison of two short names instead of hashing one.
pub(crate) struct SqliteRow<'a> {
    pub(crate) row: &'a rusqlite::Row<'a>,
    columns: &'a ColumnIndex,
    next: Cell<usize>,
}

impl<'a> SqliteRow<'a> {
    pub(crate) fn new(row: &'a rusqlite::Row<'a>, columns: &'a ColumnIndex) -> SqliteRow<'a> {
        SqliteRow {
            row,
            columns,
            next: Cell::new(0),
        }
    }
}

impl Columns for SqliteRow<'_> {
    fn get<T: Value>(&self, column: &'static str) -> StoreResult<T> {
        let index = self.columns.position(column, self.next.get())?;
        self.next.set(index + 1);
        T::from_sqlite(self.row, index)
    }
}

/// Implements [`Value`] for a type both drivers decode natively: sqlx by its own decoding,
/// rusqlite from the column's value as SQLite holds it, by `$decode`, a function of a
/// `ValueRef` that is `None` when the value is not of the type. rusqlite's own `Row::get` went
/// through `FromSql` and a mapping of its errors for every column read, several times the
/// cost of reading the value (an integer column of a chain read: 170 instructions).
macro_rules! native_value {
    ($($kind:ty => $decode:expr),* $(,)?) => {$(
        impl Value for $kind {
            fn from_any(row: &AnyRow, column: &str) -> StoreResult<Self> {
                Ok(sqlx::Row::try_get(row, column)?)
            }
            fn from_sqlite(row: &rusqlite::Row<'_>, index: usize) -> StoreResult<Self> {
                let value = row.get_ref(index).map_err(sqlite_error)?;
                let decode: fn(ValueRef<'_>) -> Option<$kind> = $decode;
                decode(value).ok_or_else(|| unexpected(index, stringify!($kind), value))
            }
        }
    )*};
}

native_value!(
    i64 => |value| match value {
        ValueRef::Integer(value) => Some(value),
        _ => None,
    },
    Option<i64> => |value| match value {
        ValueRef::Integer(value) => Some(Some(value)),
        ValueRef::Null => Some(None),
        _ => None,
    },
    String => |value| text(value).map(str::to_owned),
    Option<String> => |value| match value {
        ValueRef::Null => Some(None),
        value => text(value).map(|text| Some(text.to_owned())),
    },
);

/// The text of a text value that is valid UTF-8.
fn text(value: ValueRef<'_>) -> Option<&str> {
    match value {
        ValueRef::Text(bytes) => std::str::from_utf8(bytes).ok(),
        _ => None,
    }
}

/// A column holding what its type cannot: another type, or text that is not UTF-8.
#[cold]
fn unexpected(index: usize, wanted: &str, value: ValueRef<'_>) -> StoreError {
    let found = match value {
        ValueRef::Text(bytes) if std::str::from_utf8(bytes).is_err() => "text that is not UTF-8",
        ValueRef::Null => "NULL",
        ValueRef::Integer(_) => "an integer",
        ValueRef::Real(_) => "a real",
        ValueRef::Text(_) => "text",
        ValueRef::Blob(_) => "a blob",
    };
    StoreError::Database(format!(
        "column {index} holds {found} where {wanted} was read"
    ))
}

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

#[cfg(test)]
mod tests {
    use super::*;

    /// The values of `wanted`, read in that order from the one row `sql` gives.
    fn read(sql: &str, wanted: &[&'static str]) -> StoreResult<Vec<i64>> {
        let connection = rusqlite::Connection::open_in_memory().expect("open");
        let mut statement = connection.prepare(sql).expect("prepare");
        let columns = ColumnIndex::new(&statement);
        let mut rows = statement.query([]).expect("query");
        let row = rows.next().expect("step").expect("a row");
        let row = SqliteRow::new(row, &columns);
        wanted.iter().map(|name| row.get::<i64>(name)).collect()
    }

    #[test]
    fn columns_read_in_any_order_give_their_own_values() {
        let sql = "SELECT 1 AS a, 2 AS b, 3 AS c";
        assert_eq!(read(sql, &["a", "b", "c"]).unwrap(), [1, 2, 3]);
        assert_eq!(
            read(sql, &["c", "a", "a", "b", "c"]).unwrap(),
            [3, 1, 1, 2, 3]
        );
        assert!(matches!(
            read(sql, &["a", "d"]),
            Err(StoreError::Database(_))
        ));
    }

    /// A guess is confirmed by the name's place only for the very name found there before: a
    /// longer or shorter name at the same place, or the same text elsewhere, is compared.
    #[test]
    fn a_guess_is_known_by_place_only_for_the_same_name() {
        let columns = ColumnIndex::of_names(vec!["aa".to_owned(), "ab".to_owned()]);
        let text: &'static str = "aab";
        for _ in 0..2 {
            assert_eq!(columns.position(&text[..2], 0).unwrap(), 0);
            assert!(columns.position(text, 0).is_err());
            assert_eq!(columns.position(&text[1..], 0).unwrap(), 1);
            assert_eq!(columns.position("aa", 1).unwrap(), 0);
            assert_eq!(columns.position("ab", 0).unwrap(), 1);
        }
    }

    /// Each type reads what it holds, NULL as `None` where it may be absent, and refuses the
    /// rest with the column and what it held.
    #[test]
    fn values_are_read_as_their_type_and_the_wrong_ones_refused() {
        let connection = rusqlite::Connection::open_in_memory().expect("open");
        let sql = "SELECT 7, 'seven', NULL, 1.5, x'ff', CAST(x'ff' AS TEXT)";
        let mut statement = connection.prepare(sql).expect("prepare");
        let mut rows = statement.query([]).expect("query");
        let row = rows.next().expect("step").expect("a row");
        assert_eq!(i64::from_sqlite(row, 0).unwrap(), 7);
        assert_eq!(Option::<i64>::from_sqlite(row, 0).unwrap(), Some(7));
        assert_eq!(Option::<i64>::from_sqlite(row, 2).unwrap(), None);
        assert_eq!(String::from_sqlite(row, 1).unwrap(), "seven");
        assert_eq!(
            Option::<String>::from_sqlite(row, 1).unwrap().as_deref(),
            Some("seven")
        );
        assert_eq!(Option::<String>::from_sqlite(row, 2).unwrap(), None);
        fn refused<T: std::fmt::Debug>(result: StoreResult<T>) -> String {
            match result {
                Err(StoreError::Database(message)) => message,
                other => panic!("{other:?}"),
            }
        }
        assert_eq!(
            refused(String::from_sqlite(row, 0)),
            "column 0 holds an integer where String was read"
        );
        assert!(refused(Option::<String>::from_sqlite(row, 5)).contains("not UTF-8"));
        assert!(i64::from_sqlite(row, 1).is_err() && i64::from_sqlite(row, 2).is_err());
        assert!(Option::<i64>::from_sqlite(row, 3).is_err());
        assert!(String::from_sqlite(row, 4).is_err() && String::from_sqlite(row, 2).is_err());
        assert!(i64::from_sqlite(row, 6).is_err(), "past the last column");
    }

    #[test]
    fn a_name_given_twice_reads_as_the_map_reads_it() {
        // The last of two alike wins, as it did before guesses; a guess must not pick the first.
        let sql = "SELECT 1 AS a, 2 AS b, 3 AS a";
        assert_eq!(read(sql, &["a", "b", "a"]).unwrap(), [3, 2, 3]);
    }
}
