package cli

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/cdcpreflight/cdcpreflight/internal/pglocal"
	"github.com/cdcpreflight/cdcpreflight/internal/pgtest"
	"github.com/cdcpreflight/cdcpreflight/internal/sqlident"
)

// connectorDB is a database with a few tables and a connector role that
// logs in with the secret password over TLS.
func connectorDB(t *testing.T) (c *pglocal.Cluster, db, user string) {
	t.Helper()
	c = pgtest.ClusterWith(t, "connector-cli", pglocal.Options{TLS: true})
	db = pgtest.NewDatabase(t, c)
	user = pgtest.UniqueName(t, "cdc")
	q := sqlident.Quote(user)
	pgtest.Exec(t, c, db, fmt.Sprintf(`CREATE ROLE %s LOGIN REPLICATION PASSWORD %s;
CREATE TABLE public.orders (id int PRIMARY KEY, total int);
CREATE TABLE public.customers (id int PRIMARY KEY, email text);
CREATE TABLE public.audit_log (id int PRIMARY KEY);
GRANT SELECT ON ALL TABLES IN SCHEMA public TO %s;`, q, sqlident.Literal(secret), q))
	return c, db, user
}

// TestConnectorExamplesOnRealDatabase judges a real database with every
// example of testdata/connectors, the DSN overriding the files' hosts:
// each is read, its rules run, and nothing is left unjudged for want of a
// fact.
func TestConnectorExamplesOnRealDatabase(t *testing.T) {
	c, db, user := connectorDB(t)
	dsn := c.DSN(user, secret, db, "require")
	entries, err := os.ReadDir(connectorExamples)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		n++
		t.Run(e.Name(), func(t *testing.T) {
			outArgs, files := allOutputs(t)
			r := run(t, nil, append([]string{"check", "--connector-config", filepath.Join(connectorExamples, e.Name()), "--dsn", dsn}, outArgs...)...)
			rep := decodeReport(t, mustRead(t, files[0]))
			if r.code == 2 || rep.Summary.Error != 0 {
				for _, res := range rep.Results {
					if res.Status == "error" {
						t.Errorf("%s = error: %s", res.Rule, res.Message)
					}
				}
				t.Fatalf("exit %d\n%s", r.code, r.stderr)
			}
			if s := statusOf(rep, "connector-config"); s == "skip" || s == "missing" {
				t.Errorf("connector-config = %s", s)
			}
			if rep.CaptureScope == nil || rep.CaptureScope.Candidates < 3 {
				t.Errorf("capture scope %+v", rep.CaptureScope)
			}
			assertNoSecret(t, r, files...)
		})
	}
	if n < 7 {
		t.Errorf("only %d examples", n)
	}
}

// TestConnectorConnectionFromFile: host, port, database, user and sslmode
// come from the file; the password from --password-env or a prompt.
func TestConnectorConnectionFromFile(t *testing.T) {
	c, db, user := connectorDB(t)
	cfg := writeFile(t, "c.properties", fmt.Sprintf(`connector.class=io.debezium.connector.postgresql.PostgresConnector
database.hostname=%s
database.port=%d
database.user=%s
database.password=${file:/etc/kafka/secrets.properties:password}
database.dbname=%s
database.sslmode=require
topic.prefix=app
plugin.name=pgoutput
table.include.list=public\\.(orders|customers)
`, c.Host, c.Port, user, db))
	outArgs, files := allOutputs(t)
	r := run(t, map[string]string{"DB_PW": secret}, append([]string{"check", "--connector-config", cfg, "--password-env", "DB_PW"}, outArgs...)...)
	rep := decodeReport(t, mustRead(t, files[0]))
	if rep.Target.Host != c.Host || int(rep.Target.Port) != c.Port || rep.Target.Database != db || rep.Target.User != user {
		t.Errorf("target %+v", rep.Target)
	}
	if statusOf(rep, "ssl") != "pass" || statusOf(rep, "database-connect") != "pass" || r.code == 2 {
		t.Errorf("exit %d, ssl %s, database-connect %s\n%s", r.code, statusOf(rep, "ssl"), statusOf(rep, "database-connect"), r.stderr)
	}
	if got := rep.CaptureScope; got == nil || strings.Join(got.Captured, ",") != "public.customers,public.orders" || strings.Join(got.NotCaptured, ",") != "public.audit_log" {
		t.Errorf("capture scope %+v", got)
	}
	assertNoSecret(t, r, files...)

	// No --password-env: a terminal is asked, once, without echo.
	var out, errOut bytes.Buffer
	term := &countingTerminal{fakeTerminal: fakeTerminal{secrets: []string{secret}}}
	code := RunEnv([]string{"check", "--connector-config", cfg, "-o", "json"}, Env{
		Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errOut, Getenv: func(string) string { return "" }, Terminal: term,
	})
	if code == 2 || term.asked != 1 || !strings.Contains(errOut.String(), "Password for "+user+"@"+c.Host+":"+strconv.Itoa(c.Port)) {
		t.Errorf("prompt: exit %d, asked %d, stderr %q", code, term.asked, errOut.String())
	}
	if strings.Contains(out.String()+errOut.String(), secret) {
		t.Error("the prompted password appears in the output")
	}
}

