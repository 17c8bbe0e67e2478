//! Money rules, one bad input per test: each asserts the exact status, error envelope, code
//! and location, and that the merchant's transactions and events did not change.

use paybank_core::model::Merchant;

use crate::client::{text, Authorized, Reply};
use crate::helpers::{assert_payments_keep_their_totals, on_postgres, on_sqlite, TestApp};

/// An app with an authorized 100.00 Deferred payment of the default merchant.
async fn authorized_app(reference: &str, amount: &str) -> (TestApp, Authorized) {
    let app = TestApp::spawn().await;
    let payment = app.authorized(&app.merchant, reference, amount).await;
    (app, payment)
}

/// Captures and returns the new capture's id (asserting it was accepted).
async fn captured(
    app: &TestApp,
    merchant: &Merchant,
    payment: &Authorized,
    amount: &str,
) -> String {
    let reference = format!("{}-cap-{amount}", payment.id);
    let token = payment.split_token.as_deref();
    let reply = app
        .capture(merchant, &payment.id, &reference, amount, token)
        .await;
    let capture = reply.transaction();
    assert_eq!(capture["status"], 2);
    text(&capture["transactionId"])
}

/// Sends a capture of `amount` and checks it is refused with 400/200/amount, changing nothing.
async fn assert_capture_amount_refused(amount: &str) {
    let (app, payment) = authorized_app("amount-check", "100.00").await;
    let merchant = &app.merchant;
    let before = app.snapshot(merchant).await;
    let token = payment.split_token.as_deref();
    let reply = app
        .capture(merchant, &payment.id, "amount-c", amount, token)
        .await;
    reply.assert_error(400, 200, Some("amount"));
    assert_eq!(
        app.snapshot(merchant).await,
        before,
        "after capturing {amount}"
    );
}

