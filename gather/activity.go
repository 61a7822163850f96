package gather

import (
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/cdcpreflight/cdcpreflight/facts"
)

// Reads for the rules about what happens after setup: the WAL senders and
// slot synchronization (slot-failover, synchronized-standby-slots,
// connector-activity), the connection budget (connection-capacity,
// role-connection-limit), the xmin horizon (slot-xid-horizon), TOAST
// (toast-unchanged) and the catalog connection's own server process
// (pooler-detected). Each is a fixed number of statements, sent with the
// first batch; none reads user data or takes a lock: statistics and
// catalogs only, and no size function (pg_relation_size locks the
// relation it measures).

// senders reads pg_stat_replication, which every role may read but only
// a superuser or a member of pg_read_all_stats sees in detail, and the
// traces of standbys synchronizing slots (17+).
func (g *gatherer) senders() []read {
	w := &g.f.WalSenders
	w.Gathered = true
	reply := `NULL::float8`
	if g.ver() >= 120000 {
		reply = `extract(epoch FROM clock_timestamp() - r.reply_time)::float8`
	}
	var s facts.WalSender
	return []read{{op: "read the WAL senders", err: &w.Err,
		// A standby's slot synchronization worker (17+) holds an ordinary
		// session here, connected to a database, named by the
		// application_name of primary_conninfo, as the standby's WAL
		// receiver is, or else "<cluster_name>_slotsync worker"
		// (slotsync.c passes its name as the fallback). application_name,
		// datid and the WAL senders' pids are what every role sees.
		sql: `WITH ws AS (SELECT r.pid, r.application_name, a.datid IS NULL AS physical
	FROM pg_stat_replication r LEFT JOIN pg_stat_activity a ON a.pid = r.pid)
SELECT pg_has_role('pg_read_all_stats', 'USAGE'),
	array(SELECT a.application_name::text FROM pg_stat_activity a
		WHERE a.datid IS NOT NULL AND a.pid NOT IN (SELECT pid FROM ws)
			AND (a.application_name LIKE '%slotsync worker'
				OR a.application_name IN (SELECT application_name FROM ws WHERE physical AND application_name <> ''))
		ORDER BY 1),
	current_setting('synchronized_standby_slots', true)`,
		scan: func(rows pgx.Rows) error {
			return rowsOne(rows, &w.DetailsVisible, &w.SlotSyncWorkers, &w.SynchronizedStandbySlots)
		},
	}, {op: "read the WAL senders", err: &w.Err,
		// A physical WAL sender's session is connected to no database; a
		// logical one's is. datid is another column every role sees.
		sql: `WITH cur AS (SELECT CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() ELSE pg_current_wal_lsn() END AS lsn)
SELECT r.pid, coalesce(r.application_name, ''), a.datid IS NULL, coalesce(s.slot_name::text, ''),
	coalesce(r.state, ''), coalesce(r.sent_lsn::text, ''), coalesce(r.write_lsn::text, ''),
	coalesce(r.flush_lsn::text, ''), coalesce(r.replay_lsn::text, ''),
	pg_wal_lsn_diff(cur.lsn, r.sent_lsn)::int8, pg_wal_lsn_diff(r.sent_lsn, r.flush_lsn)::int8,
	extract(epoch FROM r.flush_lag)::float8, ` + reply + `, coalesce(r.sync_state, '')
FROM pg_stat_replication r CROSS JOIN cur
	LEFT JOIN pg_stat_activity a ON a.pid = r.pid
	LEFT JOIN pg_replication_slots s ON s.active_pid = r.pid
ORDER BY r.pid`,
		scan: func(rows pgx.Rows) error {
			_, err := pgx.ForEachRow(rows, []any{&s.PID, &s.ApplicationName, &s.Physical, &s.Slot, &s.State,
				&s.SentLSN, &s.WriteLSN, &s.FlushLSN, &s.ReplayLSN, &s.SentBehind, &s.FlushBehind, &s.FlushLag, &s.ReplyAge, &s.SyncState,
			}, func() error {
				w.Senders = append(w.Senders, s)
				s = facts.WalSender{}
				return nil
			})
			return err
		},
	}}
}

