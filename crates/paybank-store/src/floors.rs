//! Balance floors: ledger accounts a change must not take below zero (a merchant's settled
//! funds, for merchants paid out only from them), checked inside the change's transaction
//! after its postings are written.
//!
//! One writer per database makes the check safe on its own: on SQLite, every writer of the
//! file, in any process, holds the database's write lock until it commits. On PostgreSQL,
//! several nodes (or writer connections) write at once under read committed, so two changes
//! drawing on one account could each sum the postings without the other's and both pass. Each
//! account is therefore locked first, with a transaction-level advisory lock: the second
//! change waits until the first commits or rolls back, and its sum, a new statement with a new
//! snapshot, then counts the first's postings.

use paybank_core::ledger::LedgerAccount;

use crate::db::{args, Db};
use crate::sql::Backend;
use crate::{StoreError, StoreResult};

/// The first key of paybank's floor locks; the second is the account name's hash. PostgreSQL's
/// two-key advisory locks keep these apart from other users of advisory locks (sqlx's
/// migrations take one-key locks).
const FLOOR_LOCK_CLASS: i64 = 0x7062_666c; // "pbfl"

/// Refuses the change if any of `accounts` would end below zero; nothing it wrote stays.
pub(crate) async fn check(db: &mut Db<'_>, accounts: &[LedgerAccount]) -> StoreResult<()> {
    let mut names: Vec<String> = accounts.iter().map(LedgerAccount::name).collect();
    // One order for every change, so two changes locking the same accounts cannot deadlock.
    names.sort_unstable();
    names.dedup();
    if db.backend() == Backend::Postgres {
        for name in &names {
            db.execute(
                "SELECT pg_advisory_xact_lock(CAST($1 AS INTEGER), hashtext($2))",
                args![FLOOR_LOCK_CLASS, name],
            )
            .await?;
        }
    }
    for name in names {
        let total = db
            .fetch_number(
                "SELECT CAST(SUM(amount) AS BIGINT) AS value FROM ledger_postings WHERE account = $1",
                args![&name],
            )
            .await?;
        if total.unwrap_or(0) < 0 {
            return Err(StoreError::InsufficientFunds(name));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use paybank_core::ids::MerchantId;
    use sqlx::{AnyConnection, Connection, Executor};

    use super::*;

    /// Two PostgreSQL transactions each take $60 from an account holding $100. The second's
    /// check starts while the first's postings are uncommitted; without the lock it would sum
    /// $40 and pass, leaving -$20 once both commit. Runs where `PAYBANK_TEST_POSTGRES_URL`
    /// names a server, as `.ci/run` does.
    #[tokio::test]
    async fn postgres_checks_one_change_at_a_time() {
        let Some(base) = crate::test_support::postgres_url() else {
            return;
        };
        let mut schema = crate::test_support::Schema::create(&base, "floors").await;
        let name = &schema.name;
        let setup = format!(
            "CREATE TABLE {name}.ledger_postings (account TEXT NOT NULL, amount BIGINT NOT NULL); \
             INSERT INTO {name}.ledger_postings VALUES ('merchant:7:settled', 10000);"
        );
        schema.run(&setup).await;
        let url = schema.url.clone();
        let mut first = AnyConnection::connect(&url).await.expect("connect");
        let mut second = AnyConnection::connect(&url).await.expect("connect");
        let account = LedgerAccount::MerchantSettled(MerchantId(7));

        take_sixty_dollars(&mut first).await;
        check(
            &mut Db::sqlx(&mut first, crate::test_support::test_ids()),
            std::slice::from_ref(&account),
        )
        .await
        .expect("the first payout leaves $40");
        take_sixty_dollars(&mut second).await;
        let second_check = tokio::spawn(async move {
            let result = check(
                &mut Db::sqlx(&mut second, crate::test_support::test_ids()),
                &[account],
            )
            .await;
            (second, result)
        });
        tokio::time::sleep(Duration::from_millis(300)).await;
        first.execute("COMMIT").await.expect("commit the first");
        let (mut second, result) = second_check.await.expect("the second check");
        second
            .execute("ROLLBACK")
            .await
            .expect("roll back the second");
        schema.drop().await;
        assert!(
            matches!(&result, Err(StoreError::InsufficientFunds(name)) if name == "merchant:7:settled"),
            "{result:?}"
        );
    }

    /// Two transactions wait for each other's lock; PostgreSQL fails one of them, and the store
    /// answers it as a conflict, which callers retry, not as a database failure.
    #[tokio::test]
    async fn postgres_deadlock_is_a_conflict() {
        let Some(url) = crate::test_support::postgres_url() else {
            return;
        };
        let mut first = AnyConnection::connect(&url).await.expect("connect");
        let mut second = AnyConnection::connect(&url).await.expect("connect");
        let (one, two) = (
            i64::from(std::process::id()),
            -i64::from(std::process::id()),
        );
        first.execute("BEGIN").await.expect("begin");
        second.execute("BEGIN").await.expect("begin");
        lock(&mut first, one).await.expect("first takes one");
        lock(&mut second, two).await.expect("second takes two");
        let first_waits = tokio::spawn(async move {
            let result = lock(&mut first, two).await;
            let _ = first.execute("ROLLBACK").await;
            result
        });
        tokio::time::sleep(Duration::from_millis(100)).await;
        let second_result = lock(&mut second, one).await;
        let _ = second.execute("ROLLBACK").await;
        let first_result = first_waits.await.expect("the first lock");
        let failed: Vec<_> = [first_result, second_result]
            .into_iter()
            .filter_map(Result::err)
            .collect();
        assert!(
            matches!(failed.as_slice(), [StoreError::Conflict]),
            "{failed:?}"
        );
    }

    async fn lock(connection: &mut AnyConnection, key: i64) -> StoreResult<u64> {
        Db::sqlx(connection, crate::test_support::test_ids())
            .execute("SELECT pg_advisory_xact_lock($1)", args![key])
            .await
    }

    async fn take_sixty_dollars(connection: &mut AnyConnection) {
        connection
            .execute("BEGIN; INSERT INTO ledger_postings VALUES ('merchant:7:settled', -6000);")
            .await
            .expect("post the payout");
    }
}
