package gather

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/cdcpreflight/cdcpreflight/facts"
	"github.com/cdcpreflight/cdcpreflight/internal/connector"
	"github.com/cdcpreflight/cdcpreflight/internal/sshtunnel"
)

// Timeouts bound everything a check does to the server.
type Timeouts struct {
	Statement         time.Duration // statement_timeout for every catalog read
	Lock              time.Duration // lock_timeout: a catalog read never queues behind DDL for long
	IdleInTransaction time.Duration // the server ends our transaction if we hang
}

// DefaultTimeouts are safe for a production primary.
var DefaultTimeouts = Timeouts{Statement: 10 * time.Second, Lock: 2 * time.Second, IdleInTransaction: 60 * time.Second}

// Options says what to gather.
type Options struct {
	Timeouts Timeouts
	Expect   facts.Options // the names and scope the rules judge against
	Now      func() time.Time
	// Progress, when set, is told when each stage of the work starts and
	// ends (done), for a progress display; stages overlap (the replication
	// probe runs while the catalog is read). It must not block.
	Progress func(stage Stage, done bool)
	// Tunnel, when set, is the SSH bastion every connection goes through.
	Tunnel *sshtunnel.Dialer
}

// Stage is a part of gathering, named as a progress display shows it.
type Stage string

// Stages, in the order they start.
const (
	StageConnect    Stage = "connecting"
	StageProbe      Stage = "probing replication"
	StageCatalog    Stage = "reading catalogs"
	StagePrivileges Stage = "reading privileges"
	StagePeek       Stage = "peeking the slot"
)

// ErrInterrupted is the cause to cancel Gather's context with when the
// user interrupts the run (Ctrl-C): what was cut short says "interrupted"
// rather than "timed out", and its statements are cancelled on the server
// (ParseDSN's configs send a CancelRequest when a context ends).
var ErrInterrupted = errors.New("interrupted")

func (o Options) stage(s Stage, done bool) {
	if o.Progress != nil {
		o.Progress(s, done)
	}
}

// Gather connects with cfg and returns the facts. It does not return an
// error: a failure is a fact (Connect.Err, or a section's Err).
func Gather(ctx context.Context, cfg *pgx.ConnConfig, opt Options) *facts.Facts {
	now := time.Now
	if opt.Now != nil {
		now = opt.Now
	}
	f := &facts.Facts{
		SchemaVersion: facts.SchemaVersion,
		GatheredAt:    now().UTC(),
		Target: facts.Target{
			Host: cfg.Host, Port: cfg.Port, Database: cfg.Database, User: cfg.User,
			SSLMode: sslMode(cfg),
		},
		Options: opt.Expect,
	}
	if f.Options.ConnectorUser == "" {
		f.Options.ConnectorUser = cfg.User
	}
	g := &gatherer{f: f, password: cfg.Password, t: opt.Timeouts, ctx: ctx, opt: opt}
	if g.t == (Timeouts{}) {
		g.t = DefaultTimeouts
	}
	if f.Options.PeekMaxBacklog == 0 {
		f.Options.PeekMaxBacklog = DefaultPeekMaxBacklog
	}
	if f.Options.RetainedWALWarn == 0 {
		f.Options.RetainedWALWarn = DefaultRetainedWALWarn
	}
	g.prepareScope()
	f.Options.ConnectorLagWarn = f.Options.ConnectorLagWarnInForce()
	f.Options.ConnectorReplyWarn = f.Options.ConnectorReplyWarnInForce()
	// Notices (the PG 18 peek's "skipped loading publication" WARNING) are
	// collected only while the peek runs.
	cfg = cfg.Copy()
	cfg.OnNotice = func(_ *pgconn.PgConn, n *pgconn.Notice) {
		if g.notices != nil {
			*g.notices = append(*g.notices, Redact(n.Severity+": "+n.Message, g.password))
		}
	}

	f.Connect.Attempted = true
	if opt.Tunnel != nil {
		t := g.openTunnel(ctx, cfg, opt.Tunnel)
		if t == nil {
			f.Connect.Err = &facts.Error{Op: "connect", Message: "no SSH tunnel: " + f.SSHTunnel.Err.Message}
			f.Platform = DetectPlatform(Signals{Host: cfg.Host})
			return f
		}
		defer func() { _ = t.Close() }()
		defer g.tunnelForwarded(t) // before it closes, after every connection closed
		cfg = ThroughTunnel(cfg, t)
	}
	// The replication probe connects while the catalog connection does:
	// two handshakes cost one wait, which is most of a check from far away.
	probeCtx, cancelProbe := context.WithCancel(ctx)
	defer cancelProbe()
	probed := make(chan struct{})
	go func() {
		defer close(probed)
		opt.stage(StageProbe, false)
		defer opt.stage(StageProbe, true)
		g.replicationProbe(probeCtx, cfg)
	}()
	dialed := time.Now()
	opt.stage(StageConnect, false)
	conn, err := pgx.ConnectConfig(ctx, cfg)
	opt.stage(StageConnect, true)
	if err != nil {
		cancelProbe()
		<-probed
		// Without a catalog connection nothing is judged, the probe's
		// outcome included.
		f.ReplProbe = facts.ReplicationProbe{}
		f.Connect.Err = g.fail("connect", err)
		f.Platform = DetectPlatform(Signals{Host: cfg.Host})
		return f
	}
	defer func() {
		closeCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = conn.Close(closeCtx)
	}()
	g.noteConnect(conn.PgConn().PID(), cfg.RuntimeParams["application_name"], time.Since(dialed))
	g.catalog(ctx, conn, cfg.Host)
	<-probed
	g.finishConnections()
	if f.Replication.Err == nil {
		// The probe is a WAL sender too while it lives: it is not one the
		// connector competes with.
		f.Replication.WalSendersUsed = 0
		for _, pid := range g.walSenders {
			if pid != g.probePID {
				f.Replication.WalSendersUsed++
			}
		}
	}
	return f
}

