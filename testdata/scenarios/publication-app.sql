-- Application tables for the publication scenarios, two of them with
-- names that need quoting, the Streamkap signal table, and SELECT grants
-- for the connector role. The test fills {user} with a quoted identifier.
CREATE TABLE public.customers (id bigint PRIMARY KEY, email text NOT NULL);
CREATE TABLE public.orders (id bigint PRIMARY KEY, customer_id bigint NOT NULL, total_cents integer NOT NULL);
CREATE TABLE public."Order Items" (id bigint PRIMARY KEY, order_id bigint NOT NULL, sku text NOT NULL);
CREATE TABLE public."Orders" (id bigint PRIMARY KEY, note text);

CREATE SCHEMA streamkap;
CREATE TABLE streamkap.streamkap_signal (
	id varchar(255) PRIMARY KEY,
	type varchar(32) NOT NULL,
	data varchar(2000) NULL
);

GRANT USAGE ON SCHEMA public, streamkap TO {user};
GRANT SELECT ON ALL TABLES IN SCHEMA public TO {user};
GRANT SELECT, INSERT, UPDATE ON streamkap.streamkap_signal TO {user};
