package facts

import (
	"encoding/json"
	"fmt"
	"time"
)

// Privileges of the connector role that are not per table.
type Privileges struct {
	DatabaseConnect bool `json:"database_connect"`
	// Schemas holding captured tables, or named in the capture scope.
	Schemas []SchemaPrivilege `json:"schemas,omitempty"`
	// DefaultPrivileges: per captured schema and each role owning tables
	// in it, whether tables that role creates later will be readable.
	DefaultPrivileges []DefaultPrivilege `json:"default_privileges,omitempty"`
	Err               *Error             `json:"error,omitempty"`
}

// SchemaPrivilege is USAGE on one schema.
type SchemaPrivilege struct {
	Name   string `json:"name"`
	Quoted string `json:"quoted"`
	Exists bool   `json:"exists"`
	Usage  bool   `json:"usage"`
}

// DefaultPrivilege says whether ALTER DEFAULT PRIVILEGES covers future
// tables created by Owner in Schema for the connector.
type DefaultPrivilege struct {
	Schema  string `json:"schema"` // quoted
	Owner   string `json:"owner"`  // quoted
	Covered bool   `json:"covered"`
}

// RoleSettings are per-role and per-database settings (pg_db_role_setting)
// that apply to the connector's sessions.
type RoleSettings struct {
	Settings []RoleSetting `json:"settings,omitempty"`
	// Server holds the server-wide values (postgresql.conf, ALTER SYSTEM,
	// the command line, or the built-in default: pg_settings) of the
	// settings in ServerSettingNames, which a session gets when no
	// pg_db_role_setting entry applies. A name is missing when
	// cdcpreflight's own session took its value from somewhere more
	// specific (its role, the database, ALTER ROLE ALL, the client), which
	// hides the server's value.
	Server map[string]string `json:"server,omitempty"`
	Err    *Error            `json:"error,omitempty"`
}

// ServerSettingNames are the settings whose server-wide values
// RoleSettings.Server holds: the ones judged for the connector's sessions
// whatever their scope.
var ServerSettingNames = []string{"default_transaction_read_only", "row_security"}

// RoleSetting is one ALTER ROLE/DATABASE … SET.
type RoleSetting struct {
	// Scope is "role in database", "role", "database" or "all roles" (ALTER
	// ROLE ALL SET), in the order PostgreSQL lets them override each other.
	Scope string `json:"scope"`
	Name  string `json:"name"`
	Value string `json:"value"`
}

// Tables are the captured tables, the published ones, and the partitions
// of either: one set-based read, whatever the number of tables.
type Tables struct {
	// Listed is true when the scope came from --tables, a tables file or
	// config; false for the default scope (every user table).
	Listed bool    `json:"listed"`
	Tables []Table `json:"tables"`
	// Missing are capture-list entries not found: a table, or (Table
	// empty) a listed schema that does not exist.
	Missing []TableRef `json:"missing,omitempty"`
	// CaseVariants are existing relations or schemas whose names differ
	// from a missing entry only in letter case: names match exactly, and
	// "public.Orders" is not public."Orders".
	CaseVariants []CaseVariant `json:"case_variants,omitempty"`
	Err          *Error        `json:"error,omitempty"`
}

// Leaf is an ordinary table, where rows live and DML runs (not a
// partitioned table), with the scope it has through the partitioned table
// it belongs to: UPDATE and DELETE run on the partition, so its own replica
// identity and persistence decide, whoever is named in the capture list or
// the publication.
type Leaf struct {
	// The table itself, not a copy: rules take the leaves of 100,000
	// tables several times over, and copying each costs more than
	// judging it.
	*Table
	// InCapture: the table is captured, or its partitioned table is.
	InCapture bool
	// InPublication: the table is published, or its partitioned table is.
	InPublication bool
}

// Leaves returns the ordinary tables, in order, each with the scope it has
// through the partitioned table PartitionOf names.
func (ts Tables) Leaves() []Leaf {
	roots := map[string]*Table{}
	for i := range ts.Tables {
		if t := &ts.Tables[i]; t.IsPartitioned() {
			roots[t.Quoted] = t
		}
	}
	n := 0
	for i := range ts.Tables {
		if ts.Tables[i].IsOrdinary() {
			n++
		}
	}
	if n == 0 {
		return nil
	}
	out := make([]Leaf, 0, n)
	for i := range ts.Tables {
		t := &ts.Tables[i]
		if !t.IsOrdinary() {
			continue
		}
		l := Leaf{Table: t, InCapture: t.Captured, InPublication: t.Published}
		if root, ok := roots[t.PartitionOf()]; ok {
			l.InCapture = l.InCapture || root.Captured
			l.InPublication = l.InPublication || root.Published
		}
		out = append(out, l)
	}
	return out
}

