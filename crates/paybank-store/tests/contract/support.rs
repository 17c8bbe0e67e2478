//! What the stories share: a world to build changes in, fixtures, and store assertions.

use std::sync::Arc;

use paybank_core::authorization::{self, EstablishRequest};
use paybank_core::capture::{self, CaptureRequest};
use paybank_core::change::Change;
use paybank_core::codes::PaymentType;
use paybank_core::demo_bank::{self, Behaviour};
use paybank_core::ids::{IdSource, MerchantId, PaymentId};
use paybank_core::ledger::{LedgerAccount, Posting};
use paybank_core::lightbox::{self, AuthorizedAccount};
use paybank_core::model::{Merchant, PaymentChain, TimestampMs};
use paybank_core::money::Amount;
use paybank_core::rules::{Ctx, Policy};
use paybank_store::{EventQuery, Store, StoreResult, StoredEvent, WriteSet};

/// Monday 2024-03-04 15:00 UTC: a banking day, five hours before the ACH cut-off.
pub const T0: TimestampMs = 1_709_564_400_000;
pub const LEASE_MS: i64 = 60_000;

struct Counter(u64);

impl IdSource for Counter {
    fn next_id(&mut self) -> u64 {
        self.0 += 1;
        self.0
    }
}

pub struct World {
    pub merchant: Merchant,
    pub policy: Policy,
    ids: Counter,
}

impl World {
    pub fn new(merchant: Merchant, first_id: u64) -> World {
        World {
            merchant,
            policy: Policy::default(),
            ids: Counter(first_id),
        }
    }

    pub fn ctx(&mut self, now: TimestampMs) -> Ctx<'_> {
        Ctx {
            merchant: &self.merchant,
            policy: &self.policy,
            ids: &mut self.ids,
            now,
        }
    }

    pub fn establish(&mut self, reference: &str, now: TimestampMs) -> Change {
        let request = EstablishRequest {
            payment_type: PaymentType::Deferred,
            merchant_reference: reference.to_owned(),
            currency: "USD".to_owned(),
            amount: Amount::from_minor(10_000),
            description: Some("Two tickets".to_owned()),
            return_url: "https://shop.example/return".to_owned(),
            cancel_url: "https://shop.example/cancel".to_owned(),
            notification_url: None,
            establish_json: r#"{"amount":"100.00"}"#.to_owned(),
            ip: "203.0.113.7".to_owned(),
        };
        authorization::establish(&mut self.ctx(now), request)
    }

    pub fn start(&mut self, chain: &PaymentChain, now: TimestampMs) -> Change {
        authorization::start_authorization(&mut self.ctx(now), chain, "Demo Bank")
            .expect("start authorization")
            .expect("a New authorization starts")
    }

    /// Authorizes with Demo Bank's first account for `alice`, optionally issuing a split token.
    pub fn complete(
        &mut self,
        chain: &PaymentChain,
        now: TimestampMs,
        token: Option<&str>,
    ) -> Change {
        let bank = demo_bank::bank("200005501").expect("Demo Bank exists");
        let account = demo_bank::accounts(bank, "alice", &Behaviour::Default).remove(0);
        let authorized = AuthorizedAccount {
            bank,
            account,
            behaviour: Behaviour::Default,
        };
        let grant = lightbox::grant(&authorized, token.map(str::to_owned));
        authorization::complete_authorization(&mut self.ctx(now), chain, grant)
            .expect("complete authorization")
    }
}

pub fn merchant(id: u64, split_token_enabled: bool) -> Merchant {
    Merchant {
        merchant_id: MerchantId(id),
        name: format!("Shop {id}"),
        access_id: format!("access-{id}"),
        access_key: format!("key-{id}"),
        notification_url: Some(format!("https://shop{id}.example/notify")),
        allowed_origins: vec![
            format!("https://shop{id}.example"),
            "http://localhost:8080".to_owned(),
        ],
        split_token_enabled,
        payouts_from_settled_only: false,
        created_at: T0 + i64::try_from(id).expect("small id"),
    }
}

pub async fn add_merchant(store: &Arc<dyn Store>, merchant: &Merchant) {
    let write = WriteSet {
        merchant: Some(merchant.clone()),
        ..WriteSet::default()
    };
    store.commit(write).await.expect("commit merchant");
}

/// Captures $1.00 of `chain` under `reference` at `now` and commits it.
pub async fn capture_dollar(
    store: &Arc<dyn Store>,
    world: &mut World,
    chain: &PaymentChain,
    reference: String,
    now: TimestampMs,
) {
    let request = CaptureRequest {
        merchant_reference: reference,
        amount: Some(Amount::from_minor(100)),
        split_token: None,
        ip: "203.0.113.7".to_owned(),
        instant_payout_requested: false,
    };
    let captured = capture::capture(&mut world.ctx(now), chain, request).expect("capture");
    put(store, &captured).await.expect("commit capture");
}

