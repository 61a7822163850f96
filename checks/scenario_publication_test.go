package checks_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cdcpreflight/cdcpreflight/facts"
	"github.com/cdcpreflight/cdcpreflight/internal/pglocal"
	"github.com/cdcpreflight/cdcpreflight/internal/pgtest"
	"github.com/cdcpreflight/cdcpreflight/internal/sqlident"
	"github.com/cdcpreflight/cdcpreflight/rules"
)

// publicationScenarios: rule → {passing scenario, non-passing scenario}.
var publicationScenarios = map[string][2]string{
	"publication-exists":       {"TestScenarioPublicationAllTables", "TestScenarioPublicationMissing"},
	"publication-coverage":     {"TestScenarioPublicationAllTables", "TestScenarioPublicationPerTable"},
	"publication-signal-table": {"TestScenarioPublicationPerTable", "TestScenarioPublicationWithoutSignalTable"},
	"publication-operations":   {"TestScenarioPublicationAllTables", "TestScenarioPublicationInsertOnly"},
	"publication-partitions":   {"TestScenarioPublicationPartitionedViaRoot", "TestScenarioPublicationPartitionedViaPartitions"},
	"publication-filters":      {"TestScenarioPublicationAllTables", "TestScenarioPublicationFilters"},
}

// hostilePub is a publication name that must be quoted everywhere.
const hostilePub = `cdc "Pub"; x`

// pubEnv is a fresh database with the application tables of
// publication-app.sql and a non-superuser connector role that may read them.
type pubEnv struct {
	c        *pglocal.Cluster
	db, user string
	pub      string
}

func newPubEnv(t *testing.T, pub string) pubEnv {
	t.Helper()
	c := pgtest.Cluster(t)
	db := pgtest.NewDatabase(t, c)
	user := replicationUser(t, c, db)
	pgtest.Exec(t, c, db, fixture(t, "publication-app.sql", map[string]string{"user": sqlident.Quote(user)}))
	return pubEnv{c: c, db: db, user: user, pub: pub}
}

// exec runs a publication fixture as the superuser.
func (e pubEnv) exec(t *testing.T, file string, fill map[string]string) {
	t.Helper()
	all := map[string]string{"publication": sqlident.Quote(e.pub), "user": sqlident.Quote(e.user)}
	for k, v := range fill {
		all[k] = v
	}
	pgtest.Exec(t, e.c, e.db, fixture(t, file, all))
}

func (e pubEnv) judge(t *testing.T, mode string, tables ...facts.TableRef) map[string]rules.Result {
	t.Helper()
	return judgeDSN(t, e.c.DSN(e.user, testPassword, e.db, "require"), facts.Options{
		Slot: "streamkap_pgoutput_slot", Publication: e.pub, SignalSchema: "streamkap", SnapshotMode: mode, Tables: tables,
	}, time.Time{})
}

// applyFix runs a result's fix SQL as the superuser (which owns the
// tables): the remediation must be SQL the server accepts.
func (e pubEnv) applyFix(t *testing.T, r rules.Result) {
	t.Helper()
	if len(r.FixSQL) == 0 {
		t.Fatalf("%s: no fix SQL (%s)", r.Rule, r.Remediation)
	}
	for _, sql := range r.FixSQL {
		pgtest.Exec(t, e.c, e.db, sql)
	}
}

// sameObjects compares objects ignoring order: the server sorts names by
// the database's collation.
func sameObjects(t *testing.T, r rules.Result, want ...string) {
	t.Helper()
	got := slices.Clone(r.Objects)
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("%s objects = %q, want %q", r.Rule, r.Objects, want)
	}
}

// fixSQL is the rule's own statements, without the lock_timeout the runner
// puts before them in reports.
func fixSQL(r rules.Result) string {
	sql := make([]string, len(r.Steps))
	for i, s := range r.Steps {
		sql[i] = s.SQL
	}
	return strings.Join(sql, "\n")
}

