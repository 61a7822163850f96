-- A keyless partitioned table: UPDATE runs on the partition, whose own
-- replica identity decides. {published} is the partitioned table on 13+
-- and its partition before (10-12 cannot publish a partitioned table).
CREATE TABLE public.events (id bigint NOT NULL, at date NOT NULL, payload text) PARTITION BY RANGE (at);
CREATE TABLE public.events_2026 PARTITION OF public.events FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
INSERT INTO public.events VALUES (1, '2026-05-01', 'x');
CREATE PUBLICATION {publication} FOR TABLE {published};
