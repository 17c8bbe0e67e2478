//! What a rule produces: the rows a state change writes, committed together in one transaction.

use crate::events::OutboxEvent;
use crate::ids::{MerchantId, PaymentId, TransactionId};
use crate::ledger::{is_balanced, LedgerAccount, Posting};
use crate::model::{ChainTotals, Payment, PaymentChain, TimestampMs, Transaction};
use crate::rails::{AchEntry, RailJob};

/// Something to do later, picked up by a worker once the clock passes `due_at`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Timer {
    /// Deterministic (`kind:transaction`), so scheduling the same step twice is harmless.
    pub timer_id: String,
    pub kind: TimerKind,
    pub payment_id: PaymentId,
    pub transaction_id: TransactionId,
    pub due_at: TimestampMs,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimerKind {
    /// The next ACH cut-off: Authorized → Processed, queued for the cut-off's file.
    Submit,
    /// An instant payout over RTP, sent at once: Authorized → Processed.
    SubmitRtp,
    /// An instant payout over FedNow, sent at once: Authorized → Processed.
    SubmitFedNow,
    /// Completion after the banking days of the rail: Processed → Completed.
    Settle,
    /// The Lightbox session ran out: New/Pending → Expired.
    ExpireSession,
    /// A preauthorization's period ended.
    ExpirePreauthorization,
}

impl TimerKind {
    pub const ALL: [TimerKind; 6] = [
        Self::Submit,
        Self::SubmitRtp,
        Self::SubmitFedNow,
        Self::Settle,
        Self::ExpireSession,
        Self::ExpirePreauthorization,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Self::Submit => "submit",
            Self::SubmitRtp => "submit-rtp",
            Self::SubmitFedNow => "submit-fednow",
            Self::Settle => "settle",
            Self::ExpireSession => "expire-session",
            Self::ExpirePreauthorization => "expire-preauthorization",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.name() == name)
    }
}

impl Timer {
    pub fn new(kind: TimerKind, txn: &Transaction, due_at: TimestampMs) -> Timer {
        Timer {
            timer_id: Timer::id_for(kind, txn.transaction_id),
            kind,
            payment_id: txn.payment_id,
            transaction_id: txn.transaction_id,
            due_at,
        }
    }

    /// The id of the timer of `kind` for the transaction `transaction_id`: `kind:id`, written
    /// without `core::fmt`, since every capture makes one.
    pub fn id_for(kind: TimerKind, transaction_id: TransactionId) -> String {
        let mut digits = itoa::Buffer::new();
        let digits = digits.format(transaction_id.0);
        let name = kind.name();
        let mut id = String::with_capacity(name.len() + 1 + digits.len());
        id.push_str(name);
        id.push(':');
        id.push_str(digits);
        id
    }
}

/// A merchant reference that, once claimed, answers later requests with code 210.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReferenceClaim {
    pub merchant_id: MerchantId,
    /// The transaction type the reference is unique within (see docs/compatibility.md).
    pub transaction_type: u8,
    pub merchant_reference: String,
    pub transaction_id: TransactionId,
}

/// Everything one command writes. The store applies it atomically, and only if the payment's
/// record version is still `expected_version` (None: the payment is new).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Change {
    pub payment: Payment,
    pub expected_version: Option<i64>,
    pub transactions: Vec<Transaction>,
    pub postings: Vec<Posting>,
    pub events: Vec<OutboxEvent>,
    pub timers: Vec<Timer>,
    pub timers_done: Vec<String>,
    pub reference_claims: Vec<ReferenceClaim>,
    /// Entries queued for the ACH file of their cut-off.
    pub ach_entries: Vec<AchEntry>,
    /// Network work this change schedules (a cut-off's files, an instant payment's message).
    pub rail_jobs: Vec<RailJob>,
    /// Ledger accounts whose balance must not end below zero once the postings are applied.
    pub balance_floors: Vec<LedgerAccount>,
    /// What each transaction of the chain this change was made from added to the payment's
    /// totals, those that added nothing left out: [`Change::put`] takes it out again.
    pub earlier_totals: Vec<(TransactionId, ChainTotals)>,
}

impl Change {
    /// A change to an existing chain; the payment's version is bumped once here.
    ///
    /// The chain may hold only some of its transactions (see `Store::chain_to_change`), as long
    /// as the rule changes none it was not given: `put` counts a transaction it has no earlier
    /// copy of as new.
    pub fn for_chain(chain: &PaymentChain, now: TimestampMs) -> Change {
        let mut payment = chain.payment.clone();
        payment.record_version += 1;
        payment.updated_at = now;
        let earlier_totals = (chain.transactions.iter())
            .map(|txn| (txn.transaction_id, ChainTotals::added_by(txn)))
            .filter(|(_, totals)| *totals != ChainTotals::default())
            .collect();
        Change {
            payment,
            expected_version: Some(chain.payment.record_version),
            transactions: Vec::new(),
            postings: Vec::new(),
            events: Vec::new(),
            timers: Vec::new(),
            timers_done: Vec::new(),
            reference_claims: Vec::new(),
            ach_entries: Vec::new(),
            rail_jobs: Vec::new(),
            balance_floors: Vec::new(),
            earlier_totals,
        }
    }

