//! Scenario (d), event fan-out: a large backlog of queued events drained to one receiver, then
//! the receiver down for a while as more events are made, and the time until every one of them
//! has arrived once it is back. Nothing may be lost, nothing repeated beyond the server's own
//! retries, and every signature must verify.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::task::JoinSet;

use crate::delivery_check::{check, DeliveryCheck};
use crate::merchant_api::MerchantApi;
use crate::process::{dir_bytes, Server};
use crate::receiver::Receiver;
use crate::report::{Report, Row};
use crate::scenarios::{fresh_dir, start_paybank_with, ServerSettings};
use crate::seed::{config, seed_for, EVENTS_PER_SEEDED_PAYMENT};
use crate::Options;

const SCENARIO: &str = "(d) event fan-out";
/// Retries start one second after a failure and double up to four (the defaults are 60 s and
/// 300 s), so the time to recover after the outage measures delivery, not the retry wait.
const RETRY_DELAY_FIRST_S: &str = "1";
const RETRY_DELAY_MAX_S: &str = "4";
/// How long the backlog, or the outage's events, may take to arrive.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(900);
/// Establishes in flight at once while the receiver is down.
const OUTAGE_WRITERS: usize = 8;
const MB: f64 = 1024.0 * 1024.0;

/// The outage and the recovery after it.
struct Outage {
    /// How long the receiver was meant to be down, which names the row so runs line up.
    planned_down_s: f64,
    down_s: f64,
    /// Events made (one Establish each) while the receiver was down.
    made: usize,
    make_errors: u64,
    refused: u64,
    recovered: bool,
    /// From the receiver coming back until it had every event.
    recovery_s: f64,
    cpu_us: u64,
}

/// (d): `options.fanout_events` seeded events drained from server start, then the outage.
pub async fn fan_out(options: &Options, report: &mut Report) -> anyhow::Result<()> {
    let receiver = Receiver::spawn().await?;
    let dir = fresh_dir(options, "fanout")?;
    let payments = options
        .fanout_events
        .div_ceil(EVENTS_PER_SEEDED_PAYMENT)
        .max(1);
    let queued = payments * EVENTS_PER_SEEDED_PAYMENT;
    let seeded = seed_for(config(&dir, ""), payments, Some(receiver.notify_url())).await?;
    receiver.trust(&seeded.merchant.access_id, &seeded.merchant.access_key);
    let settings = ServerSettings {
        workers: true,
        envs: vec![
            (
                "PAYBANK_WEBHOOKS__RETRY_DELAY_FIRST_S",
                RETRY_DELAY_FIRST_S.to_owned(),
            ),
            (
                "PAYBANK_WEBHOOKS__RETRY_DELAY_MAX_S",
                RETRY_DELAY_MAX_S.to_owned(),
            ),
        ],
        ..ServerSettings::default()
    };
    let started = Instant::now();
    let server = start_paybank_with(options, &dir, settings).await?;
    let drained = receiver.wait_for(queued, DRAIN_TIMEOUT).await;
    let drain_s = started.elapsed().as_secs_f64();
    let mut drain = drain_row(queued, receiver.accepted(), drained, drain_s, &server);
    let api = Arc::new(MerchantApi::new(server.base.clone(), &seeded.merchant));
    let outage = outage(options, &server, &api, &receiver).await;
    let delivery = check(&api, &receiver).await?;
    let mut recovery = outage_row(&outage, &delivery);
    for row in [&mut drain, &mut recovery] {
        row.peak_rss_mb = Some(server.peak_rss_bytes() as f64 / MB);
        row.database_mb = Some(dir_bytes(&dir) as f64 / MB);
    }
    report.push(drain);
    report.push(recovery);
    Ok(())
}

