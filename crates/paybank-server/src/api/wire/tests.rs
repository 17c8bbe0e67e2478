//! Byte-identity of the wire views with the `serde_json::Value` objects they replaced.

use std::sync::Arc;

use super::*;
use paybank_core::codes::{PaymentType, TransactionType};
use paybank_core::ids::{MerchantId, PaymentId, TransactionId};
use paybank_core::model::{ChainTotals, Payment, ProviderStatus};
use paybank_core::money::Amount;
use serde_json::json;

const PAYMENT_ID: u64 = 1_350_442_087_126;
const AUTHORIZATION_ID: u64 = 1_004_182_775_439;
const CAPTURE_ID: u64 = 1_771_040_326_905;
const CREATED_AT: i64 = 1_718_020_800_000;

fn merchant() -> Merchant {
    Merchant {
        merchant_id: MerchantId(1_002_463_580),
        name: "Tickets \"R\" Us / Ünïcode".to_owned(),
        access_id: "access".to_owned(),
        access_key: "key".to_owned(),
        notification_url: None,
        allowed_origins: Vec::new(),
        split_token_enabled: false,
        payouts_from_settled_only: false,
        created_at: CREATED_AT,
    }
}

fn online_account() -> BankAccount {
    BankAccount {
        bank_id: "200005501".to_owned(),
        bank_name: "Demo Bank".to_owned(),
        account_name: "Demo Checking".to_owned(),
        account_type: 1,
        account_number: "0123456789".to_owned(),
        routing_number: "310000004".to_owned(),
        name_on_account: "John Smith".to_owned(),
        token: "acct-token".to_owned(),
        available: Amount::from_minor(500_000),
        manual_entry: false,
    }
}

/// Hand-entered details at a bank paybank simulates or at the test bank.
fn manual_account(bank_id: &str, routing: &str, number: &str) -> BankAccount {
    BankAccount {
        bank_id: bank_id.to_owned(),
        bank_name: format!("Bank {routing}"),
        account_name: "Savings".to_owned(),
        account_type: 2,
        account_number: number.to_owned(),
        routing_number: routing.to_owned(),
        name_on_account: "Jane Doe".to_owned(),
        token: "manual-token".to_owned(),
        available: Amount::from_minor(0),
        manual_entry: true,
    }
}

fn payment(payment_type: PaymentType, establish_json: &str) -> Payment {
    Payment {
        payment_id: PaymentId(PAYMENT_ID),
        merchant_id: MerchantId(1_002_463_580),
        payment_type,
        merchant_reference: "order-42".to_owned(),
        currency: "USD".to_owned(),
        amount: Amount::from_minor(12_345),
        description: None,
        return_url: "https://m.example/return".to_owned(),
        cancel_url: "https://m.example/cancel".to_owned(),
        notification_url: None,
        establish_json: establish_json.to_owned(),
        authorization_id: TransactionId(AUTHORIZATION_ID),
        account: None,
        split_token: None,
        decline_next_capture: None,
        created_at: CREATED_AT,
        updated_at: CREATED_AT + 1_000,
        record_version: 3,
        totals: ChainTotals::default(),
    }
}

fn transaction(
    id: u64,
    transaction_type: TransactionType,
    status: TransactionStatus,
) -> Transaction {
    Transaction {
        transaction_id: TransactionId(id),
        payment_id: PaymentId(PAYMENT_ID),
        merchant_id: MerchantId(1_002_463_580),
        transaction_type,
        original_transaction_id: None,
        status,
        merchant_reference: "order-42".to_owned(),
        currency: "USD".to_owned(),
        amount: Amount::from_minor(12_345),
        pending: Amount::from_minor(0),
        paid: Amount::from_minor(0),
        refunded: Amount::from_minor(0),
        reversed: Amount::from_minor(0),
        provider: ProviderStatus::default(),
        error_code: None,
        ip: "203.0.113.7".to_owned(),
        created_at: CREATED_AT,
        updated_at: CREATED_AT + 2_000,
        processed_at: None,
        completed_at: None,
        expired_at: None,
        pre_authorized: false,
        rail: None,
        record_version: 1,
    }
}

/// A chain whose payment totals its transactions, as the store keeps it.
fn chain(mut payment: Payment, transactions: Vec<Transaction>) -> PaymentChain {
    payment.totals = ChainTotals::of(&transactions);
    PaymentChain {
        payment,
        transactions,
    }
}

