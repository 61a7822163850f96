package checks_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/cdcpreflight/cdcpreflight/facts"
	"github.com/cdcpreflight/cdcpreflight/internal/pglocal"
	"github.com/cdcpreflight/cdcpreflight/internal/pgtest"
	"github.com/cdcpreflight/cdcpreflight/internal/sqlident"
	"github.com/cdcpreflight/cdcpreflight/rules"
)

// tablesScenarios: rule → {passing scenario, non-passing scenario}.
var tablesScenarios = map[string][2]string{
	"tables-exist":          {"TestScenarioTablesHealthy", "TestScenarioTablesCaptureList"},
	"replica-identity":      {"TestScenarioTablesHealthy", "TestScenarioTablesKeylessPublished"},
	"replica-identity-full": {"TestScenarioTablesHealthy", "TestScenarioTablesIdentityIndexDropped"},
	"unlogged-tables":       {"TestScenarioTablesHealthy", "TestScenarioTablesUnlogged"},
	"generated-columns":     {"TestScenarioTablesHealthy", "TestScenarioTablesGenerated"},
}

// tbEnv is a fresh database set up by a tables fixture, judged as a
// non-superuser connector role.
type tbEnv struct {
	c        *pglocal.Cluster
	db, user string
	pub      string
}

func newTbEnv(t *testing.T, file, pub string, fill map[string]string) tbEnv {
	t.Helper()
	c := pgtest.Cluster(t)
	e := tbEnv{c: c, db: pgtest.NewDatabase(t, c), pub: pub}
	e.user = replicationUser(t, c, e.db)
	all := map[string]string{"publication": sqlident.Quote(pub), "user": sqlident.Quote(e.user)}
	for k, v := range fill {
		all[k] = v
	}
	pgtest.Exec(t, c, e.db, fixture(t, file, all))
	return e
}

func (e tbEnv) judge(t *testing.T, tables ...facts.TableRef) map[string]rules.Result {
	t.Helper()
	return e.judgeOpts(t, facts.Options{Tables: tables})
}

// judgeOpts judges as the connector with o, defaulting the names the
// environment was set up with.
func (e tbEnv) judgeOpts(t *testing.T, o facts.Options) map[string]rules.Result {
	t.Helper()
	o.Slot, o.Publication = "streamkap_pgoutput_slot", e.pub
	if o.SignalSchema == "" {
		o.SignalSchema = "streamkap"
	}
	if o.SnapshotMode == "" {
		o.SnapshotMode = "auto"
	}
	return judgeDSN(t, e.c.DSN(e.user, testPassword, e.db, "require"), o, time.Time{})
}

// connectorState runs sql as the connector role and returns the SQLSTATE
// it failed with, or "" when it succeeded.
func (e tbEnv) connectorState(t *testing.T, sql string) string {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), e.c.DSN(e.user, testPassword, e.db, "require"))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = conn.Close(context.Background()) }()
	if _, err := conn.Exec(t.Context(), sql); err != nil {
		var pgErr *pgconn.PgError
		if !errors.As(err, &pgErr) {
			t.Fatalf("%s: %v", sql, err)
		}
		t.Logf("PostgreSQL %d, as the connector: %s: %s (%s)", e.c.VersionNum, sql, pgErr.Message, pgErr.Code)
		return pgErr.Code
	}
	return ""
}

// applyFix runs a finding's fix SQL as the superuser (the tables' owner):
// remediation must be SQL the server accepts and that cures the finding.
func (e tbEnv) applyFix(t *testing.T, r rules.Result) {
	t.Helper()
	if len(r.FixSQL) == 0 {
		t.Fatalf("%s: no fix SQL (%s)", r.Rule, r.Remediation)
	}
	pgtest.Exec(t, e.c, e.db, strings.Join(r.FixSQL, "\n"))
}

// sqlState runs sql as the superuser and returns the SQLSTATE it failed
// with, or "" when it succeeded.
func sqlState(t *testing.T, c *pglocal.Cluster, db, sql string) string {
	t.Helper()
	err := c.Exec(t.Context(), db, sql)
	if err == nil {
		return ""
	}
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) {
		t.Fatalf("%s: %v", sql, err)
	}
	t.Logf("PostgreSQL %d: %s: %s %s (%s)", c.VersionNum, sql, pgErr.Severity, pgErr.Message, pgErr.Code)
	return pgErr.Code
}

