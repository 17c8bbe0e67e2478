//! The one statement that reads payment chains, on both backends: each row holds one
//! transaction beside the payment's columns (renamed `p_…`), so a chain comes back in one round
//! trip and, being one statement, from one snapshot, with no transaction around it.
//!
//! On PostgreSQL this replaced six round trips (the payment id lookup, BEGIN, the isolation
//! level, two SELECTs, COMMIT); on SQLite five statements (the same, without the isolation level).
//! The price is the payment's columns repeated on every row: nothing for the usual chain of a
//! few transactions, a few hundred KB for one of hundreds (a long recurring payment).
//!
//! SQLite reads a chain at a time ([`BY_PAYMENT`], [`BY_TRANSACTION`]); PostgreSQL reads the
//! chains of reads that arrive together in one statement ([`BY_PAYMENTS`], [`BY_TRANSACTIONS`],
//! see `chain_batch`), its rows led by the id each answers.

use std::cell::Cell;
use std::sync::LazyLock;

use paybank_core::ids::StoredIds;
use paybank_core::model::{Payment, PaymentChain, Transaction};

use crate::codec;
use crate::columns::{ColumnIndex, Columns, Value};
use crate::{StoreError, StoreResult};

/// What the payment's columns are renamed to start with.
const PAYMENT_PREFIX: &str = "p_";

/// Every column of `payments` that [`codec::payment`] reads, under its `p_` name, spelled out
/// so that reading a payment from a chain row allocates no names.
const PAYMENT_COLUMNS: [&str; 27] = [
    "p_payment_id",
    "p_merchant_id",
    "p_payment_type",
    "p_merchant_reference",
    "p_currency",
    "p_amount",
    "p_description",
    "p_return_url",
    "p_cancel_url",
    "p_notification_url",
    "p_establish_json",
    "p_authorization_id",
    "p_account_json",
    "p_split_token_hash",
    "p_split_token_expires_at",
    "p_split_token_refreshable",
    "p_decline_next_capture",
    "p_created_at",
    "p_updated_at",
    "p_record_version",
    "p_captures_held",
    "p_deposits_held",
    "p_total_pending",
    "p_total_paid",
    "p_total_refunded",
    "p_total_reversed",
    "p_preauthorizations",
];

/// Each payment column's position in [`PAYMENT_COLUMNS`] by its own name.
static PAYMENT_INDEX: LazyLock<ColumnIndex> = LazyLock::new(|| {
    let names = PAYMENT_COLUMNS
        .iter()
        .map(|renamed| unprefixed(renamed).to_owned());
    ColumnIndex::of_names(names.collect())
});

/// SQLite: the views its chain statements read, made on every connection as it opens. Each
/// row of `chain_rows` is a payment's columns beside one of its transactions'; `chain_heads`
/// holds only its authorization. They are `TEMP`, so they belong to the connection and always
/// list the columns this build reads, with no migration.
///
/// Through them the statements are a line each: rusqlite's statement cache hashes and copies
/// a statement's whole text at every use, and spelled out, with every payment column renamed,
/// a chain statement was 1.3 KB. SQLite flattens a view into the statement that reads it, so
/// the plan is the same (a test below compares them).
pub(crate) static SQLITE_VIEWS: LazyLock<String> = LazyLock::new(|| {
    let view = |name: &str, join: &str| {
        format!(
            "CREATE TEMP VIEW IF NOT EXISTS {name} AS SELECT {}, t.* FROM payments p \
             LEFT JOIN transactions t ON {join};",
            payment_columns()
        )
    };
    [
        view("chain_rows", WHOLE_CHAIN),
        view("chain_heads", "t.transaction_id = p.authorization_id"),
    ]
    .concat()
});

/// The chain of the payment whose id is `$1`. In no order: [`ChainRows::finish`] puts the
/// transactions in creation order, cheaper than SQLite sorting whole rows, every payment
/// column repeated on each.
pub(crate) const BY_PAYMENT: &str = "SELECT * FROM chain_rows WHERE p_payment_id = $1";

