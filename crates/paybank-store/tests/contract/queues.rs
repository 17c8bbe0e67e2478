//! Stories about the work queues and counters: timer leases, event delivery bookkeeping,
//! the deployment clock, id blocks and settings.

use std::sync::Arc;

use paybank_core::change::{Change, Timer, TimerKind};
use paybank_core::ids::EventId;
use paybank_core::model::TimestampMs;
use paybank_store::{
    DeliveryRecord, DueEvent, EventAttempt, EventState, NextDelivery, Store, StoredEvent, WriteSet,
};

use crate::support::*;

async fn claim(store: &Arc<dyn Store>, now: TimestampMs, limit: i64) -> Vec<Timer> {
    let timers = store.claim_due_timers(now, LEASE_MS, limit).await;
    timers.expect("claim timers")
}

async fn next_due_at(store: &Arc<dyn Store>) -> Option<TimestampMs> {
    store.next_due_at().await.expect("next due time")
}

pub async fn timers(store: Arc<dyn Store>) {
    // Proves timers are leased, come back in due order, are retired by timers_done, and that
    // next_due_at reports when the next timer or pending event can be claimed.
    let mut world = World::new(merchant(1, false), 1_000);
    add_merchant(&store, &world.merchant).await;
    assert_eq!(next_due_at(&store).await, None);
    let mut change = world.establish("TIMERS-1", T0);
    change.events.clear();
    let authorization = change.transactions[0].clone();
    let timer = |kind, offset| Timer::new(kind, &authorization, T0 + offset);
    let late = timer(TimerKind::Settle, 3_000);
    let early = timer(TimerKind::Submit, 1_000);
    let middle = timer(TimerKind::SubmitRtp, 2_000);
    let session = change.timers[0].clone();
    change.timers = vec![late.clone(), session.clone(), early.clone(), middle.clone()];
    put(&store, &change).await.expect("commit");
    assert_eq!(next_due_at(&store).await, Some(T0 + 1_000));
    let now = T0 + 2_500;
    let lease_end = now + LEASE_MS;
    assert_eq!(
        claim(&store, now, 10).await,
        vec![early.clone(), middle.clone()]
    );
    assert_eq!(
        claim(&store, now, 10).await,
        vec![],
        "leased timers are not claimed twice"
    );
    assert_eq!(
        next_due_at(&store).await,
        Some(T0 + 3_000),
        "leased timers wait"
    );
    assert_eq!(claim(&store, lease_end - 1, 10).await, vec![late.clone()]);
    assert_eq!(
        next_due_at(&store).await,
        Some(lease_end),
        "the earliest lease ends"
    );
    assert_eq!(claim(&store, lease_end, 1).await, vec![early.clone()]);
    assert_eq!(claim(&store, lease_end, 10).await, vec![middle.clone()]);
    let loaded = chain(&store, change.payment.payment_id).await;
    let mut retire = Change::for_chain(&loaded, T0 + 100_000);
    retire.timers_done = vec![early.timer_id.clone(), middle.timer_id.clone()];
    put(&store, &retire).await.expect("retire two timers");
    assert_eq!(next_due_at(&store).await, Some(lease_end - 1 + LEASE_MS));
    let far = T0 + world.policy.lightbox_session_ttl_ms + 10 * LEASE_MS;
    assert_eq!(claim(&store, far, 10).await, vec![late, session]);
    let again = claim(&store, far * 2, 10).await;
    assert_eq!(again.len(), 2, "retired timers never come back");
    let loaded = chain(&store, change.payment.payment_id).await;
    let started = world.start(&loaded, T0 + 500);
    put(&store, &started).await.expect("commit start");
    let next = next_due_at(&store).await;
    assert_eq!(next, Some(T0 + 500), "a pending event is due first");
}

fn attempt(
    number: i64,
    at: TimestampMs,
    http_status: Option<i64>,
    error: Option<&str>,
) -> EventAttempt {
    EventAttempt {
        attempt: number,
        attempted_at: at,
        duration_ms: 40 + number,
        http_status,
        error: error.map(str::to_owned),
    }
}

