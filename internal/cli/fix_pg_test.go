package cli

import (
	"bytes"
	"context"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/cdcpreflight/cdcpreflight/internal/pglocal"
	"github.com/cdcpreflight/cdcpreflight/internal/pgtest"
	"github.com/cdcpreflight/cdcpreflight/internal/sqlident"
	"github.com/cdcpreflight/cdcpreflight/rules"
)

// fixEnv is a broken database on a cluster of its own (fix runs ALTER
// SYSTEM there), with a hostile connector role name that does not exist yet.
type fixEnv struct {
	c                *pglocal.Cluster
	db, owner, user  string
	slot, superDSN   string
	connectorDSN     string
	connectorUserArg []string
}

func newFixEnv(t *testing.T) fixEnv {
	t.Helper()
	c := pgtest.ClusterWith(t, "fix", pglocal.Options{TLS: true, Settings: map[string]string{"log_statement": "all"}})
	e := fixEnv{c: c, db: pgtest.NewDatabase(t, c), owner: pgtest.UniqueName(t, "owner")}
	e.user = pgtest.UniqueName(t, "Stream") + ` "CDC" user`
	e.slot = pgtest.UniqueName(t, "slot")
	pgtest.Exec(t, c, "postgres", "CREATE ROLE "+e.owner)
	pgtest.Exec(t, c, e.db, scenario(t, "fix-broken.sql", map[string]string{"db": sqlident.Quote(e.db), "owner": e.owner}))
	t.Cleanup(func() {
		ctx := context.Background()
		for _, role := range []string{e.user, e.owner} {
			_ = c.Exec(ctx, e.db, "DROP OWNED BY "+sqlident.Quote(role)+" CASCADE")
			_ = c.Exec(ctx, "postgres", "DROP OWNED BY "+sqlident.Quote(role)+" CASCADE; DROP ROLE IF EXISTS "+sqlident.Quote(role))
		}
	})
	e.superDSN = c.DSN(c.SuperUser, c.SuperPassword, e.db, "require")
	e.connectorDSN = c.DSN(e.user, secret, e.db, "require")
	e.connectorUserArg = []string{"--connector-user", e.user, "--slot", e.slot, "--heartbeat-schema", "streamkap"}
	return e
}

func (e fixEnv) fix(t *testing.T, env map[string]string, args ...string) runResult {
	t.Helper()
	return run(t, env, append(append([]string{"fix", e.superDSN}, e.connectorUserArg...), args...)...)
}

