-- A per-table publication that lists only some of the captured tables:
-- public.orders, public."Order Items" and public."Orders" are left out.
-- The test fills {publication} with a quoted identifier.
CREATE PUBLICATION {publication} FOR TABLE public.customers, streamkap.streamkap_signal;