/// The chain holding the transaction whose id is `$1`.
pub(crate) const BY_TRANSACTION: &str = "SELECT * FROM chain_rows WHERE p_payment_id = \
    (SELECT payment_id FROM transactions WHERE transaction_id = $1)";

/// Part of the chain holding the transaction whose id is `$1`, for a rule that only adds a
/// child to it: the payment (with its totals) and its authorization. Two rows found by their
/// keys, where the whole chain is every transaction the payment ever had; a chain holding
/// preauthorizations is read whole instead (`ChainTotals::preauthorizations`).
pub(crate) const FOR_NEW_CHILD: &str = "SELECT * FROM chain_heads WHERE p_payment_id = \
    (SELECT payment_id FROM transactions WHERE transaction_id = $1)";

/// PostgreSQL only: the chains of the payments whose ids `$1` lists (decimal, comma-separated),
/// each row led by the id it answers (`asked`), a chain's rows together.
pub(crate) static BY_PAYMENTS: LazyLock<String> = LazyLock::new(|| {
    select_many(
        "p.payment_id AS asked",
        "",
        WHOLE_CHAIN,
        "p.payment_id = ANY(string_to_array($1, ',')::BIGINT[])",
    )
});

/// PostgreSQL only: the chains holding the transactions whose ids `$1` lists, as [`BY_PAYMENTS`].
pub(crate) static BY_TRANSACTIONS: LazyLock<String> = LazyLock::new(|| {
    select_many(
        "x.transaction_id AS asked",
        "JOIN transactions x ON x.payment_id = p.payment_id",
        WHOLE_CHAIN,
        "x.transaction_id = ANY(string_to_array($1, ',')::BIGINT[])",
    )
});

/// PostgreSQL only: for each transaction whose id `$1` lists, the part of its chain
/// [`FOR_NEW_CHILD`] reads, as [`BY_PAYMENTS`].
pub(crate) static FOR_NEW_CHILDREN: LazyLock<String> = LazyLock::new(|| {
    select_many(
        "x.transaction_id AS asked",
        "JOIN transactions x ON x.payment_id = p.payment_id",
        "t.transaction_id = p.authorization_id",
        "x.transaction_id = ANY(string_to_array($1, ',')::BIGINT[])",
    )
});

/// Whether a chain read in part ([`FOR_NEW_CHILD`]) must be read whole after all.
pub(crate) fn needs_whole(part: &PaymentChain) -> bool {
    part.payment.totals.preauthorizations > 0
}

/// How a payment is joined to its transactions when whole chains are read. A LEFT JOIN, so a
/// payment is found even if it had no transaction.
const WHOLE_CHAIN: &str = "t.payment_id = p.payment_id";

/// Several chains in one statement: `asked` names the id each row answers, `join` finds the
/// payments from the ids `filter` picks out, and `transactions` which of their transactions
/// come with them.
fn select_many(asked: &str, join: &str, transactions: &str, filter: &str) -> String {
    format!(
        "SELECT {asked}, {}, t.* FROM payments p {join} \
         LEFT JOIN transactions t ON {transactions} \
         WHERE {filter} ORDER BY asked, t.created_at, t.transaction_id",
        payment_columns()
    )
}

fn payment_columns() -> String {
    let columns: Vec<String> = PAYMENT_COLUMNS
        .iter()
        .map(|renamed| format!("p.{} AS {renamed}", unprefixed(renamed)))
        .collect();
    columns.join(", ")
}

/// A payment column's own name, from its `p_` name.
fn unprefixed(renamed: &str) -> &str {
    &renamed[PAYMENT_PREFIX.len()..]
}

/// A chain built from the chain statement's rows, in their order.
pub(crate) struct ChainRows {
    recent: RecentIds,
    payment: Option<Payment>,
    transactions: Vec<Transaction>,
}

impl ChainRows {
    pub(crate) fn new(ids: StoredIds) -> ChainRows {
        ChainRows {
            recent: RecentIds::new(ids),
            payment: None,
            transactions: Vec::new(),
        }
    }