// countingTerminal is fakeTerminal that counts the questions.
type countingTerminal struct {
	fakeTerminal
	asked int
}

func (c *countingTerminal) ReadSecret() (string, error) {
	c.asked++
	return c.fakeTerminal.ReadSecret()
}

// TestConnectorPoolerHost: pooler-hostname judges the host the file names.
func TestConnectorPoolerHost(t *testing.T) {
	cfg := writeFile(t, "c.json", `{"connector.class": "io.debezium.connector.postgresql.PostgresConnector",
  "database.hostname": "ep-cool-darkness-123456-pooler.us-east-2.aws.neon.invalid", "database.user": "u", "database.dbname": "app",
  "topic.prefix": "app", "plugin.name": "pgoutput"}`)
	r := run(t, map[string]string{"PGCONNECT_TIMEOUT": "3"}, "check", "--connector-config", cfg, "-o", "json")
	rep := decodeReport(t, r.stdout)
	if r.code != 2 || statusOf(rep, "pooler-hostname") != "fail" || rep.Target.Host != "ep-cool-darkness-123456-pooler.us-east-2.aws.neon.invalid" {
		t.Errorf("exit %d, pooler-hostname %s, target %+v", r.code, statusOf(rep, "pooler-hostname"), rep.Target)
	}
}

