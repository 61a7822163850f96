-- An application table in a per-table publication. {publication} is a
-- quoted identifier.
CREATE TABLE public.customers (id bigserial PRIMARY KEY, email text NOT NULL);
CREATE PUBLICATION {publication} FOR TABLE public.customers;
