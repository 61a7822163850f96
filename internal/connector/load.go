package connector

import (
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/cdcpreflight/cdcpreflight/facts"
)

// Options say how to read a configuration.
type Options struct {
	// DebeziumVersion picks version-specific behaviour ("" is
	// DefaultVersion).
	DebeziumVersion string
}

// Setting is one effective value: from the file, or the default.
type Setting struct {
	Value
	Default bool // the file does not set it
}

// Loaded is a configuration with its defaults applied, as the rules and
// the connection need it.
type Loaded struct {
	Config  *Config
	Version Version
	// Connector goes into facts.Options.Connector.
	Connector *facts.Connector
	// The names the rules judge (facts.Options), from the file or the
	// flavour's defaults.
	Slot, Publication Setting
	SignalSchema      string
	SignalTable       string
	SnapshotMode      string // facts.SnapshotAuto, …
	HeartbeatSchema   string
	// Conn is the connection the connector makes.
	Conn Connection
	// SSH is the Streamkap source's tunnel (Enabled false without one).
	SSH SSHTarget
}

// Connection is what the connector connects with. The password is never
// read from the file: PasswordInFile only says the connector logs in with
// one.
type Connection struct {
	Params         []ConnParam
	PasswordInFile bool
}

// ConnParam is one libpq connection parameter from the file.
type ConnParam struct {
	Keyword string // host, port, dbname, user, sslmode, sslrootcert
	Setting
}

// Get returns the parameter for a libpq keyword.
func (c Connection) Get(keyword string) (ConnParam, bool) {
	for _, p := range c.Params {
		if p.Keyword == keyword {
			return p, true
		}
	}
	return ConnParam{}, false
}

// SSHTarget is the bastion a Streamkap source tunnels through, with the
// provider's defaults (port 22, user streamkap). Values that are
// references are reported as unresolved, never guessed.
type SSHTarget struct {
	Enabled bool
	Host    Setting
	Port    Setting
	User    Setting
}

// Load reads the configuration at path and applies its defaults. The
// error is a *FileError for a file that cannot be read as one, or an
// error about the options.
func Load(path string, opt Options) (*Loaded, error) {
	v, err := ParseVersion(opt.DebeziumVersion)
	if err != nil {
		return nil, err
	}
	c, err := ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Resolve(c, v), nil
}

// Resolve applies a configuration's defaults for version v.
func Resolve(c *Config, v Version) *Loaded {
	l := &Loaded{Config: c, Version: v}
	fc := &facts.Connector{File: c.Path, Format: c.Format, Flavour: c.Flavour, Version: v.String(), Name: c.Name}
	l.Connector = fc
	if c.Flavour == facts.FlavourStreamkap {
		l.streamkap()
	} else {
		l.debezium()
	}
	l.connection()
	for _, k := range c.keys() {
		if p := c.Props[k]; p.Unresolved && !p.Secret && governed(k) {
			fc.Unresolved = append(fc.Unresolved, k)
		}
	}
	return l
}

// governed are the properties whose values change what cdcpreflight
// judges: an unresolved one leaves something unjudged.
func governed(prop string) bool {
	switch prop {
	case "slot.name", "publication.name", "plugin.name", "publication.autocreate.mode", "snapshot.mode",
		"signal.data.collection", "signal.enabled.channels", "heartbeat.action.query", "heartbeat.interval.ms",
		"replica.identity.autoset.values", "topic.prefix", "topic.delimiter", "read.only",
		"snapshot.mode.configuration.based.snapshot.data", "snapshot.mode.configuration.based.start.stream",
		PropSchemaInclude, PropSchemaExclude, PropTableInclude, PropTableExclude, PropColumnInclude, PropColumnExclude,
		"table.ignore.builtin", skSignal, skHeartbeat, skHeartbeatTable, skRegexMerge:
		return true
	}
	return false
}

// setting is a property's effective value: the file's, else def.
func (l *Loaded) setting(prop, def string) Setting {
	if v, ok := l.Config.get(prop); ok {
		return Setting{Value: v}
	}
	return Setting{Value: Value{Key: prop, Text: def}, Default: true}
}

// text is a resolved property's text (trimmed), or def.
func (l *Loaded) text(prop, def string) string {
	s := l.setting(prop, def)
	if s.Unresolved {
		return ""
	}
	return strings.TrimSpace(s.Text)
}

// enum is an enumerated property, normalised as Debezium's parser reads
// it (trimmed, any case).
func (l *Loaded) enum(prop, def string) string { return strings.ToLower(l.text(prop, def)) }