fn drain_row(queued: usize, arrived: usize, drained: bool, drain_s: f64, server: &Server) -> Row {
    Row {
        scenario: format!("{SCENARIO}: {queued} queued events drained"),
        system: "paybank".to_owned(),
        achieved_rate: Some(arrived as f64 / drain_s),
        ok: Some(arrived as u64),
        errors: Some(u64::from(!drained) + (queued - arrived.min(queued)) as u64),
        cpu_us_per_request: Some(server.cpu_us() as f64 / arrived.max(1) as f64),
        elapsed_ms: Some(drain_s * 1e3),
        note: format!(
            "events/s from the server's start (start-up included) until the receiver had \
             verified every event; CPU µs per event, start-up included; delivery concurrency \
             at its defaults (32 in all, 4 per origin){}",
            if drained { "" } else { "; NOT ALL ARRIVED" }
        ),
        ..Row::default()
    }
}

/// Takes the receiver down, makes events through the API while it is down, brings it back and
/// waits until it has every event.
async fn outage(
    options: &Options,
    server: &Server,
    api: &Arc<MerchantApi>,
    receiver: &Receiver,
) -> Outage {
    let down_s = if options.quick { 1.0 } else { 30.0 };
    let count = (options.fanout_events / 20).max(50);
    let cpu_before = server.cpu_us();
    let refused_before = receiver.refused();
    receiver.set_down(true);
    let down_at = Instant::now();
    // Leave the retries some of the outage to fail in.
    let make_until = down_at + Duration::from_secs_f64(down_s * 0.8);
    let (made, make_errors) = make_events(api, count, make_until).await;
    tokio::time::sleep_until((down_at + Duration::from_secs_f64(down_s)).into()).await;
    let expected = receiver.accepted() + made;
    receiver.set_down(false);
    let up_at = Instant::now();
    let recovered = receiver.wait_for(expected, DRAIN_TIMEOUT).await;
    Outage {
        planned_down_s: down_s,
        down_s: (up_at - down_at).as_secs_f64(),
        made,
        make_errors,
        refused: receiver.refused() - refused_before,
        recovered,
        recovery_s: up_at.elapsed().as_secs_f64(),
        cpu_us: server.cpu_us().saturating_sub(cpu_before),
    }
}

/// Establishes up to `count` payments (one Establish event each) before `until`; returns how
/// many succeeded and how many failed.
async fn make_events(api: &Arc<MerchantApi>, count: usize, until: Instant) -> (usize, u64) {
    let next = Arc::new(AtomicUsize::new(0));
    let mut writers = JoinSet::new();
    for _ in 0..OUTAGE_WRITERS {
        let (api, next) = (api.clone(), next.clone());
        writers.spawn(async move {
            let (mut made, mut errors) = (0, 0);
            loop {
                let n = next.fetch_add(1, Ordering::Relaxed);
                if n >= count || Instant::now() >= until {
                    return (made, errors);
                }
                match api.establish(&format!("outage-{n}")).await {
                    Ok(_) => made += 1,
                    Err(_) => errors += 1,
                }
            }
        });
    }
    let (mut made, mut errors) = (0, 0);
    while let Some(Ok((writer_made, writer_errors))) = writers.join_next().await {
        made += writer_made;
        errors += writer_errors;
    }
    (made, errors)
}

fn outage_row(outage: &Outage, delivery: &DeliveryCheck) -> Row {
    Row {
        scenario: format!("{SCENARIO}: receiver down {:.0} s", outage.planned_down_s),
        system: "paybank".to_owned(),
        ok: Some(outage.made as u64),
        errors: Some(delivery.errors() + outage.make_errors + u64::from(!outage.recovered)),
        cpu_us_per_request: Some(outage.cpu_us as f64 / outage.made.max(1) as f64),
        elapsed_ms: Some(outage.recovery_s * 1e3),
        note: format!(
            "down {:.1} s; {} events made while down, {} deliveries refused meanwhile; {} {:.2} s after it came \
             back; retries 1 s after a failure, doubling to 4 s \
             (PAYBANK_WEBHOOKS__RETRY_DELAY_FIRST_S={RETRY_DELAY_FIRST_S}, \
             PAYBANK_WEBHOOKS__RETRY_DELAY_MAX_S={RETRY_DELAY_MAX_S}); CPU µs per event made, \
             retries included; whole scenario: {}",
            outage.down_s,
            outage.made,
            outage.refused,
            match outage.recovered {
                true => "all delivered",
                false => "NOT ALL delivered",
            },
            outage.recovery_s,
            delivery.describe()
        ),
        ..Row::default()
    }
}
