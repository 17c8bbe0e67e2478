//! The group-commit writer: one task per database owns the write connection, takes every
//! queued command (up to a bound), runs each in its own savepoint inside one transaction,
//! commits once, and only then answers each caller. One fsync serves the whole batch.

use paybank_core::change::Timer;
use paybank_core::rails::RailJob;
use sqlx::{AnyConnection, Connection};
use tokio::sync::{mpsc, oneshot};

use crate::sql::{Backend, WriterOptions};
use crate::{writes, StoreError, StoreResult, StoredEvent, WriteSet};

/// A command for the writer.
#[derive(Debug)]
pub(crate) enum Command {
    Commit(Box<WriteSet>),
    ClaimTimers { now: i64, lease_ms: i64, limit: i64 },
    ClaimEvents { now: i64, lease_ms: i64, limit: i64 },
    AdvanceClock { delta_ms: i64 },
    ReserveIds { count: u64 },
    SettingOrInsert { key: String, value: String },
    ClaimRailJobs { now: i64, lease_ms: i64, limit: i64 },
    ReserveCounter { name: String, count: i64 },
}

/// The writer's answer to a command.
#[derive(Debug)]
pub(crate) enum Reply {
    Done,
    Timers(Vec<Timer>),
    Events(Vec<StoredEvent>),
    RailJobs(Vec<RailJob>),
    Number(i64),
    Text(String),
}

struct Job {
    command: Command,
    reply: oneshot::Sender<StoreResult<Reply>>,
}

/// The cheap, cloneable way in to the writer task.
#[derive(Clone)]
pub(crate) struct WriterHandle {
    sender: mpsc::Sender<Job>,
}

impl WriterHandle {
    /// Starts the writer task on `connection`.
    pub(crate) fn spawn(
        connection: AnyConnection,
        backend: Backend,
        options: WriterOptions,
    ) -> WriterHandle {
        let (sender, receiver) = mpsc::channel(options.queue_length_max);
        tokio::spawn(writer_loop(connection, receiver, backend, options));
        WriterHandle { sender }
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

async fn writer_loop(
    mut connection: AnyConnection,
    mut receiver: mpsc::Receiver<Job>,
    backend: Backend,
    options: WriterOptions,
) {
    let mut batch: Vec<Job> = Vec::with_capacity(options.batch_size_max);
    while let Some(first) = receiver.recv().await {
        batch.push(first);
        while batch.len() < options.batch_size_max {
            match receiver.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        run_batch(&mut connection, backend, &mut batch).await;
    }
}

async fn run_batch(connection: &mut AnyConnection, backend: Backend, batch: &mut Vec<Job>) {
    let results = match apply_batch(connection, backend, batch).await {
        Ok(results) => results,
        Err(error) => {
            tracing::error!(%error, "write batch failed");
            let message = error.to_string();
            batch
                .iter()
                .map(|_| Err(StoreError::Database(message.clone())))
                .collect()
        }
    };
    for (job, result) in batch.drain(..).zip(results) {
        // A caller that stopped waiting (timeout, disconnect) is fine: its write stands.
        let _ = job.reply.send(result);
    }
}

/// Runs every command of the batch in one transaction. A command's own failure rolls back only
/// its savepoint; a failure of the transaction itself fails the whole batch.
async fn apply_batch(
    connection: &mut AnyConnection,
    backend: Backend,
    batch: &[Job],
) -> Result<Vec<StoreResult<Reply>>, sqlx::Error> {
    let mut transaction = connection.begin().await?;
    let mut results = Vec::with_capacity(batch.len());
    for job in batch {
        let mut savepoint = transaction.begin().await?;
        match writes::apply(&mut savepoint, backend, &job.command).await {
            Ok(reply) => {
                savepoint.commit().await?;
                results.push(Ok(reply));
            }
            Err(error) => {
                savepoint.rollback().await?;
                results.push(Err(error));
            }
        }
    }
    transaction.commit().await?;
    Ok(results)
}
