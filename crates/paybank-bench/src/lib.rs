//! paybank's benchmark harness: starts the server under test (and the bare-axum ceiling) pinned
//! to one core, drives open-loop load at fixed arrival rates and a closed-loop peak from the
//! other core, and reports throughput, latency percentiles, server CPU per request, peak RSS
//! and database size as JSON and Markdown; over several runs, their median. See BENCHMARKS.md.

pub mod background;
pub mod ceiling;
mod connections;
pub mod delivery_check;
pub mod fanout;
pub mod flow_load;
pub mod flows;
pub mod instructions;
pub mod load;
pub mod machine;
pub mod merchant_api;
pub mod nacha;
pub mod peers;
pub mod postgres;
pub mod process;
pub mod receiver;
pub mod report;
pub mod scenarios;
pub mod seed;
pub mod thread_cpu;
pub mod writer_note;

use std::path::PathBuf;

/// What to run.
#[derive(Clone, Debug)]
pub struct Options {
    /// A few seconds, small stores, no peers: keeps the harness from rotting in the test suite.
    pub quick: bool,
    /// The `paybank` executable to run as the server under test.
    pub exe: PathBuf,
    /// Where results and scratch databases go.
    pub out_dir: PathBuf,
    /// Transactions stored for the read scenario.
    pub stored_transactions: usize,
    /// Seconds each load phase runs.
    pub phase_seconds: f64,
    /// Fixed arrival rates for the open-loop read and capture runs, requests per second.
    pub read_rate: f64,
    pub capture_rate: f64,
    /// Where the peers (Prism, localstripe) are installed and what Prism mocks; none skips them.
    pub peers: Option<peers::Setup>,
    /// A PostgreSQL server (trust auth) where (b) on PostgreSQL may create and drop databases.
    pub postgres_url: String,
    /// Offered rate of the open-loop run of (c), full flows per second.
    pub flow_rate: f64,
    /// Queued events (d) drains.
    pub fanout_events: usize,
    /// The scenarios to run, by letter (`a`–`f`, `p` for the peers); empty runs them all.
    pub only: String,
    /// How many times the scenarios run; the report gives each number's median over the runs.
    pub n_runs: usize,
}

/// Where `paybank bench` looks for PostgreSQL unless told otherwise.
pub const POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

impl Options {
    pub fn new(exe: PathBuf, out_dir: PathBuf, quick: bool) -> Options {
        match quick {
            true => Options {
                quick,
                exe,
                out_dir,
                stored_transactions: 2_000,
                phase_seconds: 0.5,
                read_rate: 500.0,
                capture_rate: 200.0,
                peers: None,
                postgres_url: POSTGRES_URL.to_owned(),
                flow_rate: 40.0,
                fanout_events: 2_000,
                only: String::new(),
                n_runs: 1,
            },
            false => Options {
                quick,
                exe,
                out_dir,
                stored_transactions: 1_000_000,
                phase_seconds: 10.0,
                read_rate: 20_000.0,
                capture_rate: 10_000.0,
                peers: Some(peers::Setup::default()),
                postgres_url: POSTGRES_URL.to_owned(),
                flow_rate: 500.0,
                fanout_events: 100_000,
                only: String::new(),
                n_runs: 1,
            },
        }
    }
}

impl Options {
    /// Whether scenario `letter` is part of this run.
    pub fn runs(&self, letter: char) -> bool {
        self.only.is_empty() || self.only.contains(letter)
    }
}

/// Runs the selected scenarios `n_runs` times and writes `bench.json` and `bench.md` into the
/// output directory after each run, so a failure late in a long run keeps the runs before it.
pub async fn run(options: &Options) -> anyhow::Result<report::runs::Runs> {
    std::fs::create_dir_all(&options.out_dir)?;
    // Held until the run ends, however it ends (an interrupted run is dropped), so kdamond gets
    // its own policy back. A quick run measures nothing and leaves the machine alone.
    let idled = match options.quick {
        true => background::IdledThreads::default(),
        false => background::IdledThreads::damon_workers(),
    };
    let mut machine = machine::describe(&options.out_dir);
    machine.idled = idled.names();
    let read_store = match options.runs('a') {
        true => Some(scenarios::seed_reads(options).await?),
        false => None,
    };
    let n_runs = options.n_runs.max(1);
    let mut runs = report::runs::Runs::default();
    for run_idx in 0..n_runs {
        if n_runs > 1 {
            tracing::info!("run {} of {n_runs}", run_idx + 1);
        }
        let mut report = report::Report::new(options);
        report.machine = machine.clone();
        run_once(options, read_store.as_ref(), &mut report).await?;
        runs.push(report);
        runs.write(&options.out_dir)?;
    }
    Ok(runs)
}

/// One run of every selected scenario, peers included, so ratios compare rows of one run.
async fn run_once(
    options: &Options,
    read_store: Option<&scenarios::ReadStore>,
    report: &mut report::Report,
) -> anyhow::Result<()> {
    if let Some(read_store) = read_store {
        scenarios::reads(options, read_store, report).await?;
    }
    if options.runs('b') {
        scenarios::captures(options, report).await?;
        scenarios::captures_postgres(options, report).await?;
    }
    if options.runs('c') {
        flows::full_flow(options, report).await?;
    }
    if options.runs('d') {
        fanout::fan_out(options, report).await?;
    }
    if options.runs('e') {
        report.push(nacha::run(if options.quick { 1_000 } else { 100_000 })?);
    }
    if options.runs('f') {
        instructions::instructions(options, report).await?;
    }
    if options.runs('p') {
        peers::run(options, report).await?;
    }
    Ok(())
}