type gatherer struct {
	f        *facts.Facts
	password string
	t        Timeouts
	ctx      context.Context // Gather's, to tell an interrupt from a failure
	opt      Options

	owners  map[ownerKey]bool // schemas and owners of captured tables, for the default-privileges read
	typeMap *pgtype.Map       // the catalog connection's, to decode arrays
	// Every schema and role by oid, for the tables read (see names).
	schemas    map[uint32]schemaName
	roles      map[uint32]roleName
	notices    *[]string // server notices while collecting, nil otherwise
	walSenders []uint32  // pids of the WAL senders, but Neon's walproposer
	probePID   uint32    // the replication probe's backend, 0 if it did not connect

	platformRoles []string // platform roles that exist, for detection
	aurora        bool     // aurora_version() exists
	platformErr   *facts.Error
	caseRows      []caseRow // listed names that exist in another letter case
	caseErr       *facts.Error
	// countAllTables: the publication is FOR ALL TABLES and its table count
	// comes from the tables read (finishPublication).
	countAllTables bool
	peekRow        peekRow

	// With a connector configuration: its filters, compiled, or why they
	// cannot be evaluated; and whether this session is a superuser, who
	// may look for the output plugin's library.
	scope        *connector.Scope
	scopeErr     *facts.Error
	sessionSuper bool
	// pluginExtErr is why the plugin's control file could not be read:
	// 58P01 when there is none.
	pluginExtErr *facts.Error

	roleWalSenders, dbWalSenders []uint32 // pids of the connector role's and the database's WAL senders
}

// fail turns an error into a password-free fact.
func (g *gatherer) fail(op string, err error) *facts.Error {
	e := &facts.Error{Op: op, Message: Redact(err.Error(), g.password)}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		e.SQLState = pgErr.Code
		e.Message = Redact(pgErr.Message, g.password)
		if pgErr.Detail != "" {
			e.Message += " (" + Redact(pgErr.Detail, g.password) + ")"
		}
	}
	if g.ctx != nil && errors.Is(context.Cause(g.ctx), ErrInterrupted) {
		// Whatever failed once the user interrupted failed because of it:
		// a cancelled statement, a closed connection.
		e.Message = "interrupted before it finished"
		return e
	}
	if errors.Is(err, context.DeadlineExceeded) {
		e.Message = "timed out: " + e.Message
	} else if connectionLost(err) {
		e.Message = "the connection was lost: " + e.Message
	}
	if e.SQLState == "57014" && strings.Contains(e.Message, "statement timeout") {
		e.Message = fmt.Sprintf("%s: it took longer than the catalog statement timeout, %s; "+
			"on a very large or slow server raise it with --catalog-timeout (config key catalog_timeout)", e.Message, g.t.Statement)
	}
	return e
}

