//! The settlement steps run by timers and the bank's answers: ACH cut-offs and windows,
//! submission with its queued entry, completion, returns before and after completion, NOCs,
//! instant answers, and stale timers.

use paybank_core::change::{Timer, TimerKind};
use paybank_core::codes::{TransactionStatus as S, TransactionType};
use paybank_core::ids::TransactionId;
use paybank_core::ledger::LedgerAccount;
use paybank_core::model::TimestampMs;
use paybank_core::rails::{Direction, RailJobKind};
use paybank_core::returns::{
    apply_instant_answer, apply_notice_of_change, apply_return, InstantAnswer,
};
use paybank_core::rules::Policy;
use paybank_core::settlement::{next_cutoff, run_timer};
use time::macros::date;

use super::event_summary;
use crate::support::*;

// paybank's ACH windows are 10:15, 14:30 and 16:30 ET (same day) and 20:00 ET (next day) on
// banking days: the next cut-off skips past windows, weekends and Fed holidays, and follows
// daylight saving time (EDT = UTC-4 in June, EST = UTC-5 in December).
#[test]
fn next_cutoff_walks_the_windows_of_banking_days() {
    let cases: [(TimestampMs, TimestampMs); 9] = [
        (at(2025, 6, 2, 12, 0), at(2025, 6, 2, 14, 15)),
        (at(2025, 6, 2, 14, 15), at(2025, 6, 2, 18, 30)),
        (at(2025, 6, 2, 19, 0), at(2025, 6, 2, 20, 30)),
        (at(2025, 6, 2, 21, 0), at(2025, 6, 3, 0, 0)),
        (at(2025, 6, 7, 10, 0), at(2025, 6, 9, 14, 15)),
        (at(2025, 5, 24, 10, 0), at(2025, 5, 27, 14, 15)),
        (at(2025, 12, 24, 12, 0), at(2025, 12, 24, 15, 15)),
        (at(2025, 12, 25, 12, 0), at(2025, 12, 26, 15, 15)),
        (at(2026, 7, 3, 12, 0), at(2026, 7, 3, 14, 15)),
    ];
    let policy = Policy::default();
    for (now, expected) in cases {
        assert_eq!(next_cutoff(now, &policy), expected, "from {now}");
    }
}

// At the cut-off a capture is submitted (Processed, consumer → merchant unsettled, its WEB debit
// entry queued for the window's file with same-day settlement, completion due three banking days
// later); at completion the money is settled (unsettled → settled).
#[test]
fn submission_then_settlement_move_the_money_in_two_balanced_steps() {
    let mut bench = Bench::authorized(cents(10_000));
    let capture = bench
        .capture(Some(cents(2_500)))
        .expect("a capture")
        .transaction_id;
    let merchant_id = bench.chain().payment.merchant_id;
    let consumer = LedgerAccount::Consumer("acct-token".to_owned());
    let steps = [
        (
            "submit",
            at(2025, 6, 2, 14, 15),
            S::Processed,
            "Process",
            [
                (consumer.clone(), -2_500),
                (LedgerAccount::MerchantUnsettled(merchant_id), 2_500),
            ],
        ),
        (
            "settle",
            at(2025, 6, 5, 14, 15),
            S::Completed,
            "Complete",
            [
                (LedgerAccount::MerchantUnsettled(merchant_id), -2_500),
                (LedgerAccount::MerchantSettled(merchant_id), 2_500),
            ],
        ),
    ];
    for (kind, due_at, status, event_type, postings) in steps {
        let timer = bench.store.timers[&format!("{kind}:{capture}")].clone();
        assert_eq!(timer.due_at, due_at, "{kind}");
        let chain = bench.chain();
        let change = run_timer(
            &mut bench.world.ctx_for(merchant_id, due_at),
            &chain,
            &timer,
        );
        if kind == "submit" {
            assert_same_day_entry(&change, due_at);
        }
        bench.commit(&change);
        let moved: Vec<(LedgerAccount, i64)> = change
            .postings
            .iter()
            .map(|posting| (posting.account.clone(), posting.amount.minor()))
            .collect();
        assert_eq!(moved, postings, "{kind}");
        assert_eq!(bench.txn(capture).status, status);
        assert_eq!(event_summary(&change), [(event_type, capture)]);
    }
    let completed = bench.txn(capture);
    assert_eq!(
        (completed.paid, completed.pending, completed.balance()),
        (cents(2_500), cents(0), cents(2_500))
    );
    assert!(bench.store.timers.is_empty());
    bench.store.check_invariants("settled");
}

