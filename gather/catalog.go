package gather

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/cdcpreflight/cdcpreflight/facts"
	"github.com/cdcpreflight/cdcpreflight/internal/sqlident"
)

// Catalog reads for the rule catalog. Each is one set-based query (or a
// fixed handful) whatever the number of tables, and branches on
// server_version_num for columns that not every major has.

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
	g.owners = map[ownerKey]bool{}
	reads := []read{g.names(), {op: "read tables", err: &t.Err, sql: g.tablesSQL(),
		args: []any{o.ConnectorUser, reqSchemas, reqTables, o.Publication, t.Listed, excluded},
		scan: g.scanTables,
	}}
	if t.Listed {
		reads = append(reads, g.caseVariants(reqSchemas, reqTables))
	}
	return reads
}

// granteeCTE is grantee(oid): the grantees whose privileges the connector
// has, PUBLIC (0), itself and the roles it inherits from (pg_has_role …
// USAGE, as aclmask checks). It needs roleCTE.
const granteeCTE = `grantee AS (SELECT 0::oid AS oid UNION ALL
	SELECT g.oid FROM pg_roles g CROSS JOIN role WHERE pg_has_role(role.oid, g.oid, 'USAGE'))`

// schemaName and roleName are what the tables read refers to by oid.
type schemaName struct {
	name, quoted string
	usage        bool // the connector's USAGE
}

type roleName struct {
	quoted string
	mine   bool // the connector has its privileges
}

// names reads every schema and role by oid, for the tables read, which
// names them by oid alone: a schema's name and a table's owner repeat
// across thousands of tables, and sending them with each took a tenth of
// that read.
func (g *gatherer) names() read {
	var schema bool
	var oid uint32
	var name, quoted string
	var flag bool
	return read{op: "read tables", err: &g.f.Tables.Err, args: []any{g.f.Options.ConnectorUser}, sql: `WITH ` + roleCTE + `, ` + granteeCTE + `
SELECT true, n.oid, n.nspname::text, quote_ident(n.nspname), coalesce(has_schema_privilege(role.oid, n.oid, 'USAGE'), false)
FROM pg_namespace n CROSS JOIN role
UNION ALL
SELECT false, r.oid, '', quote_ident(r.rolname), r.oid IN (SELECT oid FROM grantee) FROM pg_roles r`,
		scan: func(rows pgx.Rows) error {
			g.schemas, g.roles = map[uint32]schemaName{}, map[uint32]roleName{}
			_, err := pgx.ForEachRow(rows, []any{&schema, &oid, &name, &quoted, &flag}, func() error {
				if schema {
					g.schemas[oid] = schemaName{name, quoted, flag}
				} else {
					g.roles[oid] = roleName{quoted, flag}
				}
				return nil
			})
			return err
		},
	}
}

// inScope is the SQL of whether relation c (schema n, publication o) is
// captured, and whether it is published, for the tables read's
// parameters: $2, $3 the capture list (schema, table; an empty table
// names the whole schema), $5 whether there is one, $6 the schemas the
// default scope leaves out.
func inScope(c, n, o string) (captured, published string) {
	captured = `CASE WHEN $5 THEN (` + n + `.nspname::text, ` + c + `.relname::text) IN (SELECT nsp, rel FROM req)
			OR (` + c + `.relkind IN ('r','p') AND NOT ` + c + `.relispartition AND ` + n + `.nspname::text IN (SELECT nsp FROM req WHERE rel = ''))
		ELSE ` + c + `.relkind IN ('r','p') AND NOT ` + c + `.relispartition AND ` + c + `.relpersistence <> 't'
			AND ` + n + `.nspname <> ALL ($6::text[]) AND ` + n + `.nspname NOT LIKE 'pg\_%' AND ` + n + `.nspname <> 'information_schema'
	END`
	published = `(coalesce(` + pubAll(c, o) + `, false) OR ` + c + `.oid IN (SELECT oid FROM pubnamedrel))`
	return captured, published
}

