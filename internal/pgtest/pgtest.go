// Package pgtest gives tests throwaway PostgreSQL clusters (via pglocal),
// shared per test binary and started lazily, plus per-test databases and
// PgBouncers. Import it only from _test.go files, and install its TestMain:
//
//	func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }
//
// Missing PostgreSQL, PgBouncer or sshd binaries skip the test, except under
// CI=true, where they fail it: CI must not go green by skipping everything.
//
// Set CDCPREFLIGHT_TEST_PGLOG=1 to stream server and PgBouncer logs to
// stderr.
package pgtest

import (
	"context"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/cdcpreflight/cdcpreflight/internal/pglocal"
)

// DefaultKey is the ClusterWith key of the cluster Cluster returns.
const DefaultKey = "default"

// startTimeout bounds one cluster start, including initdb on a slow CI disk.
const startTimeout = 3 * time.Minute

// The registry of everything this test binary started, so Main can stop it.
var (
	mu         sync.Mutex
	mainActive bool
	clusters   = map[string]*shared{}
	standbys   []*pglocal.Cluster
	bouncers   []*pglocal.PgBouncer
	sshds      []*pglocal.SSHD
	behind     = map[int]*pglocal.Cluster{} // PgBouncer port → its cluster
	nameSeq    atomic.Int64
)

// shared is one lazily started cluster; its start error is remembered so
// later tests fail fast with the same cause instead of retrying.
type shared struct {
	opt  pglocal.Options
	once sync.Once
	c    *pglocal.Cluster
	err  error
	took time.Duration
}

// Main runs the tests and then stops every cluster, standby and PgBouncer
// this package started. A failure to stop turns a passing run into a failing one,
// since it means leaked processes or files.
func Main(m *testing.M) int {
	mu.Lock()
	mainActive = true
	mu.Unlock()

	code := m.Run()

	mu.Lock()
	defer mu.Unlock()
	failed := false
	// Standbys first: stopping one drops its slot on a primary still running.
	for _, sb := range standbys {
		if err := sb.Stop(); err != nil {
			fmt.Fprintf(os.Stderr, "pgtest: stop standby: %v\n", err)
			failed = true
		}
	}
	for _, b := range bouncers {
		if err := b.Stop(); err != nil {
			fmt.Fprintf(os.Stderr, "pgtest: stop pgbouncer: %v\n", err)
			failed = true
		}
	}
	for _, s := range sshds {
		if err := s.Stop(); err != nil {
			fmt.Fprintf(os.Stderr, "pgtest: stop sshd: %v\n", err)
			failed = true
		}
	}
	for key, s := range clusters {
		if s.c == nil {
			continue
		}
		if err := s.c.Stop(); err != nil {
			fmt.Fprintf(os.Stderr, "pgtest: stop cluster %q: %v\n", key, err)
			failed = true
		}
	}
	if failed && code == 0 {
		code = 1
	}
	return code
}

func requireMain(t testing.TB) {
	t.Helper()
	mu.Lock()
	ok := mainActive
	mu.Unlock()
	if !ok {
		// Without Main nothing stops the shared clusters at the end.
		t.Fatal("pgtest: this package needs func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }")
	}
}

// skipOrFatal reports missing binaries: a skip locally, a failure in CI.
func skipOrFatal(t testing.TB, err error) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf("%v (CI=true: missing binaries are an error, not a skip)", err)
	}
	t.Skipf("skipping: %v", err)
}

// BinDir returns the PostgreSQL bin directory (pglocal.FindBinDir), or skips
// the test (fails it under CI=true) when there is none.
func BinDir(t testing.TB) string {
	t.Helper()
	dir, err := pglocal.FindBinDir()
	if err != nil {
		skipOrFatal(t, err)
	}
	return dir
}

func serverLog() io.Writer {
	if os.Getenv("CDCPREFLIGHT_TEST_PGLOG") != "" {
		return os.Stderr
	}
	return nil
}

