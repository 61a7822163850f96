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

// readOnly sets default_transaction_read_only for the connector's sessions
// in scope.
func readOnly(scope, value string) func(*facts.Facts) {
	return readOnlySetting(scope, "default_transaction_read_only", value)
}

func readOnlySetting(scope, name, value string) func(*facts.Facts) {
	return func(f *facts.Facts) {
		f.RoleSettings.Settings = append(f.RoleSettings.Settings, facts.RoleSetting{Scope: scope, Name: name, Value: value})
	}
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
	{name: "read-only role", rule: "signal-table-privileges", want: rules.StatusFail,
		objects:  []string{"role streamkap_user: default_transaction_read_only=on"},
		contains: `"cannot execute INSERT in a read-only transaction" (SQLSTATE 25006)`,
		mutate:   readOnly("role", "on")},
	{name: "read-only role fix", rule: "signal-table-privileges", want: rules.StatusFail,
		contains: "ALTER ROLE streamkap_user RESET default_transaction_read_only;", mutate: readOnly("role", "on")},
	{name: "read-only role, read-only snapshots suggested", rule: "signal-table-privileges", want: rules.StatusFail,
		contains: "set Read only = Yes in the connector instead", mutate: readOnly("role", "on")},
	{name: "read-only role in database", rule: "signal-table-privileges", want: rules.StatusFail,
		objects:  []string{"role streamkap_user in database app: default_transaction_read_only=true"},
		contains: "ALTER ROLE streamkap_user IN DATABASE app RESET default_transaction_read_only;",
		mutate:   readOnly("role in database", "true")},
	{name: "read-only database", rule: "signal-table-privileges", want: rules.StatusFail,
		objects:  []string{"database app: default_transaction_read_only=on"},
		contains: "ALTER ROLE streamkap_user SET default_transaction_read_only = off;", mutate: readOnly("database", "on")},
	{name: "read-only for all roles", rule: "signal-table-privileges", want: rules.StatusFail,
		objects:  []string{"all roles: default_transaction_read_only=on"},
		contains: "ALTER ROLE streamkap_user SET default_transaction_read_only = off;", mutate: readOnly("all roles", "on")},
	{name: "read-only server", rule: "signal-table-privileges", want: rules.StatusFail,
		objects:  []string{"the server (postgresql.conf or ALTER SYSTEM): default_transaction_read_only=on"},
		contains: "ALTER ROLE streamkap_user SET default_transaction_read_only = off;",
		mutate:   func(f *facts.Facts) { f.RoleSettings.Server = map[string]string{"default_transaction_read_only": "on"} }},
	{name: "server off", rule: "signal-table-privileges", want: rules.StatusPass,
		mutate: func(f *facts.Facts) {
			f.RoleSettings.Server = map[string]string{"default_transaction_read_only": "off"}
		}},
	{name: "role off over read-only database", rule: "signal-table-privileges", want: rules.StatusPass,
		mutate: func(f *facts.Facts) { readOnly("database", "on")(f); readOnly("role", "off")(f) }},
	{name: "role in database off over read-only role", rule: "signal-table-privileges", want: rules.StatusPass,
		mutate: func(f *facts.Facts) { readOnly("role", "on")(f); readOnly("role in database", "off")(f) }},
	{name: "role over server", rule: "signal-table-privileges", want: rules.StatusPass,
		mutate: func(f *facts.Facts) {
			f.RoleSettings.Server = map[string]string{"default_transaction_read_only": "on"}
			readOnly("all roles", "off")(f)
		}},
	{name: "read-only and no grants", rule: "signal-table-privileges", want: rules.StatusFail,
		objects:  []string{"streamkap.streamkap_signal", "role streamkap_user: default_transaction_read_only=on"},
		contains: "GRANT INSERT ON TABLE streamkap.streamkap_signal TO streamkap_user;",
		mutate:   func(f *facts.Facts) { readOnly("role", "on")(f); f.SignalTable.Insert = false }},
	{name: "read-only, read-only snapshots", rule: "signal-table-privileges", want: rules.StatusSkip,
		mutate: func(f *facts.Facts) { readOnly("role", "on")(f); snapMode("read-only")(f) }},
	{name: "transaction_read_only per role does nothing", rule: "signal-table-privileges", want: rules.StatusPass,
		mutate: readOnlySetting("role", "transaction_read_only", "on")},
	{name: "role settings unreadable", rule: "signal-table-privileges", want: rules.StatusError,
		mutate: func(f *facts.Facts) { f.RoleSettings = facts.RoleSettings{Err: readFailed} }},

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
	{name: "read-only role", rule: "heartbeat-table", want: rules.StatusWarn,
		objects:  []string{"role streamkap_user: default_transaction_read_only=on"},
		contains: "ALTER ROLE streamkap_user RESET default_transaction_read_only;",
		mutate:   func(f *facts.Facts) { snapHeartbeat(f); readOnly("role", "on")(f) }},
	{name: "read-only role, read-only snapshots", rule: "heartbeat-table", want: rules.StatusWarn,
		contains: "its heartbeat INSERTs and UPDATEs fail",
		mutate:   func(f *facts.Facts) { snapHeartbeat(f); readOnly("role", "on")(f); snapMode("read-only")(f) }},
	{name: "read-only database, missing table", rule: "heartbeat-table", want: rules.StatusWarn,
		objects:  []string{"streamkap.streamkap_heartbeat", "database app: default_transaction_read_only=on"},
		contains: "ALTER ROLE streamkap_user SET default_transaction_read_only = off;",
		mutate: func(f *facts.Facts) {
			snapHeartbeat(f)
			f.Heartbeat = facts.HelperTable{Schema: "streamkap", Name: "streamkap_heartbeat", Quoted: "streamkap.streamkap_heartbeat"}
			readOnly("database", "on")(f)
		}},
	{name: "role settings unreadable", rule: "heartbeat-table", want: rules.StatusError,
		mutate: func(f *facts.Facts) { snapHeartbeat(f); f.RoleSettings = facts.RoleSettings{Err: readFailed} }},
	{name: "no connection", rule: "heartbeat-table", want: rules.StatusError,
		mutate: func(f *facts.Facts) { snapHeartbeat(f); tbNoConnect(f) }},
}