// TestScenarioPublicationMissing: no publication at all. The rule's
// CREATE PUBLICATION, run as is, fixes it and the tables it covers.
func TestScenarioPublicationMissing(t *testing.T) {
	e := newPubEnv(t, hostilePub)
	got := e.judge(t, "auto")
	expectStatus(t, got, map[string]rules.Status{
		"publication-exists":       rules.StatusFail,
		"publication-coverage":     rules.StatusSkip,
		"publication-signal-table": rules.StatusSkip,
		"publication-operations":   rules.StatusSkip,
		"publication-partitions":   rules.StatusPass, // nothing partitioned is captured
	})
	r := got["publication-exists"]
	sameObjects(t, r, "publication "+sqlident.Quote(hostilePub))
	for _, want := range []string{`CREATE PUBLICATION "cdc ""Pub""; x" FOR TABLE `, `public."Order Items"`, `public."Orders"`,
		"public.orders", "public.customers", "streamkap.streamkap_signal"} {
		if !strings.Contains(fixSQL(r), want) {
			t.Errorf("fix SQL %q lacks %q", r.FixSQL, want)
		}
	}
	if strings.Contains(r.Remediation, "predates") {
		t.Errorf("no slot exists, yet the remediation says it predates the publication: %s", r.Remediation)
	}
	e.applyFix(t, r)
	expectStatus(t, e.judge(t, "auto"), map[string]rules.Status{
		"publication-exists": rules.StatusPass, "publication-coverage": rules.StatusPass,
		"publication-signal-table": rules.StatusPass, "publication-operations": rules.StatusPass,
	})
}

// TestScenarioPublicationPerTable: a per-table publication missing three
// captured tables, two with names that need quoting; it has the signal table.
func TestScenarioPublicationPerTable(t *testing.T) {
	e := newPubEnv(t, hostilePub)
	e.exec(t, "publication-per-table.sql", nil)
	got := e.judge(t, "auto")
	expectStatus(t, got, map[string]rules.Status{
		"publication-exists":       rules.StatusPass,
		"publication-coverage":     rules.StatusFail,
		"publication-signal-table": rules.StatusPass,
		"publication-operations":   rules.StatusPass,
	})
	r := got["publication-coverage"]
	sameObjects(t, r, "public.orders", `public."Order Items"`, `public."Orders"`)
	if !strings.Contains(r.Message, "3 of 4 captured tables are not in publication") {
		t.Errorf("coverage message: %s", r.Message)
	}
	if !strings.HasPrefix(fixSQL(r), `ALTER PUBLICATION "cdc ""Pub""; x" ADD TABLE `) {
		t.Errorf("coverage fix SQL: %q", r.FixSQL)
	}
	e.applyFix(t, r)
	expectStatus(t, e.judge(t, "auto"), map[string]rules.Status{"publication-coverage": rules.StatusPass})
}

// TestScenarioPublicationAllTables: FOR ALL TABLES, created by a superuser,
// covers every table and the signal table.
func TestScenarioPublicationAllTables(t *testing.T) {
	e := newPubEnv(t, "streamkap_pub")
	e.exec(t, "publication-all-tables.sql", nil)
	got := e.judge(t, "auto")
	filters := rules.StatusPass
	if e.c.VersionNum < 150000 {
		filters = rules.StatusSkip
	}
	expectStatus(t, got, map[string]rules.Status{
		"publication-exists":       rules.StatusPass,
		"publication-coverage":     rules.StatusPass,
		"publication-signal-table": rules.StatusPass,
		"publication-operations":   rules.StatusPass,
		"publication-partitions":   rules.StatusPass,
		"publication-filters":      filters,
	})
	if m := got["publication-exists"].Message; !strings.Contains(m, "FOR ALL TABLES") {
		t.Errorf("publication-exists: %s", m)
	}
	if m := got["publication-coverage"].Message; !strings.Contains(m, "all 4 captured tables") {
		t.Errorf("publication-coverage: %s", m)
	}
	if m := got["publication-filters"].Message; filters == rules.StatusSkip && !strings.Contains(m, "has no row filters") {
		t.Errorf("publication-filters: %s", m)
	}
}

