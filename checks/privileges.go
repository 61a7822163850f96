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
		Needs: []facts.Section{facts.SectionRole},
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
			r := f.Role
			obj := "role " + sqlident.Quote(r.Name)
			switch {
			case !r.Exists:
				return rules.Finding("role %s does not exist", sqlident.Quote(r.Name)).WithObjects(obj).
					WithRemediation("Create the connector role first (Streamkap's script: CREATE USER streamkap_user PASSWORD '…'), or name the right one with --connector-user.")
			case r.CanReplicate():
				return rules.Pass("role %s %s", sqlident.Quote(r.Name), replicatesBy(r))
			}
			platform := platformOf(f)
			msg := fmt.Sprintf("role %s %s", sqlident.Quote(r.Name), platform.replicationMissing)
			if len(r.ReplicationVia) > 0 {
				quoted := make([]string, len(r.ReplicationVia))
				for i, v := range r.ReplicationVia {
					quoted[i] = sqlident.Quote(v)
				}
				msg += fmt.Sprintf("; it is a member of %s, which has REPLICATION, but role attributes are not inherited",
					strings.Join(quoted, ", "))
			}
			text, steps := platform.grantReplication(f.Server.Major(), r.Name)
			return rules.Finding("%s", msg).WithObjects(obj).WithSteps(text, steps...)
		},
	}
}

