package facts

import "slices"

// Connector is what a connector's own configuration (--connector-config)
// says the connector will do, its flavour's and version's defaults applied:
// the rules that judge what Debezium does at start read it. Options holds
// it; nil when no connector configuration was given, and the rules that
// need it skip. It never holds a password or any other secret.
type Connector struct {
	File    string `json:"file"`
	Format  string `json:"format"`  // kafka-connect, json, properties, strimzi, debezium-server, terraform, streamkap-api
	Flavour string `json:"flavour"` // debezium or streamkap
	// Version is the Debezium version whose behaviour is assumed
	// (--debezium-version), as major.minor.
	Version string `json:"debezium_version"`
	Name    string `json:"name,omitempty"`

	// Plugin is plugin.name; PluginDefaulted when the file does not set it
	// and Debezium's default, decoderbufs, applies.
	Plugin          string `json:"plugin"`
	PluginDefaulted bool   `json:"plugin_defaulted,omitempty"`
	// AutocreateMode is publication.autocreate.mode (disabled, all_tables,
	// filtered, no_tables); "" where the flavour has no such setting
	// (Streamkap's has you create the publication).
	AutocreateMode string `json:"publication_autocreate_mode,omitempty"`
	// SnapshotMode is Debezium's snapshot.mode; "" for Streamkap, whose
	// snapshots are incremental ones the user triggers.
	SnapshotMode string `json:"snapshot_mode,omitempty"`
	// ConfigSnapshotData and ConfigStream are
	// snapshot.mode.configuration.based.snapshot.data and …start.stream,
	// which decide for snapshot.mode=configuration_based.
	ConfigSnapshotData bool `json:"configuration_based_snapshot_data,omitempty"`
	ConfigStream       bool `json:"configuration_based_start_stream,omitempty"`
	ReadOnly           bool `json:"read_only,omitempty"` // read.only (Streamkap: snapshot_read_only Yes)
	PublishViaRoot     bool `json:"publish_via_partition_root,omitempty"`

	Filters ConnectorFilters `json:"filters"`

	// SignalCollection is signal.data.collection as written; "" when
	// signalling through a table is off.
	SignalCollection string `json:"signal_data_collection,omitempty"`
	// SignalChannels is signal.enabled.channels.
	SignalChannels []string `json:"signal_channels,omitempty"`
	// Watermarking is incremental.snapshot.watermarking.strategy:
	// insert_insert writes the signal table with INSERT, insert_delete
	// with INSERT and DELETE.
	Watermarking string `json:"watermarking,omitempty"`

	HeartbeatIntervalMS int64  `json:"heartbeat_interval_ms,omitempty"`
	HeartbeatQuery      string `json:"heartbeat_action_query,omitempty"`

	// ReplicaIdentityAutoset is replica.identity.autoset.values as written.
	ReplicaIdentityAutoset string `json:"replica_identity_autoset_values,omitempty"`

	TopicPrefix    string `json:"topic_prefix,omitempty"`
	TopicDelimiter string `json:"topic_delimiter,omitempty"`
	// TopicNaming is topic.naming.strategy when it is not Debezium's
	// default (SchemaTopicNamingStrategy), whose names cdcpreflight cannot
	// compute.
	TopicNaming string `json:"topic_naming_strategy,omitempty"`
	// MergedTopics: Streamkap's source regex support routes many tables to
	// one topic on purpose.
	MergedTopics bool `json:"merged_topics,omitempty"`

	// Problems are what Debezium's configuration validation rejects, and
	// settings it ignores, found in the file without connecting.
	Problems []ConnectorProblem `json:"problems,omitempty"`
	// TablesOverridden: --tables or --tables-file gave the capture scope,
	// overriding the configuration's filters.
	TablesOverridden bool `json:"tables_overridden,omitempty"`
	// Unresolved are the properties whose values are references
	// (${provider:…}, Terraform variables and expressions) that
	// cdcpreflight does not resolve: the rules that need them cannot judge.
	Unresolved []string `json:"unresolved,omitempty"`
}

// ConnectorFilters are the connector's capture lists, as written: Java
// regular expressions separated by unescaped commas.
type ConnectorFilters struct {
	SchemaInclude string `json:"schema_include,omitempty"`
	SchemaExclude string `json:"schema_exclude,omitempty"`
	TableInclude  string `json:"table_include,omitempty"`
	TableExclude  string `json:"table_exclude,omitempty"`
	ColumnInclude string `json:"column_include,omitempty"`
	ColumnExclude string `json:"column_exclude,omitempty"`
	// KeepBuiltin is table.ignore.builtin=false: system tables are not
	// dropped from the scope.
	KeepBuiltin bool `json:"keep_builtin,omitempty"`
}

// ConnectorProblem is one thing wrong with the configuration itself.
type ConnectorProblem struct {
	Property string `json:"property"`
	Line     int    `json:"line,omitempty"`
	Message  string `json:"message"`
	// Rejected: Debezium's configuration validation refuses the
	// configuration (the connector is never created). Otherwise it is a
	// setting Debezium ignores or a risk it only logs.
	Rejected bool `json:"rejected"`
}

// Flavours of connector configuration.
const (
	FlavourDebezium  = "debezium"
	FlavourStreamkap = "streamkap"
)

