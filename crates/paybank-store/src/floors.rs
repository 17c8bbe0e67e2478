//! Balance floors: ledger accounts a change must not take below zero (a merchant's settled
//! funds, for merchants paid out only from them), checked inside the change's transaction
//! after its postings are written.
//!
//! The accounts a floor protects keep their running balance in `account_balances` (migration
//! 0011), moved by every change's postings in the change's own transaction ([`add_kept`], and
//! the batch statement of `bulk.rs`), so a check reads one row however long the account's
//! history. Any other account is summed from its postings.
//!
//! One writer per database makes the check safe on its own: on SQLite, every writer of the
//! file, in any process, holds the database's write lock until it commits. On PostgreSQL,
//! several nodes (or writer connections) write at once under read committed, so two changes
//! drawing on one account could each see the balance without the other's and both pass. A
//! kept balance is guarded by its row: a change's update of it waits until any other change
//! that updated it commits or rolls back, and then adds to the committed value, so the read
//! after it, a new statement with a new snapshot, counts both. A summed account is locked
//! first with a transaction-level advisory lock, to the same end.

use std::sync::LazyLock;

use paybank_core::ledger::{kept_balance_changes, LedgerAccount, Posting};

use crate::db::{args, Db};
use crate::sql::Backend;
use crate::{StoreError, StoreResult};

/// The first key of paybank's floor locks; the second is the account name's hash. PostgreSQL's
/// two-key advisory locks keep these apart from other users of advisory locks (sqlx's
/// migrations take one-key locks).
const FLOOR_LOCK_CLASS: i64 = 0x7062_666c; // "pbfl"

/// Adds what `postings` move to the balances kept for their accounts, in one order of accounts
/// for every writer (see [`kept_balance_changes`]).
pub(crate) async fn add_kept(db: &mut Db<'_>, postings: &[Posting]) -> StoreResult<()> {
    for (account, minor) in kept_balance_changes(postings) {
        db.execute(&KEPT_BALANCE_ADD, args![account, minor]).await?;
    }
    Ok(())
}

/// How a row added to `account_balances` for an account that has one already adds to it; the
/// per-change statement below and the batch clause of `bulk.rs` both end with it.
pub(crate) const KEPT_BALANCE_ON_CONFLICT: &str =
    "ON CONFLICT (account) DO UPDATE SET balance = account_balances.balance + excluded.balance";

/// Adds `$2` to the balance kept for account `$1`, starting one at zero.
static KEPT_BALANCE_ADD: LazyLock<String> = LazyLock::new(|| {
    format!(
        "INSERT INTO account_balances (account, balance) VALUES ($1, $2) {KEPT_BALANCE_ON_CONFLICT}"
    )
});

/// Refuses the change if any of `accounts` would end below zero; nothing it wrote stays.
pub(crate) async fn check(db: &mut Db<'_>, accounts: &[LedgerAccount]) -> StoreResult<()> {
    let (kept, summed): (Vec<&LedgerAccount>, Vec<&LedgerAccount>) =
        accounts.iter().partition(|account| account.keeps_balance());
    for account in kept {
        let name = account.name();
        let balance = db
            .fetch_number(
                "SELECT balance AS value FROM account_balances WHERE account = $1",
                args![&name],
            )
            .await?;
        refuse_below_zero(name, balance)?;
    }
    check_summed(db, summed).await
}

/// The floors of accounts that keep no balance, each summed from its postings under a lock.
async fn check_summed(db: &mut Db<'_>, accounts: Vec<&LedgerAccount>) -> StoreResult<()> {
    let mut names: Vec<String> = accounts.into_iter().map(LedgerAccount::name).collect();
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
        refuse_below_zero(name, total)?;
    }
    Ok(())
}

