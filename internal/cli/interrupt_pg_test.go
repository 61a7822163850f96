package cli

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/cdcpreflight/cdcpreflight/gather"
	"github.com/cdcpreflight/cdcpreflight/internal/pglocal"
	"github.com/cdcpreflight/cdcpreflight/internal/pgtest"
	"github.com/cdcpreflight/cdcpreflight/internal/sqlident"
	"github.com/cdcpreflight/cdcpreflight/report"
)

// runAsCLIEnv makes the test binary run as cdcpreflight (see TestMain).
const runAsCLIEnv = "CDCPREFLIGHT_TEST_RUN_AS_CLI"

// cliCommand is cdcpreflight in a process of its own: the test binary.
func cliCommand(t *testing.T, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), runAsCLIEnv+"=1", "NO_COLOR=1")
	return cmd
}

// sessions lists cdcpreflight's backends in db: pid, state, wait event.
func sessions(t *testing.T, conn *pgx.Conn, db string) []string {
	t.Helper()
	rows, err := conn.Query(context.Background(), `
SELECT pid || ' ' || coalesce(state, '') || ' ' || coalesce(wait_event_type, '') || ' ' || left(query, 60)
FROM pg_stat_activity WHERE application_name = $1 AND datname = $2 AND pid <> pg_backend_pid()`, gather.ApplicationName, db)
	if err != nil {
		t.Fatal(err)
	}
	list, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	return list
}

// TestInterruptCancelsOnTheServer: Ctrl-C while a catalog read waits for a
// lock the test holds. The read is cancelled on the server (its log says
// "canceling statement due to user request", not a lock timeout), no
// cdcpreflight session is left while the lock is still held, the reports
// asked for are written with what was judged, the message says
// "interrupted", and the exit code is 130.
func TestInterruptCancelsOnTheServer(t *testing.T) {
	c := pgtest.ClusterWith(t, "interrupt", pglocal.Options{})
	db := pgtest.NewDatabase(t, c)
	holder := pgtest.Conn(t, c, db)
	ctx := context.Background()
	// Every catalog read that touches pg_publication waits for this lock
	// (and would give up only after its lock_timeout, 2 s).
	if _, err := holder.Exec(ctx, "BEGIN"); err != nil {
		t.Fatal(err)
	}
	if _, err := holder.Exec(ctx, "LOCK TABLE pg_catalog.pg_publication IN ACCESS EXCLUSIVE MODE"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = holder.Exec(context.Background(), "ROLLBACK") })
	watch := pgtest.Conn(t, c, "postgres")
	logStart := fileLen(t, c.LogFile)

	dir := t.TempDir()
	jsonPath, junitPath, mdPath := filepath.Join(dir, "r.json"), filepath.Join(dir, "r.xml"), filepath.Join(dir, "r.md")
	cmd := cliCommand(t, "check", c.DSN(c.SuperUser, c.SuperPassword, db, "disable"), "--no-config",
		"-o", "table", "-o", "json="+jsonPath, "-o", "junit="+junitPath, "-o", "markdown="+mdPath, "--catalog-timeout", "60s")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()

	// Wait for the read to be waiting for the lock.
	var waiting []string
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		waiting = nil
		for _, s := range sessions(t, watch, db) {
			if strings.Contains(s, " active Lock ") {
				waiting = append(waiting, s)
			}
		}
		if len(waiting) > 0 {
			break
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			t.Fatalf("no cdcpreflight session ever waited for the lock; sessions: %v\nstderr: %s", sessions(t, watch, db), stderr.String())
		}
	}
	pid, _, _ := strings.Cut(waiting[0], " ")
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	interruptedAt := time.Now()

	var exitErr *exec.ExitError
	select {
	case err := <-exited:
		if !errors.As(err, &exitErr) || exitErr.ExitCode() != exitInterrupted {
			t.Errorf("exit: %v, want code %d\nstderr: %s", err, exitInterrupted, stderr.String())
		}
	case <-time.After(30 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatalf("still running 30 s after SIGINT\nstderr: %s", stderr.String())
	}
	took := time.Since(interruptedAt)

	// No session left behind, while the lock is still held: the reads
	// did not end by themselves.
	var left []string
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if left = sessions(t, watch, db); len(left) == 0 || time.Now().After(deadline) {
			break
		}
	}
	if len(left) > 0 {
		t.Errorf("cdcpreflight sessions left after the interrupt: %v", left)
	}
	// The server cancelled the waiting statement at our request.
	serverLog := readFrom(t, c.LogFile, logStart)
	if !strings.Contains(serverLog, "["+pid+"] ") || !regexpMatch(`\[`+pid+`\] [^\n]*ERROR:  canceling statement due to user request`, serverLog) {
		t.Errorf("the server log does not show backend %s's statement cancelled at our request:\n%s", pid, serverLog)
	}
	if strings.Contains(serverLog, "canceling statement due to lock timeout") {
		t.Errorf("a read ran into its lock timeout: the interrupt did not cancel it\n%s", serverLog)
	}

	if !strings.Contains(stderr.String(), "cdcpreflight: interrupted") || strings.Contains(stderr.String()+stdout.String(), "timed out") {
		t.Errorf("stderr: %s\nstdout: %s", stderr.String(), stdout.String())
	}
	// The reports are written, for what was judged before the interrupt.
	data, err := os.ReadFile(jsonPath)
	if err != nil {
		t.Fatalf("JSON report: %v", err)
	}
	rep := decodeReport(t, string(data))
	// Read before the locked catalog: judged (server-version warns on a
	// major past its end of life).
	if statusOf(rep, "wal-level") != "pass" || (statusOf(rep, "server-version") != "pass" && statusOf(rep, "server-version") != "warn") {
		t.Errorf("rules judged before the interrupt: wal-level %s, server-version %s", statusOf(rep, "wal-level"), statusOf(rep, "server-version"))
	}
	var cut int
	for _, r := range rep.Results {
		if r.Status == "error" && strings.Contains(r.Message, "interrupted") {
			cut++
		}
	}
	if cut == 0 || statusOf(rep, "publication-exists") != "error" {
		t.Errorf("no rule says it was interrupted (publication-exists: %s)", statusOf(rep, "publication-exists"))
	}
	validateReport(t, data)
	for _, p := range []string{junitPath, mdPath} {
		if b, err := os.ReadFile(p); err != nil || len(b) == 0 {
			t.Errorf("%s: %v", p, err)
		}
	}
	if !strings.Contains(stdout.String(), "wal-level") {
		t.Errorf("no table on stdout: %s", stdout.String())
	}
	t.Logf("exited %s after SIGINT; %d rules interrupted", took.Round(time.Millisecond), cut)
}

