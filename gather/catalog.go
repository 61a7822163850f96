package gather

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/cdcpreflight/cdcpreflight/facts"
)

// Catalog reads for the rule catalog. Each is one set-based query (or a
// fixed handful) whatever the number of tables, and branches on
// server_version_num for columns that not every major has.

// relCols are the columns of pg_class c and pg_namespace n that the
// tables read carries from its one scan of pg_class to its result.
const relCols = `c.oid, c.relname, c.relkind, c.relpersistence, c.relreplident, c.relowner, c.relrowsecurity,
		c.relforcerowsecurity, c.relispartition, c.relnamespace, n.nspname`

// roleCTE resolves the connector role once; a missing role makes every
// privilege function below NULL, which reads as "no privilege".
const roleCTE = `role AS (SELECT (SELECT oid FROM pg_roles WHERE rolname = $1) AS oid)`

func (g *gatherer) ver() int { return g.f.Server.VersionNum }

// tables reads the captured tables, the published ones and the partitions
// of both, in one query, and, for a capture list, what of it exists only
// in another letter case.
func (g *gatherer) tables() []read {
	o := g.f.Options
	t := &g.f.Tables
	t.Listed = len(o.Tables) > 0
	reqSchemas, reqTables := make([]string, len(o.Tables)), make([]string, len(o.Tables))
	for i, r := range o.Tables {
		reqSchemas[i], reqTables[i] = r.Schema, r.Table
	}
	excluded := []string{o.SignalSchema}
	if o.HeartbeatSchema != "" {
		excluded = append(excluded, o.HeartbeatSchema)
	}
	// Generated columns are rare: one scan of pg_attribute keeps the few
	// there are (it has no index on attgenerated), cheaper than probing
	// the attributes of every table for them.
	generated, virtual := `'{}'::text[]`, `'{}'::text[]`
	genCTE := `gen AS (SELECT NULL::oid AS oid, NULL::text[] AS cols, NULL::text[] AS virt WHERE false)`
	if g.ver() >= 120000 {
		generated, virtual = `coalesce(gen.cols, '{}')`, `coalesce(gen.virt, '{}')`
		virt := `'{}'::text[]`
		if g.ver() >= 180000 {
			virt = `coalesce(array_agg(a.attname::text ORDER BY a.attnum) FILTER (WHERE a.attgenerated = 'v'), '{}')`
		}
		genCTE = `gen AS (SELECT a.attrelid AS oid, array_agg(a.attname::text ORDER BY a.attnum) AS cols, ` + virt + ` AS virt
	FROM pg_attribute a WHERE a.attgenerated <> '' AND a.attnum > 0 AND NOT a.attisdropped
	GROUP BY a.attrelid)`
	}
	nkey := `i.indnatts`
	if g.ver() >= 110000 {
		nkey = `i.indnkeyatts`
	}
	filters, allFilters := `false, false`, `filt AS (SELECT NULL::oid AS oid, NULL::json AS filters WHERE false)`
	if g.ver() >= 150000 {
		allFilters = publicationFilters
		filters = `coalesce(pe.qual, false), coalesce(pe.attrs, false)`
	}
	pubEntries := `pe AS (SELECT NULL::oid AS oid, NULL::bool AS qual, NULL::bool AS attrs WHERE false)`
	if g.ver() >= 150000 {
		pubEntries = `pe AS (SELECT pr.prrelid AS oid, bool_or(pr.prqual IS NOT NULL) AS qual, bool_or(pr.prattrs IS NOT NULL) AS attrs
	FROM pg_publication_rel pr JOIN pubopt o ON o.oid = pr.prpubid GROUP BY pr.prrelid)`
	}
	// Every per-table fact is a join or an aggregate over the relations in
	// scope (rels): no subquery runs once per table except index probes
	// (privilege functions, RLS policies on the few tables that have RLS),
	// so the cost grows linearly with the number of tables.
	sql := `WITH RECURSIVE ` + roleCTE + `,
req AS (SELECT * FROM unnest($2::text[], $3::text[]) AS r(nsp, rel)),
` + publishedCTE(g.ver(), "$4") + `,
base AS (
	SELECT ` + relCols + `,
		CASE WHEN $5 THEN (n.nspname::text, c.relname::text) IN (SELECT nsp, rel FROM req)
				OR (c.relkind IN ('r','p') AND NOT c.relispartition AND n.nspname::text IN (SELECT nsp FROM req WHERE rel = ''))
			ELSE c.relkind IN ('r','p') AND NOT c.relispartition AND c.relpersistence <> 't'
				AND n.nspname <> ALL ($6::text[]) AND n.nspname NOT LIKE 'pg\_%' AND n.nspname <> 'information_schema'
		END AS captured,
		c.oid IN (SELECT oid FROM pubrel) AS published
	FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
	WHERE c.relkind IN ('r','p','v','m','f')
),
scoped AS (SELECT * FROM base WHERE captured OR published),
tree AS (
	SELECT i.inhrelid AS oid, s.oid AS root, 1 AS depth
	FROM scoped s JOIN pg_inherits i ON i.inhparent = s.oid WHERE s.relkind = 'p'
	UNION
	SELECT i.inhrelid, t.root, t.depth + 1 FROM tree t JOIN pg_inherits i ON i.inhparent = t.oid
),
-- A partition that is itself in scope (published as a leaf while
-- publish_via_partition_root is off, or listed) still names its root: the
-- topmost partitioned table in scope above it.
top AS (SELECT DISTINCT ON (t.oid) t.oid, t.root FROM tree t ORDER BY t.oid, t.depth DESC),
-- The relations the rules see, with the pg_class columns they need: read
-- once, in base, not joined again.
rels AS (
	SELECT s.*, top.root FROM scoped s LEFT JOIN top ON top.oid = s.oid
	UNION ALL
	SELECT ` + relCols + `, false, false, top.root
	FROM top JOIN pg_class c ON c.oid = top.oid JOIN pg_namespace n ON n.oid = c.relnamespace
	WHERE top.oid NOT IN (SELECT oid FROM scoped)
),
-- The indexes of the relations in scope, with their key columns' names
-- (the first nkey of indkey) and whether every column, INCLUDE ones too,
-- is NOT NULL. Attributes are looked up one by one through their index:
-- a join lets the planner hash all of pg_attribute, which is ten times
-- the size of pg_class and spills to disk at 100,000 tables.
ix AS (
	SELECT i.indrelid, i.indexrelid, i.indisprimary, i.indimmediate, i.indisreplident, i.indisvalid, i.indisunique,
		i.indpred IS NULL AND i.indexprs IS NULL AS plain, i.indnatts,
		CASE r.relreplident WHEN 'd' THEN i.indisprimary AND i.indimmediate
			WHEN 'i' THEN i.indisreplident AND i.indisvalid ELSE false END AS identity,
		coalesce(array_agg(a.attname::text ORDER BY k.ord) FILTER (WHERE k.ord <= ` + nkey + ` AND a.attname IS NOT NULL), '{}') AS cols,
		coalesce(bool_and(a.attnotnull), true) AS notnull
	FROM rels r JOIN pg_index i ON i.indrelid = r.oid
		CROSS JOIN LATERAL unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord)
		LEFT JOIN LATERAL (SELECT a.attname, a.attnotnull FROM pg_attribute a
			WHERE a.attrelid = i.indrelid AND a.attnum = k.attnum LIMIT 1) AS a ON true
	GROUP BY i.indrelid, i.indexrelid, i.indisprimary, i.indimmediate, i.indisreplident, i.indisvalid, i.indisunique,
		i.indpred IS NULL AND i.indexprs IS NULL, i.indnatts, r.relreplident
),
-- Per table: its keys, the key columns of the index its replica identity
-- uses, and a unique index that ALTER TABLE … REPLICA IDENTITY USING INDEX
-- accepts, so that a keyless table's remedy can name it. Every column of
-- the candidate must be NOT NULL (only key columns need be, so this is
-- stricter than the server on 11+ INCLUDE indexes).
idx AS (
	SELECT ix.indrelid AS oid, bool_or(ix.indisprimary) AS pk, bool_or(ix.indisprimary AND NOT ix.indimmediate) AS pkdef,
		bool_or(ix.indisreplident AND ix.indisvalid) AS ri,
		-- At most one index is the identity one: max picks it.
		max(ix.cols) FILTER (WHERE ix.identity) AS idcols
	FROM ix GROUP BY ix.indrelid
),
cand AS (
	SELECT DISTINCT ON (ix.indrelid) ix.indrelid AS oid, quote_ident(ic.relname) AS name, ix.cols
	FROM ix JOIN pg_class ic ON ic.oid = ix.indexrelid
	WHERE ix.indisunique AND ix.indimmediate AND ix.indisvalid AND ix.plain AND ix.notnull
	ORDER BY ix.indrelid, ix.indisprimary DESC, ix.indnatts, ic.relname
),
` + genCTE + `,
` + pubEntries + `,
` + allFilters + `
SELECT c.oid::int8, c.nspname::text, c.relname::text, quote_ident(c.nspname) || '.' || quote_ident(c.relname),
	c.relkind::text, c.relpersistence::text, c.relreplident::text,
	coalesce(idx.pk, false), coalesce(idx.pkdef, false), coalesce(idx.ri, false),
	coalesce(idx.idcols, '{}'),
	coalesce(cand.name, ''), coalesce(cand.cols, '{}'),
	quote_ident(pg_get_userbyid(c.relowner)),
	coalesce(pg_has_role(role.oid, c.relowner, 'USAGE'), false),
	c.relrowsecurity, c.relforcerowsecurity, ` + rlsReadAll + `,
	CASE WHEN c.root IS NULL THEN '' ELSE (SELECT quote_ident(rn.nspname) || '.' || quote_ident(rc.relname)
		FROM pg_class rc JOIN pg_namespace rn ON rn.oid = rc.relnamespace WHERE rc.oid = c.root) END,
	` + generated + `, ` + virtual + `,
	coalesce(has_table_privilege(role.oid, c.oid, 'SELECT'), false),
	coalesce(has_schema_privilege(role.oid, c.relnamespace, 'USAGE'), false),
	c.captured, c.published,
	` + filters + `,
	coalesce(filt.filters, '[]'::json),
	(SELECT count(*) FROM rels)
FROM rels c CROSS JOIN role
	LEFT JOIN idx ON idx.oid = c.oid
	LEFT JOIN cand ON cand.oid = c.oid
	LEFT JOIN gen ON gen.oid = c.oid
	LEFT JOIN pe ON pe.oid = c.oid
	LEFT JOIN filt ON filt.oid = c.oid
ORDER BY 2, 3`
	var oid, total int64
	var tb facts.Table
	dst := []any{&oid, &tb.Schema, &tb.Name, &tb.Quoted, &tb.Kind, &tb.Persistence, &tb.ReplicaIdentity,
		&tb.HasPrimaryKey, &tb.PrimaryKeyDeferrable, &tb.IdentityIndex, &tb.IdentityColumns, &tb.IdentityCandidate, &tb.IdentityCandidateColumns, &tb.Owner, &tb.OwnedByConnector, &tb.RLS, &tb.ForceRLS, &tb.RLSReadAll, &tb.PartitionOf,
		&tb.Generated, &tb.VirtualGenerated, &tb.Select, &tb.SchemaUsage, &tb.Captured, &tb.Published, &tb.RowFilter, &tb.ColumnList,
		&tb.Filters, &total,
	}
	// Schema and owner names repeat across tables: each is kept once.
	names := map[string]string{}
	intern := func(s *string) {
		if v, ok := names[*s]; ok {
			*s = v
		} else {
			names[*s] = *s
		}
	}
	reads := []read{{op: "read tables", err: &t.Err, sql: sql,
		args: []any{o.ConnectorUser, reqSchemas, reqTables, o.Publication, t.Listed, excluded},
		scan: func(rows pgx.Rows) error {
			_, err := pgx.ForEachRow(rows, dst, func() error {
				for _, s := range []*[]string{&tb.Generated, &tb.VirtualGenerated, &tb.IdentityColumns, &tb.IdentityCandidateColumns} {
					if len(*s) == 0 {
						*s = nil
					}
				}
				if len(tb.Filters) == 0 {
					tb.Filters = nil
				}
				for i := range tb.Filters {
					for _, s := range []*[]string{&tb.Filters[i].WhereColumns, &tb.Filters[i].Columns} {
						if len(*s) == 0 {
							*s = nil
						}
					}
				}
				intern(&tb.Schema)
				intern(&tb.Owner)
				if t.Tables == nil {
					// Sized once: growing by doubling would hold two
					// copies of 100,000 tables at the last growth.
					t.Tables = make([]facts.Table, 0, total)
				}
				t.Tables = append(t.Tables, tb)
				if tb.Captured {
					g.capturedOIDs = append(g.capturedOIDs, oid)
				}
				// The next row scans into the same variables: json.Unmarshal
				// would reuse this row's slices.
				tb = facts.Table{}
				return nil
			})
			return err
		},
	}}
	if t.Listed {
		reads = append(reads, g.caseVariants(reqSchemas, reqTables))
	}
	return reads
}