pub async fn put(store: &Arc<dyn Store>, change: &Change) -> StoreResult<()> {
    let write = WriteSet {
        change: Some(change.clone().into()),
        ..WriteSet::default()
    };
    store.commit(write).await
}

pub async fn chain(store: &Arc<dyn Store>, payment_id: PaymentId) -> PaymentChain {
    let chain = store.chain(payment_id).await.expect("read chain");
    chain.expect("the chain exists")
}

/// Establishes a payment, commits it and returns the chain as stored.
pub async fn established(
    store: &Arc<dyn Store>,
    world: &mut World,
    reference: &str,
    now: i64,
) -> PaymentChain {
    let change = world.establish(reference, now);
    put(store, &change).await.expect("commit establish");
    chain(store, change.payment.payment_id).await
}

/// Establishes, starts and authorizes a payment (no split token), committing every step.
pub async fn authorized(
    store: &Arc<dyn Store>,
    world: &mut World,
    reference: &str,
    now: i64,
) -> PaymentChain {
    let loaded = established(store, world, reference, now).await;
    let started = world.start(&loaded, now + 1);
    put(store, &started).await.expect("commit start");
    let loaded = chain(store, loaded.payment.payment_id).await;
    let completed = world.complete(&loaded, now + 2, None);
    put(store, &completed).await.expect("commit complete");
    chain(store, loaded.payment.payment_id).await
}

pub async fn events_of(store: &Arc<dyn Store>, merchant_id: MerchantId) -> Vec<StoredEvent> {
    let query = EventQuery {
        limit: 1_000,
        ..EventQuery::default()
    };
    store
        .list_events(merchant_id, &query)
        .await
        .expect("list events")
}

/// The chain as it must read after `change` was applied to `before`.
pub fn applied(before: &PaymentChain, change: &Change) -> PaymentChain {
    let mut transactions = before.transactions.clone();
    for txn in &change.transactions {
        transactions.retain(|old| old.transaction_id != txn.transaction_id);
        transactions.push(txn.clone());
    }
    transactions.sort_by_key(|txn| (txn.created_at, txn.transaction_id));
    PaymentChain {
        payment: change.payment.clone(),
        transactions,
    }
}

/// Every row of `change` is in the store, exactly as the change wrote it.
pub async fn assert_written(store: &Arc<dyn Store>, change: &Change) {
    let stored = chain(store, change.payment.payment_id).await;
    assert_eq!(stored.payment, change.payment);
    for txn in &change.transactions {
        assert_eq!(stored.transaction(txn.transaction_id), Some(txn));
    }
    for event in &change.events {
        let found = store.event(event.event_id).await.expect("read event");
        assert_eq!(found.map(|stored| stored.event).as_ref(), Some(event));
    }
    for claim in &change.reference_claims {
        let (merchant_id, kind, reference) = (
            claim.merchant_id,
            claim.transaction_type,
            &claim.merchant_reference,
        );
        let found = store.reference_claim(merchant_id, kind, reference).await;
        assert_eq!(found.expect("read claim"), Some(claim.transaction_id));
    }
}

/// No row of `change` reached the store: no event, no transaction version, no claim.
pub async fn assert_unwritten(store: &Arc<dyn Store>, change: &Change) {
    for event in &change.events {
        let found = store.event(event.event_id).await.expect("read event");
        assert_eq!(found, None, "event {} was written", event.event_id);
    }
    for txn in &change.transactions {
        let stored = store.chain_of_transaction(txn.transaction_id).await;
        let stored = stored.expect("read chain");
        let version = stored
            .as_ref()
            .and_then(|chain| chain.transaction(txn.transaction_id));
        assert_ne!(
            version,
            Some(txn),
            "transaction {} was written",
            txn.transaction_id
        );
    }
    for claim in &change.reference_claims {
        let (merchant_id, kind, reference) = (
            claim.merchant_id,
            claim.transaction_type,
            &claim.merchant_reference,
        );
        let found = store.reference_claim(merchant_id, kind, reference).await;
        assert_ne!(found.expect("read claim"), Some(claim.transaction_id));
    }
}

pub fn unbalanced(change: &mut Change) {
    change.postings.push(Posting {
        transaction_id: change.payment.authorization_id,
        account: LedgerAccount::MerchantSettled(change.payment.merchant_id),
        amount: Amount::from_minor(100),
    });
}
