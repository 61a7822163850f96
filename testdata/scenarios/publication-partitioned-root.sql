-- PostgreSQL 13+: the partitioned table itself in the publication; the
-- test fills {via_root} with true or false.
CREATE PUBLICATION {publication} FOR TABLE public.customers, public.orders, public."Order Items", public."Orders",
	public.measurements, streamkap.streamkap_signal WITH (publish_via_partition_root = {via_root});
