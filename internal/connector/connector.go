// Package connector reads a CDC connector's own configuration — a Kafka
// Connect REST body or bare JSON map, a .properties file, a Strimzi
// KafkaConnector resource, a Debezium Server application.properties, a
// Streamkap PostgreSQL source as a Terraform resource or API JSON — into
// one model, applies the defaults of its flavour (Debezium or Streamkap)
// and Debezium version, re-runs Debezium's configuration validation
// offline, and maps it to what the rules judge (facts.Options and
// facts.Connector) and to the connection the connector makes.
//
// Loading is a function of a path and Options, with no state of its own,
// so that each target of a fleet can name its own file. Secrets in the
// file are never used and never repeated: the password comes from
// elsewhere (PGPASSWORD, .pgpass, --password-env, a prompt).
package connector

import (
	"fmt"
	"os"
	"regexp"
	"slices"
	"sort"
	"strings"
)

// Formats a configuration can come in; Config.Format is one of them.
const (
	FormatConnectREST    = "kafka-connect" // {"name": …, "config": {…}}
	FormatJSON           = "json"          // the bare config map
	FormatProperties     = "properties"    // connect-standalone's connector file
	FormatStrimzi        = "strimzi"       // a KafkaConnector resource
	FormatDebeziumServer = "debezium-server"
	FormatTerraform      = "terraform"     // streamkap_source_postgresql and its siblings
	FormatStreamkapAPI   = "streamkap-api" // the source's config as Streamkap's API holds it
)

// Value is one property as the file gives it.
type Value struct {
	// Key is the name as written in the file: a Debezium property, a
	// debezium.source. key, a Terraform attribute, a Streamkap backend key.
	Key  string
	Text string
	Line int
	// Unresolved: Text is a reference or an expression (${provider:…},
	// a Terraform variable) that cdcpreflight does not resolve.
	Unresolved bool
	// Secret: the value is never used, printed or kept.
	Secret bool
}

// Config is a connector configuration as read, before defaults.
type Config struct {
	Path    string
	Format  string
	Flavour string // facts.FlavourDebezium or facts.FlavourStreamkap
	Name    string // the connector's or resource's name, when the file gives one
	Line    int    // where the connector starts in the file
	// Props are keyed by Debezium property name (Streamkap's names are
	// mapped to them; keys Debezium does not have keep their own names).
	Props map[string]Value
	SSH   SSH
	// Notes are things about the file worth saying that are not errors:
	// keys read in a special way, encodings. They never hold a value.
	Notes []string
}

// SSH is the tunnel a Streamkap source connects through, when it has one:
// the bastion cdcpreflight would have to go through to reach the database
// as the connector does.
type SSH struct {
	Enabled bool
	Host    Value
	Port    Value
	User    Value
}

// FileError is a configuration file that cannot be read as a connector
// configuration: it names the file and, when known, the line.
type FileError struct {
	Path string
	Line int
	Msg  string
}

func (e *FileError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("connector config %s:%d: %s", e.Path, e.Line, e.Msg)
	}
	return fmt.Sprintf("connector config %s: %s", e.Path, e.Msg)
}

func fileErr(path string, line int, format string, a ...any) error {
	return &FileError{Path: path, Line: line, Msg: fmt.Sprintf(format, a...)}
}

// Parse reads a configuration from data, telling its format from the
// content. path names the file in errors.
func Parse(path string, data []byte) (*Config, error) {
	data = trimBOM(data)
	var c *Config
	var err error
	switch detect(data) {
	case FormatJSON:
		c, err = parseJSON(path, data)
	case FormatStrimzi:
		c, err = parseStrimzi(path, data)
	case FormatTerraform:
		c, err = parseTerraform(path, data)
	default:
		c, err = parseProperties(path, data)
	}
	if err != nil {
		return nil, err
	}
	c.Path = path
	if err := c.checkClass(); err != nil {
		return nil, err
	}
	c.markSecrets()
	return c, nil
}

// ReadFile reads and parses the configuration at path.
func ReadFile(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read connector config: %w", err)
	}
	return Parse(path, data)
}

