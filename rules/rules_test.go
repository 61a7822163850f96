package rules

import (
	"strings"
	"testing"

	"github.com/cdcpreflight/cdcpreflight/facts"
)

func rule(id string, eval func(*facts.Facts) Outcome) Rule {
	return Rule{ID: id, Title: "A rule", Category: CategoryServer, Severity: Error, Since: "0.1.0",
		Why: "It matters.", Fix: "Fix it.", Needs: []facts.Section{facts.SectionTarget}, Eval: eval}
}

func TestNewRegistryRejectsDuplicatesAndUndocumented(t *testing.T) {
	ok := func(*facts.Facts) Outcome { return Pass("fine") }
	if _, err := NewRegistry(rule("a", ok), rule("a", ok)); err == nil || !strings.Contains(err.Error(), "duplicate") {
		t.Errorf("duplicate IDs: %v", err)
	}
	undocumented := rule("b", ok)
	undocumented.Why = ""
	if _, err := NewRegistry(undocumented); err == nil || !strings.Contains(err.Error(), "why it matters") {
		t.Errorf("no docs: %v", err)
	}
	for _, bad := range []Rule{
		func() Rule { r := rule("Bad_ID", ok); return r }(),
		func() Rule { r := rule("c", ok); r.Title = "Ends with a period."; return r }(),
		func() Rule { r := rule("d", ok); r.Category = "misc"; return r }(),
		func() Rule { r := rule("e", ok); r.Eval = nil; return r }(),
	} {
		if _, err := NewRegistry(bad); err == nil {
			t.Errorf("rule %q accepted", bad.ID)
		}
	}
	reg, err := NewRegistry(rule("a", ok), rule("b", ok))
	if err != nil || strings.Join(reg.IDs(), ",") != "a,b" {
		t.Fatalf("registry: %v %v", reg, err)
	}
}

// TestNewRegistryRejectsUndeclaredNeeds: a rule says what it needs, in
// section names the runner knows.
func TestNewRegistryRejectsUndeclaredNeeds(t *testing.T) {
	ok := func(*facts.Facts) Outcome { return Pass("fine") }
	needs := func(id string, needs, mayNeed []facts.Section) Rule {
		r := rule(id, ok)
		r.Needs, r.MayNeed = needs, mayNeed
		return r
	}
	for _, tc := range []struct {
		rule Rule
		want string
	}{
		{needs("none", nil, nil), "no Needs"},
		{needs("only-branches", nil, []facts.Section{facts.SectionRole}), "no Needs"},
		{needs("unknown", []facts.Section{"servers"}, nil), `unknown fact section "servers"`},
		{needs("twice", []facts.Section{facts.SectionRole, facts.SectionRole}, nil), "listed twice"},
		{needs("both", []facts.Section{facts.SectionRole}, []facts.Section{facts.SectionRole}), "listed twice"},
		{needs("connect-and", []facts.Section{facts.SectionConnect, facts.SectionRole}, nil), "stand alone"},
		{needs("target-and", []facts.Section{facts.SectionServer, facts.SectionTarget}, nil), "stand alone"},
	} {
		if _, err := NewRegistry(tc.rule); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.rule.ID, err, tc.want)
		}
	}
	if _, err := NewRegistry(
		needs("connect", []facts.Section{facts.SectionConnect}, []facts.Section{facts.SectionSignalTable}),
		needs("sections", []facts.Section{facts.SectionServer, facts.SectionTables}, nil),
	); err != nil {
		t.Error(err)
	}
}

