//! The settlement steps run by timers: cut-offs, submission, completion, NSF returns, stale timers.

use paybank_core::change::{Timer, TimerKind};
use paybank_core::codes::TransactionStatus as S;
use paybank_core::ids::TransactionId;
use paybank_core::ledger::LedgerAccount;
use paybank_core::model::TimestampMs;
use paybank_core::rules::Policy;
use paybank_core::settlement::{next_cutoff, run_timer};

use super::event_summary;
use crate::support::*;

// The next ACH cut-off is today's if it is still ahead on a banking day, else the next banking
// day's, skipping weekends and Fed holidays.
#[test]
fn next_cutoff_skips_past_cutoffs_weekends_and_holidays() {
    let cases: [(TimestampMs, TimestampMs); 9] = [
        (at(2025, 6, 2, 12, 0), at(2025, 6, 2, 20, 0)),
        (at(2025, 6, 2, 19, 59), at(2025, 6, 2, 20, 0)),
        (at(2025, 6, 2, 20, 0), at(2025, 6, 3, 20, 0)),
        (at(2025, 6, 2, 23, 30), at(2025, 6, 3, 20, 0)),
        (at(2025, 6, 6, 21, 0), at(2025, 6, 9, 20, 0)),
        (at(2025, 6, 7, 10, 0), at(2025, 6, 9, 20, 0)),
        (at(2025, 5, 23, 21, 0), at(2025, 5, 27, 20, 0)),
        (at(2025, 5, 26, 10, 0), at(2025, 5, 27, 20, 0)),
        (at(2025, 12, 24, 20, 30), at(2025, 12, 26, 20, 0)),
    ];
    let policy = Policy::default();
    for (now, expected) in cases {
        assert_eq!(next_cutoff(now, &policy), expected, "from {now}");
    }
}

// At the cut-off a capture is submitted (Processed, consumer → merchant unsettled, Settle due
// three banking days later); at settlement it completes (paid = amount, unsettled → settled).
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
            at(2025, 6, 2, 20, 0),
            S::Processed,
            "Process",
            [
                (consumer.clone(), -2_500),
                (LedgerAccount::MerchantUnsettled(merchant_id), 2_500),
            ],
        ),
        (
            "settle",
            at(2025, 6, 5, 20, 0),
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
    assert_eq!(
        (completed.processed_at, completed.completed_at),
        (Some(at(2025, 6, 2, 20, 0)), Some(at(2025, 6, 5, 20, 0)))
    );
    let available = bench
        .chain()
        .payment
        .account
        .map(|account| account.available);
    assert_eq!(available, Some(cents(1_000_000 - 2_500)));
    assert!(bench.store.timers.is_empty());
    bench.store.check_invariants("settled");
}

// A pull the account cannot cover is submitted, then returned after the return window: Denied
// (8) with 331, SW021 and R01, and the money posted back to the consumer.
#[test]
fn an_uncovered_capture_is_returned_as_denied_for_insufficient_funds() {
    let mut bench = Bench::authorized_with(cents(10_000), grant(cents(1_000), Some(SPLIT_TOKEN)));
    let capture = bench
        .capture(Some(cents(1_001)))
        .expect("a capture")
        .transaction_id;
    bench.advance(8 * HOUR_MS);
    assert_eq!(bench.txn(capture).status, S::Processed);
    let due: Vec<(TimerKind, TimestampMs)> = bench
        .store
        .timers
        .values()
        .map(|timer| (timer.kind, timer.due_at))
        .collect();
    assert_eq!(due, [(TimerKind::Return, at(2025, 6, 4, 20, 0))]);
    bench.advance(3 * DAY_MS);
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
        (TimerKind::Settle, completed),
        (TimerKind::Return, completed),
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

// The simulated bank covers a pull up to exactly the available balance, and draws it down, so a
// second pull it can no longer cover is returned.
#[test]
fn the_available_balance_covers_pulls_up_to_exactly_its_amount() {
    let mut bench = Bench::authorized_with(cents(0), grant(cents(1_000), Some(SPLIT_TOKEN)));
    let exact = bench.capture(Some(cents(1_000))).expect("a capture");
    bench.advance(DAY_MS);
    let after_exact = bench
        .chain()
        .payment
        .account
        .map(|account| account.available);
    assert_eq!(after_exact, Some(cents(0)));
    let next = bench.capture(Some(cents(99))).expect("a capture");
    bench.advance(10 * DAY_MS);
    assert_eq!(bench.txn(exact.transaction_id).status, S::Completed);
    assert_eq!(bench.txn(next.transaction_id).status, S::Denied);
}
