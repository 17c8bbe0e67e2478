//! The whole journey over HTTP: establish, the Lightbox pages, signed redirect and webhooks,
//! capture with the split token, settlement by the clock, and refunds down to zero; on SQLite
//! and, when `PAYBANK_TEST_POSTGRES_URL` is set, on PostgreSQL.

use paybank_core::model::Merchant;
use paybank_core::signature::verify_redirect_url;
use reqwest::Method;
use serde_json::Value;

use crate::client::{query_param, query_params, text, Body};
use crate::helpers::{on_postgres, on_sqlite, TestApp};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_payment_goes_from_establish_to_fully_refunded_on_sqlite() {
    // The journey of a Deferred payment, end to end, over an SQLite store.
    on_sqlite(journey).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_payment_goes_from_establish_to_fully_refunded_on_postgresql() {
    // The same journey over a PostgreSQL schema of its own (skipped without the URL).
    on_postgres(journey).await;
}

async fn journey(app: TestApp) {
    let merchant = app.merchant.clone();
    app.align_clock(&merchant).await;
    let authorization_id = authorize_through_the_pages(&app, &merchant).await;
    let split_token = check_authorization_events(&app, &merchant, &authorization_id).await;
    let capture_id = capture_and_settle(&app, &merchant, &authorization_id, &split_token).await;
    refund_down_to_zero(&app, &merchant, &capture_id).await;
    check_event_log(&app, &merchant, &authorization_id).await;
}

/// Establish (Deferred, 100.00) and the Lightbox pages; returns the authorization's id.
async fn authorize_through_the_pages(app: &TestApp, merchant: &Merchant) -> String {
    let established = app.establish(merchant, "order-1001", "100.00").await;
    let id = text(&established["transaction"]["transactionId"]);
    assert_eq!(established["transaction"]["status"], 0);
    assert_eq!(established["establishData"]["transactionId"], id.as_str());
    let lightbox_url = text(&established["url"]);
    assert!(lightbox_url.starts_with(&format!("{}/lightbox/", app.url)));
    let redirect = app.complete_lightbox(&lightbox_url).await;
    assert!(redirect.starts_with(&format!("{}/return?", app.receiver.url)));
    let keys: Vec<String> = query_params(&redirect)
        .into_iter()
        .map(|(k, _)| k)
        .collect();
    let expected = [
        "transactionId",
        "transactionType",
        "merchantReference",
        "status",
        "payment.paymentType",
        "payment.paymentProvider.type",
        "payment.account.verified",
        "panel",
        "requestSignature",
    ];
    assert_eq!(keys, expected);
    let param = |key| query_param(&redirect, key).expect("present");
    assert_eq!(param("transactionId"), id);
    assert_eq!(param("transactionType"), "1");
    assert_eq!(param("merchantReference"), "order-1001");
    assert_eq!(param("status"), "2");
    assert_eq!(param("payment.paymentType"), "2");
    assert_eq!(param("payment.paymentProvider.type"), "1");
    assert!(verify_redirect_url(&redirect, &merchant.access_key));
    assert!(!verify_redirect_url(
        &redirect.replace("status=2", "status=4"),
        &merchant.access_key
    ));
    assert_eq!(app.transaction(merchant, &id).await["status"], 2);
    id
}

/// Establish, Update and Authorize reach the receiver signed; returns the split token.
async fn check_authorization_events(app: &TestApp, merchant: &Merchant, id: &str) -> String {
    app.advance(merchant, 2).await;
    let mut types = app.receiver.event_types(id);
    assert_eq!(types[0], "Establish");
    types.sort();
    assert_eq!(types, ["Authorize", "Establish", "Update"]);
    for notification in app.receiver.about(id) {
        assert!(notification.signature_valid, "{}", notification.body);
        assert_eq!(
            notification.content_type,
            "application/x-www-form-urlencoded"
        );
        assert_eq!(
            notification.webhook_id.as_deref(),
            Some(notification.event_id())
        );
    }
    let update = app.receiver.only(id, "Update");
    assert_eq!(update.param("fiName"), Some("Demo Bank"));
    let authorize = app.receiver.only(id, "Authorize");
    assert_eq!(authorize.param("status"), Some("2"));
    assert_eq!(authorize.param("transactionType"), Some("1"));
    let token = authorize
        .param("splitToken")
        .expect("a split token")
        .to_owned();
    assert!(token.contains(['+', '/', '=']), "{token}");
    let encoded: String = form_urlencoded::byte_serialize(token.as_bytes()).collect();
    assert!(authorize.body.contains(&format!("splitToken={encoded}")));
    let logged = app.events_of(merchant, id).await;
    let logged_token = logged
        .iter()
        .find(|event| event["eventType"] == "Authorize")
        .map(|event| text(&event["params"]["splitToken"]));
    assert_eq!(logged_token.as_deref(), Some(token.as_str()));
    token
}

/// Capture 40.00, then Processed after a day and Completed after five more.
async fn capture_and_settle(app: &TestApp, merchant: &Merchant, id: &str, token: &str) -> String {
    let capture = app
        .capture(merchant, id, "order-1001-c1", "40.00", Some(token))
        .await
        .transaction();
    let capture_id = text(&capture["transactionId"]);
    assert_eq!(capture["transactionType"], 3);
    assert_eq!(capture["status"], 2);
    assert_eq!(capture["pending"], "40.00");
    assert_eq!(capture["amount"], "40.00");
    assert_eq!(capture["originalTransactionId"], id);
    app.advance(merchant, 86_400).await;
    let processed = app.transaction(merchant, &capture_id).await;
    assert_eq!(processed["status"], 3);
    assert!(processed["processedAt"].as_i64().is_some());
    app.advance(merchant, 5 * 86_400).await;
    let completed = app.transaction(merchant, &capture_id).await;
    assert_eq!(completed["status"], 4);
    assert_eq!(completed["paid"], "40.00");
    assert_eq!(completed["pending"], "0.00");
    assert_eq!(completed["balance"], "40.00");
    let types = app.receiver.event_types(&capture_id);
    assert_eq!(types, ["Authorize", "Process", "Complete"]);
    assert!(app
        .receiver
        .about(&capture_id)
        .iter()
        .all(|n| n.signature_valid));
    capture_id
}

/// Refund 15.00 then 25.00: PartiallyRefunded, then Refunded with nothing left.
async fn refund_down_to_zero(app: &TestApp, merchant: &Merchant, capture_id: &str) {
    let refund = app
        .refund(merchant, capture_id, "15.00")
        .await
        .transaction();
    assert_eq!(refund["transactionType"], 4);
    assert_eq!(refund["amount"], "15.00");
    assert_eq!(refund["originalTransactionId"], capture_id);
    let capture = app.transaction(merchant, capture_id).await;
    assert_eq!(capture["status"], 11);
    assert_eq!(capture["refunded"], "15.00");
    assert_eq!(capture["balance"], "25.00");
    let last = app
        .refund(merchant, capture_id, "25.00")
        .await
        .transaction();
    assert_eq!(last["transactionType"], 4);
    let capture = app.transaction(merchant, capture_id).await;
    assert_eq!(capture["status"], 12);
    assert_eq!(capture["refunded"], "40.00");
    assert_eq!(capture["balance"], "0.00");
    app.advance(merchant, 6 * 86_400).await;
    for (refund, amount) in [(&refund, "15.00"), (&last, "25.00")] {
        let settled = app
            .transaction(merchant, &text(&refund["transactionId"]))
            .await;
        assert_eq!(settled["status"], 4, "{settled}");
        assert_eq!(settled["paid"], amount);
    }
    assert_eq!(app.transaction(merchant, capture_id).await["status"], 12);
}

/// The event log lists every event, each delivered once with its attempt recorded.
async fn check_event_log(app: &TestApp, merchant: &Merchant, authorization_id: &str) {
    app.advance(merchant, 2).await;
    let events = app.events(merchant).await;
    let types: Vec<String> = events.iter().map(|e| text(&e["eventType"])).collect();
    for expected in [
        "Establish",
        "Update",
        "Authorize",
        "Process",
        "Complete",
        "Refund",
    ] {
        assert!(
            types.iter().any(|t| t == expected),
            "{expected} in {types:?}"
        );
    }
    assert_eq!(events.len(), app.receiver.received().len());
    for event in &events {
        assert_eq!(event["state"], "delivered", "{event}");
        assert_eq!(event["attempts"], 1);
    }
    let first = &events[0];
    assert_eq!(first["transactionId"], authorization_id);
    let detail = app.event(merchant, &text(&first["eventId"])).await;
    let attempts: &Vec<Value> = detail["deliveryAttempts"].as_array().expect("attempts");
    assert_eq!(attempts.len(), 1);
    assert_eq!(attempts[0]["httpStatus"], 200);
    let by_id = app
        .call(
            merchant,
            Method::GET,
            "/api/v1/paybank/events?count=1",
            Body::Empty,
        )
        .await
        .ok();
    assert_eq!(by_id.json["itemsPerPage"], 1);
}
