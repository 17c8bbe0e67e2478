//! What the crate's own unit tests share: the id seed, a SQLite database file of a test's own,
//! and for PostgreSQL where the server is, if there is one, and a schema of a test's own on it.

use paybank_core::ids::{permutation_key, StoredIds};
use sqlx::{AnyConnection, Connection, Executor};

/// The id seed of the stores the crate's own tests open.
pub(crate) const TEST_ID_SEED: &str = "test seed";

/// How the stores opened with [`TEST_ID_SEED`] keep ids.
pub(crate) fn test_ids() -> StoredIds {
    StoredIds::new(permutation_key(TEST_ID_SEED.as_bytes()))
}

/// A SQLite database of a test's own (named by the test and the process), in a directory
/// removed when this is dropped; sqlx's drivers are installed.
pub(crate) struct SqliteFile {
    dir: std::path::PathBuf,
    pub(crate) url: String,
}

impl SqliteFile {
    pub(crate) fn create(test: &str) -> SqliteFile {
        sqlx::any::install_default_drivers();
        let dir = std::env::temp_dir().join(format!("paybank-{test}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("create the test directory");
        let url = format!("sqlite://{}?mode=rwc", dir.join("paybank.db").display());
        SqliteFile { dir, url }
    }
}

impl Drop for SqliteFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// SQLite's plan for `sql`, one line per step; its `$N` parameters are bound to small numbers.
pub(crate) async fn sqlite_plan(connection: &mut AnyConnection, sql: &str) -> String {
    let explain = format!("EXPLAIN QUERY PLAN {sql}");
    let mut query = sqlx::query_as::<_, (i64, i64, i64, String)>(&explain);
    let parameters = (1..10)
        .take_while(|n| sql.contains(&format!("${n}")))
        .count();
    for value in 1..=parameters as i64 {
        query = query.bind(value);
    }
    let steps = query.fetch_all(connection).await.expect("explain");
    let lines: Vec<String> = steps.into_iter().map(|step| step.3).collect();
    lines.join("\n")
}

/// SQLite's plans for `statements`, each as [`sqlite_plan`] gives it, on a store opened (so
/// migrated) afresh for the test named `test`.
pub(crate) async fn sqlite_plans_on_a_new_store<const N: usize>(
    test: &str,
    statements: [&str; N],
) -> [String; N] {
    use sqlx::Connection;
    let file = SqliteFile::create(test);
    let store = crate::open(&file.url, TEST_ID_SEED).await.expect("open");
    let mut connection = AnyConnection::connect(&file.url).await.expect("connect");
    let mut plans = Vec::new();
    for sql in statements {
        plans.push(sqlite_plan(&mut connection, sql).await);
    }
    drop(store);
    plans.try_into().expect("one plan per statement")
}

/// `PAYBANK_TEST_POSTGRES_URL`, as `.ci/run` sets it, with sqlx's drivers installed; `None`
/// where it is unset, and the test then passes without PostgreSQL.
pub(crate) fn postgres_url() -> Option<String> {
    #[allow(clippy::disallowed_methods)]
    let url = std::env::var("PAYBANK_TEST_POSTGRES_URL").ok()?;
    sqlx::any::install_default_drivers();
    Some(url)
}

/// A schema made afresh for one test (named by the test and the process), and the URL whose
/// connections find their tables in it. Dropped by [`Schema::drop`].
pub(crate) struct Schema {
    admin: AnyConnection,
    pub(crate) name: String,
    pub(crate) url: String,
}

impl Schema {
    pub(crate) async fn create(base: &str, test: &str) -> Schema {
        let name = format!("pbt_{test}_{}", std::process::id());
        let mut admin = AnyConnection::connect(base).await.expect("connect");
        let setup = format!("DROP SCHEMA IF EXISTS {name} CASCADE; CREATE SCHEMA {name}");
        admin
            .execute(setup.as_str())
            .await
            .expect("create the schema");
        let separator = if base.contains('?') { '&' } else { '?' };
        let url = format!("{base}{separator}options=-c%20search_path%3D{name}");
        Schema { admin, name, url }
    }

    /// Runs `sql` (several statements allowed) on the administering connection.
    pub(crate) async fn run(&mut self, sql: &str) {
        self.admin.execute(sql).await.expect("set up the schema");
    }

    pub(crate) async fn drop(mut self) {
        let drop = format!("DROP SCHEMA {} CASCADE", self.name);
        self.admin
            .execute(drop.as_str())
            .await
            .expect("drop the schema");
    }
}
