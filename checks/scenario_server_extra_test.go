package checks_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/cdcpreflight/cdcpreflight/facts"
	"github.com/cdcpreflight/cdcpreflight/internal/pglocal"
	"github.com/cdcpreflight/cdcpreflight/internal/pgtest"
	"github.com/cdcpreflight/cdcpreflight/rules"
)

// serverExtraScenarios: rule → {passing scenario, non-passing scenario}.
var serverExtraScenarios = map[string][2]string{
	"standby":             {"TestScenarioServerPrimary", "TestScenarioServerStandby"},
	"wal-retention-limit": {"TestScenarioWalRetentionCapped", "TestScenarioWalRetentionUnlimited"},
}

func TestScenarioServerPrimary(t *testing.T) {
	c := pgtest.Cluster(t)
	db := pgtest.NewDatabase(t, c)
	user := replicationUser(t, c, db)
	got := judgeDSN(t, c.DSN(user, testPassword, db, "require"), facts.Options{}, time.Time{})
	wantResult(t, got["standby"], rules.StatusPass, nil, "connected to a primary")
}

// TestScenarioServerStandby judges a real streaming hot standby: before
// PostgreSQL 16 it cannot decode (and creating a slot there fails), from
// 16 it can, with read-only snapshots only.
func TestScenarioServerStandby(t *testing.T) {
	primary := pgtest.ClusterWith(t, "standby-primary", pglocal.Options{TLS: true})
	db := pgtest.NewDatabase(t, primary)
	user := replicationUser(t, primary, db)
	sb := startStandby(t, primary) // after the database and role exist: the base backup carries them
	dsn := fmt.Sprintf("postgres://%s:%s@127.0.0.1:%d/%s?sslmode=require", user, testPassword, sb.port, db)

	got := judgeDSN(t, dsn, facts.Options{}, time.Time{})
	r := got["standby"]
	if primary.VersionNum < 160000 {
		wantResult(t, r, rules.StatusFail, nil, "logical decoding on a standby needs PostgreSQL 16")
		if state := sb.createSlotState(t, db, primary); state != "0A000" {
			t.Errorf("creating a logical slot on a PostgreSQL %d standby: SQLSTATE %q, want 0A000", primary.VersionNum, state)
		}
		return
	}
	wantResult(t, r, rules.StatusWarn, nil, "decoding works here with read-only snapshots only", "hot_standby_feedback is already on")
	wantResult(t, judgeDSN(t, dsn, facts.Options{Slot: "streamkap_pgoutput_slot", Publication: "streamkap_pub",
		SignalSchema: "streamkap", SnapshotMode: "signal-table"}, time.Time{})["standby"],
		rules.StatusFail, nil, "signal-table snapshots cannot write")
	// And decoding does work there.
	if state := sb.createSlotState(t, db, primary); state != "" {
		t.Errorf("creating a logical slot on a PostgreSQL %d standby: SQLSTATE %s", primary.VersionNum, state)
	}
}

// TestScenarioWalRetentionUnlimited: the default -1 (13+); 10-12 have no
// such setting.
func TestScenarioWalRetentionUnlimited(t *testing.T) {
	c := pgtest.Cluster(t)
	db := pgtest.NewDatabase(t, c)
	user := replicationUser(t, c, db)
	r := judgeDSN(t, c.DSN(user, testPassword, db, "require"), facts.Options{}, time.Time{})["wal-retention-limit"]
	if c.VersionNum < 130000 {
		wantResult(t, r, rules.StatusSkip, nil, "has no max_slot_wal_keep_size")
		return
	}
	wantResult(t, r, rules.StatusWarn, []string{"setting max_slot_wal_keep_size"},
		"max_slot_wal_keep_size = -1", "ALTER SYSTEM SET max_slot_wal_keep_size = '10GB';", "SELECT pg_reload_conf();")
}

