package cli

import (
	"maps"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cdcpreflight/cdcpreflight/internal/connector"
)

const connectorExamples = "../../testdata/connectors"

func TestDSNParams(t *testing.T) {
	for dsn, want := range map[string]map[string]string{
		"": {},
		"postgres://u:p%40ss@h:6543/db?sslmode=require": {"user": "u", "password": "p@ss", "host": "h", "port": "6543", "dbname": "db", "sslmode": "require"},
		"host=h port=1 dbname='my db' user=u":           {"host": "h", "port": "1", "dbname": "my db", "user": "u"},
		`password='it\'s' sslmode = disable`:            {"password": "it's", "sslmode": "disable"},
		"postgresql:///app":                             {"dbname": "app"},
	} {
		got, err := dsnParams(dsn)
		if err != nil || !maps.Equal(got, want) {
			t.Errorf("dsnParams(%q) = %v, %v; want %v", dsn, got, err, want)
		}
	}
	if _, err := dsnParams("host=h password='unterminated"); err == nil || strings.Contains(err.Error(), "unterminated") {
		t.Errorf("an unclosed quote: %v (the error must not repeat the value)", err)
	}
}

func TestConnectorDSN(t *testing.T) {
	l, err := connector.Load(filepath.Join(connectorExamples, "kafka-connect-rest.json"), connector.Options{})
	if err != nil {
		t.Fatal(err)
	}
	noEnv := Env{Getenv: func(string) string { return "" }}
	dsn, err := connectorDSN("", l, noEnv)
	if err != nil || dsn != "dbname='inventory' host='db.internal.example' port='5432' sslmode='require' user='debezium'" {
		t.Errorf("the file's connection: %q, %v", dsn, err)
	}
	dsn, err = connectorDSN("postgres://admin:pw@127.0.0.1:6000/inventory?sslmode=disable", l, noEnv)
	if err != nil || dsn != "dbname='inventory' host='127.0.0.1' password='pw' port='6000' sslmode='disable' user='admin'" {
		t.Errorf("the DSN overrides the file: %q, %v", dsn, err)
	}

	// A host that is a reference: PGHOST gives it, or the run stops.
	path := writeFile(t, "c.json", `{"connector.class": "io.debezium.connector.postgresql.PostgresConnector",
  "database.hostname": "${env:DB_HOST}", "database.user": "u", "database.dbname": "d", "topic.prefix": "p"}`)
	l, err = connector.Load(path, connector.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := connectorDSN("", l, noEnv); err == nil || !strings.Contains(err.Error(), path+":2") || !strings.Contains(err.Error(), "--dsn") {
		t.Errorf("an unresolved host: %v", err)
	}
	withHost := Env{Getenv: func(k string) string { return map[string]string{"PGHOST": "db"}[k] }}
	if dsn, err := connectorDSN("", l, withHost); err != nil || strings.Contains(dsn, "host=") {
		t.Errorf("PGHOST stands in for the unresolved host: %q, %v", dsn, err)
	}
	if dsn, err := connectorDSN("host=db2", l, noEnv); err != nil || !strings.Contains(dsn, "host='db2'") {
		t.Errorf("--dsn stands in for the unresolved host: %q, %v", dsn, err)
	}
}

// TestConnectorConfigErrors: a configuration that cannot be used stops the
// run before anything connects, exit 2, with the file and the line.
func TestConnectorConfigErrors(t *testing.T) {
	nowhere := "host=203.0.113.1 connect_timeout=1 user=u dbname=d"
	for name, line := range map[string]string{
		"kafka-connect-rest.json": ":7:", "config-map.json": ":4:", "connector.properties": ":4:",
		"strimzi-kafkaconnector.yaml": ":9:", "debezium-server.properties": ":4:", "streamkap-source.tf": ":1:",
		"streamkap-api.json": ":7:",
	} {
		path := filepath.Join(connectorExamples, "malformed", name)
		r := run(t, nil, "check", "--connector-config", path, "--dsn", nowhere, "-o", "json")
		if r.code != 2 || !strings.Contains(r.stderr, path+line) || r.stdout != "" || strings.Contains(r.stderr, "could not connect") {
			t.Errorf("%s: exit %d, stdout %q, stderr %q", name, r.code, r.stdout, r.stderr)
		}
		if strings.Contains(r.stderr, "s3cr3t") {
			t.Errorf("%s: the secret in the broken file is repeated: %s", name, r.stderr)
		}
	}
	mysql := writeFile(t, "mysql.json", `{"name": "m", "config": {"connector.class": "io.debezium.connector.mysql.MySqlConnector"}}`)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--connector-config", mysql}, "not Debezium's PostgreSQL connector"},
		{[]string{"--connector-config", filepath.Join(connectorExamples, "missing.json")}, "read connector config"},
		{[]string{"--debezium-version", "3.6"}, "--debezium-version applies to a connector configuration"},
		{[]string{"--connector-config", filepath.Join(connectorExamples, "config-map.json"), "--debezium-version", "1.9"}, "1.x is not supported"},
		{[]string{"--connector-config", filepath.Join(connectorExamples, "config-map.json"), "--facts", demoFacts}, "does not apply to --facts"},
		{[]string{"--password-env", "CDCPREFLIGHT_TEST_UNSET"}, "--password-env CDCPREFLIGHT_TEST_UNSET: the variable is not set"},
	} {
		r := run(t, nil, append([]string{"check", "--dsn", nowhere}, tc.args...)...)
		if r.code != 2 || !strings.Contains(r.stderr, tc.want) || strings.Contains(r.stderr, "could not connect") {
			t.Errorf("%v: exit %d, stderr %q", tc.args, r.code, r.stderr)
		}
	}
}

// TestConnectorConfigFlagsOverride: names a flag or the YAML config gives
// win over the file's; the others are the file's.
func TestConnectorConfigFlagsOverride(t *testing.T) {
	cf := newCheckFlags("check", nil)
	yml := writeFile(t, "c.yml", "publication: from_yaml\n")
	opt, err := cf.resolve([]string{"--connector-config", filepath.Join(connectorExamples, "kafka-connect-rest.json"),
		"--config", yml, "--slot", "from_flag", "--dsn", "host=h"}, Env{Getenv: func(string) string { return "" }})
	if err != nil {
		t.Fatal(err)
	}
	e := opt.Expect
	if e.Slot != "from_flag" || e.Publication != "from_yaml" || e.SignalSchema != "inventory" || e.SignalTable != "debezium_signal" {
		t.Errorf("slot %q publication %q signal %s.%s", e.Slot, e.Publication, e.SignalSchema, e.SignalTable)
	}
	if e.Connector == nil || e.Connector.AutocreateMode != "filtered" || !strings.Contains(opt.DSN, "host='h'") ||
		!strings.Contains(opt.DSN, "dbname='inventory'") {
		t.Errorf("connector %+v, dsn %q", e.Connector, opt.DSN)
	}
	opt, err = newCheckFlags("check", nil).resolve([]string{"--connector-config", filepath.Join(connectorExamples, "kafka-connect-rest.json"),
		"--tables", "public.t"}, Env{Getenv: func(string) string { return "" }})
	if err != nil || !opt.Expect.Connector.TablesOverridden {
		t.Errorf("--tables overrides the filters: %v", err)
	}
}
