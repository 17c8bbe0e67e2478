//! Stories about payment chains: merchants, establish, optimistic concurrency, reference
//! claims, a capture settled by timers, invariants, isolation inside group commits and
//! snapshot reads.

use std::collections::BTreeMap;
use std::sync::Arc;

use paybank_core::capture::{self, CaptureRequest};
use paybank_core::change::{Change, Timer, TimerKind};
use paybank_core::codes::{TransactionStatus, TransactionType};
use paybank_core::ids::{MerchantId, PaymentId, TransactionId};
use paybank_core::ledger::LedgerAccount;
use paybank_core::model::PaymentChain;
use paybank_core::money::Amount;
use paybank_core::settlement;
use paybank_core::signature::form_encode;
use paybank_store::{EventQuery, EventState, Store, StoreError, WriteSet};

use crate::support::*;

pub async fn merchants(store: Arc<dyn Store>) {
    // Proves merchants round-trip every field by id, by access id and in the listing, and that
    // access ids are unique.
    let first = merchant(1, true);
    let mut second = merchant(2, false);
    second.notification_url = None;
    second.allowed_origins = vec!["https://only.example".to_owned()];
    add_merchant(&store, &first).await;
    add_merchant(&store, &second).await;
    assert_eq!(
        store.merchant(first.merchant_id).await.unwrap().as_deref(),
        Some(&first)
    );
    assert_eq!(
        store.merchant(second.merchant_id).await.unwrap().as_deref(),
        Some(&second)
    );
    assert_eq!(
        store
            .merchant_by_access_id("access-1")
            .await
            .unwrap()
            .as_deref(),
        Some(&first)
    );
    assert_eq!(
        store
            .merchant_by_access_id("access-2")
            .await
            .unwrap()
            .as_deref(),
        Some(&second)
    );
    assert_eq!(store.merchant(MerchantId(99)).await.unwrap(), None);
    assert_eq!(store.merchant_by_access_id("nobody").await.unwrap(), None);
    let both = vec![first.clone(), second.clone()];
    assert_eq!(store.list_merchants().await.unwrap(), both);
    let mut clash = merchant(3, false);
    clash.access_id = first.access_id.clone();
    let write = WriteSet {
        merchant: Some(clash),
        ..WriteSet::default()
    };
    let result = store.commit(write).await;
    assert!(
        matches!(result, Err(StoreError::Duplicate(_))),
        "{result:?}"
    );
    assert_eq!(store.list_merchants().await.unwrap(), both);
}

pub async fn new_payment(store: Arc<dyn Store>) {
    // Proves an established payment reads back exactly, with its Establish event as sent and
    // its session timer due at now + ttl.
    let mut world = World::new(merchant(1, false), 1_000);
    add_merchant(&store, &world.merchant).await;
    let change = world.establish("Order #1 & more+ é", T0);
    put(&store, &change).await.expect("commit establish");
    let expected = Some(PaymentChain {
        payment: change.payment.clone(),
        transactions: change.transactions.clone(),
    });
    let authorization_id = change.payment.authorization_id;
    let by_payment = store.chain(change.payment.payment_id).await.unwrap();
    assert_eq!(by_payment, expected);
    let by_transaction = store.chain_of_transaction(authorization_id).await.unwrap();
    assert_eq!(by_transaction, expected);
    assert_eq!(store.chain(PaymentId(1)).await.unwrap(), None);
    let unknown = store.chain_of_transaction(TransactionId(1)).await.unwrap();
    assert_eq!(unknown, None);
    assert_establish_event(&store, &change).await;
    let due_at = T0 + world.policy.lightbox_session_ttl_ms;
    let early = store.claim_due_timers(due_at - 1, LEASE_MS, 10).await;
    assert_eq!(early.unwrap(), vec![]);
    let timers = store.claim_due_timers(due_at, LEASE_MS, 10).await.unwrap();
    assert_eq!(timers, change.timers);
    let kind_and_due = (timers[0].kind, timers[0].due_at);
    assert_eq!(kind_and_due, (TimerKind::ExpireSession, due_at));
}

