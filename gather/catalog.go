package gather

import (
	"context"
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

// roleCTE resolves the connector role once; a missing role makes every
// privilege function below NULL, which reads as "no privilege".
const roleCTE = `role AS (SELECT (SELECT oid FROM pg_roles WHERE rolname = $1) AS oid)`

func (g *gatherer) ver() int { return g.f.Server.VersionNum }

// tables reads the captured tables, the published ones and the partitions
// of both, in one query.
func (g *gatherer) tables(ctx context.Context, q pgx.Tx) error {
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
	generated := `'{}'::text[]`
	if g.ver() >= 120000 {
		generated = `array(SELECT a.attname::text FROM pg_attribute a
			WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated <> '' ORDER BY a.attnum)`
	}
	virtual := `'{}'::text[]`
	if g.ver() >= 180000 {
		virtual = `array(SELECT a.attname::text FROM pg_attribute a
			WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = 'v' ORDER BY a.attnum)`
	}
	nkey := `i.indnatts`
	if g.ver() >= 110000 {
		nkey = `i.indnkeyatts`
	}
	filters, allFilters := `false, false`, `filt AS (SELECT NULL::oid AS oid, NULL::json AS filters WHERE false)`
	if g.ver() >= 150000 {
		allFilters = publicationFilters
		filters = `EXISTS (SELECT 1 FROM pg_publication_rel pr JOIN pg_publication p ON p.oid = pr.prpubid
				WHERE p.pubname = $4 AND pr.prrelid = c.oid AND pr.prqual IS NOT NULL),
			EXISTS (SELECT 1 FROM pg_publication_rel pr JOIN pg_publication p ON p.oid = pr.prpubid
				WHERE p.pubname = $4 AND pr.prrelid = c.oid AND pr.prattrs IS NOT NULL)`
	}
	sql := `WITH RECURSIVE ` + roleCTE + `,
req AS (SELECT * FROM unnest($2::text[], $3::text[]) AS r(nsp, rel)),
` + publishedCTE(g.ver(), "$4") + `,
base AS (
	SELECT c.oid,
		CASE WHEN $5 THEN EXISTS (SELECT 1 FROM req WHERE req.nsp = n.nspname
				AND (req.rel = c.relname OR (req.rel = '' AND c.relkind IN ('r','p') AND NOT c.relispartition)))
			ELSE c.relkind IN ('r','p') AND NOT c.relispartition AND c.relpersistence <> 't'
				AND n.nspname <> ALL ($6::text[]) AND n.nspname NOT LIKE 'pg\_%' AND n.nspname <> 'information_schema'
		END AS captured,
		EXISTS (SELECT 1 FROM pubrel WHERE pubrel.oid = c.oid) AS published
	FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
	WHERE c.relkind IN ('r','p','v','m','f')
),
scoped AS (SELECT * FROM base WHERE captured OR published),
tree AS (
	SELECT i.inhrelid AS oid, s.oid AS root, 1 AS depth
	FROM scoped s JOIN pg_class pc ON pc.oid = s.oid AND pc.relkind = 'p' JOIN pg_inherits i ON i.inhparent = s.oid
	UNION
	SELECT i.inhrelid, t.root, t.depth + 1 FROM tree t JOIN pg_inherits i ON i.inhparent = t.oid
),
-- A partition that is itself in scope (published as a leaf while
-- publish_via_partition_root is off, or listed) still names its root: the
-- topmost partitioned table in scope above it.
rels AS (
	SELECT s.oid, s.captured, s.published,
		(SELECT t.root FROM tree t WHERE t.oid = s.oid ORDER BY t.depth DESC LIMIT 1) AS root
	FROM scoped s
	UNION ALL
	(SELECT DISTINCT ON (t.oid) t.oid, false, false, t.root FROM tree t
	WHERE NOT EXISTS (SELECT 1 FROM scoped s WHERE s.oid = t.oid)
	ORDER BY t.oid, t.depth DESC)
),
` + allFilters + `
SELECT c.oid::int8, n.nspname::text, c.relname::text, quote_ident(n.nspname) || '.' || quote_ident(c.relname),
	c.relkind::text, c.relpersistence::text, c.relreplident::text,
	EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.oid AND i.indisprimary),
	EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.oid AND i.indisprimary AND NOT i.indimmediate),
	EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.oid AND i.indisreplident AND i.indisvalid),
	array(SELECT a.attname::text FROM pg_index i CROSS JOIN LATERAL generate_series(0, ` + nkey + ` - 1) AS k(n)
			JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[k.n]
		WHERE i.indrelid = c.oid AND CASE c.relreplident WHEN 'd' THEN i.indisprimary AND i.indimmediate
			WHEN 'i' THEN i.indisreplident AND i.indisvalid ELSE false END
		ORDER BY k.n),
	coalesce(cand.name, ''), coalesce(cand.cols, '{}'),
	quote_ident(pg_get_userbyid(c.relowner)),
	coalesce(pg_has_role(role.oid, c.relowner, 'USAGE'), false),
	c.relrowsecurity, c.relforcerowsecurity, ` + rlsReadAll + `,
	coalesce((SELECT quote_ident(rn.nspname) || '.' || quote_ident(rc.relname)
		FROM pg_class rc JOIN pg_namespace rn ON rn.oid = rc.relnamespace WHERE rc.oid = r.root), ''),
	` + generated + `, ` + virtual + `,
	coalesce(has_table_privilege(role.oid, c.oid, 'SELECT'), false),
	coalesce(has_schema_privilege(role.oid, n.oid, 'USAGE'), false),
	r.captured, r.published,
	` + filters + `,
	coalesce(filt.filters, '[]'::json)
FROM rels r JOIN pg_class c ON c.oid = r.oid JOIN pg_namespace n ON n.oid = c.relnamespace CROSS JOIN role
	LEFT JOIN filt ON filt.oid = c.oid
	` + identityCandidate(nkey) + `
ORDER BY 2, 3`
	rows, err := q.Query(ctx, sql, o.ConnectorUser, reqSchemas, reqTables, o.Publication, t.Listed, excluded)
	if err != nil {
		return err
	}
	var oid int64
	var tb facts.Table
	_, err = pgx.ForEachRow(rows, []any{&oid, &tb.Schema, &tb.Name, &tb.Quoted, &tb.Kind, &tb.Persistence, &tb.ReplicaIdentity,
		&tb.HasPrimaryKey, &tb.PrimaryKeyDeferrable, &tb.IdentityIndex, &tb.IdentityColumns, &tb.IdentityCandidate, &tb.IdentityCandidateColumns, &tb.Owner, &tb.OwnedByConnector, &tb.RLS, &tb.ForceRLS, &tb.RLSReadAll, &tb.PartitionOf,
		&tb.Generated, &tb.VirtualGenerated, &tb.Select, &tb.SchemaUsage, &tb.Captured, &tb.Published, &tb.RowFilter, &tb.ColumnList,
		&tb.Filters,
	}, func() error {
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
		t.Tables = append(t.Tables, tb)
		if tb.Captured {
			g.capturedOIDs = append(g.capturedOIDs, oid)
		}
		// The next row scans into the same variables: json.Unmarshal
		// would reuse this row's slices.
		tb = facts.Table{}
		return nil
	})
	if err != nil {
		return err
	}
	for _, r := range o.Tables {
		if r.Table != "" && !slices.ContainsFunc(t.Tables, func(x facts.Table) bool {
			return x.Captured && x.Schema == r.Schema && x.Name == r.Table
		}) {
			t.Missing = append(t.Missing, r)
		}
	}
	return g.missingScope(ctx, q)
}

// identityCandidate joins cand(name, cols): a unique index that ALTER
// TABLE … REPLICA IDENTITY USING INDEX accepts, so a keyless table's remedy
// can name it, and its key columns. Every column of the index must be NOT
// NULL (only key columns need be, so this is stricter than the server on
// 11+ INCLUDE indexes). nkey is the number of key columns of index i.
func identityCandidate(nkey string) string {
	return `LEFT JOIN LATERAL (SELECT quote_ident(ic.relname) AS name,
		array(SELECT a.attname::text FROM generate_series(0, ` + nkey + ` - 1) AS k(n)
			JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[k.n] ORDER BY k.n) AS cols
	FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid
	WHERE i.indrelid = c.oid AND i.indisunique AND i.indimmediate AND i.indisvalid
		AND i.indpred IS NULL AND i.indexprs IS NULL
		AND NOT EXISTS (SELECT 1 FROM pg_attribute a
			WHERE a.attrelid = c.oid AND a.attnum = ANY (i.indkey) AND NOT a.attnotnull)
	ORDER BY i.indisprimary DESC, i.indnatts, ic.relname LIMIT 1) AS cand ON true`
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

// missingScope finds listed schemas that do not exist, and relations or
// schemas whose names match a missing entry but for letter case: the
// usual reason a listed name is not found.
func (g *gatherer) missingScope(ctx context.Context, q pgx.Tx) error {
	t := &g.f.Tables
	var bare []string
	for _, r := range g.f.Options.Tables {
		if r.Table == "" {
			bare = append(bare, r.Schema)
		}
	}
	if len(bare) == 0 && len(t.Missing) == 0 {
		return nil
	}
	nsps, rels := make([]string, len(t.Missing)), make([]string, len(t.Missing))
	for i, m := range t.Missing {
		nsps[i], rels[i] = m.Schema, m.Table
	}
	rows, err := q.Query(ctx, `WITH bare AS (SELECT DISTINCT s FROM unnest($1::text[]) AS s)
SELECT b.s, '', '' FROM bare b WHERE NOT EXISTS (SELECT 1 FROM pg_namespace n WHERE n.nspname = b.s)
UNION ALL
SELECT b.s, '', quote_ident(n.nspname) FROM bare b JOIN pg_namespace n ON lower(n.nspname) = lower(b.s) AND n.nspname <> b.s
UNION ALL
SELECT m.nsp, m.rel, quote_ident(n.nspname) || '.' || quote_ident(c.relname)
FROM unnest($2::text[], $3::text[]) AS m(nsp, rel)
	JOIN pg_namespace n ON lower(n.nspname) = lower(m.nsp)
	JOIN pg_class c ON c.relnamespace = n.oid AND lower(c.relname) = lower(m.rel)
WHERE c.relkind IN ('r','p','v','m','f') AND (n.nspname <> m.nsp OR c.relname <> m.rel)
ORDER BY 1, 2, 3`, bare, nsps, rels)
	if err != nil {
		return err
	}
	var ref facts.TableRef
	var found string
	_, err = pgx.ForEachRow(rows, []any{&ref.Schema, &ref.Table, &found}, func() error {
		if found == "" {
			t.Missing = append(t.Missing, ref)
		} else {
			t.CaseVariants = append(t.CaseVariants, facts.CaseVariant{Listed: ref, Found: found})
		}
		return nil
	})
	return err
}

// privileges reads CONNECT, USAGE on the captured schemas, and default
// privileges per captured schema and table owner.
func (g *gatherer) privileges(ctx context.Context, q pgx.Tx) error {
	o := g.f.Options
	p := &g.f.Privileges
	err := q.QueryRow(ctx, `WITH `+roleCTE+`
SELECT coalesce(has_database_privilege(role.oid, d.oid, 'CONNECT'), false)
FROM pg_database d CROSS JOIN role WHERE d.datname = current_database()`, o.ConnectorUser).Scan(&p.DatabaseConnect)
	if err != nil {
		return err
	}
	var schemas []string
	for _, r := range o.Tables {
		schemas = append(schemas, r.Schema)
	}
	for _, t := range g.f.Tables.Tables {
		if t.Captured {
			schemas = append(schemas, t.Schema)
		}
	}
	slices.Sort(schemas)
	schemas = slices.Compact(schemas)
	rows, err := q.Query(ctx, `WITH `+roleCTE+`
SELECT s.name, quote_ident(s.name), n.oid IS NOT NULL, coalesce(has_schema_privilege(role.oid, n.oid, 'USAGE'), false)
FROM unnest($2::text[]) AS s(name) LEFT JOIN pg_namespace n ON n.nspname = s.name CROSS JOIN role
ORDER BY 1`, o.ConnectorUser, schemas)
	if err != nil {
		return err
	}
	var sp facts.SchemaPrivilege
	if _, err := pgx.ForEachRow(rows, []any{&sp.Name, &sp.Quoted, &sp.Exists, &sp.Usage}, func() error {
		p.Schemas = append(p.Schemas, sp)
		return nil
	}); err != nil {
		return err
	}
	// A default ACL entry applies to objects its role creates, in one
	// schema or (namespace 0) everywhere; ownership gives all privileges,
	// and from 14 pg_read_all_data reads every table, present or future.
	readAll := `false`
	if g.ver() >= 140000 {
		readAll = `coalesce(pg_has_role(role.oid, 'pg_read_all_data', 'USAGE'), false)`
	}
	rows, err = q.Query(ctx, `WITH `+roleCTE+`,
own AS (SELECT DISTINCT c.relnamespace AS nsp, c.relowner AS owner FROM pg_class c WHERE c.oid = ANY ($2::int8[]::oid[]))
SELECT quote_ident(n.nspname), quote_ident(pg_get_userbyid(own.owner)),
	coalesce(pg_has_role(role.oid, own.owner, 'USAGE'), false) OR `+readAll+` OR EXISTS (
		SELECT 1 FROM pg_default_acl d, aclexplode(d.defaclacl) a
		WHERE d.defaclrole = own.owner AND d.defaclobjtype = 'r' AND d.defaclnamespace IN (own.nsp, 0)
			AND a.privilege_type = 'SELECT'
			AND (a.grantee = 0 OR coalesce(pg_has_role(role.oid, a.grantee, 'USAGE'), false)))
FROM own JOIN pg_namespace n ON n.oid = own.nsp CROSS JOIN role
ORDER BY 1, 2`, o.ConnectorUser, g.capturedOIDs)
	if err != nil {
		return err
	}
	var dp facts.DefaultPrivilege
	_, err = pgx.ForEachRow(rows, []any{&dp.Schema, &dp.Owner, &dp.Covered}, func() error {
		p.DefaultPrivileges = append(p.DefaultPrivileges, dp)
		return nil
	})
	return err
}

// roleSettings reads ALTER ROLE / ALTER DATABASE … SET values that apply to
// the connector's sessions: they are not inherited through membership. The
// row with neither role nor database is ALTER ROLE ALL SET, which applies to
// every session of the cluster.
func (g *gatherer) roleSettings(ctx context.Context, q pgx.Tx) error {
	rows, err := q.Query(ctx, `WITH `+roleCTE+`
SELECT CASE WHEN s.setrole = 0 AND s.setdatabase = 0 THEN 'all roles' WHEN s.setrole = 0 THEN 'database'
		WHEN s.setdatabase = 0 THEN 'role' ELSE 'role in database' END,
	split_part(cfg, '=', 1), substr(cfg, length(split_part(cfg, '=', 1)) + 2)
FROM pg_db_role_setting s CROSS JOIN role, unnest(s.setconfig) AS cfg
WHERE s.setrole IN (0, role.oid)
	AND s.setdatabase IN (0, (SELECT oid FROM pg_database WHERE datname = current_database()))
ORDER BY 1, 2`, g.f.Options.ConnectorUser)
	if err != nil {
		return err
	}
	var rs facts.RoleSetting
	_, err = pgx.ForEachRow(rows, []any{&rs.Scope, &rs.Name, &rs.Value}, func() error {
		g.f.RoleSettings.Settings = append(g.f.RoleSettings.Settings, rs)
		return nil
	})
	if err != nil {
		return err
	}
	return g.serverSettings(ctx, q)
}

// serverSettings reads the server-wide values of facts.ServerSettingNames:
// this session's value is the server's when it came from postgresql.conf
// (ALTER SYSTEM included), the command line, the environment or the
// built-in default. Any other source (a role or database setting, ALTER
// ROLE ALL, the client) hides the server's value, and the name is left out.
func (g *gatherer) serverSettings(ctx context.Context, q pgx.Tx) error {
	rows, err := q.Query(ctx, `SELECT name, setting FROM pg_settings
WHERE name = ANY ($1) AND source IN ('default', 'configuration file', 'command line', 'environment variable', 'override')`,
		facts.ServerSettingNames)
	if err != nil {
		return err
	}
	var name, value string
	_, err = pgx.ForEachRow(rows, []any{&name, &value}, func() error {
		if g.f.RoleSettings.Server == nil {
			g.f.RoleSettings.Server = map[string]string{}
		}
		g.f.RoleSettings.Server[name] = value
		return nil
	})
	return err
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
func (g *gatherer) publication(ctx context.Context, q pgx.Tx) error {
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
	err := q.QueryRow(ctx, `WITH RECURSIVE `+publishedCTE(g.ver(), "$1")+`
SELECT p.puballtables, p.pubinsert, p.pubupdate, p.pubdelete,
	quote_ident(pg_get_userbyid(p.pubowner)), `+truncate+`, `+viaRoot+`, `+gencols+`, `+schemas+`,
	(SELECT count(*) FROM pubrel)::int
FROM pg_publication p WHERE p.pubname = $1`, p.Name).Scan(&p.AllTables, &p.Insert, &p.Update, &p.Delete,
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
	return g.publicationMembers(ctx, q)
}

// publicationMembers reads the tables added to the publication by name,
// with their row filters and column lists (15+).
func (g *gatherer) publicationMembers(ctx context.Context, q pgx.Tx) error {
	filter, columns := `''`, `'{}'::text[]`
	if g.ver() >= 150000 {
		filter = `coalesce(pg_get_expr(pr.prqual, pr.prrelid), '')`
		columns = `array(SELECT quote_ident(a.attname) FROM pg_attribute a
			WHERE a.attrelid = pr.prrelid AND a.attnum = ANY (pr.prattrs::int2[]) ORDER BY a.attnum)`
	}
	rows, err := q.Query(ctx, `SELECT quote_ident(n.nspname) || '.' || quote_ident(c.relname), `+filter+`, `+columns+`
FROM pg_publication_rel pr JOIN pg_publication p ON p.oid = pr.prpubid
	JOIN pg_class c ON c.oid = pr.prrelid JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE p.pubname = $1
ORDER BY 1`, g.f.Publication.Name)
	if err != nil {
		return err
	}
	var m facts.PublicationMember
	_, err = pgx.ForEachRow(rows, []any{&m.Table, &m.Where, &m.Columns}, func() error {
		if len(m.Columns) == 0 {
			m.Columns = nil
		}
		g.f.Publication.Members = append(g.f.Publication.Members, m)
		return nil
	})
	return err
}

func (g *gatherer) slots(ctx context.Context, q pgx.Tx) error {
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
	// A standby has no current insert LSN; what it has replayed is what
	// its slots hold back from.
	if err := q.QueryRow(ctx, `SELECT coalesce((CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn()
		ELSE pg_current_wal_lsn() END)::text, '')`).Scan(&s.CurrentLSN); err != nil {
		return err
	}
	rows, err := q.Query(ctx, `WITH cur AS (SELECT CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() ELSE pg_current_wal_lsn() END AS lsn)
SELECT s.slot_name::text, coalesce(s.plugin::text, ''), s.slot_type::text, coalesce(s.database::text, ''),
	coalesce(s.database = current_database(), false), s.temporary, s.active, coalesce(s.active_pid, 0),
	coalesce(s.restart_lsn::text, ''), coalesce(s.confirmed_flush_lsn::text, ''),
	pg_wal_lsn_diff(cur.lsn, s.restart_lsn)::int8, pg_wal_lsn_diff(cur.lsn, s.confirmed_flush_lsn)::int8,
	`+strings.Join(cols, ", ")+`
FROM pg_replication_slots s CROSS JOIN cur ORDER BY 1`)
	if err != nil {
		return err
	}
	var sl facts.Slot
	_, err = pgx.ForEachRow(rows, []any{&sl.Name, &sl.Plugin, &sl.Type, &sl.Database, &sl.InCurrentDatabase,
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
}

// helperTable reads the shape, privileges and publication membership of
// the signal or heartbeat table.
func (g *gatherer) helperTable(ctx context.Context, q pgx.Tx, h *facts.HelperTable) error {
	var names, types []string
	var notNull []bool
	// Publication membership comes from the catalogs, not the view: see publishedCTE.
	err := q.QueryRow(ctx, `WITH RECURSIVE `+roleCTE+`, `+publishedCTE(g.ver(), "$4")+`
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
	CROSS JOIN role`, g.f.Options.ConnectorUser, h.Schema, h.Name, g.f.Options.Publication,
	).Scan(&h.Quoted, &h.SchemaExists, &h.Exists, &h.Kind, &h.SchemaUsage, &h.Select, &h.Insert, &h.Update,
		&names, &types, &notNull, &h.PrimaryKey, &h.Published)
	if err != nil {
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
}
