package cli

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/cdcpreflight/cdcpreflight/gather"
	"github.com/cdcpreflight/cdcpreflight/internal/fuzzcheck"
	"github.com/cdcpreflight/cdcpreflight/internal/netdelay"
	"github.com/cdcpreflight/cdcpreflight/internal/pglocal"
	"github.com/cdcpreflight/cdcpreflight/internal/pgtest"
	"github.com/cdcpreflight/cdcpreflight/internal/sqlident"
	"github.com/cdcpreflight/cdcpreflight/report"
)

// The hostile-conditions tests: what a person sees when the network or the
// server fails them. Each runs check as the CLI does, asking for a JSON and
// a JUnit report besides the table, and asserts the contract: exit 2 (the
// assessment could not be completed), a message naming the cause, both
// report files written (the JUnit valid against Jenkins' schema, so a CI
// gate still shows why), no password anywhere, and how long the person
// waited, bounded.

// faultRun is a check run under a fault and what it left behind.
type faultRun struct {
	runResult
	took            time.Duration
	jsonFile, junit string
}

func checkUnderFault(t *testing.T, args ...string) faultRun {
	t.Helper()
	dir := t.TempDir()
	fr := faultRun{jsonFile: filepath.Join(dir, "report.json"), junit: filepath.Join(dir, "report.xml")}
	args = append([]string{"check"}, append(args, "-o", "table", "-o", "json="+fr.jsonFile, "-o", "junit="+fr.junit)...)
	start := time.Now()
	fr.runResult = run(t, map[string]string{"NO_COLOR": "1"}, args...)
	fr.took = time.Since(start)
	return fr
}

// assertFault checks the contract; cause lists wordings of which one must
// appear in what the person reads (stderr, or the report's messages).
func (fr faultRun) assertFault(t *testing.T, within time.Duration, cause ...string) report.JSONReport {
	t.Helper()
	if fr.code != 2 {
		t.Errorf("exit %d, want 2\n%s\n%s", fr.code, fr.stdout, fr.stderr)
	}
	if fr.took > within {
		t.Errorf("the check took %s; the person should have had an answer within %s", fr.took.Round(time.Millisecond), within)
	}
	rep := decodeReport(t, mustRead(t, fr.jsonFile))
	if len(rep.Results) == 0 || rep.Summary.Error == 0 {
		t.Errorf("the JSON report has %d results, %d errors; want every rule judged, some in error", len(rep.Results), rep.Summary.Error)
	}
	xml, err := os.ReadFile(fr.junit)
	if err != nil {
		t.Fatalf("no JUnit report: %v", err)
	}
	if err := fuzzcheck.WellFormedXML(xml); err != nil {
		t.Errorf("JUnit report: %v", err)
	}
	fuzzcheck.Xmllint(t, filepath.Join("..", "..", "report", "testdata", "junit-10.xsd"), fr.junit)
	seen := fr.stderr + fr.stdout
	for _, r := range rep.Results {
		seen += "\n" + r.Message
	}
	found := false
	for _, c := range cause {
		found = found || strings.Contains(strings.ToLower(seen), strings.ToLower(c))
	}
	if !found {
		t.Errorf("nothing names the cause (one of %q):\nstderr: %s\n%s", cause, fr.stderr, fr.stdout)
	}
	assertNoSecret(t, fr.runResult, fr.jsonFile, fr.junit)
	t.Logf("exit %d after %s; stderr: %s", fr.code, fr.took.Round(time.Millisecond), strings.TrimSpace(fr.stderr))
	return rep
}

// silentPeer accepts TCP connections and never answers: a firewall that
// drops nothing but a service that hangs, or a port forward to nowhere.
func silentPeer(t *testing.T) string {
	var lc net.ListenConfig
	ln, err := lc.Listen(t.Context(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			go func() { _, _ = io.Copy(io.Discard, c) }() // read, never write
		}
	}()
	t.Cleanup(func() {
		_ = ln.Close()
		<-done
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			_ = c.Close()
		}
	})
	return ln.Addr().String()
}

