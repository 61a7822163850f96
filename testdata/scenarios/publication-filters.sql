-- PostgreSQL 15+: a column list on public.customers and a row filter on
-- public.orders drop data of captured tables (both cover the primary key,
-- so the application's writes still work).
CREATE PUBLICATION {publication} FOR TABLE public.customers (id), public.orders WHERE (id > 100),
	public."Order Items", public."Orders", streamkap.streamkap_signal;

-- A table outside the capture scope whose filter is deliberate and
-- harmless: the remedy must keep it.
CREATE TABLE public.audit_log (id bigint PRIMARY KEY, kind text NOT NULL, detail text);
ALTER PUBLICATION {publication} ADD TABLE public.audit_log (id, kind) WHERE (id > 0);

-- Another one whose filter reads a column outside its primary key: UPDATE
-- and DELETE on it fail (42P10), and the remedy drops that filter too.
CREATE TABLE public.audit_debug (id bigint PRIMARY KEY, kind text NOT NULL);
INSERT INTO public.audit_debug VALUES (1, 'info');
ALTER PUBLICATION {publication} ADD TABLE public.audit_debug WHERE (kind <> 'debug');
