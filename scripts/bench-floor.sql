-- The floor scripts/bench.sh holds `cdcpreflight check` against: what the
-- facts a check judges cost to read, written by hand as three set-based
-- reads in one read-only transaction, with psql:
--   1. every table in the default capture scope with its kind, owner,
--      persistence, replica identity, primary key, usable unique index,
--      row-level security, the connector's SELECT and USAGE, and its
--      membership of the publication, computed from the catalogs (not from
--      pg_publication_tables, which locks every published table on 16+);
--   2. the publication;
--   3. the replication slots.
-- Each statement is its own round trip (BEGIN, three reads, COMMIT), as a
-- client sending one statement at a time pays; psql's \; would fold them
-- into one.
--
--   psql -X -v ON_ERROR_STOP=1 -v connector=streamkap_user -v publication=streamkap_pub \
--        -v schema_pubs=on -f scripts/bench-floor.sql "$DSN"
--
-- schema_pubs=on (PostgreSQL 15+) also counts FOR TABLES IN SCHEMA; the
-- file needs 13+ (pubviaroot).

\if :schema_pubs
\set in_schema_pub 'OR EXISTS (SELECT 1 FROM pg_publication_namespace pn WHERE pn.pnpubid = pub.oid AND pn.pnnspid = c.relnamespace)'
\else
\set in_schema_pub ''
\endif

BEGIN READ ONLY;

WITH role AS (SELECT (SELECT oid FROM pg_roles WHERE rolname = :'connector') AS oid),
pub AS (SELECT p.oid, p.puballtables FROM pg_publication p WHERE p.pubname = :'publication'),
keys AS (
	SELECT i.indrelid,
		bool_or(i.indisprimary) AS primary_key,
		bool_or(i.indisunique AND i.indimmediate AND i.indisvalid AND i.indpred IS NULL AND i.indexprs IS NULL) AS unique_index
	FROM pg_index i GROUP BY i.indrelid
)
SELECT n.nspname, c.relname, c.relkind, pg_get_userbyid(c.relowner) AS owner, c.relpersistence, c.relreplident,
	coalesce(k.primary_key, false) AS primary_key, coalesce(k.unique_index, false) AS unique_index,
	c.relrowsecurity, c.relforcerowsecurity,
	coalesce(has_table_privilege(role.oid, c.oid, 'SELECT'), false) AS can_select,
	coalesce(has_schema_privilege(role.oid, n.oid, 'USAGE'), false) AS schema_usage,
	coalesce(pub.puballtables AND c.relpersistence = 'p'
		OR EXISTS (SELECT 1 FROM pg_publication_rel pr WHERE pr.prpubid = pub.oid AND pr.prrelid = c.oid)
		:in_schema_pub, false) AS published
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
	CROSS JOIN role LEFT JOIN pub ON true
	LEFT JOIN keys k ON k.indrelid = c.oid
WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition AND c.relpersistence <> 't'
	AND n.nspname NOT LIKE 'pg\_%' AND n.nspname <> 'information_schema'
ORDER BY 1, 2;

SELECT p.pubname, p.puballtables, p.pubinsert, p.pubupdate, p.pubdelete, p.pubtruncate, p.pubviaroot,
	pg_get_userbyid(p.pubowner) AS owner,
	(SELECT count(*) FROM pg_publication_rel pr WHERE pr.prpubid = p.oid) AS tables_named
FROM pg_publication p WHERE p.pubname = :'publication';

SELECT s.slot_name, s.plugin, s.slot_type, s.database, s.temporary, s.active, s.active_pid,
	s.restart_lsn, s.confirmed_flush_lsn, s.wal_status, s.safe_wal_size,
	pg_wal_lsn_diff(pg_current_wal_lsn(), s.restart_lsn) AS retained_bytes
FROM pg_replication_slots s ORDER BY 1;

COMMIT;