// TestScenarioPublicationSchemas: on 15+, FOR TABLES IN SCHEMA covers the
// tables of the schemas it names; before 15 it does not parse.
func TestScenarioPublicationSchemas(t *testing.T) {
	e := newPubEnv(t, "streamkap_pub")
	if e.c.VersionNum < 150000 {
		err := e.c.Exec(context.Background(), e.db, fixture(t, "publication-schemas.sql", map[string]string{"publication": "streamkap_pub"}))
		if err == nil || !strings.Contains(err.Error(), "syntax error") {
			t.Fatalf("FOR TABLES IN SCHEMA on PostgreSQL %d: err = %v, want a syntax error", e.c.VersionNum/10000, err)
		}
		return
	}
	e.exec(t, "publication-schemas.sql", nil)
	got := e.judge(t, "signal-table")
	expectStatus(t, got, map[string]rules.Status{
		"publication-exists":       rules.StatusPass,
		"publication-coverage":     rules.StatusPass,
		"publication-signal-table": rules.StatusPass,
		"publication-filters":      rules.StatusPass,
	})
	// A table created later in a published schema is covered too.
	pgtest.Exec(t, e.c, e.db, `CREATE TABLE public."Late Table" (id int PRIMARY KEY)`)
	expectStatus(t, e.judge(t, "auto"), map[string]rules.Status{"publication-coverage": rules.StatusPass})
}

// TestScenarioPublicationWithoutSignalTable: every captured table but not
// the signal table.
func TestScenarioPublicationWithoutSignalTable(t *testing.T) {
	e := newPubEnv(t, "streamkap_pub")
	e.exec(t, "publication-no-signal.sql", nil)
	got := e.judge(t, "auto")
	expectStatus(t, got, map[string]rules.Status{
		"publication-coverage":     rules.StatusPass,
		"publication-signal-table": rules.StatusFail,
	})
	r := got["publication-signal-table"]
	sameObjects(t, r, "streamkap.streamkap_signal")
	if want := "ALTER PUBLICATION streamkap_pub ADD TABLE streamkap.streamkap_signal;"; fixSQL(r) != want {
		t.Errorf("fix SQL = %q, want %q", fixSQL(r), want)
	}
	// Read-only snapshots do not use the signal table.
	ro := e.judge(t, "read-only")["publication-signal-table"]
	if ro.Status != rules.StatusSkip || !strings.Contains(ro.Message, "read-only") {
		t.Errorf("read-only: %s %s", ro.Status, ro.Message)
	}
	e.applyFix(t, r)
	expectStatus(t, e.judge(t, "auto"), map[string]rules.Status{"publication-signal-table": rules.StatusPass})
}

// TestScenarioPublicationInsertOnly: publish = 'insert' drops updates and
// deletes of every captured table: an error, in the default scope too.
func TestScenarioPublicationInsertOnly(t *testing.T) {
	e := newPubEnv(t, hostilePub)
	e.exec(t, "publication-insert-only.sql", nil)
	got := e.judge(t, "auto")
	expectStatus(t, got, map[string]rules.Status{"publication-operations": rules.StatusFail})
	r := got["publication-operations"]
	sameObjects(t, r, "publication "+sqlident.Quote(hostilePub))
	if !strings.Contains(r.Message, "does not publish update, delete") {
		t.Errorf("message: %s", r.Message)
	}
	hasTruncate := e.c.VersionNum >= 110000
	if hasTruncate != strings.Contains(r.Message, "truncate is not published") {
		t.Errorf("truncate on PostgreSQL %d: %s", e.c.VersionNum/10000, r.Message)
	}
	if hasTruncate != strings.Contains(fixSQL(r), "truncate") {
		t.Errorf("fix SQL on PostgreSQL %d: %q", e.c.VersionNum/10000, r.FixSQL)
	}
	e.applyFix(t, r)
	after := e.judge(t, "auto")["publication-operations"]
	if after.Status != rules.StatusPass || strings.Contains(after.Message, "truncate is not published") {
		t.Errorf("after the fix: %s %s", after.Status, after.Message)
	}
}

