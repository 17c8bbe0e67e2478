//! Test only: payments in every state a batch of PostgreSQL's one-statement write can change,
//! built with the core's own rules, and what to check once the batch is written.

use std::sync::Arc;

use paybank_core::authorization::{self, EstablishRequest};
use paybank_core::capture::{self, CaptureRequest};
use paybank_core::change::{Change, Timer, TimerKind};
use paybank_core::codes::PaymentType;
use paybank_core::demo_bank::{self, Behaviour};
use paybank_core::ids::{IdSource, MerchantId};
use paybank_core::lightbox::{self, AuthorizedAccount};
use paybank_core::model::{Merchant, PaymentChain, TimestampMs};
use paybank_core::money::Amount;
use paybank_core::rules::{Ctx, Policy};
use paybank_core::settlement;
use sqlx::AnyConnection;

use crate::{Store, WriteSet};

/// Monday 2024-03-04 15:00 UTC: a banking day, five hours before the ACH cut-off.
const T0: TimestampMs = 1_709_564_400_000;

/// The tables a batch writes, in the order [`World::rows`] counts them.
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

struct Counter(u64);

impl IdSource for Counter {
    fn next_id(&mut self) -> u64 {
        self.0 += 1;
        self.0
    }
}

pub(crate) struct World {
    /// The store's database, for reading its tables directly.
    url: String,
    merchant: Merchant,
    policy: Policy,
    ids: Counter,
    /// Each table's rows once the payments are set up, before any batch.
    pub(crate) rows_before: Vec<i64>,
    /// The Lightbox session timer the first change of the batch schedules again.
    pub(crate) again: Option<Timer>,
}

impl World {
    pub(crate) async fn new(store: &Arc<dyn Store>, url: &str) -> World {
        let merchant = Merchant {
            merchant_id: MerchantId(1),
            name: "Shop".to_owned(),
            access_id: "access-1".to_owned(),
            access_key: "key-1".to_owned(),
            notification_url: Some("https://shop.example/notify".to_owned()),
            allowed_origins: vec!["https://shop.example".to_owned()],
            split_token_enabled: false,
            payouts_from_settled_only: false,
            created_at: T0,
        };
        let write = WriteSet {
            merchant: Some(merchant.clone()),
            ..WriteSet::default()
        };
        store.commit(write).await.expect("add the merchant");
        World {
            url: url.to_owned(),
            merchant,
            policy: Policy::default(),
            ids: Counter(1_000),
            rows_before: Vec::new(),
            again: None,
        }
    }

