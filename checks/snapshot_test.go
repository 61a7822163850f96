package checks

import (
	"github.com/cdcpreflight/cdcpreflight/facts"
	"github.com/cdcpreflight/cdcpreflight/rules"
)

func snapMode(mode string) func(*facts.Facts) {
	return func(f *facts.Facts) { f.Options.SnapshotMode = mode }
}

func snapNoSignal(f *facts.Facts) {
	f.SignalTable = facts.HelperTable{Schema: "streamkap", Name: "streamkap_signal", Quoted: "streamkap.streamkap_signal", SchemaExists: true}
}

func snapColumn(i int, c facts.Column) func(*facts.Facts) {
	return func(f *facts.Facts) { f.SignalTable.Columns[i] = c }
}

// snapHeartbeat configures a heartbeat schema whose table is correct.
func snapHeartbeat(f *facts.Facts) {
	f.Options.HeartbeatSchema = "streamkap"
	f.Heartbeat = facts.HelperTable{Schema: "streamkap", Name: "streamkap_heartbeat", Quoted: "streamkap.streamkap_heartbeat",
		SchemaExists: true, Exists: true, Kind: "r", PrimaryKey: []string{"id"},
		SchemaUsage: true, Select: true, Insert: true, Update: true, Published: true}
}

const signalAlter = "ALTER TABLE streamkap.streamkap_signal "

