//! The scenarios, each against a fresh server process and a fresh database (but for (a)'s
//! store, which every run reads): (a) reads of one transaction, the bare-axum ceiling serving
//! the same number of bytes, and (b) durable captures on SQLite and on PostgreSQL. Each runs
//! open loop at the offered rate, then closed loop for the peak.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use paybank_core::model::Merchant;
use paybank_store::WriterStats;

use crate::load::{
    closed_loop, open_loop, warm_up, warm_up_note, Call, Calls, Outcome, Target, IN_FLIGHT_MAX,
};
use crate::postgres::Database;
use crate::process::{dir_bytes, free_port, warm_page_cache, Server};
use crate::report::{Report, Row};
use crate::seed::{config, seed};
use crate::thread_cpu::ThreadCpu;
use crate::writer_note::{writer_note_since, writer_stats};
use crate::Options;

/// Connections in a closed-loop run.
const PEAK_CONNECTIONS: usize = 64;
const MB: f64 = 1024.0 * 1024.0;

/// (a)'s store of `stored_transactions` authorizations. It is seeded once and read by every
/// run: reads change no data, and seeding 1,000,000 transactions takes minutes.
pub struct ReadStore {
    dir: PathBuf,
    merchant: Merchant,
    ids: Arc<Vec<String>>,
}

/// Seeds (a)'s store in a fresh directory.
pub async fn seed_reads(options: &Options) -> anyhow::Result<ReadStore> {
    let dir = fresh_dir(options, "reads")?;
    let seeded = seed(config(&dir, ""), options.stored_transactions).await?;
    Ok(ReadStore {
        dir,
        merchant: seeded.merchant,
        ids: Arc::new(seeded.authorizations),
    })
}

/// (a): `GET /transactions/{id}` over the read store, from a fresh server process so start-up
/// and peak RSS belong to this run; then the ceiling, serving an answer of the same size.
pub async fn reads(
    options: &Options,
    store: &ReadStore,
    report: &mut Report,
) -> anyhow::Result<()> {
    let dir = &store.dir;
    warm_page_cache(dir)?;
    let server = start_paybank(options, dir).await?;
    let target = merchant_target(&server, &store.merchant);
    let ids = store.ids.clone();
    let body_bytes = first_body_bytes(&target, &ids[0]).await?;
    let calls = read_calls(&ids);
    let scenario = format!(
        "(a) GET /transactions/{{id}}, {} stored",
        options.stored_transactions
    );
    let measurement = Measurement {
        scenario: &scenario,
        system: "paybank",
        rate: options.read_rate,
        other_cpu_us: &|| 0,
    };
    let rows = measure(options, &server, &target, calls, &measurement).await;
    for mut row in rows {
        row.peak_rss_mb = Some(server.peak_rss_bytes() as f64 / MB);
        row.database_mb = Some(dir_bytes(dir) as f64 / MB);
        let note = std::mem::take(&mut row.note);
        row.note = format!("start-up {:.0} ms; {body_bytes} B answers", server.start_ms);
        row.add_note(&note);
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
    let measurement = Measurement {
        scenario: "(a) ceiling: bare axum, same answer size",
        system: "axum",
        rate: options.read_rate,
        other_cpu_us: &|| 0,
    };
    for row in measure(options, &server, &target, calls, &measurement).await {
        report.push(row);
    }
    Ok(())
}

/// (b): durable `POST /transactions/{id}/capture` of $1.00, round robin over authorizations.
pub async fn captures(options: &Options, report: &mut Report) -> anyhow::Result<()> {
    let dir = fresh_dir(options, "captures")?;
    capture_rows(options, report, &dir, None).await
}

/// (b) with the server on PostgreSQL, in a database made for this run and dropped after it.
/// Without PostgreSQL the row only says why it was skipped.
pub async fn captures_postgres(options: &Options, report: &mut Report) -> anyhow::Result<()> {
    let database = match Database::create(&options.postgres_url) {
        Ok(database) => database,
        Err(reason) => {
            report.push(Row {
                scenario: POSTGRES_CAPTURES.to_owned(),
                system: "paybank".to_owned(),
                note: format!("skipped: {reason}"),
                ..Row::default()
            });
            return Ok(());
        }
    };
    let dir = fresh_dir(options, "captures-postgres")?;
    let result = capture_rows(options, report, &dir, Some(&database)).await;
    // The server is gone by now, so nothing holds the database.
    if let (Err(reason), Some(row)) = (database.remove(), report.rows.last_mut()) {
        row.note = format!("{}; {reason}", row.note);
    }
    result
}

const POSTGRES_CAPTURES: &str = "(b) durable capture, PostgreSQL";

async fn capture_rows(
    options: &Options,
    report: &mut Report,
    dir: &Path,
    database: Option<&Database>,
) -> anyhow::Result<()> {
    let authorizations = if options.quick { 200 } else { 20_000 };
    let database_url = database.map_or(String::new(), |database| database.url.clone());
    let seeded = seed(config(dir, &database_url), authorizations).await?;
    let settings = ServerSettings {
        database_url: database.map(|database| database.url.clone()),
        ..ServerSettings::default()
    };
    let server = start_paybank_with(options, dir, settings).await?;
    let target = merchant_target(&server, &seeded.merchant);
    let calls = capture_calls(&Arc::new(seeded.authorizations));
    let scenario = match database {
        Some(_) => POSTGRES_CAPTURES,
        None => "(b) durable capture, SQLite",
    };
    let measurement = Measurement {
        scenario,
        system: "paybank",
        rate: options.capture_rate,
        other_cpu_us: &|| database.map_or(0, Database::backend_cpu_us),
    };
    let rows = measure(options, &server, &target, calls, &measurement).await;
    let database_bytes = match database {
        Some(database) => database.size_bytes().unwrap_or(0),
        None => dir_bytes(dir),
    };
    for mut row in rows {
        row.database_mb = Some(database_bytes as f64 / MB);
        row.peak_rss_mb = Some(server.peak_rss_bytes() as f64 / MB);
        report.push(row);
    }
    Ok(())
}

/// What one `measure` runs, and how its rows are labelled.
struct Measurement<'a> {
    scenario: &'a str,
    system: &'a str,
    /// The open-loop rate, requests per second.
    rate: f64,
    /// CPU time of the processes working for the server (database backends) so far, in µs.
    other_cpu_us: &'a dyn Fn() -> u64,
}