    fn ctx(&mut self, now: TimestampMs) -> Ctx<'_> {
        Ctx {
            merchant: &self.merchant,
            policy: &self.policy,
            ids: &mut self.ids,
            now,
        }
    }

    /// Five changes to five payments, set up and committed first: an authorization that
    /// finishes its session timer and schedules it again (a changed payment), a new payment,
    /// a capture (postings, a reference claim, events, a timer) and two captures submitted to
    /// the same ACH cut-off (entries and one network job scheduled by both).
    pub(crate) async fn batch_of_every_kind(&mut self, store: &Arc<dyn Store>) -> Vec<Change> {
        let established = self.established(store, "B-1").await;
        let authorized = self.authorized(store, "B-3").await;
        let submitted = [
            self.captured(store, "B-4").await,
            self.captured(store, "B-5").await,
        ];
        self.rows_before = self.rows(&mut self.connection().await).await;

        let mut completing = self.complete(&established, T0 + 20);
        let again = Timer::new(
            TimerKind::ExpireSession,
            established.authorization(),
            T0 + 99_000,
        );
        assert!(completing.timers_done.contains(&again.timer_id));
        completing.timers.push(again.clone());
        self.again = Some(again);
        let mut batch = vec![completing, self.establish("B-2", T0 + 20)];
        batch.push(self.capture(&authorized, T0 + 20));
        for chain in &submitted {
            let capture = chain.transactions.last().expect("the capture");
            let submit_at = settlement::next_cutoff(T0 + 20, &self.policy);
            let timer = Timer::new(TimerKind::Submit, capture, submit_at);
            batch.push(settlement::run_timer(
                &mut self.ctx(submit_at),
                chain,
                &timer,
            ));
        }
        batch
    }

    fn establish(&mut self, reference: &str, now: TimestampMs) -> Change {
        let request = EstablishRequest {
            payment_type: PaymentType::Deferred,
            merchant_reference: reference.to_owned(),
            currency: "USD".to_owned(),
            amount: Amount::from_minor(10_000),
            description: Some("Two \"tickets\", {one} \\ NULL".to_owned()),
            return_url: "https://shop.example/return".to_owned(),
            cancel_url: "https://shop.example/cancel".to_owned(),
            notification_url: None,
            establish_json: r#"{"amount":"100.00"}"#.to_owned(),
            ip: "203.0.113.7".to_owned(),
        };
        authorization::establish(&mut self.ctx(now), request)
    }

    fn complete(&mut self, chain: &PaymentChain, now: TimestampMs) -> Change {
        let bank = demo_bank::bank("200005501").expect("Demo Bank exists");
        let account = demo_bank::accounts(bank, "alice", &Behaviour::Default).remove(0);
        let authorized = AuthorizedAccount {
            bank,
            account,
            behaviour: Behaviour::Default,
        };
        let grant = lightbox::grant(&authorized, None);
        authorization::complete_authorization(&mut self.ctx(now), chain, grant)
            .expect("complete the authorization")
    }

    fn capture(&mut self, chain: &PaymentChain, now: TimestampMs) -> Change {
        let request = CaptureRequest {
            merchant_reference: format!("{}-CAPTURE", chain.payment.merchant_reference),
            amount: Some(Amount::from_minor(2_500)),
            split_token: None,
            ip: "203.0.113.7".to_owned(),
            instant_payout_requested: false,
        };
        capture::capture(&mut self.ctx(now), chain, request).expect("capture")
    }

    async fn established(&mut self, store: &Arc<dyn Store>, reference: &str) -> PaymentChain {
        let change = self.establish(reference, T0);
        commit(store, &change).await
    }

    async fn authorized(&mut self, store: &Arc<dyn Store>, reference: &str) -> PaymentChain {
        let established = self.established(store, reference).await;
        let change = self.complete(&established, T0 + 1);
        commit(store, &change).await
    }

    async fn captured(&mut self, store: &Arc<dyn Store>, reference: &str) -> PaymentChain {
        let authorized = self.authorized(store, reference).await;
        let change = self.capture(&authorized, T0 + 2);
        commit(store, &change).await
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

    /// Every row of `batch` is stored as the change holds it, and the timers it finished are
    /// gone but the one scheduled again, which is due at its new time.
    pub(crate) async fn assert_written(
        &self,
        store: &Arc<dyn Store>,
        connection: &mut AnyConnection,
        batch: &[Change],
    ) {
        for change in batch {
            let stored = store.chain(change.payment.payment_id).await.expect("read");
            let stored = stored.expect("the payment is stored");
            assert_eq!(stored.payment, change.payment);
            for txn in &change.transactions {
                assert_eq!(stored.transaction(txn.transaction_id), Some(txn));
            }
            for event in &change.events {
                assert!(store.event(event.event_id).await.expect("read").is_some());
            }
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
        let again = self.again.as_ref().expect("a timer scheduled again");
        let sql = "SELECT due_at FROM timers WHERE timer_id = $1";
        let due_at = scalar(connection, sql, &[again.timer_id.as_str()]).await;
        assert_eq!(due_at, again.due_at);
    }

    async fn assert_rail_rows_and_timers(&self, connection: &mut AnyConnection, change: &Change) {
        for entry in &change.ach_entries {
            let id = entry.transaction_id.0.to_string();
            let sql = "SELECT COUNT(*) FROM ach_entries WHERE transaction_id = $1::TEXT::BIGINT";
            assert_eq!(scalar(connection, sql, &[id.as_str()]).await, 1);
        }
        for job in &change.rail_jobs {
            let sql = "SELECT COUNT(*) FROM rail_jobs WHERE job_id = $1";
            assert_eq!(scalar(connection, sql, &[job.job_id.as_str()]).await, 1);
        }
        for claim in &change.reference_claims {
            let sql = "SELECT COUNT(*) FROM reference_claims WHERE merchant_reference = $1";
            let reference = claim.merchant_reference.as_str();
            assert_eq!(scalar(connection, sql, &[reference]).await, 1);
        }
        let count = "SELECT COUNT(*) FROM timers WHERE timer_id = $1";
        for timer in &change.timers {
            assert_eq!(
                scalar(connection, count, &[timer.timer_id.as_str()]).await,
                1
            );
        }
        let again = self.again.as_ref().map(|timer| &timer.timer_id);
        for timer_id in change.timers_done.iter().filter(|id| Some(*id) != again) {
            assert_eq!(scalar(connection, count, &[timer_id.as_str()]).await, 0);
        }
    }
}

async fn commit(store: &Arc<dyn Store>, change: &Change) -> PaymentChain {
    let write = WriteSet {
        change: Some(change.clone()),
        ..WriteSet::default()
    };
    store.commit(write).await.expect("commit");
    let stored = store.chain(change.payment.payment_id).await.expect("read");
    stored.expect("the payment is stored")
}

async fn scalar(connection: &mut AnyConnection, sql: &str, binds: &[&str]) -> i64 {
    let mut query = sqlx::query_scalar::<_, i64>(sql);
    for bind in binds {
        query = query.bind(bind.to_string());
    }
    query.fetch_one(connection).await.expect("query")
}
