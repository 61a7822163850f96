// Package facts holds what cdcpreflight learned about a database: plain data
// that marshals to JSON, so a snapshot can be judged offline (check --facts)
// and rules can be tested without a server.
package facts

import (
	"fmt"
	"time"
)

// SchemaVersion is bumped when a field changes meaning; fields are only added otherwise.
//
//   - 2: Table.IdentityColumns and Table.IdentityCandidate(Columns) are
//     read only for the tables whose rules use them (see their comments),
//     not for every table: empty elsewhere means "not read". Snapshots of
//     version 1, which have them everywhere, are judged alike.
const SchemaVersion = 2

// Facts is everything the rules may look at. Each section that comes from a
// query or probe carries its own Err: a failed query makes only the rules that
// need that section report error.
type Facts struct {
	SchemaVersion int       `json:"schema_version"`
	GatheredAt    time.Time `json:"gathered_at"`
	Target        Target    `json:"target"`
	Options       Options   `json:"options"`

	// SSHTunnel is the SSH bastion the connections went through, when one
	// was configured; when it broke, nothing behind it was reached.
	SSHTunnel SSHTunnel `json:"ssh_tunnel"`

	// Connect is the outcome of the ordinary (catalog) connection. When it
	// failed, every section below that needs the database is empty and
	// rules that need it report error with this cause.
	Connect Probe `json:"connect"`

	Server      Server           `json:"server"`
	Settings    Settings         `json:"settings"`
	Platform    Platform         `json:"platform"`
	Session     Session          `json:"session"`
	Role        Role             `json:"role"`
	Replication ReplicationUsage `json:"replication"`
	ReplProbe   ReplicationProbe `json:"replication_probe"`

	Privileges   Privileges   `json:"privileges"`
	RoleSettings RoleSettings `json:"role_settings"`
	Tables       Tables       `json:"tables"`
	Publication  Publication  `json:"publication"`
	Slots        Slots        `json:"slots"`
	SignalTable  HelperTable  `json:"signal_table"`
	Heartbeat    HelperTable  `json:"heartbeat_table"`
	Peek         SlotPeek     `json:"slot_peek"`

	// Scope and ConnectorDB are gathered only with a connector
	// configuration (Options.Connector).
	Scope       CaptureScope      `json:"capture_scope"`
	ConnectorDB ConnectorDatabase `json:"connector_database"`
	WalSenders  WalSenders        `json:"wal_senders"`
	Connections Connections       `json:"connections"`
	XIDHorizon  XIDHorizon        `json:"xid_horizon"`
	Toast       Toast             `json:"toast"`
	Backend     Backend           `json:"backend"`
}

// Error is a failure recorded as a fact.
type Error struct {
	Op       string `json:"op"`                 // what was being done: "read settings"
	Message  string `json:"message"`            // the server's or driver's message, password-free
	SQLState string `json:"sqlstate,omitempty"` // when the server sent one
}

func (e *Error) Error() string {
	if e == nil {
		return ""
	}
	s := e.Op + ": " + e.Message
	if e.SQLState != "" {
		s += " (SQLSTATE " + e.SQLState + ")"
	}
	return s
}

// Target identifies the database judged. It never holds a password.
type Target struct {
	Host     string `json:"host"`
	Port     uint16 `json:"port"`
	Database string `json:"database"`
	User     string `json:"user"`
	SSLMode  string `json:"sslmode,omitempty"`
}

