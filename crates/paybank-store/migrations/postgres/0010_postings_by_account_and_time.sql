-- As SQLite's 0010: a settlement report reads one account's postings within a window, in time
-- order, from an index keyed by account and time instead of walking the account's whole
-- history. PostgreSQL's index keys do not end in the row's id, so the id is the key's last
-- column: an index scan then gives the report's order, and where the planner prefers a bitmap
-- scan it sorts only the window's postings.

DROP INDEX ledger_postings_by_account;
CREATE INDEX ledger_postings_by_account_time ON ledger_postings (account, created_at, posting_id);