func wantResult(t *testing.T, r rules.Result, status rules.Status, objects []string, contains ...string) {
	t.Helper()
	if r.Status != status {
		t.Errorf("%s = %s, want %s: %s", r.Rule, r.Status, status, r.Message)
	}
	if objects != nil && !slices.Equal(r.Objects, objects) {
		t.Errorf("%s objects = %q, want %q", r.Rule, r.Objects, objects)
	}
	text := r.Message + "\n" + r.Remediation + "\n" + strings.Join(r.FixSQL, "\n")
	for _, s := range contains {
		if !strings.Contains(text, s) {
			t.Errorf("%s: %q not in:\n%s", r.Rule, s, text)
		}
	}
}

// TestScenarioTablesHealthy: keyed, FULL, logged tables listed exactly
// (one with a mixed-case name) pass every table rule.
func TestScenarioTablesHealthy(t *testing.T) {
	e := newTbEnv(t, "tables-healthy.sql", "streamkap_pub", nil)
	got := e.judge(t, facts.TableRef{Schema: "public", Table: "customers"}, facts.TableRef{Schema: "public", Table: "MixedCase"})
	wantResult(t, got["tables-exist"], rules.StatusPass, nil, "the capture list resolves to 2 tables")
	wantResult(t, got["replica-identity"], rules.StatusPass, nil, "all 2 tables")
	wantResult(t, got["replica-identity-full"], rules.StatusPass, nil, "all 2 captured tables are REPLICA IDENTITY FULL")
	wantResult(t, got["unlogged-tables"], rules.StatusPass, nil)
	if e.c.VersionNum >= 120000 {
		wantResult(t, got["generated-columns"], rules.StatusPass, nil, "no captured table has generated columns")
	} else {
		wantResult(t, got["generated-columns"], rules.StatusSkip, nil, "has no generated columns")
	}
	// The default scope sees the same two tables.
	wantResult(t, e.judge(t)["tables-exist"], rules.StatusPass, nil, "default scope: 2 tables")
}

// TestScenarioTablesKeylessPublished: a keyless public."Order Items" in a
// publication that publishes updates makes the application's UPDATE fail
// on this very server; the suggested REPLICA IDENTITY FULL cures it.
func TestScenarioTablesKeylessPublished(t *testing.T) {
	pub := `items "pub"`
	e := newTbEnv(t, "tables-keyless.sql", pub, nil)
	const update = `UPDATE public."Order Items" SET qty = qty + 1 WHERE order_id = 1`
	if state := sqlState(t, e.c, e.db, update); state != "55000" {
		t.Fatalf("UPDATE on a published keyless table: SQLSTATE %q, want 55000", state)
	}
	if state := sqlState(t, e.c, e.db, `DELETE FROM public."Order Items" WHERE order_id = 2`); state != "55000" {
		t.Fatalf("DELETE on a published keyless table: SQLSTATE %q, want 55000", state)
	}

	got := e.judge(t)
	r := got["replica-identity"]
	wantResult(t, r, rules.StatusFail, []string{`public."Order Items"`},
		`UPDATE and DELETE on 1 table in publication "items ""pub""" fail on the source now (SQLSTATE 55000): public."Order Items" (no primary key)`,
		`ALTER TABLE public."Order Items" REPLICA IDENTITY FULL;`, "SET lock_timeout")
	// Objects come in the server's order (the test clusters use the C collation).
	wantResult(t, got["replica-identity-full"], rules.StatusWarn, []string{`public."Order Items"`, "public.customers"})

	e.applyFix(t, r)
	if state := sqlState(t, e.c, e.db, update); state != "" {
		t.Fatalf("UPDATE after REPLICA IDENTITY FULL: SQLSTATE %s", state)
	}
	got = e.judge(t)
	wantResult(t, got["replica-identity"], rules.StatusPass, nil)
	wantResult(t, got["replica-identity-full"], rules.StatusWarn, []string{"public.customers"})
}

