//! PostgreSQL only: chain reads asked for while earlier ones are still running go to the
//! database together, as one statement.
//!
//! Why: a chain read is one small statement, and PostgreSQL's cost for it is mostly what any
//! statement costs (the protocol, waking a backend, starting the executor): in a profile of
//! durable captures, the read pool's backends spent more CPU than the writer's. Under load,
//! reads queue while the statements in flight run, and the next statement takes every read
//! queued by then, much as the group-commit writer takes every queued change. An idle store
//! sends each read at once, alone, so a lone read waits for nothing.
//!
//! Each chain still comes from one statement, so from one snapshot; and a read queued after a
//! commit was acknowledged goes into a statement that starts after it, so it sees the commit.

use std::collections::HashMap;
use std::sync::Arc;

use paybank_core::ids::StoredIds;
use paybank_core::model::PaymentChain;
use sqlx::AnyPool;
use tokio::sync::{mpsc, oneshot, Semaphore};

use crate::chain_read::{self, ChainRows};
use crate::columns::Columns;
use crate::{StoreError, StoreResult};

/// Reads waiting at most; when full, callers wait for room.
const QUEUE_LENGTH_MAX: usize = 4096;
/// Chains one statement reads at most.
const BATCH_MAX: usize = 128;
/// Statements in flight at once. Fewer than the pool's connections, so other reads still find
/// one; and when all are busy, reads gather into the next statement. On the 2-core bench
/// machine two gathered more reads per statement than four and did better (BENCHMARKS.md).
const IN_FLIGHT_MAX: usize = 2;

/// What a chain is read by.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum ChainKey {
    Payment(i64),
    Transaction(i64),
    /// The part of a transaction's chain a rule that only adds a child needs (`ChainOf`).
    ForNewChild(i64),
}

type Answer = StoreResult<Option<PaymentChain>>;

struct Request {
    key: ChainKey,
    reply: oneshot::Sender<Answer>,
}

/// The queue of chain reads, served by a task of their own.
pub(crate) struct ChainReads {
    requests: mpsc::Sender<Request>,
}

/// What the task serving chain reads needs: the pool, and how ids are stored.
#[derive(Clone)]
struct Reader {
    pool: AnyPool,
    ids: StoredIds,
}

impl ChainReads {
    /// Starts the task serving reads through `pool`; it ends when this is dropped.
    pub(crate) fn spawn(pool: AnyPool, ids: StoredIds) -> ChainReads {
        let (requests, queue) = mpsc::channel(QUEUE_LENGTH_MAX);
        tokio::spawn(dispatch(Reader { pool, ids }, queue));
        ChainReads { requests }
    }

    /// The chain `key` names, or `None` when there is no such payment or transaction.
    pub(crate) async fn chain(&self, key: ChainKey) -> Answer {
        let (reply, answer) = oneshot::channel();
        let request = Request { key, reply };
        self.requests.send(request).await.map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }
}

fn stopped() -> StoreError {
    StoreError::Database("the chain reader stopped".to_owned())
}

/// Takes a read, waits for a free statement slot, then takes whatever else queued meanwhile.
async fn dispatch(reader: Reader, mut queue: mpsc::Receiver<Request>) {
    let slots = Arc::new(Semaphore::new(IN_FLIGHT_MAX));
    while let Some(first) = queue.recv().await {
        let Ok(slot) = slots.clone().acquire_owned().await else {
            return;
        };
        let mut batch = vec![first];
        while batch.len() < BATCH_MAX {
            match queue.try_recv() {
                Ok(request) => batch.push(request),
                Err(_) => break,
            }
        }
        let reader = reader.clone();
        tokio::spawn(async move {
            answer(&reader, batch).await;
            drop(slot);
        });
    }
}

async fn answer(reader: &Reader, batch: Vec<Request>) {
    let chains = read(reader, batch.iter().map(|request| request.key)).await;
    for request in batch {
        let answer = match &chains {
            Ok(chains) => Ok(chains.get(&request.key).cloned()),
            Err(error) => Err(StoreError::Database(error.to_string())),
        };
        // A caller that gave up no longer listens.
        let _ = request.reply.send(answer);
    }
}

/// The chains of `keys` that exist: one statement for the payments asked for, one for the
/// transactions, one for the parts of chains new children need (and one more for those of
/// them that must be read whole after all).
async fn read(
    reader: &Reader,
    keys: impl Iterator<Item = ChainKey>,
) -> StoreResult<HashMap<ChainKey, PaymentChain>> {
    let (mut payments, mut transactions, mut parents) = (Vec::new(), Vec::new(), Vec::new());
    for key in keys {
        match key {
            ChainKey::Payment(id) => payments.push(id),
            ChainKey::Transaction(id) => transactions.push(id),
            ChainKey::ForNewChild(id) => parents.push(id),
        }
    }
    let mut chains = HashMap::new();
    let by_payment = read_many(
        reader,
        &chain_read::BY_PAYMENTS,
        payments,
        ChainKey::Payment,
    );
    chains.extend(by_payment.await?);
    let by_transaction = read_many(
        reader,
        &chain_read::BY_TRANSACTIONS,
        transactions,
        ChainKey::Transaction,
    );
    chains.extend(by_transaction.await?);
    chains.extend(read_for_new_children(reader, parents).await?);
    Ok(chains)
}

/// The parts of chains [`chain_read::FOR_NEW_CHILDREN`] reads, and the whole of those that
/// [`chain_read::needs_whole`], each from one statement.
async fn read_for_new_children(
    reader: &Reader,
    parents: Vec<i64>,
) -> StoreResult<Vec<(ChainKey, PaymentChain)>> {
    let sql = &chain_read::FOR_NEW_CHILDREN;
    let (whole, mut parts): (Vec<_>, Vec<_>) =
        (read_many(reader, sql, parents, ChainKey::ForNewChild).await?)
            .into_iter()
            .partition(|(_, part)| chain_read::needs_whole(part));
    let whole = whole.into_iter().filter_map(|(key, _)| match key {
        ChainKey::ForNewChild(id) => Some(id),
        _ => None,
    });
    let sql = &chain_read::BY_TRANSACTIONS;
    parts.extend(read_many(reader, sql, whole.collect(), ChainKey::ForNewChild).await?);
    Ok(parts)
}

/// Runs one of the many-chain statements for the stored ids `asked`; each chain under the key
/// of the id it was asked for.
async fn read_many(
    reader: &Reader,
    sql: &str,
    mut asked: Vec<i64>,
    key: fn(i64) -> ChainKey,
) -> StoreResult<Vec<(ChainKey, PaymentChain)>> {
    if asked.is_empty() {
        return Ok(Vec::new());
    }
    asked.sort_unstable();
    asked.dedup();
    let list: Vec<String> = asked.iter().map(i64::to_string).collect();
    let rows = sqlx::query(sql)
        .bind(list.join(","))
        .fetch_all(&reader.pool)
        .await?;
    let mut chains: Vec<(i64, ChainRows)> = Vec::new();
    for row in &rows {
        let asked: i64 = row.get("asked")?;
        if chains.last().is_none_or(|(id, _)| *id != asked) {
            chains.push((asked, ChainRows::new(reader.ids)));
        }
        if let Some((_, chain)) = chains.last_mut() {
            chain.push(row)?;
        }
    }
    Ok(chains
        .into_iter()
        .filter_map(|(id, rows)| Some((key(id), rows.finish()?)))
        .collect())
}
