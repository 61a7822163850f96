-- A physical slot (reserving WAL at once) under the connector's slot name.
-- The test fills {slot} with a quoted literal.
SELECT pg_create_physical_replication_slot({slot}, true);