    pub(crate) fn push(&mut self, row: &impl Columns) -> StoreResult<()> {
        if self.payment.is_none() {
            let columns = PaymentColumns {
                row,
                next: Cell::new(0),
            };
            self.payment = Some(codec::payment(&columns, &self.recent)?);
        }
        if let Some(transaction) = codec::optional_transaction(row, &self.recent)? {
            self.transactions.push(transaction);
        }
        Ok(())
    }

    /// The chain, its transactions in creation order (by time, then by id as stored, as the
    /// statements for several chains order them), or `None` when no row came back (no such
    /// payment or transaction).
    pub(crate) fn finish(self) -> Option<PaymentChain> {
        let ids = self.recent.ids;
        let mut transactions = self.transactions;
        // The stored id (a permutation away) only breaks ties.
        let creation = |a: &Transaction, b: &Transaction| {
            (a.created_at.cmp(&b.created_at)).then_with(|| {
                ids.stored(a.transaction_id.0)
                    .cmp(&ids.stored(b.transaction_id.0))
            })
        };
        // Rows come back in the order of an index on the payment, usually this one already.
        if !transactions.is_sorted_by(|a, b| creation(a, b).is_le()) {
            transactions.sort_by(creation);
        }
        self.payment.map(|payment| PaymentChain {
            payment,
            transactions,
        })
    }
}

/// The ids a chain's rows repeat worked out once each: undoing the permutation (see
/// [`StoredIds`]) for every id of every row was a twentieth of a chain read. The payment's
/// row comes first, so the first ids kept are the payment's, its merchant's and its
/// authorization's, which every transaction row repeats; a kept id is never pushed out.
pub(crate) struct RecentIds {
    ids: StoredIds,
    kept: [Cell<Option<(i64, u64)>>; KEPT_MAX],
}

const KEPT_MAX: usize = 4;

impl RecentIds {
    fn new(ids: StoredIds) -> RecentIds {
        RecentIds {
            ids,
            kept: Default::default(),
        }
    }
}

impl codec::IdDecoder for &RecentIds {
    fn decode(self, stored: i64) -> Option<u64> {
        for slot in &self.kept {
            match slot.get() {
                Some((kept, id)) if kept == stored => return Some(id),
                Some(_) => continue,
                None => {
                    let id = self.ids.id(stored)?;
                    slot.set(Some((stored, id)));
                    return Some(id);
                }
            }
        }
        self.ids.id(stored)
    }
}

/// A chain row read as a payment row: each column under its `p_` name. As in `SqliteRow`, the
/// name after the one read last is tried before the map.
struct PaymentColumns<'a, R> {
    row: &'a R,
    next: Cell<usize>,
}