async fn record(
    store: &Arc<dyn Store>,
    event_id: EventId,
    attempt: &EventAttempt,
    next: NextDelivery,
) -> StoredEvent {
    let delivery = DeliveryRecord {
        event_id,
        attempt: attempt.clone(),
        next,
    };
    let write = WriteSet {
        delivery: Some(delivery),
        ..WriteSet::default()
    };
    store.commit(write).await.expect("record the attempt");
    store.event(event_id).await.unwrap().expect("the event")
}

/// Leases the events due at `now` and returns their ids, in the order they came back.
async fn claim_events(store: &Arc<dyn Store>, now: TimestampMs) -> Vec<EventId> {
    let events = store.claim_due_events(now, LEASE_MS, 10).await;
    let events: Vec<DueEvent> = events.expect("claim events");
    events.iter().map(|due| due.event_id).collect()
}

/// `(state, attempts, next_attempt_at, delivered_at)` of a stored event.
type Bookkeeping = (EventState, i64, TimestampMs, Option<TimestampMs>);

fn bookkeeping(stored: &StoredEvent) -> Bookkeeping {
    let StoredEvent {
        state,
        attempts,
        next_attempt_at,
        delivered_at,
        ..
    } = stored;
    (*state, *attempts, *next_attempt_at, *delivered_at)
}

pub async fn event_delivery(store: Arc<dyn Store>) {
    // Proves delivery bookkeeping moves events through Pending, Delivered and Failed, records
    // every attempt in order, and that resend puts an event back in the queue.
    let mut world = World::new(merchant(1, false), 1_000);
    add_merchant(&store, &world.merchant).await;
    let first = world.establish("EVENTS-1", T0);
    let second = world.establish("EVENTS-2", T0 + 1);
    put(&store, &first).await.expect("commit");
    put(&store, &second).await.expect("commit");
    let (one, two) = (first.events[0].event_id, second.events[0].event_id);
    let claimed = store.claim_due_events(T0 + 1, LEASE_MS, 10).await;
    let claimed = claimed.expect("claim events");
    let ids: Vec<EventId> = claimed.iter().map(|due| due.event_id).collect();
    assert_eq!(ids, vec![one, two]);
    let stored = store.event(one).await.unwrap().expect("the event");
    assert_eq!(
        claimed[0],
        DueEvent {
            event_id: one,
            merchant_id: stored.event.merchant_id,
            transaction_id: stored.event.transaction_id,
            notification_url: stored.event.notification_url.clone(),
            body: stored.body.clone(),
            attempts: 0,
            created_at: stored.event.created_at,
            next_attempt_at: stored.next_attempt_at,
            ordinal: stored.ordinal,
        },
        "a claim carries the event as stored"
    );
    assert_eq!(
        claim_events(&store, T0 + 1).await,
        vec![],
        "leased events are not claimed twice"
    );
    assert_eq!(
        next_due_at(&store).await,
        Some(T0 + 1 + LEASE_MS),
        "until the leases end"
    );
    let failed = attempt(1, T0 + 100, Some(500), Some("HTTP 500"));
    let retrying = record(&store, one, &failed, NextDelivery::RetryAt(T0 + 30_000)).await;
    assert_eq!(
        bookkeeping(&retrying),
        (EventState::Pending, 1, T0 + 30_000, None)
    );
    let next = next_due_at(&store).await;
    assert_eq!(
        next,
        Some(T0 + 30_000),
        "the retry comes before the other lease ends"
    );
    assert_eq!(claim_events(&store, T0 + 29_999).await, vec![]);
    assert_eq!(claim_events(&store, T0 + 30_000).await, vec![one]);
    let delivered = attempt(2, T0 + 30_100, Some(200), None);
    let done = record(&store, one, &delivered, NextDelivery::Delivered).await;
    let done = (done.state, done.attempts, done.delivered_at);
    assert_eq!(done, (EventState::Delivered, 2, Some(T0 + 30_100)));
    assert_eq!(
        store.event_attempts(one).await.unwrap(),
        vec![failed, delivered]
    );
    give_up_and_resend(&store, one, two).await;
}