var snapshotCases = []ruleCase{
	{name: "guide shape", rule: "signal-table", want: rules.StatusPass, contains: "has the expected shape"},
	{name: "wider data column", rule: "signal-table", want: rules.StatusPass, contains: "data is text, wider",
		mutate: snapColumn(2, facts.Column{Name: "data", Type: "text"})},
	{name: "narrow type column", rule: "signal-table", want: rules.StatusFail, objects: []string{"streamkap.streamkap_signal"},
		contains: "column type is character varying(16), expected character varying(32)",
		mutate:   snapColumn(1, facts.Column{Name: "type", Type: "character varying(16)", NotNull: true})},
	{name: "narrow type column fix", rule: "signal-table", want: rules.StatusFail,
		contains: signalAlter + "ALTER COLUMN type TYPE varchar(32);",
		mutate:   snapColumn(1, facts.Column{Name: "type", Type: "character varying(16)", NotNull: true})},
	{name: "integer id", rule: "signal-table", want: rules.StatusFail, contains: "column id is integer, expected character varying(255)",
		mutate: snapColumn(0, facts.Column{Name: "id", Type: "integer", NotNull: true})},
	{name: "nullable type", rule: "signal-table", want: rules.StatusFail, contains: signalAlter + "ALTER COLUMN type SET NOT NULL;",
		mutate: snapColumn(1, facts.Column{Name: "type", Type: "character varying(32)"})},
	{name: "data not null", rule: "signal-table", want: rules.StatusFail, contains: signalAlter + "ALTER COLUMN data DROP NOT NULL;",
		mutate: snapColumn(2, facts.Column{Name: "data", Type: "character varying(2000)", NotNull: true})},
	{name: "renamed column", rule: "signal-table", want: rules.StatusFail, contains: `RENAME COLUMN "Kind" TO type;`,
		mutate: snapColumn(1, facts.Column{Name: "Kind", Type: "character varying(32)", NotNull: true})},
	{name: "no primary key", rule: "signal-table", want: rules.StatusFail, contains: signalAlter + "ADD PRIMARY KEY (id);",
		mutate: func(f *facts.Facts) { f.SignalTable.PrimaryKey = nil }},
	{name: "missing column", rule: "signal-table", want: rules.StatusFail, contains: "column data is missing",
		mutate: func(f *facts.Facts) { f.SignalTable.Columns = f.SignalTable.Columns[:2] }},
	{name: "extra column", rule: "signal-table", want: rules.StatusFail, contains: "unexpected column created_at",
		mutate: func(f *facts.Facts) {
			f.SignalTable.Columns = append(f.SignalTable.Columns, facts.Column{Name: "created_at", Type: "timestamp with time zone"})
		}},
	{name: "a view", rule: "signal-table", want: rules.StatusFail, contains: "is a view, not a table",
		mutate: func(f *facts.Facts) { f.SignalTable.Kind = "v" }},
	{name: "missing in auto mode", rule: "signal-table", want: rules.StatusWarn, objects: []string{"streamkap.streamkap_signal"},
		contains: "snapshots need Read only = Yes in the connector (PostgreSQL 13+) or this table", mutate: snapNoSignal},
	{name: "missing in auto mode below 13", rule: "signal-table", want: rules.StatusFail, contains: "PostgreSQL 12 cannot do read-only snapshots",
		mutate: func(f *facts.Facts) { snapNoSignal(f); tbVersion(120022)(f) }},
	{name: "missing in signal-table mode", rule: "signal-table", want: rules.StatusFail,
		contains: "CREATE TABLE streamkap.streamkap_signal (id varchar(255) PRIMARY KEY, type varchar(32) NOT NULL, data varchar(2000) NULL);",
		mutate:   func(f *facts.Facts) { snapNoSignal(f); snapMode("signal-table")(f) }},
	{name: "missing with hostile names", rule: "signal-table", want: rules.StatusWarn,
		objects:  []string{`"Sig ""nal".streamkap_signal`},
		contains: `GRANT SELECT, INSERT, UPDATE ON TABLE "Sig ""nal".streamkap_signal TO "Robert'); DROP TABLE x; --";`,
		mutate: func(f *facts.Facts) {
			f.Options.SignalSchema, f.Options.ConnectorUser = `Sig "nal`, `Robert'); DROP TABLE x; --`
			f.SignalTable = facts.HelperTable{Schema: f.Options.SignalSchema, Name: "streamkap_signal"}
		}},
	{name: "read-only mode", rule: "signal-table", want: rules.StatusSkip, contains: "read-only snapshots do not use the signal table",
		mutate: snapMode("read-only")},
	{name: "read-only mode below 13", rule: "signal-table", want: rules.StatusFail, contains: "read-only snapshots need PostgreSQL 13",
		mutate: func(f *facts.Facts) { snapMode("read-only")(f); tbVersion(120022)(f) }},
	{name: "unreadable", rule: "signal-table", want: rules.StatusError, contains: "permission denied",
		mutate: func(f *facts.Facts) { f.SignalTable = facts.HelperTable{Err: readFailed} }},
	{name: "server unreadable", rule: "signal-table", want: rules.StatusError,
		mutate: func(f *facts.Facts) { f.Server = facts.Server{Err: readFailed} }},
	{name: "no connection", rule: "signal-table", want: rules.StatusError, mutate: tbNoConnect},

	{name: "granted", rule: "signal-table-privileges", want: rules.StatusPass},
	{name: "no writes", rule: "signal-table-privileges", want: rules.StatusFail, objects: []string{"streamkap.streamkap_signal"},
		contains: "GRANT INSERT, UPDATE ON TABLE streamkap.streamkap_signal TO streamkap_user;",
		mutate:   func(f *facts.Facts) { f.SignalTable.Insert, f.SignalTable.Update = false, false }},
	{name: "no schema usage", rule: "signal-table-privileges", want: rules.StatusFail,
		objects: []string{"schema streamkap"}, contains: "GRANT USAGE ON SCHEMA streamkap TO streamkap_user;",
		mutate: func(f *facts.Facts) { f.SignalTable.SchemaUsage = false }},
	{name: "hostile role", rule: "signal-table-privileges", want: rules.StatusFail,
		contains: `GRANT SELECT, INSERT, UPDATE ON TABLE streamkap.streamkap_signal TO "CDC ""user""";`,
		mutate: func(f *facts.Facts) {
			f.Options.ConnectorUser = `CDC "user"`
			f.SignalTable.Select, f.SignalTable.Insert, f.SignalTable.Update = false, false, false
		}},
	{name: "read-only mode", rule: "signal-table-privileges", want: rules.StatusSkip, mutate: snapMode("read-only")},
	{name: "no table", rule: "signal-table-privileges", want: rules.StatusSkip, contains: "does not exist", mutate: snapNoSignal},
	{name: "unreadable", rule: "signal-table-privileges", want: rules.StatusError,
		mutate: func(f *facts.Facts) { f.SignalTable = facts.HelperTable{Err: readFailed} }},
	{name: "no connection", rule: "signal-table-privileges", want: rules.StatusError, mutate: tbNoConnect},

	{name: "not configured", rule: "heartbeat-table", want: rules.StatusSkip, contains: "no heartbeat schema configured"},
	{name: "ready", rule: "heartbeat-table", want: rules.StatusPass, mutate: snapHeartbeat},
	{name: "missing", rule: "heartbeat-table", want: rules.StatusWarn, objects: []string{"streamkap.streamkap_heartbeat"},
		contains: "CREATE TABLE IF NOT EXISTS streamkap.streamkap_heartbeat (id SERIAL PRIMARY KEY, text TEXT, last_update TIMESTAMP DEFAULT CURRENT_TIMESTAMP);",
		mutate: func(f *facts.Facts) {
			snapHeartbeat(f)
			f.Heartbeat = facts.HelperTable{Schema: "streamkap", Name: "streamkap_heartbeat", Quoted: "streamkap.streamkap_heartbeat"}
		}},
	{name: "missing, per-table publication", rule: "heartbeat-table", want: rules.StatusWarn,
		contains: "ALTER PUBLICATION streamkap_pub ADD TABLE streamkap.streamkap_heartbeat;",
		mutate: func(f *facts.Facts) {
			snapHeartbeat(f)
			f.Heartbeat = facts.HelperTable{Schema: "streamkap", Name: "streamkap_heartbeat"}
		}},
	{name: "not writable", rule: "heartbeat-table", want: rules.StatusWarn,
		contains: "GRANT INSERT, UPDATE ON TABLE streamkap.streamkap_heartbeat TO streamkap_user;",
		mutate:   func(f *facts.Facts) { snapHeartbeat(f); f.Heartbeat.Insert, f.Heartbeat.Update = false, false }},
	{name: "not published", rule: "heartbeat-table", want: rules.StatusWarn, objects: []string{"streamkap.streamkap_heartbeat"},
		contains: "ALTER PUBLICATION streamkap_pub ADD TABLE streamkap.streamkap_heartbeat;",
		mutate:   func(f *facts.Facts) { snapHeartbeat(f); f.Heartbeat.Published = false }},
	{name: "no publication", rule: "heartbeat-table", want: rules.StatusWarn, contains: "publication streamkap_pub does not exist",
		mutate: func(f *facts.Facts) {
			snapHeartbeat(f)
			f.Heartbeat.Published = false
			f.Publication = facts.Publication{Name: "streamkap_pub"}
		}},
	{name: "unreadable", rule: "heartbeat-table", want: rules.StatusError,
		mutate: func(f *facts.Facts) { snapHeartbeat(f); f.Heartbeat.Err = readFailed }},
	{name: "no connection", rule: "heartbeat-table", want: rules.StatusError,
		mutate: func(f *facts.Facts) { snapHeartbeat(f); tbNoConnect(f) }},
}