// TestScenarioTablesIdentityIndexDropped: relreplident stays 'i' after
// its index is dropped; the remedy names the remaining unique index.
func TestScenarioTablesIdentityIndexDropped(t *testing.T) {
	e := newTbEnv(t, "tables-identity-index-dropped.sql", "streamkap_pub", nil)
	const update = `UPDATE public.shipments SET note = 'second'`
	if state := sqlState(t, e.c, e.db, update); state != "55000" {
		t.Fatalf("UPDATE with a dropped identity index: SQLSTATE %q, want 55000", state)
	}
	got := e.judge(t, facts.TableRef{Schema: "public", Table: "shipments"})
	r := got["replica-identity"]
	wantResult(t, r, rules.StatusFail, []string{"public.shipments"}, "index was dropped",
		"ALTER TABLE public.shipments REPLICA IDENTITY USING INDEX shipments_ref_key;")
	wantResult(t, got["replica-identity-full"], rules.StatusWarn, []string{"public.shipments"},
		"ALTER TABLE public.shipments REPLICA IDENTITY FULL;")

	e.applyFix(t, r)
	if state := sqlState(t, e.c, e.db, update); state != "" {
		t.Fatalf("UPDATE after REPLICA IDENTITY USING INDEX: SQLSTATE %s", state)
	}
	got = e.judge(t, facts.TableRef{Schema: "public", Table: "shipments"})
	wantResult(t, got["replica-identity"], rules.StatusPass, nil)
	e.applyFix(t, got["replica-identity-full"])
	wantResult(t, e.judge(t, facts.TableRef{Schema: "public", Table: "shipments"})["replica-identity-full"], rules.StatusPass, nil)
}

// TestScenarioTablesPartitionedKeyless: the partition is reported, not the
// partitioned table, and an UPDATE through the partitioned table fails.
func TestScenarioTablesPartitionedKeyless(t *testing.T) {
	published := "public.events"
	if pgtest.Cluster(t).VersionNum < 130000 {
		published = "public.events_2026"
	}
	e := newTbEnv(t, "tables-partitioned.sql", "streamkap_pub", map[string]string{"published": published})
	if state := sqlState(t, e.c, e.db, `UPDATE public.events SET payload = 'y'`); state != "55000" {
		t.Fatalf("UPDATE on a keyless published partition: SQLSTATE %q, want 55000", state)
	}
	got := e.judge(t)
	wantResult(t, got["replica-identity"], rules.StatusFail, []string{"public.events_2026"}, "Partitions need their own")
	wantResult(t, got["replica-identity-full"], rules.StatusWarn, []string{"public.events_2026"})
}

// TestScenarioTablesUnlogged: an UNLOGGED table cannot be published and
// produces no change events.
func TestScenarioTablesUnlogged(t *testing.T) {
	e := newTbEnv(t, "tables-unlogged.sql", "streamkap_pub", nil)
	if state := sqlState(t, e.c, e.db, "ALTER PUBLICATION streamkap_pub ADD TABLE public.session_cache"); state != "22023" {
		t.Errorf("adding an UNLOGGED table to a publication: SQLSTATE %q, want 22023", state)
	}
	// In the default scope a warning that says so: nobody asked for them.
	got := e.judge(t)
	r := got["unlogged-tables"]
	wantResult(t, r, rules.StatusWarn, []string{"public.scratch", "public.session_cache"},
		"2 captured tables are UNLOGGED", "(in the default all-tables scope, not listed explicitly)", "ALTER TABLE public.session_cache SET LOGGED;")
	// Unpublishable, so its missing key breaks nothing.
	wantResult(t, got["replica-identity"], rules.StatusPass, nil)
	// Listed, its changes silently go missing: an error.
	listed := e.judge(t, facts.TableRef{Schema: "public", Table: "customers"}, facts.TableRef{Schema: "public", Table: "session_cache"})
	wantResult(t, listed["unlogged-tables"], rules.StatusFail, []string{"public.session_cache"}, "1 captured table is UNLOGGED")
	if strings.Contains(listed["unlogged-tables"].Message, "default all-tables scope") {
		t.Errorf("a listed table is not in the default scope: %s", listed["unlogged-tables"].Message)
	}
	e.applyFix(t, r)
	wantResult(t, e.judge(t)["unlogged-tables"], rules.StatusPass, nil)
}

