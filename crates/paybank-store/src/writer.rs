//! The group-commit writer: one task per database owns the write connection, takes every
//! queued command (up to a bound), runs each in its own savepoint inside one transaction,
//! commits once, and only then answers each caller. One fsync serves the whole batch.
//!
//! On SQLite the writer is a thread of its own holding a rusqlite connection: its statements
//! run inline, and the commit's fsync blocks only that thread, so requests keep arriving and
//! queue for the next batch meanwhile. On PostgreSQL it is a task on the runtime using sqlx.
//! A SQLite writer that has changed nothing for a moment, or is closing, empties the WAL.

use std::sync::Arc;
use std::time::Duration;

use paybank_core::change::Timer;
use paybank_core::ids::StoredIds;
use paybank_core::model::PaymentChain;
use paybank_core::rails::RailJob;
use sqlx::AnyConnection;
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

use crate::chain_batch::ChainKey;
use crate::db::Db;
use crate::sql::{Backend, WriterOptions};
use crate::sqlite_reads::Commits;
use crate::writer_stats::WriterMeter;
use crate::{bulk, writes, DueEvent, StoreError, StoreResult, WriteSet};

/// A command for the writer.
#[derive(Debug)]
pub(crate) enum Command {
    Commit(Box<WriteSet>),
    ClaimTimers {
        now: i64,
        lease_ms: i64,
        limit: i64,
    },
    ClaimEvents {
        now: i64,
        lease_ms: i64,
        limit: i64,
    },
    AdvanceClock {
        delta_ms: i64,
    },
    ReserveIds {
        count: u64,
    },
    SettingOrInsert {
        key: String,
        value: String,
    },
    ClaimRailJobs {
        now: i64,
        lease_ms: i64,
        limit: i64,
    },
    ReserveCounter {
        name: String,
        count: i64,
    },
    /// SQLite only: a chain about to be changed, read on the writer's connection before its
    /// next batch begins (see [`answer_chain_reads`]).
    ReadChain(ChainKey),
    /// Copies the WAL back and empties it once the batch it came with is committed (SQLite;
    /// nothing on PostgreSQL).
    EmptyWal,
}

/// The writer's answer to a command.
#[derive(Debug)]
pub(crate) enum Reply {
    Done,
    Timers(Vec<Timer>),
    Events(Vec<DueEvent>),
    RailJobs(Vec<RailJob>),
    Number(i64),
    Text(String),
    Chain(Option<Box<PaymentChain>>),
}

struct Job {
    command: Command,
    reply: oneshot::Sender<StoreResult<Reply>>,
}

/// The connection the writer owns, and how ids are stored.
pub(crate) struct WriteConnection {
    link: Link,
    ids: StoredIds,
}

enum Link {
    Sqlite(rusqlite::Connection),
    Sqlx(AnyConnection),
}

impl WriteConnection {
    pub(crate) fn sqlite(connection: rusqlite::Connection, ids: StoredIds) -> WriteConnection {
        WriteConnection {
            link: Link::Sqlite(connection),
            ids,
        }
    }

    pub(crate) fn sqlx(connection: AnyConnection, ids: StoredIds) -> WriteConnection {
        WriteConnection {
            link: Link::Sqlx(connection),
            ids,
        }
    }