func trimBOM(b []byte) []byte {
	if len(b) >= 3 && b[0] == 0xEF && b[1] == 0xBB && b[2] == 0xBF {
		return b[3:]
	}
	return b
}

var (
	jsonStart   = regexp.MustCompile(`^\s*\{`)
	strimziKind = regexp.MustCompile(`(?m)^\s*kind\s*:\s*["']?KafkaConnector["']?\s*(#.*)?$`)
	yamlDoc     = regexp.MustCompile(`(?m)^(apiVersion|kind|metadata|spec)\s*:`)
	hclBlock    = regexp.MustCompile(`(?m)^\s*(resource|variable|locals|provider|terraform|data|module|output)\b[^=\n]*\{`)
)

// detect tells the format from the content, not the file name: a JSON
// object, a KafkaConnector resource (or anything that looks like a YAML
// document of one), Terraform (a block header), else properties.
func detect(data []byte) string {
	switch {
	case jsonStart.Match(data):
		return FormatJSON
	case strimziKind.Match(data) || yamlDoc.Match(data):
		return FormatStrimzi
	case hclBlock.Match(data):
		return FormatTerraform
	}
	return FormatProperties
}

// PostgreSQL connector classes: Debezium's, by its full name (Kafka
// Connect also accepts the short class name and the alias).
var postgresClasses = []string{"io.debezium.connector.postgresql.PostgresConnector", "PostgresConnector", "Postgres"}

// checkClass refuses a connector that is not Debezium's PostgreSQL one.
func (c *Config) checkClass() error {
	if c.Flavour == "streamkap" {
		return nil
	}
	v, ok := c.Props["connector.class"]
	if !ok {
		return fileErr(c.Path, c.Line, "no connector.class: this does not look like a Kafka Connect connector configuration "+
			"(want a REST body {\"name\", \"config\"}, a config map, a .properties file, a Strimzi KafkaConnector, "+
			"a Debezium Server application.properties or a Streamkap Terraform resource)")
	}
	if v.Unresolved {
		return fileErr(c.Path, v.Line, "%s is a reference cdcpreflight does not resolve: it must name the PostgreSQL connector", v.Key)
	}
	if !slices.Contains(postgresClasses, strings.TrimSpace(v.Text)) {
		return fileErr(c.Path, v.Line, "%s is %s, not Debezium's PostgreSQL connector (%s): cdcpreflight judges PostgreSQL sources only",
			v.Key, strings.TrimSpace(v.Text), postgresClasses[0])
	}
	return nil
}

// secretKey: property names whose values are secrets, in any format.
var secretKey = regexp.MustCompile(`(?i)(password|passwd|secret|passphrase|jaas|credential|token|private[._-]?key|api[._-]?key)`)

func (c *Config) markSecrets() {
	for k, v := range c.Props {
		if secretKey.MatchString(k) || secretKey.MatchString(v.Key) {
			v.Secret = true
			c.Props[k] = v
		}
	}
}

// get returns a property's value.
func (c *Config) get(name string) (Value, bool) {
	v, ok := c.Props[name]
	return v, ok
}

// providerRef is Kafka's config provider placeholder ${provider:[path:]key}
// (ConfigTransformer's pattern). Debezium Server's application.properties
// expands ${…} expressions of its own (SmallRye Config), any of which is
// unresolved too.
var (
	providerRef = regexp.MustCompile(`\$\{[^}]*?:([^}]*?:)?[^}]*?\}`)
	anyExpr     = regexp.MustCompile(`\$\{[^}]*\}`)
)

// put stores a value read from the file, marking references.
func (c *Config) put(name string, v Value) {
	if c.Props == nil {
		c.Props = map[string]Value{}
	}
	ref := providerRef
	if c.Format == FormatDebeziumServer {
		ref = anyExpr
	}
	if ref.MatchString(v.Text) {
		v.Unresolved = true
	}
	c.Props[name] = v
}

// keys lists the property names, sorted.
func (c *Config) keys() []string {
	ks := make([]string, 0, len(c.Props))
	for k := range c.Props {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// lineOf finds the line of a property, 0 when it is not in the file.
func (c *Config) lineOf(name string) int {
	return c.Props[name].Line
}
