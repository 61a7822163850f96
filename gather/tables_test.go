package gather_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/cdcpreflight/cdcpreflight/facts"
	"github.com/cdcpreflight/cdcpreflight/internal/pglocal"
	"github.com/cdcpreflight/cdcpreflight/internal/pgtest"
	"github.com/cdcpreflight/cdcpreflight/internal/sqlident"
)

func serverVersion(t *testing.T, conn *pgx.Conn) int {
	t.Helper()
	var v int
	if err := conn.QueryRow(t.Context(), `SELECT current_setting('server_version_num')::int`).Scan(&v); err != nil {
		t.Fatal(err)
	}
	return v
}

// listAll captures every relation of db's user schemas by name, views and
// materialized views too, so that the tables read judges each.
func listAll(t *testing.T, conn *pgx.Conn) []facts.TableRef {
	t.Helper()
	rows, err := conn.Query(t.Context(), `SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r','p','v','m') AND n.nspname NOT LIKE 'pg\_%' AND n.nspname <> 'information_schema' ORDER BY 1, 2`)
	if err != nil {
		t.Fatal(err)
	}
	var refs []facts.TableRef
	var r facts.TableRef
	if _, err := pgx.ForEachRow(rows, []any{&r.Schema, &r.Table}, func() error { refs = append(refs, r); return nil }); err != nil {
		t.Fatal(err)
	}
	return refs
}

func gatherAs(t *testing.T, c *pglocal.Cluster, db, login, connector string, tables []facts.TableRef) *facts.Facts {
	t.Helper()
	f, _ := gatherCounting(t, c.DSN(login, password, db, "require"), facts.Options{Slot: "s", Publication: "p", SignalSchema: "streamkap",
		SnapshotMode: "auto", ConnectorUser: connector, Tables: tables})
	if f.Tables.Err != nil {
		t.Fatalf("tables read: %v", f.Tables.Err)
	}
	return f
}