// catalog reads the catalogs in one READ ONLY transaction, in two
// batches of pipelined reads: everything that depends only on the options,
// then what depends on the first batch (the privileges of the captured
// tables, the slot peek) with the end of the transaction. A check costs
// two round trips after connecting, whatever the number of reads or
// tables. Each read runs after a rollback to a savepoint, so that one
// failing leaves the transaction usable for the others.
func (g *gatherer) catalog(ctx context.Context, conn *pgx.Conn, host string) {
	// The SQL branches on the major version before the server has said
	// which it is: the server_version it reported at startup decides, and
	// the version read in the first batch confirms it (a pooler may
	// report its own); when they disagree the first batch runs again.
	g.typeMap = conn.TypeMap()
	reported := versionNum(conn.PgConn().ParameterStatus("server_version"))
	g.f.Server.VersionNum = reported
	var beginErr *facts.Error
	g.opt.stage(StageCatalog, false)
	defer g.opt.stage(StageCatalog, true)
	first := g.begin(&beginErr)
	if g.scope != nil {
		// A connector's filters pick the captured tables by pattern: they
		// are listed first, a round trip of their own, so that the tables
		// read reads exactly those.
		_ = g.runReads(ctx, conn, append(first, g.scopeRead()))
		if beginErr != nil {
			g.failCatalog(beginErr, host)
			return
		}
		first = nil
	}
	first = append(first, g.firstReads()...)
	if err := g.runReads(ctx, conn, first); err == nil && beginErr == nil && g.f.Server.Err == nil &&
		g.f.Server.VersionNum/10000 != reported/10000 {
		actual := g.f.Server.VersionNum
		g.resetFirst()
		g.f.Server.VersionNum = actual
		_ = g.runReads(ctx, conn, g.firstReads())
	}
	if beginErr != nil {
		g.failCatalog(beginErr, host)
		return
	}
	if g.f.Server.Err != nil {
		g.f.Server.VersionNum = 0
	}
	sig := Signals{Host: host, Settings: g.f.Settings.Values}
	if g.platformErr != nil {
		// Detection falls back to what the host name and settings say.
		sig.Roles, sig.AuroraVersion = nil, false
	} else {
		sig.Roles, sig.AuroraVersion = g.platformRoles, g.aurora
	}
	g.f.Platform = DetectPlatform(sig)
	g.finishTables()
	g.finishConnector()

	second := g.finishPublication()
	if g.f.Tables.Err != nil {
		g.f.Privileges.Err = g.f.Tables.Err
	} else {
		second = append(second, g.privilegeReads()...)
	}
	if lib, ok := g.pluginLibraryRead(); ok {
		second = append(second, lib)
	}
	p := &g.f.Peek
	peek, ok := g.peekRead()
	if ok {
		second = append(second, peek)
		var notices []string
		g.notices = &notices
		defer func() { p.Notices = notices; g.notices = nil }()
	}
	later := StagePrivileges
	if ok {
		later = StagePeek
	}
	g.opt.stage(StageCatalog, true)
	g.opt.stage(later, false)
	defer g.opt.stage(later, true)
	// The transaction ends in the same write: no round trip of its own.
	_ = g.runReads(ctx, conn, second, "ROLLBACK")
	if ok {
		g.finishPeek()
	}
}

