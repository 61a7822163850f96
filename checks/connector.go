package checks

import (
	"fmt"
	"slices"
	"strings"

	"github.com/cdcpreflight/cdcpreflight/facts"
	"github.com/cdcpreflight/cdcpreflight/internal/connector"
	"github.com/cdcpreflight/cdcpreflight/internal/javaregex"
	"github.com/cdcpreflight/cdcpreflight/internal/sqlident"
	"github.com/cdcpreflight/cdcpreflight/rules"
)

// The rules of a connector's own configuration (--connector-config): what
// Debezium's validation rejects, and what the connector does at start
// that can fail, judged before it does it. Each finding says when Debezium
// itself would find it: at configuration validation (POST /connectors,
// PUT …/config, …/config/validate), which checks field formats and runs
// SELECT version(), nothing more; or only at task start.

// When Debezium finds a problem.
const (
	atValidation = "Debezium rejects this when it validates the configuration"
	atStart      = "Debezium finds this only at task start"
	onlyLogged   = "Debezium only logs this at task start and carries on"
)

// connectorRules judge the connector's configuration.
func connectorRules() []rules.Rule {
	return []rules.Rule{
		connectorConfig(), captureScope(), outputPlugin(), publicationAutocreate(), slotInUse(),
		signalCollection(), heartbeatQuery(), replicaIdentityAutoset(), topicNames(),
	}
}

// noConnector is the outcome of a connector rule without a connector
// configuration.
func noConnector(f *facts.Facts) (rules.Outcome, bool) {
	if f.Options.Connector == nil {
		return rules.Skip("no connector configuration (--connector-config)"), true
	}
	return rules.Outcome{}, false
}

// unresolved is an error outcome when one of props is a reference that
// was not resolved: the rule cannot judge what it does not know.
func unresolved(f *facts.Facts, props ...string) (rules.Outcome, bool) {
	c := f.Options.Connector
	for _, p := range props {
		if c.IsUnresolved(p) {
			return rules.Errored(&facts.Error{Op: "read the connector configuration", Message: fmt.Sprintf(
				"%s in %s is a reference (a config provider, a variable) that cdcpreflight does not resolve: write the value there to judge it", p, c.File)}), true
		}
	}
	return rules.Outcome{}, false
}

func isDebezium(c *facts.Connector) bool { return c != nil && c.Flavour == facts.FlavourDebezium }

func connectorConfig() rules.Rule {
	return rules.Rule{
		ID: "connector-config", Title: "Debezium accepts the connector's configuration",
		Category: rules.CategoryConnector, Severity: rules.Error, Since: connectorSince,
		Needs: []facts.Section{facts.SectionTarget},
		Why: `Kafka Connect validates a connector's configuration when it is created or updated (POST /connectors,
PUT /connectors/NAME/config, PUT …/config/validate): required fields (database.hostname, database.user,
database.dbname, topic.prefix), enumerations that change between versions (snapshot.mode=never is gone
from 3.3, publication.autocreate.mode=no_tables came in 3.0, sslmode prefer in 2.3), the slot name's
characters, an include and an exclude list given together, filter lists that are not valid Java
regular expressions, replica.identity.autoset.values' format, more than one signal collection. A
configuration that fails is never created. Settings Debezium 2.0 removed without an alias (table.whitelist,
database.server.name) are silently ignored, so a 1.x filter captures everything. This rule re-runs
those validators offline, for the --debezium-version given.`,
		Fix: `Correct the properties named, as the messages say, then validate again with
PUT /connector-plugins/io.debezium.connector.postgresql.PostgresConnector/config/validate. Replace 1.x
settings: database.server.name by topic.prefix, *.whitelist by *.include.list, *.blacklist by
*.exclude.list.`,
		Eval: func(f *facts.Facts) rules.Outcome {
			if o, ok := noConnector(f); ok {
				return o
			}
			c := f.Options.Connector
			if _, err := connector.ParseVersion(c.Version); err != nil {
				return rules.Errored(&facts.Error{Op: "read the connector configuration's facts", Message: err.Error()})
			}
			var rejected, ignored, objects []string
			for _, p := range c.Problems {
				where := p.Property
				if p.Line > 0 {
					where = fmt.Sprintf("%s (line %d)", p.Property, p.Line)
				}
				if p.Rejected {
					rejected = append(rejected, where+": "+p.Message)
				} else {
					ignored = append(ignored, where+": "+p.Message)
				}
				objects = append(objects, "property "+p.Property)
			}
			what := fmt.Sprintf("%s configuration %s (%s)", flavourName(c), c.File, c.Format)
			switch {
			case len(rejected) > 0:
				msg := fmt.Sprintf("%s: %s: %s", what, atValidation, strings.Join(rejected, "; "))
				if len(ignored) > 0 {
					msg += "; also: " + strings.Join(ignored, "; ")
				}
				return rules.Finding("%s", msg).WithObjects(objects...).WithRemediation(
					"Correct the properties named and validate the configuration again (PUT /connector-plugins/…/config/validate).")
			case len(ignored) > 0:
				return rules.Finding("%s: settings Debezium %s ignores: %s", what, c.Version, strings.Join(ignored, "; ")).
					WithSeverity(rules.Warning).WithObjects(objects...).
					WithRemediation("Replace or remove the ignored settings: what they were meant to do does not happen.")
			}
			msg := fmt.Sprintf("%s passes Debezium %s's validation", what, c.Version)
			if c.Flavour == facts.FlavourStreamkap {
				msg = fmt.Sprintf("%s passes the checks of Streamkap's settings", what)
			}
			if len(c.Unresolved) > 0 {
				msg += fmt.Sprintf("; not resolved here: %s", strings.Join(c.Unresolved, ", "))
			}
			return rules.Pass("%s", msg)
		},
	}
}

func flavourName(c *facts.Connector) string {
	if c.Flavour == facts.FlavourStreamkap {
		return "Streamkap source"
	}
	return "Debezium"
}

