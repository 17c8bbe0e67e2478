//! [`crate::Store`] for [`SqlStore`]: writes go to the group-commit writer, reads to the pool.

use std::sync::Arc;

use async_trait::async_trait;
use paybank_core::change::Timer;
use paybank_core::ids::{EventId, MerchantId, PaymentId, StoredIds, TransactionId};
use paybank_core::ledger::{LedgerAccount, Posting};
use paybank_core::lightbox::LightboxSession;
use paybank_core::model::{Merchant, PaymentChain, TimestampMs, Transaction};
use paybank_core::money::Amount;
use sqlx::any::AnyArguments;
use sqlx::query::Query;
use sqlx::{Any, Row};

use paybank_core::rails::{ForcedOutcome, RailJob};

use crate::chain_batch::{ChainKey, ChainReads};
use crate::codec;
use crate::rails_reads;
use crate::sql::SqlStore;
use crate::sqlite_reads;
use crate::writer::{Command, Reply};
use crate::{BankAccountRecord, InstantMessage, RailFile, StoredEntry};
use crate::{
    ChainOf, DueEvent, EventAttempt, EventQuery, OrderBy, Store, StoreError, StoreResult,
    StoredEvent, TransactionQuery, WriteSet,
};

fn unexpected(reply: Reply) -> StoreError {
    StoreError::Database(format!("unexpected writer reply {reply:?}"))
}

#[async_trait]
impl Store for SqlStore {
    async fn commit(&self, write: WriteSet) -> StoreResult<()> {
        match self.writer.run(Command::Commit(Box::new(write))).await? {
            Reply::Done => Ok(()),
            other => Err(unexpected(other)),
        }
    }

    async fn claim_due_timers(
        &self,
        now: TimestampMs,
        lease_ms: i64,
        limit: i64,
    ) -> StoreResult<Vec<Timer>> {
        match self
            .writer
            .run(Command::ClaimTimers {
                now,
                lease_ms,
                limit,
            })
            .await?
        {
            Reply::Timers(timers) => Ok(timers),
            other => Err(unexpected(other)),
        }
    }

    async fn claim_due_events(
        &self,
        now: TimestampMs,
        lease_ms: i64,
        limit: i64,
    ) -> StoreResult<Vec<DueEvent>> {
        match self
            .writer
            .run(Command::ClaimEvents {
                now,
                lease_ms,
                limit,
            })
            .await?
        {
            Reply::Events(events) => Ok(events),
            other => Err(unexpected(other)),
        }
    }

    async fn next_due_at(&self) -> StoreResult<Option<TimestampMs>> {
        let row: (Option<i64>, Option<i64>, Option<i64>) = sqlx::query_as(
            "SELECT (SELECT MIN(CASE WHEN lease_until > due_at THEN lease_until ELSE due_at END) FROM timers), \
             (SELECT MIN(CASE WHEN lease_until > next_attempt_at THEN lease_until ELSE next_attempt_at END) \
             FROM outbox_events WHERE state = 'pending'), \
             (SELECT MIN(CASE WHEN lease_until > due_at THEN lease_until ELSE due_at END) FROM rail_jobs)",
        )
        .fetch_one(&self.reads)
        .await?;
        Ok([row.0, row.1, row.2].into_iter().flatten().min())
    }

    async fn advance_clock(&self, delta_ms: i64) -> StoreResult<i64> {
        match self.writer.run(Command::AdvanceClock { delta_ms }).await? {
            Reply::Number(offset) => Ok(offset),
            other => Err(unexpected(other)),
        }
    }

    async fn clock_offset(&self) -> StoreResult<i64> {
        let row: (i64,) = sqlx::query_as("SELECT offset_ms FROM clock WHERE clock_id = 1")
            .fetch_one(&self.reads)
            .await?;
        Ok(row.0)
    }

    fn writer_stats(&self) -> crate::WriterStats {
        self.writer.stats()
    }

    async fn empty_wal(&self) -> StoreResult<()> {
        match self.writer.run(Command::EmptyWal).await? {
            Reply::Done => Ok(()),
            other => Err(unexpected(other)),
        }
    }

