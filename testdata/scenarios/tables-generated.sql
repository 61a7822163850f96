-- A stored generated column (PostgreSQL 12+).
CREATE TABLE public.invoices (
	id bigint PRIMARY KEY,
	net_cents integer NOT NULL,
	"Gross Cents" integer GENERATED ALWAYS AS (net_cents * 120 / 100) STORED
);
CREATE PUBLICATION {publication} FOR TABLE public.invoices;
