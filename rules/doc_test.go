package rules

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
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