// connections reads the connection budget and what uses it. Every role
// sees every session's pid, database, user and application name in
// pg_stat_activity, but the kind of other roles' sessions only with
// pg_read_all_stats: without it, sessions connected to a database as a
// user are counted as client sessions (Unidentified). WAL senders are told
// apart by pg_stat_replication, which lists them all to everyone.
// cdcpreflight's own session is left out, and the replication probe's WAL
// sender by Gather once the probe is done.
func (g *gatherer) connections() read {
	c := &g.f.Connections
	c.Gathered = true
	useReserved := `false`
	if g.ver() >= 160000 {
		useReserved = `coalesce(pg_has_role((SELECT oid FROM role), 'pg_use_reserved_connections', 'USAGE'), false)`
	}
	return read{op: "read the connections", err: &c.Err, args: []any{g.f.Options.ConnectorUser},
		sql: `WITH role AS (SELECT r.oid, r.rolconnlimit FROM pg_roles r WHERE r.rolname = $1),
db AS (SELECT d.oid, d.datconnlimit FROM pg_database d WHERE d.datname = current_database()),
act AS (SELECT a.pid, a.datid, a.usesysid, a.backend_type, a.pid IN (SELECT r.pid FROM pg_stat_replication r) AS walsender
	FROM pg_stat_activity a WHERE a.pid <> pg_backend_pid())
SELECT current_setting('max_connections')::int, current_setting('superuser_reserved_connections')::int,
	coalesce(nullif(current_setting('reserved_connections', true), '')::int, 0),
	coalesce(nullif(current_setting('rds.rds_superuser_reserved_connections', true), '')::int, 0),
	` + useReserved + `, pg_has_role('pg_read_all_stats', 'USAGE'),
	(SELECT count(*) FROM act WHERE act.backend_type = 'client backend')::int,
	(SELECT count(*) FROM act WHERE act.backend_type IS NULL AND act.datid IS NOT NULL AND act.usesysid IS NOT NULL
		AND NOT act.walsender)::int,
	coalesce((SELECT rolconnlimit FROM role), -1), coalesce((SELECT datconnlimit FROM db), -1),
	(SELECT count(*) FROM act JOIN role ON act.usesysid = role.oid WHERE NOT act.walsender
		AND coalesce(act.backend_type, 'client backend') = 'client backend')::int,
	(SELECT count(*) FROM act JOIN db ON act.datid = db.oid WHERE NOT act.walsender AND act.usesysid IS NOT NULL
		AND coalesce(act.backend_type, 'client backend') = 'client backend')::int,
	array(SELECT act.pid FROM act JOIN role ON act.usesysid = role.oid WHERE act.walsender),
	array(SELECT act.pid FROM act JOIN db ON act.datid = db.oid WHERE act.walsender)`,
		scan: func(rows pgx.Rows) error {
			return rowsOne(rows, &c.MaxConnections, &c.SuperuserReserved, &c.Reserved, &c.RDSReserved, &c.UseReserved,
				&c.StatsVisible, &c.ClientBackends, &c.Unidentified, &c.RoleConnLimit, &c.DatConnLimit,
				&c.RoleSessions, &c.DatabaseSessions, &g.roleWalSenders, &g.dbWalSenders)
		},
	}
}

// finishConnections counts the WAL senders of the connector role and the
// database without the replication probe's, which is cdcpreflight's.
func (g *gatherer) finishConnections() {
	c := &g.f.Connections
	if c.Err != nil {
		return
	}
	c.RoleWalSenders, c.DatabaseWalSenders = 0, 0
	for _, pid := range g.roleWalSenders {
		if pid != g.probePID {
			c.RoleWalSenders++
		}
	}
	for _, pid := range g.dbWalSenders {
		if pid != g.probePID {
			c.DatabaseWalSenders++
		}
	}
}

