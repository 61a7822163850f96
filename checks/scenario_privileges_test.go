package checks_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
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

	// A connector role that does not exist: replication-privilege says so,
	// and database-connect, since it cannot log in; the grant rules skip
	// rather than repeat it.
	got = judgeDSN(t, dsn, facts.Options{ConnectorUser: "No Such Role"}, time.Time{})
	for _, id := range privilegeRuleIDs {
		want := rules.StatusSkip
		if id == "database-connect" {
			want = rules.StatusFail
		}
		if r := got[id]; r.Status != want || !strings.Contains(r.Message, `role "No Such Role" does not exist`) {
			t.Errorf("%s = %s, want %s: %s", id, r.Status, want, r.Message)
		}
	}
}

// privState runs query as user and returns the SQLSTATE it failed with,
// or "" when it succeeded.
func privState(t *testing.T, c *pglocal.Cluster, user, password, db, query string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, c.DSN(user, password, db, "require"))
	if err == nil {
		defer func() { _ = conn.Close(context.WithoutCancel(ctx)) }()
		_, err = conn.Exec(ctx, query)
	}
	var pgErr *pgconn.PgError
	switch {
	case err == nil:
		return ""
	case errors.As(err, &pgErr):
		t.Logf("PostgreSQL %d, as %s: %s: %s (%s)", c.VersionNum, user, query, pgErr.Message, pgErr.Code)
		return pgErr.Code
	}
	t.Fatalf("%s as %s: %v", query, user, err)
	return ""
}

// TestScenarioRowLevelSecurityReadableByEveryone: Supabase's stock
// "readable by everyone" policy and a FOR ALL USING (true) policy for a
// role the connector inherits from hide nothing, and the rule passes; a
// tenant policy, a restrictive policy next to the true one, or
// row_security = off on the role make it fail, each as the server shows.
func TestScenarioRowLevelSecurityReadableByEveryone(t *testing.T) {
	c := pgtest.Cluster(t)
	db := pgtest.NewDatabase(t, c)
	user, owner, group := pgtest.UniqueName(t, "cdc"), pgtest.UniqueName(t, "app_owner"), pgtest.UniqueName(t, "cdc_group")
	pgtest.Exec(t, c, db, fixture(t, "privileges-rls-open.sql", map[string]string{
		"user": sqlident.Quote(user), "owner": sqlident.Quote(owner), "group": sqlident.Quote(group),
		"password": sqlident.Literal(testPassword),
	}))
	dsn := c.DSN(user, testPassword, db, "require")
	counts := func(want map[string]string) {
		t.Helper()
		for table, n := range want {
			if v := privQuery(t, c, user, db, "SELECT count(*)::text FROM "+table); v != n {
				t.Errorf("the connector reads %s rows of %s, want %s", v, table, n)
			}
		}
	}
	counts(map[string]string{"public.profiles": "3", "public.notes": "2"})
	rls := judgeDSN(t, dsn, facts.Options{}, time.Time{})["row-level-security"]
	privExpectObjects(t, rls, rules.StatusPass)
	if !strings.Contains(rls.Message, "on public.notes, public.profiles a permissive policy with USING (true) lets role "+user+" read every row") {
		t.Errorf("row-level-security message: %s", rls.Message)
	}

	// Policies follow inherited privileges only: a NOINHERIT member of the
	// group is not covered by the notes policy, and reads none of it.
	noinherit := pgtest.UniqueName(t, "cdc_noinherit")
	pgtest.Exec(t, c, db, fmt.Sprintf("CREATE ROLE %s LOGIN REPLICATION NOINHERIT PASSWORD %s IN ROLE %s; GRANT SELECT ON public.notes, public.profiles TO %[1]s;",
		sqlident.Quote(noinherit), sqlident.Literal(testPassword), sqlident.Quote(group)))
	if v := privQuery(t, c, noinherit, db, "SELECT count(*)::text FROM public.notes"); v != "0" {
		t.Errorf("a NOINHERIT member reads %s rows of public.notes, want 0", v)
	}
	privExpectObjects(t, judgeDSN(t, c.DSN(noinherit, testPassword, db, "require"), facts.Options{}, time.Time{})["row-level-security"],
		rules.StatusFail, "public.notes")

	// A tenant table beside them still fails, alone.
	pgtest.Exec(t, c, db, fmt.Sprintf(`CREATE TABLE public.accounts (id bigint PRIMARY KEY, tenant text NOT NULL);
INSERT INTO public.accounts VALUES (1, 'acme'), (2, 'globex');
ALTER TABLE public.accounts OWNER TO %s;
ALTER TABLE public.accounts ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_rows ON public.accounts USING (tenant = current_user);
GRANT SELECT ON public.accounts TO %s;`, sqlident.Quote(owner), sqlident.Quote(group)))
	counts(map[string]string{"public.accounts": "0"})
	privExpectObjects(t, judgeDSN(t, dsn, facts.Options{}, time.Time{})["row-level-security"], rules.StatusFail, "public.accounts")

	// A restrictive policy next to the true one hides rows again.
	pgtest.Exec(t, c, db, `CREATE POLICY only_mine ON public.profiles AS RESTRICTIVE FOR SELECT USING (owner_name = current_user)`)
	counts(map[string]string{"public.profiles": "0"})
	privExpectObjects(t, judgeDSN(t, dsn, facts.Options{}, time.Time{})["row-level-security"], rules.StatusFail,
		"public.accounts", "public.profiles")

	// row_security = off on the role: the true policy no longer helps,
	// the snapshot's SELECT fails instead.
	pgtest.Exec(t, c, db, "DROP POLICY only_mine ON public.profiles; DROP TABLE public.accounts; ALTER ROLE "+sqlident.Quote(user)+" SET row_security = off")
	if state := privState(t, c, user, testPassword, db, "SELECT * FROM public.profiles"); state != "42501" {
		t.Errorf("SELECT with row_security = off: SQLSTATE %q, want 42501", state)
	}
	rls = judgeDSN(t, dsn, facts.Options{}, time.Time{})["row-level-security"]
	privExpectObjects(t, rls, rules.StatusFail, "public.notes", "public.profiles", "role "+user+": row_security=off")
	if !strings.Contains(rls.Message, "query would be affected by row-level security policy") ||
		!strings.Contains(rls.Remediation, "ALTER ROLE "+user+" RESET row_security;") {
		t.Errorf("row-level-security with row_security off: %s / %s", rls.Message, rls.Remediation)
	}
	privApplyFix(t, c, db, rls) // BYPASSRLS: row_security = off is then harmless
	privExpectObjects(t, judgeDSN(t, dsn, facts.Options{}, time.Time{})["row-level-security"], rules.StatusPass)
	counts(map[string]string{"public.profiles": "3", "public.notes": "2"})
}

