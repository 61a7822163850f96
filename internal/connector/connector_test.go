package connector

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/cdcpreflight/cdcpreflight/facts"
)

const examples = "../../testdata/connectors"

func load(t *testing.T, name string) *Loaded {
	t.Helper()
	l, err := Load(filepath.Join(examples, name), Options{})
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return l
}

func param(t *testing.T, l *Loaded, kw string) ConnParam {
	t.Helper()
	p, ok := l.Conn.Get(kw)
	if !ok {
		t.Fatalf("no %s parameter", kw)
	}
	return p
}

// TestExamples reads every example in testdata/connectors.
func TestExamples(t *testing.T) {
	t.Run("kafka-connect-rest", func(t *testing.T) {
		l := load(t, "kafka-connect-rest.json")
		c := l.Connector
		if c.Format != FormatConnectREST || c.Flavour != facts.FlavourDebezium || c.Name != "inventory-postgres" {
			t.Errorf("format %s flavour %s name %s", c.Format, c.Flavour, c.Name)
		}
		if l.Slot.Text != "inventory_slot" || l.Publication.Text != "inventory_pub" || c.Plugin != "pgoutput" || c.PluginDefaulted {
			t.Errorf("slot %q publication %q plugin %q", l.Slot.Text, l.Publication.Text, c.Plugin)
		}
		if c.AutocreateMode != "filtered" || c.SnapshotMode != "initial" || c.TopicPrefix != "inventory" {
			t.Errorf("mode %q snapshot %q prefix %q", c.AutocreateMode, c.SnapshotMode, c.TopicPrefix)
		}
		if c.Filters.SchemaInclude != "inventory,sales" || c.Filters.TableExclude != `inventory\.audit_.*,sales\.tmp_.*` {
			t.Errorf("filters %+v", c.Filters)
		}
		if l.SignalSchema != "inventory" || l.SignalTable != "debezium_signal" || l.SnapshotMode != facts.SnapshotSignalTable {
			t.Errorf("signal %s.%s mode %s", l.SignalSchema, l.SignalTable, l.SnapshotMode)
		}
		if c.HeartbeatIntervalMS != 10000 || !strings.HasPrefix(c.HeartbeatQuery, "INSERT INTO inventory.debezium_heartbeat") {
			t.Errorf("heartbeat %d %q", c.HeartbeatIntervalMS, c.HeartbeatQuery)
		}
		if p := param(t, l, "host"); p.Text != "db.internal.example" || p.Line != 6 {
			t.Errorf("host %+v", p)
		}
		if p := param(t, l, "sslmode"); p.Text != "require" || p.Default {
			t.Errorf("sslmode %+v", p)
		}
		if !l.Conn.PasswordInFile || len(c.Problems) != 0 || len(c.Unresolved) != 0 {
			t.Errorf("password %v problems %+v unresolved %v", l.Conn.PasswordInFile, c.Problems, c.Unresolved)
		}
	})
	t.Run("config-map", func(t *testing.T) {
		l := load(t, "config-map.json")
		c := l.Connector
		if c.Format != FormatJSON || l.Slot.Text != DefaultSlot || !l.Slot.Default || l.Publication.Text != DefaultPublication {
			t.Errorf("format %s slot %+v publication %+v", c.Format, l.Slot, l.Publication)
		}
		if c.Plugin != "decoderbufs" || !c.PluginDefaulted || c.AutocreateMode != "all_tables" {
			t.Errorf("plugin %q defaulted %v mode %q", c.Plugin, c.PluginDefaulted, c.AutocreateMode)
		}
		if p := param(t, l, "port"); p.Text != "5432" {
			t.Errorf("a JSON number: port %+v", p)
		}
		if p := param(t, l, "sslmode"); p.Text != "prefer" || !p.Default {
			t.Errorf("3.x's default sslmode: %+v", p)
		}
		if l.SnapshotMode != facts.SnapshotAuto || c.SignalCollection != "" {
			t.Errorf("no signal collection: mode %s", l.SnapshotMode)
		}
	})
	t.Run("properties", func(t *testing.T) {
		l := load(t, "connector.properties")
		c := l.Connector
		if c.Format != FormatProperties || c.Filters.TableInclude != `public\.invoices,public\.payments` {
			t.Errorf("format %s include %q (continuation lines and escapes)", c.Format, c.Filters.TableInclude)
		}
		if c.ReplicaIdentityAutoset != "public.invoices:FULL" || !c.PluginDefaulted {
			t.Errorf("autoset %q plugin defaulted %v", c.ReplicaIdentityAutoset, c.PluginDefaulted)
		}
	})
	t.Run("strimzi", func(t *testing.T) {
		l := load(t, "strimzi-kafkaconnector.yaml")
		c := l.Connector
		if c.Format != FormatStrimzi || c.Name != "shop-postgres" || c.AutocreateMode != "disabled" || c.SnapshotMode != "no_data" {
			t.Errorf("%+v", c)
		}
		if !c.ReadOnly || l.SnapshotMode != facts.SnapshotReadOnly || c.Snapshots() || !c.Streams() {
			t.Errorf("read-only %v mode %s", c.ReadOnly, l.SnapshotMode)
		}
		if p := param(t, l, "port"); p.Text != "5432" || p.Line != 12 {
			t.Errorf("port %+v", p)
		}
	})
	t.Run("debezium-server", func(t *testing.T) {
		l := load(t, "debezium-server.properties")
		c := l.Connector
		if c.Format != FormatDebeziumServer || c.Filters.TableInclude != "public.events,public.sessions" {
			t.Errorf("format %s include %q", c.Format, c.Filters.TableInclude)
		}
		if p := param(t, l, "user"); p.Key != "debezium.source.database.user" || p.Line != 9 {
			t.Errorf("user %+v: keys are named as written", p)
		}
		if _, ok := l.Config.Props["sink.type"]; ok {
			t.Error("the sink's settings are not the connector's")
		}
	})
	t.Run("terraform", func(t *testing.T) {
		l := load(t, "streamkap-source.tf")
		c := l.Connector
		if c.Format != FormatTerraform || c.Flavour != facts.FlavourStreamkap || c.Name != "streamkap_source_postgresql.app" {
			t.Errorf("%+v", c)
		}
		if l.Slot.Text != StreamkapSlot || c.Plugin != "pgoutput" || c.ReadOnly || l.SnapshotMode != facts.SnapshotSignalTable {
			t.Errorf("slot %q plugin %q read-only %v", l.Slot.Text, c.Plugin, c.ReadOnly)
		}
		if l.SignalSchema != "streamkap" || l.SignalTable != facts.SignalTableName || l.HeartbeatSchema != "streamkap" {
			t.Errorf("signal %s.%s heartbeat %s", l.SignalSchema, l.SignalTable, l.HeartbeatSchema)
		}
		if p := param(t, l, "port"); p.Text != "5432" || p.Key != "database_port" {
			t.Errorf("port %+v", p)
		}
		if p := param(t, l, "sslmode"); p.Text != "require" {
			t.Errorf("sslmode %+v", p)
		}
		if !l.SSH.Enabled || !l.SSH.Host.Unresolved || l.SSH.Host.Text != "var.bastion_host" || l.SSH.Port.Text != "22" || l.SSH.User.Text != "streamkap" {
			t.Errorf("ssh %+v", l.SSH)
		}
		if pw := l.Config.Props["database.password"]; !pw.Unresolved || !pw.Secret {
			t.Errorf("password %+v", pw)
		}
	})
	t.Run("streamkap-api", func(t *testing.T) {
		l := load(t, "streamkap-api.json")
		c := l.Connector
		if c.Format != FormatStreamkapAPI || c.Flavour != facts.FlavourStreamkap || !c.ReadOnly || c.Filters.TableInclude != "public.orders,public.customers" {
			t.Errorf("%+v", c)
		}
		if p := param(t, l, "host"); p.Text != "app-db.internal.example" {
			t.Errorf("host %+v", p)
		}
		if l.SSH.Enabled {
			t.Error("ssh.enabled false")
		}
	})
}

