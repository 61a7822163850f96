package gather

import (
	"fmt"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/cdcpreflight/cdcpreflight/facts"
	"github.com/cdcpreflight/cdcpreflight/internal/connector"
)

// Reads for a connector configuration (Options.Connector): the capture
// scope its filters select, and what the connector needs at start that the
// other reads do not say. Without a configuration none of them runs.

// builtinPlugins ship with PostgreSQL (pgoutput from 10).
var builtinPlugins = []string{"pgoutput", "test_decoding"}

// scopeSentinel stands in a capture list that selects no table, so that
// the tables read still reads a list (an empty one means the default
// scope): no table can have this name, longer than PostgreSQL's 63-byte
// identifiers. finishConnector takes it out again.
var scopeSentinel = facts.TableRef{Schema: strings.Repeat("-", 64), Table: strings.Repeat("-", 64)}

// prepareScope compiles the connector's filters. When they cannot be
// evaluated the scope is an error, and so is every table fact.
func (g *gatherer) prepareScope() {
	c := g.f.Options.Connector
	if c == nil || c.TablesOverridden {
		return
	}
	for _, p := range []string{connector.PropSchemaInclude, connector.PropSchemaExclude, connector.PropTableInclude,
		connector.PropTableExclude, "signal.data.collection", "table.ignore.builtin"} {
		if c.IsUnresolved(p) {
			g.scopeErr = &facts.Error{Op: "compute the capture scope", Message: fmt.Sprintf(
				"%s is a reference cdcpreflight does not resolve (%s): the captured tables cannot be known", p, c.File)}
			return
		}
	}
	s, errs := connector.NewScope(c)
	if len(errs) > 0 {
		msgs := make([]string, len(errs))
		for i, e := range errs {
			msgs[i] = e.Error()
		}
		g.scopeErr = &facts.Error{Op: "compute the capture scope", Message: strings.Join(msgs, "; ") +
			": the captured tables cannot be known exactly, so they are not guessed"}
		return
	}
	g.scope = s
}

// scopeRead lists every table Debezium could capture, as its JDBC driver
// lists them (DatabaseMetaData.getTables with TABLE and PARTITIONED TABLE:
// relkind r and p outside pg_* schemas and information_schema), and picks
// the captured ones in one pass.
func (g *gatherer) scopeRead() read {
	var c connector.Candidate
	var cands []connector.Candidate
	return read{op: "read the tables the connector could capture", err: &g.scopeErr, sql: `SELECT n.nspname::text, c.relname::text, c.relkind = 'p'
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p') AND n.nspname NOT LIKE 'pg\_%' AND n.nspname <> 'information_schema'
ORDER BY 1, 2`,
		scan: func(rows pgx.Rows) error {
			_, err := pgx.ForEachRow(rows, []any{&c.Schema, &c.Name, &c.Partitioned}, func() error {
				cands = append(cands, c)
				return nil
			})
			if err != nil {
				return err
			}
			refs, scope := g.scope.Resolve(cands)
			g.f.Scope = scope
			if len(refs) == 0 {
				refs = []facts.TableRef{scopeSentinel}
			}
			g.f.Options.Tables = refs
			return nil
		},
	}
}

// finishConnector runs once the tables are read: the sentinel goes, and a
// scope with no include list is not an explicit capture list.
func (g *gatherer) finishConnector() {
	c := g.f.Options.Connector
	if c == nil {
		return
	}
	if e := g.pluginExtErr; e != nil && e.SQLState != "58P01" {
		// Neither there nor not: said, and judged with the other evidence.
		g.f.ConnectorDB.Plugin.ExtensionUnknown = e.Error()
	}
	if g.scopeErr != nil {
		g.f.Scope.Err = g.scopeErr
		g.f.Tables.Err = g.scopeErr
		return
	}
	g.f.Options.Tables = slices.DeleteFunc(g.f.Options.Tables, func(r facts.TableRef) bool { return r == scopeSentinel })
	g.f.Tables.Missing = slices.DeleteFunc(g.f.Tables.Missing, func(r facts.TableRef) bool { return r == scopeSentinel })
	if g.f.Tables.Err == nil {
		g.f.Tables.Listed = g.scope.Explicit()
	}
}