// connectRefused checks a judgement of a connection the server refused:
// database-connect fails with the server's words and a remedy, every other
// rule that needs the database reports error (exit code 2), pooler-hostname
// is still judged, and no result shows a password.
func connectRefused(t *testing.T, got map[string]rules.Result, contains ...string) rules.Result {
	t.Helper()
	var all []rules.Result
	for id, r := range got {
		all = append(all, r)
		switch id {
		case "database-connect", "pooler-hostname":
		case "connector-config":
			// It judges a connector configuration, not the database:
			// without one it skips.
			if r.Status != rules.StatusSkip {
				t.Errorf("%s = %s, want skip: %s", id, r.Status, r.Message)
			}
		default:
			if r.Status != rules.StatusError {
				t.Errorf("%s = %s, want error: %s", id, r.Status, r.Message)
			}
		}
		text := r.Message + r.Remediation + strings.Join(r.FixSQL, "")
		for _, pw := range []string{testPassword, wrongPassword} {
			if strings.Contains(text, pw) {
				t.Errorf("%s shows a password: %s", id, text)
			}
		}
	}
	if code := rules.ExitCode(all, rules.Error); code != 2 {
		t.Errorf("exit code %d, want 2", code)
	}
	expectStatus(t, got, map[string]rules.Status{"pooler-hostname": rules.StatusPass})
	dc := got["database-connect"]
	wantResult(t, dc, rules.StatusFail, nil, contains...)
	return dc
}

const wrongPassword = "n0t-the-Pa55word"

// TestScenarioConnectRevoked: REVOKE CONNECT … FROM PUBLIC refuses the
// connector's own connection with 42501; the GRANT it suggests lets it in.
func TestScenarioConnectRevoked(t *testing.T) {
	c := pgtest.Cluster(t)
	db := pgtest.NewDatabase(t, c)
	user := replicationUser(t, c, db)
	pgtest.Exec(t, c, db, fixture(t, "connect-revoked.sql", map[string]string{"database": sqlident.Quote(db), "user": sqlident.Quote(user)}))
	dsn := c.DSN(user, testPassword, db, "require")
	dc := connectRefused(t, judgeDSN(t, dsn, facts.Options{}, time.Time{}),
		`permission denied for database "`+db+`" (User does not have CONNECT privilege.) (SQLSTATE 42501)`)
	if want := []string{fmt.Sprintf("GRANT CONNECT ON DATABASE %s TO %s;", db, user)}; !slices.Equal(dc.FixSQL, want) {
		t.Errorf("fix SQL = %q, want %q", dc.FixSQL, want)
	}
	privApplyFix(t, c, db, dc)
	expectStatus(t, judgeDSN(t, dsn, facts.Options{}, time.Time{}), map[string]rules.Status{
		"database-connect": rules.StatusPass, "replication-connection": rules.StatusPass,
	})
}

