//! Money against an authorization: capture, preauthorization, refund and cancel.

use crate::authorization::check_split_token;
use crate::change::{Change, ReferenceClaim, Timer, TimerKind};
use crate::codes::{PaymentType, TransactionStatus, TransactionType};
use crate::events::{EventExtras, EventType};
use crate::ids::TransactionId;
use crate::ledger::{transfer, LedgerAccount};
use crate::model::{PaymentChain, ProviderStatus, Transaction};
use crate::money::Amount;
use crate::rails::{instant_rail, is_pull, Rail};
use crate::rules::{Ctx, RuleError, AMOUNT_MIN};
use crate::settlement::{moves_money, next_cutoff};

/// A validated capture request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CaptureRequest {
    pub merchant_reference: String,
    pub amount: Option<Amount>,
    pub split_token: Option<String>,
    pub ip: String,
    /// `instantPayoutRequest` on a deposit: try RTP or FedNow, fall back to ACH.
    pub instant_payout_requested: bool,
}

/// A validated preauthorization request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PreauthorizationRequest {
    pub merchant_reference: String,
    pub amount: Option<Amount>,
    pub period_hours: u32,
    pub split_token: Option<String>,
    pub ip: String,
}

/// A validated deposit (payout) request: the same fields as a capture's.
pub type DepositRequest = CaptureRequest;

/// A validated refund request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RefundRequest {
    pub merchant_reference: Option<String>,
    pub amount: Option<Amount>,
    pub ip: String,
}

/// The authorization, provided it is Authorized and its payment type allows this operation.
fn authorized_for<'a>(
    chain: &'a PaymentChain,
    payment_types: &[PaymentType],
) -> Result<&'a Transaction, RuleError> {
    let authorization = chain.authorization();
    if authorization.status != TransactionStatus::Authorized {
        return Err(RuleError::WrongStatus(authorization.status.name()));
    }
    match payment_types.contains(&chain.payment.payment_type) {
        true => Ok(authorization),
        false => Err(RuleError::WrongPaymentType(
            chain.payment.payment_type.name(),
        )),
    }
}

const CAPTURE_PAYMENT_TYPES: [PaymentType; 2] = [PaymentType::Deferred, PaymentType::Recurring];
const DEPOSIT_PAYMENT_TYPES: [PaymentType; 2] = [PaymentType::Deferred, PaymentType::Disbursement];

/// Gives the new child back if the split token passes; otherwise records it as Failed with
/// the token's codes and a Fail event, and gives nothing back.
fn split_token_checked(
    ctx: &mut Ctx<'_>,
    chain: &PaymentChain,
    change: &mut Change,
    txn: Transaction,
    provided: Option<&str>,
) -> Option<Transaction> {
    match check_split_token(&chain.payment, provided, ctx.now) {
        Ok(()) => Some(txn),
        Err(failure) => {
            fail_child(
                ctx,
                change,
                txn,
                failure.error_code(),
                failure.provider_status(),
            );
            None
        }
    }
}

/// What is left for children of one type (captures, deposits), or None when the
/// authorization has no upper bound.
fn headroom(chain: &PaymentChain, transaction_type: TransactionType) -> Option<Amount> {
    let cap = chain.payment.amount;
    if cap.is_zero() {
        return None;
    }
    let held = chain.held_total(transaction_type);
    Some(Amount::from_minor((cap.minor() - held.minor()).max(0)))
}

fn capture_amount(chain: &PaymentChain, requested: Option<Amount>) -> Result<Amount, RuleError> {
    child_amount(chain, TransactionType::Capture, requested)
}

fn child_amount(
    chain: &PaymentChain,
    transaction_type: TransactionType,
    requested: Option<Amount>,
) -> Result<Amount, RuleError> {
    let headroom = headroom(chain, transaction_type);
    let amount = match (requested, headroom) {
        (Some(amount), _) => amount,
        (None, Some(headroom)) => headroom,
        (None, None) => return Err(RuleError::AmountRequired),
    };
    if amount < AMOUNT_MIN {
        return Err(RuleError::AmountTooSmall);
    }
    match headroom {
        Some(headroom) if amount > headroom => Err(RuleError::AmountTooLarge(headroom)),
        _ => Ok(amount),
    }
}

