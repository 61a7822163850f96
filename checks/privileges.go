package checks

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/cdcpreflight/cdcpreflight/facts"
	"github.com/cdcpreflight/cdcpreflight/internal/sqlident"
	"github.com/cdcpreflight/cdcpreflight/rules"
)

func replicationPrivilege() rules.Rule {
	return rules.Rule{
		ID: "replication-privilege", Title: "The connector role may replicate",
		Category: rules.CategoryPrivileges, Severity: rules.Error, Since: since,
		Needs: []string{"role", "platform", "server"},
		Why: `Creating and reading a replication slot needs the REPLICATION attribute on the login role itself,
superuser, or (on RDS and Aurora, where the attribute cannot be set) membership in rds_replication.
Role attributes are not inherited: GRANT streamkap_role TO streamkap_user does not pass on
streamkap_role's REPLICATION, which is why Streamkap's script also runs ALTER USER streamkap_user WITH
REPLICATION. Without it the connector fails with "must be superuser or replication role" (PG 10-15) or
"permission denied to use replication slots" (PG 16+).`,
		Fix: `Self-hosted, Azure, Cloud SQL, Supabase 17+: ALTER ROLE <user> WITH REPLICATION; as a role allowed to.
RDS and Aurora: GRANT rds_replication TO <user>;. Neon: roles created in the Console, CLI or API
already have REPLICATION; on Neon PostgreSQL 14 and 15 it cannot be granted with SQL.`,
		Eval: func(f *facts.Facts) rules.Outcome {
			if o, ok := needDB(f, f.Role.Err); !ok {
				return o
			}
			r := f.Role
			obj := "role " + sqlident.Quote(r.Name)
			switch {
			case !r.Exists:
				return rules.Finding("role %s does not exist", sqlident.Quote(r.Name)).WithObjects(obj).
					WithRemediation("Create the connector role first (Streamkap's script: CREATE USER streamkap_user PASSWORD '…'), or name the right one with --connector-user.")
			case r.Super:
				return rules.Pass("role %s is a superuser", sqlident.Quote(r.Name))
			case r.Replication:
				return rules.Pass("role %s has REPLICATION", sqlident.Quote(r.Name))
			case r.RDSReplication:
				return rules.Pass("role %s is a member of rds_replication", sqlident.Quote(r.Name))
			}
			msg := fmt.Sprintf("role %s has neither REPLICATION nor superuser", sqlident.Quote(r.Name))
			if f.Platform.Name == facts.PlatformRDS || f.Platform.Name == facts.PlatformAurora {
				msg = fmt.Sprintf("role %s is not a member of rds_replication", sqlident.Quote(r.Name))
			}
			if len(r.ReplicationVia) > 0 {
				quoted := make([]string, len(r.ReplicationVia))
				for i, v := range r.ReplicationVia {
					quoted[i] = sqlident.Quote(v)
				}
				msg += fmt.Sprintf("; it is a member of %s, which has REPLICATION, but role attributes are not inherited",
					strings.Join(quoted, ", "))
			}
			text, steps := grantReplication(f.Platform.Name, f.Server.Major(), r.Name)
			return rules.Finding("%s", msg).WithObjects(obj).WithSteps(text, steps...)
		},
	}
}

// privilegeRules judge what the connector role may do.
func privilegeRules() []rules.Rule {
	return []rules.Rule{
		replicationPrivilege(), databaseConnect(), schemaUsage(), tableSelect(),
		defaultPrivileges(), rowLevelSecurity(), roleTimeouts(),
	}
}

// privRole is the connector role's name as quote_ident renders it.
func privRole(f *facts.Facts) string { return sqlident.Quote(f.ConnectorRole()) }

// privDatabase is the name of the database judged.
func privDatabase(f *facts.Facts) string {
	if f.Target.Database != "" {
		return f.Target.Database
	}
	return f.ReplProbe.DBName
}