/// The establish change's one event is listed (also by transaction), decoded in order, with
/// the exact form-encoded body, pending and due at once.
async fn assert_establish_event(store: &Arc<dyn Store>, change: &Change) {
    let merchant_id = change.payment.merchant_id;
    let events = events_of(store, merchant_id).await;
    assert_eq!(events.len(), 1);
    let stored = &events[0];
    assert_eq!(stored.event, change.events[0]);
    assert_eq!(stored.event.event_type, "Establish");
    assert_eq!(stored.body, form_encode(&change.events[0].params));
    assert_eq!(stored.state, EventState::Pending);
    let bookkeeping = (stored.attempts, stored.next_attempt_at, stored.delivered_at);
    assert_eq!(bookkeeping, (0, T0, None));
    let by_id = store.event(stored.event.event_id).await.unwrap();
    assert_eq!(by_id.as_ref(), Some(stored));
    let mut query = EventQuery {
        transaction_id: Some(change.payment.authorization_id),
        limit: 10,
        offset: 0,
    };
    assert_eq!(
        store.list_events(merchant_id, &query).await.unwrap(),
        events
    );
    query.transaction_id = Some(TransactionId(1));
    assert_eq!(
        store.list_events(merchant_id, &query).await.unwrap(),
        vec![]
    );
    assert!(events_of(store, MerchantId(2)).await.is_empty());
}

pub async fn optimistic_concurrency(store: Arc<dyn Store>) {
    // Proves that of two changes built from one loaded chain only the first commits; the
    // second gets Conflict and writes nothing.
    let mut world = World::new(merchant(1, true), 1_000);
    add_merchant(&store, &world.merchant).await;
    let loaded = established(&store, &mut world, "ORDER-1", T0).await;
    let payment_id = loaded.payment.payment_id;
    let first = world.start(&loaded, T0 + 1_000);
    let second = world.start(&loaded, T0 + 2_000);
    put(&store, &first).await.expect("the first change commits");
    let result = put(&store, &second).await;
    assert!(matches!(result, Err(StoreError::Conflict)), "{result:?}");
    assert_eq!(chain(&store, payment_id).await, applied(&loaded, &first));
    assert_unwritten(&store, &second).await;
    assert_eq!(events_of(&store, world.merchant.merchant_id).await.len(), 2);

    let started = chain(&store, payment_id).await;
    let completed = world.complete(&started, T0 + 3_000, Some("split-secret"));
    put(&store, &completed).await.expect("commit complete");
    let loaded = chain(&store, payment_id).await;
    assert_eq!(loaded, applied(&started, &completed));
    assert!(loaded.payment.split_token.is_some() && loaded.payment.account.is_some());
    let request = CaptureRequest {
        merchant_reference: "CAPTURE-1".to_owned(),
        amount: Some(Amount::from_minor(1_000)),
        split_token: Some("split-secret".to_owned()),
        ip: "203.0.113.7".to_owned(),
        instant_payout_requested: false,
    };
    let captured = capture::capture(&mut world.ctx(T0 + 4_000), &loaded, request).expect("capture");
    let canceled = capture::cancel(
        &mut world.ctx(T0 + 4_000),
        &loaded,
        loaded.payment.authorization_id,
    )
    .expect("cancel");
    put(&store, &captured).await.expect("the capture commits");
    let result = put(&store, &canceled).await;
    assert!(matches!(result, Err(StoreError::Conflict)), "{result:?}");
    assert_unwritten(&store, &canceled).await;
    let after = chain(&store, payment_id).await;
    assert_eq!(after, applied(&loaded, &captured));
    assert_eq!(
        after.transactions[1].status,
        TransactionStatus::Authorized,
        "the split token matched"
    );
    assert_eq!(events_of(&store, world.merchant.merchant_id).await.len(), 4);
}

