//! Refunds of settled captures: amounts against the balance, status 11 and 12, and canceling them.

use paybank_core::change::{Timer, TimerKind};
use paybank_core::codes::{TransactionStatus as S, TransactionType};
use paybank_core::ids::TransactionId;
use paybank_core::ledger::LedgerAccount;
use paybank_core::rules::{Policy, RuleError};
use paybank_core::settlement::next_cutoff;

use super::event_summary;
use crate::support::*;

// Only a settled capture can be refunded: not one still Authorized or Processed, not the
// authorization, and not a transaction outside the payment.
#[test]
fn refunds_need_a_completed_capture() {
    let mut bench = Bench::authorized(cents(10_000));
    let capture = bench
        .capture(Some(cents(1_000)))
        .expect("a capture")
        .transaction_id;
    assert_eq!(
        bench.refund(capture, None),
        Err(RuleError::WrongStatus("Authorized"))
    );
    bench.advance(8 * HOUR_MS);
    assert_eq!(
        bench.refund(capture, None),
        Err(RuleError::WrongStatus("Processed"))
    );
    let auth = bench.authorization_id();
    assert_eq!(
        bench.refund(auth, None),
        Err(RuleError::WrongTransactionType("Authorize"))
    );
    let elsewhere = TransactionId(42);
    assert_eq!(
        bench.refund(elsewhere, None),
        Err(RuleError::UnknownTransaction("42".into()))
    );
}

// A refund defaults to the capture's balance, may not exceed it, and must be at least 0.99
// unless it is exactly what remains.
#[test]
fn refund_amounts_follow_the_balance_and_the_minimum() {
    use RuleError::*;
    // Earlier refunds, requested amount, and what the new refund gets.
    type Case = (&'static [i64], Option<i64>, Result<i64, RuleError>);
    let cases: [Case; 10] = [
        (&[], None, Ok(10_000)),
        (&[2_500], None, Ok(7_500)),
        (&[], Some(10_001), Err(AmountTooLarge(cents(10_000)))),
        (&[9_000], Some(1_001), Err(AmountTooLarge(cents(1_000)))),
        (&[], Some(98), Err(AmountTooSmall)),
        (&[], Some(0), Err(AmountTooSmall)),
        (&[9_950], Some(50), Ok(50)),
        (&[9_950], None, Ok(50)),
        (&[9_950], Some(49), Err(AmountTooSmall)),
        (&[10_000], None, Err(AmountTooSmall)),
    ];
    for (earlier, requested, expected) in cases {
        let mut bench = Bench::authorized(cents(10_000));
        let capture = bench.completed_capture(cents(10_000)).transaction_id;
        for amount in earlier {
            bench
                .refund(capture, Some(cents(*amount)))
                .expect("an earlier refund");
        }
        let got = bench.refund(capture, requested.map(cents)).map(|change| {
            let refund = change
                .transactions
                .iter()
                .find(|txn| txn.transaction_type == TransactionType::Refund);
            refund.expect("a refund").amount.minor()
        });
        assert_eq!(
            got, expected,
            "earlier {earlier:?}, requested {requested:?}"
        );
    }
}

// A partial refund makes the capture PartiallyRefunded (11) and the rest Refunded (12); each
// writes a Refund event about the new type-4 transaction and an Update about the capture, and
// the money goes settled → payout clearing → consumer.
#[test]
fn refunds_move_the_capture_to_partially_refunded_then_refunded() {
    let mut bench = Bench::authorized(cents(10_000));
    let capture = bench.completed_capture(cents(10_000)).transaction_id;
    for (amount, status, refunded) in [
        (3_000, S::PartiallyRefunded, 3_000),
        (7_000, S::Refunded, 10_000),
    ] {
        let change = bench
            .refund(capture, Some(cents(amount)))
            .expect("a refund");
        let original = bench.txn(capture);
        assert_eq!(
            (original.status, original.refunded),
            (status, cents(refunded))
        );
        assert_eq!(original.balance(), cents(10_000 - refunded));
        let refund = change
            .transactions
            .iter()
            .find(|txn| txn.transaction_type == TransactionType::Refund)
            .expect("a refund")
            .clone();
        assert_eq!(
            (
                refund.status,
                refund.pending,
                refund.original_transaction_id
            ),
            (S::Authorized, cents(amount), Some(capture))
        );
        assert_eq!(
            event_summary(&change),
            [("Refund", refund.transaction_id), ("Update", capture)]
        );
        assert_eq!(
            param(&change.events[1], "status"),
            Some(status.code().to_string())
        );
        assert_eq!(
            change.timers,
            [Timer::new(
                TimerKind::Submit,
                &refund,
                next_cutoff(bench.world.now, &Policy::default())
            )]
        );
    }
    bench.advance(10 * DAY_MS);
    let merchant_id = bench.chain().payment.merchant_id;
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
}

// Canceling a refund before submission gives its amount back to the capture, which returns to
// PartiallyRefunded or Completed; no refund money moves.
#[test]
fn canceling_a_refund_restores_the_original() {
    let mut bench = Bench::authorized(cents(10_000));
    let capture = bench.completed_capture(cents(10_000)).transaction_id;
    let refund_id = |change: paybank_core::change::Change| {
        let refund = change
            .transactions
            .into_iter()
            .find(|txn| txn.transaction_type == TransactionType::Refund);
        refund.expect("a refund").transaction_id
    };
    let first = refund_id(bench.refund(capture, Some(cents(4_000))).expect("a refund"));
    let second = refund_id(bench.refund(capture, None).expect("a refund"));
    assert_eq!(bench.txn(capture).status, S::Refunded);
    for (refund, status, refunded) in [
        (second, S::PartiallyRefunded, 4_000),
        (first, S::Completed, 0),
    ] {
        bench
            .cancel(refund)
            .expect("an authorized refund is voided");
        let original = bench.txn(capture);
        assert_eq!(
            (original.status, original.refunded),
            (status, cents(refunded))
        );
        assert_eq!(bench.txn(refund).status, S::Voided);
    }
    bench.advance(10 * DAY_MS);
    let merchant_id = bench.chain().payment.merchant_id;
    assert_eq!(
        bench
            .store
            .balance(&LedgerAccount::MerchantSettled(merchant_id)),
        10_000
    );
}