// privReady returns an outcome when the connector role's privileges cannot
// be judged: facts are missing, or the role does not exist, which
// replication-privilege reports once rather than every rule here.
func privReady(f *facts.Facts, sections ...*facts.Error) (rules.Outcome, bool) {
	if o, ok := needDB(f, append([]*facts.Error{f.Role.Err}, sections...)...); !ok {
		return o, false
	}
	if !f.Role.Exists {
		return rules.Skip("role %s does not exist (see replication-privilege)", privRole(f)), false
	}
	return rules.Outcome{}, true
}

// privCaptured lists the captured tables the connector reads: ordinary and
// partitioned tables. Views and other kinds are tables-exist's business.
func privCaptured(f *facts.Facts) []facts.Table {
	var out []facts.Table
	for _, t := range f.Tables.Tables {
		if t.Captured && (t.Kind == "r" || t.Kind == "p") {
			out = append(out, t)
		}
	}
	return out
}

func databaseConnect() rules.Rule {
	return rules.Rule{
		ID: "database-connect", Title: "The connector role may connect to the database",
		Category: rules.CategoryPrivileges, Severity: rules.Error, Since: since,
		Needs: []string{"role", "privileges"},
		Why: `Every connection the connector opens, the replication connection included, is refused without the
CONNECT privilege on the database: FATAL: permission denied for database "app", DETAIL: User does
not have CONNECT privilege. (SQLSTATE 42501). PUBLIC has CONNECT by default, so this fails only where
someone ran REVOKE CONNECT ON DATABASE … FROM PUBLIC (a common hardening step) and granted it back to
other roles. When cdcpreflight connects as the connector role its own connection already proves
CONNECT; the rule matters with --connector-user, when an admin audits another role.`,
		Fix: `Run GRANT CONNECT ON DATABASE <database> TO <connector role>; as the database owner or a superuser.
Granting it to a role the connector is a member of (streamkap_role in Streamkap's script) works too.`,
		Eval: func(f *facts.Facts) rules.Outcome {
			if o, ok := privReady(f, f.Privileges.Err); !ok {
				return o
			}
			role, db := privRole(f), sqlident.Quote(privDatabase(f))
			if f.Privileges.DatabaseConnect {
				return rules.Pass("role %s may connect to database %s", role, db)
			}
			return rules.Finding("role %s has no CONNECT privilege on database %s: its connections are refused", role, db).
				WithObjects("database "+db).
				WithSteps("Run this as the database owner or a superuser (granting CONNECT to a role the connector is a member of works too).",
					grantStep(fmt.Sprintf("GRANT CONNECT ON DATABASE %s TO %s;", db, role), needsDBOwner))
		},
	}
}

func schemaUsage() rules.Rule {
	return rules.Rule{
		ID: "schema-usage", Title: "The connector role may use the schemas of captured tables",
		Category: rules.CategoryPrivileges, Severity: rules.Error, Since: since,
		Needs: []string{"role", "privileges"},
		Why: `Without USAGE on a schema a role cannot reach any object in it, not even tables it has SELECT on:
every snapshot query fails with "permission denied for schema sales" (SQLSTATE 42501). PUBLIC has
USAGE on the public schema by default but on no schema created later, and Streamkap's script grants
USAGE on one schema only: the usual miss is a second captured schema. A listed schema that does not
exist is reported by tables-exist, not here. USAGE is judged as has_schema_privilege sees it: through
role membership, pg_read_all_data (14+), ownership or superuser.`,
		Fix: `Run GRANT USAGE ON SCHEMA <schema> TO <connector role>; for each schema, as its owner or a superuser.
Granting it to a role the connector is a member of (streamkap_role) works too. Reading does not need
the CREATE privilege that Streamkap's script also grants.`,
		Eval: func(f *facts.Facts) rules.Outcome {
			if o, ok := privReady(f, f.Privileges.Err); !ok {
				return o
			}
			role := privRole(f)
			var have, missing []string
			for _, s := range f.Privileges.Schemas {
				switch {
				case !s.Exists: // tables-exist reports it
				case s.Usage:
					have = append(have, s.Quoted)
				default:
					missing = append(missing, s.Quoted)
				}
			}
			if len(have)+len(missing) == 0 {
				return rules.Skip("no captured tables, so no schema to judge")
			}
			if len(missing) == 0 {
				return rules.Pass("role %s has USAGE on %s: %s", role, plural(len(have), "captured schema", "captured schemas"), listNames(have))
			}
			steps := make([]rules.Step, len(missing))
			for i, s := range missing {
				steps[i] = grantStep(fmt.Sprintf("GRANT USAGE ON SCHEMA %s TO %s;", s, role), ownerOf("schema "+s))
			}
			return rules.Finding("role %s has no USAGE on %s: %s", role, plural(len(missing), "captured schema", "captured schemas"), listNames(missing)).
				WithObjects(missing...).
				WithSteps("Run this as each schema's owner or a superuser (granting USAGE to a role the connector is a member of works too).", steps...)
		},
	}
}

