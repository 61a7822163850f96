-- REPLICA IDENTITY USING INDEX, then the index dropped: relreplident stays
-- 'i' with no index behind it, which the server treats as NOTHING. A second
-- unique index on NOT NULL columns is a candidate for the remedy.
CREATE TABLE public.shipments (code text NOT NULL, ref text NOT NULL, note text);
CREATE UNIQUE INDEX shipments_code_key ON public.shipments (code);
CREATE UNIQUE INDEX shipments_ref_key ON public.shipments (ref);
ALTER TABLE public.shipments REPLICA IDENTITY USING INDEX shipments_code_key;
DROP INDEX public.shipments_code_key;
INSERT INTO public.shipments VALUES ('c1', 'r1', 'first');
CREATE PUBLICATION {publication} FOR TABLE public.shipments;
