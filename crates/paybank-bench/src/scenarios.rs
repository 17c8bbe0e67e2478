//! The scenarios, each against a fresh database and a fresh server process: (a) reads of one
//! transaction, the bare-axum ceiling serving the same number of bytes, and (b) durable
//! captures. Each runs open loop at the offered rate, then closed loop for the peak.

use std::path::Path;
use std::sync::Arc;

use crate::load::{closed_loop, open_loop, Call, Calls, Target};
use crate::process::{dir_bytes, free_port, Server};
use crate::report::{Report, Row};
use crate::seed::{config, seed, Seeded};
use crate::Options;

/// Requests in flight at once in an open-loop run, and connections in a closed-loop one.
const IN_FLIGHT_MAX: usize = 256;
const PEAK_CONNECTIONS: usize = 64;
const MB: f64 = 1024.0 * 1024.0;

/// (a): `GET /transactions/{id}` over a store of `stored_transactions` authorizations; then
/// the ceiling, serving an answer of the same size.
pub async fn reads(options: &Options, report: &mut Report) -> anyhow::Result<()> {
    let dir = fresh_dir(options, "reads")?;
    let seeded = seed(config(&dir, ""), options.stored_transactions).await?;
    let server = start_paybank(options, &dir).await?;
    let target = merchant_target(&server, &seeded);
    let ids = Arc::new(seeded.authorizations);
    let body_bytes = first_body_bytes(&target, &ids[0]).await?;
    let calls: Calls = Arc::new(move |n| Call {
        post: false,
        path: format!("/api/v1/transactions/{}", ids[n as usize % ids.len()]),
        form: None,
    });
    let scenario = format!(
        "(a) GET /transactions/{{id}}, {} stored",
        options.stored_transactions
    );
    let rows = measure(
        options,
        &server,
        &target,
        calls,
        options.read_rate,
        &scenario,
        "paybank",
    )
    .await;
    for mut row in rows {
        row.peak_rss_mb = Some(server.peak_rss_bytes() as f64 / MB);
        row.database_mb = Some(dir_bytes(&dir) as f64 / MB);
        row.note = format!("start-up {:.0} ms; {body_bytes} B answers", server.start_ms);
        report.push(row);
    }
    drop(server);
    ceiling(options, report, body_bytes).await
}

/// The bare axum handler answering `body_bytes`: the most this machine serves.
async fn ceiling(options: &Options, report: &mut Report, body_bytes: usize) -> anyhow::Result<()> {
    let port = free_port()?;
    let listen = format!("127.0.0.1:{port}");
    let bytes = body_bytes.to_string();
    let args = ["bench-ceiling", "--listen", &listen, "--body-bytes", &bytes];
    let server = Server::start(&options.exe, &args, &[], port, "/").await?;
    let target = Target::new(server.base.clone(), None);
    let calls: Calls = Arc::new(|_| Call {
        post: false,
        path: "/".to_owned(),
        form: None,
    });
    let scenario = "(a) ceiling: bare axum, same answer size";
    for row in measure(
        options,
        &server,
        &target,
        calls,
        options.read_rate,
        scenario,
        "axum",
    )
    .await
    {
        report.push(row);
    }
    Ok(())
}

/// (b): durable `POST /transactions/{id}/capture` of $1.00, round robin over authorizations.
pub async fn captures(options: &Options, report: &mut Report) -> anyhow::Result<()> {
    let dir = fresh_dir(options, "captures")?;
    let authorizations = if options.quick { 200 } else { 20_000 };
    let seeded = seed(config(&dir, ""), authorizations).await?;
    let server = start_paybank(options, &dir).await?;
    let target = merchant_target(&server, &seeded);
    let ids = Arc::new(seeded.authorizations);
    // Request numbers never repeat within a server's life, so no reference is a duplicate.
    let calls: Calls = Arc::new(move |n| Call {
        post: true,
        path: format!(
            "/api/v1/transactions/{}/capture",
            ids[n as usize % ids.len()]
        ),
        form: Some(format!("merchantReference=cap-{n}&amount=1.00")),
    });
    let scenario = "(b) durable capture, SQLite";
    let rows = measure(
        options,
        &server,
        &target,
        calls,
        options.capture_rate,
        scenario,
        "paybank",
    )
    .await;
    for mut row in rows {
        row.database_mb = Some(dir_bytes(&dir) as f64 / MB);
        row.peak_rss_mb = Some(server.peak_rss_bytes() as f64 / MB);
        report.push(row);
    }
    Ok(())
}

/// An open-loop run at `rate`, then a closed-loop peak; each with the server's CPU per request.
async fn measure(
    options: &Options,
    server: &Server,
    target: &Target,
    calls: Calls,
    rate: f64,
    scenario: &str,
    system: &str,
) -> Vec<Row> {
    let seconds = options.phase_seconds;
    let before = server.cpu_us();
    let open = open_loop(target, calls.clone(), rate, seconds, IN_FLIGHT_MAX).await;
    let open_row = Row::from_outcome(scenario, system, &open, server.cpu_us() - before);
    // The peak continues the same numbering, so captures stay unique.
    let offset = open.ok + open.errors;
    let shifted: Calls = Arc::new(move |n| calls(n + offset + 1));
    let before = server.cpu_us();
    let peak = closed_loop(target, shifted, PEAK_CONNECTIONS, seconds).await;
    let mut peak_row = Row::from_outcome(scenario, system, &peak, server.cpu_us() - before);
    peak_row.system = format!("{system} (peak, closed loop)");
    vec![open_row, peak_row]
}

async fn start_paybank(options: &Options, dir: &Path) -> anyhow::Result<Server> {
    let port = free_port()?;
    let envs = [
        ("PAYBANK_DATA_DIR", dir.display().to_string()),
        ("PAYBANK_LISTEN", format!("127.0.0.1:{port}")),
        ("PAYBANK_DEMO__ENABLED", "false".to_owned()),
        // The read and capture runs measure the API; the workers would spend the core on the
        // seeded payments' events, which nobody receives.
        ("PAYBANK_WORKERS__ENABLED", "false".to_owned()),
        ("PAYBANK_LOG", "warn".to_owned()),
    ];
    Server::start(&options.exe, &["serve"], &envs, port, "/api/v1/nothing").await
}

fn merchant_target(server: &Server, seeded: &Seeded) -> Target {
    let credentials = (
        seeded.merchant.access_id.clone(),
        seeded.merchant.access_key.clone(),
    );
    Target::new(server.base.clone(), Some(credentials))
}

async fn first_body_bytes(target: &Target, id: &str) -> anyhow::Result<usize> {
    let url = format!("{}/api/v1/transactions/{id}", target.base);
    let (user, key) = target.credentials.clone().unwrap_or_default();
    let response = target
        .client
        .get(url)
        .basic_auth(user, Some(key))
        .send()
        .await?;
    anyhow::ensure!(
        response.status().is_success(),
        "reading a seeded transaction: {}",
        response.status()
    );
    Ok(response.bytes().await?.len())
}

fn fresh_dir(options: &Options, name: &str) -> anyhow::Result<std::path::PathBuf> {
    let dir = options.out_dir.join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}
