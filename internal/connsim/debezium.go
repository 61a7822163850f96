package connsim

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pglogrepl"
	"github.com/jackc/pgx/v5"

	"github.com/cdcpreflight/cdcpreflight/facts"
	"github.com/cdcpreflight/cdcpreflight/internal/connector"
	"github.com/cdcpreflight/cdcpreflight/internal/sqlident"
)

// What Debezium's PostgreSQL connector does at start with a configuration,
// played on the database (PostgresConnectorTask.start and
// PostgresReplicationConnection.initPublication in Debezium 3.x): the
// capture scope from the filters, the publication per
// publication.autocreate.mode, the slot looked up by name, database and
// plugin and created when missing, the snapshot and streaming that
// snapshot.mode asks for, the heartbeat action query, and watermark
// inserts into signal.data.collection as written. The replica identities
// of replica.identity.autoset.values are not set: Debezium only logs when
// it cannot, so nothing breaks that a run could see.

// debezium reports whether the run plays a Debezium configuration.
func (r *run) debezium() bool {
	return r.cfg.Connector != nil && r.cfg.Connector.Flavour == facts.FlavourDebezium
}

// debeziumScope picks the captured tables with the connector's filters,
// from the tables its JDBC driver lists (relkind r and p outside pg_* and
// information_schema). The signal table Debezium adds is published but
// not written as an application table: its rows are signals.
func (r *run) debeziumScope(ctx context.Context) error {
	c := r.cfg.Connector
	s, errs := connector.NewScope(c)
	if len(errs) > 0 {
		r.problem(StepCapture, "", fmt.Sprintf("the filters cannot be evaluated: %v", errs[0]), nil)
		r.noWrites = true
		return nil
	}
	rows, err := r.admin.Query(ctx, `SELECT n.nspname::text, c.relname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p') AND n.nspname !~ '^pg_' AND n.nspname <> 'information_schema' ORDER BY 1, 2`)
	if err != nil {
		return fmt.Errorf("list the tables: %w", err)
	}
	var schema, name string
	var refs []facts.TableRef
	sig, _ := connector.ParseTableID(c.SignalCollection)
	if _, err := pgx.ForEachRow(rows, []any{&schema, &name}, func() error {
		if s.Captures(schema, name) {
			ref := facts.TableRef{Schema: schema, Table: name}
			r.published = append(r.published, ref)
			isSignal := (r.debezium() && schema == sig.Schema && name == sig.Table) || sqlident.Qualified(schema, name) == r.signalName()
			if !isSignal {
				refs = append(refs, ref)
			}
		}
		return nil
	}); err != nil {
		return fmt.Errorf("list the tables: %w", err)
	}
	if len(r.published) == 0 {
		r.problem(StepCapture, "", "the connector's filters capture no table", nil)
	}
	r.noWrites = len(refs) == 0
	r.cfg.Tables = refs
	return nil
}

func (r *run) playDebezium(ctx context.Context) {
	c := r.cfg.Connector
	streams := c.Streams()
	if streams && !r.replicationConnect(ctx) {
		return
	}
	if streams && c.Plugin == "pgoutput" && !r.initPublication(ctx) {
		// The task stops before it creates its slot.
		streams = false
	}
	var slot, exported string
	ok := false
	if streams {
		slot, exported, ok = r.debeziumSlot(ctx)
	}
	if c.Snapshots() {
		r.snapshot(ctx, exported)
	}
	if !c.Streams() {
		return
	}
	if ok && !r.startReplication(ctx, slot) {
		ok = false
	}
	r.writes(ctx)
	r.writeSignal(ctx)
	r.heartbeat(ctx)
	if ok {
		r.receive(ctx)
	}
}