// begin opens the transaction with its timeouts. SET LOCAL (set_config
// with is_local) keeps them inside our transaction, which matters behind a
// transaction-mode pooler where the server connection is shared; the
// values are integers of milliseconds we format ourselves. JIT is turned
// off where it exists (11+): the reads are a few large queries over small
// catalogs whose cost estimates grow with the tables in scope, and
// compiling one with JIT took seconds, past statement_timeout.
func (g *gatherer) begin(err **facts.Error) []read {
	none := func(pgx.Rows) error { return nil }
	return []read{
		{op: "begin read-only transaction", sql: "BEGIN READ ONLY", scan: none, err: err, raw: true},
		{op: "set the timeouts", sql: fmt.Sprintf(`SELECT set_config('statement_timeout', '%d', true),
	set_config('lock_timeout', '%d', true), set_config('idle_in_transaction_session_timeout', '%d', true),
	(SELECT set_config(name, 'off', true) FROM pg_settings WHERE name = 'jit')`,
			g.t.Statement.Milliseconds(), g.t.Lock.Milliseconds(), g.t.IdleInTransaction.Milliseconds()),
			scan: none, err: err, raw: true},
		{op: "set a savepoint", sql: "SAVEPOINT " + savepoint, scan: none, err: err, raw: true},
	}
}

// firstReads are the reads that depend only on the options, server first.
func (g *gatherer) firstReads() []read {
	f := g.f
	reads := []read{g.server(), g.settings(), g.platformSignals(), g.session(), g.role(), g.replication()}
	reads = append(reads, g.publication()...)
	if g.scopeErr == nil {
		reads = append(reads, g.tables()...)
	}
	reads = append(reads, g.roleSettings()...)
	reads = append(reads, g.slots()...)
	reads = append(reads, g.connectorReads()...)
	f.SignalTable = facts.HelperTable{Schema: f.Options.SignalSchema, Name: f.Options.SignalTableName()}
	reads = append(reads, g.helperTable("read the signal table", &f.SignalTable))
	if f.Options.HeartbeatSchema != "" {
		f.Heartbeat = facts.HelperTable{Schema: f.Options.HeartbeatSchema, Name: facts.HeartbeatTableName}
		reads = append(reads, g.helperTable("read the heartbeat table", &f.Heartbeat))
	}
	reads = append(reads, g.senders()...)
	reads = append(reads, g.connections(), g.toast(), g.backend())
	reads = append(reads, g.xidHorizon()...)
	return reads
}

// resetFirst forgets what the first reads gathered, to read it again.
func (g *gatherer) resetFirst() {
	f := g.f
	f.Server, f.Settings, f.Session, f.Role = facts.Server{}, facts.Settings{}, facts.Session{}, facts.Role{}
	f.Replication, f.Publication, f.Tables = facts.ReplicationUsage{}, facts.Publication{}, facts.Tables{}
	f.RoleSettings, f.Slots = facts.RoleSettings{}, facts.Slots{}
	f.ConnectorDB, g.sessionSuper = facts.ConnectorDatabase{}, false
	g.platformRoles, g.aurora, g.platformErr, g.owners, g.walSenders, g.caseRows, g.caseErr = nil, false, nil, nil, nil, nil, nil
	g.countAllTables, g.schemas, g.roles = false, nil, nil
	f.WalSenders, f.Connections, f.XIDHorizon, f.Toast = facts.WalSenders{}, facts.Connections{}, facts.XIDHorizon{}, facts.Toast{}
	f.Backend = facts.Backend{ReportedPID: f.Backend.ReportedPID, SentApplicationName: f.Backend.SentApplicationName, Connect: f.Backend.Connect}
	g.roleWalSenders, g.dbWalSenders = nil, nil
}

// versionNum reads a server_version parameter ("15.4 (Debian …)", "18beta1",
// "9.6.24") as server_version_num would say it; 0 when it cannot.
func versionNum(v string) int {
	var nums []int
	n, digits := 0, false
	for _, r := range v + " " {
		if r >= '0' && r <= '9' {
			n, digits = n*10+int(r-'0'), true
			continue
		}
		if digits {
			nums, n, digits = append(nums, n), 0, false
		}
		if r != '.' || len(nums) == 3 {
			break
		}
	}
	switch {
	case len(nums) == 0:
		return 0
	case nums[0] >= 10:
		minor := 0
		if len(nums) > 1 {
			minor = nums[1]
		}
		return nums[0]*10000 + minor
	case len(nums) >= 2:
		patch := 0
		if len(nums) > 2 {
			patch = nums[2]
		}
		return nums[0]*10000 + nums[1]*100 + patch
	}
	return 0
}

