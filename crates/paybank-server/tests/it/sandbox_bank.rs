//! The headless sandbox authorization and Demo Bank's keyphrases (contract §7), each with its
//! error code or its later effect on captures, refreshes and settlement.

use paybank_core::signature::verify_redirect_url;

use crate::client::{query_param, text};
use crate::helpers::TestApp;
use crate::rails_funds::past_next_cutoff;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn headless_authorization_returns_the_transaction_and_a_signed_redirect_url() {
    // The headless call walks the Lightbox and answers like the final page would redirect.
    let app = TestApp::spawn().await;
    let merchant = &app.merchant;
    let reference = "order #7 & co: 50%+tax/é";
    let id = app.establish_id(merchant, reference, "100.00").await;
    let reply = app
        .authorize(merchant, &id, "jane_test01", "secret", None)
        .await
        .ok();
    let transaction = &reply.json["transaction"];
    assert_eq!(transaction["transactionId"], id.as_str());
    assert_eq!(transaction["status"], 2);
    assert_eq!(
        transaction["payment"]["paymentProvider"]["name"],
        "Demo Bank"
    );
    let redirect = text(&reply.json["redirectUrl"]);
    assert!(redirect.starts_with(&format!("{}/return?", app.receiver.url)));
    assert_eq!(query_param(&redirect, "status").as_deref(), Some("2"));
    assert_eq!(query_param(&redirect, "transactionId"), Some(id.clone()));
    assert!(verify_redirect_url(&redirect, &merchant.access_key));
    assert_eq!(
        query_param(&redirect, "merchantReference").as_deref(),
        Some(reference)
    );
    app.deliver().await;
    let notifications = app.receiver.about(&id);
    // The inputs commit together; their events still arrive in the order they happened.
    let arrived: Vec<&str> = notifications.iter().map(|n| n.event_type()).collect();
    assert_eq!(arrived, ["Establish", "Update", "Authorize"]);
    for notification in notifications {
        assert!(notification.signature_valid, "{}", notification.body);
        assert_eq!(notification.param("merchantReference"), Some(reference));
    }
    let again = app
        .authorize(merchant, &id, "jane_test01", "secret", None)
        .await;
    again.assert_error(400, 220, Some("transactionId"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_2fa_login_needs_a_correct_mfa_answer() {
    // Missing or `error` answers fail with 244; a real code then completes the authorization.
    let app = TestApp::spawn().await;
    let merchant = &app.merchant;
    let id = app.establish_id(merchant, "mfa-1", "100.00").await;
    let missing = app.authorize(merchant, &id, "jane_mfa", "2FA", None).await;
    missing.assert_error(400, 244, Some("mfaAnswer"));
    let wrong = app
        .authorize(merchant, &id, "jane_mfa", "2FA", Some("error"))
        .await;
    wrong.assert_error(400, 244, Some("mfaAnswer"));
    assert_eq!(app.transaction(merchant, &id).await["status"], 1);
    let right = app
        .authorize(merchant, &id, "jane_mfa", "2FA", Some("123456"))
        .await;
    assert_eq!(right.transaction()["status"], 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_keyphrases_answer_their_error_codes() {
    // Each refused login keyphrase maps to its own code and leaves the transaction open.
    let app = TestApp::spawn().await;
    let merchant = &app.merchant;
    let cases = [
        ("LoginError", 240, "password"),
        ("WrongCredentials", 240, "password"),
        ("AccountLocked", 241, "password"),
        ("NoEligibleAccounts", 242, "password"),
        ("Unavailable", 243, "bank"),
    ];
    for (password, code, location) in cases {
        let id = app
            .establish_id(merchant, &format!("kp-{password}"), "10.00")
            .await;
        let reply = app
            .authorize(merchant, &id, "jane_kp", password, None)
            .await;
        reply.assert_error(400, code, Some(location));
        let transaction = app.transaction(merchant, &id).await;
        assert_eq!(transaction["status"], 1, "{password}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn session_timeout_expires_the_transaction_with_an_expire_event() {
    // SessionTimeout ends the session: 245, the authorization Expired(6), an Expire event.
    let app = TestApp::spawn().await;
    let merchant = &app.merchant;
    let id = app.establish_id(merchant, "timeout-1", "10.00").await;
    let reply = app
        .authorize(merchant, &id, "jane_to", "SessionTimeout", None)
        .await;
    reply.assert_error(400, 245, None);
    let transaction = app.transaction(merchant, &id).await;
    assert_eq!(transaction["status"], 6);
    app.deliver().await;
    let expire = app.receiver.only(&id, "Expire");
    assert_eq!(expire.param("status"), Some("6"));
    assert!(expire.signature_valid);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn not_enough_funds_authorizes_but_the_capture_is_denied_after_the_return_days() {
    // The zero-balance account authorizes; its capture comes back R01: Denied 331/SW021.
    let app = TestApp::spawn().await;
    let merchant = &app.merchant;
    app.align_clock(merchant).await;
    let payment = app
        .authorized_with(merchant, "nsf-1", "100.00", "NotEnoughFunds")
        .await;
    let token = payment.split_token.as_deref();
    let capture = app
        .capture(merchant, &payment.id, "nsf-1-c", "25.00", token)
        .await;
    let capture_id = text(&capture.transaction()["transactionId"]);
    // Just past the cut-off, not a day on: a capture made on a Monday is returned by Tuesday
    // morning, so a whole day passed it on every weekday but Friday.
    past_next_cutoff(&app, merchant).await;
    assert_eq!(app.transaction(merchant, &capture_id).await["status"], 3);
    app.advance(merchant, 5 * 86_400).await;
    let denied = app.transaction(merchant, &capture_id).await;
    assert_eq!(denied["status"], 8);
    assert_eq!(denied["errorCode"], 331);
    assert_eq!(denied["paymentProviderTransaction"]["status"], "SW021");
    assert_eq!(denied["paid"], "0.00");
    let deny = app.receiver.only(&capture_id, "Deny");
    assert_eq!(deny.param("errorCode"), Some("331"));
    assert_eq!(
        deny.param("paymentProviderTransaction.status"),
        Some("SW021")
    );
    assert!(deny.signature_valid);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn balance50_denies_a_60_capture_and_completes_a_40_one() {
    // With 50.00 available, a 60.00 capture is returned unpaid while a 40.00 one settles.
    let app = TestApp::spawn().await;
    let merchant = &app.merchant;
    app.align_clock(merchant).await;
    let payment = app
        .authorized_with(merchant, "b50", "100.00", "Balance50")
        .await;
    let token = payment.split_token.as_deref();
    let big = app
        .capture(merchant, &payment.id, "b50-60", "60.00", token)
        .await;
    let big_id = text(&big.transaction()["transactionId"]);
    let small = app
        .capture(merchant, &payment.id, "b50-40", "40.00", token)
        .await;
    let small_id = text(&small.transaction()["transactionId"]);
    app.advance(merchant, 6 * 86_400).await;
    let big = app.transaction(merchant, &big_id).await;
    assert_eq!(big["status"], 8);
    assert_eq!(big["errorCode"], 331);
    let small = app.transaction(merchant, &small_id).await;
    assert_eq!(small["status"], 4);
    assert_eq!(small["paid"], "40.00");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_split_token_fails_the_capture_and_its_refresh() {
    // ExpiredSplitToken: capture Failed 326/SW057, and the refresh reports success=false.
    let app = TestApp::spawn().await;
    let merchant = &app.merchant;
    let payment = app
        .authorized_with(merchant, "est", "100.00", "ExpiredSplitToken")
        .await;
    let token = payment.split_token.expect("a split token");
    let capture = app
        .capture(merchant, &payment.id, "est-c", "10.00", Some(&token))
        .await;
    let capture = capture.transaction();
    assert_eq!(capture["status"], 5);
    assert_eq!(capture["errorCode"], 326);
    assert_eq!(capture["paymentProviderTransaction"]["status"], "SW057");
    let refreshed = app.refresh(merchant, &payment.id, &token).await.ok();
    let process_id = text(&refreshed.json["refresh"]["processId"]);
    assert!(!process_id.is_empty());
    app.deliver().await;
    let refresh = app.receiver.only(&payment.id, "Refresh");
    assert_eq!(refresh.param("success"), Some("false"));
    assert_eq!(refresh.event_id(), process_id);
    let retry = app
        .capture(merchant, &payment.id, "est-c2", "10.00", Some(&token))
        .await;
    assert_eq!(retry.transaction()["errorCode"], 326);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn extendedreasoncode_fails_the_next_capture_with_390() {
    // extendedreasoncode_10000 fails the next capture (390, SW054, extended code 10000) only.
    let app = TestApp::spawn().await;
    let merchant = &app.merchant;
    let payment = app
        .authorized_with(merchant, "erc", "100.00", "extendedreasoncode_10000")
        .await;
    let token = payment.split_token.as_deref();
    let failed = app
        .capture(merchant, &payment.id, "erc-1", "10.00", token)
        .await;
    let failed = failed.transaction();
    let failed_id = text(&failed["transactionId"]);
    assert_eq!(failed["status"], 5);
    assert_eq!(failed["errorCode"], 390);
    let provider = &failed["paymentProviderTransaction"];
    assert_eq!(provider["status"], "SW054");
    assert_eq!(provider["extendedReason"]["code"], "10000");
    app.deliver().await;
    let fail = app.receiver.only(&failed_id, "Fail");
    assert_eq!(fail.param("errorCode"), Some("390"));
    assert_eq!(
        fail.param("paymentProviderTransaction.status"),
        Some("SW054")
    );
    let extended = fail.param("paymentProviderTransaction.extendedReason.code");
    assert_eq!(extended, Some("10000"));
    let next = app
        .capture(merchant, &payment.id, "erc-2", "10.00", token)
        .await;
    assert_eq!(next.transaction()["status"], 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sleep_user_authorizes_after_the_bank_delay() {
    // Username Sleep with password 1 makes Demo Bank take a second, then succeeds.
    let app = TestApp::spawn().await;
    let merchant = &app.merchant;
    let id = app.establish_id(merchant, "sleep-1", "10.00").await;
    let started = std::time::Instant::now();
    let reply = app.authorize(merchant, &id, "Sleep", "1", None).await;
    assert_eq!(reply.transaction()["status"], 2);
    assert!(started.elapsed() >= std::time::Duration::from_secs(1));
}
