//! Load made of whole payment flows rather than single requests: each flow is a signed
//! establish, the headless authorization and a capture, and its latency runs from when it was
//! due (open loop) or started (closed loop) to the capture's answer.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use crate::load::Outcome;
use crate::merchant_api::MerchantApi;

/// What a batch of flows did.
#[derive(Clone, Debug, Default)]
pub struct FlowTally {
    pub outcome: Outcome,
    /// Events the flows' steps that succeeded will cause, settlement included: 1 for an
    /// establish (Establish), 2 for an authorization (Update, Authorize), 3 for a capture
    /// (Authorize now, Process and Complete once the clock passes their due times).
    pub events: usize,
    /// The first failure, to say what went wrong.
    pub first_error: Option<String>,
}

/// Where flows go and how they are numbered: numbers never repeat within a server's life, so
/// no merchant reference is a duplicate.
#[derive(Clone)]
pub struct Flows {
    pub api: Arc<MerchantApi>,
    pub numbers: Arc<AtomicU64>,
}

#[derive(Default)]
struct Shared {
    ok: u64,
    errors: u64,
    latencies_us: Vec<u64>,
    events: usize,
    first_error: Option<String>,
}

impl Flows {
    /// Starts `rate` flows per second for `seconds`, at most `in_flight_max` at once; a flow
    /// waiting for a free slot is already late, and its latency says so.
    pub async fn open_loop(&self, rate: f64, seconds: f64, in_flight_max: usize) -> FlowTally {
        let total = (rate * seconds).round() as u64;
        let slots = Arc::new(Semaphore::new(in_flight_max));
        let shared = Arc::new(Mutex::new(Shared::default()));
        let mut tasks = JoinSet::new();
        let started = Instant::now();
        for index in 0..total {
            let due = started + Duration::from_secs_f64(index as f64 / rate);
            // Flows are due milliseconds apart, so the timer's millisecond ticks are fine here.
            tokio::time::sleep_until(due.into()).await;
            let slot = slots.clone().acquire_owned().await.expect("semaphore open");
            let (flows, shared) = (self.clone(), shared.clone());
            tasks.spawn(async move {
                flows.run_one(&shared, due).await;
                drop(slot);
            });
        }
        while tasks.join_next().await.is_some() {}
        finish(&shared, started, Some(rate))
    }

    /// `workers` flows back to back for `seconds`: the most flows the server completes.
    pub async fn closed_loop(&self, workers: usize, seconds: f64) -> FlowTally {
        let shared = Arc::new(Mutex::new(Shared::default()));
        let started = Instant::now();
        let deadline = started + Duration::from_secs_f64(seconds);
        let mut tasks = JoinSet::new();
        for _ in 0..workers {
            let (flows, shared) = (self.clone(), shared.clone());
            tasks.spawn(async move {
                while Instant::now() < deadline {
                    flows.run_one(&shared, Instant::now()).await;
                }
            });
        }
        while tasks.join_next().await.is_some() {}
        finish(&shared, started, None)
    }

    async fn run_one(&self, shared: &Mutex<Shared>, since: Instant) {
        let n = self.numbers.fetch_add(1, Ordering::Relaxed);
        let mut events = 0;
        let result = self.steps(n, &mut events).await;
        let latency_us = since.elapsed().as_micros() as u64;
        let mut shared = shared.lock().expect("flow tally lock");
        shared.events += events;
        shared.latencies_us.push(latency_us);
        match result {
            Ok(()) => shared.ok += 1,
            Err(error) => {
                shared.errors += 1;
                shared
                    .first_error
                    .get_or_insert(format!("flow {n}: {error:#}"));
            }
        }
    }

    /// One flow; `events` counts the events its successful steps cause.
    async fn steps(&self, n: u64, events: &mut usize) -> anyhow::Result<()> {
        let authorization = self.api.establish(&format!("flow-{n}")).await?;
        *events += 1;
        self.api.authorize(&authorization).await?;
        *events += 2;
        self.api
            .capture(&authorization, &format!("flow-capture-{n}"))
            .await?;
        *events += 3;
        Ok(())
    }
}

fn finish(shared: &Mutex<Shared>, started: Instant, offered: Option<f64>) -> FlowTally {
    let elapsed_s = started.elapsed().as_secs_f64();
    let mut shared = std::mem::take(&mut *shared.lock().expect("flow tally lock"));
    shared.latencies_us.sort_unstable();
    FlowTally {
        outcome: Outcome {
            offered_rate: offered,
            ok: shared.ok,
            errors: shared.errors,
            elapsed_s,
            latencies_us: shared.latencies_us,
        },
        events: shared.events,
        first_error: shared.first_error,
    }
}
