-- From here on every id column holds the counter its id was made from (see
-- `paybank-store/src/stored_ids.rs`, which converts an older database when it opens it).
-- This migration changes nothing itself: it is here so that a binary from before the change,
-- which does not know it, refuses to open a converted database instead of misreading it.
SELECT 1;