    async fn reserve_ids(&self, count: u64) -> StoreResult<u64> {
        match self.writer.run(Command::ReserveIds { count }).await? {
            Reply::Number(first) => {
                u64::try_from(first).map_err(|_| StoreError::Invariant("negative id counter"))
            }
            other => Err(unexpected(other)),
        }
    }

    fn stored_ids(&self) -> StoredIds {
        self.ids
    }

    async fn setting_or_insert(&self, key: &str, value: &str) -> StoreResult<String> {
        let command = Command::SettingOrInsert {
            key: key.to_owned(),
            value: value.to_owned(),
        };
        match self.writer.run(command).await? {
            Reply::Text(value) => Ok(value),
            other => Err(unexpected(other)),
        }
    }

    async fn merchant(&self, merchant_id: MerchantId) -> StoreResult<Option<Arc<Merchant>>> {
        if let Some(merchant) = self.merchants.by_id(merchant_id) {
            return Ok(Some(merchant));
        }
        let row = sqlx::query("SELECT * FROM merchants WHERE merchant_id = $1")
            .bind(self.ids.stored(merchant_id.0))
            .fetch_optional(&self.reads)
            .await?;
        let merchant = row
            .as_ref()
            .map(|row| codec::merchant(row, self.ids))
            .transpose()?;
        Ok(self.merchants.keep(merchant))
    }

    async fn merchant_by_access_id(&self, access_id: &str) -> StoreResult<Option<Arc<Merchant>>> {
        if let Some(merchant) = self.merchants.by_access_id(access_id) {
            return Ok(Some(merchant));
        }
        let merchant = match &self.sqlite_reads {
            Some(reads) => reads.merchant_by_access_id(access_id)?,
            None => {
                let row = sqlx::query(sqlite_reads::MERCHANT_BY_ACCESS_ID)
                    .bind(access_id)
                    .fetch_optional(&self.reads)
                    .await?;
                row.as_ref()
                    .map(|row| codec::merchant(row, self.ids))
                    .transpose()?
            }
        };
        Ok(self.merchants.keep(merchant))
    }

    async fn list_merchants(&self) -> StoreResult<Vec<Merchant>> {
        let rows = sqlx::query("SELECT * FROM merchants ORDER BY created_at, merchant_id")
            .fetch_all(&self.reads)
            .await?;
        rows.iter()
            .map(|row| codec::merchant(row, self.ids))
            .collect()
    }

    async fn chain(&self, payment_id: PaymentId) -> StoreResult<Option<PaymentChain>> {
        if let Some(reads) = &self.sqlite_reads {
            return reads.chain(payment_id);
        }
        self.chain_reads()?
            .chain(ChainKey::Payment(self.ids.stored(payment_id.0)))
            .await
    }

    async fn chain_of_transaction(
        &self,
        transaction_id: TransactionId,
    ) -> StoreResult<Option<PaymentChain>> {
        if let Some(reads) = &self.sqlite_reads {
            return reads.chain_of_transaction(transaction_id);
        }
        self.chain_reads()?
            .chain(ChainKey::Transaction(self.ids.stored(transaction_id.0)))
            .await
    }

    async fn chain_to_change(&self, of: ChainOf) -> StoreResult<Option<PaymentChain>> {
        let key = match of {
            ChainOf::Payment(payment_id) => ChainKey::Payment(self.ids.stored(payment_id.0)),
            ChainOf::Transaction(transaction_id) => {
                ChainKey::Transaction(self.ids.stored(transaction_id.0))
            }
            ChainOf::ForNewChild(transaction_id) => {
                ChainKey::ForNewChild(self.ids.stored(transaction_id.0))
            }
        };
        if self.sqlite_reads.is_none() {
            return self.chain_reads()?.chain(key).await;
        }
        match self.writer.run(Command::ReadChain(key)).await? {
            Reply::Chain(chain) => Ok(chain.map(|chain| *chain)),
            other => Err(unexpected(other)),
        }
    }

    async fn list_transactions(
        &self,
        merchant_id: MerchantId,
        query: &TransactionQuery,
    ) -> StoreResult<Vec<Transaction>> {
        let (sql, binds) = transaction_query_sql(self.ids, merchant_id, query);
        let mut statement: Query<'_, Any, AnyArguments<'_>> = sqlx::query(&sql);
        for bind in binds {
            statement = match bind {
                Bind::Number(value) => statement.bind(value),
                Bind::Text(value) => statement.bind(value),
            };
        }
        let rows = statement.fetch_all(&self.reads).await?;
        rows.iter()
            .map(|row| codec::transaction(row, self.ids))
            .collect()
    }

