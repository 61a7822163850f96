package pglocal_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/cdcpreflight/cdcpreflight/internal/pglocal"
	"github.com/cdcpreflight/cdcpreflight/internal/pgtest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// Names that break naive DSN building.
const (
	weirdSuffix   = ` we"ird rölé/x`
	weirdPassword = `p@ss:w/rd?#% 'x"ü`
)

func literal(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// createRole creates a login role with a password (cluster-wide, so uniquely
// named) and returns its name.
func createRole(t *testing.T, c *pglocal.Cluster, name, password, attrs string) string {
	t.Helper()
	pgtest.Exec(t, c, "postgres", fmt.Sprintf("CREATE ROLE %s LOGIN %s PASSWORD %s",
		pgx.Identifier{name}.Sanitize(), attrs, literal(password)))
	return name
}

func TestDSNEscaping(t *testing.T) {
	c := &pglocal.Cluster{Host: "127.0.0.1", Port: 5433, SocketDir: `/tmp/a b'c`, SuperUser: "postgres"}
	user, db := "u"+weirdSuffix, "d"+weirdSuffix
	cfg, err := pgconn.ParseConfig(c.DSN(user, weirdPassword, db, "require"))
	if err != nil {
		t.Fatalf("parse %q: %v", c.DSN(user, weirdPassword, db, "require"), err)
	}
	if cfg.User != user || cfg.Password != weirdPassword || cfg.Database != db ||
		cfg.Host != "127.0.0.1" || cfg.Port != 5433 || cfg.TLSConfig == nil {
		t.Errorf("DSN round trip: got user=%q password=%q db=%q host=%q port=%d tls=%v",
			cfg.User, cfg.Password, cfg.Database, cfg.Host, cfg.Port, cfg.TLSConfig != nil)
	}
	cfg, err = pgconn.ParseConfig(c.SuperDSN(db))
	if err != nil {
		t.Fatalf("parse %q: %v", c.SuperDSN(db), err)
	}
	if cfg.Host != c.SocketDir || cfg.Database != db || cfg.User != "postgres" || cfg.TLSConfig != nil {
		t.Errorf("SuperDSN round trip: got host=%q db=%q user=%q tls=%v", cfg.Host, cfg.Database, cfg.User, cfg.TLSConfig != nil)
	}
}

func TestStartRejectsManagedSettings(t *testing.T) {
	_, err := pglocal.Start(t.Context(), pglocal.Options{BinDir: pgtest.BinDir(t), Settings: map[string]string{"port": "1"}})
	if err == nil || !strings.Contains(err.Error(), "managed by pglocal") {
		t.Fatalf("Start with port setting: got %v, want a 'managed by pglocal' error", err)
	}
}

func sslInUse(t *testing.T, dsn string) bool {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), dsn)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	defer conn.Close(context.Background())
	var ssl bool
	if err := conn.QueryRow(t.Context(), "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()").Scan(&ssl); err != nil {
		t.Fatal(err)
	}
	return ssl
}

