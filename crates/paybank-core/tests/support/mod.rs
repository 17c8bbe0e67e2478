//! What the core's integration tests share: merchants, a counter for ids, fixtures, and an
//! in-memory store that commits changes the way the real one does and checks the invariants.
#![allow(dead_code)]

pub mod journey;
pub mod store;

pub use store::Store;

use paybank_core::authorization::{AuthorizationGrant, EstablishRequest};
use paybank_core::capture::{CaptureRequest, RefundRequest};
use paybank_core::change::Change;
use paybank_core::codes::{PaymentType, TransactionStatus, TransactionType};
use paybank_core::events::OutboxEvent;
use paybank_core::ids::{IdSource, MerchantId, PaymentId, TransactionId};
use paybank_core::model::{BankAccount, Merchant, PaymentChain, TimestampMs, Transaction};
use paybank_core::money::Amount;
use paybank_core::rules::{Ctx, Policy, RuleError};
use time::OffsetDateTime;

/// Monday 2025-06-02 12:00 UTC: a banking day, eight hours before the default ACH cut-off.
pub const MONDAY_NOON: TimestampMs = 1_748_865_600_000;
pub const HOUR_MS: i64 = 3_600_000;
pub const DAY_MS: i64 = 24 * HOUR_MS;

/// Milliseconds since the epoch of a UTC date-time.
pub fn ms(at: OffsetDateTime) -> TimestampMs {
    at.unix_timestamp() * 1000
}

/// Plain counter ids: deterministic, unique, 13 digits like the real ones.
pub struct Counter(pub u64);

impl IdSource for Counter {
    fn next_id(&mut self) -> u64 {
        self.0 += 1;
        self.0
    }
}

pub fn merchant(merchant_id: u64, split_token_enabled: bool) -> Merchant {
    Merchant {
        merchant_id: MerchantId(merchant_id),
        name: format!("Merchant {merchant_id}"),
        access_id: format!("access-{merchant_id}"),
        access_key: format!("key-{merchant_id}"),
        notification_url: Some(format!("https://m{merchant_id}.example/notify")),
        allowed_origins: vec![format!("https://m{merchant_id}.example")],
        split_token_enabled,
        payouts_from_settled_only: false,
        created_at: 0,
    }
}

/// Merchants, policy, ids and a clock: everything a rule's context needs.
pub struct World {
    pub merchants: Vec<Merchant>,
    pub policy: Policy,
    pub ids: Counter,
    pub now: TimestampMs,
}

impl World {
    pub fn new(merchants: Vec<Merchant>) -> World {
        World {
            merchants,
            policy: Policy::default(),
            ids: Counter(1_000_000_000_000),
            now: MONDAY_NOON,
        }
    }

    /// One merchant that uses split tokens, at Monday noon.
    pub fn single() -> World {
        World::new(vec![merchant(1_002_463_580, true)])
    }

    /// The context of the first merchant, at the world's time.
    pub fn ctx(&mut self) -> Ctx<'_> {
        let merchant_id = self.merchants[0].merchant_id;
        self.ctx_for(merchant_id, self.now)
    }

    pub fn ctx_for(&mut self, merchant_id: MerchantId, now: TimestampMs) -> Ctx<'_> {
        let merchant = self
            .merchants
            .iter()
            .find(|merchant| merchant.merchant_id == merchant_id)
            .expect("a known merchant");
        Ctx {
            merchant,
            policy: &self.policy,
            ids: &mut self.ids,
            now,
        }
    }
}

pub fn establish_request(
    payment_type: PaymentType,
    amount: Amount,
    reference: &str,
) -> EstablishRequest {
    EstablishRequest {
        payment_type,
        merchant_reference: reference.to_owned(),
        currency: "USD".to_owned(),
        amount,
        description: Some("Two tickets".to_owned()),
        return_url: "https://m.example/return".to_owned(),
        cancel_url: "https://m.example/cancel".to_owned(),
        notification_url: None,
        establish_json: "{}".to_owned(),
        ip: "203.0.113.7".to_owned(),
    }
}

pub fn bank_account(token: &str, available: Amount) -> BankAccount {
    BankAccount {
        bank_id: "200005501".to_owned(),
        bank_name: "Demo Bank".to_owned(),
        account_name: "Demo Checking".to_owned(),
        account_type: 1,
        account_number: "0123456789".to_owned(),
        routing_number: "310000004".to_owned(),
        name_on_account: "John Smith".to_owned(),
        token: token.to_owned(),
        available,
        manual_entry: false,
    }
}

pub fn grant(available: Amount, split_token: Option<&str>) -> AuthorizationGrant {
    AuthorizationGrant {
        account: bank_account("acct-token", available),
        split_token: split_token.map(str::to_owned),
        split_token_expired: false,
        decline_next_capture: None,
    }
}

pub fn capture_request(
    reference: &str,
    amount: Option<Amount>,
    token: Option<&str>,
) -> CaptureRequest {
    CaptureRequest {
        merchant_reference: reference.to_owned(),
        amount,
        split_token: token.map(str::to_owned),
        ip: "203.0.113.7".to_owned(),
        instant_payout_requested: false,
    }
}

pub fn refund_request(amount: Option<Amount>) -> RefundRequest {
    RefundRequest {
        merchant_reference: None,
        amount,
        ip: "203.0.113.7".to_owned(),
    }
}

pub fn cents(minor: i64) -> Amount {
    Amount::from_minor(minor)
}

/// The value of one event parameter.
pub fn param(event: &OutboxEvent, key: &str) -> Option<String> {
    event
        .params
        .iter()
        .find(|(name, _)| name == key)
        .map(|(_, value)| value.to_string())
}