// caseRow is a listed name that does not exist as written: a missing
// schema (Found empty), or what exists in another letter case.
type caseRow struct {
	listed facts.TableRef
	found  string
}

// caseVariants finds listed schemas that do not exist, and relations or
// schemas whose names match a listed one that does not exist but for
// letter case: the usual reason a listed name is not found.
func (g *gatherer) caseVariants(nsps, rels []string) read {
	var bare, tnsps, trels []string
	for i := range nsps {
		if rels[i] == "" {
			bare = append(bare, nsps[i])
		} else {
			tnsps, trels = append(tnsps, nsps[i]), append(trels, rels[i])
		}
	}
	var ref facts.TableRef
	var found string
	return read{op: "read tables", err: &g.caseErr, args: []any{bare, tnsps, trels},
		sql: `WITH bare AS (SELECT DISTINCT s FROM unnest($1::text[]) AS s),
missing AS (SELECT * FROM unnest($2::text[], $3::text[]) AS m(nsp, rel)
	WHERE NOT EXISTS (SELECT 1 FROM pg_namespace n JOIN pg_class c ON c.relnamespace = n.oid
		WHERE n.nspname = m.nsp AND c.relname = m.rel AND c.relkind IN ('r','p','v','m','f')))
SELECT b.s, '', '' FROM bare b WHERE NOT EXISTS (SELECT 1 FROM pg_namespace n WHERE n.nspname = b.s)
UNION ALL
SELECT b.s, '', quote_ident(n.nspname) FROM bare b JOIN pg_namespace n ON lower(n.nspname) = lower(b.s) AND n.nspname <> b.s
UNION ALL
SELECT m.nsp, m.rel, quote_ident(n.nspname) || '.' || quote_ident(c.relname)
FROM missing m
	JOIN pg_namespace n ON lower(n.nspname) = lower(m.nsp)
	JOIN pg_class c ON c.relnamespace = n.oid AND lower(c.relname) = lower(m.rel)
WHERE c.relkind IN ('r','p','v','m','f') AND (n.nspname <> m.nsp OR c.relname <> m.rel)
ORDER BY 1, 2, 3`,
		scan: func(rows pgx.Rows) error {
			_, err := pgx.ForEachRow(rows, []any{&ref.Schema, &ref.Table, &found}, func() error {
				g.caseRows = append(g.caseRows, caseRow{ref, found})
				return nil
			})
			return err
		},
	}
}

