// Package connsim is a stand-in for a CDC connector, for tests: it does on a
// real server what Debezium's PostgreSQL connector (and so Streamkap) does
// at start and while streaming, with a real pgoutput client (pglogrepl),
// and reports every step that breaks. The differential test holds
// cdcpreflight's verdicts against what it finds.
//
// Unlike cdcpreflight it writes: the application-side changes it makes on
// every captured table, and a signal row as the connector. Run it only on
// throwaway databases.
package connsim

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/cdcpreflight/cdcpreflight/facts"
	"github.com/cdcpreflight/cdcpreflight/internal/sqlident"
)

// Steps of a connector's life, in the order Run takes them.
const (
	StepConnect            = "connect"             // an ordinary session as the connector
	StepReplicationConnect = "replication-connect" // replication=database, IDENTIFY_SYSTEM
	StepCapture            = "capture"             // the capture list names tables
	StepPublication        = "publication"         // Debezium creates or alters its publication (autocreate)
	StepSlot               = "slot"                // the configured slot is there and usable
	StepSnapshot           = "snapshot"            // SELECT on every captured table
	StepSnapshotRows       = "snapshot-rows"       // …seeing every row
	StepStream             = "stream"              // START_REPLICATION and decoding
	StepWrite              = "write"               // the application's UPDATE/DELETE/INSERT
	StepChanges            = "changes"             // every change arrives under the captured name
	StepColumns            = "columns"             // …with every column
	StepSignal             = "signal"              // the connector's signal/watermark insert
	StepSignalStream       = "signal-stream"       // …arrives in the stream
	StepHeartbeat          = "heartbeat"           // Debezium's heartbeat action query
)

// Config says how the connector is set up.
type Config struct {
	// ConnectorDSN is how the connector logs in.
	ConnectorDSN string
	// AdminDSN is the application's (the tables' owner's) session, for
	// the application-side writes and the reference row counts.
	AdminDSN     string
	Slot         string
	Publication  string
	SignalSchema string
	SnapshotMode string               // "read-only" never writes signals
	Tables       []facts.TableRef     // empty: every table, as with no include list
	SoftDeletes  bool                 // delete events must carry the whole old row
	Timeout      time.Duration        // for the whole run; 0: one minute
	Log          func(string, ...any) // optional trace
	// SignalTable is the signal table's name in SignalSchema; ""
	// is streamkap_signal.
	SignalTable string
	// Connector, when set, makes the run do what Debezium does with that
	// configuration (see debezium.go): the capture scope from its filters,
	// its publication and slot created at start, its snapshot.mode, its
	// heartbeat query and its watermark inserts.
	Connector *facts.Connector
}

// Problem is one broken step.
type Problem struct {
	Step     string `json:"step"`
	Table    string `json:"table,omitempty"` // quoted, as the connector captures it
	Detail   string `json:"detail"`
	SQLState string `json:"sqlstate,omitempty"`
}

func (p Problem) String() string {
	s := p.Step + ": "
	if p.Table != "" {
		s += p.Table + ": "
	}
	s += p.Detail
	if p.SQLState != "" {
		s += " (" + p.SQLState + ")"
	}
	return s
}

// Report is what the run found.
type Report struct {
	Problems []Problem `json:"problems,omitempty"`
	// Notes are things the run could not exercise, and why: they are not
	// problems (a table with no row and no default row to insert, say).
	Notes []string `json:"notes,omitempty"`
	// Captured are the tables the connector captures, quoted.
	Captured []string `json:"captured,omitempty"`
}

// OK reports whether nothing broke.
func (r Report) OK() bool { return len(r.Problems) == 0 }

// Steps are the broken steps, each once, in order of first appearance.
func (r Report) Steps() []string {
	var out []string
	for _, p := range r.Problems {
		if !slices.Contains(out, p.Step) {
			out = append(out, p.Step)
		}
	}
	return out
}