// TestScenarioWalRetentionCapped: a cap passes; 0 (no retention at all)
// is an error.
func TestScenarioWalRetentionCapped(t *testing.T) {
	if pgtest.Cluster(t).VersionNum < 130000 {
		// The server would refuse to start with the setting.
		t.Log("PostgreSQL 10-12 have no max_slot_wal_keep_size: TestScenarioWalRetentionUnlimited covers the skip")
		return
	}
	judge := func(key, size string) (*pglocal.Cluster, string, rules.Result) {
		c := pgtest.ClusterWith(t, key, pglocal.Options{TLS: true, Settings: map[string]string{"max_slot_wal_keep_size": size}})
		db := pgtest.NewDatabase(t, c)
		user := replicationUser(t, c, db)
		return c, db, judgeDSN(t, c.DSN(user, testPassword, db, "require"), facts.Options{}, time.Time{})["wal-retention-limit"]
	}
	_, _, r := judge("wal-keep-1gb", "1GB")
	wantResult(t, r, rules.StatusPass, nil, "max_slot_wal_keep_size = 1.0 GB")
	c, db, r := judge("wal-keep-0", "0")
	wantResult(t, r, rules.StatusFail, []string{"setting max_slot_wal_keep_size"},
		"max_slot_wal_keep_size = 0", "ALTER SYSTEM SET max_slot_wal_keep_size = '10GB';")

	// Why 0 is an error: a slot that has not consumed the last segments
	// loses its WAL at the next checkpoint.
	pgtest.Exec(t, c, db, "SELECT pg_create_logical_replication_slot('lagging', 'pgoutput')")
	for range 2 {
		pgtest.Exec(t, c, db, "CREATE TABLE IF NOT EXISTS churn (v text); INSERT INTO churn SELECT 'x' FROM generate_series(1, 100)")
		pgtest.Exec(t, c, db, "SELECT pg_switch_wal()")
	}
	pgtest.Exec(t, c, db, "CHECKPOINT")
	var status string
	if err := pgtest.Conn(t, c, db).QueryRow(t.Context(),
		"SELECT wal_status FROM pg_replication_slots WHERE slot_name = 'lagging'").Scan(&status); err != nil {
		t.Fatal(err)
	}
	if status != "lost" {
		t.Errorf("a lagging slot under max_slot_wal_keep_size = 0: wal_status %q, want lost", status)
	}
	t.Logf("PostgreSQL %d, max_slot_wal_keep_size = 0: the lagging slot's wal_status is %s", c.VersionNum, status)
}

// A streaming hot standby, built without pg_basebackup (the npm server
// builds do not ship it): the low-level backup API on the primary, a file
// copy of its data directory, then a standby that streams from the primary
// through a physical slot. pglocal has no API for this; what it would need
// is listed in the report that accompanies these tests.

type standbyServer struct {
	binDir, dir, dataDir, logFile string
	port                          int
	cred                          *syscall.Credential // nil unless we are root
	env                           []string
	slot                          string
}

// startStandby starts a hot standby of primary, stopped and removed when
// the test ends (or by a watchdog if this process dies first).
func startStandby(t *testing.T, primary *pglocal.Cluster) *standbyServer {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	sb := &standbyServer{binDir: primary.BinDir, env: standbyEnv(primary.BinDir), slot: pgtest.UniqueName(t, "standby")}
	var err error
	if sb.cred, err = serviceCredential(); err != nil {
		t.Fatal(err)
	}
	if sb.dir, err = os.MkdirTemp("/tmp", "cdcpf-standby-"); err != nil {
		t.Fatal(err)
	}
	sb.dataDir, sb.logFile = filepath.Join(sb.dir, "data"), filepath.Join(sb.dir, "postgres.log")
	release := sb.watchdog(t)
	t.Cleanup(func() { sb.stop(t, primary, release) })
	if err := sb.chown(sb.dir); err != nil {
		t.Fatal(err)
	}
	if err := sb.baseBackup(ctx, primary); err != nil {
		t.Fatal(err)
	}
	if sb.port, err = freeTCPPort(); err != nil {
		t.Fatal(err)
	}
	if err := sb.configure(primary); err != nil {
		t.Fatal(err)
	}
	if out, err := sb.pgCtl(ctx, "-D", sb.dataDir, "-l", sb.logFile, "-w", "-t", "60", "start"); err != nil {
		log, _ := os.ReadFile(sb.logFile)
		t.Fatalf("start standby: %v\n%s\n%s", err, out, log)
	}
	return sb
}

func serviceCredential() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("running as root needs OS user postgres: %w", err)
	}
	uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
	gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
	if err := errors.Join(err1, err2); err != nil {
		return nil, err
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
}

// standbyEnv mirrors pglocal's child environment: no PG* variables, C
// locale, and the bin directory's sibling lib/ for relocatable builds.
func standbyEnv(binDir string) []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if !strings.HasPrefix(k, "PG") && k != "LC_ALL" && k != "LD_LIBRARY_PATH" {
			env = append(env, kv)
		}
	}
	env = append(env, "LC_ALL=C")
	if lib := filepath.Join(filepath.Dir(binDir), "lib"); dirExists(lib) {
		env = append(env, "LD_LIBRARY_PATH="+lib)
	}
	return env
}

func dirExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.IsDir()
}

