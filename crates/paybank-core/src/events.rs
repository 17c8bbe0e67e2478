//! Event notifications: the event types and the exact, ordered parameters of each webhook.

use std::borrow::Cow;

use crate::ids::{EventId, MerchantId, PaymentId, TransactionId};
use crate::model::{Merchant, Payment, TimestampMs, Transaction};

/// `eventType`, spelled as contract §5 recommends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventType {
    Establish,
    Update,
    Authorize,
    Process,
    Complete,
    Fail,
    Deny,
    Cancel,
    Expire,
    Refund,
    Reverse,
    Refresh,
}

impl EventType {
    pub fn name(self) -> &'static str {
        match self {
            Self::Establish => "Establish",
            Self::Update => "Update",
            Self::Authorize => "Authorize",
            Self::Process => "Process",
            Self::Complete => "Complete",
            Self::Fail => "Fail",
            Self::Deny => "Deny",
            Self::Cancel => "Cancel",
            Self::Expire => "Expire",
            Self::Refund => "Refund",
            Self::Reverse => "Reverse",
            Self::Refresh => "Refresh",
        }
    }
}

/// One parameter of an event's body, name and value. Most names and some values are constants,
/// borrowed rather than copied: an event has about seventeen parameters, and owned they were
/// half of a capture's allocations on the runtime's worker.
pub type EventParam = (Cow<'static, str>, Cow<'static, str>);

/// An event waiting in the outbox. `params` is the body in the order it is sent and signed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutboxEvent {
    pub event_id: EventId,
    pub merchant_id: MerchantId,
    pub payment_id: PaymentId,
    pub transaction_id: TransactionId,
    pub event_type: String,
    pub params: Vec<EventParam>,
    /// Where it goes: the payment's `notificationUrl` if given, else the merchant's.
    pub notification_url: Option<String>,
    pub created_at: TimestampMs,
}

/// Parameters only some events carry, appended after the common ones.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EventExtras {
    pub split_token: Option<String>,
    pub fi_name: Option<String>,
    pub message: Option<String>,
    pub refresh_success: Option<bool>,
}

/// Builds an event about `txn` with the documented parameter order (contract §5 example).
pub fn build_event(
    merchant: &Merchant,
    payment: &Payment,
    txn: &Transaction,
    event_type: EventType,
    event_id: EventId,
    extras: EventExtras,
    now: TimestampMs,
) -> OutboxEvent {
    let mut params: Vec<EventParam> = Vec::with_capacity(24);
    let mut push = |key: &'static str, value: Cow<'static, str>| params.push((key.into(), value));
    push("merchantId", decimal(merchant.merchant_id.0));
    push("merchantReference", txn.merchant_reference.clone().into());
    push("paymentType", decimal(payment.payment_type.code()));
    push("transactionType", decimal(txn.transaction_type.code()));
    push("eventId", decimal(event_id.0));
    push("eventType", event_type.name().into());
    push("objectId", decimal(txn.transaction_id.0));
    push("objectType", "Transaction".into());
    if let Some(parent_id) = txn.original_transaction_id {
        push("parentObjectId", decimal(parent_id.0));
    }
    push("message", extras.message.unwrap_or_default().into());
    push("timeZone", "Etc/UTC".into());
    push("createdAt", decimal(now));
    push("accessId", merchant.access_id.clone().into());
    push_provider_params(&mut push, txn);
    push("status", decimal(txn.status.code()));
    push("statusMessage", txn.status.name().into());
    if let Some(error_code) = txn.error_code {
        push("errorCode", decimal(error_code));
    }
    if let Some(split_token) = extras.split_token {
        push("splitToken", split_token.into());
    }
    if let Some(fi_name) = extras.fi_name {
        push("fiName", fi_name.into());
    }
    if let Some(success) = extras.refresh_success {
        push("hardRefresh", "false".into());
        push("refreshPurpose", "SplitToken".into());
        push("success", if success { "true" } else { "false" }.into());
    }
    OutboxEvent {
        event_id,
        merchant_id: merchant.merchant_id,
        payment_id: payment.payment_id,
        transaction_id: txn.transaction_id,
        event_type: event_type.name().to_owned(),
        params,
        notification_url: payment
            .notification_url
            .clone()
            .or_else(|| merchant.notification_url.clone()),
        created_at: now,
    }
}

/// A number's decimal digits. Through `itoa`, not `to_string`: `core::fmt`'s machinery was most
/// of the cost of an event's half-dozen numbers, built for every event of every capture.
fn decimal(number: impl itoa::Integer) -> Cow<'static, str> {
    itoa::Buffer::new().format(number).to_owned().into()
}

fn push_provider_params(push: &mut impl FnMut(&'static str, Cow<'static, str>), txn: &Transaction) {
    let provider = &txn.provider;
    if provider.status.is_empty() {
        return;
    }
    push(
        "paymentProviderTransaction.status",
        provider.status.clone().into(),
    );
    push(
        "paymentProviderTransaction.statusMessage",
        provider.status_message.clone().into(),
    );
    if let Some(reason_code) = &provider.reason_code {
        push(
            "paymentProviderTransaction.reasonCode",
            reason_code.clone().into(),
        );
    }
    if let Some(extended) = &provider.extended_reason_code {
        push(
            "paymentProviderTransaction.extendedReason.code",
            extended.clone().into(),
        );
    }
}
