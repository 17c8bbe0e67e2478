//! Instant rails over HTTP: payouts over RTP and FedNow (pacs.008 out, pacs.002 back, both read
//! with the ISO 20022 reader), forced RJCT and ACWP answers, the fall-back to ACH, and the
//! captures paybank makes by itself for Instant and Recurring payments.

use paybank_core::iso20022::{
    read_message, InstantMessage, StatusReasonCode, TransactionStatus, PACS_002, PACS_008,
};
use paybank_core::model::Merchant;
use reqwest::Method;
use serde_json::{json, Value};

use crate::client::{sign_establish, text, Authorized, Body, Reply};
use crate::helpers::TestApp;
use crate::rails_ach::{entries, entry_for, files_of, newest_outbound, shape};
use crate::rails_funds::{
    advance_to, authorize_at, demo_account, deposit, funds, next_opening_at, past_next_cutoff,
    post_json, spawn, spawn_with, DAY_S, DEMO_BANK_ROUTING, HOUR_S,
};

/// The instant payment messages about one transaction, as listed.
async fn messages(app: &TestApp, merchant: &Merchant, id: &str) -> Vec<Value> {
    let path = format!("/api/v1/sandbox/instant/messages?transactionId={id}");
    let reply = app.call(merchant, Method::GET, &path, Body::Empty).await;
    reply.ok().json["messages"]
        .as_array()
        .expect("messages")
        .clone()
}

/// A listed message's raw XML, read back with the ISO 20022 reader.
async fn message(app: &TestApp, merchant: &Merchant, listed: &Value) -> (String, InstantMessage) {
    let path = format!(
        "/api/v1/sandbox/instant/messages/{}",
        text(&listed["messageId"])
    );
    let reply = app
        .call(merchant, Method::GET, &path, Body::Empty)
        .await
        .ok();
    assert_eq!(reply.headers["content-type"], "application/xml");
    let read = read_message(&reply.text).unwrap_or_else(|error| panic!("{error}: {}", reply.text));
    (reply.text, read)
}

/// The one listed message with this direction (and, for answers, status).
fn listed<'a>(all: &'a [Value], direction: &str, status: Option<&str>) -> &'a Value {
    let found: Vec<&Value> = all
        .iter()
        .filter(|m| m["direction"] == direction && status.is_none_or(|s| m["status"] == s))
        .collect();
    assert_eq!(found.len(), 1, "{direction} {status:?} in {all:?}");
    found[0]
}

/// `POST /sandbox/instant/outcomes`.
async fn force_instant(app: &TestApp, merchant: &Merchant, id: &str, status: &str) -> Reply {
    let body = json!({ "transactionId": id, "status": status, "reasonCode": "AC03" });
    post_json(app, merchant, "/api/v1/sandbox/instant/outcomes", body).await
}