// TestScenarioPublicationPartitionedViaPartitions: a captured partitioned
// table whose changes arrive under its partitions' names: on 13+ because
// publish_via_partition_root is off, before 13 because only partitions
// can be published.
func TestScenarioPublicationPartitionedViaPartitions(t *testing.T) {
	e := newPubEnv(t, "streamkap_pub")
	e.exec(t, "publication-partitioned.sql", nil)
	if e.c.VersionNum < 130000 {
		// The server refuses the partitioned table itself.
		err := e.c.Exec(context.Background(), e.db, "CREATE PUBLICATION refused FOR TABLE public.measurements")
		if err == nil || !strings.Contains(err.Error(), "partitioned table") {
			t.Fatalf("adding a partitioned table on PostgreSQL %d: err = %v", e.c.VersionNum/10000, err)
		}
		e.exec(t, "publication-partitioned-leaves.sql", nil)
	} else {
		e.exec(t, "publication-partitioned-root.sql", map[string]string{"via_root": "false"})
	}
	// Listed, the partitioned table's changes never arrive under its name: an error.
	listed := e.judge(t, "auto", facts.TableRef{Schema: "public", Table: "customers"}, facts.TableRef{Schema: "public", Table: "measurements"})
	expectStatus(t, listed, map[string]rules.Status{"publication-partitions": rules.StatusFail})
	if m := listed["publication-partitions"].Message; !strings.Contains(m, "which a capture list naming the partitioned table drops") {
		t.Errorf("listed: %s", m)
	}
	// In the default scope the connector captures the partitions themselves.
	got := e.judge(t, "auto")
	// The view lists the partitions, not the table: it counts as covered.
	expectStatus(t, got, map[string]rules.Status{
		"publication-coverage":   rules.StatusPass,
		"publication-partitions": rules.StatusWarn,
	})
	r := got["publication-partitions"]
	sameObjects(t, r, "public.measurements")
	if !strings.Contains(r.Message, "(in the default all-tables scope, not listed explicitly): with no capture list the connector captures the partitions themselves") {
		t.Errorf("default scope: %s", r.Message)
	}
	if e.c.VersionNum < 130000 {
		if !strings.Contains(r.Message, "cannot publish partitioned tables") || len(r.FixSQL) != 0 {
			t.Errorf("partitions before 13: %s %q", r.Message, r.FixSQL)
		}
		// A partition missing from the publication makes the table uncovered;
		// the fix adds the partition, not the table.
		pgtest.Exec(t, e.c, e.db, "ALTER PUBLICATION streamkap_pub DROP TABLE public.measurements_2026")
		cov := e.judge(t, "auto")["publication-coverage"]
		if cov.Status != rules.StatusFail || fixSQL(cov) != "ALTER PUBLICATION streamkap_pub ADD TABLE public.measurements_2026;" {
			t.Fatalf("coverage with a partition missing: %s %s %q", cov.Status, cov.Message, cov.FixSQL)
		}
		sameObjects(t, cov, "public.measurements")
		e.applyFix(t, cov)
		expectStatus(t, e.judge(t, "auto"), map[string]rules.Status{"publication-coverage": rules.StatusPass})
		return
	}
	if !strings.Contains(r.Message, "publish_via_partition_root is off") {
		t.Errorf("message: %s", r.Message)
	}
	e.applyFix(t, r)
	expectStatus(t, e.judge(t, "auto"), map[string]rules.Status{
		"publication-coverage": rules.StatusPass, "publication-partitions": rules.StatusPass,
	})
}

// TestScenarioPublicationPartitionedViaRoot: publish_via_partition_root on
// (13+). Before 13 there is no such option and the rule warns.
func TestScenarioPublicationPartitionedViaRoot(t *testing.T) {
	e := newPubEnv(t, "streamkap_pub")
	e.exec(t, "publication-partitioned.sql", nil)
	if e.c.VersionNum < 130000 {
		e.exec(t, "publication-partitioned-leaves.sql", nil)
		r := e.judge(t, "auto")["publication-partitions"]
		if r.Status != rules.StatusWarn || !strings.Contains(r.Message, "cannot publish partitioned tables") {
			t.Errorf("publication-partitions on PostgreSQL %d = %s: %s", e.c.VersionNum/10000, r.Status, r.Message)
		}
		return
	}
	e.exec(t, "publication-partitioned-root.sql", map[string]string{"via_root": "true"})
	got := e.judge(t, "auto")
	expectStatus(t, got, map[string]rules.Status{
		"publication-coverage":   rules.StatusPass,
		"publication-partitions": rules.StatusPass,
	})
	if m := got["publication-partitions"].Message; !strings.Contains(m, "publish_via_partition_root is on") {
		t.Errorf("message: %s", m)
	}
}

