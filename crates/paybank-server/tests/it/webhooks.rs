//! Webhook delivery against a real receiver: retries with growing delays and one eventId,
//! recovery, giving up after the retry window, and resend of the same event.

use paybank_core::model::Merchant;
use reqwest::Method;
use serde_json::Value;

use crate::client::{text, Body};
use crate::helpers::{on_postgres, on_sqlite, TestApp};
use crate::receiver::Mode;

/// Establishes a payment; returns its id and the eventId of its Establish event.
async fn establish_event(app: &TestApp, merchant: &Merchant, reference: &str) -> (String, String) {
    let id = app.establish_id(merchant, reference, "10.00").await;
    let events = app.events_of(merchant, &id).await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["eventType"], "Establish");
    (id, text(&events[0]["eventId"]))
}

/// The `attemptedAt` of each recorded delivery attempt of an event.
async fn attempt_times(app: &TestApp, merchant: &Merchant, event_id: &str) -> Vec<i64> {
    let event = app.event(merchant, event_id).await;
    let attempts: &Vec<Value> = event["deliveryAttempts"].as_array().expect("attempts");
    attempts
        .iter()
        .map(|attempt| attempt["attemptedAt"].as_i64().expect("attemptedAt"))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_receiver_gets_growing_retries_then_one_delivery_on_sqlite() {
    // Retries and recovery with the SQLite delivery queue.
    on_sqlite(retries_then_one_delivery).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_receiver_gets_growing_retries_then_one_delivery_on_postgresql() {
    // The same with the PostgreSQL delivery queue (skipped without the URL).
    on_postgres(retries_then_one_delivery).await;
}

/// 500s are retried after 60, 120, 240 s with the same eventId; once up it is delivered once.
async fn retries_then_one_delivery(app: TestApp) {
    let merchant = &app.merchant;
    app.receiver.set_mode(Mode::Failing);
    let (_, event_id) = establish_event(&app, merchant, "retry-1").await;
    app.deliver().await;
    for seconds in [60, 120, 240] {
        app.advance(merchant, seconds).await;
    }
    let times = attempt_times(&app, merchant, &event_id).await;
    assert_eq!(times.len(), 4, "{times:?}");
    let gaps: Vec<i64> = times.windows(2).map(|pair| pair[1] - pair[0]).collect();
    assert!(gaps.windows(2).all(|pair| pair[1] > pair[0]), "{gaps:?}");
    assert!(gaps[0] >= 60_000, "{gaps:?}");
    let received = app.receiver.with_event_id(&event_id);
    assert_eq!(received.len(), 4);
    assert!(received
        .iter()
        .all(|n| n.answered == 500 && n.signature_valid));
    assert!(received.iter().all(|n| n.body == received[0].body));
    let event = app.event(merchant, &event_id).await;
    assert_eq!(event["state"], "pending");
    assert_eq!(event["deliveryAttempts"][0]["httpStatus"], 500);
    app.receiver.set_mode(Mode::Up);
    app.advance(merchant, 300).await;
    app.advance(merchant, 3_600).await;
    let received = app.receiver.with_event_id(&event_id);
    assert_eq!(received.len(), 5);
    assert_eq!(received.iter().filter(|n| n.answered == 200).count(), 1);
    let event = app.event(merchant, &event_id).await;
    assert_eq!(event["state"], "delivered");
    assert_eq!(event["attempts"], 5);
    assert!(event["deliveredAt"].as_i64().is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_still_failing_after_the_retry_window_is_failed_and_can_be_resent() {
    // A receiver down for 13 hours outlasts the 12-hour window; resend delivers the same event.
    let app = TestApp::spawn().await;
    let merchant = &app.merchant;
    app.receiver.set_mode(Mode::Down);
    let (_, event_id) = establish_event(&app, merchant, "window-1").await;
    app.advance(merchant, 13 * 3_600).await;
    let event = app.event(merchant, &event_id).await;
    assert_eq!(event["state"], "failed");
    let created_at = event["createdAt"].as_i64().expect("createdAt");
    let times = attempt_times(&app, merchant, &event_id).await;
    assert!(times.len() > 10, "{times:?}");
    assert!(times.windows(2).all(|pair| pair[1] > pair[0]));
    let last = *times.last().expect("attempts");
    assert!(
        last <= created_at + 12 * 3_600_000,
        "{last} vs {created_at}"
    );
    assert!(last > created_at + 11 * 3_600_000, "{last} vs {created_at}");
    let attempts = &event["deliveryAttempts"];
    assert!(attempts[0]["httpStatus"].is_null());
    assert!(attempts[0]["error"].is_string());
    assert!(app.receiver.received().is_empty());
    app.receiver.set_mode(Mode::Up);
    app.advance(merchant, 3_600).await;
    assert!(app.receiver.with_event_id(&event_id).is_empty());
    let resend = format!("/api/v1/paybank/events/{event_id}/resend");
    let reply = app
        .call(merchant, Method::POST, &resend, Body::Empty)
        .await
        .ok();
    assert_eq!(reply.json["event"]["state"], "pending");
    app.deliver().await;
    let received = app.receiver.with_event_id(&event_id);
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].body, text(&event["body"]));
    assert!(received[0].signature_valid);
    assert_eq!(app.event(merchant, &event_id).await["state"], "delivered");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resend_sends_the_same_event_id_and_body_again() {
    // A delivered event resent arrives again byte for byte, so the merchant can de-duplicate.
    let app = TestApp::spawn().await;
    let merchant = &app.merchant;
    let (id, event_id) = establish_event(&app, merchant, "resend-1").await;
    app.deliver().await;
    let first = app.receiver.with_event_id(&event_id);
    assert_eq!(first.len(), 1);
    let resend = format!("/api/v1/paybank/events/{event_id}/resend");
    app.call(merchant, Method::POST, &resend, Body::Empty)
        .await
        .ok();
    app.deliver().await;
    let both = app.receiver.with_event_id(&event_id);
    assert_eq!(both.len(), 2);
    assert_eq!(both[1].body, first[0].body);
    assert_eq!(both[1].authorization, first[0].authorization);
    assert!(both[1].signature_valid);
    assert_eq!(both[1].param("objectId"), Some(id.as_str()));
    let stranger = app.add_merchant("Other Shop", true).await;
    let foreign = app
        .call(&stranger, Method::POST, &resend, Body::Empty)
        .await;
    foreign.assert_error(404, 200, Some("eventId"));
    assert_eq!(app.receiver.with_event_id(&event_id).len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_events_of_one_transaction_arrive_in_the_order_they_happened() {
    // Deliveries of one transaction's events run one after the other, in event order, even
    // when they are claimed in one batch.
    on_sqlite(events_arrive_in_order).await;
}

async fn events_arrive_in_order(app: TestApp) {
    let merchant = &app.merchant;
    let id = app.establish_id(merchant, "order-of-events", "10.00").await;
    app.authorize(merchant, &id, "jane_order", "secret", None)
        .await
        .ok();
    app.deliver().await;
    let arrived: Vec<String> = app
        .receiver
        .about(&id)
        .iter()
        .map(|notification| notification.event_type().to_owned())
        .collect();
    assert_eq!(arrived, ["Establish", "Update", "Authorize"]);
}
