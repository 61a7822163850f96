-- A REPLICA IDENTITY FULL table with a stored generated column (12+). On
-- PostgreSQL 18, while the publication does not publish generated columns
-- (publish_generated_columns = none, the default), UPDATE and DELETE fail
-- with 42P10: the replica identity holds an unpublished column.
CREATE TABLE public.invoices (
	id bigint PRIMARY KEY,
	net_cents integer NOT NULL,
	"Gross Cents" integer GENERATED ALWAYS AS (net_cents * 120 / 100) STORED
);
ALTER TABLE public.invoices REPLICA IDENTITY FULL;
INSERT INTO public.invoices (id, net_cents) VALUES (1, 100);
-- The signal table, and what the connector role {user} may read and write.
CREATE SCHEMA streamkap;
CREATE TABLE streamkap.streamkap_signal (id varchar(255) PRIMARY KEY, type varchar(32) NOT NULL, data varchar(2000) NULL);
GRANT USAGE ON SCHEMA public, streamkap TO {user};
GRANT SELECT ON ALL TABLES IN SCHEMA public TO {user};
GRANT SELECT, INSERT, UPDATE ON streamkap.streamkap_signal TO {user};
CREATE PUBLICATION {publication} FOR TABLE public.invoices, streamkap.streamkap_signal;
