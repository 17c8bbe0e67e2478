//! paybank's storage: the one crate that knows SQL.
//!
//! [`Store`] is a small set of atomic domain commands and reads. One implementation,
//! [`sql::SqlStore`], serves SQLite and PostgreSQL through sqlx's `Any` driver with the same
//! statements (`$N` placeholders work on both); only the migrations and a lease query differ.
//! Every write goes through a group-commit writer (`writer`): many commands, one transaction,
//! one fsync, each command in its own savepoint so one failure leaves the others untouched.

mod bulk;
#[cfg(test)]
mod bulk_fixture;
/// The store contract's world and fixtures, shared with this crate's own tests, which reach
/// the crate by its name as the contract's do.
#[cfg(test)]
#[allow(dead_code)]
#[path = "../tests/contract/support.rs"]
mod contract_support;
#[cfg(test)]
extern crate self as paybank_store;
mod chain_batch;
mod chain_read;
mod checkpointer;
mod codec;
mod columns;
mod db;
mod floors;
mod merchant_cache;
mod open_lock;
mod page_cache;
mod rails;
mod rails_reads;
mod reads;
mod rows;
pub mod sql;
mod sqlite_reads;
mod stored_ids;
#[cfg(test)]
mod test_support;
mod writer;
mod writer_stats;
mod writes;

use std::sync::Arc;

use async_trait::async_trait;
use paybank_core::change::{Change, Timer};
use paybank_core::events::OutboxEvent;
use paybank_core::ids::{EventId, MerchantId, PaymentId, StoredIds, TransactionId};
use paybank_core::ledger::Posting;
use paybank_core::lightbox::LightboxSession;
use paybank_core::model::{Merchant, PaymentChain, TimestampMs, Transaction};
use paybank_core::rails::{ForcedOutcome, RailJob};

pub use page_cache::install_page_cache;
pub use rails::{BankAccountRecord, EntryState, InstantMessage, RailFile, RailWrite, StoredEntry};
pub use stored_ids::ID_SECRET_SETTING;
pub use writer_stats::{WriterStats, BATCH_BUCKET_BOUNDS_US};

/// What can go wrong in the store, as the layers above need to tell it apart.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    /// A unique key is taken: a merchant reference already claimed, an access id in use.
    #[error("duplicate: {0}")]
    Duplicate(String),
    /// The payment moved on since it was read, or PostgreSQL picked this write to give way to
    /// a concurrent one (a deadlock, a serialization failure); nothing was written, and the
    /// caller reloads and tries again.
    #[error("the payment changed concurrently")]
    Conflict,
    /// A change broke an invariant (unbalanced ledger, negative money); nothing was written.
    #[error("invariant violated: {0}")]
    Invariant(&'static str),
    /// A ledger account that must not go below zero would have; nothing was written.
    #[error("insufficient funds in {0}")]
    InsufficientFunds(String),
    #[error("database error: {0}")]
    Database(String),
}

impl From<sqlx::Error> for StoreError {
    fn from(error: sqlx::Error) -> StoreError {
        match &error {
            sqlx::Error::RowNotFound => StoreError::NotFound,
            sqlx::Error::Database(db_error) if db_error.is_unique_violation() => {
                StoreError::Duplicate(db_error.message().to_owned())
            }
            sqlx::Error::Database(db_error)
                if matches!(
                    db_error.code().as_deref(),
                    Some(GAVE_WAY_DEADLOCK | GAVE_WAY_SERIALIZATION)
                ) =>
            {
                StoreError::Conflict
            }
            _ => StoreError::Database(error.to_string()),
        }
    }
}

/// PostgreSQL's error codes for a transaction chosen to give way to another.
const GAVE_WAY_DEADLOCK: &str = "40P01";
const GAVE_WAY_SERIALIZATION: &str = "40001";

pub type StoreResult<T> = Result<T, StoreError>;