// privGrantAllOver is how many ungranted tables of one schema make the
// remediation grant the whole schema rather than list them.
const privGrantAllOver = 10

func tableSelect() rules.Rule {
	return rules.Rule{
		ID: "table-select", Title: "The connector role may read every captured table",
		Category: rules.CategoryPrivileges, Severity: rules.Error, Since: since,
		Needs: []string{"role", "tables"},
		Why: `Snapshots read each captured table with SELECT: Streamkap's incremental snapshots chunk by chunk, a
blocking or initial snapshot in one pass. Without SELECT the read fails with "permission denied for
table orders" (SQLSTATE 42501) and the table is never snapshotted. Logical decoding reads the WAL, not
the tables, so streaming works and the failure appears only when a snapshot runs: often weeks after
setup, for the table a migration added. SELECT is judged as has_table_privilege sees it for the
connector role: through role membership (GRANT SELECT … TO streamkap_role counts for streamkap_user),
pg_read_all_data (14+), ownership or superuser.`,
		Fix: `Run GRANT SELECT ON <schema>.<table>, … TO <connector role>; as the tables' owner or a superuser, or
GRANT SELECT ON ALL TABLES IN SCHEMA <schema> TO <connector role>; (which also covers the schema's
tables outside the capture scope). Both cover existing tables only: for tables created later see
default-privileges.`,
		Eval: func(f *facts.Facts) rules.Outcome {
			if o, ok := privReady(f, f.Tables.Err); !ok {
				return o
			}
			role := privRole(f)
			tables := privCaptured(f)
			if len(tables) == 0 {
				return rules.Skip("no captured tables")
			}
			var missing []facts.Table
			for _, t := range tables {
				if !t.Select {
					missing = append(missing, t)
				}
			}
			if len(missing) == 0 {
				return rules.Pass("role %s may SELECT all %s", role, plural(len(tables), "captured table", "captured tables"))
			}
			names := make([]string, len(missing))
			for i, t := range missing {
				names[i] = t.Quoted
			}
			text := "Run this as the tables' owner or a superuser (granting SELECT to a role the connector is a member of works too). " +
				"It covers existing tables only: see default-privileges for tables created later."
			steps := privGrantSelect(missing, role)
			if slices.ContainsFunc(steps, func(s rules.Step) bool { return strings.Contains(s.SQL, " ALL TABLES IN SCHEMA ") }) {
				text += fmt.Sprintf(" Where a schema has more than %d such tables the statement grants ON ALL TABLES IN SCHEMA, "+
					"which also covers its tables outside the capture scope: list the tables instead if that matters.", privGrantAllOver)
			}
			return rules.Finding("role %s cannot SELECT %s: %s", role, plural(len(missing), "captured table", "captured tables"), listNames(names)).
				WithObjects(names...).WithSteps(text, steps...)
		},
	}
}

