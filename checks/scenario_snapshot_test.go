package checks_test

import (
	"context"
	"errors"
	"fmt"
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

// snapshotScenarios: rule → {passing scenario, non-passing scenario}.
var snapshotScenarios = map[string][2]string{
	"signal-table":            {"TestScenarioSnapshotSignalTable", "TestScenarioSnapshotSignalWrongShape"},
	"signal-table-privileges": {"TestScenarioSnapshotSignalTable", "TestScenarioSnapshotSignalPrivileges"},
	"heartbeat-table":         {"TestScenarioSnapshotHeartbeatReady", "TestScenarioSnapshotHeartbeatMissing"},
}

// signalSchema needs quoting everywhere it appears.
const signalSchema = `Stream "Kap"`

// newSnapEnv is a database with an application table in a per-table
// publication, and a non-superuser connector role.
func newSnapEnv(t *testing.T) tbEnv {
	t.Helper()
	return newTbEnv(t, "snapshot-app.sql", "streamkap_pub", nil)
}

// signalTable creates the guide's signal table in signalSchema, granting
// privileges to a group role the connector belongs to.
func (e tbEnv) signalTable(t *testing.T, privileges string) {
	t.Helper()
	pgtest.Exec(t, e.c, e.db, fixture(t, "snapshot-signal.sql", map[string]string{
		"schema": sqlident.Quote(signalSchema), "user": sqlident.Quote(e.user),
		"group": sqlident.Quote(pgtest.UniqueName(t, "signal_group")), "privileges": privileges,
	}))
}

// TestScenarioSnapshotSignalTable: the guide's table, granted through a
// group role, in a schema whose name needs quoting.
func TestScenarioSnapshotSignalTable(t *testing.T) {
	e := newSnapEnv(t)
	e.signalTable(t, "SELECT, INSERT, UPDATE")
	name := sqlident.Quote(signalSchema) + ".streamkap_signal"
	got := e.judgeOpts(t, facts.Options{SignalSchema: signalSchema})
	wantResult(t, got["signal-table"], rules.StatusPass, nil, "signal table "+name+" has the expected shape")
	wantResult(t, got["signal-table-privileges"], rules.StatusPass, nil, "may SELECT, INSERT and UPDATE "+name)
	// The connector can indeed write it.
	if state := e.connectorState(t, "INSERT INTO "+name+" VALUES ('preflight-1', 'log', '{}')"); state != "" {
		t.Errorf("INSERT into the signal table as the connector: SQLSTATE %s", state)
	}

	// signal-table mode judges the same table; read-only mode ignores it
	// from PostgreSQL 13, and cannot work before.
	wantResult(t, e.judgeOpts(t, facts.Options{SignalSchema: signalSchema, SnapshotMode: "signal-table"})["signal-table"], rules.StatusPass, nil)
	ro := e.judgeOpts(t, facts.Options{SignalSchema: signalSchema, SnapshotMode: "read-only"})
	wantResult(t, ro["signal-table-privileges"], rules.StatusSkip, nil)
	if e.c.VersionNum >= 130000 {
		wantResult(t, ro["signal-table"], rules.StatusSkip, nil, "read-only snapshots do not use the signal table")
	} else {
		wantResult(t, ro["signal-table"], rules.StatusFail, nil, "read-only snapshots need PostgreSQL 13")
	}
}

// TestScenarioSnapshotSignalWrongShape: each difference is named, and the
// suggested ALTERs bring the table to the guide's shape.
func TestScenarioSnapshotSignalWrongShape(t *testing.T) {
	e := newSnapEnv(t)
	pgtest.Exec(t, e.c, e.db, fixture(t, "snapshot-signal-wrong.sql", map[string]string{
		"schema": sqlident.Quote(signalSchema), "user": sqlident.Quote(e.user),
	}))
	name := sqlident.Quote(signalSchema) + ".streamkap_signal"
	o := facts.Options{SignalSchema: signalSchema}
	r := e.judgeOpts(t, o)["signal-table"]
	wantResult(t, r, rules.StatusFail, []string{name},
		"column type is character varying(16), expected character varying(32)",
		"column type allows NULL, expected NOT NULL",
		"column data is NOT NULL, expected NULL allowed",
		"no primary key, expected PRIMARY KEY (id)",
		"ALTER TABLE "+name+" ALTER COLUMN type TYPE varchar(32);")
	// fix never runs a DROP, not even DROP NOT NULL: the text hands it to a person.
	dropNotNull := "ALTER TABLE " + name + " ALTER COLUMN data DROP NOT NULL;"
	if strings.Contains(strings.Join(r.FixSQL, "\n"), "DROP") || !strings.Contains(r.Remediation, dropNotNull) {
		t.Errorf("DROP NOT NULL must be in the remediation text only:\n%s\n%q", r.Remediation, r.FixSQL)
	}
	e.applyFix(t, r)
	pgtest.Exec(t, e.c, e.db, dropNotNull)
	wantResult(t, e.judgeOpts(t, o)["signal-table"], rules.StatusPass, nil)

	// A fourth column makes Debezium drop every signal.
	pgtest.Exec(t, e.c, e.db, "ALTER TABLE "+name+" ADD COLUMN created_at timestamptz DEFAULT now()")
	wantResult(t, e.judgeOpts(t, o)["signal-table"], rules.StatusFail, nil, "unexpected column created_at")
}

// TestScenarioSnapshotSignalPrivileges: SELECT alone is not enough; the
// connector's INSERT is refused until the suggested GRANT runs.
func TestScenarioSnapshotSignalPrivileges(t *testing.T) {
	e := newSnapEnv(t)
	e.signalTable(t, "SELECT")
	name := sqlident.Quote(signalSchema) + ".streamkap_signal"
	insert := "INSERT INTO " + name + " VALUES ('preflight-1', 'log', '{}')"
	if state := e.connectorState(t, insert); state != "42501" {
		t.Fatalf("INSERT without the privilege: SQLSTATE %q, want 42501", state)
	}
	o := facts.Options{SignalSchema: signalSchema}
	r := e.judgeOpts(t, o)["signal-table-privileges"]
	wantResult(t, r, rules.StatusFail, []string{name}, "lacks INSERT, UPDATE on "+name,
		"GRANT INSERT, UPDATE ON TABLE "+name+" TO "+sqlident.Quote(e.user)+";")
	e.applyFix(t, r)
	wantResult(t, e.judgeOpts(t, o)["signal-table-privileges"], rules.StatusPass, nil)
	if state := e.connectorState(t, insert); state != "" {
		t.Errorf("INSERT after the GRANT: SQLSTATE %s", state)
	}
}

// TestScenarioSnapshotNoSignalTable: without the table, auto mode warns
// (it needs read-only snapshots, 13+), signal-table mode fails, and its
// fix SQL creates a table that passes both signal rules.
func TestScenarioSnapshotNoSignalTable(t *testing.T) {
	e := newSnapEnv(t)
	o := facts.Options{SignalSchema: signalSchema}
	got := e.judgeOpts(t, o)
	name := sqlident.Quote(signalSchema) + ".streamkap_signal"
	if e.c.VersionNum >= 130000 {
		wantResult(t, got["signal-table"], rules.StatusWarn, []string{name}, "snapshots need Read only = Yes")
	} else {
		wantResult(t, got["signal-table"], rules.StatusFail, []string{name}, "cannot do read-only snapshots")
	}
	wantResult(t, got["signal-table-privileges"], rules.StatusSkip, nil, "does not exist")

	o.SnapshotMode = "signal-table"
	r := e.judgeOpts(t, o)["signal-table"]
	wantResult(t, r, rules.StatusFail, []string{name}, "CREATE SCHEMA IF NOT EXISTS "+sqlident.Quote(signalSchema)+";")
	e.applyFix(t, r)
	got = e.judgeOpts(t, o)
	wantResult(t, got["signal-table"], rules.StatusPass, nil)
	wantResult(t, got["signal-table-privileges"], rules.StatusPass, nil)
}

// TestScenarioSnapshotHeartbeatReady: Streamkap's heartbeat setup passes;
// taking the table out of the publication is reported.
func TestScenarioSnapshotHeartbeatReady(t *testing.T) {
	e := newSnapEnv(t)
	pgtest.Exec(t, e.c, e.db, fixture(t, "snapshot-heartbeat.sql", map[string]string{
		"schema": "streamkap", "user": sqlident.Quote(e.user), "publication": sqlident.Quote(e.pub),
	}))
	o := facts.Options{HeartbeatSchema: "streamkap"}
	wantResult(t, e.judgeOpts(t, o)["heartbeat-table"], rules.StatusPass, nil, "writable by "+sqlident.Quote(e.user)+" and published")
	// Not configured: not judged.
	wantResult(t, e.judge(t)["heartbeat-table"], rules.StatusSkip, nil, "no heartbeat schema configured")

	pgtest.Exec(t, e.c, e.db, "ALTER PUBLICATION streamkap_pub DROP TABLE streamkap.streamkap_heartbeat")
	r := e.judgeOpts(t, o)["heartbeat-table"]
	wantResult(t, r, rules.StatusWarn, []string{"streamkap.streamkap_heartbeat"},
		"is not in publication streamkap_pub", "ALTER PUBLICATION streamkap_pub ADD TABLE streamkap.streamkap_heartbeat;")
}

// TestScenarioSnapshotHeartbeatMissing: a configured heartbeat schema
// without the table warns, and the suggested setup makes it pass.
func TestScenarioSnapshotHeartbeatMissing(t *testing.T) {
	e := newSnapEnv(t)
	o := facts.Options{HeartbeatSchema: "streamkap"}
	r := e.judgeOpts(t, o)["heartbeat-table"]
	wantResult(t, r, rules.StatusWarn, []string{"streamkap.streamkap_heartbeat"},
		"heartbeat table streamkap.streamkap_heartbeat does not exist",
		"GRANT SELECT, INSERT, UPDATE ON TABLE streamkap.streamkap_heartbeat TO "+sqlident.Quote(e.user)+";",
		"ALTER PUBLICATION streamkap_pub ADD TABLE streamkap.streamkap_heartbeat;")
	e.applyFix(t, r)
	wantResult(t, e.judgeOpts(t, o)["heartbeat-table"], rules.StatusPass, nil)
	for _, beat := range []string{
		"UPDATE streamkap.streamkap_heartbeat SET last_update = now()",
		"INSERT INTO streamkap.streamkap_heartbeat (text) VALUES ('beat')",
	} {
		if state := e.connectorState(t, beat); state != "" {
			t.Errorf("the connector's heartbeat %q: SQLSTATE %s", beat, state)
		}
	}
}

// roShow is default_transaction_read_only as the connector's sessions
// have it: what the rule's precedence must agree with.
func (e tbEnv) roShow(t *testing.T) string {
	t.Helper()
	return privQuery(t, e.c, e.user, e.db, "SHOW default_transaction_read_only")
}

// roFix runs a result's fix SQL as the superuser from the postgres
// database: ALTER ROLE is cluster-wide, and a session in a database set
// read-only is read-only itself (the remediation says so).
func (e tbEnv) roFix(t *testing.T, r rules.Result) {
	t.Helper()
	if len(r.FixSQL) == 0 {
		t.Fatalf("%s: no fix SQL (%s)", r.Rule, r.Remediation)
	}
	pgtest.Exec(t, e.c, "postgres", strings.Join(r.FixSQL, "\n"))
}

// TestScenarioSnapshotReadOnlyRole: the signal table is granted, but the
// connector's sessions are read-only, set on the role, on the role in the
// database, or on the database; the rules name the scope that wins, the
// server refuses the insert with 25006, and the fix makes it work.
func TestScenarioSnapshotReadOnlyRole(t *testing.T) {
	e := newSnapEnv(t)
	e.signalTable(t, "SELECT, INSERT, UPDATE")
	pgtest.Exec(t, e.c, e.db, fixture(t, "snapshot-heartbeat.sql", map[string]string{
		"schema": "streamkap", "user": sqlident.Quote(e.user), "publication": sqlident.Quote(e.pub),
	}))
	pgtest.Exec(t, e.c, e.db, fixture(t, "snapshot-read-only.sql", map[string]string{"user": sqlident.Quote(e.user)}))
	role, db := sqlident.Quote(e.user), sqlident.Quote(e.db)
	insert := "INSERT INTO " + sqlident.Quote(signalSchema) + ".streamkap_signal VALUES ('preflight-1', 'log', '{}')"
	beat := "UPDATE streamkap.streamkap_heartbeat SET last_update = now()"
	if state := e.connectorState(t, insert); state != "25006" {
		t.Fatalf("signal INSERT in a read-only session: SQLSTATE %q, want 25006", state)
	}
	if state := e.connectorState(t, beat); state != "25006" {
		t.Fatalf("heartbeat UPDATE in a read-only session: SQLSTATE %q, want 25006", state)
	}
	o := facts.Options{HeartbeatSchema: "streamkap", SignalSchema: signalSchema}
	got := e.judgeOpts(t, o)
	where := "role " + role + ": default_transaction_read_only=on"
	sig := got["signal-table-privileges"]
	wantResult(t, sig, rules.StatusFail, []string{where},
		`"cannot execute INSERT in a read-only transaction" (SQLSTATE 25006)`,
		"ALTER ROLE "+role+" RESET default_transaction_read_only;")
	wantResult(t, got["heartbeat-table"], rules.StatusWarn, []string{where}, "its heartbeat INSERTs and UPDATEs fail")
	// Read-only snapshots use no signal table; heartbeats still write.
	ro := e.judgeOpts(t, facts.Options{HeartbeatSchema: "streamkap", SignalSchema: signalSchema, SnapshotMode: "read-only"})
	wantResult(t, ro["signal-table-privileges"], rules.StatusSkip, nil)
	wantResult(t, ro["heartbeat-table"], rules.StatusWarn, []string{where})

	// The connector may lift its own setting, but only from a session
	// that is not read-only itself, as the remediation says.
	conn, err := pgx.Connect(t.Context(), e.c.DSN(e.user, testPassword, e.db, "require"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = conn.Exec(t.Context(), "ALTER ROLE CURRENT_USER RESET default_transaction_read_only")
	if pgErr := (*pgconn.PgError)(nil); !errors.As(err, &pgErr) || pgErr.Code != "25006" {
		t.Errorf("ALTER ROLE in the connector's read-only session: %v, want SQLSTATE 25006", err)
	}
	for _, sql := range append([]string{"SET default_transaction_read_only = off"}, sig.FixSQL...) {
		if _, err := conn.Exec(t.Context(), sql); err != nil {
			t.Errorf("as the connector: %s: %v", sql, err)
		}
	}
	_ = conn.Close(t.Context())
	if v := e.roShow(t); v != "off" {
		t.Errorf("after the fix the connector's sessions have default_transaction_read_only = %s", v)
	}
	got = e.judgeOpts(t, o)
	wantResult(t, got["signal-table-privileges"], rules.StatusPass, nil)
	wantResult(t, got["heartbeat-table"], rules.StatusPass, nil)

	// IN DATABASE wins over the role's own value.
	pgtest.Exec(t, e.c, "postgres", fmt.Sprintf("ALTER ROLE %s IN DATABASE %s SET default_transaction_read_only = 'true'; ALTER ROLE %[1]s SET default_transaction_read_only = off", role, db))
	if v := e.roShow(t); v != "on" {
		t.Fatalf("role in database on over role off: the connector has %s", v)
	}
	r := e.judgeOpts(t, o)["signal-table-privileges"]
	wantResult(t, r, rules.StatusFail, []string{"role " + role + " in database " + db + ": default_transaction_read_only=true"})
	if want := []string{fmt.Sprintf("ALTER ROLE %s IN DATABASE %s RESET default_transaction_read_only;", role, db)}; !slices.Equal(r.FixSQL, want) {
		t.Errorf("fix SQL = %q, want %q", r.FixSQL, want)
	}
	e.roFix(t, r)
	wantResult(t, e.judgeOpts(t, o)["signal-table-privileges"], rules.StatusPass, nil)

	// The database: the role's own value wins over it, so the fix sets
	// off on the role; the superuser's own session there is read-only too.
	pgtest.Exec(t, e.c, "postgres", fmt.Sprintf("ALTER ROLE %s RESET default_transaction_read_only; ALTER DATABASE %s SET default_transaction_read_only = on", role, db))
	if state := sqlState(t, e.c, e.db, "CREATE TABLE public.t (id int)"); state != "25006" {
		t.Errorf("a write in the read-only database: SQLSTATE %q, want 25006", state)
	}
	got = e.judgeOpts(t, o)
	r = got["signal-table-privileges"]
	wantResult(t, r, rules.StatusFail, []string{"database " + db + ": default_transaction_read_only=on"}, "SET default_transaction_read_only = off; first")
	if want := []string{"ALTER ROLE " + role + " SET default_transaction_read_only = off;"}; !slices.Equal(r.FixSQL, want) {
		t.Errorf("fix SQL = %q, want %q", r.FixSQL, want)
	}
	e.roFix(t, r)
	if v := e.roShow(t); v != "off" {
		t.Errorf("role off over database on: the connector has %s", v)
	}
	if state := e.connectorState(t, insert); state != "" {
		t.Errorf("signal INSERT after the fix: SQLSTATE %s", state)
	}
	// The application's writes fail in a read-only database whatever the
	// connector does: end with the database writable again.
	pgtest.Exec(t, e.c, "postgres", "ALTER DATABASE "+db+" RESET default_transaction_read_only")
	got = e.judgeOpts(t, o)
	wantResult(t, got["signal-table-privileges"], rules.StatusPass, nil)
	wantResult(t, got["heartbeat-table"], rules.StatusPass, nil)
}

// TestScenarioSnapshotReadOnlyEverywhere: ALTER ROLE ALL SET and the
// server's own setting (ALTER SYSTEM) make the connector read-only too; a
// value on the role outranks both. A cluster of its own, whose superuser
// is exempted first so that the test's own sessions stay writable.
func TestScenarioSnapshotReadOnlyEverywhere(t *testing.T) {
	c := pgtest.ClusterWith(t, "read-only", pglocal.Options{TLS: true})
	pgtest.Exec(t, c, "postgres", "ALTER ROLE "+sqlident.Quote(c.SuperUser)+" SET default_transaction_read_only = off")
	t.Cleanup(func() {
		ctx := context.Background()
		_ = c.Exec(ctx, "postgres", "ALTER ROLE ALL RESET default_transaction_read_only")
		_ = c.Exec(ctx, "postgres", "ALTER SYSTEM RESET default_transaction_read_only")
		_ = c.Exec(ctx, "postgres", "SELECT pg_reload_conf()")
	})
	e := tbEnv{c: c, db: pgtest.NewDatabase(t, c), pub: "streamkap_pub"}
	e.user = replicationUser(t, c, e.db)
	pgtest.Exec(t, c, e.db, fixture(t, "snapshot-app.sql", map[string]string{"publication": sqlident.Quote(e.pub)}))
	e.signalTable(t, "SELECT, INSERT, UPDATE")
	role := sqlident.Quote(e.user)
	insert := "INSERT INTO " + sqlident.Quote(signalSchema) + ".streamkap_signal VALUES ('preflight-1', 'log', '{}')"
	off := []string{"ALTER ROLE " + role + " SET default_transaction_read_only = off;"}
	o := facts.Options{SignalSchema: signalSchema}

	pgtest.Exec(t, c, "postgres", "ALTER ROLE ALL SET default_transaction_read_only = on")
	if state := e.connectorState(t, insert); state != "25006" {
		t.Fatalf("signal INSERT under ALTER ROLE ALL: SQLSTATE %q, want 25006", state)
	}
	r := e.judgeOpts(t, o)["signal-table-privileges"]
	wantResult(t, r, rules.StatusFail, []string{"all roles: default_transaction_read_only=on"})
	if !slices.Equal(r.FixSQL, off) {
		t.Errorf("fix SQL = %q, want %q", r.FixSQL, off)
	}
	e.roFix(t, r)
	wantResult(t, e.judgeOpts(t, o)["signal-table-privileges"], rules.StatusPass, nil)

	// The server: ALTER SYSTEM and a reload. Only a session whose value
	// comes from the server shows it (pg_settings.source).
	pgtest.Exec(t, c, "postgres", "ALTER ROLE ALL RESET default_transaction_read_only")
	pgtest.Exec(t, c, "postgres", "ALTER ROLE "+role+" RESET default_transaction_read_only")
	pgtest.Exec(t, c, "postgres", "ALTER SYSTEM SET default_transaction_read_only = on")
	pgtest.Exec(t, c, "postgres", "SELECT pg_reload_conf()")
	deadline := time.Now().Add(10 * time.Second)
	for e.roShow(t) != "on" {
		if time.Now().After(deadline) {
			t.Fatal("the reload never made the connector's sessions read-only")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if state := e.connectorState(t, insert); state != "25006" {
		t.Fatalf("signal INSERT with the server read-only: SQLSTATE %q, want 25006", state)
	}
	r = e.judgeOpts(t, o)["signal-table-privileges"]
	wantResult(t, r, rules.StatusFail, []string{"the server (postgresql.conf or ALTER SYSTEM): default_transaction_read_only=on"})
	if !slices.Equal(r.FixSQL, off) {
		t.Errorf("fix SQL = %q, want %q", r.FixSQL, off)
	}
	e.roFix(t, r)
	if state := e.connectorState(t, insert); state != "" {
		t.Errorf("signal INSERT after the fix: SQLSTATE %s", state)
	}
	wantResult(t, e.judgeOpts(t, o)["signal-table-privileges"], rules.StatusPass, nil)
}
