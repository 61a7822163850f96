package gather

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/cdcpreflight/cdcpreflight/facts"
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
	g := &gatherer{f: f, password: cfg.Password, t: opt.Timeouts}
	if g.t == (Timeouts{}) {
		g.t = DefaultTimeouts
	}
	if f.Options.PeekMaxBacklog == 0 {
		f.Options.PeekMaxBacklog = DefaultPeekMaxBacklog
	}
	if f.Options.RetainedWALWarn == 0 {
		f.Options.RetainedWALWarn = DefaultRetainedWALWarn
	}
	// Notices (the PG 18 peek's "skipped loading publication" WARNING) are
	// collected only while the peek runs.
	cfg = cfg.Copy()
	cfg.OnNotice = func(_ *pgconn.PgConn, n *pgconn.Notice) {
		if g.notices != nil {
			*g.notices = append(*g.notices, Redact(n.Severity+": "+n.Message, g.password))
		}
	}

	f.Connect.Attempted = true
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		f.Connect.Err = g.fail("connect", err)
		f.Platform = DetectPlatform(Signals{Host: cfg.Host})
		return f
	}
	defer func() {
		closeCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = conn.Close(closeCtx)
	}()
	g.catalog(ctx, conn, cfg.Host)
	g.replicationProbe(ctx, cfg)
	return f
}

type gatherer struct {
	f        *facts.Facts
	password string
	t        Timeouts

	capturedOIDs []int64   // oids of captured tables, for the default-privileges read
	notices      *[]string // server notices while collecting, nil otherwise
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
	if errors.Is(err, context.DeadlineExceeded) {
		e.Message = "timed out: " + e.Message
	}
	return e
}