/// The event parameter names, in order.
pub fn param_names(event: &OutboxEvent) -> Vec<&str> {
    event.params.iter().map(|(name, _)| name.as_ref()).collect()
}

/// A UTC date-time as epoch milliseconds.
pub fn at(year: i32, month: u8, day: u8, hour: u8, minute: u8) -> TimestampMs {
    let month = time::Month::try_from(month).expect("a month");
    let date = time::Date::from_calendar_date(year, month, day).expect("a valid date");
    ms(date
        .with_hms(hour, minute, 0)
        .expect("a valid time")
        .assume_utc())
}

/// The split token the fixtures hand out; shaped like the provider's, with `+`, `/` and `=`.
pub const SPLIT_TOKEN: &str = "c3BsaXQ+dG9rZW4/Zm9yIHRlc3Rz+c3BsaXQ/dG9rZW4+Zm9yIHRlc3Rz/Zm9y=";

/// One payment in a store, with helpers that run each rule and commit what it returns.
pub struct Bench {
    pub world: World,
    pub store: Store,
    pub payment_id: PaymentId,
    references: u32,
}

impl Bench {
    /// A payment just established (New) by the single split-token merchant.
    pub fn establish(payment_type: PaymentType, cap: Amount) -> Bench {
        let mut world = World::single();
        let request = establish_request(payment_type, cap, "order-1");
        let change = paybank_core::authorization::establish(&mut world.ctx(), request);
        let mut store = Store::default();
        let chain = store.commit(&change).expect("a new payment");
        Bench {
            world,
            store,
            payment_id: chain.payment.payment_id,
            references: 0,
        }
    }

    /// A Deferred payment authorized with `grant`.
    pub fn authorized_with(cap: Amount, grant: AuthorizationGrant) -> Bench {
        let mut bench = Bench::establish(PaymentType::Deferred, cap);
        bench.complete(grant);
        bench
    }

    /// The consumer authorizes at the bank.
    pub fn complete(&mut self, grant: AuthorizationGrant) -> Change {
        let chain = self.chain();
        let change = paybank_core::authorization::complete_authorization(
            &mut self.world.ctx(),
            &chain,
            grant,
        )
        .expect("an open authorization completes");
        self.commit(&change);
        change
    }

    /// A Deferred payment authorized with [`SPLIT_TOKEN`] on an account holding $10,000.
    pub fn authorized(cap: Amount) -> Bench {
        Bench::authorized_with(cap, grant(cents(1_000_000), Some(SPLIT_TOKEN)))
    }

    pub fn chain(&self) -> PaymentChain {
        self.store.chains[&self.payment_id].clone()
    }

    pub fn txn(&self, transaction_id: TransactionId) -> Transaction {
        self.chain()
            .transaction(transaction_id)
            .expect("a known transaction")
            .clone()
    }

    pub fn authorization_id(&self) -> TransactionId {
        self.chain().payment.authorization_id
    }

    pub fn commit(&mut self, change: &Change) -> PaymentChain {
        self.store
            .commit(change)
            .expect("no conflict on a single-threaded bench")
    }

    pub fn next_reference(&mut self) -> String {
        self.references += 1;
        format!("capture-{}", self.references)
    }

    /// Runs the capture rule with the fixture token, commits, and returns the new transaction.
    pub fn capture(&mut self, amount: Option<Amount>) -> Result<Transaction, RuleError> {
        let reference = self.next_reference();
        self.capture_with(capture_request(&reference, amount, Some(SPLIT_TOKEN)))
    }

    pub fn capture_with(&mut self, request: CaptureRequest) -> Result<Transaction, RuleError> {
        let chain = self.chain();
        let change = paybank_core::capture::capture(&mut self.world.ctx(), &chain, request)?;
        self.commit(&change);
        let created = change
            .transactions
            .iter()
            .find(|txn| txn.transaction_type == TransactionType::Capture);
        Ok(created.expect("a capture creates a transaction").clone())
    }

    /// A capture taken through submission and settlement: Completed.
    pub fn completed_capture(&mut self, amount: Amount) -> Transaction {
        let capture = self.capture(Some(amount)).expect("a valid capture");
        self.advance(10 * DAY_MS);
        let capture = self.txn(capture.transaction_id);
        assert_eq!(capture.status, TransactionStatus::Completed);
        capture
    }

    pub fn preauthorize(&mut self, period_hours: u32) -> Result<Change, RuleError> {
        let request = paybank_core::capture::PreauthorizationRequest {
            merchant_reference: self.next_reference(),
            amount: Some(cents(5_000)),
            period_hours,
            split_token: Some(SPLIT_TOKEN.to_owned()),
            ip: "203.0.113.7".to_owned(),
        };
        let chain = self.chain();
        let change = paybank_core::capture::preauthorize(&mut self.world.ctx(), &chain, request)?;
        self.commit(&change);
        Ok(change)
    }

    pub fn refund(
        &mut self,
        target: TransactionId,
        amount: Option<Amount>,
    ) -> Result<Change, RuleError> {
        let chain = self.chain();
        let change = paybank_core::capture::refund(
            &mut self.world.ctx(),
            &chain,
            target,
            refund_request(amount),
        )?;
        self.commit(&change);
        Ok(change)
    }

    pub fn cancel(&mut self, target: TransactionId) -> Result<Change, RuleError> {
        let chain = self.chain();
        let change = paybank_core::capture::cancel(&mut self.world.ctx(), &chain, target)?;
        self.commit(&change);
        Ok(change)
    }

    /// Moves the clock forward, running the timers that fall due on the way.
    pub fn advance(&mut self, by_ms: i64) {
        let until = self.world.now + by_ms;
        self.store.run_due_timers(&mut self.world, until);
        self.store.check_invariants("bench");
    }
}
