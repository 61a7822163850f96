-- PostgreSQL 15+: a column list on public.customers and a row filter on
-- public.orders drop data of captured tables.
CREATE PUBLICATION {publication} FOR TABLE public.customers (id), public.orders WHERE (id > 100),
	public."Order Items", public."Orders", streamkap.streamkap_signal;

-- A table outside the capture scope whose filter is deliberate: the
-- remedy must keep it.
CREATE TABLE public.audit_log (id bigint PRIMARY KEY, kind text NOT NULL, detail text);
ALTER PUBLICATION {publication} ADD TABLE public.audit_log (id, kind) WHERE (kind <> 'debug' AND id > 0);
