-- An application database nobody has prepared for CDC: no connector role,
-- no publication, no signal table, no slot, CONNECT revoked from PUBLIC,
-- keyless tables, an UNLOGGED table, row-level security, tables owned by another role, and
-- names that break naive quoting. fix must repair all of it.
-- Placeholders: {db} the database, {owner} a role owning some tables.

REVOKE CONNECT ON DATABASE {db} FROM PUBLIC;

CREATE TABLE public.customers (id bigserial PRIMARY KEY, email text NOT NULL);
CREATE TABLE public."café ☕" (id int PRIMARY KEY, name text);
-- Keyless, with a unique index over NOT NULL columns: REPLICA IDENTITY USING INDEX.
CREATE TABLE public."MixedCase" (k text NOT NULL, v text);
CREATE UNIQUE INDEX "MixedCase k" ON public."MixedCase" (k);
-- Keyless, nothing to use: REPLICA IDENTITY FULL.
CREATE TABLE public.events (at timestamptz DEFAULT now(), payload text);
-- Row-level security hides rows from a connector without BYPASSRLS.
CREATE TABLE public.invoices (id int PRIMARY KEY, amount_cents int NOT NULL);
ALTER TABLE public.invoices ENABLE ROW LEVEL SECURITY;

-- UNLOGGED: fix makes it logged only with --set-logged (a rewrite).
CREATE UNLOGGED TABLE public.sessions (token text NOT NULL, data jsonb);

-- A schema and a table named to break naive quoting, owned by another role.
CREATE SCHEMA "Sales Ops";
CREATE TABLE "Sales Ops"."Order""s; DROP TABLE public.customers; --" (id int PRIMARY KEY, note text);
GRANT USAGE, CREATE ON SCHEMA "Sales Ops" TO {owner};
ALTER TABLE "Sales Ops"."Order""s; DROP TABLE public.customers; --" OWNER TO {owner};

INSERT INTO public.customers (email) SELECT 'c' || g || '@example.com' FROM generate_series(1, 50) g;
INSERT INTO public.events (payload) SELECT 'e' || g FROM generate_series(1, 50) g;
