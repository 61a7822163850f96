package facts

import "time"

// The facts of the rules about what happens after setup: failover, a busy
// server, the xmin horizon, TOAST, poolers and a stuck consumer. Each
// section is one small read, whatever the number of tables.

// Defaults of the connector-activity thresholds (--connector-lag-warn,
// --connector-reply-warn). A facts snapshot saved without them is judged
// with these.
const (
	// DefaultConnectorLagWarn: an active consumer whose confirmed position
	// is further behind the current WAL than this is not confirming. 16
	// WAL segments: a connector that confirms as it goes (Debezium does
	// when Kafka Connect commits its offsets, every 60 s by default) stays
	// well under it unless the server writes more than about 4 MB/s.
	DefaultConnectorLagWarn = 256 << 20
	// DefaultConnectorReplyWarn: an active consumer that has sent no status
	// reply for longer than this is not listening. Debezium and
	// pg_recvlogical reply every 10 s; the WAL sender asks for a reply
	// after half of wal_sender_timeout (60 s by default) and ends the
	// connection after all of it.
	DefaultConnectorReplyWarn = 30 * time.Second
)

// ConnectorLagWarnInForce is the lag threshold in force: the option, or its default.
func (o Options) ConnectorLagWarnInForce() int64 {
	if o.ConnectorLagWarn <= 0 {
		return DefaultConnectorLagWarn
	}
	return o.ConnectorLagWarn
}

// ConnectorReplyWarnInForce is the reply-age threshold in force: the
// option, or its default.
func (o Options) ConnectorReplyWarnInForce() time.Duration {
	if o.ConnectorReplyWarn <= 0 {
		return DefaultConnectorReplyWarn
	}
	return o.ConnectorReplyWarn
}

// WalSenders are the server's WAL senders (pg_stat_replication) and what
// tells whether standbys synchronize replication slots.
type WalSenders struct {
	// Gathered: the section was read (a snapshot saved before it existed
	// lacks it, and rules that need it report so rather than judge nothing).
	Gathered bool        `json:"gathered"`
	Senders  []WalSender `json:"senders,omitempty"`
	// DetailsVisible: the role that read them may see every WAL sender's
	// state and positions (a superuser, or pg_read_all_stats, which
	// pg_monitor includes). Without it PostgreSQL shows only who each
	// WAL sender is.
	DetailsVisible bool `json:"details_visible"`
	// SlotSyncWorkers are the application names of the sessions that
	// standbys' slot synchronization workers (17+) hold on this server:
	// ordinary sessions, connected to a database, named
	// "<cluster_name>_slotsync worker", or, when primary_conninfo names
	// the standby, by that name, as its WAL sender is. Every role sees them.
	SlotSyncWorkers []string `json:"slot_sync_workers,omitempty"`
	// SynchronizedStandbySlots is synchronized_standby_slots (17+), as
	// set; nil where the server has no such setting.
	SynchronizedStandbySlots *string `json:"synchronized_standby_slots,omitempty"`
	Err                      *Error  `json:"error,omitempty"`
}

// WalSender is one pg_stat_replication row. Its fields but PID,
// ApplicationName, Physical and Slot are empty or nil when the role may
// not see details (WalSenders.DetailsVisible).
type WalSender struct {
	PID             int    `json:"pid"`
	ApplicationName string `json:"application_name,omitempty"`
	// Physical: it streams to a physical standby (its session is connected
	// to no database), as opposed to a logical consumer.
	Physical bool `json:"physical"`
	// Slot is the replication slot it streams from, "" when none.
	Slot      string `json:"slot,omitempty"`
	State     string `json:"state,omitempty"` // startup, catchup, streaming, backup, stopping
	SentLSN   string `json:"sent_lsn,omitempty"`
	WriteLSN  string `json:"write_lsn,omitempty"`
	FlushLSN  string `json:"flush_lsn,omitempty"`
	ReplayLSN string `json:"replay_lsn,omitempty"`
	// SentBehind is the WAL not yet sent (current position − sent_lsn) and
	// FlushBehind what was sent and not yet flushed by the consumer
	// (sent_lsn − flush_lsn), in bytes.
	SentBehind  *int64 `json:"sent_behind,omitempty"`
	FlushBehind *int64 `json:"flush_behind,omitempty"`
	// FlushLag is pg_stat_replication.flush_lag in seconds.
	FlushLag *float64 `json:"flush_lag_seconds,omitempty"`
	// ReplyAge is how long ago the consumer last replied, in seconds (12+:
	// reply_time).
	ReplyAge  *float64 `json:"reply_age_seconds,omitempty"`
	SyncState string   `json:"sync_state,omitempty"`
}

// Find returns the WAL sender of process pid.
func (w WalSenders) Find(pid int) (WalSender, bool) {
	for _, s := range w.Senders {
		if s.PID == pid {
			return s, true
		}
	}
	return WalSender{}, false
}