// TestMalformed: each format's broken example is an error naming the file
// and the line, and repeating none of the file's secret.
func TestMalformed(t *testing.T) {
	for name, line := range map[string]int{
		"kafka-connect-rest.json": 7, "config-map.json": 4, "connector.properties": 4,
		"strimzi-kafkaconnector.yaml": 9, "debezium-server.properties": 4, "streamkap-source.tf": 1,
		"streamkap-api.json": 7,
	} {
		path := filepath.Join(examples, "malformed", name)
		_, err := Load(path, Options{})
		var fe *FileError
		if !errors.As(err, &fe) {
			t.Errorf("%s: %v is not a FileError", name, err)
			continue
		}
		if fe.Line != line || !strings.Contains(err.Error(), path+":") {
			t.Errorf("%s: line %d, want %d: %v", name, fe.Line, line, err)
		}
		if strings.Contains(err.Error(), "s3cr3t") {
			t.Errorf("%s: the error repeats the secret: %v", name, err)
		}
	}
}

func TestNotPostgres(t *testing.T) {
	for _, content := range []string{
		`{"name": "m", "config": {"connector.class": "io.debezium.connector.mysql.MySqlConnector"}}`,
		"connector.class=io.confluent.connect.jdbc.JdbcSourceConnector\n",
	} {
		path := filepath.Join(t.TempDir(), "c")
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := Load(path, Options{})
		if err == nil || !strings.Contains(err.Error(), "not Debezium's PostgreSQL connector") || !strings.Contains(err.Error(), ":1:") {
			t.Errorf("%q: %v", content, err)
		}
	}
}

