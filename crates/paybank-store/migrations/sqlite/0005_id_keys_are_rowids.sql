-- Every table keyed by one id keeps its rows under that id: `INTEGER PRIMARY KEY` makes the
-- key the rowid. Declared `BIGINT PRIMARY KEY`, as in 0001 and 0002 (and as PostgreSQL spells
-- it), SQLite kept each such table twice: its rows under a hidden rowid, and an index from the
-- id to that rowid, so every row written went into both and every read by id searched both.
-- The ids are stored as counters (0004), so rows still go in at the end of their table.
--
-- SQLite cannot change a primary key in place: each table is copied into one declared anew,
-- dropped and replaced, and its indexes made again. The store runs its migrations with
-- foreign key checks off, as SQLite's procedure for this asks, and checks them all after.

CREATE TABLE payments_by_id (
    payment_id INTEGER PRIMARY KEY,
    merchant_id BIGINT NOT NULL REFERENCES merchants (merchant_id),
    payment_type BIGINT NOT NULL,
    merchant_reference TEXT NOT NULL,
    currency TEXT NOT NULL,
    amount BIGINT NOT NULL,
    description TEXT,
    return_url TEXT NOT NULL,
    cancel_url TEXT NOT NULL,
    notification_url TEXT,
    establish_json TEXT NOT NULL,
    authorization_id BIGINT NOT NULL,
    account_json TEXT,
    split_token_hash TEXT,
    split_token_expires_at BIGINT,
    split_token_refreshable BIGINT,
    decline_next_capture TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    record_version BIGINT NOT NULL
);
INSERT INTO payments_by_id SELECT * FROM payments;
DROP TABLE payments;
ALTER TABLE payments_by_id RENAME TO payments;


CREATE TABLE transactions_by_id (
    transaction_id INTEGER PRIMARY KEY,
    payment_id BIGINT NOT NULL REFERENCES payments (payment_id),
    merchant_id BIGINT NOT NULL,
    transaction_type BIGINT NOT NULL,
    original_transaction_id BIGINT,
    status BIGINT NOT NULL,
    merchant_reference TEXT NOT NULL,
    currency TEXT NOT NULL,
    amount BIGINT NOT NULL,
    pending BIGINT NOT NULL,
    paid BIGINT NOT NULL,
    refunded BIGINT NOT NULL,
    reversed BIGINT NOT NULL,
    provider_status TEXT NOT NULL,
    provider_message TEXT NOT NULL,
    provider_reason_code TEXT,
    provider_extended_code TEXT,
    error_code BIGINT,
    ip TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    processed_at BIGINT,
    completed_at BIGINT,
    expired_at BIGINT,
    pre_authorized BIGINT NOT NULL,
    record_version BIGINT NOT NULL,
    rail TEXT
);
INSERT INTO transactions_by_id SELECT * FROM transactions;
DROP TABLE transactions;
ALTER TABLE transactions_by_id RENAME TO transactions;
CREATE INDEX transactions_by_payment ON transactions (payment_id);
CREATE INDEX transactions_by_merchant_created ON transactions (merchant_id, created_at);
CREATE INDEX transactions_by_merchant_reference ON transactions (merchant_id, merchant_reference);

CREATE TABLE outbox_events_by_id (
    event_id INTEGER PRIMARY KEY,
    merchant_id BIGINT NOT NULL,
    payment_id BIGINT NOT NULL,
    transaction_id BIGINT NOT NULL,
    event_type TEXT NOT NULL,
    body TEXT NOT NULL,
    notification_url TEXT,
    created_at BIGINT NOT NULL,
    -- Position of the event within the change that wrote it: ids are not ordered, this is.
    ordinal BIGINT NOT NULL,
    state TEXT NOT NULL,
    attempts BIGINT NOT NULL,
    next_attempt_at BIGINT NOT NULL,
    lease_until BIGINT NOT NULL,
    delivered_at BIGINT
);
INSERT INTO outbox_events_by_id SELECT * FROM outbox_events;
DROP TABLE outbox_events;
ALTER TABLE outbox_events_by_id RENAME TO outbox_events;
CREATE INDEX outbox_events_due ON outbox_events (state, next_attempt_at);
CREATE INDEX outbox_events_by_merchant ON outbox_events (merchant_id, created_at, event_id);
CREATE INDEX outbox_events_by_transaction ON outbox_events (transaction_id);

CREATE TABLE ach_entries_by_id (
    transaction_id INTEGER PRIMARY KEY,
    payment_id BIGINT NOT NULL,
    merchant_id BIGINT NOT NULL,
    direction TEXT NOT NULL,
    amount BIGINT NOT NULL,
    routing_number TEXT NOT NULL,
    account_number TEXT NOT NULL,
    account_type BIGINT NOT NULL,
    individual_name TEXT NOT NULL,
    individual_id TEXT NOT NULL,
    recurring BIGINT NOT NULL,
    cutoff_at BIGINT NOT NULL,
    same_day BIGINT NOT NULL,
    effective_date TEXT NOT NULL,
    settlement_date TEXT NOT NULL,
    settles_at BIGINT NOT NULL,
    -- queued, filed, posted or returned
    state TEXT NOT NULL,
    file_name TEXT,
    trace_number TEXT,
    return_code TEXT
);
INSERT INTO ach_entries_by_id SELECT * FROM ach_entries;
DROP TABLE ach_entries;
ALTER TABLE ach_entries_by_id RENAME TO ach_entries;
CREATE INDEX ach_entries_queued ON ach_entries (state, cutoff_at);
CREATE INDEX ach_entries_by_file ON ach_entries (file_name);
CREATE UNIQUE INDEX ach_entries_by_trace ON ach_entries (trace_number);
