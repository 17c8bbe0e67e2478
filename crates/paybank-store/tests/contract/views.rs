//! Stories about what the pages and the API read: Lightbox sessions, transaction listings and
//! the event log.

use std::sync::Arc;

use paybank_core::capture::{self, CaptureRequest};
use paybank_core::codes::{TransactionStatus, TransactionType};
use paybank_core::demo_bank::Behaviour;
use paybank_core::events::OutboxEvent;
use paybank_core::ids::{MerchantId, TransactionId};
use paybank_core::lightbox::{LightboxError, LightboxSession, Step};
use paybank_core::model::Transaction;
use paybank_core::money::Amount;
use paybank_store::{EventQuery, OrderBy, Store, TransactionQuery, WriteSet};

use crate::support::*;

pub async fn lightbox_sessions(store: Arc<dyn Store>) {
    // Proves a Lightbox session round-trips every field by id and by transaction, and that an
    // upsert (here together with a chain change) updates it.
    let mut world = World::new(merchant(1, false), 1_000);
    add_merchant(&store, &world.merchant).await;
    let loaded = established(&store, &mut world, "SESSION-1", T0).await;
    let session = LightboxSession {
        session_id: "session-abc".to_owned(),
        payment_id: loaded.payment.payment_id,
        transaction_id: loaded.payment.authorization_id,
        step: Step::Mfa,
        bank_id: Some("200005501".to_owned()),
        username: Some("alice".to_owned()),
        behaviour: Some(Behaviour::DeclineNextCapture("R29".to_owned())),
        account_index: Some(1),
        error: Some(LightboxError::MfaFailed),
        csrf_token: "csrf-123".to_owned(),
        expires_at: T0 + world.policy.lightbox_session_ttl_ms,
        redirect_url: Some("https://shop.example/return?x=1".to_owned()),
        updated_at: T0 + 100,
    };
    let write = WriteSet {
        session: Some(session.clone()),
        ..WriteSet::default()
    };
    store.commit(write).await.expect("commit session");
    assert_session(&store, &session).await;
    let mut moved = session.clone();
    moved.step = Step::Confirm;
    moved.error = None;
    moved.behaviour = Some(Behaviour::Balance(Amount::from_minor(12_345)));
    moved.updated_at = T0 + 200;
    let started = world.start(&loaded, T0 + 200);
    let write = WriteSet {
        session: Some(moved.clone()),
        change: Some(started.clone().into()),
        ..WriteSet::default()
    };
    store
        .commit(write)
        .await
        .expect("commit session and change");
    assert_session(&store, &moved).await;
    let stored = chain(&store, loaded.payment.payment_id).await;
    assert_eq!(stored, applied(&loaded, &started));
    assert_eq!(store.lightbox_session("missing").await.unwrap(), None);
    let unknown = store
        .lightbox_session_of_transaction(TransactionId(1))
        .await;
    assert_eq!(unknown.unwrap(), None);
    // A second session of the same transaction: the last updated is the transaction's,
    // whichever was written first.
    let mut earlier = moved.clone();
    earlier.session_id = "session-older".to_owned();
    earlier.updated_at = T0 + 150;
    let mut later = moved.clone();
    later.session_id = "session-newer".to_owned();
    later.updated_at = T0 + 300;
    for session in [later.clone(), earlier] {
        let write = WriteSet {
            session: Some(session),
            ..WriteSet::default()
        };
        store.commit(write).await.expect("commit another session");
    }
    let latest = store
        .lightbox_session_of_transaction(moved.transaction_id)
        .await;
    assert_eq!(latest.unwrap(), Some(later));
}

/// The session reads back equal by its id and by its transaction.
async fn assert_session(store: &Arc<dyn Store>, session: &LightboxSession) {
    let by_id = store.lightbox_session(&session.session_id).await.unwrap();
    assert_eq!(by_id.as_ref(), Some(session));
    let by_transaction = store
        .lightbox_session_of_transaction(session.transaction_id)
        .await;
    assert_eq!(by_transaction.unwrap().as_ref(), Some(session));
}