type run struct {
	cfg   Config
	rep   Report
	admin *pgx.Conn
	conn  *pgx.Conn // the connector's ordinary session
	// registry is the second ordinary session Debezium holds while it runs
	// (its bean registry's JDBC connection): it is only opened and held.
	registry *pgx.Conn
	repl     *pgconn.PgConn
	major    int
	tables   []captured
	// expect are the changes the stream must carry: relation name → ops.
	expect map[string]*expectation
	signal string // the signal row's id, once inserted
	// createdSlot is a slot the run created as Debezium would, dropped
	// at the end.
	createdSlot string
	// published are the tables a connector configuration's filters
	// capture, the signal table included: what a filtered publication lists.
	published []facts.TableRef
	// noWrites: the filters leave no table to write to.
	noWrites bool
	// signalCleanup deletes the signal row written, when it was not
	// written to signalName.
	signalCleanup string
}

// captured is one table the connector captures, with the tables its rows
// live in (itself, or its leaf partitions).
type captured struct {
	schema, name, quoted string
	kind                 string
	leaves               []leaf
}

type leaf struct {
	quoted  string
	columns []column
}

type column struct {
	name      string
	generated bool
	identity  bool // GENERATED ALWAYS AS IDENTITY: inserts need OVERRIDING SYSTEM VALUE
}

func (r *run) problem(step, table, detail string, err error) {
	p := Problem{Step: step, Table: table, Detail: detail}
	if err != nil {
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) {
			p.SQLState = pgErr.Code
			p.Detail += ": " + pgErr.Message
		} else {
			p.Detail += ": " + err.Error()
		}
	}
	if slices.Contains(r.rep.Problems, p) {
		return
	}
	r.rep.Problems = append(r.rep.Problems, p)
	r.logf("problem: %s", p)
}

func (r *run) note(format string, a ...any) {
	r.rep.Notes = append(r.rep.Notes, fmt.Sprintf(format, a...))
}

func (r *run) logf(format string, a ...any) {
	if r.cfg.Log != nil {
		r.cfg.Log(format, a...)
	}
}

// Run plays the connector against the database. The error is for a run
// that could not be made at all (the admin session failed); what breaks
// for the connector is in the report.
func Run(ctx context.Context, cfg Config) (Report, error) {
	if cfg.Timeout == 0 {
		cfg.Timeout = time.Minute
	}
	ctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()
	r := &run{cfg: cfg, expect: map[string]*expectation{}}
	var err error
	if r.admin, err = connect(ctx, cfg.AdminDSN); err != nil {
		if sqlState(err) == "3D000" {
			// No such database: the connector cannot connect either.
			r.problem(StepConnect, "", "the database does not exist", err)
			return r.rep, nil
		}
		return r.rep, fmt.Errorf("connect as the application: %w", err)
	}
	defer r.admin.Close(context.WithoutCancel(ctx))
	if err := r.admin.QueryRow(ctx, `SELECT current_setting('server_version_num')::int / 10000`).Scan(&r.major); err != nil {
		return r.rep, fmt.Errorf("read the server version: %w", err)
	}
	if err := r.readCaptured(ctx); err != nil {
		return r.rep, err
	}
	r.play(ctx)
	if r.conn != nil {
		_ = r.conn.Close(context.WithoutCancel(ctx))
	}
	if r.repl != nil {
		_ = r.repl.Close(context.WithoutCancel(ctx))
	}
	if r.createdSlot != "" {
		// The cluster is shared by the tests: the slot Debezium would
		// keep goes, so that it holds no WAL and takes no slot.
		_, _ = r.admin.Exec(context.WithoutCancel(ctx), "SELECT pg_drop_replication_slot($1)", r.createdSlot)
	}
	if r.registry != nil {
		_ = r.registry.Close(context.WithoutCancel(ctx))
	}
	if r.signal != "" {
		// Leave the signal table as it was; a failure here changes nothing
		// the report says.
		cleanup := "DELETE FROM " + r.signalName() + " WHERE id = $1"
		if r.signalCleanup != "" {
			cleanup = r.signalCleanup
		}
		_, _ = r.admin.Exec(ctx, cleanup, r.signal)
	}
	return r.rep, nil
}

