//! Background work: timers (settlement steps, session expiry) and event deliveries, run when
//! the clock passes their due time, by the worker loop or by a sandbox clock advance.
//!
//! Jobs are idempotent: a timer whose transaction moved on only retires itself, and claims are
//! leased, so a crashed worker's items are picked up again after the lease.

pub mod delivery;
pub mod timers;

use std::time::Duration;

use tokio::sync::watch;

use crate::app::AppState;

/// What one round of due work did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Round {
    pub timers: usize,
    pub events: usize,
}

impl Round {
    pub fn is_empty(&self) -> bool {
        self.timers == 0 && self.events == 0
    }
}

/// Runs `work` on every item: items with the same key one after the other, in the order given;
/// items with different keys at once. Their commits then share group commits (one fsync for
/// many) instead of each waiting for its own, while one payment's or one transaction's steps
/// keep their order.
async fn in_order_per_key<T, K, Work, Done>(
    state: &AppState,
    items: Vec<T>,
    key: impl Fn(&T) -> K,
    work: Work,
) -> anyhow::Result<()>
where
    T: Send + 'static,
    K: PartialEq,
    Work: Fn(AppState, T) -> Done + Clone + Send + 'static,
    Done: std::future::Future<Output = anyhow::Result<()>> + Send,
{
    let mut queues: Vec<(K, Vec<T>)> = Vec::new();
    for item in items {
        let item_key = key(&item);
        match queues
            .iter_mut()
            .find(|(queue_key, _)| *queue_key == item_key)
        {
            Some((_, queue)) => queue.push(item),
            None => queues.push((item_key, vec![item])),
        }
    }
    let mut running = tokio::task::JoinSet::new();
    for (_, queue) in queues {
        let (state, work) = (state.clone(), work.clone());
        running.spawn(async move {
            for item in queue {
                work(state.clone(), item).await?;
            }
            anyhow::Ok(())
        });
    }
    while let Some(result) = running.join_next().await {
        result??;
    }
    Ok(())
}

/// Runs everything due at the current simulated time until nothing is left.
pub async fn run_pending_jobs(state: &AppState) -> anyhow::Result<Round> {
    let _guard = state.scheduler.lock().await;
    run_due(state).await
}

async fn run_due(state: &AppState) -> anyhow::Result<Round> {
    let mut total = Round::default();
    loop {
        // Chain timers first: a cut-off's submissions must be queued before its files are written.
        let mut timers = timers::run_due_timers(state).await?;
        if timers == 0 {
            timers = crate::rails::run_due_rail_jobs(state).await?;
        }
        let events = delivery::deliver_due_events(state).await?;
        total.timers += timers;
        total.events += events;
        if timers == 0 && events == 0 {
            return Ok(total);
        }
    }
}

/// Moves simulated time forward by `delta_ms`, running what falls due on the way in order:
/// the clock stops at each due time, so timestamps and retries happen when they should.
pub async fn advance_clock(state: &AppState, delta_ms: i64) -> anyhow::Result<i64> {
    let _guard = state.scheduler.lock().await;
    refresh_clock(state).await?;
    let target = state.clock.now() + delta_ms;
    run_due(state).await?;
    while let Some(due_at) = state.store.next_due_at().await? {
        if due_at > target {
            break;
        }
        let now = state.clock.now();
        if due_at > now {
            let offset = state.store.advance_clock(due_at - now).await?;
            state.clock.set_offset_ms(offset);
        }
        // Something due but not claimable (another worker holds it) must not spin this loop.
        if run_due(state).await?.is_empty() && due_at <= now {
            break;
        }
    }
    let remaining = target - state.clock.now();
    if remaining > 0 {
        let offset = state.store.advance_clock(remaining).await?;
        state.clock.set_offset_ms(offset);
    }
    run_due(state).await?;
    Ok(state.clock.now())
}

/// Picks up a clock advance made by another process or node.
async fn refresh_clock(state: &AppState) -> anyhow::Result<()> {
    state.clock.set_offset_ms(state.store.clock_offset().await?);
    Ok(())
}

/// The worker loop of `paybank serve`: polls for due work until told to stop.
pub async fn run_workers(state: AppState, mut stop: watch::Receiver<bool>) {
    let interval = Duration::from_millis(state.config.workers.poll_interval_ms);
    loop {
        let round = async {
            refresh_clock(&state).await?;
            run_pending_jobs(&state).await
        };
        if let Err(error) = round.await {
            tracing::error!(%error, "worker round failed");
        }
        tokio::select! {
            _ = tokio::time::sleep(interval) => {}
            _ = state.work_ready.notified() => {}
            _ = stop.changed() => return,
        }
    }
}