// validateReport holds a JSON report to report/schema.json.
func validateReport(t *testing.T, data []byte) {
	t.Helper()
	s := compileReportSchema(t)
	inst, err := jsonschemaUnmarshal(data)
	if err != nil {
		t.Fatalf("JSON report: %v", err)
	}
	if err := s.Validate(inst); err != nil {
		t.Errorf("the report does not follow report/schema.json: %v", err)
	}
	_ = report.SchemaVersion
}

func fileLen(t *testing.T, path string) int64 {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return st.Size()
}

func readFrom(t *testing.T, path string, from int64) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if int64(len(data)) < from {
		return string(data)
	}
	return string(data[from:])
}

// TestInterruptFixApply: Ctrl-C while an apply step waits for a lock the
// application holds cancels the step on the server, keeps the steps before
// it, runs none after it, and exits 130.
func TestInterruptFixApply(t *testing.T) {
	e := newFixEnv(t)
	pgtest.Exec(t, e.c, e.db, "CREATE ROLE "+sqlident.Quote(e.user)+" LOGIN")
	holder := pgtest.Conn(t, e.c, e.db)
	tx, err := holder.Begin(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tx.Rollback(context.Background()) }()
	if _, err := tx.Exec(t.Context(), "LOCK TABLE public.events IN ACCESS EXCLUSIVE MODE"); err != nil {
		t.Fatal(err)
	}
	watch := pgtest.Conn(t, e.c, "postgres")
	logStart := fileLen(t, e.c.LogFile)

	args := append(append([]string{"fix", e.superDSN}, e.connectorUserArg...), "--apply", "--yes", "--no-config", "--lock-timeout", "60s")
	cmd := cliCommand(t, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	var pid string
	for deadline := time.Now().Add(30 * time.Second); pid == ""; time.Sleep(10 * time.Millisecond) {
		for _, s := range sessions(t, watch, e.db) {
			if strings.Contains(s, " active Lock ") {
				pid, _, _ = strings.Cut(s, " ")
			}
		}
		if pid == "" && time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			t.Fatalf("no step ever waited for the lock\nstdout: %s\nstderr: %s", stdout.String(), stderr.String())
		}
	}
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	var exitErr *exec.ExitError
	select {
	case err := <-exited:
		if !errors.As(err, &exitErr) || exitErr.ExitCode() != exitInterrupted {
			t.Errorf("exit: %v, want %d\nstdout: %s\nstderr: %s", err, exitInterrupted, stdout.String(), stderr.String())
		}
	case <-time.After(30 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatal("still running 30 s after SIGINT")
	}
	if !strings.Contains(stderr.String(), "interrupted: the step in flight was cancelled on the server") {
		t.Errorf("stderr: %s", stderr.String())
	}
	if !regexpMatch(`\[`+pid+`\] [^\n]*ERROR:  canceling statement due to user request`, readFrom(t, e.c.LogFile, logStart)) {
		t.Errorf("the server log does not show the step cancelled at our request")
	}
	for deadline := time.Now().Add(5 * time.Second); len(sessions(t, watch, e.db)) > 0; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("sessions left: %v", sessions(t, watch, e.db))
		}
	}
	var replication bool
	var pubs int
	if err := watch.QueryRow(t.Context(), `SELECT (SELECT rolreplication FROM pg_roles WHERE rolname = $1)`, e.user).Scan(&replication); err != nil {
		t.Fatal(err)
	}
	conn := pgtest.Conn(t, e.c, e.db)
	if err := conn.QueryRow(t.Context(), `SELECT count(*) FROM pg_publication`).Scan(&pubs); err != nil {
		t.Fatal(err)
	}
	if !replication || pubs != 0 {
		t.Errorf("after the interrupt: REPLICATION (applied before) %v, publications (after) %d", replication, pubs)
	}
}
