//! The application: shared state, the router, and `serve(listener, shutdown)`.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{DefaultBodyLimit, Request};
use axum::response::Response;
use axum::{Router, ServiceExt};
use paybank_core::ach_schedule::AchSchedule;
use paybank_core::money::Amount;
use paybank_core::rules::Policy;
use paybank_store::Store;
use tokio::net::TcpListener;
use tower::{Service, ServiceBuilder};
use tower_http::timeout::TimeoutLayer;

use crate::clock::Clock;
use crate::config::Config;
use crate::ids::IdAllocator;
use crate::jobs::delivery::DeliveryLimits;
use crate::random::random_token;
use crate::request_log::RequestLogLayer;
use crate::{api, demo, lightbox};

/// Everything handlers and workers share, behind one `Arc`: axum clones the state for every
/// request, and one reference count is cheaper to clone and drop than a dozen (a read's profile
/// showed the dozen at 2 % of its time).
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

impl std::ops::Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

/// The fields of [`AppState`].
pub struct Shared {
    pub config: Arc<Config>,
    pub store: Arc<dyn Store>,
    pub clock: Arc<Clock>,
    pub ids: Arc<IdAllocator>,
    pub policy: Arc<Policy>,
    pub public_url: Arc<str>,
    pub templates: Arc<minijinja::Environment<'static>>,
    pub http: reqwest::Client,
    /// Held while due work runs, so a clock advance and the background worker never interleave.
    pub scheduler: Arc<tokio::sync::Mutex<()>>,
    pub delivery_limits: Arc<DeliveryLimits>,
    /// Woken after a commit that queued events, so deliveries start without waiting for a poll.
    pub work_ready: Arc<tokio::sync::Notify>,
    /// The demo merchant shop served at `/demo`, with what it has received.
    pub demo: Arc<demo::DemoShop>,
}

/// Opens the store at `database_url` for a server configured by `config`: a new database's ids
/// are made with the configured seed, or with a random secret when none is set.
pub async fn open_store(
    database_url: &str,
    config: &Config,
) -> paybank_store::StoreResult<Arc<dyn Store>> {
    paybank_store::open(database_url, &id_seed(config)).await
}

fn id_seed(config: &Config) -> String {
    match config.clock.seed.is_empty() {
        true => random_token(32),
        false => config.clock.seed.clone(),
    }
}

impl AppState {
    /// Builds the state over an open store: reads the clock, the templates; the id key is the
    /// one the store read when it opened.
    pub async fn new(config: Config, store: Arc<dyn Store>) -> anyhow::Result<AppState> {
        let id_key = store.stored_ids().key();
        let offset_ms = store.clock_offset().await?;
        let clock = Clock::from_config(&config.clock, offset_ms)?;
        let test_bank = paybank_store::RailWrite {
            new_accounts: crate::rails::banks::test_bank_accounts(),
            ..paybank_store::RailWrite::default()
        };
        store
            .commit(paybank_store::WriteSet {
                rail: Some(test_bank),
                ..paybank_store::WriteSet::default()
            })
            .await?;
        let http = reqwest::Client::builder()
            .timeout(Duration::from_millis(config.webhooks.timeout_ms))
            .connect_timeout(Duration::from_millis(config.webhooks.timeout_ms))
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("paybank/", env!("CARGO_PKG_VERSION")))
            .build()?;
        let policy = Policy {
            ach: AchSchedule {
                same_day_enabled: config.ach.same_day_enabled,
                same_day_entry_limit_cents: config.ach.same_day_entry_limit_cents,
                ..AchSchedule::default()
            },
            settlement_banking_days: config.settlement.settlement_banking_days,
            rtp_limit: Amount::from_minor(config.instant.rtp_limit_cents),
            fednow_limit: Amount::from_minor(config.instant.fednow_limit_cents),
            split_token_ttl_ms: (config.lightbox.split_token_ttl_s * 1000) as i64,
            lightbox_session_ttl_ms: (config.lightbox.session_ttl_s * 1000) as i64,
        };
        Ok(AppState(Arc::new(Shared {
            public_url: config.public_url().into(),
            delivery_limits: Arc::new(DeliveryLimits::new(&config.webhooks)),
            config: Arc::new(config),
            store,
            clock: Arc::new(clock),
            ids: Arc::new(IdAllocator::new(id_key)),
            policy: Arc::new(policy),
            templates: Arc::new(lightbox::templates()),
            http,
            scheduler: Arc::new(tokio::sync::Mutex::new(())),
            work_ready: Arc::new(tokio::sync::Notify::new()),
            demo: Arc::new(demo::DemoShop::new()?),
        })))
    }
}

impl AppState {
    /// Commits a write set and wakes the workers if it queued anything for them.
    pub async fn commit(
        &self,
        write: paybank_store::WriteSet,
    ) -> Result<(), paybank_store::StoreError> {
        let queues_work = write.change.as_ref().is_some_and(|change| {
            !change.events.is_empty() || !change.timers.is_empty() || !change.rail_jobs.is_empty()
        }) || write
            .rail
            .as_ref()
            .is_some_and(|rail| !rail.jobs.is_empty());
        self.store.commit(write).await?;
        if queues_work {
            self.work_ready.notify_one();
        }
        Ok(())
    }
}

/// The whole HTTP surface, for `serve`: the routes, inside the layers every request passes.
///
/// The layers wrap the router once rather than each route (`Router::layer`), so a request goes
/// through one stack of them instead of the boxed stack its route was given: the boxes are
/// cloned for every request. Unknown paths pass the layers too.
pub fn app(
    state: AppState,
) -> impl Service<Request, Response = Response, Error = Infallible, Future: Send> + Clone + Send {
    let config = state.config.clone();
    let demo_routes = match config.demo.enabled {
        true => demo::routes(),
        false => Router::new(),
    };
    let metrics_routes = match config.server.metrics {
        true => Router::new().route("/metrics", axum::routing::get(crate::metrics::metrics)),
        false => Router::new(),
    };
    let routes = Router::new()
        .merge(api::routes(&config))
        .merge(lightbox::routes())
        .merge(demo_routes)
        .merge(metrics_routes)
        .fallback(api::not_found)
        .with_state(state);
    ServiceBuilder::new()
        .layer(RequestLogLayer)
        .layer(TimeoutLayer::with_status_code(
            axum::http::StatusCode::REQUEST_TIMEOUT,
            Duration::from_millis(config.server.request_timeout_ms),
        ))
        .layer(DefaultBodyLimit::max(config.server.body_bytes_max))
        .service(routes)
}

/// Serves the app (and, if configured, the workers) until `shutdown` completes.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let (stop_workers, workers_stopped) = tokio::sync::watch::channel(false);
    let worker = state
        .config
        .workers
        .enabled
        .then(|| tokio::spawn(crate::jobs::run_workers(state.clone(), workers_stopped)));
    let service =
        ServiceExt::<Request>::into_make_service_with_connect_info::<SocketAddr>(app(state));
    axum::serve(listener, service)
        .with_graceful_shutdown(shutdown)
        .await?;
    let _ = stop_workers.send(true);
    if let Some(worker) = worker {
        worker.await?;
    }
    Ok(())
}