// failCatalog records e on every catalog section when no catalog read can
// run at all, so that no rule mistakes an empty section for a real one.
func (g *gatherer) failCatalog(e *facts.Error, host string) {
	f := g.f
	for _, dst := range []**facts.Error{
		&f.Server.Err, &f.Settings.Err, &f.Session.Err, &f.Role.Err, &f.Replication.Err,
		&f.Publication.Err, &f.Tables.Err, &f.Privileges.Err, &f.RoleSettings.Err, &f.Slots.Err,
		&f.SignalTable.Err,
		&f.WalSenders.Err, &f.Connections.Err, &f.XIDHorizon.Err, &f.Toast.Err, &f.Backend.Err,
	} {
		*dst = e
	}
	if f.Options.HeartbeatSchema != "" {
		f.Heartbeat.Err = e
	}
	if f.Options.Connector != nil {
		f.Scope.Err, f.ConnectorDB.Err = e, e
	}
	f.Peek.SkipReason = "the catalog could not be read: " + e.Error()
	f.Platform = DetectPlatform(Signals{Host: host})
}

func (g *gatherer) server() read {
	s := &g.f.Server
	return read{op: "read server version", err: &s.Err,
		sql:  `SELECT current_setting('server_version_num')::int, current_setting('server_version'), pg_is_in_recovery()`,
		scan: func(rows pgx.Rows) error { return rowsOne(rows, &s.VersionNum, &s.Version, &s.InRecovery) },
	}
}

// settingNames are read from pg_settings, which silently omits rows the
// role may not see: a missing value means unknown, never a default.
var settingNames = []string{
	"wal_level", "max_replication_slots", "max_wal_senders", "max_connections",
	"max_slot_wal_keep_size", "wal_keep_size", "wal_sender_timeout",
	"idle_replication_slot_timeout", "hot_standby", "hot_standby_feedback", "ssl",
	"rds.logical_replication", "cloudsql.logical_decoding", "azure.extensions",
	"neon.timeline_id", "neon.project_id", "neon.endpoint_id",
}

// settingPrefixes of platform-defined GUCs: their presence is a platform signal.
var settingPrefixes = []string{"rds.%", "cloudsql.%", "azure.%", "supautils.%", "neon.%", "aurora.%", "apg_%"}

func (g *gatherer) settings() read {
	return read{op: "read settings", err: &g.f.Settings.Err,
		sql:  `SELECT name, setting FROM pg_settings WHERE name = ANY($1) OR name LIKE ANY($2)`,
		args: []any{settingNames, settingPrefixes},
		scan: func(rows pgx.Rows) error {
			vals := map[string]string{}
			var name, val string
			if _, err := pgx.ForEachRow(rows, []any{&name, &val}, func() error {
				vals[name] = val
				return nil
			}); err != nil {
				return err
			}
			g.f.Settings.Values = vals
			return nil
		},
	}
}

func (g *gatherer) session() read {
	s := &g.f.Session
	return read{op: "read session TLS state", err: &s.Err,
		sql: `SELECT ssl, version, cipher FROM pg_stat_ssl WHERE pid = pg_backend_pid()`,
		scan: func(rows pgx.Rows) error {
			var version, cipher *string
			err := rowsOne(rows, &s.SSL, &version, &cipher)
			if errors.Is(err, pgx.ErrNoRows) {
				return errors.New("pg_stat_ssl has no row for this session")
			}
			if version != nil {
				s.SSLVersion = *version
			}
			if cipher != nil {
				s.Cipher = *cipher
			}
			return err
		},
	}
}