    /// Records a new or changed transaction, replacing an earlier copy in this change, and
    /// moves the payment's totals from what the earlier copy added to what this one adds.
    pub fn put(&mut self, txn: Transaction) {
        self.payment.totals.add(&txn);
        let earlier =
            (self.transactions.iter_mut()).find(|t| t.transaction_id == txn.transaction_id);
        match earlier {
            Some(existing) => {
                self.payment
                    .totals
                    .take_out(&ChainTotals::added_by(existing));
                *existing = txn;
            }
            None => {
                let read = (self.earlier_totals.iter()).find(|(id, _)| *id == txn.transaction_id);
                if let Some((_, added)) = read {
                    self.payment.totals.take_out(added);
                }
                self.transactions.push(txn);
            }
        }
    }

    /// This change and then `next`, a change made from the chain as this one leaves it, as one
    /// change: conditional on the version this one read and moving it once, with the payment
    /// otherwise as `next` leaves it. Events keep their order, each describing its transaction
    /// as it was when emitted. A timer this change schedules and `next` retires is not written.
    pub fn then(mut self, next: Change) -> Change {
        for txn in next.transactions {
            self.put(txn);
        }
        // `next` was made from the chain as this one leaves it, so its totals already count
        // both changes' transactions.
        let record_version = self.payment.record_version;
        self.payment = next.payment;
        self.payment.record_version = record_version;
        self.timers
            .retain(|timer| !next.timers_done.contains(&timer.timer_id));
        self.postings.extend(next.postings);
        self.events.extend(next.events);
        self.timers.extend(next.timers);
        self.timers_done.extend(next.timers_done);
        self.reference_claims.extend(next.reference_claims);
        self.ach_entries.extend(next.ach_entries);
        self.rail_jobs.extend(next.rail_jobs);
        self.balance_floors.extend(next.balance_floors);
        self
    }

    /// The invariants every change must hold before it may be written.
    pub fn check(&self) -> Result<(), &'static str> {
        if !is_balanced(&self.postings) {
            return Err("ledger postings do not balance");
        }
        let money_is_sane = self.transactions.iter().all(|txn| {
            [
                txn.amount,
                txn.pending,
                txn.paid,
                txn.refunded,
                txn.reversed,
            ]
            .iter()
            .all(|amount| amount.minor() >= 0)
                && txn.refunded.minor() + txn.reversed.minor() <= txn.paid.minor()
        });
        if !money_is_sane {
            return Err("a transaction holds negative money or refunds more than was paid");
        }
        Ok(())
    }
}

impl PaymentChain {
    /// The chain as it is once `change` is committed.
    pub fn with_change(&self, change: &Change) -> PaymentChain {
        let mut chain = PaymentChain {
            payment: change.payment.clone(),
            transactions: self.transactions.clone(),
        };
        chain.put_transactions(change);
        chain
    }

    /// As [`PaymentChain::with_change`], taking the chain rather than copying its transactions.
    pub fn into_changed(mut self, change: &Change) -> PaymentChain {
        self.payment = change.payment.clone();
        self.put_transactions(change);
        self
    }

    /// Puts the change's transactions in place of their earlier copies, or after the others.
    fn put_transactions(&mut self, change: &Change) {
        for txn in &change.transactions {
            match self
                .transactions
                .iter_mut()
                .find(|t| t.transaction_id == txn.transaction_id)
            {
                Some(existing) => *existing = txn.clone(),
                None => self.transactions.push(txn.clone()),
            }
        }
    }

    /// The chain a brand-new payment's change creates.
    pub fn from_new(change: &Change) -> PaymentChain {
        PaymentChain {
            payment: change.payment.clone(),
            transactions: change.transactions.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The id written by hand is the one `Display` gives, for every kind.
    #[test]
    fn a_timer_id_is_its_kind_and_transaction() {
        for kind in TimerKind::ALL {
            for id in [0, 7, 1_234_567_890_123, u64::MAX] {
                let transaction_id = TransactionId(id);
                let expected = format!("{}:{}", kind.name(), transaction_id);
                assert_eq!(Timer::id_for(kind, transaction_id), expected);
            }
        }
    }
}