func captureScope() rules.Rule {
	return rules.Rule{
		ID: "capture-scope", Title: "The connector's filters capture tables, and every pattern matches one",
		Category: rules.CategoryConnector, Severity: rules.Error, Since: connectorSince,
		Needs: []facts.Section{facts.SectionConnect}, MayNeed: []facts.Section{facts.SectionScope},
		Why: `Debezium splits schema.include.list, table.include.list and their exclude lists at commas (a backslash
escapes one), compiles each part as a case-insensitive Java regular expression and matches it against
the whole name: the schema for schema lists, schema.table for table lists, unquoted, as PostgreSQL
stores them. A dot is a wildcard, "public.orders" also matches "publicXorders", and a pattern with
quotes, like public."Orders", matches nothing. The schema filter and the table filter must both let a
table through; pg_catalog, information_schema, pg_temp* and spatial_ref_sys are always left out;
the signal table is added. A pattern that matches no table is usually a typo, and its tables are
silently not captured; filters that match nothing at all capture nothing (and a filtered publication
cannot be created). cdcpreflight evaluates Java's regular expressions exactly, or says which
construct it cannot: it never guesses a scope.`,
		Fix: `Correct the patterns that match nothing: write names as PostgreSQL stores them, without quotes,
escape dots (public\.orders), and anchor nothing (Debezium matches the whole name). Test a list with
cdcpreflight check --connector-config FILE --output json, which lists the captured tables and the
tables left out.`,
		Eval: func(f *facts.Facts) rules.Outcome {
			if o, ok := noConnector(f); ok {
				return o
			}
			if o, ok := rules.Need(f, facts.SectionScope); !ok {
				return o
			}
			s := f.Scope
			var unused []string
			for _, p := range s.Patterns {
				if !p.Matched {
					unused = append(unused, p.List+" '"+p.Pattern+"'")
				}
			}
			hint := ""
			if slices.ContainsFunc(s.Patterns, func(p facts.ScopePattern) bool { return !p.Matched && strings.Contains(p.Pattern, `"`) }) {
				hint = " Debezium matches names without quotes: write public.Orders, not public.\"Orders\"."
			}
			if s.Captured == 0 {
				msg := fmt.Sprintf("the connector's filters capture none of the %s it could capture", plural(s.Candidates, "table", "tables"))
				if f.Options.Connector.AutocreateMode == "filtered" {
					msg += ": the filtered publication cannot be created (\"No table filters found for filtered publication\"; " + atStart + ")"
				}
				return rules.Finding("%s", msg).WithObjects(unused...).WithRemediation("Correct the include and exclude lists." + hint)
			}
			summary := fmt.Sprintf("%s captured of %d", plural(s.Captured, "table", "tables"), s.Candidates)
			if s.SignalAdded != "" {
				summary += fmt.Sprintf(" (the signal table %s added by Debezium)", s.SignalAdded)
			}
			if len(unused) > 0 {
				return rules.Finding("%s; %s nothing: %s", summary, plural(len(unused), "pattern matches", "patterns match"), strings.Join(unused, ", ")).
					WithSeverity(rules.Warning).WithObjects(unused...).
					WithRemediation("Correct or remove the patterns that match nothing: the tables they were meant for are not captured." + hint)
			}
			return rules.Pass("%s", summary)
		},
	}
}

func outputPlugin() rules.Rule {
	return rules.Rule{
		ID: "output-plugin", Title: "The connector's output plugin is installed on the server",
		Category: rules.CategoryConnector, Severity: rules.Error, Since: connectorSince,
		Needs: []facts.Section{facts.SectionConnect}, MayNeed: []facts.Section{facts.SectionConnectorDB, facts.SectionSlots},
		Why: `Debezium decodes with plugin.name, and its default is still decoderbufs, a server extension most
PostgreSQL installations and managed services do not have: a configuration without plugin.name fails
when the connector creates its slot ('could not access file "decoderbufs": No such file or directory').
pgoutput is built into PostgreSQL 10 and later. cdcpreflight finds out without creating a slot: an
installed decoderbufs ships an extension control file (pg_extension_update_paths reads it, as
pg_available_extensions lists it), shared_preload_libraries may name it, an existing slot may use
it, and a superuser session looks for its library in the server's library path.`,
		Fix: `Set plugin.name=pgoutput in the connector's configuration (one line), or install decoderbufs on the
server (self-hosted only) and add it to shared_preload_libraries.`,
		Eval: func(f *facts.Facts) rules.Outcome {
			if o, ok := noConnector(f); ok {
				return o
			}
			c := f.Options.Connector
			if o, ok := unresolved(f, "plugin.name"); ok {
				return o
			}
			if !c.Streams() {
				return rules.Skip("snapshot.mode=%s never streams: no slot, no plugin", c.SnapshotMode)
			}
			if o, ok := rules.Need(f, facts.SectionConnectorDB, facts.SectionSlots); !ok {
				return o
			}
			p := f.ConnectorDB.Plugin
			p.UsedBySlot = slices.ContainsFunc(f.Slots.Slots, func(s facts.Slot) bool { return s.Logical() && s.Plugin == c.Plugin })
			how := "plugin.name=" + c.Plugin
			if c.PluginDefaulted {
				how = "plugin.name is not set, so Debezium uses its default, " + c.Plugin
			}
			installed, known := p.Installed()
			switch {
			case installed:
				return rules.Pass("%s, which the server has (%s)", how, pluginEvidence(p))
			case known:
				return rules.Finding("%s, and the server does not have it: the library is not in its library path; creating the slot fails "+
					"with 'could not access file \"%s\"' (%s)", how, c.Plugin, atStart).
					WithObjects("plugin " + c.Plugin).WithRemediation(pluginFix)
			}
			controlFile := "the server has no " + c.Plugin + ".control extension file"
			if p.ExtensionUnknown != "" {
				controlFile = "its extension control file could not be looked for (" + p.ExtensionUnknown + ")"
			}
			o := rules.Finding("%s, and nothing shows that the server has it: %s, it is not in shared_preload_libraries "+
				"(as far as this session may see), and no slot uses it; only a superuser can look in the library directory. If it is missing, "+
				"creating the slot fails with 'could not access file \"%s\"' (%s)", how, controlFile, c.Plugin, atStart).
				WithObjects("plugin " + c.Plugin).WithRemediation(pluginFix)
			if !c.PluginDefaulted {
				o = o.WithSeverity(rules.Warning)
			}
			return o
		},
	}
}

const pluginFix = "Set plugin.name=pgoutput in the connector's configuration: pgoutput is built into PostgreSQL 10 and later " +
	"(or install decoderbufs on the server, self-hosted only, and add it to shared_preload_libraries)."

func pluginEvidence(p facts.OutputPlugin) string {
	switch {
	case p.Builtin:
		return "it is built into PostgreSQL"
	case p.Extension:
		return "its extension control file is installed"
	case p.Preloaded:
		return "shared_preload_libraries names it"
	case p.UsedBySlot:
		return "a slot uses it"
	}
	return "its library is in the server's library path"
}

// connectorOwns reports whether the connector role has the privileges of
// the owner named (quoted): it is that role, a member of it, or a
// superuser.
func connectorOwns(f *facts.Facts, owner string) bool {
	if f.Role.Super || owner == sqlident.Quote(f.ConnectorRole()) {
		return true
	}
	return slices.ContainsFunc(f.Role.MemberOf, func(m string) bool { return sqlident.Quote(m) == owner })
}

// autocreates reports whether Debezium will create or alter the
// publication at start, so that the rules of the publication as it is now
// leave it to publication-autocreate.
func autocreates(f *facts.Facts) (string, bool) {
	c := f.Options.Connector
	if c == nil || c.Plugin != "pgoutput" || !c.Streams() || c.IsUnresolved("publication.autocreate.mode") {
		return "", false
	}
	switch c.AutocreateMode {
	case "all_tables", "filtered", "no_tables":
		if !f.Publication.Exists {
			return "Debezium creates it at start (publication.autocreate.mode=" + c.AutocreateMode + "; see publication-autocreate)", true
		}
		if c.AutocreateMode == "filtered" && !f.Publication.AllTables {
			return "Debezium sets its tables to the captured ones at start (publication.autocreate.mode=filtered; see publication-autocreate)", true
		}
	}
	return "", false
}