// waitLimit bounds every wait on another session's lock or transaction: a
// scenario may hold one on purpose, and the run must still end.
const waitLimit = 5 * time.Second

// connect opens an ordinary session that gives up on a lock after
// waitLimit. The setting is a SET, not a startup parameter: a pooler in
// between refuses startup parameters it does not know.
func connect(ctx context.Context, dsn string) (*pgx.Conn, error) {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return nil, err
	}
	if _, err := conn.Exec(ctx, fmt.Sprintf("SET lock_timeout = %d", waitLimit.Milliseconds())); err != nil {
		_ = conn.Close(ctx)
		return nil, fmt.Errorf("set lock_timeout: %w", err)
	}
	return conn, nil
}

func (r *run) play(ctx context.Context) {
	var err error
	if r.conn, err = connect(ctx, r.cfg.ConnectorDSN); err != nil {
		r.conn = nil
		r.problem(StepConnect, "", "the connector cannot connect", err)
		return
	}
	// Debezium opens a second ordinary connection before its replication
	// connection and holds it while it runs (PostgresConnectorTask.start):
	// a server or role with room for only one turns it away.
	if r.registry, err = connect(ctx, r.cfg.ConnectorDSN); err != nil {
		r.registry = nil
		r.problem(StepConnect, "", "the connector's second connection (Debezium's bean registry holds one) is refused", err)
		return
	}
	if r.debezium() {
		r.playDebezium(ctx)
		return
	}
	if !r.replicationConnect(ctx) {
		return
	}
	slot, snapshot, ok := r.slot(ctx)
	r.snapshot(ctx, snapshot)
	if !ok {
		// Without a slot nothing streams; the writes still show whether
		// the application breaks.
		r.writes(ctx)
		r.writeSignal(ctx)
		return
	}
	if !r.startReplication(ctx, slot) {
		r.writes(ctx)
		r.writeSignal(ctx)
		return
	}
	r.writes(ctx)
	r.writeSignal(ctx)
	r.receive(ctx)
}

