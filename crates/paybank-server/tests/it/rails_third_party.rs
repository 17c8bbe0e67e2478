//! Third-party checks of what the server writes: its NACHA files through achlens, its ISO 20022
//! messages through the FedNow XML Schemas.
//!
//! The core's tests already run the codecs' output through these validators; these run what a
//! live server actually wrote and serves (files and messages made by the rails jobs from real
//! API calls), so a defect in how the server assembles them cannot hide behind the codec tests.
//! The validators' installers are the core's, included by path rather than copied.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use paybank_core::iso20022::{HEAD_001, PACS_002, PACS_008};
use paybank_core::model::Merchant;
use reqwest::Method;
use serde_json::{json, Value};

use crate::client::{text, Authorized, Body};
use crate::helpers::TestApp;
use crate::rails_ach::{entry_for, files, files_of, force_return, get_file, nacha_file};
use crate::rails_funds::{authorize_at, captured, deposit, post_json, spawn, DAY_S};

#[path = "../../../paybank-core/tests/third_party/mod.rs"]
mod third_party;

#[path = "../../../paybank-core/tests/third_party_xsd/mod.rs"]
mod third_party_xsd;

/// Entry counts summed by `"<direction> <kind>"` over the listed ACH files.
fn entry_counts(listed: &[Value]) -> BTreeMap<String, u64> {
    let mut counts = BTreeMap::new();
    for file in listed {
        let key = format!("{} {}", text(&file["direction"]), text(&file["kind"]));
        let entries = file["entryCount"].as_u64().expect("entryCount");
        *counts.entry(key).or_insert(0) += entries;
    }
    counts
}

