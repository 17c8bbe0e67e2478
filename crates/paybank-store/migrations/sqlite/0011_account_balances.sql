-- A payout of a merchant paid out only from its settled funds checks, in its own transaction,
-- that the settled account does not end below zero. The check summed every posting the
-- account ever had, on the one writer, so every payout cost more as the merchant's history
-- grew, and held up every other write meanwhile. The accounts a floor protects now keep their
-- running balance here, moved by each change's postings in the same transaction, and the
-- check reads one row. Existing postings are summed once.

CREATE TABLE account_balances (
    account TEXT PRIMARY KEY,
    balance BIGINT NOT NULL
) WITHOUT ROWID;

INSERT INTO account_balances (account, balance)
    SELECT account, SUM(amount) FROM ledger_postings
    WHERE account LIKE 'merchant:%:settled'
    GROUP BY account;