// Cluster returns the test binary's shared default cluster: wal_level=logical,
// TLS on. Tests sharing it must not change cluster-wide state they do not
// own: use NewDatabase and UniqueName.
func Cluster(t testing.TB) *pglocal.Cluster {
	t.Helper()
	return ClusterWith(t, DefaultKey, pglocal.Options{TLS: true})
}

// ClusterWith returns the shared cluster called key, starting it with opt on
// first use. Every use of a key must pass the same options.
func ClusterWith(t testing.TB, key string, opt pglocal.Options) *pglocal.Cluster {
	t.Helper()
	requireMain(t)
	if opt.BinDir == "" {
		opt.BinDir = BinDir(t)
	}
	if opt.Log == nil {
		opt.Log = serverLog()
	}
	mu.Lock()
	s := clusters[key]
	if s == nil {
		s = &shared{opt: opt}
		clusters[key] = s
	}
	mu.Unlock()
	if !sameOptions(s.opt, opt) {
		t.Fatalf("pgtest: cluster %q requested with options %+v, but it was started with %+v", key, opt, s.opt)
	}
	s.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
		defer cancel()
		start := time.Now()
		s.c, s.err = pglocal.Start(ctx, s.opt)
		s.took = time.Since(start)
		if s.err == nil {
			t.Logf("pgtest: started cluster %q (PostgreSQL %s, wal_level=%s) in %s on port %d",
				key, s.c.Version, s.c.WalLevel, s.took.Round(time.Millisecond), s.c.Port)
		}
	})
	if s.err != nil {
		t.Fatalf("pgtest: start cluster %q: %v", key, s.err)
	}
	return s.c
}

func sameOptions(a, b pglocal.Options) bool {
	return a.BinDir == b.BinDir && a.WalLevel == b.WalLevel && a.TLS == b.TLS &&
		maps.Equal(a.Settings, b.Settings) && slices.Equal(a.HBA, b.HBA) && (a.HBA == nil) == (b.HBA == nil)
}

// UniqueName returns a lowercase identifier (≤ 63 bytes, PostgreSQL's limit)
// unique within this test binary, built from prefix and the test name, for
// cluster-wide objects such as roles and databases.
func UniqueName(t testing.TB, prefix string) string {
	suffix := fmt.Sprintf("_%d", nameSeq.Add(1))
	base := sanitize(prefix + "_" + t.Name())
	if base == "" || base[0] < 'a' || base[0] > 'z' {
		base = "t_" + base
	}
	if limit := 63 - len(suffix); len(base) > limit {
		base = strings.TrimRight(base[:limit], "_")
	}
	return base + suffix
}

// sanitize maps s to [a-z0-9_], collapsing runs of anything else into "_".
func sanitize(s string) string {
	var b strings.Builder
	lastUnderscore := false
	for _, r := range strings.ToLower(s) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			b.WriteRune(r)
			lastUnderscore = false
		} else if !lastUnderscore {
			b.WriteByte('_')
			lastUnderscore = true
		}
	}
	return strings.Trim(b.String(), "_")
}

// NewDatabase creates a fresh database for this test and drops it when the
// test ends (terminating its sessions and dropping its replication slots and
// subscriptions first, so the test need not clean up).
func NewDatabase(t testing.TB, c *pglocal.Cluster) string {
	t.Helper()
	name := UniqueName(t, "db")
	if err := c.CreateDatabase(t.Context(), name); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// t.Context() is already cancelled when cleanups run.
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := c.DropDatabase(ctx, name); err != nil {
			t.Errorf("pgtest: %v", err)
		}
	})
	return name
}

// Exec runs an SQL script as the superuser in db, failing the test on error.
func Exec(t testing.TB, c *pglocal.Cluster, db, sql string) {
	t.Helper()
	if err := c.Exec(t.Context(), db, sql); err != nil {
		t.Fatal(err)
	}
}