func (l *Loaded) boolean(prop string, def bool) bool {
	b, err := strconv.ParseBool(l.text(prop, strconv.FormatBool(def)))
	if err != nil {
		return def
	}
	return b
}

// Debezium's defaults.
const (
	DefaultSlot        = "debezium"
	DefaultPublication = "dbz_publication"
	DefaultPlugin      = "decoderbufs"
)

func (l *Loaded) debezium() {
	fc, v := l.Connector, l.Version
	l.Slot = l.setting("slot.name", DefaultSlot)
	l.Publication = l.setting("publication.name", DefaultPublication)
	fc.Plugin = l.enum("plugin.name", DefaultPlugin)
	_, set := l.Config.get("plugin.name")
	fc.PluginDefaulted = !set
	fc.AutocreateMode = l.enum("publication.autocreate.mode", "all_tables")
	fc.SnapshotMode = l.enum("snapshot.mode", "initial")
	fc.ConfigSnapshotData = l.boolean("snapshot.mode.configuration.based.snapshot.data", false)
	fc.ConfigStream = l.boolean("snapshot.mode.configuration.based.start.stream", false)
	if !v.Before(2, 7) {
		fc.ReadOnly = l.boolean("read.only", false)
	}
	if !v.Before(3, 2) {
		fc.PublishViaRoot = l.boolean("publish.via.partition.root", false)
	}
	fc.Filters = facts.ConnectorFilters{
		SchemaInclude: l.text(PropSchemaInclude, ""), SchemaExclude: l.text(PropSchemaExclude, ""),
		TableInclude: l.text(PropTableInclude, ""), TableExclude: l.text(PropTableExclude, ""),
		ColumnInclude: l.text(PropColumnInclude, ""), ColumnExclude: l.text(PropColumnExclude, ""),
		KeepBuiltin: !l.boolean("table.ignore.builtin", true),
	}
	fc.SignalCollection = l.text("signal.data.collection", "")
	channels := "source"
	if v.Before(2, 3) {
		channels = "source" // 2.2 and before: the table is the only channel
	}
	for _, ch := range strings.Split(l.text("signal.enabled.channels", channels), ",") {
		if ch = strings.TrimSpace(ch); ch != "" {
			fc.SignalChannels = append(fc.SignalChannels, ch)
		}
	}
	fc.Watermarking = l.enum("incremental.snapshot.watermarking.strategy", "insert_insert")
	if ms, err := strconv.ParseInt(l.text("heartbeat.interval.ms", "0"), 10, 64); err == nil {
		fc.HeartbeatIntervalMS = ms
	}
	fc.HeartbeatQuery = l.text("heartbeat.action.query", "")
	if !v.Before(2, 3) {
		fc.ReplicaIdentityAutoset = l.text("replica.identity.autoset.values", "")
	}
	fc.TopicPrefix = l.text("topic.prefix", "")
	fc.TopicDelimiter = l.text("topic.delimiter", ".")
	if s := l.text("topic.naming.strategy", ""); s != "" && s != "io.debezium.schema.SchemaTopicNamingStrategy" {
		fc.TopicNaming = s
	}
	// The signal table the rules judge: signal.data.collection's. Without
	// one the connector writes no signal table, and the signal rules skip.
	l.SnapshotMode = facts.SnapshotAuto
	if id, ok := ParseTableID(fc.SignalCollection); ok && fc.SignalCollection != "" {
		l.SignalSchema, l.SignalTable = id.Schema, id.Table
		if id.Schema == "" {
			l.SignalSchema = "public"
		}
		l.SnapshotMode = facts.SnapshotSignalTable
	}
	if fc.ReadOnly {
		l.SnapshotMode = facts.SnapshotReadOnly
	}
	fc.Problems = validateDebezium(l)
}

// Streamkap's defaults, from its Terraform provider (v2.2.0) and guides.
const (
	StreamkapSlot        = "streamkap_pgoutput_slot"
	StreamkapPublication = "streamkap_pub"
	// StreamkapSignalSchema is the provider's default for
	// signal_data_collection_schema_or_database.
	StreamkapSignalSchema = "public"
)