// UnloggedCaptured lists the captured leaves that are UNLOGGED, whose
// changes never reach the connector: unlogged-tables reports them, and fix
// --set-logged plans as if they were logged, so both must see the same.
func (ts Tables) UnloggedCaptured() []Leaf {
	var out []Leaf
	for _, l := range ts.Leaves() {
		if l.InCapture && l.Unlogged() {
			out = append(out, l)
		}
	}
	return out
}

// CaseVariant pairs a missing capture-list entry with what exists.
type CaseVariant struct {
	Listed TableRef `json:"listed"`
	Found  string   `json:"found"` // quoted: schema.name, or a schema
}

// Table is one relation as the rules see it. It is kept small (a database
// can have 100,000 tables and more, and the facts hold every one): what
// few tables have is in RareFacts, behind one pointer, read through the
// methods of the same names. Its JSON is the flat object it always was.
type Table struct {
	Schema string
	Name   string
	Quoted string // schema.name as quote_ident renders them
	Owner  string // quoted
	// Kind is pg_class.relkind: r table, p partitioned, v view, m matview, f foreign.
	Kind        Code
	Persistence Code // p permanent, u unlogged
	// ReplicaIdentity is pg_class.relreplident: d default, n nothing, f full, i index.
	ReplicaIdentity Code
	HasPrimaryKey   bool
	// PrimaryKeyDeferrable: the primary key is DEFERRABLE (pg_index.indimmediate
	// false). PostgreSQL never uses a non-immediate index as replica identity,
	// so under REPLICA IDENTITY DEFAULT such a table has none.
	PrimaryKeyDeferrable bool
	// IdentityIndex: a valid index is marked REPLICA IDENTITY (relreplident i).
	IdentityIndex bool
	// OwnedByConnector: the connector role has the owner's privileges.
	OwnedByConnector bool
	RLS              bool
	ForceRLS         bool
	// RLSReadAll: a permissive policy FOR SELECT or FOR ALL with USING
	// (true) applies to the connector (PUBLIC, itself, or a role whose
	// privileges it inherits) and no restrictive policy for SELECT does,
	// so row-level security hides no row from it.
	RLSReadAll  bool
	Select      bool // the connector may SELECT it
	SchemaUsage bool // …and use its schema
	Captured    bool
	Published   bool // listed by pg_publication_tables for the publication
	RowFilter   bool
	ColumnList  bool

	rare *RareFacts
}

// Code is a one-letter catalog code ("char" in pg_class: relkind,
// relpersistence, relreplident), compared with rune constants: t.Kind ==
// 'r'. A byte rather than a string: a table holds three, and a database
// 100,000 tables. JSON has it as the one-letter string, or "" for none.
type Code byte

func (c Code) String() string {
	if c == 0 {
		return ""
	}
	return string(rune(c))
}

// parseCode reads what Code.String writes.
func parseCode(field, s string) (Code, error) {
	switch {
	case s == "":
		return 0, nil
	case len(s) == 1:
		return Code(s[0]), nil
	}
	return 0, fmt.Errorf("table %s: %q is not a one-letter code", field, s)
}

