package checks

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/cdcpreflight/cdcpreflight/facts"
	"github.com/cdcpreflight/cdcpreflight/gather"
	"github.com/cdcpreflight/cdcpreflight/rules"
)

// stepSQL is the statements of steps, in order.
func stepSQL(steps []rules.Step) []string {
	out := make([]string, len(steps))
	for i, s := range steps {
		out[i] = s.SQL
	}
	return out
}

// unquoted is sql with its string literals and quoted identifiers blanked
// out, so that a name such as "x; DROP TABLE y" counts as neither a second
// statement nor a DROP. Literals come from sqlident.Literal, which doubles
// quotes (and backslashes in E-strings), so doubled quotes are all the
// escaping there is to know.
func unquoted(sql string) string {
	var b strings.Builder
	var in rune
	for _, r := range sql {
		switch {
		case in == 0 && (r == '\'' || r == '"'):
			in = r
		case in != 0 && r == in:
			in = 0 // a doubled quote closes and reopens: the blank between is harmless
		case in == 0:
			b.WriteRune(r)
		}
	}
	return b.String()
}

var (
	dropWord       = regexp.MustCompile(`(?i)\bDROP\b`)
	alterTableWord = regexp.MustCompile(`(?i)^ALTER TABLE\b`)
	publishesTable = regexp.MustCompile(`(?i)^(CREATE PUBLICATION .* FOR TABLE |ALTER PUBLICATION .* (ADD|SET) TABLE )`)
)

// checkStep reports what makes s unfit for fix, which runs steps of many
// rules one by one, in phase order.
func checkStep(s rules.Step) []string {
	var bad []string
	if s.Phase < rules.PhaseSystem || s.Phase > rules.PhaseSlot {
		bad = append(bad, "phase "+s.Phase.String()+" is not one of PhaseSystem..PhaseSlot")
	}
	sql := strings.TrimSpace(s.SQL)
	bare := unquoted(sql)
	if !strings.HasSuffix(sql, ";") || strings.Count(bare, ";") != 1 {
		bad = append(bad, "not exactly one statement ending in ';'")
	}
	if strings.TrimSpace(s.Needs) == "" {
		bad = append(bad, "Needs is empty")
	}
	if dropWord.MatchString(bare) {
		bad = append(bad, "drops something")
	}
	switch s.OptIn {
	case "", rules.OptInAlterSystem, rules.OptInReplicaIdentityFull, rules.OptInSetLogged:
	default:
		bad = append(bad, "unknown opt-in "+s.OptIn)
	}
	if strings.HasPrefix(bare, "ALTER SYSTEM") && (s.OptIn != rules.OptInAlterSystem || !s.NonTransactional || s.Phase != rules.PhaseSystem) {
		bad = append(bad, "ALTER SYSTEM must be PhaseSystem, opt-in allow-alter-system and non-transactional")
	}
	if strings.Contains(bare, "pg_reload_conf") && (s.OptIn != rules.OptInAlterSystem || s.Phase != rules.PhaseSystem) {
		bad = append(bad, "a reload goes with ALTER SYSTEM: PhaseSystem, opt-in allow-alter-system")
	}
	if strings.Contains(bare, "pg_create_logical_replication_slot") && (s.Phase != rules.PhaseSlot || !s.NonTransactional) {
		bad = append(bad, "slot creation must be PhaseSlot and non-transactional")
	}
	if (alterTableWord.MatchString(bare) || publishesTable.MatchString(bare)) && s.Locks == "" {
		bad = append(bad, "takes a lock on user tables but Locks is empty")
	}
	if s.Manual && strings.TrimSpace(s.Note) == "" {
		bad = append(bad, "a manual step must say in its Note what has to happen first")
	}
	return bad
}