func publicationAutocreate() rules.Rule {
	return rules.Rule{
		ID: "publication-autocreate", Title: "Debezium can create or update its publication at start",
		Category: rules.CategoryConnector, Severity: rules.Error, Since: connectorSince,
		Needs: []facts.Section{facts.SectionConnect},
		MayNeed: []facts.Section{facts.SectionPublication, facts.SectionRole, facts.SectionTables, facts.SectionConnectorDB,
			facts.SectionServer},
		Why: `With pgoutput, Debezium looks for its publication at every task start (SELECT puballtables FROM
pg_publication WHERE pubname = '…') and acts on publication.autocreate.mode. all_tables (the default)
creates it FOR ALL TABLES, which only a superuser may do ("must be superuser to create FOR ALL TABLES
publication"). filtered creates it FOR TABLE with every captured table, which needs CREATE on the
database and ownership of each table; when it exists, Debezium runs ALTER PUBLICATION … SET TABLE with
the captured tables (on every start before 3.3, when they differ from 3.3), which needs ownership of
the publication and of every table and silently removes any table outside the filters, and it fails
outright on a FOR ALL TABLES publication. disabled fails when the publication is missing ("Publication
autocreation is disabled, please create one and restart the connector"). no_tables (3.0+) creates a
publication with no tables, so no captured table's changes arrive. None of this is checked when
Debezium validates the configuration: the task fails at start.`,
		Fix: `Create the publication yourself, as its owner, and set publication.autocreate.mode=disabled:
CREATE PUBLICATION dbz_publication FOR TABLE public.orders, public.customers;
or give the connector role what its mode needs: superuser for all_tables; CREATE on the database and
ownership of the tables for filtered (GRANT CREATE ON DATABASE app TO debezium; a shared owner role,
as in Debezium's docs).`,
		Eval: func(f *facts.Facts) rules.Outcome {
			if o, ok := noConnector(f); ok {
				return o
			}
			c := f.Options.Connector
			if c.AutocreateMode == "" {
				return rules.Skip("%s does not create publications: create it as its guide says (see publication-exists)", flavourName(c))
			}
			if o, ok := unresolved(f, "publication.autocreate.mode", "publication.name", "plugin.name"); ok {
				return o
			}
			switch {
			case c.Plugin != "pgoutput":
				return rules.Skip("plugin.name=%s: publications are pgoutput's, Debezium creates none", c.Plugin)
			case !c.Streams():
				return rules.Skip("snapshot.mode=%s never streams: the publication is not used", c.SnapshotMode)
			}
			needs := []facts.Section{facts.SectionPublication, facts.SectionRole, facts.SectionServer}
			if c.AutocreateMode == "filtered" || c.AutocreateMode == "no_tables" {
				needs = append(needs, facts.SectionTables, facts.SectionConnectorDB)
			}
			if o, ok := rules.Need(f, needs...); !ok {
				return o
			}
			return autocreateOutcome(f, c)
		},
	}
}

func autocreateOutcome(f *facts.Facts, c *facts.Connector) rules.Outcome {
	p := f.Publication
	q := sqlident.Quote(f.Options.Publication)
	role := sqlident.Quote(f.ConnectorRole())
	obj := pubObject(f)
	v, _ := connector.ParseVersion(c.Version)
	if f.Options.Publication != strings.ToLower(f.Options.Publication) || !validBare(f.Options.Publication) {
		// CREATE PUBLICATION <name> is unquoted: it folds to lower case,
		// and the next lookup (a literal) no longer finds it.
		if !p.Exists {
			return rules.Finding("publication.name %s is not a lower-case plain identifier: Debezium creates it with an unquoted CREATE PUBLICATION, "+
				"which PostgreSQL folds to lower case (or rejects), and then looks it up by the name as written and never finds it (%s)", q, atStart).
				WithObjects(obj).WithRemediation("Use a lower-case publication name of letters, digits and underscores.")
		}
	}
	switch c.AutocreateMode {
	case "disabled":
		if !p.Exists {
			return rules.Finding("publication %s does not exist and publication.autocreate.mode=disabled: the task fails with "+
				"\"Publication autocreation is disabled, please create one and restart the connector.\" (%s)", q, atStart).
				WithObjects(obj).WithRemediation("Create the publication (see publication-exists), or let Debezium create it (publication.autocreate.mode=filtered).")
		}
		return rules.Pass("publication %s exists and Debezium uses it as it is (disabled): publication-coverage judges its tables, which Debezium does not", q)
	case "all_tables":
		if p.Exists {
			return rules.Pass("publication %s exists and Debezium uses it as it is (all_tables): publication-coverage judges its tables, which Debezium does not", q)
		}
		if f.Server.InRecovery && !v.Before(3, 2) {
			return rules.Finding("publication %s does not exist and this server is a standby: Debezium %s skips the CREATE there, so the "+
				"connector streams with no publication (%s)", q, c.Version, atStart).WithObjects(obj).
				WithRemediation("Create the publication on the primary; it replicates to the standby.")
		}
		if !f.Role.Super {
			return rules.Finding("publication %s does not exist, and Debezium creates it FOR ALL TABLES (publication.autocreate.mode=all_tables, "+
				"the default), which needs a superuser: role %s is not one, so the task fails with \"must be superuser to create FOR ALL TABLES publication\" (%s)",
				q, role, atStart).WithObjects(obj).WithRemediation(
				"Create the publication listing the captured tables (see publication-exists) and set publication.autocreate.mode=disabled, " +
					"or set publication.autocreate.mode=filtered and give the connector role CREATE on the database and ownership of the captured tables.")
		}
		return rules.Pass("Debezium creates publication %s FOR ALL TABLES at start; role %s is a superuser and may", q, role)
	case "no_tables":
		var captured []string
		for _, t := range f.Tables.Tables {
			if t.Captured && t.Publishable() {
				captured = append(captured, t.Quoted)
			}
		}
		if !p.Exists {
			if !f.ConnectorDB.DatabaseCreate && !f.Role.Super {
				return rules.Finding("publication %s does not exist, and role %s lacks CREATE on the database, which CREATE PUBLICATION needs (%s)",
					q, role, atStart).WithObjects(obj).WithRemediation(fmt.Sprintf("GRANT CREATE ON DATABASE %s TO %s; or create the publication yourself.",
					sqlident.Quote(f.Target.Database), role))
			}
			if len(captured) > 0 {
				return rules.Finding("publication.autocreate.mode=no_tables creates publication %s with no tables: the changes of the %s never arrive "+
					"(nothing fails: %s)", q, plural(len(captured), "captured table", "captured tables"), atStart).
					WithObjects(obj).WithRemediation("Create the publication listing the captured tables, or use publication.autocreate.mode=filtered.")
			}
		}
		return rules.Pass("publication.autocreate.mode=no_tables: Debezium uses publication %s as it is (publication-coverage judges its tables)", q)
	case "filtered":
		return filteredOutcome(f, c, v)
	}
	return rules.Skip("publication.autocreate.mode=%s is not one Debezium knows (see connector-config)", c.AutocreateMode)
}

