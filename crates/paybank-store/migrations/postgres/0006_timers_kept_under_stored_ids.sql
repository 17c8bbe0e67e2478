-- From here on a timer is kept under its kind and its transaction's stored id, zero-padded
-- (`rows::timer_key` in `paybank-store`), not under its own id; `stored_ids.rs` rekeys an
-- older database's timers when it opens it. This migration changes nothing itself: it is here
-- so that a binary from before the change, which would keep writing and deleting timers under
-- their ids, refuses to open a rekeyed database instead.
SELECT 1;
