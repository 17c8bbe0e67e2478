//! Transaction and Payment objects as the provider serialises them (contract §4).
//!
//! Each object is a view that borrows the domain records and writes itself straight into a
//! response body (`wire/json.rs`), with no `serde_json::Value` tree in between. Every view
//! writes its fields in the byte order of their wire names: that is the order in which
//! serde_json prints a `Value` object's keys, so the bytes are the same as those of the `Value`
//! objects these views replaced (the tests hold the old output). Optional fields are left out
//! when absent, except where the wire shows `null`.

mod json;

use std::fmt;

use paybank_core::codes::TransactionStatus;
use paybank_core::demo_bank::{bank, bank_by_routing};
use paybank_core::manual_entry::{test_bank_verification, TEST_BANK_ROUTING};
use paybank_core::model::{BankAccount, Merchant, PaymentChain, Transaction};
use serde::de::{Deserializer, IgnoredAny, MapAccess, Visitor};
use serde::Deserialize;
use serde_json::Value;

use json::Object;
pub use json::WriteJson;

/// A Transaction object; its `payment` is the chain's shared Payment.
pub struct TransactionView<'a> {
    txn: &'a Transaction,
    payment: PaymentView<'a>,
}

impl<'a> TransactionView<'a> {
    pub fn new(
        merchant: &'a Merchant,
        chain: &'a PaymentChain,
        txn: &'a Transaction,
    ) -> TransactionView<'a> {
        TransactionView {
            txn,
            payment: PaymentView::new(merchant, chain),
        }
    }
}

impl WriteJson for TransactionView<'_> {
    fn write_json(&self, out: &mut Vec<u8>) {
        let txn = self.txn;
        let mut object = Object::new(out);
        object.amount("amount", txn.amount);
        object.amount("balance", txn.balance());
        object.opt_int("completedAt", txn.completed_at);
        object.int("createdAt", txn.created_at);
        object.str("currency", &txn.currency);
        object.opt_int("errorCode", txn.error_code);
        object.opt_int("expiredAt", txn.expired_at);
        object.str("ip", &txn.ip);
        object.str("merchantReference", &txn.merchant_reference);
        if let Some(original) = txn.original_transaction_id {
            object.id("originalTransactionId", original.0);
        }
        object.amount("paid", txn.paid);
        object.field("payment", &self.payment);
        object.field("paymentProviderTransaction", &ProviderTransactionView(txn));
        object.amount("pending", txn.pending);
        object.bool("preAuthorized", txn.pre_authorized);
        object.opt_int("processedAt", txn.processed_at);
        object.int("recordVersion", txn.record_version);
        object.amount("refunded", txn.refunded);
        object.amount("reversed", txn.reversed);
        object.int("status", txn.status.code());
        let status_code = Some(txn.provider.status.as_str()).filter(|status| !status.is_empty());
        object.opt_str("statusCode", status_code);
        object.str("statusMessage", txn.status.name());
        object.str("timeZone", "Etc/UTC");
        object.id("transactionId", txn.transaction_id.0);
        object.int("transactionType", txn.transaction_type.code());
        object.int("updatedAt", txn.updated_at);
        object.finish();
    }
}

/// `{"transaction": …}`: the answer of the operations that create or change a transaction.
pub struct TransactionAnswer<'a> {
    pub transaction: TransactionView<'a>,
}

impl WriteJson for TransactionAnswer<'_> {
    fn write_json(&self, out: &mut Vec<u8>) {
        let mut object = Object::new(out);
        object.field("transaction", &self.transaction);
        object.finish();
    }
}

/// `{"transaction": …, "url": …}` of `GET /transactions/{id}`; `url` is `null` when the
/// transaction has no Lightbox to go back to.
pub struct TransactionRead<'a> {
    pub transaction: TransactionView<'a>,
    pub url: Option<String>,
}

