//! Hand-entered accounts over HTTP: a Disbursement to account details (authorized at once, paid
//! by ACH into the simulated bank), the manual-entry test bank's accounts on routing 124003116
//! answering as contract §7 says, and `/accounts/verify` and `/accounts/tokenize`.

use paybank_core::model::Merchant;
use paybank_core::nacha::Addenda;
use reqwest::Method;
use serde_json::{json, Value};

use crate::client::{sign_establish, text, Authorized, Body, Reply};
use crate::helpers::TestApp;
use crate::rails_ach::{entries, files_of, nacha_file};
use crate::rails_funds::{deposit, post_json, spawn, DAY_S};

const TEST_BANK: &str = "124003116";

/// Signed establish data for a Disbursement to the given account.
fn disbursement_data(app: &TestApp, merchant: &Merchant, reference: &str, account: Value) -> Value {
    let mut data = app.establish_data(merchant, reference, "500.00");
    data["paymentType"] = json!("Disbursement");
    data["account"] = account;
    sign_establish(&mut data, &merchant.access_key);
    data
}

/// Establishes a Disbursement to `account_number` at `routing`; the authorization must come
/// back Authorized, with the split token from its Authorize event.
async fn disbursement(app: &TestApp, routing: &str, account_number: &str) -> Authorized {
    let merchant = &app.merchant;
    let account = json!({ "routingNumber": routing, "accountNumber": account_number,
        "type": "1", "nameOnAccount": "Jane Doe" });
    let reference = format!("disb-{account_number}");
    let data = disbursement_data(app, merchant, &reference, account);
    let reply = app.post_establish(merchant, Body::Json(data)).await.ok();
    let authorization = &reply.json["transaction"];
    assert_eq!(authorization["status"], 2, "{authorization}");
    assert!(
        reply.json["url"].is_null(),
        "no Lightbox for account details"
    );
    let id = text(&authorization["transactionId"]);
    app.deliver().await;
    let authorize = app.receiver.only(&id, "Authorize");
    Authorized {
        id,
        split_token: authorize.param("splitToken").map(str::to_owned),
    }
}

