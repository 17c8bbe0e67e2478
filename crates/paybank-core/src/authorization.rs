//! Bank authorizations: establish, the Lightbox's effects on the transaction, void and refresh.

use std::sync::Arc;

use crate::change::{Change, ReferenceClaim, Timer, TimerKind};
use crate::codes::{PaymentType, TransactionStatus, TransactionType};
use crate::events::{EventExtras, EventType};
use crate::ids::{PaymentId, TransactionId};
use crate::model::{
    BankAccount, ChainTotals, Payment, PaymentChain, ProviderStatus, SplitToken, TimestampMs,
    Transaction,
};
use crate::money::Amount;
use crate::rules::{Ctx, RuleError};
use crate::split_token::split_token_hash;

/// A validated establish request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EstablishRequest {
    pub payment_type: PaymentType,
    pub merchant_reference: String,
    pub currency: String,
    pub amount: Amount,
    pub description: Option<String>,
    pub return_url: String,
    pub cancel_url: String,
    pub notification_url: Option<String>,
    pub establish_json: String,
    pub ip: String,
}

/// How the consumer's bank login went, as far as the payment is concerned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuthorizationGrant {
    pub account: BankAccount,
    /// The raw token to deliver in the Authorize event; None when split tokens are off.
    pub split_token: Option<String>,
    /// Sandbox `ExpiredSplitToken`: the token is born expired and cannot be refreshed.
    pub split_token_expired: bool,
    pub decline_next_capture: Option<String>,
}

/// Creates the payment and its authorization (New), with an Establish event and the timer that
/// expires the Lightbox session.
pub fn establish(ctx: &mut Ctx<'_>, request: EstablishRequest) -> Change {
    let payment_id = ctx.ids.payment_id();
    let authorization_id = ctx.ids.transaction_id();
    let authorization = new_authorization(ctx, &request, payment_id, authorization_id);
    let payment = Payment {
        payment_id,
        merchant_id: ctx.merchant.merchant_id,
        payment_type: request.payment_type,
        merchant_reference: request.merchant_reference,
        currency: request.currency,
        amount: request.amount,
        description: request.description,
        return_url: request.return_url,
        cancel_url: request.cancel_url,
        notification_url: request.notification_url,
        establish_json: request.establish_json,
        authorization_id,
        account: None,
        split_token: None,
        decline_next_capture: None,
        created_at: ctx.now,
        updated_at: ctx.now,
        record_version: 1,
        totals: ChainTotals::default(),
    };
    let session_expires_at = ctx.now + ctx.policy.lightbox_session_ttl_ms;
    let mut change = Change {
        payment: payment.clone(),
        expected_version: None,
        transactions: Vec::new(),
        postings: Vec::new(),
        events: Vec::new(),
        timers: vec![Timer::new(
            TimerKind::ExpireSession,
            &authorization,
            session_expires_at,
        )],
        timers_done: Vec::new(),
        reference_claims: Vec::new(),
        ach_entries: Vec::new(),
        rail_jobs: Vec::new(),
        balance_floors: Vec::new(),
        earlier_totals: Vec::new(),
    };
    ctx.emit(
        &mut change,
        &authorization,
        EventType::Establish,
        EventExtras::default(),
    );
    change.put(authorization);
    change
}

/// A payment whose account the merchant already holds (a Disbursement with account details):
/// established and authorized in one change, with no Lightbox session. The merchant sees the
/// same Establish then Authorize events a Lightbox authorization gives.
pub fn establish_authorized(
    ctx: &mut Ctx<'_>,
    request: EstablishRequest,
    grant: AuthorizationGrant,
) -> Result<Change, RuleError> {
    let established = establish(ctx, request);
    let chain = PaymentChain::from_new(&established);
    let mut authorized = complete_authorization(ctx, &chain, grant)?;
    authorized.expected_version = None;
    let mut events = established.events;
    events.append(&mut authorized.events);
    authorized.events = events;
    // The session timer was never written, so there is nothing to retire.
    let session_timers: Vec<_> = established.timers.iter().map(|t| &t.timer_id).collect();
    authorized
        .timers_done
        .retain(|id| !session_timers.contains(&id));
    Ok(authorized)
}