impl WriteJson for TransactionRead<'_> {
    fn write_json(&self, out: &mut Vec<u8>) {
        let mut object = Object::new(out);
        object.field("transaction", &self.transaction);
        match &self.url {
            Some(url) => object.str("url", url),
            None => object.raw("url", "null"),
        }
        object.finish();
    }
}

/// `{"redirectUrl": …, "transaction": …}` of the sandbox's headless authorization;
/// `redirectUrl` is `null` when the establish gave none.
pub struct AuthorizedAnswer<'a> {
    pub redirect_url: Option<&'a str>,
    pub transaction: TransactionView<'a>,
}

impl WriteJson for AuthorizedAnswer<'_> {
    fn write_json(&self, out: &mut Vec<u8>) {
        let mut object = Object::new(out);
        match self.redirect_url {
            Some(url) => object.str("redirectUrl", url),
            None => object.raw("redirectUrl", "null"),
        }
        object.field("transaction", &self.transaction);
        object.finish();
    }
}

/// The establish answer: the establish data's fields, the same object again under
/// `establishData`, and the Transaction object under `transaction`; those two replace fields of
/// the data with their names. The fields go in the byte order of their names, as the `Value`
/// object this replaced printed them.
pub struct EstablishAnswer<'a> {
    /// The request's fields with the ones the establish adds (`transactionId`, …).
    pub data: &'a serde_json::Map<String, Value>,
    pub transaction: TransactionView<'a>,
}

impl WriteJson for EstablishAnswer<'_> {
    fn write_json(&self, out: &mut Vec<u8>) {
        let mut object = Object::new(out);
        let mut added = ["establishData", "transaction"].into_iter().peekable();
        for (name, value) in self.data {
            while let Some(next) = added.next_if(|next| *next < name.as_str()) {
                self.write_added(&mut object, next);
            }
            if added.peek() != Some(&name.as_str()) {
                object.named_value(name, value);
            }
        }
        for next in added {
            self.write_added(&mut object, next);
        }
        object.finish();
    }
}

impl EstablishAnswer<'_> {
    fn write_added(&self, object: &mut Object<'_>, name: &'static str) {
        match name {
            "establishData" => object.field(name, &DataView(self.data)),
            _ => object.field(name, &self.transaction),
        }
    }
}

/// A `Value` object written as serde_json writes it.
struct DataView<'a>(&'a serde_json::Map<String, Value>);

impl WriteJson for DataView<'_> {
    fn write_json(&self, out: &mut Vec<u8>) {
        serde_json::to_writer(out, self.0).expect("writing to memory cannot fail");
    }
}

/// One page of `GET /transactions`.
pub struct TransactionPage<'a> {
    pub items_per_page: i64,
    pub start_index: i64,
    pub transactions: Vec<TransactionView<'a>>,
}

impl WriteJson for TransactionPage<'_> {
    fn write_json(&self, out: &mut Vec<u8>) {
        let mut object = Object::new(out);
        object.int("itemsPerPage", self.items_per_page);
        object.int("startIndex", self.start_index);
        object.field("transactions", self.transactions.as_slice());
        object.finish();
    }
}

/// A Transaction object as a `Value`: what the answers were built from before the views,
/// kept as the tests' reference.
#[cfg(test)]
pub fn transaction_json(merchant: &Merchant, chain: &PaymentChain, txn: &Transaction) -> Value {
    let view = TransactionView::new(merchant, chain, txn);
    let mut value = view.to_value();
    view.payment.restore_echo(&mut value["payment"]);
    value
}

/// `paymentProviderTransaction`: the payment provider's view of a transaction.
struct ProviderTransactionView<'a>(&'a Transaction);

impl WriteJson for ProviderTransactionView<'_> {
    fn write_json(&self, out: &mut Vec<u8>) {
        let provider = &self.0.provider;
        let mut object = Object::new(out);
        if let Some(code) = provider.extended_reason_code.as_deref() {
            object.field("extendedReason", &ExtendedReasonView(code));
        }
        object.id("paymentProviderTransactionId", self.0.transaction_id.0);
        object.opt_str("reasonCode", provider.reason_code.as_deref());
        object.str("status", &provider.status);
        object.str("statusMessage", &provider.status_message);
        object.finish();
    }
}