/// What names a payment chain: its payment, or any transaction in it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChainOf {
    Payment(PaymentId),
    Transaction(TransactionId),
    /// For a rule that only adds a child to the chain holding this transaction (a capture, a
    /// deposit): the payment, whose totals stand for the rest, with only its authorization;
    /// the whole chain when it holds preauthorizations, which a capture looks at. A rule given
    /// such a chain must not change a transaction it was not given.
    ForNewChild(TransactionId),
}

/// One atomic write: a chain change and whatever else must land with it.
#[derive(Clone, Debug, Default)]
pub struct WriteSet {
    /// Shared, so a caller that reports from its change after the commit need not copy it.
    pub change: Option<Arc<Change>>,
    pub session: Option<LightboxSession>,
    pub merchant: Option<Merchant>,
    pub delivery: Option<DeliveryRecord>,
    /// Puts a delivered or failed event back in the queue, due at the given time.
    pub resend: Option<(EventId, TimestampMs)>,
    /// What a network job writes: files, messages, bank accounts, entry states, jobs.
    pub rail: Option<RailWrite>,
}

/// The outcome of one delivery attempt, and what happens to the event next.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeliveryRecord {
    pub event_id: EventId,
    pub attempt: EventAttempt,
    pub next: NextDelivery,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NextDelivery {
    Delivered,
    RetryAt(TimestampMs),
    /// The retry window is over (or there is nowhere to send it): stop trying.
    GiveUp,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventAttempt {
    pub attempt: i64,
    pub attempted_at: TimestampMs,
    pub duration_ms: i64,
    pub http_status: Option<i64>,
    pub error: Option<String>,
}

/// An event leased for delivery: what one attempt needs. Its parameters stay in the body they
/// are sent as; the signature's message is made from the body
/// (`paybank_core::signature::webhook_message_of_body`), so a claim parses nothing back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DueEvent {
    pub event_id: EventId,
    pub merchant_id: MerchantId,
    pub transaction_id: TransactionId,
    /// Where it goes: the payment's `notificationUrl` if given, else the merchant's.
    pub notification_url: Option<String>,
    /// The exact form-encoded body that is sent.
    pub body: String,
    /// Attempts made so far.
    pub attempts: i64,
    pub created_at: TimestampMs,
    pub next_attempt_at: TimestampMs,
    /// Position within the change that wrote it; with `created_at`, the order events happened in.
    pub ordinal: i64,
}

/// An outbox event as stored, with its delivery state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredEvent {
    pub event: OutboxEvent,
    /// The exact form-encoded body that is sent (and signed, once decoded).
    pub body: String,
    pub state: EventState,
    pub attempts: i64,
    pub next_attempt_at: TimestampMs,
    pub delivered_at: Option<TimestampMs>,
    /// Position within the change that wrote it; with `created_at`, the order events happened in.
    pub ordinal: i64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventState {
    Pending,
    Delivered,
    Failed,
}

impl EventState {
    pub fn name(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Delivered => "delivered",
            Self::Failed => "failed",
        }
    }

    pub fn from_name(name: &str) -> Option<EventState> {
        [Self::Pending, Self::Delivered, Self::Failed]
            .into_iter()
            .find(|state| state.name() == name)
    }
}

/// Filters and paging of `GET /transactions`, already validated.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TransactionQuery {
    pub merchant_reference: Option<String>,
    /// Children of this transaction: an authorization's captures, a capture's refunds.
    pub original_transaction_id: Option<TransactionId>,
    pub transaction_types: Vec<u8>,
    pub statuses: Vec<u8>,
    pub created_from: Option<TimestampMs>,
    pub created_to: Option<TimestampMs>,
    pub updated_from: Option<TimestampMs>,
    pub updated_to: Option<TimestampMs>,
    pub order_by: OrderBy,
    pub descending: bool,
    pub offset: i64,
    pub limit: i64,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum OrderBy {
    #[default]
    CreatedAt,
    UpdatedAt,
}