// finishTables works out which listed tables are missing, once the tables
// and their case variants are read: missing tables in list order, then
// missing schemas.
func (g *gatherer) finishTables() {
	t := &g.f.Tables
	if t.Err != nil {
		return
	}
	captured := make(map[facts.TableRef]bool, len(t.Tables))
	for i := range t.Tables {
		if x := &t.Tables[i]; x.Captured {
			captured[facts.TableRef{Schema: x.Schema, Table: x.Name}] = true
		}
	}
	for _, r := range g.f.Options.Tables {
		if r.Table != "" && !captured[r] {
			t.Missing = append(t.Missing, r)
		}
	}
	if g.caseErr != nil {
		t.Err = g.caseErr
		return
	}
	for _, c := range g.caseRows {
		if c.found == "" {
			t.Missing = append(t.Missing, c.listed)
		} else {
			t.CaseVariants = append(t.CaseVariants, facts.CaseVariant{Listed: c.listed, Found: c.found})
		}
	}
}

// publicationFilters (15+) is the CTE filt(oid, filters): for each
// relation of rels, a json array of the row filters and column lists of
// every publication that PostgreSQL checks against its replica identity
// before an UPDATE or DELETE (CheckCmdReplicaIdentity): its own
// pg_publication_rel entry, or, when the publication publishes via the
// partition root and it is a partition, the entry of the topmost ancestor
// the publication holds (by name or, through its schema, TABLES IN SCHEMA:
// then there is no entry and nothing to check). The columns a row filter
// reads come from its node tree: ":varattno N" is how every major from 15
// to 18 prints a column reference, and a filter can reference only its own
// table's columns (no subqueries, no system columns, no whole-row).
// pg_get_expr opens the relation, so it is called only for entries that
// have a row filter. One CTE rather than a subquery per row keeps the
// plan's cost estimate, and with it the temptation to JIT, low.
const publicationFilters = `filt AS (
	SELECT c.oid, json_agg(json_build_object(
		'publication', p.pubname::text,
		'table', quote_ident(en.nspname) || '.' || quote_ident(ec.relname),
		'update', p.pubupdate, 'delete', p.pubdelete,
		'where', CASE WHEN pr.prqual IS NULL THEN '' ELSE pg_get_expr(pr.prqual, pr.prrelid) END,
		'where_columns', array(SELECT a.attname::text FROM pg_attribute a WHERE a.attrelid = pr.prrelid
			AND a.attnum IN (SELECT m[1]::int2 FROM regexp_matches(pr.prqual::text, ':varattno (\d+)', 'g') AS m)
			ORDER BY a.attnum),
		'columns', array(SELECT a.attname::text FROM pg_attribute a
			WHERE a.attrelid = pr.prrelid AND a.attnum = ANY (pr.prattrs::int2[]) ORDER BY a.attnum))
		ORDER BY p.pubname) AS filters
	FROM pg_publication_rel pr JOIN pg_publication p ON p.oid = pr.prpubid
		JOIN pg_class ec ON ec.oid = pr.prrelid JOIN pg_namespace en ON en.oid = ec.relnamespace
		-- The entry's own table and, via the root, the partitions below it.
		CROSS JOIN LATERAL (SELECT pr.prrelid AS relid UNION
			SELECT t.relid FROM pg_partition_tree(pr.prrelid) AS t WHERE p.pubviaroot AND ec.relkind = 'p') AS d
		JOIN rels r ON r.oid = d.relid
		JOIN pg_class c ON c.oid = r.oid
	WHERE (pr.prqual IS NOT NULL OR pr.prattrs IS NOT NULL)
		-- …whose filter is the one that applies: via the root, that of the
		-- topmost ancestor in the publication, else the table's own.
		AND pr.prrelid = CASE WHEN p.pubviaroot AND c.relispartition THEN coalesce((
			SELECT anc.relid FROM pg_partition_ancestors(c.oid) WITH ORDINALITY AS anc(relid, depth)
			WHERE anc.relid <> c.oid
				AND (EXISTS (SELECT 1 FROM pg_publication_rel ar WHERE ar.prpubid = p.oid AND ar.prrelid = anc.relid)
					OR EXISTS (SELECT 1 FROM pg_publication_namespace pn JOIN pg_class ac ON ac.relnamespace = pn.pnnspid
						WHERE pn.pnpubid = p.oid AND ac.oid = anc.relid))
			ORDER BY anc.depth DESC LIMIT 1), c.oid) ELSE c.oid END
	GROUP BY c.oid
)`

