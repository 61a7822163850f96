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
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/cdcpreflight/cdcpreflight/internal/sqlident"
)

// slot checks the configured slot as the connector finds it at start. When
// it is missing or unusable the connector fails; the run then goes on with
// a temporary slot of its own, so the later steps are still exercised.
// It returns the slot to stream from, the snapshot the slot exported (if
// it created one), and whether streaming can be tried at all.
func (r *run) slot(ctx context.Context) (name, snapshot string, ok bool) {
	want := r.cfg.Slot
	var kind, plugin, db string
	var temporary bool
	active := false
	err := r.admin.QueryRow(ctx, `SELECT slot_type::text, coalesce(plugin::text, ''), coalesce(database::text, ''), temporary, active
FROM pg_replication_slots WHERE slot_name = $1`, want).Scan(&kind, &plugin, &db, &temporary, &active)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		r.problem(StepSlot, "", fmt.Sprintf("replication slot %s does not exist: the connector fails at start", sqlident.Literal(want)), nil)
	case err != nil:
		r.problem(StepSlot, "", "read the slot", err)
	case kind != "logical" || plugin != "pgoutput" || db != r.admin.Config().Database:
		r.problem(StepSlot, "", fmt.Sprintf("slot %s is %s, plugin %q, database %q: the connector needs a pgoutput logical slot in this database",
			sqlident.Literal(want), kind, plugin, db), nil)
	case temporary:
		r.problem(StepSlot, "", fmt.Sprintf("slot %s is temporary: it belongs to another session and goes away with it", sqlident.Literal(want)), nil)
	case active:
		// Someone streams from it: taken as the connector already running.
		r.note("slot %s is in use (taken as the running connector): streamed from a temporary slot", sqlident.Literal(want))
	default:
		return want, "", true
	}
	name = fmt.Sprintf("connsim_%d_%d", os.Getpid(), time.Now().UnixNano()%1e9)
	// Creating a slot waits for every transaction writing at that moment.
	cctx, cancel := context.WithTimeout(ctx, waitLimit)
	defer cancel()
	res, err := pglogrepl.CreateReplicationSlot(cctx, r.repl, name, "pgoutput",
		pglogrepl.CreateReplicationSlotOptions{Temporary: true, Mode: pglogrepl.LogicalReplication, SnapshotAction: "EXPORT_SNAPSHOT"})
	if cctx.Err() != nil && ctx.Err() == nil {
		r.note("a temporary slot could not be created within %s (an open transaction holds it up): nothing streamed", waitLimit)
		return "", "", false
	}
	if err != nil {
		// The connector's own step already failed; what stops a temporary
		// slot (wal_level, slots used up, privileges) says why.
		r.problem(StepSlot, "", "no logical slot can be created either", err)
		return "", "", false
	}
	if !active {
		r.note("streamed from a temporary slot, %s missing or unusable", sqlident.Literal(want))
	}
	return name, res.SnapshotName, true
}

// snapshot reads every captured table as the connector's snapshot does, in
// one REPEATABLE READ transaction, and compares the row counts with what
// the application sees.
func (r *run) snapshot(ctx context.Context, exported string) {
	tx, err := r.conn.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		r.problem(StepSnapshot, "", "begin the snapshot transaction", err)
		return
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	if exported != "" {
		if _, err := tx.Exec(ctx, "SET TRANSACTION SNAPSHOT "+sqlident.Literal(exported)); err != nil {
			r.problem(StepSnapshot, "", "use the slot's exported snapshot", err)
			return
		}
	}
	for _, c := range r.tables {
		// A savepoint per table: one refused table must not hide the others.
		if _, err := tx.Exec(ctx, "SAVEPOINT t"); err != nil {
			r.problem(StepSnapshot, "", "savepoint", err)
			return
		}
		var seen int64
		if err := tx.QueryRow(ctx, "SELECT count(*) FROM (SELECT * FROM "+c.quoted+") s").Scan(&seen); err != nil {
			if sqlState(err) == "55P03" {
				r.note("%s is locked by another session: not read", c.quoted)
			} else {
				r.problem(StepSnapshot, c.quoted, "the snapshot cannot read the table", err)
			}
			if _, err := tx.Exec(ctx, "ROLLBACK TO SAVEPOINT t"); err != nil {
				return
			}
			continue
		}
		var all int64
		if err := r.admin.QueryRow(ctx, "SELECT count(*) FROM "+c.quoted).Scan(&all); err != nil {
			r.note("count %s as the application: %v", c.quoted, err)
			continue
		}
		if seen != all {
			r.problem(StepSnapshotRows, c.quoted, fmt.Sprintf("the snapshot sees %d of %d rows", seen, all), nil)
		}
	}
}