// replicatesBy says what lets a role that CanReplicate replicate.
func replicatesBy(r facts.Role) string {
	switch {
	case r.Super:
		return "is a superuser"
	case r.Replication:
		return "has REPLICATION"
	}
	return "is a member of rds_replication"
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
// be judged because the role does not exist, which replication-privilege
// reports once rather than every rule here.
func privReady(f *facts.Facts) (rules.Outcome, bool) {
	if !f.Role.Exists {
		return rules.Skip("role %s does not exist (see replication-privilege)", privRole(f)), false
	}
	return rules.Outcome{}, true
}

// privCaptured lists the captured tables the connector reads: ordinary and
// partitioned tables. Views and other kinds are tables-exist's business.
func privCaptured(f *facts.Facts) []*facts.Table {
	n := 0
	for i := range f.Tables.Tables {
		if t := &f.Tables.Tables[i]; t.Captured && t.IsTable() {
			n++
		}
	}
	out := make([]*facts.Table, 0, n)
	for i := range f.Tables.Tables {
		if t := &f.Tables.Tables[i]; t.Captured && t.IsTable() {
			out = append(out, t)
		}
	}
	return out
}

func databaseConnect() rules.Rule {
	return rules.Rule{
		ID: "database-connect", Title: "The connector role may connect to the database",
		Category: rules.CategoryPrivileges, Severity: rules.Error, Since: since,
		Needs: []facts.Section{facts.SectionTarget}, MayNeed: []facts.Section{facts.SectionRole, facts.SectionPrivileges},
		Why: `Every connection the connector opens, the replication connection included, is refused without the
CONNECT privilege on the database: FATAL: permission denied for database "app", DETAIL: User does
not have CONNECT privilege. (SQLSTATE 42501). PUBLIC has CONNECT by default, so this fails only where
someone ran REVOKE CONNECT ON DATABASE … FROM PUBLIC (a common hardening step) and granted it back to
other roles. When cdcpreflight connects as the connector role its own connection proves CONNECT, and
a refused connection says why: no CONNECT (42501); a wrong password, an expired one, or a role that
does not exist, which password authentication does not tell apart ("password authentication failed
for user", 28P01); a database that does not exist (3D000: names match exactly, letter case
included); no pg_hba.conf line for this client, user and database, or a reject line ("no pg_hba.conf
entry for host", "pg_hba.conf rejects connection", 28000); a role without LOGIN (28000). This rule
then fails with the remedy, while every rule that needed the connection reports error. With
--connector-user, when an admin audits another role, the rule judges that role's CONNECT privilege.`,
		Fix: `Run GRANT CONNECT ON DATABASE <database> TO <connector role>; as the database owner or a superuser.
Granting it to a role the connector is a member of (streamkap_role in Streamkap's script) works too.
For a refused password, check the user name and password the connector is configured with, or set a
new password (ALTER ROLE <role> PASSWORD …; psql's \password does it without the password reaching
the server log) and update the connector. For pg_hba.conf, add a line such as
hostssl <database> <user> <client address>/32 scram-sha-256 above any line that matches first, then
reload (SELECT pg_reload_conf(); or pg_ctl reload); managed platforms manage pg_hba.conf themselves:
allow the client through their console (network access, firewall rules, IP allow list). For a role
without LOGIN: ALTER ROLE <role> LOGIN;.`,
		Eval: func(f *facts.Facts) rules.Outcome {
			if o, ok := connectRefused(f); ok {
				return o
			}
			if o, ok := rules.Need(f, facts.SectionRole, facts.SectionPrivileges); !ok {
				return o
			}
			if !f.Role.Exists {
				// The other grant rules skip, leaving it to
				// replication-privilege; this one is about logging in.
				return rules.Finding("role %s does not exist, so every connection the connector opens is refused", privRole(f)).
					WithObjects("role " + privRole(f)).
					WithRemediation("Create the connector role first (Streamkap's script: CREATE USER streamkap_user PASSWORD '…'), " +
						"or name the right one with --connector-user.")
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

// connectRefused judges a refused catalog connection whose cause the
// server named. Only a refusal of the connector's own login says anything
// about the connector, except a missing database, which refuses everyone.
// Other failures (a timeout, DNS, TLS) stay errors: ok is false.
func connectRefused(f *facts.Facts) (rules.Outcome, bool) {
	e := f.Connect.Err
	if e == nil {
		return rules.Outcome{}, false
	}
	user, dbName := f.Target.User, f.Target.Database
	role, db := sqlident.Quote(user), sqlident.Quote(dbName)
	cause := e.Message + " (SQLSTATE " + e.SQLState + ")"
	if e.SQLState == "3D000" {
		return rules.Finding("database %s does not exist, so every connection to it is refused: %s", db, cause).
			WithObjects("database " + db).
			WithRemediation(fmt.Sprintf("Connect to a database that exists: names match exactly, letter case and spaces included "+
				"(\"App\" is not app). psql -l or SELECT datname FROM pg_database; lists them. The connector's database name must match "+
				"too; if %s is meant to be new, create it first (CREATE DATABASE %s; as a role with CREATEDB).", db, db)), true
	}
	if f.Options.ConnectorUser != "" && f.Options.ConnectorUser != user {
		return rules.Outcome{}, false // an admin's refusal says nothing about the connector
	}
	msg := e.Message
	switch {
	case e.SQLState == "42501" && (strings.Contains(msg, "CONNECT") || strings.Contains(msg, "permission denied for database")):
		return rules.Finding("role %s may not connect to database %s: %s", role, db, cause).
			WithObjects("database "+db).
			WithSteps("Run this as the database owner or a superuser (granting CONNECT to a role the connector is a member of works too).",
				grantStep(fmt.Sprintf("GRANT CONNECT ON DATABASE %s TO %s;", db, role), needsDBOwner)), true
	case e.SQLState == "28P01":
		return rules.Finding("the server refused the password of role %s: %s", role, cause).
			WithObjects("role " + role).
			WithRemediation(fmt.Sprintf("The password is wrong, has expired (VALID UNTIL), or role %s does not exist: password authentication "+
				"answers the same for all three, and the server log says which. Check the user name and the password the connector is "+
				"configured with. To set a new one, as a superuser or a role with CREATEROLE, run \\password %s in psql (the password "+
				"does not reach the server log) or ALTER ROLE %s PASSWORD '…';, then give the connector the new password; "+
				"if the role does not exist, create it (CREATE ROLE %s LOGIN PASSWORD '…';).", role, role, role, role)), true
	case e.SQLState == "28000" && strings.Contains(msg, "no pg_hba.conf entry"):
		return rules.Finding("pg_hba.conf has no line that lets role %s connect to database %s from this client: %s", role, db, cause).
			WithObjects("pg_hba.conf").WithRemediation(hbaRemedy(f, msg, "")), true
	case e.SQLState == "28000" && strings.Contains(msg, "pg_hba.conf rejects"):
		return rules.Finding("a pg_hba.conf reject line refuses role %s on database %s from this client: %s", role, db, cause).
			WithObjects("pg_hba.conf").
			WithRemediation(hbaRemedy(f, msg, "Remove the reject line that matches, or put an accepting line above it: the first matching line decides. ")), true
	case e.SQLState == "28000" && strings.Contains(msg, "not permitted to log in"):
		return rules.Finding("role %s may not log in (NOLOGIN): %s", role, cause).
			WithObjects("role "+role).
			WithSteps("Run this as a superuser or a role with CREATEROLE (from PostgreSQL 16 also ADMIN on it).",
				roleStep(fmt.Sprintf("ALTER ROLE %s LOGIN;", role), "a superuser, or a role with CREATEROLE (and, from PostgreSQL 16, ADMIN on it)")), true
	case e.SQLState == "28000" && strings.Contains(msg, "does not exist"):
		return rules.Finding("role %s does not exist: %s", role, cause).
			WithObjects("role " + role).
			WithRemediation(fmt.Sprintf("Connect as the connector's role, spelled exactly, or create it (CREATE ROLE %s LOGIN PASSWORD '…';) "+
				"as a superuser or a role with CREATEROLE.", role)), true
	}
	return rules.Outcome{}, false
}

// hbaRemedy is the pg_hba.conf line for the refused client, user and
// database, built from the server's message ('… for host "10.0.0.5",
// user "u", database "d", SSL encryption' or, before 14, 'SSL on').
func hbaRemedy(f *facts.Facts, msg, first string) string {
	addr := "<client address>/32"
	if _, rest, ok := strings.Cut(msg, `host "`); ok {
		if h, _, ok := strings.Cut(rest, `"`); ok && h != "" {
			switch {
			case h == "[local]":
				addr = ""
			case strings.Contains(h, ":"):
				addr = h + "/128"
			default:
				addr = h + "/32"
			}
		}
	}
	plain := strings.Contains(msg, "no encryption") || strings.Contains(msg, "SSL off")
	line := fmt.Sprintf("hostssl %s %s %s scram-sha-256", hbaWord(f.Target.Database), hbaWord(f.Target.User), addr)
	if addr == "" {
		line = fmt.Sprintf("local %s %s scram-sha-256", hbaWord(f.Target.Database), hbaWord(f.Target.User))
	}
	text := first + fmt.Sprintf("Add `%s` to pg_hba.conf above any line that would match this connection first (lines are read top "+
		"to bottom and the first match decides), then reload the server: SELECT pg_reload_conf(); as a superuser, or pg_ctl reload. "+
		"pg_hba.conf changes apply only after a reload, to new connections. The connector's replication connection matches the same line.", line)
	if plain && addr != "" {
		text += " This connection was not encrypted, and a hostssl line matches only TLS connections: connect with sslmode=require " +
			"(the connector should use SSL mode require)."
	}
	return text + " " + platformOf(f).hbaNote(f.Platform.Name)
}

func schemaUsage() rules.Rule {
	return rules.Rule{
		ID: "schema-usage", Title: "The connector role may use the schemas of captured tables",
		Category: rules.CategoryPrivileges, Severity: rules.Error, Since: since,
		Needs: []facts.Section{facts.SectionRole, facts.SectionPrivileges},
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
			if o, ok := privReady(f); !ok {
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
		Needs: []facts.Section{facts.SectionRole, facts.SectionTables},
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
			if o, ok := privReady(f); !ok {
				return o
			}
			role := privRole(f)
			tables := privCaptured(f)
			if len(tables) == 0 {
				return rules.Skip("no captured tables")
			}
			var missing []*facts.Table
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
func privGrantSelect(tables []*facts.Table, role string) []rules.Step {
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
		Needs: []facts.Section{facts.SectionRole, facts.SectionPrivileges, facts.SectionTables},
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
			if o, ok := privReady(f); !ok {
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
		Needs: []facts.Section{facts.SectionRole, facts.SectionTables}, MayNeed: []facts.Section{facts.SectionRoleSettings},
		Why: `With row-level security enabled, a SELECT returns only the rows the table's policies let the role
see, and none when no policy applies to it; no error is raised. A snapshot taken by a role subject to
RLS silently copies part of the table, while the change stream (logical decoding reads the WAL, where
policies play no part) carries every later change: the destination gets updates and deletes for rows
it never received. Exempt are superusers, roles with BYPASSRLS (an attribute of the role itself: it
is not inherited through membership), and the table's owner or members of the owner role, unless the
table has FORCE ROW LEVEL SECURITY. FORCE without ENABLE has no effect. A table hides nothing when a
permissive policy FOR SELECT or FOR ALL with USING (true) applies to the connector (TO PUBLIC, to it,
or to a role whose privileges it inherits) and no restrictive policy for SELECT does: Supabase's
stock "readable by everyone" policy, for one. Only the literal true counts (USING (1 = 1) is judged
as hiding rows). With row_security = off set for the connector (ALTER ROLE … SET, the database, all
roles or the server) a SELECT that policies would filter fails instead, with "query would be affected
by row-level security policy for table" (SQLSTATE 42501), USING (true) or not.`,
		Fix: `Run ALTER ROLE <connector role> BYPASSRLS; as a superuser (before PostgreSQL 16 only a superuser may:
"must be superuser to change bypassrls attribute"; from 16 also a role with CREATEROLE, BYPASSRLS
itself and ADMIN on the connector role). On Neon, roles created in the Console, CLI or API have
BYPASSRLS. Where the attribute cannot be had, give the connector a permissive policy on each table:
CREATE POLICY cdc_read_all ON <table> FOR SELECT TO <connector role> USING (true); (restrictive
policies still apply, and with row_security = off the role's row_security must be reset too).`,
		Eval: func(f *facts.Facts) rules.Outcome {
			if o, ok := privReady(f); !ok {
				return o
			}
			role := privRole(f)
			tables := privCaptured(f)
			if len(tables) == 0 {
				return rules.Skip("no captured tables")
			}
			// row_security = off turns a filtered read into an error; it
			// matters only when a policy would otherwise hide nothing.
			rsOff, rsWhere := false, ""
			var rsEntries map[string]string
			if slices.ContainsFunc(tables, func(t *facts.Table) bool { return t.RLS && t.RLSReadAll }) {
				if o, ok := rules.Need(f, facts.SectionRoleSettings); !ok && !f.Role.Super && !f.Role.BypassRLS {
					return o
				}
			}
			if f.RoleSettings.Err == nil {
				var on, ok bool
				on, rsWhere, rsEntries, ok = privSessionBool(f, "row_security")
				rsOff = ok && !on
			}
			var withRLS, hit, open []string
			forced := 0
			for _, t := range tables {
				if !t.RLS {
					continue
				}
				withRLS = append(withRLS, t.Quoted)
				if t.OwnedByConnector && !t.ForceRLS {
					continue
				}
				if t.RLSReadAll && !rsOff {
					open = append(open, t.Quoted)
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
				var why []string
				if owned := len(withRLS) - len(open); owned > 0 {
					why = append(why, fmt.Sprintf("role %s owns %s with row-level security and none forces it",
						role, plural(owned, "captured table", "captured tables")))
				}
				if len(open) > 0 {
					why = append(why, fmt.Sprintf("on %s a permissive policy with USING (true) lets role %s read every row "+
						"and no restrictive policy applies to it", listNames(open), role))
				}
				return rules.Pass("row-level security hides no row from the connector: %s", strings.Join(why, "; "))
			}
			// Where BYPASSRLS cannot be had, a policy per table is the way out.
			policy := fmt.Sprintf("If BYPASSRLS cannot be granted, add a permissive policy to each table instead, e.g. "+
				"CREATE POLICY cdc_read_all ON %s FOR SELECT TO %s USING (true); (restrictive policies still apply).", hit[0], role)
			text, steps := platformOf(f).grantBypassRLS(f.Server.Major(), role, policy)
			if rsOff {
				msg := fmt.Sprintf("role %s is subject to row-level security on %s (%s) and its sessions have row_security off (%s): "+
					"a snapshot of them fails with \"query would be affected by row-level security policy for table\" (SQLSTATE 42501)",
					role, plural(len(hit), "captured table", "captured tables"), listNames(hit), rsWhere)
				harmless := func(v string) bool { on, ok := privBool(v); return ok && on }
				var reset []string
				for _, st := range privOverrideFix("row_security", rsEntries, role, sqlident.Quote(privDatabase(f)), harmless, "on") {
					reset = append(reset, st.SQL)
				}
				text += fmt.Sprintf(" BYPASSRLS also makes row_security = off harmless; a policy helps only once row_security is on again for the role: %s",
					strings.Join(reset, " "))
				return rules.Finding("%s", msg).WithObjects(append(hit, rsWhere)...).WithSteps(text, steps...)
			}
			msg := fmt.Sprintf("role %s is subject to row-level security on %s (%s): a snapshot silently misses every row the policies hide from it",
				role, plural(len(hit), "captured table", "captured tables"), listNames(hit))
			if forced > 0 {
				msg += fmt.Sprintf("; it owns %s, but FORCE ROW LEVEL SECURITY applies policies to the owner too", plural(forced, "of them", "of them"))
			}
			return rules.Finding("%s", msg).WithObjects(hit...).WithSteps(text, steps...)
		},
	}
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
		Needs: []facts.Section{facts.SectionRole, facts.SectionRoleSettings},
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
			if o, ok := privReady(f); !ok {
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
	return privOverrideFix(name, entries, role, db, privZero, "0")
}

// privOverrideFix resets the values of setting name set on the connector
// role (in this database, and on itself) that are not harmless, and, when
// a value set for the database, for all roles or on the server would then
// apply and is not harmless, sets safe on the role, which outranks them.
func privOverrideFix(name string, entries map[string]string, role, db string, harmless func(string) bool, safe string) []rules.Step {
	const needs = "the connector role itself, a superuser, or a role with CREATEROLE (and, from PostgreSQL 16, ADMIN on it)"
	var steps []rules.Step
	if v, ok := entries["role in database"]; ok && !harmless(v) {
		steps = append(steps, roleStep(fmt.Sprintf("ALTER ROLE %s IN DATABASE %s RESET %s;", role, db, name), needs))
	}
	lower, ok := privEffective(entries, "database", "all roles", "server")
	lowerOn := ok && !harmless(entries[lower])
	v, onRole := entries["role"]
	switch {
	case lowerOn && (!onRole || !harmless(v)):
		steps = append(steps, roleStep(fmt.Sprintf("ALTER ROLE %s SET %s = %s;", role, name, safe), needs))
	case onRole && !harmless(v):
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
	case "server":
		return "the server (postgresql.conf or ALTER SYSTEM)"
	}
	return scope
}

// privSessionScopes are where a session setting of the connector can come
// from, most specific (winning) first: pg_db_role_setting, then the
// server-wide value (RoleSettings.Server).
var privSessionScopes = append(slices.Clone(privScopes), "server")

// privSetting returns the values of setting name that apply to the
// connector's sessions, by scope (privSessionScopes).
func privSetting(f *facts.Facts, name string) map[string]string {
	entries := map[string]string{}
	for _, s := range f.RoleSettings.Settings {
		if s.Name == name {
			entries[s.Scope] = s.Value
		}
	}
	if v, ok := f.RoleSettings.Server[name]; ok {
		entries["server"] = v
	}
	return entries
}

// privSessionBool is the effective value of boolean setting name for the
// connector's sessions, where it comes from (scope name: value, for
// messages), and the entries by scope. ok is false when nothing sets it
// (or the value is not a boolean PostgreSQL would accept).
func privSessionBool(f *facts.Facts, name string) (value bool, where string, entries map[string]string, ok bool) {
	entries = privSetting(f, name)
	scope, found := privEffective(entries, privSessionScopes...)
	if !found {
		return false, "", entries, false
	}
	value, ok = privBool(entries[scope])
	where = privScopeName(scope, privRole(f), sqlident.Quote(privDatabase(f))) + ": " + name + "=" + entries[scope]
	return value, where, entries, ok
}

// privBool reads a boolean setting as PostgreSQL's parse_bool does: true,
// false, yes, no, on, off, 1, 0, and unambiguous prefixes, in any case.
func privBool(v string) (value, ok bool) {
	v = strings.ToLower(strings.Trim(strings.TrimSpace(v), `'"`))
	// abbrev: v is word or a leading part of it.
	abbrev := func(word string) bool { return v != "" && len(v) <= len(word) && word[:len(v)] == v }
	switch {
	case v == "1", abbrev("true"), abbrev("yes"), v == "on":
		return true, true
	case v == "0", abbrev("false"), abbrev("no"), len(v) >= 2 && abbrev("off"):
		return false, true
	}
	return false, false
}

// privReadOnly reports whether the connector's sessions in this database
// start read-only (default_transaction_read_only on, from the most
// specific scope that sets it), and where that comes from.
func privReadOnly(f *facts.Facts) (where string, entries map[string]string, on bool) {
	v, where, entries, ok := privSessionBool(f, "default_transaction_read_only")
	return where, entries, ok && v
}

// privReadOnlyFix lets the connector's sessions write again.
func privReadOnlyFix(f *facts.Facts, entries map[string]string) []rules.Step {
	harmless := func(v string) bool { on, ok := privBool(v); return ok && !on }
	return privOverrideFix("default_transaction_read_only", entries, privRole(f), sqlident.Quote(privDatabase(f)), harmless, "off")
}

// privReadOnlyText explains how to run privReadOnlyFix's statements: a
// session that is read-only itself refuses ALTER ROLE with the same 25006.
const privReadOnlyText = "run this as the connector role itself, a superuser, or a role allowed to alter it " +
	"(CREATEROLE; from PostgreSQL 16 also ADMIN on it), in a session that is not read-only itself: the connector's own sessions are, " +
	"and so is yours where the database, ALTER ROLE ALL or the server sets it, and ALTER ROLE then fails with the same 25006 " +
	"(\"cannot execute ALTER ROLE in a read-only transaction\"). Run SET default_transaction_read_only = off; first in that session " +
	"(psql), or, where only the database sets it, connect to another database. " +
	"Restart the connector afterwards: settings apply to new sessions."

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
