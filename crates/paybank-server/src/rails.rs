//! The simulated US bank network: paybank's ACH files at each cut-off, the receiving banks that
//! post them and answer with returns and notifications of change, instant payments over RTP and
//! FedNow, and recurring captures. Each piece of work is a `rail_jobs` row with a due time, run
//! by the workers (or a sandbox clock advance) when the clock passes it.

pub mod ach;
pub mod banks;
pub mod files;
pub mod instant;

use paybank_core::autocapture::recurring_capture;
use paybank_core::ids::PaymentId;
use paybank_core::rails::{RailJob, RailJobKind};
use paybank_store::{RailWrite, WriteSet};

use crate::app::AppState;
use crate::service::change_chain_at;

/// Claims and runs the network jobs due now; returns how many ran.
pub async fn run_due_rail_jobs(state: &AppState) -> anyhow::Result<usize> {
    let now = state.clock.now();
    let workers = &state.config.workers;
    let jobs = state
        .store
        .claim_due_rail_jobs(now, workers.lease_ms, workers.batch_size)
        .await?;
    for job in &jobs {
        run_job(state, job).await?;
    }
    Ok(jobs.len())
}

async fn run_job(state: &AppState, job: &RailJob) -> anyhow::Result<()> {
    let write = match job.kind {
        RailJobKind::AchCutoff => ach::originate_files(state, job).await?,
        RailJobKind::AchSettle => ach::post_entries(state, job).await?,
        RailJobKind::AchReceive => ach::read_answers(state, job).await?,
        RailJobKind::InstantSend => instant::send(state, job).await?,
        RailJobKind::InstantAnswer | RailJobKind::InstantFollowUp => {
            instant::answer(state, job).await?
        }
        RailJobKind::RecurringCapture => recurring(state, job).await?,
    };
    finish(state, job, write).await
}

/// Commits what a job wrote together with its retirement, then mirrors new files to disk.
async fn finish(state: &AppState, job: &RailJob, mut write: RailWrite) -> anyhow::Result<()> {
    write.jobs_done.push(job.job_id.clone());
    let files = write.files.clone();
    state
        .commit(WriteSet {
            rail: Some(write),
            ..WriteSet::default()
        })
        .await?;
    files::mirror(state, &files);
    Ok(())
}

/// A Recurring payment's automatic capture `index` (subject `payment:index`), which also
/// schedules the next one. A schedule whose authorization is gone or used up just ends.
async fn recurring(state: &AppState, job: &RailJob) -> anyhow::Result<RailWrite> {
    let parsed = job
        .subject
        .split_once(':')
        .and_then(|(payment, index)| Some((payment.parse().ok()?, index.parse().ok()?)));
    let Some((payment_id, index)) = parsed else {
        tracing::warn!(job_id = %job.job_id, "malformed recurring capture job");
        return Ok(RailWrite::default());
    };
    change_chain_at(
        state,
        PaymentId(payment_id),
        job.due_at,
        |ctx, chain| match recurring_capture(ctx, chain, index) {
            Ok(change) => Some(change),
            Err(error) => {
                tracing::info!(%error, payment_id, index, "recurring schedule ends");
                None
            }
        },
    )
    .await?;
    Ok(RailWrite::default())
}
