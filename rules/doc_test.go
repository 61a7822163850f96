package rules

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/cdcpreflight/cdcpreflight/facts"
)

func docRule() Rule {
	r := rule("wal-level", nil)
	r.Title = "wal_level is logical"
	r.Why = "Logical decoding needs it.\nIt changes at start."
	r.Fix = "ALTER SYSTEM SET wal_level = logical;\nthen restart."
	return r
}

func TestExplain(t *testing.T) {
	want := `wal-level — wal_level is logical

Category: server   Default severity: error   Since: 0.1.0

Why it matters
  Logical decoding needs it.
  It changes at start.

How to fix
  ALTER SYSTEM SET wal_level = logical;
  then restart.

Disable or re-grade it in the config file:
  rules:
    wal-level:
      severity: warning   # or: disabled: true

The full page, with the fix per platform, the facts it reads and the PostgreSQL
versions it judges: docs/rules/wal-level.md
  https://github.com/cdcpreflight/cdcpreflight/blob/main/docs/rules/wal-level.md
`
	if got := Explain(docRule()); got != want {
		t.Errorf("Explain:\n%s\nwant:\n%s", got, want)
	}
}

func TestLists(t *testing.T) {
	rs := []Rule{docRule()}
	var md, text, js bytes.Buffer
	if err := ListMarkdown(&md, rs); err != nil {
		t.Fatal(err)
	}
	if want := "| ID | severity | category | checks that |\n|---|---|---|---|\n| `wal-level` | error | server | wal_level is logical |\n"; md.String() != want {
		t.Errorf("ListMarkdown:\n%s", md.String())
	}
	if err := ListText(&text, rs); err != nil {
		t.Fatal(err)
	}
	if lines := strings.Split(strings.TrimSpace(text.String()), "\n"); len(lines) != 2 || !strings.HasPrefix(lines[1], "wal-level  error") {
		t.Errorf("ListText:\n%s", text.String())
	}
	if err := ListJSON(&js, rs); err != nil {
		t.Fatal(err)
	}
	var docs []map[string]string
	if err := json.Unmarshal(js.Bytes(), &docs); err != nil || len(docs) != 1 || docs[0]["why"] != "Logical decoding needs it. It changes at start." {
		t.Errorf("ListJSON: %v %s", err, js.String())
	}
}

func TestPageRanges(t *testing.T) {
	for in, want := range map[string]string{"10 11 12 15": "10–12, 15", "18": "18", "10 12 14": "10, 12, 14", "": ""} {
		var ms []int
		for _, f := range strings.Fields(in) {
			var m int
			_, _ = fmt.Sscan(f, &m)
			ms = append(ms, m)
		}
		if got := ranges(ms); got != want {
			t.Errorf("ranges(%v) = %q, want %q", ms, got, want)
		}
	}
}

func TestPage(t *testing.T) {
	r := docRule()
	r.Needs = []facts.Section{facts.SectionSettings}
	r.MayNeed = []facts.Section{"new_section"}
	page := Page(r, Observed{
		Majors:  []int{10, 11, 12, 13},
		Skipped: map[int]string{10: "PostgreSQL 10 has no <thing>", 11: "PostgreSQL 11 has no <thing>"},
		Fixes: []ObservedFix{{Finding: "wal_level is replica", ByPlatform: []PlatformAdvice{
			{Platforms: []string{"neon"}, Remediation: "Use the console."},
			{Platforms: []string{"self-hosted"}, Remediation: "ALTER SYSTEM.", SQL: []string{"ALTER SYSTEM SET wal_level = logical;"}},
		}}},
	})
	for _, want := range []string{
		"# wal-level\n",
		"| server | error | 0.1.0 | 12–13 |",
		"Judged on PostgreSQL 12–13. On 10–11 it reports `skip`: PostgreSQL 11 has no \\<thing\\>.",
		"#### When: wal_level is replica\n\n- **neon**: Use the console.\n- **self-hosted**: ALTER SYSTEM.\n\n  ```sql\n  ALTER SYSTEM SET wal_level = logical;\n  ```\n",
		"- `settings`: pg_settings",
		"- `new_section` (on some branches only): new_section\n",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q:\n%s", want, page)
		}
	}
}