// fingerprint summarizes what fix could change: roles, grants, replica
// identities, publications, slots, helper tables and server settings.
func (e fixEnv) fingerprint(t *testing.T) string {
	t.Helper()
	conn := pgtest.Conn(t, e.c, e.db)
	var s string
	err := conn.QueryRow(t.Context(), `SELECT concat_ws(' | ',
	(SELECT string_agg(rolname || rolreplication || rolbypassrls, ',' ORDER BY rolname) FROM pg_roles),
	(SELECT string_agg(c.oid::regclass || c.relreplident || coalesce(c.relacl::text, ''), ',' ORDER BY c.oid) FROM pg_class c WHERE c.relnamespace >= 16384),
	(SELECT string_agg(nspname || coalesce(nspacl::text, ''), ',' ORDER BY nspname) FROM pg_namespace),
	(SELECT datacl::text FROM pg_database WHERE datname = current_database()),
	(SELECT count(*) FROM pg_default_acl),
	(SELECT string_agg(pubname, ',') FROM pg_publication),
	(SELECT string_agg(slot_name, ',') FROM pg_replication_slots),
	(SELECT string_agg(name || '=' || setting, ',' ORDER BY name) FROM pg_settings WHERE source = 'configuration file'))`).Scan(&s)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestFixRepairsBrokenDatabase: a plan changes nothing; an apply without a
// terminal or --yes is refused and changes nothing; fix --apply --yes as a
// superuser repairs the database so that a check as the connector passes
// every error-severity rule; a second fix plans nothing; the password is in
// no output and not even in the server's statement log.
func TestFixRepairsBrokenDatabase(t *testing.T) {
	e := newFixEnv(t)
	before := e.fingerprint(t)

	plan := e.fix(t, nil, "--create-user", "--allow-alter-system")
	if plan.code != 1 {
		t.Fatalf("plan: exit %d, want 1\n%s\n%s", plan.code, plan.stdout, plan.stderr)
	}
	for _, want := range []string{
		"CREATE ROLE " + sqlident.Quote(e.user) + " WITH LOGIN PASSWORD '********';",
		"ALTER ROLE " + sqlident.Quote(e.user) + " WITH REPLICATION;",
		"GRANT CONNECT ON DATABASE " + sqlident.Quote(e.db),
		`"Sales Ops"."Order""s; DROP TABLE public.customers; --"`,
		"ALTER DEFAULT PRIVILEGES FOR ROLE " + e.owner,
		`ALTER TABLE public."MixedCase" REPLICA IDENTITY USING INDEX "MixedCase k";`,
		"ALTER TABLE public.events REPLICA IDENTITY FULL;",
		"-- - unlogged-tables: ", // declined: no --set-logged in this plan
		"CREATE PUBLICATION streamkap_pub FOR TABLE",
		"streamkap.streamkap_signal, streamkap.streamkap_heartbeat",
		"SELECT pg_create_logical_replication_slot(" + sqlident.Literal(e.slot) + ", 'pgoutput');",
	} {
		if !strings.Contains(plan.stdout, want) {
			t.Errorf("the plan lacks %s\n%s", want, plan.stdout)
		}
	}
	assertPhaseOrder(t, plan.stdout)
	if got := e.fingerprint(t); got != before {
		t.Errorf("printing the plan changed the database:\nbefore %s\nafter  %s", before, got)
	}

	refused := e.fix(t, map[string]string{passwordEnv: secret}, "--create-user", "--apply")
	if refused.code != 2 || !strings.Contains(refused.stderr, "not a terminal") {
		t.Errorf("apply without a terminal or --yes: exit %d\n%s", refused.code, refused.stderr)
	}
	if got := e.fingerprint(t); got != before {
		t.Errorf("the refused apply changed the database:\nbefore %s\nafter  %s", before, got)
	}

	applied := e.fix(t, map[string]string{passwordEnv: secret}, "--create-user", "--allow-alter-system", "--set-logged", "--apply", "--yes")
	if applied.code == 2 {
		t.Fatalf("apply: exit 2\n%s\n%s", applied.stdout, applied.stderr)
	}
	if !strings.Contains(applied.stdout, "0 failed, 0 not run") || !strings.Contains(applied.stdout, "Checking again") {
		t.Errorf("apply report:\n%s", applied.stdout)
	}
	if !strings.Contains(applied.stdout, "retains WAL") {
		t.Errorf("the apply does not warn that the new slot retains WAL:\n%s", applied.stdout)
	}
	assertNoSecret(t, applied)

	outArgs, files := allOutputs(t)
	checked := run(t, nil, append([]string{"check", e.connectorDSN, "--slot", e.slot, "--heartbeat-schema", "streamkap"}, outArgs...)...)
	if checked.code != 0 {
		t.Errorf("check as the connector after fix: exit %d\n%s\n%s", checked.code, checked.stdout, checked.stderr)
	}
	for _, res := range decodeReport(t, mustRead(t, files[0])).Results {
		if res.Severity == rules.Error && res.Status != rules.StatusPass && res.Status != rules.StatusSkip {
			t.Errorf("after fix, %s = %s: %s", res.Rule, res.Status, res.Message)
		}
	}
	assertNoSecret(t, checked, files...)

	again := e.fix(t, nil, "--create-user", "--allow-alter-system", "--set-logged")
	if strings.Contains(again.stdout, "-- Step 1 of") {
		t.Errorf("a second fix plans steps again:\n%s", again.stdout)
	}
	// What may remain is only what no SQL fixes on this server: an
	// end-of-life major (13 and 14 are by now) is a manual step for ever.
	for _, m := range regexp.MustCompile(`(?m)^-- \d+\. ([a-z-]+): `).FindAllStringSubmatch(again.stdout, -1) {
		if m[1] != "server-version" {
			t.Errorf("a second fix leaves manual step %s", m[1])
		}
	}
	if again.code == 2 || (again.code == 1 && !strings.Contains(again.stdout, "1. server-version: ")) {
		t.Errorf("a second fix: exit %d\n%s", again.code, again.stdout)
	}

	log, err := os.ReadFile(e.c.LogFile)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(log, []byte(secret)) {
		t.Error("the password reached the server's statement log")
	}
	if !bytes.Contains(log, []byte("SCRAM-SHA-256$")) {
		t.Error("CREATE ROLE did not carry a SCRAM verifier (is log_statement = all?)")
	}
}

// assertPhaseOrder checks that the plan's steps never go back to an
// earlier phase.
func assertPhaseOrder(t *testing.T, script string) {
	t.Helper()
	order := map[string]int{}
	for p := rules.PhaseSystem; p <= rules.PhaseSlot; p++ {
		order[p.String()] = int(p)
	}
	last := 0
	for _, m := range regexp.MustCompile(`(?m)^-- Step \d+ of \d+ · ([^·]+) · `).FindAllStringSubmatch(script, -1) {
		p, ok := order[strings.TrimSpace(m[1])]
		if !ok {
			t.Errorf("unknown phase %q", m[1])
			continue
		}
		if p < last {
			t.Errorf("phase %q comes after a later phase", m[1])
		}
		last = p
	}
	if last != int(rules.PhaseSlot) {
		t.Errorf("the plan does not end with the slot (last phase %d)", last)
	}
}

// TestFixStopsAtALockedTable: a step blocked by another session's lock
// fails after lock_timeout instead of queueing (and making the
// application queue behind it); the apply stops there, keeps the steps
// already committed and reports the rest as not run.
func TestFixStopsAtALockedTable(t *testing.T) {
	e := newFixEnv(t)
	pgtest.Exec(t, e.c, e.db, "CREATE ROLE "+sqlident.Quote(e.user)+" LOGIN")

	holder := pgtest.Conn(t, e.c, e.db)
	tx, err := holder.Begin(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tx.Rollback(context.Background()) }()
	if _, err := tx.Exec(t.Context(), "LOCK TABLE public.events IN ACCESS EXCLUSIVE MODE"); err != nil {
		t.Fatal(err)
	}

	start := time.Now()
	r := e.fix(t, nil, "--apply", "--yes", "--lock-timeout", "300ms")
	t.Logf("the apply returned after %s", time.Since(start).Round(time.Millisecond))
	if r.code != 2 {
		t.Fatalf("exit %d, want 2\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	if !strings.Contains(r.stderr, "lock_timeout") || !strings.Contains(r.stderr, "55P03") {
		t.Errorf("the failure does not name the lock timeout:\n%s", r.stderr)
	}
	m := regexp.MustCompile(`(\d+) applied, 1 failed, (\d+) not run`).FindStringSubmatch(r.stdout)
	if m == nil || m[1] == "0" || m[2] == "0" {
		t.Fatalf("want some steps applied, one failed and some not run:\n%s", r.stdout)
	}
	if strings.Contains(r.stdout, "Checking again") {
		t.Error("a failed apply went on to re-check as if it had succeeded")
	}

	conn := pgtest.Conn(t, e.c, e.db)
	var replication bool
	var pubs, slots int
	if err := conn.QueryRow(t.Context(), `SELECT (SELECT rolreplication FROM pg_roles WHERE rolname = $1),
		(SELECT count(*) FROM pg_publication), (SELECT count(*) FROM pg_replication_slots WHERE slot_name = $2)`,
		e.user, e.slot).Scan(&replication, &pubs, &slots); err != nil {
		t.Fatal(err)
	}
	if !replication {
		t.Error("the roles step, applied before the failure, was not kept")
	}
	if pubs != 0 || slots != 0 {
		t.Errorf("steps after the failure ran: %d publications, %d slots", pubs, slots)
	}
}

// fakeTerminal is a person at a terminal: lines typed on Stdin, secrets typed
// without echo.
type fakeTerminal struct{ secrets []string }

func (f *fakeTerminal) ReadSecret() (string, error) {
	s := f.secrets[0]
	f.secrets = f.secrets[1:]
	return s, nil
}

// TestFixAsksOnATerminal: anything but "yes" cancels; "yes" applies, and
// the new role's password is read twice without echo and works.
func TestFixAsksOnATerminal(t *testing.T) {
	e := newFixEnv(t)
	args := append(append([]string{"fix", e.superDSN}, e.connectorUserArg...), "--create-user", "--apply")
	interact := func(typed string) runResult {
		var out, errOut bytes.Buffer
		code := RunEnv(args, Env{
			Stdin: strings.NewReader(typed), Stdout: &out, Stderr: &errOut,
			Getenv: func(string) string { return "" }, Terminal: &fakeTerminal{secrets: []string{secret, secret}},
		})
		return runResult{code, out.String(), errOut.String()}
	}
	before := e.fingerprint(t)
	if r := interact("y\n"); r.code != 2 || !strings.Contains(r.stderr, "cancelled") {
		t.Errorf("answer y: exit %d\n%s", r.code, r.stderr)
	}
	if got := e.fingerprint(t); got != before {
		t.Error("a cancelled apply changed the database")
	}
	r := interact("yes\n")
	if r.code == 2 || !strings.Contains(r.stderr, "Only 'yes' is accepted") || !strings.Contains(r.stderr, "Password for the new role") {
		t.Fatalf("answer yes: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	assertNoSecret(t, r)
	if c := run(t, nil, "check", e.connectorDSN, "--slot", e.slot); c.code != 0 {
		t.Errorf("the connector cannot pass a check with the password typed: exit %d\n%s%s", c.code, c.stdout, c.stderr)
	}
}

// TestFixBoundsSlotCreation: creating a slot waits for every transaction
// that was writing when it started. One left open must make the step fail
// after statement_timeout (leaving no slot behind), not hang the apply.
func TestFixBoundsSlotCreation(t *testing.T) {
	e := newFixEnv(t)
	pgtest.Exec(t, e.c, e.db, "CREATE ROLE "+sqlident.Quote(e.user)+" LOGIN")
	// Everything but the slot first, so that the apply below is the slot alone.
	if r := e.fix(t, nil, "--apply", "--yes"); r.code == 2 {
		t.Fatalf("setup apply: exit 2\n%s\n%s", r.stdout, r.stderr)
	}
	pgtest.Exec(t, e.c, e.db, "SELECT pg_drop_replication_slot("+sqlident.Literal(e.slot)+")")

	writer := pgtest.Conn(t, e.c, e.db)
	tx, err := writer.Begin(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tx.Rollback(context.Background()) }()
	if _, err := tx.Exec(t.Context(), "INSERT INTO public.events (payload) VALUES ('in flight')"); err != nil {
		t.Fatal(err)
	}

	r := e.fix(t, nil, "--apply", "--yes", "--statement-timeout", "1s")
	if r.code != 2 || !strings.Contains(r.stdout, "0 applied, 1 failed, 0 not run") {
		t.Fatalf("exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	if !strings.Contains(r.stderr, "57014") || !strings.Contains(r.stderr, "transactions that were writing") {
		t.Errorf("the failure does not explain the wait:\n%s", r.stderr)
	}
	var slots int
	if err := pgtest.Conn(t, e.c, e.db).QueryRow(t.Context(), "SELECT count(*) FROM pg_replication_slots WHERE slot_name = $1", e.slot).Scan(&slots); err != nil {
		t.Fatal(err)
	}
	if slots != 0 {
		t.Error("a cancelled slot creation left a slot behind")
	}
}

// TestFixRefusesToApplyOnAStandby: a standby is read-only; fix plans (the
// plan is still useful to read) but refuses to apply, before any step.
func TestFixRefusesToApplyOnAStandby(t *testing.T) {
	primary := pgtest.ClusterWith(t, "fix-standby-primary", pglocal.Options{TLS: true})
	db := pgtest.NewDatabase(t, primary)
	pgtest.Exec(t, primary, db, "CREATE TABLE public.events (at timestamptz, payload text)")
	sb := pgtest.Standby(t, primary) // after the database exists: the base backup carries it
	r := run(t, nil, "fix", sb.DSN(sb.SuperUser, sb.SuperPassword, db, "require"), "--apply", "--yes")
	if r.code != 2 || !strings.Contains(r.stderr, "standby") || strings.Contains(r.stdout, "Applying") {
		t.Errorf("exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
}