// TestCheckStepCatches: the well-formedness check itself rejects what it must.
func TestCheckStepCatches(t *testing.T) {
	ok := rules.Step{Phase: rules.PhaseGrants, SQL: `GRANT SELECT ON public."a;b" TO "x DROP y";`, Needs: "superuser"}
	if bad := checkStep(ok); len(bad) > 0 {
		t.Errorf("a good step is rejected: %q", bad)
	}
	for _, s := range []rules.Step{
		{Phase: rules.PhaseGrants, SQL: "GRANT SELECT ON t TO x; GRANT USAGE ON SCHEMA s TO x;", Needs: "superuser"},
		{Phase: rules.PhaseGrants, SQL: "GRANT SELECT ON t TO x", Needs: "superuser"},
		{Phase: rules.PhaseGrants, SQL: "GRANT SELECT ON t TO x;"},
		{SQL: "GRANT SELECT ON t TO x;", Needs: "superuser"},
		{Phase: rules.PhaseHelpers, SQL: "ALTER TABLE t ALTER COLUMN c DROP NOT NULL;", Needs: "superuser", Locks: "ACCESS EXCLUSIVE on t"},
		{Phase: rules.PhaseIdentity, SQL: "ALTER TABLE t REPLICA IDENTITY FULL;", Needs: "superuser"},
		{Phase: rules.PhaseSystem, SQL: "ALTER SYSTEM SET wal_level = logical;", Needs: "superuser", OptIn: rules.OptInAlterSystem},
		{Phase: rules.PhaseSlot, SQL: "SELECT pg_create_logical_replication_slot('s', 'pgoutput');", Needs: "superuser"},
		{Phase: rules.PhasePublication, SQL: "ALTER PUBLICATION p ADD TABLE t;", Needs: "superuser"},
	} {
		if len(checkStep(s)) == 0 {
			t.Errorf("a bad step passes: %+v", s)
		}
	}
}

// stepSnapshots are every fact-snapshot case's facts, and the platform
// snapshots', by name.
func stepSnapshots(t *testing.T) map[string]*facts.Facts {
	t.Helper()
	out := map[string]*facts.Facts{}
	for _, family := range caseFamilies {
		for _, tc := range family {
			f := healthy()
			if tc.mutate != nil {
				tc.mutate(f)
			}
			out[tc.rule+"/"+tc.name] = f
		}
	}
	files, err := filepath.Glob("../testdata/platforms/*.json")
	if err != nil {
		t.Fatal(err)
	}
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		var snap platformSnapshot
		if err := json.Unmarshal(data, &snap); err != nil {
			t.Fatal(err)
		}
		f := healthy()
		f.Settings.Values = nil
		if err := json.Unmarshal(snap.Facts, f); err != nil {
			t.Fatal(err)
		}
		f.Platform = gather.DetectPlatform(gather.Signals{Host: snap.Signals.Host, Settings: snap.Signals.Settings,
			Roles: snap.Signals.Roles, AuroraVersion: snap.Signals.AuroraVersion})
		out["platform/"+filepath.Base(file)] = f
	}
	return out
}

func evalAll(t *testing.T, f *facts.Facts) []rules.Result {
	t.Helper()
	reg, err := Registry()
	if err != nil {
		t.Fatal(err)
	}
	return rules.Evaluate(reg, f, nil)
}

// TestStepsAreWellFormed: every step any rule proposes, on every snapshot
// the tests know, is one statement fix can run on its own, in its phase.
func TestStepsAreWellFormed(t *testing.T) {
	steps := 0
	byRule := map[string]int{}
	for name, f := range stepSnapshots(t) {
		for _, r := range evalAll(t, f) {
			for _, s := range r.Steps {
				steps++
				byRule[r.Rule]++
				for _, bad := range checkStep(s) {
					t.Errorf("%s: %s: %s: %s", name, r.Rule, bad, s.SQL)
				}
			}
			if len(r.Steps) > 0 && (r.Status == rules.StatusPass || r.Status == rules.StatusSkip) {
				t.Errorf("%s: %s is %s yet has steps", name, r.Rule, r.Status)
			}
		}
	}
	t.Logf("%d steps: %v", steps, byRule)
	if steps < 50 {
		t.Errorf("only %d steps seen: the snapshots no longer exercise the fixes", steps)
	}
}

// stepsOf returns the steps of rule id.
func stepsOf(t *testing.T, results []rules.Result, id string) []rules.Step {
	t.Helper()
	for _, r := range results {
		if r.Rule == id {
			return r.Steps
		}
	}
	t.Fatalf("no rule %s", id)
	return nil
}

func sqlWith(steps []rules.Step, substr string) []string {
	var out []string
	for _, s := range steps {
		if strings.Contains(s.SQL, substr) {
			out = append(out, s.SQL)
		}
	}
	return out
}