func TestVersionDefaults(t *testing.T) {
	path := filepath.Join(examples, "config-map.json")
	for _, tc := range []struct {
		version, sslmode string
	}{{"2.2", "disable"}, {"2.3.0.Final", "prefer"}, {"", "prefer"}} {
		l, err := Load(path, Options{DebeziumVersion: tc.version})
		if err != nil {
			t.Fatal(err)
		}
		if p, _ := l.Conn.Get("sslmode"); p.Text != tc.sslmode {
			t.Errorf("Debezium %q: sslmode %q, want %q", tc.version, p.Text, tc.sslmode)
		}
	}
	for _, bad := range []string{"1.9", "4.0", "three"} {
		if _, err := Load(path, Options{DebeziumVersion: bad}); err == nil {
			t.Errorf("version %q accepted", bad)
		}
	}
}

func TestValidation(t *testing.T) {
	base := map[string]string{
		"connector.class": "io.debezium.connector.postgresql.PostgresConnector", "database.hostname": "db",
		"database.user": "u", "database.dbname": "d", "topic.prefix": "p",
	}
	problems := func(version string, extra map[string]string, drop ...string) []facts.ConnectorProblem {
		c := &Config{Format: FormatJSON, Flavour: "debezium", Props: map[string]Value{}}
		for k, v := range base {
			if !slices.Contains(drop, k) {
				c.put(k, Value{Key: k, Text: v})
			}
		}
		for k, v := range extra {
			c.put(k, Value{Key: k, Text: v})
		}
		v, err := ParseVersion(version)
		if err != nil {
			t.Fatal(err)
		}
		return Resolve(c, v).Connector.Problems
	}
	has := func(ps []facts.ConnectorProblem, prop, text string, rejected bool) bool {
		return slices.ContainsFunc(ps, func(p facts.ConnectorProblem) bool {
			return p.Property == prop && strings.Contains(p.Message, text) && p.Rejected == rejected
		})
	}
	if ps := problems("", nil); len(ps) != 0 {
		t.Errorf("a minimal valid config: %+v", ps)
	}
	for _, tc := range []struct {
		version  string
		extra    map[string]string
		drop     []string
		prop     string
		text     string
		rejected bool
	}{
		{"", nil, []string{"topic.prefix"}, "topic.prefix", "A value is required", true},
		{"", map[string]string{"database.server.name": "x"}, []string{"topic.prefix"}, "topic.prefix", "database.server.name", true},
		{"", map[string]string{"database.hostname": "db host"}, nil, "database.hostname", "invalid format", true},
		{"", map[string]string{"slot.name": "My-Slot"}, nil, "slot.name", "lowercase", true},
		{"", map[string]string{"plugin.name": "wal2json"}, nil, "plugin.name", "Value must be one of", true},
		{"", map[string]string{"snapshot.mode": "never"}, nil, "snapshot.mode", "Value must be one of", true},
		{"3.2", map[string]string{"snapshot.mode": "never"}, nil, "", "", false},
		{"2.7", map[string]string{"publication.autocreate.mode": "no_tables"}, nil, "publication.autocreate.mode", "Value must be one of", true},
		{"2.2", map[string]string{"database.sslmode": "prefer"}, nil, "database.sslmode", "Value must be one of", true},
		{"", map[string]string{"table.include.list": "a", "table.exclude.list": "b"}, nil, "table.exclude.list", "already specified", true},
		{"", map[string]string{"table.include.list": "public.(orders"}, nil, "table.include.list", "valid regular expressions", true},
		{"", map[string]string{"replica.identity.autoset.values": "public.t:FULLISH"}, nil, "replica.identity.autoset.values", "invalid format", true},
		{"2.2", map[string]string{"replica.identity.autoset.values": "public.t:FULL"}, nil, "replica.identity.autoset.values", "ignored", false},
		{"", map[string]string{"signal.data.collection": "a.s,b.s"}, nil, "signal.data.collection", "only one", true},
		{"", map[string]string{"table.whitelist": "a"}, nil, "table.whitelist", "ignored", false},
		{"2.6", map[string]string{"read.only": "true"}, nil, "read.only", "ignored", false},
	} {
		ps := problems(tc.version, tc.extra, tc.drop...)
		if tc.prop == "" {
			if len(ps) != 0 {
				t.Errorf("%v on %q: %+v", tc.extra, tc.version, ps)
			}
			continue
		}
		if !has(ps, tc.prop, tc.text, tc.rejected) {
			t.Errorf("%v (drop %v) on %q: want %s %q rejected=%v, got %+v", tc.extra, tc.drop, tc.version, tc.prop, tc.text, tc.rejected, ps)
		}
	}
}

