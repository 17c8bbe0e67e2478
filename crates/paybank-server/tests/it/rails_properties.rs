//! Property tests over HTTP: random sequences of payments, captures, payouts, forced returns
//! and clock advances keep every ledger balanced and settled totals equal to file totals.
//! Cases come from a fixed seed, each on a fresh app whose clock moves only when advanced, so
//! runs repeat and a failure shrinks to a short printed sequence. Refused operations (4xx) are
//! expected and ignored. Once everything has settled, the identity is
//!
//! ```text
//! settled funds = (outbound file debits  − inbound return file debits)    ACH pulls kept
//!               − (outbound file credits − inbound return file credits)   ACH payouts kept
//!               − pacs.008 amounts the receiving bank answered ACSC       instant payouts
//! ```
//!
//! because money enters or leaves a merchant's accounts (unsettled, settled, payout clearing)
//! only against a consumer's: when a pull is submitted (and filed at that cut-off), a pull's
//! return is read, a payout completes, or a completed payout's return is read. A payout
//! returned before completion goes from payout clearing back to settled, cancelling out its
//! file credit and its return. The banking days' settlement reports must net to the same.

use std::collections::{BTreeMap, HashMap};
use std::ops::Range;

use paybank_core::calendar::is_banking_day;
use paybank_core::codes::{TransactionStatus, TransactionType};
use paybank_core::eastern::eastern_date;
use paybank_core::ids::TransactionId;
use paybank_core::ledger::LedgerAccount;
use paybank_core::model::Transaction;
use paybank_core::money::Amount;
use paybank_core::rails::{is_pull, Rail};
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config as RunnerConfig, RngAlgorithm, TestRng, TestRunner};
use reqwest::Method;
use serde_json::{json, Value};

use crate::client::{text, Authorized, Body, Reply};
use crate::helpers::{all_transactions, assert_payments_keep_their_totals, on_postgres, TestApp};
use crate::rails_ach::{files, force_return, nacha_file};
use crate::rails_funds::{deposit, funds, post_json, spawn_with, DAY_S};

/// Cases of the money and report properties (a fresh app each, about 0.2 s), and the seed.
const MONEY_CASES: u32 = 48;
const REPORT_CASES: u32 = 16;
const SEED: [u8; 32] = *b"paybank-rails-properties-seed-01";
const OPERATIONS_PER_CASE: Range<usize> = 15..40;
/// Bounds the shrinking of a failure, since each shrink step runs a whole case.
const SHRINK_ITERS_MAX: u32 = 32;
/// A Monday, 08:00 Eastern: the frozen clock every case starts from.
const CLOCK_START: &str = "2026-03-02T13:00:00Z";
/// Long enough for everything to settle and every answer file to be read, weekends included.
const SETTLE_S: i64 = 10 * DAY_S;

