-- As SQLite's 0009: the claim's index holds pending events only, in the claim's order, so a
-- delivery only deletes from it and the claim needs no sort. PostgreSQL's index keys do not end
-- in the row's id, so the id is the key's last column.

DROP INDEX outbox_events_due;
CREATE INDEX outbox_events_pending ON outbox_events (next_attempt_at, created_at, ordinal, event_id)
    WHERE state = 'pending';
