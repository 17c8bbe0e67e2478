//! What a receiving bank's answer does to a transaction: an ACH return (Denied before
//! completion, Reversed after it), a notification of change, or an instant payment's status.

use crate::capture::restore_refunded;
use crate::change::{Change, Timer, TimerKind};
use crate::codes::{TransactionStatus, TransactionType};
use crate::events::{EventExtras, EventType};
use crate::ids::TransactionId;
use crate::ledger::{transfer, LedgerAccount};
use crate::model::{PaymentChain, ProviderStatus, Transaction};
use crate::money::Amount;
use crate::rails::{account_correction, correct_account, is_pull};
use crate::rules::Ctx;
use crate::settlement::complete;

/// Error code and provider status of a transaction a bank returned or rejected.
const DENIED_ERROR_CODE: u16 = 331;

/// The consumer's ledger account of this chain.
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

fn denied_provider(code: &str, meaning: &str) -> ProviderStatus {
    ProviderStatus {
        reason_code: Some(code.to_owned()),
        ..ProviderStatus::new("SW021", meaning)
    }
}

/// An ACH return with `code` (and its meaning) for `transaction_id`. Before completion the
/// transaction becomes Denied with a Deny event and the money goes back; after completion it
/// becomes Reversed, a Reverse transaction (type 5) records the money going back, with a
/// Reverse event, and the original's `reversed` and `balance` follow. None if the transaction
/// is in no state a return can touch (already returned, say).
pub fn apply_return(
    ctx: &mut Ctx<'_>,
    chain: &PaymentChain,
    transaction_id: TransactionId,
    code: &str,
    meaning: &str,
) -> Option<Change> {
    let txn = chain.transaction(transaction_id)?.clone();
    match txn.status {
        TransactionStatus::Processed => Some(deny(ctx, chain, txn, code, meaning)),
        status if status.is_settled() => Some(reverse(ctx, chain, txn, code, meaning)),
        _ => None,
    }
}

/// Where returned money leaves from and goes back to, before and after completion.
fn return_legs(
    chain: &PaymentChain,
    txn: &Transaction,
    completed: bool,
) -> (LedgerAccount, LedgerAccount) {
    let merchant_id = txn.merchant_id;
    match (is_pull(txn), completed) {
        (true, false) => (
            LedgerAccount::MerchantUnsettled(merchant_id),
            consumer(chain),
        ),
        (true, true) => (LedgerAccount::MerchantSettled(merchant_id), consumer(chain)),
        (false, false) => (
            LedgerAccount::PayoutClearing(merchant_id),
            LedgerAccount::MerchantSettled(merchant_id),
        ),
        (false, true) => (consumer(chain), LedgerAccount::MerchantSettled(merchant_id)),
    }
}

fn deny(
    ctx: &mut Ctx<'_>,
    chain: &PaymentChain,
    mut txn: Transaction,
    code: &str,
    meaning: &str,
) -> Change {
    let mut change = Change::for_chain(chain, ctx.now);
    let (from, to) = return_legs(chain, &txn, false);
    change
        .postings
        .extend(transfer(txn.transaction_id, from, to, txn.amount));
    txn.set_status(TransactionStatus::Denied, ctx.now);
    txn.pending = Amount::ZERO;
    txn.error_code = Some(DENIED_ERROR_CODE);
    txn.provider = denied_provider(code, meaning);
    change
        .timers_done
        .push(Timer::new(TimerKind::Settle, &txn, 0).timer_id);
    give_back_refund(chain, &mut change, &txn, ctx.now);
    ctx.emit(&mut change, &txn, EventType::Deny, EventExtras::default());
    change.put(txn);
    change
}

/// A refund the bank sent back was not a refund after all: the capture it came from counts it
/// as refunded no more.
fn give_back_refund(chain: &PaymentChain, change: &mut Change, txn: &Transaction, now: i64) {
    if txn.transaction_type == TransactionType::Refund {
        // A refund always names its capture; a chain without it has nothing to give back to.
        let _ = restore_refunded(chain, change, txn, now);
    }
}

