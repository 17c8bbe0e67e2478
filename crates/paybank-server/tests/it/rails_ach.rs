//! ACH origination and answers over HTTP: each merchant's NACHA file at a cut-off (read back
//! with the NACHA codec), receiving banks' returns and NOCs, the sandbox forcing endpoints, and
//! byte-for-byte determinism under a fixed clock and seed. Also the NACHA file helpers.

use paybank_core::model::Merchant;
use paybank_core::nacha::{self, Addenda, Batch, Entry, NachaFile};
use reqwest::Method;
use serde_json::{json, Value};

use crate::client::{text, Body, Reply};
use crate::helpers::TestApp;
use crate::rails_funds::{
    advance_to, authorize_at, captured, demo_account, deposit, next_opening_at, past_next_cutoff,
    post_json, spawn, spawn_with, DAY_S, DEMO_BANK_ROUTING, HOUR_S,
};

/// `POST /sandbox/ach/returns`.
pub async fn force_return(app: &TestApp, merchant: &Merchant, id: &str, code: &str) -> Reply {
    let body = json!({ "transactionId": id, "returnCode": code });
    post_json(app, merchant, "/api/v1/sandbox/ach/returns", body).await
}

/// The merchant's ACH files as listed, newest first.
pub async fn files(app: &TestApp, merchant: &Merchant) -> Vec<Value> {
    let reply = app
        .call(
            merchant,
            Method::GET,
            "/api/v1/sandbox/ach/files",
            Body::Empty,
        )
        .await
        .ok();
    reply.json["files"].as_array().expect("files").clone()
}

/// The listed files of one direction and kind, newest first.
pub async fn files_of(
    app: &TestApp,
    merchant: &Merchant,
    direction: &str,
    kind: &str,
) -> Vec<Value> {
    let all = files(app, merchant).await;
    all.into_iter()
        .filter(|file| file["direction"] == direction && file["kind"] == kind)
        .collect()
}

/// `GET /sandbox/ach/files/{name}`.
pub async fn get_file(app: &TestApp, merchant: &Merchant, name: &str) -> Reply {
    let path = format!("/api/v1/sandbox/ach/files/{name}");
    app.call(merchant, Method::GET, &path, Body::Empty).await
}

/// A listed file's raw text, checked for 94-character records padded to whole blocks of ten,
/// parsed with the NACHA codec, and checked to write back byte for byte (controls consistent).
pub async fn nacha_file(app: &TestApp, merchant: &Merchant, listed: &Value) -> (String, NachaFile) {
    let raw = get_file(app, merchant, &text(&listed["name"]))
        .await
        .ok()
        .text;
    let lines: Vec<&str> = raw.lines().collect();
    assert_eq!(lines.len() % 10, 0, "padded to blocks of ten:\n{raw}");
    assert!(lines.iter().all(|line| line.len() == 94), "{raw}");
    let file = nacha::parse(&raw).unwrap_or_else(|error| panic!("{error}:\n{raw}"));
    assert_eq!(nacha::write_checked(&file).as_deref(), Ok(raw.as_str()));
    (raw, file)
}

/// Every entry of a file with its batch.
pub fn entries(file: &NachaFile) -> Vec<(&Batch, &Entry)> {
    let batches = file.batches.iter();
    batches
        .flat_map(|batch| batch.entries.iter().map(move |entry| (batch, entry)))
        .collect()
}

/// The entry whose individual identification (the merchant reference, upper-cased) is `reference`.
pub fn entry_for<'a>(file: &'a NachaFile, reference: &str) -> (&'a Batch, &'a Entry) {
    let wanted = reference.to_ascii_uppercase();
    entries(file)
        .into_iter()
        .find(|(_, entry)| entry.detail.individual_identification == wanted)
        .unwrap_or_else(|| panic!("no entry for {reference} in {file:?}"))
}

/// What kind of entry this is: service class, SEC code, transaction code, amount in cents.
pub fn shape((batch, entry): (&Batch, &Entry)) -> (u16, String, u8, u64) {
    let header = &batch.header;
    let detail = &entry.detail;
    (
        header.service_class.code(),
        header.standard_entry_class.to_string(),
        detail.transaction_code.code(),
        detail.amount,
    )
}