// readCaptured resolves the capture scope as the connector does: exact
// names, or (no list) every table outside the system schemas and the
// signal schema; partitions count with their root.
func (r *run) readCaptured(ctx context.Context) error {
	if r.cfg.Connector != nil && !r.cfg.Connector.TablesOverridden {
		if err := r.debeziumScope(ctx); err != nil {
			return err
		}
		if r.noWrites {
			return nil
		}
	}
	schemas, names := make([]string, len(r.cfg.Tables)), make([]string, len(r.cfg.Tables))
	for i, t := range r.cfg.Tables {
		schemas[i], names[i] = t.Schema, t.Table
	}
	generated := "false"
	if r.major >= 12 {
		generated = "a.attgenerated <> ''"
	}
	rows, err := r.admin.Query(ctx, `WITH req AS (SELECT * FROM unnest($1::text[], $2::text[]) AS r(nsp, rel))
SELECT n.nspname::text, c.relname::text, quote_ident(n.nspname) || '.' || quote_ident(c.relname), c.relkind::text
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE CASE WHEN cardinality($1::text[]) > 0
	THEN EXISTS (SELECT 1 FROM req WHERE req.nsp = n.nspname
		AND (req.rel = c.relname OR (req.rel = '' AND c.relkind IN ('r','p') AND NOT c.relispartition)))
	ELSE c.relkind IN ('r','p') AND NOT c.relispartition AND c.relpersistence <> 't'
		AND n.nspname <> $3 AND n.nspname NOT LIKE 'pg\_%' AND n.nspname <> 'information_schema' END
ORDER BY 1, 2`, schemas, names, r.cfg.SignalSchema)
	if err != nil {
		return fmt.Errorf("read the capture scope: %w", err)
	}
	var c captured
	_, err = pgx.ForEachRow(rows, []any{&c.schema, &c.name, &c.quoted, &c.kind}, func() error {
		r.tables = append(r.tables, c)
		return nil
	})
	if err != nil {
		return fmt.Errorf("read the capture scope: %w", err)
	}
	for _, t := range r.cfg.Tables {
		if t.Table != "" && !slices.ContainsFunc(r.tables, func(c captured) bool { return c.schema == t.Schema && c.name == t.Table }) {
			r.problem(StepCapture, sqlident.Qualified(t.Schema, t.Table), "the capture list names a table that does not exist: it is captured by nobody", nil)
		}
	}
	kept := r.tables[:0]
	for _, c := range r.tables {
		if c.kind != "r" && c.kind != "p" {
			r.problem(StepCapture, c.quoted, fmt.Sprintf("relkind %q has no changes of its own to stream", c.kind), nil)
			continue
		}
		kept = append(kept, c)
	}
	r.tables = kept
	for i := range r.tables {
		c := &r.tables[i]
		r.rep.Captured = append(r.rep.Captured, c.quoted)
		rows, err := r.admin.Query(ctx, `WITH RECURSIVE tree AS (
	SELECT $1::regclass::oid AS oid
	UNION ALL SELECT i.inhrelid FROM tree JOIN pg_inherits i ON i.inhparent = tree.oid
)
SELECT quote_ident(n.nspname) || '.' || quote_ident(c.relname),
	coalesce(array_agg(a.attname::text ORDER BY a.attnum) FILTER (WHERE a.attnum IS NOT NULL), '{}'),
	coalesce(array_agg(`+generated+` ORDER BY a.attnum) FILTER (WHERE a.attnum IS NOT NULL), '{}'),
	coalesce(array_agg(a.attidentity = 'a' ORDER BY a.attnum) FILTER (WHERE a.attnum IS NOT NULL), '{}')
FROM tree JOIN pg_class c ON c.oid = tree.oid JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
WHERE c.relkind = 'r'
GROUP BY c.oid, 1 ORDER BY 1`, c.quoted)
		if err != nil {
			return fmt.Errorf("read the partitions of %s: %w", c.quoted, err)
		}
		var l leaf
		var names []string
		var gen, ident []bool
		_, err = pgx.ForEachRow(rows, []any{&l.quoted, &names, &gen, &ident}, func() error {
			l.columns = make([]column, len(names))
			for j, n := range names {
				l.columns[j] = column{name: n, generated: gen[j], identity: ident[j]}
			}
			c.leaves = append(c.leaves, l)
			return nil
		})
		if err != nil {
			return fmt.Errorf("read the partitions of %s: %w", c.quoted, err)
		}
	}
	return nil
}

// replicationConnect opens the replication connection the connector streams on.
func (r *run) replicationConnect(ctx context.Context) bool {
	cfg, err := pgconn.ParseConfig(r.cfg.ConnectorDSN)
	if err != nil {
		r.problem(StepReplicationConnect, "", "parse the connection string", err)
		return false
	}
	cfg.RuntimeParams["replication"] = "database"
	cfg.OnNotice = func(_ *pgconn.PgConn, n *pgconn.Notice) {
		r.note("server %s during streaming: %s", n.Severity, n.Message)
		if strings.Contains(n.Message, "skipped loading publication") {
			// PostgreSQL 18 streams nothing for a missing publication,
			// with only this warning.
			r.problem(StepStream, "", "the publication is missing: "+n.Message, nil)
		}
	}
	if r.repl, err = pgconn.ConnectConfig(ctx, cfg); err != nil {
		r.repl = nil
		r.problem(StepReplicationConnect, "", "the replication connection is refused", err)
		return false
	}
	if _, err := r.repl.Exec(ctx, "IDENTIFY_SYSTEM").ReadAll(); err != nil {
		r.problem(StepReplicationConnect, "", "IDENTIFY_SYSTEM failed", err)
		return false
	}
	return true
}