// rlsReadAll is true when row-level security hides no row of table c from
// the connector: a permissive SELECT (or ALL) policy whose USING is the
// constant true applies to it, and no restrictive SELECT (or ALL) policy
// does. A policy applies to PUBLIC (role 0) and to the roles whose
// privileges the connector has, membership with inheritance
// (pg_has_role … 'USAGE'), as PostgreSQL's check_role_for_policy decides.
// USING (true) is recognised in the stored node tree (a boolean Const whose
// datum is 1; 10 to 18 print it alike), not with pg_get_expr, which takes
// an AccessShareLock on the table and would queue behind DDL.
const rlsReadAll = `(c.relrowsecurity
		AND EXISTS (SELECT 1 FROM pg_policy p WHERE p.polrelid = c.oid AND p.polpermissive AND p.polcmd IN ('r', '*')
			AND p.polqual::text ~ '^\{CONST :consttype 16 .*:constisnull false .*:constvalue 1 \[ (0 )*1 (0 )*\]\}$'
			AND ` + policyApplies + `)
		AND NOT EXISTS (SELECT 1 FROM pg_policy p WHERE p.polrelid = c.oid AND NOT p.polpermissive AND p.polcmd IN ('r', '*')
			AND ` + policyApplies + `))`

// policyApplies: policy p applies to the connector role.
const policyApplies = `EXISTS (SELECT 1 FROM unnest(p.polroles) AS pr(oid)
			WHERE CASE WHEN pr.oid = 0 THEN true ELSE coalesce(pg_has_role(role.oid, pr.oid, 'USAGE'), false) END)`