func TestTLSAndPasswordAuth(t *testing.T) {
	c := pgtest.Cluster(t)
	if c.CACertFile == "" {
		t.Fatal("TLS cluster has no CACertFile")
	}
	// The odd name and password also prove DSN escaping against a server.
	role := createRole(t, c, pgtest.UniqueName(t, "r")+weirdSuffix, weirdPassword, "")

	t.Run("require", func(t *testing.T) {
		if !sslInUse(t, c.DSN(role, weirdPassword, "postgres", "require")) {
			t.Error("sslmode=require: pg_stat_ssl.ssl is false")
		}
	})
	t.Run("verify-full", func(t *testing.T) {
		dsn := c.DSN(role, weirdPassword, "postgres", "verify-full") + "&sslrootcert=" + url.QueryEscape(c.CACertFile)
		if !sslInUse(t, dsn) {
			t.Error("sslmode=verify-full: pg_stat_ssl.ssl is false")
		}
	})
	t.Run("verify-full without the CA fails", func(t *testing.T) {
		// Proves the certificate really is checked: the system roots do not
		// know our self-signed CA.
		conn, err := pgx.Connect(t.Context(), c.DSN(role, weirdPassword, "postgres", "verify-full"))
		if err == nil {
			conn.Close(context.Background())
			t.Fatal("verify-full with system roots unexpectedly succeeded")
		}
		t.Logf("as expected: %v", err)
	})
	t.Run("disable", func(t *testing.T) {
		if sslInUse(t, c.DSN(role, weirdPassword, "postgres", "disable")) {
			t.Error("sslmode=disable: pg_stat_ssl.ssl is true")
		}
	})
	t.Run("wrong password", func(t *testing.T) {
		conn, err := pgx.Connect(t.Context(), c.DSN(role, "wrong", "postgres", "disable"))
		if err == nil {
			conn.Close(context.Background())
			t.Fatal("connected with a wrong password: TCP auth is not enforced")
		}
		var pgErr *pgconn.PgError
		if !errors.As(err, &pgErr) || pgErr.Code != "28P01" {
			t.Errorf("want invalid_password (28P01), got %v", err)
		}
	})
	t.Run("superuser over TCP", func(t *testing.T) {
		// SuperPassword was re-set after start, so it must be a SCRAM secret.
		conn, err := pgx.Connect(t.Context(), c.DSN(c.SuperUser, c.SuperPassword, "postgres", "require"))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(context.Background())
		var secret string
		if err := conn.QueryRow(t.Context(), "SELECT rolpassword FROM pg_authid WHERE rolname = $1", c.SuperUser).Scan(&secret); err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(secret, "SCRAM-SHA-256$") {
			t.Errorf("superuser password stored as %.10q…, want SCRAM-SHA-256", secret)
		}
	})
}

// TestHBA: HBA replaces the TCP lines, so a role the lines do not name has
// no entry; the socket stays open to the superuser.
func TestHBA(t *testing.T) {
	_, err := pglocal.Start(t.Context(), pglocal.Options{BinDir: pgtest.BinDir(t), HBA: []string{"host all all 0.0.0.0/0 trust\nlocal all all trust"}})
	if err == nil || !strings.Contains(err.Error(), "line break") {
		t.Fatalf("Start with a line break in an HBA line: got %v", err)
	}
	c := pgtest.ClusterWith(t, "hba", pglocal.Options{TLS: true, HBA: []string{
		"hostssl all +hba_allowed 127.0.0.1/32 scram-sha-256",
	}})
	pgtest.Exec(t, c, "postgres", "CREATE ROLE hba_allowed NOLOGIN")
	in := createRole(t, c, pgtest.UniqueName(t, "in"), weirdPassword, "IN ROLE hba_allowed")
	out := createRole(t, c, pgtest.UniqueName(t, "out"), weirdPassword, "")
	if !sslInUse(t, c.DSN(in, weirdPassword, "postgres", "require")) {
		t.Error("the hostssl line matched a connection without TLS")
	}
	conn, err := pgx.Connect(t.Context(), c.DSN(out, weirdPassword, "postgres", "require"))
	if err == nil {
		conn.Close(context.Background())
		t.Fatal("a role no line names connected")
	}
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "28000" || !strings.Contains(pgErr.Message, "no pg_hba.conf entry") {
		t.Errorf("want 28000 no pg_hba.conf entry, got %v", err)
	}
	conn, err = pgx.Connect(t.Context(), c.DSN(in, weirdPassword, "postgres", "disable"))
	if err == nil {
		conn.Close(context.Background())
		t.Error("hostssl matched a plain connection")
	}
	if v := showSetting(t, c, "is_superuser"); v != "on" {
		t.Errorf("the socket connection is not the superuser's: is_superuser = %s", v)
	}
}

func showSetting(t *testing.T, c *pglocal.Cluster, name string) string {
	t.Helper()
	var v string
	if err := pgtest.Conn(t, c, "postgres").QueryRow(t.Context(), "SELECT current_setting($1)", name).Scan(&v); err != nil {
		t.Fatal(err)
	}
	return v
}

func TestWalLevel(t *testing.T) {
	c := pgtest.Cluster(t)
	if got := showSetting(t, c, "wal_level"); got != "logical" || c.WalLevel != "logical" {
		t.Errorf("default cluster: wal_level = %q (Cluster.WalLevel %q), want logical", got, c.WalLevel)
	}
	r := pgtest.ClusterWith(t, "wal-replica", pglocal.Options{WalLevel: "replica"})
	if got := showSetting(t, r, "wal_level"); got != "replica" || r.WalLevel != "replica" {
		t.Errorf("replica cluster: wal_level = %q (Cluster.WalLevel %q), want replica", got, r.WalLevel)
	}
	if r.VersionNum < 100000 || r.VersionNum != c.VersionNum {
		t.Errorf("VersionNum = %d and %d, want equal and ≥ 100000", r.VersionNum, c.VersionNum)
	}
}