// startReplication starts streaming from the slot with the publication.
func (r *run) startReplication(ctx context.Context, slot string) bool {
	var exists bool
	if err := r.admin.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_publication WHERE pubname = $1)", r.cfg.Publication).Scan(&exists); err != nil {
		r.note("look up the publication: %v", err)
	} else if !exists {
		// Before 18 decoding fails at the first change; 18 streams nothing.
		r.problem(StepStream, "", fmt.Sprintf("publication %s does not exist: nothing can be streamed", sqlident.Quote(r.cfg.Publication)), nil)
	}
	pubs := sqlident.Literal(sqlident.Quote(r.cfg.Publication))
	err := pglogrepl.StartReplication(ctx, r.repl, slot, 0, pglogrepl.StartReplicationOptions{
		Mode: pglogrepl.LogicalReplication, PluginArgs: []string{"proto_version '1'", "publication_names " + pubs},
	})
	if err != nil {
		r.problem(StepStream, "", "START_REPLICATION failed", err)
		return false
	}
	return true
}

// expectation is what must arrive for one captured name.
type expectation struct {
	table   string // the captured table, quoted
	ops     map[string]int
	want    map[string]int
	columns []string // every column a change must carry
	leaves  map[string]bool
}

// writes makes, as the application, an UPDATE, a DELETE and an INSERT on a
// row of every table a captured table's rows live in, restoring the row
// (a DELETE … RETURNING feeding an INSERT), so that the data stays as it
// was. An empty table gets statements that touch no row: PostgreSQL
// refuses UPDATE and DELETE on a table without a usable replica identity
// before it looks at any row.
func (r *run) writes(ctx context.Context) {
	seen := map[string]bool{r.signalName(): true}
	for _, c := range r.tables {
		e := &expectation{table: c.quoted, ops: map[string]int{}, want: map[string]int{}, leaves: map[string]bool{}}
		r.expect[c.quoted] = e
		for _, l := range c.leaves {
			e.leaves[l.quoted] = true
			seen[l.quoted] = true
			r.writeLeaf(ctx, c, l, e)
		}
	}
	r.bystanders(ctx, seen)
}

// bystanders are the published tables nobody captures: the application
// writes to them too, and the publication can make that fail.
func (r *run) bystanders(ctx context.Context, seen map[string]bool) {
	notGenerated := ""
	if r.major >= 12 {
		notGenerated = " AND a.attgenerated = ''"
	}
	rows, err := r.admin.Query(ctx, `SELECT quote_ident(pt.schemaname) || '.' || quote_ident(pt.tablename),
	coalesce((SELECT quote_ident(a.attname) FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped`+notGenerated+`
		ORDER BY a.attnum LIMIT 1), '')
FROM pg_publication_tables pt JOIN pg_namespace n ON n.nspname = pt.schemaname
JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = pt.tablename
WHERE pt.pubname = $1 AND c.relkind = 'r' ORDER BY 1`, r.cfg.Publication)
	if err != nil {
		r.note("list the published tables: %v", err)
		return
	}
	var name, col string
	var tables [][2]string
	if _, err := pgx.ForEachRow(rows, []any{&name, &col}, func() error {
		tables = append(tables, [2]string{name, col})
		return nil
	}); err != nil {
		r.note("list the published tables: %v", err)
		return
	}
	for _, tc := range tables {
		name, col := tc[0], tc[1]
		if seen[name] || col == "" {
			continue
		}
		c := captured{quoted: name}
		for _, stmt := range []string{"UPDATE " + name + " SET " + col + " = " + col + " WHERE false", "DELETE FROM " + name + " WHERE false"} {
			if _, err := r.admin.Exec(ctx, stmt); err != nil {
				r.writeFailed(c, leaf{quoted: name}, stmt, err)
			}
		}
	}
}

