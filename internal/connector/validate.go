package connector

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/cdcpreflight/cdcpreflight/facts"
)

// Debezium's configuration validation (Connector.validate, which Kafka
// Connect runs on POST /connectors, PUT …/config and …/config/validate),
// re-run offline: the field validators, with Debezium's own words where it
// has them. Only when they all pass does Debezium connect, and then it
// runs nothing but SELECT version(): everything else is found at task
// start.

var (
	// RelationalDatabaseConnectorConfig.HOSTNAME_PATTERN
	hostnamePattern = regexp.MustCompile(`^[a-zA-Z0-9-_.]+$`)
	// CommonConnectorConfig's topic.prefix validator
	topicPrefixPattern = regexp.MustCompile(`^[a-zA-Z0-9_.\-]+$`)
	// PostgresConnectorConfig's slot name validator (DBZ-1525)
	slotNamePattern = regexp.MustCompile(`^[a-z0-9_]{1,63}$`)
	// ReplicaIdentityMapper.REPLICA_AUTO_SET_PATTERN
	replicaIdentityEntry = regexp.MustCompile(`(?i)^\s*([^\s:]+):(DEFAULT|(INDEX) (.\w*)|FULL|NOTHING)\s*$`)
)

// SnapshotModes are the values snapshot.mode takes in version v.
func SnapshotModes(v Version) []string {
	m := []string{"always", "initial", "initial_only", "custom"}
	if !v.Before(2, 6) {
		m = append(m, "no_data", "when_needed", "configuration_based")
	}
	if v.Before(3, 3) {
		m = append(m, "never")
	}
	return m
}

// AutocreateModes are the values publication.autocreate.mode takes.
func AutocreateModes(v Version) []string {
	m := []string{"disabled", "all_tables", "filtered"}
	if !v.Before(3, 0) {
		m = append(m, "no_tables")
	}
	return m
}

// SSLModes are the values database.sslmode takes.
func SSLModes(v Version) []string {
	if v.Before(2, 3) {
		return []string{"disable", "require", "verify-ca", "verify-full"}
	}
	return []string{"disable", "allow", "prefer", "require", "verify-ca", "verify-full"}
}

type problems struct {
	l   *Loaded
	out []facts.ConnectorProblem
}

// reject records what Debezium's validation refuses.
func (p *problems) reject(prop, format string, a ...any) {
	p.out = append(p.out, facts.ConnectorProblem{Property: prop, Line: p.l.Config.lineOf(prop), Message: fmt.Sprintf(format, a...), Rejected: true})
}

// note records a setting Debezium ignores or only logs about.
func (p *problems) note(prop, format string, a ...any) {
	p.out = append(p.out, facts.ConnectorProblem{Property: prop, Line: p.l.Config.lineOf(prop), Message: fmt.Sprintf(format, a...)})
}

// literal is a property's value when the file sets it to a literal.
func (p *problems) literal(prop string) (string, bool) {
	v, ok := p.l.Config.get(prop)
	if !ok || v.Unresolved {
		return "", false
	}
	return strings.TrimSpace(v.Text), true
}

// regexLists rejects, as Debezium's Field.isListOfRegex does, each of
// props whose literal value holds a pattern that does not compile.
func (p *problems) regexLists(props ...string) {
	for _, prop := range props {
		s, ok := p.literal(prop)
		if !ok || s == "" {
			continue
		}
		_, errs := CompileList(prop, s)
		for _, e := range errs {
			if e.Invalid() {
				p.reject(prop, "A comma-separated list of valid regular expressions is expected, but %s", e.Err)
			}
		}
	}
}

func (p *problems) enum(prop string, values []string) {
	s, ok := p.literal(prop)
	if !ok {
		return
	}
	if !slices.Contains(values, strings.ToLower(s)) {
		p.reject(prop, "Value must be one of %s (%q is not, in Debezium %s)", strings.Join(values, ", "), s, p.l.Version)
	}
}

