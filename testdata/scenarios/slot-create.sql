-- A logical slot, run on its own: a slot cannot be created in a
-- transaction that has written. The test fills {slot} and {plugin} with
-- quoted literals.
SELECT pg_create_logical_replication_slot({slot}, {plugin});