/// One operation. A `u16` picks among what exists when the operation runs (modulo the count),
/// so a shrunk sequence still means something; with nothing to pick, the step does nothing.
#[derive(Clone, Debug)]
enum Op {
    /// Demo Bank password (`NotEnoughFunds`: an empty account whose debits come back R01;
    /// `balance300`: $300.00), account index (1: savings), user number (payments of one user
    /// share the account and its balance), amount in dollars.
    Authorize(&'static str, u8, u8, u16),
    /// Payment pick, percent of the payment's amount.
    Capture(u16, u8),
    /// Payment pick, percent of the payment's amount, `instantPayoutRequest`.
    Deposit(u16, u8, bool),
    /// Capture pick, percent of the capture's amount.
    Refund(u16, u8),
    /// Capture, deposit or refund pick.
    Cancel(u16),
    /// Capture, deposit or refund pick, R-code.
    Return(u16, &'static str),
    /// Capture, deposit or refund pick, change code, corrected data: C01 moves later entries
    /// to an account Demo Bank does not hold (they come back R03), C05 makes it savings.
    Notice(u16, &'static str, &'static str),
    /// Instant payout pick: the receiving bank answers RJCT.
    RejectInstant(u16),
    /// Seconds.
    Advance(u32),
}

fn operation() -> impl Strategy<Value = Op> {
    let logins = [
        ("secret", 0),
        ("NotEnoughFunds", 0),
        ("secret", 1),
        ("balance300", 0),
    ];
    let login = prop::sample::select(logins.to_vec());
    let (pick, percent) = (0u16..1000, 5u8..=60);
    let codes = prop::sample::select(vec!["R01", "R02", "R03", "R10"]);
    let changes = prop::sample::select(vec![("C01", "9181716151"), ("C05", "32")]);
    let seconds = prop_oneof![60u32..3_600, 3_600u32..86_400, 86_400u32..4 * 86_400];
    prop_oneof![
        2 => (login, 0u8..3, 50u16..=500).prop_map(|((w, a), u, d)| Op::Authorize(w, a, u, d)),
        5 => (pick.clone(), percent.clone()).prop_map(|(p, c)| Op::Capture(p, c)),
        3 => (pick.clone(), percent, any::<bool>()).prop_map(|(p, c, i)| Op::Deposit(p, c, i)),
        4 => (pick.clone(), 10u8..=100).prop_map(|(p, c)| Op::Refund(p, c)),
        2 => pick.clone().prop_map(Op::Cancel),
        4 => (pick.clone(), codes).prop_map(|(p, code)| Op::Return(p, code)),
        1 => (pick.clone(), changes).prop_map(|(p, (code, data))| Op::Notice(p, code, data)),
        1 => pick.prop_map(Op::RejectInstant),
        6 => seconds.prop_map(Op::Advance),
    ]
}

/// A case in progress: what it has made so far, for the picks to choose from.
struct Run<'a> {
    app: &'a TestApp,
    /// Authorized payments with their amounts in cents.
    payments: Vec<(Authorized, i64)>,
    /// Accepted captures with their amounts in cents.
    captures: Vec<(String, i64)>,
    /// Every accepted capture, deposit and refund.
    children: Vec<String>,
    /// Deposits accepted with `instantPayoutRequest` (some fell back to ACH).
    instant_payouts: Vec<String>,
    references: usize,
}

impl Run<'_> {
    fn reference(&mut self) -> String {
        self.references += 1;
        format!("prop-{}", self.references)
    }

    /// The payment `pick` chooses: a copy of it and `percent` of its amount on the wire.
    fn payment_share(&self, pick: u16, percent: u8) -> Option<(Authorized, String)> {
        let (payment, cents) = chosen(&self.payments, pick)?;
        let copy = Authorized {
            id: payment.id.clone(),
            split_token: payment.split_token.clone(),
        };
        Some((copy, share(*cents, percent)))
    }
}

/// The element `pick` chooses, if there is any.
fn chosen<T>(list: &[T], pick: u16) -> Option<&T> {
    (!list.is_empty()).then(|| &list[usize::from(pick) % list.len()])
}

/// `percent` of `cents`, as an amount on the wire.
fn share(cents: i64, percent: u8) -> String {
    Amount::from_minor(cents * i64::from(percent) / 100).to_string()
}

/// A wire amount in cents; the settlement report's may be negative.
fn cents(value: &Value) -> i64 {
    let wire = text(value);
    let sign = if wire.starts_with('-') { -1 } else { 1 };
    let amount = Amount::parse(wire.trim_start_matches('-'));
    sign * amount
        .unwrap_or_else(|error| panic!("{wire}: {error:?}"))
        .minor()
}

/// The new transaction's id, if the answer accepted it (200 and Authorized).
fn accepted(reply: Reply) -> Option<String> {
    let txn = &reply.json["transaction"];
    (reply.status == 200 && txn["status"] == 2).then(|| text(&txn["transactionId"]))
}

async fn authorize(run: &mut Run<'_>, password: &str, index: u8, user: u8, usd: u16) {
    let (app, reference) = (run.app, run.reference());
    let (merchant, amount_cents) = (&app.merchant, i64::from(usd) * 100);
    let amount = share(amount_cents, 100);
    let id = app.establish_id(merchant, &reference, &amount).await;
    let body = json!({ "bank": "Demo Bank", "username": format!("user_{user}"),
        "password": password, "accountIndex": index });
    let path = format!("/api/v1/sandbox/transactions/{id}/authorize");
    let authorized = post_json(app, merchant, &path, body).await.transaction();
    assert_eq!(authorized["status"], 2, "{authorized}");
    app.deliver().await;
    let event = app.receiver.only(&id, "Authorize");
    let split_token = event.param("splitToken").map(str::to_owned);
    let payment = Authorized { id, split_token };
    run.payments.push((payment, amount_cents));
}

async fn capture(run: &mut Run<'_>, pick: u16, percent: u8) {
    let Some((payment, amount)) = run.payment_share(pick, percent) else {
        return;
    };
    let (app, reference) = (run.app, run.reference());
    let token = payment.split_token.as_deref();
    let capture = app.capture(&app.merchant, &payment.id, &reference, &amount, token);
    let reply = capture.await;
    if let Some(id) = accepted(reply) {
        run.captures.push((id.clone(), cents(&json!(amount))));
        run.children.push(id);
    }
}