/// Five payments a second apart; two authorized, the first of them captured.
async fn listing_payments(store: &Arc<dyn Store>, world: &mut World) -> Vec<Transaction> {
    let mut payment_ids = Vec::new();
    for idx in 0..5 {
        let loaded = established(store, world, &format!("LIST-{idx}"), T0 + idx * 1_000).await;
        payment_ids.push(loaded.payment.payment_id);
        if idx % 2 == 0 && idx < 4 {
            let completed = world.complete(&loaded, T0 + 10_000 + idx, None);
            put(store, &completed).await.expect("commit complete");
        }
    }
    let loaded = chain(store, payment_ids[0]).await;
    let request = CaptureRequest {
        merchant_reference: "LIST-CAPTURE".to_owned(),
        amount: None,
        split_token: None,
        ip: "203.0.113.9".to_owned(),
        instant_payout_requested: false,
    };
    let captured =
        capture::capture(&mut world.ctx(T0 + 20_000), &loaded, request).expect("capture");
    put(store, &captured).await.expect("commit capture");
    let mut all = Vec::new();
    for payment_id in payment_ids {
        all.extend(chain(store, payment_id).await.transactions);
    }
    all.sort_by_key(|txn| (txn.created_at, txn.transaction_id));
    all
}

fn query() -> TransactionQuery {
    TransactionQuery {
        limit: 100,
        ..TransactionQuery::default()
    }
}

async fn expect_listing(
    store: &Arc<dyn Store>,
    merchant_id: MerchantId,
    query: TransactionQuery,
    all: &[Transaction],
    keep: impl Fn(&Transaction) -> bool,
) {
    let expected: Vec<Transaction> = all.iter().filter(|txn| keep(txn)).cloned().collect();
    assert!(!expected.is_empty(), "each filter keeps something");
    let listed = store
        .list_transactions(merchant_id, &query)
        .await
        .expect("list");
    assert_eq!(listed, expected, "{query:?}");
}

async fn expect_pages(
    store: &Arc<dyn Store>,
    merchant_id: MerchantId,
    query: TransactionQuery,
    expected: &[Transaction],
) {
    let mut pages = Vec::new();
    for offset in (0..8).step_by(2) {
        let page = TransactionQuery {
            offset,
            limit: 2,
            ..query.clone()
        };
        pages.extend(
            store
                .list_transactions(merchant_id, &page)
                .await
                .expect("list"),
        );
    }
    assert_eq!(pages, expected, "{query:?}");
}

pub async fn transaction_listing(store: Arc<dyn Store>) {
    // Proves list_transactions filters, orders and pages one merchant's transactions and never
    // shows another merchant's.
    let mut shop = World::new(merchant(1, false), 1_000);
    let mut other = World::new(merchant(2, false), 900_000);
    add_merchant(&store, &shop.merchant).await;
    add_merchant(&store, &other.merchant).await;
    let theirs = established(&store, &mut other, "LIST-1", T0 + 1_000).await;
    let all = listing_payments(&store, &mut shop).await;
    assert_eq!(all.len(), 6);
    let id = shop.merchant.merchant_id;
    check_filters(&store, id, &all).await;
    check_orders(&store, id, &all).await;
    let by_reference = TransactionQuery {
        merchant_reference: Some("LIST-1".to_owned()),
        ..query()
    };
    let listed = store
        .list_transactions(other.merchant.merchant_id, &by_reference)
        .await;
    assert_eq!(listed.unwrap(), theirs.transactions);
    let listed = store
        .list_transactions(other.merchant.merchant_id, &query())
        .await;
    assert_eq!(listed.unwrap(), theirs.transactions);
}

