SELECT pg_create_logical_replication_slot('streamkap_pgoutput_slot', 'pgoutput');