// initPublication acts on publication.autocreate.mode as the connector's
// role, as Debezium does before it creates its slot. It reports whether
// the task goes on.
func (r *run) initPublication(ctx context.Context) bool {
	c := r.cfg.Connector
	name := r.cfg.Publication
	var allTables bool
	err := r.conn.QueryRow(ctx, "SELECT puballtables FROM pg_publication WHERE pubname = $1", name).Scan(&allTables)
	exists := err == nil
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		r.problem(StepPublication, "", "look up the publication", err)
		return false
	}
	v, _ := connector.ParseVersion(c.Version)
	var with []string
	if c.PublishViaRoot && !v.Before(3, 2) {
		with = append(with, "publish_via_partition_root = true")
	}
	if !v.Before(3, 6) {
		with = append(with, "publish = 'insert, update, delete'") // skipped.operations defaults to t
	}
	withClause := ""
	if len(with) > 0 {
		withClause = " WITH (" + strings.Join(with, ", ") + ")"
	}
	tables := make([]string, len(r.published))
	for i, t := range r.published {
		tables[i] = `"` + strings.ReplaceAll(t.Schema, `"`, `""`) + `"."` + strings.ReplaceAll(t.Table, `"`, `""`) + `"`
	}
	exec := func(sql string) bool {
		r.logf("as Debezium: %s", sql)
		if _, err := r.conn.Exec(ctx, sql); err != nil {
			r.problem(StepPublication, "", "Debezium's "+firstWord(sql)+" "+strings.Fields(sql)[1]+" fails", err)
			return false
		}
		return true
	}
	switch c.AutocreateMode {
	case "disabled":
		if !exists {
			r.problem(StepPublication, "", "Publication autocreation is disabled, please create one and restart the connector.", nil)
			return false
		}
	case "all_tables":
		if !exists {
			var standby bool
			_ = r.admin.QueryRow(ctx, "SELECT pg_is_in_recovery()").Scan(&standby)
			if standby && !v.Before(3, 2) {
				return true
			}
			return exec("CREATE PUBLICATION " + name + " FOR ALL TABLES" + withClause + ";")
		}
	case "no_tables":
		if !exists {
			return exec("CREATE PUBLICATION " + name + withClause + ";")
		}
	case "filtered":
		switch {
		case !exists && len(tables) == 0:
			r.problem(StepPublication, "", "No table filters found for filtered publication "+name, nil)
			return false
		case !exists:
			return exec("CREATE PUBLICATION " + name + " FOR TABLE " + strings.Join(tables, ", ") + withClause + ";")
		case allTables:
			r.problem(StepPublication, "", fmt.Sprintf("A logical publication for all tables named '%s' for plugin 'pgoutput' and database '%s' is already active "+
				"on the server and can not be altered.", name, r.admin.Config().Database), nil)
			return false
		}
		if !v.Before(3, 3) && r.publicationMatches(ctx) {
			return true
		}
		if len(tables) == 0 {
			r.problem(StepPublication, "", "No table filters found for filtered publication "+name, nil)
			return false
		}
		return exec("ALTER PUBLICATION " + name + " SET TABLE " + strings.Join(tables, ", ") + ";")
	}
	return true
}

// publicationMatches: pg_publication_tables lists exactly the captured
// tables (Debezium 3.3+ alters the publication only when it does not).
func (r *run) publicationMatches(ctx context.Context) bool {
	rows, err := r.conn.Query(ctx, "SELECT schemaname::text, tablename::text FROM pg_publication_tables WHERE pubname = $1", r.cfg.Publication)
	if err != nil {
		return false
	}
	var have []facts.TableRef
	var t facts.TableRef
	if _, err := pgx.ForEachRow(rows, []any{&t.Schema, &t.Table}, func() error {
		have = append(have, t)
		return nil
	}); err != nil {
		return false
	}
	if len(have) != len(r.published) {
		return false
	}
	for _, p := range r.published {
		if !slices.Contains(have, p) {
			return false
		}
	}
	return true
}

