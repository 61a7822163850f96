package checks_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pglogrepl"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/cdcpreflight/cdcpreflight/facts"
	"github.com/cdcpreflight/cdcpreflight/internal/connector"
	"github.com/cdcpreflight/cdcpreflight/internal/pglocal"
	"github.com/cdcpreflight/cdcpreflight/internal/pgtest"
	"github.com/cdcpreflight/cdcpreflight/internal/sqlident"
	"github.com/cdcpreflight/cdcpreflight/rules"
)

// Connector-configuration scenarios: the database judged with a Debezium
// configuration (read by internal/connector as --connector-config reads
// it), each with one thing the connector does at start that can fail. The
// differential test plays each as Debezium would (internal/connsim with
// the configuration: its publication, slot, snapshot mode, heartbeat and
// watermarks) and holds the exit code against what happens.

// connectorConfigScenarios: rule → {passing scenario, non-passing scenario}.
var connectorConfigScenarios = map[string][2]string{
	"connector-config":         {"TestScenarioConfigAutocreate", "TestScenarioConfigRejected"},
	"capture-scope":            {"TestScenarioConfigSameAsFlags", "TestScenarioConfigCaptureScope"},
	"output-plugin":            {"TestScenarioConfigAutocreate", "TestScenarioConfigPlugin"},
	"publication-autocreate":   {"TestScenarioConfigAutocreate", "TestScenarioConfigAutocreate"},
	"slot-in-use":              {"TestScenarioConfigAutocreate", "TestScenarioConfigSlotInUse"},
	"signal-collection":        {"TestScenarioConfigAutocreate", "TestScenarioConfigSignal"},
	"heartbeat-query":          {"TestScenarioConfigHeartbeat", "TestScenarioConfigHeartbeat"},
	"replica-identity-autoset": {"TestScenarioConfigAutoset", "TestScenarioConfigAutoset"},
	"topic-names":              {"TestScenarioConfigAutocreate", "TestScenarioConfigTopics"},
}

// TestScenarioConfigStreamkap: a Streamkap source as its Terraform resource
// says it, on a database set up as Streamkap's guide says, and the same
// with a table the publication lacks.
func TestScenarioConfigStreamkap(t *testing.T) {
	for _, tc := range []struct {
		name, include string
		want          map[string]rules.Status
		exit          int
	}{
		// public.orders is a pattern: it matches public."Orders" too.
		{"ready", "public.orders,public.customers", map[string]rules.Status{"capture-scope": rules.StatusPass,
			"publication-coverage": rules.StatusPass, "signal-table": rules.StatusPass, "slot-config": rules.StatusPass}, 0},
		{"a table not published", "public.orders,public.customers,Sales.t1", map[string]rules.Status{
			"publication-coverage": rules.StatusFail}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newConfigEnv(t, configCase{setup: `CREATE SCHEMA streamkap;
CREATE TABLE streamkap.streamkap_signal (id varchar(255) PRIMARY KEY, type varchar(32) NOT NULL, data varchar(2000) NULL);
GRANT USAGE ON SCHEMA streamkap TO {user};
GRANT SELECT, INSERT, UPDATE ON streamkap.streamkap_signal TO {user};
CREATE PUBLICATION streamkap_pub FOR TABLE public.customers, public.orders, public."Orders", streamkap.streamkap_signal;`})
			slot := strings.ToLower(pgtest.UniqueName(t, "sk"))
			pgtest.Exec(t, e.c, e.db, "SELECT pg_create_logical_replication_slot("+sqlident.Literal(slot)+", 'pgoutput')")
			expect := loadConfigFile(t, "source.tf", `variable "db_password" { sensitive = true }
resource "streamkap_source_postgresql" "app" {
  database_hostname   = "app-db.internal"
  database_user       = "streamkap_user"
  database_password   = var.db_password
  database_dbname     = "app"
  schema_include_list = "public,Sales"
  table_include_list  = "`+tc.include+`"
  snapshot_read_only  = "No"
  signal_data_collection_schema_or_database = "streamkap"
  slot_name           = "`+slot+`"
}`)
			got := judgeDSN(t, e.c.DSN(e.user, testPassword, e.db, "require"), expect, allSupported)
			expectStatus(t, got, tc.want)
			results := make([]rules.Result, 0, len(got))
			for _, r := range got {
				results = append(results, r)
			}
			if exit := rules.ExitCode(results, rules.Error); exit != tc.exit {
				for _, r := range results {
					if r.Status == rules.StatusFail || r.Status == rules.StatusError {
						t.Logf("%s = %s: %s", r.Rule, r.Status, r.Message)
					}
				}
				t.Errorf("exit code %d, want %d", exit, tc.exit)
			}
		})
	}
}