func TestSplitList(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
	}{
		{"a,b", []string{"a", "b"}},
		{" a , b ,", []string{"a", "b"}},
		{`a\,b,c`, []string{"a,b", "c"}},
		{`a\\,b`, []string{`a\\`, "b"}},
		{"a, ,b", []string{"a", "", "b"}},
		{"", nil},
		{`x\.y{1\,2}`, []string{`x\.y{1,2}`}},
	} {
		got, err := SplitList(tc.in)
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("SplitList(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
	if _, err := SplitList(`a\`); err == nil {
		t.Error("a trailing backslash is an error")
	}
}

func TestScope(t *testing.T) {
	cands := []Candidate{
		{Schema: "public", Name: "orders"}, {Schema: "public", Name: "Orders"}, {Schema: "public", Name: "order items"},
		{Schema: "Sales", Name: "t1"}, {Schema: "sales", Name: "tmp_x"}, {Schema: "public", Name: "spatial_ref_sys"},
		{Schema: "ops", Name: "dbz_signal"}, {Schema: "public", Name: "measurements", Partitioned: true},
	}
	for _, tc := range []struct {
		name     string
		c        facts.Connector
		captured []string
		unused   []string
	}{
		{"no filters: all but system tables", facts.Connector{},
			[]string{"public.orders", "public.Orders", "public.order items", "Sales.t1", "sales.tmp_x", "ops.dbz_signal", "public.measurements"}, nil},
		{"case-insensitive, whole-name", facts.Connector{Filters: facts.ConnectorFilters{TableInclude: `public\.orders,public\.order.*,nomatch\..*`}},
			[]string{"public.orders", "public.Orders", "public.order items"}, []string{"nomatch\\..*"}},
		{"schema AND table", facts.Connector{Filters: facts.ConnectorFilters{SchemaInclude: "sales", TableExclude: `.*\.tmp_.*`}},
			[]string{"Sales.t1"}, nil},
		{"the signal table is added", facts.Connector{SignalCollection: "ops.dbz_signal", Filters: facts.ConnectorFilters{SchemaInclude: "public"}},
			[]string{"public.orders", "public.Orders", "public.order items", "public.measurements", "ops.dbz_signal"}, nil},
		{"builtin kept", facts.Connector{Filters: facts.ConnectorFilters{TableInclude: `.*spatial.*`, KeepBuiltin: true}},
			[]string{"public.spatial_ref_sys"}, nil},
		{"Debezium 2.0 lists no partitioned table", facts.Connector{Version: "2.0", Filters: facts.ConnectorFilters{SchemaInclude: "public"}},
			[]string{"public.orders", "public.Orders", "public.order items"}, nil},
	} {
		s, errs := NewScope(&tc.c)
		if len(errs) > 0 {
			t.Fatalf("%s: %v", tc.name, errs)
		}
		refs, scope := s.Resolve(cands)
		var got []string
		for _, r := range refs {
			got = append(got, r.Schema+"."+r.Table)
		}
		slices.Sort(got)
		want := slices.Clone(tc.captured)
		slices.Sort(want)
		if !slices.Equal(got, want) || scope.Captured != len(want) {
			t.Errorf("%s: captured %q, want %q", tc.name, got, want)
		}
		var unused []string
		for _, p := range scope.Patterns {
			if !p.Matched {
				unused = append(unused, p.Pattern)
			}
		}
		if !slices.Equal(unused, tc.unused) {
			t.Errorf("%s: patterns matching nothing %q, want %q", tc.name, unused, tc.unused)
		}
	}
	_, errs := NewScope(&facts.Connector{Filters: facts.ConnectorFilters{TableInclude: `public\.a,(?=x)y`}})
	if len(errs) != 1 || errs[0].Invalid() || errs[0].Pattern != "(?=x)y" {
		t.Errorf("an unsupported pattern is reported: %v", errs)
	}
}

func TestTopicName(t *testing.T) {
	for _, tc := range []struct {
		prefix, schema, table, want string
		changed                     bool
	}{
		{"shop", "public", "orders", "shop.public.orders", false},
		{"shop", "public", "my table", "shop.public.my_table", true},
		{"shop", "public", "my$table", "shop.public.my_table", true},
		{"shop", "public", "Café", "shop.public.Caf_", true},
		{"shop", "public", "x😀", "shop.public.x__", true},
		{"shop", "public", strings.Repeat("a", 300), "shop.public." + strings.Repeat("a", MaxTopicLength-len("shop.public.")), true},
	} {
		got, changed := TopicName(tc.prefix, ".", tc.schema, tc.table)
		if got != tc.want || changed != tc.changed {
			t.Errorf("TopicName(%q, %q, %q) = %q %v, want %q %v", tc.prefix, tc.schema, tc.table, got, changed, tc.want, tc.changed)
		}
	}
}

func TestParseTableID(t *testing.T) {
	for in, want := range map[string]TableID{
		"public.sig":          {Schema: "public", Table: "sig", Parts: 2},
		`"My.Schema"."Sig"`:   {Schema: "My.Schema", Table: "Sig", Parts: 2},
		"db.public.sig":       {Catalog: "db", Schema: "public", Table: "sig", Parts: 3},
		"sig":                 {Table: "sig", Parts: 1},
		`"a""b".c`:            {Schema: `a"b`, Table: "c", Parts: 2},
		"public.dbz_signal  ": {Schema: "public", Table: "dbz_signal", Parts: 2},
	} {
		got, ok := ParseTableID(in)
		if !ok || got != want {
			t.Errorf("ParseTableID(%q) = %+v %v, want %+v", in, got, ok, want)
		}
	}
}

func TestReplicaIdentityEntries(t *testing.T) {
	rs := ParseReplicaIdentity("public.orders:FULL, public.items:INDEX items_uk,sales.*:full,bad")
	if len(rs) != 3 || rs[0].SQL() != "FULL" || rs[1].SQL() != "USING INDEX items_uk" || rs[2].Upper() || !rs[0].Upper() {
		t.Errorf("%+v", rs)
	}
}

func TestHeartbeatTable(t *testing.T) {
	for q, want := range map[string][2]string{
		"INSERT INTO inventory.debezium_heartbeat (id) VALUES (1)": {"INSERT", "inventory.debezium_heartbeat"},
		`update ONLY "Ops"."Heart Beat" set ts = now()`:            {"UPDATE", `"Ops"."Heart Beat"`},
		"  insert into hb values (now())":                          {"INSERT", "hb"},
		`DELETE FROM public . hb`:                                  {"DELETE", "public.hb"},
	} {
		verb, name, ok := HeartbeatTable(q)
		if !ok || verb != want[0] || name != want[1] {
			t.Errorf("%q: %q %q %v", q, verb, name, ok)
		}
	}
	for _, q := range []string{"SELECT pg_logical_emit_message(false, 'hb', 'x')", "WITH x AS (SELECT 1) INSERT INTO t SELECT * FROM x"} {
		if _, _, ok := HeartbeatTable(q); ok {
			t.Errorf("%q names no table", q)
		}
	}
}

// BenchmarkResolve matches 100,000 candidate tables against include and
// exclude lists in one pass:
//
//	go test ./internal/connector -run '^$' -bench Resolve -benchmem
func BenchmarkResolve(b *testing.B) {
	cands := make([]Candidate, 100000)
	for i := range cands {
		cands[i] = Candidate{Schema: fmt.Sprintf("tenant_%d", i/100), Name: fmt.Sprintf("table_%d", i)}
	}
	for _, f := range []facts.ConnectorFilters{
		{},
		{TableInclude: `tenant_0\.table_7,tenant_50\.table_5007,tenant_100\.table_10007,tenant_150\.table_15007,tenant_200\.table_20007,tenant_250\.table_25007,tenant_300\.table_30007,tenant_350\.table_35007,tenant_400\.table_40007,tenant_450\.table_45007,tenant_500\.table_50007,tenant_550\.table_55007,tenant_600\.table_60007,tenant_650\.table_65007,tenant_700\.table_70007,tenant_750\.table_75007,tenant_800\.table_80007,tenant_850\.table_85007,tenant_900\.table_90007,tenant_950\.table_95007`},
		{TableInclude: `tenant_\d+\.table_\d*7`},
		{SchemaInclude: `tenant_1.*,tenant_2.*`, TableExclude: `.*\.table_\d*(3|5),.*audit.*,.*tmp.*`},
	} {
		s, errs := NewScope(&facts.Connector{Filters: f, SignalCollection: "ops.signal"})
		if len(errs) > 0 {
			b.Fatal(errs)
		}
		name := fmt.Sprintf("include=%q/exclude=%q", f.SchemaInclude+f.TableInclude, f.TableExclude)
		if len(name) > 80 {
			name = name[:60] + "…"
		}
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				s, _ := NewScope(&facts.Connector{Filters: f, SignalCollection: "ops.signal"})
				s.Resolve(cands)
			}
		})
		_ = s
	}
}