func filteredOutcome(f *facts.Facts, c *facts.Connector, v connector.Version) rules.Outcome {
	p := f.Publication
	q := sqlident.Quote(f.Options.Publication)
	role := sqlident.Quote(f.ConnectorRole())
	obj := pubObject(f)
	var captured, notOwned []string
	for _, t := range f.Tables.Tables {
		if !t.Captured || !t.Publishable() {
			continue
		}
		captured = append(captured, t.Quoted)
		if !t.OwnedByConnector && !f.Role.Super {
			notOwned = append(notOwned, t.Quoted)
		}
	}
	ownFix := "Make the connector role the tables' owner, or a member of a role that owns them (Debezium's docs: a shared owner role " +
		"granted to the original owner and to the connector), or create the publication yourself and set publication.autocreate.mode=disabled."
	if !p.Exists {
		var problems []string
		if len(captured) == 0 {
			return rules.Finding("publication %s does not exist and the filters capture no table: the task fails with \"No table filters found for "+
				"filtered publication %s\" (%s)", q, f.Options.Publication, atStart).WithObjects(obj).WithRemediation("Correct the filters (see capture-scope).")
		}
		if !f.ConnectorDB.DatabaseCreate && !f.Role.Super {
			problems = append(problems, fmt.Sprintf("role %s lacks CREATE on database %s", role, sqlident.Quote(f.Target.Database)))
		}
		if len(notOwned) > 0 {
			problems = append(problems, fmt.Sprintf("role %s does not own %s: %s", role, plural(len(notOwned), "captured table", "captured tables"), listNames(notOwned)))
		}
		if len(problems) > 0 {
			return rules.Finding("Debezium creates publication %s FOR TABLE with the %s at start, and cannot: %s (\"must be owner of table …\", %s)",
				q, plural(len(captured), "captured table", "captured tables"), strings.Join(problems, "; "), atStart).
				WithObjects(append([]string{obj}, notOwned...)...).WithRemediation(fmt.Sprintf(
				"GRANT CREATE ON DATABASE %s TO %s; and: %s", sqlident.Quote(f.Target.Database), role, ownFix))
		}
		return rules.Pass("Debezium creates publication %s FOR TABLE with the %s at start, and role %s may", q,
			plural(len(captured), "captured table", "captured tables"), role)
	}
	if p.AllTables {
		return rules.Finding("publication %s is FOR ALL TABLES and publication.autocreate.mode=filtered: the task fails with \"A logical publication "+
			"for all tables named '%s' … is already active on the server and can not be altered\" (%s)", q, f.Options.Publication, atStart).
			WithObjects(obj).WithRemediation("Use publication.autocreate.mode=all_tables or disabled with this publication, or another publication name.")
	}
	// ALTER PUBLICATION … SET TABLE with the captured tables: on every start
	// before 3.3; from 3.3 only when the published tables differ.
	var published, removed []string
	capturedSet := map[string]bool{}
	for _, n := range captured {
		capturedSet[n] = true
	}
	for _, t := range f.Tables.Tables {
		if t.Published {
			published = append(published, t.Quoted)
			if !capturedSet[t.Quoted] {
				removed = append(removed, t.Quoted)
			}
		}
	}
	differs := len(removed) > 0 || slices.ContainsFunc(captured, func(n string) bool { return !slices.Contains(published, n) })
	if !differs && !v.Before(3, 3) {
		return rules.Pass("publication %s publishes exactly the %s: Debezium %s leaves it as it is", q,
			plural(len(captured), "captured table", "captured tables"), c.Version)
	}
	var problems []string
	if !connectorOwns(f, p.Owner) {
		problems = append(problems, fmt.Sprintf("role %s does not own the publication (owner %s)", role, p.Owner))
	}
	if len(notOwned) > 0 {
		problems = append(problems, fmt.Sprintf("role %s does not own %s: %s", role, plural(len(notOwned), "captured table", "captured tables"), listNames(notOwned)))
	}
	if len(p.Schemas) > 0 {
		problems = append(problems, "the publication has TABLES IN SCHEMA, which SET TABLE drops")
	}
	when := "at every start (before 3.3)"
	if !v.Before(3, 3) {
		when = "at start, since its tables differ from the captured ones"
	}
	if len(problems) > 0 {
		return rules.Finding("Debezium %s runs ALTER PUBLICATION %s SET TABLE with the captured tables %s, and it fails: %s (%s)",
			c.Version, q, when, strings.Join(problems, "; "), atStart).WithObjects(append([]string{obj}, notOwned...)...).WithRemediation(ownFix)
	}
	if len(removed) > 0 {
		return rules.Finding("Debezium %s runs ALTER PUBLICATION %s SET TABLE with the captured tables %s, which removes %s that other "+
			"consumers of the publication may need: %s (nothing fails: %s)", c.Version, q, when,
			plural(len(removed), "table", "tables"), listNames(removed), atStart).WithSeverity(rules.Warning).
			WithObjects(removed...).WithRemediation("Give the connector a publication of its own (publication.name), or capture these tables too.")
	}
	return rules.Pass("Debezium %s sets publication %s's tables to the %s %s, and role %s may", c.Version, q,
		plural(len(captured), "captured table", "captured tables"), when, role)
}

// validBare reports whether name is an identifier PostgreSQL reads the
// same unquoted.
func validBare(name string) bool { return sqlident.Quote(name) == name }

func slotInUse() rules.Rule {
	return rules.Rule{
		ID: "slot-in-use", Title: "No other process holds the connector's slot",
		Category: rules.CategoryConnector, Severity: rules.Warning, Since: connectorSince,
		Needs: []facts.Section{facts.SectionConnect}, MayNeed: []facts.Section{facts.SectionSlots},
		Why: `A replication slot streams to one process at a time. Debezium finds its slot by name, database and
plugin; when another process is streaming from it, START_REPLICATION fails with 'replication slot "…"
is active for PID …' and the task fails, which Debezium's validation never checks. This is expected
while the connector itself runs (on-call checks of a running connector): it is a warning, and an
error only where it cannot be the connector, a slot held by a process in another database.`,
		Fix: `Find the process (SELECT pid, usename, application_name, client_addr FROM pg_stat_activity WHERE pid = …)
and stop it, or give the connector a slot of its own (slot.name). Two connectors must never share a slot.`,
		Eval: func(f *facts.Facts) rules.Outcome {
			if o, ok := noConnector(f); ok {
				return o
			}
			if o, ok := unresolved(f, "slot.name"); ok {
				return o
			}
			if !f.Options.Connector.Streams() {
				return rules.Skip("snapshot.mode=%s never streams: the slot is not used", f.Options.Connector.SnapshotMode)
			}
			if o, ok := rules.Need(f, facts.SectionSlots); !ok {
				return o
			}
			s, ok := f.Slots.Find(f.Options.Slot)
			name := sqlident.Quote(f.Options.Slot)
			switch {
			case !ok:
				return rules.Pass("slot %s does not exist yet: nothing holds it", name)
			case !s.Active:
				return rules.Pass("slot %s is not in use", name)
			}
			return rules.Finding("slot %s is being streamed by process %d: unless that is this connector, START_REPLICATION fails with "+
				"'replication slot \"%s\" is active for PID %d' (%s)", name, s.ActivePID, s.Name, s.ActivePID, atStart).
				WithObjects(slotObject(s.Name)).WithRemediation(fmt.Sprintf(
				"If this is not the connector, find the process (SELECT pid, usename, application_name, client_addr FROM pg_stat_activity WHERE pid = %d) "+
					"and stop it, or give the connector a slot of its own.", s.ActivePID))
		},
	}
}