// configCase is one database and one configuration.
type configCase struct {
	name     string
	minMajor int
	owner    bool   // the connector role owns the tables and may CREATE in the database
	super    bool   // the connector role is a superuser
	setup    string // SQL after connector-config-app.sql, as the superuser; {user} is the role
	props    map[string]string
	want     map[string]rules.Status
	exit     int
	// contains: rule → text its message and remediation must hold.
	contains map[string]string
}

// baseProps is a minimal valid Debezium configuration for the scenarios:
// the connection comes from the test's DSN.
func baseProps() map[string]string {
	return map[string]string{
		"connector.class":   "io.debezium.connector.postgresql.PostgresConnector",
		"database.hostname": "localhost", "database.user": "debezium", "database.dbname": "app",
		"topic.prefix": "app", "plugin.name": "pgoutput",
		"signal.data.collection": "dbz.dbz_signal",
	}
}

// configEnv is a database with connector-config-app.sql and a connector role.
type configEnv struct {
	c        *pglocal.Cluster
	db, user string
}

func newConfigEnv(t *testing.T, tc configCase) configEnv {
	t.Helper()
	c := pgtest.Cluster(t)
	if c.VersionNum/10000 < tc.minMajor {
		t.Skipf("PostgreSQL %d: the scenario needs %d or later", c.VersionNum/10000, tc.minMajor)
	}
	db := pgtest.NewDatabase(t, c)
	user := replicationUser(t, c, db)
	q := sqlident.Quote(user)
	pgtest.Exec(t, c, db, fixture(t, "connector-config-app.sql", map[string]string{"user": q}))
	if tc.owner {
		pgtest.Exec(t, c, db, `DO $$ DECLARE r record; BEGIN
	FOR r IN SELECT quote_ident(n.nspname) || '.' || quote_ident(c.relname) AS t FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE c.relkind IN ('r', 'p') AND n.nspname IN ('public', 'Sales', 'dbz') LOOP
		EXECUTE 'ALTER TABLE ' || r.t || ' OWNER TO `+strings.ReplaceAll(q, "'", "''")+`';
	END LOOP; END $$;`)
		pgtest.Exec(t, c, db, "GRANT CREATE ON DATABASE "+sqlident.Quote(db)+" TO "+q)
	}
	if tc.super {
		pgtest.Exec(t, c, db, "ALTER ROLE "+q+" SUPERUSER")
		t.Cleanup(func() { _ = c.Exec(context.Background(), "postgres", "ALTER ROLE "+q+" NOSUPERUSER") })
	}
	if tc.setup != "" {
		pgtest.Exec(t, c, db, strings.ReplaceAll(tc.setup, "{user}", q))
	}
	return configEnv{c: c, db: db, user: user}
}

// loadConfig writes props as a Kafka Connect config map and reads it as
// --connector-config does.
func loadConfig(t *testing.T, props map[string]string) facts.Options {
	t.Helper()
	data, err := json.Marshal(props)
	if err != nil {
		t.Fatal(err)
	}
	return loadConfigFile(t, "connector.json", string(data))
}

// loadConfigFile reads a configuration in any format as
// --connector-config does.
func loadConfigFile(t *testing.T, name, content string) facts.Options {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	l, err := connector.Load(path, connector.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return l.Expect()
}

func (e configEnv) judge(t *testing.T, props map[string]string) map[string]rules.Result {
	t.Helper()
	return judgeDSN(t, e.c.DSN(e.user, testPassword, e.db, "require"), loadConfig(t, props), allSupported)
}

func runConfigCases(t *testing.T, cases []configCase) {
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newConfigEnv(t, tc)
			props := baseProps()
			props["slot.name"] = strings.ToLower(pgtest.UniqueName(t, "dbz"))
			for k, v := range tc.props {
				if v == "" {
					delete(props, k)
				} else {
					props[k] = strings.ReplaceAll(v, "{slot}", props["slot.name"])
				}
			}
			got := e.judge(t, props)
			expectStatus(t, got, tc.want)
			for id, text := range tc.contains {
				if r := got[id]; !strings.Contains(r.Message+" "+r.Remediation, text) {
					t.Errorf("%s: %q lacks %q", id, r.Message+" "+r.Remediation, text)
				}
			}
			results := make([]rules.Result, 0, len(got))
			for _, r := range got {
				results = append(results, r)
			}
			if exit := rules.ExitCode(results, rules.Error); exit != tc.exit {
				for _, r := range results {
					if r.Status == rules.StatusFail || r.Status == rules.StatusError {
						t.Logf("%s = %s: %s", r.Rule, r.Status, r.Message)
					}
				}
				t.Errorf("exit code %d, want %d", exit, tc.exit)
			}
		})
	}
}