/// `two` is claimed and given up (Failed, never claimed again); delivered `one` is resent.
async fn give_up_and_resend(store: &Arc<dyn Store>, one: EventId, two: EventId) {
    let later = T0 + 1_000_000;
    assert_eq!(
        claim_events(store, later).await,
        vec![two],
        "delivered events stay done"
    );
    let refused = attempt(1, later + 10, None, Some("connection refused"));
    let gave_up = record(store, two, &refused, NextDelivery::GiveUp).await;
    let gave_up = (gave_up.state, gave_up.attempts, gave_up.delivered_at);
    assert_eq!(gave_up, (EventState::Failed, 1, None));
    assert_eq!(store.event_attempts(two).await.unwrap(), vec![refused]);
    let write = WriteSet {
        resend: Some((one, later + 5_000)),
        ..WriteSet::default()
    };
    store.commit(write).await.expect("resend");
    let resent = store.event(one).await.unwrap().expect("the event");
    assert_eq!(
        (resent.state, resent.next_attempt_at),
        (EventState::Pending, later + 5_000)
    );
    assert_eq!(resent.attempts, 2, "a resend keeps the attempt count");
    let now = later + 5_000 + LEASE_MS;
    assert_eq!(
        claim_events(store, now).await,
        vec![one],
        "failed events stay put"
    );
}

pub async fn clock_ids_and_settings(store: Arc<dyn Store>) {
    // Proves the clock offset accumulates, id blocks never overlap even when reserved
    // concurrently, and the first value stored for a setting wins.
    assert_eq!(store.clock_offset().await.unwrap(), 0);
    assert_eq!(store.advance_clock(1_000).await.unwrap(), 1_000);
    assert_eq!(store.advance_clock(2_500).await.unwrap(), 3_500);
    assert_eq!(store.advance_clock(-500).await.unwrap(), 3_000);
    assert_eq!(store.clock_offset().await.unwrap(), 3_000);
    let base = store.reserve_ids(5).await.unwrap();
    let handles: Vec<_> = (0..20)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move { store.reserve_ids(10).await })
        })
        .collect();
    let mut firsts = Vec::new();
    for handle in handles {
        firsts.push(
            handle
                .await
                .expect("the reserve task")
                .expect("reserve ids"),
        );
    }
    firsts.sort_unstable();
    let expected: Vec<u64> = (0..20).map(|block| base + 5 + block * 10).collect();
    assert_eq!(firsts, expected);
    assert_eq!(store.reserve_ids(1).await.unwrap(), base + 205);
    assert_eq!(
        store.setting_or_insert("secret", "first").await.unwrap(),
        "first"
    );
    assert_eq!(
        store.setting_or_insert("secret", "second").await.unwrap(),
        "first"
    );
    assert_eq!(
        store.setting_or_insert("other", "own").await.unwrap(),
        "own"
    );
    // Emptying the WAL (a no-op on PostgreSQL) keeps what was committed.
    store.empty_wal().await.expect("empty the WAL");
    assert_eq!(store.clock_offset().await.unwrap(), 3_000);
    assert_eq!(
        store.setting_or_insert("secret", "third").await.unwrap(),
        "first"
    );
}

/// The writer's counts grow by what it is given: every command counted once, in batches no
/// more numerous than the commands, each batch's time in exactly one bucket.
pub async fn writer_counts_its_batches(store: Arc<dyn Store>) {
    let before = store.writer_stats();
    let handles: Vec<_> = (0..40)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move { store.reserve_ids(1).await })
        })
        .collect();
    for handle in handles {
        handle
            .await
            .expect("the reserve task")
            .expect("reserve an id");
    }
    store.advance_clock(1).await.expect("advance");
    let span = store.writer_stats().since(&before);
    assert_eq!(span.commands, 41);
    assert!((1..=41).contains(&span.batches), "{span:?}");
    assert_eq!(span.batch_time_buckets.iter().sum::<u64>(), span.batches);
    assert_eq!(
        span.batches_over(50).map(|over| over <= span.batches),
        Some(true)
    );
}