// privGrantSelect groups the grants by schema, in the order the tables come.
func privGrantSelect(tables []facts.Table, role string) []rules.Step {
	var schemas []string
	bySchema := map[string][]string{}
	for _, t := range tables {
		if _, seen := bySchema[t.Schema]; !seen {
			schemas = append(schemas, t.Schema)
		}
		bySchema[t.Schema] = append(bySchema[t.Schema], t.Quoted)
	}
	steps := make([]rules.Step, len(schemas))
	for i, s := range schemas {
		if names := bySchema[s]; len(names) > privGrantAllOver {
			steps[i] = grantStep(fmt.Sprintf("GRANT SELECT ON ALL TABLES IN SCHEMA %s TO %s;", sqlident.Quote(s), role),
				"the owner of every table in schema "+sqlident.Quote(s)+" (or a superuser)")
		} else {
			steps[i] = grantStep(fmt.Sprintf("GRANT SELECT ON %s TO %s;", strings.Join(names, ", "), role), needsTableOwners)
		}
	}
	return steps
}

func defaultPrivileges() rules.Rule {
	return rules.Rule{
		ID: "default-privileges", Title: "Tables created later in captured schemas will be readable",
		Category: rules.CategoryPrivileges, Severity: rules.Warning, Since: since,
		Needs: []string{"role", "privileges", "tables"},
		Why: `GRANT SELECT ON ALL TABLES covers the tables that exist when it runs. Tables created later are
readable only through default privileges, and ALTER DEFAULT PRIVILEGES applies only to tables created
by the role that ran it, or by the role named in FOR ROLE. Streamkap's script runs "ALTER DEFAULT
PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO streamkap_role" as whoever runs the script,
usually an admin, while the application's migrations create tables as another role: the statement
then does nothing for them. The next table a migration adds is captured (a FOR ALL TABLES
publication, or a schema in scope) but unreadable, and its snapshot fails with "permission denied for
table" long after setup. The owners of the captured tables are taken as the roles that will create
new ones; for each schema and owner the connector is covered by a default-privilege entry of that
owner (for the schema or for all schemas) granting SELECT to it, to a role it is a member of, or to
PUBLIC; by membership in the owner role; or by pg_read_all_data (14+).`,
		Fix: `Run ALTER DEFAULT PRIVILEGES FOR ROLE <owner> IN SCHEMA <schema> GRANT SELECT ON TABLES TO <connector role>;
for each owner and schema, as the owner, a member of it, or a superuser. psql's \ddp lists the
entries that exist. Tables that exist already need GRANT SELECT (see table-select).`,
		Eval: func(f *facts.Facts) rules.Outcome {
			if o, ok := privReady(f, f.Privileges.Err, f.Tables.Err); !ok {
				return o
			}
			role := privRole(f)
			if len(privCaptured(f)) == 0 {
				return rules.Skip("no captured tables, so no table owners to judge")
			}
			if f.Role.Super {
				return rules.Pass("role %s is a superuser: it reads every table, present or future", role)
			}
			var covered, missing, objs []string
			var steps []rules.Step
			for _, d := range f.Privileges.DefaultPrivileges {
				pair := d.Owner + " in " + d.Schema
				if d.Covered {
					covered = append(covered, pair)
					continue
				}
				missing = append(missing, pair)
				objs = append(objs, fmt.Sprintf("schema %s, owner %s", d.Schema, d.Owner))
				steps = append(steps, grantStep(fmt.Sprintf("ALTER DEFAULT PRIVILEGES FOR ROLE %s IN SCHEMA %s GRANT SELECT ON TABLES TO %s;",
					d.Owner, d.Schema, role), fmt.Sprintf("role %s, a member of it, or a superuser", d.Owner)))
			}
			if len(missing) == 0 {
				return rules.Pass("role %s will be able to read tables created later by the captured tables' owners: %s", role, listNames(covered))
			}
			return rules.Finding("role %s will not be able to read tables created later by %s", role, listNames(missing)).
				WithObjects(objs...).
				WithSteps("Run each statement as the owner role, a member of it, or a superuser: "+
					"ALTER DEFAULT PRIVILEGES without FOR ROLE covers only tables created by the role that runs it.", steps...)
		},
	}
}

