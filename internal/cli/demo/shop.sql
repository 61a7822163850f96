-- A small shop's database, set up for Streamkap the way it often is on a
-- first try: most of the guide was followed, with the usual mistakes.
-- The demo runs this as the superuser after creating streamkap_user.

CREATE TABLE public.customers (
    id         bigserial PRIMARY KEY,
    email      text NOT NULL UNIQUE,
    name       text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE public.orders (
    id          bigserial PRIMARY KEY,
    customer_id bigint NOT NULL REFERENCES public.customers(id),
    status      text NOT NULL DEFAULT 'new',
    total_cents integer NOT NULL,
    placed_at   timestamptz NOT NULL DEFAULT now()
);

-- Mistake: no primary key, and a name with a space (an ORM's idea).
CREATE TABLE public."Order Items" (
    order_id   bigint NOT NULL REFERENCES public.orders(id),
    sku        text NOT NULL,
    quantity   integer NOT NULL,
    unit_cents integer NOT NULL
);

-- Mistake: an append-only log without a key.
CREATE TABLE public.audit_log (
    at     timestamptz NOT NULL DEFAULT now(),
    actor  text,
    action text NOT NULL
);

-- Mistake: UNLOGGED tables never produce change events.
CREATE UNLOGGED TABLE public.cart_sessions (
    id         uuid PRIMARY KEY,
    customer_id bigint,
    payload    jsonb
);

-- Row-level security on a captured table.
CREATE TABLE public.invoices (
    id          bigserial PRIMARY KEY,
    customer_id bigint NOT NULL,
    amount_cents integer NOT NULL
);
ALTER TABLE public.invoices ENABLE ROW LEVEL SECURITY;

INSERT INTO public.customers (email, name)
SELECT 'customer' || g || '@example.com', 'Customer ' || g FROM generate_series(1, 200) g;
INSERT INTO public.orders (customer_id, total_cents)
SELECT 1 + g % 200, 100 * g FROM generate_series(1, 500) g;
INSERT INTO public."Order Items" (order_id, sku, quantity, unit_cents)
SELECT 1 + g % 500, 'SKU-' || (g % 37), 1 + g % 3, 250 FROM generate_series(1, 1200) g;

-- The Streamkap guide's role, with REPLICATION on the role...
CREATE ROLE streamkap_role NOLOGIN REPLICATION;
GRANT streamkap_role TO streamkap_user;
GRANT CONNECT ON DATABASE shop TO streamkap_role;
GRANT USAGE ON SCHEMA public TO streamkap_role;
GRANT SELECT ON public.customers, public.orders, public."Order Items" TO streamkap_role;
-- ...but the ALTER USER streamkap_user WITH REPLICATION step was skipped:
-- role attributes are not inherited through GRANT.

-- The signal table, with a column too short.
CREATE SCHEMA streamkap;
CREATE TABLE streamkap.streamkap_signal (
    id   varchar(255) PRIMARY KEY,
    type varchar(16) NOT NULL,
    data varchar(2000) NULL
);
GRANT USAGE ON SCHEMA streamkap TO streamkap_role;
GRANT SELECT, INSERT, UPDATE ON streamkap.streamkap_signal TO streamkap_role;

-- A per-table publication that forgot most tables and the signal table.
CREATE PUBLICATION streamkap_pub FOR TABLE public.customers, public.orders;