// tablesSQL is the tables read: one scan of pg_class, joined to a small
// per-ACL set and to the indexes of the relations in scope. Costs per table are kept to what the floor pays
// (psql reading kind, owner, keys, privileges and membership): the
// connector's SELECT privilege comes from evaluating each distinct ACL
// once (has_table_privilege would look every table up in the syscache,
// which dominated the read), and the facts only some tables need (the
// names of identity and candidate index columns, policies, partition
// roots) are looked up for those tables alone.
func (g *gatherer) tablesSQL() string {
	nkey := `i.indnatts`
	if g.ver() >= 110000 {
		nkey = `i.indnkeyatts`
	}
	// Generated columns are rare, and pg_attribute, ten times the size of
	// pg_class, has no index on attgenerated. From 15, every generated
	// column's expression is a pg_attrdef entry that depends on its column
	// with DEPENDENCY_INTERNAL, where a default's dependency is AUTO
	// (StoreAttrDefault; seen on 15.0 and 15.18 to 18, and a cluster
	// upgraded to 15 or later has its tables made again by the new server):
	// the index on pg_depend finds those entries, and pg_attribute, probed
	// for each, confirms the column is generated. Scanning pg_attribute
	// took most of the tables read at 10,000 tables. On 12 to 14 the
	// dependency is AUTO like a default's, and pg_attribute is scanned.
	genCTE := `gen AS (SELECT NULL::oid AS oid, NULL::text[] AS cols, NULL::text[] AS virt WHERE false)`
	if g.ver() >= 120000 {
		virt := `NULL::text[]`
		if g.ver() >= 180000 {
			virt = `array_agg(a.attname::text ORDER BY a.attnum) FILTER (WHERE a.attgenerated = 'v')`
		}
		from := `pg_attribute a`
		if g.ver() >= 150000 {
			from = `pg_depend d JOIN pg_attrdef ad ON ad.oid = d.objid
		AND d.classid = 'pg_attrdef'::regclass AND d.refclassid = 'pg_class'::regclass AND d.deptype = 'i'
		JOIN pg_attribute a ON a.attrelid = ad.adrelid AND a.attnum = ad.adnum`
		}
		genCTE = `gen AS (SELECT a.attrelid AS oid, array_agg(a.attname::text ORDER BY a.attnum) AS cols, ` + virt + ` AS virt
	FROM ` + from + `
	WHERE a.attgenerated <> '' AND a.attnum > 0 AND NOT a.attisdropped
	GROUP BY a.attrelid)`
	}
	filters, allFilters := `false, false`, `filt AS (SELECT NULL::oid AS oid, NULL::json AS filters WHERE false)`
	pubEntries := `pe AS (SELECT NULL::oid AS oid, NULL::bool AS qual, NULL::bool AS attrs WHERE false)`
	if g.ver() >= 150000 {
		allFilters = publicationFilters
		filters = `coalesce(pe.qual, false), coalesce(pe.attrs, false)`
		pubEntries = `pe AS (SELECT pr.prrelid AS oid, bool_or(pr.prqual IS NOT NULL) AS qual, bool_or(pr.prattrs IS NOT NULL) AS attrs
	FROM pg_publication_rel pr JOIN pubopt o ON o.oid = pr.prpubid GROUP BY pr.prrelid)`
	}
	// From 14, pg_read_all_data reads every table (pg_class_aclmask).
	readAll := `false`
	if g.ver() >= 140000 {
		readAll = `pg_has_role(r.oid, 'pg_read_all_data', 'USAGE')`
	}
	// Before 12 every CTE is materialized, and the keyword is unknown.
	materialized := ``
	if g.ver() >= 120000 {
		materialized = `MATERIALIZED `
	}
	captured, published := inScope("c", "n", "o")
	pCaptured, pPublished := inScope("p", "pn", "o")
	// The key columns of index i, in index order, by name.
	keyCols := `array(SELECT a.attname::text FROM unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord)
			JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
			WHERE k.ord <= ` + nkey + ` ORDER BY k.ord)`
	return `WITH RECURSIVE ` + roleCTE + `,
req AS (SELECT * FROM unnest($2::text[], $3::text[]) AS r(nsp, rel)),
` + publishedCTE(g.ver(), "$4") + `,
-- Partitions of the partitioned tables in scope are in scope too, each
-- naming the topmost partitioned table in scope above it. The tree starts
-- from pg_inherits, which holds only partitions and inheritance children.
tree AS (
	SELECT i.inhrelid AS oid, i.inhparent AS root, 1 AS depth
	FROM pg_inherits i JOIN pg_class p ON p.oid = i.inhparent AND p.relkind = 'p'
		JOIN pg_namespace pn ON pn.oid = p.relnamespace LEFT JOIN pubopt o ON true
	WHERE ` + pCaptured + ` OR ` + pPublished + `
	UNION
	SELECT i.inhrelid, t.root, t.depth + 1 FROM tree t JOIN pg_inherits i ON i.inhparent = t.oid
),
top AS (SELECT DISTINCT ON (t.oid) t.oid, t.root FROM tree t ORDER BY t.oid, t.depth DESC),
-- The relations in scope, from one scan of pg_class.
rels AS ` + materialized + `(
	SELECT c.oid, c.relname, c.relkind, c.relpersistence, c.relreplident, c.relowner, c.relrowsecurity,
		c.relforcerowsecurity, c.relnamespace, c.relacl, n.nspname, top.root, s.captured, s.published
	FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace LEFT JOIN pubopt o ON true
		LEFT JOIN top ON top.oid = c.oid
		CROSS JOIN LATERAL (SELECT ` + captured + ` AS captured, ` + published + ` AS published) AS s
	WHERE c.relkind IN ('r','p','v','m','f') AND (s.captured OR s.published OR top.root IS NOT NULL)
),
` + granteeCTE + `,
-- A superuser, and from 14 a member of pg_read_all_data, may read every table.
seeall AS (SELECT coalesce((SELECT r.rolsuper OR ` + readAll + ` FROM pg_roles r JOIN role ON r.oid = role.oid), false) AS yes),
-- SELECT as has_table_privilege decides it, once per distinct ACL (a
-- NULL relacl is the owner's default, acldefault).
acl AS (
	SELECT a.acl, EXISTS (SELECT 1 FROM aclexplode(a.acl) x WHERE x.privilege_type = 'SELECT' AND x.grantee IN (SELECT oid FROM grantee)) AS sel
	FROM (SELECT DISTINCT coalesce(r.relacl, acldefault('r', r.relowner)) AS acl FROM rels r) AS a
),
` + genCTE + `,
` + pubEntries + `,
` + allFilters + `,
-- Materialized: joined in one query with the per-ACL set below, the
-- planner took longer than the read.
facts AS ` + materialized + `(
	SELECT c.*, pk.indrelid IS NOT NULL AS haspk, pk.indrelid IS NOT NULL AND NOT pk.indimmediate AS pkdef, ri.indrelid IS NOT NULL AS hasri,
		gen.cols AS gen, gen.virt, filt.filters,
		-- The tables whose rules read key column names: a row filter or
		-- column list is checked against the identity, generated columns
		-- may be in it (18), and a table without a usable identity gets
		-- a candidate index in its remedy.
		gen.oid IS NOT NULL OR filt.oid IS NOT NULL AS idnames,
		gen.oid IS NOT NULL OR filt.oid IS NOT NULL OR NOT CASE c.relreplident WHEN 'f' THEN true
			WHEN 'i' THEN ri.indrelid IS NOT NULL WHEN 'd' THEN pk.indrelid IS NOT NULL AND pk.indimmediate ELSE false END AS candidate
	-- At most one index of a table is its primary key, at most one its
	-- REPLICA IDENTITY index.
	FROM rels c LEFT JOIN pg_index pk ON pk.indrelid = c.oid AND pk.indisprimary
		LEFT JOIN pg_index ri ON ri.indrelid = c.oid AND ri.indisreplident AND ri.indisvalid
		LEFT JOIN gen ON gen.oid = c.oid LEFT JOIN filt ON filt.oid = c.oid
)
-- Schemas and owners by oid (see names); a name that needs quoting, quoted.
SELECT c.relnamespace, c.relowner, c.relname::text, nullif(quote_ident(c.relname), c.relname),
	c.relkind::text, c.relpersistence::text, c.relreplident::text, c.haspk, c.pkdef, c.hasri,
	-- The key columns of the index the replica identity uses.
	CASE WHEN c.idnames THEN (SELECT ` + keyCols + ` FROM pg_index i WHERE i.indrelid = c.oid
		AND CASE c.relreplident WHEN 'd' THEN i.indisprimary AND i.indimmediate WHEN 'i' THEN i.indisreplident AND i.indisvalid ELSE false END
		LIMIT 1) END,
	-- A unique index that REPLICA IDENTITY USING INDEX accepts: its quoted
	-- name, then its key columns. Every column, INCLUDE ones too, must be
	-- NOT NULL (stricter than the server on 11+, which asks it of key
	-- columns only).
	CASE WHEN c.candidate THEN (SELECT ARRAY[quote_ident(ic.relname)::text] || ` + keyCols + `
		FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid
		WHERE i.indrelid = c.oid AND i.indisunique AND i.indimmediate AND i.indisvalid AND i.indpred IS NULL AND i.indexprs IS NULL
			AND NOT EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey::int2[]) AND NOT a.attnotnull)
		ORDER BY i.indisprimary DESC, i.indnatts, ic.relname LIMIT 1) END,
	c.relrowsecurity, c.relforcerowsecurity, CASE WHEN c.relrowsecurity THEN ` + rlsReadAll + ` ELSE false END,
	CASE WHEN c.root IS NOT NULL THEN (SELECT quote_ident(rn.nspname) || '.' || quote_ident(rc.relname)
		FROM pg_class rc JOIN pg_namespace rn ON rn.oid = rc.relnamespace WHERE rc.oid = c.root) END,
	c.gen, c.virt,
	(SELECT oid FROM role) IS NOT NULL AND (acl.sel OR (SELECT yes FROM seeall)),
	c.captured, c.published,
	` + filters + `,
	c.filters,
	(SELECT count(*) FROM rels)
FROM facts c
	LEFT JOIN acl ON acl.acl = coalesce(c.relacl, acldefault('r', c.relowner))
	LEFT JOIN pe ON pe.oid = c.oid`
}