    fn db(&mut self) -> Db<'_> {
        match &mut self.link {
            Link::Sqlite(connection) => Db::sqlite(connection, self.ids),
            Link::Sqlx(connection) => Db::sqlx(connection, self.ids),
        }
    }

    /// SQLite only: copies the WAL back into the database file and empties it. The writer
    /// checkpoints only every 16,384 frames while busy (see `sql.rs`), and a WAL that large
    /// must be read whole by the next process to open the database, so an idle or closing
    /// writer leaves it empty. Readers still on old frames make it wait a little, then give up,
    /// which only leaves the WAL for later: commands must not queue behind a checkpoint.
    fn checkpoint(&mut self) {
        if let Link::Sqlite(connection) = &mut self.link {
            let checkpoint = connection
                .busy_timeout(CHECKPOINT_WAIT_MAX)
                .and_then(|()| connection.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);"));
            if let Err(error) = checkpoint {
                tracing::warn!(%error, "WAL checkpoint failed");
            }
            if let Err(error) = connection.busy_timeout(crate::sql::BUSY_TIMEOUT) {
                tracing::warn!(%error, "restoring the writer's busy timeout failed");
            }
        }
    }

    /// Rows changed since the connection opened; SQLite only, where checkpoints are ours to run.
    fn total_changes(&self) -> u64 {
        match &self.link {
            Link::Sqlite(connection) => connection.total_changes(),
            Link::Sqlx(_) => 0,
        }
    }

    /// Runs a statement of transaction control (BEGIN, SAVEPOINT, …).
    async fn control(&mut self, sql: &str) -> StoreResult<()> {
        self.db().control(sql).await
    }
}

/// The cheap, cloneable way in to the writer task.
#[derive(Clone)]
pub(crate) struct WriterHandle {
    sender: mpsc::Sender<Job>,
    meter: Arc<WriterMeter>,
}

impl WriterHandle {
    /// Starts the writer on `connection`: a thread of its own for SQLite, a task for sqlx.
    pub(crate) fn spawn(
        connection: WriteConnection,
        backend: Backend,
        options: WriterOptions,
        commits: Commits,
    ) -> StoreResult<WriterHandle> {
        let (sender, receiver) = mpsc::channel(options.queue_length_max);
        let meter = Arc::new(WriterMeter::default());
        let counts = meter.clone();
        match connection.link {
            Link::Sqlite(_) => {
                // The commands are async for sqlx's sake; on rusqlite they never wait, so a
                // single-threaded runtime on the writer's thread drives them.
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_time()
                    .build()
                    .map_err(|error| StoreError::Database(error.to_string()))?;
                std::thread::Builder::new()
                    .name("paybank-writer".to_owned())
                    .spawn(move || {
                        runtime.block_on(writer_loop(
                            connection, receiver, backend, options, commits, counts,
                        ))
                    })
                    .map_err(|error| StoreError::Database(error.to_string()))?;
            }
            Link::Sqlx(_) => {
                tokio::spawn(writer_loop(
                    connection, receiver, backend, options, commits, counts,
                ));
            }
        }
        Ok(WriterHandle { sender, meter })
    }

    /// What the writer has done since it started.
    pub(crate) fn stats(&self) -> crate::WriterStats {
        self.meter.read()
    }

    /// Queues a command and waits until its batch is durably committed (or failed).
    pub(crate) async fn run(&self, command: Command) -> StoreResult<Reply> {
        let (reply, answer) = oneshot::channel();
        self.sender
            .send(Job { command, reply })
            .await
            .map_err(|_| StoreError::Database("the writer has stopped".to_owned()))?;
        answer
            .await
            .map_err(|_| StoreError::Database("the writer dropped a command".to_owned()))?
    }
}

/// How long an idle checkpoint waits for readers on old frames.
const CHECKPOINT_WAIT_MAX: Duration = Duration::from_millis(100);
/// How long after its last change the writer, if given nothing to change meanwhile,
/// checkpoints. Workers' polls that find nothing change nothing, so they do not put it off.
const IDLE_CHECKPOINT_AFTER: Duration = Duration::from_millis(250);

