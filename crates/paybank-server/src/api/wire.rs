//! Transaction and Payment objects as the provider serialises them (contract §4).

use paybank_core::codes::TransactionStatus;
use paybank_core::demo_bank::{bank, bank_by_routing};
use paybank_core::manual_entry::{test_bank_verification, TEST_BANK_ROUTING};
use paybank_core::model::{BankAccount, Merchant, PaymentChain, Transaction};
use serde_json::{json, Map, Value};

/// A Transaction object; its `payment` is the chain's shared Payment.
pub fn transaction_json(merchant: &Merchant, chain: &PaymentChain, txn: &Transaction) -> Value {
    let mut object = json!({
        "transactionId": txn.transaction_id.to_string(),
        "transactionType": txn.transaction_type.code(),
        "payment": payment_json(merchant, chain),
        "currency": txn.currency,
        "amount": txn.amount.to_string(),
        "pending": txn.pending.to_string(),
        "paid": txn.paid.to_string(),
        "refunded": txn.refunded.to_string(),
        "reversed": txn.reversed.to_string(),
        "balance": txn.balance().to_string(),
        "paymentProviderTransaction": provider_json(txn),
        "status": txn.status.code(),
        "statusMessage": txn.status.name(),
        "ip": txn.ip,
        "createdAt": txn.created_at,
        "updatedAt": txn.updated_at,
        "merchantReference": txn.merchant_reference,
        "recordVersion": txn.record_version,
        "timeZone": "Etc/UTC",
        "preAuthorized": txn.pre_authorized,
    });
    let optional = [
        (
            "originalTransactionId",
            txn.original_transaction_id.map(|id| json!(id.to_string())),
        ),
        ("processedAt", txn.processed_at.map(|at| json!(at))),
        ("completedAt", txn.completed_at.map(|at| json!(at))),
        ("expiredAt", txn.expired_at.map(|at| json!(at))),
        ("errorCode", txn.error_code.map(|code| json!(code))),
        (
            "statusCode",
            (!txn.provider.status.is_empty()).then(|| json!(txn.provider.status)),
        ),
    ];
    insert_present(&mut object, optional);
    object
}

fn insert_present<const N: usize>(object: &mut Value, fields: [(&str, Option<Value>); N]) {
    if let Value::Object(map) = object {
        for (key, value) in fields {
            if let Some(value) = value {
                map.insert(key.to_owned(), value);
            }
        }
    }
}

fn provider_json(txn: &Transaction) -> Value {
    let provider = &txn.provider;
    let mut object = json!({
        "paymentProviderTransactionId": txn.transaction_id.to_string(),
        "status": provider.status,
        "statusMessage": provider.status_message,
    });
    insert_present(
        &mut object,
        [
            (
                "reasonCode",
                provider.reason_code.as_ref().map(|code| json!(code)),
            ),
            (
                "extendedReason",
                provider
                    .extended_reason_code
                    .as_ref()
                    .map(|code| json!({ "code": code })),
            ),
        ],
    );
    object
}

