-- Tables a connector can capture with full before-images: keys,
-- REPLICA IDENTITY FULL, logged; one mixed-case name listed exactly.
CREATE TABLE public.customers (id bigserial PRIMARY KEY, email text NOT NULL);
CREATE TABLE public."MixedCase" (id bigint PRIMARY KEY, label text);
ALTER TABLE public.customers REPLICA IDENTITY FULL;
ALTER TABLE public."MixedCase" REPLICA IDENTITY FULL;
CREATE PUBLICATION {publication} FOR TABLE public.customers, public."MixedCase";