/// The submission queued a same-day WEB debit for the 10:15 ET window, settling at 13:00 ET.
fn assert_same_day_entry(change: &paybank_core::change::Change, cutoff: TimestampMs) {
    let entry = &change.ach_entries[0];
    assert_eq!(
        (entry.direction, entry.amount, entry.same_day),
        (Direction::Debit, cents(2_500), true)
    );
    assert_eq!(
        (
            entry.effective_date,
            entry.settlement_date,
            entry.settles_at
        ),
        (
            date!(2025 - 06 - 02),
            date!(2025 - 06 - 02),
            at(2025, 6, 2, 17, 0)
        )
    );
    assert_eq!(change.rail_jobs[0].kind, RailJobKind::AchCutoff);
    assert_eq!(change.rail_jobs[0].due_at, cutoff);
}

// A return before completion: Denied (8) with 331, SW021 and the R-code, the money back with
// the consumer and the completion timer retired.
#[test]
fn a_return_before_completion_denies_the_capture() {
    let mut bench = Bench::authorized(cents(10_000));
    let capture = bench
        .capture(Some(cents(1_001)))
        .expect("a capture")
        .transaction_id;
    bench.advance(8 * HOUR_MS);
    assert_eq!(bench.txn(capture).status, S::Processed);
    let chain = bench.chain();
    let change = apply_return(
        &mut bench.world.ctx(),
        &chain,
        capture,
        "R01",
        "Insufficient funds",
    )
    .expect("a return");
    bench.commit(&change);
    let denied = bench.txn(capture);
    assert_eq!(
        (
            denied.status,
            denied.error_code,
            denied.pending,
            denied.paid
        ),
        (S::Denied, Some(331), cents(0), cents(0))
    );
    assert_eq!(
        (
            denied.provider.status.as_str(),
            denied.provider.reason_code.as_deref()
        ),
        ("SW021", Some("R01"))
    );
    let event = bench.store.events.last().expect("a Deny event");
    assert_eq!(
        (event.event_type.as_str(), param(event, "errorCode")),
        ("Deny", Some("331".into()))
    );
    assert_eq!(
        param(event, "paymentProviderTransaction.reasonCode").as_deref(),
        Some("R01")
    );
    let merchant_id = denied.merchant_id;
    for account in [
        LedgerAccount::Consumer("acct-token".into()),
        LedgerAccount::MerchantUnsettled(merchant_id),
        LedgerAccount::MerchantSettled(merchant_id),
    ] {
        assert_eq!(bench.store.balance(&account), 0, "{account:?}");
    }
    assert!(bench.store.timers.is_empty());
    let chain = bench.chain();
    let again = apply_return(&mut bench.world.ctx(), &chain, capture, "R01", "again");
    assert!(again.is_none(), "a second return changes nothing");
}

// A return after completion (R10, unauthorized): the capture is Reversed (10) with `reversed`
// and `balance` updated, a Reverse transaction (type 5) records the money going back, with a
// Reverse event, and the merchant's settled funds pay it.
#[test]
fn a_return_after_completion_reverses_the_capture() {
    let mut bench = Bench::authorized(cents(10_000));
    let capture = bench.completed_capture(cents(4_000)).transaction_id;
    let chain = bench.chain();
    let change = apply_return(
        &mut bench.world.ctx(),
        &chain,
        capture,
        "R10",
        "Unauthorized",
    )
    .expect("a return");
    bench.commit(&change);
    let reversed = bench.txn(capture);
    assert_eq!(
        (reversed.status, reversed.reversed, reversed.balance()),
        (S::Reversed, cents(4_000), cents(0))
    );
    let reverse = bench
        .chain()
        .transactions
        .into_iter()
        .find(|txn| txn.transaction_type == TransactionType::Reverse)
        .expect("a Reverse transaction");
    assert_eq!(
        (
            reverse.original_transaction_id,
            reverse.amount,
            reverse.provider.reason_code.as_deref()
        ),
        (Some(capture), cents(4_000), Some("R10"))
    );
    assert_eq!(
        event_summary(&change),
        [("Reverse", reverse.transaction_id), ("Update", capture)]
    );
    let merchant_id = reversed.merchant_id;
    assert_eq!(
        bench
            .store
            .balance(&LedgerAccount::MerchantSettled(merchant_id)),
        0
    );
    assert_eq!(
        bench
            .store
            .balance(&LedgerAccount::Consumer("acct-token".into())),
        0
    );
    bench.store.check_invariants("reversed");
}