// RareFacts are the facts of a table that most tables do not have.
type RareFacts struct {
	// IdentityColumns are the key columns of the index the replica identity
	// uses (the immediate primary key under DEFAULT, the marked index under
	// INDEX), in index order, as PostgreSQL stores their names; empty under
	// FULL (every column) and NOTHING. Row filters and column lists (15+)
	// and generated columns (18+) are checked against them, so they are
	// read only for tables with publication filters or generated columns
	// (since schema version 2): reading column names costs an index probe
	// per key column, most of a large database's tables read.
	IdentityColumns []string
	// IdentityCandidate is a quoted unique index that REPLICA IDENTITY
	// USING INDEX would accept (valid, immediate, not partial, no
	// expressions, NOT NULL columns), or "". It is read (since schema
	// version 2) for the tables whose remedy may use it: those without a
	// usable replica identity, or with filters or generated columns.
	IdentityCandidate string
	// IdentityCandidateColumns are IdentityCandidate's key columns.
	IdentityCandidateColumns []string
	PartitionOf              string // quoted root, for partitions of tables in scope
	Generated                []string
	// VirtualGenerated are the columns of Generated that are VIRTUAL (18+):
	// pgoutput never sends them, whatever publish_generated_columns says.
	VirtualGenerated []string
	// Filters are the row filters and column lists (15+) of every
	// publication, not only the connector's, that PostgreSQL checks against
	// this table's replica identity before an UPDATE or DELETE on it.
	Filters []PublicationFilter
}

// SetRare sets t's rare facts.
func (t *Table) SetRare(r RareFacts) {
	if r.IdentityColumns == nil && r.IdentityCandidate == "" && r.IdentityCandidateColumns == nil &&
		r.PartitionOf == "" && r.Generated == nil && r.VirtualGenerated == nil && r.Filters == nil {
		t.rare = nil
		return
	}
	t.rare = &r
}

// WithRare returns t with rare facts r, for literals:
// facts.Table{Quoted: "public.t_1", Kind: 'r'}.WithRare(facts.RareFacts{PartitionOf: "public.t"}).
func (t Table) WithRare(r RareFacts) Table {
	t.SetRare(r)
	return t
}

// Rare returns t's rare facts for changing them (t.Rare().Generated =
// cols), giving t a set of its own when it has none. A table copied from
// another shares the other's, as it shares the elements of slices.
func (t *Table) Rare() *RareFacts {
	if t.rare == nil {
		t.rare = &RareFacts{}
	}
	return t.rare
}

// rareFacts are t's rare facts for reading: the zero value when it has none.
func (t Table) rareFacts() RareFacts {
	if t.rare == nil {
		return RareFacts{}
	}
	return *t.rare
}

// IdentityColumns returns the key columns of the index the replica identity uses: see RareFacts.
func (t Table) IdentityColumns() []string {
	if t.rare == nil {
		return nil
	}
	return t.rare.IdentityColumns
}

// IdentityCandidate returns a unique index REPLICA IDENTITY USING INDEX would accept: see RareFacts.
func (t Table) IdentityCandidate() string {
	if t.rare == nil {
		return ""
	}
	return t.rare.IdentityCandidate
}

// IdentityCandidateColumns returns IdentityCandidate's key columns: see RareFacts.
func (t Table) IdentityCandidateColumns() []string {
	if t.rare == nil {
		return nil
	}
	return t.rare.IdentityCandidateColumns
}

// PartitionOf returns the quoted root of a partition: see RareFacts.
func (t Table) PartitionOf() string {
	if t.rare == nil {
		return ""
	}
	return t.rare.PartitionOf
}

// Generated returns the table's generated columns: see RareFacts.
func (t Table) Generated() []string {
	if t.rare == nil {
		return nil
	}
	return t.rare.Generated
}

// VirtualGenerated returns the generated columns that are VIRTUAL: see RareFacts.
func (t Table) VirtualGenerated() []string {
	if t.rare == nil {
		return nil
	}
	return t.rare.VirtualGenerated
}

// Filters returns the row filters and column lists checked against the replica identity: see RareFacts.
func (t Table) Filters() []PublicationFilter {
	if t.rare == nil {
		return nil
	}
	return t.rare.Filters
}

