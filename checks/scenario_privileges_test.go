package checks_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/cdcpreflight/cdcpreflight/facts"
	"github.com/cdcpreflight/cdcpreflight/internal/pglocal"
	"github.com/cdcpreflight/cdcpreflight/internal/pgtest"
	"github.com/cdcpreflight/cdcpreflight/internal/sqlident"
	"github.com/cdcpreflight/cdcpreflight/rules"
)

// privilegesScenarios: rule → {passing scenario, non-passing scenario}.
var privilegesScenarios = map[string][2]string{
	"database-connect":   {"TestScenarioPrivilegesGranted", "TestScenarioPrivilegesConnectorUser"},
	"schema-usage":       {"TestScenarioPrivilegesGranted", "TestScenarioPrivilegesHostileNames"},
	"table-select":       {"TestScenarioPrivilegesGranted", "TestScenarioPrivilegesHostileNames"},
	"default-privileges": {"TestScenarioPrivilegesGranted", "TestScenarioDefaultPrivilegesTrap"},
	"row-level-security": {"TestScenarioPrivilegesGranted", "TestScenarioRowLevelSecurity"},
	"role-timeouts":      {"TestScenarioPrivilegesGranted", "TestScenarioRoleTimeouts"},
}

// privilegeRuleIDs are the rules that judge the connector role's grants.
var privilegeRuleIDs = []string{"database-connect", "schema-usage", "table-select", "default-privileges", "row-level-security", "role-timeouts"}

// privExpectObjects checks a result's status and its objects, in any order.
func privExpectObjects(t *testing.T, r rules.Result, status rules.Status, want ...string) {
	t.Helper()
	if r.Status != status {
		t.Errorf("%s = %s, want %s: %s", r.Rule, r.Status, status, r.Message)
	}
	got := slices.Clone(r.Objects)
	slices.Sort(got)
	want = slices.Clone(want)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("%s objects = %q, want %q", r.Rule, r.Objects, want)
	}
}

// privApplyFix runs the results' fix SQL as the superuser: the remediation
// must be SQL that really runs and really fixes.
func privApplyFix(t *testing.T, c *pglocal.Cluster, db string, results ...rules.Result) {
	t.Helper()
	var sql []string
	for _, r := range results {
		if len(r.FixSQL) == 0 {
			t.Fatalf("%s has no fix SQL: %s", r.Rule, r.Remediation)
		}
		sql = append(sql, r.FixSQL...)
	}
	pgtest.Exec(t, c, db, strings.Join(sql, "\n"))
}

// privQuery runs query as user and returns the first column of its one row
// as text: what the connector itself would see.
func privQuery(t *testing.T, c *pglocal.Cluster, user, db, query string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, c.DSN(user, testPassword, db, "require"))
	if err != nil {
		t.Fatalf("connect as %s: %v", user, err)
	}
	defer func() { _ = conn.Close(context.WithoutCancel(ctx)) }()
	var v string
	if err := conn.QueryRow(ctx, query).Scan(&v); err != nil {
		t.Fatalf("%s as %s: %v", query, user, err)
	}
	return v
}

// privSuperQuery runs query as the superuser and returns the first column.
func privSuperQuery(t *testing.T, c *pglocal.Cluster, db, query string) string {
	t.Helper()
	var v string
	if err := pgtest.Conn(t, c, db).QueryRow(t.Context(), query).Scan(&v); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return v
}

// TestScenarioPrivilegesGranted: grants through a group role, default
// privileges by and for the tables' owner, BYPASSRLS over a tenant policy,
// and a database-wide statement_timeout lifted for the connector role.
func TestScenarioPrivilegesGranted(t *testing.T) {
	c := pgtest.Cluster(t)
	db := pgtest.NewDatabase(t, c)
	user, owner, group := pgtest.UniqueName(t, "cdc"), pgtest.UniqueName(t, "app_owner"), pgtest.UniqueName(t, "cdc_group")
	pgtest.Exec(t, c, db, fixture(t, "privileges-granted.sql", map[string]string{
		"user": sqlident.Quote(user), "owner": sqlident.Quote(owner), "group": sqlident.Quote(group),
		"database": sqlident.Quote(db), "password": sqlident.Literal(testPassword),
	}))
	got := judgeDSN(t, c.DSN(user, testPassword, db, "require"), facts.Options{}, time.Time{})
	for _, id := range privilegeRuleIDs {
		privExpectObjects(t, got[id], rules.StatusPass)
	}
	for id, want := range map[string]string{
		"schema-usage":       `2 captured schemas: "Sales Ops", public`,
		"table-select":       "2 captured tables",
		"default-privileges": owner + ` in "Sales Ops", ` + owner + " in public",
		"row-level-security": "has BYPASSRLS",
		"role-timeouts":      "role " + user + " in database " + db + ": statement_timeout=0",
	} {
		if !strings.Contains(got[id].Message, want) {
			t.Errorf("%s message %q does not contain %q", id, got[id].Message, want)
		}
	}
	// What the rules judged is what the connector gets.
	if v := privQuery(t, c, user, db, `SELECT count(*)::text FROM "Sales Ops"."Q1 Targets"`); v != "2" {
		t.Errorf("the connector reads %s rows of the RLS table, want 2", v)
	}
	if v := privQuery(t, c, user, db, "SHOW statement_timeout"); v != "0" {
		t.Errorf("the connector's statement_timeout is %s, want 0", v)
	}
}

