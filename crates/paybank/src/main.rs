//! The `paybank` binary: `serve`, `merchant create|list`, `clock advance`, `ach files`, `migrate`, `config`.

mod scheduling;

use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use paybank_server::demo::demo_merchant;
use paybank_server::merchants::{create_merchant, NewMerchant};
use paybank_server::{AppState, Config};

/// mimalloc rather than the system allocator: a request allocates many small, short-lived
/// buffers (headers, rows, JSON), and glibc's malloc and free were 10–15 % of the server's CPU
/// in profiles of reads and captures.
#[global_allocator]
static ALLOCATOR: allocator::Mimalloc = allocator::Mimalloc;

mod allocator;

#[derive(Parser)]
#[command(
    name = "paybank",
    version,
    about = "An open-source pay-by-bank platform that speaks Trustly's North America API."
)]
struct Cli {
    #[command(flatten)]
    common: CommonArgs,
    #[command(subcommand)]
    command: Command,
}

/// Where the data lives; the same flags for every subcommand.
#[derive(Args)]
struct CommonArgs {
    /// A TOML file overriding config.default.toml.
    #[arg(long, global = true, env = "PAYBANK_CONFIG")]
    config: Option<PathBuf>,
    /// Directory holding the embedded SQLite database.
    #[arg(long, global = true, env = "PAYBANK_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// Database URL (sqlite://… or postgres://…), overriding the data directory's database.
    #[arg(long, global = true, env = "PAYBANK_DATABASE_URL")]
    database_url: Option<String>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the API, the hosted pages and the workers.
    Serve {
        /// Address to listen on.
        #[arg(long, env = "PAYBANK_LISTEN")]
        listen: Option<String>,
    },
    /// Manage merchants.
    #[command(subcommand)]
    Merchant(MerchantCommand),
    /// Move simulated time (sandbox).
    #[command(subcommand)]
    Clock(ClockCommand),
    /// ACH files paybank sent and received.
    #[command(subcommand)]
    Ach(AchCommand),
    /// Translate between public ids and the counters the database keeps in their place.
    #[command(subcommand)]
    Id(IdCommand),
    /// Apply database migrations and exit.
    Migrate,
    /// Benchmark this build against the bare-axum ceiling and the peers (see BENCHMARKS.md).
    Bench(BenchArgs),
    /// The ceiling the benchmark compares with: a bare axum handler (used by `bench`).
    #[command(hide = true)]
    BenchCeiling {
        #[arg(long)]
        listen: String,
        #[arg(long)]
        body_bytes: usize,
    },
    /// Print the default configuration file.
    Config,
}

#[derive(Args)]
struct BenchArgs {
    /// A few seconds with small stores and no peers: checks the harness works, measures nothing.
    #[arg(long)]
    quick: bool,
    /// Where results (bench.json, bench.md) and scratch databases go.
    #[arg(long, default_value = "target/bench")]
    out: PathBuf,
    /// Skip the peers (Stoplight Prism, localstripe) in a full run.
    #[arg(long)]
    no_peers: bool,
    /// Seconds each load phase runs, instead of the mode's default.
    #[arg(long)]
    phase_seconds: Option<f64>,
    /// Transactions stored for the read scenario, instead of the mode's default.
    #[arg(long)]
    stored: Option<usize>,
    /// PostgreSQL (trust auth) for (b) on PostgreSQL: a database is created there per run and
    /// dropped after it. Unreachable: (b) on PostgreSQL is skipped with a note.
    #[arg(long, default_value = paybank_bench::POSTGRES_URL)]
    postgres_url: String,
    /// Offered rate of the full-flow scenario (c), flows per second, instead of the mode's default.
    #[arg(long)]
    flow_rate: Option<f64>,
    /// Queued events the fan-out scenario (d) drains, instead of the mode's default.
    #[arg(long)]
    events: Option<usize>,
    /// Where the peers are installed (default: target/bench-cache in the workspace).
    #[arg(long)]
    peers_cache: Option<PathBuf>,
    /// The OpenAPI document Prism mocks (default: shared/reference/trustly-na-openapi.yml beside
    /// the workspace).
    #[arg(long, env = "PAYBANK_BENCH_OPENAPI")]
    openapi: Option<PathBuf>,
    /// Only these scenarios, by letter: `--only ab` runs (a) and (b); `p` is the peers, `f` the
    /// instruction counts under callgrind.
    #[arg(long, default_value = "")]
    only: String,
    /// Run the scenarios (peers included) this many times and report each number's median;
    /// (a)'s store is seeded once and read by every run.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..))]
    runs: u16,
}