// TestNeedsAreCheckedBeforeEval: the runner reports a rule whose needed
// facts are missing as error, with the catalog connection's failure
// first and then the first missing section in the rule's order, and
// never runs its Eval on them.
func TestNeedsAreCheckedBeforeEval(t *testing.T) {
	judged := map[string]bool{}
	needing := func(id string, sections ...facts.Section) Rule {
		r := rule(id, func(*facts.Facts) Outcome { judged[id] = true; return Pass("judged") })
		r.Needs = sections
		return r
	}
	reg, err := NewRegistry(
		needing("target", facts.SectionTarget),
		needing("connect", facts.SectionConnect),
		needing("server", facts.SectionServer),
		needing("tables-then-server", facts.SectionTables, facts.SectionServer),
		needing("server-then-tables", facts.SectionServer, facts.SectionTables),
		needing("settings", facts.SectionSettings),
	)
	if err != nil {
		t.Fatal(err)
	}
	verdicts := func(f *facts.Facts) map[string]string {
		clear(judged)
		out := map[string]string{}
		for _, r := range Evaluate(reg, f, nil) {
			out[r.Rule] = string(r.Status) + ": " + r.Message
			if judged[r.Rule] != (r.Status == StatusPass) {
				t.Errorf("%s: %s, but Eval ran: %v", r.Rule, r.Status, judged[r.Rule])
			}
		}
		return out
	}
	for _, tc := range []struct {
		name string
		f    *facts.Facts
		want map[string]string
	}{
		{"never connected", &facts.Facts{}, map[string]string{
			"target":             "pass: judged",
			"connect":            "error: gather: no connection was attempted",
			"server":             "error: gather: no connection was attempted",
			"tables-then-server": "error: gather: no connection was attempted",
		}},
		{"connection refused", &facts.Facts{
			Connect: facts.Probe{Attempted: true, Err: &facts.Error{Op: "connect", Message: "refused", SQLState: "28P01"}},
			Server:  facts.Server{Err: &facts.Error{Op: "read server", Message: "not read"}},
		}, map[string]string{
			"target": "pass: judged",
			"server": "error: could not connect: refused (SQLSTATE 28P01)",
		}},
		{"sections failed", &facts.Facts{
			Connect: facts.Probe{Attempted: true},
			Server:  facts.Server{Err: &facts.Error{Op: "read server", Message: "denied", SQLState: "42501"}},
			Tables:  facts.Tables{Err: &facts.Error{Op: "read tables", Message: "timeout"}},
		}, map[string]string{
			"connect":            "pass: judged",
			"server":             "error: read server: denied (SQLSTATE 42501)",
			"tables-then-server": "error: read tables: timeout",
			"server-then-tables": "error: read server: denied (SQLSTATE 42501)",
			"settings":           "pass: judged",
		}},
	} {
		got := verdicts(tc.f)
		for id, want := range tc.want {
			if got[id] != want {
				t.Errorf("%s: %s = %q, want %q", tc.name, id, got[id], want)
			}
		}
	}
}

func TestEvaluate(t *testing.T) {
	reg, err := NewRegistry(
		rule("finds", func(*facts.Facts) Outcome { return Finding("broken").WithObjects("x") }),
		rule("warns", func(*facts.Facts) Outcome { return Finding("old").WithSeverity(Warning) }),
		rule("panics", func(*facts.Facts) Outcome { panic("boom") }),
		rule("passes", func(*facts.Facts) Outcome { return Pass("ok") }),
		rule("disabled", func(*facts.Facts) Outcome { return Finding("never judged") }),
		rule("downgraded", func(*facts.Facts) Outcome { return Finding("minor") }),
		rule("lies", func(*facts.Facts) Outcome { return Outcome{Status: "maybe"} }),
	)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]Result{}
	for _, r := range Evaluate(reg, &facts.Facts{}, map[string]RuleConfig{
		"disabled": {Disabled: true}, "downgraded": {Severity: Info},
	}) {
		got[r.Rule] = r
	}
	for id, want := range map[string]Status{
		"finds": StatusFail, "warns": StatusWarn, "panics": StatusError, "passes": StatusPass,
		"disabled": StatusSkip, "downgraded": StatusWarn, "lies": StatusError,
	} {
		if got[id].Status != want {
			t.Errorf("%s = %s, want %s (%s)", id, got[id].Status, want, got[id].Message)
		}
	}
	if got["finds"].Remediation != "Fix it." {
		t.Errorf("a finding without its own remediation falls back to the rule's: %q", got["finds"].Remediation)
	}
	if !strings.Contains(got["panics"].Message, "boom") {
		t.Errorf("panic message: %q", got["panics"].Message)
	}
	if got["downgraded"].Severity != Info {
		t.Errorf("severity override: %s", got["downgraded"].Severity)
	}

	all := Evaluate(reg, &facts.Facts{}, nil)
	if s := Summarize(all); s.Fail != 3 || s.Warn != 1 || s.Error != 2 || s.Pass != 1 {
		t.Errorf("summary %+v", s)
	}
	if ExitCode(all, Error) != 2 {
		t.Error("an errored rule must make the exit code 2")
	}
}

