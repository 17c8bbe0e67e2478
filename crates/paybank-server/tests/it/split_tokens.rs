//! Split-token rules on capture and refresh: missing, wrong and expired tokens fail the
//! capture with their codes and a Fail event; refresh renews; merchants without split tokens
//! get none and need none.

use paybank_core::model::Merchant;

use crate::client::text;
use crate::helpers::TestApp;

/// Captures with `token` and checks a Failed(5) capture with `code`/`provider` and its Fail event.
async fn assert_failed_capture(
    app: &TestApp,
    merchant: &Merchant,
    id: &str,
    reference: &str,
    token: Option<&str>,
    (code, provider): (u64, &str),
) {
    let reply = app.capture(merchant, id, reference, "10.00", token).await;
    let capture = reply.transaction();
    let capture_id = text(&capture["transactionId"]);
    assert_eq!(capture["transactionType"], 3);
    assert_eq!(capture["status"], 5);
    assert_eq!(capture["errorCode"], code);
    assert_eq!(capture["pending"], "0.00");
    assert_eq!(capture["paymentProviderTransaction"]["status"], provider);
    app.deliver().await;
    let fail = app.receiver.only(&capture_id, "Fail");
    assert_eq!(fail.param("errorCode"), Some(code.to_string().as_str()));
    assert_eq!(
        fail.param("paymentProviderTransaction.status"),
        Some(provider)
    );
    assert_eq!(fail.param("status"), Some("5"));
    assert!(fail.signature_valid);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_capture_without_its_split_token_fails_with_397() {
    // Omitting the token on a split-token merchant gives a Failed capture (397) and a Fail event.
    let app = TestApp::spawn().await;
    let merchant = &app.merchant;
    let payment = app.authorized(merchant, "st-missing", "100.00").await;
    assert!(payment.split_token.is_some());
    let expected = (397, "SW051");
    assert_failed_capture(&app, merchant, &payment.id, "st-m-1", None, expected).await;
    let empty = Some("");
    assert_failed_capture(&app, merchant, &payment.id, "st-m-2", empty, expected).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_capture_with_a_wrong_split_token_fails_with_380() {
    // A token that is not this authorization's gives a Failed capture (380).
    let app = TestApp::spawn().await;
    let merchant = &app.merchant;
    let payment = app.authorized(merchant, "st-wrong", "100.00").await;
    let other = app.authorized(merchant, "st-other", "100.00").await;
    let token = payment.split_token.expect("a split token");
    let expected = (380, "SW051");
    let others = other.split_token.as_deref();
    assert_failed_capture(&app, merchant, &payment.id, "st-w-1", others, expected).await;
    // A raw `+` sent unencoded arrives as a space: no longer the same token.
    let mangled = token.replace('+', " ");
    if mangled != token {
        let mangled = Some(mangled.as_str());
        assert_failed_capture(&app, merchant, &payment.id, "st-w-2", mangled, expected).await;
    }
    let good = app
        .capture(merchant, &payment.id, "st-w-3", "10.00", Some(&token))
        .await;
    assert_eq!(good.transaction()["status"], 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_split_token_fails_with_326_until_refresh_renews_it() {
    // Past split_token_ttl_s the capture fails (326); /refresh renews it and captures work again.
    let app = TestApp::spawn_with(|config| config.lightbox.split_token_ttl_s = 600).await;
    let merchant = &app.merchant;
    let payment = app.authorized(merchant, "st-expired", "100.00").await;
    let token = payment.split_token.expect("a split token");
    let fresh = app
        .capture(merchant, &payment.id, "st-e-0", "10.00", Some(&token))
        .await;
    assert_eq!(fresh.transaction()["status"], 2);
    app.advance(merchant, 601).await;
    let expected = (326, "SW057");
    let expired = Some(token.as_str());
    assert_failed_capture(&app, merchant, &payment.id, "st-e-1", expired, expected).await;
    let refreshed = app.refresh(merchant, &payment.id, &token).await.ok();
    let process_id = text(&refreshed.json["refresh"]["processId"]);
    app.deliver().await;
    let refresh = app.receiver.only(&payment.id, "Refresh");
    assert_eq!(refresh.param("success"), Some("true"));
    assert_eq!(refresh.event_id(), process_id);
    assert!(refresh.signature_valid);
    let renewed = app
        .capture(merchant, &payment.id, "st-e-2", "10.00", Some(&token))
        .await;
    assert_eq!(renewed.transaction()["status"], 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refresh_refuses_a_missing_or_wrong_split_token() {
    // Refresh is not a way around the token: missing gives 397, wrong gives 380, no event.
    let app = TestApp::spawn().await;
    let merchant = &app.merchant;
    let payment = app.authorized(merchant, "st-refresh", "100.00").await;
    let before = app.snapshot(merchant).await;
    let path = format!("/api/v1/transactions/{}/refresh", payment.id);
    let missing = app
        .call(
            merchant,
            reqwest::Method::POST,
            &path,
            crate::client::Body::Empty,
        )
        .await;
    missing.assert_error(400, 397, Some("splitToken"));
    let wrong = app
        .refresh(merchant, &payment.id, "bm90IHRoZSB0b2tlbg==")
        .await;
    wrong.assert_error(400, 380, Some("splitToken"));
    assert_eq!(app.snapshot(merchant).await, before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_merchant_without_split_tokens_gets_none_and_captures_need_none() {
    // With split tokens off, the Authorize event carries no splitToken and captures succeed bare.
    let app = TestApp::spawn().await;
    let merchant = app.add_merchant("No Tokens Shop", false).await;
    let payment = app.authorized(&merchant, "nt-1", "100.00").await;
    assert_eq!(payment.split_token, None);
    let authorize = app.receiver.only(&payment.id, "Authorize");
    assert!(authorize.params.iter().all(|(key, _)| key != "splitToken"));
    let capture = app
        .capture(&merchant, &payment.id, "nt-1-c", "10.00", None)
        .await;
    let capture = capture.transaction();
    assert_eq!(capture["status"], 2);
    assert_eq!(capture["pending"], "10.00");
    let capture_id = text(&capture["transactionId"]);
    app.deliver().await;
    assert_eq!(app.receiver.event_types(&capture_id), ["Authorize"]);
}
