-- paybank schema, SQLite flavour. Keep in step with ../postgres/0001_init.sql: the same tables,
-- columns and indexes, with only the types SQLite spells differently.

CREATE TABLE merchants (
    merchant_id BIGINT PRIMARY KEY,
    name TEXT NOT NULL,
    access_id TEXT NOT NULL UNIQUE,
    access_key TEXT NOT NULL,
    notification_url TEXT,
    allowed_origins TEXT NOT NULL,
    split_token_enabled BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE payments (
    payment_id BIGINT PRIMARY KEY,
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

CREATE TABLE transactions (
    transaction_id BIGINT PRIMARY KEY,
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
    record_version BIGINT NOT NULL
);
CREATE INDEX transactions_by_payment ON transactions (payment_id);
CREATE INDEX transactions_by_merchant_created ON transactions (merchant_id, created_at);
CREATE INDEX transactions_by_merchant_reference ON transactions (merchant_id, merchant_reference);

CREATE TABLE reference_claims (
    merchant_id BIGINT NOT NULL,
    transaction_type BIGINT NOT NULL,
    merchant_reference TEXT NOT NULL,
    transaction_id BIGINT NOT NULL,
    PRIMARY KEY (merchant_id, transaction_type, merchant_reference)
);

CREATE TABLE ledger_postings (
    posting_id INTEGER PRIMARY KEY,
    transaction_id BIGINT NOT NULL,
    account TEXT NOT NULL,
    amount BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX ledger_postings_by_transaction ON ledger_postings (transaction_id);
CREATE INDEX ledger_postings_by_account ON ledger_postings (account);

CREATE TABLE outbox_events (
    event_id BIGINT PRIMARY KEY,
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
CREATE INDEX outbox_events_due ON outbox_events (state, next_attempt_at);
CREATE INDEX outbox_events_by_merchant ON outbox_events (merchant_id, created_at, event_id);
CREATE INDEX outbox_events_by_transaction ON outbox_events (transaction_id);

CREATE TABLE event_attempts (
    event_id BIGINT NOT NULL,
    attempt BIGINT NOT NULL,
    attempted_at BIGINT NOT NULL,
    duration_ms BIGINT NOT NULL,
    http_status BIGINT,
    error TEXT,
    PRIMARY KEY (event_id, attempt)
);

CREATE TABLE timers (
    timer_id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    payment_id BIGINT NOT NULL,
    transaction_id BIGINT NOT NULL,
    due_at BIGINT NOT NULL,
    lease_until BIGINT NOT NULL
);
CREATE INDEX timers_due ON timers (due_at);

CREATE TABLE lightbox_sessions (
    session_id TEXT PRIMARY KEY,
    payment_id BIGINT NOT NULL,
    transaction_id BIGINT NOT NULL,
    step TEXT NOT NULL,
    bank_id TEXT,
    username TEXT,
    behaviour TEXT,
    account_index BIGINT,
    error TEXT,
    csrf_token TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    redirect_url TEXT,
    updated_at BIGINT NOT NULL
);
CREATE INDEX lightbox_sessions_by_transaction ON lightbox_sessions (transaction_id);

CREATE TABLE clock (
    clock_id BIGINT PRIMARY KEY,
    offset_ms BIGINT NOT NULL
);
INSERT INTO clock (clock_id, offset_ms) VALUES (1, 0);

CREATE TABLE id_counter (
    counter_id BIGINT PRIMARY KEY,
    next_value BIGINT NOT NULL
);
INSERT INTO id_counter (counter_id, next_value) VALUES (1, 0);

CREATE TABLE settings (
    setting_key TEXT PRIMARY KEY,
    setting_value TEXT NOT NULL
);