// TestScenarioPrivilegesHostileNames: a keyless table with a space in its
// name and a table named like an injection, neither granted, and a schema
// without USAGE; the connector role's own name needs quoting too. The fix
// SQL runs and fixes, and drops nothing.
func TestScenarioPrivilegesHostileNames(t *testing.T) {
	c := pgtest.Cluster(t)
	db := pgtest.NewDatabase(t, c)
	user := `Cdc "` + pgtest.UniqueName(t, "u") + `" Ops`
	if len(user) > 63 {
		t.Fatalf("role name %q is longer than PostgreSQL's 63 bytes", user)
	}
	pgtest.Exec(t, c, db, fixture(t, "privileges-hostile-names.sql", map[string]string{
		"user": sqlident.Quote(user), "password": sqlident.Literal(testPassword),
	}))
	got := judgeDSN(t, c.DSN(user, testPassword, db, "require"), facts.Options{}, time.Time{})
	sel, usage := got["table-select"], got["schema-usage"]
	privExpectObjects(t, sel, rules.StatusFail, `public."Order Items"`, `public."x""; DROP TABLE y; --"`)
	privExpectObjects(t, usage, rules.StatusFail, `"Sales Ops"`)
	privExpectObjects(t, got["database-connect"], rules.StatusPass)
	if want := "GRANT USAGE ON SCHEMA \"Sales Ops\" TO " + sqlident.Quote(user) + ";"; !slices.Equal(usage.FixSQL, []string{want}) {
		t.Errorf("schema-usage fix SQL = %q, want %q", usage.FixSQL, want)
	}
	if !strings.Contains(sel.Message, "cannot SELECT 2 captured tables") {
		t.Errorf("table-select message: %s", sel.Message)
	}

	privApplyFix(t, c, db, sel, usage)
	got = judgeDSN(t, c.DSN(user, testPassword, db, "require"), facts.Options{}, time.Time{})
	expectStatus(t, got, map[string]rules.Status{"table-select": rules.StatusPass, "schema-usage": rules.StatusPass})
	if v := privSuperQuery(t, c, db, "SELECT count(*)::text FROM pg_class WHERE relname = 'y'"); v != "1" {
		t.Errorf("table y is gone after the fix SQL ran")
	}
	if v := privQuery(t, c, user, db, `SELECT count(*)::text FROM public."Order Items"`); v != "0" {
		t.Errorf("the connector reads %s rows of an empty table", v)
	}
}

