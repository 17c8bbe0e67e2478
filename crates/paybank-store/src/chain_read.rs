//! The one statement that reads a payment chain, on both backends: each row holds one
//! transaction beside the payment's columns (renamed `p_…`), so a chain comes back in one round
//! trip and, being one statement, from one snapshot, with no transaction around it.
//!
//! On PostgreSQL this replaced six round trips (the payment id lookup, BEGIN, the isolation
//! level, two SELECTs, COMMIT); on SQLite five statements (the same, without the isolation level).
//! The price is the payment's columns repeated on every row: nothing for the usual chain of a
//! few transactions, a few hundred KB for one of hundreds (a long recurring payment).

use std::sync::LazyLock;

use paybank_core::model::{Payment, PaymentChain, Transaction};

use crate::codec;
use crate::columns::{Columns, Value};
use crate::StoreResult;

/// What the payment's columns are renamed to start with.
const PAYMENT_PREFIX: &str = "p_";

/// Every column of `payments` that [`codec::payment`] reads.
const PAYMENT_COLUMNS: [&str; 20] = [
    "payment_id",
    "merchant_id",
    "payment_type",
    "merchant_reference",
    "currency",
    "amount",
    "description",
    "return_url",
    "cancel_url",
    "notification_url",
    "establish_json",
    "authorization_id",
    "account_json",
    "split_token_hash",
    "split_token_expires_at",
    "split_token_refreshable",
    "decline_next_capture",
    "created_at",
    "updated_at",
    "record_version",
];

/// The chain of the payment whose id is `$1`.
pub(crate) static BY_PAYMENT: LazyLock<String> = LazyLock::new(|| select("$1"));

/// The chain holding the transaction whose id is `$1`.
pub(crate) static BY_TRANSACTION: LazyLock<String> =
    LazyLock::new(|| select("(SELECT payment_id FROM transactions WHERE transaction_id = $1)"));

/// The payment's columns on every row, then its transactions' in creation order. A LEFT JOIN,
/// so a payment is found even if it had no transaction.
fn select(payment_id: &str) -> String {
    let payment_columns: Vec<String> = PAYMENT_COLUMNS
        .iter()
        .map(|column| format!("p.{column} AS {PAYMENT_PREFIX}{column}"))
        .collect();
    format!(
        "SELECT {}, t.* FROM payments p LEFT JOIN transactions t ON t.payment_id = p.payment_id \
         WHERE p.payment_id = {payment_id} ORDER BY t.created_at, t.transaction_id",
        payment_columns.join(", ")
    )
}

/// A chain built from the chain statement's rows, in their order.
#[derive(Default)]
pub(crate) struct ChainRows {
    payment: Option<Payment>,
    transactions: Vec<Transaction>,
}

impl ChainRows {
    pub(crate) fn push(&mut self, row: &impl Columns) -> StoreResult<()> {
        if self.payment.is_none() {
            self.payment = Some(codec::payment(&PaymentColumns(row))?);
        }
        if row.get::<Option<i64>>("transaction_id")?.is_some() {
            self.transactions.push(codec::transaction(row)?);
        }
        Ok(())
    }

    /// The chain, or `None` when no row came back (no such payment or transaction).
    pub(crate) fn finish(self) -> Option<PaymentChain> {
        let transactions = self.transactions;
        self.payment.map(|payment| PaymentChain {
            payment,
            transactions,
        })
    }
}

/// A chain row read as a payment row: each column under its `p_` name.
struct PaymentColumns<'a, R>(&'a R);

impl<R: Columns> Columns for PaymentColumns<'_, R> {
    fn get<T: Value>(&self, column: &str) -> StoreResult<T> {
        self.0.get(&format!("{PAYMENT_PREFIX}{column}"))
    }
}