func rowLevelSecurity() rules.Rule {
	return rules.Rule{
		ID: "row-level-security", Title: "Row-level security does not hide rows from the connector",
		Category: rules.CategoryPrivileges, Severity: rules.Error, Since: since,
		Needs: []string{"role", "tables", "platform", "server"},
		Why: `With row-level security enabled, a SELECT returns only the rows the table's policies let the role
see, and none when no policy applies to it; no error is raised. A snapshot taken by a role subject to
RLS silently copies part of the table, while the change stream (logical decoding reads the WAL, where
policies play no part) carries every later change: the destination gets updates and deletes for rows
it never received. Exempt are superusers, roles with BYPASSRLS (an attribute of the role itself: it
is not inherited through membership), and the table's owner or members of the owner role, unless the
table has FORCE ROW LEVEL SECURITY. FORCE without ENABLE has no effect.`,
		Fix: `Run ALTER ROLE <connector role> BYPASSRLS; as a superuser (before PostgreSQL 16 only a superuser may:
"must be superuser to change bypassrls attribute"; from 16 also a role with CREATEROLE, BYPASSRLS
itself and ADMIN on the connector role). On Neon, roles created in the Console, CLI or API have
BYPASSRLS. Where the attribute cannot be had, give the connector a permissive policy on each table:
CREATE POLICY cdc_read_all ON <table> FOR SELECT TO <connector role> USING (true); (restrictive
policies still apply).`,
		Eval: func(f *facts.Facts) rules.Outcome {
			if o, ok := privReady(f, f.Tables.Err); !ok {
				return o
			}
			role := privRole(f)
			tables := privCaptured(f)
			if len(tables) == 0 {
				return rules.Skip("no captured tables")
			}
			var withRLS, hit []string
			forced := 0
			for _, t := range tables {
				if !t.RLS {
					continue
				}
				withRLS = append(withRLS, t.Quoted)
				if t.OwnedByConnector && !t.ForceRLS {
					continue
				}
				if t.OwnedByConnector {
					forced++
				}
				hit = append(hit, t.Quoted)
			}
			switch {
			case len(withRLS) == 0:
				return rules.Pass("no captured table has row-level security enabled")
			case f.Role.Super:
				return rules.Pass("role %s is a superuser: row-level security on %s does not apply to it", role, listNames(withRLS))
			case f.Role.BypassRLS:
				return rules.Pass("role %s has BYPASSRLS: row-level security on %s does not apply to it", role, listNames(withRLS))
			case len(hit) == 0:
				return rules.Pass("role %s owns the captured tables with row-level security (%s) and none forces it", role, listNames(withRLS))
			}
			msg := fmt.Sprintf("role %s is subject to row-level security on %s (%s): a snapshot silently misses every row the policies hide from it",
				role, plural(len(hit), "captured table", "captured tables"), listNames(hit))
			if forced > 0 {
				msg += fmt.Sprintf("; it owns %s, but FORCE ROW LEVEL SECURITY applies policies to the owner too", plural(forced, "of them", "of them"))
			}
			text, steps := grantBypassRLS(f.Platform.Name, f.Server.Major(), role, hit[0])
			return rules.Finding("%s", msg).WithObjects(hit...).WithSteps(text, steps...)
		},
	}
}