func TestExitCode(t *testing.T) {
	warn := Result{Status: StatusWarn, Severity: Warning}
	info := Result{Status: StatusWarn, Severity: Info}
	fail := Result{Status: StatusFail, Severity: Error}
	for _, tc := range []struct {
		results []Result
		failOn  Severity
		want    int
	}{
		{nil, Error, 0},
		{[]Result{warn, info}, Error, 0},
		{[]Result{warn}, Warning, 1},
		{[]Result{info}, Warning, 0},
		{[]Result{fail}, Error, 1},
		{[]Result{warn}, 0, 0}, // unset fail-on means error
	} {
		if got := ExitCode(tc.results, tc.failOn); got != tc.want {
			t.Errorf("ExitCode(%v, %s) = %d, want %d", tc.results, tc.failOn, got, tc.want)
		}
	}
}

func TestParseSeverity(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Severity
	}{{"error", Error}, {"Warning", Warning}, {"warn", Warning}, {" info ", Info}} {
		if got, err := ParseSeverity(tc.in); err != nil || got != tc.want {
			t.Errorf("ParseSeverity(%q) = %s, %v", tc.in, got, err)
		}
	}
	if _, err := ParseSeverity("loud"); err == nil {
		t.Error("unknown severity accepted")
	}
}

// TestFixSQLFromSteps: reports show the steps' SQL, behind a lock_timeout
// when any step waits for a lock the application may hold.
func TestFixSQLFromSteps(t *testing.T) {
	grant := Step{Phase: PhaseGrants, SQL: "GRANT SELECT ON t TO u;", Needs: "owner"}
	alter := Step{Phase: PhaseIdentity, SQL: "ALTER TABLE t REPLICA IDENTITY FULL;", Needs: "owner", Locks: "ACCESS EXCLUSIVE on t"}
	reg, err := NewRegistry(
		rule("grants", func(*facts.Facts) Outcome { return Finding("x").WithSteps("do", grant) }),
		rule("alters", func(*facts.Facts) Outcome { return Finding("x").WithSteps("do", grant, alter) }),
	)
	if err != nil {
		t.Fatal(err)
	}
	got := Evaluate(reg, &facts.Facts{}, nil)
	if want := []string{grant.SQL}; strings.Join(got[0].FixSQL, " ") != strings.Join(want, " ") || len(got[0].Steps) != 1 {
		t.Errorf("grants: %q", got[0].FixSQL)
	}
	if want := []string{ddlLockTimeout, grant.SQL, alter.SQL}; strings.Join(got[1].FixSQL, " ") != strings.Join(want, " ") {
		t.Errorf("alters: %q", got[1].FixSQL)
	}
}

// TestStepsBuiltOnDemandFailInTheRule: a check builds a rule's per-table
// steps only as a report reads them, but a step that cannot be built still
// fails its rule during evaluation (error, with the runner's message), not
// the report writer afterwards.
func TestStepsBuiltOnDemandFailInTheRule(t *testing.T) {
	broken := rule("broken", func(*facts.Facts) Outcome {
		return Finding("two tables").WithStepSeq("Fix them.", func(yield func(Step) bool) {
			if !yield(Step{Phase: PhaseIdentity, SQL: "ALTER TABLE a REPLICA IDENTITY FULL;", Needs: "owner", Locks: "ACCESS EXCLUSIVE on a"}) {
				return
			}
			var tables []string
			yield(Step{Phase: PhaseIdentity, SQL: "ALTER TABLE " + tables[1] + ";", Needs: "owner"})
		})
	})
	reg, err := NewRegistry(broken)
	if err != nil {
		t.Fatal(err)
	}
	for _, opt := range []EvalOptions{{}, {SQLOnly: true}} {
		got := EvaluateWith(reg, &facts.Facts{}, nil, opt)[0]
		if got.Status != StatusError || !strings.Contains(got.Message, "rule crashed") || got.HasFix() {
			t.Errorf("SQLOnly %v: %s %q, fix %v", opt.SQLOnly, got.Status, got.Message, got.HasFix())
		}
	}
}