// TestTablesPrivilegesAgreeWithTheServer: the tables read judges SELECT
// from each distinct ACL rather than calling has_table_privilege per
// table; for every kind of grant (PUBLIC, direct, through a role with and
// without INHERIT, column-only, other privileges, an owner that revoked
// its own, a NULL ACL), every kind of relation and every kind of
// connector (superuser, pg_read_all_data on 14+, a role that does not
// exist), it says what the server's own functions say.
func TestTablesPrivilegesAgreeWithTheServer(t *testing.T) {
	c := pgtest.Cluster(t)
	db := pgtest.NewDatabase(t, c)
	admin := pgtest.Conn(t, c, db)
	version := serverVersion(t, admin)
	q := sqlident.Quote
	login := pgtest.UniqueName(t, "login")
	grp, other := pgtest.UniqueName(t, "grp"), pgtest.UniqueName(t, "other")
	inherit, noInherit, super := pgtest.UniqueName(t, "inh"), pgtest.UniqueName(t, "noinh"), pgtest.UniqueName(t, "super")
	connectors := []string{inherit, noInherit, super, grp, "no such role"}
	setup := fmt.Sprintf(`CREATE ROLE %[1]s LOGIN SUPERUSER PASSWORD %[7]s;
CREATE ROLE %[2]s NOLOGIN;
CREATE ROLE %[3]s NOLOGIN;
CREATE ROLE %[4]s LOGIN IN ROLE %[2]s;
CREATE ROLE %[5]s LOGIN NOINHERIT IN ROLE %[2]s;
CREATE ROLE %[6]s LOGIN SUPERUSER;
CREATE SCHEMA granted;
CREATE SCHEMA closed;
CREATE SCHEMA "Mixed Case";
GRANT USAGE ON SCHEMA granted TO %[2]s;
GRANT USAGE ON SCHEMA "Mixed Case" TO PUBLIC;
CREATE TABLE granted.to_public (id int);
GRANT SELECT ON granted.to_public TO PUBLIC;
CREATE TABLE granted.to_group (id int);
GRANT SELECT ON granted.to_group TO %[2]s;
CREATE TABLE granted.to_inherit (id int);
GRANT SELECT ON granted.to_inherit TO %[4]s;
CREATE TABLE granted.to_no_inherit (id int);
GRANT SELECT ON granted.to_no_inherit TO %[5]s;
CREATE TABLE granted.to_other (id int);
GRANT SELECT ON granted.to_other TO %[3]s;
CREATE TABLE granted.no_grant (id int);
CREATE TABLE granted.insert_only (id int);
GRANT INSERT, UPDATE ON granted.insert_only TO %[2]s, %[4]s;
CREATE TABLE granted.column_only (id int, v text);
GRANT SELECT (id) ON granted.column_only TO %[2]s, %[4]s;
CREATE TABLE granted.with_grant_option (id int);
GRANT SELECT ON granted.with_grant_option TO %[2]s WITH GRANT OPTION;
CREATE TABLE granted.owned (id int);
ALTER TABLE granted.owned OWNER TO %[4]s;
CREATE TABLE granted.owned_revoked (id int);
ALTER TABLE granted.owned_revoked OWNER TO %[4]s;
REVOKE SELECT ON granted.owned_revoked FROM %[4]s;
CREATE TABLE granted.group_owned (id int);
ALTER TABLE granted.group_owned OWNER TO %[2]s;
CREATE TABLE granted.revoked_public (id int);
GRANT SELECT ON granted.revoked_public TO PUBLIC;
REVOKE SELECT ON granted.revoked_public FROM PUBLIC;
CREATE TABLE closed.to_group (id int);
GRANT SELECT ON closed.to_group TO %[2]s;
CREATE TABLE "Mixed Case"."Odd ""Name""" (id int);
GRANT SELECT ON "Mixed Case"."Odd ""Name""" TO %[2]s;
CREATE VIEW granted.a_view AS SELECT 1 AS one;
GRANT SELECT ON granted.a_view TO %[2]s;
CREATE MATERIALIZED VIEW granted.a_matview AS SELECT 1 AS one;
GRANT SELECT ON granted.a_matview TO PUBLIC;
CREATE TABLE granted.parted (id int) PARTITION BY RANGE (id);
CREATE TABLE granted.parted_1 PARTITION OF granted.parted FOR VALUES FROM (0) TO (10);
GRANT SELECT ON granted.parted TO %[2]s;
GRANT SELECT ON granted.parted_1 TO PUBLIC;`, q(login), q(grp), q(other), q(inherit), q(noInherit), q(super), sqlident.Literal(password))
	if version >= 140000 {
		readAll := pgtest.UniqueName(t, "readall")
		setup += fmt.Sprintf("\nCREATE ROLE %s LOGIN IN ROLE pg_read_all_data;", q(readAll))
		connectors = append(connectors, readAll)
	}
	pgtest.Exec(t, c, db, setup)
	tables := listAll(t, admin)
	for _, connector := range connectors {
		t.Run(connector, func(t *testing.T) {
			f := gatherAs(t, c, db, login, connector, tables)
			type verdict struct{ sel, usage, owned bool }
			want := map[string]verdict{}
			rows, err := admin.Query(t.Context(), `SELECT quote_ident(n.nspname) || '.' || quote_ident(c.relname),
	coalesce(has_table_privilege(r.oid, c.oid, 'SELECT'), false),
	coalesce(has_schema_privilege(r.oid, n.oid, 'USAGE'), false),
	coalesce(pg_has_role(r.oid, c.relowner, 'USAGE'), false)
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
	CROSS JOIN (SELECT (SELECT oid FROM pg_roles WHERE rolname = $1) AS oid) AS r
WHERE c.relkind IN ('r','p','v','m') AND n.nspname NOT LIKE 'pg\_%' AND n.nspname <> 'information_schema'`, connector)
			if err != nil {
				t.Fatal(err)
			}
			var name string
			var v verdict
			if _, err := pgx.ForEachRow(rows, []any{&name, &v.sel, &v.usage, &v.owned}, func() error { want[name] = v; return nil }); err != nil {
				t.Fatal(err)
			}
			if len(f.Tables.Tables) != len(want) {
				t.Errorf("gathered %d relations, the catalog has %d", len(f.Tables.Tables), len(want))
			}
			for _, tb := range f.Tables.Tables {
				w, ok := want[tb.Quoted]
				got := verdict{tb.Select, tb.SchemaUsage, tb.OwnedByConnector}
				if !ok || got != w {
					t.Errorf("%s: select, usage, owned = %v, the server says %v", tb.Quoted, got, w)
				}
			}
		})
	}
}