// tableJSON is Table's JSON form, field for field as Table was when it
// held every fact itself: snapshots stay readable both ways.
type tableJSON struct {
	Schema                   string              `json:"schema"`
	Name                     string              `json:"name"`
	Quoted                   string              `json:"quoted"`
	Kind                     string              `json:"kind"`
	Persistence              string              `json:"persistence"`
	ReplicaIdentity          string              `json:"replica_identity"`
	HasPrimaryKey            bool                `json:"has_primary_key"`
	PrimaryKeyDeferrable     bool                `json:"primary_key_deferrable,omitempty"`
	IdentityIndex            bool                `json:"identity_index"`
	IdentityColumns          []string            `json:"identity_columns,omitempty"`
	IdentityCandidate        string              `json:"identity_candidate,omitempty"`
	IdentityCandidateColumns []string            `json:"identity_candidate_columns,omitempty"`
	Owner                    string              `json:"owner"`
	OwnedByConnector         bool                `json:"owned_by_connector"`
	RLS                      bool                `json:"rls"`
	ForceRLS                 bool                `json:"force_rls"`
	RLSReadAll               bool                `json:"rls_read_all,omitempty"`
	PartitionOf              string              `json:"partition_of,omitempty"`
	Generated                []string            `json:"generated_columns,omitempty"`
	VirtualGenerated         []string            `json:"virtual_generated_columns,omitempty"`
	Select                   bool                `json:"select"`
	SchemaUsage              bool                `json:"schema_usage"`
	Captured                 bool                `json:"captured"`
	Published                bool                `json:"published"`
	RowFilter                bool                `json:"row_filter,omitempty"`
	ColumnList               bool                `json:"column_list,omitempty"`
	Filters                  []PublicationFilter `json:"publication_filters,omitempty"`
}

// MarshalJSON writes t as the flat object snapshots have always held.
func (t Table) MarshalJSON() ([]byte, error) {
	r := t.rareFacts()
	return json.Marshal(tableJSON{
		Schema: t.Schema, Name: t.Name, Quoted: t.Quoted, Kind: t.Kind.String(), Persistence: t.Persistence.String(),
		ReplicaIdentity: t.ReplicaIdentity.String(), HasPrimaryKey: t.HasPrimaryKey, PrimaryKeyDeferrable: t.PrimaryKeyDeferrable,
		IdentityIndex: t.IdentityIndex, IdentityColumns: r.IdentityColumns, IdentityCandidate: r.IdentityCandidate,
		IdentityCandidateColumns: r.IdentityCandidateColumns, Owner: t.Owner, OwnedByConnector: t.OwnedByConnector,
		RLS: t.RLS, ForceRLS: t.ForceRLS, RLSReadAll: t.RLSReadAll, PartitionOf: r.PartitionOf, Generated: r.Generated,
		VirtualGenerated: r.VirtualGenerated, Select: t.Select, SchemaUsage: t.SchemaUsage, Captured: t.Captured,
		Published: t.Published, RowFilter: t.RowFilter, ColumnList: t.ColumnList, Filters: r.Filters,
	})
}

// UnmarshalJSON reads what MarshalJSON writes.
func (t *Table) UnmarshalJSON(data []byte) error {
	var j tableJSON
	if err := json.Unmarshal(data, &j); err != nil {
		return err
	}
	kind, err := parseCode("kind", j.Kind)
	if err != nil {
		return err
	}
	persistence, err := parseCode("persistence", j.Persistence)
	if err != nil {
		return err
	}
	ident, err := parseCode("replica_identity", j.ReplicaIdentity)
	if err != nil {
		return err
	}
	*t = Table{
		Schema: j.Schema, Name: j.Name, Quoted: j.Quoted, Kind: kind, Persistence: persistence,
		ReplicaIdentity: ident, HasPrimaryKey: j.HasPrimaryKey, PrimaryKeyDeferrable: j.PrimaryKeyDeferrable,
		IdentityIndex: j.IdentityIndex, Owner: j.Owner, OwnedByConnector: j.OwnedByConnector,
		RLS: j.RLS, ForceRLS: j.ForceRLS, RLSReadAll: j.RLSReadAll, Select: j.Select, SchemaUsage: j.SchemaUsage,
		Captured: j.Captured, Published: j.Published, RowFilter: j.RowFilter, ColumnList: j.ColumnList,
	}
	t.SetRare(RareFacts{
		IdentityColumns: j.IdentityColumns, IdentityCandidate: j.IdentityCandidate,
		IdentityCandidateColumns: j.IdentityCandidateColumns, PartitionOf: j.PartitionOf,
		Generated: j.Generated, VirtualGenerated: j.VirtualGenerated, Filters: j.Filters,
	})
	return nil
}