pub async fn reference_claims(store: Arc<dyn Store>) {
    // Proves authorizing claims the merchant reference, and a second payment authorizing with
    // it gets Duplicate and writes nothing.
    let mut world = World::new(merchant(1, false), 1_000);
    add_merchant(&store, &world.merchant).await;
    let merchant_id = world.merchant.merchant_id;
    let first = authorized(&store, &mut world, "SHARED-REF", T0).await;
    let claim = store
        .reference_claim(merchant_id, 1, "SHARED-REF")
        .await
        .unwrap();
    assert_eq!(claim, Some(first.payment.authorization_id));
    assert_eq!(
        store
            .reference_claim(merchant_id, 3, "SHARED-REF")
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store
            .reference_claim(MerchantId(2), 1, "SHARED-REF")
            .await
            .unwrap(),
        None
    );
    let later = T0 + 10_000;
    let loaded = established(&store, &mut world, "SHARED-REF", later).await;
    let completing = world.complete(&loaded, later + 1, None);
    let result = put(&store, &completing).await;
    assert!(
        matches!(&result, Err(StoreError::Duplicate(field)) if field == "merchantReference"),
        "{result:?}"
    );
    assert_eq!(chain(&store, loaded.payment.payment_id).await, loaded);
    assert_unwritten(&store, &completing).await;
    let claim = store
        .reference_claim(merchant_id, 1, "SHARED-REF")
        .await
        .unwrap();
    assert_eq!(claim, Some(first.payment.authorization_id));
    let session_due = later + world.policy.lightbox_session_ttl_ms;
    let timers = store
        .claim_due_timers(session_due, LEASE_MS, 10)
        .await
        .unwrap();
    let expected = Timer::new(
        TimerKind::ExpireSession,
        loaded.authorization(),
        session_due,
    );
    assert_eq!(timers, vec![expected], "the failed change retired no timer");
}

/// Claims the one timer due at `due_at` (none just before), runs it and commits the result.
async fn run_due_timer(store: &Arc<dyn Store>, world: &mut World, kind: TimerKind, due_at: i64) {
    assert!(store
        .claim_due_timers(due_at - 1, LEASE_MS, 10)
        .await
        .unwrap()
        .is_empty());
    let timers = store.claim_due_timers(due_at, LEASE_MS, 10).await.unwrap();
    assert_eq!(timers.len(), 1, "{timers:?}");
    assert_eq!((timers[0].kind, timers[0].due_at), (kind, due_at));
    let loaded = chain(store, timers[0].payment_id).await;
    let change = settlement::run_timer(&mut world.ctx(due_at), &loaded, &timers[0]);
    put(store, &change)
        .await
        .expect("commit the timer's change");
    assert_eq!(
        chain(store, loaded.payment.payment_id).await,
        applied(&loaded, &change)
    );
}

