//! A merchant's money over HTTP: unsettled and settled funds as captures settle, settled-only
//! merchants' payouts (error 231), and the daily settlement report in JSON and CSV. Also the
//! rails tests' shared app, clock and money helpers (the NACHA file helpers are in rails_ach).

use std::ops::Deref;
use std::path::PathBuf;

use paybank_core::calendar::is_banking_day;
use paybank_core::demo_bank::{self, Behaviour};
use paybank_core::eastern::{eastern_date, eastern_to_utc_ms};
use paybank_core::model::Merchant;
use paybank_core::return_window::{return_deadline, ReturnTimeFrame};
use paybank_core::settlement::next_cutoff;
use paybank_server::merchants::{create_merchant, NewMerchant};
use paybank_server::Config;
use reqwest::Method;
use serde_json::{json, Value};

use crate::client::{text, Authorized, Body, Reply};
use crate::helpers::{unique_suffix, TestApp};
use crate::rails_ach::{entry_for, newest_outbound};

pub const HOUR_S: i64 = 3_600;
pub const DAY_S: i64 = 86_400;
pub const DEMO_BANK_ROUTING: &str = "310000004";

/// A test app whose `data_dir` (where ACH file copies go) is a temporary directory of its own.
pub struct RailsApp {
    app: TestApp,
    pub data_dir: PathBuf,
}

impl Deref for RailsApp {
    type Target = TestApp;
    fn deref(&self) -> &TestApp {
        &self.app
    }
}

impl Drop for RailsApp {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.data_dir);
    }
}

/// An app with the test defaults and its own data directory.
pub async fn spawn() -> RailsApp {
    spawn_with(|_| {}).await
}

/// Like [`spawn`], with configuration changes on top.
pub async fn spawn_with(configure: impl FnOnce(&mut Config)) -> RailsApp {
    let data_dir = std::env::temp_dir().join(format!("paybank-rails-{}", unique_suffix()));
    let dir = data_dir.clone();
    let app = TestApp::spawn_with(move |config| {
        config.server.data_dir = dir;
        configure(config);
    })
    .await;
    RailsApp { app, data_dir }
}

/// Advances the clock to just past `at` (epoch ms), running what falls due on the way.
pub async fn advance_to(app: &TestApp, merchant: &Merchant, at: i64) {
    let now = app.clock_now(merchant).await;
    if at >= now {
        app.advance(merchant, (at - now) / 1000 + 1).await;
    }
}

/// Moves the clock a minute past the next ACH cut-off, so its files are written.
pub async fn past_next_cutoff(app: &TestApp, merchant: &Merchant) {
    let cutoff = next_cutoff_at(app, merchant).await;
    advance_to(app, merchant, cutoff + 60_000).await;
}

/// The next ACH cut-off after the clock's now.
pub async fn next_cutoff_at(app: &TestApp, merchant: &Merchant) -> i64 {
    next_cutoff(app.clock_now(merchant).await, app.state.policy.as_ref())
}

/// Opening of business (08:30 ET) on the banking day after today: when answers are read.
pub async fn next_opening_at(app: &TestApp, merchant: &Merchant) -> i64 {
    let today = eastern_date(app.clock_now(merchant).await);
    return_deadline(today, ReturnTimeFrame::BankingDays(1))
}

/// The account number Demo Bank gives `username` (index 0 checking, 1 savings).
pub fn demo_account(username: &str, index: usize) -> String {
    let bank = demo_bank::bank_by_id_or_name("Demo Bank").expect("Demo Bank");
    demo_bank::accounts(bank, username, &Behaviour::Default)[index]
        .account_number
        .clone()
}

