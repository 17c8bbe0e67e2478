//! Test only: payments in every state a batch of PostgreSQL's one-statement write can change,
//! built with the store contract's world, and what to check once the batch is written.

use std::sync::Arc;

use paybank_core::capture::{self, CaptureRequest};
use paybank_core::change::{Change, Timer, TimerKind};
use paybank_core::model::{PaymentChain, TimestampMs};
use paybank_core::money::Amount;
use paybank_core::settlement;
use sqlx::AnyConnection;

use crate::contract_support::*;
use crate::Store;

/// The tables a batch writes, in the order [`Batch::rows`] counts them.
const TABLES: [&str; 8] = [
    "payments",
    "transactions",
    "ledger_postings",
    "reference_claims",
    "ach_entries",
    "rail_jobs",
    "outbox_events",
    "timers",
];

/// A batch of changes to payments already stored, and what the store held before it.
pub(crate) struct Batch {
    /// The store's database, for reading its tables directly.
    url: String,
    pub(crate) changes: Vec<Change>,
    /// Each table's rows once the payments are set up, before the batch.
    pub(crate) rows_before: Vec<i64>,
    /// The Lightbox session timer the first change schedules again.
    again: Timer,
}

impl Batch {
    /// Five changes to five payments, set up and committed first: an authorization that
    /// finishes its session timer and schedules it again (a changed payment), a new payment,
    /// a capture (postings, a reference claim, events, a timer) and two captures submitted to
    /// the same ACH cut-off (entries and one network job scheduled by both). References hold
    /// what an array literal must quote or escape.
    pub(crate) async fn of_every_kind(store: &Arc<dyn Store>, url: &str) -> Batch {
        let mut world = World::new(merchant(1, false), 1_000);
        add_merchant(store, &world.merchant).await;
        let established = established(store, &mut world, "B-1 \"q\",{b}\\ NULL", T0).await;
        let authorized = authorized(store, &mut world, "B-3", T0).await;
        let submitted = [
            captured(store, &mut world, "B-4").await,
            captured(store, &mut world, "B-5").await,
        ];
        let mut completing = world.complete(&established, T0 + 20, None);
        let again = Timer::new(
            TimerKind::ExpireSession,
            established.authorization(),
            T0 + 99_000,
        );
        assert!(completing.timers_done.contains(&again.timer_id));
        completing.timers.push(again.clone());
        let mut changes = vec![completing, world.establish("B-2 é ∑", T0 + 20)];
        changes.push(capture_change(&mut world, &authorized, T0 + 20));
        let submit_at = settlement::next_cutoff(T0 + 20, &world.policy);
        for chain in &submitted {
            let capture = chain.transactions.last().expect("the capture");
            let timer = Timer::new(TimerKind::Submit, capture, submit_at);
            let submitting = settlement::run_timer(&mut world.ctx(submit_at), chain, &timer);
            changes.push(submitting);
        }
        let mut batch = Batch {
            url: url.to_owned(),
            changes,
            rows_before: Vec::new(),
            again,
        };
        batch.rows_before = batch.rows(&mut batch.connection().await).await;
        batch
    }

    /// A connection to the store's database, beside the store's own.
    pub(crate) async fn connection(&self) -> AnyConnection {
        use sqlx::Connection;
        AnyConnection::connect(&self.url).await.expect("connect")
    }

    /// How many rows each of [`TABLES`] holds.
    pub(crate) async fn rows(&self, connection: &mut AnyConnection) -> Vec<i64> {
        let mut rows = Vec::new();
        for table in TABLES {
            let sql = format!("SELECT COUNT(*) FROM {table}");
            rows.push(scalar(connection, &sql, &[]).await);
        }
        rows
    }

    /// Every row of the batch is stored as its change holds it (the contract's check, then
    /// the postings, entries, jobs and timers it does not read), and the timers it finished
    /// are gone but the one scheduled again, which is due at its new time.
    pub(crate) async fn assert_written(
        &self,
        store: &Arc<dyn Store>,
        connection: &mut AnyConnection,
    ) {
        for change in &self.changes {
            crate::contract_support::assert_written(store, change).await;
            for txn in &change.transactions {
                let mine: Vec<_> = (change.postings.iter())
                    .filter(|posting| posting.transaction_id == txn.transaction_id)
                    .cloned()
                    .collect();
                assert_eq!(
                    store.postings(txn.transaction_id).await.expect("read"),
                    mine
                );
            }
            self.assert_rail_rows_and_timers(connection, change).await;
        }
        let sql = "SELECT due_at FROM timers WHERE timer_id = $1";
        let due_at = scalar(connection, sql, &[timer_key(&self.again.timer_id).as_str()]).await;
        assert_eq!(due_at, self.again.due_at);
    }

