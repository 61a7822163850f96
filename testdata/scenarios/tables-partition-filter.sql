-- PostgreSQL 15+: a publication that publishes via the partition root,
-- with a row filter on the partitioned table reading a column outside the
-- partitions' replica identity (their primary key): PostgreSQL checks the
-- root's filter against the partition, and UPDATE on it fails with 42P10.
CREATE TABLE public.events (id bigint NOT NULL, at date NOT NULL, kind text NOT NULL, PRIMARY KEY (id, at)) PARTITION BY RANGE (at);
CREATE TABLE public.events_2026 PARTITION OF public.events FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
INSERT INTO public.events VALUES (1, '2026-05-01', 'click');
-- The signal table, and what the connector role {user} may read and write.
CREATE SCHEMA streamkap;
CREATE TABLE streamkap.streamkap_signal (id varchar(255) PRIMARY KEY, type varchar(32) NOT NULL, data varchar(2000) NULL);
GRANT USAGE ON SCHEMA public, streamkap TO {user};
GRANT SELECT ON ALL TABLES IN SCHEMA public TO {user};
GRANT SELECT, INSERT, UPDATE ON streamkap.streamkap_signal TO {user};
CREATE PUBLICATION {publication} FOR TABLE public.events WHERE (kind <> 'debug'), streamkap.streamkap_signal
	WITH (publish_via_partition_root = true);
