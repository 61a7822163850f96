package cli

import (
	"bytes"
	"context"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/creack/pty"

	"github.com/cdcpreflight/cdcpreflight/internal/pgtest"
)

// onTerminal runs cdcpreflight with stderr on a pseudo-terminal and stdout
// in a buffer, and returns what each got.
func onTerminal(t *testing.T, env map[string]string, args ...string) (code int, terminal, stdout string) {
	t.Helper()
	ptmx, tty, err := pty.Open()
	if err != nil {
		t.Fatalf("open a pseudo-terminal: %v", err)
	}
	defer ptmx.Close()
	var screen bytes.Buffer
	read := make(chan struct{})
	go func() {
		defer close(read)
		_, _ = io.Copy(&screen, ptmx) // ends with EIO once tty is closed
	}()
	var out bytes.Buffer
	code = RunEnv(args, Env{Stdin: strings.NewReader(""), Stdout: &out, Stderr: tty,
		Getenv: func(k string) string { return env[k] }})
	tty.Close()
	<-read
	return code, screen.String(), out.String()
}

const eraseLine = "\r\x1b[K"

// TestProgressOnlyOnATerminal: stderr on a terminal shows what the check
// does (connecting, reading catalogs, probing replication, peeking the
// slot), and the line is erased when done; a non-terminal, --quiet or
// TERM=dumb get none of it, and no report ever holds it.
func TestProgressOnlyOnATerminal(t *testing.T) {
	c := pgtest.Cluster(t)
	db := pgtest.NewDatabase(t, c)
	pgtest.Exec(t, c, db, scenario(t, "app-tables.sql", nil))
	slot := pgtest.UniqueName(t, "slot")
	pgtest.Exec(t, c, db, "CREATE PUBLICATION streamkap_pub FOR ALL TABLES")
	pgtest.Exec(t, c, db, "SELECT pg_create_logical_replication_slot('"+slot+"', 'pgoutput')")
	t.Cleanup(func() { _ = c.Exec(context.Background(), db, "SELECT pg_drop_replication_slot('"+slot+"')") })
	dsn := c.DSN(c.SuperUser, c.SuperPassword, db, "disable")

	code, screen, stdout := onTerminal(t, nil, "check", dsn, "--no-config", "-o", "table", "--slot", slot)
	if code == exitError {
		t.Fatalf("exit %d: %q", code, screen)
	}
	for _, stage := range []string{"connecting", "reading catalogs", "probing replication", "peeking the slot"} {
		if !strings.Contains(screen, stage) {
			t.Errorf("the terminal never showed %q: %q", stage, screen)
		}
	}
	if !strings.HasSuffix(screen, eraseLine) {
		t.Errorf("the progress line is not erased at the end: %q", screen)
	}
	if strings.ContainsAny(stdout, "\x1b\r⠋⠙⠹") || strings.Contains(stdout, "connecting") {
		t.Errorf("progress in the report: %q", stdout)
	}

	// --quiet, and a terminal that cannot move its cursor: nothing.
	for _, tc := range []struct {
		env  map[string]string
		args []string
	}{
		{nil, []string{"--quiet"}},
		{map[string]string{"TERM": "dumb"}, nil},
	} {
		_, screen, _ := onTerminal(t, tc.env, append([]string{"check", dsn, "--no-config", "-o", "json"}, tc.args...)...)
		if screen != "" {
			t.Errorf("%v %v: the terminal got %q", tc.env, tc.args, screen)
		}
	}

	// Not a terminal: nothing either.
	var out, errOut bytes.Buffer
	RunEnv([]string{"check", dsn, "--no-config", "-o", "json"}, Env{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errOut,
		Getenv: func(string) string { return "" }})
	if errOut.Len() != 0 {
		t.Errorf("stderr, not a terminal: %q", errOut.String())
	}
	f, err := os.CreateTemp(t.TempDir(), "stderr")
	if err != nil {
		t.Fatal(err)
	}
	RunEnv([]string{"check", dsn, "--no-config", "-o", "json"}, Env{Stdin: strings.NewReader(""), Stdout: &out, Stderr: f,
		Getenv: func(string) string { return "" }})
	if st, _ := f.Stat(); st.Size() != 0 {
		t.Errorf("stderr to a file got %d bytes", st.Size())
	}
}

// TestFixApplyProgress: fix --apply shows which step of how many runs,
// between the step lines, and erases it at the end.
func TestFixApplyProgress(t *testing.T) {
	e := newFixEnv(t)
	args := append(append([]string{"fix", e.superDSN}, e.connectorUserArg...), "--apply", "--yes", "--create-user", "--no-config")
	code, screen, stdout := onTerminal(t, map[string]string{passwordEnv: secret}, args...)
	if code == exitError {
		t.Fatalf("exit %d\n%s\n%s", code, screen, stdout)
	}
	if !strings.Contains(screen, "applying step 1 of ") || !strings.Contains(screen, "applying step 2 of ") {
		t.Errorf("no step progress on the terminal: %q", screen)
	}
	if strings.Contains(stdout, "\x1b[K") || strings.Contains(stdout, "applying step") {
		t.Errorf("progress on stdout: %q", stdout)
	}
	if strings.Contains(screen+stdout, secret) {
		t.Error("the password is on the terminal")
	}
}