/// Filters of the event log.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EventQuery {
    pub transaction_id: Option<TransactionId>,
    pub offset: i64,
    pub limit: i64,
}

/// The store's commands and reads. Writes are atomic; reads see committed data.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Applies a write set atomically (group-committed with others).
    async fn commit(&self, write: WriteSet) -> StoreResult<()>;
    /// Leases timers due at `now` for `lease_ms`, so that no other worker runs them meanwhile.
    async fn claim_due_timers(
        &self,
        now: TimestampMs,
        lease_ms: i64,
        limit: i64,
    ) -> StoreResult<Vec<Timer>>;
    /// Leases pending events due at `now` for `lease_ms`, in the order they are due and then
    /// the order they happened.
    async fn claim_due_events(
        &self,
        now: TimestampMs,
        lease_ms: i64,
        limit: i64,
    ) -> StoreResult<Vec<DueEvent>>;
    /// The earliest time anything (timer or event delivery) can be claimed, if anything is
    /// queued: its due time, or the end of its lease if a worker holds it.
    async fn next_due_at(&self) -> StoreResult<Option<TimestampMs>>;
    /// Adds to the deployment clock's offset from wall time; returns the new offset.
    async fn advance_clock(&self, delta_ms: i64) -> StoreResult<i64>;
    async fn clock_offset(&self) -> StoreResult<i64>;
    /// Reserves `count` consecutive values of the deployment's id counter; returns the first.
    async fn reserve_ids(&self, count: u64) -> StoreResult<u64>;
    /// SQLite: copies the write-ahead log back into the database file and empties it, as the
    /// writer does when idle or closing, once every command before it is committed (a reader
    /// still on old frames after a short wait leaves it for later, as when idle). A server
    /// calls this as it stops, since its process may end before the store is dropped, and the
    /// next process to open the database would read a WAL left behind whole. PostgreSQL:
    /// nothing to do.
    async fn empty_wal(&self) -> StoreResult<()>;
    /// What the group-commit writer has done since the store opened (batches, commands, and
    /// how long batches took), read without waiting for it.
    fn writer_stats(&self) -> WriterStats;
    /// How this store keeps ids, with the deployment's id key, read when it opened.
    fn stored_ids(&self) -> StoredIds;
    /// Returns the setting, storing `value` first if it has none (first writer wins).
    async fn setting_or_insert(&self, key: &str, value: &str) -> StoreResult<String>;

    /// Merchants are shared: a record never changes once created, and every request reads one.
    async fn merchant(&self, merchant_id: MerchantId) -> StoreResult<Option<Arc<Merchant>>>;
    async fn merchant_by_access_id(&self, access_id: &str) -> StoreResult<Option<Arc<Merchant>>>;
    async fn list_merchants(&self) -> StoreResult<Vec<Merchant>>;
    async fn chain(&self, payment_id: PaymentId) -> StoreResult<Option<PaymentChain>>;
    async fn chain_of_transaction(
        &self,
        transaction_id: TransactionId,
    ) -> StoreResult<Option<PaymentChain>>;
    /// The chain a change is about to be made to: what [`Store::chain`] or
    /// [`Store::chain_of_transaction`] reads, read where that is cheapest between commits (on
    /// SQLite, the writer's connection, whose page cache other commits do not empty). It sees
    /// every commit acknowledged before it was asked for.
    async fn chain_to_change(&self, of: ChainOf) -> StoreResult<Option<PaymentChain>>;
    async fn list_transactions(
        &self,
        merchant_id: MerchantId,
        query: &TransactionQuery,
    ) -> StoreResult<Vec<Transaction>>;
    async fn reference_claim(
        &self,
        merchant_id: MerchantId,
        transaction_type: u8,
        merchant_reference: &str,
    ) -> StoreResult<Option<TransactionId>>;
    async fn lightbox_session(&self, session_id: &str) -> StoreResult<Option<LightboxSession>>;
    async fn lightbox_session_of_transaction(
        &self,
        transaction_id: TransactionId,
    ) -> StoreResult<Option<LightboxSession>>;
    async fn list_events(
        &self,
        merchant_id: MerchantId,
        query: &EventQuery,
    ) -> StoreResult<Vec<StoredEvent>>;
    async fn event(&self, event_id: EventId) -> StoreResult<Option<StoredEvent>>;
    async fn event_attempts(&self, event_id: EventId) -> StoreResult<Vec<EventAttempt>>;
    async fn postings(&self, transaction_id: TransactionId) -> StoreResult<Vec<Posting>>;
    /// Every ledger account's balance, by name.
    async fn ledger_balances(&self) -> StoreResult<Vec<(String, i64)>>;
    /// The running balances kept for the accounts a balance floor protects, by name: each
    /// equals what [`Store::ledger_balances`] sums for its account.
    async fn kept_balances(&self) -> StoreResult<Vec<(String, i64)>>;
    /// One ledger account's postings created in `[from, to)`, oldest first:
    /// (transaction, amount in cents, created at).
    async fn account_postings(
        &self,
        account: &str,
        from: TimestampMs,
        to: TimestampMs,
    ) -> StoreResult<Vec<(TransactionId, i64, TimestampMs)>>;

    /// Leases the network's jobs due at `now` for `lease_ms`.
    async fn claim_due_rail_jobs(
        &self,
        now: TimestampMs,
        lease_ms: i64,
        limit: i64,
    ) -> StoreResult<Vec<RailJob>>;
    /// Takes `count` consecutive values of a named counter; returns the first.
    async fn reserve_counter(&self, name: &str, count: i64) -> StoreResult<i64>;
    /// Entries waiting for a file whose cut-off is at or before `cutoff_at`, oldest first.
    async fn queued_entries(
        &self,
        cutoff_at: TimestampMs,
        limit: i64,
    ) -> StoreResult<Vec<StoredEntry>>;
    async fn entries_in_file(&self, file_name: &str) -> StoreResult<Vec<StoredEntry>>;
    async fn entry_by_trace(&self, trace_number: &str) -> StoreResult<Option<StoredEntry>>;
    async fn entry_of_transaction(
        &self,
        transaction_id: TransactionId,
    ) -> StoreResult<Option<StoredEntry>>;
    async fn rail_file(&self, name: &str) -> StoreResult<Option<RailFile>>;
    /// Files, newest first; only one merchant's when given (inbound files included).
    async fn list_rail_files(
        &self,
        merchant_id: Option<MerchantId>,
        limit: i64,
    ) -> StoreResult<Vec<RailFile>>;
    /// Instant messages, newest first; only one merchant's or one transaction's when given.
    async fn list_instant_messages(
        &self,
        merchant_id: Option<MerchantId>,
        transaction_id: Option<TransactionId>,
        limit: i64,
    ) -> StoreResult<Vec<InstantMessage>>;
    async fn instant_message(&self, message_id: &str) -> StoreResult<Option<InstantMessage>>;
    async fn bank_account(
        &self,
        routing_number: &str,
        account_number: &str,
    ) -> StoreResult<Option<BankAccountRecord>>;
    async fn forced_outcome(
        &self,
        transaction_id: TransactionId,
    ) -> StoreResult<Option<ForcedOutcome>>;
}

/// Opens the store named by a `sqlite://…` or `postgres://…` URL and applies migrations.
/// `id_seed` becomes the deployment's id secret (the setting [`ID_SECRET_SETTING`], which the
/// ids are made with) unless the database has one already.
pub async fn open(database_url: &str, id_seed: &str) -> StoreResult<Arc<dyn Store>> {
    let store = sql::SqlStore::open(database_url, id_seed, sql::WriterOptions::default()).await?;
    Ok(Arc::new(store))
}
