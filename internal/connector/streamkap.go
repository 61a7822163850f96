package connector

import (
	"fmt"
	"slices"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
)

// Streamkap's own settings, which Debezium does not have, are kept under
// these names in Config.Props.
const (
	skSignal         = "streamkap.signal.data.collection.schema.or.database"
	skHeartbeat      = "streamkap.heartbeat.enabled"
	skHeartbeatTable = "streamkap.heartbeat.data.collection.schema.or.database"
	skHeartbeatMsg   = "streamkap.heartbeat.use.logical.message"
	skRegexMerge     = "streamkap.source.regex.support.enabled"
	skSSHEnabled     = "streamkap.ssh.enabled"
	skSSHHost        = "streamkap.ssh.host"
	skSSHPort        = "streamkap.ssh.port"
	skSSHUser        = "streamkap.ssh.user"
	skColumnToggle   = "streamkap.column.include.list.toggled"
)

// streamkapField maps one setting of a Streamkap PostgreSQL source: its
// Terraform attribute, its key in Streamkap's API (the backend key), and
// the name cdcpreflight keeps it under (a Debezium property where there is
// one). From the provider's resource schema and field mappings
// (streamkap-com/terraform-provider-streamkap, v2.2.0 and v3.0.0-beta).
type streamkapField struct {
	tf, backend, prop string
}

var streamkapFields = []streamkapField{
	{"database_hostname", "database.hostname.user.defined", "database.hostname"},
	{"database_port", "database.port.user.defined", "database.port"},
	{"database_user", "database.user", "database.user"},
	{"database_password", "database.password", "database.password"},
	{"database_dbname", "database.dbname", "database.dbname"},
	{"database_sslmode", "database.sslmode", "database.sslmode"},
	{"snapshot_read_only", "snapshot.read.only.user.defined", "read.only"},
	{"schema_include_list", "schema.include.list", "schema.include.list"},
	{"table_include_list", "table.include.list.user.defined", "table.include.list"},
	{"column_include_list", "column.include.list.user.defined", "column.include.list"},
	{"column_exclude_list", "column.exclude.list.user.defined", "column.exclude.list"},
	{"signal_data_collection_schema_or_database", "signal.data.collection.schema.or.database", skSignal},
	{"heartbeat_enabled", "heartbeat.enabled", skHeartbeat},
	{"heartbeat_data_collection_schema_or_database", "heartbeat.data.collection.schema.or.database", skHeartbeatTable},
	{"heartbeat_use_logical_message", "heartbeat.use.logical.message", skHeartbeatMsg},
	{"slot_name", "slot.name", "slot.name"},
	{"publication_name", "publication.name", "publication.name"},
	{"binary_handling_mode", "binary.handling.mode", "binary.handling.mode"},
	{"source_regex_support_enabled", "SourceRegexSupport.enabled", skRegexMerge},
	{"ssh_enabled", "ssh.enabled", skSSHEnabled},
	{"ssh_host", "ssh.host", skSSHHost},
	{"ssh_port", "ssh.port", skSSHPort},
	{"ssh_user", "ssh.user", skSSHUser},
	{"include_source_db_name_in_table_name", "include.source.db.name.in.table.name.user.defined", "streamkap.include.source.db.name.in.table.name"},
	{"", "column.include.list.toggled", skColumnToggle},
}

// streamkapResources are the Terraform resources of PostgreSQL-flavoured
// Streamkap sources, which share these settings.
var streamkapResources = []string{"streamkap_source_postgresql", "streamkap_source_alloydb", "streamkap_source_supabase"}

// isStreamkapKind: the "connector" of a PostgreSQL-flavoured source in
// Streamkap's API.
func isStreamkapKind(s string) bool { return s == "postgresql" || s == "alloydb" || s == "supabase" }

func tfKeys() map[string]streamkapField {
	m := map[string]streamkapField{}
	for _, f := range streamkapFields {
		if f.tf != "" {
			m[f.tf] = f
		}
	}
	return m
}

func backendKeys() map[string]streamkapField {
	m := map[string]streamkapField{}
	for _, f := range streamkapFields {
		m[f.backend] = f
	}
	return m
}

