//! Running due timers: each is a core settlement step applied to its payment chain.

use paybank_core::change::Timer;
use paybank_core::rules::Ctx;
use paybank_core::settlement::run_timer;
use paybank_store::{ChainOf, StoreError, WriteSet};

use crate::app::AppState;
use crate::ids::IDS_PER_COMMAND;
use crate::service::chain_merchant;

const CONFLICT_RETRIES_MAX: usize = 8;

/// Claims and runs the timers due now; returns how many ran.
pub async fn run_due_timers(state: &AppState) -> anyhow::Result<usize> {
    let now = state.clock.now();
    let workers = &state.config.workers;
    let timers = state
        .store
        .claim_due_timers(now, workers.lease_ms, workers.batch_size)
        .await?;
    let count = timers.len();
    let payment = |timer: &Timer| timer.payment_id;
    let work = |state: AppState, timer| async move { run_one(&state, &timer).await };
    super::in_order_per_key(state, timers, payment, work).await?;
    Ok(count)
}

async fn run_one(state: &AppState, timer: &Timer) -> anyhow::Result<()> {
    for _ in 0..CONFLICT_RETRIES_MAX {
        let of = ChainOf::Payment(timer.payment_id);
        let Some(chain) = state.store.chain_to_change(of).await? else {
            tracing::warn!(timer_id = %timer.timer_id, "timer for a missing payment");
            return Ok(());
        };
        let merchant = chain_merchant(state, &chain).await?;
        let mut ids = state
            .ids
            .reserve(state.store.as_ref(), IDS_PER_COMMAND)
            .await?;
        // The step happens at its due time, not whenever the worker got to it, so a worker
        // that was down does not shift settlement dates.
        let mut ctx = Ctx {
            merchant: &merchant,
            policy: &state.policy,
            ids: &mut ids,
            now: timer.due_at,
        };
        let change = run_timer(&mut ctx, &chain, timer);
        match state
            .store
            .commit(WriteSet {
                change: Some(change.into()),
                ..WriteSet::default()
            })
            .await
        {
            Ok(()) => return Ok(()),
            Err(StoreError::Conflict) => continue,
            Err(error) => return Err(error.into()),
        }
    }
    anyhow::bail!("timer {} kept conflicting", timer.timer_id)
}