/// A fresh Deferred authorization: no account, nothing echoed, no provider status.
fn bare_authorization() -> PaymentChain {
    let authorization = transaction(
        AUTHORIZATION_ID,
        TransactionType::Authorize,
        TransactionStatus::Pending,
    );
    chain(payment(PaymentType::Deferred, "{}"), vec![authorization])
}

const ECHO: &str = r#"{"customer":{"address":{"address1":"2000 Broadway","city":"Redwood City","country":"US","zip":"94063"},"email":"jane@example.com","externalId":"c-1","name":"Jane \"J\" Doe\n\u001fé","score":1.5e-7,"tags":[1,-2,3.25,true,null]},"displayAmount":"$1.00","metadata":{"a":"b"},"recurrence":{"automaticCapture":true,"frequency":1,"frequencyUnit":3,"recurringAmount":"10.00","startDate":1718020800000}}"#;

/// An authorized Recurring payment at Demo Bank with everything the establish data can echo.
fn full_authorization() -> PaymentChain {
    let mut payment = payment(PaymentType::Recurring, ECHO);
    payment.description = Some("Two tickets".to_owned());
    payment.notification_url = Some("https://m.example/notify?x=1&y=é".to_owned());
    payment.account = Some(Arc::new(online_account()));
    let mut authorization = transaction(
        AUTHORIZATION_ID,
        TransactionType::Authorize,
        TransactionStatus::Authorized,
    );
    authorization.provider = ProviderStatus::new("2", "Authorized");
    authorization.processed_at = Some(CREATED_AT + 500);
    chain(payment, vec![authorization])
}

/// A completed capture under an authorization with money on every total, and a failed one
/// with the provider's codes.
fn captured() -> PaymentChain {
    let mut chain = full_authorization();
    chain.payment.establish_json = r#"{"customer":null,"recurrence":{"frequency":2}}"#.to_owned();
    let mut capture = transaction(
        CAPTURE_ID,
        TransactionType::Capture,
        TransactionStatus::Completed,
    );
    capture.original_transaction_id = Some(TransactionId(AUTHORIZATION_ID));
    capture.pending = Amount::from_minor(100);
    capture.paid = Amount::from_minor(12_000);
    capture.refunded = Amount::from_minor(345);
    capture.reversed = Amount::from_minor(20_000);
    capture.provider = ProviderStatus::new("4", "Completed");
    capture.processed_at = Some(CREATED_AT + 3_000);
    capture.completed_at = Some(CREATED_AT + 4_000);
    capture.pre_authorized = true;
    capture.rail = None;
    let mut failed = transaction(
        CAPTURE_ID + 1,
        TransactionType::Capture,
        TransactionStatus::Failed,
    );
    failed.original_transaction_id = Some(TransactionId(AUTHORIZATION_ID));
    failed.provider = ProviderStatus {
        status: "5".to_owned(),
        status_message: "Failed".to_owned(),
        reason_code: Some("R01".to_owned()),
        extended_reason_code: Some("X-331".to_owned()),
    };
    failed.error_code = Some(331);
    chain.transactions.push(capture);
    chain.transactions.push(failed);
    chain.payment.totals = ChainTotals::of(&chain.transactions);
    chain
}

/// A preauthorization with an end of period, on hand-entered test-bank details scored 6/600.
fn test_bank_preauthorization() -> PaymentChain {
    let mut payment = payment(PaymentType::Deferred, "not json");
    payment.account = Some(Arc::new(manual_account(
        "124003116",
        "124003116",
        "1000001600",
    )));
    let mut authorization = transaction(
        AUTHORIZATION_ID,
        TransactionType::Authorize,
        TransactionStatus::Authorized,
    );
    authorization.provider = ProviderStatus {
        status: "2".to_owned(),
        status_message: String::new(),
        reason_code: Some(String::new()),
        extended_reason_code: None,
    };
    let mut preauthorization = transaction(
        CAPTURE_ID,
        TransactionType::Preauthorization,
        TransactionStatus::Expired,
    );
    preauthorization.original_transaction_id = Some(TransactionId(AUTHORIZATION_ID));
    preauthorization.expired_at = Some(CREATED_AT + 86_400_000);
    preauthorization.amount = Amount::from_minor(-5);
    chain(payment, vec![authorization, preauthorization])
}

