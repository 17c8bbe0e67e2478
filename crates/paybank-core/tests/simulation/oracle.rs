//! The simulation's helpers: its random source, and oracles that work out what contract §6
//! expects of a capture or a refund without asking the rules.

use paybank_core::codes::{PaymentType, TransactionStatus as S, TransactionType as T};
use paybank_core::ids::TransactionId;
use paybank_core::model::{PaymentChain, TimestampMs, Transaction};
use paybank_core::money::Amount;
use paybank_core::rules::RuleError;

use crate::support::cents;

/// SplitMix64: tiny, fast, and good enough to pick commands; the seed alone replays a run.
pub struct Rng(pub u64);

impl Rng {
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    pub fn below(&mut self, bound: u64) -> u64 {
        self.next_u64() % bound
    }

    pub fn range(&mut self, low: i64, high: i64) -> i64 {
        low + (self.next_u64() % (high - low) as u64) as i64
    }

    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    pub fn pick<'a, X>(&mut self, items: &'a [X]) -> Option<&'a X> {
        match items.len() {
            0 => None,
            len => items.get(self.below(len as u64) as usize),
        }
    }
}

/// A split token as the merchant holds it, and what the simulation expects of it.
pub struct Token {
    pub raw: String,
    pub expires_at: TimestampMs,
    pub refreshable: bool,
}

/// What captures hold against the cap, summed independently of the rules.
pub fn held_captures(chain: &PaymentChain) -> i64 {
    let holding =
        |txn: &&Transaction| !matches!(txn.status, S::Failed | S::Denied | S::Voided | S::Canceled);
    let captures = chain
        .transactions
        .iter()
        .filter(|txn| txn.transaction_type == T::Capture);
    captures.filter(holding).map(|txn| txn.amount.minor()).sum()
}

/// The capture outcome contract §6 asks for, worked out without the rules.
pub fn expected_capture(
    chain: &PaymentChain,
    requested: Option<Amount>,
) -> Result<Amount, RuleError> {
    let status = chain.authorization().status;
    if status != S::Authorized {
        return Err(RuleError::WrongStatus(status.name()));
    }
    let payment_type = chain.payment.payment_type;
    if !matches!(payment_type, PaymentType::Deferred | PaymentType::Recurring) {
        return Err(RuleError::WrongPaymentType(payment_type.name()));
    }
    let cap = chain.payment.amount.minor();
    let room = (cap > 0).then(|| cap - held_captures(chain));
    let amount = match (requested, room) {
        (Some(amount), _) => amount.minor(),
        (None, Some(room)) => room,
        (None, None) => return Err(RuleError::AmountRequired),
    };
    match room {
        _ if amount < 99 => Err(RuleError::AmountTooSmall),
        Some(room) if amount > room => Err(RuleError::AmountTooLarge(cents(room))),
        _ => Ok(cents(amount)),
    }
}

/// The refund outcome contract §6 asks for, worked out without the rules.
pub fn expected_refund(
    target: Option<&Transaction>,
    id: TransactionId,
    requested: Option<Amount>,
) -> Result<Amount, RuleError> {
    let target = target.ok_or_else(|| RuleError::UnknownTransaction(id.to_string()))?;
    if !matches!(target.transaction_type, T::Capture | T::Pay) {
        return Err(RuleError::WrongTransactionType(
            target.transaction_type.name(),
        ));
    }
    if !matches!(
        target.status,
        S::Completed | S::PartiallyRefunded | S::Refunded
    ) {
        return Err(RuleError::WrongStatus(target.status.name()));
    }
    let balance = target.paid.minor() - target.refunded.minor() - target.reversed.minor();
    let amount = requested.map_or(balance, Amount::minor);
    match amount {
        0 => Err(RuleError::AmountTooSmall),
        _ if amount < 99 && amount != balance => Err(RuleError::AmountTooSmall),
        _ if amount > balance => Err(RuleError::AmountTooLarge(cents(balance))),
        _ => Ok(cents(amount)),
    }
}
