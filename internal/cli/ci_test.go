package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cdcpreflight/cdcpreflight/report"
)

// runIn runs cdcpreflight with dir as the working directory (where config
// discovery starts) and a fixed clock.
func runIn(t testing.TB, dir string, env map[string]string, args ...string) runResult {
	t.Helper()
	var out, errOut bytes.Buffer
	code := RunEnv(args, Env{
		Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errOut,
		Getenv: func(k string) string { return env[k] },
		Dir:    dir,
		Now:    func() time.Time { return time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC) },
	})
	return runResult{code, out.String(), errOut.String()}
}

func mkfile(t *testing.T, path, content string) string {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// absDemoFacts is demoFacts for runs whose working directory is elsewhere.
func absDemoFacts(t *testing.T) string {
	p, err := filepath.Abs(demoFacts)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestConfigDiscovery: --config, then $CDCPREFLIGHT_CONFIG, then
// .cdcpreflight.yml or .yaml from the working directory up to the
// repository root; --no-config turns the last two off.
func TestConfigDiscovery(t *testing.T) {
	facts := absDemoFacts(t)
	top := t.TempDir()
	// Above the repository: never found from inside it.
	mkfile(t, filepath.Join(top, ".cdcpreflight.yml"), "fail_on: warning\n")
	repo := filepath.Join(top, "repo")
	if err := os.MkdirAll(filepath.Join(repo, ".git"), 0o755); err != nil {
		t.Fatal(err)
	}
	deep := filepath.Join(repo, "services", "orders", "db")
	if err := os.MkdirAll(deep, 0o755); err != nil {
		t.Fatal(err)
	}
	// The repository's config downgrades every failing rule of the demo
	// snapshot, so it is visible in the exit code: 0 with it, 1 without.
	var relax strings.Builder
	relax.WriteString("version: 1\nrules:\n")
	for _, r := range decodeReport(t, runIn(t, deep, nil, "check", "--facts", facts, "-o", "json").stdout).Results {
		if r.Status == "fail" {
			relax.WriteString("  " + r.Rule + ":\n    severity: warning\n")
		}
	}
	repoCfg := mkfile(t, filepath.Join(repo, ".cdcpreflight.yml"), relax.String())

	configOf := func(r runResult) *report.ConfigFile {
		t.Helper()
		return decodeReport(t, r.stdout).Config
	}

	r := runIn(t, deep, nil, "check", "--facts", facts, "-o", "json", "--verbose")
	if c := configOf(r); r.code != 0 || c == nil || c.Path != repoCfg || c.Source != "discovered" {
		t.Fatalf("from a subdirectory: code %d, config %+v, stderr %q", r.code, c, r.stderr)
	}
	if want := "cdcpreflight: config " + repoCfg + " (found from the working directory)\n"; r.stderr != want {
		t.Errorf("--verbose: %q, want %q", r.stderr, want)
	}

	// --no-config: the snapshot's findings fail again; the JSON says no config.
	r = runIn(t, deep, map[string]string{configEnv: repoCfg}, "check", "--facts", facts, "-o", "json", "--no-config", "-v")
	if c := configOf(r); r.code != 1 || c != nil || !strings.Contains(r.stderr, "no config file (--no-config)") {
		t.Errorf("--no-config: code %d, config %+v, stderr %q", r.code, c, r.stderr)
	}
	if !strings.Contains(runIn(t, deep, nil, "check", "--facts", facts, "-o", "json", "--no-config").stdout, `"config": null`) {
		t.Error("without a config the JSON report's config is not null")
	}

	// $CDCPREFLIGHT_CONFIG beats discovery; --config beats both.
	envCfg := mkfile(t, filepath.Join(t.TempDir(), "env.yml"), "fail_on: error\n")
	flagCfg := mkfile(t, filepath.Join(t.TempDir(), "flag.yml"), "fail_on: error\n")
	r = runIn(t, deep, map[string]string{configEnv: envCfg}, "check", "--facts", facts, "-o", "json", "-v")
	if c := configOf(r); c == nil || c.Path != envCfg || c.Source != "env" || !strings.Contains(r.stderr, "($CDCPREFLIGHT_CONFIG)") {
		t.Errorf("$%s: %+v %q", configEnv, c, r.stderr)
	}
	r = runIn(t, deep, map[string]string{configEnv: envCfg}, "check", "--facts", facts, "-o", "json", "--config", flagCfg, "-v")
	if c := configOf(r); c == nil || c.Path != flagCfg || c.Source != "flag" || !strings.Contains(r.stderr, "(--config)") {
		t.Errorf("--config: %+v %q", c, r.stderr)
	}
	if r := runIn(t, deep, nil, "check", "--facts", facts, "--config", flagCfg, "--no-config"); r.code != 2 || !strings.Contains(r.stderr, "contradict") {
		t.Errorf("--config with --no-config: %d %q", r.code, r.stderr)
	}

	// Discovery stops at the repository root: the file above it is not used.
	if err := os.Remove(repoCfg); err != nil {
		t.Fatal(err)
	}
	r = runIn(t, deep, nil, "check", "--facts", facts, "-o", "json", "-v")
	if c := configOf(r); c != nil || !strings.Contains(r.stderr, "no config file: no .cdcpreflight.yml or .cdcpreflight.yaml from "+deep+" up to "+repo) {
		t.Errorf("stop at .git: config %+v, stderr %q", c, r.stderr)
	}

	// .yaml is found too; both in one directory is an error, not a guess.
	yamlCfg := mkfile(t, filepath.Join(repo, "services", ".cdcpreflight.yaml"), "fail_on: error\n")
	if c := configOf(runIn(t, deep, nil, "check", "--facts", facts, "-o", "json")); c == nil || c.Path != yamlCfg {
		t.Errorf(".yaml: %+v", c)
	}
	mkfile(t, filepath.Join(repo, "services", ".cdcpreflight.yml"), "fail_on: error\n")
	if r := runIn(t, deep, nil, "check", "--facts", facts); r.code != 2 || !strings.Contains(r.stderr, "both .cdcpreflight.yml and .cdcpreflight.yaml exist in "+filepath.Join(repo, "services")) {
		t.Errorf("both names: %d %q", r.code, r.stderr)
	}

	// A worktree's .git is a file: discovery stops there too.
	wt := filepath.Join(top, "wt")
	mkfile(t, filepath.Join(wt, ".git"), "gitdir: /elsewhere\n")
	if r := runIn(t, wt, nil, "check", "--facts", facts, "-o", "json"); configOf(r) != nil {
		t.Errorf("worktree: found %+v above the .git file", configOf(r))
	}

	// demo makes its own database and never picks up a repository's config.
	cf := newCheckFlags("demo", os.Stderr)
	cf.noDiscovery = true
	mkfile(t, filepath.Join(wt, ".cdcpreflight.yml"), "fail_on: warning\n")
	if opt, err := cf.resolve(nil, Env{Getenv: func(string) string { return "" }, Dir: wt, Stderr: os.Stderr}); err != nil || opt.Config != nil {
		t.Errorf("demo discovered %+v (%v)", opt.Config, err)
	}
}

func TestConfigVersion(t *testing.T) {
	facts := absDemoFacts(t)
	for _, tc := range []struct {
		text, err string
	}{
		{"version: 1\n", ""},
		{"version: \"1\"\n", ""},
		{"version:\n", ""},
		{"slot: s\nversion: 2\n", `line 2: version 2: this cdcpreflight reads version 1 config files`},
		{"version: one\n", `line 1: version "one": want 1`},
		{"version: [1]\n", `version "": want 1`},
	} {
		r := runIn(t, t.TempDir(), nil, "check", "--facts", facts, "-o", "json", "--config", writeFile(t, "c.yml", tc.text))
		switch {
		case tc.err == "" && r.code == 2:
			t.Errorf("%q: refused: %s", tc.text, r.stderr)
		case tc.err != "" && (r.code != 2 || !strings.Contains(r.stderr, tc.err)):
			t.Errorf("%q: code %d, stderr %q; want %q", tc.text, r.code, r.stderr, tc.err)
		}
	}
}

// TestIgnores: the config's ignore entries, end to end on the demo snapshot
// (run "today" = 2026-06-01).
func TestIgnores(t *testing.T) {
	facts := absDemoFacts(t)
	dir := t.TempDir()
	cfg := mkfile(t, filepath.Join(dir, ".cdcpreflight.yml"), `version: 1
ignore:
  - rule: replication-privilege
    reason: the connector role gets REPLICATION from the platform team, ticket OPS-12
  - rule: table-select
    objects: [public.audit_log]
    reason: audit rows are not captured
    expires: 2026-12-31
  - rule: publication-coverage
    objects: ["public.*"]
    reason: the publication is managed elsewhere
    expires: 2026-06-01
  - rule: slot-exists
    reason: created at deploy
    expires: 2026-05-31
  - rule: wal-level
    reason: left over
  - rule: replica-identity-full
    objects: [public.customers, "archive.*"]
    reason: customers keep their key
`)
	r := runIn(t, dir, nil, "check", "--facts", facts, "-o", "json")
	rep := decodeReport(t, r.stdout)
	byRule := map[string]report.JSONResult{}
	for _, res := range rep.Results {
		byRule[res.Rule] = res
	}
	// A finding an entry without objects covers passes, and says why.
	if res := byRule["replication-privilege"]; res.Status != "pass" || len(res.Ignored) != 1 ||
		res.Ignored[0].Reason != "the connector role gets REPLICATION from the platform team, ticket OPS-12" ||
		len(res.FixSQL) != 0 || res.Ignored[0].Objects[0] != "role streamkap_user" {
		t.Errorf("whole finding: %+v", res)
	}
	// An exact object leaves the finding; the others keep it failing.
	if res := byRule["table-select"]; res.Status != "fail" || strings.Join(res.Objects, ",") != "public.cart_sessions,public.invoices" ||
		len(res.Ignored) != 1 || res.Ignored[0].Objects[0] != "public.audit_log" || res.Ignored[0].Expires != "2026-12-31" {
		t.Errorf("exact object: %+v", res)
	}
	// A glob covering every object passes; it expires today, so it holds.
	if res := byRule["publication-coverage"]; res.Status != "pass" || len(res.Ignored[0].Objects) != 3 {
		t.Errorf("glob: %+v", res)
	}
	// Expired yesterday: the finding counts again.
	if res := byRule["slot-exists"]; res.Status != "fail" || len(res.Ignored) != 0 {
		t.Errorf("expired: %+v", res)
	}
	if res := byRule["replica-identity-full"]; res.Status != "warn" || len(res.Objects) != 4 {
		t.Errorf("partly: %+v", res)
	}
	var kinds []string
	for _, w := range rep.Warnings {
		kinds = append(kinds, w.Kind+":"+w.Message)
		if w.File != cfg || w.Line == 0 {
			t.Errorf("warning without its place: %+v", w)
		}
	}
	want := []string{
		"ignore-expired:ignore entry 4 (" + cfg + ", line 13) for rule slot-exists expired on 2026-05-31 and no longer applies: its finding counts again (its reason: created at deploy)",
		"ignore-unused:ignore entry 5 (" + cfg + ", line 16) for rule wal-level matched no finding: remove it",
		"ignore-unused:ignore entry 6 (" + cfg + `, line 18) for rule replica-identity-full: "archive.*" matched no object of its findings: remove it, or correct the name`,
	}
	if strings.Join(kinds, "\n") != strings.Join(want, "\n") {
		t.Errorf("warnings:\n%s\nwant:\n%s", strings.Join(kinds, "\n"), strings.Join(want, "\n"))
	}
	// Warnings go to stderr too, unless --quiet; they are not counted.
	if strings.Count(r.stderr, "cdcpreflight: warning: ") != 3 {
		t.Errorf("stderr: %q", r.stderr)
	}
	if r := runIn(t, dir, nil, "check", "--facts", facts, "-o", "json", "--quiet"); strings.Contains(r.stderr, "warning") {
		t.Errorf("--quiet stderr: %q", r.stderr)
	}
	if rep.Summary.Pass != decodeReport(t, runIn(t, dir, nil, "check", "--facts", facts, "-o", "json", "--no-config").stdout).Summary.Pass+2 {
		t.Errorf("summary %+v: two findings ignored whole should be two more passes", rep.Summary)
	}

	// The table lists every ignore applied, a line each, with the reason.
	table := runIn(t, dir, map[string]string{"NO_COLOR": "1"}, "check", "--facts", facts).stdout
	for _, line := range []string{
		"- ignored replication-privilege: role streamkap_user — the connector role gets REPLICATION from the platform team, ticket OPS-12\n",
		"- ignored table-select: public.audit_log — audit rows are not captured (until 2026-12-31)\n",
		`- ignored publication-coverage: public."Order Items", public.audit_log, public.invoices — the publication is managed elsewhere (until 2026-06-01)` + "\n",
		"- ignored replica-identity-full: public.customers — customers keep their key\n",
		"! config: ignore entry 5 (",
		"ignored by the config: 6 objects of 4 findings; 3 config warnings (not counted)",
	} {
		if !strings.Contains(table, line) {
			t.Errorf("table lacks %q\n%s", line, table)
		}
	}
}

// TestIgnoresDoNotSurpriseFailOnWarning: config warnings never change the
// exit code; ignoring every finding makes a run pass even at --fail-on
// warning, and an expired ignore fails it through its finding.
func TestIgnoresDoNotSurpriseFailOnWarning(t *testing.T) {
	facts := absDemoFacts(t)
	var cfg strings.Builder
	cfg.WriteString("ignore:\n  - rule: wal-level\n    reason: unused on purpose\n")
	for _, res := range decodeReport(t, runIn(t, t.TempDir(), nil, "check", "--facts", facts, "-o", "json", "--no-config").stdout).Results {
		if res.Status == "fail" || res.Status == "warn" {
			cfg.WriteString("  - rule: " + res.Rule + "\n    reason: accepted\n")
		}
	}
	path := writeFile(t, "c.yml", cfg.String())
	r := runIn(t, t.TempDir(), nil, "check", "--facts", facts, "--config", path, "--fail-on", "warning", "-o", "json")
	if rep := decodeReport(t, r.stdout); r.code != 0 || len(rep.Warnings) != 1 || rep.Summary.Fail+rep.Summary.Warn != 0 {
		t.Errorf("all ignored at --fail-on warning: code %d, %+v", r.code, rep.Summary)
	}
	expired := strings.Replace(cfg.String(), "  - rule: wal-retention-limit\n    reason: accepted\n",
		"  - rule: wal-retention-limit\n    reason: accepted\n    expires: 2026-01-01\n", 1)
	path = writeFile(t, "c.yml", expired)
	if r := runIn(t, t.TempDir(), nil, "check", "--facts", facts, "--config", path, "-o", "json"); r.code != 0 {
		t.Errorf("expired ignore of a warning at fail-on error: %d", r.code)
	}
	if r := runIn(t, t.TempDir(), nil, "check", "--facts", facts, "--config", path, "-o", "json", "--fail-on", "warning"); r.code != 1 {
		t.Errorf("expired ignore of a warning at fail-on warning: %d", r.code)
	}
}

func TestIgnoreConfigErrors(t *testing.T) {
	facts := absDemoFacts(t)
	for _, tc := range []struct{ text, want string }{
		{"ignore:\n  - rule: wal-level\n", "ignore entry 1 (line 2): reason is required"},
		{"ignore:\n  - rule: wal-level\n    reason: \"  \"\n", "ignore entry 1 (line 2): reason is required"},
		{"ignore:\n  - reason: r\n", "ignore entry 1 (line 2): rule is required"},
		{"ignore:\n  - rule: wal-levl\n    reason: r\n", `ignore entry 1 (line 2): unknown rule "wal-levl"`},
		{"ignore:\n  - rule: wal-level\n    reason: r\n    expires: someday\n", `expires "someday": want a date, YYYY-MM-DD`},
		{"ignore:\n  - rule: wal-level\n    reason: r\n    expires: 2026-02-30\n", `expires "2026-02-30"`},
		{"ignore:\n  - rule: wal-level\n    reason: r\n    objects: []\n", "line 4: objects is empty"},
		{"ignore:\n  - rule: wal-level\n    reason: r\n    objects: [\"public.[\"]\n", `object pattern "public.["`},
		{"ignore:\n  - rule: wal-level\n    reason: r\n    object: x\n", `line 4: unknown key "object" in an ignore entry`},
		{"ignore:\n  - wal-level\n", "line 2: an ignore entry is a mapping"},
	} {
		r := runIn(t, t.TempDir(), nil, "check", "--facts", facts, "--config", writeFile(t, "c.yml", tc.text))
		if r.code != 2 || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("%q: code %d, stderr %q; want %q", tc.text, r.code, r.stderr, tc.want)
		}
	}
	// One object may be written without a list.
	ok := "ignore:\n  - rule: table-select\n    reason: r\n    objects: public.audit_log\n"
	if r := runIn(t, t.TempDir(), nil, "check", "--facts", facts, "--config", writeFile(t, "c.yml", ok), "-o", "json"); r.code != 1 ||
		!strings.Contains(r.stdout, `"public.audit_log"`) {
		t.Errorf("a single object: %d %q", r.code, r.stderr)
	}
}

// TestGitHubActions: annotations with a table, never in a report stream;
// the Markdown report appended to the job summary; both off with
// CDCPREFLIGHT_NO_ANNOTATIONS.
func TestGitHubActions(t *testing.T) {
	facts := absDemoFacts(t)
	ws := t.TempDir()
	cfg := mkfile(t, filepath.Join(ws, ".cdcpreflight.yml"), "ignore:\n  - rule: wal-level\n    reason: left over\n")
	summary := mkfile(t, filepath.Join(t.TempDir(), "summary.md"), "# earlier step\n")
	gh := map[string]string{"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": summary, "GITHUB_WORKSPACE": ws, "NO_COLOR": "1"}

	r := runIn(t, ws, gh, "check", "--facts", facts)
	if r.code != 1 {
		t.Fatalf("code %d: %s", r.code, r.stderr)
	}
	for _, want := range []string{
		"\n::error title=replication-privilege::",
		"\n::warning title=wal-retention-limit::",
		"\n::warning file=.cdcpreflight.yml,line=2,title=cdcpreflight config::ignore entry 1 (" + cfg + ", line 2) for rule wal-level matched no finding: remove it\n",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("stdout lacks %q\n%s", want, r.stdout)
		}
	}
	for _, line := range strings.Split(r.stdout, "\n") {
		if strings.HasPrefix(line, "::") && strings.ContainsAny(strings.SplitN(line, "::", 3)[2], "\r") {
			t.Errorf("unescaped annotation: %q", line)
		}
	}
	data, err := os.ReadFile(summary)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(data), "# earlier step\n## ❌ cdcpreflight ") || !strings.Contains(string(data), "| ❌ fail | `replication-privilege` |") {
		t.Errorf("job summary:\n%s", data)
	}

	// A JSON report on stdout gets no annotation in it.
	r = runIn(t, ws, gh, "check", "--facts", facts, "-o", "json")
	decodeReport(t, r.stdout)
	if strings.Contains(r.stdout, "::error") {
		t.Error("annotations in a JSON report stream")
	}
	// A table to a file with JUnit to a file: annotations on stdout.
	out := t.TempDir()
	r = runIn(t, ws, gh, "check", "--facts", facts, "-o", "table="+filepath.Join(out, "t.txt"), "-o", "junit="+filepath.Join(out, "j.xml"))
	if !strings.HasPrefix(r.stdout, "::error title=") {
		t.Errorf("table in a file: stdout %q", r.stdout)
	}

	// --output markdown=$GITHUB_STEP_SUMMARY appends once, never truncates.
	before, _ := os.ReadFile(summary)
	runIn(t, ws, gh, "check", "--facts", facts, "-o", "table", "-o", "markdown="+summary)
	after, _ := os.ReadFile(summary)
	if !bytes.HasPrefix(after, before) || bytes.Count(after, []byte("## ❌ cdcpreflight")) != bytes.Count(before, []byte("## ❌ cdcpreflight"))+1 {
		t.Errorf("markdown to the job summary: %d reports before, %d after", bytes.Count(before, []byte("## ❌ cdcpreflight")), bytes.Count(after, []byte("## ❌ cdcpreflight")))
	}

	// Off: no annotation, nothing appended.
	gh[noAnnotationsEnv] = "1"
	before, _ = os.ReadFile(summary)
	r = runIn(t, ws, gh, "check", "--facts", facts)
	after, _ = os.ReadFile(summary)
	if strings.Contains(r.stdout, "::") || !bytes.Equal(before, after) {
		t.Errorf("%s=1: annotations %v, summary grew %v", noAnnotationsEnv, strings.Contains(r.stdout, "::"), !bytes.Equal(before, after))
	}
	// Outside GitHub Actions: none either.
	if r := runIn(t, ws, map[string]string{"NO_COLOR": "1"}, "check", "--facts", facts); strings.Contains(r.stdout, "::error") {
		t.Error("annotations outside GitHub Actions")
	}
	// The Markdown report anywhere, on stdout.
	if r := runIn(t, ws, nil, "check", "--facts", facts, "-o", "markdown"); !strings.HasPrefix(r.stdout, "## ❌ cdcpreflight") {
		t.Errorf("-o markdown: %q", r.stdout)
	}
}
