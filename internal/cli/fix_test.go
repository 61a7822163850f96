package cli

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cdcpreflight/cdcpreflight/facts"
)

var update = flag.Bool("update", false, "rewrite golden files")

// golden compares got with testdata/name, or rewrites it under -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs from output (run go test -update if the change is intended)\n--- got ---\n%s\n--- want ---\n%s", name, got, want)
	}
}

// demoFactsWith writes the demo's fact snapshot, changed by edit, to a file.
func demoFactsWith(t *testing.T, edit func(*facts.Facts)) string {
	t.Helper()
	data, err := os.ReadFile(demoFacts)
	if err != nil {
		t.Fatal(err)
	}
	var f facts.Facts
	if err := json.Unmarshal(data, &f); err != nil {
		t.Fatal(err)
	}
	edit(&f)
	out, err := json.Marshal(&f)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "facts.json")
	if err := os.WriteFile(path, out, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestFixPlanGolden: the plans for the demo's shop database as it is, with
// the connector role missing (--create-user), and on RDS with logical
// replication off, where the platform's way and manual steps show.
func TestFixPlanGolden(t *testing.T) {
	missingRole := demoFactsWith(t, func(f *facts.Facts) {
		// An admin connects (its replication probe works) to set up a
		// connector role that does not exist yet.
		f.Role = facts.Role{Name: f.Role.Name}
		f.Target.User = "postgres"
		f.ReplProbe.Err = nil
	})
	rds := demoFactsWith(t, func(f *facts.Facts) {
		f.Platform = facts.Platform{Name: facts.PlatformRDS, Evidence: []string{"host ends in .rds.amazonaws.com"}}
		f.Settings.Values["wal_level"] = "replica"
		f.Settings.Values["rds.logical_replication"] = "off"
	})
	for _, tc := range []struct {
		golden string
		args   []string
	}{
		{"fix-demo.sql", []string{"--facts", demoFacts}},
		{"fix-demo-opt-ins.sql", []string{"--facts", demoFacts, "--set-logged", "--replica-identity-full", "--lock-timeout", "2s"}},
		{"fix-demo-create-user.sql", []string{"--facts", missingRole, "--connector-user", "streamkap_user", "--create-user"}},
		{"fix-demo-rds.sql", []string{"--facts", rds}},
	} {
		t.Run(tc.golden, func(t *testing.T) {
			r := run(t, nil, append([]string{"fix"}, tc.args...)...)
			if r.code != 1 {
				t.Errorf("exit %d, want 1 (fixes pending)\n%s", r.code, r.stderr)
			}
			golden(t, tc.golden, r.stdout)
		})
	}
}

func TestFixSQLOut(t *testing.T) {
	path := filepath.Join(t.TempDir(), "plan.sql")
	r := run(t, nil, "fix", "--facts", demoFacts, "--sql-out", path)
	if r.code != 1 {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	if got := mustRead(t, path); got != r.stdout {
		t.Errorf("--sql-out differs from the printed plan:\n%s", got)
	}
}

func TestFixUsageErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"fix", "--facts", demoFacts, "--yes"}, "--yes only applies with --apply"},
		{[]string{"fix", "--facts", demoFacts, "--apply", "--yes"}, "--apply needs a live database"},
		{[]string{"fix", "--facts", demoFacts, "--create-user"}, "--create-user needs --connector-user"},
		{[]string{"fix", "--facts", demoFacts, "--lock-timeout", "0s"}, "must be positive"},
		{[]string{"fix", "--facts", demoFacts, "--unknown"}, "unknown flag"},
	} {
		r := run(t, nil, tc.args...)
		if r.code != 2 || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("%v: exit %d, stderr %q, want %q", tc.args, r.code, r.stderr, tc.want)
		}
	}
}

func TestFixHelp(t *testing.T) {
	r := run(t, nil, "fix", "--help")
	if r.code != 0 {
		t.Fatalf("exit %d", r.code)
	}
	for _, want := range []string{
		"--apply", "--yes", "--sql-out", "--create-user", passwordEnv, "--replica-identity-full", "--allow-alter-system",
		"--set-logged", "--lock-timeout", "--statement-timeout", "--connector-user", "--slot", "Exit codes",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("fix --help lacks %s", want)
		}
	}
	if r := run(t, nil, "--help"); !strings.Contains(r.stdout, "cdcpreflight fix") {
		t.Error("the main help does not list fix")
	}
}

// TestFixIncompleteOrUnreachable: a plan from facts some rules could not
// judge says so and exits 2; no connection exits 2 without a plan.
func TestFixIncompleteOrUnreachable(t *testing.T) {
	partial := demoFactsWith(t, func(f *facts.Facts) {
		f.Slots.Err = &facts.Error{Op: "read slots", Message: "permission denied", SQLState: "42501"}
	})
	r := run(t, nil, "fix", "--facts", partial)
	if r.code != 2 || !strings.Contains(r.stdout, "-- INCOMPLETE: ") || !strings.Contains(r.stdout, "slot-exists: read slots: permission denied") {
		t.Errorf("exit %d\n%s", r.code, r.stdout)
	}
	r = run(t, nil, "fix", "postgres://nobody:"+secret+"@127.0.0.1:1/app?connect_timeout=2")
	if r.code != 2 || !strings.Contains(r.stderr, "could not connect") || r.stdout != "" {
		t.Errorf("exit %d\nstdout %q\nstderr %q", r.code, r.stdout, r.stderr)
	}
	assertNoSecret(t, r)
}