// privileges reads CONNECT, USAGE on the captured schemas, and default
// privileges per captured schema and table owner.
func (g *gatherer) privilegeReads() []read {
	o := g.f.Options
	p := &g.f.Privileges
	var schemas []string
	for _, r := range o.Tables {
		schemas = append(schemas, r.Schema)
	}
	for i := range g.f.Tables.Tables {
		if t := &g.f.Tables.Tables[i]; t.Captured {
			schemas = append(schemas, t.Schema)
		}
	}
	slices.Sort(schemas)
	schemas = slices.Compact(schemas)
	// A default ACL entry applies to objects its role creates, in one
	// schema or (namespace 0) everywhere; ownership gives all privileges,
	// and from 14 pg_read_all_data reads every table, present or future.
	readAll := `false`
	if g.ver() >= 140000 {
		readAll = `coalesce(pg_has_role(role.oid, 'pg_read_all_data', 'USAGE'), false)`
	}
	var sp facts.SchemaPrivilege
	var dp facts.DefaultPrivilege
	return []read{{op: "read privileges", err: &p.Err, args: []any{o.ConnectorUser}, sql: `WITH ` + roleCTE + `
SELECT coalesce(has_database_privilege(role.oid, d.oid, 'CONNECT'), false)
FROM pg_database d CROSS JOIN role WHERE d.datname = current_database()`,
		scan: func(rows pgx.Rows) error { return rowsOne(rows, &p.DatabaseConnect) },
	}, {op: "read privileges", err: &p.Err, args: []any{o.ConnectorUser, schemas}, sql: `WITH ` + roleCTE + `
SELECT s.name, quote_ident(s.name), n.oid IS NOT NULL, coalesce(has_schema_privilege(role.oid, n.oid, 'USAGE'), false)
FROM unnest($2::text[]) AS s(name) LEFT JOIN pg_namespace n ON n.nspname = s.name CROSS JOIN role
ORDER BY 1`,
		scan: func(rows pgx.Rows) error {
			_, err := pgx.ForEachRow(rows, []any{&sp.Name, &sp.Quoted, &sp.Exists, &sp.Usage}, func() error {
				p.Schemas = append(p.Schemas, sp)
				return nil
			})
			return err
		},
	}, {op: "read privileges", err: &p.Err, args: []any{o.ConnectorUser, g.capturedOIDs}, sql: `WITH ` + roleCTE + `,
own AS (SELECT DISTINCT c.relnamespace AS nsp, c.relowner AS owner FROM pg_class c WHERE c.oid = ANY ($2::int8[]::oid[]))
SELECT quote_ident(n.nspname), quote_ident(pg_get_userbyid(own.owner)),
	coalesce(pg_has_role(role.oid, own.owner, 'USAGE'), false) OR ` + readAll + ` OR EXISTS (
		SELECT 1 FROM pg_default_acl d, aclexplode(d.defaclacl) a
		WHERE d.defaclrole = own.owner AND d.defaclobjtype = 'r' AND d.defaclnamespace IN (own.nsp, 0)
			AND a.privilege_type = 'SELECT'
			AND (a.grantee = 0 OR coalesce(pg_has_role(role.oid, a.grantee, 'USAGE'), false)))
FROM own JOIN pg_namespace n ON n.oid = own.nsp CROSS JOIN role
ORDER BY 1, 2`,
		scan: func(rows pgx.Rows) error {
			_, err := pgx.ForEachRow(rows, []any{&dp.Schema, &dp.Owner, &dp.Covered}, func() error {
				p.DefaultPrivileges = append(p.DefaultPrivileges, dp)
				return nil
			})
			return err
		},
	}}
}