/// Downloads each listed ACH file into `dir`, paired with its listed entry count.
async fn download_files(
    app: &TestApp,
    merchant: &Merchant,
    listed: &[Value],
    dir: &Path,
) -> Vec<(PathBuf, usize)> {
    let mut downloaded = Vec::new();
    for file in listed {
        let name = text(&file["name"]);
        let raw = get_file(app, merchant, &name).await.ok().text;
        let path = dir.join(&name);
        std::fs::write(&path, raw).expect("write the ACH file");
        let entries = file["entryCount"].as_u64().expect("entryCount");
        downloaded.push((path, usize::try_from(entries).expect("a small count")));
    }
    downloaded
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_servers_outbound_return_and_notice_files_pass_the_third_party_nacha_validator() {
    // A WEB debit and a PPD credit go out; Demo Bank answers with an R01 (empty account), a
    // forced R03 on the credit and a forced C01 notice: every kind of file the server writes.
    let app = spawn().await;
    let merchant = &app.merchant;
    app.align_clock(merchant).await;
    let paid = app.authorized(merchant, "tp-ach", "100.00").await;
    let debit = captured(&app, merchant, &paid, "tp-ach-c", "40.00").await;
    let payout = deposit(&app, merchant, &paid, "tp-ach-d", "25.00", false).await;
    let credit = text(&payout.transaction()["transactionId"]);
    let empty = app
        .authorized_with(merchant, "tp-nsf", "100.00", "NotEnoughFunds")
        .await;
    captured(&app, merchant, &empty, "tp-nsf-c", "25.00").await;
    force_return(&app, merchant, &credit, "R03").await.ok();
    let notice =
        json!({ "transactionId": debit, "changeCode": "C01", "correctedData": "1918171614" });
    let path = "/api/v1/sandbox/ach/notices";
    post_json(&app, merchant, path, notice).await.ok();
    app.advance(merchant, 6 * DAY_S).await;
    let listed = files(&app, merchant).await;
    let expected = [
        ("inbound notices", 1),
        ("inbound returns", 2),
        ("outbound entries", 3),
    ];
    let expected = expected.map(|(key, count)| (key.to_owned(), count));
    assert_eq!(
        entry_counts(&listed),
        BTreeMap::from(expected),
        "{listed:?}"
    );
    let dir = third_party::scratch_dir("server-nacha");
    let downloaded = download_files(&app, merchant, &listed, &dir).await;
    third_party::check_files(&downloaded).unwrap_or_else(|err| panic!("{err}"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_returned_web_debit_keeps_its_payment_type_code() {
    // achlens warns ED015 ("WEB payment type code is not in the allowed set") on the return of
    // a WEB debit: NACHA says the discretionary data must be returned intact, and for WEB it is
    // the payment type code (`S` or `R`). The nacha-check script only fails on errors, so this
    // asserts it directly.
    let app = spawn().await;
    let merchant = &app.merchant;
    app.align_clock(merchant).await;
    let empty = app
        .authorized_with(merchant, "tp-web", "100.00", "NotEnoughFunds")
        .await;
    captured(&app, merchant, &empty, "tp-web-c", "25.00").await;
    app.advance(merchant, 6 * DAY_S).await;
    let sent = &files_of(&app, merchant, "outbound", "entries").await[0];
    let returned = &files_of(&app, merchant, "inbound", "returns").await[0];
    let (_, sent) = nacha_file(&app, merchant, sent).await;
    let (_, returned) = nacha_file(&app, merchant, returned).await;
    let original = &entry_for(&sent, "tp-web-c").1.detail;
    let (batch, entry) = entry_for(&returned, "tp-web-c");
    assert_eq!(batch.header.standard_entry_class, "WEB");
    assert_eq!(original.payment_type_code(), "S");
    assert_eq!(
        entry.detail.discretionary_data, original.discretionary_data,
        "the R01 entry's discretionary data (positions 77-78)"
    );
}

/// A 100,000.00 Deferred authorization at `bank`, on the account's checking account.
async fn authorized_at_bank(app: &TestApp, bank: &str, reference: &str) -> Authorized {
    let merchant = &app.merchant;
    let id = app.establish_id(merchant, reference, "100000.00").await;
    authorize_at(app, merchant, &id, bank, &format!("user_{reference}"), 0).await
}

/// An instant payout that must be accepted; returns the deposit's id.
async fn instant_payout(app: &TestApp, payment: &Authorized, reference: &str) -> String {
    let merchant = &app.merchant;
    let reply = deposit(app, merchant, payment, reference, "50.00", true).await;
    text(&reply.transaction()["transactionId"])
}

/// `POST /sandbox/instant/outcomes`: the receiving bank will reject the payout (AC03).
async fn force_rejection(app: &TestApp, id: &str) {
    let body = json!({ "transactionId": id, "status": "RJCT", "reasonCode": "AC03" });
    let path = "/api/v1/sandbox/instant/outcomes";
    post_json(app, &app.merchant, path, body).await.ok();
}

/// Every instant message of the merchant, as listed.
async fn all_messages(app: &TestApp) -> Vec<Value> {
    let path = "/api/v1/sandbox/instant/messages";
    let reply = app
        .call(&app.merchant, Method::GET, path, Body::Empty)
        .await;
    reply.ok().json["messages"]
        .as_array()
        .expect("messages")
        .clone()
}

/// `"<network> <message type> <status>"` of each listed message, sorted; sent ones have no status.
fn message_kinds(listed: &[Value]) -> Vec<String> {
    let mut kinds: Vec<String> = listed
        .iter()
        .map(|message| {
            let status = message["status"].as_str().unwrap_or("-");
            let (network, kind) = (text(&message["network"]), text(&message["messageType"]));
            format!("{network} {kind} {status}")
        })
        .collect();
    kinds.sort();
    kinds
}

/// Downloads each listed message into `dir`, paired with the message definition it must hold.
async fn download_messages(app: &TestApp, listed: &[Value], dir: &Path) -> Vec<(PathBuf, String)> {
    let mut downloaded = Vec::new();
    for message in listed {
        let message_id = text(&message["messageId"]);
        let path = format!("/api/v1/sandbox/instant/messages/{message_id}");
        let reply = app
            .call(&app.merchant, Method::GET, &path, Body::Empty)
            .await;
        let reply = reply.ok();
        assert_eq!(reply.headers["content-type"], "application/xml");
        let file = dir.join(format!("{message_id}.xml"));
        std::fs::write(&file, reply.text).expect("write the message");
        downloaded.push((file, text(&message["messageType"])));
    }
    downloaded
}

/// Runs `scripts/third-party/xsd-check` on `files` against the core's vendored FedNow schemas
/// (the core module's own `xsd_check` looks for them beside the calling crate) and returns
/// its report.
fn xsd_check(files: &[PathBuf]) -> String {
    let root = third_party::workspace_root();
    let output = Command::new(third_party_xsd::validator_python())
        .arg(root.join("scripts/third-party/xsd-check"))
        .arg(root.join("crates/paybank-core/tests/data/fednow/xsd"))
        .args(files)
        .output()
        .expect("run xsd-check");
    let report = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "schema validation failed:\n{report}{stderr}"
    );
    report
}

/// Asserts the checker validated exactly the AppHdr and the expected Document of every file.
fn assert_schema_valid(downloaded: &[(PathBuf, String)]) {
    let files: Vec<PathBuf> = downloaded.iter().map(|(file, _)| file.clone()).collect();
    let report = xsd_check(&files);
    for (file, definition) in downloaded {
        let prefix = format!("ok {} ", file.display());
        let mut parts: Vec<&str> = report
            .lines()
            .filter_map(|line| line.strip_prefix(&prefix))
            .collect();
        parts.sort_unstable();
        let mut expected = vec![HEAD_001, definition.as_str()];
        expected.sort_unstable();
        assert_eq!(parts, expected, "{}:\n{report}", file.display());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_servers_rtp_and_fednow_messages_pass_the_iso_20022_schemas() {
    // Demo Bank pays out over RTP and Harbor FCU over FedNow; on each, one payout is settled
    // (ACSC) and one forced to RJCT, so both pacs.008 and pacs.002 with both statuses are written.
    let app = spawn().await;
    let merchant = &app.merchant;
    let demo = authorized_at_bank(&app, "Demo Bank", "tp-demo").await;
    let harbor = authorized_at_bank(&app, "Harbor Federal Credit Union", "tp-harbor").await;
    for (payment, reference) in [(&demo, "tp-demo"), (&harbor, "tp-harbor")] {
        instant_payout(&app, payment, &format!("{reference}-ok")).await;
        let rejected = instant_payout(&app, payment, &format!("{reference}-no")).await;
        force_rejection(&app, &rejected).await;
    }
    app.advance(merchant, 3).await;
    let listed = all_messages(&app).await;
    let mut expected = Vec::new();
    for network in ["fednow", "rtp"] {
        expected.push(format!("{network} {PACS_002} ACSC"));
        expected.push(format!("{network} {PACS_002} RJCT"));
        expected.extend(vec![format!("{network} {PACS_008} -"); 2]);
    }
    assert_eq!(message_kinds(&listed), expected);
    let dir = third_party::scratch_dir("server-iso20022");
    assert_schema_valid(&download_messages(&app, &listed, &dir).await);
}
