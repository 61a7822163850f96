-- A partitioned table with two partitions (declarative partitioning: 10+).
-- No primary key: PostgreSQL 10 has none on partitioned tables.
CREATE TABLE public.measurements (taken date NOT NULL, value numeric) PARTITION BY RANGE (taken);
CREATE TABLE public.measurements_2025 PARTITION OF public.measurements FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
CREATE TABLE public.measurements_2026 PARTITION OF public.measurements FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
GRANT SELECT ON public.measurements, public.measurements_2025, public.measurements_2026 TO {user};