async fn pay_out(run: &mut Run<'_>, pick: u16, percent: u8, instant: bool) {
    let Some((payment, amount)) = run.payment_share(pick, percent) else {
        return;
    };
    let (app, reference) = (run.app, run.reference());
    let reply = deposit(app, &app.merchant, &payment, &reference, &amount, instant).await;
    if let Some(id) = accepted(reply) {
        if instant {
            run.instant_payouts.push(id.clone());
        }
        run.children.push(id);
    }
}

async fn refund(run: &mut Run<'_>, pick: u16, percent: u8) {
    let Some((capture_id, amount_cents)) = chosen(&run.captures, pick).cloned() else {
        return;
    };
    let amount = share(amount_cents, percent);
    let app = run.app;
    let reply = app.refund(&app.merchant, &capture_id, &amount).await;
    if let Some(id) = accepted(reply) {
        run.children.push(id);
    }
}

/// Runs one operation; answers that refuse it are expected and ignored. After each clock
/// advance, checks (a) and (c) on whatever is in flight.
async fn apply(run: &mut Run<'_>, op: &Op) {
    let (app, merchant) = (run.app, &run.app.merchant);
    match *op {
        Op::Authorize(password, index, user, usd) => {
            authorize(run, password, index, user, usd).await
        }
        Op::Capture(pick, percent) => capture(run, pick, percent).await,
        Op::Deposit(pick, percent, instant) => pay_out(run, pick, percent, instant).await,
        Op::Refund(pick, percent) => refund(run, pick, percent).await,
        Op::Cancel(pick) | Op::Return(pick, _) | Op::Notice(pick, ..) => {
            if let Some(id) = chosen(&run.children, pick) {
                force(app, id, op).await;
            }
        }
        Op::RejectInstant(pick) => {
            if let Some(id) = chosen(&run.instant_payouts, pick) {
                let body = json!({ "transactionId": id, "status": "RJCT", "reasonCode": "AC03" });
                post_json(app, merchant, "/api/v1/sandbox/instant/outcomes", body).await;
            }
        }
        Op::Advance(seconds) => {
            app.advance(merchant, i64::from(seconds)).await;
            assert_ledger_balanced(app).await;
            assert_transactions_conserve_money(app).await;
        }
    }
}

/// Cancels, or forces a return or a notification of change.
async fn force(app: &TestApp, id: &str, op: &Op) {
    let (merchant, path) = (&app.merchant, "/api/v1/sandbox/ach/notices");
    match *op {
        Op::Return(_, code) => force_return(app, merchant, id, code).await,
        Op::Notice(_, code, data) => {
            let body = json!({ "transactionId": id, "changeCode": code, "correctedData": data });
            post_json(app, merchant, path, body).await
        }
        _ => app.cancel(merchant, id).await,
    };
}

/// (a) The ledger balances as a whole (one currency, USD), and the in-flight accounts never
/// go below zero.
async fn assert_ledger_balanced(app: &TestApp) {
    let balances = app.state.store.ledger_balances().await.expect("balances");
    let total: i128 = balances.iter().map(|(_, minor)| i128::from(*minor)).sum();
    assert_eq!(total, 0, "the ledger does not balance: {balances:?}");
    for (name, minor) in &balances {
        let in_flight = name.ends_with(":unsettled") || name.ends_with(":payout-clearing");
        assert!(!in_flight || *minor >= 0, "{name} is {minor}: {balances:?}");
    }
    crate::helpers::assert_kept_balances_are_the_sums(app, balances).await;
}

/// A transaction's postings on the merchant's (unsettled, settled, payout clearing) accounts.
async fn merchant_legs(app: &TestApp, transaction_id: TransactionId) -> [i64; 3] {
    let merchant_id = app.merchant.merchant_id;
    use LedgerAccount::{MerchantSettled, MerchantUnsettled, PayoutClearing};
    let accounts = [MerchantUnsettled, MerchantSettled, PayoutClearing].map(|of| of(merchant_id));
    let postings = app.state.store.postings(transaction_id).await;
    let mut legs = [0; 3];
    for posting in postings.expect("postings") {
        if let Some(index) = accounts.iter().position(|a| *a == posting.account) {
            legs[index] += posting.amount.minor();
        }
    }
    legs
}

