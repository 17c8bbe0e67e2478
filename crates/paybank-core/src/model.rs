//! The domain records: merchants, payments and their transactions, and a payment chain.
//!
//! A payment chain (one payment plus every transaction under it) is the unit of consistency:
//! every rule is a pure function from a chain to a [`crate::change::Change`], and the store
//! commits a change only if the chain did not move underneath (the payment's record version).

use std::sync::Arc;

use crate::codes::{PaymentType, TransactionStatus, TransactionType};
use crate::ids::{MerchantId, PaymentId, TransactionId};
use crate::money::Amount;
use crate::rails::Rail;

/// Milliseconds since the Unix epoch, the unit of every timestamp on the wire.
pub type TimestampMs = i64;

/// A merchant application: credentials, where events go, and which origins it may redirect to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Merchant {
    pub merchant_id: MerchantId,
    pub name: String,
    pub access_id: String,
    pub access_key: String,
    pub notification_url: Option<String>,
    /// Origins (`scheme://host[:port]`) that return, cancel and notification URLs must use.
    pub allowed_origins: Vec<String>,
    /// Guaranteed payments: a split token is issued at authorization and required afterwards.
    pub split_token_enabled: bool,
    /// Deposits and refunds may draw only on settled funds; otherwise they are refused.
    pub payouts_from_settled_only: bool,
    pub created_at: TimestampMs,
}

/// The bank account a consumer chose in the Lightbox.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BankAccount {
    pub bank_id: String,
    pub bank_name: String,
    pub account_name: String,
    /// 1 Checking, 2 Savings (contract §3 account `type`).
    pub account_type: u8,
    pub account_number: String,
    pub routing_number: String,
    pub name_on_account: String,
    /// Stable per bank account, so merchants can spot the same account across payments.
    pub token: String,
    /// Funds the simulated bank will let this payment's captures draw on.
    pub available: Amount,
    /// Entered by hand (the merchant sent routing and account number), not chosen at an
    /// online-banking login: payment provider type 2 (Manual Entry) on the wire.
    pub manual_entry: bool,
}

/// What paybank keeps of a split token: only a hash, never the token itself.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SplitToken {
    pub hash_hex: String,
    pub expires_at: TimestampMs,
    /// False for the sandbox's `ExpiredSplitToken` behaviour, where refresh must fail too.
    pub refreshable: bool,
}

/// A payment: the establish data of one authorization, shared by it and all its children.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Payment {
    pub payment_id: PaymentId,
    pub merchant_id: MerchantId,
    pub payment_type: PaymentType,
    pub merchant_reference: String,
    pub currency: String,
    /// The most that captures may add up to; zero means no upper bound.
    pub amount: Amount,
    pub description: Option<String>,
    pub return_url: String,
    pub cancel_url: String,
    pub notification_url: Option<String>,
    /// The establish data as the merchant sent it (JSON), echoed back on reads.
    pub establish_json: String,
    pub authorization_id: TransactionId,
    /// Shared: it is set once at authorization (and corrected by a rare notification of
    /// change), and a payment is copied into every change made to it.
    pub account: Option<Arc<BankAccount>>,
    pub split_token: Option<SplitToken>,
    /// Sandbox `extendedreasoncode_<code>`: the next capture is declined with this code.
    pub decline_next_capture: Option<String>,
    pub created_at: TimestampMs,
    pub updated_at: TimestampMs,
    /// Bumped on every change to the chain; the store's optimistic check.
    pub record_version: i64,
    /// What the payment's transactions add up to, moved by every change.
    pub totals: ChainTotals,
}

/// The payment provider's view of a transaction (`paymentProviderTransaction`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ProviderStatus {
    pub status: String,
    pub status_message: String,
    pub reason_code: Option<String>,
    pub extended_reason_code: Option<String>,
}

impl ProviderStatus {
    pub fn new(status: &str, status_message: &str) -> ProviderStatus {
        ProviderStatus {
            status: status.to_owned(),
            status_message: status_message.to_owned(),
            reason_code: None,
            extended_reason_code: None,
        }
    }
}

/// One transaction: the authorization itself, or a capture, refund, … under it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Transaction {
    pub transaction_id: TransactionId,
    pub payment_id: PaymentId,
    pub merchant_id: MerchantId,
    pub transaction_type: TransactionType,
    pub original_transaction_id: Option<TransactionId>,
    pub status: TransactionStatus,
    pub merchant_reference: String,
    pub currency: String,
    pub amount: Amount,
    /// Submitted or about to be, not yet settled.
    pub pending: Amount,
    pub paid: Amount,
    pub refunded: Amount,
    pub reversed: Amount,
    pub provider: ProviderStatus,
    /// Internal error code on Failed and Denied transactions (326, 331, 380, 390, 397, …).
    pub error_code: Option<u16>,
    pub ip: String,
    pub created_at: TimestampMs,
    pub updated_at: TimestampMs,
    pub processed_at: Option<TimestampMs>,
    pub completed_at: Option<TimestampMs>,
    /// End of a preauthorization's period.
    pub expired_at: Option<TimestampMs>,
    pub pre_authorized: bool,
    /// The network a money-moving child settles over, chosen when it is accepted; `None` for
    /// payments, reverses, and rows written before paybank recorded it.
    pub rail: Option<Rail>,
    pub record_version: i64,
}

impl Transaction {
    /// `balance` on the wire: what the merchant keeps of this transaction.
    pub fn balance(&self) -> Amount {
        Amount::from_minor(self.paid.minor() - self.reversed.minor() - self.refunded.minor())
    }