// A notification of change corrects the stored account for later entries; one that corrects
// nothing paybank keeps changes nothing.
#[test]
fn a_notice_of_change_corrects_the_account() {
    let mut bench = Bench::authorized(cents(10_000));
    let chain = bench.chain();
    let change = apply_notice_of_change(&bench.world.ctx(), &chain, "C01", "99887766")
        .expect("a correction");
    bench.commit(&change);
    let account = bench.chain().payment.account.expect("an account");
    assert_eq!(account.account_number, "99887766");
    let chain = bench.chain();
    assert!(apply_notice_of_change(&bench.world.ctx(), &chain, "C01", "99887766").is_none());
    assert!(apply_notice_of_change(&bench.world.ctx(), &chain, "C09", "X").is_none());
}

// An instant payment's answer only moves a Processed transaction: ACSC completes it, RJCT
// denies it with the ISO reason.
#[test]
fn instant_answers_complete_or_deny() {
    let mut bench = Bench::authorized(cents(10_000));
    let capture = bench
        .capture(Some(cents(1_000)))
        .expect("a capture")
        .transaction_id;
    let chain = bench.chain();
    let early = apply_instant_answer(
        &mut bench.world.ctx(),
        &chain,
        capture,
        &InstantAnswer::Settled,
    );
    assert!(early.is_none(), "not yet sent");
    bench.advance(8 * HOUR_MS);
    let chain = bench.chain();
    let rejected = InstantAnswer::Rejected {
        reason: "AC03".to_owned(),
    };
    let change = apply_instant_answer(&mut bench.world.ctx(), &chain, capture, &rejected)
        .expect("a rejection");
    bench.commit(&change);
    let denied = bench.txn(capture);
    assert_eq!(
        (denied.status, denied.provider.reason_code.as_deref()),
        (S::Denied, Some("AC03"))
    );
}

// A timer whose transaction has moved on (or does not exist) writes nothing but its own
// retirement, so a step may safely run twice.
#[test]
fn a_timer_for_a_transaction_that_moved_on_only_retires_itself() {
    let mut bench = Bench::authorized(cents(10_000));
    let voided = bench.capture(Some(cents(1_000))).expect("a capture");
    bench.cancel(voided.transaction_id).expect("a void");
    let completed = bench.completed_capture(cents(1_000)).transaction_id;
    let preauthorization = bench
        .preauthorize(2)
        .expect("a preauthorization")
        .transactions;
    let preauthorization = preauthorization[0].transaction_id;
    bench.cancel(preauthorization).expect("a void");
    let cases = [
        (TimerKind::Submit, voided.transaction_id),
        (TimerKind::Submit, completed),
        (TimerKind::SubmitRtp, completed),
        (TimerKind::Settle, completed),
        (TimerKind::ExpireSession, bench.authorization_id()),
        (TimerKind::ExpirePreauthorization, preauthorization),
        (TimerKind::Submit, TransactionId(7)),
    ];
    let chain = bench.chain();
    for (kind, transaction_id) in cases {
        let timer = Timer {
            timer_id: format!("{}:{transaction_id}", kind.name()),
            kind,
            payment_id: chain.payment.payment_id,
            transaction_id,
            due_at: bench.world.now,
        };
        let change = run_timer(&mut bench.world.ctx(), &chain, &timer);
        assert_eq!(change.check(), Ok(()));
        assert_eq!(change.expected_version, Some(chain.payment.record_version));
        assert!(
            change.transactions.is_empty() && change.postings.is_empty(),
            "{kind:?}"
        );
        assert!(
            change.events.is_empty() && change.timers.is_empty(),
            "{kind:?}"
        );
        assert_eq!(change.timers_done, std::slice::from_ref(&timer.timer_id));
    }
}