/// An instant payout of `amount` that must be accepted; returns the deposit's id.
async fn instant_payout(
    app: &TestApp,
    payment: &Authorized,
    reference: &str,
    amount: &str,
) -> String {
    let merchant = &app.merchant;
    let reply = deposit(app, merchant, payment, reference, amount, true).await;
    let payout = reply.transaction();
    assert_eq!(
        (payout["transactionType"].clone(), payout["status"].clone()),
        (json!(6), json!(2))
    );
    text(&payout["transactionId"])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_instant_payout_goes_over_rtp_and_completes_on_the_acsc_answer() {
    // pacs.008 goes out at once; the bank's pacs.002 ACSC two seconds later completes the payout.
    let app = spawn().await;
    let merchant = &app.merchant;
    let payment = app.authorized(merchant, "rtp-1", "100.00").await;
    let id = instant_payout(&app, &payment, "rtp-1-d", "50.00").await;
    app.advance(merchant, 1).await;
    assert_eq!(app.transaction(merchant, &id).await["status"], 3);
    assert_eq!(funds(&app, merchant).await["payoutsInFlight"], "50.00");
    let sent = messages(&app, merchant, &id).await;
    assert_eq!(sent.len(), 1, "{sent:?}");
    app.advance(merchant, 2).await;
    assert_eq!(app.transaction(merchant, &id).await["status"], 4);
    assert_eq!(funds(&app, merchant).await["payoutsInFlight"], "0.00");
    assert!(app.receiver.only(&id, "Complete").signature_valid);
    let all = messages(&app, merchant, &id).await;
    assert_eq!(all.len(), 2, "{all:?}");
    let sent = listed(&all, "sent", None);
    assert_eq!(
        (sent["network"].clone(), sent["messageType"].clone()),
        (json!("rtp"), json!(PACS_008))
    );
    assert_eq!(
        (sent["amount"].clone(), sent["transactionId"].clone()),
        (json!("50.00"), json!(id))
    );
    let (xml, read) = message(&app, merchant, sent).await;
    assert!(xml.contains("urn:paybank:rtp:incoming:v001"), "{xml}");
    let InstantMessage::CreditTransfer(_, transfer) = read else {
        panic!("not a pacs.008: {xml}")
    };
    assert_eq!(transfer.message_id, text(&sent["messageId"]));
    assert_eq!(
        (transfer.end_to_end_id.as_str(), transfer.amount.to_string()),
        (id.as_str(), "50.00".to_owned())
    );
    assert_eq!(transfer.creditor_agent_rtn, DEMO_BANK_ROUTING);
    assert_eq!(transfer.creditor_account, demo_account("user_rtp-1", 0));
    assert_eq!(transfer.debtor_agent_rtn, "091000019");
    let answer = listed(&all, "received", Some("ACSC"));
    assert_eq!(
        (answer["network"].clone(), answer["messageType"].clone()),
        (json!("rtp"), json!(PACS_002))
    );
    let (xml, read) = message(&app, merchant, answer).await;
    let InstantMessage::StatusReport(_, report) = read else {
        panic!("not a pacs.002: {xml}")
    };
    assert_eq!(
        report.status,
        TransactionStatus::AcceptedSettlementCompleted
    );
    assert_eq!(report.original_message_id, transfer.message_id);
    assert_eq!(report.original_end_to_end_id, id);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forced_rjct_ac03_denies_the_instant_payout_with_the_iso_reason() {
    // The bank's pacs.002 RJCT AC03 denies the payout; its reservation goes back to the merchant.
    let app = spawn().await;
    let merchant = &app.merchant;
    let payment = app.authorized(merchant, "rjct", "100.00").await;
    let id = instant_payout(&app, &payment, "rjct-d", "50.00").await;
    let forced = force_instant(&app, merchant, &id, "RJCT").await.ok();
    assert_eq!(forced.json["forced"]["transactionId"], id.as_str());
    app.advance(merchant, 3).await;
    let denied = app.transaction(merchant, &id).await;
    assert_eq!(denied["status"], 8);
    assert_eq!(denied["errorCode"], 331);
    assert_eq!(denied["paymentProviderTransaction"]["reasonCode"], "AC03");
    let deny = app.receiver.only(&id, "Deny");
    assert_eq!(
        deny.param("paymentProviderTransaction.reasonCode"),
        Some("AC03")
    );
    assert_eq!(funds(&app, merchant).await["payoutsInFlight"], "0.00");
    assert_eq!(funds(&app, merchant).await["settled"], "0.00");
    let all = messages(&app, merchant, &id).await;
    let (xml, read) = message(&app, merchant, listed(&all, "received", Some("RJCT"))).await;
    let InstantMessage::StatusReport(_, report) = read else {
        panic!("not a pacs.002: {xml}")
    };
    assert_eq!(report.status, TransactionStatus::Rejected);
    let reason = report.reason.map(|reason| reason.code);
    assert_eq!(reason, Some(StatusReasonCode::Iso("AC03".to_owned())));
    let again = force_instant(&app, merchant, &id, "ACWP").await;
    again.assert_error(400, 220, Some("transactionId"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forced_acwp_keeps_the_payout_processed_until_the_next_banking_day() {
    // ACWP leaves the payout Processed; the bank's follow-up ACSC at 08:30 ET completes it.
    let app = spawn().await;
    let merchant = &app.merchant;
    app.align_clock(merchant).await;
    let payment = app.authorized(merchant, "acwp", "100.00").await;
    let id = instant_payout(&app, &payment, "acwp-d", "50.00").await;
    force_instant(&app, merchant, &id, "ACWP").await.ok();
    let follow_up_at = next_opening_at(&app, merchant).await;
    app.advance(merchant, 3).await;
    let processed = app.transaction(merchant, &id).await;
    assert_eq!(processed["status"], 3);
    assert_eq!(processed["paymentProviderTransaction"]["status"], "SW030");
    let all = messages(&app, merchant, &id).await;
    listed(&all, "received", Some("ACWP"));
    advance_to(&app, merchant, follow_up_at - 60_000).await;
    assert_eq!(app.transaction(merchant, &id).await["status"], 3);
    assert_eq!(messages(&app, merchant, &id).await.len(), 2);
    app.advance(merchant, 120).await;
    assert_eq!(app.transaction(merchant, &id).await["status"], 4);
    let all = messages(&app, merchant, &id).await;
    assert_eq!(all.len(), 3, "{all:?}");
    let (xml, read) = message(&app, merchant, listed(&all, "received", Some("ACSC"))).await;
    let InstantMessage::StatusReport(_, report) = read else {
        panic!("not a pacs.002: {xml}")
    };
    assert_eq!(
        report.status,
        TransactionStatus::AcceptedSettlementCompleted
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_payout_over_demo_banks_100000_instant_limit_goes_by_ach() {
    // $150,000 is over Demo Bank's instant limit: no message, a PPD credit at the cut-off instead.
    let app = spawn().await;
    let merchant = &app.merchant;
    app.align_clock(merchant).await;
    let payment = app.authorized(merchant, "big", "200000.00").await;
    let id = instant_payout(&app, &payment, "big-d", "150000.00").await;
    app.advance(merchant, 3).await;
    assert_eq!(app.transaction(merchant, &id).await["status"], 2);
    assert!(messages(&app, merchant, &id).await.is_empty());
    past_next_cutoff(&app, merchant).await;
    assert_eq!(app.transaction(merchant, &id).await["status"], 3);
    let (_, file) = newest_outbound(&app, merchant).await;
    assert_eq!(
        shape(entry_for(&file, "big-d")),
        (220, "PPD".into(), 22, 15_000_000)
    );
}

/// A 100,000.00 Deferred authorization at `bank`.
async fn authorized_at(app: &TestApp, bank: &str, reference: &str) -> Authorized {
    let merchant = &app.merchant;
    let id = app.establish_id(merchant, reference, "100000.00").await;
    authorize_at(app, merchant, &id, bank, &format!("user_{reference}"), 0).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prairie_state_payouts_go_by_ach_and_harbor_ones_by_fednow_up_to_25000() {
    // Prairie State has no instant rails; Harbor FCU is FedNow-only with a $25,000 limit.
    let app = spawn().await;
    let merchant = &app.merchant;
    app.align_clock(merchant).await;
    let prairie = authorized_at(&app, "Prairie State Bank", "prairie").await;
    let by_ach = instant_payout(&app, &prairie, "prairie-d", "50.00").await;
    let harbor = authorized_at(&app, "Harbor Federal Credit Union", "harbor").await;
    let fednow = instant_payout(&app, &harbor, "harbor-d1", "25000.00").await;
    let over = instant_payout(&app, &harbor, "harbor-d2", "25000.01").await;
    app.advance(merchant, 3).await;
    assert!(messages(&app, merchant, &by_ach).await.is_empty());
    assert!(messages(&app, merchant, &over).await.is_empty());
    let all = messages(&app, merchant, &fednow).await;
    assert_eq!(listed(&all, "sent", None)["network"], "fednow");
    assert_eq!(app.transaction(merchant, &fednow).await["status"], 4);
    past_next_cutoff(&app, merchant).await;
    let (_, file) = newest_outbound(&app, merchant).await;
    assert_eq!(entries(&file).len(), 2);
    let (_, prairie_entry) = entry_for(&file, "prairie-d");
    assert_eq!(prairie_entry.detail.routing_number(), "310000033");
    let (_, harbor_entry) = entry_for(&file, "harbor-d2");
    assert_eq!(harbor_entry.detail.routing_number(), "310000020");
    assert_eq!(harbor_entry.detail.amount, 2_500_001);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_payment_provider_says_whether_instant_payouts_are_available() {
    // payment.paymentProvider.instantPayoutAvailable tells merchants if an instant payout can work.
    let app = spawn().await;
    let merchant = &app.merchant;
    let demo = app.authorized(merchant, "ipa-demo", "100.00").await;
    let prairie = authorized_at(&app, "Prairie State Bank", "ipa-prairie").await;
    let provider =
        |txn: &Value| txn["payment"]["paymentProvider"]["instantPayoutAvailable"].clone();
    let prairie = app.transaction(merchant, &prairie.id).await;
    assert_eq!(provider(&prairie), json!(false));
    let demo = app.transaction(merchant, &demo.id).await;
    assert_eq!(
        provider(&demo),
        json!(true),
        "Demo Bank takes RTP and FedNow"
    );
}

/// Establishes a payment with extra establish fields (re-signed) and authorizes it at Demo Bank.
async fn established_with(
    app: &TestApp,
    reference: &str,
    amount: &str,
    extra: Value,
) -> Authorized {
    let merchant = &app.merchant;
    let mut data = app.establish_data(merchant, reference, amount);
    for (key, value) in extra.as_object().expect("fields") {
        data[key] = value.clone();
    }
    sign_establish(&mut data, &merchant.access_key);
    let reply = app
        .post_establish(merchant, Body::Json(data))
        .await
        .transaction();
    let id = text(&reply["transactionId"]);
    authorize_at(
        app,
        merchant,
        &id,
        "Demo Bank",
        &format!("user_{reference}"),
        0,
    )
    .await
}

/// The merchant's transactions of one type, oldest first.
async fn of_type(app: &TestApp, transaction_type: u8) -> Vec<Value> {
    let listing = app.snapshot(&app.merchant).await.transactions;
    listing
        .into_iter()
        .filter(|txn| txn["transactionType"] == transaction_type)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_instant_payment_type_makes_a_pay_that_goes_out_at_the_next_cutoff() {
    // After authorization a Pay (type 2) for the whole amount is sent at the cut-off and settles.
    let app = spawn().await;
    let merchant = &app.merchant;
    app.align_clock(merchant).await;
    let payment =
        established_with(&app, "inst-1", "30.00", json!({ "paymentType": "Instant" })).await;
    let pays = of_type(&app, 2).await;
    assert_eq!(pays.len(), 1, "{pays:?}");
    let pay = &pays[0];
    assert_eq!(
        (pay["status"].clone(), pay["amount"].clone()),
        (json!(2), json!("30.00"))
    );
    assert_eq!(pay["originalTransactionId"], payment.id.as_str());
    let pay_id = text(&pay["transactionId"]);
    past_next_cutoff(&app, merchant).await;
    assert_eq!(app.transaction(merchant, &pay_id).await["status"], 3);
    let (_, file) = newest_outbound(&app, merchant).await;
    assert_eq!(shape(entries(&file)[0]), (225, "WEB".into(), 27, 3_000));
    app.advance(merchant, 6 * DAY_S).await;
    assert_eq!(app.transaction(merchant, &pay_id).await["status"], 4);
    assert_eq!(
        app.receiver.event_types(&pay_id),
        ["Authorize", "Process", "Complete"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recurring_payment_with_automatic_capture_captures_at_each_occurrence() {
    // Daily from a minute from now: three days make captures <ref>-1..3, each sent as WEB `R`.
    let app = spawn().await;
    let merchant = &app.merchant;
    app.align_clock(merchant).await;
    let start = app.clock_now(merchant).await + 60_000;
    let recurrence = json!({ "startDate": start, "endDate": start + 2 * DAY_S * 1000 + HOUR_S * 1000,
        "frequency": 1, "frequencyUnit": 1, "frequencyUnitType": "Day",
        "recurringAmount": "10.00", "automaticCapture": true });
    let extra = json!({ "paymentType": "Recurring", "recurrence": recurrence });
    established_with(&app, "rec-1", "100.00", extra).await;
    assert!(of_type(&app, 3).await.is_empty());
    app.advance(merchant, 3 * DAY_S).await;
    let references = |captures: &[Value]| -> Vec<String> {
        captures
            .iter()
            .map(|txn| text(&txn["merchantReference"]))
            .collect()
    };
    assert_eq!(
        references(&of_type(&app, 3).await),
        ["rec-1-1", "rec-1-2", "rec-1-3"]
    );
    app.advance(merchant, 5 * DAY_S).await;
    let captures = of_type(&app, 3).await;
    assert_eq!(references(&captures), ["rec-1-1", "rec-1-2", "rec-1-3"]);
    let sent: Vec<Value> = files_of(&app, merchant, "outbound", "entries").await;
    for capture in &captures {
        assert!(capture["processedAt"].as_i64().is_some(), "{capture}");
        assert_eq!(capture["amount"], "10.00");
        let reference = text(&capture["merchantReference"]).to_ascii_uppercase();
        let mut found = Vec::new();
        for listed in &sent {
            let (_, file) = crate::rails_ach::nacha_file(&app, merchant, listed).await;
            let details = entries(&file)
                .into_iter()
                .map(|(_, entry)| entry.detail.clone());
            found.extend(details.filter(|detail| detail.individual_identification == reference));
        }
        assert_eq!(found.len(), 1, "{reference}");
        assert_eq!(found[0].payment_type_code(), "R");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ach_return_cannot_be_forced_on_an_instant_payout() {
    // An RTP payout has no ACH entry for a bank to return: the forced R01 would never apply.
    let app = spawn().await;
    let merchant = &app.merchant;
    let payment = app.authorized(merchant, "cross", "100.00").await;
    let id = instant_payout(&app, &payment, "cross-d", "50.00").await;
    let before = app.snapshot(merchant).await;
    let forced = crate::rails_ach::force_return(&app, merchant, &id, "R01").await;
    forced.assert_error(400, 220, Some("transactionId"));
    assert_eq!(app.snapshot(merchant).await, before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_instant_answer_cannot_be_forced_on_a_payout_that_fell_back_to_ach() {
    // A Prairie State payout goes by ACH, whose banks never read an instant outcome.
    let app = spawn().await;
    let merchant = &app.merchant;
    let prairie = authorized_at(&app, "Prairie State Bank", "cross-p").await;
    let id = instant_payout(&app, &prairie, "cross-p-d", "50.00").await;
    let before = app.snapshot(merchant).await;
    let forced = force_instant(&app, merchant, &id, "RJCT").await;
    forced.assert_error(400, 220, Some("transactionId"));
    assert_eq!(app.snapshot(merchant).await, before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn instant_payouts_complete_on_a_fed_holiday_while_ach_waits() {
    // Christmas Day 2026 (a Friday): RTP answers within seconds; an ACH payout waits for Monday.
    let app = spawn_with(|config| config.clock.start = "2026-12-25T15:00:00Z".to_owned()).await;
    let merchant = &app.merchant;
    let payment = app.authorized(merchant, "xmas", "100.00").await;
    let instant = instant_payout(&app, &payment, "xmas-i", "30.00").await;
    let reply = deposit(&app, merchant, &payment, "xmas-a", "20.00", false).await;
    let by_ach = text(&reply.transaction()["transactionId"]);
    app.advance(merchant, 5).await;
    assert_eq!(app.transaction(merchant, &instant).await["status"], 4);
    assert_eq!(app.transaction(merchant, &by_ach).await["status"], 2);
    // Saturday and Sunday pass with no ACH window; Monday's 10:15 ET window sends it.
    app.advance(merchant, 3 * DAY_S).await;
    assert_eq!(app.transaction(merchant, &by_ach).await["status"], 2);
    app.advance(merchant, HOUR_S).await;
    assert_eq!(app.transaction(merchant, &by_ach).await["status"], 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recurring_payment_without_automatic_capture_is_captured_by_the_merchant() {
    let app = spawn().await;
    let merchant = &app.merchant;
    let start = app.clock_now(merchant).await + 60_000;
    let recurrence = json!({ "startDate": start, "frequency": 1, "frequencyUnit": 1,
        "frequencyUnitType": "Month", "recurringAmount": "15.00", "automaticCapture": false });
    let extra = json!({ "paymentType": "Recurring", "recurrence": recurrence });
    let payment = established_with(&app, "rec-m", "100.00", extra).await;
    app.advance(merchant, 40 * DAY_S).await;
    assert!(of_type(&app, 3).await.is_empty(), "no automatic capture");
    let token = payment.split_token.as_deref();
    let reply = app
        .capture(merchant, &payment.id, "rec-m-1", "15.00", token)
        .await;
    assert_eq!(reply.transaction()["status"], 2);
    assert_eq!(of_type(&app, 3).await.len(), 1);
}