func signalCollection() rules.Rule {
	return rules.Rule{
		ID: "signal-collection", Title: "signal.data.collection names the signal table as Debezium matches it",
		Category: rules.CategoryConnector, Severity: rules.Error, Since: connectorSince,
		Needs: []facts.Section{facts.SectionConnect}, MayNeed: []facts.Section{facts.SectionConnectorDB, facts.SectionSignalTable},
		Why: `Debezium recognises a signal (an incremental snapshot request, its own watermarks) by comparing the
changed row's table, schema.table exactly as PostgreSQL names it, with signal.data.collection as
written: it must be schema.table (not database.schema.table, not a bare table), in the table's exact
letter case, or every signal is ignored without an error. Debezium writes its watermarks with
INSERT INTO <signal.data.collection> VALUES (…, …, …), unquoted, which PostgreSQL folds to lower case:
a table whose name needs quoting cannot receive them. column.include.list and column.exclude.list
apply to the signal table too: a filter that drops its id, type or data column drops every signal
("The signal event 'Struct{}' should have 3 fields but has 0"). The source channel
(signal.enabled.channels) is the one that reads the table. The table's shape, privileges and
publication are judged by signal-table, signal-table-privileges and publication-signal-table.`,
		Fix: `Write signal.data.collection as schema.table, exactly as the table is named (lower case, letters, digits
and underscores), make the column filters keep <schema>.<table>.(id|type|data), and keep source in
signal.enabled.channels.`,
		Eval: func(f *facts.Facts) rules.Outcome {
			if o, ok := noConnector(f); ok {
				return o
			}
			c := f.Options.Connector
			if !isDebezium(c) {
				return rules.Skip("Streamkap names its signal table itself (see signal-table)")
			}
			if o, ok := unresolved(f, "signal.data.collection", connector.PropColumnInclude, connector.PropColumnExclude); ok {
				return o
			}
			if c.SignalCollection == "" {
				return rules.Skip("signal.data.collection is not set: signalling through a table is off")
			}
			id, ok := connector.ParseTableID(c.SignalCollection)
			lit := sqlident.Literal(c.SignalCollection)
			switch {
			case !ok:
				return rules.Finding("signal.data.collection %s is not a table name Debezium can read (%s)", lit, atStart).
					WithObjects("property signal.data.collection").WithRemediation("Write it as schema.table.")
			case id.Parts == 3:
				return rules.Finding("signal.data.collection %s has three parts: Debezium compares it with schema.table, so no signal is ever "+
					"recognised (nothing fails: %s)", lit, atStart).WithObjects("property signal.data.collection").
					WithRemediation(fmt.Sprintf("Write it as %s.", sqlident.Literal(id.Schema+"."+id.Table)))
			case id.Parts == 1:
				return rules.Finding("signal.data.collection %s has no schema: Debezium compares it with schema.table, so no signal is ever "+
					"recognised (nothing fails: %s)", lit, atStart).WithObjects("property signal.data.collection").
					WithRemediation(fmt.Sprintf("Write it as %s.", sqlident.Literal("public."+id.Table)))
			}
			if o, ok := rules.Need(f, facts.SectionConnectorDB, facts.SectionSignalTable); !ok {
				return o
			}
			var problems []string
			var text []string
			if v := f.ConnectorDB.SignalCaseVariants; !f.SignalTable.Exists && len(v) > 0 {
				problems = append(problems, fmt.Sprintf("no table is named %s exactly, but %s differs only in letter case: Debezium captures it "+
					"(filters ignore case) and then ignores its signals (the comparison does not)", sqlident.Qualified(id.Schema, id.Table), strings.Join(v, ", ")))
				text = append(text, "Write signal.data.collection with the table's exact name.")
			}
			if !validBare(id.Schema) || !validBare(id.Table) {
				problems = append(problems, fmt.Sprintf("%s needs quoting, and Debezium's watermark INSERT does not quote it: PostgreSQL looks for %s instead",
					sqlident.Qualified(id.Schema, id.Table), strings.ToLower(id.Schema+"."+id.Table)))
				text = append(text, "Rename the signal table (and the setting) to a lower-case plain name.")
			}
			pass, err := connector.ColumnsPass(c.Filters, id.Schema, id.Table, []string{"id", "type", "data"})
			if err != nil {
				return rules.Errored(&facts.Error{Op: "apply the column filters", Message: err.Error() + ": whether the signal columns pass is not guessed"})
			}
			var dropped []string
			for i, col := range []string{"id", "type", "data"} {
				if !pass[i] {
					dropped = append(dropped, col)
				}
			}
			if len(dropped) > 0 {
				problems = append(problems, fmt.Sprintf("the column filters drop %s of the signal table, so every signal arrives without them and is dropped",
					strings.Join(dropped, ", ")))
				text = append(text, fmt.Sprintf("Add %s to column.include.list (or keep them out of column.exclude.list).",
					sqlident.Literal(regexpQuote(id.Schema)+`\.`+regexpQuote(id.Table)+`\..*`)))
			}
			if !slices.Contains(c.SignalChannels, "source") && !c.ReadOnly {
				problems = append(problems, fmt.Sprintf("signal.enabled.channels (%s) lacks source, the channel that reads the signal table",
					strings.Join(c.SignalChannels, ",")))
				text = append(text, "Add source to signal.enabled.channels.")
			}
			if len(problems) > 0 {
				return rules.Finding("signal.data.collection %s: %s (nothing fails: %s)", lit, strings.Join(problems, "; "), atStart).
					WithObjects("property signal.data.collection").WithRemediation(strings.Join(text, " "))
			}
			return rules.Pass("signal.data.collection %s names the signal table as Debezium matches it", lit)
		},
	}
}

