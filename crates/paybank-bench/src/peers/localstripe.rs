//! localstripe for (c): whole payment flows, each one PaymentIntent created with manual capture
//! on the `pm_card_visa` test card, confirmed (authorized), captured and refunded, every step
//! checked. Closed loop: a fixed number of flows run at once, each starting the next as soon as
//! it ends, for the phase's length; a flow's latency is from its first request to its last
//! answer, and CPU is localstripe's per flow.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::task::JoinSet;

use crate::load::{Outcome, Target, FORM};
use crate::peers::install::{ensure_localstripe, localstripe_python, Installed};
use crate::peers::{skipped, Setup};
use crate::process::{free_port, Server};
use crate::report::{Report, Row};
use crate::Options;

pub const SCENARIO: &str = "(c) create → confirm → capture → refund, localstripe";
const SYSTEM: &str = "localstripe";
/// Flows in flight at once.
const FLOW_WORKERS: usize = 16;
const MB: f64 = 1024.0 * 1024.0;

/// localstripe's own command line (1.15.10) has only `--port` and `--from-scratch`, listens on
/// every interface, reloads the last run's store and logs a line per request. This starts the
/// same application object on loopback, from an empty store, without the access log (paybank
/// runs at warn, so neither pays for a line per request). It runs in the one Python process
/// the harness spawns, so that pid's CPU time is localstripe's.
const LAUNCHER: &str = "import sys
from aiohttp import web
from localstripe.server import app
web.run_app(app, host='127.0.0.1', port=int(sys.argv[1]), access_log=None, print=None)
";

/// Installs localstripe if needed, starts it and measures flows for one phase.
pub async fn run(options: &Options, setup: &Setup, report: &mut Report) -> anyhow::Result<()> {
    let version = match ensure_localstripe(&setup.cache_dir)? {
        Installed::Ready(version) => version,
        Installed::Skipped(why) => {
            report.push(skipped(SCENARIO, SYSTEM, &why));
            return Ok(());
        }
    };
    let port = free_port()?;
    let python = localstripe_python(&setup.cache_dir);
    let args = args(port);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let server = Server::start(&python, &args, &[], port, "/v1/charges").await?;
    // Any secret key of the test shape is accepted.
    let credentials = ("sk_test_paybank_bench".to_owned(), String::new());
    let target = Target::new(server.base.clone(), Some(credentials));
    let before = server.cpu_us();
    let (outcome, first_error) = closed_loop_flows(&target, options.phase_seconds).await;
    let cpu_us = server.cpu_us() - before;
    let mut row = Row::from_outcome(
        SCENARIO,
        &format!("{SYSTEM} (peak, closed loop)"),
        &outcome,
        cpu_us,
    );
    row.peak_rss_mb = Some(server.peak_rss_bytes() as f64 / MB);
    row.note = format!(
        "localstripe {version}; flows/s, latency and CPU per flow of 4 requests; \
         {FLOW_WORKERS} flows at once; start-up {:.0} ms{}",
        server.start_ms,
        first_error.map_or(String::new(), |error| format!("; first error: {error}"))
    );
    report.push(row);
    Ok(())
}

/// `python -c <launcher> <port>`.
pub fn args(port: u16) -> Vec<String> {
    vec!["-c".to_owned(), LAUNCHER.to_owned(), port.to_string()]
}

/// Flows tallied together: successes, failures, latencies, and the first failure's reason.
#[derive(Default)]
struct FlowTally {
    ok: u64,
    errors: u64,
    latencies_us: Vec<u64>,
    first_error: Option<String>,
}

/// `FLOW_WORKERS` flows back to back for `seconds`; flows under way at the deadline finish.
async fn closed_loop_flows(target: &Target, seconds: f64) -> (Outcome, Option<String>) {
    let tally = Arc::new(Mutex::new(FlowTally::default()));
    let started = Instant::now();
    let deadline = started + Duration::from_secs_f64(seconds);
    let mut tasks = JoinSet::new();
    for _ in 0..FLOW_WORKERS {
        let (target, tally) = (target.clone(), tally.clone());
        tasks.spawn(async move {
            while Instant::now() < deadline {
                let flow_started = Instant::now();
                let result = flow(&target).await;
                let mut tally = tally.lock().expect("tally lock");
                tally
                    .latencies_us
                    .push(flow_started.elapsed().as_micros() as u64);
                match result {
                    Ok(()) => tally.ok += 1,
                    Err(error) => {
                        tally.errors += 1;
                        tally.first_error.get_or_insert(format!("{error:#}"));
                    }
                }
            }
        });
    }
    while tasks.join_next().await.is_some() {}
    let elapsed_s = started.elapsed().as_secs_f64();
    let mut tally = std::mem::take(&mut *tally.lock().expect("tally lock"));
    tally.latencies_us.sort_unstable();
    let outcome = Outcome {
        offered_rate: None,
        ok: tally.ok,
        errors: tally.errors,
        elapsed_s,
        latencies_us: tally.latencies_us,
    };
    (outcome, tally.first_error)
}

/// One payment: authorize $1.00 on a test card without capturing, capture it, refund it.
async fn flow(target: &Target) -> anyhow::Result<()> {
    let create = "amount=100&currency=usd&payment_method=pm_card_visa&capture_method=manual";
    let intent = post(target, "/v1/payment_intents", create).await?;
    expect(&intent, "requires_confirmation")?;
    let id = intent["id"]
        .as_str()
        .ok_or_else(|| anyhow::anyhow!("no id in {intent}"))?;
    let path = format!("/v1/payment_intents/{id}/confirm");
    expect(&post(target, &path, "").await?, "requires_capture")?;
    let path = format!("/v1/payment_intents/{id}/capture");
    expect(&post(target, &path, "").await?, "succeeded")?;
    let refund = format!("payment_intent={id}");
    expect(&post(target, "/v1/refunds", &refund).await?, "succeeded")
}

/// A form-encoded POST, as Stripe's API takes them; its JSON answer, or why there was none.
async fn post(target: &Target, path: &str, form: &str) -> anyhow::Result<serde_json::Value> {
    let (user, key) = target.credentials.clone().unwrap_or_default();
    let response = target
        .client
        .post(format!("{}{path}", target.base))
        .basic_auth(user, Some(key))
        .header("content-type", FORM)
        .body(form.to_owned())
        .send()
        .await?;
    let status = response.status();
    let body = response.bytes().await?;
    anyhow::ensure!(
        status.is_success(),
        "POST {path}: {status} {}",
        String::from_utf8_lossy(&body)
    );
    Ok(serde_json::from_slice(&body)?)
}

fn expect(object: &serde_json::Value, status: &str) -> anyhow::Result<()> {
    anyhow::ensure!(
        object["status"] == status,
        "expected status {status}, got {}",
        object["status"]
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// localstripe is started by the environment's Python on loopback, from an empty store.
    #[test]
    fn localstripe_launcher_binds_loopback_and_takes_the_port() {
        let args = args(8420);
        assert_eq!(args[0], "-c");
        assert!(args[1].contains("host='127.0.0.1'"), "{}", args[1]);
        assert!(!args[1].contains("try_load_from_disk"));
        assert_eq!(args[2], "8420");
    }
}
