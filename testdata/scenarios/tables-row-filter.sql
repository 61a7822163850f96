-- PostgreSQL 15+: row filters that read columns outside the replica
-- identity (the primary key), in the connector's publication and in
-- another one that publishes deletes only: UPDATE or DELETE on the tables
-- fail with 42P10. {publication} and {user} are quoted identifiers.
CREATE TABLE public.orders (id bigint PRIMARY KEY, status text NOT NULL, total_cents integer NOT NULL);
CREATE TABLE public.invoices (id bigint PRIMARY KEY, total_cents integer NOT NULL, note text);
INSERT INTO public.orders VALUES (1, 'open', 100), (2, 'void', 0);
INSERT INTO public.invoices VALUES (1, 100, 'n'), (2, 0, 'free');
-- The signal table, and what the connector role {user} may read and write.
CREATE SCHEMA streamkap;
CREATE TABLE streamkap.streamkap_signal (id varchar(255) PRIMARY KEY, type varchar(32) NOT NULL, data varchar(2000) NULL);
GRANT USAGE ON SCHEMA public, streamkap TO {user};
GRANT SELECT ON ALL TABLES IN SCHEMA public TO {user};
GRANT SELECT, INSERT, UPDATE ON streamkap.streamkap_signal TO {user};
CREATE PUBLICATION {publication} FOR TABLE public.orders WHERE (status <> 'void'), public.invoices,
	streamkap.streamkap_signal;
CREATE PUBLICATION "Billing Export" FOR TABLE public.invoices WHERE (total_cents > 0) WITH (publish = 'insert, delete');