// TestTablesGeneratedColumnsAgreeWithTheCatalog: generated columns are
// found (from 15) through their expressions' internal dependency in
// pg_depend rather than by scanning pg_attribute; made in every way
// PostgreSQL makes them, they are exactly the ones pg_attribute marks, and
// a dropped expression or a plain default is not one. On 12 to 14, where
// that dependency is AUTO like a default's, this caught the read missing
// every generated column.
func TestTablesGeneratedColumnsAgreeWithTheCatalog(t *testing.T) {
	c := pgtest.Cluster(t)
	db := pgtest.NewDatabase(t, c)
	admin := pgtest.Conn(t, c, db)
	version := serverVersion(t, admin)
	if version < 120000 {
		// Before 12 there are no generated columns, and the read does not
		// look for them: the facts must say none.
		f := gatherAs(t, c, db, connectorRole(t, c, db), "", nil)
		for _, tb := range f.Tables.Tables {
			if len(tb.Generated()) > 0 {
				t.Errorf("%s: generated %v on %d", tb.Quoted, tb.Generated(), version)
			}
		}
		return
	}
	setup := `CREATE TABLE public.created (a int, "Twice A" int GENERATED ALWAYS AS (a * 2) STORED, k int GENERATED ALWAYS AS (7) STORED,
	d timestamptz DEFAULT now(), s serial);
CREATE TABLE public.added (a int);
ALTER TABLE public.added ADD COLUMN b int GENERATED ALWAYS AS (a + 1) STORED;
CREATE TABLE public.child () INHERITS (public.created);
CREATE TABLE public.parted (a int, b int GENERATED ALWAYS AS (a * 3) STORED) PARTITION BY RANGE (a);
CREATE TABLE public.parted_1 PARTITION OF public.parted FOR VALUES FROM (0) TO (10);
CREATE TABLE public.parted_2 (a int, b int GENERATED ALWAYS AS (a * 3) STORED);
ALTER TABLE public.parted ATTACH PARTITION public.parted_2 FOR VALUES FROM (10) TO (20);
CREATE TABLE public.defaults_only (a int DEFAULT 1, b text DEFAULT 'x');
CREATE TABLE public.dropped_col (a int, x int GENERATED ALWAYS AS (a) STORED, y int GENERATED ALWAYS AS (a) STORED);
ALTER TABLE public.dropped_col DROP COLUMN x;`
	if version >= 130000 {
		setup += `
CREATE TABLE public.expression_dropped (a int, b int GENERATED ALWAYS AS (a) STORED);
ALTER TABLE public.expression_dropped ALTER COLUMN b DROP EXPRESSION;`
	}
	if version >= 170000 {
		setup += `
CREATE TABLE public.expression_set (a int, b int GENERATED ALWAYS AS (a) STORED);
ALTER TABLE public.expression_set ALTER COLUMN b SET EXPRESSION AS (a * 10);`
	}
	if version >= 180000 {
		setup += `
CREATE TABLE public.virtual (a int, v int GENERATED ALWAYS AS (a * 2) VIRTUAL, s int GENERATED ALWAYS AS (a * 3) STORED);`
	}
	pgtest.Exec(t, c, db, setup)
	user := connectorRole(t, c, db)
	f := gatherAs(t, c, db, user, "", listAll(t, admin))
	virt := `'{}'::text[]`
	if version >= 180000 {
		virt = `coalesce(array_agg(a.attname::text ORDER BY a.attnum) FILTER (WHERE a.attgenerated = 'v'), '{}')`
	}
	rows, err := admin.Query(t.Context(), `SELECT quote_ident(n.nspname) || '.' || quote_ident(c.relname),
	array_agg(a.attname::text ORDER BY a.attnum), `+virt+`
FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE a.attgenerated <> '' AND a.attnum > 0 AND NOT a.attisdropped AND n.nspname = 'public'
GROUP BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][2][]string{}
	var name string
	var gen, virtual []string
	if _, err := pgx.ForEachRow(rows, []any{&name, &gen, &virtual}, func() error {
		if len(virtual) == 0 {
			virtual = nil
		}
		want[name] = [2][]string{gen, virtual}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(want) < 6 {
		t.Fatalf("the catalog has generated columns in only %d tables: %v", len(want), want)
	}
	for _, tb := range f.Tables.Tables {
		w := want[tb.Quoted]
		if !slices.Equal(tb.Generated(), w[0]) || !slices.Equal(tb.VirtualGenerated(), w[1]) {
			t.Errorf("%s: generated %q, virtual %q; pg_attribute says %q, %q", tb.Quoted, tb.Generated(), tb.VirtualGenerated(), w[0], w[1])
		}
		delete(want, tb.Quoted)
	}
	if len(want) > 0 {
		t.Errorf("tables with generated columns not gathered: %v", want)
	}
}

// TestTablesIdentityNamesWhereRulesReadThem: the names of identity and
// candidate index columns are read for the tables whose rules use them
// (no usable identity; generated columns), and only those.
func TestTablesIdentityNamesWhereRulesReadThem(t *testing.T) {
	c := pgtest.Cluster(t)
	db := pgtest.NewDatabase(t, c)
	admin := pgtest.Conn(t, c, db)
	version := serverVersion(t, admin)
	setup := `CREATE TABLE public.keyed (id int PRIMARY KEY, v text);
CREATE TABLE public.keyless (a int NOT NULL, "B col" int NOT NULL, c int, v text);
CREATE UNIQUE INDEX keyless_c ON public.keyless (c);
CREATE UNIQUE INDEX "keyless wide" ON public.keyless (a, "B col");
CREATE UNIQUE INDEX keyless_narrow ON public.keyless ("B col");
CREATE TABLE public.keyless_partial (a int NOT NULL);
CREATE UNIQUE INDEX keyless_partial_a ON public.keyless_partial (a) WHERE a > 0;
CREATE TABLE public.deferred (id int NOT NULL, CONSTRAINT deferred_pkey PRIMARY KEY (id) DEFERRABLE);
CREATE UNIQUE INDEX deferred_id ON public.deferred (id);
CREATE TABLE public.by_index (a int NOT NULL, b int NOT NULL);
CREATE UNIQUE INDEX by_index_ab ON public.by_index (b, a);
ALTER TABLE public.by_index REPLICA IDENTITY USING INDEX by_index_ab;
CREATE TABLE public.full_keyless (a int) ;
ALTER TABLE public.full_keyless REPLICA IDENTITY FULL;`
	type names struct {
		id   []string
		cand string
		cols []string
	}
	want := map[string]names{
		"public.keyed":           {},
		"public.keyless":         {cand: "keyless_narrow", cols: []string{"B col"}},
		"public.keyless_partial": {},
		"public.deferred":        {cand: "deferred_id", cols: []string{"id"}},
		"public.by_index":        {},
		"public.full_keyless":    {},
	}
	if version >= 110000 {
		setup += `
CREATE TABLE public.keyless_include (a int NOT NULL, b int);
CREATE UNIQUE INDEX keyless_include_a ON public.keyless_include (a) INCLUDE (b);`
		// A nullable INCLUDE column disqualifies the index (stricter than the server).
		want["public.keyless_include"] = names{}
	}
	if version >= 120000 {
		setup += `
CREATE TABLE public.keyed_generated (id int, at int, g int GENERATED ALWAYS AS (id * 2) STORED, PRIMARY KEY (at, id));`
		want["public.keyed_generated"] = names{id: []string{"at", "id"}, cand: "keyed_generated_pkey", cols: []string{"at", "id"}}
	}
	pgtest.Exec(t, c, db, setup)
	user := connectorRole(t, c, db)
	f := gatherAs(t, c, db, user, "", nil)
	for _, tb := range f.Tables.Tables {
		w, ok := want[tb.Quoted]
		if !ok {
			t.Errorf("unexpected table %s", tb.Quoted)
			continue
		}
		got := names{tb.IdentityColumns(), tb.IdentityCandidate(), tb.IdentityCandidateColumns()}
		wantCand := ""
		if w.cand != "" {
			wantCand = sqlident.Quote(w.cand)
		}
		if !slices.Equal(got.id, w.id) || got.cand != wantCand || !slices.Equal(got.cols, w.cols) {
			t.Errorf("%s: identity %q, candidate %q %q; want %q, %q %q", tb.Quoted, got.id, got.cand, got.cols, w.id, sqlident.Quote(w.cand), w.cols)
		}
		delete(want, tb.Quoted)
	}
	if len(want) > 0 {
		t.Errorf("not gathered: %v", want)
	}
}

// TestTablesSortedByName: tables come sorted by schema and name, byte by
// byte, whatever order the server returns them in.
func TestTablesSortedByName(t *testing.T) {
	c := pgtest.Cluster(t)
	db := pgtest.NewDatabase(t, c)
	var b strings.Builder
	b.WriteString("CREATE SCHEMA zeta; CREATE SCHEMA \"Alpha\"; CREATE SCHEMA \"select\";\n")
	for _, n := range []string{"b", "a", "\"C\"", "\"a b\"", "z9", "z10", "\"ünï\"", "\"order\"", "\"x\"\"; DROP TABLE y; --\""} {
		fmt.Fprintf(&b, "CREATE TABLE zeta.%[1]s (id int PRIMARY KEY); CREATE TABLE public.%[1]s (id int PRIMARY KEY); CREATE TABLE \"Alpha\".%[1]s (id int PRIMARY KEY);\n", n)
		fmt.Fprintf(&b, "CREATE TABLE \"select\".%[1]s (id int PRIMARY KEY);\n", n)
	}
	pgtest.Exec(t, c, db, b.String())
	pgtest.Exec(t, c, db, `GRANT USAGE ON SCHEMA zeta, "Alpha", "select" TO PUBLIC;`)
	f := gatherAs(t, c, db, connectorRole(t, c, db), "", nil)
	if len(f.Tables.Tables) != 36 {
		t.Fatalf("gathered %d tables", len(f.Tables.Tables))
	}
	// Names built from the schemas read apart are the server's own.
	admin := pgtest.Conn(t, c, db)
	for _, tb := range f.Tables.Tables {
		var quoted, owner string
		if err := admin.QueryRow(t.Context(), `SELECT quote_ident($1) || '.' || quote_ident($2), quote_ident(pg_get_userbyid(c.relowner))
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relname = $2`, tb.Schema, tb.Name).Scan(&quoted, &owner); err != nil {
			t.Fatalf("%s.%s: %v", tb.Schema, tb.Name, err)
		}
		if tb.Quoted != quoted || tb.Owner != owner {
			t.Errorf("%s.%s: quoted %s, owner %s; the server says %s, %s", tb.Schema, tb.Name, tb.Quoted, tb.Owner, quoted, owner)
		}
	}
	if !slices.IsSortedFunc(f.Tables.Tables, func(a, b facts.Table) int {
		return strings.Compare(a.Schema+"\x00"+a.Name, b.Schema+"\x00"+b.Name)
	}) {
		var got []string
		for _, tb := range f.Tables.Tables {
			got = append(got, tb.Quoted)
		}
		t.Errorf("not sorted: %q", got)
	}
}

// TestPublicationTableCountMatchesTheView: the table count of a FOR ALL
// TABLES publication comes from the tables read, that of any other from
// the publication read; both are what pg_publication_tables lists, for
// every kind of publication this major has.
func TestPublicationTableCountMatchesTheView(t *testing.T) {
	c := pgtest.Cluster(t)
	db := pgtest.NewDatabase(t, c)
	admin := pgtest.Conn(t, c, db)
	version := serverVersion(t, admin)
	setup := `CREATE SCHEMA app;
CREATE TABLE app.a (id int PRIMARY KEY);
CREATE TABLE app.b (id int);
CREATE UNLOGGED TABLE app.scratch (id int);
CREATE VIEW app.v AS SELECT 1 AS one;
CREATE MATERIALIZED VIEW app.mv AS SELECT 1 AS one;
CREATE TABLE public.other (id int);
CREATE TABLE app.parted (id int) PARTITION BY RANGE (id);
CREATE TABLE app.parted_1 PARTITION OF app.parted FOR VALUES FROM (0) TO (10);
CREATE TABLE app.parted_2 PARTITION OF app.parted FOR VALUES FROM (10) TO (20) PARTITION BY RANGE (id);
CREATE TABLE app.parted_2a PARTITION OF app.parted_2 FOR VALUES FROM (10) TO (15);
CREATE PUBLICATION all_tables FOR ALL TABLES;
CREATE PUBLICATION named FOR TABLE app.a, app.parted_1;`
	pubs := []string{"all_tables", "named", "none_such"}
	if version >= 130000 {
		// Partitioned tables join publications from 13.
		setup += `
CREATE PUBLICATION named_root FOR TABLE app.a, app.parted;
CREATE PUBLICATION all_via_root FOR ALL TABLES WITH (publish_via_partition_root = true);
CREATE PUBLICATION named_via_root FOR TABLE app.parted, app.parted_1 WITH (publish_via_partition_root = true);`
		pubs = append(pubs, "named_root", "all_via_root", "named_via_root")
	}
	if version >= 150000 {
		setup += `
CREATE PUBLICATION in_schema FOR TABLES IN SCHEMA app;`
		pubs = append(pubs, "in_schema")
	}
	pgtest.Exec(t, c, db, setup)
	user := connectorRole(t, c, db)
	for _, pub := range pubs {
		f, _ := gatherCounting(t, c.DSN(user, password, db, "require"), facts.Options{Slot: "s", Publication: pub,
			SignalSchema: "streamkap", SnapshotMode: "auto"})
		if f.Publication.Err != nil || f.Tables.Err != nil {
			t.Fatalf("%s: %v, %v", pub, f.Publication.Err, f.Tables.Err)
		}
		var want int
		if err := admin.QueryRow(t.Context(), `SELECT count(*) FROM pg_publication_tables WHERE pubname = $1`, pub).Scan(&want); err != nil {
			t.Fatal(err)
		}
		if f.Publication.TableCount != want {
			t.Errorf("%s: table count %d, pg_publication_tables lists %d", pub, f.Publication.TableCount, want)
		}
	}
}