// xidHorizonDatabases bounds the databases the xmin horizon read lists:
// the oldest, and those past half of autovacuum_freeze_max_age.
const xidHorizonDatabases = 50

// xidHorizon reads the freeze settings, the slots' holds on the xmin
// horizon and the oldest databases; pg_replication_slots and pg_database
// are readable by every role.
func (g *gatherer) xidHorizon() []read {
	x := &g.f.XIDHorizon
	x.Gathered = true
	var s facts.SlotXID
	var d facts.DatabaseAge
	return []read{{op: "read the xmin horizon", err: &x.Err,
		sql: `SELECT current_setting('autovacuum_freeze_max_age')::int8,
	nullif(current_setting('vacuum_failsafe_age', true), '')::int8`,
		scan: func(rows pgx.Rows) error { return rowsOne(rows, &x.FreezeMaxAge, &x.FailsafeAge) },
	}, {op: "read the xmin horizon", err: &x.Err,
		sql: `SELECT s.slot_name::text, s.slot_type::text, s.active, age(s.xmin)::int8, age(s.catalog_xmin)::int8
FROM pg_replication_slots s WHERE s.xmin IS NOT NULL OR s.catalog_xmin IS NOT NULL
ORDER BY greatest(age(s.xmin), age(s.catalog_xmin)) DESC, 1`,
		scan: func(rows pgx.Rows) error {
			_, err := pgx.ForEachRow(rows, []any{&s.Name, &s.Type, &s.Active, &s.XminAge, &s.CatalogXminAge}, func() error {
				x.Slots = append(x.Slots, s)
				s = facts.SlotXID{}
				return nil
			})
			return err
		},
	}, {op: "read the xmin horizon", err: &x.Err, args: []any{xidHorizonDatabases},
		sql: `SELECT d.name, d.age FROM (
	SELECT datname::text AS name, age(datfrozenxid)::int8 AS age, row_number() OVER (ORDER BY age(datfrozenxid) DESC, datname) AS n
	FROM pg_database) d
WHERE d.n = 1 OR d.age >= current_setting('autovacuum_freeze_max_age')::int8 / 2
ORDER BY d.age DESC, d.name LIMIT $1`,
		scan: func(rows pgx.Rows) error {
			_, err := pgx.ForEachRow(rows, []any{&d.Name, &d.Age}, func() error {
				x.Databases = append(x.Databases, d)
				return nil
			})
			return err
		},
	}}
}