func (g *gatherer) role() read {
	r := &g.f.Role
	r.Name = g.f.Options.ConnectorUser
	// pg_has_role answers true for a superuser and every role, so the
	// membership lists are only built for ordinary roles.
	return read{op: "read connector role", err: &r.Err, sql: `
SELECT r.rolsuper, r.rolreplication, r.rolbypassrls, r.rolcanlogin,
       coalesce(array(SELECT g.rolname::text FROM pg_roles g
                      WHERE NOT r.rolsuper AND g.oid <> r.oid AND pg_has_role(r.oid, g.oid, 'MEMBER')
                      ORDER BY 1), '{}'),
       coalesce(array(SELECT g.rolname::text FROM pg_roles g
                      WHERE NOT r.rolsuper AND g.oid <> r.oid AND g.rolreplication
                        AND pg_has_role(r.oid, g.oid, 'MEMBER')
                      ORDER BY 1), '{}')
FROM pg_roles r WHERE r.rolname = $1`, args: []any{r.Name},
		scan: func(rows pgx.Rows) error {
			err := rowsOne(rows, &r.Super, &r.Replication, &r.BypassRLS, &r.CanLogin, &r.MemberOf, &r.ReplicationVia)
			if errors.Is(err, pgx.ErrNoRows) {
				r.Exists = false
				return nil
			}
			if err != nil {
				return err
			}
			r.Exists = true
			for _, m := range r.MemberOf {
				if m == "rds_replication" {
					r.RDSReplication = true
				}
			}
			return nil
		},
	}
}

// replication reads the slot and WAL sender budgets. The WAL senders are
// listed rather than counted: the replication probe, connecting at the
// same time, is one of them, and Gather leaves it out. Neon's walproposer
// streams to the safekeepers through a WAL sender that is the platform's,
// not a consumer's: it does not take from the connector's budget as users
// see it.
func (g *gatherer) replication() read {
	u := &g.f.Replication
	return read{op: "read replication usage", err: &u.Err, sql: `
SELECT current_setting('max_replication_slots')::int,
       current_setting('max_wal_senders')::int,
       (SELECT count(*) FROM pg_replication_slots)::int,
       array(SELECT pid FROM pg_stat_replication WHERE application_name IS DISTINCT FROM 'walproposer'),
       EXISTS (SELECT 1 FROM pg_replication_slots WHERE slot_name = $1)`, args: []any{g.f.Options.Slot},
		scan: func(rows pgx.Rows) error {
			return rowsOne(rows, &u.MaxReplicationSlots, &u.MaxWalSenders, &u.SlotsUsed, &g.walSenders, &u.SlotExists)
		},
	}
}

// replicationProbe opens the kind of connection the connector opens
// (replication=database) and runs IDENTIFY_SYSTEM: the only way to learn
// that pg_hba, a pooler or a missing attribute would refuse it.
func (g *gatherer) replicationProbe(ctx context.Context, cfg *pgx.ConnConfig) {
	p := &g.f.ReplProbe
	p.Attempted = true
	rc := cfg.Config.Copy()
	rc.RuntimeParams["replication"] = "database"
	rc.OnNotice = nil // the catalog connection's, and it runs at the same time
	ctx, cancel := context.WithTimeout(ctx, rc.ConnectTimeout+g.t.Statement)
	defer cancel()
	conn, err := pgconn.ConnectConfig(ctx, rc)
	if err != nil {
		p.Err = g.fail("open a replication connection", err)
		return
	}
	defer func() { _ = conn.Close(context.WithoutCancel(ctx)) }()
	g.probePID = conn.PID()
	results, err := conn.Exec(ctx, "IDENTIFY_SYSTEM").ReadAll()
	if err != nil {
		p.Err = g.fail("run IDENTIFY_SYSTEM", err)
		return
	}
	if len(results) != 1 || len(results[0].Rows) != 1 || len(results[0].Rows[0]) < 4 {
		p.Err = &facts.Error{Op: "run IDENTIFY_SYSTEM", Message: "unexpected reply shape"}
		return
	}
	row := results[0].Rows[0]
	p.SystemID = string(row[0])
	_, _ = fmt.Sscanf(string(row[1]), "%d", &p.Timeline)
	p.XLogPos = string(row[2])
	p.DBName = string(row[3])
}

// connectionLost reports whether err is the network or the server ending
// the conversation (a cut connection, a server killed or shut down), as
// opposed to a statement that failed.
func connectionLost(err error) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		// admin_shutdown, crash_shutdown: the server ended the session.
		return pgErr.Code == "57P01" || pgErr.Code == "57P02"
	}
	return errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}

func sslMode(cfg *pgx.ConnConfig) string {
	if cfg.TLSConfig == nil {
		return "disable"
	}
	if len(cfg.Fallbacks) > 0 && cfg.Fallbacks[len(cfg.Fallbacks)-1].TLSConfig == nil {
		return "prefer"
	}
	return "require"
}
