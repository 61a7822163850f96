-- Every captured table, but not the signal table: snapshot signals would
-- never reach the connector.
CREATE PUBLICATION {publication} FOR TABLE public.customers, public.orders, public."Order Items", public."Orders";