    async fn reference_claim(
        &self,
        merchant_id: MerchantId,
        transaction_type: u8,
        merchant_reference: &str,
    ) -> StoreResult<Option<TransactionId>> {
        if let Some(reads) = &self.sqlite_reads {
            return reads.reference_claim(merchant_id, transaction_type, merchant_reference);
        }
        let row: Option<(i64,)> = sqlx::query_as(sqlite_reads::REFERENCE_CLAIM)
            .bind(self.ids.stored(merchant_id.0))
            .bind(i64::from(transaction_type))
            .bind(merchant_reference)
            .fetch_optional(&self.reads)
            .await?;
        row.map(|(stored,)| self.ids.id(stored).map(TransactionId))
            .map(|id| id.ok_or_else(|| codec::corrupt("transaction_id")))
            .transpose()
    }

    async fn lightbox_session(&self, session_id: &str) -> StoreResult<Option<LightboxSession>> {
        if let Some(reads) = &self.sqlite_reads {
            return reads.lightbox_session(session_id);
        }
        let row = sqlx::query(sqlite_reads::SESSION_BY_ID)
            .bind(session_id)
            .fetch_optional(&self.reads)
            .await?;
        row.as_ref()
            .map(|row| codec::lightbox_session(row, self.ids))
            .transpose()
    }

    async fn lightbox_session_of_transaction(
        &self,
        transaction_id: TransactionId,
    ) -> StoreResult<Option<LightboxSession>> {
        if let Some(reads) = &self.sqlite_reads {
            return reads.lightbox_session_of_transaction(transaction_id);
        }
        let rows = sqlx::query(sqlite_reads::SESSIONS_OF_TRANSACTION)
            .bind(self.ids.stored(transaction_id.0))
            .fetch_all(&self.reads)
            .await?;
        let sessions = (rows.iter())
            .map(|row| codec::lightbox_session(row, self.ids))
            .collect::<StoreResult<_>>()?;
        Ok(sqlite_reads::latest_session(sessions))
    }

    async fn list_events(
        &self,
        merchant_id: MerchantId,
        query: &EventQuery,
    ) -> StoreResult<Vec<StoredEvent>> {
        let merchant_id = self.ids.stored(merchant_id.0);
        let statement = match query.transaction_id {
            None => sqlx::query(EVENTS_OF_MERCHANT).bind(merchant_id),
            Some(id) => sqlx::query(EVENTS_OF_TRANSACTION)
                .bind(merchant_id)
                .bind(self.ids.stored(id.0)),
        };
        let rows = (statement.bind(query.limit).bind(query.offset))
            .fetch_all(&self.reads)
            .await?;
        let mut events = rows
            .iter()
            .map(|row| codec::stored_event(row, self.ids))
            .collect::<StoreResult<Vec<_>>>()?;
        events.sort_by_key(|event| {
            let stored_id = self.ids.stored(event.event.event_id.0);
            (event.event.created_at, event.ordinal, stored_id)
        });
        Ok(events)
    }

    async fn event(&self, event_id: EventId) -> StoreResult<Option<StoredEvent>> {
        let row = sqlx::query("SELECT * FROM outbox_events WHERE event_id = $1")
            .bind(self.ids.stored(event_id.0))
            .fetch_optional(&self.reads)
            .await?;
        row.as_ref()
            .map(|row| codec::stored_event(row, self.ids))
            .transpose()
    }

    async fn event_attempts(&self, event_id: EventId) -> StoreResult<Vec<EventAttempt>> {
        let rows = sqlx::query("SELECT * FROM event_attempts WHERE event_id = $1 ORDER BY attempt")
            .bind(self.ids.stored(event_id.0))
            .fetch_all(&self.reads)
            .await?;
        rows.iter().map(codec::event_attempt).collect()
    }

