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
	all := map[string]string{"publication": sqlident.Quote(pub)}
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
	got := e.judge(t)
	r := got["unlogged-tables"]
	wantResult(t, r, rules.StatusWarn, []string{"public.scratch", "public.session_cache"},
		"2 captured tables are UNLOGGED", "ALTER TABLE public.session_cache SET LOGGED;")
	// Unpublishable, so its missing key breaks nothing.
	wantResult(t, got["replica-identity"], rules.StatusPass, nil)
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
	r := e.judge(t)["generated-columns"]
	if e.c.VersionNum < 180000 {
		wantResult(t, r, rules.StatusWarn, []string{"public.invoices"}, `public.invoices ("Gross Cents")`, "does not replicate generated columns")
		return
	}
	wantResult(t, r, rules.StatusWarn, []string{"public.invoices"}, "ALTER PUBLICATION streamkap_pub SET (publish_generated_columns = stored);")
	e.applyFix(t, r)
	wantResult(t, e.judge(t)["generated-columns"], rules.StatusPass, nil, "publishes the stored generated columns")
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