// Connections are the connection budget (max_connections and what is
// reserved from it), what uses it, and the connector role's and the
// database's own limits.
type Connections struct {
	// Gathered: the section was read (a snapshot saved before it existed
	// lacks it, and rules that need it report so rather than judge nothing).
	Gathered       bool `json:"gathered"`
	MaxConnections int  `json:"max_connections"`
	// SuperuserReserved is superuser_reserved_connections; Reserved is
	// reserved_connections (16+, for pg_use_reserved_connections
	// members); RDSReserved is RDS's rds.rds_superuser_reserved_connections
	// (for rds_superuser members), 0 where there is none.
	SuperuserReserved int `json:"superuser_reserved"`
	Reserved          int `json:"reserved"`
	RDSReserved       int `json:"rds_reserved"`
	// UseReserved: the connector role is a member of
	// pg_use_reserved_connections (16+).
	UseReserved bool `json:"use_reserved,omitempty"`
	// StatsVisible: the role that read them sees every session's kind (a
	// superuser, or pg_read_all_stats): ClientBackends is exact.
	// Otherwise other roles' sessions show no kind, and those connected to
	// a database with a user are counted in Unidentified.
	StatsVisible bool `json:"stats_visible"`
	// ClientBackends are the client sessions other than cdcpreflight's own,
	// as far as the role can see their kind.
	ClientBackends int `json:"client_backends"`
	// Unidentified are other roles' sessions whose kind the role cannot
	// see: counted as client sessions, although autovacuum and parallel
	// workers among them use other pools.
	Unidentified int `json:"unidentified"`
	// RoleConnLimit and DatConnLimit are the connector role's and the
	// database's CONNECTION LIMIT (-1: none).
	RoleConnLimit int `json:"role_conn_limit"`
	DatConnLimit  int `json:"dat_conn_limit"`
	// RoleSessions and DatabaseSessions are the connector role's ordinary
	// sessions and those of this database (its other users' included, as
	// far as they can be told from background workers), cdcpreflight's
	// own left out.
	RoleSessions     int `json:"role_sessions"`
	DatabaseSessions int `json:"database_sessions"`
	// RoleWalSenders and DatabaseWalSenders are the WAL senders among the
	// connector role's and the database's sessions, the replication probe's
	// left out: they count against the limits before PostgreSQL 13.
	RoleWalSenders     int    `json:"role_wal_senders"`
	DatabaseWalSenders int    `json:"database_wal_senders"`
	Err                *Error `json:"error,omitempty"`
}

// XIDHorizon is what holds back the oldest transaction ID VACUUM may
// freeze: replication slots' xmin and catalog_xmin, and each database's
// datfrozenxid, as ages (transactions since).
type XIDHorizon struct {
	// Gathered: the section was read (a snapshot saved before it existed
	// lacks it, and rules that need it report so rather than judge nothing).
	Gathered bool `json:"gathered"`
	// FreezeMaxAge is autovacuum_freeze_max_age; FailsafeAge is
	// vacuum_failsafe_age (14+), nil before.
	FreezeMaxAge int64  `json:"freeze_max_age"`
	FailsafeAge  *int64 `json:"failsafe_age,omitempty"`
	// Slots are the slots holding an xmin or a catalog_xmin.
	Slots []SlotXID `json:"slots,omitempty"`
	// Databases are the oldest databases by age(datfrozenxid), the oldest
	// first: those past half of FreezeMaxAge, and at least the oldest.
	Databases []DatabaseAge `json:"databases,omitempty"`
	Err       *Error        `json:"error,omitempty"`
}

// SlotXID is a slot's hold on the xmin horizon.
type SlotXID struct {
	Name           string `json:"name"`
	Type           string `json:"type"` // logical or physical
	Active         bool   `json:"active"`
	XminAge        *int64 `json:"xmin_age,omitempty"`         // hot_standby_feedback of a physical slot
	CatalogXminAge *int64 `json:"catalog_xmin_age,omitempty"` // the catalog rows a logical slot still needs
}

// Age is the older of the slot's two holds, 0 when it holds neither.
func (s SlotXID) Age() int64 {
	var a int64
	if s.XminAge != nil {
		a = *s.XminAge
	}
	if s.CatalogXminAge != nil && *s.CatalogXminAge > a {
		a = *s.CatalogXminAge
	}
	return a
}

// DatabaseAge is a database's age(datfrozenxid).
type DatabaseAge struct {
	Name string `json:"name"`
	Age  int64  `json:"age"`
}

// Toast lists the published tables whose UPDATEs can arrive without the
// values of columns they leave unchanged: tables under REPLICA IDENTITY
// DEFAULT or USING INDEX whose TOAST relation holds data, with the
// columns that can be stored out of line. Only such tables are read.
type Toast struct {
	// Gathered: the section was read (a snapshot saved before it existed
	// lacks it, and rules that need it report so rather than judge nothing).
	Gathered bool         `json:"gathered"`
	Tables   []ToastTable `json:"tables,omitempty"`
	Err      *Error       `json:"error,omitempty"`
}

// ToastTable is one table with out-of-line values, as far as its TOAST
// relation's size and statistics show them.
type ToastTable struct {
	Table string `json:"table"` // quoted
	// Columns can be stored out of line (variable length, storage
	// extended, external or main) and are not in the replica identity (its
	// columns are logged whole), as PostgreSQL stores their names.
	Columns []string `json:"columns"`
	// Pages is the TOAST relation's relpages (as of its last VACUUM);
	// LiveTuples its live chunks per the cumulative statistics.
	Pages      int64 `json:"pages"`
	LiveTuples int64 `json:"live_tuples"`
}

