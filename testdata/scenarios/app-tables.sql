-- An application's tables, created before the connector is set up (the
-- guide grants SELECT ON ALL TABLES, which covers only existing tables).
CREATE TABLE public.customers (id bigserial PRIMARY KEY, email text NOT NULL);
CREATE TABLE public.orders (id bigserial PRIMARY KEY, customer_id bigint NOT NULL, total_cents integer NOT NULL);
INSERT INTO public.customers (email) VALUES ('a@example.com'), ('b@example.com');
INSERT INTO public.orders (customer_id, total_cents) VALUES (1, 100), (2, 250);