/// Where a transaction's money must sit on the merchant's accounts given its status; a
/// Reversed one is counted together with its Reverse transaction.
fn expected_legs(txn: &Transaction) -> [i64; 3] {
    use TransactionStatus::{Authorized, Completed, PartiallyRefunded, Processed, Refunded};
    let amount = txn.amount.minor();
    match (is_pull(txn), txn.status) {
        (true, Processed) => [amount, 0, 0],
        (true, Completed | PartiallyRefunded | Refunded) => [0, amount, 0],
        (false, Authorized | Processed) => [0, -amount, amount],
        (false, Completed) => [0, -amount, 0],
        // Denied, Reversed, Voided, Failed: nothing kept, nothing lost.
        _ => [0, 0, 0],
    }
}

/// (c) Money is neither created nor lost per transaction: each capture, deposit and refund
/// has its amount exactly where its status says (nothing, once Denied or Reversed); balances
/// are paid − reversed − refunded and never negative; and a capture's `refunded` is what its
/// refunds still give back to the consumer.
async fn assert_transactions_conserve_money(app: &TestApp) {
    use TransactionType::{Capture, Deposit, Refund, Reverse};
    let all = all_transactions(app).await;
    let reverses = all.iter().filter(|txn| txn.transaction_type == Reverse);
    let reverse_of: HashMap<_, _> = reverses
        .map(|txn| (txn.original_transaction_id, txn.transaction_id))
        .collect();
    let moves_money =
        |txn: &&Transaction| [Capture, Deposit, Refund].contains(&txn.transaction_type);
    for txn in all.iter().filter(moves_money) {
        let mut legs = merchant_legs(app, txn.transaction_id).await;
        let reverse = reverse_of.get(&Some(txn.transaction_id));
        let reversed = txn.status == TransactionStatus::Reversed;
        assert_eq!(reverse.is_some(), reversed, "{txn:?}");
        if let Some(reverse_id) = reverse {
            let back = merchant_legs(app, *reverse_id).await;
            legs = [0, 1, 2].map(|index| legs[index] + back[index]);
        }
        assert_eq!(legs, expected_legs(txn), "postings of {txn:?}");
        let used = txn.refunded.minor() + txn.reversed.minor();
        let within = used <= txn.paid.minor() && txn.paid <= txn.amount;
        assert!(within, "{txn:?}");
        assert_eq!(txn.balance().minor(), txn.paid.minor() - used, "{txn:?}");
    }
    for capture in all.iter().filter(|txn| txn.transaction_type == Capture) {
        let refunds = live_refunds(&all, capture);
        assert_eq!(capture.refunded, refunds, "refunded of {capture:?}");
    }
}

/// What a capture's refunds give back to the consumer: all but those voided, failed, or
/// returned by the consumer's bank (whose money went back to the merchant).
fn live_refunds(all: &[Transaction], capture: &Transaction) -> Amount {
    use TransactionStatus::{Denied, Failed, Reversed, Voided};
    all.iter()
        .filter(|txn| txn.transaction_type == TransactionType::Refund)
        .filter(|txn| txn.original_transaction_id == Some(capture.transaction_id))
        .filter(|txn| !matches!(txn.status, Voided | Failed | Denied | Reversed))
        .map(|txn| txn.amount)
        .sum()
}

/// The listed ACH files' [debit, credit] totals in cents by direction and kind, each checked
/// against the file's control record as the NACHA codec reads it back.
async fn file_totals(app: &TestApp) -> BTreeMap<String, [i64; 2]> {
    let mut totals = BTreeMap::new();
    for listed in files(app, &app.merchant).await {
        let sums = [&listed["debitTotal"], &listed["creditTotal"]].map(cents);
        let (_, file) = nacha_file(app, &app.merchant, &listed).await;
        let control = [file.control.total_debit, file.control.total_credit];
        assert_eq!(control.map(i64::try_from), sums.map(Ok), "{listed}");
        let kind = format!("{} {}", text(&listed["direction"]), text(&listed["kind"]));
        let total: &mut [i64; 2] = totals.entry(kind).or_default();
        *total = [total[0] + sums[0], total[1] + sums[1]];
    }
    totals
}

