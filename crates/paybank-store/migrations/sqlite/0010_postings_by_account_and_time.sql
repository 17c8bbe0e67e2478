-- A settlement report lists one account's postings within one banking day's window, in time
-- order. The index it searched, `(account)`, made it walk every posting the account ever had,
-- fetch each row to test its time, and sort what was left: a report cost grew with the
-- account's history. Keyed by account and time, the report reads its window's entries alone,
-- already in its order (the rowid, the posting's id, ends every key). The floor check's sum of
-- an account reads the same leading column as before.

DROP INDEX ledger_postings_by_account;
CREATE INDEX ledger_postings_by_account_time ON ledger_postings (account, created_at);
