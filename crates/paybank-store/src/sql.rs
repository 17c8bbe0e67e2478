//! The SQL store: SQLite or PostgreSQL behind one implementation of [`crate::Store`].

use std::str::FromStr;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyConnection, AnyPool, ConnectOptions, Executor};

use crate::writer::WriterHandle;
use crate::{StoreError, StoreResult};

/// Which database is behind the store; decides the migrations and the few statements that
/// differ between the two.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Bounds of the group-commit writer.
#[derive(Clone, Copy, Debug)]
pub struct WriterOptions {
    /// Most commands committed together.
    pub batch_size_max: usize,
    /// Most commands waiting; callers wait (backpressure) beyond it.
    pub queue_length_max: usize,
    pub read_connections_max: u32,
}

impl Default for WriterOptions {
    fn default() -> WriterOptions {
        WriterOptions {
            batch_size_max: 256,
            queue_length_max: 4096,
            read_connections_max: 8,
        }
    }
}

/// SQLite or PostgreSQL, chosen by the URL scheme.
pub struct SqlStore {
    pub(crate) backend: Backend,
    pub(crate) reads: AnyPool,
    pub(crate) writer: WriterHandle,
}

const SQLITE_PRAGMAS: &str = "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; \
    PRAGMA busy_timeout = 5000; PRAGMA foreign_keys = ON;";
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

impl SqlStore {
    pub async fn open(database_url: &str, options: WriterOptions) -> StoreResult<SqlStore> {
        sqlx::any::install_default_drivers();
        let backend = backend_of(database_url)?;
        let url = match backend {
            Backend::Sqlite if !database_url.contains("mode=") => {
                let separator = if database_url.contains('?') { '&' } else { '?' };
                format!("{database_url}{separator}mode=rwc")
            }
            _ => database_url.to_owned(),
        };
        let connect_options = AnyConnectOptions::from_str(&url)?.disable_statement_logging();
        let mut write_connection = connect(&connect_options, backend).await?;
        migrate(&mut write_connection, backend).await?;
        let reads = AnyPoolOptions::new()
            .max_connections(options.read_connections_max)
            .acquire_timeout(CONNECT_TIMEOUT)
            .after_connect(move |connection, _| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        connection.execute("PRAGMA busy_timeout = 5000;").await?;
                    }
                    Ok(())
                })
            })
            .connect_with(connect_options)
            .await?;
        let writer = WriterHandle::spawn(write_connection, backend, options);
        Ok(SqlStore {
            backend,
            reads,
            writer,
        })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }
}

fn backend_of(database_url: &str) -> StoreResult<Backend> {
    if database_url.starts_with("sqlite:") {
        Ok(Backend::Sqlite)
    } else if database_url.starts_with("postgres:") || database_url.starts_with("postgresql:") {
        Ok(Backend::Postgres)
    } else {
        Err(StoreError::Database(format!(
            "unsupported database URL {database_url:?}: use sqlite://PATH or postgres://…"
        )))
    }
}

async fn connect(options: &AnyConnectOptions, backend: Backend) -> StoreResult<AnyConnection> {
    let mut connection = tokio::time::timeout(CONNECT_TIMEOUT, options.connect())
        .await
        .map_err(|_| StoreError::Database("timed out connecting to the database".to_owned()))??;
    if backend == Backend::Sqlite {
        connection.execute(SQLITE_PRAGMAS).await?;
    }
    Ok(connection)
}

async fn migrate(connection: &mut AnyConnection, backend: Backend) -> StoreResult<()> {
    let migrator = match backend {
        Backend::Sqlite => sqlx::migrate!("./migrations/sqlite"),
        Backend::Postgres => sqlx::migrate!("./migrations/postgres"),
    };
    migrator
        .run(connection)
        .await
        .map_err(|error| StoreError::Database(format!("migrations failed: {error}")))
}