// Options are the user's expectations that the rules judge against: names of
// the objects the connector will use, and the capture scope.
type Options struct {
	Slot            string     `json:"slot"`
	Publication     string     `json:"publication"`
	SignalSchema    string     `json:"signal_schema"`
	HeartbeatSchema string     `json:"heartbeat_schema,omitempty"`
	SnapshotMode    string     `json:"snapshot_mode"` // one of SnapshotModes; "" is SnapshotAuto
	ConnectorUser   string     `json:"connector_user"`
	Tables          []TableRef `json:"tables,omitempty"` // empty: the default scope
	SoftDeletes     bool       `json:"soft_deletes,omitempty"`
	// PeekMaxBacklog: no slot peek when the slot's backlog (bytes of WAL
	// from restart_lsn) is larger; decoding cost grows with it.
	PeekMaxBacklog int64 `json:"peek_max_backlog"`
	// RetainedWALWarn: slots retaining more WAL than this are reported.
	RetainedWALWarn int64 `json:"retained_wal_warn"`
	// ConnectorLagWarn: an active consumer whose confirmed position is
	// further behind the current WAL than this is reported; 0 is
	// DefaultConnectorLagWarn.
	ConnectorLagWarn int64 `json:"connector_lag_warn,omitempty"`
	// ConnectorReplyWarn: an active consumer silent for longer than this is
	// reported; 0 is DefaultConnectorReplyWarn.
	ConnectorReplyWarn time.Duration `json:"connector_reply_warn,omitempty"`
	// SignalTable is the signal table's name in SignalSchema; ""
	// is Streamkap's, streamkap_signal. A Debezium configuration's
	// signal.data.collection names any table.
	SignalTable string `json:"signal_table,omitempty"`
	// Connector is what the connector's own configuration says, when one
	// was given (--connector-config).
	Connector *Connector `json:"connector,omitempty"`
}

// SignalTableName is the signal table's name: SignalTable, or Streamkap's
// streamkap_signal.
func (o Options) SignalTableName() string {
	if o.SignalTable != "" {
		return o.SignalTable
	}
	return SignalTableName
}

// Snapshot modes (--snapshot-mode): how the connector takes incremental
// snapshots, which decides whether it needs the signal table.
const (
	// SnapshotAuto: the signal table when it exists, read-only snapshots
	// (PostgreSQL 13+) otherwise.
	SnapshotAuto = "auto"
	// SnapshotReadOnly: Read only = Yes in the connector; nothing is
	// written, the signal table is not used.
	SnapshotReadOnly = "read-only"
	// SnapshotSignalTable: the connector writes watermarks to the signal
	// table, which must exist.
	SnapshotSignalTable = "signal-table"
)

// SnapshotModes are the values SnapshotMode may take.
var SnapshotModes = []string{SnapshotAuto, SnapshotReadOnly, SnapshotSignalTable}

// SnapshotModeInForce is the snapshot mode the rules judge: SnapshotMode,
// or SnapshotAuto, the default, when a snapshot saved without one leaves it
// empty.
func (o Options) SnapshotModeInForce() string {
	if o.SnapshotMode == "" {
		return SnapshotAuto
	}
	return o.SnapshotMode
}

// TableRef names a captured table, or a whole schema when Table is empty.
// Names are exact, as PostgreSQL stores them: no case folding.
type TableRef struct {
	Schema string `json:"schema"`
	Table  string `json:"table,omitempty"`
}

// Probe is the outcome of a live action (a connection, a command).
type Probe struct {
	Attempted bool   `json:"attempted"`
	Err       *Error `json:"error,omitempty"`
}

// OK reports whether the probe ran and succeeded.
func (p Probe) OK() bool { return p.Attempted && p.Err == nil }

// Server describes the server version and role.
type Server struct {
	VersionNum int    `json:"version_num"` // server_version_num, e.g. 150018
	Version    string `json:"version"`     // server_version, e.g. "15.18 (Debian 15.18-0+deb12u1)"
	InRecovery bool   `json:"in_recovery"`
	Err        *Error `json:"error,omitempty"`
}

// Major returns the major version (10, 11, …), or 0 when unknown.
func (s Server) Major() int { return s.VersionNum / 10000 }

// CanDecode reports whether logical decoding can run on this server, as far
// as its role goes: always on a primary, on a standby only from PostgreSQL
// 16 (before, creating or reading a slot there fails with SQLSTATE 0A000).
// wal_level is Settings.WalLevelLogical's business.
func (s Server) CanDecode() bool { return !s.InRecovery || s.Major() >= 16 }

// Settings are the pg_settings rows the rules read. A setting missing from
// Values was not visible to the role (pg_settings hides superuser-only rows)
// or does not exist on this version.
type Settings struct {
	Values map[string]string `json:"values"`
	Err    *Error            `json:"error,omitempty"`
}

