-- Application tables for the connector-configuration scenarios: names in
-- mixed case and with spaces, a schema that needs quoting, Debezium's
-- signal table (its shape from Debezium's documentation) and a heartbeat
-- table in schema dbz, and what the connector role {user} (a quoted
-- identifier with LOGIN and REPLICATION) may do with them.
CREATE TABLE public.customers (id bigserial PRIMARY KEY, email text NOT NULL);
CREATE TABLE public.orders (id bigserial PRIMARY KEY, customer_id bigint NOT NULL, total_cents integer NOT NULL);
CREATE TABLE public."Orders" (id bigserial PRIMARY KEY, note text);
CREATE TABLE public."Order Items" (id bigserial PRIMARY KEY, sku text NOT NULL);
CREATE SCHEMA "Sales";
CREATE TABLE "Sales".t1 (id int PRIMARY KEY, v int);
INSERT INTO public.customers (email) VALUES ('a@example.com'), ('b@example.com');
INSERT INTO public.orders (customer_id, total_cents) VALUES (1, 100), (2, 250);
INSERT INTO public."Orders" (note) VALUES ('mixed case');
INSERT INTO public."Order Items" (sku) VALUES ('sku-1');
INSERT INTO "Sales".t1 VALUES (1, 1);

CREATE SCHEMA dbz;
CREATE TABLE dbz.dbz_signal (id varchar(42) PRIMARY KEY, type varchar(32) NOT NULL, data varchar(2048) NULL);
CREATE TABLE dbz.dbz_heartbeat (id int PRIMARY KEY, ts timestamptz);
INSERT INTO dbz.dbz_heartbeat VALUES (1, now());

GRANT USAGE ON SCHEMA public, "Sales", dbz TO {user};
GRANT SELECT ON ALL TABLES IN SCHEMA public, "Sales", dbz TO {user};
GRANT INSERT ON dbz.dbz_signal TO {user};
GRANT INSERT, UPDATE ON dbz.dbz_heartbeat TO {user};
