-- The delivery worker's claim looks for pending events due now, oldest first. The index it used,
-- `(state, next_attempt_at)`, kept every event ever written, delivered ones included, so it grew
-- with the event log; each delivery moved its event's entry from 'pending' to 'delivered' (a
-- delete and an insert); and the claim's order (`next_attempt_at, created_at, ordinal,
-- event_id`) was sorted in a temporary B-tree on every claim.
--
-- Kept for pending events only and in the claim's order, the index holds what is still to be
-- delivered, a delivery only deletes from it, and the claim reads it in order and stops at its
-- limit. The rowid (the event id) ends every key, so SQLite's index needs no `event_id` column.

DROP INDEX outbox_events_due;
CREATE INDEX outbox_events_pending ON outbox_events (next_attempt_at, created_at, ordinal)
    WHERE state = 'pending';