// TestScenarioPublicationFilters: on 15+ a column list and a row filter on
// captured tables; the SET TABLE remedy, run as is, removes them and keeps
// every table. Before 15 neither exists and the rule skips.
func TestScenarioPublicationFilters(t *testing.T) {
	e := newPubEnv(t, hostilePub)
	if e.c.VersionNum < 150000 {
		e.exec(t, "publication-insert-only.sql", nil)
		r := e.judge(t, "auto")["publication-filters"]
		if r.Status != rules.StatusSkip || !strings.Contains(r.Message, "has no row filters or column lists") {
			t.Errorf("publication-filters on PostgreSQL %d = %s: %s", e.c.VersionNum/10000, r.Status, r.Message)
		}
		return
	}
	e.exec(t, "publication-filters.sql", nil)
	const debugUpdate = `UPDATE public.audit_debug SET kind = 'warn'`
	if state := sqlState(t, e.c, e.db, debugUpdate); state != "42P10" {
		t.Fatalf("UPDATE under a row filter outside the key: SQLSTATE %q, want 42P10", state)
	}
	// The application's four tables, not the audit log.
	scope := []facts.TableRef{{Schema: "public", Table: "customers"}, {Schema: "public", Table: "orders"},
		{Schema: "public", Table: "Order Items"}, {Schema: "public", Table: "Orders"}}
	got := e.judge(t, "auto", scope...)
	expectStatus(t, got, map[string]rules.Status{
		"publication-coverage": rules.StatusPass,
		"publication-filters":  rules.StatusFail,
	})
	// In the default scope, which also takes in the audit log, a warning that says so.
	if d := e.judge(t, "auto")["publication-filters"]; d.Status != rules.StatusWarn ||
		!strings.Contains(d.Message, "(in the default all-tables scope, not listed explicitly)") {
		t.Errorf("publication-filters in the default scope = %s: %s", d.Status, d.Message)
	}
	r := got["publication-filters"]
	sameObjects(t, r, "public.customers", "public.orders")
	for _, want := range []string{"public.customers (column list)", "public.orders (row filter)"} {
		if !strings.Contains(r.Message, want) {
			t.Errorf("message lacks %q: %s", want, r.Message)
		}
	}
	if !strings.HasPrefix(fixSQL(r), `ALTER PUBLICATION "cdc ""Pub""; x" SET TABLE `) || strings.Contains(fixSQL(r), "DROP") {
		t.Errorf("fix SQL: %q", r.FixSQL)
	}
	e.applyFix(t, r)
	expectStatus(t, e.judge(t, "auto", scope...), map[string]rules.Status{
		"publication-filters": rules.StatusPass, "publication-coverage": rules.StatusPass,
		"publication-signal-table": rules.StatusPass, "replica-identity": rules.StatusPass,
	})
	// The filter that broke the debug log's UPDATE is gone with the others.
	if state := sqlState(t, e.c, e.db, debugUpdate); state != "" {
		t.Errorf("UPDATE after the fix: SQLSTATE %s", state)
	}
	// The audit log kept its own filter and column list.
	var filter string
	var cols []string
	err := pgtest.Conn(t, e.c, e.db).QueryRow(t.Context(), `SELECT pg_get_expr(pr.prqual, pr.prrelid),
		array(SELECT a.attname::text FROM pg_attribute a WHERE a.attrelid = pr.prrelid AND a.attnum = ANY (pr.prattrs::int2[]) ORDER BY a.attnum)
		FROM pg_publication_rel pr JOIN pg_publication p ON p.oid = pr.prpubid
		WHERE p.pubname = $1 AND pr.prrelid = 'public.audit_log'::regclass`, e.pub).Scan(&filter, &cols)
	if err != nil {
		t.Fatal(err)
	}
	if filter != "(id > 0)" || !slices.Equal(cols, []string{"id", "kind"}) {
		t.Errorf("audit_log after the fix: filter %q, columns %q", filter, cols)
	}
}

