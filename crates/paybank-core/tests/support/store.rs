//! An in-memory store for the tests: it commits a change the way the real store does (only if
//! the chain did not move) and checks, on every commit and on demand, the invariants of the domain.

use std::collections::{BTreeMap, HashMap, HashSet};

use paybank_core::change::{Change, ReferenceClaim, Timer, TimerKind};
use paybank_core::codes::{TransactionStatus, TransactionType};
use paybank_core::events::OutboxEvent;
use paybank_core::ids::{EventId, MerchantId, PaymentId, TransactionId};
use paybank_core::ledger::{is_balanced, LedgerAccount, Posting};
use paybank_core::model::{ChainTotals, PaymentChain, TimestampMs, Transaction};
use paybank_core::money::Amount;
use paybank_core::settlement::run_timer;

use super::{param, World};

/// Why the store refused a change.
#[derive(Debug, PartialEq, Eq)]
pub enum Refused {
    /// The chain moved since the change was computed.
    Conflict,
}

/// An in-memory store: chains, the ledger, the outbox, timers and reference claims.
#[derive(Default)]
pub struct Store {
    pub chains: BTreeMap<PaymentId, PaymentChain>,
    pub postings: Vec<Posting>,
    pub events: Vec<OutboxEvent>,
    pub timers: BTreeMap<String, Timer>,
    pub claims: Vec<ReferenceClaim>,
    event_ids: HashSet<EventId>,
    transaction_ids: HashMap<TransactionId, PaymentId>,
}

impl Store {
    /// Commits a change if the chain did not move, checking every invariant a single change
    /// must keep; returns the chain as the change leaves it.
    pub fn commit(&mut self, change: &Change) -> Result<PaymentChain, Refused> {
        let payment_id = change.payment.payment_id;
        change
            .check()
            .unwrap_or_else(|why| panic!("{why}: {change:#?}"));
        let before = self.chains.get(&payment_id);
        let current_version = before.map(|chain| chain.payment.record_version);
        if current_version != change.expected_version {
            return Err(Refused::Conflict);
        }
        let after = match before {
            Some(chain) => {
                assert_eq!(
                    change.payment.record_version,
                    chain.payment.record_version + 1
                );
                check_transitions(chain, change);
                chain.with_change(change)
            }
            None => PaymentChain::from_new(change),
        };
        self.record_ids(change);
        check_events_match(&after, change);
        self.postings.extend(change.postings.iter().cloned());
        self.events.extend(change.events.iter().cloned());
        for timer_id in &change.timers_done {
            self.timers.remove(timer_id);
        }
        for timer in &change.timers {
            self.timers
                .entry(timer.timer_id.clone())
                .or_insert_with(|| timer.clone());
        }
        for claim in &change.reference_claims {
            let duplicate = self.claims.iter().any(|held| {
                (
                    held.merchant_id,
                    held.transaction_type,
                    &held.merchant_reference,
                ) == (
                    claim.merchant_id,
                    claim.transaction_type,
                    &claim.merchant_reference,
                )
            });
            assert!(!duplicate, "reference claimed twice: {claim:?}");
            self.claims.push(claim.clone());
        }
        self.chains.insert(payment_id, after.clone());
        Ok(after)
    }

    fn record_ids(&mut self, change: &Change) {
        let payment_id = change.payment.payment_id;
        for event in &change.events {
            assert!(
                self.event_ids.insert(event.event_id),
                "event id reused: {event:?}"
            );
        }
        for txn in &change.transactions {
            let owner = *self
                .transaction_ids
                .entry(txn.transaction_id)
                .or_insert(payment_id);
            assert_eq!(owner, payment_id, "transaction id reused across payments");
        }
    }