// TestScenarioTablesGenerated: generated columns are not replicated before
// 18; on 18 publish_generated_columns = stored makes them so.
func TestScenarioTablesGenerated(t *testing.T) {
	if v := pgtest.Cluster(t).VersionNum; v < 120000 {
		e := newTbEnv(t, "tables-healthy.sql", "streamkap_pub", nil)
		wantResult(t, e.judge(t)["generated-columns"], rules.StatusSkip, nil, "has no generated columns")
		return
	}
	e := newTbEnv(t, "tables-generated.sql", "streamkap_pub", nil)
	invoices := facts.TableRef{Schema: "public", Table: "invoices"}
	// Change events lack the column the snapshot has: an error when the
	// table is listed, a warning that says so in the default scope.
	r := e.judge(t)["generated-columns"]
	if e.c.VersionNum < 180000 {
		wantResult(t, r, rules.StatusWarn, []string{"public.invoices"}, `public.invoices ("Gross Cents")`, "does not replicate generated columns",
			"(in the default all-tables scope, not listed explicitly)")
		wantResult(t, e.judge(t, invoices)["generated-columns"], rules.StatusFail, []string{"public.invoices"}, "does not replicate generated columns")
		return
	}
	wantResult(t, r, rules.StatusWarn, []string{"public.invoices"}, "ALTER PUBLICATION streamkap_pub SET (publish_generated_columns = stored);")
	r = e.judge(t, invoices)["generated-columns"]
	wantResult(t, r, rules.StatusFail, []string{"public.invoices"}, "ALTER PUBLICATION streamkap_pub SET (publish_generated_columns = stored);")
	e.applyFix(t, r)
	wantResult(t, e.judge(t, invoices)["generated-columns"], rules.StatusPass, nil, "publishes the stored generated columns")
	// PostgreSQL 18 never publishes a virtual generated column.
	pgtest.Exec(t, e.c, e.db, `ALTER TABLE public.invoices ADD COLUMN "Net Label" text GENERATED ALWAYS AS ('net ' || net_cents) VIRTUAL`)
	wantResult(t, e.judge(t, invoices)["generated-columns"], rules.StatusFail, []string{"public.invoices"},
		`PostgreSQL 18 never publishes virtual generated columns: change events of 1 captured table lack them: public.invoices ("Net Label")`)
}

// TestScenarioTablesCaptureList: a capture list naming a view, a
// materialized view, a missing table, a case-folded name and a missing
// schema; the mixed-case table listed exactly is fine.
func TestScenarioTablesCaptureList(t *testing.T) {
	e := newTbEnv(t, "tables-capture-list.sql", "streamkap_pub", nil)
	// Views cannot be published: the server says so.
	if state := sqlState(t, e.c, e.db, "ALTER PUBLICATION streamkap_pub ADD TABLE public.v_orders"); state != "22023" {
		t.Errorf("adding a view to a publication: SQLSTATE %q, want 22023", state)
	}
	got := e.judge(t,
		facts.TableRef{Schema: "public", Table: "orders"},
		facts.TableRef{Schema: "public", Table: "v_orders"},
		facts.TableRef{Schema: "public", Table: "order_totals"},
		facts.TableRef{Schema: "public", Table: "no such table"},
		facts.TableRef{Schema: "public", Table: "MixedCase"},
		facts.TableRef{Schema: "public", Table: "mixedcase"},
		facts.TableRef{Schema: "Sales Data"},
	)
	wantResult(t, got["tables-exist"], rules.StatusFail,
		[]string{`public."no such table"`, "public.mixedcase", `schema "Sales Data"`, "public.order_totals", "public.v_orders"},
		`public.mixedcase does not exist; did you mean public."MixedCase"?`,
		"public.v_orders is a view", "public.order_totals is a materialized view", `schema "Sales Data" does not exist`)
	// Views are not tables: the other table rules judge only the tables.
	wantResult(t, got["replica-identity"], rules.StatusPass, nil, "all 2 tables")
}