// TestScenarioPublicationTableLocked: a published, captured table held
// ACCESS EXCLUSIVE by another session (a long ALTER TABLE) does not stop
// the publication from being judged. On 16+ pg_publication_tables opens
// every published table, so the gatherer reads the catalogs instead.
func TestScenarioPublicationTableLocked(t *testing.T) {
	e := newPubEnv(t, "streamkap_pub")
	e.exec(t, "publication-per-table.sql", nil)
	locker := pgtest.Conn(t, e.c, e.db)
	ctx := context.Background()
	if _, err := locker.Exec(ctx, "BEGIN"); err != nil {
		t.Fatal(err)
	}
	if _, err := locker.Exec(ctx, "LOCK TABLE public.customers IN ACCESS EXCLUSIVE MODE"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = locker.Exec(ctx, "ROLLBACK") })
	got := e.judge(t, "auto")
	expectStatus(t, got, map[string]rules.Status{
		"publication-exists":       rules.StatusPass,
		"publication-coverage":     rules.StatusFail,
		"publication-signal-table": rules.StatusPass,
	})
	sameObjects(t, got["publication-coverage"], "public.orders", `public."Order Items"`, `public."Orders"`)
}

// TestScenarioPublicationPartitionCapturedViaRoot: on 13+, a partition
// captured on its own while the publication publishes via the root: its
// changes are published, under the partitioned table's name, so the
// connector capturing the partition receives none. Adding the partition
// changes nothing (pg_publication_tables still lists only the root); the
// remedy publishes via the partitions, after which they are covered.
func TestScenarioPublicationPartitionCapturedViaRoot(t *testing.T) {
	e := newPubEnv(t, "streamkap_pub")
	if e.c.VersionNum < 130000 {
		t.Skipf("PostgreSQL %d has no publish_via_partition_root", e.c.VersionNum/10000)
	}
	e.exec(t, "publication-partitioned.sql", nil)
	e.exec(t, "publication-partitioned-root.sql", map[string]string{"via_root": "true"})
	listed := func(t *testing.T) []string {
		var names []string
		// DISTINCT: on 13 and 14 the view lists a partition twice when it
		// is published both by name and through its partitioned table.
		err := pgtest.Conn(t, e.c, e.db).QueryRow(t.Context(),
			`SELECT array_agg(DISTINCT tablename::text ORDER BY tablename::text) FROM pg_publication_tables WHERE pubname = $1 AND tablename LIKE 'measurements%'`,
			e.pub).Scan(&names)
		if err != nil {
			t.Fatal(err)
		}
		return names
	}
	pgtest.Exec(t, e.c, e.db, "ALTER PUBLICATION streamkap_pub ADD TABLE public.measurements_2026")
	if got := listed(t); !slices.Equal(got, []string{"measurements"}) {
		t.Fatalf("with the root published via the root, pg_publication_tables lists %q, want only the root", got)
	}
	scope := []facts.TableRef{{Schema: "public", Table: "customers"}, {Schema: "public", Table: "measurements_2026"}}
	got := e.judge(t, "auto", scope...)
	r := got["publication-coverage"]
	if r.Status != rules.StatusFail || !strings.Contains(r.Message, "1 partition of 2 captured tables is published only under its partitioned table's name "+
		"(publication streamkap_pub has publish_via_partition_root = true): a connector capturing a partition by name receives none of its changes: "+
		"public.measurements_2026 (as public.measurements)") {
		t.Fatalf("publication-coverage = %s: %s", r.Status, r.Message)
	}
	sameObjects(t, r, "public.measurements_2026")
	if !strings.Contains(r.Remediation, "Capture the partitioned table public.measurements instead of the partition") ||
		fixSQL(r) != "ALTER PUBLICATION streamkap_pub SET (publish_via_partition_root = false);" {
		t.Errorf("remedy: %s %q", r.Remediation, r.FixSQL)
	}
	e.applyFix(t, r)
	if got := listed(t); !slices.Equal(got, []string{"measurements_2025", "measurements_2026"}) {
		t.Fatalf("after publishing via the partitions, pg_publication_tables lists %q", got)
	}
	expectStatus(t, e.judge(t, "auto", scope...), map[string]rules.Status{
		"publication-coverage": rules.StatusPass, "publication-partitions": rules.StatusPass,
	})
}