func (r *run) writeLeaf(ctx context.Context, c captured, l leaf, e *expectation) {
	var plain []string
	for _, col := range l.columns {
		if !col.generated {
			plain = append(plain, sqlident.Quote(col.name))
		}
	}
	if len(e.columns) == 0 {
		for _, col := range l.columns {
			e.columns = append(e.columns, col.name)
		}
	}
	if len(plain) == 0 {
		r.note("%s has no column to write", l.quoted)
		return
	}
	set := plain[0] + " = " + plain[0]
	var ctid string
	err := r.admin.QueryRow(ctx, "SELECT ctid::text FROM ONLY "+l.quoted+" LIMIT 1").Scan(&ctid)
	if errors.Is(err, pgx.ErrNoRows) {
		for _, stmt := range []string{"UPDATE " + l.quoted + " SET " + set + " WHERE false", "DELETE FROM " + l.quoted + " WHERE false"} {
			if _, err := r.admin.Exec(ctx, stmt); err != nil {
				r.writeFailed(c, l, stmt, err)
			}
		}
		r.note("%s is empty: only statements that touch no row were run on it", l.quoted)
		return
	}
	if err != nil {
		r.note("read a row of %s: %v", l.quoted, err)
		return
	}
	override := ""
	if slices.ContainsFunc(l.columns, func(c column) bool { return c.identity }) {
		override = " OVERRIDING SYSTEM VALUE"
	}
	cols := strings.Join(plain, ", ")
	// The UPDATE moves the row, so the DELETE finds a row afresh.
	stmts := []struct {
		sql  string
		args []any
		ops  []string // the changes it must stream
	}{
		{"UPDATE " + l.quoted + " SET " + set + " WHERE ctid = $1::tid", []any{ctid}, []string{"update"}},
		{"WITH d AS (DELETE FROM " + l.quoted + " WHERE ctid = (SELECT ctid FROM ONLY " + l.quoted + " LIMIT 1) RETURNING " + cols + ") " +
			"INSERT INTO " + l.quoted + " (" + cols + ")" + override + " SELECT " + cols + " FROM d", nil, []string{"delete", "insert"}},
	}
	for _, s := range stmts {
		if _, err := r.admin.Exec(ctx, s.sql, s.args...); err != nil {
			r.writeFailed(c, l, s.sql, err)
			continue
		}
		// An unlogged table's changes never reach the WAL: they are
		// expected all the same, and found missing.
		for _, op := range s.ops {
			e.want[op]++
		}
	}
}

// writeFailed tells the application's broken writes from statements this
// run could not make for reasons of its own (a foreign key, a trigger).
func (r *run) writeFailed(c captured, l leaf, stmt string, err error) {
	if code := sqlState(err); code == "55000" || code == "42P10" {
		r.problem(StepWrite, c.quoted, "the application's write on "+l.quoted+" fails", err)
		return
	}
	r.note("could not exercise %s (%s): %v", l.quoted, firstWord(stmt), err)
}

func sqlState(err error) string {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code
	}
	return ""
}

func firstWord(s string) string {
	if i := strings.IndexByte(s, ' '); i > 0 {
		return s[:i]
	}
	return s
}

func (r *run) signalName() string {
	table := r.cfg.SignalTable
	if table == "" {
		table = "streamkap_signal"
	}
	return sqlident.Qualified(r.cfg.SignalSchema, table)
}

// writeSignal inserts a signal row as the connector, as it does for every
// snapshot window and Streamkap does for a snapshot request.
func (r *run) writeSignal(ctx context.Context) {
	if r.debezium() {
		r.writeDebeziumSignal(ctx)
		return
	}
	if r.cfg.SnapshotMode == "read-only" || r.cfg.SignalSchema == "" {
		return
	}
	var exists bool
	if err := r.admin.QueryRow(ctx, "SELECT to_regclass($1) IS NOT NULL", r.signalName()).Scan(&exists); err != nil {
		r.note("look up the signal table: %v", err)
		return
	}
	if !exists && r.cfg.SnapshotMode != "signal-table" && r.major >= 13 {
		r.note("no signal table: the connector takes read-only snapshots (PostgreSQL 13+)")
		return
	}
	id := fmt.Sprintf("connsim-%d", time.Now().UnixNano())
	_, err := r.conn.Exec(ctx, "INSERT INTO "+r.signalName()+" (id, type, data) VALUES ($1, 'log', '{\"message\": \"connsim\"}')", id)
	if err != nil {
		r.problem(StepSignal, r.signalName(), "the connector cannot write a signal", err)
		return
	}
	r.signal = id
}

// quiet is how long the stream must stay silent, once the server is past
// the last write, before what arrived is judged.
const quiet = time.Second