    async fn postings(&self, transaction_id: TransactionId) -> StoreResult<Vec<Posting>> {
        let rows = sqlx::query("SELECT account, amount FROM ledger_postings WHERE transaction_id = $1 ORDER BY posting_id")
            .bind(self.ids.stored(transaction_id.0))
            .fetch_all(&self.reads)
            .await?;
        rows.iter()
            .map(|row| {
                let name: String = row.try_get("account")?;
                Ok(Posting {
                    transaction_id,
                    account: LedgerAccount::from_name(&name)
                        .ok_or(StoreError::Invariant("unknown ledger account"))?,
                    amount: Amount::from_minor(row.try_get("amount")?),
                })
            })
            .collect()
    }

    async fn ledger_balances(&self) -> StoreResult<Vec<(String, i64)>> {
        let rows: Vec<(String, i64)> =
            sqlx::query_as("SELECT account, CAST(SUM(amount) AS BIGINT) FROM ledger_postings GROUP BY account ORDER BY account")
                .fetch_all(&self.reads)
                .await?;
        Ok(rows)
    }

    async fn kept_balances(&self) -> StoreResult<Vec<(String, i64)>> {
        let rows: Vec<(String, i64)> =
            sqlx::query_as("SELECT account, balance FROM account_balances ORDER BY account")
                .fetch_all(&self.reads)
                .await?;
        Ok(rows)
    }

    async fn account_postings(
        &self,
        account: &str,
        from: TimestampMs,
        to: TimestampMs,
    ) -> StoreResult<Vec<(TransactionId, i64, TimestampMs)>> {
        rails_reads::account_postings(self, account, from, to).await
    }

    async fn claim_due_rail_jobs(
        &self,
        now: TimestampMs,
        lease_ms: i64,
        limit: i64,
    ) -> StoreResult<Vec<RailJob>> {
        rails_reads::claim_due_rail_jobs(self, now, lease_ms, limit).await
    }

    async fn reserve_counter(&self, name: &str, count: i64) -> StoreResult<i64> {
        rails_reads::reserve_counter(self, name, count).await
    }

    async fn queued_entries(
        &self,
        cutoff_at: TimestampMs,
        limit: i64,
    ) -> StoreResult<Vec<StoredEntry>> {
        rails_reads::queued_entries(self, cutoff_at, limit).await
    }

    async fn entries_in_file(&self, file_name: &str) -> StoreResult<Vec<StoredEntry>> {
        rails_reads::entries_in_file(self, file_name).await
    }

    async fn entry_by_trace(&self, trace_number: &str) -> StoreResult<Option<StoredEntry>> {
        rails_reads::entry_by_trace(self, trace_number).await
    }

    async fn entry_of_transaction(
        &self,
        transaction_id: TransactionId,
    ) -> StoreResult<Option<StoredEntry>> {
        rails_reads::entry_of_transaction(self, transaction_id).await
    }

    async fn rail_file(&self, name: &str) -> StoreResult<Option<RailFile>> {
        rails_reads::rail_file(self, name).await
    }

    async fn list_rail_files(
        &self,
        merchant_id: Option<MerchantId>,
        limit: i64,
    ) -> StoreResult<Vec<RailFile>> {
        rails_reads::list_rail_files(self, merchant_id, limit).await
    }

    async fn list_instant_messages(
        &self,
        merchant_id: Option<MerchantId>,
        transaction_id: Option<TransactionId>,
        limit: i64,
    ) -> StoreResult<Vec<InstantMessage>> {
        rails_reads::list_instant_messages(self, merchant_id, transaction_id, limit).await
    }

    async fn instant_message(&self, message_id: &str) -> StoreResult<Option<InstantMessage>> {
        rails_reads::instant_message(self, message_id).await
    }

    async fn bank_account(
        &self,
        routing_number: &str,
        account_number: &str,
    ) -> StoreResult<Option<BankAccountRecord>> {
        rails_reads::bank_account(self, routing_number, account_number).await
    }

    async fn forced_outcome(
        &self,
        transaction_id: TransactionId,
    ) -> StoreResult<Option<ForcedOutcome>> {
        rails_reads::forced_outcome(self, transaction_id).await
    }
}

impl SqlStore {
    fn chain_reads(&self) -> StoreResult<&ChainReads> {
        (self.chain_reads.as_ref())
            .ok_or_else(|| StoreError::Database("no chain reader on this backend".to_owned()))
    }
}

