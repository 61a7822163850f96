package cli

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cdcpreflight/cdcpreflight/checks"
	"github.com/cdcpreflight/cdcpreflight/internal/pgtest"
	"github.com/cdcpreflight/cdcpreflight/report"
	"github.com/cdcpreflight/cdcpreflight/rules"
)

func TestMain(m *testing.M) {
	// The test binary is also cdcpreflight, for tests that need a process
	// of its own (a signal, a terminal): see cliCommand.
	if os.Getenv(runAsCLIEnv) == "1" {
		os.Exit(Run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
	}
	os.Exit(pgtest.Main(m))
}

type runResult struct {
	code           int
	stdout, stderr string
}

func run(t testing.TB, env map[string]string, args ...string) runResult {
	t.Helper()
	var out, errOut bytes.Buffer
	code := RunEnv(args, Env{
		Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errOut,
		Getenv: func(k string) string { return env[k] },
	})
	return runResult{code, out.String(), errOut.String()}
}

func decodeReport(t *testing.T, s string) report.JSONReport {
	t.Helper()
	rep, err := report.DecodeJSON(strings.NewReader(s))
	if err != nil {
		t.Fatalf("decode JSON report: %v\n%s", err, s)
	}
	return rep
}

func statusOf(rep report.JSONReport, rule string) string {
	for _, r := range rep.Results {
		if r.Rule == rule {
			return string(r.Status)
		}
	}
	return "missing"
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// demoFacts is a snapshot gathered from the demo's database: a real PG 15
// where the connector role lacks REPLICATION.
const demoFacts = "../../testdata/facts/demo-pg15.json"

func TestHelpAndVersion(t *testing.T) {
	for _, args := range [][]string{{"--help"}, {"help"}, {"check", "--help"}, {"rules", "--help"}, {"explain", "--help"}, {"demo", "--help"}, {"help", "check"}} {
		r := run(t, nil, args...)
		if r.code != 0 || !strings.Contains(r.stdout, "Usage") {
			t.Errorf("%v: code %d, stdout %q, stderr %q", args, r.code, r.stdout, r.stderr)
		}
	}
	r := run(t, nil, "check", "--help")
	for _, flag := range []string{"--dsn", "--config", "--output", "--fail-on", "--exit-zero", "--timeout", "--no-color",
		"--slot", "--publication", "--signal-schema", "--heartbeat-schema", "--snapshot-mode", "--connector-user",
		"--tables", "--tables-file", "Exit codes"} {
		if !strings.Contains(r.stdout, flag) {
			t.Errorf("check --help lacks %s", flag)
		}
	}
	for _, args := range [][]string{{"version"}, {"--version"}} {
		if r := run(t, nil, args...); r.code != 0 || !strings.HasPrefix(r.stdout, "cdcpreflight "+Version) {
			t.Errorf("%v: %d %q", args, r.code, r.stdout)
		}
	}
}

func TestRulesAndExplain(t *testing.T) {
	reg, err := checks.Registry()
	if err != nil {
		t.Fatal(err)
	}
	r := run(t, nil, "rules")
	for _, id := range reg.IDs() {
		if !strings.Contains(r.stdout, id) {
			t.Errorf("rules output lacks %s", id)
		}
		e := run(t, nil, "explain", id)
		if e.code != 0 || !strings.Contains(e.stdout, "Why it matters") || !strings.Contains(e.stdout, "How to fix") {
			t.Errorf("explain %s: %d %q", id, e.code, e.stderr)
		}
		// explain points to the rule's page, which exists.
		if page := rules.PagePath(id); !strings.Contains(e.stdout, page) || !strings.Contains(e.stdout, rules.PageURL(id)) {
			t.Errorf("explain %s does not point to %s", id, page)
		} else if _, err := os.Stat(filepath.Join("..", "..", filepath.FromSlash(page))); err != nil {
			t.Errorf("explain %s points to a missing page: %v", id, err)
		}
	}
	var docs []map[string]any
	if err := json.Unmarshal([]byte(run(t, nil, "rules", "--format", "json").stdout), &docs); err != nil || len(docs) != len(reg.IDs()) {
		t.Errorf("rules --format json: %v, %d docs", err, len(docs))
	}
	e := run(t, nil, "explain", "wal-levl")
	if e.code != 2 || !strings.Contains(e.stderr, `unknown rule "wal-levl"`) || !strings.Contains(e.stderr, "wal-level") {
		t.Errorf("explain of an unknown rule: %d %q", e.code, e.stderr)
	}
	if e := run(t, nil, "explain"); e.code != 2 {
		t.Errorf("explain without a rule: %d", e.code)
	}
}

// TestREADMERuleTable keeps the README's rule table generated from the registry.
func TestREADMERuleTable(t *testing.T) {
	reg, err := checks.Registry()
	if err != nil {
		t.Fatal(err)
	}
	var want bytes.Buffer
	if err := rules.ListMarkdown(&want, reg.All()); err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(readme, want.Bytes()) {
		t.Errorf("README.md's rule table is out of date; paste the output of 'cdcpreflight rules --format markdown':\n%s", want.String())
	}
}

func TestUsageErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"chek"}, "neither a command nor a connection string"},
		{[]string{"check", "--fail-on", "sometimes"}, "want error or warning"},
		{[]string{"check", "--output", "pdf"}, "unknown report format"},
		{[]string{"check", "--snapshot-mode", "eventually"}, "want auto, read-only or signal-table"},
		{[]string{"check", "--no-such-flag"}, "unknown flag"},
		{[]string{"check", "--tables", "public."}, "empty table name"},
		{[]string{"check", "host=a", "host=b"}, "at most one DSN"},
		{[]string{"check", "--dsn", "host=a", "host=b"}, "not both"},
		{[]string{"check", "--config", "/nonexistent/cdcpreflight.yml"}, "read config"},
		{[]string{"version", "x"}, "unexpected argument"},
	} {
		r := run(t, nil, tc.args...)
		if r.code != 2 || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("%v: code %d, stderr %q; want 2 and %q", tc.args, r.code, r.stderr, tc.want)
		}
	}
}