/// `extendedReason`: `{"code": …}`.
struct ExtendedReasonView<'a>(&'a str);

impl WriteJson for ExtendedReasonView<'_> {
    fn write_json(&self, out: &mut Vec<u8>) {
        let mut object = Object::new(out);
        object.str("code", self.0);
        object.finish();
    }
}

/// The Payment object shared by an authorization and its children.
pub struct PaymentView<'a> {
    merchant: &'a Merchant,
    chain: &'a PaymentChain,
    /// What the Payment echoes of the stored establish data.
    echo: Echo,
}

impl<'a> PaymentView<'a> {
    pub fn new(merchant: &'a Merchant, chain: &'a PaymentChain) -> PaymentView<'a> {
        PaymentView {
            merchant,
            chain,
            echo: serde_json::from_str(&chain.payment.establish_json).unwrap_or_default(),
        }
    }

    /// Puts the echoed `customer` and `recurrence` back into this Payment as a `Value`
    /// (`payment`) exactly as read from the stored establish data. `to_value` reads the printed
    /// view back, and serde_json's parser is not correctly rounded (no `float_roundtrip`), so an
    /// echoed number could come back one unit in the last place off; everything else in a view
    /// is an integer, a string or a bool.
    #[cfg(test)]
    fn restore_echo(&self, payment: &mut Value) {
        if let Value::Object(fields) = payment {
            let echoed = [
                ("customer", &self.echo.customer),
                ("recurrence", &self.echo.recurrence),
            ];
            for (name, value) in echoed {
                if let Some(value) = value {
                    fields.insert(name.to_owned(), value.clone());
                }
            }
        }
    }
}

impl WriteJson for PaymentView<'_> {
    fn write_json(&self, out: &mut Vec<u8>) {
        let (merchant, payment) = (self.merchant, &self.chain.payment);
        let authorization = self.chain.authorization();
        let totals = self.chain.totals();
        let account = payment.account.as_deref();
        let mut object = Object::new(out);
        object.opt_field("account", account.map(AccountView).as_ref());
        object.raw("allowedPaymentProviderType", "[1]");
        object.amount("amount", payment.amount);
        object.field("auth", &AuthView(authorization.status));
        object.int("authorizationStatus", authorization.status.code());
        object.str("authorizationStatusMessage", authorization.status.name());
        object.amount("balance", totals.balance());
        object.str("cancelUrl", &payment.cancel_url);
        object.str("country", "US");
        object.int("createdAt", payment.created_at);
        object.str("currency", &payment.currency);
        object.opt_value("customer", self.echo.customer.as_ref());
        object.opt_str("description", payment.description.as_deref());
        object.str("fingerprint", account.map_or("", |account| &account.token));
        object.field("merchant", &MerchantView(merchant));
        object.id("merchantId", merchant.merchant_id.0);
        object.str("merchantReference", &payment.merchant_reference);
        object.opt_str("notificationUrl", payment.notification_url.as_deref());
        object.amount("paid", totals.paid);
        object.int("paymentFlow", 1);
        object.id("paymentId", payment.payment_id.0);
        object.opt_field(
            "paymentProvider",
            account.map(PaymentProviderView::new).as_ref(),
        );
        object.int("paymentProviderSubtype", provider_subtype(account));
        object.int("paymentType", payment.payment_type.code());
        object.amount("pending", totals.pending);
        object.int("recordVersion", payment.record_version);
        object.opt_value("recurrence", self.echo.recurrence.as_ref());
        object.amount("refunded", totals.refunded);
        object.str("returnUrl", &payment.return_url);
        object.amount("reversed", totals.reversed);
        object.int("system", 1);
        object.int("updatedAt", payment.updated_at);
        // paybank does not verify customers.
        object.raw("verification", r#"{"status":1,"verifyCustomer":false}"#);
        object.finish();
    }
}

