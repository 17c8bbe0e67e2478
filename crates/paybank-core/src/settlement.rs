//! Settlement on the simple ACH schedule: cut-offs, completion after banking days, NSF returns.
//!
//! Each step runs from a timer when the clock passes its due time. A step that finds the
//! transaction already moved on (canceled, say) only retires its timer, so steps may run twice.

use time::{Date, OffsetDateTime, Time};

use crate::authorization::expire_authorization;
use crate::calendar::{add_banking_days, is_banking_day, next_banking_day};
use crate::change::{Change, Timer, TimerKind};
use crate::codes::{TransactionStatus, TransactionType};
use crate::events::{EventExtras, EventType};
use crate::ledger::{transfer, LedgerAccount};
use crate::model::{PaymentChain, ProviderStatus, TimestampMs, Transaction};
use crate::money::Amount;
use crate::rules::{Ctx, Policy};

/// The first ACH cut-off strictly after `now`, on a banking day.
pub fn next_cutoff(now: TimestampMs, policy: &Policy) -> TimestampMs {
    let cutoff_ms = i64::from(policy.ach_cutoff_minute_utc) * 60_000;
    let today = date_of(now);
    let today_cutoff = start_of(today) + cutoff_ms;
    if is_banking_day(today) && now < today_cutoff {
        return today_cutoff;
    }
    start_of(next_banking_day(today)) + cutoff_ms
}

/// The same time of day `days` banking days after `from`.
pub fn banking_days_later(from: TimestampMs, days: u32) -> TimestampMs {
    let date = date_of(from);
    let time_of_day = from - start_of(date);
    start_of(add_banking_days(date, days)) + time_of_day
}

fn date_of(at: TimestampMs) -> Date {
    let seconds = at.div_euclid(1000);
    OffsetDateTime::from_unix_timestamp(seconds)
        .map(|moment| moment.date())
        .unwrap_or(Date::MIN)
}

fn start_of(date: Date) -> TimestampMs {
    date.with_time(Time::MIDNIGHT).assume_utc().unix_timestamp() * 1000
}

/// Runs one due timer against its chain. Always retires the timer; returns the change to write.
pub fn run_timer(ctx: &mut Ctx<'_>, chain: &PaymentChain, timer: &Timer) -> Change {
    let stepped = match chain.transaction(timer.transaction_id) {
        Some(txn) => step(ctx, chain, txn.clone(), timer.kind),
        None => None,
    };
    let mut change = stepped.unwrap_or_else(|| Change::for_chain(chain, ctx.now));
    change.timers_done.push(timer.timer_id.clone());
    change
}

fn step(
    ctx: &mut Ctx<'_>,
    chain: &PaymentChain,
    txn: Transaction,
    kind: TimerKind,
) -> Option<Change> {
    match (kind, txn.status) {
        (TimerKind::Submit, TransactionStatus::Authorized) => Some(submit(ctx, chain, txn)),
        (TimerKind::Settle, TransactionStatus::Processed) => Some(settle(ctx, chain, txn)),
        (TimerKind::Return, TransactionStatus::Processed) => Some(return_unpaid(ctx, chain, txn)),
        (TimerKind::ExpireSession, TransactionStatus::New | TransactionStatus::Pending) => {
            expire_authorization(ctx, chain).ok()
        }
        (TimerKind::ExpirePreauthorization, TransactionStatus::Authorized) => Some(close(
            ctx,
            chain,
            txn,
            TransactionStatus::Expired,
            EventType::Expire,
        )),
        _ => None,
    }
}

/// Where the money of a transaction goes when it is submitted and when it settles.
fn legs(chain: &PaymentChain, txn: &Transaction) -> (LedgerAccount, LedgerAccount, LedgerAccount) {
    let consumer = LedgerAccount::Consumer(
        chain
            .payment
            .account
            .as_ref()
            .map(|account| account.token.clone())
            .unwrap_or_default(),
    );
    let merchant_id = txn.merchant_id;
    match txn.transaction_type {
        TransactionType::Refund | TransactionType::Deposit => (
            LedgerAccount::MerchantSettled(merchant_id),
            LedgerAccount::PayoutClearing(merchant_id),
            consumer,
        ),
        _ => (
            consumer,
            LedgerAccount::MerchantUnsettled(merchant_id),
            LedgerAccount::MerchantSettled(merchant_id),
        ),
    }
}