func TestConfigStrictDecoding(t *testing.T) {
	cfg := writeFile(t, "c.yml", "slot: s\npublication: p\nfail_onn: warning\n")
	r := run(t, nil, "check", "--config", cfg, "--facts", demoFacts)
	if r.code != 2 || !strings.Contains(r.stderr, `line 3: unknown key "fail_onn"`) {
		t.Errorf("code %d, stderr %q", r.code, r.stderr)
	}
	cfg = writeFile(t, "c.yml", "rules:\n  wal-levl:\n    disabled: true\n")
	if r := run(t, nil, "check", "--config", cfg, "--facts", demoFacts); r.code != 2 || !strings.Contains(r.stderr, `unknown rule "wal-levl"`) {
		t.Errorf("unknown rule in config: %d %q", r.code, r.stderr)
	}
	cfg = writeFile(t, "c.yml", "rules:\n  wal-level:\n    severity: loud\n")
	if r := run(t, nil, "check", "--config", cfg, "--facts", demoFacts); r.code != 2 || !strings.Contains(r.stderr, "unknown severity") {
		t.Errorf("bad severity: %d %q", r.code, r.stderr)
	}
	if r := run(t, nil, "check", "--config", writeFile(t, "empty.yml", ""), "--facts", demoFacts, "-o", "json"); r.code != 1 {
		t.Errorf("empty config: %d %q", r.code, r.stderr)
	}
}

// TestOfflineSnapshot judges a saved snapshot: exit codes, rule config,
// flags over file, several outputs at once.
func TestOfflineSnapshot(t *testing.T) {
	r := run(t, nil, "check", "--facts", demoFacts, "-o", "json")
	if r.code != 1 {
		t.Fatalf("code %d, stderr %q", r.code, r.stderr)
	}
	rep := decodeReport(t, r.stdout)
	if statusOf(rep, "replication-privilege") != "fail" || statusOf(rep, "wal-level") != "pass" {
		t.Errorf("unexpected results: %+v", rep.Results)
	}
	if rep.Target.Database != "shop" || rep.Target.Platform != "self-hosted" || !strings.HasPrefix(rep.Target.ServerVersion, "15.") {
		t.Errorf("target = %+v", rep.Target)
	}

	if r := run(t, nil, "check", "--facts", demoFacts, "--exit-zero"); r.code != 0 {
		t.Errorf("--exit-zero: %d", r.code)
	}

	// Config downgrades replication-privilege to a warning and disables
	// every other failing rule: exit 0 at fail-on error, 1 at fail-on
	// warning; the flag overrides the file.
	cfgText := "fail_on: error\nrules:\n  replication-privilege:\n    severity: warning\n"
	for _, res := range rep.Results {
		if res.Status == "fail" && res.Rule != "replication-privilege" {
			cfgText += "  " + res.Rule + ":\n    disabled: true\n"
		}
	}
	cfg := writeFile(t, "c.yml", cfgText)
	r = run(t, nil, "check", "--config", cfg, "--facts", demoFacts, "-o", "json")
	rep = decodeReport(t, r.stdout)
	if r.code != 0 || statusOf(rep, "replication-privilege") != "warn" || statusOf(rep, "replication-connection") != "skip" {
		t.Errorf("config severity/disable: code %d, %+v", r.code, rep.Summary)
	}
	if r := run(t, nil, "check", "--config", cfg, "--facts", demoFacts, "--fail-on", "warning"); r.code != 1 {
		t.Errorf("--fail-on warning over the file: %d", r.code)
	}

	dir := t.TempDir()
	jsonPath, junitPath := filepath.Join(dir, "r.json"), filepath.Join(dir, "r.xml")
	r = run(t, map[string]string{"NO_COLOR": "1"}, "check", "--facts", demoFacts,
		"--output", "table", "--output", "json="+jsonPath, "--output", "junit="+junitPath)
	if r.code != 1 || !strings.Contains(r.stdout, "replication-privilege") || strings.Contains(r.stdout, "\x1b[") {
		t.Errorf("table on stdout: code %d\n%s", r.code, r.stdout)
	}
	data, err := os.ReadFile(jsonPath)
	if err != nil {
		t.Fatal(err)
	}
	decodeReport(t, string(data))
	data, err = os.ReadFile(junitPath)
	if err != nil || !bytes.HasPrefix(data, []byte("<?xml")) || !bytes.Contains(data, []byte(`name="replication-privilege"`)) {
		t.Errorf("junit file: %v\n%s", err, data)
	}
	if r := run(t, nil, "check", "--facts", demoFacts, "-o", "json="+filepath.Join(dir, "missing", "r.json")); r.code != 2 {
		t.Errorf("unwritable output: %d", r.code)
	}
}

func TestTablesFileErrorsNameFileAndLine(t *testing.T) {
	p := writeFile(t, "tables.csv", "public,orders\npublic,orders,extra\n")
	r := run(t, nil, "check", "--facts", demoFacts, "--tables-file", p)
	if r.code != 2 || !strings.Contains(r.stderr, p) || !strings.Contains(r.stderr, "line 2") {
		t.Errorf("code %d, stderr %q", r.code, r.stderr)
	}
}