// fromStreamkap stores settings read under Streamkap's names (keys picks
// the map: Terraform attributes or backend keys), and its SSH tunnel.
func (c *Config) fromStreamkap(props map[string]Value, keys func() map[string]streamkapField) error {
	byKey := keys()
	for _, k := range sortedKeys(props) {
		v := props[k]
		f, ok := byKey[k]
		if !ok {
			continue // SMTs, snapshot tuning and the like: nothing a preflight judges
		}
		c.put(f.prop, v)
	}
	if v, ok := c.Props[skSSHEnabled]; ok && !v.Unresolved && v.Text == "true" {
		c.SSH.Enabled = true
	}
	c.SSH.Host, c.SSH.Port, c.SSH.User = c.Props[skSSHHost], c.Props[skSSHPort], c.Props[skSSHUser]
	return nil
}

// parseTerraform reads the streamkap_source_postgresql (or _alloydb,
// _supabase) resource of a .tf file with HCL's own parser. A value that
// is a literal is read; one that refers to anything (var.x, local.x,
// another resource) or calls a function is unresolved: cdcpreflight does
// not evaluate Terraform, and does not guess (not even a variable's
// default, which a .tfvars file or the command line may override).
func parseTerraform(path string, data []byte) (*Config, error) {
	f, diags := hclsyntax.ParseConfig(data, path, hcl.Pos{Line: 1, Column: 1})
	if diags.HasErrors() {
		return nil, hclErr(path, diags)
	}
	body, ok := f.Body.(*hclsyntax.Body)
	if !ok {
		return nil, fileErr(path, 0, "not a Terraform file")
	}
	var found []*hclsyntax.Block
	for _, b := range body.Blocks {
		if b.Type == "resource" && len(b.Labels) == 2 && slices.Contains(streamkapResources, b.Labels[0]) {
			found = append(found, b)
		}
	}
	switch len(found) {
	case 0:
		return nil, fileErr(path, 0, "no Streamkap PostgreSQL source resource (%s) in the file", strings.Join(streamkapResources, ", "))
	case 1:
	default:
		var names []string
		for _, b := range found {
			names = append(names, fmt.Sprintf("%s.%s (line %d)", b.Labels[0], b.Labels[1], b.DefRange().Start.Line))
		}
		return nil, fileErr(path, found[1].DefRange().Start.Line, "%d Streamkap PostgreSQL sources (%s): give a file with the one to judge",
			len(found), strings.Join(names, ", "))
	}
	b := found[0]
	c := &Config{Format: FormatTerraform, Flavour: "streamkap", Name: b.Labels[0] + "." + b.Labels[1], Line: b.DefRange().Start.Line}
	props := map[string]Value{}
	for name, attr := range b.Body.Attributes {
		v := Value{Key: name, Line: attr.SrcRange.Start.Line}
		if len(attr.Expr.Variables()) > 0 {
			v.Unresolved = true
			v.Text = string(attr.Expr.Range().SliceBytes(data))
			props[name] = v
			continue
		}
		val, d := attr.Expr.Value(nil)
		if d.HasErrors() || !val.IsWhollyKnown() {
			v.Unresolved = true
			v.Text = string(attr.Expr.Range().SliceBytes(data))
			props[name] = v
			continue
		}
		if val.IsNull() {
			continue
		}
		switch val.Type() {
		case cty.String:
			v.Text = val.AsString()
		case cty.Number:
			v.Text = val.AsBigFloat().Text('f', -1)
		case cty.Bool:
			v.Text = fmt.Sprint(val.True())
		default:
			if _, known := tfKeys()[name]; known {
				return nil, fileErr(path, v.Line, "%s must be a string, number or boolean", name)
			}
			continue
		}
		props[name] = v
	}
	return c, c.fromStreamkap(props, tfKeys)
}

// hclErr reports HCL's first error with its line: its summary and detail
// describe the syntax, never the values.
func hclErr(path string, diags hcl.Diagnostics) error {
	for _, d := range diags {
		if d.Severity != hcl.DiagError {
			continue
		}
		line := 0
		if d.Subject != nil {
			line = d.Subject.Start.Line
		}
		msg := "invalid Terraform: " + d.Summary
		if d.Detail != "" {
			msg += ": " + d.Detail
		}
		return fileErr(path, line, "%s", msg)
	}
	return fileErr(path, 0, "invalid Terraform")
}