// TestScenarioTablesDeferrablePrimaryKey: a DEFERRABLE primary key is no
// replica identity: UPDATE and DELETE fail with 55000 on every major, the
// key cannot be named with USING INDEX (0A000) nor altered NOT DEFERRABLE
// (42809). The remedy uses the immediate unique index where there is one,
// FULL otherwise, and the writes work.
func TestScenarioTablesDeferrablePrimaryKey(t *testing.T) {
	e := newTbEnv(t, "tables-deferrable-key.sql", "streamkap_pub", nil)
	for _, sql := range []string{`UPDATE public.ledger SET amount_cents = amount_cents + 1`, `DELETE FROM public.transfers WHERE id = 0`} {
		if state := sqlState(t, e.c, e.db, sql); state != "55000" {
			t.Fatalf("%s with a DEFERRABLE primary key: SQLSTATE %q, want 55000", sql, state)
		}
	}
	if state := sqlState(t, e.c, e.db, "ALTER TABLE public.ledger REPLICA IDENTITY USING INDEX ledger_pkey"); state != "0A000" {
		t.Errorf("USING INDEX on a deferrable key: SQLSTATE %q, want 0A000", state)
	}
	if state := sqlState(t, e.c, e.db, "ALTER TABLE public.ledger ALTER CONSTRAINT ledger_pkey NOT DEFERRABLE"); state != "42809" {
		t.Errorf("ALTER CONSTRAINT … NOT DEFERRABLE on a primary key: SQLSTATE %q, want 42809", state)
	}
	scope := []facts.TableRef{{Schema: "public", Table: "ledger"}, {Schema: "public", Table: "transfers"}}
	r := e.judge(t, scope...)["replica-identity"]
	wantResult(t, r, rules.StatusFail, []string{"public.ledger", "public.transfers"},
		"UPDATE and DELETE on 2 tables in publication streamkap_pub fail on the source now (SQLSTATE 55000): "+
			"public.ledger (its primary key is DEFERRABLE, and PostgreSQL uses only an immediate index as replica identity)",
		"re-create the key NOT DEFERRABLE",
		"ALTER TABLE public.ledger REPLICA IDENTITY FULL;", "ALTER TABLE public.transfers REPLICA IDENTITY USING INDEX transfers_ref_key;")
	if strings.Contains(strings.Join(r.FixSQL, "\n"), "_pkey") {
		t.Errorf("the remedy names the deferrable key: %q", r.FixSQL)
	}
	e.applyFix(t, r)
	for _, sql := range []string{`UPDATE public.ledger SET amount_cents = amount_cents + 1`, `UPDATE public.transfers SET amount_cents = 1`} {
		if state := sqlState(t, e.c, e.db, sql); state != "" {
			t.Fatalf("%s after the fix: SQLSTATE %s", sql, state)
		}
	}
	// The two captured tables and the published signal table.
	wantResult(t, e.judge(t, scope...)["replica-identity"], rules.StatusPass, nil, "all 3 tables")
}

// TestScenarioTablesRowFilterOutsideIdentity: on 15+ a row filter reading a
// column outside the primary key makes UPDATE and DELETE fail with 42P10,
// in the connector's publication and in another one that publishes only
// deletes (whose filter breaks DELETE, not UPDATE). The remedy re-lists the
// connector's publication without its filter and gives the other table
// REPLICA IDENTITY FULL, which covers any row filter; the writes then work.
func TestScenarioTablesRowFilterOutsideIdentity(t *testing.T) {
	if v := pgtest.Cluster(t).VersionNum; v < 150000 {
		t.Skipf("PostgreSQL %d has no row filters", v/10000)
	}
	e := newTbEnv(t, "tables-row-filter.sql", "streamkap_pub", nil)
	for sql, want := range map[string]string{
		`UPDATE public.orders SET total_cents = total_cents + 1`: "42P10",
		`DELETE FROM public.orders WHERE id = 0`:                 "42P10",
		`UPDATE public.invoices SET note = 'x'`:                  "",
		`DELETE FROM public.invoices WHERE id = 0`:               "42P10",
	} {
		if state := sqlState(t, e.c, e.db, sql); state != want {
			t.Fatalf("%s: SQLSTATE %q, want %q", sql, state, want)
		}
	}
	scope := []facts.TableRef{{Schema: "public", Table: "orders"}, {Schema: "public", Table: "invoices"}}
	got := e.judge(t, scope...)
	r := got["replica-identity"]
	wantResult(t, r, rules.StatusFail, []string{"public.invoices", "public.orders"},
		"UPDATE and DELETE on 1 table fail on the source now (SQLSTATE 42P10): public.orders (the row filter of publication streamkap_pub reads status, "+
			`not in the primary key (id): "Column used in the publication WHERE expression is not part of the replica identity")`,
		`DELETE on 1 table fail on the source now (SQLSTATE 42P10): public.invoices (the row filter of publication "Billing Export" reads total_cents`,
		"ALTER TABLE public.invoices REPLICA IDENTITY FULL;",
		"ALTER PUBLICATION streamkap_pub SET TABLE public.invoices, public.orders, streamkap.streamkap_signal;")
	// The same statement as publication-filters', an error for a listed table.
	wantResult(t, got["publication-filters"], rules.StatusFail, []string{"public.orders"}, "ALTER PUBLICATION streamkap_pub SET TABLE public.invoices, public.orders, streamkap.streamkap_signal;")
	e.applyFix(t, r)
	for _, sql := range []string{`UPDATE public.orders SET total_cents = total_cents + 1`, `DELETE FROM public.invoices WHERE id = 0`} {
		if state := sqlState(t, e.c, e.db, sql); state != "" {
			t.Fatalf("%s after the fix: SQLSTATE %s", sql, state)
		}
	}
	got = e.judge(t, scope...)
	// The two captured tables and the published signal table.
	wantResult(t, got["replica-identity"], rules.StatusPass, nil, "all 3 tables")
	wantResult(t, got["publication-filters"], rules.StatusPass, nil)
}