    async fn assert_rail_rows_and_timers(&self, connection: &mut AnyConnection, change: &Change) {
        for entry in &change.ach_entries {
            let stored = crate::test_support::test_ids().stored(entry.transaction_id.0);
            let id = stored.to_string();
            let sql = "SELECT COUNT(*) FROM ach_entries WHERE transaction_id = $1::TEXT::BIGINT";
            assert_eq!(scalar(connection, sql, &[id.as_str()]).await, 1);
        }
        for job in &change.rail_jobs {
            let sql = "SELECT COUNT(*) FROM rail_jobs WHERE job_id = $1";
            assert_eq!(scalar(connection, sql, &[job.job_id.as_str()]).await, 1);
        }
        let count = "SELECT COUNT(*) FROM timers WHERE timer_id = $1";
        for timer in &change.timers {
            let found = scalar(connection, count, &[timer_key(&timer.timer_id).as_str()]).await;
            assert_eq!(found, 1);
        }
        let finished = (change.timers_done.iter()).filter(|id| **id != self.again.timer_id);
        for timer_id in finished {
            let found = scalar(connection, count, &[timer_key(timer_id).as_str()]).await;
            assert_eq!(found, 0);
        }
    }
}

/// The key the timer whose id is `timer_id` is kept under in the test's stores.
pub(crate) fn timer_key(timer_id: &str) -> String {
    crate::rows::timer_key_of(timer_id, crate::test_support::test_ids()).expect("a timer id")
}

/// Two captures of one merchant, each submitted at its cut-off (committed), and the changes
/// that settle them at their settlement day, not yet written: both move the merchant's settled
/// funds, whose balance the store keeps.
pub(crate) async fn two_settlements(store: &Arc<dyn Store>) -> Vec<Change> {
    let mut world = World::new(merchant(1, false), 1_000);
    add_merchant(store, &world.merchant).await;
    let mut settling = Vec::new();
    for reference in ["S-1", "S-2"] {
        let captured = captured(store, &mut world, reference).await;
        let capture = captured.transactions.last().expect("the capture").clone();
        let submit_at = settlement::next_cutoff(T0 + 10, &world.policy);
        let submit = Timer::new(TimerKind::Submit, &capture, submit_at);
        let submitting = settlement::run_timer(&mut world.ctx(submit_at), &captured, &submit);
        put(store, &submitting)
            .await
            .expect("commit the submission");
        let submitted = chain(store, captured.payment.payment_id).await;
        let days = world.policy.settlement_banking_days;
        let settle_at = settlement::banking_days_later(submit_at, days);
        let settle = Timer::new(TimerKind::Settle, &capture, settle_at);
        settling.push(settlement::run_timer(
            &mut world.ctx(settle_at),
            &submitted,
            &settle,
        ));
    }
    settling
}

/// Authorizes a payment and captures $25.00 of it, committing every step.
async fn captured(store: &Arc<dyn Store>, world: &mut World, reference: &str) -> PaymentChain {
    let authorized = authorized(store, world, reference, T0).await;
    let change = capture_change(world, &authorized, T0 + 10);
    put(store, &change).await.expect("commit the capture");
    chain(store, change.payment.payment_id).await
}

fn capture_change(world: &mut World, chain: &PaymentChain, now: TimestampMs) -> Change {
    let request = CaptureRequest {
        merchant_reference: format!("{}-CAPTURE", chain.payment.merchant_reference),
        amount: Some(Amount::from_minor(2_500)),
        split_token: None,
        ip: "203.0.113.7".to_owned(),
        instant_payout_requested: false,
    };
    capture::capture(&mut world.ctx(now), chain, request).expect("capture")
}

async fn scalar(connection: &mut AnyConnection, sql: &str, binds: &[&str]) -> i64 {
    let mut query = sqlx::query_scalar::<_, i64>(sql);
    for bind in binds {
        query = query.bind(bind.to_string());
    }
    query.fetch_one(connection).await.expect("query")
}