// includeCustomersOrders captures public.customers, public.orders and, the
// match ignoring case as Debezium's does, public."Orders".
const includeCustomersOrders = `public\.(customers|orders)`

// pubCaptured publishes what includeCustomersOrders captures, with the
// signal table.
const pubCaptured = `CREATE PUBLICATION dbz_publication FOR TABLE public.customers, public.orders, public."Orders", dbz.dbz_signal;`

// TestScenarioConfigAutocreate: every publication.autocreate.mode, with a
// role that is and is not a superuser or the tables' owner.
func TestScenarioConfigAutocreate(t *testing.T) {
	runConfigCases(t, []configCase{
		{
			name:  "all_tables, missing, not superuser",
			props: map[string]string{},
			want: map[string]rules.Status{"publication-autocreate": rules.StatusFail, "publication-exists": rules.StatusSkip,
				"slot-exists": rules.StatusPass, "output-plugin": rules.StatusPass, "connector-config": rules.StatusPass,
				"signal-collection": rules.StatusPass, "slot-in-use": rules.StatusPass},
			contains: map[string]string{"publication-autocreate": "must be superuser to create FOR ALL TABLES publication"},
			exit:     1,
		},
		{
			name: "all_tables, missing, superuser", super: true,
			props: map[string]string{},
			want: map[string]rules.Status{"publication-autocreate": rules.StatusPass, "publication-exists": rules.StatusSkip,
				"topic-names": rules.StatusWarn},
		},
		{
			name: "filtered, missing, owner", owner: true,
			props: map[string]string{"publication.autocreate.mode": "filtered", "table.include.list": includeCustomersOrders},
			want: map[string]rules.Status{"publication-autocreate": rules.StatusPass, "capture-scope": rules.StatusPass,
				"topic-names": rules.StatusPass, "publication-coverage": rules.StatusSkip},
		},
		{
			name:     "filtered, missing, not owner",
			props:    map[string]string{"publication.autocreate.mode": "filtered", "table.include.list": includeCustomersOrders},
			want:     map[string]rules.Status{"publication-autocreate": rules.StatusFail},
			contains: map[string]string{"publication-autocreate": "does not own"},
			exit:     1,
		},
		{
			name: "filtered, FOR ALL TABLES exists", owner: true,
			setup:    "CREATE PUBLICATION dbz_publication FOR ALL TABLES;",
			props:    map[string]string{"publication.autocreate.mode": "filtered", "table.include.list": includeCustomersOrders},
			want:     map[string]rules.Status{"publication-autocreate": rules.StatusFail},
			contains: map[string]string{"publication-autocreate": "can not be altered"},
			exit:     1,
		},
		{
			name: "filtered, exists with another table, owner", owner: true,
			setup:    `CREATE PUBLICATION dbz_publication FOR TABLE public.customers, public."Order Items"; ALTER PUBLICATION dbz_publication OWNER TO {user};`,
			props:    map[string]string{"publication.autocreate.mode": "filtered", "table.include.list": includeCustomersOrders},
			want:     map[string]rules.Status{"publication-autocreate": rules.StatusWarn, "publication-coverage": rules.StatusSkip},
			contains: map[string]string{"publication-autocreate": `public."Order Items"`},
		},
		{
			name: "filtered, exists, publication owned by another role", owner: true,
			setup:    `CREATE PUBLICATION dbz_publication FOR TABLE public.customers;`,
			props:    map[string]string{"publication.autocreate.mode": "filtered", "table.include.list": includeCustomersOrders},
			want:     map[string]rules.Status{"publication-autocreate": rules.StatusFail},
			contains: map[string]string{"publication-autocreate": "does not own the publication"},
			exit:     1,
		},
		{
			name:     "disabled, missing",
			props:    map[string]string{"publication.autocreate.mode": "disabled", "table.include.list": includeCustomersOrders},
			want:     map[string]rules.Status{"publication-autocreate": rules.StatusFail, "publication-exists": rules.StatusFail},
			contains: map[string]string{"publication-autocreate": "Publication autocreation is disabled"},
			exit:     1,
		},
		{
			name:  "disabled, exists",
			setup: pubCaptured,
			props: map[string]string{"publication.autocreate.mode": "disabled", "table.include.list": includeCustomersOrders},
			want:  map[string]rules.Status{"publication-autocreate": rules.StatusPass, "publication-coverage": rules.StatusPass},
		},
		{
			name: "no_tables, missing", owner: true,
			props:    map[string]string{"publication.autocreate.mode": "no_tables", "table.include.list": includeCustomersOrders},
			want:     map[string]rules.Status{"publication-autocreate": rules.StatusFail},
			contains: map[string]string{"publication-autocreate": "with no tables"},
			exit:     1,
		},
	})
}

