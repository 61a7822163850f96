//go:build soak

// Package soak holds the soak test: many checks, back to back and several
// at a time, against a database under write load whose slot a consumer is
// streaming from. It is behind the build tag soak, out of the default test
// run (it takes minutes):
//
//	go test -tags soak -run TestSoak -timeout 60m ./internal/soak -soak.duration 5m -soak.parallel 4
//	make soak SOAK_DURATION=5m
//
// SOAK_REPORT=FILE also writes the figures there, as Markdown.
package soak

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/cdcpreflight/cdcpreflight/internal/pglocal"
	"github.com/cdcpreflight/cdcpreflight/internal/pgtest"
	"github.com/cdcpreflight/cdcpreflight/report"
	"github.com/cdcpreflight/cdcpreflight/rules"
)

var (
	duration = flag.Duration("soak.duration", 2*time.Minute, "how long checks run (half back to back, half several at a time)")
	parallel = flag.Int("soak.parallel", 4, "checks at a time in the second half")
	rate     = flag.Int("soak.tps", 200, "pgbench's transaction rate (-R)")
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

const (
	password     = "soak-connector-pw"
	consumerSlot = "streamkap_pgoutput_slot" // the guide's, streamed by pg_recvlogical
	idleSlot     = "soak_idle_slot"          // nobody consumes it: checks peek at it
)

// checkRun is one check's outcome.
type checkRun struct {
	phase, slot string
	code        int
	took        time.Duration
	peek        rules.Status
	peekMsg     string
	stderr      string
}

// TestSoak: while pgbench writes and pg_recvlogical streams from the
// connector's slot, checks run back to back for half the time and
// -soak.parallel at a time for the other half, alternating between the
// streamed slot (the peek must step aside: it is active) and an idle one
// (the peek runs). Every check must complete (exit 0 or 1), the consumer
// must keep its WAL sender from start to end, the idle slot must not move
// (restart_lsn and confirmed_flush_lsn) however often it is peeked, and no
// cdcpreflight session may be left in pg_stat_activity.
func TestSoak(t *testing.T) {
	c := pgtest.ClusterWith(t, "soak", pglocal.Options{TLS: true})
	ctx := t.Context()
	db := pgtest.NewDatabase(t, c)
	super := c.DSN(c.SuperUser, c.SuperPassword, db, "require")
	connector := c.DSN("streamkap_user", password, db, "require")

	t.Log("soak: cluster and database ready")
	// The application: pgbench's tables, set up for Streamkap by its guide.
	client(t, c, "pgbench", "-i", "-q", "-s", "5", super)
	t.Log("soak: pgbench tables initialized")
	guide, err := os.ReadFile("../../testdata/scenarios/streamkap-guide.sql")
	if err != nil {
		t.Fatal(err)
	}
	pgtest.Exec(t, c, db, "ALTER TABLE pgbench_history REPLICA IDENTITY FULL")
	pgtest.Exec(t, c, db, strings.NewReplacer("{password}", password, "{database}", db, "{schema}", "public").Replace(string(guide)))
	pgtest.Exec(t, c, db, "SELECT pg_create_logical_replication_slot('"+consumerSlot+"', 'pgoutput')")
	pgtest.Exec(t, c, db, "SELECT pg_create_logical_replication_slot('"+idleSlot+"', 'pgoutput')")
	t.Cleanup(func() {
		_ = c.Exec(context.Background(), "postgres", "DROP OWNED BY streamkap_role, streamkap_user; DROP ROLE IF EXISTS streamkap_user; DROP ROLE IF EXISTS streamkap_role")
	})
	t.Log("soak: guide applied, slots created")
	bin := buildCLI(t)
	t.Log("soak: cdcpreflight built")
	mon := pgtest.Conn(t, c, db)

	// The consumer.
	streamed := filepath.Join(t.TempDir(), "stream.out")
	consumer := c.ClientCommand(ctx, "pg_recvlogical", "-d", connector+"&application_name=soak-consumer",
		"-S", consumerSlot, "--start", "-o", "proto_version=1", "-o", "publication_names=streamkap_pub",
		"-f", streamed, "-s", "1", "-F", "1")
	consumerOut := &strings.Builder{}
	consumer.Stderr = consumerOut
	if err := consumer.Start(); err != nil {
		t.Fatal(err)
	}
	consumerExited, consumerErr := waitIn(consumer)
	t.Cleanup(func() { _ = consumer.Process.Kill(); <-consumerExited })
	walsender := waitActive(t, mon, consumerSlot)
	t.Log("soak: consumer streaming")
	idleBefore := slotLSNs(t, mon, idleSlot)
	consumerBefore := slotLSNs(t, mon, consumerSlot)

	// The load.
	bench := c.ClientCommand(ctx, "pgbench", "-n", "-c", "4", "-j", "2", "-R", fmt.Sprint(*rate),
		"-T", fmt.Sprint(int(duration.Seconds())), super)
	benchOut := &strings.Builder{}
	bench.Stdout, bench.Stderr = benchOut, benchOut
	if err := bench.Start(); err != nil {
		t.Fatal(err)
	}
	benchExited, benchErr := waitIn(bench)
	t.Cleanup(func() { _ = bench.Process.Kill(); <-benchExited })

	// Watch the consumer's WAL sender while the checks run.
	var watch sync.WaitGroup
	stopWatch := make(chan struct{})
	var pidChanges []string
	watch.Add(1)
	go func() {
		defer watch.Done()
		for {
			select {
			case <-stopWatch:
				return
			case <-time.After(500 * time.Millisecond):
			}
			var pid *int32
			if err := mon.QueryRow(ctx, `SELECT active_pid FROM pg_replication_slots WHERE slot_name = $1`, consumerSlot).Scan(&pid); err != nil {
				pidChanges = append(pidChanges, err.Error())
				continue
			}
			if pid == nil || *pid != walsender {
				pidChanges = append(pidChanges, fmt.Sprintf("%s: active_pid %v", time.Now().Format(time.TimeOnly), pid))
			}
		}
	}()

	t.Log("soak: load running, checks start")
	start := time.Now()
	half := *duration / 2
	runs := runChecks(t, bin, connector, "back to back", 1, half)
	runs = append(runs, runChecks(t, bin, connector, fmt.Sprintf("%d at a time", *parallel), *parallel, *duration-half)...)
	checksTook := time.Since(start)
	close(stopWatch)
	watch.Wait()

	select {
	case <-benchExited:
		if *benchErr != nil {
			t.Errorf("pgbench: %v\n%s", *benchErr, benchOut)
		}
	case <-time.After(2 * time.Minute):
		t.Error("pgbench did not finish")
	}
	select {
	case <-consumerExited:
		t.Errorf("pg_recvlogical stopped during the soak: %v\n%s", *consumerErr, consumerOut)
	default:
	}
	if len(pidChanges) > 0 {
		t.Errorf("the consumer's slot changed hands (WAL sender %d): %s", walsender, strings.Join(pidChanges[:min(5, len(pidChanges))], "; "))
	}
	idleAfter := slotLSNs(t, mon, idleSlot)
	if idleAfter != idleBefore {
		t.Errorf("the idle slot moved: %s → %s", idleBefore, idleAfter)
	}
	consumerAfter := slotLSNs(t, mon, consumerSlot)
	leftover := waitNoSessions(t, mon)
	if leftover != 0 {
		t.Errorf("%d cdcpreflight sessions left in pg_stat_activity", leftover)
	}

	// The figures.
	var lines []string
	add := func(format string, a ...any) { lines = append(lines, fmt.Sprintf(format, a...)) }
	add("| phase | checks | exit 0 / 1 / 2 | peek ran / stepped aside | median | p95 | max |")
	add("|---|---:|---|---|---:|---:|---:|")
	for _, phase := range []string{"back to back", fmt.Sprintf("%d at a time", *parallel)} {
		var took []time.Duration
		var codes [3]int
		peeks := map[rules.Status]int{}
		for _, r := range runs {
			if r.phase != phase {
				continue
			}
			took = append(took, r.took)
			if r.code >= 0 && r.code <= 2 {
				codes[r.code]++
			}
			peeks[r.peek]++
		}
		slices.Sort(took)
		add("| %s | %d | %d / %d / %d | %d / %d | %s | %s | %s |", phase, len(took), codes[0], codes[1], codes[2],
			peeks[rules.StatusPass], peeks[rules.StatusSkip], pct(took, 50), pct(took, 95), pct(took, 100))
	}
	summary := fmt.Sprintf("PostgreSQL %s; %s of checks; pgbench -R %d -c 4: %s; pg_recvlogical streaming the connector's slot "+
		"(%d bytes received), its WAL sender %d throughout: %v; idle slot unmoved: %v (%s); consumer's slot confirmed %s → %s; "+
		"cdcpreflight sessions left: %d",
		strings.Fields(c.Version)[0], checksTook.Round(time.Second), *rate, tps(benchOut.String()), fileSize(streamed),
		walsender, len(pidChanges) == 0, idleAfter == idleBefore, idleAfter, consumerBefore, consumerAfter, leftover)
	t.Log(summary + "\n" + strings.Join(lines, "\n"))
	if path := os.Getenv("SOAK_REPORT"); path != "" {
		if err := os.WriteFile(path, []byte(summary+"\n\n"+strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
			t.Error(err)
		}
	}
	for _, r := range runs {
		if r.code != 0 && r.code != 1 {
			t.Errorf("a check (%s, slot %s) did not complete: exit %d after %s\n%s", r.phase, r.slot, r.code, r.took, r.stderr)
			break
		}
	}
	// The peek steps aside from the streamed slot, always; it runs on the
	// idle one, unless another check is peeking at it at that moment
	// (several at a time), when it steps aside from that check too.
	for _, r := range runs {
		switch {
		case r.slot == consumerSlot && r.peek != rules.StatusSkip,
			r.slot == idleSlot && r.peek != rules.StatusPass && (r.phase == "back to back" || !strings.Contains(r.peekMsg, "active")):
			t.Errorf("%s: slot-peek on %s: %s: %s", r.phase, r.slot, r.peek, r.peekMsg)
		}
	}
}

// runChecks runs checks with n workers for d, alternating the slot.
func runChecks(t *testing.T, bin, dsn, phase string, n int, d time.Duration) []checkRun {
	var mu sync.Mutex
	var runs []checkRun
	var wg sync.WaitGroup
	deadline := time.Now().Add(d)
	dir := t.TempDir()
	for w := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; time.Now().Before(deadline); i++ {
				slot := []string{consumerSlot, idleSlot}[(i+w)%2]
				out := filepath.Join(dir, fmt.Sprintf("%d-%d.json", w, i))
				cmd := exec.CommandContext(t.Context(), bin, "check", dsn, "--slot", slot, "-o", "json="+out)
				var stderr strings.Builder
				cmd.Stderr = &stderr
				start := time.Now()
				err := cmd.Run()
				r := checkRun{phase: phase, slot: slot, took: time.Since(start), stderr: stderr.String()}
				var ee *exec.ExitError
				switch {
				case err == nil:
				case errors.As(err, &ee):
					r.code = ee.ExitCode()
				default:
					r.code = -1
					r.stderr += err.Error()
				}
				if f, err := os.Open(out); err == nil {
					if rep, err := report.DecodeJSON(f); err == nil {
						for _, res := range rep.Results {
							if res.Rule == "slot-peek" {
								r.peek, r.peekMsg = res.Status, res.Message
							}
						}
					}
					_ = f.Close()
					_ = os.Remove(out)
				}
				mu.Lock()
				runs = append(runs, r)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return runs
}

// waitIn waits for cmd in the background: the channel closes when it has
// exited, and then the error is set.
func waitIn(cmd *exec.Cmd) (<-chan struct{}, *error) {
	exited := make(chan struct{})
	var err error
	go func() {
		err = cmd.Wait()
		close(exited)
	}()
	return exited, &err
}

func client(t *testing.T, c *pglocal.Cluster, name string, args ...string) {
	t.Helper()
	if out, err := c.ClientCommand(t.Context(), name, args...).CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", name, err, out)
	}
}

// buildCLI builds cdcpreflight: every check is a process of its own, as in
// CI, so each one's sessions begin and end with it.
func buildCLI(t *testing.T) string {
	bin := filepath.Join(t.TempDir(), "cdcpreflight")
	cmd := exec.CommandContext(t.Context(), "go", "build", "-o", bin, "./cmd/cdcpreflight")
	cmd.Dir = "../.."
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

func waitActive(t *testing.T, conn *pgx.Conn, slot string) int32 {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		var pid *int32
		if err := conn.QueryRow(t.Context(), `SELECT active_pid FROM pg_replication_slots WHERE slot_name = $1`, slot).Scan(&pid); err != nil {
			t.Fatal(err)
		}
		if pid != nil {
			return *pid
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatal("the consumer never attached to its slot")
	return 0
}

func slotLSNs(t *testing.T, conn *pgx.Conn, slot string) string {
	t.Helper()
	var s string
	if err := conn.QueryRow(t.Context(), `SELECT restart_lsn || ' / ' || confirmed_flush_lsn FROM pg_replication_slots WHERE slot_name = $1`, slot).Scan(&s); err != nil {
		t.Fatal(err)
	}
	return s
}

// waitNoSessions gives the last checks' backends a moment to exit, then
// counts cdcpreflight's sessions (catalog and replication probe alike).
func waitNoSessions(t *testing.T, conn *pgx.Conn) int {
	t.Helper()
	var n int
	for range 50 {
		if err := conn.QueryRow(t.Context(), `SELECT count(*) FROM pg_stat_activity WHERE application_name = 'cdcpreflight'`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			return 0
		}
		time.Sleep(100 * time.Millisecond)
	}
	return n
}

var tpsLine = regexp.MustCompile(`tps = ([0-9.]+)`)

// tps is pgbench's reported rate and transaction count.
func tps(out string) string {
	var parts []string
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		l := sc.Text()
		if m := tpsLine.FindStringSubmatch(l); m != nil {
			parts = append(parts, m[1]+" tps")
		}
		if strings.HasPrefix(l, "number of transactions actually processed") {
			parts = append(parts, strings.TrimSpace(strings.TrimPrefix(l, "number of transactions actually processed:"))+" transactions")
		}
	}
	if len(parts) == 0 {
		return "no summary from pgbench"
	}
	return strings.Join(parts, ", ")
}

func pct(sorted []time.Duration, p int) string {
	if len(sorted) == 0 {
		return "-"
	}
	i := (len(sorted)*p + 99) / 100
	return sorted[max(0, min(len(sorted)-1, i-1))].Round(time.Millisecond).String()
}

func fileSize(path string) int64 {
	st, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return st.Size()
}