fn new_authorization(
    ctx: &Ctx<'_>,
    request: &EstablishRequest,
    payment_id: PaymentId,
    authorization_id: TransactionId,
) -> Transaction {
    Transaction {
        transaction_id: authorization_id,
        payment_id,
        merchant_id: ctx.merchant.merchant_id,
        transaction_type: TransactionType::Authorize,
        original_transaction_id: None,
        status: TransactionStatus::New,
        merchant_reference: request.merchant_reference.clone(),
        currency: request.currency.clone(),
        amount: request.amount,
        pending: Amount::ZERO,
        paid: Amount::ZERO,
        refunded: Amount::ZERO,
        reversed: Amount::ZERO,
        provider: ProviderStatus::new("SW010", "Established"),
        error_code: None,
        ip: request.ip.clone(),
        created_at: ctx.now,
        updated_at: ctx.now,
        processed_at: None,
        completed_at: None,
        expired_at: None,
        pre_authorized: false,
        rail: None,
        record_version: 1,
    }
}

fn open_authorization(chain: &PaymentChain) -> Result<Transaction, RuleError> {
    let authorization = chain.authorization().clone();
    match authorization.status {
        TransactionStatus::New | TransactionStatus::Pending => Ok(authorization),
        other => Err(RuleError::WrongStatus(other.name())),
    }
}

/// The consumer picked a bank: New becomes Pending, with an Update event naming the bank.
/// Returns None when the authorization is already Pending (nothing to write).
pub fn start_authorization(
    ctx: &mut Ctx<'_>,
    chain: &PaymentChain,
    bank_name: &str,
) -> Result<Option<Change>, RuleError> {
    let mut authorization = open_authorization(chain)?;
    if authorization.status == TransactionStatus::Pending {
        return Ok(None);
    }
    let mut change = Change::for_chain(chain, ctx.now);
    authorization.set_status(TransactionStatus::Pending, ctx.now);
    let extras = EventExtras {
        fi_name: Some(bank_name.to_owned()),
        ..EventExtras::default()
    };
    ctx.emit(&mut change, &authorization, EventType::Update, extras);
    change.put(authorization);
    Ok(Some(change))
}

/// The consumer authorized at the bank: Authorized, with the split token in the Authorize event.
pub fn complete_authorization(
    ctx: &mut Ctx<'_>,
    chain: &PaymentChain,
    grant: AuthorizationGrant,
) -> Result<Change, RuleError> {
    let mut authorization = open_authorization(chain)?;
    let mut change = Change::for_chain(chain, ctx.now);
    change.payment.split_token = grant.split_token.as_deref().map(|token| SplitToken {
        hash_hex: split_token_hash(token),
        expires_at: match grant.split_token_expired {
            true => ctx.now,
            false => ctx.now + ctx.policy.split_token_ttl_ms,
        },
        refreshable: !grant.split_token_expired,
    });
    change.payment.decline_next_capture = grant.decline_next_capture;
    let fi_name = grant.account.bank_name.clone();
    change.payment.account = Some(Arc::new(grant.account));
    authorization.set_status(TransactionStatus::Authorized, ctx.now);
    authorization.provider = ProviderStatus::new("SW020", "Authorization received");
    change.reference_claims.push(ReferenceClaim {
        merchant_id: authorization.merchant_id,
        transaction_type: authorization.transaction_type.code(),
        merchant_reference: authorization.merchant_reference.clone(),
        transaction_id: authorization.transaction_id,
    });
    change
        .timers_done
        .push(Timer::new(TimerKind::ExpireSession, &authorization, 0).timer_id);
    let extras = EventExtras {
        split_token: grant.split_token,
        fi_name: Some(fi_name),
        ..EventExtras::default()
    };
    ctx.emit(&mut change, &authorization, EventType::Authorize, extras);
    crate::autocapture::on_authorized(ctx, &mut change, &authorization);
    change.put(authorization);
    Ok(change)
}

