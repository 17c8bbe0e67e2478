//! Event notifications: the event types and the exact, ordered parameters of each webhook.

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

/// An event waiting in the outbox. `params` is the body in the order it is sent and signed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutboxEvent {
    pub event_id: EventId,
    pub merchant_id: MerchantId,
    pub payment_id: PaymentId,
    pub transaction_id: TransactionId,
    pub event_type: String,
    pub params: Vec<(String, String)>,
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
    let mut params: Vec<(String, String)> = Vec::with_capacity(24);
    let mut push = |key: &str, value: String| params.push((key.to_owned(), value));
    push("merchantId", decimal(merchant.merchant_id.0));
    push("merchantReference", txn.merchant_reference.clone());
    push("paymentType", decimal(payment.payment_type.code()));
    push("transactionType", decimal(txn.transaction_type.code()));
    push("eventId", decimal(event_id.0));
    push("eventType", event_type.name().to_owned());
    push("objectId", decimal(txn.transaction_id.0));
    push("objectType", "Transaction".to_owned());
    if let Some(parent_id) = txn.original_transaction_id {
        push("parentObjectId", decimal(parent_id.0));
    }
    push("message", extras.message.unwrap_or_default());
    push("timeZone", "Etc/UTC".to_owned());
    push("createdAt", decimal(now));
    push("accessId", merchant.access_id.clone());
    push_provider_params(&mut push, txn);
    push("status", decimal(txn.status.code()));
    push("statusMessage", txn.status.name().to_owned());
    if let Some(error_code) = txn.error_code {
        push("errorCode", decimal(error_code));
    }
    if let Some(split_token) = extras.split_token {
        push("splitToken", split_token);
    }
    if let Some(fi_name) = extras.fi_name {
        push("fiName", fi_name);
    }
    if let Some(success) = extras.refresh_success {
        push("hardRefresh", "false".to_owned());
        push("refreshPurpose", "SplitToken".to_owned());
        push("success", success.to_string());
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
fn decimal(number: impl itoa::Integer) -> String {
    itoa::Buffer::new().format(number).to_owned()
}

fn push_provider_params(push: &mut impl FnMut(&str, String), txn: &Transaction) {
    let provider = &txn.provider;
    if provider.status.is_empty() {
        return;
    }
    push("paymentProviderTransaction.status", provider.status.clone());
    push(
        "paymentProviderTransaction.statusMessage",
        provider.status_message.clone(),
    );
    if let Some(reason_code) = &provider.reason_code {
        push("paymentProviderTransaction.reasonCode", reason_code.clone());
    }
    if let Some(extended) = &provider.extended_reason_code {
        push(
            "paymentProviderTransaction.extendedReason.code",
            extended.clone(),
        );
    }
}