// receive reads the stream until it has caught up with every write made,
// then judges what arrived.
func (r *run) receive(ctx context.Context) {
	var end pglogrepl.LSN
	if err := r.admin.QueryRow(ctx, "SELECT pg_current_wal_lsn()").Scan(&end); err != nil {
		r.note("read the WAL position: %v", err)
		return
	}
	relations := map[uint32]*pglogrepl.RelationMessage{}
	signalSeen := false
	deadline := time.Now().Add(15 * time.Second)
	nextStatus := time.Time{}
	// The server's position can pass the last write before the changes
	// themselves arrive: once it has, the stream must also go quiet.
	caughtUp := false
	lastData := time.Now()
	for !caughtUp || time.Since(lastData) < quiet {
		if time.Now().After(deadline) {
			r.problem(StepStream, "", "the stream did not catch up with the writes within 15 s", nil)
			break
		}
		if time.Now().After(nextStatus) {
			// No position is confirmed: the slot must not move. The reply
			// request makes the server send its position.
			if err := pglogrepl.SendStandbyStatusUpdate(ctx, r.repl, pglogrepl.StandbyStatusUpdate{ReplyRequested: true}); err != nil {
				r.problem(StepStream, "", "send a status update", err)
				return
			}
			nextStatus = time.Now().Add(200 * time.Millisecond)
		}
		rctx, cancel := context.WithTimeout(ctx, 250*time.Millisecond)
		msg, err := r.repl.ReceiveMessage(rctx)
		cancel()
		if err != nil {
			if pgconn.Timeout(err) && ctx.Err() == nil {
				continue
			}
			r.problem(StepStream, "", "decoding the slot failed", err)
			return
		}
		switch m := msg.(type) {
		case *pgproto3.ErrorResponse:
			r.problem(StepStream, "", "decoding the slot failed", pgconn.ErrorResponseToPgError(m))
			return
		case *pgproto3.CopyData:
			switch m.Data[0] {
			case pglogrepl.PrimaryKeepaliveMessageByteID:
				k, err := pglogrepl.ParsePrimaryKeepaliveMessage(m.Data[1:])
				if err == nil && k.ServerWALEnd >= end {
					caughtUp = true
				}
			case pglogrepl.XLogDataByteID:
				x, err := pglogrepl.ParseXLogData(m.Data[1:])
				if err != nil {
					r.problem(StepStream, "", "parse XLogData", err)
					return
				}
				lastData = time.Now()
				if r.decode(x.WALData, relations) {
					signalSeen = true
				}
			}
		}
	}
	r.judge(signalSeen)
}

// decode records one pgoutput message; it reports whether it was the signal row.
func (r *run) decode(data []byte, relations map[uint32]*pglogrepl.RelationMessage) bool {
	m, err := pglogrepl.Parse(data)
	if err != nil {
		r.note("parse a pgoutput message: %v", err)
		return false
	}
	var rel uint32
	var op string
	switch m := m.(type) {
	case *pglogrepl.RelationMessage:
		relations[m.RelationID] = m
		return false
	case *pglogrepl.InsertMessage:
		rel, op = m.RelationID, "insert"
	case *pglogrepl.UpdateMessage:
		rel, op = m.RelationID, "update"
	case *pglogrepl.DeleteMessage:
		rel, op = m.RelationID, "delete"
		if r.cfg.SoftDeletes && m.OldTupleType != pglogrepl.UpdateMessageTupleTypeOld {
			if rm := relations[rel]; rm != nil {
				r.problem(StepChanges, sqlident.Qualified(rm.Namespace, rm.RelationName),
					"a delete event carries only the key, not the deleted row", nil)
			}
		}
	default:
		return false
	}
	rm := relations[rel]
	if rm != nil {
		r.logf("%s on %s.%s", op, rm.Namespace, rm.RelationName)
	}
	if rm == nil {
		r.note("a change for relation %d arrived before its description", rel)
		return false
	}
	name := sqlident.Qualified(rm.Namespace, rm.RelationName)
	if r.debezium() {
		if seen, isSignal := r.debeziumSignal(rm, op); isSignal {
			return seen
		}
	} else if name == r.signalName() {
		return op == "insert"
	}
	e := r.expect[name]
	if e == nil {
		// A partition's change under its own name: with no include list the
		// connector captures the partition itself; with one it drops it.
		for _, x := range r.expect {
			if x.leaves[name] {
				if len(r.cfg.Tables) == 0 {
					e = x
				} else {
					r.problem(StepChanges, x.table, fmt.Sprintf("changes arrive under the partition's name %s, which the capture list does not name", name), nil)
					return false
				}
			}
		}
	}
	if e == nil {
		return false
	}
	e.ops[op]++
	var got []string
	for _, c := range rm.Columns {
		got = append(got, c.Name)
	}
	var missing []string
	for _, c := range e.columns {
		if !slices.Contains(got, c) {
			missing = append(missing, c)
		}
	}
	if len(missing) > 0 {
		r.problem(StepColumns, e.table, fmt.Sprintf("%s events lack columns %s", op, strings.Join(missing, ", ")), nil)
		e.columns = slices.DeleteFunc(e.columns, func(c string) bool { return slices.Contains(missing, c) })
	}
	return false
}

func (r *run) judge(signalSeen bool) {
	names := make([]string, 0, len(r.expect))
	for n := range r.expect {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		e := r.expect[n]
		for _, op := range []string{"insert", "update", "delete"} {
			if e.ops[op] < e.want[op] {
				r.problem(StepChanges, e.table, fmt.Sprintf("%d of %d %ss never arrived", e.want[op]-e.ops[op], e.want[op], op), nil)
			}
		}
	}
	if r.signal != "" && !signalSeen {
		r.problem(StepSignalStream, r.signalName(), "the signal row never arrived in the stream: snapshot requests would hang", nil)
	}
}