#[derive(Subcommand)]
enum AchCommand {
    /// List the ACH files, newest first, or print one file's content.
    Files {
        /// Only this merchant's files.
        #[arg(long)]
        merchant_id: Option<u64>,
        /// Print this file's content exactly as sent or received.
        #[arg(long)]
        show: Option<String>,
        /// Most files to list.
        #[arg(long, default_value_t = 100)]
        limit: i64,
    },
}

#[derive(Subcommand)]
enum MerchantCommand {
    /// Create a merchant and print its credentials.
    Create {
        #[arg(long)]
        name: String,
        /// Where event notifications go.
        #[arg(long)]
        notification_url: Option<String>,
        /// An origin return/cancel/notification URLs may use (repeatable).
        #[arg(long = "allowed-origin")]
        allowed_origins: Vec<String>,
        /// Do not issue split tokens (captures then need none).
        #[arg(long)]
        no_split_token: bool,
        /// Deposits and refunds may draw only on settled funds; others are refused.
        #[arg(long)]
        payouts_from_settled_only: bool,
        /// Print one JSON object with merchantId, accessId and accessKey.
        #[arg(long)]
        json: bool,
    },
    /// List merchants.
    List {
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
enum IdCommand {
    /// What a database column holds for this public id.
    Stored { id: u64 },
    /// The public id a database column's value stands for.
    Public {
        #[arg(allow_negative_numbers = true)]
        stored: i64,
    },
}

#[derive(Subcommand)]
enum ClockCommand {
    /// Advance simulated time, e.g. `3d`, `12h`, `90m`, `30s`, running everything that falls due.
    Advance { duration: String },
    /// Print simulated time.
    Show,
}

fn main() -> anyhow::Result<()> {
    // Before any SQLite connection opens; after that SQLite keeps its own cache.
    if !paybank_store::install_page_cache() {
        eprintln!("paybank: SQLite's page cache could not be wrapped; its own is used");
    }
    let cli = Cli::parse();
    let runtime = match cli.command {
        Command::Bench(_) => bench_runtime(),
        _ => tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build(),
    };
    runtime
        .context("starting the async runtime")?
        .block_on(run(cli))
}

/// The load generator's runtime: pinned to its one core, and one thread. A multi-threaded
/// runtime runs `block_on`'s future (the open loop's dispatcher, which never sleeps) on the main
/// thread and the requests on a worker, two threads taking turns on one core in slices of
/// milliseconds: every 4–8 ms, no answer was read for 1.5–3 ms, which the open loop counted as
/// the server's latency (the bare ceiling at a third of its core: p50 0.7 ms, p99 8 ms).
/// Its priority is raised first, before any thread or child exists to miss it (`process::NICE`).
fn bench_runtime() -> std::io::Result<tokio::runtime::Runtime> {
    if let Err(error) = paybank_bench::process::raise_priority() {
        eprintln!(
            "note: could not raise the harness's priority ({error}); the machine's background \
             work may show in the latencies"
        );
    }
    if !paybank_bench::process::pin_self(1) {
        eprintln!("note: taskset is missing; the load generator and the server share cores");
    }
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let filter = match cli.command {
        Command::Serve { .. } => "info,sqlx=warn",
        // The harness says what it installs, which takes a while the first time.
        Command::Bench(_) => "warn,paybank_bench=info",
        _ => "warn",
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("PAYBANK_LOG")
                .unwrap_or_else(|_| filter.into()),
        )
        .init();
    let listen = match &cli.command {
        Command::Serve { listen } => listen.clone(),
        _ => None,
    };
    match &cli.command {
        Command::Bench(args) => return bench(args).await,
        Command::BenchCeiling { listen, body_bytes } => {
            return paybank_bench::ceiling::serve(listen, *body_bytes).await
        }
        _ => {}
    }
    let config = load_config(&cli.common, listen)?;
    match cli.command {
        Command::Bench(_) | Command::BenchCeiling { .. } => Ok(()),
        Command::Serve { .. } => serve(config).await,
        Command::Merchant(command) => merchant(config, command).await,
        Command::Clock(command) => clock(config, command).await,
        Command::Ach(command) => ach(config, command).await,
        Command::Id(command) => id(config, command).await,
        Command::Migrate => {
            open_state(config).await?;
            println!("migrations applied");
            Ok(())
        }
        Command::Config => {
            print!("{}", paybank_server::config::DEFAULT_CONFIG_TOML);
            Ok(())
        }
    }
}

/// Runs the benchmark harness with this executable as the server under test, the harness
/// itself pinned to core 1 by `main` (the server gets core 0).
async fn bench(args: &BenchArgs) -> anyhow::Result<()> {
    let exe = std::env::current_exe().context("finding the paybank executable")?;
    let mut options = paybank_bench::Options::new(exe, args.out.clone(), args.quick);
    if let Some(seconds) = args.phase_seconds {
        options.phase_seconds = seconds;
    }
    if let Some(stored) = args.stored {
        options.stored_transactions = stored;
    }
    options.postgres_url = args.postgres_url.clone();
    options.only = args.only.clone();
    options.n_runs = usize::from(args.runs);
    options.flow_rate = args.flow_rate.unwrap_or(options.flow_rate);
    options.fanout_events = args.events.unwrap_or(options.fanout_events);
    if args.no_peers {
        options.peers = None;
    }
    if let Some(peers) = &mut options.peers {
        if let Some(cache) = &args.peers_cache {
            peers.cache_dir = cache.clone();
        }
        if let Some(openapi) = &args.openapi {
            peers.openapi = openapi.clone();
        }
    }
    // Stopping the run drops it, and with it every server under test, which kills each one:
    // an interrupted harness leaves nothing running pinned to core 0.
    let interrupted = interruption()?;
    let runs = tokio::select! {
        runs = paybank_bench::run(&options) => runs?,
        signal = interrupted => anyhow::bail!("{signal}: the servers under test were stopped"),
    };
    print!("{}", runs.markdown());
    println!("results: {}/bench.md and bench.json", args.out.display());
    Ok(())
}

/// Defaults, file, `PAYBANK_*` environment, then command-line flags.
fn load_config(common: &CommonArgs, listen: Option<String>) -> anyhow::Result<Config> {
    #[allow(clippy::disallowed_methods)]
    let env = std::env::vars();
    let mut config = Config::from_layers(common.config.as_deref(), env)?;
    if let Some(data_dir) = &common.data_dir {
        config.server.data_dir = data_dir.clone();
    }
    if let Some(url) = &common.database_url {
        config.server.database_url = url.clone();
    }
    if let Some(listen) = listen {
        config.server.listen = listen;
    }
    Ok(config)
}

async fn open_state(config: Config) -> anyhow::Result<AppState> {
    let url = config.database_url();
    if url.starts_with("sqlite:") {
        std::fs::create_dir_all(&config.server.data_dir).with_context(|| {
            format!(
                "creating data directory {}",
                config.server.data_dir.display()
            )
        })?;
    }
    let store = paybank_server::open_store(&url, &config)
        .await
        .with_context(|| format!("opening database {url}"))?;
    AppState::new(config, store).await
}

async fn serve(config: Config) -> anyhow::Result<()> {
    // First, so the threads the store starts (the writer's among them) inherit the policy.
    if config.server.batch_scheduling {
        match scheduling::batch_all_threads() {
            Ok(threads) => tracing::debug!(threads, "threads scheduled as SCHED_BATCH"),
            Err(error) => tracing::warn!(%error, "could not schedule threads as SCHED_BATCH"),
        }
    }
    // Before the listener: whoever sees it listening may stop the server at once.
    let interrupted = interruption()?;
    let listen = config.server.listen.clone();
    let state = open_state(config).await?;
    seed_demo_merchant(&state).await?;
    let listener = tokio::net::TcpListener::bind(&listen)
        .await
        .with_context(|| format!("binding {listen}"))?;
    println!("paybank is listening on {}", state.public_url);
    if state.config.demo.enabled {
        println!("The demo shop is at {}/demo", state.public_url);
    }
    // SIGTERM is how service managers and containers stop a server, Ctrl-C how a person does:
    // either way it stops taking connections, answers those in flight and stops its workers.
    let shutdown = async {
        let signal = interrupted.await;
        tracing::info!("{signal}: stopping");
    };
    let store = state.store.clone();
    paybank_server::serve(listener, state, shutdown).await?;
    // The process may end before the store is dropped; the WAL is left empty for the next.
    if let Err(error) = store.empty_wal().await {
        tracing::warn!(%error, "emptying the WAL on the way out failed");
    }
    Ok(())
}

/// Catches Ctrl-C (SIGINT) and SIGTERM from the moment it is called, so a signal that comes
/// before the returned future is first awaited still stops the process the orderly way
/// instead of ending it; the future ends at the first of them and names it.
fn interruption() -> anyhow::Result<impl std::future::Future<Output = &'static str>> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut interrupt = signal(SignalKind::interrupt()).context("catching SIGINT")?;
    let mut terminate = signal(SignalKind::terminate()).context("catching SIGTERM")?;
    Ok(async move {
        tokio::select! {
            _ = interrupt.recv() => "interrupted",
            _ = terminate.recv() => "terminated",
        }
    })
}

/// The demo shop's merchant, so the walkthrough works at once; its credentials are printed
/// when it is created, since they are shown nowhere else.
async fn seed_demo_merchant(state: &AppState) -> anyhow::Result<()> {
    if !state.config.demo.enabled {
        return Ok(());
    }
    let (merchant, created) = demo_merchant(state)
        .await
        .context("finding or creating the demo merchant")?;
    if created {
        println!("Created the demo merchant \"{}\":", merchant.name);
        println!("  merchantId: {}", merchant.merchant_id);
        println!("  accessId:   {}", merchant.access_id);
        println!("  accessKey:  {}", merchant.access_key);
    }
    Ok(())
}

async fn merchant(config: Config, command: MerchantCommand) -> anyhow::Result<()> {
    let state = open_state(config).await?;
    match command {
        MerchantCommand::Create {
            name,
            notification_url,
            allowed_origins,
            no_split_token,
            payouts_from_settled_only,
            json,
        } => {
            let new = NewMerchant {
                name,
                notification_url,
                allowed_origins,
                split_token_enabled: !no_split_token,
                payouts_from_settled_only,
            };
            let merchant = create_merchant(&state, new).await?;
            if json {
                let output = serde_json::json!({
                    "merchantId": merchant.merchant_id.to_string(),
                    "accessId": merchant.access_id,
                    "accessKey": merchant.access_key,
                });
                println!("{output}");
            } else {
                println!(
                    "merchantId: {}\naccessId:   {}\naccessKey:  {}",
                    merchant.merchant_id, merchant.access_id, merchant.access_key
                );
            }
        }
        MerchantCommand::List { json } => {
            for merchant in state.store.list_merchants().await? {
                if json {
                    let output = serde_json::json!({
                        "merchantId": merchant.merchant_id.to_string(),
                        "name": merchant.name,
                        "accessId": merchant.access_id,
                        "notificationUrl": merchant.notification_url,
                        "allowedOrigins": merchant.allowed_origins,
                        "splitToken": merchant.split_token_enabled,
                    });
                    println!("{output}");
                } else {
                    let url = merchant.notification_url.as_deref().unwrap_or("-");
                    println!(
                        "{}\t{}\t{}\t{}",
                        merchant.merchant_id, merchant.access_id, merchant.name, url
                    );
                }
            }
        }
    }
    Ok(())
}

async fn clock(config: Config, command: ClockCommand) -> anyhow::Result<()> {
    let state = open_state(config).await?;
    if let ClockCommand::Advance { duration } = command {
        let seconds = paybank_server::clock::parse_duration_seconds(&duration)
            .with_context(|| format!("{duration:?} is not a duration like 3d, 12h, 90m or 30s"))?;
        paybank_server::jobs::advance_clock(&state, seconds * 1000).await?;
    }
    let now = state.clock.now();
    println!("simulated time: {now} ({})", format_time(now));
    Ok(())
}

/// Ids are stored as the counters they were made from (`paybank-store/src/stored_ids.rs`), so
/// reading the database by hand needs this to match rows to the ids the API shows.
async fn id(config: Config, command: IdCommand) -> anyhow::Result<()> {
    let state = open_state(config).await?;
    let ids = state.store.stored_ids();
    match command {
        IdCommand::Stored { id } => {
            anyhow::ensure!(
                id <= i64::MAX as u64,
                "{id} is not an id: ids have at most 15 digits"
            );
            println!("{}", ids.stored(id));
        }
        IdCommand::Public { stored } => match ids.id(stored) {
            Some(id) => println!("{id}"),
            None => anyhow::bail!("no id is stored as {stored}"),
        },
    }
    Ok(())
}

async fn ach(config: Config, command: AchCommand) -> anyhow::Result<()> {
    let state = open_state(config).await?;
    let AchCommand::Files {
        merchant_id,
        show,
        limit,
    } = command;
    if let Some(name) = show {
        let file = state
            .store
            .rail_file(&name)
            .await?
            .with_context(|| format!("no ACH file named {name:?}"))?;
        print!("{}", file.content);
        return Ok(());
    }
    let merchant_id = merchant_id.map(paybank_core::ids::MerchantId);
    let files = state
        .store
        .list_rail_files(merchant_id, limit.clamp(1, 10_000))
        .await?;
    println!("name\tdirection\tkind\tcreated\tentries\tdebits\tcredits");
    for file in files {
        println!(
            "{}\t{}\t{}\t{}\t{}\t{}\t{}",
            file.name,
            file.direction,
            file.kind,
            format_time(file.created_at),
            file.entry_count,
            paybank_core::money::Amount::from_minor(file.debit_total),
            paybank_core::money::Amount::from_minor(file.credit_total),
        );
    }
    Ok(())
}

fn format_time(ms: i64) -> String {
    let seconds = ms.div_euclid(1000);
    match time::OffsetDateTime::from_unix_timestamp(seconds) {
        Ok(moment) => format!("{moment}"),
        Err(_) => "out of range".to_owned(),
    }
}
