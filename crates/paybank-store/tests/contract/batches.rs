//! Stories about batches: changes to distinct payments committed together (which PostgreSQL
//! writes with one statement) land exactly as each would alone, and a flawed one fails alone.

use std::sync::Arc;

use paybank_core::change::{Change, Timer, TimerKind};
use paybank_core::ids::TransactionId;
use paybank_core::ledger::{transfer, LedgerAccount};
use paybank_core::money::Amount;
use paybank_store::{Store, StoreError};

use crate::support::*;

/// What may go wrong in a batch of independent changes.
#[derive(Clone, Copy, PartialEq)]
enum Flaw {
    None,
    /// The first two claim one merchant reference.
    SharedReference,
    /// The fifth was built from a payment version that is no longer the stored one.
    StaleVersion,
}

/// Twenty authorizations, each with two ledger transfers, and twenty new payments: changes to
/// distinct payments, to commit at once, with `flaw`. The fourth authorization finishes its
/// Lightbox session timer and schedules it again, later.
async fn independent_changes(
    store: &Arc<dyn Store>,
    world: &mut World,
    round: &str,
    flaw: Flaw,
) -> Vec<Change> {
    let mut changes = Vec::new();
    for idx in 0..20 {
        let reference = match idx {
            0 | 1 if flaw == Flaw::SharedReference => format!("{round}-SHARED"),
            // What an array literal must quote or escape, which PostgreSQL's batch writes use.
            3 => format!("{round}-3 \"q\",{{b}}\\ NULL é"),
            _ => format!("{round}-{idx}"),
        };
        let loaded = established(store, world, &reference, T0).await;
        let mut completing = world.complete(&loaded, T0 + 1, None);
        let (merchant_id, id) = (world.merchant.merchant_id, loaded.payment.authorization_id);
        let (settled, clearing) = (
            LedgerAccount::MerchantSettled(merchant_id),
            LedgerAccount::PayoutClearing(merchant_id),
        );
        let amount = |minor| Amount::from_minor(minor + i64::from(idx));
        completing
            .postings
            .extend(transfer(id, settled.clone(), clearing.clone(), amount(100)));
        completing
            .postings
            .extend(transfer(id, clearing, settled, amount(40)));
        if idx == 3 {
            let authorization = loaded.authorization();
            let again = Timer::new(TimerKind::ExpireSession, authorization, T0 + 99_000);
            assert!(completing.timers_done.contains(&again.timer_id));
            completing.timers.push(again);
        }
        if idx == 4 && flaw == Flaw::StaleVersion {
            completing.expected_version = completing.expected_version.map(|v| v + 1);
        }
        changes.push(completing);
    }
    for idx in 0..20 {
        changes.push(world.establish(&format!("{round}-NEW-{idx}, \"NULL\""), T0 + 2));
    }
    changes
}

pub async fn batched_changes(store: Arc<dyn Store>) {
    // Proves changes to distinct payments committed together (PostgreSQL writes such a batch
    // a table at a time) land exactly as each would alone: payment, transactions, events,
    // claims, postings in their order and timers (one finished and scheduled again), with id
    // blocks reserved beside them; and one duplicate, or one change built from a stale version,
    // among them fails alone.
    let mut world = World::new(merchant(1, false), 1_000);
    add_merchant(&store, &world.merchant).await;
    let changes = independent_changes(&store, &mut world, "ALL", Flaw::None).await;
    let reserving: Vec<_> = (0..5)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move { store.reserve_ids(10).await })
        })
        .collect();
    assert_eq!(commit_at_once(&store, &changes).await, (0, 0));
    let mut blocks = Vec::new();
    for handle in reserving {
        blocks.push(handle.await.expect("the reserving task").expect("ids"));
    }
    blocks.sort_unstable();
    assert!(
        blocks.windows(2).all(|pair| pair[1] >= pair[0] + 10),
        "{blocks:?}"
    );
    let changes = independent_changes(&store, &mut world, "DUPLICATE", Flaw::SharedReference).await;
    assert_eq!(commit_at_once(&store, &changes).await, (1, 0));
    let changes = independent_changes(&store, &mut world, "STALE", Flaw::StaleVersion).await;
    assert_eq!(commit_at_once(&store, &changes).await, (0, 1));
}

/// Commits every change concurrently, checks each landed whole or not at all, and counts those
/// refused as duplicates and as conflicts.
async fn commit_at_once(store: &Arc<dyn Store>, changes: &[Change]) -> (usize, usize) {
    let handles: Vec<_> = changes
        .iter()
        .map(|change| {
            let (store, change) = (store.clone(), change.clone());
            tokio::spawn(async move { put(&store, &change).await })
        })
        .collect();
    let (mut duplicates, mut conflicts) = (0, 0);
    for (change, handle) in changes.iter().zip(handles) {
        match handle.await.expect("the commit task") {
            Ok(()) => assert_batched_change(store, change).await,
            Err(StoreError::Duplicate(field)) if field == "merchantReference" => {
                duplicates += 1;
                assert_unwritten(store, change).await;
            }
            Err(StoreError::Conflict) => {
                conflicts += 1;
                assert_unwritten(store, change).await;
            }
            Err(other) => panic!("unexpected failure: {other}"),
        }
    }
    (duplicates, conflicts)
}

/// `change` is written whole, its postings included, in the order the change holds them.
async fn assert_batched_change(store: &Arc<dyn Store>, change: &Change) {
    assert_written(store, change).await;
    let mut ids: Vec<TransactionId> = change.postings.iter().map(|p| p.transaction_id).collect();
    ids.dedup();
    for id in ids {
        let mine: Vec<_> = change
            .postings
            .iter()
            .filter(|p| p.transaction_id == id)
            .cloned()
            .collect();
        assert_eq!(store.postings(id).await.expect("read postings"), mine);
    }
    let far_future = T0 + 10 * 365 * 86_400_000;
    let due = store.claim_due_timers(far_future, 0, 10_000).await.unwrap();
    for timer in &change.timers {
        assert!(
            due.contains(timer),
            "timer {} was not written",
            timer.timer_id
        );
    }
    let scheduled = |id: &String| change.timers.iter().any(|timer| &timer.timer_id == id);
    for timer_id in change.timers_done.iter().filter(|id| !scheduled(id)) {
        let found = due.iter().any(|timer| &timer.timer_id == timer_id);
        assert!(!found, "timer {timer_id} was not finished");
    }
}