/// The pacs.008 amounts the receiving bank answered ACSC, in cents. Checks that exactly those
/// payouts completed, with the amounts sent, and that every other one was denied.
async fn instant_settled(app: &TestApp, all: &[Transaction]) -> i64 {
    let path = "/api/v1/sandbox/instant/messages";
    let reply = app.call(&app.merchant, Method::GET, path, Body::Empty);
    let messages = reply.await.ok().json["messages"].clone();
    let messages = messages.as_array().expect("messages");
    let acsc = |id: &Value| {
        let mut answers = messages.iter().filter(|m| m["transactionId"] == *id);
        answers.any(|m| m["status"] == "ACSC")
    };
    let mut settled = 0;
    for sent in messages.iter().filter(|m| m["direction"] == "sent") {
        let id: TransactionId = text(&sent["transactionId"]).parse().expect("an id");
        let txn = all.iter().find(|txn| txn.transaction_id == id);
        let txn = txn.expect("the payout of a pacs.008");
        let (status, amount) = match acsc(&sent["transactionId"]) {
            true => (TransactionStatus::Completed, txn.amount.minor()),
            false => (TransactionStatus::Denied, 0),
        };
        let sent_amount = Amount::from_minor(cents(&sent["amount"]));
        assert_eq!((txn.status, txn.amount), (status, sent_amount), "{sent}");
        settled += amount;
    }
    let is_instant = |txn: &&Transaction| txn.rail.is_some_and(Rail::is_instant);
    let instant = all.iter().filter(is_instant);
    let completed = instant.filter(|txn| txn.status == TransactionStatus::Completed);
    let completed: i64 = completed.map(|txn| txn.amount.minor()).sum();
    assert_eq!(completed, settled, "instant completions vs ACSC");
    settled
}

/// (b) Once everything has settled, the settled funds are what the files and the instant
/// answers say moved (the identity in the module comment).
async fn assert_settled_equals_files(app: &TestApp) {
    let funds = funds(app, &app.merchant).await;
    let in_flight = [&funds["unsettled"], &funds["payoutsInFlight"]].map(cents);
    assert_eq!(in_flight, [0, 0], "everything settled: {funds}");
    let settled = cents(&funds["settled"]);
    let files = file_totals(app).await;
    let instant = instant_settled(app, &all_transactions(app).await).await;
    let totals = |kind: &str| files.get(kind).copied().unwrap_or_default();
    let ([sent_debits, sent_credits], [returned_debits, returned_credits]) =
        (totals("outbound entries"), totals("inbound returns"));
    let pulls_kept = sent_debits - returned_debits;
    let payouts_kept = sent_credits - returned_credits;
    let expected = pulls_kept - payouts_kept - instant;
    let why = format!("settled funds vs files {files:?} and {instant} settled instantly");
    assert_eq!(settled, expected, "{why}");
}

/// The settlement reports of every banking day from `start` to now add up to the settled
/// funds, and each report nets exactly the postings of its window: the banking day and the
/// weekend or holidays before it.
async fn assert_reports_add_up(app: &TestApp, start: i64) {
    let merchant = &app.merchant;
    let settled = cents(&funds(app, merchant).await["settled"]);
    let account = LedgerAccount::MerchantSettled(merchant.merchant_id).name();
    let postings = app.state.store.account_postings(&account, 0, i64::MAX);
    let postings = postings.await.expect("postings");
    let day_of = |at: &i64| eastern_date(*at);
    let (mut day, last) = (day_of(&start), day_of(&app.clock_now(merchant).await));
    let mut reported = 0;
    while day <= last {
        if is_banking_day(day) {
            let path = format!("/api/v1/paybank/settlements/{day}");
            let reply = app.call(merchant, Method::GET, &path, Body::Empty).await;
            let report = reply.ok().json["settlement"].clone();
            let (net, from) = (cents(&report["net"]), text(&report["windowStart"]));
            let in_window = postings.iter().filter(|(_, _, at)| {
                (from.as_str()..=day.to_string().as_str())
                    .contains(&day_of(at).to_string().as_str())
            });
            assert_eq!(
                net,
                in_window.map(|(_, minor, _)| minor).sum::<i64>(),
                "{day}"
            );
            reported += net;
        }
        day = day.next_day().expect("a next day");
    }
    assert_eq!(reported, settled, "{postings:?}");
}

/// Runs a case's operations on `app`, then long enough for everything to settle; returns
/// when the case started.
async fn run_case(app: &TestApp, ops: &[Op]) -> i64 {
    let mut run = Run {
        app,
        payments: Vec::new(),
        captures: Vec::new(),
        children: Vec::new(),
        instant_payouts: Vec::new(),
        references: 0,
    };
    let start = app.clock_now(&app.merchant).await;
    for op in ops {
        apply(&mut run, op).await;
    }
    app.advance(&app.merchant, SETTLE_S).await;
    start
}