// TestScenarioConfigRejected: a configuration Debezium's validation
// rejects (a slot name it refuses, an include and an exclude list).
func TestScenarioConfigRejected(t *testing.T) {
	runConfigCases(t, []configCase{{
		name:  "slot name and both lists",
		setup: pubCaptured,
		props: map[string]string{"publication.autocreate.mode": "disabled", "slot.name": "Dbz-Slot",
			"table.include.list": includeCustomersOrders, "table.exclude.list": "public.orders"},
		want:     map[string]rules.Status{"connector-config": rules.StatusFail},
		contains: map[string]string{"connector-config": `"table.include.list" is already specified`},
		// The slot name is also one PostgreSQL refuses: slot-exists says so.
		exit: 1,
	}})
}

// TestScenarioConfigCaptureScope: include lists with mixed-case and quoted
// names, matched as Debezium matches them.
func TestScenarioConfigCaptureScope(t *testing.T) {
	pub := `CREATE PUBLICATION dbz_publication FOR TABLE public.customers, public.orders, public."Orders", public."Order Items", "Sales".t1, dbz.dbz_signal;`
	runConfigCases(t, []configCase{
		{
			// public\.order.* matches orders, "Orders" and "Order Items" (case-insensitive);
			// public\."Orders" matches nothing: Debezium's names have no quotes.
			name:     "mixed case and quotes",
			setup:    pub,
			props:    map[string]string{"publication.autocreate.mode": "disabled", "table.include.list": `public\.order.*,public\."Orders"`},
			want:     map[string]rules.Status{"capture-scope": rules.StatusWarn, "publication-coverage": rules.StatusPass},
			contains: map[string]string{"capture-scope": `'public\."Orders"'`},
		},
		{
			name:     "schema in another case",
			setup:    pub,
			props:    map[string]string{"publication.autocreate.mode": "disabled", "schema.include.list": "sales"},
			want:     map[string]rules.Status{"capture-scope": rules.StatusPass},
			contains: map[string]string{"capture-scope": "2 tables captured"}, // "Sales".t1 and the signal table
		},
		{
			name:  "nothing captured",
			setup: pub,
			props: map[string]string{"publication.autocreate.mode": "disabled", "table.include.list": `nomatch\..*`, "signal.data.collection": ""},
			want:  map[string]rules.Status{"capture-scope": rules.StatusFail},
			exit:  1,
		},
	})
}

// TestScenarioConfigSameAsFlags: the same database judged with a
// configuration and with the flags it amounts to gives the same verdicts,
// rule by rule, for every rule both judge.
func TestScenarioConfigSameAsFlags(t *testing.T) {
	tc := configCase{setup: `CREATE SCHEMA streamkap;
CREATE TABLE streamkap.streamkap_signal (id varchar(255) PRIMARY KEY, type varchar(32) NOT NULL, data varchar(2000) NULL);
GRANT USAGE ON SCHEMA streamkap TO {user};
GRANT SELECT, INSERT, UPDATE ON streamkap.streamkap_signal TO {user};
CREATE PUBLICATION dbz_publication FOR TABLE public.orders, public."Orders", public."Order Items", streamkap.streamkap_signal;
CREATE TABLE public.keyless (v int); INSERT INTO public.keyless VALUES (1);
GRANT SELECT ON public.keyless TO {user};
ALTER PUBLICATION dbz_publication ADD TABLE public.keyless;`}
	e := newConfigEnv(t, tc)
	slot := strings.ToLower(pgtest.UniqueName(t, "dbz"))
	pgtest.Exec(t, e.c, e.db, "SELECT pg_create_logical_replication_slot("+sqlident.Literal(slot)+", 'pgoutput')")
	props := baseProps()
	props["slot.name"], props["publication.autocreate.mode"] = slot, "disabled"
	props["table.include.list"] = `public\.order.*,public\.keyless`
	props["signal.data.collection"] = "streamkap.streamkap_signal"
	withConfig := e.judge(t, props)
	withFlags := judgeDSN(t, e.c.DSN(e.user, testPassword, e.db, "require"), facts.Options{
		Slot: slot, Publication: "dbz_publication", SignalSchema: "streamkap", SnapshotMode: facts.SnapshotSignalTable,
		Tables: []facts.TableRef{{Schema: "public", Table: "orders"}, {Schema: "public", Table: "Orders"},
			{Schema: "public", Table: "Order Items"}, {Schema: "public", Table: "keyless"}},
	}, allSupported)
	expectStatus(t, withConfig, map[string]rules.Status{"capture-scope": rules.StatusPass, "replica-identity": rules.StatusFail})
	compared := 0
	for id, f := range withFlags {
		c := withConfig[id]
		if c.Category == rules.CategoryConnector {
			continue
		}
		compared++
		if c.Status != f.Status {
			t.Errorf("%s: %s with the configuration, %s with the flags:\n  %s\n  %s", id, c.Status, f.Status, c.Message, f.Message)
		}
	}
	if compared < 30 {
		t.Errorf("only %d rules compared", compared)
	}
}