func freeTCPPort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func (sb *standbyServer) chown(p string) error {
	if sb.cred == nil {
		return nil
	}
	return os.Lchown(p, int(sb.cred.Uid), int(sb.cred.Gid))
}

func (sb *standbyServer) pgCtl(ctx context.Context, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, filepath.Join(sb.binDir, "pg_ctl"), args...)
	cmd.Env, cmd.Dir = sb.env, sb.dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: sb.cred}
	cmd.WaitDelay = 5 * time.Second
	return cmd.CombinedOutput()
}

// watchdog kills the standby and removes its directory when this process
// exits without the test's cleanup (pglocal does the same for its
// clusters): its stdin reaches EOF when we die. The returned func
// releases it after a normal stop.
func (sb *standbyServer) watchdog(t *testing.T) func() {
	t.Helper()
	const script = `read _ignored
pid=$(head -n 1 "$1" 2>/dev/null)
case "$pid" in ''|*[!0-9]*) ;; *) kill -QUIT "$pid" 2>/dev/null; sleep 2; kill -KILL "$pid" 2>/dev/null ;; esac
rm -rf "$2"
`
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(context.Background(), "sh", "-c", script, "cdcpf-standby-reaper",
		filepath.Join(sb.dataDir, "postmaster.pid"), sb.dir)
	cmd.Stdin, cmd.Dir = pr, "/"
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	err = cmd.Start()
	_ = pr.Close() // the child holds its own copy
	if err != nil {
		_ = pw.Close()
		t.Fatal(err)
	}
	return func() {
		_ = pw.Close()
		_ = cmd.Wait() // it always exits 0; an error means it was killed
	}
}

// baseBackup copies the primary's data directory between the low-level
// backup calls (non-exclusive on every version 10-18), with a physical
// slot reserving the WAL the standby will need.
func (sb *standbyServer) baseBackup(ctx context.Context, primary *pglocal.Cluster) error {
	conn, err := primary.Connect(ctx, "postgres")
	if err != nil {
		return err
	}
	defer func() { _ = conn.Close(context.Background()) }()
	if _, err := conn.Exec(ctx, "SELECT pg_create_physical_replication_slot($1, true)", sb.slot); err != nil {
		return fmt.Errorf("create physical slot: %w", err)
	}
	start, stop := "SELECT pg_backup_start('cdcpreflight standby', true)",
		"SELECT labelfile, coalesce(spcmapfile, '') FROM pg_backup_stop(false)"
	if primary.VersionNum < 150000 {
		start, stop = "SELECT pg_start_backup('cdcpreflight standby', true, false)",
			"SELECT labelfile, coalesce(spcmapfile, '') FROM pg_stop_backup(false, false)"
	}
	if _, err := conn.Exec(ctx, start); err != nil {
		return fmt.Errorf("start backup: %w", err)
	}
	copyErr := sb.copyDataDir(primary.DataDir)
	var label, spcmap string
	if err := conn.QueryRow(ctx, stop).Scan(&label, &spcmap); err != nil {
		return fmt.Errorf("stop backup: %w", errors.Join(err, copyErr))
	}
	if copyErr != nil {
		return copyErr
	}
	return sb.writeFile("backup_label", label)
}

// skipContents are directories whose contents a base backup leaves out
// (the directories themselves must exist); skipFiles are per-server files.
var (
	skipContents = map[string]bool{"pg_wal": true, "pg_replslot": true, "pg_stat_tmp": true, "pg_dynshmem": true,
		"pg_notify": true, "pg_serial": true, "pg_snapshots": true, "pg_subtrans": true}
	skipFiles = map[string]bool{"postmaster.pid": true, "postmaster.opts": true, "backup_label": true}
)

func (sb *standbyServer) copyDataDir(src string) error {
	return filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil // removed while we copy, as a live server does
			}
			return err
		}
		rel, _ := filepath.Rel(src, path)
		dst := filepath.Join(sb.dataDir, rel)
		parent := filepath.Base(filepath.Dir(rel))
		if rel == "." {
			parent = ""
		}
		switch {
		case d.IsDir():
			if err := os.MkdirAll(dst, 0o700); err != nil {
				return err
			}
			if err := sb.chown(dst); err != nil {
				return err
			}
			if rel == "pg_wal" {
				if err := os.MkdirAll(filepath.Join(dst, "archive_status"), 0o700); err != nil {
					return err
				}
				return sb.chown(filepath.Join(dst, "archive_status"))
			}
			if skipContents[rel] {
				return fs.SkipDir
			}
			return nil
		case skipFiles[rel] || skipContents[parent] || strings.HasSuffix(rel, "pg_internal.init"):
			return nil
		}
		return sb.copyFile(path, dst)
	})
}