func validateDebezium(l *Loaded) []facts.ConnectorProblem {
	p := &problems{l: l}
	c, v := l.Config, l.Version
	for _, prop := range []string{"database.hostname", "database.user", "database.dbname", "topic.prefix"} {
		if _, ok := c.get(prop); !ok {
			msg := "A value is required"
			if prop == "topic.prefix" {
				if _, old := c.get("database.server.name"); old {
					msg += " (database.server.name, its name before Debezium 2.0, is no longer read)"
				}
			}
			p.reject(prop, "%s", msg)
		}
	}
	if s, ok := p.literal("database.hostname"); ok && !hostnamePattern.MatchString(s) {
		p.reject("database.hostname", "%q has invalid format (only the underscore, hyphen, dot and alphanumeric characters are allowed)", s)
	}
	if s, ok := p.literal("topic.prefix"); ok && !topicPrefixPattern.MatchString(s) {
		p.reject("topic.prefix", "%q has invalid format (only the underscore, hyphen, dot and alphanumeric characters are allowed)", s)
	}
	if s, ok := p.literal("database.port"); ok {
		if _, err := strconv.Atoi(s); err != nil {
			p.reject("database.port", "%q is not an integer", s)
		}
	}
	if s, ok := p.literal("slot.name"); ok && !slotNamePattern.MatchString(s) {
		p.reject("slot.name", "Valid replication slot name must contain only digits, lowercase characters and underscores with length <= 63 (%q)", s)
	}
	p.enum("plugin.name", []string{"decoderbufs", "pgoutput"})
	p.enum("publication.autocreate.mode", AutocreateModes(v))
	p.enum("snapshot.mode", SnapshotModes(v))
	p.enum("database.sslmode", SSLModes(v))
	p.enum("incremental.snapshot.watermarking.strategy", []string{"insert_insert", "insert_delete"})
	for _, pair := range [][2]string{{PropSchemaInclude, PropSchemaExclude}, {PropTableInclude, PropTableExclude},
		{PropColumnInclude, PropColumnExclude}, {"database.include.list", "database.exclude.list"}} {
		_, in := c.get(pair[0])
		_, ex := c.get(pair[1])
		if in && ex {
			p.reject(pair[1], "%q is already specified", pair[0])
		}
	}
	p.regexLists(PropSchemaInclude, PropSchemaExclude, PropTableInclude, PropTableExclude, PropColumnInclude, PropColumnExclude)
	if s, ok := p.literal("replica.identity.autoset.values"); ok {
		if v.Before(2, 3) {
			p.note("replica.identity.autoset.values", "Debezium %s does not have this setting (it came in 2.3): it is ignored", v)
		} else {
			validateReplicaIdentity(p, s)
		}
	}
	if s, ok := p.literal("signal.data.collection"); ok {
		if parts, _ := SplitList(s); len(parts) > 1 {
			p.reject("signal.data.collection", "For single task connector only one signal data collection is permitted (%d are listed)", len(parts))
		}
	}
	if _, ok := c.get("read.only"); ok && v.Before(2, 7) {
		p.note("read.only", "Debezium %s does not have this setting (it came in 2.7): it is ignored, and snapshots write to the signal table", v)
	}
	if _, ok := c.get("publish.via.partition.root"); ok && v.Before(3, 2) {
		p.note("publish.via.partition.root", "Debezium %s does not have this setting (it came in 3.2): it is ignored", v)
	}
	for _, old := range []string{"database.server.name", "table.whitelist", "table.blacklist", "schema.whitelist",
		"schema.blacklist", "column.whitelist", "column.blacklist", "database.whitelist", "database.blacklist"} {
		if _, ok := c.get(old); ok && old != "database.server.name" {
			p.note(old, "a Debezium 1.x setting that 2.0 removed without an alias: it is ignored, so it filters nothing (use the .include.list / .exclude.list settings)")
		}
	}
	return p.out
}

// validateReplicaIdentity checks replica.identity.autoset.values as
// ReplicaIdentityMapper does: comma-separated "<table regex>:<identity>".
func validateReplicaIdentity(p *problems, s string) {
	if strings.TrimSpace(s) == "" {
		p.reject("replica.identity.autoset.values", "Must not be empty")
		return
	}
	for _, entry := range strings.Split(s, ",") {
		if !replicaIdentityEntry.MatchString(entry) {
			p.reject("replica.identity.autoset.values", "%q has an invalid format (expecting '<table regex>:DEFAULT|INDEX <index>|FULL|NOTHING')", strings.TrimSpace(entry))
		}
	}
}

// ReplicaIdentityRule is one entry of replica.identity.autoset.values, as
// ReplicaIdentityMapper reads it.
type ReplicaIdentityRule struct {
	Pattern string // a Java pattern matched against schema.table
	// Keyword is the identity as written: DEFAULT, FULL, NOTHING or INDEX.
	// The pattern accepts any case, but Debezium then looks the word up
	// with Enum.valueOf, which only knows upper case: any other case fails
	// for every table, and is only logged.
	Keyword string
	Index   string
}

// Upper reports whether Debezium can apply the entry's identity.
func (r ReplicaIdentityRule) Upper() bool { return r.Keyword == strings.ToUpper(r.Keyword) }

// SQL is what ALTER TABLE … REPLICA IDENTITY gets: FULL, DEFAULT, NOTHING
// or USING INDEX name.
func (r ReplicaIdentityRule) SQL() string {
	if strings.EqualFold(r.Keyword, "INDEX") {
		return "USING INDEX " + r.Index
	}
	return strings.ToUpper(r.Keyword)
}

// ParseReplicaIdentity reads replica.identity.autoset.values: split at
// every comma (no escaping), entries that do not match the pattern left
// out (validation reports them).
func ParseReplicaIdentity(s string) []ReplicaIdentityRule {
	var out []ReplicaIdentityRule
	for _, entry := range strings.Split(s, ",") {
		m := replicaIdentityEntry.FindStringSubmatch(entry)
		if m == nil {
			continue
		}
		kw := m[2]
		if m[3] != "" {
			kw = m[3]
		}
		out = append(out, ReplicaIdentityRule{Pattern: m[1], Keyword: kw, Index: m[4]})
	}
	return out
}

func validateStreamkap(l *Loaded) []facts.ConnectorProblem {
	p := &problems{l: l}
	c := l.Config
	for _, prop := range []string{"database.hostname", "database.user", "database.dbname", PropSchemaInclude, PropTableInclude} {
		if _, ok := c.get(prop); !ok {
			p.reject(prop, "required by Streamkap's PostgreSQL source")
		}
	}
	if s, ok := p.literal("database.sslmode"); ok && !slices.Contains([]string{"require", "disable"}, s) {
		p.reject("database.sslmode", "Streamkap accepts require or disable, not %q", s)
	}
	if s, ok := p.literal("read.only"); ok && s != "Yes" && s != "No" {
		p.reject("read.only", "Streamkap accepts Yes or No, not %q", s)
	}
	_, in := c.get(PropColumnInclude)
	_, ex := c.get(PropColumnExclude)
	if in && ex {
		p.reject(PropColumnExclude, "only one of column_include_list or column_exclude_list can be set")
	}
	p.regexLists(PropSchemaInclude, PropTableInclude, PropColumnInclude, PropColumnExclude)
	if l.SignalTable != facts.SignalTableName {
		p.note(skSignal, "names the table %s: Streamkap recognises only a signal table named %s", l.SignalTable, facts.SignalTableName)
	}
	return p.out
}