// roleSettings reads ALTER ROLE / ALTER DATABASE … SET values that apply to
// the connector's sessions: they are not inherited through membership. The
// row with neither role nor database is ALTER ROLE ALL SET, which applies to
// every session of the cluster.
func (g *gatherer) roleSettings() []read {
	rs := &g.f.RoleSettings
	var set facts.RoleSetting
	var name, value string
	return []read{{op: "read role settings", err: &rs.Err, args: []any{g.f.Options.ConnectorUser}, sql: `WITH ` + roleCTE + `
SELECT CASE WHEN s.setrole = 0 AND s.setdatabase = 0 THEN 'all roles' WHEN s.setrole = 0 THEN 'database'
		WHEN s.setdatabase = 0 THEN 'role' ELSE 'role in database' END,
	split_part(cfg, '=', 1), substr(cfg, length(split_part(cfg, '=', 1)) + 2)
FROM pg_db_role_setting s CROSS JOIN role, unnest(s.setconfig) AS cfg
WHERE s.setrole IN (0, role.oid)
	AND s.setdatabase IN (0, (SELECT oid FROM pg_database WHERE datname = current_database()))
ORDER BY 1, 2`,
		scan: func(rows pgx.Rows) error {
			_, err := pgx.ForEachRow(rows, []any{&set.Scope, &set.Name, &set.Value}, func() error {
				rs.Settings = append(rs.Settings, set)
				return nil
			})
			return err
		},
	}, {
		// The server-wide values of facts.ServerSettingNames: this
		// session's value is the server's when it came from
		// postgresql.conf (ALTER SYSTEM included), the command line, the
		// environment or the built-in default. Any other source (a role
		// or database setting, ALTER ROLE ALL, the client) hides the
		// server's value, and the name is left out.
		op: "read role settings", err: &rs.Err, args: []any{facts.ServerSettingNames}, sql: `SELECT name, setting FROM pg_settings
WHERE name = ANY ($1) AND source IN ('default', 'configuration file', 'command line', 'environment variable', 'override')`,
		scan: func(rows pgx.Rows) error {
			_, err := pgx.ForEachRow(rows, []any{&name, &value}, func() error {
				if rs.Server == nil {
					rs.Server = map[string]string{}
				}
				rs.Server[name] = value
				return nil
			})
			return err
		},
	}}
}

// publishedCTE defines, for the publication named by parameter param, the
// CTE pubrel(oid): the relations pg_publication_tables lists for it, worked
// out from the catalogs the way pg_get_publication_tables does. The view
// itself opens every published table on 16+ (AccessShareLock, to list its
// columns), so one table locked by a long ALTER TABLE would stall the whole
// read; the catalogs take no lock on user tables. Semantics:
//   - FOR ALL TABLES: every permanent user table; with
//     publish_via_partition_root the top-level partitioned tables instead of
//     their partitions;
//   - otherwise the tables named (and, 15+, every table of the schemas
//     named), a partitioned table standing for its leaf partitions unless
//     publish_via_partition_root is on, in which case a partition whose
//     ancestor is also in the list is left out.
//
// The query must start WITH RECURSIVE.
func publishedCTE(ver int, param string) string {
	viaRoot, schemas := `false`, ``
	if ver >= 130000 {
		viaRoot = `p.pubviaroot`
	}
	if ver >= 150000 {
		schemas = `
	UNION
	SELECT c.oid FROM pg_publication_namespace pn JOIN pubopt o ON pn.pnpubid = o.oid
		JOIN pg_class c ON c.relnamespace = pn.pnnspid
	WHERE c.relkind IN ('r','p') AND c.relpersistence = 'p' AND c.oid >= 16384`
	}
	// 16384 is FirstNormalObjectId: tables created by initdb (the
	// information_schema) are never published.
	return `pubopt AS (SELECT p.oid, p.puballtables AS alltables, ` + viaRoot + ` AS viaroot
	FROM pg_publication p WHERE p.pubname = ` + param + `),
pubnamed AS (
	SELECT pr.prrelid AS oid FROM pg_publication_rel pr JOIN pubopt o ON pr.prpubid = o.oid` + schemas + `
),
publeaf AS (
	SELECT i.inhrelid AS oid FROM pubnamed n JOIN pg_class c ON c.oid = n.oid AND c.relkind = 'p'
		JOIN pg_inherits i ON i.inhparent = n.oid
	UNION
	SELECT i.inhrelid FROM publeaf l JOIN pg_inherits i ON i.inhparent = l.oid
),
pubset AS (
	SELECT c.oid FROM pg_class c CROSS JOIN pubopt o
	WHERE o.alltables AND c.relpersistence = 'p' AND c.oid >= 16384
		AND ((c.relkind = 'r' AND NOT (c.relispartition AND o.viaroot))
			OR (o.viaroot AND c.relkind = 'p' AND NOT c.relispartition))
	UNION
	SELECT n.oid FROM pubnamed n JOIN pg_class c ON c.oid = n.oid CROSS JOIN pubopt o
	WHERE NOT o.alltables AND (o.viaroot OR c.relkind <> 'p')
	UNION
	SELECT l.oid FROM publeaf l JOIN pg_class c ON c.oid = l.oid CROSS JOIN pubopt o
	WHERE NOT o.alltables AND NOT o.viaroot AND c.relkind <> 'p'
),
pubanc AS (
	SELECT s.oid AS rel, i.inhparent AS anc FROM pubset s JOIN pg_class c ON c.oid = s.oid AND c.relispartition
		JOIN pg_inherits i ON i.inhrelid = s.oid
	UNION
	SELECT a.rel, i.inhparent FROM pubanc a JOIN pg_class c ON c.oid = a.anc AND c.relispartition
		JOIN pg_inherits i ON i.inhrelid = a.anc
),
pubrel AS (
	SELECT s.oid FROM pubset s CROSS JOIN pubopt o
	WHERE NOT (o.viaroot AND EXISTS (SELECT 1 FROM pubanc a JOIN pubset p ON p.oid = a.anc WHERE a.rel = s.oid))
)`
}

