//! Captures and preauthorizations: amounts against the cap, split tokens, sandbox declines, voids.

use paybank_core::authorization::AuthorizationGrant;
use paybank_core::capture;
use paybank_core::change::{Timer, TimerKind};
use paybank_core::codes::{PaymentType, TransactionStatus as S, TransactionType};
use paybank_core::rules::RuleError;

use super::{event_summary, TTL_MS};
use crate::support::*;

// The capture amount defaults to what the cap leaves, must be at least 0.99, and may reach the
// cap exactly but not pass it; an uncapped (0.00) authorization needs an explicit amount.
#[test]
fn capture_amounts_follow_the_cap_and_the_minimum() {
    use RuleError::*;
    // Cap, earlier captures, requested amount, and what the new capture gets.
    type Case = (i64, &'static [i64], Option<i64>, Result<i64, RuleError>);
    let cases: [Case; 11] = [
        (10_000, &[], None, Ok(10_000)),
        (10_000, &[3_000], None, Ok(7_000)),
        (10_000, &[6_000], Some(4_000), Ok(4_000)),
        (
            10_000,
            &[6_000],
            Some(4_001),
            Err(AmountTooLarge(cents(4_000))),
        ),
        (
            10_000,
            &[],
            Some(10_001),
            Err(AmountTooLarge(cents(10_000))),
        ),
        (10_000, &[], Some(98), Err(AmountTooSmall)),
        (10_000, &[], Some(99), Ok(99)),
        (10_000, &[10_000], None, Err(AmountTooSmall)),
        (0, &[], None, Err(AmountRequired)),
        (0, &[], Some(98), Err(AmountTooSmall)),
        (0, &[500_000], Some(900_000), Ok(900_000)),
    ];
    for (cap, earlier, requested, expected) in cases {
        let mut bench = Bench::authorized(cents(cap));
        for amount in earlier {
            bench
                .capture(Some(cents(*amount)))
                .expect("an earlier capture");
        }
        let got = bench
            .capture(requested.map(cents))
            .map(|txn| txn.amount.minor());
        assert_eq!(
            got, expected,
            "cap {cap}, earlier {earlier:?}, requested {requested:?}"
        );
    }
}

/// The parameters of an event about a capture, in order: contract §5's example plus the parent.
const CHILD_EVENT_PARAMS: [&str; 17] = [
    "merchantId",
    "merchantReference",
    "paymentType",
    "transactionType",
    "eventId",
    "eventType",
    "objectId",
    "objectType",
    "parentObjectId",
    "message",
    "timeZone",
    "createdAt",
    "accessId",
    "paymentProviderTransaction.status",
    "paymentProviderTransaction.statusMessage",
    "status",
    "statusMessage",
];

// An accepted capture is Authorized with its amount pending, claims its reference, is due at
// the next cut-off, and is announced by an Authorize event shaped like the contract's example.
#[test]
fn an_accepted_capture_is_authorized_pending_and_due_at_the_cutoff() {
    let mut bench = Bench::authorized(cents(10_000));
    let chain = bench.chain();
    let request = capture_request("cap-1", Some(cents(2_500)), Some(SPLIT_TOKEN));
    let change = capture::capture(&mut bench.world.ctx(), &chain, request).expect("a capture");
    bench.commit(&change);
    let [txn] = change.transactions.as_slice() else {
        panic!("one transaction")
    };
    assert_eq!(
        (
            txn.transaction_type,
            txn.status,
            txn.provider.status.as_str()
        ),
        (TransactionType::Capture, S::Authorized, "AC100")
    );
    assert_eq!(
        (txn.amount, txn.pending, txn.paid),
        (cents(2_500), cents(2_500), cents(0))
    );
    assert_eq!(
        txn.original_transaction_id,
        Some(chain.payment.authorization_id)
    );
    assert_eq!(
        change.timers,
        [Timer::new(TimerKind::Submit, txn, at(2025, 6, 2, 14, 15))]
    );
    assert_eq!(
        change
            .reference_claims
            .iter()
            .map(|claim| (claim.transaction_type, claim.merchant_reference.as_str()))
            .collect::<Vec<_>>(),
        [(3, "cap-1")]
    );
    let [event] = change.events.as_slice() else {
        panic!("one event")
    };
    assert_eq!(param_names(event), CHILD_EVENT_PARAMS);
    assert_eq!(
        param(event, "parentObjectId"),
        Some(chain.payment.authorization_id.to_string())
    );
    assert_eq!(
        (param(event, "transactionType"), param(event, "status")),
        (Some("3".into()), Some("2".into()))
    );
}

// Captures need an Authorized authorization of a type that takes captures: a Voided or New one
// is refused, and so are Disbursement, Retrieval, Instant and Verification payments.
#[test]
fn captures_need_an_authorized_deferred_or_recurring_payment() {
    let mut bench = Bench::authorized(cents(10_000));
    bench
        .cancel(bench.authorization_id())
        .expect("void the authorization");
    assert_eq!(bench.capture(None), Err(RuleError::WrongStatus("Voided")));
    let mut fresh = Bench::establish(PaymentType::Deferred, cents(10_000));
    assert_eq!(fresh.capture(None), Err(RuleError::WrongStatus("New")));
    for payment_type in PaymentType::ALL {
        let mut bench = Bench::establish(payment_type, cents(10_000));
        bench.complete(grant(cents(1_000_000), Some(SPLIT_TOKEN)));
        let expected = match payment_type {
            PaymentType::Deferred | PaymentType::Recurring => Ok(cents(10_000)),
            other => Err(RuleError::WrongPaymentType(other.name())),
        };
        assert_eq!(
            bench.capture(None).map(|txn| txn.amount),
            expected,
            "{payment_type:?}"
        );
    }
}

// A missing, wrong or expired split token fails the capture (397/380/326, SW051/SW057): a
// Failed transaction and a Fail event, but no reference claim, no timer and no cap held.
#[test]
fn split_token_failures_fail_the_capture_without_claim_or_timer() {
    let cases = [
        (None, 0, 397, "SW051"),
        (Some(""), 0, 397, "SW051"),
        (Some("bm90IHRoZSB0b2tlbg=="), 0, 380, "SW051"),
        (Some(SPLIT_TOKEN), TTL_MS, 326, "SW057"),
    ];
    for (token, later_ms, error_code, provider) in cases {
        let mut bench = Bench::authorized(cents(10_000));
        bench.world.now += later_ms;
        let chain = bench.chain();
        let request = capture_request("cap-1", Some(cents(1_000)), token);
        let change =
            capture::capture(&mut bench.world.ctx(), &chain, request).expect("a Failed capture");
        let chain = bench.commit(&change);
        let [txn] = change.transactions.as_slice() else {
            panic!("one transaction")
        };
        assert_eq!(
            (txn.status, txn.error_code, txn.provider.status.as_str()),
            (S::Failed, Some(error_code), provider)
        );
        assert_eq!(txn.pending, cents(0));
        assert!(
            change.reference_claims.is_empty() && change.timers.is_empty(),
            "{token:?}"
        );
        let [event] = change.events.as_slice() else {
            panic!("one event")
        };
        assert_eq!(event.event_type, "Fail");
        assert_eq!(param(event, "errorCode"), Some(error_code.to_string()));
        assert_eq!(
            param(event, "paymentProviderTransaction.status").as_deref(),
            Some(provider)
        );
        assert_eq!(chain.captured_total(), cents(0));
    }
}

// A merchant without split tokens gets none, and its captures need none.
#[test]
fn without_split_tokens_captures_need_no_token() {
    let mut bench = Bench::authorized_with(cents(10_000), grant(cents(1_000_000), None));
    assert_eq!(bench.chain().payment.split_token, None);
    let request = capture_request("cap-1", None, None);
    assert_eq!(
        bench.capture_with(request).map(|txn| txn.status),
        Ok(S::Authorized)
    );
}

// The sandbox decline fails exactly the next capture (390, SW054, reasonCode 1, the extended
// code); the capture after it goes through.
#[test]
fn a_sandbox_decline_fails_only_the_next_capture() {
    let grant = AuthorizationGrant {
        decline_next_capture: Some("10000".to_owned()),
        ..grant(cents(1_000_000), Some(SPLIT_TOKEN))
    };
    let mut bench = Bench::authorized_with(cents(10_000), grant);
    let declined = bench.capture(Some(cents(1_000))).expect("a Failed capture");
    assert_eq!(
        (declined.status, declined.error_code),
        (S::Failed, Some(390))
    );
    let provider = &declined.provider;
    assert_eq!(
        (
            provider.status.as_str(),
            provider.reason_code.as_deref(),
            provider.extended_reason_code.as_deref()
        ),
        ("SW054", Some("1"), Some("10000"))
    );
    let event = bench.store.events.last().expect("a Fail event").clone();
    assert_eq!(event.event_type, "Fail");
    assert_eq!(
        param(&event, "paymentProviderTransaction.reasonCode").as_deref(),
        Some("1")
    );
    assert_eq!(
        param(&event, "paymentProviderTransaction.extendedReason.code").as_deref(),
        Some("10000")
    );
    assert!(bench
        .store
        .claims
        .iter()
        .all(|claim| claim.transaction_id != declined.transaction_id));
    assert_eq!(bench.chain().payment.decline_next_capture, None);
    assert_eq!(
        bench.capture(Some(cents(1_000))).map(|txn| txn.status),
        Ok(S::Authorized)
    );
}

// A preauthorization lasts 1 to 6 hours: 0 and 7 are refused; the rest give a type-10
// transaction with expiredAt, captures under it are marked, and its timer expires it.
#[test]
fn preauthorization_periods_run_from_one_to_six_hours() {
    for period_hours in 0..=7u32 {
        let mut bench = Bench::authorized(cents(10_000));
        let result = bench.preauthorize(period_hours);
        if !(1..=6).contains(&period_hours) {
            assert_eq!(result, Err(RuleError::PeriodOutOfRange), "{period_hours} h");
            continue;
        }
        let change = result.expect("a preauthorization");
        let [txn] = change.transactions.as_slice() else {
            panic!("one transaction")
        };
        let expired_at = MONDAY_NOON + i64::from(period_hours) * HOUR_MS;
        assert_eq!(
            (txn.transaction_type, txn.status, txn.pending),
            (TransactionType::Preauthorization, S::Authorized, cents(0))
        );
        assert_eq!(
            (txn.expired_at, txn.pre_authorized),
            (Some(expired_at), true)
        );
        assert_eq!(
            change.timers,
            [Timer::new(
                TimerKind::ExpirePreauthorization,
                txn,
                expired_at
            )]
        );
        assert!(
            bench
                .capture(Some(cents(1_000)))
                .expect("a capture")
                .pre_authorized
        );
        bench.advance(i64::from(period_hours) * HOUR_MS);
        assert_eq!(bench.txn(txn.transaction_id).status, S::Expired);
        assert!(
            !bench
                .capture(Some(cents(1_000)))
                .expect("a capture")
                .pre_authorized
        );
    }
}

// Canceling a capture before its cut-off voids it (13), releases its pending amount and the cap
// it held, and retires its submission timer, so no money ever moves.
#[test]
fn canceling_an_authorized_capture_voids_it_and_retires_its_timers() {
    let mut bench = Bench::authorized(cents(10_000));
    let capture = bench
        .capture(Some(cents(6_000)))
        .expect("a capture")
        .transaction_id;
    let change = bench.cancel(capture).expect("a void");
    let voided = bench.txn(capture);
    assert_eq!(
        (
            voided.status,
            voided.pending,
            voided.provider.status.as_str()
        ),
        (S::Voided, cents(0), "SW013")
    );
    assert!(change.timers_done.contains(&format!("submit:{capture}")));
    assert_eq!(event_summary(&change), [("Cancel", capture)]);
    assert_eq!(param(&change.events[0], "status").as_deref(), Some("13"));
    assert!(bench.store.timers.is_empty());
    bench.advance(10 * DAY_MS);
    assert!(bench.store.postings.is_empty());
    assert_eq!(bench.capture(None).map(|txn| txn.amount), Ok(cents(10_000)));
}

// Submitted and failed captures can no longer be canceled.
#[test]
fn processed_and_failed_captures_cannot_be_canceled() {
    let mut bench = Bench::authorized(cents(10_000));
    let capture = bench
        .capture(Some(cents(1_000)))
        .expect("a capture")
        .transaction_id;
    let failed = bench
        .capture_with(capture_request("cap-x", Some(cents(1_000)), None))
        .expect("a Failed capture");
    assert_eq!(
        bench.cancel(failed.transaction_id),
        Err(RuleError::WrongStatus("Failed"))
    );
    bench.advance(8 * HOUR_MS);
    assert_eq!(
        bench.cancel(capture),
        Err(RuleError::WrongStatus("Processed"))
    );
}