/// A new child transaction of the authorization, Authorized, holding `amount` as pending. It
/// takes only its payment, merchant and currency from the parent: copying the whole parent
/// and overwriting the rest copied its texts for nothing.
pub(crate) fn new_child(
    ctx: &mut Ctx<'_>,
    parent: &Transaction,
    transaction_type: TransactionType,
    merchant_reference: String,
    amount: Amount,
    ip: String,
) -> Transaction {
    Transaction {
        transaction_id: ctx.ids.transaction_id(),
        transaction_type,
        original_transaction_id: Some(parent.transaction_id),
        status: TransactionStatus::Authorized,
        merchant_reference,
        amount,
        pending: amount,
        paid: Amount::ZERO,
        refunded: Amount::ZERO,
        reversed: Amount::ZERO,
        provider: ProviderStatus::new("AC100", "AC100"),
        error_code: None,
        ip,
        created_at: ctx.now,
        updated_at: ctx.now,
        processed_at: None,
        completed_at: None,
        expired_at: None,
        pre_authorized: false,
        rail: None,
        record_version: 1,
        payment_id: parent.payment_id,
        merchant_id: parent.merchant_id,
        currency: parent.currency.clone(),
    }
}

pub(crate) fn claim(txn: &Transaction) -> ReferenceClaim {
    ReferenceClaim {
        merchant_id: txn.merchant_id,
        transaction_type: txn.transaction_type.code(),
        merchant_reference: txn.merchant_reference.clone(),
        transaction_id: txn.transaction_id,
    }
}

/// Marks a just-created child Failed with the given codes and a Fail event.
fn fail_child(
    ctx: &mut Ctx<'_>,
    change: &mut Change,
    mut txn: Transaction,
    error_code: u16,
    provider: ProviderStatus,
) {
    txn.status = TransactionStatus::Failed;
    txn.pending = Amount::ZERO;
    txn.error_code = Some(error_code);
    txn.provider = provider;
    ctx.emit(change, &txn, EventType::Fail, EventExtras::default());
    change.put(txn);
}

/// `POST /transactions/{id}/capture`. Bad input is an error and writes nothing; a split token
/// or risk failure is a Failed capture with a Fail event, as the provider does.
pub fn capture(
    ctx: &mut Ctx<'_>,
    chain: &PaymentChain,
    request: CaptureRequest,
) -> Result<Change, RuleError> {
    let authorization = authorized_for(chain, &CAPTURE_PAYMENT_TYPES)?;
    let amount = capture_amount(chain, request.amount)?;
    let mut change = Change::for_chain(chain, ctx.now);
    let mut txn = new_child(
        ctx,
        authorization,
        TransactionType::Capture,
        request.merchant_reference,
        amount,
        request.ip,
    );
    txn.pre_authorized = active_preauthorization(chain, ctx.now);
    let provided = request.split_token.as_deref();
    let Some(txn) = split_token_checked(ctx, chain, &mut change, txn, provided) else {
        return Ok(change);
    };
    if let Some(code) = change.payment.decline_next_capture.take() {
        let provider = ProviderStatus {
            reason_code: Some("1".to_owned()),
            extended_reason_code: Some(code),
            ..ProviderStatus::new("SW054", "Suspicious activity")
        };
        fail_child(ctx, &mut change, txn, 390, provider);
        return Ok(change);
    }
    accept_child(ctx, &mut change, txn, Rail::Ach);
    Ok(change)
}

/// Claims the reference, reserves a payout's money, schedules submission (the next ACH
/// cut-off, or at once on an instant rail), and emits Authorize.
pub(crate) fn accept_child(
    ctx: &mut Ctx<'_>,
    change: &mut Change,
    mut txn: Transaction,
    rail: Rail,
) {
    txn.rail = Some(rail);
    change.reference_claims.push(claim(&txn));
    if !is_pull(&txn) {
        reserve_payout(ctx, change, &txn);
    }
    let timer = match rail {
        Rail::Ach => Timer::new(TimerKind::Submit, &txn, next_cutoff(ctx.now, ctx.policy)),
        Rail::Rtp => Timer::new(TimerKind::SubmitRtp, &txn, ctx.now),
        Rail::FedNow => Timer::new(TimerKind::SubmitFedNow, &txn, ctx.now),
    };
    change.timers.push(timer);
    ctx.emit(change, &txn, EventType::Authorize, EventExtras::default());
    change.put(txn);
}

/// A payout draws on the merchant's settled funds from the moment it is accepted; a merchant
/// configured for settled-only payouts may not take them below zero (the store checks).
fn reserve_payout(ctx: &Ctx<'_>, change: &mut Change, txn: &Transaction) {
    let merchant_id = txn.merchant_id;
    change.postings.extend(transfer(
        txn.transaction_id,
        LedgerAccount::MerchantSettled(merchant_id),
        LedgerAccount::PayoutClearing(merchant_id),
        txn.amount,
    ));
    if ctx.merchant.payouts_from_settled_only {
        change
            .balance_floors
            .push(LedgerAccount::MerchantSettled(merchant_id));
    }
}