// TestFaultSilentPeer: a peer that accepts and never answers. With the
// default --timeout (60 s) the person waits for the connect timeout
// (gather.DefaultConnectTimeout, 15 s, as the DSN sets none); with
// --timeout 5s, for 5 s. Both run at once.
func TestFaultSilentPeer(t *testing.T) {
	addr := silentPeer(t)
	dsn := "postgres://streamkap_user:" + secret + "@" + addr + "/app?sslmode=prefer"
	for _, tc := range []struct {
		name     string
		args     []string
		min, max time.Duration
	}{
		{"default timeout", nil, gather.DefaultConnectTimeout - time.Second, gather.DefaultConnectTimeout + 10*time.Second},
		{"--timeout 5s", []string{"--timeout", "5s"}, 4 * time.Second, 5*time.Second + 10*time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			fr := checkUnderFault(t, append([]string{dsn}, tc.args...)...)
			fr.assertFault(t, tc.max, "timeout", "timed out")
			if fr.took < tc.min {
				t.Errorf("gave up after %s, before the %s it should wait", fr.took, tc.min)
			}
			if !strings.Contains(fr.stderr, "could not connect") {
				t.Errorf("stderr does not say the connection failed: %q", fr.stderr)
			}
		})
	}
}

// TestFaultRefusedPort: nothing listens; the answer is immediate.
func TestFaultRefusedPort(t *testing.T) {
	var lc net.ListenConfig
	ln, err := lc.Listen(t.Context(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	fr := checkUnderFault(t, "postgres://streamkap_user:"+secret+"@"+addr+"/app")
	fr.assertFault(t, 5*time.Second, "connection refused")
}

// TestFaultUnresolvableHost: a name no resolver knows (.invalid is
// reserved for that).
func TestFaultUnresolvableHost(t *testing.T) {
	fr := checkUnderFault(t, "postgres://streamkap_user:"+secret+"@db.cdcpreflight-test.invalid:5432/app")
	fr.assertFault(t, 20*time.Second, "no such host", "lookup", "resolve")
}

// TestFaultTLSRefused: the client requires TLS, the server has none.
func TestFaultTLSRefused(t *testing.T) {
	c := pgtest.ClusterWith(t, "no-tls", pglocal.Options{})
	fr := checkUnderFault(t, c.DSN(c.SuperUser, c.SuperPassword, "postgres", "require"))
	fr.assertFault(t, 5*time.Second, "refused TLS", "SSL", "TLS")
}

// TestFaultWrongPasswordAndMissingDatabase: the server refuses the login;
// database-connect says why and what to do, every rule that needs the
// database errors, and the exit code is 2.
func TestFaultWrongPasswordAndMissingDatabase(t *testing.T) {
	c := pgtest.Cluster(t)
	db := pgtest.NewDatabase(t, c)
	user := pgtest.UniqueName(t, "cdc")
	pgtest.Exec(t, c, db, fmt.Sprintf("CREATE ROLE %s LOGIN PASSWORD %s", sqlident.Quote(user), sqlident.Literal("the-right-one")))
	t.Cleanup(func() { _ = c.Exec(context.Background(), "postgres", "DROP ROLE IF EXISTS "+sqlident.Quote(user)) })

	fr := checkUnderFault(t, c.DSN(user, secret, db, "require"))
	rep := fr.assertFault(t, 10*time.Second, "password authentication failed")
	if statusOf(rep, "database-connect") != "fail" {
		t.Errorf("database-connect = %s, want fail with the remedy", statusOf(rep, "database-connect"))
	}

	fr = checkUnderFault(t, c.DSN(user, "the-right-one", db+"_missing", "require"))
	rep = fr.assertFault(t, 10*time.Second, "does not exist")
	if statusOf(rep, "database-connect") != "fail" {
		t.Errorf("database-connect = %s, want fail", statusOf(rep, "database-connect"))
	}
}

// cutProxy forwards to the cluster and cuts every connection once the
// server has sent it more than limit bytes (0: never).
func cutProxy(t *testing.T, c *pglocal.Cluster, limit int64) *netdelay.Proxy {
	t.Helper()
	p, err := netdelay.Listen(t.Context(), "127.0.0.1:0", fmt.Sprintf("%s:%d", c.Host, c.Port), 0)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	down := map[int]int64{}
	p.Tap = func(conn int, up bool, data []byte) bool {
		if up || limit <= 0 {
			return false
		}
		mu.Lock()
		defer mu.Unlock()
		down[conn] += int64(len(data))
		return down[conn] > limit
	}
	go func() { _ = p.Serve() }()
	t.Cleanup(p.Close)
	return p
}

func proxiedDSN(p *netdelay.Proxy, user, password, db, sslmode string) string {
	return fmt.Sprintf("postgres://%s:%s@%s/%s?sslmode=%s", user, password, p.Addr(), db, sslmode)
}

// TestFaultConnectionCut: the network drops the connections after a few
// kilobytes, in the handshake or in the middle of the catalog reads. The
// check ends at once, says the connection was lost, and still writes
// every report.
func TestFaultConnectionCut(t *testing.T) {
	c := pgtest.Cluster(t)
	db := pgtest.NewDatabase(t, c)
	user := pgtest.UniqueName(t, "cdc")
	pgtest.Exec(t, c, db, fmt.Sprintf("CREATE ROLE %s LOGIN REPLICATION PASSWORD %s", sqlident.Quote(user), sqlident.Literal(secret)))
	t.Cleanup(func() { _ = c.Exec(context.Background(), "postgres", "DROP ROLE IF EXISTS "+sqlident.Quote(user)) })
	pgtest.Exec(t, c, db, "CREATE TABLE t1 (id int PRIMARY KEY); CREATE TABLE t2 (a text)")

	// How much the server sends each connection of a whole check: the
	// cuts land in the handshake, in the first batch of catalog reads and
	// in the second.
	whole := cutProxy(t, c, 0)
	if fr := checkUnderFault(t, proxiedDSN(whole, user, secret, db, "require")); fr.code == 2 {
		t.Fatalf("the check through the proxy, uncut: exit 2\n%s", fr.stderr)
	}
	var most int64
	for _, cs := range whole.Stats().Connections {
		most = max(most, cs.BytesDown)
	}
	for _, limit := range []int64{1 << 10, most / 2, most - 300} {
		t.Run(fmt.Sprintf("after %d bytes of %d", limit, most), func(t *testing.T) {
			p := cutProxy(t, c, limit)
			fr := checkUnderFault(t, proxiedDSN(p, user, secret, db, "require"))
			fr.assertFault(t, 15*time.Second, "unexpected EOF", "connection reset", "closed", "broken pipe")
			for _, cs := range p.Stats().Connections {
				t.Logf("connection %d: %d bytes down, %s", cs.ID, cs.BytesDown, cs.Err)
			}
			if !strings.Contains(fr.stderr, "lost") && !strings.Contains(fr.stderr, "could not connect") {
				t.Errorf("stderr does not say the connection was lost: %q", fr.stderr)
			}
		})
	}
}

// TestFaultServerStopped: the server is stopped with pg_ctl stop -m
// immediate (every backend killed, as in a crash) while a check is in the
// middle of its catalog reads, on a cluster of its own. A proxy adds 50 ms
// each way so the check is still running when the stop lands; it triggers
// the stop once the server has answered the login.
func TestFaultServerStopped(t *testing.T) {
	c := pgtest.ClusterWith(t, "stopped-mid-check", pglocal.Options{TLS: true})
	p, err := netdelay.Listen(t.Context(), "127.0.0.1:0", fmt.Sprintf("%s:%d", c.Host, c.Port), 50*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	crashed := make(chan error, 1)
	var mu sync.Mutex
	down := map[int]int64{}
	p.Tap = func(conn int, up bool, data []byte) bool {
		mu.Lock()
		defer mu.Unlock()
		if !up {
			down[conn] += int64(len(data))
		}
		if down[conn] > 3<<10 {
			once.Do(func() { go func() { crashed <- c.Crash(context.Background()) }() })
		}
		return false
	}
	go func() { _ = p.Serve() }()
	t.Cleanup(p.Close)
	fr := checkUnderFault(t, proxiedDSN(p, c.SuperUser, c.SuperPassword, "postgres", "require"))
	select {
	case err := <-crashed:
		if err != nil {
			t.Fatalf("pg_ctl stop -m immediate: %v", err)
		}
	case <-time.After(time.Minute):
		t.Fatal("the server was never stopped: the check finished before 3 KB came back")
	}
	fr.assertFault(t, 20*time.Second, "the connection was lost", "terminating connection", "shutdown")
	if fr.stderr == "" {
		t.Error("nothing on stderr")
	}
}

// applyCut says when TestFaultApplyConnectionLost cuts the apply's
// connection, given what went by on it.
type applyCut struct {
	name string
	// cut decides on each chunk of the apply connection (the one whose
	// client sends fix's savepoint), with the bytes the server has sent
	// since the first step and whether the client is sending again after
	// an answer (the next pipeline).
	cut func(up bool, downSinceFirstStep int64, againAfterAnswer bool) bool
}

// TestFaultApplyConnectionLost: fix --apply loses its connection between
// two steps: inside a pipelined batch of 500 (the server has the whole
// batch and keeps committing while the answers are cut off), and between
// two batches. The report must match the server exactly: every step
// reported applied committed, no step reported not run did, and the steps
// whose outcome it calls unknown are the only others, those that committed
// among them coming first; then a second fix plans exactly what is left.
func TestFaultApplyConnectionLost(t *testing.T) {
	c := pgtest.Cluster(t)
	const tables = 1200 // three pipelines of replica-identity steps
	for _, tc := range []applyCut{
		{"inside a batch", func(up bool, down int64, _ bool) bool { return !up && down > 20<<10 }},
		{"between batches", func(up bool, _ int64, again bool) bool { return up && again }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db := pgtest.NewDatabase(t, c)
			user, slot := pgtest.UniqueName(t, "connector"), pgtest.UniqueName(t, "slot")
			pgtest.Exec(t, c, db, fmt.Sprintf(`CREATE ROLE %s LOGIN;
DO $$ BEGIN FOR i IN 1..%d LOOP EXECUTE format('CREATE TABLE public.t%%s (a int, b text)', i); END LOOP; END $$;`, sqlident.Quote(user), tables))
			t.Cleanup(func() {
				_ = c.Exec(context.Background(), db, "DROP OWNED BY "+user)
				_ = c.Exec(context.Background(), "postgres", "DROP OWNED BY "+user+"; DROP ROLE IF EXISTS "+user)
			})
			p, err := netdelay.Listen(t.Context(), "127.0.0.1:0", fmt.Sprintf("%s:%d", c.Host, c.Port), 0)
			if err != nil {
				t.Fatal(err)
			}
			var mu sync.Mutex
			applyConn, answered, cutDone := 0, false, false
			var down int64
			p.Tap = func(conn int, up bool, data []byte) bool {
				mu.Lock()
				defer mu.Unlock()
				if applyConn == 0 && up && strings.Contains(string(data), "cdcpreflight_step") {
					applyConn = conn
				}
				if conn != applyConn || cutDone {
					return false
				}
				again := up && answered
				if !up {
					down += int64(len(data))
					answered = true
				}
				cutDone = tc.cut(up, down, again)
				return cutDone
			}
			go func() { _ = p.Serve() }()
			t.Cleanup(p.Close)

			// Plain TCP, so the tap can see the statements go by.
			dsn := fmt.Sprintf("postgres://%s:%s@%s/%s?sslmode=disable", c.SuperUser, c.SuperPassword, p.Addr(), db)
			start := time.Now()
			r := run(t, nil, "fix", dsn, "--connector-user", user, "--slot", slot, "--apply", "--yes")
			took := time.Since(start)
			if !cutDone {
				t.Fatalf("the connection was never cut; exit %d\n%s", r.code, r.stderr)
			}
			if r.code != 2 || took > time.Minute {
				t.Errorf("exit %d after %s; want 2, promptly", r.code, took)
			}
			for _, want := range []string{"the connection was lost", "Run the same cdcpreflight fix again"} {
				if !strings.Contains(r.stderr, want) {
					t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
				}
			}
			assertNoSecret(t, r)

			// What the report says of each table's step, and what the server
			// has once the apply's backend is gone: cut off, it may go on
			// committing the batch it has until it notices.
			said := reportedSteps(t, r)
			truth := map[string]bool{}
			conn := pgtest.Conn(t, c, db)
			waitForNoOtherSessions(t, conn)
			rows, err := conn.Query(t.Context(), `SELECT relname, relreplident = 'f' FROM pg_class
				WHERE relnamespace = 'public'::regnamespace AND relkind = 'r' AND relname ~ '^t[0-9]+$'`)
			if err != nil {
				t.Fatal(err)
			}
			for rows.Next() {
				var name string
				var full bool
				if err := rows.Scan(&name, &full); err != nil {
					t.Fatal(err)
				}
				truth["ALTER TABLE public."+name+" REPLICA IDENTITY FULL;"] = full
			}
			if rows.Err() != nil || len(truth) != tables {
				t.Fatalf("%d tables read: %v", len(truth), rows.Err())
			}
			counts := map[string]int{}
			committedUnknown, prefix := 0, true
			for _, s := range said {
				committed, isTable := truth[s.sql]
				if !isTable {
					continue
				}
				counts[s.status]++
				switch s.status {
				case "applied":
					if !committed {
						t.Errorf("reported applied, not committed: %s", s.sql)
					}
				case "not run":
					if committed {
						t.Errorf("reported not run, but committed: %s", s.sql)
					}
				case "unknown":
					if committed {
						if !prefix {
							t.Errorf("an unknown step committed after one that did not: %s", s.sql)
						}
						committedUnknown++
					} else {
						prefix = false
					}
				}
				delete(truth, s.sql)
			}
			if len(truth) != 0 {
				t.Errorf("%d tables' steps are in no list of the report", len(truth))
			}
			t.Logf("%s: applied %d, unknown %d (of which the server had committed %d), not run %d; %s",
				tc.name, counts["applied"], counts["unknown"], committedUnknown, counts["not run"], took.Round(time.Millisecond))
			if counts["applied"] == 0 || counts["not run"] == 0 {
				t.Errorf("the cut did not land between two steps: %v", counts)
			}

			// The way back the report gives: a second fix, straight to
			// the server, plans exactly the tables still without FULL.
			again := run(t, nil, "fix", c.DSN(c.SuperUser, c.SuperPassword, db, "disable"), "--connector-user", user, "--slot", slot)
			if again.code != 1 {
				t.Fatalf("second fix: exit %d\n%s", again.code, again.stderr)
			}
			left := 0
			for _, l := range strings.Split(again.stdout, "\n") {
				if strings.HasPrefix(l, "ALTER TABLE public.t") && strings.HasSuffix(l, " REPLICA IDENTITY FULL;") {
					left++ // a statement, not a comment line
				}
			}
			if want := counts["not run"] + counts["unknown"] - committedUnknown; left != want {
				t.Errorf("the second fix plans %d replica identity steps, want %d", left, want)
			}
		})
	}
}

type reportedStep struct{ status, sql string }

// reportedSteps reads fix --apply's account of each step: "applied" lines
// on stdout, the "Outcome unknown" and "Not run" lists on stderr.
func reportedSteps(t *testing.T, r runResult) []reportedStep {
	t.Helper()
	var out []reportedStep
	for _, l := range strings.Split(r.stdout, "\n") {
		if rest, ok := strings.CutPrefix(l, "  applied  "); ok {
			_, sql, _ := strings.Cut(strings.TrimSpace(rest), "  ")
			out = append(out, reportedStep{"applied", sql})
		}
	}
	section := ""
	for _, l := range strings.Split(r.stderr, "\n") {
		switch {
		case strings.HasPrefix(l, "Outcome unknown"):
			section = "unknown"
		case strings.HasPrefix(l, "Not run"):
			section = "not run"
		case strings.HasPrefix(l, "  ") && section != "" && !strings.HasPrefix(l, "  ("):
			out = append(out, reportedStep{section, strings.TrimSpace(l)})
		case !strings.HasPrefix(l, "  "):
			section = ""
		}
	}
	return out
}

// waitForNoOtherSessions waits until conn's is the only session in its
// database.
func waitForNoOtherSessions(t *testing.T, conn *pgx.Conn) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		var n int
		if err := conn.QueryRow(t.Context(), `SELECT count(*) FROM pg_stat_activity
			WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend'`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d other sessions still in the database after a minute", n)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