// TestScenarioConfigPlugin: without plugin.name Debezium uses decoderbufs,
// which these servers do not have.
func TestScenarioConfigPlugin(t *testing.T) {
	runConfigCases(t, []configCase{{
		name:     "decoderbufs by default",
		props:    map[string]string{"plugin.name": "", "table.include.list": includeCustomersOrders},
		want:     map[string]rules.Status{"output-plugin": rules.StatusFail, "publication-autocreate": rules.StatusSkip},
		contains: map[string]string{"output-plugin": "plugin.name=pgoutput"},
		exit:     1,
	}})
}

// TestScenarioConfigSignal: signal.data.collection in the wrong letter
// case: the watermark insert works (unquoted, it folds), the signals are
// never recognised.
func TestScenarioConfigSignal(t *testing.T) {
	runConfigCases(t, []configCase{{
		name:  "wrong case",
		setup: pubCaptured,
		props: map[string]string{"publication.autocreate.mode": "disabled", "table.include.list": includeCustomersOrders,
			"signal.data.collection": "dbz.DBZ_Signal"},
		want:     map[string]rules.Status{"signal-collection": rules.StatusFail},
		contains: map[string]string{"signal-collection": "differs only in letter case"},
		exit:     1,
	}})
}

// TestScenarioConfigHeartbeat: a heartbeat query on a table that exists,
// and on one that does not.
func TestScenarioConfigHeartbeat(t *testing.T) {
	pub := `CREATE PUBLICATION dbz_publication FOR TABLE public.customers, public.orders, public."Orders", dbz.dbz_signal, dbz.dbz_heartbeat;`
	runConfigCases(t, []configCase{
		{
			name:  "writes a published table",
			setup: pub,
			props: map[string]string{"publication.autocreate.mode": "disabled", "table.include.list": includeCustomersOrders,
				"heartbeat.interval.ms": "5000", "heartbeat.action.query": "UPDATE dbz.dbz_heartbeat SET ts = now() WHERE id = 1"},
			want: map[string]rules.Status{"heartbeat-query": rules.StatusPass},
		},
		{
			name:  "missing table",
			setup: pub,
			props: map[string]string{"publication.autocreate.mode": "disabled", "table.include.list": includeCustomersOrders,
				"heartbeat.interval.ms": "5000", "heartbeat.action.query": "INSERT INTO dbz.heartbeat_missing VALUES (1, now())"},
			want:     map[string]rules.Status{"heartbeat-query": rules.StatusFail},
			contains: map[string]string{"heartbeat-query": "42P01"},
			exit:     1,
		},
	})
}

// TestScenarioConfigTopics: distinct tables whose topics collide.
func TestScenarioConfigTopics(t *testing.T) {
	runConfigCases(t, []configCase{{
		name: "my table and my_table", super: true,
		setup: `CREATE TABLE public."my table" (id int PRIMARY KEY); CREATE TABLE public.my_table (id int PRIMARY KEY);
GRANT SELECT ON public."my table", public.my_table TO {user};`,
		props:    map[string]string{"table.include.list": `public\.my.table`},
		want:     map[string]rules.Status{"topic-names": rules.StatusFail},
		contains: map[string]string{"topic-names": "app.public.my_table"},
		exit:     1,
	}})
}