/// Hand-entered details: at a simulated bank (found by routing), at the test bank with a
/// scored number, an error number and an unknown number, and elsewhere with a short number.
fn manual_chains() -> Vec<PaymentChain> {
    let accounts = [
        manual_account("200005503", "310000020", "55512345"),
        manual_account("124003116", "124003116", "1000000005"),
        manual_account("124003116", "124003116", "1002000000"),
        manual_account("124003116", "124003116", "12ab"),
        manual_account("021000021", "021000021", "987"),
    ];
    accounts
        .into_iter()
        .map(|account| {
            let mut chain = bare_authorization();
            chain.payment.payment_type = PaymentType::Disbursement;
            chain.payment.establish_json = "[1,2]".to_owned();
            chain.payment.account = Some(Arc::new(account));
            chain
        })
        .collect()
}

/// Every fixture, each transaction of each chain.
fn fixtures() -> Vec<(PaymentChain, TransactionId)> {
    let mut chains = vec![
        bare_authorization(),
        full_authorization(),
        captured(),
        test_bank_preauthorization(),
    ];
    chains.extend(manual_chains());
    chains
        .into_iter()
        .flat_map(|chain| {
            let ids: Vec<TransactionId> = chain
                .transactions
                .iter()
                .map(|txn| txn.transaction_id)
                .collect();
            ids.into_iter().map(move |id| (chain.clone(), id))
        })
        .collect()
}

/// What the `Value`-building implementation printed for each of [`fixtures`], in order.
const OLD_TRANSACTIONS: &str = include_str!("old_transactions.jsonl");
/// What it printed for the answer envelopes of [`envelopes_print_as_before`] and for a
/// `paymentProvider`, in order.
const OLD_ENVELOPES: &str = include_str!("old_envelopes.jsonl");

/// A view prints the same bytes directly as through a `Value`, whose object keys serde_json
/// prints sorted: so the view writes its fields in sorted order. Returns the direct form.
fn printed(view: &impl WriteJson) -> String {
    let direct = String::from_utf8(view.to_json()).expect("a view writes UTF-8");
    let through_value = serde_json::to_string(&view.to_value()).expect("a Value serializes");
    assert_eq!(direct, through_value, "fields out of sorted order");
    direct
}

#[test]
fn transactions_print_as_before() {
    let merchant = merchant();
    let old: Vec<&str> = OLD_TRANSACTIONS.lines().collect();
    let fixtures = fixtures();
    assert_eq!(old.len(), fixtures.len());
    for ((chain, id), old) in fixtures.iter().zip(old) {
        let txn = chain.transaction(*id).expect("a fixture transaction");
        let view = TransactionView::new(&merchant, chain, txn);
        assert_eq!(printed(&view), old, "transaction {id}");
        let value = transaction_json(&merchant, chain, txn);
        assert_eq!(
            serde_json::to_string(&value).expect("a Value serializes"),
            old
        );
        let payment = serde_json::to_string(&payment_json(&merchant, chain)).expect("a Value");
        assert_eq!(printed(&PaymentView::new(&merchant, chain)), payment);
        assert_eq!(
            Some(&value["payment"]),
            serde_json::from_str(&payment).ok().as_ref()
        );
    }
}

#[test]
fn envelopes_print_as_before() {
    let merchant = merchant();
    let chain = captured();
    let txn = &chain.transactions[1];
    let view = || TransactionView::new(&merchant, &chain, txn);
    let url = "http://127.0.0.1:8080/lightbox/abc\"def".to_owned();
    let page = chain
        .transactions
        .iter()
        .map(|txn| TransactionView::new(&merchant, &chain, txn))
        .collect();
    let account = online_account();
    let printed = [
        printed(&TransactionAnswer {
            transaction: view(),
        }),
        printed(&TransactionRead {
            transaction: view(),
            url: None,
        }),
        printed(&TransactionRead {
            transaction: view(),
            url: Some(url),
        }),
        printed(&TransactionPage {
            items_per_page: 20,
            start_index: 40,
            transactions: page,
        }),
        printed(&TransactionPage {
            items_per_page: 100,
            start_index: 0,
            transactions: Vec::new(),
        }),
        printed(&PaymentProviderView::new(&account)),
    ];
    let old: Vec<&str> = OLD_ENVELOPES.lines().collect();
    assert_eq!(printed.as_slice(), old.as_slice());
    assert_eq!(provider_of(&account).to_string(), old[5]);
}