/// Deposits `amount` and lets the bank post it and answer: returns the deposit as it ends up.
async fn paid_out(app: &TestApp, payment: &Authorized, reference: &str) -> Value {
    let merchant = &app.merchant;
    app.align_clock(merchant).await;
    let reply = deposit(app, merchant, payment, reference, "25.00", false).await;
    let id = text(&reply.transaction()["transactionId"]);
    app.advance(merchant, 6 * DAY_S).await;
    app.transaction(merchant, &id).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_disbursement_to_account_details_is_authorized_at_once_and_paid_by_ach() {
    let app = spawn().await;
    let merchant = &app.merchant;
    let payment = disbursement(&app, TEST_BANK, "1000000007").await;
    assert_eq!(
        app.event_types_of(merchant, &payment.id).await,
        ["Establish", "Authorize"]
    );
    let authorization = app.transaction(merchant, &payment.id).await;
    let account = &authorization["payment"]["account"];
    assert_eq!(account["accountNumber"], "0007");
    assert_eq!(account["routingNumber"], TEST_BANK);
    assert_eq!(account["verification"]["type"], 1);
    assert_eq!(account["verification"]["score"], 7);
    assert_eq!(account["verified"], true);
    let provider = &authorization["payment"]["paymentProvider"];
    assert_eq!(
        (provider["type"].clone(), provider["subType"].clone()),
        (json!(2), json!(2000))
    );
    let completed = paid_out(&app, &payment, "disb-7-d").await;
    assert_eq!(completed["status"], 4, "{completed}");
    let outbound = files_of(&app, merchant, "outbound", "entries").await;
    let (_, file) = nacha_file(&app, merchant, &outbound[0]).await;
    let (batch, entry) = entries(&file)[0];
    assert_eq!(batch.header.standard_entry_class, "PPD");
    assert_eq!(entry.detail.transaction_code.code(), 22);
    assert_eq!(entry.detail.dfi_account_number.trim(), "1000000007");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_test_banks_closed_missing_and_frozen_accounts_return_the_payout() {
    for (account, code) in [
        ("1003000000", "R02"),
        ("1002000000", "R03"),
        ("1003250000", "R16"),
    ] {
        let app = spawn().await;
        let merchant = &app.merchant;
        let payment = disbursement(&app, TEST_BANK, account).await;
        let denied = paid_out(&app, &payment, &format!("d-{account}")).await;
        assert_eq!(denied["status"], 8, "{account}: {denied}");
        assert_eq!(denied["paymentProviderTransaction"]["reasonCode"], code);
        let returns = files_of(&app, merchant, "inbound", "returns").await;
        let (_, file) = nacha_file(&app, merchant, &returns[0]).await;
        let (_, entry) = entries(&file)[0];
        let returned = matches!(&entry.addenda[..],
            [Addenda::Return99 { return_reason_code, .. }] if return_reason_code == code);
        assert!(returned, "{account}: {entry:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_disbursement_with_bad_account_details_is_refused_and_writes_nothing() {
    let app = spawn().await;
    let merchant = &app.merchant;
    let before = app.snapshot(merchant).await;
    let cases = [
        (
            json!({ "routingNumber": "124003117", "accountNumber": "1000000007" }),
            "account.routingNumber",
        ),
        (
            json!({ "routingNumber": TEST_BANK, "accountNumber": "12ab567" }),
            "account.accountNumber",
        ),
        (
            json!({ "routingNumber": TEST_BANK, "accountNumber": "123456789012345678" }),
            "account.accountNumber",
        ),
        (
            json!({ "routingNumber": TEST_BANK, "accountNumber": "1000000007", "type": "3" }),
            "account.type",
        ),
        (
            json!({ "accountNumber": "1000000007" }),
            "account.routingNumber",
        ),
    ];
    for (index, (account, location)) in cases.into_iter().enumerate() {
        let data = disbursement_data(&app, merchant, &format!("bad-{index}"), account);
        let reply = app.post_establish(merchant, Body::Json(data)).await;
        reply.assert_error(400, 200, Some(location));
    }
    let mut forged = disbursement_data(
        &app,
        merchant,
        "forged",
        json!({
        "routingNumber": TEST_BANK, "accountNumber": "1000000007" }),
    );
    forged["account"]["accountNumber"] = json!("1000000008");
    let reply = app.post_establish(merchant, Body::Json(forged)).await;
    reply.assert_error(401, 375, Some("requestSignature"));
    assert_eq!(app.snapshot(merchant).await, before);
}

async fn verify(app: &TestApp, merchant: &Merchant, path: &str, account: Value) -> Reply {
    let body = json!({ "merchantId": merchant.merchant_id.to_string(), "account": account });
    app.call(merchant, Method::POST, path, Body::Json(body))
        .await
}

fn test_account(number: &str) -> Value {
    json!({ "routingNumber": TEST_BANK, "accountNumber": number, "nameOnAccount": "Jane Doe" })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_scores_the_test_banks_accounts_as_published() {
    let app = spawn().await;
    let merchant = &app.merchant;
    let path = "/api/v1/accounts/verify?expand=account.paymentProvider";
    for (number, score, third_party, verified) in [
        ("1000000000", 0, None, false),
        ("1000000006", 6, None, true),
        ("1000000010", 10, None, true),
        ("1000001600", 6, Some(600), true),
        ("1000001999", 10, Some(999), true),
        ("1000001015", 1, Some(15), false),
        ("1000001045", 9, Some(45), true),
    ] {
        let found = verify(&app, merchant, path, test_account(number))
            .await
            .ok()
            .json;
        assert_eq!(found["verification"]["score"], score, "{number}");
        assert_eq!(
            found["verification"]["thirdPartyScore"],
            json!(third_party),
            "{number}"
        );
        assert_eq!(found["verified"], verified, "{number}");
        assert_eq!(found["accountNumber"], number[6..]);
        assert_eq!(found["paymentProvider"]["type"], 2);
        assert!(!text(&found["token"]).is_empty());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_test_banks_error_accounts_answer_with_their_status_and_code() {
    let app = spawn().await;
    let merchant = &app.merchant;
    for (number, status, code) in [
        ("1002000000", 400, 200),
        ("1003000000", 401, 300),
        ("1003250000", 401, 325),
        ("1003750000", 401, 375),
        ("1001000000", 500, 100),
    ] {
        let reply = verify(
            &app,
            merchant,
            "/api/v1/accounts/verify",
            test_account(number),
        )
        .await;
        reply.assert_error(status, code, Some("account.accountNumber"));
        assert!(
            reply.json["message"].is_string(),
            "{number}: {}",
            reply.text
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokenize_gives_the_same_token_and_verifies_only_when_asked() {
    let app = spawn().await;
    let merchant = &app.merchant;
    let plain = verify(
        &app,
        merchant,
        "/api/v1/accounts/tokenize",
        test_account("1000000009"),
    )
    .await
    .ok()
    .json;
    assert_eq!(plain["verified"], false);
    assert!(plain["verification"]["score"].is_null());
    let path = "/api/v1/accounts/tokenize?verifyAccount=true";
    let verified = verify(&app, merchant, path, test_account("1000000009"))
        .await
        .ok()
        .json;
    assert_eq!(verified["verification"]["score"], 9);
    assert_eq!(plain["token"], verified["token"]);
    // An account a simulated bank holds open verifies; one it never saw does not.
    let payment = app.authorized(merchant, "seen", "10.00").await;
    let account = app.transaction(merchant, &payment.id).await["payment"]["account"].clone();
    let token = text(&account["token"]);
    let number = crate::rails_funds::demo_account("user_seen", 0);
    let seen = json!({ "routingNumber": account["routingNumber"], "accountNumber": number });
    let found = verify(&app, merchant, path, seen).await.ok().json;
    assert_eq!(
        (found["verified"].clone(), text(&found["token"])),
        (json!(true), token)
    );
    let unseen = json!({ "routingNumber": account["routingNumber"], "accountNumber": "99887766" });
    let found = verify(&app, merchant, path, unseen).await.ok().json;
    assert_eq!(found["verified"], false);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_refuses_bad_details_and_another_merchants_id() {
    let app = spawn().await;
    let merchant = &app.merchant;
    let path = "/api/v1/accounts/verify";
    let cases = [
        (
            json!({ "routingNumber": TEST_BANK }),
            "account.accountNumber",
        ),
        (
            json!({ "routingNumber": "12400", "accountNumber": "1000000007" }),
            "account.routingNumber",
        ),
        (
            json!({ "routingNumber": "124003117", "accountNumber": "1000000007" }),
            "account.routingNumber",
        ),
        (json!({ "iban": "GB33BUKB20201555555555" }), "account.iban"),
    ];
    for (account, location) in cases {
        let reply = verify(&app, merchant, path, account).await;
        reply.assert_error(400, 200, Some(location));
        assert!(reply.json["message"].is_string());
    }
    let body = json!({ "merchantId": "1", "account": test_account("1000000007") });
    let reply = post_json(&app, merchant, path, body).await;
    reply.assert_error(401, 375, Some("merchantId"));
}