fn reverse(
    ctx: &mut Ctx<'_>,
    chain: &PaymentChain,
    mut original: Transaction,
    code: &str,
    meaning: &str,
) -> Change {
    let mut change = Change::for_chain(chain, ctx.now);
    let (from, to) = return_legs(chain, &original, true);
    let reverse_id = ctx.ids.transaction_id();
    change
        .postings
        .extend(transfer(reverse_id, from, to, original.amount));
    // The bank takes back the whole entry; what the merchant had already refunded cannot be
    // reversed a second time on the original, so `reversed` stops at what remained.
    let remaining = original.balance();
    original.reversed = original
        .reversed
        .checked_add(remaining.min(original.amount))
        .unwrap_or(original.reversed);
    original.set_status(TransactionStatus::Reversed, ctx.now);
    original.provider = denied_provider(code, meaning);
    give_back_refund(chain, &mut change, &original, ctx.now);
    let reversal = reverse_transaction(ctx, &original, reverse_id, code, meaning);
    ctx.emit(
        &mut change,
        &reversal,
        EventType::Reverse,
        EventExtras::default(),
    );
    ctx.emit(
        &mut change,
        &original,
        EventType::Update,
        EventExtras::default(),
    );
    change.put(original);
    change.put(reversal);
    change
}

/// The Reverse transaction (type 5) recording a completed transaction's money going back.
fn reverse_transaction(
    ctx: &Ctx<'_>,
    original: &Transaction,
    reverse_id: TransactionId,
    code: &str,
    meaning: &str,
) -> Transaction {
    Transaction {
        transaction_id: reverse_id,
        transaction_type: TransactionType::Reverse,
        original_transaction_id: Some(original.transaction_id),
        status: TransactionStatus::Completed,
        pending: Amount::ZERO,
        paid: original.amount,
        refunded: Amount::ZERO,
        reversed: Amount::ZERO,
        provider: denied_provider(code, meaning),
        error_code: None,
        created_at: ctx.now,
        updated_at: ctx.now,
        processed_at: Some(ctx.now),
        completed_at: Some(ctx.now),
        expired_at: None,
        pre_authorized: false,
        rail: None,
        record_version: 1,
        ..original.clone()
    }
}

/// A notification of change: the stored account details are corrected for future entries.
/// None when the code corrects nothing paybank keeps (C04 name, C09 individual id, …) or the
/// details are already as corrected.
pub fn apply_notice_of_change(
    ctx: &Ctx<'_>,
    chain: &PaymentChain,
    code: &str,
    corrected: &str,
) -> Option<Change> {
    let correction = account_correction(code, corrected)?;
    let mut corrected_chain = chain.clone();
    if !correct_account(&mut corrected_chain, &correction) {
        return None;
    }
    let mut change = Change::for_chain(chain, ctx.now);
    change.payment.account = corrected_chain.payment.account;
    Some(change)
}

/// A receiving bank's answer to an instant payment (pacs.002 status).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum InstantAnswer {
    /// ACSC: settled, final.
    Settled,
    /// RJCT with an ISO 20022 reason code.
    Rejected { reason: String },
    /// ACWP: accepted without posting; a follow-up settles or rejects it.
    AcceptedWithoutPosting,
}

/// Applies an instant payment's status to its transaction, if it is still in flight.
pub fn apply_instant_answer(
    ctx: &mut Ctx<'_>,
    chain: &PaymentChain,
    transaction_id: TransactionId,
    answer: &InstantAnswer,
) -> Option<Change> {
    let mut txn = chain.transaction(transaction_id)?.clone();
    if txn.status != TransactionStatus::Processed {
        return None;
    }
    match answer {
        InstantAnswer::Settled => Some(complete(ctx, chain, txn)),
        InstantAnswer::Rejected { reason } => {
            let meaning = iso_reason_meaning(reason);
            Some(deny(ctx, chain, txn, reason, meaning))
        }
        InstantAnswer::AcceptedWithoutPosting => {
            let mut change = Change::for_chain(chain, ctx.now);
            txn.provider =
                ProviderStatus::new("SW030", "Accepted by the receiving bank, not yet posted");
            txn.set_status(TransactionStatus::Processed, ctx.now);
            change.put(txn);
            Some(change)
        }
    }
}

/// What the common ISO 20022 status reason codes mean.
pub fn iso_reason_meaning(reason: &str) -> &'static str {
    match reason {
        "AC02" => "Invalid debtor account number",
        "AC03" => "Invalid creditor account number",
        "AC04" => "Closed account number",
        "AC06" => "Blocked account",
        "AM02" => "Amount exceeds the allowed maximum",
        "AM04" => "Insufficient funds",
        "AG01" => "Transaction forbidden on this account",
        "AB05" | "AB06" => "Timeout at the receiving bank",
        "NARR" => "Rejected (see narrative)",
        _ => "Rejected by the receiving bank",
    }
}
