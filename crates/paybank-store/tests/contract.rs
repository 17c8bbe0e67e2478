//! The storage contract: each story runs on SQLite and, when `PAYBANK_TEST_POSTGRES_URL` is set,
//! on PostgreSQL (one schema per test), so both backends keep exactly the same behaviour.
//!
//! The stories live in `contract/` (one test binary, split only to keep files short); this
//! file holds the harness that gives every story a fresh database on each backend.

#[path = "contract/batches.rs"]
mod batches;
#[path = "contract/chain_reads.rs"]
mod chain_reads;
#[path = "contract/chains.rs"]
mod chains;
#[path = "contract/queues.rs"]
mod queues;
#[path = "contract/support.rs"]
mod support;
#[path = "contract/views.rs"]
mod views;

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use paybank_store::Store;
use sqlx::{Connection, Executor};
use tokio::task::JoinError;

static NEXT_UNIQUE: AtomicU64 = AtomicU64::new(0);

/// Unique across processes (pid), tests (counter) and reruns (nanos); digits and `_` only.
/// The wall clock only salts a name here; no story reads it.
#[allow(clippy::disallowed_methods)]
fn unique_suffix() -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.subsec_nanos());
    let count = NEXT_UNIQUE.fetch_add(1, Ordering::Relaxed);
    format!("{}_{count}_{nanos}", std::process::id())
}

/// Opens the store and runs the story on its own task, so a failed assertion comes back as a
/// value and the caller still cleans up before re-raising it.
async fn run_story<F, Fut>(url: String, story: F) -> Result<(), JoinError>
where
    F: FnOnce(Arc<dyn Store>) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let store = match paybank_store::open(&url, "contract").await {
        Ok(store) => store,
        // Fails the same way a story does, so the caller cleans up and reports it alike.
        Err(error) => return tokio::spawn(async move { panic!("open {url}: {error}") }).await,
    };
    tokio::spawn(story(store)).await
}

fn finish(outcome: Result<(), JoinError>) {
    if let Err(error) = outcome {
        match error.try_into_panic() {
            Ok(panic) => std::panic::resume_unwind(panic),
            Err(error) => panic!("the story did not finish: {error}"),
        }
    }
}

async fn run_on_sqlite<F, Fut>(story: F)
where
    F: FnOnce(Arc<dyn Store>) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let dir = std::env::temp_dir().join(format!("paybank-contract-{}", unique_suffix()));
    std::fs::create_dir_all(&dir).expect("create the test directory");
    let url = format!("sqlite://{}", dir.join("paybank.db").display());
    let outcome = run_story(url, story).await;
    let _ = std::fs::remove_dir_all(&dir);
    finish(outcome);
}

/// The test suite's one setting: where PostgreSQL is, if the PostgreSQL half should run.
#[allow(clippy::disallowed_methods)]
fn postgres_url() -> Option<String> {
    std::env::var("PAYBANK_TEST_POSTGRES_URL").ok()
}

async fn run_on_postgres<F, Fut>(story: F)
where
    F: FnOnce(Arc<dyn Store>) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let Some(base) = postgres_url() else {
        return;
    };
    let schema = format!("pbt_{}", unique_suffix());
    let mut admin = sqlx::PgConnection::connect(&base)
        .await
        .expect("connect to PAYBANK_TEST_POSTGRES_URL");
    let create = format!("CREATE SCHEMA {schema}");
    admin.execute(create.as_str()).await.expect("create schema");
    let separator = if base.contains('?') { '&' } else { '?' };
    let url = format!("{base}{separator}options=-c%20search_path%3D{schema}");
    let outcome = run_story(url, story).await;
    let tables: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = $1 \
         AND table_name IN ('_sqlx_migrations', 'merchants', 'payments')",
    )
    .bind(&schema)
    .fetch_one(&mut admin)
    .await
    .expect("count the schema's tables");
    let drop = format!("DROP SCHEMA {schema} CASCADE");
    admin.execute(drop.as_str()).await.expect("drop schema");
    finish(outcome);
    assert_eq!(tables, 3, "the migrations did not land in schema {schema}");
}

/// `story!(module::name)` runs `async fn name(Arc<dyn Store>)` from `module` twice, as the
/// tests `name::on_sqlite` and `name::on_postgres`.
macro_rules! story {
    ($module:ident :: $name:ident) => {
        mod $name {
            #[tokio::test(flavor = "multi_thread")]
            async fn on_sqlite() {
                super::run_on_sqlite(super::$module::$name).await;
            }

            #[tokio::test(flavor = "multi_thread")]
            async fn on_postgres() {
                super::run_on_postgres(super::$module::$name).await;
            }
        }
    };
}

story!(chains::merchants);
story!(chains::new_payment);
story!(chains::optimistic_concurrency);
story!(chains::reference_claims);
story!(chains::capture_lifecycle);
story!(chains::invariants);
story!(chains::group_commit_isolation);
story!(batches::batched_changes);
story!(chains::consistent_chain_reads);
story!(chain_reads::many_chains_read_at_once);
story!(chain_reads::chains_to_change_see_acknowledged_commits);
story!(chain_reads::chain_transactions_in_creation_order);
story!(chain_reads::chains_for_new_children);
story!(queues::timers);
story!(queues::event_delivery);
story!(queues::clock_ids_and_settings);
story!(queues::writer_counts_its_batches);
story!(views::lightbox_sessions);
story!(views::transaction_listing);
story!(views::event_log_paging);

/// SQLite only: a store in a directory of its own (`name` and a unique suffix) with one
/// merchant committed, so its WAL holds frames; and the directory.
async fn sqlite_store_with_a_commit(
    name: &str,
) -> (std::path::PathBuf, std::sync::Arc<dyn paybank_store::Store>) {
    let dir = std::env::temp_dir().join(format!("paybank-{name}-{}", unique_suffix()));
    std::fs::create_dir_all(&dir).expect("create the test directory");
    let store = paybank_store::open(
        &format!("sqlite://{}", dir.join("paybank.db").display()),
        "contract",
    )
    .await
    .expect("open the store");
    support::add_merchant(&store, &support::merchant(1, true)).await;
    (dir, store)
}

/// The bytes in the WAL of the database in `dir` (none when there is no WAL file).
fn wal_bytes(dir: &std::path::Path) -> u64 {
    std::fs::metadata(dir.join("paybank.db-wal")).map_or(0, |wal| wal.len())
}

/// SQLite only: a writer with nothing to do checkpoints what it wrote and empties the WAL, so
/// the next process to open the database has no WAL to read back first. Waits for it by
/// polling, with a bound far above the writer's 250 ms idle delay; nothing here times speed.
#[tokio::test]
async fn sqlite_idle_writer_empties_the_wal() {
    let (dir, store) = sqlite_store_with_a_commit("wal").await;
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(20);
    while wal_bytes(&dir) > 0 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let left = wal_bytes(&dir);
    drop(store);
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(left, 0, "the idle writer left {left} bytes of WAL");
}

/// SQLite only: `empty_wal` empties the WAL before it answers, without the writer's idle delay.
#[tokio::test]
async fn sqlite_empty_wal_empties_it_before_answering() {
    let (dir, store) = sqlite_store_with_a_commit("wal-now").await;
    let before = wal_bytes(&dir);
    store.empty_wal().await.expect("empty the WAL");
    let after = wal_bytes(&dir);
    drop(store);
    let _ = std::fs::remove_dir_all(&dir);
    assert!(before > 0, "the merchant's commit wrote no WAL");
    assert_eq!(after, 0, "{after} bytes of WAL left");
}
