-- A captured table with a value stored out of line, and one whose values
-- stay inline. The test fills {docs} and {user} with quoted identifiers.
-- 96 kB of hex digits from md5 does not compress under pglz, so it is
-- moved to the TOAST relation; the row is committed with
-- synchronous_commit on so that decoding sees it.
CREATE TABLE {docs} (id bigint PRIMARY KEY, title text, "Big Body" text, meta jsonb);
CREATE TABLE public.notes (id bigint PRIMARY KEY, body text);
SET synchronous_commit = on;
INSERT INTO {docs} SELECT 1, 'first', string_agg(md5(g::text), ''), '{"k": 1}' FROM generate_series(1, 3000) AS g;
INSERT INTO public.notes VALUES (1, 'short');
CREATE PUBLICATION streamkap_pub FOR TABLE {docs}, public.notes;
GRANT SELECT ON {docs}, public.notes TO {user};