// connectorReads read what the connector needs at start: CREATE on the
// database (CREATE PUBLICATION), whether its output plugin is installed,
// tables named like the signal collection but for case, and the table its
// heartbeat action query writes.
func (g *gatherer) connectorReads() []read {
	c := g.f.Options.Connector
	if c == nil {
		return nil
	}
	d := &g.f.ConnectorDB
	d.Plugin.Name = c.Plugin
	d.Plugin.Builtin = slices.Contains(builtinPlugins, c.Plugin)
	var schema, table string
	if id, ok := connector.ParseTableID(c.SignalCollection); ok && c.SignalCollection != "" {
		schema, table = id.Schema, id.Table
	}
	var preload string
	reads := []read{{op: "read what the connector needs at start", err: &d.Err,
		args: []any{g.f.Options.ConnectorUser, c.Plugin, schema, table}, sql: `WITH ` + roleCTE + `
SELECT coalesce(has_database_privilege(role.oid, (SELECT oid FROM pg_database WHERE datname = current_database()), 'CREATE'), false),
	$2::text <> '',
	coalesce((SELECT setting FROM pg_settings WHERE name = 'shared_preload_libraries'), ''),
	coalesce((SELECT rolsuper FROM pg_roles WHERE rolname = current_user), false),
	array(SELECT quote_ident(n.nspname) || '.' || quote_ident(c.relname) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE $4::text <> '' AND lower(c.relname) = lower($4::text) AND lower(n.nspname) = lower($3::text)
			AND (n.nspname <> $3::text OR c.relname <> $4::text) AND c.relkind IN ('r', 'p')
		ORDER BY 1),
	coalesce(has_table_privilege(role.oid, (SELECT c.oid FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname = $3::text AND c.relname = $4::text), 'DELETE'), false)
FROM role`,
		scan: func(rows pgx.Rows) error {
			var ignored bool
			if err := rowsOne(rows, &d.DatabaseCreate, &ignored, &preload, &g.sessionSuper, &d.SignalCaseVariants, &d.SignalDelete); err != nil {
				return err
			}
			for _, lib := range strings.Split(preload, ",") {
				lib = strings.Trim(strings.TrimSpace(lib), `"`)
				if lib == c.Plugin || strings.HasSuffix(lib, "/"+c.Plugin) {
					d.Plugin.Preloaded = true
				}
			}
			if len(d.SignalCaseVariants) == 0 {
				d.SignalCaseVariants = nil
			}
			return nil
		},
	}}
	if !d.Plugin.Builtin {
		// The plugin's own control file only: pg_available_extensions
		// reads every control file of the server, and one it cannot parse
		// (an extension built for another major) fails the whole view.
		// A missing control file is SQLSTATE 58P01, an answer, not an error.
		reads = append(reads, read{op: "look for the output plugin's control file", err: &g.pluginExtErr,
			args: []any{c.Plugin}, sql: `SELECT count(*) FROM pg_extension_update_paths($1::text)`,
			scan: func(rows pgx.Rows) error {
				var n int64
				if err := rowsOne(rows, &n); err != nil {
					return err
				}
				d.Plugin.Extension = true
				return nil
			},
		})
	}
	if verb, name, ok := connector.HeartbeatTable(c.HeartbeatQuery); ok {
		h := &d.Heartbeat
		h.Name, h.Verb = name, verb
		reads = append(reads, read{op: "read the heartbeat query's table", err: &d.Err,
			args: []any{g.f.Options.ConnectorUser, name, g.f.Options.Publication}, sql: `WITH RECURSIVE ` + roleCTE + `, ` + publishedCTE(g.ver(), "$3") + `
SELECT c.oid IS NOT NULL, coalesce(quote_ident(n.nspname) || '.' || quote_ident(c.relname), ''), coalesce(c.relkind::text, ''),
	coalesce(has_table_privilege(role.oid, c.oid, 'INSERT'), false),
	coalesce(has_table_privilege(role.oid, c.oid, 'UPDATE'), false),
	coalesce(has_table_privilege(role.oid, c.oid, 'DELETE'), false),
	coalesce(has_schema_privilege(role.oid, n.oid, 'USAGE'), false),
	EXISTS (SELECT 1 FROM pubrel WHERE pubrel.oid = c.oid)
FROM (SELECT to_regclass($2::text) AS oid) AS r
	LEFT JOIN pg_class c ON c.oid = r.oid
	LEFT JOIN pg_namespace n ON n.oid = c.relnamespace
	CROSS JOIN role`,
			scan: func(rows pgx.Rows) error {
				return rowsOne(rows, &h.Exists, &h.Quoted, &h.Kind, &h.Insert, &h.Update, &h.Delete, &h.SchemaUsage, &h.Published)
			},
		})
	}
	return reads
}

// pluginLibraryRead looks for the output plugin's library in the server's
// library path, which only a superuser may do (pg_config, pg_stat_file).
// It runs only when the session is one and nothing else showed the plugin.
func (g *gatherer) pluginLibraryRead() (read, bool) {
	d := &g.f.ConnectorDB
	if g.f.Options.Connector == nil || d.Err != nil || !g.sessionSuper {
		return read{}, false
	}
	if installed, known := d.Plugin.Installed(); installed && known {
		return read{}, false
	}
	return read{op: "look for the output plugin's library", err: &d.Err, args: []any{d.Plugin.Name}, sql: `SELECT EXISTS (
	SELECT 1 FROM unnest(string_to_array(current_setting('dynamic_library_path'), ':')) AS d(dir),
		unnest(ARRAY['.so', '.dylib', '.dll']) AS s(suffix)
	WHERE pg_stat_file(replace(d.dir, '$libdir', (SELECT setting FROM pg_config WHERE name = 'PKGLIBDIR')) || '/' || $1::text || s.suffix, true) IS NOT NULL)`,
		scan: func(rows pgx.Rows) error {
			d.Plugin.LibraryChecked = true
			return rowsOne(rows, &d.Plugin.LibraryFound)
		},
	}, true
}
