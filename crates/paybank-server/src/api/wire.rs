//! Transaction and Payment objects as the provider serialises them (contract §4).
//!
//! Each object is a typed view that borrows from the domain records and serializes straight
//! into a response body, with no `serde_json::Value` tree in between. The fields of every view
//! are declared in the byte order of their wire names: that is the order in which serde_json
//! prints a `Value` object's keys, so the bytes are the same as those of the `Value` objects
//! these views replaced (the tests hold the old output). Optional fields are left out when
//! absent, except where the wire shows `null`.

use std::fmt::{self, Display};

use paybank_core::codes::TransactionStatus;
use paybank_core::demo_bank::{bank, bank_by_routing};
use paybank_core::ids::{MerchantId, PaymentId, TransactionId};
use paybank_core::manual_entry::{test_bank_verification, TEST_BANK_ROUTING};
use paybank_core::model::{BankAccount, Merchant, PaymentChain, TimestampMs, Transaction};
use paybank_core::money::Amount;
use serde::de::{Deserializer, IgnoredAny, MapAccess, Visitor};
use serde::{Deserialize, Serialize, Serializer};
use serde_json::Value;

/// A value written as a JSON string through its `Display` form, without an owned `String`.
struct Text<T>(T);

impl<T: Display> Serialize for Text<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(&self.0)
    }
}

/// A view as a `Value`, for the callers that still compose `Value` objects.
fn to_value(view: impl Serialize) -> Value {
    serde_json::to_value(view).expect("a wire view has only string keys")
}

/// A Transaction object; its `payment` is the chain's shared Payment.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TransactionView<'a> {
    amount: Text<Amount>,
    balance: Text<Amount>,
    #[serde(skip_serializing_if = "Option::is_none")]
    completed_at: Option<TimestampMs>,
    created_at: TimestampMs,
    currency: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    error_code: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    expired_at: Option<TimestampMs>,
    ip: &'a str,
    merchant_reference: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    original_transaction_id: Option<Text<TransactionId>>,
    paid: Text<Amount>,
    payment: PaymentView<'a>,
    payment_provider_transaction: ProviderTransactionView<'a>,
    pending: Text<Amount>,
    pre_authorized: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    processed_at: Option<TimestampMs>,
    record_version: i64,
    refunded: Text<Amount>,
    reversed: Text<Amount>,
    status: u8,
    #[serde(skip_serializing_if = "Option::is_none")]
    status_code: Option<&'a str>,
    status_message: &'static str,
    time_zone: &'static str,
    transaction_id: Text<TransactionId>,
    transaction_type: u8,
    updated_at: TimestampMs,
}

impl<'a> TransactionView<'a> {
    pub fn new(
        merchant: &'a Merchant,
        chain: &'a PaymentChain,
        txn: &'a Transaction,
    ) -> TransactionView<'a> {
        TransactionView {
            amount: Text(txn.amount),
            balance: Text(txn.balance()),
            completed_at: txn.completed_at,
            created_at: txn.created_at,
            currency: &txn.currency,
            error_code: txn.error_code,
            expired_at: txn.expired_at,
            ip: &txn.ip,
            merchant_reference: &txn.merchant_reference,
            original_transaction_id: txn.original_transaction_id.map(Text),
            paid: Text(txn.paid),
            payment: PaymentView::new(merchant, chain),
            payment_provider_transaction: ProviderTransactionView::new(txn),
            pending: Text(txn.pending),
            pre_authorized: txn.pre_authorized,
            processed_at: txn.processed_at,
            record_version: txn.record_version,
            refunded: Text(txn.refunded),
            reversed: Text(txn.reversed),
            status: txn.status.code(),
            status_code: Some(txn.provider.status.as_str()).filter(|status| !status.is_empty()),
            status_message: txn.status.name(),
            time_zone: "Etc/UTC",
            transaction_id: Text(txn.transaction_id),
            transaction_type: txn.transaction_type.code(),
            updated_at: txn.updated_at,
        }
    }
}

/// `{"transaction": …}`: the answer of the operations that create or change a transaction.
#[derive(Serialize)]
pub struct TransactionAnswer<'a> {
    pub transaction: TransactionView<'a>,
}

/// `{"transaction": …, "url": …}` of `GET /transactions/{id}`; `url` is `null` when the
/// transaction has no Lightbox to go back to.
#[derive(Serialize)]
pub struct TransactionRead<'a> {
    pub transaction: TransactionView<'a>,
    pub url: Option<String>,
}

/// One page of `GET /transactions`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TransactionPage<'a> {
    pub items_per_page: i64,
    pub start_index: i64,
    pub transactions: Vec<TransactionView<'a>>,
}

/// A Transaction object as a `Value`.
pub fn transaction_json(merchant: &Merchant, chain: &PaymentChain, txn: &Transaction) -> Value {
    to_value(TransactionView::new(merchant, chain, txn))
}

/// `paymentProviderTransaction`: the payment provider's view of a transaction.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ProviderTransactionView<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    extended_reason: Option<ExtendedReasonView<'a>>,
    payment_provider_transaction_id: Text<TransactionId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason_code: Option<&'a str>,
    status: &'a str,
    status_message: &'a str,
}