// toast reads the published tables (partitions of published partitioned
// tables included) under REPLICA IDENTITY DEFAULT or USING INDEX whose
// TOAST relation holds data, as its relpages (set by VACUUM) or its live
// tuples in the cumulative statistics show: pg_relation_size would be
// exact, but it takes a lock on every TOAST relation it measures. Only
// those tables come back, with the columns that can be stored out of line
// and are not in the replica identity (its columns always travel).
//
// It starts from the TOAST relations, one scan of pg_class, and finds
// their tables with a second; only for the few that hold data does it ask
// whether the publication has them (FOR ALL TABLES, the table or a
// partition ancestor named, 15+ their schema): scanning the publication's
// tables first, as the tables read does, would cost a third scan at
// 10,000 tables. The tables read decides what is published and captured;
// this read only keeps the rows small.
func (g *gatherer) toast() read {
	t := &g.f.Toast
	t.Gathered = true
	schemas := ``
	if g.ver() >= 150000 {
		schemas = `
	OR EXISTS (SELECT 1 FROM anc JOIN pg_class r ON r.oid = anc.anc
		JOIN pg_publication_namespace pn ON pn.pnnspid = r.relnamespace WHERE anc.rel = c.oid AND pn.pnpubid = pub.oid)`
	}
	// Before 12 every CTE is materialized, and the keyword does not exist.
	materialized := ``
	if g.ver() >= 120000 {
		materialized = `MATERIALIZED `
	}
	var row facts.ToastTable
	return read{op: "read TOAST relations", err: &t.Err, args: []any{g.f.Options.Publication},
		sql: `WITH RECURSIVE pub AS (SELECT p.oid, p.puballtables FROM pg_publication p WHERE p.pubname = $1),
toasted AS ` + materialized + `(
	SELECT t.oid, t.relpages::int8 AS pages, coalesce(pg_stat_get_live_tuples(t.oid), 0)::int8 AS live
	FROM pg_class t WHERE t.relkind = 't' AND (t.relpages > 0 OR pg_stat_get_live_tuples(t.oid) > 0)),
cand AS ` + materialized + `(
	SELECT c.oid, c.relname, c.relnamespace, c.relreplident, tw.pages, tw.live
	FROM toasted tw JOIN pg_class c ON c.reltoastrelid = tw.oid
	WHERE c.relkind = 'r' AND c.relreplident IN ('d', 'i') AND c.relpersistence = 'p' AND c.oid >= 16384),
anc AS (SELECT cand.oid AS rel, cand.oid AS anc FROM cand
	UNION
	SELECT a.rel, i.inhparent FROM anc a JOIN pg_class r ON r.oid = a.anc AND r.relispartition
		JOIN pg_inherits i ON i.inhrelid = a.anc)
SELECT quote_ident(n.nspname) || '.' || quote_ident(c.relname),
	array(SELECT a.attname::text FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
		AND a.attlen = -1 AND a.attstorage IN ('x', 'e', 'm')
		AND NOT EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.oid AND a.attnum = ANY (i.indkey)
			AND CASE c.relreplident WHEN 'd' THEN i.indisprimary ELSE i.indisreplident END)
		ORDER BY a.attnum),
	c.pages, c.live
FROM cand c JOIN pg_namespace n ON n.oid = c.relnamespace CROSS JOIN pub
WHERE pub.puballtables
	OR EXISTS (SELECT 1 FROM anc JOIN pg_publication_rel pr ON pr.prrelid = anc.anc WHERE anc.rel = c.oid AND pr.prpubid = pub.oid)` +
			schemas + `
ORDER BY 1`,
		scan: func(rows pgx.Rows) error {
			_, err := pgx.ForEachRow(rows, []any{&row.Table, &row.Columns, &row.Pages, &row.LiveTuples}, func() error {
				t.Tables = append(t.Tables, row)
				row = facts.ToastTable{}
				return nil
			})
			return err
		},
	}
}

// backend reads what the catalog connection's server process says of
// itself; Gather has recorded what the connection was told at startup.
func (g *gatherer) backend() read {
	b := &g.f.Backend
	b.Gathered = true
	return read{op: "read the server process", err: &b.Err,
		sql: `SELECT pg_backend_pid(), coalesce(host(inet_server_addr()), ''), coalesce(inet_server_port(), 0),
	current_setting('application_name'),
	coalesce(extract(epoch FROM now() - (SELECT a.backend_start FROM pg_stat_activity a WHERE a.pid = pg_backend_pid())), 0)::float8`,
		scan: func(rows pgx.Rows) error {
			err := rowsOne(rows, &b.PID, &b.ServerAddr, &b.ServerPort, &b.ApplicationName, &b.StartedBefore)
			if errors.Is(err, pgx.ErrNoRows) {
				return errors.New("no row for this session")
			}
			return err
		},
	}
}

// noteConnect records what the catalog connection was told at startup and
// how long connecting took.
func (g *gatherer) noteConnect(reportedPID uint32, sentAppName string, took time.Duration) {
	b := &g.f.Backend
	b.ReportedPID, b.SentApplicationName, b.Connect = reportedPID, sentAppName, took.Seconds()
}