// TestScenarioConfigAutoset: replica.identity.autoset.values for tables the
// role owns, and for one it does not.
func TestScenarioConfigAutoset(t *testing.T) {
	runConfigCases(t, []configCase{
		{
			name: "owner", owner: true, setup: pubCaptured,
			props: map[string]string{"publication.autocreate.mode": "disabled", "table.include.list": includeCustomersOrders,
				"replica.identity.autoset.values": `public\.customers:FULL`},
			want:     map[string]rules.Status{"replica-identity-autoset": rules.StatusPass},
			contains: map[string]string{"replica-identity-autoset": "public.customers → FULL"},
		},
		{
			name: "not owner", setup: pubCaptured,
			props: map[string]string{"publication.autocreate.mode": "disabled", "table.include.list": includeCustomersOrders,
				"replica.identity.autoset.values": `public\.customers:FULL`},
			want: map[string]rules.Status{"replica-identity-autoset": rules.StatusFail},
			exit: 1,
		},
		{
			// public.orders matches public."Orders" too, whose name
			// Debezium's unquoted ALTER TABLE cannot reach.
			name: "a name that needs quoting", owner: true, setup: pubCaptured,
			props: map[string]string{"publication.autocreate.mode": "disabled", "table.include.list": includeCustomersOrders,
				"replica.identity.autoset.values": "public.orders:FULL"},
			want:     map[string]rules.Status{"replica-identity-autoset": rules.StatusFail},
			contains: map[string]string{"replica-identity-autoset": `public."Orders"`},
			exit:     1,
		},
	})
}

// TestScenarioConfigSnapshotMode: a mode that never streams needs no slot,
// publication or REPLICATION; one that never snapshots does not need
// SELECT at start.
func TestScenarioConfigSnapshotMode(t *testing.T) {
	runConfigCases(t, []configCase{
		{
			name:  "initial_only without REPLICATION or publication",
			setup: `ALTER ROLE {user} NOREPLICATION;`,
			props: map[string]string{"snapshot.mode": "initial_only", "table.include.list": includeCustomersOrders},
			want: map[string]rules.Status{"replication-privilege": rules.StatusSkip, "publication-exists": rules.StatusSkip,
				"publication-autocreate": rules.StatusSkip, "slot-exists": rules.StatusSkip, "table-select": rules.StatusPass},
		},
		{
			name: "no_data without SELECT", minMajor: 10,
			setup: `CREATE PUBLICATION dbz_publication FOR TABLE public.customers, public.orders, public."Orders"; REVOKE SELECT ON public.orders FROM {user};`,
			props: map[string]string{"snapshot.mode": "no_data", "publication.autocreate.mode": "disabled",
				"table.include.list": includeCustomersOrders, "signal.data.collection": ""},
			want: map[string]rules.Status{"table-select": rules.StatusWarn},
		},
	})
}

// TestScenarioConfigSlotInUse: another process streams from the
// connector's slot while the check runs.
func TestScenarioConfigSlotInUse(t *testing.T) {
	tc := configCase{setup: pubCaptured}
	e := newConfigEnv(t, tc)
	slot := strings.ToLower(pgtest.UniqueName(t, "dbz"))
	pgtest.Exec(t, e.c, e.db, "SELECT pg_create_logical_replication_slot("+sqlident.Literal(slot)+", 'pgoutput')")
	cfg, err := pgconn.ParseConfig(e.c.SuperDSN(e.db))
	if err != nil {
		t.Fatal(err)
	}
	cfg.RuntimeParams["replication"] = "database"
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	holder, err := pgconn.ConnectConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = holder.Close(context.Background()) })
	if err := pglogrepl.StartReplication(ctx, holder, slot, 0, pglogrepl.StartReplicationOptions{
		PluginArgs: []string{"proto_version '1'", "publication_names 'dbz_publication'"},
	}); err != nil {
		t.Fatal(err)
	}
	props := baseProps()
	props["slot.name"], props["publication.autocreate.mode"], props["table.include.list"] = slot, "disabled", includeCustomersOrders
	got := e.judge(t, props)
	expectStatus(t, got, map[string]rules.Status{"slot-in-use": rules.StatusWarn})
	if r := got["slot-in-use"]; !strings.Contains(r.Message, "is active for PID "+strconv.Itoa(int(holder.PID()))) {
		t.Errorf("slot-in-use: %s", r.Message)
	}
}
