package checks_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cdcpreflight/cdcpreflight/checks"
	"github.com/cdcpreflight/cdcpreflight/facts"
	"github.com/cdcpreflight/cdcpreflight/gather"
	"github.com/cdcpreflight/cdcpreflight/internal/pglocal"
	"github.com/cdcpreflight/cdcpreflight/internal/pgtest"
	"github.com/cdcpreflight/cdcpreflight/internal/sqlident"
	"github.com/cdcpreflight/cdcpreflight/rules"
)

// Scenario tests: every rule judged on real PostgreSQL servers set up by
// SQL fixtures under testdata/scenarios.

func TestMain(m *testing.M) {
	code := pgtest.Main(m)
	if afterAll != nil {
		code = afterAll(code)
	}
	os.Exit(code)
}

// afterJudge and afterAll are the differential test's (build tag
// differential): it replays every scenario database judged here with a
// real replication client. Without the tag they are nil.
var afterJudge, afterAll = differentialHooks()

const testPassword = "Sc3nario-pa55word"

// fixture reads a scenario SQL file and fills its placeholders.
func fixture(t *testing.T, name string, fill map[string]string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "testdata", "scenarios", name))
	if err != nil {
		t.Fatal(err)
	}
	sql := string(data)
	for k, v := range fill {
		sql = strings.ReplaceAll(sql, "{"+k+"}", v)
	}
	return sql
}

// judgeDSN gathers facts from dsn and evaluates every rule.
func judgeDSN(t *testing.T, dsn string, expect facts.Options, now time.Time) map[string]rules.Result {
	t.Helper()
	expect = withDefaults(expect)
	if afterJudge != nil {
		afterJudge(t, dsn, expect, now)
	}
	out := map[string]rules.Result{}
	for _, r := range evaluate(t, dsn, expect, now) {
		out[r.Rule] = r
	}
	return out
}

// withDefaults fills the connector's default names, as the CLI does.
func withDefaults(expect facts.Options) facts.Options {
	for _, d := range []struct {
		field *string
		value string
	}{
		{&expect.Slot, "streamkap_pgoutput_slot"}, {&expect.Publication, "streamkap_pub"},
		{&expect.SignalSchema, "streamkap"}, {&expect.SnapshotMode, "auto"},
	} {
		if *d.field == "" {
			*d.field = d.value
		}
	}
	return expect
}

