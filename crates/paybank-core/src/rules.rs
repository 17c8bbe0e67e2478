//! Shared pieces of the payment rules: the context every rule gets, the policy, and the errors.

use crate::ach_schedule::AchSchedule;
use crate::change::Change;
use crate::events::{build_event, EventExtras, EventType};
use crate::ids::IdSource;
use crate::model::{Merchant, TimestampMs, Transaction};
use crate::money::Amount;

/// Smallest capture, deposit, refund or reclaim the provider accepts.
pub const AMOUNT_MIN: Amount = Amount::from_minor(99);

/// The settings the rules depend on; the server fills it from configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Policy {
    /// paybank's ACH file windows (cut-offs) and when their entries settle.
    pub ach: AchSchedule,
    /// Banking days from submission to Completed.
    pub settlement_banking_days: u32,
    /// RTP's per-payment network limit.
    pub rtp_limit: Amount,
    /// FedNow's per-payment network limit.
    pub fednow_limit: Amount,
    pub split_token_ttl_ms: i64,
    pub lightbox_session_ttl_ms: i64,
}

impl Default for Policy {
    fn default() -> Policy {
        Policy {
            ach: AchSchedule::default(),
            settlement_banking_days: 3,
            rtp_limit: Amount::from_minor(1_000_000_000),
            fednow_limit: Amount::from_minor(1_000_000_000),
            split_token_ttl_ms: 90 * 24 * 3600 * 1000,
            lightbox_session_ttl_ms: 30 * 60 * 1000,
        }
    }
}

/// Everything a rule may read besides the chain: who asks, the rules in force, fresh ids and
/// the time, all passed in so the core stays pure.
pub struct Ctx<'a> {
    pub merchant: &'a Merchant,
    pub policy: &'a Policy,
    pub ids: &'a mut (dyn IdSource + Send),
    pub now: TimestampMs,
}

impl Ctx<'_> {
    /// Adds an event about `txn` to `change`, with a fresh event id. The event describes the
    /// payment as the change leaves it.
    pub fn emit(
        &mut self,
        change: &mut Change,
        txn: &Transaction,
        event_type: EventType,
        extras: EventExtras,
    ) {
        let event_id = self.ids.event_id();
        let event = build_event(
            self.merchant,
            &change.payment,
            txn,
            event_type,
            event_id,
            extras,
            self.now,
        );
        change.events.push(event);
    }
}

/// Why a rule refused a request. Each maps to one API error; the order of the checks in each
/// rule is the precedence a caller sees when several things are wrong at once.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RuleError {
    #[error("transaction {0} is not part of this payment")]
    UnknownTransaction(String),
    #[error("this operation is not allowed on a {0} transaction")]
    WrongTransactionType(&'static str),
    #[error("this operation is not allowed while the transaction is {0}")]
    WrongStatus(&'static str),
    #[error("payment type {0} does not allow this operation")]
    WrongPaymentType(&'static str),
    #[error("amount is required when the authorization has no upper bound")]
    AmountRequired,
    #[error("amount must be at least {AMOUNT_MIN}")]
    AmountTooSmall,
    #[error("amount exceeds what remains available ({0})")]
    AmountTooLarge(Amount),
    #[error("period must be between 1 and 6 hours")]
    PeriodOutOfRange,
    #[error("splitToken is required")]
    SplitTokenMissing,
    #[error("splitToken is not valid")]
    SplitTokenInvalid,
}