/// The Payment object shared by an authorization and its children.
pub fn payment_json(merchant: &Merchant, chain: &PaymentChain) -> Value {
    let payment = &chain.payment;
    let authorization = chain.authorization();
    let totals = chain.totals();
    let echo: Map<String, Value> =
        serde_json::from_str(&payment.establish_json).unwrap_or_default();
    let mut object = json!({
        "paymentId": payment.payment_id.to_string(),
        "paymentType": payment.payment_type.code(),
        "merchant": { "merchantId": merchant.merchant_id.to_string(), "name": merchant.name },
        "merchantId": merchant.merchant_id.to_string(),
        "merchantReference": payment.merchant_reference,
        "fingerprint": payment.account.as_ref().map(|account| account.token.clone()).unwrap_or_default(),
        "verification": { "status": 1, "verifyCustomer": false },
        "returnUrl": payment.return_url,
        "cancelUrl": payment.cancel_url,
        "currency": payment.currency,
        "amount": payment.amount.to_string(),
        "allowedPaymentProviderType": [1],
        "auth": { "status": auth_status(authorization.status), "message": authorization.status.name() },
        "authorizationStatus": authorization.status.code(),
        "authorizationStatusMessage": authorization.status.name(),
        "pending": totals.pending.to_string(),
        "paid": totals.paid.to_string(),
        "refunded": totals.refunded.to_string(),
        "reversed": totals.reversed.to_string(),
        "balance": totals.balance().to_string(),
        "createdAt": payment.created_at,
        "updatedAt": payment.updated_at,
        "recordVersion": payment.record_version,
        "paymentFlow": 1,
        "system": 1,
        "country": "US",
        "paymentProviderSubtype": provider_subtype(payment.account.as_ref()),
    });
    let optional = [
        (
            "description",
            payment.description.as_ref().map(|text| json!(text)),
        ),
        (
            "notificationUrl",
            payment.notification_url.as_ref().map(|url| json!(url)),
        ),
        ("customer", echo.get("customer").cloned()),
        ("recurrence", echo.get("recurrence").cloned()),
        ("account", payment.account.as_ref().map(account_json)),
        ("paymentProvider", payment.account.as_ref().map(provider_of)),
    ];
    insert_present(&mut object, optional);
    object
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

pub fn provider_of(account: &BankAccount) -> Value {
    // Looked up by bank id, then routing number: manual-entry accounts carry only the latter.
    let bank = bank(&account.bank_id).or_else(|| bank_by_routing(&account.routing_number));
    let instant = bank.is_some_and(|bank| bank.rtp || bank.fednow);
    json!({
        "paymentProviderId": account.bank_id,
        "type": match account.manual_entry {
            true => 2,
            false => 1,
        },
        "name": account.bank_name,
        "instantPayoutAvailable": instant,
        "subType": provider_subtype(Some(account)),
        "country": "US",
    })
}

/// The account the consumer chose. Only the last four digits of the number are shown.
/// 1000 Online Banking; 2000 Manual Entry (MEC).
fn provider_subtype(account: Option<&BankAccount>) -> u16 {
    match account.is_some_and(|account| account.manual_entry) {
        true => 2000,
        false => 1000,
    }
}

struct AccountVerification {
    verified: bool,
    json: Value,
}

/// An online-banking login verifies the account (type 2, Online Banking). Hand-entered details
/// are verified only as far as the test bank's scores say (type 1, Manual); elsewhere paybank
/// has not seen the account, so it is not verified.
fn account_verification(account: &BankAccount) -> AccountVerification {
    if !account.manual_entry {
        let has_funds = !account.available.is_zero();
        return AccountVerification {
            verified: true,
            json: json!({ "verified": true, "type": 2, "hasEnoughFunds": has_funds }),
        };
    }
    let found = match account.routing_number == TEST_BANK_ROUTING {
        true => test_bank_verification(&account.account_number).ok(),
        false => None,
    };
    let verified = found.is_some_and(|found| found.verified);
    let mut json = json!({ "verified": verified, "type": 1, "hasEnoughFunds": false });
    if let Some(found) = found {
        json["score"] = json!(found.score);
        if let Some(third_party) = found.third_party_score {
            json["thirdPartyScore"] = json!(third_party);
        }
    }
    AccountVerification { verified, json }
}

fn account_json(account: &BankAccount) -> Value {
    let verification = account_verification(account);
    let last_four: String = account
        .account_number
        .chars()
        .rev()
        .take(4)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    json!({
        "providerId": account.bank_id,
        "paymentProvider": provider_of(account),
        "country": "US",
        "name": account.account_name,
        "nameOnAccount": account.name_on_account,
        "type": account.account_type,
        "profile": 1,
        "accountNumber": last_four,
        "accountNumberLastFour": last_four,
        "routingNumber": account.routing_number,
        "token": account.token,
        "verified": verification.verified,
        "verification": verification.json,
        "source": 1,
    })
}
