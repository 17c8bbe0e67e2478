//! Reads of the simulated bank network's rows, for [`crate::Store`] on [`SqlStore`].

use paybank_core::ids::{MerchantId, TransactionId};
use paybank_core::model::TimestampMs;
use paybank_core::rails::{ForcedOutcome, RailJob};

use crate::codec::corrupt;
use crate::rails::{self, BankAccountRecord, InstantMessage, RailFile, StoredEntry};
use crate::sql::SqlStore;
use crate::writer::{Command, Reply};
use crate::{StoreError, StoreResult};

fn unexpected(reply: Reply) -> StoreError {
    StoreError::Database(format!("unexpected writer reply {reply:?}"))
}

pub(crate) async fn claim_due_rail_jobs(
    store: &SqlStore,
    now: TimestampMs,
    lease_ms: i64,
    limit: i64,
) -> StoreResult<Vec<RailJob>> {
    let command = Command::ClaimRailJobs {
        now,
        lease_ms,
        limit,
    };
    match store.writer.run(command).await? {
        Reply::RailJobs(jobs) => Ok(jobs),
        other => Err(unexpected(other)),
    }
}

pub(crate) async fn reserve_counter(store: &SqlStore, name: &str, count: i64) -> StoreResult<i64> {
    let command = Command::ReserveCounter {
        name: name.to_owned(),
        count,
    };
    match store.writer.run(command).await? {
        Reply::Number(first) => Ok(first),
        other => Err(unexpected(other)),
    }
}

pub(crate) async fn queued_entries(
    store: &SqlStore,
    cutoff_at: TimestampMs,
    limit: i64,
) -> StoreResult<Vec<StoredEntry>> {
    let rows = sqlx::query(
        "SELECT * FROM ach_entries WHERE state = 'queued' AND cutoff_at <= $1 \
         ORDER BY cutoff_at, merchant_id, transaction_id LIMIT $2",
    )
    .bind(cutoff_at)
    .bind(limit)
    .fetch_all(&store.reads)
    .await?;
    rows.iter()
        .map(|row| rails::stored_entry(row, store.ids))
        .collect()
}

pub(crate) async fn entries_in_file(
    store: &SqlStore,
    file_name: &str,
) -> StoreResult<Vec<StoredEntry>> {
    let rows = sqlx::query("SELECT * FROM ach_entries WHERE file_name = $1 ORDER BY trace_number")
        .bind(file_name)
        .fetch_all(&store.reads)
        .await?;
    rows.iter()
        .map(|row| rails::stored_entry(row, store.ids))
        .collect()
}

pub(crate) async fn entry_by_trace(
    store: &SqlStore,
    trace_number: &str,
) -> StoreResult<Option<StoredEntry>> {
    let row = sqlx::query("SELECT * FROM ach_entries WHERE trace_number = $1")
        .bind(trace_number)
        .fetch_optional(&store.reads)
        .await?;
    row.as_ref()
        .map(|row| rails::stored_entry(row, store.ids))
        .transpose()
}

pub(crate) async fn entry_of_transaction(
    store: &SqlStore,
    transaction_id: TransactionId,
) -> StoreResult<Option<StoredEntry>> {
    let row = sqlx::query("SELECT * FROM ach_entries WHERE transaction_id = $1")
        .bind(store.ids.stored(transaction_id.0))
        .fetch_optional(&store.reads)
        .await?;
    row.as_ref()
        .map(|row| rails::stored_entry(row, store.ids))
        .transpose()
}

pub(crate) async fn rail_file(store: &SqlStore, name: &str) -> StoreResult<Option<RailFile>> {
    let row = sqlx::query("SELECT * FROM rail_files WHERE name = $1")
        .bind(name)
        .fetch_optional(&store.reads)
        .await?;
    row.as_ref()
        .map(|row| rails::rail_file(row, store.ids))
        .transpose()
}

pub(crate) async fn list_rail_files(
    store: &SqlStore,
    merchant_id: Option<MerchantId>,
    limit: i64,
) -> StoreResult<Vec<RailFile>> {
    let rows = match merchant_id {
        Some(merchant_id) => {
            sqlx::query("SELECT * FROM rail_files WHERE merchant_id = $1 ORDER BY created_at DESC, name DESC LIMIT $2")
                .bind(store.ids.stored(merchant_id.0))
                .bind(limit)
                .fetch_all(&store.reads)
                .await?
        }
        None => {
            sqlx::query("SELECT * FROM rail_files ORDER BY created_at DESC, name DESC LIMIT $1")
                .bind(limit)
                .fetch_all(&store.reads)
                .await?
        }
    };
    rows.iter()
        .map(|row| rails::rail_file(row, store.ids))
        .collect()
}