    /// Moves to a new status, stamping the change; rules call this, never assign directly.
    pub fn set_status(&mut self, status: TransactionStatus, now: TimestampMs) {
        self.status = status;
        self.updated_at = now;
        self.record_version += 1;
    }
}

/// A payment and every transaction under it, oldest first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PaymentChain {
    pub payment: Payment,
    pub transactions: Vec<Transaction>,
}

impl PaymentChain {
    pub fn transaction(&self, transaction_id: TransactionId) -> Option<&Transaction> {
        self.transactions
            .iter()
            .find(|txn| txn.transaction_id == transaction_id)
    }

    pub fn authorization(&self) -> &Transaction {
        self.transaction(self.payment.authorization_id)
            .expect("a chain always holds its authorization")
    }

    /// Sum of the amounts captures hold against the authorization.
    pub fn captured_total(&self) -> Amount {
        self.payment.totals.captures_held
    }

    /// What children of `transaction_type` hold against the authorization. Captures' and
    /// deposits' come from the totals kept on the payment, so they hold for a chain read in part
    /// (see [`ChainTotals`]); other types' are summed from the transactions read.
    pub fn held_total(&self, transaction_type: TransactionType) -> Amount {
        match transaction_type {
            TransactionType::Capture => self.payment.totals.captures_held,
            TransactionType::Deposit => self.payment.totals.deposits_held,
            _ => held_by(transaction_type, &self.transactions),
        }
    }

    /// Totals over the captures and pays, for the payment object on the wire.
    pub fn totals(&self) -> PaymentTotals {
        self.payment.totals.money_in
    }
}

/// Whether a transaction's amount still counts against its authorization.
fn holds(txn: &Transaction) -> bool {
    !matches!(
        txn.status,
        TransactionStatus::Failed
            | TransactionStatus::Denied
            | TransactionStatus::Voided
            | TransactionStatus::Canceled
    )
}

fn held_by(transaction_type: TransactionType, transactions: &[Transaction]) -> Amount {
    (transactions.iter())
        .filter(|txn| txn.transaction_type == transaction_type && holds(txn))
        .map(|txn| txn.amount)
        .sum()
}

/// What a payment's transactions add up to, kept on the payment row and moved by every
/// change ([`crate::change::Change::put`] takes out a transaction's earlier copy and adds the
/// new one). A rule that only adds a transaction to a chain (a capture, a deposit) then needs
/// neither the whole chain read nor summed: capturing against a recurring payment with years
/// of captures costs what capturing against a new one does.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ChainTotals {
    /// What captures hold against the authorization: every one not Failed, Denied, Voided or
    /// Canceled.
    pub captures_held: Amount,
    /// The same for deposits.
    pub deposits_held: Amount,
    /// Over the captures and pays, for the payment object on the wire.
    pub money_in: PaymentTotals,
    /// How many preauthorizations the chain holds: a capture must see them all, so a chain
    /// with any is read whole.
    pub preauthorizations: i64,
}

impl ChainTotals {
    /// The totals of these transactions, summed afresh.
    pub fn of(transactions: &[Transaction]) -> ChainTotals {
        let mut totals = ChainTotals::default();
        for txn in transactions {
            totals.add(txn);
        }
        totals
    }

    /// What one transaction adds to its payment's totals.
    pub fn added_by(txn: &Transaction) -> ChainTotals {
        let mut added = ChainTotals::default();
        match txn.transaction_type {
            TransactionType::Capture | TransactionType::Pay => {
                added.money_in = PaymentTotals {
                    pending: txn.pending,
                    paid: txn.paid,
                    refunded: txn.refunded,
                    reversed: txn.reversed,
                };
            }
            TransactionType::Preauthorization => added.preauthorizations = 1,
            _ => {}
        }
        if holds(txn) {
            match txn.transaction_type {
                TransactionType::Capture => added.captures_held = txn.amount,
                TransactionType::Deposit => added.deposits_held = txn.amount,
                _ => {}
            }
        }
        added
    }

    pub fn add(&mut self, txn: &Transaction) {
        self.combine(&ChainTotals::added_by(txn), 1);
    }

    /// Takes out what [`ChainTotals::added_by`] gave for a transaction.
    pub fn take_out(&mut self, added: &ChainTotals) {
        self.combine(added, -1);
    }

    /// Adds `other` once for each unit of `sign` (1 or -1).
    fn combine(&mut self, other: &ChainTotals, sign: i64) {
        let moved = |total: &mut Amount, amount: Amount| {
            *total = Amount::from_minor(total.minor() + sign * amount.minor());
        };
        moved(&mut self.captures_held, other.captures_held);
        moved(&mut self.deposits_held, other.deposits_held);
        moved(&mut self.money_in.pending, other.money_in.pending);
        moved(&mut self.money_in.paid, other.money_in.paid);
        moved(&mut self.money_in.refunded, other.money_in.refunded);
        moved(&mut self.money_in.reversed, other.money_in.reversed);
        self.preauthorizations += sign * other.preauthorizations;
    }
}

/// The payment-level money fields.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PaymentTotals {
    pub pending: Amount,
    pub paid: Amount,
    pub refunded: Amount,
    pub reversed: Amount,
}

impl PaymentTotals {
    pub fn balance(&self) -> Amount {
        Amount::from_minor(self.paid.minor() - self.reversed.minor() - self.refunded.minor())
    }
}