/// Authorizes `id` headlessly at `bank` with account `index` (0 checking, 1 savings), delivers
/// the events and takes the split token from the Authorize event.
pub async fn authorize_at(
    app: &TestApp,
    merchant: &Merchant,
    id: &str,
    bank: &str,
    username: &str,
    index: u8,
) -> Authorized {
    let body = json!({ "bank": bank, "username": username, "password": "secret",
        "accountIndex": index });
    let path = format!("/api/v1/sandbox/transactions/{id}/authorize");
    let authorized = post_json(app, merchant, &path, body).await.transaction();
    assert_eq!(authorized["status"], 2);
    app.deliver().await;
    let authorize = app.receiver.only(id, "Authorize");
    let split_token = authorize.param("splitToken").map(str::to_owned);
    Authorized {
        id: id.to_owned(),
        split_token,
    }
}

/// A capture that must be accepted (Authorized); returns its id.
pub async fn captured(
    app: &TestApp,
    merchant: &Merchant,
    payment: &Authorized,
    reference: &str,
    amount: &str,
) -> String {
    let token = payment.split_token.as_deref();
    let reply = app
        .capture(merchant, &payment.id, reference, amount, token)
        .await;
    let capture = reply.transaction();
    assert_eq!(capture["status"], 2, "{capture}");
    text(&capture["transactionId"])
}

/// `POST /transactions/{id}/deposit`, as JSON, optionally asking for an instant payout.
pub async fn deposit(
    app: &TestApp,
    merchant: &Merchant,
    payment: &Authorized,
    reference: &str,
    amount: &str,
    instant: bool,
) -> Reply {
    let body = json!({
        "merchantReference": reference,
        "amount": amount,
        "instantPayoutRequest": instant,
        "splitToken": payment.split_token.clone().unwrap_or_default(),
    });
    let path = format!("/api/v1/transactions/{}/deposit", payment.id);
    app.call(merchant, Method::POST, &path, Body::Json(body))
        .await
}

/// A POST of JSON to a sandbox or API path.
pub async fn post_json(app: &TestApp, merchant: &Merchant, path: &str, body: Value) -> Reply {
    app.call(merchant, Method::POST, path, Body::Json(body))
        .await
}

/// `GET /paybank/funds`: the `funds` object.
pub async fn funds(app: &TestApp, merchant: &Merchant) -> Value {
    let path = "/api/v1/paybank/funds";
    let reply = app.call(merchant, Method::GET, path, Body::Empty).await;
    reply.ok().json["funds"].clone()
}

/// Unsettled, settled and in-flight payouts, as the funds endpoint shows them.
async fn money(app: &TestApp, merchant: &Merchant) -> [String; 3] {
    let funds = funds(app, merchant).await;
    ["unsettled", "settled", "payoutsInFlight"].map(|key| text(&funds[key]))
}