// TestScenarioConnectWrongPassword: a wrong password and a role that does
// not exist get the same 28P01 over SCRAM; neither password is shown.
func TestScenarioConnectWrongPassword(t *testing.T) {
	c := pgtest.Cluster(t)
	db := pgtest.NewDatabase(t, c)
	user := replicationUser(t, c, db)
	// An administrator's refused password says nothing about the connector.
	got := judgeDSN(t, c.DSN(user, wrongPassword, db, "require"), facts.Options{ConnectorUser: "someone_else"}, time.Time{})
	expectStatus(t, got, map[string]rules.Status{"database-connect": rules.StatusError})
	ghost := pgtest.UniqueName(t, "ghost")
	connectRefused(t, judgeDSN(t, c.DSN(ghost, wrongPassword, db, "require"), facts.Options{}, time.Time{}),
		`password authentication failed for user "`+ghost+`" (SQLSTATE 28P01)`, "or role "+ghost+" does not exist")
	dc := connectRefused(t, judgeDSN(t, c.DSN(user, wrongPassword, db, "require"), facts.Options{}, time.Time{}),
		`password authentication failed for user "`+user+`" (SQLSTATE 28P01)`, `\password `+user)
	if len(dc.FixSQL) != 0 {
		t.Errorf("a password fix must not be SQL with a password in it: %q", dc.FixSQL)
	}
}

// TestScenarioConnectMissingDatabase: a database name that matches no
// database, not even but for letter case, is refused with 3D000.
func TestScenarioConnectMissingDatabase(t *testing.T) {
	c := pgtest.Cluster(t)
	db := pgtest.NewDatabase(t, c)
	user := replicationUser(t, c, db)
	missing := strings.ToUpper(db)
	connectRefused(t, judgeDSN(t, c.DSN(user, testPassword, missing, "require"), facts.Options{}, time.Time{}),
		`database "`+missing+`" does not exist (SQLSTATE 3D000)`, "names match exactly")
}

// hbaGroup is the role whose members the restricted cluster's pg_hba.conf
// lets in over TCP; everyone else has no entry.
const hbaGroup = "cdc_hba_allowed"

// TestScenarioConnectNoHBAEntry: pg_hba.conf has no line for the
// connector; the line the rule suggests, added and reloaded, lets both its
// connections in, the replication one included.
func TestScenarioConnectNoHBAEntry(t *testing.T) {
	c := pgtest.ClusterWith(t, "hba-restricted", pglocal.Options{TLS: true, HBA: []string{
		"hostssl all +" + hbaGroup + " 127.0.0.1/32 scram-sha-256",
	}})
	pgtest.Exec(t, c, "postgres", `DO $$ BEGIN
	IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '`+hbaGroup+`') THEN CREATE ROLE `+hbaGroup+` NOLOGIN; END IF;
END $$`)
	db := pgtest.NewDatabase(t, c)
	user := replicationUser(t, c, db)
	cause := fmt.Sprintf(`no pg_hba.conf entry for host "127.0.0.1", user "%s", database "%s"`, user, db)
	line := fmt.Sprintf("hostssl %s %s 127.0.0.1/32 scram-sha-256", db, user)

	plain := connectRefused(t, judgeDSN(t, c.DSN(user, testPassword, db, "disable"), facts.Options{}, time.Time{}), cause, line,
		"a hostssl line matches only TLS connections")
	dc := connectRefused(t, judgeDSN(t, c.DSN(user, testPassword, db, "require"), facts.Options{}, time.Time{}), cause, line,
		"SELECT pg_reload_conf();")
	if strings.Contains(dc.Remediation, "matches only TLS") || len(plain.FixSQL)+len(dc.FixSQL) != 0 {
		t.Errorf("remediation for a TLS connection: %s (fix SQL %q)", dc.Remediation, dc.FixSQL)
	}

	// The suggested line, as written, does it after a reload.
	hba, err := os.OpenFile(filepath.Join(c.DataDir, "pg_hba.conf"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	_, err = fmt.Fprintln(hba, line)
	if cerr := hba.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatal(err)
	}
	pgtest.Exec(t, c, "postgres", "SELECT pg_reload_conf()")
	dsn := c.DSN(user, testPassword, db, "require")
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		conn, err := pgx.Connect(t.Context(), dsn)
		if err == nil {
			_ = conn.Close(t.Context())
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the suggested pg_hba.conf line did not let the connector in: %v", err)
		}
	}
	expectStatus(t, judgeDSN(t, dsn, facts.Options{}, time.Time{}), map[string]rules.Status{
		"database-connect": rules.StatusPass, "replication-connection": rules.StatusPass, "replication-privilege": rules.StatusPass,
	})
}
