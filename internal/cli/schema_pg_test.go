package cli

import (
	"bytes"
	"context"
	"os"
	"regexp"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/cdcpreflight/cdcpreflight/internal/pglocal"
	"github.com/cdcpreflight/cdcpreflight/internal/pgtest"
	"github.com/cdcpreflight/cdcpreflight/report"
)

func compileReportSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(report.JSONSchema))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource("schema.json", doc); err != nil {
		t.Fatal(err)
	}
	s, err := c.Compile("schema.json")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func jsonschemaUnmarshal(data []byte) (any, error) {
	return jsonschema.UnmarshalJSON(bytes.NewReader(data))
}

func regexpMatch(pattern, s string) bool { return regexp.MustCompile(pattern).MatchString(s) }

// TestRealReportFollowsTheSchema: the JSON report of a check against a real
// server, with a config that ignores part of a finding and an ignore that
// matches nothing, follows report/schema.json.
func TestRealReportFollowsTheSchema(t *testing.T) {
	c := pgtest.ClusterWith(t, "guide", pglocal.Options{TLS: true})
	db := pgtest.NewDatabase(t, c)
	pgtest.Exec(t, c, db, scenario(t, "app-tables.sql", nil))
	cfg := writeFile(t, "c.yml", `version: 1
ignore:
  - rule: slot-exists
    reason: the connector creates it
    expires: 2099-12-31
  - rule: ssl
    reason: nothing to ignore here
`)
	dir := t.TempDir()
	path := dir + "/r.json"
	r := run(t, nil, "check", c.DSN(c.SuperUser, c.SuperPassword, db, "require"), "--config", cfg, "-o", "json="+path)
	if r.code == exitError {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	rep := decodeReport(t, string(data))
	if len(rep.Results) == 0 || len(rep.Warnings) == 0 || rep.Config == nil || statusOf(rep, "slot-exists") != "pass" {
		t.Errorf("the report lacks what it should show: config %+v, %d warnings, slot-exists %s",
			rep.Config, len(rep.Warnings), statusOf(rep, "slot-exists"))
	}
	validateReport(t, data)
	_ = context.Background()
}