/// A merchant whose deposits and refunds may only draw on its settled funds.
async fn settled_only_merchant(app: &TestApp) -> Merchant {
    let new = NewMerchant {
        name: "Settled Only Shop".to_owned(),
        notification_url: Some(app.receiver.notify_url()),
        allowed_origins: vec![app.url.clone(), app.receiver.url.clone()],
        split_token_enabled: true,
        payouts_from_settled_only: true,
    };
    let merchant = create_merchant(&app.state, new)
        .await
        .expect("create merchant");
    app.receiver
        .trust(&merchant.access_id, &merchant.access_key);
    merchant
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_capture_is_unsettled_while_processed_and_settled_once_completed() {
    // The funds endpoint follows the ledger: nothing, then unsettled, then settled.
    let app = spawn().await;
    let merchant = &app.merchant;
    app.align_clock(merchant).await;
    let payment = app.authorized(merchant, "funds-1", "100.00").await;
    let capture_id = captured(&app, merchant, &payment, "funds-1-c", "40.00").await;
    let funds_now = funds(&app, merchant).await;
    assert_eq!(funds_now["currency"], "USD");
    assert_eq!(funds_now["payoutsFromSettledOnly"], false);
    assert_eq!(money(&app, merchant).await, ["0.00", "0.00", "0.00"]);
    past_next_cutoff(&app, merchant).await;
    assert_eq!(app.transaction(merchant, &capture_id).await["status"], 3);
    assert_eq!(money(&app, merchant).await, ["40.00", "0.00", "0.00"]);
    app.advance(merchant, 6 * DAY_S).await;
    assert_eq!(app.transaction(merchant, &capture_id).await["status"], 4);
    assert_eq!(money(&app, merchant).await, ["0.00", "40.00", "0.00"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_settled_only_merchant_cannot_pay_out_more_than_its_settled_funds() {
    // Deposits and refunds beyond settled funds get 231 and write nothing; within them they pass.
    let app = spawn().await;
    let shop = settled_only_merchant(&app).await;
    app.align_clock(&shop).await;
    assert_eq!(funds(&app, &shop).await["payoutsFromSettledOnly"], true);
    let payment = app.authorized(&shop, "so-1", "200.00").await;
    let before = app.snapshot(&shop).await;
    let early = deposit(&app, &shop, &payment, "so-1-d0", "10.00", false).await;
    early.assert_error(400, 231, Some("amount"));
    assert_eq!(app.snapshot(&shop).await, before);
    let capture_id = captured(&app, &shop, &payment, "so-1-c", "50.00").await;
    app.advance(&shop, 6 * DAY_S).await;
    assert_eq!(money(&app, &shop).await, ["0.00", "50.00", "0.00"]);
    let payout = deposit(&app, &shop, &payment, "so-1-d1", "30.00", false).await;
    assert_eq!(payout.transaction()["status"], 2);
    assert_eq!(money(&app, &shop).await, ["0.00", "20.00", "30.00"]);
    let before = app.snapshot(&shop).await;
    let over = deposit(&app, &shop, &payment, "so-1-d2", "20.01", false).await;
    over.assert_error(400, 231, Some("amount"));
    app.refund(&shop, &capture_id, "25.00")
        .await
        .assert_error(400, 231, Some("amount"));
    assert_eq!(app.snapshot(&shop).await, before);
    app.refund(&shop, &capture_id, "20.00").await.transaction();
    assert_eq!(money(&app, &shop).await, ["0.00", "0.00", "50.00"]);
}

/// `GET /paybank/settlements/{date}` with an optional query.
async fn report(app: &TestApp, merchant: &Merchant, date: &str, query: &str) -> Reply {
    let path = format!("/api/v1/paybank/settlements/{date}{query}");
    app.call(merchant, Method::GET, &path, Body::Empty).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_settlement_report_lists_the_completed_capture_with_its_file_and_trace() {
    // The completion day's report (JSON and CSV) names the entry that moved the money.
    let app = spawn().await;
    let merchant = &app.merchant;
    app.align_clock(merchant).await;
    let payment = app.authorized(merchant, "rep-1", "100.00").await;
    let capture_id = captured(&app, merchant, &payment, "rep-1-c", "40.00").await;
    past_next_cutoff(&app, merchant).await;
    let (listed, file) = newest_outbound(&app, merchant).await;
    let (file_name, trace) = (
        text(&listed["name"]),
        entry_for(&file, "rep-1-c").1.detail.trace_number.clone(),
    );
    app.advance(merchant, 6 * DAY_S).await;
    let completed = app.transaction(merchant, &capture_id).await;
    let day = eastern_date(completed["completedAt"].as_i64().expect("completedAt")).to_string();
    let settlement = report(&app, merchant, &day, "").await.ok().json["settlement"].clone();
    assert_eq!(settlement["date"], day.as_str());
    assert_eq!(settlement["merchantId"], merchant.merchant_id.to_string());
    assert_eq!(
        (settlement["credits"].clone(), settlement["debits"].clone()),
        (json!("40.00"), json!("0.00"))
    );
    assert_eq!(settlement["net"], "40.00");
    let entries = settlement["entries"].as_array().expect("entries");
    assert_eq!(entries.len(), 1, "{settlement}");
    let line = &entries[0];
    assert_eq!(line["transactionId"], capture_id.as_str());
    assert_eq!(line["transactionType"], 3);
    assert_eq!(line["merchantReference"], "rep-1-c");
    assert_eq!(line["amount"], "40.00");
    assert_eq!(line["rail"], "ach");
    assert_eq!(line["fileName"], file_name.as_str());
    assert_eq!(line["traceNumber"], trace.as_str());
    let csv = report(&app, merchant, &day, "?format=csv").await.ok();
    assert!(csv.headers["content-type"]
        .to_str()
        .unwrap_or_default()
        .starts_with("text/csv"));
    let rows: Vec<&str> = csv.text.lines().collect();
    assert_eq!(rows.len(), 3, "{}", csv.text);
    assert!(
        rows[0].starts_with("transactionId,transactionType,"),
        "{}",
        rows[0]
    );
    let fields: Vec<&str> = rows[1].split(',').collect();
    assert_eq!(fields[0], capture_id);
    assert_eq!(
        (fields[4], fields[6], fields[7], fields[8]),
        ("40.00", "ach", file_name.as_str(), trace.as_str())
    );
    assert_eq!(rows[2], "net,,,,40.00,,,,,");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_settlement_report_refuses_non_banking_days_and_bad_dates() {
    // Weekends, Fed holidays, impossible dates and unknown formats are 400s naming the field.
    let app = spawn().await;
    let merchant = &app.merchant;
    for day in ["2026-03-07", "2026-03-08", "2026-12-25", "2026-01-01"] {
        report(&app, merchant, day, "")
            .await
            .assert_error(400, 200, Some("date"));
    }
    for day in ["2026-02-30", "20260302", "yesterday", "2026-3-2"] {
        report(&app, merchant, day, "")
            .await
            .assert_error(400, 200, Some("date"));
    }
    let json = report(&app, merchant, "2026-03-02", "").await.ok();
    assert_eq!(json.json["settlement"]["net"], "0.00");
    let bad = report(&app, merchant, "2026-03-02", "?format=xml").await;
    bad.assert_error(400, 200, Some("format"));
}

/// 17:00 ET on the next Tuesday whose Wednesday to Friday are banking days too.
fn tuesday_evening_after(now: i64) -> i64 {
    let mut day = eastern_date(now);
    loop {
        day = day.next_day().expect("a later day");
        let week = [0, 1, 2, 3].map(|offset| day + time::Duration::days(offset));
        if day.weekday() == time::Weekday::Tuesday && week.iter().all(|d| is_banking_day(*d)) {
            return eastern_to_utc_ms(day, time::Time::from_hms(17, 0, 0).expect("17:00"));
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_capture_in_tuesdays_next_day_window_completes_three_banking_days_later() {
    // Sent at Tuesday's 20:00 ET cut-off, it completes Friday 20:00 ET (Wed, Thu, Fri).
    let app = spawn().await;
    let merchant = &app.merchant;
    let tuesday = tuesday_evening_after(app.clock_now(merchant).await);
    advance_to(&app, merchant, tuesday).await;
    let payment = app.authorized(merchant, "late-1", "100.00").await;
    let capture_id = captured(&app, merchant, &payment, "late-1-c", "40.00").await;
    let cutoff = next_cutoff_at(&app, merchant).await;
    assert_eq!(
        cutoff - tuesday,
        3 * HOUR_S * 1000,
        "the 20:00 ET next-day window"
    );
    past_next_cutoff(&app, merchant).await;
    assert_eq!(app.transaction(merchant, &capture_id).await["status"], 3);
    let friday = eastern_date(cutoff) + time::Duration::days(3);
    let friday_evening = eastern_to_utc_ms(friday, time::Time::from_hms(20, 0, 0).expect("20:00"));
    advance_to(&app, merchant, friday_evening - 60_000).await;
    assert_eq!(app.transaction(merchant, &capture_id).await["status"], 3);
    app.advance(merchant, 120).await;
    let completed = app.transaction(merchant, &capture_id).await;
    assert_eq!(completed["status"], 4, "{completed}");
}