    /// Runs every timer due at or before `until`, earliest first, each at its own due time
    /// (as the server's worker does), then sets the world's clock to `until`.
    pub fn run_due_timers(&mut self, world: &mut World, until: TimestampMs) -> usize {
        let mut ran = 0;
        while let Some(timer) = self.next_due(until) {
            let chain = self.chains[&timer.payment_id].clone();
            let merchant_id = chain.payment.merchant_id;
            let change = run_timer(
                &mut world.ctx_for(merchant_id, timer.due_at),
                &chain,
                &timer,
            );
            assert!(
                change.timers_done.contains(&timer.timer_id),
                "a timer always retires itself"
            );
            self.commit(&change)
                .expect("timers run on the current chain");
            ran += 1;
        }
        world.now = world.now.max(until);
        ran
    }

    fn next_due(&self, until: TimestampMs) -> Option<Timer> {
        self.timers
            .values()
            .filter(|timer| timer.due_at <= until)
            .min_by(|a, b| (a.due_at, &a.timer_id).cmp(&(b.due_at, &b.timer_id)))
            .cloned()
    }

    /// The balance of one ledger account, in minor units.
    pub fn balance(&self, account: &LedgerAccount) -> i64 {
        self.postings
            .iter()
            .filter(|posting| &posting.account == account)
            .map(|posting| posting.amount.minor())
            .sum()
    }

    pub fn transactions(&self) -> impl Iterator<Item = &Transaction> {
        self.chains
            .values()
            .flat_map(|chain| chain.transactions.iter())
    }

    /// The money invariants over everything stored; `context` names the run in messages.
    pub fn check_invariants(&self, context: &str) {
        assert!(
            is_balanced(&self.postings),
            "{context}: ledger does not balance"
        );
        let merchant_ids: HashSet<MerchantId> =
            self.transactions().map(|txn| txn.merchant_id).collect();
        for merchant_id in merchant_ids {
            self.check_merchant_ledger(merchant_id, context);
        }
        for chain in self.chains.values() {
            check_chain_money(chain, context);
        }
        self.check_timers(context);
    }

    /// Nothing gets stuck: every transaction waiting for a step has the timer that takes it,
    /// and every timer belongs to a stored transaction.
    fn check_timers(&self, context: &str) {
        use TransactionStatus::*;
        use TransactionType as T;
        for txn in self.transactions() {
            let needed: &[TimerKind] = match (txn.transaction_type, txn.status) {
                (T::Authorize, New | Pending) => &[TimerKind::ExpireSession],
                (T::Capture | T::Refund, Authorized) => &[TimerKind::Submit],
                (T::Capture | T::Refund, Processed) => &[TimerKind::Settle],
                (T::Preauthorization, Authorized) => &[TimerKind::ExpirePreauthorization],
                _ => continue,
            };
            let waiting = needed.iter().any(|kind| {
                let timer_id = format!("{}:{}", kind.name(), txn.transaction_id);
                self.timers.contains_key(&timer_id)
            });
            assert!(waiting, "{context}: no {needed:?} timer for {txn:#?}");
        }
        for timer in self.timers.values() {
            let chain = &self.chains[&timer.payment_id];
            let known = chain.transaction(timer.transaction_id).is_some();
            assert!(
                known,
                "{context}: timer for an unknown transaction: {timer:?}"
            );
        }
    }

    fn check_merchant_ledger(&self, merchant_id: MerchantId, context: &str) {
        let sum = |kind: TransactionType,
                   statuses: &[TransactionStatus],
                   money: fn(&Transaction) -> Amount|
         -> i64 {
            self.transactions()
                .filter(|txn| txn.merchant_id == merchant_id && txn.transaction_type == kind)
                .filter(|txn| statuses.contains(&txn.status))
                .map(|txn| money(txn).minor())
                .sum()
        };
        use TransactionStatus::*;
        // Money in: captures, and the Pay an Instant payment makes by itself.
        let pulls = |statuses: &[TransactionStatus], money: fn(&Transaction) -> Amount| {
            sum(TransactionType::Capture, statuses, money)
                + sum(TransactionType::Pay, statuses, money)
        };
        let paid_in = pulls(&[Completed, PartiallyRefunded, Refunded], |txn| txn.paid);
        // A payout (refund or deposit) draws on settled funds from the moment it is accepted.
        let payouts = |statuses: &[TransactionStatus]| {
            sum(TransactionType::Refund, statuses, |txn| txn.amount)
                + sum(TransactionType::Deposit, statuses, |txn| txn.amount)
        };
        let refunds_out = payouts(&[Authorized, Processed, Completed]);
        let in_flight = pulls(&[Processed], |txn| txn.amount);
        let refunds_in_flight = payouts(&[Authorized, Processed]);
        let settled = self.balance(&LedgerAccount::MerchantSettled(merchant_id));
        let unsettled = self.balance(&LedgerAccount::MerchantUnsettled(merchant_id));
        let clearing = self.balance(&LedgerAccount::PayoutClearing(merchant_id));
        assert_eq!(
            settled,
            paid_in - refunds_out,
            "{context}: settled balance of {merchant_id}"
        );
        assert_eq!(
            unsettled, in_flight,
            "{context}: unsettled balance of {merchant_id}"
        );
        assert_eq!(
            clearing, refunds_in_flight,
            "{context}: payout clearing of {merchant_id}"
        );
    }
}