// TestConnectorUnevaluablePattern: a Java construct Go cannot reproduce
// leaves the scope unknown, said clearly, exit 2: it is never guessed.
func TestConnectorUnevaluablePattern(t *testing.T) {
	c, db, user := connectorDB(t)
	cfg := writeFile(t, "c.json", `{"connector.class": "io.debezium.connector.postgresql.PostgresConnector",
  "database.hostname": "h", "database.user": "u", "database.dbname": "d", "topic.prefix": "app", "plugin.name": "pgoutput",
  "table.include.list": "public\\.(?!audit).*"}`)
	r := run(t, nil, "check", "--connector-config", cfg, "--dsn", c.DSN(user, secret, db, "require"), "-o", "json", "-o", "table")
	if r.code != 2 || !strings.Contains(r.stdout, "look-ahead groups have no RE2 equivalent") || !strings.Contains(r.stdout, "Capture scope of") {
		t.Errorf("exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
}

// TestConnectorVerbose lists the tables left out under the table.
func TestConnectorVerbose(t *testing.T) {
	c, db, user := connectorDB(t)
	cfg := writeFile(t, "c.json", `{"connector.class": "io.debezium.connector.postgresql.PostgresConnector",
  "database.hostname": "h", "database.user": "u", "database.dbname": "d", "topic.prefix": "app", "plugin.name": "pgoutput",
  "table.include.list": "public\\.orders,public\\.nothing_here"}`)
	dsn := c.DSN(user, secret, db, "require")
	r := run(t, nil, "check", "--connector-config", cfg, "--dsn", dsn, "--no-color")
	if !strings.Contains(r.stdout, "1 of 3 tables captured") || !strings.Contains(r.stdout, `table.include.list public\.nothing_here`) ||
		strings.Contains(r.stdout, "public.audit_log") {
		t.Errorf("without --verbose:\n%s", r.stdout)
	}
	r = run(t, nil, "check", "--connector-config", cfg, "--dsn", dsn, "--no-color", "--verbose")
	if !strings.Contains(r.stdout, "Not captured:\n    public.audit_log") {
		t.Errorf("with --verbose:\n%s", r.stdout)
	}
}

// secretPlaces are, per format, a configuration with the secret in every
// place the format can hold one: the password, the TLS key's passphrase,
// SASL credentials, a token of some other component, a Terraform
// variable's default and a provider's secret.
func secretPlaces(host string, port int, db, user string) map[string]string {
	conn := fmt.Sprintf(`"database.hostname": %q, "database.port": "%d", "database.dbname": %q, "database.user": %q`, host, port, db, user)
	secretProps := map[string]string{
		"database.password": secret, "database.sslpassword": secret,
		"producer.override.sasl.jaas.config": `org.apache.kafka.common.security.plain.PlainLoginModule required username="u" password="` + secret + `";`,
		"transforms.x.api.token":             secret,
	}
	var jsonProps, props, yamlProps, server []string
	for k, v := range secretProps {
		jsonProps = append(jsonProps, fmt.Sprintf("%q: %q", k, v))
		props = append(props, k+"="+v)
		yamlProps = append(yamlProps, fmt.Sprintf("    %s: %q", k, v))
		server = append(server, "debezium.source."+k+"="+v)
	}
	common := `"connector.class": "io.debezium.connector.postgresql.PostgresConnector", "topic.prefix": "app", "plugin.name": "pgoutput", ` + conn
	plain := func(sep string) string {
		return strings.Join([]string{"connector.class=io.debezium.connector.postgresql.PostgresConnector", "topic.prefix=app", "plugin.name=pgoutput",
			"database.hostname=" + host, "database.port=" + strconv.Itoa(port), "database.dbname=" + db, "database.user=" + user}, sep)
	}
	return map[string]string{
		"rest.json":    `{"name": "c", "config": {` + common + ", " + strings.Join(jsonProps, ", ") + `}}`,
		"map.json":     `{` + common + ", " + strings.Join(jsonProps, ", ") + `}`,
		"c.properties": plain("\n") + "\n" + strings.Join(props, "\n") + "\n",
		"strimzi.yaml": "apiVersion: kafka.strimzi.io/v1beta2\nkind: KafkaConnector\nmetadata:\n  name: c\nspec:\n  class: io.debezium.connector.postgresql.PostgresConnector\n  config:\n" +
			fmt.Sprintf("    topic.prefix: app\n    plugin.name: pgoutput\n    database.hostname: %q\n    database.port: %d\n    database.dbname: %q\n    database.user: %q\n", host, port, db, user) +
			strings.Join(yamlProps, "\n") + "\n",
		"application.properties": "debezium.sink.type=kafka\ndebezium.sink.kafka.producer.sasl.jaas.config=password=\"" + secret + "\"\n" +
			"quarkus.datasource.password=" + secret + "\n" + "debezium.source." + plain("\ndebezium.source.") + "\n" +
			strings.Join(server, "\n") + "\n",
		"source.tf": fmt.Sprintf(`provider "streamkap" {
  client_secret = %q
}
variable "db_password" {
  default   = %q
  sensitive = true
}
resource "streamkap_source_postgresql" "c" {
  database_hostname   = %q
  database_port       = %d
  database_user       = %q
  database_password   = %q
  database_dbname     = %q
  database_sslmode    = "require"
  schema_include_list = "public"
  table_include_list  = "public.orders"
  snapshot_read_only  = "Yes"
}
`, secret, secret, host, port, user, secret, db),
		"api.json": fmt.Sprintf(`{"name": "c", "connector": "postgresql", "config": {"database.hostname.user.defined": %q, "database.port.user.defined": %d,
  "database.user": %q, "database.password": %q, "database.dbname": %q, "database.sslmode": "require", "schema.include.list": "public",
  "table.include.list.user.defined": "public.orders", "snapshot.read.only.user.defined": "Yes", "ssh.private.key": %q}}`, host, port, user, secret, db, secret),
	}
}

// TestConnectorSecretsNeverPrinted: no secret from a configuration file,
// in any format and any place, appears in stdout, stderr or any report,
// whether the file is read, refused or judged against a real database.
func TestConnectorSecretsNeverPrinted(t *testing.T) {
	c, db, user := connectorDB(t)
	for name, content := range secretPlaces(c.Host, c.Port, db, user) {
		t.Run(name, func(t *testing.T) {
			path := writeFile(t, name, content)
			// Judged: the password comes from the environment, never the file.
			outArgs, files := allOutputs(t)
			r := run(t, map[string]string{"PW": secret}, append([]string{"check", "--connector-config", path, "--password-env", "PW", "--verbose"}, outArgs...)...)
			if r.code == 2 {
				t.Errorf("exit 2:\n%s\n%s", r.stdout, r.stderr)
			}
			assertNoSecret(t, r, files...)
			// Refused: the same file, broken on the secret's line.
			broken := writeFile(t, "broken-"+name, strings.Replace(content, secret, secret+`\uZZ"{[`, 1))
			r = run(t, nil, "check", "--connector-config", broken, "--dsn", "host=203.0.113.1 connect_timeout=1")
			if r.code != 2 {
				t.Logf("the broken file still reads (exit %d)", r.code)
			}
			assertNoSecret(t, r)
		})
	}
}

// TestConnectorFactsOffline: a snapshot saved with a connector
// configuration is judged offline to the same verdicts, the configuration
// and the capture scope being facts.
func TestConnectorFactsOffline(t *testing.T) {
	c, db, user := connectorDB(t)
	cfg := filepath.Join(connectorExamples, "kafka-connect-rest.json")
	saved := filepath.Join(t.TempDir(), "facts.json")
	live := run(t, nil, "check", "--connector-config", cfg, "--dsn", c.DSN(user, secret, db, "require"), "-o", "json", "--save-facts", saved)
	offline := run(t, nil, "check", "--facts", saved, "-o", "json")
	if live.code != offline.code {
		t.Errorf("exit %d live, %d offline", live.code, offline.code)
	}
	a, b := decodeReport(t, live.stdout), decodeReport(t, offline.stdout)
	for _, r := range a.Results {
		if got := statusOf(b, r.Rule); got != string(r.Status) {
			t.Errorf("%s: %s live, %s offline", r.Rule, r.Status, got)
		}
	}
	if b.CaptureScope == nil || b.CaptureScope.Candidates != a.CaptureScope.Candidates {
		t.Errorf("capture scope offline %+v", b.CaptureScope)
	}
	if strings.Contains(mustRead(t, saved), secret) {
		t.Error("the saved facts hold the password")
	}
}

// TestConnectorSSHTunnelFromTerraform: a Streamkap source with ssh_enabled
// takes the check through its bastion (host, port and user from the file;
// the key and host key from the flags); with an unresolved ssh_host it says
// which flag to give and connects directly.
func TestConnectorSSHTunnelFromTerraform(t *testing.T) {
	b := newBastion(t, pglocal.SSHDOptions{})
	c, db, user := connectorDB(t)
	tf := writeFile(t, "source.tf", fmt.Sprintf(`resource "streamkap_source_postgresql" "app" {
  database_hostname   = "localhost"
  database_port       = %d
  database_user       = %q
  database_password   = var.db_password
  database_dbname     = %q
  database_sslmode    = "require"
  schema_include_list = "public"
  table_include_list  = "public.orders"
  snapshot_read_only  = "Yes"
  ssh_enabled         = true
  ssh_host            = %q
  ssh_port            = "%d"
  ssh_user            = %q
}`, c.Port, user, db, b.sshd.Host, b.sshd.Port, b.sshd.User))
	target := "localhost:" + strconv.Itoa(c.Port)
	before := b.channels(target)
	env := b.env()
	env["PW"] = secret
	outArgs, files := allOutputs(t)
	r := run(t, env, append([]string{"check", "--connector-config", tf, "--password-env", "PW", "--ssh-key", b.keyFile,
		"--ssh-known-hosts", b.knownHosts}, outArgs...)...)
	rep := decodeReport(t, mustRead(t, files[0]))
	if statusOf(rep, "ssh-tunnel") != "pass" || statusOf(rep, "database-connect") != "pass" || b.channels(target)-before < 2 {
		t.Errorf("exit %d, ssh-tunnel %s, database-connect %s, %d channels\n%s", r.code, statusOf(rep, "ssh-tunnel"),
			statusOf(rep, "database-connect"), b.channels(target)-before, r.stderr)
	}
	if !strings.Contains(r.stderr, "the check goes through "+b.sshd.User+"@") {
		t.Errorf("stderr: %s", r.stderr)
	}
	b.assertNoKeyMaterial(t, r, files...)

	// The example's ssh_host is a variable: the flag it takes is named.
	opt, err := newCheckFlags("check", nil).resolve([]string{"--connector-config", filepath.Join(connectorExamples, "streamkap-source.tf")},
		Env{Getenv: func(string) string { return "" }, Stderr: &bytes.Buffer{}})
	if err != nil || opt.SSH.Enabled() {
		t.Errorf("an unresolved ssh_host: %v, ssh %+v", err, opt.SSH)
	}
}
