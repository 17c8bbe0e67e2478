//! The harness: a paybank server on a fresh database (SQLite, or a PostgreSQL schema), its
//! webhook receiver, and merchants whose allowed origins are the app and the receiver.

use std::future::Future;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

use paybank_core::ids::PaymentId;
use paybank_core::ledger::LedgerAccount;
use paybank_core::model::{ChainTotals, Merchant, Transaction};
use paybank_server::merchants::{create_merchant, NewMerchant};
use paybank_server::{AppState, Config};
use paybank_store::TransactionQuery;
use sqlx::{Connection, Executor};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::receiver::Receiver;

/// A running server with its receiver and a default merchant (split tokens on).
pub struct TestApp {
    /// `http://127.0.0.1:PORT`, also the configured public URL.
    pub url: String,
    pub state: AppState,
    pub receiver: Receiver,
    /// No redirects followed, no cookies: every 303 is seen and followed by hand.
    pub http: reqwest::Client,
    pub merchant: Merchant,
    shutdown: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<anyhow::Result<()>>>,
    temp_dir: Option<PathBuf>,
}

static NEXT_UNIQUE: AtomicU64 = AtomicU64::new(0);

/// Unique across processes (pid), tests (counter) and reruns (random); digits and `_` only.
pub fn unique_suffix() -> String {
    let count = NEXT_UNIQUE.fetch_add(1, Ordering::Relaxed);
    let salt: u32 = rand::random();
    format!("{}_{count}_{salt}", std::process::id())
}

impl TestApp {
    /// A server on a fresh SQLite file with the test configuration.
    pub async fn spawn() -> TestApp {
        TestApp::spawn_with(|_| {}).await
    }

    /// Like [`TestApp::spawn`], with configuration changes on top of the test defaults.
    pub async fn spawn_with(configure: impl FnOnce(&mut Config)) -> TestApp {
        let dir = std::env::temp_dir().join(format!("paybank-it-{}", unique_suffix()));
        std::fs::create_dir_all(&dir).expect("create the test directory");
        let url = format!("sqlite://{}", dir.join("paybank.db").display());
        TestApp::start(&url, Some(dir), configure).await
    }

    /// A server on the given database URL (a PostgreSQL schema, say).
    pub async fn spawn_on(database_url: &str) -> TestApp {
        TestApp::start(database_url, None, |_| {}).await
    }

    async fn start(
        database_url: &str,
        temp_dir: Option<PathBuf>,
        configure: impl FnOnce(&mut Config),
    ) -> TestApp {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("address"));
        let mut config = Config::defaults();
        config.workers.enabled = false;
        config.server.public_url = url.clone();
        // Files the server writes (ACH file copies) land in the test's own directory.
        config.server.data_dir = temp_dir.clone().unwrap_or_else(|| {
            let dir = std::env::temp_dir().join(format!("paybank-it-{}", unique_suffix()));
            std::fs::create_dir_all(&dir).expect("create the test directory");
            dir
        });
        configure(&mut config);
        let store = paybank_server::open_store(database_url, &config)
            .await
            .unwrap_or_else(|error| panic!("open {database_url}: {error}"));
        let state = AppState::new(config, store).await.expect("app state");
        let (shutdown, stopped) = oneshot::channel::<()>();
        let server = tokio::spawn(paybank_server::serve(listener, state.clone(), async {
            let _ = stopped.await;
        }));
        let receiver = Receiver::spawn().await;
        let merchant = new_merchant(&state, &url, &receiver, "Test Shop", true).await;
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("http client");
        TestApp {
            url,
            state,
            receiver,
            http,
            merchant,
            shutdown: Some(shutdown),
            server: Some(server),
            temp_dir,
        }
    }

    /// The SQLite database's files (main, WAL, shared memory) as raw bytes, to search them.
    pub fn database_bytes(&self) -> Vec<u8> {
        let dir = self.temp_dir.as_ref().expect("a SQLite-backed app");
        ["paybank.db", "paybank.db-wal", "paybank.db-shm"]
            .iter()
            .filter_map(|name| std::fs::read(dir.join(name)).ok())
            .flatten()
            .collect()
    }

    /// Another merchant of the same deployment.
    pub async fn add_merchant(&self, name: &str, split_tokens: bool) -> Merchant {
        new_merchant(&self.state, &self.url, &self.receiver, name, split_tokens).await
    }
}

