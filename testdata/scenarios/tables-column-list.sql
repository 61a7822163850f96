-- PostgreSQL 15+: column lists that do not cover the replica identity: one
-- leaves out the primary key, the other is on a REPLICA IDENTITY FULL
-- table, where PostgreSQL allows no column list at all, even one naming
-- every column. UPDATE and DELETE fail with 42P10. {publication} and
-- {user} are quoted identifiers.
CREATE TABLE public.customers (id bigint PRIMARY KEY, email text NOT NULL, name text);
CREATE TABLE public.audit_events (id bigint NOT NULL, kind text NOT NULL, detail text);
ALTER TABLE public.audit_events REPLICA IDENTITY FULL;
INSERT INTO public.customers VALUES (1, 'a@example.com', 'A');
INSERT INTO public.audit_events VALUES (1, 'login', 'ok');
-- The signal table, and what the connector role {user} may read and write.
CREATE SCHEMA streamkap;
CREATE TABLE streamkap.streamkap_signal (id varchar(255) PRIMARY KEY, type varchar(32) NOT NULL, data varchar(2000) NULL);
GRANT USAGE ON SCHEMA public, streamkap TO {user};
GRANT SELECT ON ALL TABLES IN SCHEMA public TO {user};
GRANT SELECT, INSERT, UPDATE ON streamkap.streamkap_signal TO {user};
CREATE PUBLICATION {publication} FOR TABLE public.customers (email, name), public.audit_events (id, kind, detail),
	streamkap.streamkap_signal;