// TestScenarioDefaultPrivilegesTrap: Streamkap's ALTER DEFAULT PRIVILEGES
// run by an administrator does nothing for tables the application's owner
// role creates later; FOR ROLE the owner does.
func TestScenarioDefaultPrivilegesTrap(t *testing.T) {
	c := pgtest.Cluster(t)
	db := pgtest.NewDatabase(t, c)
	user, owner, group := pgtest.UniqueName(t, "cdc"), pgtest.UniqueName(t, "app_owner"), pgtest.UniqueName(t, "cdc_group")
	pgtest.Exec(t, c, db, fixture(t, "privileges-default-trap.sql", map[string]string{
		"user": sqlident.Quote(user), "owner": sqlident.Quote(owner), "group": sqlident.Quote(group),
		"password": sqlident.Literal(testPassword),
	}))
	dsn := c.DSN(user, testPassword, db, "require")
	got := judgeDSN(t, dsn, facts.Options{}, time.Time{})
	dp := got["default-privileges"]
	privExpectObjects(t, dp, rules.StatusWarn, "schema public, owner "+owner)
	privExpectObjects(t, got["table-select"], rules.StatusPass) // the existing table was granted
	want := fmt.Sprintf("ALTER DEFAULT PRIVILEGES FOR ROLE %s IN SCHEMA public GRANT SELECT ON TABLES TO %s;", owner, user)
	if !slices.Equal(dp.FixSQL, []string{want}) {
		t.Errorf("default-privileges fix SQL = %q, want %q", dp.FixSQL, want)
	}

	// The warning is real: the owner's next table is not readable.
	pgtest.Exec(t, c, db, "SET ROLE "+sqlident.Quote(owner)+"; CREATE TABLE public.orders_2026 (id bigint PRIMARY KEY); RESET ROLE;")
	got = judgeDSN(t, dsn, facts.Options{}, time.Time{})
	privExpectObjects(t, got["table-select"], rules.StatusFail, "public.orders_2026")

	// FOR ROLE the owner covers what it creates from then on.
	privApplyFix(t, c, db, dp)
	pgtest.Exec(t, c, db, "SET ROLE "+sqlident.Quote(owner)+"; CREATE TABLE public.invoices (id bigint PRIMARY KEY); RESET ROLE;")
	got = judgeDSN(t, dsn, facts.Options{}, time.Time{})
	privExpectObjects(t, got["default-privileges"], rules.StatusPass)
	privExpectObjects(t, got["table-select"], rules.StatusFail, "public.orders_2026")
	if v := privQuery(t, c, user, db, "SELECT count(*)::text FROM public.invoices"); v != "0" {
		t.Errorf("the connector reads %s rows of an empty table", v)
	}

	// From 14, pg_read_all_data reads every table, present or future.
	if c.VersionNum >= 140000 {
		reader := pgtest.UniqueName(t, "reader")
		pgtest.Exec(t, c, db, fmt.Sprintf("CREATE ROLE %s LOGIN REPLICATION; GRANT pg_read_all_data TO %[1]s;", sqlident.Quote(reader)))
		got = judgeDSN(t, dsn, facts.Options{ConnectorUser: reader}, time.Time{})
		privExpectObjects(t, got["default-privileges"], rules.StatusPass)
		privExpectObjects(t, got["table-select"], rules.StatusPass)
	}
}

// TestScenarioRowLevelSecurity: a tenant policy hides every row from the
// connector without an error; owning a table exempts it unless the table
// forces RLS; BYPASSRLS exempts it from all.
func TestScenarioRowLevelSecurity(t *testing.T) {
	c := pgtest.Cluster(t)
	db := pgtest.NewDatabase(t, c)
	user, owner := pgtest.UniqueName(t, "cdc"), pgtest.UniqueName(t, "app_owner")
	pgtest.Exec(t, c, db, fixture(t, "privileges-rls.sql", map[string]string{
		"user": sqlident.Quote(user), "owner": sqlident.Quote(owner), "password": sqlident.Literal(testPassword),
	}))
	dsn := c.DSN(user, testPassword, db, "require")
	got := judgeDSN(t, dsn, facts.Options{}, time.Time{})
	rls := got["row-level-security"]
	privExpectObjects(t, rls, rules.StatusFail, "public.accounts", "public.ledger")
	if !strings.Contains(rls.Message, "FORCE ROW LEVEL SECURITY") || !strings.Contains(rls.Message, "2 captured tables") {
		t.Errorf("row-level-security message: %s", rls.Message)
	}
	if want := "ALTER ROLE " + user + " BYPASSRLS;"; !slices.Equal(rls.FixSQL, []string{want}) {
		t.Errorf("fix SQL = %q, want %q", rls.FixSQL, want)
	}
	privExpectObjects(t, got["table-select"], rules.StatusPass)
	// Silently: no error, no rows.
	for table, want := range map[string]string{"public.accounts": "0", "public.ledger": "0", "public.audit": "2"} {
		if v := privQuery(t, c, user, db, "SELECT count(*)::text FROM "+table); v != want {
			t.Errorf("before BYPASSRLS the connector reads %s rows of %s, want %s", v, table, want)
		}
	}

	privApplyFix(t, c, db, rls)
	got = judgeDSN(t, dsn, facts.Options{}, time.Time{})
	privExpectObjects(t, got["row-level-security"], rules.StatusPass)
	for table, want := range map[string]string{"public.accounts": "2", "public.ledger": "3"} {
		if v := privQuery(t, c, user, db, "SELECT count(*)::text FROM "+table); v != want {
			t.Errorf("with BYPASSRLS the connector reads %s rows of %s, want %s", v, table, want)
		}
	}
}

