//! The property test: random capture, refund, cancel and wait sequences on one payment keep the
//! same money invariants as the simulation, and leave nothing in flight once settled.

use paybank_core::ids::{MerchantId, TransactionId};
use paybank_core::ledger::LedgerAccount;
use proptest::prelude::*;

use crate::support::*;

/// One command against a single payment in the property test.
#[derive(Clone, Debug)]
enum Op {
    Capture(Option<i64>),
    Refund { pick: usize, amount: Option<i64> },
    Cancel { pick: usize },
    Wait { hours: i64 },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        proptest::option::of(0i64..20_000).prop_map(Op::Capture),
        (any::<usize>(), proptest::option::of(0i64..20_000))
            .prop_map(|(pick, amount)| Op::Refund { pick, amount }),
        any::<usize>().prop_map(|pick| Op::Cancel { pick }),
        (1i64..120).prop_map(|hours| Op::Wait { hours }),
    ]
}

fn pick(bench: &Bench, index: usize) -> TransactionId {
    let chain = bench.chain();
    chain.transactions[index % chain.transactions.len()].transaction_id
}

proptest! {
    // Integration tests have no lib.rs next to them to keep regressions in; shrinking still
    // prints the smallest failing case.
    #![proptest_config(ProptestConfig { failure_persistence: None, ..ProptestConfig::default() })]

    // Any sequence of captures, refunds, cancels and waits on one payment keeps the money
    // invariants, and once everything has settled nothing is left in flight.
    #[test]
    fn any_capture_and_refund_sequence_keeps_the_money_straight(
        cap in prop_oneof![Just(0i64), 99i64..50_000],
        available in 0i64..100_000,
        ops in proptest::collection::vec(op(), 1..40),
    ) {
        let mut bench = Bench::authorized_with(cents(cap), grant(cents(available), Some(SPLIT_TOKEN)));
        for op in ops {
            let _outcome = match op {
                Op::Capture(amount) => bench.capture(amount.map(cents)).map(|_| ()),
                Op::Refund { pick: index, amount } => bench.refund(pick(&bench, index), amount.map(cents)).map(|_| ()),
                Op::Cancel { pick: index } => bench.cancel(pick(&bench, index)).map(|_| ()),
                Op::Wait { hours } => {
                    bench.advance(hours * HOUR_MS);
                    Ok(())
                }
            };
            bench.store.check_invariants("proptest");
        }
        bench.advance(40 * DAY_MS);
        prop_assert!(bench.store.timers.is_empty());
        let merchant_id: MerchantId = bench.chain().payment.merchant_id;
        let unsettled = LedgerAccount::MerchantUnsettled(merchant_id);
        prop_assert_eq!(bench.store.balance(&unsettled), 0);
    }
}