pub async fn capture_lifecycle(store: Arc<dyn Store>) {
    // Proves a capture is submitted and settled through the store's timers, ending Completed
    // with a balanced ledger.
    let mut world = World::new(merchant(1, false), 1_000);
    add_merchant(&store, &world.merchant).await;
    let loaded = authorized(&store, &mut world, "LIFE-1", T0).await;
    let amount = Amount::from_minor(2_500);
    let request = CaptureRequest {
        merchant_reference: "LIFE-CAPTURE-1".to_owned(),
        amount: Some(amount),
        split_token: None,
        ip: "203.0.113.7".to_owned(),
        instant_payout_requested: false,
    };
    let captured =
        capture::capture(&mut world.ctx(T0 + 10_000), &loaded, request).expect("capture");
    put(&store, &captured).await.expect("commit capture");
    let capture_id = captured.transactions[0].transaction_id;
    let submit_at = settlement::next_cutoff(T0 + 10_000, &world.policy);
    run_due_timer(&store, &mut world, TimerKind::Submit, submit_at).await;
    let settle_at = settlement::banking_days_later(submit_at, world.policy.settlement_banking_days);
    run_due_timer(&store, &mut world, TimerKind::Settle, settle_at).await;
    let done = chain(&store, loaded.payment.payment_id).await;
    let txn = done.transaction(capture_id).expect("the capture");
    assert_eq!(
        (txn.transaction_type, txn.status),
        (TransactionType::Capture, TransactionStatus::Completed)
    );
    assert_eq!((txn.paid, txn.pending), (amount, Amount::ZERO));
    let postings = store.postings(capture_id).await.unwrap();
    assert_eq!(postings.len(), 4);
    assert_eq!(
        postings
            .iter()
            .map(|posting| posting.amount.minor())
            .sum::<i64>(),
        0
    );
    let token = &loaded.payment.account.as_ref().expect("an account").token;
    let merchant_id = world.merchant.merchant_id;
    let expected: BTreeMap<String, i64> = [
        (
            LedgerAccount::Consumer(token.clone()).name(),
            -amount.minor(),
        ),
        (
            LedgerAccount::MerchantSettled(merchant_id).name(),
            amount.minor(),
        ),
        (LedgerAccount::MerchantUnsettled(merchant_id).name(), 0),
    ]
    .into_iter()
    .collect();
    let balances: BTreeMap<String, i64> =
        store.ledger_balances().await.unwrap().into_iter().collect();
    assert_eq!(balances, expected);
    // The settled account keeps its balance beside its postings; no other account does.
    let settled = LedgerAccount::MerchantSettled(merchant_id).name();
    let kept = store.kept_balances().await.unwrap();
    assert_eq!(kept, [(settled, amount.minor())]);
    assert!(store
        .claim_due_timers(settle_at * 2, LEASE_MS, 10)
        .await
        .unwrap()
        .is_empty());
}

pub async fn invariants(store: Arc<dyn Store>) {
    // Proves a change that breaks an invariant is refused with Invariant and writes nothing.
    let mut world = World::new(merchant(1, false), 1_000);
    add_merchant(&store, &world.merchant).await;
    let mut lopsided = world.establish("INVARIANT-1", T0);
    unbalanced(&mut lopsided);
    let mut negative = world.establish("INVARIANT-2", T0);
    negative.transactions[0].paid = Amount::from_minor(-1);
    for change in [&lopsided, &negative] {
        let result = put(&store, change).await;
        assert!(
            matches!(result, Err(StoreError::Invariant(_))),
            "{result:?}"
        );
        assert_eq!(store.chain(change.payment.payment_id).await.unwrap(), None);
        assert_unwritten(&store, change).await;
    }
    assert!(events_of(&store, world.merchant.merchant_id)
        .await
        .is_empty());
    assert!(store.ledger_balances().await.unwrap().is_empty());
    assert_eq!(store.next_due_at().await.unwrap(), None);
    let loaded = established(&store, &mut world, "INVARIANT-3", T0).await;
    let mut started = world.start(&loaded, T0 + 1);
    unbalanced(&mut started);
    let result = put(&store, &started).await;
    assert!(
        matches!(result, Err(StoreError::Invariant(_))),
        "{result:?}"
    );
    assert_eq!(chain(&store, loaded.payment.payment_id).await, loaded);
    assert_unwritten(&store, &started).await;
}

