-- Writes about 1 MB of WAL, then moves the server to a new WAL segment, so
-- that the next CHECKPOINT (which the test runs on its own) may remove
-- the old segments, invalidating a slot over max_slot_wal_keep_size. The
-- test fills {table} with a quoted identifier.
INSERT INTO {table} (note) SELECT repeat('x', 1000) FROM generate_series(1, 1000);
SELECT pg_switch_wal();