// evaluate is one check: gather from dsn, judge with every rule.
func evaluate(t *testing.T, dsn string, expect facts.Options, now time.Time) []rules.Result {
	t.Helper()
	cfg, err := gather.ParseDSN(dsn)
	if err != nil {
		t.Fatal(err)
	}
	opt := gather.Options{Expect: expect}
	if !now.IsZero() {
		opt.Now = func() time.Time { return now }
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	f := gather.Gather(ctx, cfg, opt)
	reg, err := checks.Registry()
	if err != nil {
		t.Fatal(err)
	}
	return rules.Evaluate(reg, f, nil)
}

// allSupported is a date when every major from 10 to 18 was still
// supported, so server-version passes on each (past it, old majors warn).
var allSupported = time.Date(2022, 6, 1, 0, 0, 0, 0, time.UTC)

// replicationUser creates a login role with REPLICATION on itself.
func replicationUser(t *testing.T, c *pglocal.Cluster, db string) string {
	user := pgtest.UniqueName(t, "repl")
	pgtest.Exec(t, c, db, fixture(t, "replication-user.sql", map[string]string{
		"user": sqlident.Quote(user), "password": sqlident.Literal(testPassword),
	}))
	return user
}

func expectStatus(t *testing.T, got map[string]rules.Result, want map[string]rules.Status) {
	t.Helper()
	for id, w := range want {
		r, ok := got[id]
		if !ok {
			t.Errorf("%s: no result", id)
			continue
		}
		if r.Status != w {
			t.Errorf("%s = %s, want %s: %s", id, r.Status, w, r.Message)
		}
	}
}

// TestScenarioStreamkapGuide runs the guide's SQL as a superuser and
// connects as streamkap_user over TLS: every error-severity rule passes.
func TestScenarioStreamkapGuide(t *testing.T) {
	c := pgtest.ClusterWith(t, "guide", pglocal.Options{TLS: true})
	db := pgtest.NewDatabase(t, c)
	pgtest.Exec(t, c, db, fixture(t, "app-tables.sql", nil))
	pgtest.Exec(t, c, db, fixture(t, "streamkap-guide.sql", map[string]string{
		"password": testPassword, "database": db, "schema": "public",
	}))
	pgtest.Exec(t, c, db, fixture(t, "streamkap-guide-slot.sql", nil))
	t.Cleanup(func() {
		_ = c.Exec(context.Background(), "postgres", "DROP OWNED BY streamkap_role; DROP ROLE streamkap_user; DROP ROLE streamkap_role;")
	})

	got := judgeDSN(t, c.DSN("streamkap_user", testPassword, db, "require"), facts.Options{}, time.Time{})
	for id, r := range got {
		// Error-severity rules pass; warnings (end of life on old majors,
		// replica identity not FULL, …) are advice the guide leaves open.
		if r.Status == rules.StatusFail || r.Status == rules.StatusError ||
			(r.Severity == rules.Error && r.Status != rules.StatusPass && r.Status != rules.StatusSkip) {
			t.Errorf("%s = %s: %s", id, r.Status, r.Message)
		}
	}
	if !strings.Contains(got["replication-capacity"].Message, "already exists") {
		t.Errorf("replication-capacity should see the guide's slot: %s", got["replication-capacity"].Message)
	}
}

func TestScenarioWalLevelReplica(t *testing.T) {
	c := pgtest.ClusterWith(t, "wal-replica", pglocal.Options{TLS: true, WalLevel: "replica"})
	db := pgtest.NewDatabase(t, c)
	user := replicationUser(t, c, db)
	got := judgeDSN(t, c.DSN(user, testPassword, db, "require"), facts.Options{}, time.Time{})
	expectStatus(t, got, map[string]rules.Status{
		"wal-level":              rules.StatusFail,
		"ssl":                    rules.StatusPass,
		"replication-privilege":  rules.StatusPass,
		"replication-connection": rules.StatusPass, // IDENTIFY_SYSTEM works; creating a slot would not
	})
	if !strings.Contains(got["wal-level"].Message, "wal_level is replica") ||
		!strings.Contains(strings.Join(got["wal-level"].FixSQL, ""), "ALTER SYSTEM SET wal_level = logical") {
		t.Errorf("wal-level: %+v", got["wal-level"])
	}
}

func TestScenarioLogicalWithReplicationUser(t *testing.T) {
	c := pgtest.Cluster(t)
	db := pgtest.NewDatabase(t, c)
	user := replicationUser(t, c, db)
	got := judgeDSN(t, c.DSN(user, testPassword, db, "require"), facts.Options{}, allSupported)
	expectStatus(t, got, map[string]rules.Status{
		"server-version": rules.StatusPass, "wal-level": rules.StatusPass, "replication-capacity": rules.StatusPass,
		"ssl": rules.StatusPass, "pooler-hostname": rules.StatusPass,
		"replication-connection": rules.StatusPass, "replication-privilege": rules.StatusPass,
	})
}

// TestScenarioReplicationOnlyThroughMembership: the guide's most common
// slip, skipping ALTER USER … WITH REPLICATION.
func TestScenarioReplicationOnlyThroughMembership(t *testing.T) {
	c := pgtest.Cluster(t)
	db := pgtest.NewDatabase(t, c)
	user, group := pgtest.UniqueName(t, "Cdc User"), pgtest.UniqueName(t, "cdc_group")
	pgtest.Exec(t, c, db, fixture(t, "replication-via-membership.sql", map[string]string{
		"user": sqlident.Quote(user), "group": sqlident.Quote(group), "password": sqlident.Literal(testPassword),
	}))
	got := judgeDSN(t, c.DSN(user, testPassword, db, "require"), facts.Options{}, time.Time{})
	expectStatus(t, got, map[string]rules.Status{
		"replication-privilege":  rules.StatusFail,
		"replication-connection": rules.StatusFail,
	})
	p := got["replication-privilege"]
	if !strings.Contains(p.Message, "not inherited") || !strings.Contains(p.Message, sqlident.Quote(group)) {
		t.Errorf("replication-privilege message: %s", p.Message)
	}
	if want := "ALTER ROLE " + sqlident.Quote(user) + " WITH REPLICATION;"; len(p.FixSQL) != 1 || p.FixSQL[0] != want {
		t.Errorf("fix SQL = %q, want %q", p.FixSQL, want)
	}
	if len(p.Objects) != 1 || p.Objects[0] != "role "+sqlident.Quote(user) {
		t.Errorf("objects = %q", p.Objects)
	}
}

// TestScenarioConnectorUser: an admin judges another role's privileges.
func TestScenarioConnectorUser(t *testing.T) {
	c := pgtest.Cluster(t)
	db := pgtest.NewDatabase(t, c)
	admin := replicationUser(t, c, db)
	other, group := pgtest.UniqueName(t, "cdc"), pgtest.UniqueName(t, "grp")
	pgtest.Exec(t, c, db, fixture(t, "replication-via-membership.sql", map[string]string{
		"user": sqlident.Quote(other), "group": sqlident.Quote(group), "password": sqlident.Literal(testPassword),
	}))
	got := judgeDSN(t, c.DSN(admin, testPassword, db, "require"), facts.Options{ConnectorUser: other}, time.Time{})
	expectStatus(t, got, map[string]rules.Status{"replication-privilege": rules.StatusFail})
	got = judgeDSN(t, c.DSN(admin, testPassword, db, "require"), facts.Options{ConnectorUser: "no such role"}, time.Time{})
	if r := got["replication-privilege"]; r.Status != rules.StatusFail || !strings.Contains(r.Message, "does not exist") {
		t.Errorf("missing connector role: %s %s", r.Status, r.Message)
	}
}

func TestScenarioNoTLS(t *testing.T) {
	c := pgtest.Cluster(t)
	db := pgtest.NewDatabase(t, c)
	user := replicationUser(t, c, db)
	got := judgeDSN(t, c.DSN(user, testPassword, db, "disable"), facts.Options{}, time.Time{})
	expectStatus(t, got, map[string]rules.Status{"ssl": rules.StatusFail, "wal-level": rules.StatusPass})

	tls := judgeDSN(t, c.DSN(user, testPassword, db, "verify-full")+"&sslrootcert="+c.CACertFile, facts.Options{}, time.Time{})
	expectStatus(t, tls, map[string]rules.Status{"ssl": rules.StatusPass})
}

// TestScenarioServerWithoutTLS: sslmode=prefer falls back to plain text
// and the rule says the server has ssl off.
func TestScenarioServerWithoutTLS(t *testing.T) {
	plain := pgtest.ClusterWith(t, "no-tls", pglocal.Options{})
	db := pgtest.NewDatabase(t, plain)
	user := replicationUser(t, plain, db)
	got := judgeDSN(t, plain.DSN(user, testPassword, db, "prefer"), facts.Options{}, time.Time{})
	if r := got["ssl"]; r.Status != rules.StatusFail || !strings.Contains(r.Message, "ssl = off") {
		t.Errorf("ssl = %s: %s", r.Status, r.Message)
	}
}

// TestScenarioPgBouncer: a real PgBouncer in front of the cluster refuses
// the replication connection; ordinary catalog reads still work through it.
func TestScenarioPgBouncer(t *testing.T) {
	c := pgtest.Cluster(t)
	db := pgtest.NewDatabase(t, c)
	user := replicationUser(t, c, db)
	b := pgtest.PgBouncer(t, c, map[string]string{user: testPassword})
	got := judgeDSN(t, b.DSN(user, testPassword, db, "disable"), facts.Options{}, allSupported)
	expectStatus(t, got, map[string]rules.Status{
		"replication-connection": rules.StatusFail,
		"wal-level":              rules.StatusPass,
		"replication-privilege":  rules.StatusPass,
		"server-version":         rules.StatusPass,
	})
	r := got["replication-connection"]
	if !strings.Contains(r.Message, "connection pooler") || !strings.Contains(r.Remediation, "not the pooler") {
		t.Errorf("replication-connection should explain the pooler: %s / %s", r.Message, r.Remediation)
	}
}

// TestScenarioSlotsExhausted: max_replication_slots is used up by another slot.
func TestScenarioSlotsExhausted(t *testing.T) {
	c := pgtest.ClusterWith(t, "one-slot", pglocal.Options{TLS: true, Settings: map[string]string{"max_replication_slots": "1"}})
	db := pgtest.NewDatabase(t, c)
	user := replicationUser(t, c, db)
	pgtest.Exec(t, c, db, "SELECT pg_create_logical_replication_slot('someone_elses', 'pgoutput')")
	got := judgeDSN(t, c.DSN(user, testPassword, db, "require"), facts.Options{}, time.Time{})
	r := got["replication-capacity"]
	if r.Status != rules.StatusFail || !strings.Contains(r.Message, "every replication slot is in use (1 of max_replication_slots 1)") {
		t.Errorf("replication-capacity = %s: %s", r.Status, r.Message)
	}
	// The connector's own slot existing is not a shortage.
	got = judgeDSN(t, c.DSN(user, testPassword, db, "require"), facts.Options{Slot: "someone_elses"}, time.Time{})
	expectStatus(t, got, map[string]rules.Status{"replication-capacity": rules.StatusPass})
}

// TestScenarioNoSlotsAllowed: max_replication_slots = 0 is a server that
// allows no slot at all; the slot fix plans waits for a person.
func TestScenarioNoSlotsAllowed(t *testing.T) {
	c := pgtest.ClusterWith(t, "no-slots", pglocal.Options{TLS: true, Settings: map[string]string{"max_replication_slots": "0"}})
	db := pgtest.NewDatabase(t, c)
	user := replicationUser(t, c, db)
	got := judgeDSN(t, c.DSN(user, testPassword, db, "require"), facts.Options{}, time.Time{})
	if r := got["replication-capacity"]; r.Status != rules.StatusFail || !strings.Contains(r.Message, "max_replication_slots is 0") {
		t.Errorf("replication-capacity = %s: %s", r.Status, r.Message)
	}
	slot := got["slot-exists"]
	if slot.Status != rules.StatusFail || len(slot.Steps) != 1 || !slot.Steps[0].Manual {
		t.Errorf("slot-exists = %s, steps %+v: want a failure whose slot step waits for a person", slot.Status, slot.Steps)
	}
}

// TestScenarioEndOfLife judges a real server at a date past its major's
// community end of life.
func TestScenarioEndOfLife(t *testing.T) {
	c := pgtest.Cluster(t)
	db := pgtest.NewDatabase(t, c)
	user := replicationUser(t, c, db)
	got := judgeDSN(t, c.DSN(user, testPassword, db, "require"), facts.Options{}, time.Date(2031, 1, 1, 0, 0, 0, 0, time.UTC))
	if r := got["server-version"]; r.Status != rules.StatusWarn || !strings.Contains(r.Message, "end of life") {
		t.Errorf("server-version = %s: %s", r.Status, r.Message)
	}
}

// TestScenarioPoolerHostUnreachable: nothing can connect, yet the pooler
// host name is judged; every database rule is an error with the cause.
func TestScenarioPoolerHostUnreachable(t *testing.T) {
	dsn := "postgres://streamkap_user:" + testPassword + "@ep-cool-darkness-123456-pooler.us-east-2.aws.neon.invalid:5432/app?connect_timeout=5"
	got := judgeDSN(t, dsn, facts.Options{}, time.Time{})
	for id, r := range got {
		want := rules.StatusError
		switch id {
		case "pooler-hostname":
			want = rules.StatusFail
		case "connector-config": // no connector configuration to judge
			want = rules.StatusSkip
		}
		if r.Status != want {
			t.Errorf("%s = %s, want %s: %s", id, r.Status, want, r.Message)
		}
		if strings.Contains(r.Message+r.Remediation, testPassword) {
			t.Errorf("%s shows the password", id)
		}
	}
}

// TestScenarioCoverage: every rule has a passing and a non-passing real
// scenario. Each family's scenario file keeps its list next to the tests
// it names.
func TestScenarioCoverage(t *testing.T) {
	covered := map[string][2]string{}
	for _, family := range []map[string][2]string{coreScenarios, standbyScenarios, walRetentionScenarios, snapshotScenarios, publicationScenarios, slotScenarios, tablesScenarios, privilegesScenarios, tunnelScenarios,
		connectorConfigScenarios,
		failoverScenarios, capacityScenarios, horizonScenarios, toastScenarios, poolerScenarios, activityScenarios} {
		for id, sc := range family {
			if _, dup := covered[id]; dup {
				t.Errorf("rule %s listed in two scenario families", id)
			}
			covered[id] = sc
		}
	}
	reg, err := checks.Registry()
	if err != nil {
		t.Fatal(err)
	}
	var src strings.Builder
	files, err := filepath.Glob("scenario*_test.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		src.Write(data)
	}
	for _, id := range reg.IDs() {
		sc, ok := covered[id]
		if !ok {
			t.Errorf("rule %s has no real-PostgreSQL scenario", id)
			continue
		}
		for _, name := range sc {
			if !strings.Contains(src.String(), "func "+name+"(") {
				t.Errorf("rule %s: scenario %s does not exist", id, name)
			}
		}
	}
}

// coreScenarios: rule → {passing scenario, non-passing scenario}.
var coreScenarios = map[string][2]string{
	"server-version":         {"TestScenarioLogicalWithReplicationUser", "TestScenarioEndOfLife"},
	"wal-level":              {"TestScenarioLogicalWithReplicationUser", "TestScenarioWalLevelReplica"},
	"replication-capacity":   {"TestScenarioStreamkapGuide", "TestScenarioSlotsExhausted"},
	"ssl":                    {"TestScenarioNoTLS", "TestScenarioServerWithoutTLS"},
	"pooler-hostname":        {"TestScenarioLogicalWithReplicationUser", "TestScenarioPoolerHostUnreachable"},
	"replication-connection": {"TestScenarioLogicalWithReplicationUser", "TestScenarioPgBouncer"},
	"replication-privilege":  {"TestScenarioStreamkapGuide", "TestScenarioReplicationOnlyThroughMembership"},
}