// Backend is what the catalog connection's server process says of itself,
// beside what the connection was told at startup: a connection pooler
// between the two shows in the difference.
type Backend struct {
	// Gathered: the section was read (a snapshot saved before it existed
	// lacks it, and rules that need it report so rather than judge nothing).
	Gathered bool `json:"gathered"`
	// ReportedPID is the process ID of BackendKeyData at startup;
	// PID is pg_backend_pid().
	ReportedPID uint32 `json:"reported_pid"`
	PID         int    `json:"pid"`
	// ServerAddr and ServerPort are inet_server_addr() and
	// inet_server_port(): empty and 0 over a Unix socket.
	ServerAddr string `json:"server_addr,omitempty"`
	ServerPort int    `json:"server_port,omitempty"`
	// ApplicationName is the session's application_name;
	// SentApplicationName the one cdcpreflight sent.
	ApplicationName     string `json:"application_name"`
	SentApplicationName string `json:"sent_application_name"`
	// StartedBefore is how long before the first read the server process
	// started (now() − backend_start, seconds); Connect how long
	// connecting took, measured by cdcpreflight. A process much older than
	// the connection was there before it: a pooler's.
	StartedBefore float64 `json:"started_before_seconds"`
	Connect       float64 `json:"connect_seconds"`
	Err           *Error  `json:"error,omitempty"`
}

// ListedStandbySlot is a slot synchronized_standby_slots names, as this
// server has it: logical decoding of failover slots waits until every one
// of them has confirmed the WAL to be sent (17+).
type ListedStandbySlot struct {
	Name    string
	Missing bool // no such slot
	// Logical: a logical slot, which PostgreSQL refuses to wait for
	// and waits on instead, until the list is corrected.
	Logical     bool
	Invalidated bool
	Inactive    bool // no standby streams from it
	// Behind is the WAL past its restart_lsn, in bytes (nil when unknown):
	// an inactive slot behind the current WAL holds decoding back now.
	Behind *int64
}

// HoldsBack reports whether decoding a failover slot waits on s now: it
// is missing, logical or invalidated, or inactive while WAL has moved on.
func (s ListedStandbySlot) HoldsBack() bool {
	return s.Missing || s.Logical || s.Invalidated || (s.Inactive && s.Behind != nil && *s.Behind > 0)
}

// Healthy reports whether s is an active, valid physical slot.
func (s ListedStandbySlot) Healthy() bool {
	return !s.Missing && !s.Logical && !s.Invalidated && !s.Inactive
}

// ListedStandbySlots judges each slot synchronized_standby_slots names
// against the slots read; nil when the setting is empty or absent.
func (f *Facts) ListedStandbySlots() []ListedStandbySlot {
	if f.WalSenders.SynchronizedStandbySlots == nil {
		return nil
	}
	var out []ListedStandbySlot
	for _, name := range SplitSlotList(*f.WalSenders.SynchronizedStandbySlots) {
		l := ListedStandbySlot{Name: name}
		s, ok := f.Slots.Find(name)
		switch {
		case !ok:
			l.Missing = true
		case s.Logical():
			l.Logical = true
		default:
			l.Invalidated = s.Invalidated()
			l.Inactive = !s.Active
			l.Behind = s.RetainedBytes
		}
		out = append(out, l)
	}
	return out
}

// SplitSlotList splits a list setting of slot names (synchronized_standby_slots)
// as PostgreSQL does (SplitIdentifierString): comma-separated, spaces
// around names ignored, a double-quoted name taken as it is and an
// unquoted one folded to lower case.
func SplitSlotList(s string) []string {
	var out []string
	for i := 0; i < len(s); {
		for i < len(s) && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r' || s[i] == ',') {
			i++
		}
		if i == len(s) {
			break
		}
		var name []byte
		if s[i] == '"' {
			for i++; i < len(s); i++ {
				if s[i] == '"' {
					if i+1 < len(s) && s[i+1] == '"' {
						name = append(name, '"')
						i++
						continue
					}
					i++
					break
				}
				name = append(name, s[i])
			}
		} else {
			for ; i < len(s) && s[i] != ','; i++ {
				c := s[i]
				if c >= 'A' && c <= 'Z' {
					c += 'a' - 'A'
				}
				name = append(name, c)
			}
			for len(name) > 0 && (name[len(name)-1] == ' ' || name[len(name)-1] == '\t') {
				name = name[:len(name)-1]
			}
		}
		for i < len(s) && s[i] != ',' {
			i++
		}
		if len(name) > 0 {
			out = append(out, string(name))
		}
	}
	return out
}

// notGathered is the error of a section a facts snapshot does not hold.
func notGathered(gathered bool, err *Error) *Error {
	if err != nil || gathered {
		return err
	}
	return &Error{Op: "gather", Message: "these facts do not hold this section: a snapshot saved by an older cdcpreflight (gather again)"}
}
