-- A keyless table whose name needs quoting, in a publication that
-- publishes updates and deletes (CREATE PUBLICATION's default): UPDATE and
-- DELETE on it fail on the source. {publication} is a quoted identifier.
CREATE TABLE public.customers (id bigserial PRIMARY KEY, email text NOT NULL);
CREATE TABLE public."Order Items" (order_id bigint NOT NULL, sku text NOT NULL, qty integer NOT NULL);
INSERT INTO public."Order Items" VALUES (1, 'sku-1', 1), (2, 'sku-2', 3);
CREATE PUBLICATION {publication} FOR TABLE public.customers, public."Order Items";