async fn writer_loop(
    mut connection: WriteConnection,
    mut receiver: mpsc::Receiver<Job>,
    backend: Backend,
    options: WriterOptions,
    commits: Commits,
    meter: Arc<WriterMeter>,
) {
    let mut batch: Vec<Job> = Vec::with_capacity(options.batch_size_max);
    let mut checkpoint_due: Option<Instant> = None;
    loop {
        let first = match checkpoint_due {
            None => receiver.recv().await,
            Some(due) => match tokio::time::timeout_at(due, receiver.recv()).await {
                Ok(first) => first,
                Err(_idle) => {
                    connection.checkpoint();
                    checkpoint_due = None;
                    continue;
                }
            },
        };
        // Every handle is gone: the store is closing.
        let Some(first) = first else { break };
        batch.push(first);
        take_queued(&mut receiver, &mut batch, options.batch_size_max);
        if answer_chain_reads(&connection, &mut batch) > 0 {
            gather_changes(&mut receiver, &mut batch, options.batch_size_max);
            // Chain reads that came meanwhile, answered before the batch as the first were.
            answer_chain_reads(&connection, &mut batch);
        }
        let empty_wal: Vec<Job> = batch
            .extract_if(.., |job| matches!(job.command, Command::EmptyWal))
            .collect();
        if !batch.is_empty() {
            let changes_before = connection.total_changes();
            run_batch(&mut connection, backend, &mut batch, &commits, &meter).await;
            if connection.total_changes() != changes_before {
                checkpoint_due = Some(Instant::now() + IDLE_CHECKPOINT_AFTER);
            }
        }
        if !empty_wal.is_empty() {
            connection.checkpoint();
            checkpoint_due = None;
        }
        for job in empty_wal {
            let _ = job.reply.send(Ok(Reply::Done));
        }
    }
    connection.checkpoint();
}

/// Answers the batch's chain reads at once, before its transaction begins, so each sees every
/// commit so far and nothing uncommitted, and leaves the other commands in the batch.
///
/// Why on the writer's connection: SQLite empties a connection's page cache whenever another
/// connection has committed since its last read, so on a read connection the chain read that
/// precedes each change (a capture, say) fetched its pages again after every batch. The
/// writer's own commits leave its cache warm.
///
/// Several reads share one read transaction: each read on its own began and ended one, which
/// was a tenth of a chain read's cost.
fn answer_chain_reads(connection: &WriteConnection, batch: &mut Vec<Job>) -> usize {
    let reads: Vec<Job> = batch
        .extract_if(.., |job| matches!(job.command, Command::ReadChain(_)))
        .collect();
    let count = reads.len();
    let Link::Sqlite(link) = &connection.link else {
        answer_each(connection, reads);
        return count;
    };
    // Without the transaction each read still gets the answer it would have had, so a failure
    // to begin or end one only costs time.
    let shared = reads.len() > 1 && crate::db::sqlite_control(link, "BEGIN").is_ok();
    answer_each(connection, reads);
    if shared {
        if let Err(error) = crate::db::sqlite_control(link, "COMMIT") {
            tracing::warn!(%error, "ending the chain reads' transaction failed");
            let _ = crate::db::sqlite_control(link, "ROLLBACK");
        }
    }
    count
}

/// Lets the callers of the chain reads just answered run before the batch begins, and adds
/// what they queued meanwhile to the batch: mostly the changes they read for, which otherwise
/// came a moment after the batch had begun and waited for the next one, so a capture took two
/// batches and two flushes. The server's threads run under `SCHED_BATCH` (see the binary's
/// `scheduling.rs`), where a thread the writer wakes waits for the writer to block, so on one
/// core nothing would run them before the batch's flush; the yield lets them run first, and
/// costs one system call when nothing else is ready (BENCHMARKS.md, SQLite captures item 37).
fn gather_changes(receiver: &mut mpsc::Receiver<Job>, batch: &mut Vec<Job>, batch_size_max: usize) {
    std::thread::yield_now();
    take_queued(receiver, batch, batch_size_max);
}

/// Adds every command already queued to the batch, up to `batch_size_max`, without waiting.
fn take_queued(receiver: &mut mpsc::Receiver<Job>, batch: &mut Vec<Job>, batch_size_max: usize) {
    while batch.len() < batch_size_max {
        match receiver.try_recv() {
            Ok(job) => batch.push(job),
            Err(_) => break,
        }
    }
}