// syncBuffer is a bytes.Buffer safe for the log tailer goroutine.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestStartRestartStop(t *testing.T) {
	var log syncBuffer
	start := time.Now()
	c, err := pglocal.Start(t.Context(), pglocal.Options{
		BinDir:   pgtest.BinDir(t),
		WalLevel: "minimal",
		Settings: map[string]string{"work_mem": "8MB"},
		Log:      &log,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Stop() }) // safety net; the test checks Stop's result below
	t.Logf("Start (initdb + start) took %s: PostgreSQL %s (%d)", time.Since(start).Round(time.Millisecond), c.Version, c.VersionNum)

	if got := showSetting(t, c, "wal_level"); got != "minimal" {
		t.Errorf("wal_level = %q, want minimal", got)
	}
	if got := showSetting(t, c, "max_wal_senders"); got != "0" {
		t.Errorf("max_wal_senders = %q, want 0 under wal_level=minimal", got)
	}
	if got := showSetting(t, c, "work_mem"); got != "8MB" {
		t.Errorf("work_mem = %q, want 8MB from Settings", got)
	}

	start = time.Now()
	if err := c.Restart(t.Context(), map[string]string{"wal_level": "logical", "max_wal_senders": "5"}); err != nil {
		t.Fatal(err)
	}
	t.Logf("Restart took %s", time.Since(start).Round(time.Millisecond))
	if got := showSetting(t, c, "wal_level"); got != "logical" || c.WalLevel != "logical" {
		t.Errorf("after Restart: wal_level = %q (Cluster.WalLevel %q), want logical", got, c.WalLevel)
	}
	if got := showSetting(t, c, "work_mem"); got != "8MB" {
		t.Errorf("after Restart: work_mem = %q, want 8MB kept", got)
	}

	start = time.Now()
	if err := c.Stop(); err != nil {
		t.Fatal(err)
	}
	t.Logf("Stop took %s", time.Since(start).Round(time.Millisecond))
	if err := c.Stop(); err != nil {
		t.Errorf("second Stop: %v", err)
	}
	if _, err := os.Stat(c.Dir); !os.IsNotExist(err) {
		t.Errorf("%s still exists after Stop (stat: %v)", c.Dir, err)
	}
	if !strings.Contains(log.String(), "ready to accept connections") {
		t.Errorf("Options.Log did not receive the server log; got:\n%s", log.String())
	}
}

func TestNewDatabaseCreatesAndDrops(t *testing.T) {
	c := pgtest.Cluster(t)
	var name string
	var leftOpen *pgx.Conn
	t.Run("use", func(t *testing.T) {
		name = pgtest.NewDatabase(t, c)
		if len(name) > 63 || name != strings.ToLower(name) {
			t.Errorf("database name %q: want lowercase and ≤ 63 bytes", name)
		}
		// A session that is still open and a logical slot would both make
		// a plain DROP DATABASE fail; the cleanup must cope with them.
		var err error
		if leftOpen, err = c.Connect(t.Context(), name); err != nil {
			t.Fatal(err)
		}
		pgtest.Exec(t, c, name, "CREATE TABLE t (id int PRIMARY KEY); INSERT INTO t VALUES (1)")
		// Separately: a slot cannot be created in a transaction that wrote.
		pgtest.Exec(t, c, name, "SELECT pg_create_logical_replication_slot('s_"+name+"', 'pgoutput')")
	})
	if leftOpen != nil {
		leftOpen.Close(context.Background())
	}
	conn := pgtest.Conn(t, c, "postgres")
	var dbs, slots int
	if err := conn.QueryRow(t.Context(), `SELECT
		(SELECT count(*) FROM pg_database WHERE datname = $1),
		(SELECT count(*) FROM pg_replication_slots WHERE database = $1)`, name).Scan(&dbs, &slots); err != nil {
		t.Fatal(err)
	}
	if dbs != 0 || slots != 0 {
		t.Errorf("after the subtest: %d databases and %d slots named after %q remain", dbs, slots, name)
	}
}