/// Gives a voided payout's reservation back to the merchant's settled funds.
fn release_payout(change: &mut Change, txn: &Transaction) {
    let merchant_id = txn.merchant_id;
    change.postings.extend(transfer(
        txn.transaction_id,
        LedgerAccount::PayoutClearing(merchant_id),
        LedgerAccount::MerchantSettled(merchant_id),
        txn.amount,
    ));
}

fn active_preauthorization(chain: &PaymentChain, now: i64) -> bool {
    chain.transactions.iter().any(|txn| {
        txn.transaction_type == TransactionType::Preauthorization
            && txn.status == TransactionStatus::Authorized
            && txn.expired_at.is_some_and(|expired_at| now < expired_at)
    })
}

/// `POST /transactions/{id}/capture/preAuth`: a Preauthorization (type 10) for 1–6 hours.
pub fn preauthorize(
    ctx: &mut Ctx<'_>,
    chain: &PaymentChain,
    request: PreauthorizationRequest,
) -> Result<Change, RuleError> {
    let authorization = authorized_for(chain, &CAPTURE_PAYMENT_TYPES)?;
    if !(1..=6).contains(&request.period_hours) {
        return Err(RuleError::PeriodOutOfRange);
    }
    let amount = capture_amount(chain, request.amount)?;
    let mut change = Change::for_chain(chain, ctx.now);
    let mut txn = new_child(
        ctx,
        authorization,
        TransactionType::Preauthorization,
        request.merchant_reference,
        amount,
        request.ip,
    );
    // A preauthorization reserves nothing by itself; captures under it carry the money.
    txn.pending = Amount::ZERO;
    txn.pre_authorized = true;
    let expired_at = ctx.now + i64::from(request.period_hours) * 3_600_000;
    txn.expired_at = Some(expired_at);
    let provided = request.split_token.as_deref();
    let Some(txn) = split_token_checked(ctx, chain, &mut change, txn, provided) else {
        return Ok(change);
    };
    change.reference_claims.push(claim(&txn));
    change.timers.push(Timer::new(
        TimerKind::ExpirePreauthorization,
        &txn,
        expired_at,
    ));
    ctx.emit(
        &mut change,
        &txn,
        EventType::Authorize,
        EventExtras::default(),
    );
    change.put(txn);
    Ok(change)
}

/// `POST /transactions/{id}/deposit`: a payout (type 6) to the consumer's account against a
/// Deferred or Disbursement authorization; deposits add up to at most the authorized amount.
pub fn deposit(
    ctx: &mut Ctx<'_>,
    chain: &PaymentChain,
    request: DepositRequest,
) -> Result<Change, RuleError> {
    let authorization = authorized_for(chain, &DEPOSIT_PAYMENT_TYPES)?;
    let amount = child_amount(chain, TransactionType::Deposit, request.amount)?;
    let mut change = Change::for_chain(chain, ctx.now);
    let txn = new_child(
        ctx,
        authorization,
        TransactionType::Deposit,
        request.merchant_reference,
        amount,
        request.ip,
    );
    let provided = request.split_token.as_deref();
    let Some(txn) = split_token_checked(ctx, chain, &mut change, txn, provided) else {
        return Ok(change);
    };
    let rail = match request.instant_payout_requested {
        true => instant_rail(chain, amount, ctx.policy).unwrap_or(Rail::Ach),
        false => Rail::Ach,
    };
    accept_child(ctx, &mut change, txn, rail);
    Ok(change)
}

fn lookup(chain: &PaymentChain, transaction_id: TransactionId) -> Result<Transaction, RuleError> {
    chain
        .transaction(transaction_id)
        .cloned()
        .ok_or_else(|| RuleError::UnknownTransaction(transaction_id.to_string()))
}