/// Refuses `name` when its balance is below zero; an account with no postings, or no kept
/// balance yet, holds nothing.
fn refuse_below_zero(name: String, balance: Option<i64>) -> StoreResult<()> {
    match balance.unwrap_or(0) < 0 {
        true => Err(StoreError::InsufficientFunds(name)),
        false => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use std::future::Future;
    use std::pin::Pin;
    use std::time::Duration;

    use paybank_core::ids::MerchantId;
    use sqlx::{AnyConnection, Connection, Executor};

    use super::*;

    /// Two PostgreSQL transactions each take $60 from a settled account holding $100, through
    /// its kept balance. The second's update waits for the first's row; once the first
    /// commits, it adds to $40 and its check refuses. Runs where `PAYBANK_TEST_POSTGRES_URL`
    /// names a server, as `.ci/run` does.
    #[tokio::test]
    async fn postgres_kept_balances_take_one_change_at_a_time() {
        let table = (
            "account_balances",
            "account TEXT PRIMARY KEY, balance BIGINT NOT NULL",
        );
        let account = LedgerAccount::MerchantSettled(MerchantId(7));
        assert_second_payout_refused("floors_kept", table, account, take_sixty_dollars_kept).await;
    }

    /// The same for an account that keeps no balance: each check sums the postings, and the
    /// advisory lock makes the second sum after the first commits.
    #[tokio::test]
    async fn postgres_summed_floors_check_one_change_at_a_time() {
        let table = (
            "ledger_postings",
            "account TEXT NOT NULL, amount BIGINT NOT NULL",
        );
        let account = LedgerAccount::PayoutClearing(MerchantId(7));
        assert_second_payout_refused("floors", table, account, take_sixty_dollars_summed).await;
    }

    /// In a schema of the test's own where `table` (its name, and its two columns: an account
    /// and an amount) holds $100 for `account`, [`two_payouts`] with `take`: the second must be refused.
    /// Passes without PostgreSQL.
    async fn assert_second_payout_refused(
        test: &str,
        (table, columns): (&str, &str),
        account: LedgerAccount,
        take: Take,
    ) {
        let Some(base) = crate::test_support::postgres_url() else {
            return;
        };
        let mut schema = crate::test_support::Schema::create(&base, test).await;
        let (name, account_name) = (&schema.name, account.name());
        let setup = format!(
            "CREATE TABLE {name}.{table} ({columns}); \
             INSERT INTO {name}.{table} VALUES ('{account_name}', 10000);"
        );
        schema.run(&setup).await;
        let result = two_payouts(&schema.url, account, take).await;
        schema.drop().await;
        assert!(
            matches!(&result, Err(StoreError::InsufficientFunds(name)) if *name == account_name),
            "{result:?}"
        );
    }

    /// Two transactions each take $60 from `account` with `take` and check its floor; the
    /// second starts while the first is uncommitted, and the first commits 300 ms later. The
    /// first must pass; the second's result is returned.
    async fn two_payouts(url: &str, account: LedgerAccount, take: Take) -> StoreResult<()> {
        let mut first = AnyConnection::connect(url).await.expect("connect");
        let mut second = AnyConnection::connect(url).await.expect("connect");
        take(&mut first).await;
        check(
            &mut Db::sqlx(&mut first, crate::test_support::test_ids()),
            std::slice::from_ref(&account),
        )
        .await
        .expect("the first payout leaves $40");
        let second_check = tokio::spawn(async move {
            take(&mut second).await;
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
        result
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

    /// Begins a transaction and takes $60 from an account, as a change of the writer would.
    type Take = for<'c> fn(&'c mut AnyConnection) -> Pin<Box<dyn Future<Output = ()> + Send + 'c>>;

    fn take_sixty_dollars_summed(
        connection: &mut AnyConnection,
    ) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        Box::pin(async move {
            connection
                .execute(
                    "BEGIN; INSERT INTO ledger_postings VALUES ('merchant:7:payout-clearing', -6000);",
                )
                .await
                .expect("post the payout");
        })
    }

    fn take_sixty_dollars_kept(
        connection: &mut AnyConnection,
    ) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        Box::pin(async move {
            connection.execute("BEGIN").await.expect("begin");
            let payout = Posting {
                transaction_id: paybank_core::ids::TransactionId(1),
                account: LedgerAccount::MerchantSettled(MerchantId(7)),
                amount: paybank_core::money::Amount::from_minor(-6000),
            };
            add_kept(
                &mut Db::sqlx(connection, crate::test_support::test_ids()),
                &[payout],
            )
            .await
            .expect("move the kept balance");
        })
    }
}