async fn check_filters(store: &Arc<dyn Store>, id: MerchantId, all: &[Transaction]) {
    expect_listing(store, id, query(), all, |_| true).await;
    let by_reference = TransactionQuery {
        merchant_reference: Some("LIST-1".to_owned()),
        ..query()
    };
    let keep = |txn: &Transaction| txn.merchant_reference == "LIST-1";
    expect_listing(store, id, by_reference, all, keep).await;
    let authorization = all[0].transaction_id;
    let children = TransactionQuery {
        original_transaction_id: Some(authorization),
        ..query()
    };
    let keep = |txn: &Transaction| txn.original_transaction_id == Some(authorization);
    expect_listing(store, id, children, all, keep).await;
    let captures = TransactionQuery {
        transaction_types: vec![3, 10],
        ..query()
    };
    let keep = |txn: &Transaction| txn.transaction_type == TransactionType::Capture;
    expect_listing(store, id, captures, all, keep).await;
    let (authorized, completed) = (TransactionStatus::Authorized, TransactionStatus::Completed);
    let statuses = TransactionQuery {
        statuses: vec![authorized.code(), completed.code()],
        transaction_types: vec![1],
        ..query()
    };
    let keep = |txn: &Transaction| {
        txn.status == authorized && txn.transaction_type == TransactionType::Authorize
    };
    expect_listing(store, id, statuses, all, keep).await;
    let created = TransactionQuery {
        created_from: Some(T0 + 1_000),
        created_to: Some(T0 + 3_000),
        ..query()
    };
    let keep = |txn: &Transaction| (T0 + 1_000..=T0 + 3_000).contains(&txn.created_at);
    expect_listing(store, id, created, all, keep).await;
    let updated = TransactionQuery {
        updated_from: Some(T0 + 10_000),
        updated_to: Some(T0 + 10_002),
        ..query()
    };
    let keep = |txn: &Transaction| (T0 + 10_000..=T0 + 10_002).contains(&txn.updated_at);
    expect_listing(store, id, updated, all, keep).await;
}

async fn check_orders(store: &Arc<dyn Store>, id: MerchantId, all: &[Transaction]) {
    expect_pages(store, id, query(), all).await;
    let reversed: Vec<Transaction> = all.iter().rev().cloned().collect();
    let descending = TransactionQuery {
        descending: true,
        ..query()
    };
    expect_pages(store, id, descending, &reversed).await;
    let mut by_update = all.to_vec();
    by_update.sort_by_key(|txn| (txn.updated_at, txn.transaction_id));
    let updated = TransactionQuery {
        order_by: OrderBy::UpdatedAt,
        ..query()
    };
    expect_pages(store, id, updated.clone(), &by_update).await;
    by_update.reverse();
    let updated_descending = TransactionQuery {
        descending: true,
        ..updated
    };
    expect_pages(store, id, updated_descending, &by_update).await;
}

pub async fn event_log_paging(store: Arc<dyn Store>) {
    // Proves the event log pages newest first by time, whatever the ids say (production ids
    // are permuted, so they carry no order), and shows each page oldest first.
    let shop = merchant(1, false);
    add_merchant(&store, &shop).await;
    let mut oldest_first = Vec::new();
    for (idx, first_id) in [9_000, 5_000, 1_000].into_iter().enumerate() {
        let mut world = World::new(shop.clone(), first_id);
        let now = T0 + 1_000 * i64::try_from(idx).expect("small index");
        let change = world.establish(&format!("LOG-{idx}"), now);
        put(&store, &change).await.expect("commit establish");
        oldest_first.push(change.events[0].clone());
    }
    let id = shop.merchant_id;
    assert_eq!(event_page(&store, id, 0, 10).await, oldest_first);
    assert_eq!(event_page(&store, id, 0, 2).await, oldest_first[1..]);
    assert_eq!(event_page(&store, id, 2, 2).await, oldest_first[..1]);
    assert_eq!(event_page(&store, id, 3, 2).await, vec![]);
}

async fn event_page(
    store: &Arc<dyn Store>,
    merchant_id: MerchantId,
    offset: i64,
    limit: i64,
) -> Vec<OutboxEvent> {
    let query = EventQuery {
        transaction_id: None,
        offset,
        limit,
    };
    let events = store.list_events(merchant_id, &query).await;
    events
        .expect("list events")
        .into_iter()
        .map(|stored| stored.event)
        .collect()
}