// publication reads the connector's publication and its own table entries.
func (g *gatherer) publication() []read {
	p := &g.f.Publication
	p.Name = g.f.Options.Publication
	truncate, viaRoot, gencols, schemas := `NULL::bool`, `NULL::bool`, `''`, `'{}'::text[]`
	if g.ver() >= 110000 {
		truncate = `p.pubtruncate`
	}
	if g.ver() >= 130000 {
		viaRoot = `p.pubviaroot`
	}
	if g.ver() >= 180000 {
		gencols = `CASE p.pubgencols WHEN 's' THEN 'stored' WHEN 'n' THEN 'none' ELSE p.pubgencols::text END`
	}
	if g.ver() >= 150000 {
		schemas = `array(SELECT quote_ident(n.nspname) FROM pg_publication_namespace pn
			JOIN pg_namespace n ON n.oid = pn.pnnspid WHERE pn.pnpubid = p.oid ORDER BY 1)`
	}
	main := read{op: "read the publication", err: &p.Err, args: []any{p.Name}, sql: `WITH RECURSIVE ` + publishedCTE(g.ver(), "$1") + `
SELECT p.puballtables, p.pubinsert, p.pubupdate, p.pubdelete,
	quote_ident(pg_get_userbyid(p.pubowner)), ` + truncate + `, ` + viaRoot + `, ` + gencols + `, ` + schemas + `,
	(SELECT count(*) FROM pubrel)::int
FROM pg_publication p WHERE p.pubname = $1`,
		scan: func(rows pgx.Rows) error {
			err := rowsOne(rows, &p.AllTables, &p.Insert, &p.Update, &p.Delete,
				&p.Owner, &p.Truncate, &p.ViaRoot, &p.GeneratedColumns, &p.Schemas, &p.TableCount)
			if errors.Is(err, pgx.ErrNoRows) {
				p.Exists = false
				return nil
			}
			if err != nil {
				return err
			}
			p.Exists = true
			if len(p.Schemas) == 0 {
				p.Schemas = nil
			}
			return nil
		},
	}
	return []read{main, g.publicationMembers()}
}

// publicationMembers reads the tables added to the publication by name,
// with their row filters and column lists (15+).
func (g *gatherer) publicationMembers() read {
	filter, columns := `''`, `'{}'::text[]`
	if g.ver() >= 150000 {
		filter = `coalesce(pg_get_expr(pr.prqual, pr.prrelid), '')`
		columns = `array(SELECT quote_ident(a.attname) FROM pg_attribute a
			WHERE a.attrelid = pr.prrelid AND a.attnum = ANY (pr.prattrs::int2[]) ORDER BY a.attnum)`
	}
	p := &g.f.Publication
	var m facts.PublicationMember
	return read{op: "read the publication", err: &p.Err, args: []any{p.Name},
		sql: `SELECT quote_ident(n.nspname) || '.' || quote_ident(c.relname), ` + filter + `, ` + columns + `
FROM pg_publication_rel pr JOIN pg_publication p ON p.oid = pr.prpubid
	JOIN pg_class c ON c.oid = pr.prrelid JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE p.pubname = $1
ORDER BY 1`,
		scan: func(rows pgx.Rows) error {
			_, err := pgx.ForEachRow(rows, []any{&m.Table, &m.Where, &m.Columns}, func() error {
				if len(m.Columns) == 0 {
					m.Columns = nil
				}
				// Sent with the publication's own read, it has no rows when
				// there is no publication; it is kept only with one.
				if p.Exists && p.Err == nil {
					p.Members = append(p.Members, m)
				}
				return nil
			})
			return err
		},
	}
}