#[derive(Serialize)]
struct ExtendedReasonView<'a> {
    code: &'a str,
}

impl<'a> ProviderTransactionView<'a> {
    fn new(txn: &'a Transaction) -> ProviderTransactionView<'a> {
        let provider = &txn.provider;
        ProviderTransactionView {
            extended_reason: provider
                .extended_reason_code
                .as_deref()
                .map(|code| ExtendedReasonView { code }),
            payment_provider_transaction_id: Text(txn.transaction_id),
            reason_code: provider.reason_code.as_deref(),
            status: &provider.status,
            status_message: &provider.status_message,
        }
    }
}

/// The Payment object shared by an authorization and its children.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PaymentView<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    account: Option<AccountView<'a>>,
    allowed_payment_provider_type: [u8; 1],
    amount: Text<Amount>,
    auth: AuthView,
    authorization_status: u8,
    authorization_status_message: &'static str,
    balance: Text<Amount>,
    cancel_url: &'a str,
    country: &'static str,
    created_at: TimestampMs,
    currency: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    customer: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<&'a str>,
    fingerprint: &'a str,
    merchant: MerchantView<'a>,
    merchant_id: Text<MerchantId>,
    merchant_reference: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    notification_url: Option<&'a str>,
    paid: Text<Amount>,
    payment_flow: u8,
    payment_id: Text<PaymentId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    payment_provider: Option<PaymentProviderView<'a>>,
    payment_provider_subtype: u16,
    payment_type: u8,
    pending: Text<Amount>,
    record_version: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    recurrence: Option<Value>,
    refunded: Text<Amount>,
    return_url: &'a str,
    reversed: Text<Amount>,
    system: u8,
    updated_at: TimestampMs,
    verification: PaymentVerificationView,
}

/// `payment.auth`.
#[derive(Serialize)]
struct AuthView {
    message: &'static str,
    status: u8,
}

/// `payment.merchant`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct MerchantView<'a> {
    merchant_id: Text<MerchantId>,
    name: &'a str,
}

/// `payment.verification`: paybank does not verify customers.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PaymentVerificationView {
    status: u8,
    verify_customer: bool,
}

impl<'a> PaymentView<'a> {
    pub fn new(merchant: &'a Merchant, chain: &'a PaymentChain) -> PaymentView<'a> {
        let payment = &chain.payment;
        let authorization = chain.authorization();
        let totals = chain.totals();
        let echo: Echo = serde_json::from_str(&payment.establish_json).unwrap_or_default();
        let account = payment.account.as_ref();
        PaymentView {
            account: account.map(AccountView::new),
            allowed_payment_provider_type: [1],
            amount: Text(payment.amount),
            auth: AuthView {
                message: authorization.status.name(),
                status: auth_status(authorization.status),
            },
            authorization_status: authorization.status.code(),
            authorization_status_message: authorization.status.name(),
            balance: Text(totals.balance()),
            cancel_url: &payment.cancel_url,
            country: "US",
            created_at: payment.created_at,
            currency: &payment.currency,
            customer: echo.customer,
            description: payment.description.as_deref(),
            fingerprint: account.map_or("", |account| account.token.as_str()),
            merchant: MerchantView {
                merchant_id: Text(merchant.merchant_id),
                name: &merchant.name,
            },
            merchant_id: Text(merchant.merchant_id),
            merchant_reference: &payment.merchant_reference,
            notification_url: payment.notification_url.as_deref(),
            paid: Text(totals.paid),
            payment_flow: 1,
            payment_id: Text(payment.payment_id),
            payment_provider: account.map(PaymentProviderView::new),
            payment_provider_subtype: provider_subtype(account),
            payment_type: payment.payment_type.code(),
            pending: Text(totals.pending),
            record_version: payment.record_version,
            recurrence: echo.recurrence,
            refunded: Text(totals.refunded),
            return_url: &payment.return_url,
            reversed: Text(totals.reversed),
            system: 1,
            updated_at: payment.updated_at,
            verification: PaymentVerificationView {
                status: 1,
                verify_customer: false,
            },
        }
    }
}

/// The Payment object as a `Value`.
pub fn payment_json(merchant: &Merchant, chain: &PaymentChain) -> Value {
    to_value(PaymentView::new(merchant, chain))
}

/// The two keys of the stored establish data that a Payment echoes, `customer` and
/// `recurrence`, read without building the rest of the object.
///
/// It reads like a `Map<String, Value>` would: only a JSON object, a later duplicate key wins,
/// and a key present as `null` is echoed as `null`. Its text is what `establish.rs` wrote by
/// printing a `Value`, so the echoed `Value`s print as they did when the whole map was parsed.
#[derive(Default)]
struct Echo {
    customer: Option<Value>,
    recurrence: Option<Value>,
}

#[derive(Deserialize)]
#[serde(field_identifier, rename_all = "lowercase")]
enum EchoKey {
    Customer,
    Recurrence,
    #[serde(other)]
    Other,
}

