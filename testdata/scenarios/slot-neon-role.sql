-- Neon creates the role neon_superuser in every project: cdcpreflight
-- detects the platform by it. Idempotent, as the cluster is shared by
-- the tests that use it.
DO $$
BEGIN
	CREATE ROLE neon_superuser NOLOGIN;
EXCEPTION WHEN duplicate_object THEN
	NULL;
END
$$;