/// `POST /transactions/{id}/refund` on a Completed capture: a Refund (type 4) up to the
/// remaining balance; the capture becomes PartiallyRefunded or Refunded at once.
pub fn refund(
    ctx: &mut Ctx<'_>,
    chain: &PaymentChain,
    target_id: TransactionId,
    request: RefundRequest,
) -> Result<Change, RuleError> {
    let mut original = lookup(chain, target_id)?;
    let amount = refund_amount(&original, request.amount)?;
    let mut change = Change::for_chain(chain, ctx.now);
    let reference = request
        .merchant_reference
        .unwrap_or_else(|| original.merchant_reference.clone());
    let refund = new_child(
        ctx,
        &original,
        TransactionType::Refund,
        reference,
        amount,
        request.ip,
    );
    original.refunded = original
        .refunded
        .checked_add(amount)
        .unwrap_or(original.refunded);
    let status = match original.balance().is_zero() {
        true => TransactionStatus::Refunded,
        false => TransactionStatus::PartiallyRefunded,
    };
    original.set_status(status, ctx.now);
    reserve_payout(ctx, &mut change, &refund);
    let due_at = next_cutoff(ctx.now, ctx.policy);
    change
        .timers
        .push(Timer::new(TimerKind::Submit, &refund, due_at));
    ctx.emit(
        &mut change,
        &refund,
        EventType::Refund,
        EventExtras::default(),
    );
    ctx.emit(
        &mut change,
        &original,
        EventType::Update,
        EventExtras::default(),
    );
    change.put(refund);
    change.put(original);
    Ok(change)
}

/// Checks a refund against the original: settled money-in, and within its balance.
fn refund_amount(original: &Transaction, requested: Option<Amount>) -> Result<Amount, RuleError> {
    if !matches!(
        original.transaction_type,
        TransactionType::Capture | TransactionType::Pay
    ) {
        return Err(RuleError::WrongTransactionType(
            original.transaction_type.name(),
        ));
    }
    if !original.status.is_settled() {
        return Err(RuleError::WrongStatus(original.status.name()));
    }
    let balance = original.balance();
    let amount = requested.unwrap_or(balance);
    // The minimum gives way only for the exact remainder, so no balance is left unrefundable.
    if amount < AMOUNT_MIN && amount != balance || amount.is_zero() {
        return Err(RuleError::AmountTooSmall);
    }
    if amount > balance {
        return Err(RuleError::AmountTooLarge(balance));
    }
    Ok(amount)
}

/// `POST /transactions/{id}/cancel`: voids an authorization, or a child not yet submitted.
pub fn cancel(
    ctx: &mut Ctx<'_>,
    chain: &PaymentChain,
    target_id: TransactionId,
) -> Result<Change, RuleError> {
    let mut txn = lookup(chain, target_id)?;
    let status = match (txn.transaction_type, txn.status) {
        (TransactionType::Authorize, TransactionStatus::New | TransactionStatus::Pending) => {
            TransactionStatus::Canceled
        }
        (_, TransactionStatus::Authorized) => TransactionStatus::Voided,
        (_, other) => return Err(RuleError::WrongStatus(other.name())),
    };
    let mut change = Change::for_chain(chain, ctx.now);
    if txn.transaction_type == TransactionType::Refund {
        restore_refunded(chain, &mut change, &txn, ctx.now)?;
    }
    if txn.status == TransactionStatus::Authorized && moves_money(&txn) && !is_pull(&txn) {
        release_payout(&mut change, &txn);
    }
    txn.set_status(status, ctx.now);
    txn.pending = Amount::ZERO;
    txn.provider = ProviderStatus::new("SW013", "Canceled");
    for kind in [
        TimerKind::Submit,
        TimerKind::SubmitRtp,
        TimerKind::SubmitFedNow,
        TimerKind::ExpireSession,
        TimerKind::ExpirePreauthorization,
    ] {
        change.timers_done.push(Timer::new(kind, &txn, 0).timer_id);
    }
    ctx.emit(&mut change, &txn, EventType::Cancel, EventExtras::default());
    change.put(txn);
    Ok(change)
}

/// Gives a canceled or returned refund's amount back to the capture it came from. The capture's
/// status follows only while it is still the merchant's (not reversed in the meantime).
pub(crate) fn restore_refunded(
    chain: &PaymentChain,
    change: &mut Change,
    refund: &Transaction,
    now: i64,
) -> Result<(), RuleError> {
    let original_id = refund
        .original_transaction_id
        .ok_or(RuleError::WrongTransactionType("Refund"))?;
    let mut original = lookup(chain, original_id)?;
    original.refunded = original
        .refunded
        .checked_sub(refund.amount)
        .unwrap_or(Amount::ZERO);
    let status = match original.refunded.is_zero() {
        true => TransactionStatus::Completed,
        false => TransactionStatus::PartiallyRefunded,
    };
    let refundable = matches!(
        original.status,
        TransactionStatus::Completed
            | TransactionStatus::PartiallyRefunded
            | TransactionStatus::Refunded
    );
    match refundable {
        true => original.set_status(status, now),
        false => {
            original.updated_at = now;
            original.record_version += 1;
        }
    }
    change.put(original);
    Ok(())
}