/// Per-chain money: captures within the cap, refunds within what was paid, balances consistent.
fn check_chain_money(chain: &PaymentChain, context: &str) {
    assert_eq!(
        chain.payment.totals,
        ChainTotals::of(&chain.transactions),
        "{context}: the totals kept on the payment are not its transactions' sum"
    );
    let cap = chain.payment.amount;
    if !cap.is_zero() {
        assert!(
            chain.captured_total() <= cap,
            "{context}: captured over the cap: {chain:#?}"
        );
    }
    for txn in &chain.transactions {
        let (paid, refunded, reversed) =
            (txn.paid.minor(), txn.refunded.minor(), txn.reversed.minor());
        assert!(
            refunded <= paid,
            "{context}: refunded more than paid: {txn:#?}"
        );
        assert_eq!(
            txn.balance().minor(),
            paid - refunded - reversed,
            "{context}: balance"
        );
        if txn.transaction_type == TransactionType::Capture {
            let live_refunds: i64 = chain
                .transactions
                .iter()
                .filter(|child| child.original_transaction_id == Some(txn.transaction_id))
                .filter(|child| child.transaction_type == TransactionType::Refund)
                .filter(|child| child.status != TransactionStatus::Voided)
                .map(|child| child.amount.minor())
                .sum();
            assert_eq!(
                refunded, live_refunds,
                "{context}: refunded vs refunds of {}",
                txn.transaction_id
            );
        }
    }
}

fn is_final(status: TransactionStatus) -> bool {
    use TransactionStatus::*;
    matches!(
        status,
        Failed | Denied | Canceled | Expired | Voided | Refunded
    )
}

/// Every transaction a change touches moves forward: its version grows, and a final status
/// is left only by refunds (Completed → 11 → 12) or a canceled refund giving money back.
fn check_transitions(chain: &PaymentChain, change: &Change) {
    use TransactionStatus::*;
    for txn in &change.transactions {
        let Some(old) = chain.transaction(txn.transaction_id) else {
            assert_eq!(
                txn.record_version, 1,
                "a new transaction starts at version 1"
            );
            continue;
        };
        assert!(
            txn.record_version > old.record_version,
            "version must grow: {old:#?} → {txn:#?}"
        );
        let allowed = match (old.status, txn.status) {
            (
                Completed | PartiallyRefunded | Refunded,
                PartiallyRefunded | Refunded | Completed,
            ) => matches!(
                txn.transaction_type,
                TransactionType::Capture | TransactionType::Pay
            ),
            (from, _) => !is_final(from),
        };
        assert!(
            allowed,
            "{:?} → {:?} is not allowed: {txn:#?}",
            old.status, txn.status
        );
    }
}

/// Each event describes its transaction as the change leaves it.
fn check_events_match(after: &PaymentChain, change: &Change) {
    for event in &change.events {
        let txn = after
            .transaction(event.transaction_id)
            .expect("event about a chain transaction");
        let status = param(event, "status").expect("every event carries status");
        assert_eq!(status, txn.status.code().to_string(), "{event:#?}");
        assert_eq!(
            param(event, "objectId"),
            Some(txn.transaction_id.to_string())
        );
    }
}