#[test]
fn the_echo_reads_like_a_map() {
    let read = |text: &str| {
        let echo: Echo = serde_json::from_str(text).unwrap_or_default();
        (echo.customer, echo.recurrence)
    };
    assert_eq!(read("{}"), (None, None));
    assert_eq!(read("not json"), (None, None));
    assert_eq!(read("[1,2]"), (None, None));
    assert_eq!(read("null"), (None, None));
    assert_eq!(read(r#"{"customer":1,"recurrence":{"a":[}"#), (None, None));
    assert_eq!(
        read(r#"{"customer":null,"metadata":{"customer":3},"recurrence":2}"#),
        (Some(Value::Null), Some(Value::from(2)))
    );
    // Last one wins, as in a map; an escaped key is the same key.
    assert_eq!(
        read(r#"{"customer":1,"\u0063ustomer":{"b":2,"a":1}}"#),
        (Some(serde_json::json!({"a": 1, "b": 2})), None)
    );
}

#[test]
fn last_four_counts_characters() {
    assert_eq!(last_four("0123456789"), "6789");
    assert_eq!(last_four("1234"), "1234");
    assert_eq!(last_four("987"), "987");
    assert_eq!(last_four(""), "");
    assert_eq!(last_four("12é45ü"), "é45ü");
}

#[test]
fn echoed_numbers_keep_their_value_through_a_value() {
    // This one prints as 2.901531243408171e-9, which serde_json reads back one unit in the
    // last place away from what it read from the stored text.
    let stored = r#"{"customer":{"score":2.9015312434081716e-9},"recurrence":{"n":[1e-11]}}"#;
    let merchant = merchant();
    let mut chain = captured();
    chain.payment.establish_json = stored.to_owned();
    let echo: Echo = serde_json::from_str(stored).expect("an establish object");
    let txn = &chain.transactions[1];
    let transaction = transaction_json(&merchant, &chain, txn);
    let payment = payment_json(&merchant, &chain);
    for value in [&transaction["payment"], &payment] {
        assert_eq!(Some(&value["customer"]), echo.customer.as_ref());
        assert_eq!(Some(&value["recurrence"]), echo.recurrence.as_ref());
    }
    let direct = TransactionView::new(&merchant, &chain, txn).to_json();
    assert_eq!(
        serde_json::to_vec(&transaction).expect("a Value prints"),
        direct
    );
}

/// The establish answer as the handler built it before `EstablishAnswer`.
fn establish_through_value(data: &Value, transaction: Value) -> String {
    let mut response = data.clone();
    response["establishData"] = data.clone();
    response["transaction"] = transaction;
    serde_json::to_string(&response).expect("a Value serializes")
}

#[test]
fn establish_answers_print_as_before() {
    let merchant = merchant();
    let chain = captured();
    let authorization = chain.authorization();
    let bodies = [
        json!({"amount": "10.00", "transactionId": "1", "paymentType": 2, "url": null}),
        json!({"zzz": [1.5, "é\"q"], "aaa": {"b": 1, "a": 2}, "establishData": 7, "transaction": "x",
               "établi": true, "Zed": null, "f": 2.9015312434081716e-9, "q\"\\\n\u{1}": 1}),
        json!({}),
    ];
    for body in bodies {
        let Value::Object(data) = &body else {
            unreachable!()
        };
        let answer = EstablishAnswer {
            data,
            transaction: TransactionView::new(&merchant, &chain, authorization),
        };
        let direct = String::from_utf8(answer.to_json()).expect("UTF-8");
        let old =
            establish_through_value(&body, transaction_json(&merchant, &chain, authorization));
        assert_eq!(direct, old);
    }
}

#[test]
fn headless_authorization_answers_print_as_before() {
    let merchant = merchant();
    let chain = captured();
    let authorization = chain.authorization();
    for redirect_url in [Some("https://merchant.example/done?a=\"b\""), None] {
        let answer = AuthorizedAnswer {
            redirect_url,
            transaction: TransactionView::new(&merchant, &chain, authorization),
        };
        let old = json!({
            "transaction": transaction_json(&merchant, &chain, authorization),
            "redirectUrl": redirect_url,
        });
        assert_eq!(
            printed(&answer),
            serde_json::to_string(&old).expect("a Value")
        );
    }
}