/// What a case checks once it has settled: (a), (b) and (c), or the settlement reports.
#[derive(Clone, Copy)]
enum Check {
    Money,
    Reports,
}

/// Runs `ops` on a fresh SQLite app on the frozen clock, then `check`.
async fn check_case(ops: &[Op], check: Check) {
    let app = spawn_with(|config| {
        config.clock.start = CLOCK_START.to_owned();
        config.clock.seed = "properties".to_owned();
    })
    .await;
    let start = run_case(&app, ops).await;
    match check {
        Check::Money => assert_money_kept(&app).await,
        Check::Reports => assert_reports_add_up(&app, start).await,
    }
}

async fn assert_money_kept(app: &TestApp) {
    assert_ledger_balanced(app).await;
    assert_transactions_conserve_money(app).await;
    assert_settled_equals_files(app).await;
    assert_payments_keep_their_totals(app).await;
}

fn seeded_runner(cases: u32) -> TestRunner {
    let config = RunnerConfig {
        cases,
        max_shrink_iters: SHRINK_ITERS_MAX,
        failure_persistence: None,
        ..RunnerConfig::default()
    };
    TestRunner::new_with_rng(config, TestRng::from_seed(RngAlgorithm::ChaCha, &SEED))
}

/// Runs `cases` seeded cases; a failure is shrunk, then reported with its operations.
fn check_property(cases: u32, check: Check) {
    let handle = tokio::runtime::Handle::current();
    // proptest's runner is synchronous; the cases run on this runtime, off its worker.
    let outcome = tokio::task::block_in_place(|| {
        let operations = prop::collection::vec(operation(), OPERATIONS_PER_CASE);
        seeded_runner(cases).run(&operations, |ops| {
            handle.block_on(check_case(&ops, check));
            Ok(())
        })
    });
    if let Err(failure) = outcome {
        panic!("{failure}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_operations_keep_the_ledger_balanced_and_settled_totals_equal_to_file_totals() {
    // (a) and (c) after every clock advance, and all of (a), (b), (c) once everything settled.
    check_property(MONEY_CASES, Check::Money);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_settlement_reports_of_random_operations_add_up_to_the_settled_funds() {
    // The reports of all banking days net what moved in and out of the settled funds.
    check_property(REPORT_CASES, Check::Reports);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_random_sequence_keeps_the_money_properties_on_postgres() {
    // The first seeded case on PostgreSQL, from 09:00 ET on a quiet banking day of its
    // wall-time clock (the weekends it meets vary, so the reports are left to SQLite).
    let operations = prop::collection::vec(operation(), OPERATIONS_PER_CASE);
    let tree = operations.new_tree(&mut seeded_runner(1));
    let ops = tree.expect("a case").current();
    on_postgres(|app| async move {
        app.align_clock(&app.merchant).await;
        run_case(&app, &ops).await;
        assert_money_kept(&app).await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_return_forced_twice_before_the_bank_file_is_read_keeps_settled_equal_to_files() {
    // Shrunk from the money property: the $40 entry posted Monday; both forces find it still
    // Posted, so the bank writes two return files while paybank takes the money back once.
    let ops = [
        Op::Authorize("secret", 0, 0, 100),
        Op::Capture(0, 40),
        Op::Advance(63_164),
        Op::Return(0, "R01"),
        Op::Return(0, "R01"),
    ];
    check_case(&ops, Check::Money).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refund_the_consumers_bank_returns_no_longer_counts_as_refunded() {
    // Shrunk from the money property: the $20 refund comes back R03 and is Denied, its money
    // back in settled funds, yet the capture still says $20 refunded (balance $20, not $40).
    let ops = [
        Op::Authorize("secret", 0, 0, 100),
        Op::Capture(0, 40),
        Op::Advance(6 * 86_400),
        Op::Refund(0, 50),
        Op::Return(1, "R03"),
    ];
    check_case(&ops, Check::Money).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deposit_made_on_a_saturday_shows_in_a_settlement_report() {
    // Shrunk from the report property: the deposit's reservation posts to settled funds on
    // Saturday, a day no report covers, so the reports miss $50.00.
    let ops = [
        Op::Advance(5 * 86_400),
        Op::Authorize("secret", 0, 0, 100),
        Op::Deposit(0, 50, false),
    ];
    check_case(&ops, Check::Reports).await;
}
