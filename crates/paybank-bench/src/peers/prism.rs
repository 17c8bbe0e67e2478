//! Stoplight Prism mocking the provider's OpenAPI document: the same two calls as paybank's
//! (a) and (b), at the same offered rates, then a closed-loop peak. Prism serves the spec's
//! paths at the root (the servers' `/api/v1` is not a prefix it adds), wants JSON bodies, checks
//! that an HTTP Basic header is present, and validates captures against the spec's schema,
//! which requires `splitToken`.

use std::path::Path;
use std::sync::Arc;

use crate::load::{
    closed_loop, open_loop, warm_up, warm_up_note, Call, Calls, Target, IN_FLIGHT_MAX,
};
use crate::peers::install::{ensure_prism, prism_entry, Installed};
use crate::peers::{skipped, Setup};
use crate::process::{free_port, Server};
use crate::report::{Report, Row};
use crate::Options;

/// The same bound as paybank's runs (scenarios.rs), so the rows compare.
const PEAK_CONNECTIONS: usize = 64;
const MB: f64 = 1024.0 * 1024.0;

pub const READS: &str = "(a) GET /transactions/{id}, Prism mock";
pub const CAPTURES: &str = "(b) POST /transactions/{id}/capture, Prism mock";
const SYSTEM: &str = "Prism";

/// Ids in the shape paybank's are; Prism answers its example whatever the id.
const ID_FIRST: u64 = 1_000_000_000_000;
const IDS: u64 = 20_000;

/// Installs Prism if needed, starts it on the OpenAPI document and measures (a) and (b).
pub async fn run(options: &Options, setup: &Setup, report: &mut Report) -> anyhow::Result<()> {
    let version = match ensure_prism(&setup.cache_dir)? {
        Installed::Ready(version) => version,
        Installed::Skipped(why) => {
            report.push(skipped(READS, SYSTEM, &why));
            report.push(skipped(CAPTURES, SYSTEM, &why));
            return Ok(());
        }
    };
    anyhow::ensure!(
        setup.openapi.is_file(),
        "Prism's OpenAPI document {} is missing (set PAYBANK_BENCH_OPENAPI, or pass --no-peers)",
        setup.openapi.display()
    );
    let port = free_port()?;
    let args = args(&setup.cache_dir, &setup.openapi, port);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let server = Server::start(Path::new("node"), &args, &[], port, "/").await?;
    // Prism checks only that a Basic header is there; paybank's merchants send one like it.
    let credentials = ("bench-access-id".to_owned(), "bench-access-key".to_owned());
    let target = Target::new(server.base.clone(), Some(credentials)).json();
    let body_bytes = answer_bytes(&target, &reads()(0)).await?;
    answer_bytes(&target, &captures()(0)).await?;
    let note = format!(
        "Prism {version}, logs at warn; start-up {:.0} ms; {body_bytes} B answers",
        server.start_ms
    );
    let rows_a = measure(options, &server, &target, reads(), options.read_rate, READS).await;
    let rows_b = measure(
        options,
        &server,
        &target,
        captures(),
        options.capture_rate,
        CAPTURES,
    )
    .await;
    for mut row in rows_a.into_iter().chain(rows_b) {
        row.peak_rss_mb = Some(server.peak_rss_bytes() as f64 / MB);
        let warm_up = std::mem::take(&mut row.note);
        row.note = note.clone();
        row.add_note(&warm_up);
        report.push(row);
    }
    Ok(())
}

/// `node <entry> mock …`: node itself is the process started (no shell, no `npx`), so the pid
/// read for CPU time is the one serving. Single process (no `--multiprocess`), logging at warn
/// as paybank runs at warn, so neither pays for a line per request.
pub fn args(cache: &Path, openapi: &Path, port: u16) -> Vec<String> {
    vec![
        prism_entry(cache).display().to_string(),
        "mock".to_owned(),
        "--host".to_owned(),
        "127.0.0.1".to_owned(),
        "--port".to_owned(),
        port.to_string(),
        "--verboseLevel".to_owned(),
        "warn".to_owned(),
        openapi.display().to_string(),
    ]
}