// TestScenarioTablesColumnListIdentity: on 15+ a column list leaving out the
// primary key, and any column list on a REPLICA IDENTITY FULL table, even
// one naming every column, make UPDATE and DELETE fail with 42P10. The
// remedy re-lists the publication without them. Another publication's
// column list on the FULL table then still breaks it, which no step can
// fix; a key the list holds does.
func TestScenarioTablesColumnListIdentity(t *testing.T) {
	if v := pgtest.Cluster(t).VersionNum; v < 150000 {
		t.Skipf("PostgreSQL %d has no column lists", v/10000)
	}
	e := newTbEnv(t, "tables-column-list.sql", "streamkap_pub", nil)
	for _, sql := range []string{`UPDATE public.customers SET name = 'B'`, `UPDATE public.audit_events SET detail = 'x'`,
		`DELETE FROM public.audit_events WHERE id = 0`} {
		if state := sqlState(t, e.c, e.db, sql); state != "42P10" {
			t.Fatalf("%s: SQLSTATE %q, want 42P10", sql, state)
		}
	}
	scope := []facts.TableRef{{Schema: "public", Table: "customers"}, {Schema: "public", Table: "audit_events"}}
	r := e.judge(t, scope...)["replica-identity"]
	wantResult(t, r, rules.StatusFail, []string{"public.audit_events", "public.customers"},
		`public.audit_events (publication streamkap_pub has a column list, which REPLICA IDENTITY FULL does not allow: `+
			`"Column list used by the publication does not cover the replica identity")`,
		"public.customers (the column list of publication streamkap_pub leaves out id of the primary key (id)",
		"ALTER PUBLICATION streamkap_pub SET TABLE public.audit_events, public.customers, streamkap.streamkap_signal;")
	e.applyFix(t, r)
	for _, sql := range []string{`UPDATE public.customers SET name = 'B'`, `UPDATE public.audit_events SET detail = 'x'`} {
		if state := sqlState(t, e.c, e.db, sql); state != "" {
			t.Fatalf("%s after the fix: SQLSTATE %s", sql, state)
		}
	}
	wantResult(t, e.judge(t, scope...)["replica-identity"], rules.StatusPass, nil)

	pgtest.Exec(t, e.c, e.db, `CREATE PUBLICATION reporting FOR TABLE public.audit_events (id, kind)`)
	if state := sqlState(t, e.c, e.db, `UPDATE public.audit_events SET detail = 'y'`); state != "42P10" {
		t.Fatalf("UPDATE under another publication's column list: SQLSTATE %q, want 42P10", state)
	}
	r = e.judge(t, scope...)["replica-identity"]
	wantResult(t, r, rules.StatusFail, []string{"public.audit_events"}, "publication reporting has a column list", "No step fixes public.audit_events")
	if len(r.FixSQL) != 0 {
		t.Errorf("no step fixes another publication's column list under FULL, yet: %q", r.FixSQL)
	}
	pgtest.Exec(t, e.c, e.db, `ALTER TABLE public.audit_events ADD PRIMARY KEY (id), REPLICA IDENTITY DEFAULT`)
	if state := sqlState(t, e.c, e.db, `UPDATE public.audit_events SET detail = 'z'`); state != "" {
		t.Fatalf("UPDATE with a key the column list holds: SQLSTATE %s", state)
	}
	wantResult(t, e.judge(t, scope...)["replica-identity"], rules.StatusPass, nil)
}