// PublicationFilter is one publication's row filter or column list that
// applies to a table: the table's own pg_publication_rel entry or, for a
// partition in a publication with publish_via_partition_root, that of the
// topmost ancestor the publication names (PostgreSQL then checks the
// ancestor's filter against the partition's replica identity, matching
// columns by name).
type PublicationFilter struct {
	Publication string `json:"publication"` // as stored, unquoted
	Table       string `json:"table"`       // quoted: the table the entry names
	Update      bool   `json:"update"`      // the publication publishes updates
	Delete      bool   `json:"delete"`      // …and deletes
	Where       string `json:"where,omitempty"`
	// WhereColumns are the columns the row filter reads, as named in Table.
	WhereColumns []string `json:"where_columns,omitempty"`
	// Columns is the column list, as named in Table; empty when there is none.
	Columns []string `json:"columns,omitempty"`
}

// IsOrdinary reports whether t is an ordinary table (relkind r), where rows
// live and DML runs: a partition is one, a partitioned table is not.
func (t Table) IsOrdinary() bool { return t.Kind == 'r' }

// IsPartitioned reports whether t is a partitioned table (relkind p), which
// holds no rows itself: its partitions do.
func (t Table) IsPartitioned() bool { return t.Kind == 'p' }

// IsTable reports whether t is a table, ordinary or partitioned: views,
// materialized views and foreign tables have no changes in the WAL, so no
// publication can hold them and the connector cannot capture them.
func (t Table) IsTable() bool { return t.IsOrdinary() || t.IsPartitioned() }

// Unlogged reports whether t is UNLOGGED: it writes nothing to the WAL, so
// decoding never sees its changes.
func (t Table) Unlogged() bool { return t.Persistence == 'u' }

// Publishable reports whether t can be in a publication: only permanent
// (neither unlogged nor temporary) tables can. Adding anything else fails
// (SQLSTATE 22023), FOR ALL TABLES skips it, and the replica identity rules
// do not apply to it, since its UPDATE and DELETE are never published.
func (t Table) Publishable() bool { return t.IsTable() && t.Persistence == 'p' }

// UsableIdentity reports whether UPDATE and DELETE can be published.
func (t Table) UsableIdentity() bool {
	switch t.ReplicaIdentity {
	case 'f':
		return true
	case 'i':
		return t.IdentityIndex
	case 'd':
		return t.HasPrimaryKey && !t.PrimaryKeyDeferrable
	}
	return false
}

// Publication is the connector's publication.
type Publication struct {
	Name      string `json:"name"`
	Exists    bool   `json:"exists"`
	Owner     string `json:"owner,omitempty"`
	AllTables bool   `json:"all_tables"`
	Insert    bool   `json:"insert"`
	Update    bool   `json:"update"`
	Delete    bool   `json:"delete"`
	Truncate  *bool  `json:"truncate,omitempty"` // 11+
	ViaRoot   *bool  `json:"via_root,omitempty"` // 13+: publish_via_partition_root
	// GeneratedColumns is publish_generated_columns on 18+ ("none" or "stored").
	GeneratedColumns string   `json:"generated_columns,omitempty"`
	Schemas          []string `json:"schemas,omitempty"` // 15+: FOR TABLES IN SCHEMA, quoted
	TableCount       int      `json:"table_count"`       // rows in pg_publication_tables
	// Members are the tables added to the publication by name
	// (pg_publication_rel): ALTER PUBLICATION … SET TABLE replaces them
	// all, so a remedy that uses it must repeat every one.
	Members []PublicationMember `json:"members,omitempty"`
	Err     *Error              `json:"error,omitempty"`
}

// PublicationMember is one table added to a publication by name.
type PublicationMember struct {
	Table   string   `json:"table"`             // quoted schema.name
	Where   string   `json:"where,omitempty"`   // 15+: the row filter, as pg_get_expr prints it
	Columns []string `json:"columns,omitempty"` // 15+: the column list, quoted
}

// Slots are every replication slot of the cluster.
type Slots struct {
	Slots      []Slot `json:"slots"`
	CurrentLSN string `json:"current_lsn,omitempty"`
	Err        *Error `json:"error,omitempty"`
}

// Find returns the slot named name.
func (s Slots) Find(name string) (Slot, bool) {
	for _, sl := range s.Slots {
		if sl.Name == name {
			return sl, true
		}
	}
	return Slot{}, false
}