// grantBypassRLS says how the connector role gets BYPASSRLS on platform,
// with a per-table policy as the way out where it cannot. role and table
// are quoted already.
func grantBypassRLS(platform string, major int, role, table string) (string, []rules.Step) {
	sql := fmt.Sprintf("ALTER ROLE %s BYPASSRLS;", role)
	alter := func(needs string) []rules.Step { return []rules.Step{roleStep(sql, needs)} }
	policy := fmt.Sprintf("If BYPASSRLS cannot be granted, add a permissive policy to each table instead, e.g. "+
		"CREATE POLICY cdc_read_all ON %s FOR SELECT TO %s USING (true); (restrictive policies still apply).", table, role)
	before16 := major > 0 && major < 16
	switch platform {
	case facts.PlatformSelfHosted, "":
		return "Run this as a superuser. " + policy, alter(needsSuperuser)
	case facts.PlatformNeon:
		if before16 {
			return fmt.Sprintf("On Neon with PostgreSQL %d only a superuser may grant BYPASSRLS, and Neon gives none: "+
				"create the connector role in the Neon Console, CLI or API (such roles have BYPASSRLS). %s", major, policy), nil
		}
		return "Run this as a Neon role created in the Console (it has CREATEROLE and BYPASSRLS) that administers the connector role. " + policy,
			alter("a Neon role created in the Console (CREATEROLE and BYPASSRLS) that administers the connector role")
	}
	if before16 {
		// Applying a statement the platform refuses would stop the whole
		// plan, so a person decides between it and the policies.
		step := roleStep(sql, needsSuperuser)
		step.Manual = true
		step.Note = "managed platforms give no superuser, so this is likely refused; if it is, add the permissive policy instead"
		return "Before PostgreSQL 16 only a superuser may grant BYPASSRLS (\"must be superuser to change bypassrls attribute\"), " +
			"and managed platforms give none: this statement is likely refused. " + policy, []rules.Step{step}
	}
	return "Run this as a role with CREATEROLE, BYPASSRLS itself and ADMIN on the connector role; managed platforms may refuse it. " + policy,
		alter("a role with CREATEROLE, BYPASSRLS and ADMIN on the connector role")
}

// privTimeouts are the settings that end a long snapshot. lock_timeout is
// left out: the connector's reads take only ACCESS SHARE locks, and a
// lock_timeout makes a blocked read fail fast instead of queueing behind DDL.
var privTimeouts = []string{"statement_timeout", "idle_in_transaction_session_timeout", "transaction_timeout"}

// privScopes are pg_db_role_setting scopes, most specific (winning) first.
var privScopes = []string{"role in database", "role", "database", "all roles"}

func roleTimeouts() rules.Rule {
	return rules.Rule{
		ID: "role-timeouts", Title: "No role or database timeout cuts a snapshot short",
		Category: rules.CategoryPrivileges, Severity: rules.Warning, Since: since,
		Needs: []string{"role", "role_settings"},
		Why: `ALTER ROLE … SET and ALTER DATABASE … SET values apply to every session of the connector role, its
snapshots included. A blocking snapshot (and Debezium's initial snapshot) reads each table with one
long SELECT inside one long REPEATABLE READ transaction, idle between fetches while rows are shipped.
statement_timeout cancels that SELECT ("canceling statement due to statement timeout", SQLSTATE
57014); idle_in_transaction_session_timeout ends the session ("terminating connection due to
idle-in-transaction timeout", 25P03); transaction_timeout (PostgreSQL 17+) ends a transaction that
runs longer ("terminating connection due to transaction timeout", 25P04). The snapshot fails after
hours of work and, restarted, hits the same limit on the same big table. Values come from
pg_db_role_setting: set on the connector role itself (not inherited through membership), on this
database, or on all roles; the most specific wins, as in PostgreSQL: role in database, role,
database, all roles. Server-wide values (postgresql.conf, or platform defaults such as Neon's
idle_in_transaction_session_timeout of 5 minutes) are not judged here. lock_timeout is not judged:
the connector's reads take only ACCESS SHARE locks, and a lock_timeout only makes a blocked read fail
fast instead of queueing behind DDL.`,
		Fix: `For a value set on the connector role: ALTER ROLE <role> RESET statement_timeout; (or ALTER ROLE <role>
IN DATABASE <database> RESET …). A value set on the database or on all roles was probably set on
purpose to protect the database from runaway queries: keep it and exempt the connector role only,
with ALTER ROLE <role> SET statement_timeout = 0;. The same goes for
idle_in_transaction_session_timeout and transaction_timeout. The connector role may run these for
itself; so may a superuser or a role allowed to alter it. New values apply to new sessions: restart
the connector.`,
		Eval: func(f *facts.Facts) rules.Outcome {
			if o, ok := privReady(f, f.RoleSettings.Err); !ok {
				return o
			}
			role, db := privRole(f), sqlident.Quote(privDatabase(f))
			var objs, off []string
			var steps []rules.Step
			for _, name := range privTimeouts {
				entries := map[string]string{}
				for _, s := range f.RoleSettings.Settings {
					if s.Name == name {
						entries[s.Scope] = s.Value
					}
				}
				scope, ok := privEffective(entries, privScopes...)
				if !ok {
					continue
				}
				where := privScopeName(scope, role, db) + ": " + name + "=" + entries[scope]
				if privZero(entries[scope]) {
					off = append(off, where)
					continue
				}
				objs = append(objs, where)
				steps = append(steps, privTimeoutFix(name, entries, role, db)...)
			}
			if len(objs) == 0 {
				if len(off) > 0 {
					return rules.Pass("role and database settings turn the timeouts off for role %s: %s", role, strings.Join(off, "; "))
				}
				return rules.Pass("no statement_timeout, idle_in_transaction_session_timeout or transaction_timeout is set for role %s or database %s", role, db)
			}
			return rules.Finding("a long snapshot by role %s would be cut short by %s: %s",
				role, plural(len(objs), "timeout", "timeouts"), strings.Join(objs, "; ")).
				WithObjects(objs...).
				WithSteps("Run this as the connector role itself, a superuser, or a role allowed to alter it "+
					"(CREATEROLE; from PostgreSQL 16 also ADMIN on it). It resets values set on the connector role and "+
					"exempts it from database-wide ones. Restart the connector afterwards: settings apply to new sessions.", steps...)
		},
	}
}