fn answer_each(connection: &WriteConnection, reads: Vec<Job>) {
    for job in reads {
        if let Command::ReadChain(key) = job.command {
            let chain = read_chain(connection, key).map(|chain| chain.map(Box::new));
            // A caller that stopped waiting is fine: nothing was changed.
            let _ = job.reply.send(chain.map(Reply::Chain));
        }
    }
}

fn read_chain(connection: &WriteConnection, key: ChainKey) -> StoreResult<Option<PaymentChain>> {
    let Link::Sqlite(link) = &connection.link else {
        return Err(StoreError::Invariant(
            "chain reads go to the writer on SQLite only",
        ));
    };
    crate::sqlite_reads::load_chain_by(link, connection.ids, key)
}

/// Runs the batch and answers every command in it; `commits` and `meter` learn of the batch
/// before any caller does.
async fn run_batch(
    connection: &mut WriteConnection,
    backend: Backend,
    batch: &mut Vec<Job>,
    commits: &Commits,
    meter: &WriterMeter,
) {
    let began = std::time::Instant::now();
    let results = match apply_batch(connection, backend, batch).await {
        Ok(results) => results,
        Err(error) => {
            tracing::error!(%error, "write batch failed");
            // Leave no half-open transaction behind for the next batch.
            let _ = connection.control("ROLLBACK").await;
            let message = error.to_string();
            batch
                .iter()
                .map(|_| Err(StoreError::Database(message.clone())))
                .collect()
        }
    };
    // Before any answer: a read that begins after a caller learns of its commit sees it.
    commits.raise();
    meter.record(batch.len(), began.elapsed());
    for (job, result) in batch.drain(..).zip(results) {
        // A caller that stopped waiting (timeout, disconnect) is fine: its write stands.
        let _ = job.reply.send(result);
    }
}

/// Runs every command of the batch in one transaction. A command's own failure leaves the
/// others untouched; a failure of the transaction itself fails the whole batch.
///
/// Commands first run without savepoints: a savepoint copies every page a command touches
/// into its statement journal, and nearly every batch succeeds whole. Only when a command fails
/// (a conflict, a duplicate reference) is the batch rolled back and run again with a savepoint
/// per command. Commands only read and write the database, so the second run sees the same
/// state and gives the same answers.
async fn apply_batch(
    connection: &mut WriteConnection,
    backend: Backend,
    batch: &[Job],
) -> StoreResult<Vec<StoreResult<Reply>>> {
    match apply_all_or_nothing(connection, backend, batch).await? {
        Ok(replies) => Ok(replies.into_iter().map(Ok).collect()),
        // A batch of one has nothing else to save: its failure is its answer.
        Err(error) if batch.len() == 1 => Ok(vec![Err(error)]),
        Err(_) => apply_each_in_savepoint(connection, backend, batch).await,
    }
}

fn begin(backend: Backend) -> &'static str {
    // IMMEDIATE takes SQLite's write lock up front rather than at the first write.
    match backend {
        Backend::Sqlite => "BEGIN IMMEDIATE",
        Backend::Postgres => "BEGIN",
    }
}

/// Commits the batch if every command succeeds; otherwise rolls it all back and says why.
async fn apply_all_or_nothing(
    connection: &mut WriteConnection,
    backend: Backend,
    batch: &[Job],
) -> StoreResult<Result<Vec<Reply>, StoreError>> {
    if backend == Backend::Postgres {
        if let Some(replies) = apply_in_one_statement(connection, batch).await? {
            return Ok(Ok(replies));
        }
    }
    // One `Db` for the batch, so each statement is looked up by its text once per batch.
    let mut db = connection.db();
    db.control(begin(backend)).await?;
    let mut replies = Vec::with_capacity(batch.len());
    for job in batch {
        match writes::apply(&mut db, backend, &job.command).await {
            Ok(reply) => replies.push(reply),
            Err(error) => {
                db.control("ROLLBACK").await?;
                return Ok(Err(error));
            }
        }
    }
    db.control("COMMIT").await?;
    Ok(Ok(replies))
}

