-- The simulated bank network: ACH entries and files, instant payment messages, the network's
-- scheduled jobs, the receiving banks' accounts, sandbox-forced outcomes and rail counters.
-- Same statements on SQLite and PostgreSQL.

ALTER TABLE merchants ADD COLUMN payouts_from_settled_only BIGINT NOT NULL DEFAULT 0;

CREATE TABLE ach_entries (
    transaction_id BIGINT PRIMARY KEY,
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
CREATE INDEX ach_entries_queued ON ach_entries (state, cutoff_at);
CREATE INDEX ach_entries_by_file ON ach_entries (file_name);
CREATE UNIQUE INDEX ach_entries_by_trace ON ach_entries (trace_number);

CREATE TABLE rail_files (
    name TEXT PRIMARY KEY,
    merchant_id BIGINT,
    -- outbound (paybank to the network) or inbound (the network to paybank)
    direction TEXT NOT NULL,
    -- entries, returns or notices
    kind TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    entry_count BIGINT NOT NULL,
    debit_total BIGINT NOT NULL,
    credit_total BIGINT NOT NULL,
    content TEXT NOT NULL
);
CREATE INDEX rail_files_by_merchant ON rail_files (merchant_id, created_at);

CREATE TABLE instant_messages (
    message_id TEXT PRIMARY KEY,
    transaction_id BIGINT NOT NULL,
    merchant_id BIGINT NOT NULL,
    network TEXT NOT NULL,
    -- sent (paybank to the network) or received
    direction TEXT NOT NULL,
    message_type TEXT NOT NULL,
    status TEXT,
    amount BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    content TEXT NOT NULL
);
CREATE INDEX instant_messages_by_merchant ON instant_messages (merchant_id, created_at);
CREATE INDEX instant_messages_by_transaction ON instant_messages (transaction_id);

CREATE TABLE rail_jobs (
    job_id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    subject TEXT NOT NULL,
    due_at BIGINT NOT NULL,
    lease_until BIGINT NOT NULL
);
CREATE INDEX rail_jobs_due ON rail_jobs (due_at);

CREATE TABLE bank_accounts (
    routing_number TEXT NOT NULL,
    account_number TEXT NOT NULL,
    holder_name TEXT NOT NULL,
    account_type BIGINT NOT NULL,
    balance BIGINT NOT NULL,
    -- open, closed or frozen
    status TEXT NOT NULL,
    PRIMARY KEY (routing_number, account_number)
);

CREATE TABLE forced_outcomes (
    transaction_id BIGINT PRIMARY KEY,
    kind TEXT NOT NULL,
    code TEXT NOT NULL,
    detail TEXT NOT NULL
);

CREATE TABLE rail_counters (
    name TEXT PRIMARY KEY,
    next_value BIGINT NOT NULL
);