// TestScenarioRoleTimeouts: timeouts on the role and on the database are
// reported with their scope; lock_timeout is not; the fix lifts them.
func TestScenarioRoleTimeouts(t *testing.T) {
	c := pgtest.Cluster(t)
	db := pgtest.NewDatabase(t, c)
	user := pgtest.UniqueName(t, "cdc")
	pgtest.Exec(t, c, db, fixture(t, "privileges-timeouts.sql", map[string]string{
		"user": sqlident.Quote(user), "database": sqlident.Quote(db), "password": sqlident.Literal(testPassword),
	}))
	want := []string{"role " + user + ": statement_timeout=30s", "database " + db + ": idle_in_transaction_session_timeout=1min"}
	if c.VersionNum >= 170000 {
		pgtest.Exec(t, c, db, "ALTER ROLE "+sqlident.Quote(user)+" SET transaction_timeout = '10min'")
		want = append(want, "role "+user+": transaction_timeout=10min")
	}
	dsn := c.DSN(user, testPassword, db, "require")
	if v := privQuery(t, c, user, db, "SHOW statement_timeout"); v != "30s" {
		t.Errorf("the connector's statement_timeout is %s, want 30s", v)
	}
	got := judgeDSN(t, dsn, facts.Options{}, time.Time{})
	rt := got["role-timeouts"]
	privExpectObjects(t, rt, rules.StatusWarn, want...)
	if strings.Contains(rt.Message, "lock_timeout") {
		t.Errorf("lock_timeout reported: %s", rt.Message)
	}

	privApplyFix(t, c, db, rt)
	got = judgeDSN(t, dsn, facts.Options{}, time.Time{})
	privExpectObjects(t, got["role-timeouts"], rules.StatusPass)
	for _, name := range []string{"statement_timeout", "idle_in_transaction_session_timeout"} {
		if v := privQuery(t, c, user, db, "SHOW "+name); v != "0" {
			t.Errorf("after the fix the connector's %s is %s, want 0", name, v)
		}
	}

	// ALTER ROLE ALL SET reaches every session of the cluster. The value is
	// long enough not to bother other tests, and reset when this one ends.
	pgtest.Exec(t, c, db, "ALTER ROLE ALL SET statement_timeout = '2h'")
	t.Cleanup(func() { _ = c.Exec(context.Background(), "postgres", "ALTER ROLE ALL RESET statement_timeout") })
	got = judgeDSN(t, dsn, facts.Options{}, time.Time{})
	rt = got["role-timeouts"]
	privExpectObjects(t, rt, rules.StatusWarn, "all roles: statement_timeout=2h")
	if want := "ALTER ROLE " + user + " SET statement_timeout = 0;"; !slices.Equal(rt.FixSQL, []string{want}) {
		t.Errorf("fix SQL = %q, want %q", rt.FixSQL, want)
	}
}

// TestScenarioPrivilegesConnectorUser: an administrator connects and
// judges another role (--connector-user), not itself.
func TestScenarioPrivilegesConnectorUser(t *testing.T) {
	c := pgtest.Cluster(t)
	db := pgtest.NewDatabase(t, c)
	admin := replicationUser(t, c, db)
	user := pgtest.UniqueName(t, "cdc")
	pgtest.Exec(t, c, db, fixture(t, "privileges-connector-user.sql", map[string]string{
		"user": sqlident.Quote(user), "admin": sqlident.Quote(admin), "database": sqlident.Quote(db),
		"password": sqlident.Literal(testPassword),
	}))
	dsn := c.DSN(admin, testPassword, db, "require")

	got := judgeDSN(t, dsn, facts.Options{ConnectorUser: user}, time.Time{})
	conn, sel := got["database-connect"], got["table-select"]
	privExpectObjects(t, conn, rules.StatusFail, "database "+db)
	privExpectObjects(t, sel, rules.StatusFail, "public.customers")
	privExpectObjects(t, got["schema-usage"], rules.StatusPass)
	if want := fmt.Sprintf("GRANT CONNECT ON DATABASE %s TO %s;", db, user); !slices.Equal(conn.FixSQL, []string{want}) {
		t.Errorf("database-connect fix SQL = %q, want %q", conn.FixSQL, want)
	}

	// Judging the administrator itself: it may connect and read.
	self := judgeDSN(t, dsn, facts.Options{}, time.Time{})
	expectStatus(t, self, map[string]rules.Status{"database-connect": rules.StatusPass, "table-select": rules.StatusPass})

	privApplyFix(t, c, db, conn, sel)
	got = judgeDSN(t, dsn, facts.Options{ConnectorUser: user}, time.Time{})
	expectStatus(t, got, map[string]rules.Status{"database-connect": rules.StatusPass, "table-select": rules.StatusPass})
	if v := privQuery(t, c, user, db, "SELECT count(*)::text FROM public.customers"); v != "0" {
		t.Errorf("the connector reads %s rows of an empty table", v)
	}

	// A connector role that does not exist: replication-privilege says so
	// once; the grant rules skip rather than repeat it.
	got = judgeDSN(t, dsn, facts.Options{ConnectorUser: "No Such Role"}, time.Time{})
	for _, id := range privilegeRuleIDs {
		if r := got[id]; r.Status != rules.StatusSkip || !strings.Contains(r.Message, `role "No Such Role" does not exist`) {
			t.Errorf("%s = %s: %s", id, r.Status, r.Message)
		}
	}
}
