//! What the crate's own PostgreSQL unit tests share: where the server is, if there is one.

/// `PAYBANK_TEST_POSTGRES_URL`, as `.ci/run` sets it, with sqlx's drivers installed; `None`
/// where it is unset, and the test then passes without PostgreSQL.
pub(crate) fn postgres_url() -> Option<String> {
    #[allow(clippy::disallowed_methods)]
    let url = std::env::var("PAYBANK_TEST_POSTGRES_URL").ok()?;
    sqlx::any::install_default_drivers();
    Some(url)
}