enum Bind {
    Number(i64),
    Text(String),
}

/// A merchant's events, newest first, a page at a time.
const EVENTS_OF_MERCHANT: &str = "SELECT * FROM outbox_events WHERE merchant_id = $1 \
     ORDER BY created_at DESC, ordinal DESC, event_id DESC LIMIT $2 OFFSET $3";

/// One transaction's events, if they are the merchant's. `+merchant_id` keeps the planner off
/// the merchant's index: without statistics, SQLite took it for both equalities and walked
/// every event the merchant has to find one transaction's few (as did the one statement with
/// `$2 IS NULL OR transaction_id = $2` that served both lists before).
const EVENTS_OF_TRANSACTION: &str = "SELECT * FROM outbox_events \
     WHERE transaction_id = $2 AND +merchant_id = $1 \
     ORDER BY created_at DESC, ordinal DESC, event_id DESC LIMIT $3 OFFSET $4";

/// Builds the filtered, paged transaction listing. Every value is a bound parameter.
fn transaction_query_sql(
    ids: StoredIds,
    merchant_id: MerchantId,
    query: &TransactionQuery,
) -> (String, Vec<Bind>) {
    let mut sql = String::from("SELECT * FROM transactions WHERE merchant_id = $1");
    let mut binds = vec![Bind::Number(ids.stored(merchant_id.0))];
    let mut push = |sql: &mut String, clause: &str, bind: Bind| {
        binds.push(bind);
        sql.push_str(&clause.replace('?', &format!("${}", binds.len())));
    };
    if let Some(reference) = &query.merchant_reference {
        push(
            &mut sql,
            " AND merchant_reference = ?",
            Bind::Text(reference.clone()),
        );
    }
    if let Some(original) = query.original_transaction_id {
        push(
            &mut sql,
            " AND original_transaction_id = ?",
            Bind::Number(ids.stored(original.0)),
        );
    }
    for (column, codes) in [
        ("transaction_type", &query.transaction_types),
        ("status", &query.statuses),
    ] {
        if codes.is_empty() {
            continue;
        }
        sql.push_str(&format!(" AND {column} IN ("));
        for (code_idx, code) in codes.iter().enumerate() {
            let separator = if code_idx == 0 { "?" } else { ", ?" };
            push(&mut sql, separator, Bind::Number(i64::from(*code)));
        }
        sql.push(')');
    }
    let ranges = [
        ("created_at >= ?", query.created_from),
        ("created_at <= ?", query.created_to),
        ("updated_at >= ?", query.updated_from),
        ("updated_at <= ?", query.updated_to),
    ];
    for (clause, value) in ranges {
        if let Some(value) = value {
            push(&mut sql, &format!(" AND {clause}"), Bind::Number(value));
        }
    }
    let column = match query.order_by {
        OrderBy::CreatedAt => "created_at",
        OrderBy::UpdatedAt => "updated_at",
    };
    let direction = if query.descending { "DESC" } else { "ASC" };
    sql.push_str(&format!(
        " ORDER BY {column} {direction}, transaction_id {direction}"
    ));
    push(&mut sql, " LIMIT ?", Bind::Number(query.limit));
    push(&mut sql, " OFFSET ?", Bind::Number(query.offset));
    (sql, binds)
}

#[cfg(test)]
mod tests {
    use super::{EVENTS_OF_MERCHANT, EVENTS_OF_TRANSACTION};
    use crate::test_support::sqlite_plans_on_a_new_store;

    /// A transaction's events are found through the transaction's index, not by walking every
    /// event of its merchant; a merchant's through the merchant's.
    #[tokio::test]
    async fn event_lists_search_the_index_of_what_they_are_filtered_by() {
        let statements = [EVENTS_OF_TRANSACTION, EVENTS_OF_MERCHANT];
        let [of_transaction, of_merchant] =
            sqlite_plans_on_a_new_store("event-plans", statements).await;
        assert!(
            of_transaction.contains("USING INDEX outbox_events_by_transaction"),
            "{of_transaction}"
        );
        assert!(
            of_merchant.contains("USING INDEX outbox_events_by_merchant"),
            "{of_merchant}"
        );
    }
}