// regexpQuote escapes a name for a Java pattern.
func regexpQuote(s string) string {
	var b strings.Builder
	for _, r := range s {
		if strings.ContainsRune(`\.[]{}()*+?^$|`, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

func heartbeatQuery() rules.Rule {
	return rules.Rule{
		ID: "heartbeat-query", Title: "The heartbeat action query can run",
		Category: rules.CategoryConnector, Severity: rules.Error, Since: connectorSince,
		Needs: []facts.Section{facts.SectionConnect}, MayNeed: []facts.Section{facts.SectionConnectorDB},
		Why: `heartbeat.action.query runs on the connector's own database session at every heartbeat
(heartbeat.interval.ms), typically writing a row so that a quiet database still produces changes and
the slot's position moves. It runs only when heartbeat.interval.ms is above 0 (the default is 0), so a
query without an interval never runs and the slot holds WAL. When its table does not exist the task
fails ("Could not execute heartbeat action query (Error: 42P01)"); without the privilege to write it
the query fails at every heartbeat, which Debezium only logs (a warning here); a table outside the
publication writes changes the connector never receives. Debezium's validation checks none of this.`,
		Fix: `Create the table the query writes and grant the connector role INSERT/UPDATE on it, add it to the
publication (ALTER PUBLICATION … ADD TABLE), and set heartbeat.interval.ms (e.g. 10000).`,
		Eval: func(f *facts.Facts) rules.Outcome {
			if o, ok := noConnector(f); ok {
				return o
			}
			c := f.Options.Connector
			if o, ok := unresolved(f, "heartbeat.action.query", "heartbeat.interval.ms"); ok {
				return o
			}
			if c.HeartbeatQuery == "" {
				return rules.Skip("heartbeat.action.query is not set")
			}
			if c.HeartbeatIntervalMS <= 0 {
				return rules.Finding("heartbeat.action.query is set but heartbeat.interval.ms is %d: the query never runs, and on a quiet "+
					"database the slot holds WAL", c.HeartbeatIntervalMS).WithSeverity(rules.Warning).
					WithObjects("property heartbeat.interval.ms").WithRemediation("Set heartbeat.interval.ms, e.g. heartbeat.interval.ms=10000.")
			}
			if o, ok := rules.Need(f, facts.SectionConnectorDB); !ok {
				return o
			}
			h := f.ConnectorDB.Heartbeat
			if h.Name == "" {
				return rules.Skip("heartbeat.action.query writes no table cdcpreflight can name (INSERT INTO, UPDATE, DELETE FROM, MERGE INTO)")
			}
			role := sqlident.Quote(f.ConnectorRole())
			if !h.Exists {
				return rules.Finding("heartbeat.action.query writes %s, which does not exist (in the connector's search_path): the first heartbeat fails "+
					"the task with \"Could not execute heartbeat action query (Error: 42P01)\" (%s)", h.Name, atStart).
					WithObjects("table " + h.Name).WithRemediation("Create the table the query writes, grant the connector role what the query does, and publish it.")
			}
			var problems []string
			need := map[string]bool{"INSERT": h.Insert, "UPDATE": h.Update, "DELETE": h.Delete, "MERGE": h.Insert && h.Update}
			if ok := need[h.Verb]; !ok {
				problems = append(problems, fmt.Sprintf("role %s may not %s %s", role, h.Verb, h.Quoted))
			}
			if !h.SchemaUsage {
				problems = append(problems, fmt.Sprintf("role %s lacks USAGE on the schema of %s", role, h.Quoted))
			}
			if len(problems) > 0 {
				return rules.Finding("heartbeat.action.query fails at every heartbeat: %s (permission denied, 42501, which %s), so on a quiet "+
					"database the slot holds WAL", strings.Join(problems, "; "), onlyLogged).WithSeverity(rules.Warning).
					WithObjects("table " + h.Quoted).WithRemediation(fmt.Sprintf("As the table's owner: GRANT %s ON %s TO %s; and GRANT USAGE on its schema.",
					grantFor(h.Verb), h.Quoted, role))
			}
			if !h.Published && !f.Publication.AllTables {
				return rules.Finding("heartbeat.action.query writes %s, which is not in publication %s: its changes never reach the connector, "+
					"so on a quiet database the slot still holds WAL", h.Quoted, sqlident.Quote(f.Options.Publication)).WithSeverity(rules.Warning).
					WithObjects("table " + h.Quoted).WithRemediation(fmt.Sprintf("ALTER PUBLICATION %s ADD TABLE %s; (as the owner of both).",
					sqlident.Quote(f.Options.Publication), h.Quoted))
			}
			return rules.Pass("heartbeat.action.query writes %s every %d ms: it exists, role %s may %s it and it is published", h.Quoted,
				c.HeartbeatIntervalMS, role, h.Verb)
		},
	}
}

func grantFor(verb string) string {
	if verb == "MERGE" {
		return "INSERT, UPDATE"
	}
	return verb
}

func replicaIdentityAutoset() rules.Rule {
	return rules.Rule{
		ID: "replica-identity-autoset", Title: "Debezium can set the replica identities it is configured to",
		Category: rules.CategoryConnector, Severity: rules.Error, Since: connectorSince,
		Needs: []facts.Section{facts.SectionConnect}, MayNeed: []facts.Section{facts.SectionTables, facts.SectionRole},
		Why: `replica.identity.autoset.values (2.3+) makes Debezium run ALTER TABLE <table> REPLICA IDENTITY … at
start for each captured table an entry matches (a case-insensitive Java pattern on schema.table).
Every failure is only logged and the connector carries on, so the identity the destination relies on
(FULL for soft deletes, for instance) silently stays what it was: ALTER TABLE needs ownership of the
table; the table name goes unquoted into the statement, so a name that needs quoting is not found;
a table that two entries match gets none ("More than one Regular expressions matched table"); and an
identity written in lower case (full) passes validation but makes Debezium fail on every table. This
preflight is the only place these surface.`,
		Fix: `Make the connector role the tables' owner (or a member of the owning role), write the identities in
upper case, make each table match one entry, or set the identities yourself with ALTER TABLE public.orders REPLICA IDENTITY FULL; as the owner.`,
		Eval: func(f *facts.Facts) rules.Outcome {
			if o, ok := noConnector(f); ok {
				return o
			}
			c := f.Options.Connector
			if o, ok := unresolved(f, "replica.identity.autoset.values"); ok {
				return o
			}
			if c.ReplicaIdentityAutoset == "" {
				return rules.Skip("replica.identity.autoset.values is not set")
			}
			if c.Plugin != "pgoutput" || !c.Streams() {
				return rules.Skip("Debezium sets replica identities only when it streams with pgoutput")
			}
			if o, ok := rules.Need(f, facts.SectionTables, facts.SectionRole); !ok {
				return o
			}
			entries := connector.ParseReplicaIdentity(c.ReplicaIdentityAutoset)
			var lower []string
			pats := make([]*javaregex.Pattern, len(entries))
			for i, e := range entries {
				if !e.Upper() {
					lower = append(lower, e.Pattern+":"+e.Keyword)
				}
				parts, err := connector.SplitList(e.Pattern)
				if err != nil || len(parts) != 1 {
					return rules.Errored(&facts.Error{Op: "read replica.identity.autoset.values", Message: fmt.Sprintf("entry %q cannot be read", e.Pattern)})
				}
				re, err := javaregex.CompileCaseInsensitive(parts[0])
				if err != nil {
					return rules.Errored(&facts.Error{Op: "read replica.identity.autoset.values", Message: err.Error() + ": its tables are not guessed"})
				}
				pats[i] = re
			}
			if len(lower) > 0 {
				return rules.Finding("replica.identity.autoset.values writes %s in lower case: Debezium accepts it at validation, then fails to read it "+
					"for every table, so no replica identity is set (%s)", strings.Join(lower, ", "), onlyLogged).
					WithObjects("property replica.identity.autoset.values").WithRemediation("Write the identities in upper case: DEFAULT, FULL, NOTHING, INDEX.")
			}
			var set, ambiguous, quoted, notOwned []string
			for _, t := range f.Tables.Tables {
				if !t.Captured || !t.IsTable() {
					continue
				}
				var match []int
				for i, re := range pats {
					if re.MatchString(t.Schema + "." + t.Name) {
						match = append(match, i)
					}
				}
				switch {
				case len(match) == 0:
					continue
				case len(match) > 1:
					ambiguous = append(ambiguous, t.Quoted)
					continue
				}
				e := entries[match[0]]
				if currentIdentitySQL(t) == e.SQL() {
					continue
				}
				set = append(set, t.Quoted+" → "+e.SQL())
				switch {
				case !validBare(t.Schema) || !validBare(t.Name):
					quoted = append(quoted, t.Quoted)
				case !t.OwnedByConnector && !f.Role.Super:
					notOwned = append(notOwned, t.Quoted)
				}
			}
			var problems []string
			if len(ambiguous) > 0 {
				problems = append(problems, fmt.Sprintf("more than one entry matches %s (\"More than one Regular expressions matched table\": none is set)",
					listNames(ambiguous)))
			}
			if len(quoted) > 0 {
				problems = append(problems, fmt.Sprintf("the names of %s need quoting, and Debezium's ALTER TABLE does not quote them", listNames(quoted)))
			}
			if len(notOwned) > 0 {
				problems = append(problems, fmt.Sprintf("role %s does not own %s (ALTER TABLE needs ownership: \"must be owner of table\", 42501)",
					sqlident.Quote(f.ConnectorRole()), listNames(notOwned)))
			}
			if len(problems) > 0 {
				return rules.Finding("replica.identity.autoset.values cannot take effect: %s (%s)", strings.Join(problems, "; "), onlyLogged).
					WithObjects(slices.Concat(ambiguous, quoted, notOwned)...).WithRemediation(
					"Make the connector role own the tables (or a member of the owning role), make each table match one entry, " +
						"or set the replica identities yourself with ALTER TABLE … REPLICA IDENTITY.")
			}
			if len(set) == 0 {
				return rules.Pass("the captured tables already have the replica identities replica.identity.autoset.values asks for")
			}
			return rules.Pass("Debezium sets at start: %s (replica-identity judges the identities as they are now)", listNames(set))
		},
	}
}

// currentIdentitySQL is a table's replica identity as ALTER TABLE writes
// it (an index's name is not in the facts, so INDEX never compares equal).
func currentIdentitySQL(t facts.Table) string {
	switch t.ReplicaIdentity {
	case 'f':
		return "FULL"
	case 'n':
		return "NOTHING"
	case 'd':
		return "DEFAULT"
	}
	return ""
}

func topicNames() rules.Rule {
	return rules.Rule{
		ID: "topic-names", Title: "Every captured table gets a topic of its own",
		Category: rules.CategoryConnector, Severity: rules.Error, Since: connectorSince,
		Needs: []facts.Section{facts.SectionConnect}, MayNeed: []facts.Section{facts.SectionTables},
		Why: `Debezium's default naming strategy sends a table's changes to <topic.prefix>.<schema>.<table>, after
replacing every character Kafka does not allow (anything but letters, digits, '.', '_' and '-') with
'_' and cutting the name to 249 characters, with only a WARN in its log. Distinct tables can then land
in one topic: public."my table", public."my$table" and public.my_table all become prefix.public.my_table,
and two long names that differ after character 249 become one. Their rows interleave under one schema
history and the sink writes them to one table: silent data corruption downstream, and Debezium does
not detect it. Topics that differ only in '.' versus '_' also collide in Kafka's metric names.`,
		Fix: `Rename one of the colliding tables, or route them apart with a topic-routing transform
(io.debezium.transforms.ByLogicalTableRouter, RegexRouter), or capture only one of them.`,
		Eval: func(f *facts.Facts) rules.Outcome {
			if o, ok := noConnector(f); ok {
				return o
			}
			c := f.Options.Connector
			if o, ok := unresolved(f, "topic.prefix", "topic.delimiter"); ok {
				return o
			}
			if c.TopicNaming != "" {
				return rules.Skip("topic.naming.strategy is %s: cdcpreflight computes the default strategy's names only", c.TopicNaming)
			}
			if o, ok := rules.Need(f, facts.SectionTables); !ok {
				return o
			}
			prefix := c.TopicPrefix
			if c.Flavour == facts.FlavourStreamkap {
				prefix = "" // Streamkap names the prefix itself; collisions do not depend on it
			}
			byTopic := map[string][]string{}
			var topics, renamed []string
			tables := 0
			metric := map[string][]string{}
			for _, t := range f.Tables.Tables {
				if !t.Captured || !t.IsTable() {
					continue
				}
				tables++
				name, changed := connector.TopicName(prefix, c.TopicDelimiter, t.Schema, t.Name)
				if _, seen := byTopic[name]; !seen {
					topics = append(topics, name)
				}
				byTopic[name] = append(byTopic[name], t.Quoted)
				if changed {
					renamed = append(renamed, t.Quoted+" → "+name)
				}
			}
			var collisions, objects []string
			for _, name := range topics {
				if ts := byTopic[name]; len(ts) > 1 {
					collisions = append(collisions, fmt.Sprintf("%s ← %s", name, strings.Join(ts, ", ")))
					objects = append(objects, ts...)
				}
				m := strings.ReplaceAll(name, ".", "_")
				metric[m] = append(metric[m], name)
			}
			if len(collisions) > 0 && !c.MergedTopics {
				return rules.Finding("%s receive the changes of more than one table: %s", plural(len(collisions), "topic", "topics"), listNames(collisions)).
					WithObjects(objects...).WithRemediation("Rename one of each group of tables, route them to distinct topics with a transform " +
					"(io.debezium.transforms.ByLogicalTableRouter), or capture only one of them.")
			}
			var metricClash []string
			for _, name := range topics {
				if ns := metric[strings.ReplaceAll(name, ".", "_")]; len(ns) > 1 && ns[0] == name {
					metricClash = append(metricClash, strings.Join(ns, " / "))
				}
			}
			if len(renamed) > 0 || len(metricClash) > 0 {
				var parts []string
				if len(renamed) > 0 {
					parts = append(parts, fmt.Sprintf("%s get a topic name that differs from the table's: %s", plural(len(renamed), "table", "tables"), listNames(renamed)))
				}
				if len(metricClash) > 0 {
					parts = append(parts, fmt.Sprintf("topics that differ only in '.' and '_' collide in Kafka's metric names: %s", listNames(metricClash)))
				}
				return rules.Finding("%s", strings.Join(parts, "; ")).WithSeverity(rules.Warning).
					WithRemediation("Make sure the sink and the consumers expect these topic names; rename the tables if they do not.")
			}
			where := "<topic.prefix>"
			if prefix != "" {
				where = prefix
			}
			return rules.Pass("%s map to %s under %s", plural(tables, "captured table", "captured tables"), plural(len(topics), "distinct topic", "distinct topics"), where)
		},
	}
}

// connectorSince is the tool version that introduced the connector rules.
const connectorSince = since

// streamingRules judge what only a streaming connector uses: the slot, the
// publication, wal_level, the replication connection, the signal and
// heartbeat tables. A snapshot.mode that never streams (initial_only,
// configuration_based without start.stream) does not need them.
var streamingRules = []string{
	"wal-level", "replication-capacity", "standby", "wal-retention-limit", "replication-connection", "replication-privilege",
	"signal-table", "signal-table-privileges", "heartbeat-table",
	"publication-exists", "publication-coverage", "publication-signal-table", "publication-operations",
	"publication-partitions", "publication-filters",
	"slot-exists", "slot-config", "slot-health", "slot-lifetime", "slot-peek",
	"unlogged-tables", "generated-columns",
}

// snapshotRules judge what an initial snapshot reads. Where a Debezium
// connector takes none and has no signal table to request one through,
// their findings are warnings: the task starts, and only a snapshot
// requested later (through another channel) would read the tables.
var snapshotReadRules = []string{"table-select", "row-level-security", "role-timeouts"}

// pgoutputRules judge a publication, which only pgoutput reads: with
// another plugin.name (decoderbufs) the connector uses none.
var pgoutputRules = []string{
	"publication-exists", "publication-coverage", "publication-signal-table", "publication-operations",
	"publication-partitions", "publication-filters", "slot-peek",
}

// bySnapshotMode makes the rules follow the connector's snapshot.mode and
// plugin.
func bySnapshotMode(all []rules.Rule) []rules.Rule {
	for i := range all {
		r := &all[i]
		if slices.Contains(pgoutputRules, r.ID) {
			eval := r.Eval
			r.Eval = func(f *facts.Facts) rules.Outcome {
				if c := f.Options.Connector; c != nil && c.Plugin != "pgoutput" && !c.IsUnresolved("plugin.name") {
					return rules.Skip("plugin.name=%s: the connector reads no publication (publications are pgoutput's)", c.Plugin)
				}
				return eval(f)
			}
		}
		eval := r.Eval
		switch {
		case slices.Contains(streamingRules, r.ID):
			r.Eval = func(f *facts.Facts) rules.Outcome {
				if c := f.Options.Connector; c != nil && !c.Streams() {
					return rules.Skip("snapshot.mode=%s never streams: this does not apply", c.SnapshotMode)
				}
				return eval(f)
			}
		case slices.Contains(snapshotReadRules, r.ID):
			r.Eval = func(f *facts.Facts) rules.Outcome {
				o := eval(f)
				c := f.Options.Connector
				if o.Status == rules.StatusFail && isDebezium(c) && !c.Snapshots() && c.SignalCollection == "" {
					o.Message += fmt.Sprintf(" (snapshot.mode=%s takes no initial snapshot and no signal table is configured: "+
						"the task starts, and only a snapshot requested later reads these tables)", c.SnapshotMode)
					o = o.WithSeverity(rules.Warning)
				}
				return o
			}
		}
	}
	return all
}

// debeziumSignalShape judges a signal table as Debezium uses it: it
// inserts watermarks with INSERT INTO … VALUES (id, type, data), by
// position, ids of 41 and 42 characters (a UUID and -open or -close) and
// types of 20 and 21 (snapshot-window-open, -close); it reads a signal's
// three columns as strings and drops rows of any other shape.
func debeziumSignalShape(h facts.HelperTable, name string) rules.Outcome {
	var problems []string
	if !h.IsTable() {
		return rules.Finding("signal table %s is not a table (kind %q)", name, h.Kind).WithObjects(name).
			WithRemediation("Create the signal table: CREATE TABLE " + name + " (id varchar(42) PRIMARY KEY, type varchar(32) NOT NULL, data varchar(2048) NULL);")
	}
	if len(h.Columns) != 3 {
		problems = append(problems, fmt.Sprintf("it has %d columns; Debezium inserts and reads exactly three (id, type, data)", len(h.Columns)))
	}
	for i, min := range []int{42, 21, 1} {
		if i >= len(h.Columns) {
			break
		}
		c := h.Columns[i]
		n, ok := varcharLength(c.Type)
		switch {
		case !ok:
			problems = append(problems, fmt.Sprintf("column %d (%s) is %s, not a character varying or text column", i+1, sqlident.Quote(c.Name), c.Type))
		case n > 0 && n < min:
			problems = append(problems, fmt.Sprintf("column %d (%s) is %s: Debezium's watermarks need %d characters", i+1, sqlident.Quote(c.Name), c.Type, min))
		}
	}
	if len(problems) > 0 {
		return rules.Finding("signal table %s cannot take Debezium's watermarks: %s (the incremental snapshot fails, %s)", name,
			strings.Join(problems, "; "), atStart).WithObjects(name).WithRemediation(
			"Give the signal table Debezium's shape: (id varchar(42) PRIMARY KEY, type varchar(32) NOT NULL, data varchar(2048) NULL).")
	}
	return rules.Pass("signal table %s has the shape Debezium writes and reads (three string columns)", name)
}

// debeziumSignalGrants is what Debezium's own watermarks need on the
// signal table: USAGE on its schema, INSERT, and DELETE with
// incremental.snapshot.watermarking.strategy=insert_delete.
func debeziumSignalGrants(f *facts.Facts, h facts.HelperTable, name, schema, role string) (lacks, objects []string, steps []rules.Step) {
	if !h.SchemaUsage {
		lacks = append(lacks, "USAGE on schema "+schema)
		objects = append(objects, "schema "+schema)
		steps = append(steps, helperStep(fmt.Sprintf("GRANT USAGE ON SCHEMA %s TO %s;", schema, role), ownerOf("schema "+schema)))
	}
	var privs []string
	if !h.Insert {
		privs = append(privs, "INSERT")
	}
	if f.Options.Connector.Watermarking == "insert_delete" && f.ConnectorDB.Err == nil && !f.ConnectorDB.SignalDelete {
		privs = append(privs, "DELETE")
	}
	if len(privs) > 0 {
		lacks = append(lacks, strings.Join(privs, ", ")+" on "+name)
		objects = append(objects, name)
		steps = append(steps, helperStep(fmt.Sprintf("GRANT %s ON TABLE %s TO %s;", strings.Join(privs, ", "), name, role), ownerOf("table "+name)))
	}
	return lacks, objects, steps
}
