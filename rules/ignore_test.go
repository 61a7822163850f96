package rules

import (
	"slices"
	"strings"
	"testing"
	"time"
)

var today = time.Date(2026, 6, 1, 15, 0, 0, 0, time.UTC)

func day(s string) time.Time {
	d, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return d
}

func findings() []Result {
	return []Result{
		{Rule: "tables", Status: StatusFail, Severity: Error, Message: "3 tables",
			Objects: []string{"public.audit_log", "public.audit_2024", `public."Order Items"`},
			FixSQL:  []string{"ALTER …"}, Steps: []Step{{SQL: "ALTER …"}}, Remediation: "do it"},
		{Rule: "setting", Status: StatusWarn, Severity: Warning, Message: "w", Objects: []string{"setting wal_level"},
			FixSQL: []string{"ALTER SYSTEM …"}, Steps: []Step{{SQL: "ALTER SYSTEM …"}}},
		{Rule: "bare", Status: StatusFail, Severity: Error, Message: "no objects"},
		{Rule: "fine", Status: StatusPass, Severity: Error, Message: "ok"},
		{Rule: "na", Status: StatusSkip, Severity: Error, Message: "n/a"},
		{Rule: "broken", Status: StatusError, Severity: Error, Message: "permission denied"},
	}
}

func byRule(rs []Result, id string) Result {
	for _, r := range rs {
		if r.Rule == id {
			return r
		}
	}
	panic(id)
}