/// About fifty changes in groups; each group names how many of its changes may commit.
async fn contested_changes(
    store: &Arc<dyn Store>,
    world: &mut World,
) -> (Vec<(usize, Change)>, BTreeMap<usize, usize>) {
    let mut attempts = Vec::new();
    let mut expected = BTreeMap::new();
    for group in 0..10 {
        let loaded = established(store, world, &format!("RACE-{group}"), T0).await;
        attempts.push((group, world.start(&loaded, T0 + 1)));
        attempts.push((group, world.start(&loaded, T0 + 2)));
        expected.insert(group, 1);
    }
    for idx in 0..10 {
        let (group, reference) = match idx {
            0..5 => (10, "SHARED".to_owned()),
            _ => (10 + idx, format!("OWN-{idx}")),
        };
        let loaded = established(store, world, &reference, T0).await;
        attempts.push((group, world.complete(&loaded, T0 + 5, None)));
        expected.insert(group, 1);
    }
    for idx in 0..25 {
        let mut change = world.establish(&format!("NEW-{idx}"), T0 + 10);
        if idx % 5 == 0 {
            unbalanced(&mut change);
        }
        expected.insert(100 + idx, usize::from(idx % 5 != 0));
        attempts.push((100 + idx, change));
    }
    (attempts, expected)
}

pub async fn group_commit_isolation(store: Arc<dyn Store>) {
    // Proves concurrent commits sharing batches succeed or fail one by one: every success is
    // visible, every failure wrote nothing, and the writer keeps working.
    let mut world = World::new(merchant(1, false), 1_000);
    add_merchant(&store, &world.merchant).await;
    let (attempts, expected) = contested_changes(&store, &mut world).await;
    let handles: Vec<_> = attempts
        .iter()
        .map(|(_, change)| {
            let (store, change) = (store.clone(), change.clone());
            tokio::spawn(async move { put(&store, &change).await })
        })
        .collect();
    let mut successes: BTreeMap<usize, usize> = BTreeMap::new();
    for ((group, change), handle) in attempts.iter().zip(handles) {
        match handle.await.expect("the commit task") {
            Ok(()) => {
                *successes.entry(*group).or_default() += 1;
                assert_written(&store, change).await;
            }
            Err(StoreError::Conflict | StoreError::Duplicate(_) | StoreError::Invariant(_)) => {
                assert_unwritten(&store, change).await;
            }
            Err(other) => panic!("unexpected failure in group {group}: {other}"),
        }
    }
    for (group, count) in expected {
        assert_eq!(
            successes.get(&group).copied().unwrap_or(0),
            count,
            "group {group}"
        );
    }
    let after = world.establish("AFTER", T0 + 20);
    put(&store, &after).await.expect("the writer keeps working");
    assert_written(&store, &after).await;
}

pub async fn consistent_chain_reads(store: Arc<dyn Store>) {
    // Proves a chain is read as one snapshot while captures commit concurrently: the payment
    // never comes back older than any of its transactions.
    let mut world = World::new(merchant(1, false), 1_000);
    add_merchant(&store, &world.merchant).await;
    let loaded = authorized(&store, &mut world, "SNAPSHOT-1", T0).await;
    let payment_id = loaded.payment.payment_id;
    let captures = 60;
    let reader = tokio::spawn(read_until_captured(store.clone(), payment_id, captures + 1));
    for idx in 0..captures {
        let current = chain(&store, payment_id).await;
        let reference = format!("SNAPSHOT-CAPTURE-{idx}");
        let now = T0 + 100 + i64::try_from(idx).expect("small index");
        capture_dollar(&store, &mut world, &current, reference, now).await;
    }
    let (torn, reads) = reader.await.expect("the reader task");
    assert_eq!(torn, 0, "{torn} of {reads} chain reads mixed two versions");
}

/// Reads the chain until it holds `transactions`; returns how many reads were torn, of all.
async fn read_until_captured(
    store: Arc<dyn Store>,
    payment_id: PaymentId,
    transactions: usize,
) -> (usize, usize) {
    let (mut torn, mut reads) = (0, 0);
    loop {
        let read = chain(&store, payment_id).await;
        reads += 1;
        let updated_at = read.payment.updated_at;
        if read
            .transactions
            .iter()
            .any(|txn| txn.updated_at > updated_at)
        {
            torn += 1;
        }
        if read.transactions.len() == transactions {
            return (torn, reads);
        }
    }
}