/// The consumer left the Lightbox: Canceled, with the page they left on as a UC code.
pub fn cancel_authorization(
    ctx: &mut Ctx<'_>,
    chain: &PaymentChain,
    user_cancel_code: &str,
) -> Result<Change, RuleError> {
    close_authorization(ctx, chain, TransactionStatus::Canceled, user_cancel_code)
}

/// The Lightbox session ran out before the consumer finished: Expired.
pub fn expire_authorization(ctx: &mut Ctx<'_>, chain: &PaymentChain) -> Result<Change, RuleError> {
    close_authorization(ctx, chain, TransactionStatus::Expired, "SW011")
}

fn close_authorization(
    ctx: &mut Ctx<'_>,
    chain: &PaymentChain,
    status: TransactionStatus,
    provider_code: &str,
) -> Result<Change, RuleError> {
    let mut authorization = open_authorization(chain)?;
    let mut change = Change::for_chain(chain, ctx.now);
    authorization.set_status(status, ctx.now);
    let message = match status {
        TransactionStatus::Expired => "Session expired",
        _ => "User canceled",
    };
    authorization.provider = ProviderStatus::new(provider_code, message);
    change
        .timers_done
        .push(Timer::new(TimerKind::ExpireSession, &authorization, 0).timer_id);
    let event_type = match status {
        TransactionStatus::Expired => EventType::Expire,
        _ => EventType::Cancel,
    };
    ctx.emit(
        &mut change,
        &authorization,
        event_type,
        EventExtras::default(),
    );
    change.put(authorization);
    Ok(change)
}

/// Checks the split token a merchant sent against the stored hash.
pub fn check_split_token(
    payment: &Payment,
    provided: Option<&str>,
    now: TimestampMs,
) -> Result<(), SplitTokenFailure> {
    let Some(stored) = &payment.split_token else {
        return Ok(());
    };
    let provided = provided
        .filter(|token| !token.is_empty())
        .ok_or(SplitTokenFailure::Missing)?;
    if split_token_hash(provided) != stored.hash_hex {
        return Err(SplitTokenFailure::Invalid);
    }
    if now >= stored.expires_at {
        return Err(SplitTokenFailure::Expired);
    }
    Ok(())
}

/// Why a split token was not accepted, with the codes of contract §3.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SplitTokenFailure {
    Missing,
    Invalid,
    Expired,
}

impl SplitTokenFailure {
    pub fn error_code(self) -> u16 {
        match self {
            Self::Missing => 397,
            Self::Invalid => 380,
            Self::Expired => 326,
        }
    }

    pub fn provider_status(self) -> ProviderStatus {
        match self {
            Self::Missing => ProviderStatus::new("SW051", "splitToken is not valid"),
            Self::Invalid => ProviderStatus::new("SW051", "Invalid split token"),
            Self::Expired => ProviderStatus::new("SW057", "Expired split token"),
        }
    }
}

/// `POST /refresh`: renews the split token's life if the token matches, with a Refresh event.
/// Returns the change and whether the refresh succeeded.
pub fn refresh(
    ctx: &mut Ctx<'_>,
    chain: &PaymentChain,
    provided: Option<&str>,
) -> Result<(Change, bool), RuleError> {
    let authorization = chain.authorization().clone();
    if authorization.status != TransactionStatus::Authorized {
        return Err(RuleError::WrongStatus(authorization.status.name()));
    }
    match check_split_token(&chain.payment, provided, ctx.now) {
        Err(SplitTokenFailure::Missing) => return Err(RuleError::SplitTokenMissing),
        Err(SplitTokenFailure::Invalid) => return Err(RuleError::SplitTokenInvalid),
        Ok(()) | Err(SplitTokenFailure::Expired) => {}
    }
    let mut change = Change::for_chain(chain, ctx.now);
    let mut success = true;
    if let Some(token) = change.payment.split_token.as_mut() {
        success = token.refreshable;
        if success {
            token.expires_at = ctx.now + ctx.policy.split_token_ttl_ms;
        }
    }
    let extras = EventExtras {
        refresh_success: Some(success),
        ..EventExtras::default()
    };
    ctx.emit(&mut change, &authorization, EventType::Refresh, extras);
    Ok((change, success))
}