/// Runs `act` and checks it is refused as expected while nothing changes.
async fn assert_refused_unchanged<F, Fut>(app: &TestApp, expected: (u16, u64, Option<&str>), act: F)
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = Reply>,
{
    let merchant = &app.merchant;
    let before = app.snapshot(merchant).await;
    let reply = act().await;
    reply.assert_error(expected.0, expected.1, expected.2);
    assert_eq!(app.snapshot(merchant).await, before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_capture_below_the_minimum_of_0_99_is_refused() {
    // 0.98 is under the provider's minimum capture.
    assert_capture_amount_refused("0.98").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_capture_amount_with_three_decimals_is_refused() {
    // Amounts carry at most two decimal places.
    assert_capture_amount_refused("10.001").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_capture_amount_of_eleven_characters_is_refused() {
    // Amounts are at most ten characters long.
    assert_capture_amount_refused("12345678.00").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_negative_capture_amount_is_refused() {
    // Signs are not part of the amount format.
    assert_capture_amount_refused("-5.00").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_non_numeric_capture_amount_is_refused() {
    // Words are not amounts.
    assert_capture_amount_refused("ten").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn captures_adding_up_beyond_the_authorized_amount_are_refused_with_230() {
    // 60.00 fits in 100.00; another 50.00 would not, so it is refused and nothing is written.
    let (app, payment) = authorized_app("over-capture", "100.00").await;
    let merchant = &app.merchant;
    captured(&app, merchant, &payment, "60.00").await;
    let token = payment.split_token.as_deref();
    let capture = || app.capture(merchant, &payment.id, "over-c2", "50.00", token);
    assert_refused_unchanged(&app, (400, 230, Some("amount")), capture).await;
    captured(&app, merchant, &payment, "40.00").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_authorization_of_0_00_allows_captures_of_any_sum() {
    // Amount 0.00 means no upper bound, though each capture must still name its amount.
    let (app, payment) = authorized_app("unbounded", "0.00").await;
    let merchant = &app.merchant;
    captured(&app, merchant, &payment, "5000.00").await;
    captured(&app, merchant, &payment, "9999999.99").await;
    let token = payment.split_token.as_deref();
    let capture = || app.capture(merchant, &payment.id, "unbounded-c", "", token);
    assert_refused_unchanged(&app, (400, 200, Some("amount")), capture).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refund_before_the_capture_completed_is_refused_with_220() {
    // Refunds need settled money: an Authorized capture cannot be refunded.
    let (app, payment) = authorized_app("early-refund", "100.00").await;
    let merchant = &app.merchant;
    let capture_id = captured(&app, merchant, &payment, "40.00").await;
    let refund = || app.refund(merchant, &capture_id, "10.00");
    assert_refused_unchanged(&app, (400, 220, Some("transactionId")), refund).await;
    let on_authorization = || app.refund(merchant, &payment.id, "10.00");
    assert_refused_unchanged(&app, (400, 220, Some("transactionId")), on_authorization).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refund_over_the_remaining_balance_is_refused_with_230() {
    // After refunding 30.00 of 40.00, 10.01 is more than is left; 10.00 is exactly enough.
    let app = TestApp::spawn().await;
    let merchant = &app.merchant;
    app.align_clock(merchant).await;
    let payment = app.authorized(merchant, "over-refund", "100.00").await;
    let capture_id = captured(&app, merchant, &payment, "40.00").await;
    app.advance(merchant, 6 * 86_400).await;
    assert_eq!(app.transaction(merchant, &capture_id).await["status"], 4);
    app.refund(merchant, &capture_id, "30.00").await.ok();
    let refund = || app.refund(merchant, &capture_id, "10.01");
    assert_refused_unchanged(&app, (400, 230, Some("amount")), refund).await;
    app.refund(merchant, &capture_id, "10.00").await.ok();
    let capture = app.transaction(merchant, &capture_id).await;
    assert_eq!(capture["status"], 12);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn canceling_a_processed_capture_is_refused_with_220() {
    // Once submitted at the cut-off a capture can no longer be canceled.
    let app = TestApp::spawn().await;
    let merchant = &app.merchant;
    app.align_clock(merchant).await;
    let payment = app.authorized(merchant, "late-cancel", "100.00").await;
    let capture_id = captured(&app, merchant, &payment, "40.00").await;
    app.advance(merchant, 86_400).await;
    assert_eq!(app.transaction(merchant, &capture_id).await["status"], 3);
    let cancel = || app.cancel(merchant, &capture_id);
    assert_refused_unchanged(&app, (400, 220, Some("transactionId")), cancel).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_capture_on_a_voided_authorization_is_refused_with_220() {
    // Cancel voids the authorization (13) with a Cancel event; captures are refused afterwards.
    let (app, payment) = authorized_app("voided", "100.00").await;
    let merchant = &app.merchant;
    let voided = app.cancel(merchant, &payment.id).await.transaction();
    assert_eq!(voided["status"], 13);
    assert_eq!(voided["transactionId"], payment.id.as_str());
    app.deliver().await;
    assert_eq!(
        app.receiver.only(&payment.id, "Cancel").param("status"),
        Some("13")
    );
    let token = payment.split_token.as_deref();
    let capture = || app.capture(merchant, &payment.id, "voided-c", "10.00", token);
    assert_refused_unchanged(&app, (400, 220, Some("transactionId")), capture).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn canceling_an_authorized_capture_voids_it() {
    // Before the cut-off a capture can be canceled: Voided(13), nothing pending, Cancel event.
    let (app, payment) = authorized_app("void-capture", "100.00").await;
    let merchant = &app.merchant;
    let capture_id = captured(&app, merchant, &payment, "40.00").await;
    let voided = app.cancel(merchant, &capture_id).await.transaction();
    assert_eq!(voided["status"], 13);
    assert_eq!(voided["pending"], "0.00");
    app.deliver().await;
    assert_eq!(
        app.receiver.only(&capture_id, "Cancel").param("status"),
        Some("13")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_duplicate_capture_reference_is_refused_with_210_on_sqlite() {
    // The reference rules over SQLite's unique index.
    on_sqlite(duplicate_capture_references).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_duplicate_capture_reference_is_refused_with_210_on_postgresql() {
    // The same over PostgreSQL's unique index and savepoints (skipped without the URL).
    on_postgres(duplicate_capture_references).await;
}

/// References of accepted captures are claimed (a duplicate is refused with 210 and writes
/// nothing); a Failed capture claims nothing, so its reference can be used again.
async fn duplicate_capture_references(app: TestApp) {
    let merchant = &app.merchant;
    let payment = app.authorized(merchant, "dup-capture", "100.00").await;
    let token = payment.split_token.as_deref();
    let first = app
        .capture(merchant, &payment.id, "dup-ref", "10.00", token)
        .await;
    assert_eq!(first.transaction()["status"], 2);
    let again = || app.capture(merchant, &payment.id, "dup-ref", "10.00", token);
    assert_refused_unchanged(&app, (400, 210, Some("merchantReference")), again).await;
    let failed = app
        .capture(merchant, &payment.id, "retry-ref", "10.00", None)
        .await;
    assert_eq!(failed.transaction()["status"], 5);
    let retried = app
        .capture(merchant, &payment.id, "retry-ref", "10.00", token)
        .await;
    let retried = retried.transaction();
    assert_eq!(retried["status"], 2);
    assert_eq!(retried["merchantReference"], "retry-ref");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_establish_reference_is_refused_with_210_once_its_authorization_is_authorized() {
    // A pending authorization's reference may be reused; an Authorized one's may not.
    let app = TestApp::spawn().await;
    let merchant = &app.merchant;
    app.establish_id(merchant, "pending-ref", "10.00").await;
    app.establish_id(merchant, "pending-ref", "10.00").await;
    app.authorized(merchant, "taken-ref", "10.00").await;
    let data = app.establish_data(merchant, "taken-ref", "10.00");
    let establish = || app.post_establish(merchant, crate::client::Body::Json(data));
    assert_refused_unchanged(&app, (400, 210, Some("merchantReference")), establish).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deposit_against_a_deferred_authorization_creates_a_deposit() {
    // Payouts go through POST /transactions/{id}/deposit and create a Deposit (type 6).
    let (app, payment) = authorized_app("payout", "100.00").await;
    let merchant = &app.merchant;
    let path = format!("/api/v1/transactions/{}/deposit", payment.id);
    let token = payment.split_token.clone().unwrap_or_default();
    let body = crate::client::form(&[
        ("merchantReference", "payout-1"),
        ("amount", "25.00"),
        ("splitToken", &token),
    ]);
    let reply = app.call(merchant, reqwest::Method::POST, &path, body).await;
    let deposit = reply.transaction();
    assert_eq!(deposit["transactionType"], 6);
    assert_eq!(deposit["status"], 2);
    assert_eq!(deposit["amount"], "25.00");
    assert_eq!(deposit["originalTransactionId"], payment.id.as_str());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn captures_count_every_earlier_child_though_they_read_only_the_authorization_on_sqlite() {
    on_sqlite(captures_on_a_longer_chain).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn captures_count_every_earlier_child_though_they_read_only_the_authorization_on_postgresql()
{
    on_postgres(captures_on_a_longer_chain).await;
}

/// A capture reads the payment and its authorization only, unless the chain holds a
/// preauthorization: the captures before it (a voided one no longer counting) still bound it,
/// the payment in its answer totals them all, and one made during an active preauthorization
/// is marked so.
async fn captures_on_a_longer_chain(app: TestApp) {
    let merchant = &app.merchant;
    let payment = app.authorized(merchant, "longer-chain", "100.00").await;
    let mut ids = Vec::new();
    for amount in ["10.00", "20.00", "30.00"] {
        ids.push(captured(&app, merchant, &payment, amount).await);
    }
    app.cancel(merchant, &ids[1]).await.transaction();
    let token = payment.split_token.as_deref();
    let over = || app.capture(merchant, &payment.id, "longer-over", "60.01", token);
    assert_refused_unchanged(&app, (400, 230, Some("amount")), over).await;

    let path = format!("/api/v1/transactions/{}/capture/preAuth", payment.id);
    let mut pairs = vec![
        ("merchantReference", "longer-preauth"),
        ("amount", "5.00"),
        ("period", "2"),
    ];
    pairs.extend(token.map(|token| ("splitToken", token)));
    let body = crate::client::form(&pairs);
    let preauthorization = app.call(merchant, reqwest::Method::POST, &path, body).await;
    assert_eq!(preauthorization.transaction()["transactionType"], 10);
    let capture = app
        .capture(merchant, &payment.id, "longer-last", "60.00", token)
        .await
        .transaction();
    assert_eq!(capture["status"], 2);
    assert_eq!(capture["preAuthorized"], true);
    assert_eq!(capture["payment"]["pending"], "100.00");
    assert_payments_keep_their_totals(&app).await;
}