fn is_pull(txn: &Transaction) -> bool {
    matches!(
        txn.transaction_type,
        TransactionType::Capture | TransactionType::Pay
    )
}

/// Cut-off: Authorized → Processed. The simulated bank decides now whether a pull is covered;
/// an uncovered one is returned (R01) a little before it would have completed.
fn submit(ctx: &mut Ctx<'_>, chain: &PaymentChain, mut txn: Transaction) -> Change {
    let mut change = Change::for_chain(chain, ctx.now);
    let (source, in_flight, _) = legs(chain, &txn);
    change
        .postings
        .extend(transfer(txn.transaction_id, source, in_flight, txn.amount));
    txn.set_status(TransactionStatus::Processed, ctx.now);
    txn.processed_at = Some(ctx.now);
    let covered = cover_pull(&mut change, &txn);
    let (kind, days) = match covered {
        true => (TimerKind::Settle, ctx.policy.settlement_banking_days),
        false => (TimerKind::Return, ctx.policy.return_banking_days),
    };
    change
        .timers
        .push(Timer::new(kind, &txn, banking_days_later(ctx.now, days)));
    ctx.emit(
        &mut change,
        &txn,
        EventType::Process,
        EventExtras::default(),
    );
    change.put(txn);
    change
}

/// Debits the consumer's simulated available balance for a pull; false if it cannot cover it.
fn cover_pull(change: &mut Change, txn: &Transaction) -> bool {
    if !is_pull(txn) {
        if let Some(account) = change.payment.account.as_mut() {
            account.available = account
                .available
                .checked_add(txn.amount)
                .unwrap_or(account.available);
        }
        return true;
    }
    match change.payment.account.as_mut() {
        Some(account) if account.available >= txn.amount => {
            account.available = account
                .available
                .checked_sub(txn.amount)
                .unwrap_or(Amount::ZERO);
            true
        }
        _ => false,
    }
}

/// Settlement: Processed → Completed; the money lands.
fn settle(ctx: &mut Ctx<'_>, chain: &PaymentChain, mut txn: Transaction) -> Change {
    let mut change = Change::for_chain(chain, ctx.now);
    let (_, in_flight, destination) = legs(chain, &txn);
    change.postings.extend(transfer(
        txn.transaction_id,
        in_flight,
        destination,
        txn.amount,
    ));
    txn.set_status(TransactionStatus::Completed, ctx.now);
    txn.completed_at = Some(ctx.now);
    txn.paid = txn.amount;
    txn.pending = Amount::ZERO;
    ctx.emit(
        &mut change,
        &txn,
        EventType::Complete,
        EventExtras::default(),
    );
    change.put(txn);
    change
}

/// The receiving bank returned the pull for insufficient funds: Denied, money back.
fn return_unpaid(ctx: &mut Ctx<'_>, chain: &PaymentChain, mut txn: Transaction) -> Change {
    let mut change = Change::for_chain(chain, ctx.now);
    let (source, in_flight, _) = legs(chain, &txn);
    change
        .postings
        .extend(transfer(txn.transaction_id, in_flight, source, txn.amount));
    txn.set_status(TransactionStatus::Denied, ctx.now);
    txn.pending = Amount::ZERO;
    txn.error_code = Some(331);
    txn.provider = ProviderStatus {
        reason_code: Some("R01".to_owned()),
        ..ProviderStatus::new("SW021", "Insufficient funds")
    };
    ctx.emit(&mut change, &txn, EventType::Deny, EventExtras::default());
    change.put(txn);
    change
}

fn close(
    ctx: &mut Ctx<'_>,
    chain: &PaymentChain,
    mut txn: Transaction,
    status: TransactionStatus,
    event_type: EventType,
) -> Change {
    let mut change = Change::for_chain(chain, ctx.now);
    txn.set_status(status, ctx.now);
    ctx.emit(&mut change, &txn, event_type, EventExtras::default());
    change.put(txn);
    change
}