async fn new_merchant(
    state: &AppState,
    app_url: &str,
    receiver: &Receiver,
    name: &str,
    split_token_enabled: bool,
) -> Merchant {
    let new = NewMerchant {
        name: name.to_owned(),
        notification_url: Some(receiver.notify_url()),
        allowed_origins: vec![app_url.to_owned(), receiver.url.clone()],
        split_token_enabled,
        payouts_from_settled_only: false,
    };
    let merchant = create_merchant(state, new).await.expect("create merchant");
    receiver.trust(&merchant.access_id, &merchant.access_key);
    merchant
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(server) = self.server.take() {
            server.abort();
        }
        if let Some(dir) = self.temp_dir.take() {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// Runs a story on a fresh SQLite-backed app.
pub async fn on_sqlite<F, Fut>(story: F)
where
    F: FnOnce(TestApp) -> Fut,
    Fut: Future<Output = ()>,
{
    story(TestApp::spawn().await).await;
}

/// Where PostgreSQL is, if the PostgreSQL runs are wanted: the suite's one setting.
#[allow(clippy::disallowed_methods)]
fn postgres_url() -> Option<String> {
    std::env::var("PAYBANK_TEST_POSTGRES_URL")
        .ok()
        .filter(|url| !url.trim().is_empty())
}

/// Runs a story on an app over its own PostgreSQL schema (`pbit_<unique>`), dropped afterwards
/// even when the story fails. Does nothing when `PAYBANK_TEST_POSTGRES_URL` is not set.
pub async fn on_postgres<F, Fut>(story: F)
where
    F: FnOnce(TestApp) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let Some(base) = postgres_url() else {
        return;
    };
    let schema = format!("pbit_{}", unique_suffix());
    let mut admin = sqlx::PgConnection::connect(&base)
        .await
        .expect("connect to PAYBANK_TEST_POSTGRES_URL");
    let create = format!("CREATE SCHEMA {schema}");
    admin.execute(create.as_str()).await.expect("create schema");
    let separator = if base.contains('?') { '&' } else { '?' };
    let url = format!("{base}{separator}options=-c%20search_path%3D{schema}");
    let app = TestApp::spawn_on(&url).await;
    let outcome = tokio::spawn(story(app)).await;
    let drop = format!("DROP SCHEMA {schema} CASCADE");
    admin.execute(drop.as_str()).await.expect("drop schema");
    if let Err(error) = outcome {
        match error.try_into_panic() {
            Ok(panic) => std::panic::resume_unwind(panic),
            Err(error) => panic!("the story did not finish: {error}"),
        }
    }
}

/// Every transaction of the default merchant, read from the store.
pub async fn all_transactions(app: &TestApp) -> Vec<Transaction> {
    let query = TransactionQuery {
        limit: 10_000,
        ..TransactionQuery::default()
    };
    let store = &app.state.store;
    let listed = store.list_transactions(app.merchant.merchant_id, &query);
    listed.await.expect("transactions")
}

/// Every payment of the default merchant keeps totals (moved by each change, captures made on
/// part of the chain among them) equal to what its transactions add up to.
pub async fn assert_payments_keep_their_totals(app: &TestApp) {
    let all = all_transactions(app).await;
    let mut payments: Vec<PaymentId> = all.iter().map(|txn| txn.payment_id).collect();
    payments.sort_unstable_by_key(|id| id.0);
    payments.dedup();
    for payment_id in payments {
        let chain = app.state.store.chain(payment_id).await.expect("read");
        let chain = chain.expect("the chain");
        let summed = ChainTotals::of(&chain.transactions);
        assert_eq!(chain.payment.totals, summed, "{payment_id:?}");
    }
}

/// The balances the store keeps beside the postings, for balance floors, are what the postings
/// of their accounts add up to (`balances`, from `ledger_balances`).
pub async fn assert_kept_balances_are_the_sums(app: &TestApp, balances: Vec<(String, i64)>) {
    let keeps = |name: &str| LedgerAccount::from_name(name).is_some_and(|of| of.keeps_balance());
    let nonzero = |(_, minor): &(String, i64)| *minor != 0;
    let summed: Vec<_> = (balances.into_iter())
        .filter(|row| keeps(&row.0) && nonzero(row))
        .collect();
    let kept = app
        .state
        .store
        .kept_balances()
        .await
        .expect("kept balances");
    let kept: Vec<_> = kept.into_iter().filter(nonzero).collect();
    assert_eq!(kept, summed);
}