/// An open-loop run at the measurement's rate, then a closed-loop peak; each with the CPU per
/// request of the server and of the processes working for it.
async fn measure(
    options: &Options,
    server: &Server,
    target: &Target,
    calls: Calls,
    measurement: &Measurement<'_>,
) -> Vec<Row> {
    let seconds = options.phase_seconds;
    let other_cpu_us = measurement.other_cpu_us;
    let rate = measurement.rate;
    let (warm, calls) = warm_up(target, calls, rate, options.quick).await;
    let before = (server.cpu_us(), other_cpu_us());
    let writer_before = writer_stats(&target.client, &target.base).await;
    let threads_before = ThreadCpu::of(server.pid());
    let open = open_loop(target, calls.clone(), rate, seconds, IN_FLIGHT_MAX).await;
    let mut open_row = cpu_row(measurement, &open, before, server);
    add_thread_note(&mut open_row, &open, &threads_before, server);
    if let Some(note) = warm_up_note(&warm) {
        open_row.add_note(&note);
    }
    add_writer_note(&mut open_row, target, writer_before, seconds).await;
    // The peak continues the same numbering, so captures stay unique.
    let offset = open.ok + open.errors;
    let shifted: Calls = Arc::new(move |n| calls(n + offset + 1));
    let before = (server.cpu_us(), other_cpu_us());
    let writer_before = writer_stats(&target.client, &target.base).await;
    let threads_before = ThreadCpu::of(server.pid());
    let peak = closed_loop(target, shifted, PEAK_CONNECTIONS, seconds).await;
    let mut peak_row = cpu_row(measurement, &peak, before, server);
    add_thread_note(&mut peak_row, &peak, &threads_before, server);
    peak_row.system = format!("{} (peak, closed loop)", measurement.system);
    add_writer_note(&mut peak_row, target, writer_before, seconds).await;
    vec![open_row, peak_row]
}

/// Adds which of the server's threads spent its CPU since `before`, in the program or in the
/// kernel, and how busy its core was, to the row's note.
fn add_thread_note(row: &mut Row, outcome: &Outcome, before: &ThreadCpu, server: &Server) {
    let requests = outcome.ok + outcome.errors;
    let now = ThreadCpu::of(server.pid());
    if let Some(note) = now.note_since(before, requests, outcome.elapsed_s) {
        row.add_note(&note);
    }
}

