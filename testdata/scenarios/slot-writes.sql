-- Changes for the slot to hold: ten rows in one transaction. The test
-- fills {table} with a quoted identifier. The test clusters run with
-- synchronous_commit = off, and decoding stops at the flushed WAL: this
-- commit is flushed so that the slot has it to decode.
SET LOCAL synchronous_commit = on;
INSERT INTO {table} (note) SELECT 'row ' || g FROM generate_series(1, 10) AS g;