// Get returns a setting and whether it was seen.
func (s Settings) Get(name string) (string, bool) {
	v, ok := s.Values[name]
	return v, ok
}

// WalLevelLogical reports whether wal_level is logical, which logical
// decoding needs; a wal_level that was not seen is not logical.
func (s Settings) WalLevelLogical() bool {
	v, ok := s.Get("wal_level")
	return ok && v == "logical"
}

// Platform names where the server runs and why we think so.
type Platform struct {
	Name     string   `json:"name"` // neon, rds, aurora, cloudsql, azure, supabase, self-hosted
	Evidence []string `json:"evidence,omitempty"`
}

// Platform names.
const (
	PlatformNeon       = "neon"
	PlatformRDS        = "rds"
	PlatformAurora     = "aurora"
	PlatformCloudSQL   = "cloudsql"
	PlatformAzure      = "azure"
	PlatformSupabase   = "supabase"
	PlatformSelfHosted = "self-hosted"
)

// PlatformNames lists every platform name above: code that must say
// something for each platform (checks' advice table) is tested against it.
var PlatformNames = []string{
	PlatformNeon, PlatformRDS, PlatformAurora, PlatformCloudSQL, PlatformAzure, PlatformSupabase, PlatformSelfHosted,
}

// Session describes the catalog connection itself.
type Session struct {
	SSL        bool   `json:"ssl"`
	SSLVersion string `json:"ssl_version,omitempty"`
	Cipher     string `json:"cipher,omitempty"`
	Err        *Error `json:"error,omitempty"`
}

// Role describes the connector role (the connecting role, or --connector-user).
type Role struct {
	Name           string `json:"name"`
	Exists         bool   `json:"exists"`
	Super          bool   `json:"superuser"`
	Replication    bool   `json:"replication"` // the attribute on the role itself: it is not inherited
	BypassRLS      bool   `json:"bypassrls"`
	CanLogin       bool   `json:"can_login"`
	RDSReplication bool   `json:"rds_replication"` // member of rds_replication (RDS/Aurora grant it that way)
	// MemberOf lists the roles it is a member of, directly or not.
	MemberOf []string `json:"member_of,omitempty"`
	// ReplicationVia lists member-of roles that have REPLICATION: the
	// attribute does not pass through them, and users often believe it does.
	ReplicationVia []string `json:"replication_via,omitempty"`
	Err            *Error   `json:"error,omitempty"`
}

// CanReplicate reports whether the role may create and read replication
// slots: superuser, the REPLICATION attribute on the role itself (it is not
// inherited, so ReplicationVia does not count), or on RDS and Aurora, where
// the attribute cannot be set, membership in rds_replication. Whether the
// role exists is Exists's business.
func (r Role) CanReplicate() bool { return r.Super || r.Replication || r.RDSReplication }

// ConnectorRole is the name of the role the connector logs in as: the role
// judged, or the one --connector-user names when it could not be read.
func (f *Facts) ConnectorRole() string {
	if f.Role.Name != "" {
		return f.Role.Name
	}
	return f.Options.ConnectorUser
}

// ReplicationUsage is how much of the slot and WAL sender budget is used.
type ReplicationUsage struct {
	MaxReplicationSlots int    `json:"max_replication_slots"`
	MaxWalSenders       int    `json:"max_wal_senders"`
	SlotsUsed           int    `json:"slots_used"`
	WalSendersUsed      int    `json:"wal_senders_used"` // excluding Neon's walproposer
	SlotExists          bool   `json:"slot_exists"`      // the configured slot is already there
	Err                 *Error `json:"error,omitempty"`
}

// ReplicationProbe is a replication=database connection running IDENTIFY_SYSTEM.
type ReplicationProbe struct {
	Probe
	SystemID string `json:"system_id,omitempty"`
	Timeline int    `json:"timeline,omitempty"`
	XLogPos  string `json:"xlogpos,omitempty"`
	DBName   string `json:"dbname,omitempty"`
}

// Bytes renders a byte count for people: 256 MB, 1.5 GB.
func Bytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %cB", float64(n)/float64(div), "KMGTPE"[exp])
}