// Conn opens a superuser connection to db, closed when the test ends.
func Conn(t testing.TB, c *pglocal.Cluster, db string) *pgx.Conn {
	t.Helper()
	conn, err := c.Connect(t.Context(), db)
	if err != nil {
		t.Fatal(err)
	}
	// A close error at test end has no consequence: the cluster is thrown away.
	t.Cleanup(func() { _ = conn.Close(context.Background()) })
	return conn
}

// PgBouncer starts a PgBouncer in front of c for this test (stopped when it
// ends); users maps user names to their passwords.
func PgBouncer(t testing.TB, c *pglocal.Cluster, users map[string]string) *pglocal.PgBouncer {
	t.Helper()
	requireMain(t)
	if _, err := pglocal.FindPgBouncer(); err != nil {
		skipOrFatal(t, err)
	}
	b, err := pglocal.StartPgBouncer(t.Context(), c, users, serverLog())
	if err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	bouncers = append(bouncers, b) // Main stops it too if a cleanup never ran
	behind[b.Port] = c
	mu.Unlock()
	t.Cleanup(func() {
		if err := b.Stop(); err != nil {
			t.Errorf("pgtest: stop pgbouncer: %v", err)
		}
	})
	return b
}

// SSHD starts an OpenSSH server on loopback for this test, a bastion
// (stopped when it ends); see pglocal.StartSSHD. Without sshd the test is
// skipped, or fails under CI=true.
func SSHD(t testing.TB, opt pglocal.SSHDOptions) *pglocal.SSHD {
	t.Helper()
	requireMain(t)
	if _, err := pglocal.FindSSHD(); err != nil {
		skipOrFatal(t, err)
	}
	if opt.Log == nil {
		opt.Log = serverLog()
	}
	s, err := pglocal.StartSSHD(t.Context(), opt)
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	mu.Lock()
	sshds = append(sshds, s) // Main stops it too if a cleanup never ran
	mu.Unlock()
	t.Cleanup(func() {
		if err := s.Stop(); err != nil {
			t.Errorf("pgtest: stop sshd: %v", err)
		}
	})
	return s
}

// Serving returns the cluster that serves connections to port on this
// machine: a cluster or standby this binary started, or the cluster behind
// a PgBouncer it started.
func Serving(port int) (*pglocal.Cluster, bool) {
	mu.Lock()
	defer mu.Unlock()
	for _, s := range clusters {
		if s.c != nil && s.c.Port == port {
			return s.c, true
		}
	}
	for _, sb := range standbys {
		if sb.Port == port {
			return sb, true
		}
	}
	c, ok := behind[port]
	return c, ok
}

// Standby starts a streaming hot standby of primary for this test (stopped
// when it ends, which also drops its physical slot on the primary); see
// pglocal.StartStandby.
func Standby(t testing.TB, primary *pglocal.Cluster) *pglocal.Cluster {
	t.Helper()
	return StandbyWith(t, primary, pglocal.StandbyOptions{})
}

// StandbyWith is Standby with options; an empty SlotName gets a name
// unique to the test, and a nil Log the test's server log setting.
func StandbyWith(t testing.TB, primary *pglocal.Cluster, opt pglocal.StandbyOptions) *pglocal.Cluster {
	t.Helper()
	requireMain(t)
	ctx, cancel := context.WithTimeout(t.Context(), startTimeout)
	defer cancel()
	start := time.Now()
	if opt.SlotName == "" {
		opt.SlotName = UniqueName(t, "standby")
	}
	if opt.Log == nil {
		opt.Log = serverLog()
	}
	sb, err := pglocal.StartStandby(ctx, primary, opt)
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	mu.Lock()
	standbys = append(standbys, sb) // Main stops it too if a cleanup never ran
	mu.Unlock()
	t.Cleanup(func() {
		if err := sb.Stop(); err != nil {
			t.Errorf("pgtest: stop standby: %v", err)
		}
	})
	t.Logf("pgtest: started a standby of PostgreSQL %s in %s on port %d (slot %s)",
		sb.Version, time.Since(start).Round(time.Millisecond), sb.Port, sb.PrimarySlot)
	return sb
}
