//! Scenario (c), the full flow as a merchant lives it: a signed establish, the consumer's
//! authorization at Demo Bank (headless), a capture, simulated days until the capture is
//! Completed, and every event delivered to a receiver that verifies each signature.
//!
//! The sandbox clock is one for the whole deployment, so flows run in batches: a batch of
//! flows up to the capture (open loop at the offered rate, then closed loop for the peak), one
//! clock advance that settles them all, then waiting until every event of the batch arrived.

use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::delivery_check::{check, DeliveryCheck};
use crate::flow_load::{FlowTally, Flows};
use crate::merchant_api::MerchantApi;
use crate::process::{dir_bytes, Server};
use crate::receiver::{Arrival, Receiver};
use crate::report::{Report, Row};
use crate::scenarios::{fresh_dir, start_paybank_with, ServerSettings};
use crate::seed::{config, seed_for};
use crate::writer_note::{writer_note_since, writer_stats};
use crate::Options;

const SCENARIO: &str = "(c) full flow";
/// Flows in flight at once: the closed loop's workers, and the open loop's bound.
const FLOWS_IN_FLIGHT: usize = 64;
const QUICK_FLOWS_IN_FLIGHT: usize = 16;
/// Ten days: past the ACH cut-off and the three banking days of settlement even across a
/// weekend and a holiday, so every capture of a batch ends Completed.
const SETTLE_SECONDS: i64 = 10 * 86_400;
/// How long a batch's events may take to arrive once the advance answered.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(120);
/// Event types the API's own commits cause. Process and Complete happen inside the clock
/// advance, at simulated due times, so their `createdAt` says nothing about delivery latency.
const API_EVENT_TYPES: [&str; 3] = ["Establish", "Update", "Authorize"];
const MB: f64 = 1024.0 * 1024.0;

/// One batch: its flows, the advance that settled them, and the wait for their events.
struct Batch {
    flows: FlowTally,
    api_s: f64,
    advance_s: f64,
    /// From the advance's answer until the batch's last event arrived.
    drain_s: f64,
    drained: bool,
    cpu_api_us: u64,
    cpu_total_us: u64,
    /// From each API-caused event's `createdAt` to its arrival, sorted, in milliseconds.
    delivery_ms: Vec<i64>,
    /// What the writer did during the API phase (`writer_note`), where the server said.
    writer: Option<String>,
}

/// How a batch's flows are driven.
enum Load {
    Open { rate: f64 },
    Closed { workers: usize },
}

/// (c): an open-loop batch at `options.flow_rate`, a closed-loop batch for the peak, then the
/// whole event log held against what the receiver verified.
pub async fn full_flow(options: &Options, report: &mut Report) -> anyhow::Result<()> {
    let receiver = Receiver::spawn().await?;
    let dir = fresh_dir(options, "flows")?;
    let seeded = seed_for(config(&dir, ""), 0, Some(receiver.notify_url())).await?;
    receiver.trust(&seeded.merchant.access_id, &seeded.merchant.access_key);
    let settings = ServerSettings {
        workers: true,
        // A clock advance settles a whole batch in one request.
        envs: vec![("PAYBANK_SERVER__REQUEST_TIMEOUT_MS", "600000".to_owned())],
        ..ServerSettings::default()
    };
    let server = start_paybank_with(options, &dir, settings).await?;
    let flows = Flows {
        api: Arc::new(MerchantApi::new(server.base.clone(), &seeded.merchant)),
        numbers: Arc::new(AtomicU64::new(0)),
    };
    let in_flight = match options.quick {
        true => QUICK_FLOWS_IN_FLIGHT,
        false => FLOWS_IN_FLIGHT,
    };
    let open = Load::Open {
        rate: options.flow_rate,
    };
    let open = batch(options, &server, &flows, &receiver, open, in_flight).await?;
    let closed = Load::Closed { workers: in_flight };
    let peak = batch(options, &server, &flows, &receiver, closed, in_flight).await?;
    let delivery = check(&flows.api, &receiver).await?;
    let mut rows = vec![
        batch_row("paybank", &open),
        batch_row("paybank (peak, closed loop)", &peak),
        check_row(&delivery, open.flows.outcome.ok + peak.flows.outcome.ok),
    ];
    for row in &mut rows {
        row.peak_rss_mb = Some(server.peak_rss_bytes() as f64 / MB);
        row.database_mb = Some(dir_bytes(&dir) as f64 / MB);
    }
    rows.into_iter().for_each(|row| report.push(row));
    Ok(())
}

