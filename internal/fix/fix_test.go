package fix

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/cdcpreflight/cdcpreflight/facts"
	"github.com/cdcpreflight/cdcpreflight/rules"
)

func finding(rule, msg string, steps ...rules.Step) rules.Result {
	return rules.Result{Rule: rule, Status: rules.StatusFail, Severity: rules.Error, Message: msg,
		Remediation: "Do the thing for " + rule + ".", Steps: steps}
}

func connected() *facts.Facts {
	return &facts.Facts{Connect: facts.Probe{Attempted: true}, Role: facts.Role{Name: "streamkap_user", Exists: true},
		Options: facts.Options{ConnectorUser: "streamkap_user"}}
}

func TestBuildOrdersDedupsAndGatesSteps(t *testing.T) {
	slot := rules.Step{Phase: rules.PhaseSlot, SQL: "SELECT pg_create_logical_replication_slot('s', 'pgoutput');", Needs: "superuser", NonTransactional: true}
	addSignal := rules.Step{Phase: rules.PhasePublication, SQL: "ALTER PUBLICATION p ADD TABLE streamkap.streamkap_signal;", Needs: "owner"}
	results := []rules.Result{
		finding("slot-exists", "no slot", slot),
		finding("publication-signal-table", "signal missing", addSignal),
		finding("heartbeat-table", "heartbeat", addSignal), // the same statement from another rule
		finding("replication-privilege", "no replication", rules.Step{Phase: rules.PhaseRoles, SQL: "ALTER ROLE u WITH REPLICATION;", Needs: "superuser"}),
		finding("wal-retention-limit", "no cap", rules.Step{Phase: rules.PhaseSystem, SQL: "ALTER SYSTEM SET max_slot_wal_keep_size = '10GB';",
			Needs: "superuser", OptIn: rules.OptInAlterSystem, NonTransactional: true}),
		finding("unlogged-tables", "unlogged", rules.Step{Phase: rules.PhaseIdentity, SQL: "ALTER TABLE t SET LOGGED;", Needs: "owner",
			Locks: "ACCESS EXCLUSIVE on t", OptIn: rules.OptInSetLogged}),
		finding("server-version", "too old"),
		{Rule: "ssl", Status: rules.StatusPass},
		{Rule: "slot-peek", Status: rules.StatusError, Message: "timeout"},
	}
	p := Build(results, connected(), Options{OptIns: map[string]bool{rules.OptInSetLogged: true}}, "")
	var got []string
	for _, s := range p.Steps {
		got = append(got, s.Phase.String()+": "+s.SQL+" ["+strings.Join(s.Rules, ",")+"]")
	}
	want := []string{
		"roles: ALTER ROLE u WITH REPLICATION; [replication-privilege]",
		"replica identity: ALTER TABLE t SET LOGGED; [unlogged-tables]",
		"publication: ALTER PUBLICATION p ADD TABLE streamkap.streamkap_signal; [publication-signal-table,heartbeat-table]",
		"replication slot: SELECT pg_create_logical_replication_slot('s', 'pgoutput'); [slot-exists]",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("steps:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	var manual []string
	for _, m := range p.Manual {
		manual = append(manual, m.Rule+": "+m.Reason)
	}
	if want := "wal-retention-limit: fix runs this only with --allow-alter-system\nserver-version: no SQL fixes this"; strings.Join(manual, "\n") != want {
		t.Errorf("manual steps:\n%s\nwant:\n%s", strings.Join(manual, "\n"), want)
	}
	if len(p.Incomplete) != 1 || p.Incomplete[0].Rule != "slot-peek" {
		t.Errorf("incomplete: %v", p.Incomplete)
	}
	if !p.Pending() {
		t.Error("the plan is pending")
	}
	if (Plan{}).Pending() {
		t.Error("an empty plan is not pending")
	}
}

func TestBuildManualAndRestartSteps(t *testing.T) {
	results := []rules.Result{
		finding("wal-level", "wal_level is replica", rules.Step{Phase: rules.PhaseSystem, SQL: "ALTER SYSTEM SET wal_level = logical;",
			Needs: "superuser", OptIn: rules.OptInAlterSystem, NonTransactional: true, Restart: true}),
		finding("slot-exists", "no slot", rules.Step{Phase: rules.PhaseSlot, SQL: "SELECT 1;", Needs: "superuser", Manual: true,
			Note: "after wal_level is logical"}),
	}
	p := Build(results, connected(), Options{OptIns: map[string]bool{rules.OptInAlterSystem: true}}, "")
	if len(p.Steps) != 1 || p.Steps[0].SQL != "ALTER SYSTEM SET wal_level = logical;" {
		t.Fatalf("steps: %+v", p.Steps)
	}
	if len(p.Manual) != 2 || !strings.Contains(p.Manual[0].Reason, "restart") ||
		p.Manual[1].Reason != "after wal_level is logical" || p.Manual[1].SQL[0] != "SELECT 1;" {
		t.Errorf("manual: %+v", p.Manual)
	}
}

// TestCreateRoleNeverShowsThePassword: the plan shows '********'; the
// statement run carries a SCRAM verifier, not the password.
func TestCreateRoleNeverShowsThePassword(t *testing.T) {
	f := connected()
	f.Role = facts.Role{Name: `stream"kap`}
	results := []rules.Result{finding("replication-privilege", "role does not exist")}
	const password = "correct horse battery staple"
	p := Build(results, f, Options{CreateUser: true}, password)
	if len(p.Steps) != 1 {
		t.Fatalf("steps: %+v", p.Steps)
	}
	s := p.Steps[0]
	if s.SQL != `CREATE ROLE "stream""kap" WITH LOGIN PASSWORD '********';` {
		t.Errorf("shown: %s", s.SQL)
	}
	if strings.Contains(s.Exec(), password) || !strings.HasPrefix(s.Exec(), `CREATE ROLE "stream""kap" WITH LOGIN PASSWORD 'SCRAM-SHA-256$4096:`) {
		t.Errorf("run: %s", s.Exec())
	}
	var b bytes.Buffer
	if err := WriteScript(&b, p, Header{}); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(b.String(), password) || strings.Contains(b.String(), "SCRAM-SHA-256$") {
		t.Errorf("the script shows the password or its verifier:\n%s", b.String())
	}
	if Build(results, f, Options{}, password).Pending() && len(Build(results, f, Options{}, password).Steps) != 0 {
		t.Error("without --create-user no role is created")
	}
	// A non-ASCII password is left to the server's SASLprep.
	if got := passwordLiteral("pässwort"); got != "pässwort" {
		t.Errorf("non-ASCII: %q", got)
	}
}

// TestEvaluateSeesThePlannedRole: with --create-user a missing role is
// judged as the role CREATE ROLE makes, so its grants are planned too.
func TestEvaluateSeesThePlannedRole(t *testing.T) {
	reg, err := rules.NewRegistry(rules.Rule{ID: "probe", Title: "Probe", Category: rules.CategoryPrivileges, Severity: rules.Error,
		Since: "0.1.0", Why: "w", Fix: "f", Needs: []facts.Section{facts.SectionRole}, Eval: func(f *facts.Facts) rules.Outcome {
			if f.Role.Exists {
				return rules.Finding("exists")
			}
			return rules.Skip("missing")
		}})
	if err != nil {
		t.Fatal(err)
	}
	f := connected()
	f.Role = facts.Role{Name: "new_role"}
	if got := Evaluate(reg, f, nil, Options{CreateUser: true})[0].Status; got != rules.StatusFail {
		t.Errorf("with --create-user: %s", got)
	}
	if got := Evaluate(reg, f, nil, Options{})[0].Status; got != rules.StatusSkip {
		t.Errorf("without: %s", got)
	}
	if f.Role.Exists {
		t.Error("Evaluate changed the caller's facts")
	}
}

// TestScriptKeepsDatabaseTextInComments: a name holding a line break cannot
// end a comment and become a statement when the script is run with psql.
func TestScriptKeepsDatabaseTextInComments(t *testing.T) {
	hostile := "public.\"x\nDROP TABLE users; --\""
	step := rules.Step{Phase: rules.PhaseIdentity, SQL: "ALTER TABLE " + hostile + " REPLICA IDENTITY FULL;", Needs: "owner\rDROP TABLE a;",
		Locks: "ACCESS EXCLUSIVE on " + hostile, Note: "n\nDROP TABLE b;"}
	r := finding("replica-identity", "no identity on "+hostile, step)
	r.Remediation = "Fix " + hostile
	manual := finding("server-version", "old\nDROP TABLE c;")
	p := Build([]rules.Result{r, manual}, connected(), Options{}, "")
	var b bytes.Buffer
	if err := WriteScript(&b, p, Header{Tool: "cdcpreflight test", Target: "u@h:5432/d\nDROP TABLE d;", LockTimeout: 5 * time.Second,
		StmtTimeout: time.Minute}); err != nil {
		t.Fatal(err)
	}
	statements := strings.Split(step.SQL, "\n")
	for _, line := range strings.Split(b.String(), "\n") {
		switch {
		case line == "", strings.HasPrefix(line, "--"), strings.HasPrefix(line, "SET "):
		case line == statements[0], line == statements[1]:
		default:
			t.Errorf("line outside a comment: %q\n%s", line, b.String())
		}
	}
	if strings.Contains(b.String(), "\r") {
		t.Error("a carriage return survived")
	}
}

// TestScramVerifier matches a verifier computed independently (Python's
// hashlib.pbkdf2_hmac with the same salt), in PostgreSQL's format.
func TestScramVerifier(t *testing.T) {
	got := scramVerifierWithSalt("secret", []byte("0123456789abcdef"), 4096)
	const want = "SCRAM-SHA-256$4096:MDEyMzQ1Njc4OWFiY2RlZg==$" + scramStoredKey + ":" + scramServerKey
	if got != want {
		t.Errorf("verifier\n got %s\nwant %s", got, want)
	}
	if a, b := scramVerifier("x"), scramVerifier("x"); a == b {
		t.Error("two verifiers of one password share a salt")
	}
}

// Computed with Python: pbkdf2_hmac("sha256", b"secret", b"0123456789abcdef", 4096), then
// StoredKey = SHA256(HMAC(salted, "Client Key")) and ServerKey = HMAC(salted, "Server Key").
const (
	scramStoredKey = "bpSY5Ze9NUH+I35LC3gVq+DpBfK46iXBxvhAKqVu9pE="
	scramServerKey = "VpYlBuxyzeCI1KnctrefdljpB1mk3Gp7sBI/t11+NkQ="
)

// TestBuildReloadsAfterTheLastSetting: two reloadable ALTER SYSTEMs share
// one pg_reload_conf, which must come after both.
func TestBuildReloadsAfterTheLastSetting(t *testing.T) {
	set := func(sql string) rules.Step {
		return rules.Step{Phase: rules.PhaseSystem, SQL: sql, Needs: "superuser", OptIn: rules.OptInAlterSystem, NonTransactional: true}
	}
	reloadStep := set(reload)
	results := []rules.Result{
		finding("standby", "feedback off", set("ALTER SYSTEM SET hot_standby_feedback = on;"), reloadStep),
		finding("wal-retention-limit", "no cap", set("ALTER SYSTEM SET max_slot_wal_keep_size = '10GB';"), reloadStep),
		finding("replication-privilege", "no replication", rules.Step{Phase: rules.PhaseRoles, SQL: "ALTER ROLE u WITH REPLICATION;", Needs: "superuser"}),
	}
	p := Build(results, connected(), Options{OptIns: map[string]bool{rules.OptInAlterSystem: true}}, "")
	var got []string
	for _, s := range p.Steps {
		got = append(got, s.SQL)
	}
	want := []string{"ALTER SYSTEM SET hot_standby_feedback = on;", "ALTER SYSTEM SET max_slot_wal_keep_size = '10GB';", reload, "ALTER ROLE u WITH REPLICATION;"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("steps:\n%s", strings.Join(got, "\n"))
	}
	if r := p.Steps[2].Rules; len(r) != 2 {
		t.Errorf("the reload fixes both rules: %v", r)
	}
}

// TestBuildDeclinedWarnings: a warning fixed only by an opt-in left off is
// shown but not pending; a failure is pending whatever fixes it.
func TestBuildDeclinedWarnings(t *testing.T) {
	full := rules.Step{Phase: rules.PhaseIdentity, SQL: "ALTER TABLE t REPLICA IDENTITY FULL;", Needs: "owner", Locks: "ACCESS EXCLUSIVE on t",
		OptIn: rules.OptInReplicaIdentityFull}
	warn := finding("replica-identity-full", "not full", full)
	warn.Status = rules.StatusWarn
	p := Build([]rules.Result{warn}, connected(), Options{}, "")
	if p.Pending() || len(p.Declined) != 1 {
		t.Errorf("declined warning: pending %v, declined %v", p.Pending(), p.Declined)
	}
	if p := Build([]rules.Result{finding("replica-identity-full", "not full", full)}, connected(), Options{}, ""); !p.Pending() {
		t.Error("a failing rule with an opt-in fix is still pending")
	}
	if p := Build([]rules.Result{warn}, connected(), Options{OptIns: map[string]bool{rules.OptInReplicaIdentityFull: true}}, ""); len(p.Steps) != 1 {
		t.Errorf("opted in: %v", p.Steps)
	}
}

// TestEvaluateSeesUnloggedPartitionsLogged: with --set-logged, a partition
// captured through its partitioned table is judged logged like any other
// captured table unlogged-tables makes logged, so the one plan also holds
// the steps it needs once logged (here: its replica identity).
func TestEvaluateSeesUnloggedPartitionsLogged(t *testing.T) {
	reg, err := rules.NewRegistry(rules.Rule{ID: "probe", Title: "Probe", Category: rules.CategoryTables, Severity: rules.Error,
		Since: "0.1.0", Why: "w", Fix: "f", Needs: []facts.Section{facts.SectionTables}, Eval: func(f *facts.Facts) rules.Outcome {
			for _, l := range f.Tables.Leaves() {
				if l.InCapture && !l.Unlogged() && !l.UsableIdentity() {
					return rules.Finding("%s has no replica identity", l.Quoted).
						WithSteps("Give it one.", rules.Step{Phase: rules.PhaseIdentity, SQL: "ALTER TABLE " + l.Quoted + " REPLICA IDENTITY FULL;"})
				}
			}
			return rules.Pass("fine")
		}})
	if err != nil {
		t.Fatal(err)
	}
	f := connected()
	f.Tables.Tables = []facts.Table{
		{Quoted: "public.events", Kind: 'p', Persistence: 'p', Captured: true, ReplicaIdentity: 'd'},
		facts.Table{Quoted: "public.events_2026", Kind: 'r', Persistence: 'u', ReplicaIdentity: 'd'}.WithRare(facts.RareFacts{PartitionOf: "public.events"}),
	}
	setLogged := Options{OptIns: map[string]bool{rules.OptInSetLogged: true}}
	if got := Evaluate(reg, f, nil, setLogged)[0].Status; got != rules.StatusFail {
		t.Errorf("with --set-logged: %s, want the partition judged as logged", got)
	}
	if got := Evaluate(reg, f, nil, Options{})[0].Status; got != rules.StatusPass {
		t.Errorf("without: %s", got)
	}
	if f.Tables.Tables[1].Persistence != 'u' {
		t.Error("Evaluate changed the caller's facts")
	}
}