impl<R: Columns> Columns for PaymentColumns<'_, R> {
    fn get<T: Value>(&self, column: &'static str) -> StoreResult<T> {
        let position = PAYMENT_INDEX
            .position(column, self.next.get())
            .map_err(|_| StoreError::Database(format!("no payment column {column} in a chain")))?;
        self.next.set(position + 1);
        self.row.get(PAYMENT_COLUMNS[position])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::columns::SqliteRow;

    #[test]
    fn recent_ids_decode_as_the_stored_ids_do() {
        use crate::codec::IdDecoder;
        let ids = crate::test_support::test_ids();
        let recent = RecentIds::new(ids);
        // Repeats before and after every slot is taken, the forms other than counters, bad ones.
        let counters = (0..40).chain([3, 11, 3, 19, 0, 8, 16, 8]);
        let others = [
            -5,
            -1,
            i64::MAX,
            20_000_000_000_000,
            1_500_000_000_000,
            i64::MIN,
        ];
        for stored in counters.chain(others).chain(others) {
            assert_eq!((&recent).decode(stored), ids.id(stored), "{stored}");
        }
    }

    /// The plan of each chain statement, through the views, is the plan of the statement
    /// spelled out: SQLite flattens the view, then finds the payment by its key and its
    /// transactions through their index on the payment (or the authorization by its key).
    #[tokio::test]
    async fn chain_statements_through_the_views_plan_as_spelled_out() {
        use crate::test_support::{SqliteFile, TEST_ID_SEED};
        let file = SqliteFile::create("chain-view-plans");
        let store = crate::open(&file.url, TEST_ID_SEED).await.expect("open");
        let path = file
            .url
            .trim_start_matches("sqlite://")
            .trim_end_matches("?mode=rwc");
        let connection = rusqlite::Connection::open(path).expect("connect");
        connection.execute_batch(&SQLITE_VIEWS).expect("views");
        let of_transaction = "(SELECT payment_id FROM transactions WHERE transaction_id = $1)";
        let spelled = |join: &str, payment_id: &str| {
            format!(
                "SELECT {}, t.* FROM payments p LEFT JOIN transactions t ON {join} \
                 WHERE p.payment_id = {payment_id}",
                payment_columns()
            )
        };
        let heads = "t.transaction_id = p.authorization_id";
        let pairs = [
            (BY_PAYMENT, spelled(WHOLE_CHAIN, "$1")),
            (BY_TRANSACTION, spelled(WHOLE_CHAIN, of_transaction)),
            (FOR_NEW_CHILD, spelled(heads, of_transaction)),
        ];
        for (through_view, spelled_out) in pairs {
            let plan = plan(&connection, through_view);
            assert_eq!(
                plan,
                self::plan(&connection, &spelled_out),
                "{through_view}"
            );
            assert!(plan
                .iter()
                .any(|step| step.contains("SEARCH p USING INTEGER PRIMARY KEY")));
        }
        let whole = plan(&connection, BY_PAYMENT);
        assert!(
            whole
                .iter()
                .any(|step| step.contains("transactions_by_payment")),
            "{whole:?}"
        );
        drop(store);
    }

    fn plan(connection: &rusqlite::Connection, sql: &str) -> Vec<String> {
        let mut statement = connection
            .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
            .expect("explain");
        let steps = statement.query_map([1_i64], |row| row.get::<_, String>(3));
        steps
            .expect("plan")
            .map(|step| step.expect("a step"))
            .collect()
    }

    #[test]
    fn payment_columns_have_distinct_names() {
        // `ColumnIndex` guesses only while no two names are alike; each name is its position.
        for (position, renamed) in PAYMENT_COLUMNS.iter().enumerate() {
            let other = (position + 1) % PAYMENT_COLUMNS.len();
            let name = unprefixed(renamed);
            assert_eq!(PAYMENT_INDEX.position(name, other).unwrap(), position);
            assert_eq!(PAYMENT_INDEX.position(name, position).unwrap(), position);
        }
    }

    #[test]
    fn payment_columns_read_in_any_order_give_their_own_values() {
        let select: Vec<String> = (0..PAYMENT_COLUMNS.len())
            .map(|position| format!("{position} AS {}", PAYMENT_COLUMNS[position]))
            .collect();
        let sql = format!("SELECT 99 AS transaction_id, {}", select.join(", "));
        let connection = rusqlite::Connection::open_in_memory().expect("open");
        let mut statement = connection.prepare(&sql).expect("prepare");
        let columns = ColumnIndex::of(&sql, &statement);
        let mut rows = statement.query([]).expect("query");
        let row = SqliteRow::new(rows.next().expect("step").expect("a row"), &columns);
        let payment = PaymentColumns {
            row: &row,
            next: Cell::new(0),
        };
        let in_order = (0..PAYMENT_COLUMNS.len()).chain([3, 2, 19, 0, 0]);
        for position in in_order.chain((0..PAYMENT_COLUMNS.len()).rev()) {
            let name = unprefixed(PAYMENT_COLUMNS[position]);
            assert_eq!(payment.get::<i64>(name).unwrap(), position as i64, "{name}");
        }
        assert!(payment.get::<i64>("transaction_id").is_err());
    }
}