/// PostgreSQL: commits a batch of changes with one statement (see `bulk`), when its commands
/// allow that. The statement commits itself, unless commands that run beside the changes came
/// with them: then they run first, one by one, in a transaction around it all. `None` when the
/// commands do not allow it, or when the batch failed and wrote nothing: the change by change
/// run that follows then finds which command failed and says why.
async fn apply_in_one_statement(
    connection: &mut WriteConnection,
    batch: &[Job],
) -> StoreResult<Option<Vec<Reply>>> {
    let Some(changes) = bulk::changes_of(batch.iter().map(|job| &job.command)) else {
        return Ok(None);
    };
    let beside = batch.iter().any(|job| bulk::runs_beside(&job.command));
    if beside {
        connection.control("BEGIN").await?;
    }
    let mut replies = Vec::with_capacity(batch.len());
    for job in batch {
        let reply = match bulk::runs_beside(&job.command) {
            true => writes::apply(&mut connection.db(), Backend::Postgres, &job.command).await,
            false => Ok(Reply::Done),
        };
        let Ok(reply) = reply else {
            connection.control("ROLLBACK").await?;
            return Ok(None);
        };
        replies.push(reply);
    }
    let written = bulk::write_changes(&mut connection.db(), &changes).await;
    if let Err(error) = written {
        // Expected for a duplicate reference or a conflict; anything else here is a bug that
        // the change by change run would hide by succeeding, slower.
        tracing::debug!(%error, "a one-statement batch failed; writing it change by change");
        if beside {
            connection.control("ROLLBACK").await?;
        }
        return Ok(None);
    }
    if beside {
        connection.control("COMMIT").await?;
    }
    Ok(Some(replies))
}

/// Each command in its own savepoint: a failing one rolls back only its own writes.
async fn apply_each_in_savepoint(
    connection: &mut WriteConnection,
    backend: Backend,
    batch: &[Job],
) -> StoreResult<Vec<StoreResult<Reply>>> {
    let mut db = connection.db();
    db.control(begin(backend)).await?;
    let mut results = Vec::with_capacity(batch.len());
    for job in batch {
        db.control("SAVEPOINT command").await?;
        match writes::apply(&mut db, backend, &job.command).await {
            Ok(reply) => {
                db.control("RELEASE SAVEPOINT command").await?;
                results.push(Ok(reply));
            }
            Err(error) => {
                db.control("ROLLBACK TO SAVEPOINT command").await?;
                db.control("RELEASE SAVEPOINT command").await?;
                results.push(Err(error));
            }
        }
    }
    db.control("COMMIT").await?;
    Ok(results)
}

#[cfg(test)]
mod tests {
    use tokio::sync::{mpsc, oneshot};

    use super::{gather_changes, Command, Job};

    fn queue(count: usize) -> mpsc::Receiver<Job> {
        let (sender, receiver) = mpsc::channel(16);
        for _ in 0..count {
            let (reply, _answer) = oneshot::channel();
            let command = Command::ReserveIds { count: 1 };
            sender.try_send(Job { command, reply }).expect("room");
        }
        receiver
    }

    #[test]
    fn gathering_takes_what_is_queued_up_to_the_batch_bound() {
        let mut receiver = queue(5);
        let mut batch = Vec::new();
        gather_changes(&mut receiver, &mut batch, 3);
        assert_eq!(batch.len(), 3, "no more than the bound");
        gather_changes(&mut receiver, &mut batch, 16);
        assert_eq!(batch.len(), 5, "everything queued");
        gather_changes(&mut receiver, &mut batch, 16);
        assert_eq!(
            batch.len(),
            5,
            "an empty queue adds nothing and does not wait"
        );
    }
}