// TestPropertiesLatin1: Kafka reads a connector .properties file as
// ISO-8859-1; Debezium Server's application.properties is UTF-8.
func TestPropertiesLatin1(t *testing.T) {
	dir := t.TempDir()
	base := "connector.class=io.debezium.connector.postgresql.PostgresConnector\ntable.include.list=public.café\n"
	plain := filepath.Join(dir, "c.properties")
	server := filepath.Join(dir, "application.properties")
	if err := os.WriteFile(plain, []byte(base), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(server, []byte(strings.ReplaceAll(base, "connector.class", "debezium.source.connector.class")+
		"debezium.source.table.exclude.list=public.thé\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := ReadFile(plain)
	if err != nil || c.Props["table.include.list"].Text != "public.cafÃ©" || len(c.Notes) != 1 || !strings.Contains(c.Notes[0], "ISO-8859-1") {
		t.Errorf("connect-standalone: %q, notes %q, %v", c.Props["table.include.list"].Text, c.Notes, err)
	}
	c, err = ReadFile(server)
	if err != nil || c.Props["table.exclude.list"].Text != "public.thé" || len(c.Notes) != 0 {
		t.Errorf("Debezium Server: %q, notes %q, %v", c.Props["table.exclude.list"].Text, c.Notes, err)
	}
}