async fn batch(
    options: &Options,
    server: &Server,
    flows: &Flows,
    receiver: &Receiver,
    load: Load,
    in_flight: usize,
) -> anyhow::Result<Batch> {
    let offset_ms = flows.api.clock_offset_ms().await?;
    let mark = receiver.accepted();
    let metrics = reqwest::Client::new();
    let writer_before = writer_stats(&metrics, &server.base).await;
    let cpu_before = server.cpu_us();
    let started = Instant::now();
    let tally = match load {
        Load::Open { rate } => {
            let seconds = options.phase_seconds;
            flows.open_loop(rate, seconds, in_flight).await
        }
        Load::Closed { workers } => flows.closed_loop(workers, options.phase_seconds).await,
    };
    let api_s = started.elapsed().as_secs_f64();
    let cpu_api_us = server.cpu_us().saturating_sub(cpu_before);
    let writer = writer_note_since(&metrics, &server.base, writer_before, api_s).await;
    flows.api.advance_clock(SETTLE_SECONDS).await?;
    let advanced = Instant::now();
    let drained = receiver.wait_for(mark + tally.events, DRAIN_TIMEOUT).await;
    Ok(Batch {
        api_s,
        advance_s: (advanced - started).as_secs_f64() - api_s,
        drain_s: advanced.elapsed().as_secs_f64(),
        drained,
        cpu_api_us,
        cpu_total_us: server.cpu_us().saturating_sub(cpu_before),
        delivery_ms: delivery_ms(&receiver.arrivals_since(mark), offset_ms),
        flows: tally,
        writer,
    })
}

/// Delivery latency of the API-caused events: arrival minus `createdAt` taken back to wall
/// time (the clock offset stays put between advances). Both are milliseconds.
fn delivery_ms(arrivals: &[Arrival], offset_ms: i64) -> Vec<i64> {
    let mut latencies: Vec<i64> = arrivals
        .iter()
        .filter(|arrival| API_EVENT_TYPES.contains(&arrival.event_type.as_str()))
        .map(|arrival| arrival.arrived_ms - (arrival.created_at - offset_ms))
        .collect();
    latencies.sort_unstable();
    latencies
}

fn quantile(sorted: &[i64], q: f64) -> i64 {
    match sorted.len() {
        0 => 0,
        len => sorted[((len - 1) as f64 * q).round() as usize],
    }
}

fn batch_row(system: &str, batch: &Batch) -> Row {
    let flows = batch.flows.outcome.ok.max(1) as f64;
    let mut row = Row::from_outcome(SCENARIO, system, &batch.flows.outcome, 0);
    row.errors = Some(batch.flows.outcome.errors + u64::from(!batch.drained));
    row.cpu_us_per_request = Some(batch.cpu_total_us as f64 / flows);
    let total_s = batch.api_s + batch.advance_s + batch.drain_s;
    row.elapsed_ms = Some(total_s * 1e3);
    let latency = &batch.delivery_ms;
    row.delivery_p50_ms = u64::try_from(quantile(latency, 0.50)).ok();
    row.note =
        format!(
        "flows/s and latency up to the capture's answer; end to end {:.0} flows/s (flows {:.2} s \
         + 10-day clock advance {:.2} s + last event {:.2} s later{}); event delivery from \
         createdAt p50 {} ms, p99 {} ms over {} API-caused events; CPU µs/flow includes \
         settlement and delivery (API phase alone {:.0}){}",
        batch.flows.outcome.ok as f64 / total_s,
        batch.api_s,
        batch.advance_s,
        batch.drain_s,
        if batch.drained { "" } else { ", NOT ALL ARRIVED" },
        quantile(latency, 0.50),
        quantile(latency, 0.99),
        latency.len(),
        batch.cpu_api_us as f64 / flows,
        batch
            .flows
            .first_error
            .as_ref()
            .map_or(String::new(), |error| format!("; first error: {error}")),
    );
    if let Some(note) = &batch.writer {
        row.add_note(&format!("API phase's {note}"));
    }
    row
}

/// The delivery check over both batches: ok counts verified events, errors anything lost,
/// unknown, duplicated or unverified.
fn check_row(delivery: &DeliveryCheck, flows: u64) -> Row {
    Row {
        scenario: SCENARIO.to_owned(),
        system: "paybank (events: verified, none lost)".to_owned(),
        ok: Some(delivery.accepted as u64),
        errors: Some(delivery.errors()),
        note: format!(
            "{:.2} events per completed flow; {}",
            delivery.accepted as f64 / flows.max(1) as f64,
            delivery.describe()
        ),
        ..Row::default()
    }
}
