-- Tables whose primary key is DEFERRABLE: PostgreSQL uses only an
-- immediate index as replica identity, so under REPLICA IDENTITY DEFAULT
-- they have none and UPDATE and DELETE fail once published (55000). One
-- has an immediate unique index that can serve instead. {publication} and
-- {user} are quoted identifiers.
CREATE TABLE public.ledger (id bigint PRIMARY KEY DEFERRABLE INITIALLY DEFERRED, amount_cents integer NOT NULL);
CREATE TABLE public.transfers (id bigint PRIMARY KEY DEFERRABLE, ref text NOT NULL UNIQUE, amount_cents integer NOT NULL);
INSERT INTO public.ledger VALUES (1, 100), (2, 200);
INSERT INTO public.transfers VALUES (1, 't-1', 100);
-- The signal table, and what the connector role {user} may read and write.
CREATE SCHEMA streamkap;
CREATE TABLE streamkap.streamkap_signal (id varchar(255) PRIMARY KEY, type varchar(32) NOT NULL, data varchar(2000) NULL);
GRANT USAGE ON SCHEMA public, streamkap TO {user};
GRANT SELECT ON ALL TABLES IN SCHEMA public TO {user};
GRANT SELECT, INSERT, UPDATE ON streamkap.streamkap_signal TO {user};
CREATE PUBLICATION {publication} FOR TABLE public.ledger, public.transfers, streamkap.streamkap_signal;
