-- An UNLOGGED table (and a keyless one: unlogged tables are never
-- published, so their UPDATEs never fail) next to an ordinary table.
CREATE TABLE public.customers (id bigserial PRIMARY KEY, email text NOT NULL);
CREATE UNLOGGED TABLE public.session_cache (id bigint PRIMARY KEY, payload text);
CREATE UNLOGGED TABLE public.scratch (payload text);
CREATE PUBLICATION {publication} FOR TABLE public.customers;