// catalog runs every catalog read in one READ ONLY transaction. Each read
// is wrapped in a savepoint so that one failing (a permission denied on a
// view, a timeout) leaves the transaction usable for the others.
func (g *gatherer) catalog(ctx context.Context, conn *pgx.Conn, host string) {
	tx, err := conn.BeginTx(ctx, pgx.TxOptions{AccessMode: pgx.ReadOnly})
	if err != nil {
		g.failCatalog(g.fail("begin read-only transaction", err), host)
		return
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()

	// Separate statements: on PG 10 a SET sent in the same simple-query
	// string as the statement it should bound has no effect. SET LOCAL
	// keeps the values inside our transaction, which matters behind a
	// transaction-mode pooler where the server connection is shared.
	for _, s := range []struct {
		name string
		d    time.Duration
	}{
		{"statement_timeout", g.t.Statement},
		{"lock_timeout", g.t.Lock},
		{"idle_in_transaction_session_timeout", g.t.IdleInTransaction},
	} {
		// The value is an integer of milliseconds we format ourselves:
		// nothing from the user reaches this string.
		if _, err := tx.Exec(ctx, fmt.Sprintf("SET LOCAL %s = %d", s.name, s.d.Milliseconds())); err != nil {
			g.failCatalog(g.fail("set "+s.name, err), host)
			return
		}
	}

	g.f.Server.Err = g.step(ctx, tx, "read server version", g.server)
	if g.f.Server.Err == nil && g.ver() >= 110000 {
		// The catalog reads are a few large queries over small catalogs:
		// their cost estimates grow with the tables in scope (thousands of
		// rows each with correlated subqueries) while they run in
		// milliseconds, and compiling one with JIT (on by default from 12)
		// took seconds, past statement_timeout. A failure here only leaves
		// JIT on.
		_ = g.step(ctx, tx, "turn JIT off", func(ctx context.Context, q pgx.Tx) error {
			_, err := q.Exec(ctx, "SET LOCAL jit = off")
			return err
		})
	}
	g.f.Settings.Err = g.step(ctx, tx, "read settings", g.settings)
	sig := Signals{Host: host, Settings: g.f.Settings.Values}
	if err := g.step(ctx, tx, "detect platform", func(ctx context.Context, q pgx.Tx) error {
		return platformSignals(ctx, q, &sig)
	}); err != nil {
		// Detection falls back to what the host name and settings say.
		sig.Roles, sig.AuroraVersion = nil, false
	}
	g.f.Platform = DetectPlatform(sig)
	g.f.Session.Err = g.step(ctx, tx, "read session TLS state", g.session)
	g.f.Role.Err = g.step(ctx, tx, "read connector role", g.role)
	g.f.Replication.Err = g.step(ctx, tx, "read replication usage", g.replication)
	g.f.Publication.Err = g.step(ctx, tx, "read the publication", g.publication)
	g.f.Tables.Err = g.step(ctx, tx, "read tables", g.tables)
	if g.f.Tables.Err != nil {
		g.f.Privileges.Err = g.f.Tables.Err
	} else {
		g.f.Privileges.Err = g.step(ctx, tx, "read privileges", g.privileges)
	}
	g.f.RoleSettings.Err = g.step(ctx, tx, "read role settings", g.roleSettings)
	g.f.Slots.Err = g.step(ctx, tx, "read replication slots", g.slots)
	g.f.SignalTable = facts.HelperTable{Schema: g.f.Options.SignalSchema, Name: facts.SignalTableName}
	g.f.SignalTable.Err = g.step(ctx, tx, "read the signal table", func(ctx context.Context, q pgx.Tx) error {
		return g.helperTable(ctx, q, &g.f.SignalTable)
	})
	if g.f.Options.HeartbeatSchema != "" {
		g.f.Heartbeat = facts.HelperTable{Schema: g.f.Options.HeartbeatSchema, Name: facts.HeartbeatTableName}
		g.f.Heartbeat.Err = g.step(ctx, tx, "read the heartbeat table", func(ctx context.Context, q pgx.Tx) error {
			return g.helperTable(ctx, q, &g.f.Heartbeat)
		})
	}
	g.peek(ctx, tx)
}

// failCatalog records e on every catalog section when no catalog read can
// run at all, so that no rule mistakes an empty section for a real one.
func (g *gatherer) failCatalog(e *facts.Error, host string) {
	f := g.f
	for _, dst := range []**facts.Error{
		&f.Server.Err, &f.Settings.Err, &f.Session.Err, &f.Role.Err, &f.Replication.Err,
		&f.Publication.Err, &f.Tables.Err, &f.Privileges.Err, &f.RoleSettings.Err, &f.Slots.Err,
		&f.SignalTable.Err,
	} {
		*dst = e
	}
	if f.Options.HeartbeatSchema != "" {
		f.Heartbeat.Err = e
	}
	f.Peek.SkipReason = "the catalog could not be read: " + e.Error()
	f.Platform = DetectPlatform(Signals{Host: host})
}

// step runs fn inside a savepoint and returns its failure as a fact.
func (g *gatherer) step(ctx context.Context, tx pgx.Tx, op string, fn func(context.Context, pgx.Tx) error) *facts.Error {
	sp, err := tx.Begin(ctx)
	if err != nil {
		return g.fail(op, err)
	}
	if err := fn(ctx, sp); err != nil {
		_ = sp.Rollback(ctx)
		return g.fail(op, err)
	}
	if err := sp.Commit(ctx); err != nil {
		return g.fail(op, err)
	}
	return nil
}

func (g *gatherer) server(ctx context.Context, q pgx.Tx) error {
	s := &g.f.Server
	return q.QueryRow(ctx,
		`SELECT current_setting('server_version_num')::int, current_setting('server_version'), pg_is_in_recovery()`,
	).Scan(&s.VersionNum, &s.Version, &s.InRecovery)
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

func (g *gatherer) settings(ctx context.Context, q pgx.Tx) error {
	rows, err := q.Query(ctx,
		`SELECT name, setting FROM pg_settings WHERE name = ANY($1) OR name LIKE ANY($2)`,
		settingNames, settingPrefixes)
	if err != nil {
		return err
	}
	vals := map[string]string{}
	var name, val string
	_, err = pgx.ForEachRow(rows, []any{&name, &val}, func() error {
		vals[name] = val
		return nil
	})
	if err != nil {
		return err
	}
	g.f.Settings.Values = vals
	return nil
}

func (g *gatherer) session(ctx context.Context, q pgx.Tx) error {
	s := &g.f.Session
	var version, cipher *string
	err := q.QueryRow(ctx,
		`SELECT ssl, version, cipher FROM pg_stat_ssl WHERE pid = pg_backend_pid()`,
	).Scan(&s.SSL, &version, &cipher)
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
}

func (g *gatherer) role(ctx context.Context, q pgx.Tx) error {
	r := &g.f.Role
	r.Name = g.f.Options.ConnectorUser
	// pg_has_role answers true for a superuser and every role, so the
	// membership lists are only built for ordinary roles.
	err := q.QueryRow(ctx, `
SELECT r.rolsuper, r.rolreplication, r.rolbypassrls, r.rolcanlogin,
       coalesce(array(SELECT g.rolname::text FROM pg_roles g
                      WHERE NOT r.rolsuper AND g.oid <> r.oid AND pg_has_role(r.oid, g.oid, 'MEMBER')
                      ORDER BY 1), '{}'),
       coalesce(array(SELECT g.rolname::text FROM pg_roles g
                      WHERE NOT r.rolsuper AND g.oid <> r.oid AND g.rolreplication
                        AND pg_has_role(r.oid, g.oid, 'MEMBER')
                      ORDER BY 1), '{}')
FROM pg_roles r WHERE r.rolname = $1`, r.Name,
	).Scan(&r.Super, &r.Replication, &r.BypassRLS, &r.CanLogin, &r.MemberOf, &r.ReplicationVia)
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
}

func (g *gatherer) replication(ctx context.Context, q pgx.Tx) error {
	u := &g.f.Replication
	// Neon's walproposer streams to the safekeepers through a WAL sender
	// that is the platform's, not a consumer's: it does not take from the
	// connector's budget as users see it.
	return q.QueryRow(ctx, `
SELECT current_setting('max_replication_slots')::int,
       current_setting('max_wal_senders')::int,
       (SELECT count(*) FROM pg_replication_slots)::int,
       (SELECT count(*) FROM pg_stat_replication WHERE application_name IS DISTINCT FROM 'walproposer')::int,
       EXISTS (SELECT 1 FROM pg_replication_slots WHERE slot_name = $1)`, g.f.Options.Slot,
	).Scan(&u.MaxReplicationSlots, &u.MaxWalSenders, &u.SlotsUsed, &u.WalSendersUsed, &u.SlotExists)
}

// replicationProbe opens the kind of connection the connector opens
// (replication=database) and runs IDENTIFY_SYSTEM: the only way to learn
// that pg_hba, a pooler or a missing attribute would refuse it.
func (g *gatherer) replicationProbe(ctx context.Context, cfg *pgx.ConnConfig) {
	p := &g.f.ReplProbe
	p.Attempted = true
	rc := cfg.Config.Copy()
	rc.RuntimeParams["replication"] = "database"
	ctx, cancel := context.WithTimeout(ctx, rc.ConnectTimeout+g.t.Statement)
	defer cancel()
	conn, err := pgconn.ConnectConfig(ctx, rc)
	if err != nil {
		p.Err = g.fail("open a replication connection", err)
		return
	}
	defer func() { _ = conn.Close(context.WithoutCancel(ctx)) }()
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

func sslMode(cfg *pgx.ConnConfig) string {
	if cfg.TLSConfig == nil {
		return "disable"
	}
	if len(cfg.Fallbacks) > 0 && cfg.Fallbacks[len(cfg.Fallbacks)-1].TLSConfig == nil {
		return "prefer"
	}
	return "require"
}
