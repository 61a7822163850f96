-- Objects a capture list may name by mistake: a view, a materialized view,
-- a mixed-case table (listed exactly, and folded to lower case).
CREATE TABLE public.orders (id bigint PRIMARY KEY, total_cents integer NOT NULL);
CREATE TABLE public."MixedCase" (id bigint PRIMARY KEY);
CREATE VIEW public.v_orders AS SELECT id, total_cents FROM public.orders;
CREATE MATERIALIZED VIEW public.order_totals AS SELECT count(*) AS n FROM public.orders;
CREATE PUBLICATION {publication} FOR TABLE public.orders, public."MixedCase";