func TestUniqueName(t *testing.T) {
	a, b := pgtest.UniqueName(t, "Role"), pgtest.UniqueName(t, "Role")
	if a == b || !strings.HasPrefix(a, "role_testuniquename_") {
		t.Errorf("UniqueName: %q, %q", a, b)
	}
	t.Run(strings.Repeat("Ü very long name ", 10), func(t *testing.T) {
		if n := pgtest.UniqueName(t, "db"); len(n) > 63 {
			t.Errorf("%q is %d bytes", n, len(n))
		}
	})
}

// versionAtLeast compares dotted versions such as "1.18.0".
func versionAtLeast(v string, major, minor int) bool {
	parts := strings.SplitN(v, ".", 3)
	if len(parts) < 2 {
		return false
	}
	ma, err1 := strconv.Atoi(parts[0])
	mi, err2 := strconv.Atoi(parts[1])
	if err1 != nil || err2 != nil {
		return false
	}
	return ma > major || (ma == major && mi >= minor)
}

func replicationConnect(t *testing.T, dsn string) (*pgconn.PgConn, error) {
	t.Helper()
	cfg, err := pgconn.ParseConfig(dsn)
	if err != nil {
		t.Fatal(err)
	}
	cfg.RuntimeParams["replication"] = "database"
	return pgconn.ConnectConfig(t.Context(), cfg)
}

func TestPgBouncer(t *testing.T) {
	c := pgtest.Cluster(t)
	db := pgtest.NewDatabase(t, c)
	password := "pw " + weirdPassword
	role := createRole(t, c, pgtest.UniqueName(t, "bouncer"), password, "REPLICATION")
	b := pgtest.PgBouncer(t, c, map[string]string{role: password})
	t.Logf("PgBouncer %s on port %d", b.Version, b.Port)

	t.Run("ordinary query", func(t *testing.T) {
		conn, err := pgx.Connect(t.Context(), b.DSN(role, password, db, "disable"))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(context.Background())
		var user, database string
		if err := conn.QueryRow(t.Context(), "SELECT current_user, current_database()").Scan(&user, &database); err != nil {
			t.Fatal(err)
		}
		if user != role || database != db {
			t.Errorf("through pgbouncer: current_user=%q current_database=%q, want %q %q", user, database, role, db)
		}
	})

	t.Run("replication=database direct", func(t *testing.T) {
		// Control: the role may open logical replication connections, so
		// any failure through PgBouncer is PgBouncer's doing.
		conn, err := replicationConnect(t, c.DSN(role, password, db, "disable"))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(context.Background())
		if _, err := conn.Exec(t.Context(), "IDENTIFY_SYSTEM").ReadAll(); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("replication=database through pgbouncer", func(t *testing.T) {
		conn, err := replicationConnect(t, b.DSN(role, password, db, "disable"))
		if !versionAtLeast(b.Version, 1, 23) {
			// Observed with 1.18.0: the startup packet is rejected with
			// FATAL "unsupported startup parameter: replication" (08P01).
			if err == nil {
				conn.Close(context.Background())
				t.Fatalf("PgBouncer %s accepted a replication connection; expected a rejection before 1.23", b.Version)
			}
			t.Logf("PgBouncer %s: %v", b.Version, err)
			if !strings.Contains(err.Error(), "unsupported startup parameter: replication") {
				t.Errorf("PgBouncer %s: want 'unsupported startup parameter: replication', got %v", b.Version, err)
			}
			return
		}
		// PgBouncer ≥ 1.23 proxies replication connections (session mode,
		// each client paired with its own server connection). Not observed
		// on this machine's 1.18; expectation from the 1.23 release notes.
		if err != nil {
			t.Fatalf("PgBouncer %s: replication=database connection failed: %v", b.Version, err)
		}
		defer conn.Close(context.Background())
		res, err := conn.Exec(t.Context(), "IDENTIFY_SYSTEM").ReadAll()
		if err != nil {
			t.Fatalf("PgBouncer %s: IDENTIFY_SYSTEM: %v", b.Version, err)
		}
		t.Logf("PgBouncer %s: IDENTIFY_SYSTEM returned %d row(s)", b.Version, len(res[0].Rows))
	})
}
