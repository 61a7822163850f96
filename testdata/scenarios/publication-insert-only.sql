-- Every table, but only inserts are published: updates and deletes are
-- dropped at the source.
CREATE PUBLICATION {publication} FOR TABLE public.customers, public.orders, public."Order Items", public."Orders",
	streamkap.streamkap_signal WITH (publish = 'insert');