func (l *Loaded) streamkap() {
	fc := l.Connector
	l.Slot = l.setting("slot.name", StreamkapSlot)
	l.Publication = l.setting("publication.name", StreamkapPublication)
	fc.Plugin = "pgoutput" // Streamkap's connector is pgoutput-based; no setting changes it
	readOnly := l.setting("read.only", "Yes")
	fc.ReadOnly = !readOnly.Unresolved && !strings.EqualFold(strings.TrimSpace(readOnly.Text), "No")
	fc.Filters = facts.ConnectorFilters{
		SchemaInclude: l.text(PropSchemaInclude, ""), TableInclude: l.text(PropTableInclude, ""),
		ColumnInclude: l.text(PropColumnInclude, ""), ColumnExclude: l.text(PropColumnExclude, ""),
	}
	if l.text(skColumnToggle, "") == "false" && fc.Filters.ColumnExclude == "" {
		fc.Filters.ColumnExclude, fc.Filters.ColumnInclude = fc.Filters.ColumnInclude, ""
	}
	fc.MergedTopics = l.boolean(skRegexMerge, false)
	// The signal table: the setting names a schema (older providers) or
	// schema.table (2026-04 on); the table must be streamkap_signal.
	l.SignalSchema, l.SignalTable = StreamkapSignalSchema, facts.SignalTableName
	if sig := l.text(skSignal, ""); sig != "" {
		if id, ok := ParseTableID(sig); ok && id.Parts >= 2 {
			l.SignalSchema, l.SignalTable = id.Schema, id.Table
		} else {
			l.SignalSchema = sig
		}
	}
	fc.SignalCollection = l.SignalSchema + "." + l.SignalTable
	l.SnapshotMode = facts.SnapshotSignalTable
	if fc.ReadOnly {
		l.SnapshotMode = facts.SnapshotReadOnly
	}
	if l.boolean(skHeartbeat, false) && !l.boolean(skHeartbeatMsg, false) {
		if hb := l.text(skHeartbeatTable, ""); hb != "" {
			if id, ok := ParseTableID(hb); ok && id.Parts >= 2 {
				l.HeartbeatSchema = id.Schema
			} else {
				l.HeartbeatSchema = hb
			}
		}
	}
	l.SSH = SSHTarget{
		Enabled: l.Config.SSH.Enabled,
		Host:    l.setting(skSSHHost, ""),
		Port:    l.setting(skSSHPort, "22"),
		User:    l.setting(skSSHUser, "streamkap"),
	}
	fc.Problems = validateStreamkap(l)
}

// connection maps the file's connection settings to libpq parameters.
func (l *Loaded) connection() {
	sslDefault := "prefer"
	switch {
	case l.Config.Flavour == facts.FlavourStreamkap:
		sslDefault = "require"
	case l.Version.Before(2, 3):
		sslDefault = "disable"
	}
	for _, m := range []struct{ keyword, prop, def string }{
		{"host", "database.hostname", ""}, {"port", "database.port", "5432"}, {"dbname", "database.dbname", ""},
		{"user", "database.user", ""}, {"sslmode", "database.sslmode", sslDefault},
	} {
		s := l.setting(m.prop, m.def)
		if s.Default && m.def == "" {
			continue
		}
		if m.keyword == "sslmode" {
			s.Text = strings.ToLower(strings.TrimSpace(s.Text))
		}
		l.Conn.Params = append(l.Conn.Params, ConnParam{Keyword: m.keyword, Setting: s})
	}
	// Certificate paths are the Connect worker's: used only when the same
	// file is readable here.
	if v, ok := l.Config.get("database.sslrootcert"); ok && !v.Unresolved {
		if _, err := os.Stat(v.Text); err == nil {
			l.Conn.Params = append(l.Conn.Params, ConnParam{Keyword: "sslrootcert", Setting: Setting{Value: v}})
		} else {
			l.Config.Notes = append(l.Config.Notes, fmt.Sprintf("database.sslrootcert (line %d) names a file that is not readable here: "+
				"the server's certificate is not verified against it", v.Line))
		}
	}
	if _, ok := l.Config.get("database.password"); ok {
		l.Conn.PasswordInFile = true
	}
}

// Expect is the configuration's expectations as the rules take them: the
// names, the snapshot mode, and the configuration itself. The capture scope
// is its filters', which gathering resolves against the database.
func (l *Loaded) Expect() facts.Options {
	return facts.Options{
		Slot: strings.TrimSpace(l.Slot.Text), Publication: strings.TrimSpace(l.Publication.Text),
		SignalSchema: l.SignalSchema, SignalTable: l.SignalTable, SnapshotMode: l.SnapshotMode,
		HeartbeatSchema: l.HeartbeatSchema, Connector: l.Connector,
	}
}