// Slot is a pg_replication_slots row; pointer fields are nil on versions
// that lack the column.
type Slot struct {
	Name              string `json:"name"`
	Plugin            string `json:"plugin,omitempty"`
	Type              string `json:"type"` // logical or physical
	Database          string `json:"database,omitempty"`
	InCurrentDatabase bool   `json:"in_current_database"`
	Temporary         bool   `json:"temporary"`
	Active            bool   `json:"active"`
	ActivePID         int    `json:"active_pid,omitempty"`
	RestartLSN        string `json:"restart_lsn,omitempty"`
	ConfirmedFlushLSN string `json:"confirmed_flush_lsn,omitempty"`
	// RetainedBytes is WAL kept for the slot: current LSN − restart_lsn.
	RetainedBytes *int64 `json:"retained_bytes,omitempty"`
	// LagBytes is WAL not yet confirmed: current LSN − confirmed_flush_lsn.
	LagBytes           *int64     `json:"lag_bytes,omitempty"`
	WalStatus          string     `json:"wal_status,omitempty"`    // 13+
	SafeWalSize        *int64     `json:"safe_wal_size,omitempty"` // 13+
	TwoPhase           *bool      `json:"two_phase,omitempty"`     // 14+
	Conflicting        *bool      `json:"conflicting,omitempty"`   // 16+
	InvalidationReason string     `json:"invalidation_reason,omitempty"`
	InactiveSince      *time.Time `json:"inactive_since,omitempty"` // 17+
	Failover           *bool      `json:"failover,omitempty"`       // 17+
}

// Logical reports whether s is a logical slot (not a physical one): only a
// logical slot can be decoded.
func (s Slot) Logical() bool { return s.Type == "logical" }

// Pgoutput reports whether s is a logical slot for the pgoutput plugin,
// the one Streamkap (Debezium with plugin.name = pgoutput) decodes with;
// output of another plugin is unreadable to it.
func (s Slot) Pgoutput() bool { return s.Logical() && s.Plugin == "pgoutput" }

// Invalidated reports whether s can no longer be decoded, whatever the
// version says it with: wal_status lost (13+), conflicting (16+, catalog
// rows removed) or any invalidation_reason (17+). Decoding it fails with
// SQLSTATE 55000 "can no longer get changes"; it cannot be repaired.
func (s Slot) Invalidated() bool {
	return s.WalStatus == "lost" || s.InvalidationReason != "" || (s.Conflicting != nil && *s.Conflicting)
}

// Names of the helper tables Streamkap recognises, each in the schema the
// options name; it ignores tables of any other name.
const (
	SignalTableName    = "streamkap_signal"
	HeartbeatTableName = "streamkap_heartbeat"
)

// HelperTable is the signal or heartbeat table the connector writes to.
type HelperTable struct {
	Schema       string   `json:"schema"`
	Name         string   `json:"name"`
	Quoted       string   `json:"quoted"`
	SchemaExists bool     `json:"schema_exists"`
	Exists       bool     `json:"exists"`
	Kind         string   `json:"kind,omitempty"`
	Columns      []Column `json:"columns,omitempty"`
	PrimaryKey   []string `json:"primary_key,omitempty"`
	SchemaUsage  bool     `json:"schema_usage"`
	Select       bool     `json:"select"`
	Insert       bool     `json:"insert"`
	Update       bool     `json:"update"`
	Published    bool     `json:"published"`
	Err          *Error   `json:"error,omitempty"`
}

// IsTable reports whether h is an ordinary or partitioned table, which a
// publication can hold and the connector can write to; a view or the like
// named in a publication makes the whole statement fail. An empty kind
// (what gather writes for a table that does not exist, or a hand-written
// snapshot without one) counts as a table.
func (h HelperTable) IsTable() bool { return h.Kind == "" || h.Kind == "r" || h.Kind == "p" }

// Column is one column of a helper table.
type Column struct {
	Name    string `json:"name"`
	Type    string `json:"type"` // format_type: "character varying(255)"
	NotNull bool   `json:"not_null"`
}

// SlotPeek is the bounded peek at the connector's slot. SkipReason says
// why it was not attempted: peeking must never get in the connector's way.
type SlotPeek struct {
	Probe
	SkipReason string   `json:"skip_reason,omitempty"`
	Changes    int      `json:"changes"`
	Notices    []string `json:"notices,omitempty"` // server WARNINGs during the peek (PG 18: missing publication)
}