// TestScenarioTablesPartitionRootFilter: on 15+, with
// publish_via_partition_root the partitioned table's row filter is checked
// against the partition's replica identity: UPDATE on the partition fails
// with 42P10; the partition is reported, and re-listing the root without
// the filter cures it.
func TestScenarioTablesPartitionRootFilter(t *testing.T) {
	if v := pgtest.Cluster(t).VersionNum; v < 150000 {
		t.Skipf("PostgreSQL %d has no row filters", v/10000)
	}
	e := newTbEnv(t, "tables-partition-filter.sql", "streamkap_pub", nil)
	if state := sqlState(t, e.c, e.db, `UPDATE public.events SET kind = 'view'`); state != "42P10" {
		t.Fatalf("UPDATE under the root's row filter: SQLSTATE %q, want 42P10", state)
	}
	events := facts.TableRef{Schema: "public", Table: "events"}
	r := e.judge(t, events)["replica-identity"]
	wantResult(t, r, rules.StatusFail, []string{"public.events_2026"},
		"public.events_2026 (the row filter of publication streamkap_pub (the filter of public.events, published via the partition root) reads kind, "+
			"not in the primary key (id, at)",
		"ALTER PUBLICATION streamkap_pub SET TABLE public.events, streamkap.streamkap_signal;")
	e.applyFix(t, r)
	if state := sqlState(t, e.c, e.db, `UPDATE public.events SET kind = 'view'`); state != "" {
		t.Fatalf("UPDATE after the fix: SQLSTATE %s", state)
	}
	got := e.judge(t, events)
	wantResult(t, got["replica-identity"], rules.StatusPass, nil)
	wantResult(t, got["publication-partitions"], rules.StatusPass, nil, "publish_via_partition_root is on")
}

// TestScenarioTablesGeneratedIdentity: on 18, REPLICA IDENTITY FULL on a
// table with a stored generated column makes UPDATE fail with 42P10 while
// the publication does not publish generated columns; publishing them
// cures it. Before 18 the same table updates fine and the rule passes.
func TestScenarioTablesGeneratedIdentity(t *testing.T) {
	if v := pgtest.Cluster(t).VersionNum; v < 120000 {
		t.Skipf("PostgreSQL %d has no generated columns", v/10000)
	}
	e := newTbEnv(t, "tables-generated-identity.sql", "streamkap_pub", nil)
	invoices := facts.TableRef{Schema: "public", Table: "invoices"}
	const update = `UPDATE public.invoices SET net_cents = net_cents + 1`
	if e.c.VersionNum < 180000 {
		if state := sqlState(t, e.c, e.db, update); state != "" {
			t.Fatalf("UPDATE on PostgreSQL %d: SQLSTATE %s", e.c.VersionNum/10000, state)
		}
		wantResult(t, e.judge(t, invoices)["replica-identity"], rules.StatusPass, nil)
		return
	}
	if state := sqlState(t, e.c, e.db, update); state != "42P10" {
		t.Fatalf("UPDATE with an unpublished generated column in the FULL identity: SQLSTATE %q, want 42P10", state)
	}
	r := e.judge(t, invoices)["replica-identity"]
	wantResult(t, r, rules.StatusFail, []string{"public.invoices"},
		`public.invoices (REPLICA IDENTITY FULL holds generated columns "Gross Cents" that publication streamkap_pub does not publish`,
		"ALTER PUBLICATION streamkap_pub SET (publish_generated_columns = stored);")
	e.applyFix(t, r)
	if state := sqlState(t, e.c, e.db, update); state != "" {
		t.Fatalf("UPDATE after publishing generated columns: SQLSTATE %s", state)
	}
	wantResult(t, e.judge(t, invoices)["replica-identity"], rules.StatusPass, nil)
}