func (g *gatherer) slots() []read {
	s := &g.f.Slots
	cols := []string{`''`, `NULL::int8`, `NULL::bool`, `NULL::bool`, `''`, `NULL::timestamptz`, `NULL::bool`}
	if g.ver() >= 130000 {
		cols[0], cols[1] = `coalesce(s.wal_status, '')`, `s.safe_wal_size`
	}
	if g.ver() >= 140000 {
		cols[2] = `s.two_phase`
	}
	if g.ver() >= 160000 {
		cols[3] = `s.conflicting`
	}
	if g.ver() >= 170000 {
		cols[4], cols[5], cols[6] = `coalesce(s.invalidation_reason, '')`, `s.inactive_since`, `s.failover`
	}
	var sl facts.Slot
	// A standby has no current insert LSN; what it has replayed is what
	// its slots hold back from.
	return []read{{op: "read replication slots", err: &s.Err, sql: `SELECT coalesce((CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn()
		ELSE pg_current_wal_lsn() END)::text, '')`,
		scan: func(rows pgx.Rows) error { return rowsOne(rows, &s.CurrentLSN) },
	}, {op: "read replication slots", err: &s.Err, sql: `WITH cur AS (SELECT CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() ELSE pg_current_wal_lsn() END AS lsn)
SELECT s.slot_name::text, coalesce(s.plugin::text, ''), s.slot_type::text, coalesce(s.database::text, ''),
	coalesce(s.database = current_database(), false), s.temporary, s.active, coalesce(s.active_pid, 0),
	coalesce(s.restart_lsn::text, ''), coalesce(s.confirmed_flush_lsn::text, ''),
	pg_wal_lsn_diff(cur.lsn, s.restart_lsn)::int8, pg_wal_lsn_diff(cur.lsn, s.confirmed_flush_lsn)::int8,
	` + strings.Join(cols, ", ") + `
FROM pg_replication_slots s CROSS JOIN cur ORDER BY 1`,
		scan: func(rows pgx.Rows) error {
			_, err := pgx.ForEachRow(rows, []any{&sl.Name, &sl.Plugin, &sl.Type, &sl.Database, &sl.InCurrentDatabase,
				&sl.Temporary, &sl.Active, &sl.ActivePID, &sl.RestartLSN, &sl.ConfirmedFlushLSN, &sl.RetainedBytes, &sl.LagBytes,
				&sl.WalStatus, &sl.SafeWalSize, &sl.TwoPhase, &sl.Conflicting, &sl.InvalidationReason, &sl.InactiveSince, &sl.Failover,
			}, func() error {
				if sl.InactiveSince != nil {
					utc := sl.InactiveSince.UTC()
					sl.InactiveSince = &utc
				}
				s.Slots = append(s.Slots, sl)
				sl = facts.Slot{}
				return nil
			})
			return err
		},
	}}
}

// helperTable reads the shape, privileges and publication membership of
// the signal or heartbeat table.
func (g *gatherer) helperTable(op string, h *facts.HelperTable) read {
	var names, types []string
	var notNull []bool
	// Publication membership comes from the catalogs, not the view: see publishedCTE.
	return read{op: op, err: &h.Err, args: []any{g.f.Options.ConnectorUser, h.Schema, h.Name, g.f.Options.Publication},
		sql: `WITH RECURSIVE ` + roleCTE + `, ` + publishedCTE(g.ver(), "$4") + `
SELECT quote_ident($2) || '.' || quote_ident($3), n.oid IS NOT NULL, c.oid IS NOT NULL, coalesce(c.relkind::text, ''),
	coalesce(has_schema_privilege(role.oid, n.oid, 'USAGE'), false),
	coalesce(has_table_privilege(role.oid, c.oid, 'SELECT'), false),
	coalesce(has_table_privilege(role.oid, c.oid, 'INSERT'), false),
	coalesce(has_table_privilege(role.oid, c.oid, 'UPDATE'), false),
	array(SELECT a.attname::text FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum),
	array(SELECT format_type(a.atttypid, a.atttypmod) FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum),
	array(SELECT a.attnotnull FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum),
	array(SELECT a.attname::text FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey)
		WHERE i.indrelid = c.oid AND i.indisprimary ORDER BY a.attnum),
	EXISTS (SELECT 1 FROM pubrel WHERE pubrel.oid = c.oid)
FROM (SELECT 1) AS one
	LEFT JOIN pg_namespace n ON n.nspname = $2
	LEFT JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = $3
	CROSS JOIN role`,
		scan: func(rows pgx.Rows) error {
			if err := rowsOne(rows, &h.Quoted, &h.SchemaExists, &h.Exists, &h.Kind, &h.SchemaUsage, &h.Select, &h.Insert, &h.Update,
				&names, &types, &notNull, &h.PrimaryKey, &h.Published); err != nil {
				return err
			}
			if len(names) != len(types) || len(names) != len(notNull) {
				return fmt.Errorf("column arrays differ in length")
			}
			for i := range names {
				h.Columns = append(h.Columns, facts.Column{Name: names[i], Type: types[i], NotNull: notNull[i]})
			}
			if len(h.PrimaryKey) == 0 {
				h.PrimaryKey = nil
			}
			return nil
		},
	}
}