pub(crate) async fn list_instant_messages(
    store: &SqlStore,
    merchant_id: Option<MerchantId>,
    transaction_id: Option<TransactionId>,
    limit: i64,
) -> StoreResult<Vec<InstantMessage>> {
    // NULL stands for "any".
    let rows = sqlx::query(
        "SELECT * FROM instant_messages WHERE ($1 IS NULL OR merchant_id = $1) \
         AND ($2 IS NULL OR transaction_id = $2) ORDER BY created_at DESC, message_id DESC LIMIT $3",
    )
    .bind(merchant_id.map(|merchant_id| store.ids.stored(merchant_id.0)))
    .bind(transaction_id.map(|transaction_id| store.ids.stored(transaction_id.0)))
    .bind(limit)
    .fetch_all(&store.reads)
    .await?;
    rows.iter()
        .map(|row| rails::instant_message(row, store.ids))
        .collect()
}

pub(crate) async fn instant_message(
    store: &SqlStore,
    message_id: &str,
) -> StoreResult<Option<InstantMessage>> {
    let row = sqlx::query("SELECT * FROM instant_messages WHERE message_id = $1")
        .bind(message_id)
        .fetch_optional(&store.reads)
        .await?;
    row.as_ref()
        .map(|row| rails::instant_message(row, store.ids))
        .transpose()
}

pub(crate) async fn bank_account(
    store: &SqlStore,
    routing_number: &str,
    account_number: &str,
) -> StoreResult<Option<BankAccountRecord>> {
    let row = sqlx::query(
        "SELECT * FROM bank_accounts WHERE routing_number = $1 AND account_number = $2",
    )
    .bind(routing_number)
    .bind(account_number)
    .fetch_optional(&store.reads)
    .await?;
    row.as_ref().map(rails::bank_account).transpose()
}

pub(crate) async fn forced_outcome(
    store: &SqlStore,
    transaction_id: TransactionId,
) -> StoreResult<Option<ForcedOutcome>> {
    let row = sqlx::query("SELECT * FROM forced_outcomes WHERE transaction_id = $1")
        .bind(store.ids.stored(transaction_id.0))
        .fetch_optional(&store.reads)
        .await?;
    row.as_ref().map(rails::forced_outcome).transpose()
}

/// One account's postings within a window, in time order: a range of the index by account and
/// time (migration 0010), however long the account's history.
const ACCOUNT_POSTINGS: &str = "SELECT transaction_id, amount, created_at FROM ledger_postings \
     WHERE account = $1 AND created_at >= $2 AND created_at < $3 ORDER BY created_at, posting_id";

pub(crate) async fn account_postings(
    store: &SqlStore,
    account: &str,
    from: TimestampMs,
    to: TimestampMs,
) -> StoreResult<Vec<(TransactionId, i64, TimestampMs)>> {
    let rows: Vec<(i64, i64, i64)> = sqlx::query_as(ACCOUNT_POSTINGS)
        .bind(account)
        .bind(from)
        .bind(to)
        .fetch_all(&store.reads)
        .await?;
    rows.into_iter()
        .map(|(stored_id, amount, created_at)| {
            let transaction_id = store
                .ids
                .id(stored_id)
                .ok_or_else(|| corrupt("transaction_id"))?;
            Ok((TransactionId(transaction_id), amount, created_at))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::ACCOUNT_POSTINGS;
    use crate::test_support::sqlite_plans_on_a_new_store;

    /// A settlement report's postings are a range of the index by account and time, read in
    /// the report's order: not every posting of the account, and no sort.
    #[tokio::test]
    async fn an_accounts_postings_in_a_window_are_one_range_of_its_index() {
        let [plan] = sqlite_plans_on_a_new_store("postings-plan", [ACCOUNT_POSTINGS]).await;
        assert!(
            plan.contains(
                "USING INDEX ledger_postings_by_account_time (account=? AND created_at>? AND created_at<?)"
            ),
            "{plan}"
        );
        assert!(!plan.contains("TEMP B-TREE"), "{plan}");
    }
}