/// Adds what the writer did since `before` to the row's note, where the server reports it.
async fn add_writer_note(
    row: &mut Row,
    target: &Target,
    before: Option<WriterStats>,
    seconds: f64,
) {
    if let Some(note) = writer_note_since(&target.client, &target.base, before, seconds).await {
        row.add_note(&note);
    }
}

/// A run's row; CPU per request counts the server and the processes working for it, and the
/// note splits the two when the others did any work.
fn cpu_row(
    measurement: &Measurement<'_>,
    outcome: &Outcome,
    (server_before, other_before): (u64, u64),
    server: &Server,
) -> Row {
    let server_us = server.cpu_us().saturating_sub(server_before);
    let other_us = (measurement.other_cpu_us)().saturating_sub(other_before);
    let (scenario, system) = (measurement.scenario, measurement.system);
    let mut row = Row::from_outcome(scenario, system, outcome, server_us + other_us);
    if other_us > 0 {
        let requests = (outcome.ok + outcome.errors).max(1) as f64;
        row.note = format!(
            "CPU µs/req: paybank {:.1} + PostgreSQL backends {:.1} (unpinned)",
            server_us as f64 / requests,
            other_us as f64 / requests
        );
    }
    row
}

/// How a scenario's server runs, besides its data directory.
#[derive(Clone, Debug, Default)]
pub(crate) struct ServerSettings {
    /// A `postgres://…` URL; none means SQLite in the data directory.
    pub database_url: Option<String>,
    /// Runs the settlement and delivery workers; only the event scenarios need them.
    pub workers: bool,
    /// More `PAYBANK_*` settings, applied last.
    pub envs: Vec<(&'static str, String)>,
}

async fn start_paybank(options: &Options, dir: &Path) -> anyhow::Result<Server> {
    start_paybank_with(options, dir, ServerSettings::default()).await
}

pub(crate) async fn start_paybank_with(
    options: &Options,
    dir: &Path,
    settings: ServerSettings,
) -> anyhow::Result<Server> {
    let port = free_port()?;
    let mut envs = vec![
        ("PAYBANK_DATA_DIR", dir.display().to_string()),
        ("PAYBANK_LISTEN", format!("127.0.0.1:{port}")),
        ("PAYBANK_DEMO__ENABLED", "false".to_owned()),
        // Without them, the read and capture runs measure the API alone; with them, the
        // workers would spend the core on the seeded payments' events, which nobody receives.
        ("PAYBANK_WORKERS__ENABLED", settings.workers.to_string()),
        ("PAYBANK_LOG", "warn".to_owned()),
        // The writer's counts, for each row's note (`writer_note`).
        ("PAYBANK_SERVER__METRICS", "true".to_owned()),
    ];
    if let Some(url) = settings.database_url {
        envs.push(("PAYBANK_DATABASE_URL", url));
    }
    envs.extend(settings.envs);
    Server::start(&options.exe, &["serve"], &envs, port, "/api/v1/nothing").await
}

pub(crate) fn merchant_target(server: &Server, merchant: &Merchant) -> Target {
    let credentials = (merchant.access_id.clone(), merchant.access_key.clone());
    Target::new(server.base.clone(), Some(credentials))
}

/// Reads of the transactions `ids`, in turn.
pub(crate) fn read_calls(ids: &Arc<Vec<String>>) -> Calls {
    let ids = ids.clone();
    Arc::new(move |n| Call {
        post: false,
        path: format!("/api/v1/transactions/{}", ids[n as usize % ids.len()]),
        form: None,
    })
}

/// Captures of $1.00 of the authorizations `ids`, in turn. Request numbers never repeat
/// within a server's life, so no reference is a duplicate.
pub(crate) fn capture_calls(ids: &Arc<Vec<String>>) -> Calls {
    let ids = ids.clone();
    Arc::new(move |n| Call {
        post: true,
        path: format!(
            "/api/v1/transactions/{}/capture",
            ids[n as usize % ids.len()]
        ),
        form: Some(format!("merchantReference=cap-{n}&amount=1.00")),
    })
}

pub(crate) async fn first_body_bytes(target: &Target, id: &str) -> anyhow::Result<usize> {
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

pub(crate) fn fresh_dir(options: &Options, name: &str) -> anyhow::Result<PathBuf> {
    let dir = options.out_dir.join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}