// privEffective returns the first of scopes that has a value.
func privEffective(entries map[string]string, scopes ...string) (string, bool) {
	for _, s := range scopes {
		if _, ok := entries[s]; ok {
			return s, true
		}
	}
	return "", false
}

// privTimeoutFix resets the connector role's own non-zero values and, when
// a database-wide or all-roles value would then apply, sets 0 on the role.
func privTimeoutFix(name string, entries map[string]string, role, db string) []rules.Step {
	const needs = "the connector role itself, a superuser, or a role with CREATEROLE (and, from PostgreSQL 16, ADMIN on it)"
	var steps []rules.Step
	if v, ok := entries["role in database"]; ok && !privZero(v) {
		steps = append(steps, roleStep(fmt.Sprintf("ALTER ROLE %s IN DATABASE %s RESET %s;", role, db, name), needs))
	}
	lower, ok := privEffective(entries, "database", "all roles")
	lowerOn := ok && !privZero(entries[lower])
	v, onRole := entries["role"]
	switch {
	case lowerOn && (!onRole || !privZero(v)):
		steps = append(steps, roleStep(fmt.Sprintf("ALTER ROLE %s SET %s = 0;", role, name), needs))
	case onRole && !privZero(v):
		steps = append(steps, roleStep(fmt.Sprintf("ALTER ROLE %s RESET %s;", role, name), needs))
	}
	return steps
}

func privScopeName(scope, role, db string) string {
	switch scope {
	case "role in database":
		return fmt.Sprintf("role %s in database %s", role, db)
	case "role":
		return "role " + role
	case "database":
		return "database " + db
	}
	return scope
}

// privZero reports whether a stored setting value ("0", "0ms", "'0'") is
// zero, which turns these timeouts off. Anything unreadable is not zero.
func privZero(v string) bool {
	v = strings.Trim(strings.TrimSpace(v), `'"`)
	end := 0
	for end < len(v) && (v[end] >= '0' && v[end] <= '9' || v[end] == '.') {
		end++
	}
	n, err := strconv.ParseFloat(v[:end], 64)
	return end > 0 && err == nil && n == 0
}
