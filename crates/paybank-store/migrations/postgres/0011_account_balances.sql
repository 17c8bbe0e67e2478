-- As SQLite's 0011: the accounts a balance floor protects (a merchant's settled funds) keep
-- their running balance here, moved by each change's postings in the same transaction, so a
-- payout's floor check reads one row instead of summing the account's history. The row's
-- lock also orders two nodes' changes to one account: the second waits for the first to
-- commit and then adds to what it wrote. Existing postings are summed once.

CREATE TABLE account_balances (
    account TEXT PRIMARY KEY,
    balance BIGINT NOT NULL
);

INSERT INTO account_balances (account, balance)
    SELECT account, CAST(SUM(amount) AS BIGINT) FROM ledger_postings
    WHERE account LIKE 'merchant:%:settled'
    GROUP BY account;