func TestApplyIgnores(t *testing.T) {
	for _, tc := range []struct {
		name     string
		ignores  []Ignore
		rule     string
		status   Status
		objects  []string
		ignored  []Ignored
		warnings []string // substrings, one per warning, in order
	}{
		{name: "exact object", rule: "tables", status: StatusFail,
			ignores: []Ignore{{Rule: "tables", Objects: []string{"public.audit_log"}, Reason: "append-only"}},
			objects: []string{"public.audit_2024", `public."Order Items"`},
			ignored: []Ignored{{Objects: []string{"public.audit_log"}, Reason: "append-only"}}},
		{name: "glob covers some", rule: "tables", status: StatusFail,
			ignores: []Ignore{{Rule: "tables", Objects: []string{"public.audit_*"}, Reason: "audit"}},
			objects: []string{`public."Order Items"`},
			ignored: []Ignored{{Objects: []string{"public.audit_log", "public.audit_2024"}, Reason: "audit"}}},
		{name: "every object ignored passes", rule: "tables", status: StatusPass,
			ignores: []Ignore{
				{Rule: "tables", Objects: []string{"public.audit_*"}, Reason: "audit"},
				{Rule: "tables", Objects: []string{`public."Order Items"`}, Reason: "legacy", Expires: day("2026-12-31")},
			},
			objects: []string{},
			ignored: []Ignored{{Objects: []string{"public.audit_log", "public.audit_2024"}, Reason: "audit"},
				{Objects: []string{`public."Order Items"`}, Reason: "legacy", Expires: "2026-12-31"}}},
		{name: "no objects: the whole finding", rule: "setting", status: StatusPass,
			ignores: []Ignore{{Rule: "setting", Reason: "managed"}},
			objects: []string{},
			ignored: []Ignored{{Objects: []string{"setting wal_level"}, Reason: "managed"}}},
		{name: "a finding without objects", rule: "bare", status: StatusPass,
			ignores: []Ignore{{Rule: "bare", Reason: "known"}},
			ignored: []Ignored{{Objects: []string{}, Reason: "known"}}},
		{name: "object patterns cannot cover a finding without objects", rule: "bare", status: StatusFail,
			ignores:  []Ignore{{Rule: "bare", Objects: []string{"*"}, Reason: "known", Where: "ignore entry 1"}},
			warnings: []string{`ignore entry 1 for rule bare: "*" matched no object`}},
		{name: "expired yesterday", rule: "setting", status: StatusWarn, objects: []string{"setting wal_level"},
			ignores:  []Ignore{{Rule: "setting", Reason: "managed", Expires: day("2026-05-31"), Where: "ignore entry 1 (c.yml, line 3)"}},
			warnings: []string{"ignore entry 1 (c.yml, line 3) for rule setting expired on 2026-05-31 and no longer applies: its finding counts again (its reason: managed)"}},
		{name: "expires today: still holds", rule: "setting", status: StatusPass, objects: []string{},
			ignores: []Ignore{{Rule: "setting", Reason: "managed", Expires: day("2026-06-01")}},
			ignored: []Ignored{{Objects: []string{"setting wal_level"}, Reason: "managed", Expires: "2026-06-01"}}},
		{name: "expires next year", rule: "setting", status: StatusPass, objects: []string{},
			ignores: []Ignore{{Rule: "setting", Reason: "managed", Expires: day("2027-01-01")}},
			ignored: []Ignored{{Objects: []string{"setting wal_level"}, Reason: "managed", Expires: "2027-01-01"}}},
		{name: "unused: the rule passes", rule: "fine", status: StatusPass,
			ignores:  []Ignore{{Rule: "fine", Reason: "old", Where: "ignore entry 1"}},
			warnings: []string{"ignore entry 1 for rule fine matched no finding: remove it"}},
		{name: "unused: the rule is skipped", rule: "na", status: StatusSkip,
			ignores:  []Ignore{{Rule: "na", Reason: "old", Where: "ignore entry 1"}},
			warnings: []string{"ignore entry 1 for rule na matched no finding"}},
		{name: "unused pattern next to a used one", rule: "tables", status: StatusFail,
			objects:  []string{"public.audit_2024", `public."Order Items"`},
			ignores:  []Ignore{{Rule: "tables", Objects: []string{"public.audit_log", "public.gone", "x.*"}, Reason: "r", Where: "ignore entry 1"}},
			ignored:  []Ignored{{Objects: []string{"public.audit_log"}, Reason: "r"}},
			warnings: []string{`ignore entry 1 for rule tables: "public.gone", "x.*" matched no object of its findings: remove them, or correct the names`}},
		{name: "an error is never ignored, and nobody can tell it unused", rule: "broken", status: StatusError,
			ignores: []Ignore{{Rule: "broken", Reason: "flaky"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := findings()
			out, warnings := ApplyIgnores(in, tc.ignores, today)
			r := byRule(out, tc.rule)
			if r.Status != tc.status {
				t.Errorf("status = %s, want %s", r.Status, tc.status)
			}
			if tc.objects != nil && !slices.Equal(r.Objects, tc.objects) {
				t.Errorf("objects = %q, want %q", r.Objects, tc.objects)
			}
			if len(r.Ignored) != len(tc.ignored) {
				t.Fatalf("ignored = %+v, want %+v", r.Ignored, tc.ignored)
			}
			for i := range tc.ignored {
				g, w := r.Ignored[i], tc.ignored[i]
				if !slices.Equal(g.Objects, w.Objects) || g.Reason != w.Reason || g.Expires != w.Expires {
					t.Errorf("ignored[%d] = %+v, want %+v", i, g, w)
				}
			}
			if r.Status == StatusPass && len(r.Ignored) > 0 && (r.FixSQL != nil || r.Steps != nil || r.Remediation != "") {
				t.Error("an ignored finding keeps its fix: fix would plan it")
			}
			if len(warnings) != len(tc.warnings) {
				t.Fatalf("warnings = %+v, want %d", warnings, len(tc.warnings))
			}
			for i, w := range tc.warnings {
				if !strings.Contains(warnings[i].Message, w) {
					t.Errorf("warning %d = %q, want it to contain %q", i, warnings[i].Message, w)
				}
			}
			// The input is left as it was.
			if !slices.EqualFunc(in, findings(), func(a, b Result) bool { return a.Status == b.Status && slices.Equal(a.Objects, b.Objects) }) {
				t.Error("ApplyIgnores changed its input")
			}
		})
	}
}

func TestIgnoreWarningsCarryTheirPlace(t *testing.T) {
	_, w := ApplyIgnores(findings(), []Ignore{
		{Rule: "fine", Reason: "x", File: "/r/.cdcpreflight.yml", Line: 7},
		{Rule: "tables", Reason: "x", Expires: day("2020-01-01"), File: "/r/.cdcpreflight.yml", Line: 9},
	}, today)
	if len(w) != 2 || w[0].Kind != WarningIgnoreExpired || w[0].Line != 9 || w[1].Kind != WarningIgnoreUnused || w[1].Line != 7 || w[1].File != "/r/.cdcpreflight.yml" {
		t.Errorf("warnings = %+v", w)
	}
}

func TestExitCodeAfterIgnores(t *testing.T) {
	all := []Ignore{{Rule: "tables", Reason: "x"}, {Rule: "setting", Reason: "x"}, {Rule: "bare", Reason: "x"}, {Rule: "fine", Reason: "unused"}}
	rs := slices.DeleteFunc(findings(), func(r Result) bool { return r.Rule == "broken" })
	out, warnings := ApplyIgnores(rs, all, today)
	// Config warnings are not findings: even at fail-on warning they do not fail the run.
	if len(warnings) != 1 || ExitCode(out, Warning) != 0 {
		t.Errorf("exit %d with warnings %+v, want 0", ExitCode(out, Warning), warnings)
	}
	// An expired ignore's finding counts again, with its own severity.
	all[1].Expires = day("2026-01-01")
	out, _ = ApplyIgnores(rs, all, today)
	if ExitCode(out, Error) != 0 || ExitCode(out, Warning) != 1 {
		t.Errorf("expired ignore of a warning: exit %d at error, %d at warning", ExitCode(out, Error), ExitCode(out, Warning))
	}
}