/// `payment.auth`.
struct AuthView(TransactionStatus);

impl WriteJson for AuthView {
    fn write_json(&self, out: &mut Vec<u8>) {
        let mut object = Object::new(out);
        object.str("message", self.0.name());
        object.int("status", auth_status(self.0));
        object.finish();
    }
}

/// `payment.merchant`.
struct MerchantView<'a>(&'a Merchant);

impl WriteJson for MerchantView<'_> {
    fn write_json(&self, out: &mut Vec<u8>) {
        let mut object = Object::new(out);
        object.id("merchantId", self.0.merchant_id.0);
        object.str("name", &self.0.name);
        object.finish();
    }
}

/// The Payment object as a `Value`, kept as the tests' reference.
#[cfg(test)]
pub fn payment_json(merchant: &Merchant, chain: &PaymentChain) -> Value {
    let view = PaymentView::new(merchant, chain);
    let mut value = view.to_value();
    view.restore_echo(&mut value);
    value
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
pub struct PaymentProviderView<'a>(&'a BankAccount);

impl<'a> PaymentProviderView<'a> {
    pub fn new(account: &'a BankAccount) -> PaymentProviderView<'a> {
        PaymentProviderView(account)
    }
}

impl WriteJson for PaymentProviderView<'_> {
    fn write_json(&self, out: &mut Vec<u8>) {
        let account = self.0;
        // Looked up by bank id, then routing number: manual-entry accounts carry only the latter.
        let bank = bank(&account.bank_id).or_else(|| bank_by_routing(&account.routing_number));
        let mut object = Object::new(out);
        object.str("country", "US");
        object.bool(
            "instantPayoutAvailable",
            bank.is_some_and(|bank| bank.rtp || bank.fednow),
        );
        object.str("name", &account.bank_name);
        object.str("paymentProviderId", &account.bank_id);
        object.int("subType", provider_subtype(Some(account)));
        object.int("type", if account.manual_entry { 2 } else { 1 });
        object.finish();
    }
}

/// `paymentProvider` as a `Value`.
pub fn provider_of(account: &BankAccount) -> Value {
    PaymentProviderView::new(account).to_value()
}

/// 1000 Online Banking; 2000 Manual Entry (MEC).
fn provider_subtype(account: Option<&BankAccount>) -> u16 {
    match account.is_some_and(|account| account.manual_entry) {
        true => 2000,
        false => 1000,
    }
}

/// `account.verification`.
struct AccountVerificationView {
    has_enough_funds: bool,
    score: Option<u8>,
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

impl WriteJson for AccountVerificationView {
    fn write_json(&self, out: &mut Vec<u8>) {
        let mut object = Object::new(out);
        object.bool("hasEnoughFunds", self.has_enough_funds);
        object.opt_int("score", self.score);
        object.opt_int("thirdPartyScore", self.third_party_score);
        object.int("type", self.r#type);
        object.bool("verified", self.verified);
        object.finish();
    }
}

/// The account the consumer chose. Only the last four digits of the number are shown.
struct AccountView<'a>(&'a BankAccount);

impl WriteJson for AccountView<'_> {
    fn write_json(&self, out: &mut Vec<u8>) {
        let account = self.0;
        let verification = AccountVerificationView::new(account);
        let last_four = last_four(&account.account_number);
        let mut object = Object::new(out);
        object.str("accountNumber", last_four);
        object.str("accountNumberLastFour", last_four);
        object.str("country", "US");
        object.str("name", &account.account_name);
        object.str("nameOnAccount", &account.name_on_account);
        object.field("paymentProvider", &PaymentProviderView(account));
        object.int("profile", 1);
        object.str("providerId", &account.bank_id);
        object.str("routingNumber", &account.routing_number);
        object.int("source", 1);
        object.str("token", &account.token);
        object.int("type", account.account_type);
        object.field("verification", &verification);
        object.bool("verified", verification.verified);
        object.finish();
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