// Streams reports whether the connector streams changes, which is what
// needs the slot, the publication and wal_level = logical: every
// snapshot.mode but initial_only, and configuration_based without
// start.stream, does.
func (c *Connector) Streams() bool {
	if c == nil {
		return true
	}
	switch c.SnapshotMode {
	case "initial_only":
		return false
	case "configuration_based":
		return c.ConfigStream
	}
	return true
}

// Snapshots reports whether the connector takes an initial data snapshot,
// which reads every captured table: no_data and never do not, nor
// configuration_based without snapshot.data.
func (c *Connector) Snapshots() bool {
	if c == nil {
		return true
	}
	switch c.SnapshotMode {
	case "no_data", "never":
		return false
	case "configuration_based":
		return c.ConfigSnapshotData
	case "":
		// Streamkap starts streaming and snapshots only on request.
		return c.Flavour != FlavourStreamkap
	}
	return true
}

// IsUnresolved reports whether property p's value is a reference that
// was not resolved.
func (c *Connector) IsUnresolved(p string) bool {
	return c != nil && slices.Contains(c.Unresolved, p)
}

// CaptureScope is the capture scope a connector configuration's filters
// select, worked out from every table the connector could capture, in one
// pass: Options.Tables then lists the captured tables by name.
type CaptureScope struct {
	// Resolved: the scope was computed from filters (a connector
	// configuration); false with --tables or the default scope.
	Resolved bool `json:"resolved"`
	// Candidates is the number of tables the filters were applied to.
	Candidates int `json:"candidates"`
	Captured   int `json:"captured"`
	// NotCaptured are the tables (quoted) the filters leave out.
	NotCaptured []string `json:"not_captured,omitempty"`
	// Patterns are the filter patterns with whether each matched anything.
	Patterns []ScopePattern `json:"patterns,omitempty"`
	// SignalAdded: the signal table is captured only because Debezium adds
	// it to the filters.
	SignalAdded string `json:"signal_added,omitempty"`
	Err         *Error `json:"error,omitempty"`
}

// ScopePattern is one pattern of a filter list and whether it matched.
type ScopePattern struct {
	List    string `json:"list"` // the property: table.include.list, …
	Pattern string `json:"pattern"`
	Matched bool   `json:"matched"`
}

// ConnectorDatabase is what the database says about what a connector
// configuration names and does at start, beyond the other sections.
type ConnectorDatabase struct {
	// DatabaseCreate: the connector role has CREATE on the database,
	// which CREATE PUBLICATION needs.
	DatabaseCreate bool `json:"database_create"`
	// Plugin is what the server shows about the connector's output plugin.
	Plugin OutputPlugin `json:"plugin"`
	// SignalCaseVariants are tables (quoted) whose names differ from the
	// signal collection's only in letter case.
	SignalCaseVariants []string `json:"signal_case_variants,omitempty"`
	// SignalDelete: the connector may DELETE from the signal table, which
	// incremental.snapshot.watermarking.strategy=insert_delete needs.
	SignalDelete bool `json:"signal_delete,omitempty"`
	// Heartbeat is the table heartbeat.action.query writes, when the query
	// names one: Name as written in the query; Exists and the rest as the
	// server resolves it in the connector's search_path.
	Heartbeat HeartbeatTarget `json:"heartbeat_target"`
	Err       *Error          `json:"error,omitempty"`
}

// OutputPlugin is the evidence that a logical decoding output plugin is
// installed, gathered without writing: no slot is created to find out.
type OutputPlugin struct {
	Name string `json:"name"`
	// Builtin: pgoutput (10+) and test_decoding ship with PostgreSQL.
	Builtin bool `json:"builtin,omitempty"`
	// Extension: its extension control file is installed (decoderbufs
	// ships one with its library), as pg_available_extensions would list it.
	Extension bool `json:"extension,omitempty"`
	// ExtensionUnknown says why the control file could not be looked for.
	ExtensionUnknown string `json:"extension_unknown,omitempty"`
	// Preloaded: shared_preload_libraries names it (when the session may
	// read that setting).
	Preloaded bool `json:"preloaded,omitempty"`
	// UsedBySlot: a logical slot already decodes with it.
	UsedBySlot bool `json:"used_by_slot,omitempty"`
	// LibraryChecked: the session may read the library directory
	// (superuser), and LibraryFound says whether the library is there.
	LibraryChecked bool `json:"library_checked,omitempty"`
	LibraryFound   bool `json:"library_found,omitempty"`
}

// Installed reports whether the server shows the plugin: ok is false when
// nothing says either way (an ordinary role cannot look at the library
// directory).
func (p OutputPlugin) Installed() (installed, ok bool) {
	switch {
	case p.Builtin || p.Extension || p.Preloaded || p.UsedBySlot || p.LibraryFound:
		return true, true
	case p.LibraryChecked:
		return false, true
	}
	return false, false
}

// HeartbeatTarget is the table a heartbeat action query writes.
type HeartbeatTarget struct {
	Name   string `json:"name,omitempty"` // as written in the query
	Verb   string `json:"verb,omitempty"` // INSERT, UPDATE, DELETE
	Exists bool   `json:"exists"`
	Quoted string `json:"quoted,omitempty"` // as resolved
	Kind   string `json:"kind,omitempty"`
	Insert bool   `json:"insert"`
	Update bool   `json:"update"`
	Delete bool   `json:"delete"`
	// SchemaUsage: the connector may use the table's schema.
	SchemaUsage bool `json:"schema_usage"`
	Published   bool `json:"published"`
}
