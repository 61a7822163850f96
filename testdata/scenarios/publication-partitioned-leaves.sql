-- Before PostgreSQL 13 a partitioned table cannot be in a publication
-- ("Adding partitioned tables to publications is not supported"): its
-- partitions are added one by one.
CREATE PUBLICATION {publication} FOR TABLE public.customers, public.orders, public."Order Items", public."Orders",
	public.measurements_2025, public.measurements_2026, streamkap.streamkap_signal;