/// The newest outbound file and its parsed form.
pub async fn newest_outbound(app: &TestApp, merchant: &Merchant) -> (Value, NachaFile) {
    let listed = files_of(app, merchant, "outbound", "entries").await;
    let newest = listed.first().expect("an outbound file").clone();
    let (_, file) = nacha_file(app, merchant, &newest).await;
    (newest, file)
}

/// The return (addenda 99) of a file's only entry: its code and original trace number.
fn only_return(file: &NachaFile) -> (String, String) {
    let all = entries(file);
    assert_eq!(all.len(), 1, "{file:?}");
    match &all[0].1.addenda[..] {
        [Addenda::Return99 {
            return_reason_code,
            original_entry_trace_number,
            ..
        }] => (
            return_reason_code.to_string(),
            original_entry_trace_number.to_string(),
        ),
        other => panic!("not a return: {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_capture_goes_out_at_the_cutoff_as_a_web_debit_in_the_merchants_nacha_file() {
    // One file per merchant at the cut-off: WEB 225 / code 27, padded, mirrored to the data dir.
    let app = spawn().await;
    let merchant = &app.merchant;
    app.align_clock(merchant).await;
    let payment = app.authorized(merchant, "ach-1", "100.00").await;
    let capture_id = captured(&app, merchant, &payment, "ach-1-c", "40.00").await;
    assert!(files(&app, merchant).await.is_empty());
    past_next_cutoff(&app, merchant).await;
    assert_eq!(app.transaction(merchant, &capture_id).await["status"], 3);
    let listed = files_of(&app, merchant, "outbound", "entries").await;
    assert_eq!(listed.len(), 1, "{listed:?}");
    let listed = &listed[0];
    let name = text(&listed["name"]);
    assert!(
        name.starts_with(&format!("{}-", merchant.merchant_id)),
        "{name}"
    );
    assert!(name.ends_with("-1015-A.ach"), "{name}");
    assert_eq!(listed["entryCount"], 1);
    assert_eq!(listed["debitTotal"], "40.00");
    assert_eq!(listed["creditTotal"], "0.00");
    let url = format!("{}/api/v1/sandbox/ach/files/{name}", app.url);
    assert_eq!(listed["url"], url.as_str());
    let (raw, file) = nacha_file(&app, merchant, listed).await;
    assert_eq!(file.header.immediate_destination, " 011000015");
    assert_eq!(file.header.immediate_origin, " 091000019");
    assert_eq!(file.batches.len(), 1);
    let batch = &file.batches[0];
    assert_eq!(batch.header.service_class.code(), 225);
    assert_eq!(batch.header.standard_entry_class, "WEB");
    assert_eq!(batch.header.company_name, "TEST SHOP");
    let detail = &batch.entries[0].detail;
    assert_eq!(detail.transaction_code.code(), 27);
    assert_eq!(detail.amount, 4_000);
    assert_eq!(detail.routing_number(), DEMO_BANK_ROUTING);
    assert_eq!(detail.dfi_account_number, demo_account("user_ach-1", 0));
    assert_eq!(detail.individual_identification, "ACH-1-C");
    assert_eq!(detail.payment_type_code(), "S");
    assert_eq!(detail.trace_number.len(), 15);
    assert!(detail.trace_number.starts_with("09100001"));
    assert_eq!(batch.control.total_debit, 4_000);
    assert_eq!(file.control.entry_hash, 31_000_000);
    let copy = std::fs::read(app.data_dir.join("ach").join(&name)).expect("the file's copy");
    assert_eq!(copy, raw.as_bytes());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deposit_is_a_ppd_credit_next_to_the_web_debit_and_savings_use_codes_37_and_32() {
    // Payouts go in a PPD batch (220, code 32 on savings) beside the WEB debits (225, 37).
    let app = spawn().await;
    let merchant = &app.merchant;
    app.align_clock(merchant).await;
    let id = app.establish_id(merchant, "sav-1", "100.00").await;
    let payment = authorize_at(&app, merchant, &id, "Demo Bank", "user_sav", 1).await;
    captured(&app, merchant, &payment, "sav-1-c", "40.00").await;
    let payout = deposit(&app, merchant, &payment, "sav-1-d", "25.00", false).await;
    assert_eq!(payout.transaction()["transactionType"], 6);
    past_next_cutoff(&app, merchant).await;
    let (listed, file) = newest_outbound(&app, merchant).await;
    assert_eq!(listed["debitTotal"], "40.00");
    assert_eq!(listed["creditTotal"], "25.00");
    assert_eq!(file.batches.len(), 2);
    assert_eq!(
        shape(entry_for(&file, "sav-1-c")),
        (225, "WEB".into(), 37, 4_000)
    );
    assert_eq!(
        shape(entry_for(&file, "sav-1-d")),
        (220, "PPD".into(), 32, 2_500)
    );
    let account = demo_account("user_sav", 1);
    let (_, debit) = entry_for(&file, "sav-1-c");
    assert_eq!(debit.detail.dfi_account_number, account);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refund_goes_out_at_the_next_cutoff_as_a_ppd_credit() {
    // A refund of a completed capture is a PPD credit (220, code 22) in the next file.
    let app = spawn().await;
    let merchant = &app.merchant;
    app.align_clock(merchant).await;
    let payment = app.authorized(merchant, "refund-1", "100.00").await;
    let capture_id = captured(&app, merchant, &payment, "refund-1-c", "40.00").await;
    app.advance(merchant, 6 * DAY_S).await;
    assert_eq!(app.transaction(merchant, &capture_id).await["status"], 4);
    let refund = app
        .refund(merchant, &capture_id, "15.00")
        .await
        .transaction();
    assert_eq!(refund["transactionType"], 4);
    past_next_cutoff(&app, merchant).await;
    assert_eq!(
        files_of(&app, merchant, "outbound", "entries").await.len(),
        2
    );
    let (listed, file) = newest_outbound(&app, merchant).await;
    assert_eq!(listed["entryCount"], 1);
    assert_eq!(listed["creditTotal"], "15.00");
    assert_eq!(shape(entries(&file)[0]), (220, "PPD".into(), 22, 1_500));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_empty_account_returns_the_debit_r01_and_the_capture_is_denied_next_morning() {
    // The bank posts at settlement and writes an R01 return file; paybank reads it at 08:30.
    let app = spawn().await;
    let merchant = &app.merchant;
    app.align_clock(merchant).await;
    let payment = app
        .authorized_with(merchant, "nsf-2", "100.00", "NotEnoughFunds")
        .await;
    let capture_id = captured(&app, merchant, &payment, "nsf-2-c", "25.00").await;
    let read_at = next_opening_at(&app, merchant).await;
    past_next_cutoff(&app, merchant).await;
    let (_, sent) = newest_outbound(&app, merchant).await;
    let trace = entry_for(&sent, "nsf-2-c")
        .1
        .detail
        .trace_number
        .to_string();
    advance_to(&app, merchant, read_at - 60_000).await;
    assert_eq!(app.transaction(merchant, &capture_id).await["status"], 3);
    let returns = files_of(&app, merchant, "inbound", "returns").await;
    assert_eq!(returns.len(), 1, "{returns:?}");
    let name = text(&returns[0]["name"]);
    let prefix = format!("{DEMO_BANK_ROUTING}-{}-", merchant.merchant_id);
    assert!(
        name.starts_with(&prefix) && name.ends_with("-returns.ach"),
        "{name}"
    );
    assert_eq!(returns[0]["entryCount"], 1);
    let (_, file) = nacha_file(&app, merchant, &returns[0]).await;
    assert_eq!(
        file.header.immediate_origin,
        format!(" {DEMO_BANK_ROUTING}")
    );
    assert_eq!(only_return(&file), ("R01".to_owned(), trace));
    let returned = &entries(&file)[0].1.detail;
    assert_eq!(
        (returned.transaction_code.code(), returned.amount),
        (26, 2_500)
    );
    app.advance(merchant, 120).await;
    let denied = app.transaction(merchant, &capture_id).await;
    assert_eq!(denied["status"], 8);
    assert_eq!(denied["errorCode"], 331);
    assert_eq!(denied["paymentProviderTransaction"]["reasonCode"], "R01");
    let deny = app.receiver.only(&capture_id, "Deny");
    assert!(deny.signature_valid);
    assert_eq!(
        deny.param("paymentProviderTransaction.reasonCode"),
        Some("R01")
    );
    app.advance(merchant, 6 * DAY_S).await;
    assert_eq!(app.transaction(merchant, &capture_id).await["status"], 8);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forced_r02_before_posting_is_answered_when_the_bank_posts() {
    // Forcing before the entry posts makes the bank return it with that code at settlement.
    let app = spawn().await;
    let merchant = &app.merchant;
    app.align_clock(merchant).await;
    let payment = app.authorized(merchant, "r02", "100.00").await;
    let capture_id = captured(&app, merchant, &payment, "r02-c", "30.00").await;
    let forced = force_return(&app, merchant, &capture_id, "r02").await.ok();
    let expected =
        json!({ "transactionId": capture_id, "code": "R02", "applies": "when the entry settles" });
    assert_eq!(forced.json["forced"], expected);
    app.advance(merchant, 6 * DAY_S).await;
    let denied = app.transaction(merchant, &capture_id).await;
    assert_eq!(denied["status"], 8);
    assert_eq!(denied["paymentProviderTransaction"]["reasonCode"], "R02");
    let returns = files_of(&app, merchant, "inbound", "returns").await;
    assert_eq!(returns.len(), 1);
    let (_, file) = nacha_file(&app, merchant, &returns[0]).await;
    assert_eq!(only_return(&file).0, "R02");
    assert_eq!(
        app.receiver.event_types(&capture_id),
        ["Authorize", "Process", "Deny"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forced_r10_after_completion_reverses_the_capture_but_a_late_r01_is_refused() {
    // R01's two banking days are over (232, nothing changes); R10's 60 days are not: Reversed.
    let app = spawn().await;
    let merchant = &app.merchant;
    app.align_clock(merchant).await;
    let payment = app.authorized(merchant, "r10", "100.00").await;
    let capture_id = captured(&app, merchant, &payment, "r10-c", "40.00").await;
    app.advance(merchant, 6 * DAY_S).await;
    assert_eq!(app.transaction(merchant, &capture_id).await["status"], 4);
    let before = (app.snapshot(merchant).await, files(&app, merchant).await);
    let late = force_return(&app, merchant, &capture_id, "R01").await;
    late.assert_error(400, 232, Some("returnCode"));
    app.advance(merchant, 1).await;
    assert_eq!(
        (app.snapshot(merchant).await, files(&app, merchant).await),
        before
    );
    let forced = force_return(&app, merchant, &capture_id, "R10").await.ok();
    assert_eq!(forced.json["forced"]["applies"], "now");
    app.advance(merchant, 1).await;
    let reversed = app.transaction(merchant, &capture_id).await;
    assert_eq!(reversed["status"], 10);
    assert_eq!(reversed["reversed"], "40.00");
    assert_eq!(reversed["balance"], "0.00");
    assert_eq!(reversed["paymentProviderTransaction"]["reasonCode"], "R10");
    let listing = app.snapshot(merchant).await.transactions;
    let reverse: Vec<&Value> = listing
        .iter()
        .filter(|t| t["transactionType"] == 5)
        .collect();
    assert_eq!(reverse.len(), 1, "{listing:?}");
    assert_eq!(reverse[0]["originalTransactionId"], capture_id.as_str());
    assert_eq!(
        (reverse[0]["status"].clone(), reverse[0]["amount"].clone()),
        (json!(4), json!("40.00"))
    );
    let reverse_id = text(&reverse[0]["transactionId"]);
    assert!(app.receiver.only(&reverse_id, "Reverse").signature_valid);
    let returns = files_of(&app, merchant, "inbound", "returns").await;
    assert_eq!(returns.len(), 1);
    let (_, file) = nacha_file(&app, merchant, &returns[0]).await;
    assert_eq!(only_return(&file).0, "R10");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forced_c01_notice_corrects_the_account_number_for_later_entries() {
    // The NOC file is read next morning; the payment's account changes and the next entry uses it.
    let app = spawn().await;
    let merchant = &app.merchant;
    app.align_clock(merchant).await;
    let payment = app.authorized(merchant, "noc", "100.00").await;
    let first = captured(&app, merchant, &payment, "noc-1", "20.00").await;
    let body =
        json!({ "transactionId": first, "changeCode": "C01", "correctedData": "1918171614" });
    let forced = post_json(&app, merchant, "/api/v1/sandbox/ach/notices", body)
        .await
        .ok();
    assert_eq!(forced.json["forced"]["code"], "C01");
    let read_at = next_opening_at(&app, merchant).await;
    advance_to(&app, merchant, read_at + 60_000).await;
    let notices = files_of(&app, merchant, "inbound", "notices").await;
    assert_eq!(notices.len(), 1, "{:?}", files(&app, merchant).await);
    let (_, file) = nacha_file(&app, merchant, &notices[0]).await;
    let (batch, notice) = entries(&file)[0];
    assert_eq!(batch.header.standard_entry_class, "COR");
    assert_eq!(notice.detail.amount, 0);
    match &notice.addenda[..] {
        [Addenda::Notice98 {
            change_code,
            corrected_data,
            ..
        }] => {
            assert_eq!(
                (change_code.as_str(), corrected_data.as_str()),
                ("C01", "1918171614")
            );
        }
        other => panic!("not a NOC: {other:?}"),
    }
    let account = &app.transaction(merchant, &payment.id).await["payment"]["account"];
    assert_eq!(account["accountNumber"], "1614");
    assert_eq!(app.transaction(merchant, &first).await["status"], 3);
    captured(&app, merchant, &payment, "noc-2", "10.00").await;
    past_next_cutoff(&app, merchant).await;
    let (_, file) = newest_outbound(&app, merchant).await;
    assert_eq!(
        entry_for(&file, "noc-2").1.detail.dfi_account_number,
        "1918171614"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forcing_and_file_reads_refuse_bad_input_and_other_merchants_data() {
    // Unknown or foreign transactions, unknown codes, bad corrections and file names change nothing.
    let app = spawn().await;
    let merchant = &app.merchant;
    app.align_clock(merchant).await;
    let payment = app.authorized(merchant, "bad-in", "100.00").await;
    let capture_id = captured(&app, merchant, &payment, "bad-in-c", "40.00").await;
    app.advance(merchant, 2 * HOUR_S).await;
    let name = text(&files(&app, merchant).await[0]["name"]);
    let other = app.add_merchant("Other Shop", true).await;
    let before = (app.snapshot(merchant).await, files(&app, merchant).await);
    force_return(&app, merchant, "1234567", "R01")
        .await
        .assert_error(404, 200, Some("transactionId"));
    force_return(&app, merchant, "12a", "R01")
        .await
        .assert_error(400, 200, Some("transactionId"));
    force_return(&app, &other, &capture_id, "R01")
        .await
        .assert_error(404, 200, Some("transactionId"));
    for code in ["R99", "X01", "R1", ""] {
        force_return(&app, merchant, &capture_id, code)
            .await
            .assert_error(400, 200, Some("returnCode"));
    }
    let notice = |code: &str, data: &str| json!({ "transactionId": capture_id, "changeCode": code, "correctedData": data });
    let path = "/api/v1/sandbox/ach/notices";
    let cases = [
        (notice("C99", "1918171614"), "changeCode"),
        (notice("C02", "310000005"), "correctedData"),
        (notice("C02", "31000"), "correctedData"),
    ];
    for (body, location) in cases {
        let reply = post_json(&app, merchant, path, body).await;
        reply.assert_error(400, 200, Some(location));
    }
    for bad in ["..%2Fpaybank.db", "nope.ach", ".hidden"] {
        get_file(&app, merchant, bad)
            .await
            .assert_error(400, 200, Some("name"));
    }
    assert!(files(&app, &other).await.is_empty());
    get_file(&app, &other, &name)
        .await
        .assert_error(400, 200, Some("name"));
    app.advance(merchant, 1).await;
    assert_eq!(
        (app.snapshot(merchant).await, files(&app, merchant).await),
        before
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_returned_deposit_comes_back_as_a_ppd_return_and_is_denied() {
    // A forced R03 on a payout: code 21 in a PPD batch (returns keep the original's SEC code).
    let app = spawn().await;
    let merchant = &app.merchant;
    app.align_clock(merchant).await;
    let payment = app.authorized(merchant, "dep-r03", "100.00").await;
    let reply = deposit(&app, merchant, &payment, "dep-r03-d", "25.00", false).await;
    let id = text(&reply.transaction()["transactionId"]);
    force_return(&app, merchant, &id, "R03").await.ok();
    app.advance(merchant, 6 * DAY_S).await;
    let denied = app.transaction(merchant, &id).await;
    assert_eq!(denied["status"], 8);
    assert_eq!(denied["paymentProviderTransaction"]["reasonCode"], "R03");
    let returns = files_of(&app, merchant, "inbound", "returns").await;
    assert_eq!(returns.len(), 1);
    assert_eq!(returns[0]["creditTotal"], "25.00");
    let (_, file) = nacha_file(&app, merchant, &returns[0]).await;
    assert_eq!(only_return(&file).0, "R03");
    let (batch, entry) = entries(&file)[0];
    assert_eq!(entry.detail.transaction_code.code(), 21);
    assert_eq!(batch.header.standard_entry_class, "PPD");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_c05_notice_must_carry_a_checking_or_savings_transaction_code() {
    // C05's corrected data is a transaction code; "99" is none, so it fits no layout.
    let app = spawn().await;
    let merchant = &app.merchant;
    let payment = app.authorized(merchant, "c05", "100.00").await;
    let capture_id = captured(&app, merchant, &payment, "c05-c", "40.00").await;
    let path = "/api/v1/sandbox/ach/notices";
    let body = |data: &str| json!({ "transactionId": capture_id, "changeCode": "C05", "correctedData": data });
    let before = app.snapshot(merchant).await;
    let bad = post_json(&app, merchant, path, body("99")).await;
    bad.assert_error(400, 200, Some("correctedData"));
    assert_eq!(app.snapshot(merchant).await, before);
    post_json(&app, merchant, path, body("32")).await.ok();
}

/// One scripted run on a frozen clock and fixed seed: every file's name and bytes, by name.
async fn scripted_run() -> (String, Vec<(String, String)>) {
    let app = spawn_with(|config| {
        config.clock.start = "2026-03-02T13:00:00Z".to_owned();
        config.clock.seed = "fixed".to_owned();
    })
    .await;
    let merchant = &app.merchant;
    let paid = app.authorized(merchant, "det-1", "100.00").await;
    captured(&app, merchant, &paid, "det-1-c", "40.00").await;
    let empty = app
        .authorized_with(merchant, "det-2", "100.00", "NotEnoughFunds")
        .await;
    captured(&app, merchant, &empty, "det-2-c", "25.00").await;
    deposit(&app, merchant, &paid, "det-1-d", "10.00", false)
        .await
        .ok();
    app.advance(merchant, 2 * DAY_S).await;
    let mut contents = Vec::new();
    for listed in files(&app, merchant).await {
        let name = text(&listed["name"]);
        let raw = get_file(&app, merchant, &name).await.ok().text;
        contents.push((name, raw));
    }
    contents.sort();
    (merchant.merchant_id.to_string(), contents)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_seed_clock_and_calls_give_byte_identical_ach_files() {
    // Two deployments with clock.start and clock.seed fixed write the same files, byte for byte.
    let (first_merchant, first) = scripted_run().await;
    let (second_merchant, second) = scripted_run().await;
    assert_eq!(first_merchant, second_merchant);
    let kinds: Vec<&str> = first.iter().map(|(name, _)| name.as_str()).collect();
    assert_eq!(
        first.len(),
        2,
        "an entries file and a returns file: {kinds:?}"
    );
    assert!(
        kinds.iter().any(|name| name.ends_with("-returns.ach")),
        "{kinds:?}"
    );
    assert_eq!(first, second);
}
