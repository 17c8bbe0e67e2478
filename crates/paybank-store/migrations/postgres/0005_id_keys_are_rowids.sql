-- SQLite only: there a table keyed by one id now keeps its rows under that id (its rowid)
-- instead of beside an index from the id. PostgreSQL keeps every table's rows apart from its
-- indexes whatever the key is declared as, so nothing changes here; this file keeps the two
-- lists of migrations in step.
SELECT 1;