// scanTables decodes the tables read from the rows' raw text values: at
// 100,000 tables pgx's generic scanning (a scan plan per column, text
// arrays parsed into fresh slices, '{}' and '[]' decoded for every row)
// cost more than the query. NULL stands for "none" in the rare columns.
func (g *gatherer) scanTables(rows pgx.Rows) error {
	t := &g.f.Tables
	fields := rows.FieldDescriptions()
	if len(fields) != tablesColumns {
		return fmt.Errorf("the tables read returned %d columns, want %d", len(fields), tablesColumns)
	}
	if g.schemas == nil {
		return errors.New("the schemas and roles were not read")
	}
	m := g.typeMap
	strs := func(i int, b []byte) ([]string, error) {
		if b == nil {
			return nil, nil
		}
		var v []string
		if err := m.Scan(fields[i].DataTypeOID, fields[i].Format, b, &v); err != nil {
			return nil, fmt.Errorf("column %s: %w", fields[i].Name, err)
		}
		if len(v) == 0 {
			return nil, nil
		}
		return v, nil
	}
	for rows.Next() {
		v := rows.RawValues()
		var tb facts.Table
		var err error
		nsp, owner := parseOID(v[0]), parseOID(v[1])
		schema, ok := g.schemas[nsp]
		if !ok {
			// Read by the statement before, in its own snapshot.
			return fmt.Errorf("the schema of table %s was created during the check: run it again", v[2])
		}
		tb.Schema = schema.name
		if v[3] == nil {
			tb.Quoted = schema.quoted + "." + string(v[2])
			tb.Name = tb.Quoted[len(schema.quoted)+1:]
		} else {
			tb.Quoted = schema.quoted + "." + string(v[3])
			tb.Name = string(v[2])
		}
		tb.SchemaUsage = schema.usage
		if r, ok := g.roles[owner]; ok {
			tb.Owner, tb.OwnedByConnector = r.quoted, r.mine
		} else {
			// A role gone since the roles were read: as pg_get_userbyid names it.
			tb.Owner = sqlident.Quote(fmt.Sprintf("unknown (OID=%d)", owner))
		}
		tb.Kind, tb.Persistence, tb.ReplicaIdentity = code(v[4]), code(v[5]), code(v[6])
		tb.HasPrimaryKey, tb.PrimaryKeyDeferrable, tb.IdentityIndex = isTrue(v[7]), isTrue(v[8]), isTrue(v[9])
		tb.RLS, tb.ForceRLS, tb.RLSReadAll = isTrue(v[12]), isTrue(v[13]), isTrue(v[14])
		tb.Select = isTrue(v[18])
		tb.Captured, tb.Published = isTrue(v[19]), isTrue(v[20])
		tb.RowFilter, tb.ColumnList = isTrue(v[21]), isTrue(v[22])
		// The rare facts: NULL in most rows.
		if v[10] != nil || v[11] != nil || v[15] != nil || v[16] != nil || v[17] != nil || v[23] != nil {
			var r facts.RareFacts
			if r.IdentityColumns, err = strs(10, v[10]); err != nil {
				return err
			}
			cand, err := strs(11, v[11])
			if err != nil {
				return err
			}
			if len(cand) > 0 {
				r.IdentityCandidate = cand[0]
				if len(cand) > 1 {
					r.IdentityCandidateColumns = cand[1:]
				}
			}
			r.PartitionOf = string(v[15])
			if r.Generated, err = strs(16, v[16]); err != nil {
				return err
			}
			if r.VirtualGenerated, err = strs(17, v[17]); err != nil {
				return err
			}
			if v[23] != nil {
				if err := json.Unmarshal(v[23], &r.Filters); err != nil {
					return fmt.Errorf("column %s: %w", fields[23].Name, err)
				}
				if len(r.Filters) == 0 {
					r.Filters = nil
				}
				for i := range r.Filters {
					for _, s := range []*[]string{&r.Filters[i].WhereColumns, &r.Filters[i].Columns} {
						if len(*s) == 0 {
							*s = nil
						}
					}
				}
			}
			tb.SetRare(r)
		}
		if tb.Captured {
			g.owners[ownerKey{nsp, owner}] = true
		}
		if t.Tables == nil {
			// Sized once: growing by doubling would hold two copies of
			// 100,000 tables at the last growth, and leave a quarter
			// of the last unused.
			t.Tables = make([]facts.Table, 0, parseOID(v[24]))
		}
		t.Tables = append(t.Tables, tb)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	sortTables(t.Tables)
	// Every join above is on a key (a table has one primary key and one
	// REPLICA IDENTITY index at most): a relation twice would be counted
	// twice by the rules, so it is an error rather than a fact.
	for i := 1; i < len(t.Tables); i++ {
		if a, b := &t.Tables[i-1], &t.Tables[i]; a.Schema == b.Schema && a.Name == b.Name {
			return fmt.Errorf("the tables read returned %s more than once", b.Quoted)
		}
	}
	return nil
}

// sortTables orders tables by schema, then name, byte by byte (as ORDER BY
// on the name columns does): rules list them in this order. Sorted here
// rather than by the server, which at 100,000 tables sorted on disk, and
// through a permutation, so that each table moves once.
func sortTables(ts []facts.Table) {
	cmp := func(a, b *facts.Table) int {
		if c := strings.Compare(a.Schema, b.Schema); c != 0 {
			return c
		}
		return strings.Compare(a.Name, b.Name)
	}
	sorted := true
	for i := 1; i < len(ts) && sorted; i++ {
		sorted = cmp(&ts[i-1], &ts[i]) <= 0
	}
	if sorted {
		return
	}
	// perm[i] is the index of the table that belongs at i.
	perm := make([]int32, len(ts))
	for i := range perm {
		perm[i] = int32(i)
	}
	slices.SortFunc(perm, func(a, b int32) int { return cmp(&ts[a], &ts[b]) })
	for i := range perm {
		if int(perm[i]) == i {
			continue
		}
		held, j := ts[i], i
		for {
			k := int(perm[j])
			perm[j] = int32(j)
			if k == i {
				ts[j] = held
				break
			}
			ts[j] = ts[k]
			j = k
		}
	}
}

// tablesColumns is the number of columns tablesSQL returns.
const tablesColumns = 25

// ownerKey is a schema and a role owning captured tables in it, by oid.
type ownerKey struct{ nsp, owner uint32 }

func isTrue(b []byte) bool { return len(b) == 1 && b[0] == 't' }

// code reads a "char" column sent as text.
func code(b []byte) facts.Code {
	if len(b) == 0 {
		return 0
	}
	return facts.Code(b[0])
}

// parseOID reads an oid sent as text; 0 for NULL.
func parseOID(b []byte) uint32 {
	var n uint32
	for _, c := range b {
		n = n*10 + uint32(c-'0')
	}
	return n
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
			WHERE CASE WHEN pr.oid = 0 THEN true ELSE coalesce(pg_has_role((SELECT oid FROM role), pr.oid, 'USAGE'), false) END)`

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
	// The schemas and owners of the captured tables, by oid, as the
	// tables read collected them.
	var nsps, owners []int64
	for k := range g.owners {
		nsps, owners = append(nsps, int64(k.nsp)), append(owners, int64(k.owner))
	}
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
	}, {op: "read privileges", err: &p.Err, args: []any{o.ConnectorUser, nsps, owners}, sql: `WITH ` + roleCTE + `,
own AS (SELECT o.nsp::oid AS nsp, o.owner::oid AS owner FROM unnest($2::int8[], $3::int8[]) AS o(nsp, owner))
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
//     their partitions (pubAll says it of one relation);
//   - otherwise the tables named (and, 15+, every table of the schemas
//     named), a partitioned table standing for its leaf partitions unless
//     publish_via_partition_root is on, in which case a partition whose
//     ancestor is also in the list is left out (pubnamedrel).
//
// The two are disjoint: pubnamedrel is empty for FOR ALL TABLES. A reader
// that judges relations it scans anyway tests pubAll on each and looks the
// rest up in pubnamedrel, which is small, rather than collecting every
// published oid of a FOR ALL TABLES publication into a set first.
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
	return `pubopt AS (SELECT p.oid, p.puballtables AS alltables, ` + viaRoot + ` AS viaroot
	FROM pg_publication p WHERE p.pubname = ` + param + `),
pubnamed AS (
	SELECT pr.prrelid AS oid FROM pg_publication_rel pr JOIN pubopt o ON pr.prpubid = o.oid AND NOT o.alltables` + schemas + `
),
publeaf AS (
	SELECT i.inhrelid AS oid FROM pubnamed n JOIN pg_class c ON c.oid = n.oid AND c.relkind = 'p'
		JOIN pg_inherits i ON i.inhparent = n.oid
	UNION
	SELECT i.inhrelid FROM publeaf l JOIN pg_inherits i ON i.inhparent = l.oid
),
pubset AS (
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
pubnamedrel AS (
	SELECT s.oid FROM pubset s CROSS JOIN pubopt o
	WHERE NOT (o.viaroot AND EXISTS (SELECT 1 FROM pubanc a JOIN pubset p ON p.oid = a.anc WHERE a.rel = s.oid))
),
pubrel AS (
	SELECT c.oid FROM pg_class c CROSS JOIN pubopt o WHERE ` + pubAll("c", "o") + `
	UNION ALL
	SELECT oid FROM pubnamedrel
)`
}

