//! Settlement steps of a transaction on the rails: submission at a cut-off (ACH) or at once
//! (instant), completion, and what a receiving bank's return or notification of change does.
//!
//! Each step runs from a timer or a network job when the clock passes its due time. A step that
//! finds the transaction already moved on (canceled, say) only retires its timer, so steps may
//! run twice.

use crate::ach_schedule::{next_window, settlement_for};
use crate::authorization::expire_authorization;
use crate::calendar::add_banking_days;
use crate::change::{Change, Timer, TimerKind};
use crate::codes::{PaymentType, TransactionStatus, TransactionType};
use crate::eastern::{eastern_date, eastern_date_time, eastern_to_utc_ms};
use crate::events::{EventExtras, EventType};
use crate::ledger::{transfer, LedgerAccount};
use crate::model::{PaymentChain, TimestampMs, Transaction};
use crate::money::Amount;
use crate::rails::{is_pull, AchEntry, Direction, Rail, RailJob, RailJobKind};
use crate::rules::{Ctx, Policy};

/// The first ACH cut-off strictly after `now`: the next window of paybank's ACH schedule.
pub fn next_cutoff(now: TimestampMs, policy: &Policy) -> TimestampMs {
    next_window(now, &policy.ach).map_or(TimestampMs::MAX, |window| window.cutoff_at)
}

/// The same Eastern wall time `days` banking days after `from`.
///
/// Banking days are Eastern dates: a cut-off at 20:00 ET is already the next day in UTC.
pub fn banking_days_later(from: TimestampMs, days: u32) -> TimestampMs {
    let local = eastern_date_time(from);
    eastern_to_utc_ms(add_banking_days(local.date(), days), local.time())
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
    use TransactionStatus::{Authorized, New, Pending, Processed};
    match (kind, txn.status) {
        (TimerKind::Submit, Authorized) => submit_ach(ctx, chain, txn),
        (TimerKind::SubmitRtp, Authorized) => Some(submit_instant(ctx, chain, txn, Rail::Rtp)),
        (TimerKind::SubmitFedNow, Authorized) => {
            Some(submit_instant(ctx, chain, txn, Rail::FedNow))
        }
        (TimerKind::Settle, Processed) => Some(complete(ctx, chain, txn)),
        (TimerKind::ExpireSession, New | Pending) => expire_authorization(ctx, chain).ok(),
        (TimerKind::ExpirePreauthorization, Authorized) => Some(close(
            ctx,
            chain,
            txn,
            TransactionStatus::Expired,
            EventType::Expire,
        )),
        _ => None,
    }
}

/// The consumer's side of the ledger for this chain's account.
fn consumer(chain: &PaymentChain) -> LedgerAccount {
    LedgerAccount::Consumer(
        chain
            .payment
            .account
            .as_ref()
            .map(|account| account.token.clone())
            .unwrap_or_default(),
    )
}

/// Where a transaction's money sits while it is on the network, and where it ends up.
/// Pulls: consumer → merchant unsettled → merchant settled. Payouts were reserved from the
/// merchant's settled funds when created: payout clearing → consumer.
fn in_flight_and_destination(
    chain: &PaymentChain,
    txn: &Transaction,
) -> (LedgerAccount, LedgerAccount) {
    let merchant_id = txn.merchant_id;
    match is_pull(txn) {
        true => (
            LedgerAccount::MerchantUnsettled(merchant_id),
            LedgerAccount::MerchantSettled(merchant_id),
        ),
        false => (LedgerAccount::PayoutClearing(merchant_id), consumer(chain)),
    }
}

/// Moves a transaction to Processed with a Process event; pulls leave the consumer's account.
fn mark_processed(
    ctx: &mut Ctx<'_>,
    chain: &PaymentChain,
    change: &mut Change,
    txn: &mut Transaction,
) {
    if is_pull(txn) {
        let (in_flight, _) = in_flight_and_destination(chain, txn);
        change.postings.extend(transfer(
            txn.transaction_id,
            consumer(chain),
            in_flight,
            txn.amount,
        ));
    }
    txn.set_status(TransactionStatus::Processed, ctx.now);
    txn.processed_at = Some(ctx.now);
    ctx.emit(change, txn, EventType::Process, EventExtras::default());
}

