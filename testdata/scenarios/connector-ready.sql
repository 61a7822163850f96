-- A source set up completely, the way the guide means it, for a connector
-- role {user} (a quoted identifier with LOGIN and REPLICATION): two
-- application tables with rows, the signal table, the grants. Each
-- connector scenario adds one twist, then the publication and the slot.
CREATE TABLE public.customers (id bigserial PRIMARY KEY, email text NOT NULL);
CREATE TABLE public.orders (id bigserial PRIMARY KEY, customer_id bigint NOT NULL, total_cents integer NOT NULL);
INSERT INTO public.customers (email) VALUES ('a@example.com'), ('b@example.com');
INSERT INTO public.orders (customer_id, total_cents) VALUES (1, 100), (2, 250);

CREATE SCHEMA streamkap;
CREATE TABLE streamkap.streamkap_signal (id varchar(255) PRIMARY KEY, type varchar(32) NOT NULL, data varchar(2000) NULL);

GRANT USAGE ON SCHEMA public, streamkap TO {user};
GRANT SELECT ON ALL TABLES IN SCHEMA public TO {user};
-- Tables the scenario creates next, as this same superuser, are readable too.
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO {user};
GRANT SELECT, INSERT, UPDATE ON TABLE streamkap.streamkap_signal TO {user};
