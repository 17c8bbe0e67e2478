-- SQLite's 0008 keeps reference claims and timers in their key's own B-tree (`WITHOUT ROWID`).
-- PostgreSQL keeps every table apart from its indexes either way, so nothing changes here; the
-- migration is kept so that both backends count the same migrations.
SELECT 1;