impl<'de> Deserialize<'de> for Echo {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Echo, D::Error> {
        deserializer.deserialize_map(EchoVisitor)
    }
}

struct EchoVisitor;

impl<'de> Visitor<'de> for EchoVisitor {
    type Value = Echo;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("the establish data object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Echo, A::Error> {
        let mut echo = Echo::default();
        while let Some(key) = map.next_key()? {
            match key {
                EchoKey::Customer => echo.customer = Some(map.next_value()?),
                EchoKey::Recurrence => echo.recurrence = Some(map.next_value()?),
                EchoKey::Other => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(echo)
    }
}

/// `payment.auth.status` numbering (contract §3): 1 Pending … 7 Voided.
fn auth_status(status: TransactionStatus) -> u8 {
    match status {
        TransactionStatus::New | TransactionStatus::Pending => 1,
        TransactionStatus::Authorized | TransactionStatus::OnHold => 2,
        TransactionStatus::Expired => 4,
        TransactionStatus::Failed | TransactionStatus::Denied => 5,
        TransactionStatus::Canceled => 6,
        TransactionStatus::Voided => 7,
        _ => 3,
    }
}

/// `paymentProvider`: the bank that holds an account.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PaymentProviderView<'a> {
    country: &'static str,
    instant_payout_available: bool,
    name: &'a str,
    payment_provider_id: &'a str,
    sub_type: u16,
    r#type: u8,
}

impl<'a> PaymentProviderView<'a> {
    pub fn new(account: &'a BankAccount) -> PaymentProviderView<'a> {
        // Looked up by bank id, then routing number: manual-entry accounts carry only the latter.
        let bank = bank(&account.bank_id).or_else(|| bank_by_routing(&account.routing_number));
        PaymentProviderView {
            country: "US",
            instant_payout_available: bank.is_some_and(|bank| bank.rtp || bank.fednow),
            name: &account.bank_name,
            payment_provider_id: &account.bank_id,
            sub_type: provider_subtype(Some(account)),
            r#type: match account.manual_entry {
                true => 2,
                false => 1,
            },
        }
    }
}

/// `paymentProvider` as a `Value`.
pub fn provider_of(account: &BankAccount) -> Value {
    to_value(PaymentProviderView::new(account))
}

/// 1000 Online Banking; 2000 Manual Entry (MEC).
fn provider_subtype(account: Option<&BankAccount>) -> u16 {
    match account.is_some_and(|account| account.manual_entry) {
        true => 2000,
        false => 1000,
    }
}

/// `account.verification`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct AccountVerificationView {
    has_enough_funds: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    score: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    third_party_score: Option<u16>,
    r#type: u8,
    verified: bool,
}

impl AccountVerificationView {
    /// An online-banking login verifies the account (type 2, Online Banking). Hand-entered
    /// details are verified only as far as the test bank's scores say (type 1, Manual);
    /// elsewhere paybank has not seen the account, so it is not verified.
    fn new(account: &BankAccount) -> AccountVerificationView {
        if !account.manual_entry {
            return AccountVerificationView {
                has_enough_funds: !account.available.is_zero(),
                score: None,
                third_party_score: None,
                r#type: 2,
                verified: true,
            };
        }
        let found = match account.routing_number == TEST_BANK_ROUTING {
            true => test_bank_verification(&account.account_number).ok(),
            false => None,
        };
        AccountVerificationView {
            has_enough_funds: false,
            score: found.map(|found| found.score),
            third_party_score: found.and_then(|found| found.third_party_score),
            r#type: 1,
            verified: found.is_some_and(|found| found.verified),
        }
    }
}

/// The account the consumer chose. Only the last four digits of the number are shown.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct AccountView<'a> {
    account_number: &'a str,
    account_number_last_four: &'a str,
    country: &'static str,
    name: &'a str,
    name_on_account: &'a str,
    payment_provider: PaymentProviderView<'a>,
    profile: u8,
    provider_id: &'a str,
    routing_number: &'a str,
    source: u8,
    token: &'a str,
    r#type: u8,
    verification: AccountVerificationView,
    verified: bool,
}

impl<'a> AccountView<'a> {
    fn new(account: &'a BankAccount) -> AccountView<'a> {
        let verification = AccountVerificationView::new(account);
        let last_four = last_four(&account.account_number);
        AccountView {
            account_number: last_four,
            account_number_last_four: last_four,
            country: "US",
            name: &account.account_name,
            name_on_account: &account.name_on_account,
            payment_provider: PaymentProviderView::new(account),
            profile: 1,
            provider_id: &account.bank_id,
            routing_number: &account.routing_number,
            source: 1,
            token: &account.token,
            r#type: account.account_type,
            verified: verification.verified,
            verification,
        }
    }
}

/// The last four characters of `text`, or all of it when it is shorter.
fn last_four(text: &str) -> &str {
    text.char_indices()
        .rev()
        .nth(3)
        .map_or(text, |(start, _)| &text[start..])
}

#[cfg(test)]
mod tests;