// pubAll is true when the FOR ALL TABLES publication o publishes relation c.
// 16384 is FirstNormalObjectId: tables created by initdb (the
// information_schema) are never published.
func pubAll(c, o string) string {
	return o + `.alltables AND ` + c + `.relpersistence = 'p' AND ` + c + `.oid >= 16384
		AND ((` + c + `.relkind = 'r' AND NOT (` + c + `.relispartition AND ` + o + `.viaroot))
			OR (` + o + `.viaroot AND ` + c + `.relkind = 'p' AND NOT ` + c + `.relispartition))`
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
	// The tables of a FOR ALL TABLES publication are counted from the
	// tables read, which judges every relation anyway (see
	// finishPublication): counting them here scanned pg_class once more.
	var count *int
	main := read{op: "read the publication", err: &p.Err, args: []any{p.Name}, sql: `WITH RECURSIVE ` + publishedCTE(g.ver(), "$1") + `
SELECT p.puballtables, p.pubinsert, p.pubupdate, p.pubdelete,
	quote_ident(pg_get_userbyid(p.pubowner)), ` + truncate + `, ` + viaRoot + `, ` + gencols + `, ` + schemas + `,
	CASE WHEN NOT p.puballtables THEN (SELECT count(*) FROM pubnamedrel)::int END
FROM pg_publication p WHERE p.pubname = $1`,
		scan: func(rows pgx.Rows) error {
			err := rowsOne(rows, &p.AllTables, &p.Insert, &p.Update, &p.Delete,
				&p.Owner, &p.Truncate, &p.ViaRoot, &p.GeneratedColumns, &p.Schemas, &count)
			if errors.Is(err, pgx.ErrNoRows) {
				p.Exists = false
				return nil
			}
			if err != nil {
				return err
			}
			p.Exists = true
			if count != nil {
				p.TableCount = *count
			}
			g.countAllTables = count == nil
			if len(p.Schemas) == 0 {
				p.Schemas = nil
			}
			return nil
		},
	}
	return []read{main, g.publicationMembers()}
}

// finishPublication counts the tables of a FOR ALL TABLES publication
// from the tables read: the published relations it holds are those
// pg_publication_tables lists (pubAll of every relation it scanned). When
// the tables read failed, it returns the read that counts them instead,
// for the second batch.
func (g *gatherer) finishPublication() []read {
	p := &g.f.Publication
	if !g.countAllTables || p.Err != nil {
		return nil
	}
	if g.f.Tables.Err == nil {
		p.TableCount = 0
		for i := range g.f.Tables.Tables {
			if g.f.Tables.Tables[i].Published {
				p.TableCount++
			}
		}
		return nil
	}
	return []read{{op: "read the publication", err: &p.Err, args: []any{p.Name},
		sql:  `WITH RECURSIVE ` + publishedCTE(g.ver(), "$1") + ` SELECT (SELECT count(*) FROM pubrel)::int`,
		scan: func(rows pgx.Rows) error { return rowsOne(rows, &p.TableCount) },
	}}
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
	coalesce((SELECT ` + pubAll("c", "o") + ` FROM pubopt o), false) OR coalesce(c.oid IN (SELECT oid FROM pubnamedrel), false)
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