func (sb *standbyServer) copyFile(src, dst string) error {
	in, err := os.Open(src)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		_ = out.Close()
		return err
	}
	if err := out.Close(); err != nil {
		return err
	}
	return sb.chown(dst)
}

func (sb *standbyServer) writeFile(name, content string) error {
	p := filepath.Join(sb.dataDir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		return err
	}
	return sb.chown(p)
}

// configure makes the copy a hot standby on its own port and socket
// directory, streaming from the primary over the primary's unix socket
// (trusted for replication) through the physical slot.
func (sb *standbyServer) configure(primary *pglocal.Cluster) error {
	data, err := os.ReadFile(filepath.Join(sb.dataDir, "cdcpreflight.conf"))
	if err != nil {
		return err
	}
	var conf strings.Builder
	sc := bufio.NewScanner(strings.NewReader(string(data)))
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "port = "):
			line = fmt.Sprintf("port = '%d'", sb.port)
		case strings.HasPrefix(line, "unix_socket_directories = "):
			line = fmt.Sprintf("unix_socket_directories = '%s'", sb.dir)
		}
		conf.WriteString(line + "\n")
	}
	conf.WriteString("hot_standby = 'on'\nhot_standby_feedback = 'on'\n")
	recovery := fmt.Sprintf("primary_conninfo = 'host=%s port=%d user=%s application_name=cdcpreflight_standby'\nprimary_slot_name = '%s'\n",
		primary.SocketDir, primary.Port, primary.SuperUser, sb.slot)
	if primary.VersionNum < 120000 {
		if err := sb.writeFile("recovery.conf", "standby_mode = 'on'\n"+recovery); err != nil {
			return err
		}
	} else {
		conf.WriteString(recovery)
		if err := sb.writeFile("standby.signal", ""); err != nil {
			return err
		}
	}
	return sb.writeFile("cdcpreflight.conf", conf.String())
}

// createSlotState tries to create (and then drops) a logical slot on the
// standby as the superuser, returning the SQLSTATE of a failure. On 16+
// creation waits for a running-transactions record from the primary, which
// pg_log_standby_snapshot() writes.
func (sb *standbyServer) createSlotState(t *testing.T, db string, primary *pglocal.Cluster) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, fmt.Sprintf("host=%s port=%d user=%s dbname=%s sslmode=disable", sb.dir, sb.port, primary.SuperUser, db))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = conn.Close(context.Background()) }()
	if primary.VersionNum >= 160000 {
		done := make(chan struct{})
		defer close(done)
		go func() {
			for {
				select {
				case <-done:
					return
				case <-time.After(200 * time.Millisecond):
					_ = primary.Exec(context.Background(), "postgres", "SELECT pg_log_standby_snapshot()")
				}
			}
		}()
	}
	if _, err := conn.Exec(ctx, "SELECT pg_create_logical_replication_slot('standby_probe', 'pgoutput')"); err != nil {
		var pgErr *pgconn.PgError
		if !errors.As(err, &pgErr) {
			t.Fatal(err)
		}
		t.Logf("PostgreSQL %d standby: %s (%s)", primary.VersionNum, pgErr.Message, pgErr.Code)
		return pgErr.Code
	}
	if _, err := conn.Exec(ctx, "SELECT pg_drop_replication_slot('standby_probe')"); err != nil {
		t.Errorf("drop the probe slot: %v", err)
	}
	return ""
}

// stop shuts the standby down, lets the watchdog remove its directory,
// and drops its physical slot on the primary once its WAL sender is gone.
func (sb *standbyServer) stop(t *testing.T, primary *pglocal.Cluster, release func()) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if _, err := os.Stat(filepath.Join(sb.dataDir, "postmaster.pid")); err == nil {
		if out, err := sb.pgCtl(ctx, "-D", sb.dataDir, "-m", "fast", "-w", "stop"); err != nil {
			t.Errorf("stop standby: %v\n%s", err, out)
		}
	}
	release()
	if sb.slot == "" {
		return
	}
	for deadline := time.Now().Add(30 * time.Second); ; {
		err := primary.Exec(ctx, "postgres", fmt.Sprintf(
			"SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = '%s'", sb.slot))
		var pgErr *pgconn.PgError
		if err == nil || !errors.As(err, &pgErr) || pgErr.Code != "55006" || time.Now().After(deadline) {
			if err != nil {
				t.Errorf("drop the standby's slot: %v", err)
			}
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
}
