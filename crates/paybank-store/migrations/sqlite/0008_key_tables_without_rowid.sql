-- The two tables keyed by something other than one id, reference claims and timers, keep their
-- rows in their key's own B-tree (`WITHOUT ROWID`). Declared with a rowid, SQLite kept each
-- twice: the rows under a hidden rowid, and an index from the key to that rowid. A capture
-- writes one row to each, so every capture went into two B-trees more than it needed, and every
-- commit wrote those B-trees' last pages to the WAL.
--
-- SQLite cannot change how a table is kept in place: each is copied into one declared anew,
-- dropped and replaced, and its index made again. Nothing refers to either table.

CREATE TABLE reference_claims_by_key (
    merchant_id BIGINT NOT NULL,
    transaction_type BIGINT NOT NULL,
    merchant_reference TEXT NOT NULL,
    transaction_id BIGINT NOT NULL,
    PRIMARY KEY (merchant_id, transaction_type, merchant_reference)
) WITHOUT ROWID;
INSERT INTO reference_claims_by_key SELECT * FROM reference_claims;
DROP TABLE reference_claims;
ALTER TABLE reference_claims_by_key RENAME TO reference_claims;

CREATE TABLE timers_by_key (
    timer_id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    payment_id BIGINT NOT NULL,
    transaction_id BIGINT NOT NULL,
    due_at BIGINT NOT NULL,
    lease_until BIGINT NOT NULL
) WITHOUT ROWID;
INSERT INTO timers_by_key SELECT * FROM timers;
DROP TABLE timers;
ALTER TABLE timers_by_key RENAME TO timers;
CREATE INDEX timers_due ON timers (due_at);