/// (a) on Prism: the spec's `GET /transactions/{transactionId}`.
pub fn reads() -> Calls {
    Arc::new(|n| Call {
        post: false,
        path: format!("/transactions/{}", ID_FIRST + n % IDS),
        form: None,
    })
}

/// (b) on Prism: the spec's capture, with the body as JSON; `splitToken` is required by the
/// spec's schema (paybank's seeded merchant uses no split tokens, so paybank gets none).
pub fn captures() -> Calls {
    Arc::new(|n| Call {
        post: true,
        path: format!("/transactions/{}/capture", ID_FIRST + n % IDS),
        form: Some(format!(
            r#"{{"merchantReference":"cap-{n}","amount":"1.00","splitToken":"bench-split-token"}}"#
        )),
    })
}

/// The size of one answer, and proof that Prism answers the call with a 2xx before it is
/// loaded, so a request Prism rejects fails here with Prism's reason, not as a count of errors.
async fn answer_bytes(target: &Target, call: &Call) -> anyhow::Result<usize> {
    let (user, key) = target.credentials.clone().unwrap_or_default();
    let url = format!("{}{}", target.base, call.path);
    let request = match &call.form {
        Some(body) => target
            .client
            .post(url)
            .header("content-type", target.body_type)
            .body(body.clone()),
        None => target.client.get(url),
    };
    let response = request.basic_auth(user, Some(key)).send().await?;
    let status = response.status();
    let body = response.bytes().await?;
    anyhow::ensure!(
        status.is_success(),
        "Prism answered {status} to {}: {}",
        call.path,
        String::from_utf8_lossy(&body)
    );
    Ok(body.len())
}

/// An open-loop run at `rate`, then a closed-loop peak; each with Prism's CPU per request.
async fn measure(
    options: &Options,
    server: &Server,
    target: &Target,
    calls: Calls,
    rate: f64,
    scenario: &str,
) -> Vec<Row> {
    let seconds = options.phase_seconds;
    let (warm, calls) = warm_up(target, calls, rate, options.quick).await;
    let before = server.cpu_us();
    let open = open_loop(target, calls.clone(), rate, seconds, IN_FLIGHT_MAX).await;
    let mut open_row = Row::from_outcome(scenario, SYSTEM, &open, server.cpu_us() - before);
    if let Some(note) = warm_up_note(&warm) {
        open_row.add_note(&note);
    }
    let before = server.cpu_us();
    let peak = closed_loop(target, calls, PEAK_CONNECTIONS, seconds).await;
    let mut peak_row = Row::from_outcome(scenario, SYSTEM, &peak, server.cpu_us() - before);
    peak_row.system = format!("{SYSTEM} (peak, closed loop)");
    vec![open_row, peak_row]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Prism is started as node on its entry script, on loopback, quiet, mocking the document.
    #[test]
    fn prism_runs_as_node_on_its_entry_script_on_loopback() {
        let args = args(Path::new("/cache"), Path::new("/spec.yml"), 4010);
        assert_eq!(
            args.join(" "),
            "/cache/prism/node_modules/@stoplight/prism-cli/dist/index.js mock --host 127.0.0.1 \
             --port 4010 --verboseLevel warn /spec.yml"
        );
    }

    /// The capture body is JSON with the fields the spec requires.
    #[test]
    fn prism_captures_send_the_required_fields_as_json() {
        let call = captures()(7);
        assert_eq!(call.path, "/transactions/1000000000007/capture");
        let body: serde_json::Value = serde_json::from_str(&call.form.unwrap()).unwrap();
        for field in ["merchantReference", "amount", "splitToken"] {
            assert!(body[field].is_string(), "{field} missing: {body}");
        }
    }
}