// debeziumSlot finds the slot as Debezium does, by name, database and
// plugin, and creates it when it is missing; a slot of that name for
// another database or plugin makes the creation fail. When the
// connector's slot is unusable the run goes on with a temporary one, as
// slot does.
func (r *run) debeziumSlot(ctx context.Context) (name, snapshot string, ok bool) {
	c := r.cfg.Connector
	want := r.cfg.Slot
	var active bool
	err := r.admin.QueryRow(ctx, "SELECT active FROM pg_replication_slots WHERE slot_name = $1 AND database = $2 AND plugin = $3",
		want, r.admin.Config().Database, c.Plugin).Scan(&active)
	switch {
	case err == nil && active:
		r.note("slot %s is in use (taken as the running connector): streamed from a temporary slot", sqlident.Literal(want))
		return r.temporarySlot(ctx, want, true)
	case err == nil:
		return want, "", true
	case !errors.Is(err, pgx.ErrNoRows):
		r.problem(StepSlot, "", "read the slot", err)
		return "", "", false
	}
	cctx, cancel := context.WithTimeout(ctx, waitLimit)
	defer cancel()
	res, err := pglogrepl.CreateReplicationSlot(cctx, r.repl, want, c.Plugin,
		pglogrepl.CreateReplicationSlotOptions{Mode: pglogrepl.LogicalReplication, SnapshotAction: "EXPORT_SNAPSHOT"})
	if err != nil {
		r.problem(StepSlot, "", fmt.Sprintf("Debezium creates slot %s with plugin %s, and cannot", sqlident.Literal(want), c.Plugin), err)
		if c.Plugin != "pgoutput" {
			return "", "", false // the connector could not decode anyway
		}
		return r.temporarySlot(ctx, want, false)
	}
	r.createdSlot = want
	return want, res.SnapshotName, true
}

// temporarySlot streams from a slot of the run's own.
func (r *run) temporarySlot(ctx context.Context, want string, active bool) (string, string, bool) {
	name := fmt.Sprintf("connsim_%d_%d", os.Getpid(), time.Now().UnixNano()%1e9)
	cctx, cancel := context.WithTimeout(ctx, waitLimit)
	defer cancel()
	res, err := pglogrepl.CreateReplicationSlot(cctx, r.repl, name, "pgoutput",
		pglogrepl.CreateReplicationSlotOptions{Temporary: true, Mode: pglogrepl.LogicalReplication, SnapshotAction: "EXPORT_SNAPSHOT"})
	if err != nil {
		if !active {
			r.note("no temporary slot either: %v", err)
		}
		return "", "", false
	}
	if !active {
		r.note("streamed from a temporary slot, %s unusable", sqlident.Literal(want))
	}
	return name, res.SnapshotName, true
}

// heartbeat runs the heartbeat action query as the connector, as Debezium
// does at every heartbeat: an undefined table (42P01) fails the task,
// other errors are only logged.
func (r *run) heartbeat(ctx context.Context) {
	c := r.cfg.Connector
	if c.HeartbeatQuery == "" || c.HeartbeatIntervalMS <= 0 {
		return
	}
	if _, err := r.conn.Exec(ctx, c.HeartbeatQuery); err != nil {
		if sqlState(err) == "42P01" {
			r.problem(StepHeartbeat, "", "Could not execute heartbeat action query (Error: 42P01)", err)
			return
		}
		r.note("the heartbeat action query fails (Debezium logs it): %v", err)
	}
}

// debeziumSignal recognises a signal as Debezium does: a change of the
// table whose schema and name equal signal.data.collection's exactly, with
// the id, type and data columns the column filters let through. It
// reports whether the change is a signal's row (isSignal) and whether it
// was recognised.
func (r *run) debeziumSignal(rm *pglogrepl.RelationMessage, op string) (seen, isSignal bool) {
	c := r.cfg.Connector
	id, _ := connector.ParseTableID(c.SignalCollection)
	if c.SignalCollection == "" || rm.Namespace != id.Schema || rm.RelationName != id.Table {
		return false, false
	}
	pass, err := connector.ColumnsPass(c.Filters, id.Schema, id.Table, []string{"id", "type", "data"})
	if err != nil || slices.Contains(pass, false) {
		r.note("the signal row arrives without its id, type or data column: the signal is dropped")
		return false, true
	}
	return op == "insert", true
}

// writeDebeziumSignal inserts a watermark as Debezium does: the collection
// as written, unquoted, three values by position.
func (r *run) writeDebeziumSignal(ctx context.Context) {
	c := r.cfg.Connector
	if c.SignalCollection == "" || c.ReadOnly {
		return
	}
	idv := fmt.Sprintf("connsim-%d-open", time.Now().UnixNano())
	if _, err := r.conn.Exec(ctx, "INSERT INTO "+c.SignalCollection+" VALUES ($1, $2, $3)", idv, "snapshot-window-open", "{}"); err != nil {
		r.problem(StepSignal, c.SignalCollection, "Debezium cannot write its watermark", err)
		return
	}
	r.signal = idv
	r.signalCleanup = "DELETE FROM " + c.SignalCollection + " WHERE id = $1"
}