/// ACH cut-off: Authorized → Processed, queued for this cut-off's file, completion scheduled.
fn submit_ach(ctx: &mut Ctx<'_>, chain: &PaymentChain, mut txn: Transaction) -> Option<Change> {
    let entry = ach_entry(ctx, chain, &txn)?;
    let mut change = Change::for_chain(chain, ctx.now);
    mark_processed(ctx, chain, &mut change, &mut txn);
    let completes_at = banking_days_later(ctx.now, ctx.policy.settlement_banking_days);
    change
        .timers
        .push(Timer::new(TimerKind::Settle, &txn, completes_at));
    change.rail_jobs.push(RailJob::new(
        RailJobKind::AchCutoff,
        entry.cutoff_at.to_string(),
        entry.cutoff_at,
    ));
    change.ach_entries.push(entry);
    change.put(txn);
    Some(change)
}

/// The entry this transaction puts in the ACH file of the cut-off running now.
fn ach_entry(ctx: &Ctx<'_>, chain: &PaymentChain, txn: &Transaction) -> Option<AchEntry> {
    let account = chain.payment.account.as_ref()?;
    // The timer runs at its cut-off, so the window is the one ending now.
    let window = next_window(ctx.now - 1, &ctx.policy.ach)?;
    let settlement = settlement_for(&window, txn.amount.minor(), &ctx.policy.ach);
    Some(AchEntry {
        transaction_id: txn.transaction_id,
        payment_id: txn.payment_id,
        merchant_id: txn.merchant_id,
        direction: Direction::of(txn),
        amount: txn.amount,
        routing_number: account.routing_number.clone(),
        account_number: account.account_number.clone(),
        account_type: account.account_type,
        individual_name: account.name_on_account.clone(),
        individual_id: txn.merchant_reference.clone(),
        recurring: chain.payment.payment_type == PaymentType::Recurring,
        cutoff_at: window.cutoff_at,
        same_day: settlement.effective_entry_date == eastern_date(window.cutoff_at),
        effective_date: settlement.effective_entry_date,
        settlement_date: settlement.settlement_date,
        settles_at: settlement.settles_at,
    })
}

/// Instant rails run around the clock: Processed now, the payment message goes out at once.
fn submit_instant(
    ctx: &mut Ctx<'_>,
    chain: &PaymentChain,
    mut txn: Transaction,
    rail: Rail,
) -> Change {
    let mut change = Change::for_chain(chain, ctx.now);
    mark_processed(ctx, chain, &mut change, &mut txn);
    change.rail_jobs.push(RailJob::new(
        RailJobKind::InstantSend,
        format!("{}:{}", rail.name(), txn.transaction_id),
        ctx.now,
    ));
    change.put(txn);
    change
}

/// Processed → Completed: the money lands where it was going.
pub fn complete(ctx: &mut Ctx<'_>, chain: &PaymentChain, mut txn: Transaction) -> Change {
    let mut change = Change::for_chain(chain, ctx.now);
    let (in_flight, destination) = in_flight_and_destination(chain, &txn);
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
    change
        .timers_done
        .push(Timer::new(TimerKind::Settle, &txn, 0).timer_id);
    ctx.emit(
        &mut change,
        &txn,
        EventType::Complete,
        EventExtras::default(),
    );
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

/// Whether a transaction type moves money over the rails (and so can be returned).
pub fn moves_money(txn: &Transaction) -> bool {
    use TransactionType::{Capture, Deposit, Pay, Refund, Representment};
    matches!(
        txn.transaction_type,
        Capture | Deposit | Pay | Refund | Representment
    )
}
