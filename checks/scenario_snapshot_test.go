package checks_test

import (
	"strings"
	"testing"

	"github.com/cdcpreflight/cdcpreflight/facts"
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
