-- A temporary pgoutput slot: it lives as long as the session that runs
-- this, which the test keeps open. The test fills {slot} with a quoted
-- literal.
SELECT pg_create_logical_replication_slot({slot}, 'pgoutput', true);
