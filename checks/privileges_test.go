package checks

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/cdcpreflight/cdcpreflight/facts"
	"github.com/cdcpreflight/cdcpreflight/internal/sqlident"
	"github.com/cdcpreflight/cdcpreflight/rules"
)

func noReplication(f *facts.Facts) { f.Role.Replication = false }

var privilegeCases = []ruleCase{
	{name: "attribute", rule: "replication-privilege", want: rules.StatusPass},
	{name: "superuser", rule: "replication-privilege", want: rules.StatusPass,
		mutate: func(f *facts.Facts) { f.Role.Replication, f.Role.Super = false, true }},
	{name: "rds_replication", rule: "replication-privilege", want: rules.StatusPass,
		mutate: func(f *facts.Facts) { f.Role.Replication, f.Role.RDSReplication = false, true }},
	{name: "only through membership", rule: "replication-privilege", want: rules.StatusFail,
		objects: []string{"role streamkap_user"}, contains: "not inherited",
		mutate: func(f *facts.Facts) { f.Role.Replication, f.Role.ReplicationVia = false, []string{"streamkap_role"} }},
	{name: "rds", rule: "replication-privilege", want: rules.StatusFail, contains: "GRANT rds_replication TO streamkap_user;",
		mutate: func(f *facts.Facts) { noReplication(f); f.Platform.Name = facts.PlatformRDS }},
	{name: "neon 15", rule: "replication-privilege", want: rules.StatusFail, contains: "cannot be granted with SQL",
		mutate: func(f *facts.Facts) { noReplication(f); f.Platform.Name = facts.PlatformNeon }},
	{name: "neon 16", rule: "replication-privilege", want: rules.StatusFail, contains: "ALTER ROLE streamkap_user WITH REPLICATION;",
		mutate: func(f *facts.Facts) {
			noReplication(f)
			f.Platform.Name, f.Server.VersionNum = facts.PlatformNeon, 160004
		}},
	{name: "hostile name quoted", rule: "replication-privilege", want: rules.StatusFail,
		objects: []string{`role "Cdc ""; DROP TABLE x; --"`}, contains: `ALTER ROLE "Cdc ""; DROP TABLE x; --" WITH REPLICATION;`,
		mutate: func(f *facts.Facts) { noReplication(f); f.Role.Name = `Cdc "; DROP TABLE x; --` }},
	{name: "missing role", rule: "replication-privilege", want: rules.StatusFail, contains: "does not exist",
		mutate: func(f *facts.Facts) { f.Role = facts.Role{Name: "ghost"} }},
	{name: "unreadable", rule: "replication-privilege", want: rules.StatusError,
		mutate: func(f *facts.Facts) { f.Role = facts.Role{Err: readFailed} }},

	// database-connect
	{name: "granted", rule: "database-connect", want: rules.StatusPass},
	{name: "revoked from public", rule: "database-connect", want: rules.StatusFail,
		objects: []string{"database app"}, contains: "GRANT CONNECT ON DATABASE app TO streamkap_user;",
		mutate: func(f *facts.Facts) { f.Privileges.DatabaseConnect = false }},
	{name: "hostile names quoted", rule: "database-connect", want: rules.StatusFail,
		objects:  []string{`database "My ""DB"""`},
		contains: `GRANT CONNECT ON DATABASE "My ""DB""" TO "Cdc ""; DROP TABLE x; --";`,
		mutate: func(f *facts.Facts) {
			f.Privileges.DatabaseConnect = false
			f.Target.Database, f.Role.Name = `My "DB"`, `Cdc "; DROP TABLE x; --`
		}},
	{name: "missing role", rule: "database-connect", want: rules.StatusFail, objects: []string{"role ghost"},
		contains: "role ghost does not exist, so every connection the connector opens is refused", mutate: missingRole},
	{name: "unreadable", rule: "database-connect", want: rules.StatusError,
		mutate: func(f *facts.Facts) { f.Privileges = facts.Privileges{Err: readFailed} }},
	{name: "role unreadable", rule: "database-connect", want: rules.StatusError,
		mutate: func(f *facts.Facts) { f.Role = facts.Role{Err: readFailed} }},
	{name: "no connection", rule: "database-connect", want: rules.StatusError, contains: "could not connect",
		mutate: noConnection},
	{name: "refused: no CONNECT", rule: "database-connect", want: rules.StatusFail,
		objects: []string{"database app"}, contains: "GRANT CONNECT ON DATABASE app TO streamkap_user;",
		mutate: refused("42501", `permission denied for database "app" (User does not have CONNECT privilege.)`)},
	{name: "refused: wrong password", rule: "database-connect", want: rules.StatusFail,
		objects: []string{"role streamkap_user"}, contains: `\password streamkap_user`,
		mutate: refused("28P01", `password authentication failed for user "streamkap_user"`)},
	{name: "refused: missing database", rule: "database-connect", want: rules.StatusFail,
		objects: []string{`database "App"`}, contains: "names match exactly",
		mutate: func(f *facts.Facts) {
			f.Target.Database = "App"
			refused("3D000", `database "App" does not exist`)(f)
		}},
	{name: "refused: missing database, auditing another role", rule: "database-connect", want: rules.StatusFail,
		contains: "does not exist",
		mutate: func(f *facts.Facts) {
			f.Options.ConnectorUser = "streamkap_user"
			f.Target.User = "admin"
			refused("3D000", `database "app" does not exist`)(f)
		}},
	{name: "refused: no pg_hba entry", rule: "database-connect", want: rules.StatusFail, objects: []string{"pg_hba.conf"},
		contains: "Add `hostssl app streamkap_user 10.1.2.3/32 scram-sha-256` to pg_hba.conf",
		mutate:   refused("28000", `no pg_hba.conf entry for host "10.1.2.3", user "streamkap_user", database "app", SSL encryption`)},
	{name: "refused: no pg_hba entry, reload", rule: "database-connect", want: rules.StatusFail, contains: "SELECT pg_reload_conf();",
		mutate: refused("28000", `no pg_hba.conf entry for host "10.1.2.3", user "streamkap_user", database "app", SSL encryption`)},
	{name: "refused: no pg_hba entry, not encrypted (PG 10)", rule: "database-connect", want: rules.StatusFail,
		contains: "a hostssl line matches only TLS connections: connect with sslmode=require",
		mutate:   refused("28000", `no pg_hba.conf entry for host "10.1.2.3", user "streamkap_user", database "app", SSL off`)},
	{name: "refused: no pg_hba entry over IPv6", rule: "database-connect", want: rules.StatusFail,
		contains: "hostssl app streamkap_user 2001:db8::7/128 scram-sha-256",
		mutate:   refused("28000", `no pg_hba.conf entry for host "2001:db8::7", user "streamkap_user", database "app", SSL encryption`)},
	{name: "refused: no pg_hba entry over the socket", rule: "database-connect", want: rules.StatusFail,
		contains: "Add `local app streamkap_user scram-sha-256`",
		mutate:   refused("28000", `no pg_hba.conf entry for host "[local]", user "streamkap_user", database "app", no encryption`)},
	{name: "refused: no pg_hba entry, hostile names", rule: "database-connect", want: rules.StatusFail,
		contains: `hostssl "My ""DB""" "cdc user" 10.1.2.3/32 scram-sha-256`,
		mutate: func(f *facts.Facts) {
			f.Target.Database, f.Target.User, f.Options.ConnectorUser = `My "DB"`, "cdc user", "cdc user"
			refused("28000", `no pg_hba.conf entry for host "10.1.2.3", user "cdc user", database "My ""DB""", SSL encryption`)(f)
		}},
	{name: "refused: no pg_hba entry on a managed platform", rule: "database-connect", want: rules.StatusFail,
		contains: "On Amazon RDS pg_hba.conf is not yours to edit",
		mutate: func(f *facts.Facts) {
			f.Platform.Name = facts.PlatformRDS
			refused("28000", `no pg_hba.conf entry for host "10.1.2.3", user "streamkap_user", database "app", SSL encryption`)(f)
		}},
	{name: "refused: pg_hba reject line", rule: "database-connect", want: rules.StatusFail, contains: "Remove the reject line",
		mutate: refused("28000", `pg_hba.conf rejects connection for host "10.1.2.3", user "streamkap_user", database "app", no encryption`)},
	{name: "refused: NOLOGIN", rule: "database-connect", want: rules.StatusFail, contains: "ALTER ROLE streamkap_user LOGIN;",
		mutate: refused("28000", `role "streamkap_user" is not permitted to log in`)},
	{name: "refused: missing role (trust)", rule: "database-connect", want: rules.StatusFail, objects: []string{"role streamkap_user"},
		contains: "CREATE ROLE streamkap_user LOGIN", mutate: refused("28000", `role "streamkap_user" does not exist`)},
	{name: "refused: the auditing admin's password", rule: "database-connect", want: rules.StatusError,
		contains: "password authentication failed",
		mutate: func(f *facts.Facts) {
			f.Target.User = "admin"
			refused("28P01", `password authentication failed for user "admin"`)(f)
		}},
	{name: "refused: other cause", rule: "database-connect", want: rules.StatusError, contains: "too many clients",
		mutate: refused("53300", "sorry, too many clients already")},

	// schema-usage
	{name: "granted", rule: "schema-usage", want: rules.StatusPass, contains: "public"},
	{name: "second schema", rule: "schema-usage", want: rules.StatusFail,
		objects: []string{`"Sales Ops"`}, contains: `GRANT USAGE ON SCHEMA "Sales Ops" TO streamkap_user;`,
		mutate: func(f *facts.Facts) {
			f.Privileges.Schemas = append(f.Privileges.Schemas, facts.SchemaPrivilege{Name: "Sales Ops", Quoted: `"Sales Ops"`, Exists: true})
		}},
	{name: "missing schema is tables-exist's", rule: "schema-usage", want: rules.StatusPass,
		mutate: func(f *facts.Facts) {
			f.Privileges.Schemas = append(f.Privileges.Schemas, facts.SchemaPrivilege{Name: "gone", Quoted: "gone"})
		}},
	{name: "nothing captured", rule: "schema-usage", want: rules.StatusSkip,
		mutate: func(f *facts.Facts) { f.Privileges.Schemas = nil }},
	{name: "missing role", rule: "schema-usage", want: rules.StatusSkip, mutate: missingRole},
	{name: "unreadable", rule: "schema-usage", want: rules.StatusError,
		mutate: func(f *facts.Facts) { f.Privileges = facts.Privileges{Err: readFailed} }},
	{name: "no connection", rule: "schema-usage", want: rules.StatusError, mutate: noConnection},

	// table-select
	{name: "granted", rule: "table-select", want: rules.StatusPass, contains: "2 captured tables"},
	{name: "hostile names", rule: "table-select", want: rules.StatusFail,
		objects:  []string{`public."Order Items"`, `public."x""; DROP TABLE y; --"`},
		contains: `GRANT SELECT ON public."Order Items", public."x""; DROP TABLE y; --" TO streamkap_user;`,
		mutate: func(f *facts.Facts) {
			f.Tables.Tables = append(f.Tables.Tables, unreadable("Order Items"), unreadable(`x"; DROP TABLE y; --`))
		}},
	{name: "through schemas", rule: "table-select", want: rules.StatusFail,
		contains: `GRANT SELECT ON "Sales Ops".q1 TO streamkap_user;`,
		mutate: func(f *facts.Facts) {
			t := unreadable("q1")
			t.Schema, t.Quoted = "Sales Ops", `"Sales Ops".q1`
			f.Tables.Tables = append(f.Tables.Tables, unreadable("a"), t)
		}},
	{name: "many tables", rule: "table-select", want: rules.StatusFail,
		contains: "GRANT SELECT ON ALL TABLES IN SCHEMA public TO streamkap_user;",
		mutate: func(f *facts.Facts) {
			for i := range 12 {
				f.Tables.Tables = append(f.Tables.Tables, unreadable(fmt.Sprintf("t%02d", i)))
			}
		}},
	{name: "message capped", rule: "table-select", want: rules.StatusFail, contains: "public.t04 and 7 more",
		mutate: func(f *facts.Facts) {
			for i := range 12 {
				f.Tables.Tables = append(f.Tables.Tables, unreadable(fmt.Sprintf("t%02d", i)))
			}
		}},
	{name: "views are tables-exist's", rule: "table-select", want: rules.StatusPass,
		mutate: func(f *facts.Facts) {
			v := unreadable("v")
			v.Kind = 'v'
			f.Tables.Tables = append(f.Tables.Tables, v)
		}},
	{name: "uncaptured tables ignored", rule: "table-select", want: rules.StatusPass,
		mutate: func(f *facts.Facts) {
			t := unreadable("elsewhere")
			t.Captured = false
			f.Tables.Tables = append(f.Tables.Tables, t)
		}},
	{name: "nothing captured", rule: "table-select", want: rules.StatusSkip, contains: "no captured tables",
		mutate: nothingCaptured},
	{name: "missing role", rule: "table-select", want: rules.StatusSkip, mutate: missingRole},
	{name: "unreadable", rule: "table-select", want: rules.StatusError,
		mutate: func(f *facts.Facts) { f.Tables = facts.Tables{Err: readFailed} }},
	{name: "no connection", rule: "table-select", want: rules.StatusError, mutate: noConnection},

	// default-privileges
	{name: "covered", rule: "default-privileges", want: rules.StatusPass, contains: "app_owner in public"},
	{name: "granted by another role", rule: "default-privileges", want: rules.StatusWarn,
		objects:  []string{"schema public, owner app_owner"},
		contains: "ALTER DEFAULT PRIVILEGES FOR ROLE app_owner IN SCHEMA public GRANT SELECT ON TABLES TO streamkap_user;",
		mutate:   func(f *facts.Facts) { f.Privileges.DefaultPrivileges[0].Covered = false }},
	{name: "hostile names", rule: "default-privileges", want: rules.StatusWarn,
		objects:  []string{`schema "Sales Ops", owner "App ""Owner"""`},
		contains: `ALTER DEFAULT PRIVILEGES FOR ROLE "App ""Owner""" IN SCHEMA "Sales Ops" GRANT SELECT ON TABLES TO streamkap_user;`,
		mutate: func(f *facts.Facts) {
			f.Privileges.DefaultPrivileges = append(f.Privileges.DefaultPrivileges,
				facts.DefaultPrivilege{Schema: `"Sales Ops"`, Owner: `"App ""Owner"""`})
		}},
	{name: "superuser", rule: "default-privileges", want: rules.StatusPass, contains: "superuser",
		mutate: func(f *facts.Facts) { f.Role.Super, f.Privileges.DefaultPrivileges[0].Covered = true, false }},
	{name: "nothing captured", rule: "default-privileges", want: rules.StatusSkip, mutate: nothingCaptured},
	{name: "missing role", rule: "default-privileges", want: rules.StatusSkip, mutate: missingRole},
	{name: "unreadable", rule: "default-privileges", want: rules.StatusError,
		mutate: func(f *facts.Facts) { f.Privileges = facts.Privileges{Err: readFailed} }},
	{name: "tables unreadable", rule: "default-privileges", want: rules.StatusError,
		mutate: func(f *facts.Facts) { f.Tables = facts.Tables{Err: readFailed} }},
	{name: "no connection", rule: "default-privileges", want: rules.StatusError, mutate: noConnection},

	// row-level-security
	{name: "no rls", rule: "row-level-security", want: rules.StatusPass, contains: "no captured table"},
	{name: "rls on a table", rule: "row-level-security", want: rules.StatusFail,
		objects: []string{"public.orders"}, contains: "ALTER ROLE streamkap_user BYPASSRLS;",
		mutate: func(f *facts.Facts) { f.Tables.Tables[1].RLS = true }},
	{name: "policy alternative", rule: "row-level-security", want: rules.StatusFail,
		contains: "CREATE POLICY cdc_read_all ON public.orders FOR SELECT TO streamkap_user USING (true);",
		mutate:   func(f *facts.Facts) { f.Tables.Tables[1].RLS = true }},
	{name: "owner exempt", rule: "row-level-security", want: rules.StatusPass, contains: "owns",
		mutate: func(f *facts.Facts) { f.Tables.Tables[1].RLS, f.Tables.Tables[1].OwnedByConnector = true, true }},
	{name: "forced on owner", rule: "row-level-security", want: rules.StatusFail,
		objects: []string{"public.orders"}, contains: "FORCE ROW LEVEL SECURITY",
		mutate: func(f *facts.Facts) {
			t := &f.Tables.Tables[1]
			t.RLS, t.ForceRLS, t.OwnedByConnector = true, true, true
		}},
	{name: "forced without enabled", rule: "row-level-security", want: rules.StatusPass,
		mutate: func(f *facts.Facts) { f.Tables.Tables[1].ForceRLS = true }},
	{name: "bypassrls", rule: "row-level-security", want: rules.StatusPass, contains: "BYPASSRLS",
		mutate: func(f *facts.Facts) { f.Tables.Tables[1].RLS, f.Role.BypassRLS = true, true }},
	{name: "superuser", rule: "row-level-security", want: rules.StatusPass, contains: "superuser",
		mutate: func(f *facts.Facts) {
			t := &f.Tables.Tables[1]
			t.RLS, t.ForceRLS, f.Role.Super = true, true, true
		}},
	{name: "neon 15", rule: "row-level-security", want: rules.StatusFail, contains: "Neon Console",
		mutate: func(f *facts.Facts) { f.Tables.Tables[1].RLS, f.Platform.Name = true, facts.PlatformNeon }},
	{name: "rds 15", rule: "row-level-security", want: rules.StatusFail, contains: "must be superuser to change bypassrls attribute",
		mutate: func(f *facts.Facts) { f.Tables.Tables[1].RLS, f.Platform.Name = true, facts.PlatformRDS }},
	{name: "a platform this version does not know is managed", rule: "row-level-security", want: rules.StatusFail,
		contains: "managed platforms give none",
		mutate:   func(f *facts.Facts) { f.Tables.Tables[1].RLS, f.Platform.Name = true, "heroku" }},
	{name: "hostile names", rule: "row-level-security", want: rules.StatusFail,
		objects: []string{`public."x""; DROP TABLE y; --"`}, contains: `ALTER ROLE "Cdc ""; DROP TABLE x; --" BYPASSRLS;`,
		mutate: func(f *facts.Facts) {
			t := unreadable(`x"; DROP TABLE y; --`)
			t.RLS = true
			f.Tables.Tables = append(f.Tables.Tables, t)
			f.Role.Name = `Cdc "; DROP TABLE x; --`
		}},
	{name: "nothing captured", rule: "row-level-security", want: rules.StatusSkip, mutate: nothingCaptured},
	{name: "missing role", rule: "row-level-security", want: rules.StatusSkip, mutate: missingRole},
	{name: "unreadable", rule: "row-level-security", want: rules.StatusError,
		mutate: func(f *facts.Facts) { f.Tables = facts.Tables{Err: readFailed} }},
	{name: "no connection", rule: "row-level-security", want: rules.StatusError, mutate: noConnection},
	{name: "readable by everyone", rule: "row-level-security", want: rules.StatusPass,
		contains: "on public.orders a permissive policy with USING (true) lets role streamkap_user read every row",
		mutate:   func(f *facts.Facts) { f.Tables.Tables[1].RLS, f.Tables.Tables[1].RLSReadAll = true, true }},
	{name: "readable by everyone and owned", rule: "row-level-security", want: rules.StatusPass,
		contains: "role streamkap_user owns 1 captured table with row-level security and none forces it; on public.orders",
		mutate: func(f *facts.Facts) {
			f.Tables.Tables[0].RLS, f.Tables.Tables[0].OwnedByConnector = true, true
			f.Tables.Tables[1].RLS, f.Tables.Tables[1].RLSReadAll = true, true
		}},
	{name: "readable by everyone next to a tenant table", rule: "row-level-security", want: rules.StatusFail,
		objects: []string{"public.customers"},
		mutate: func(f *facts.Facts) {
			f.Tables.Tables[0].RLS = true
			f.Tables.Tables[1].RLS, f.Tables.Tables[1].RLSReadAll = true, true
		}},
	{name: "readable by everyone, forced on the owner", rule: "row-level-security", want: rules.StatusPass,
		mutate: func(f *facts.Facts) {
			t := &f.Tables.Tables[1]
			t.RLS, t.ForceRLS, t.OwnedByConnector, t.RLSReadAll = true, true, true, true
		}},
	{name: "readable by everyone, row_security off", rule: "row-level-security", want: rules.StatusFail,
		objects:  []string{"public.orders", "role streamkap_user: row_security=off"},
		contains: `fails with "query would be affected by row-level security policy for table" (SQLSTATE 42501)`,
		mutate: func(f *facts.Facts) {
			f.Tables.Tables[1].RLS, f.Tables.Tables[1].RLSReadAll = true, true
			roleSettings(facts.RoleSetting{Scope: "role", Name: "row_security", Value: "off"})(f)
		}},
	{name: "row_security off on the database", rule: "row-level-security", want: rules.StatusFail,
		contains: "ALTER ROLE streamkap_user SET row_security = on;",
		mutate: func(f *facts.Facts) {
			f.Tables.Tables[1].RLS = true
			roleSettings(facts.RoleSetting{Scope: "database", Name: "row_security", Value: "off"})(f)
		}},
	{name: "row_security off on the server", rule: "row-level-security", want: rules.StatusFail,
		contains: "the server (postgresql.conf or ALTER SYSTEM): row_security=off",
		mutate: func(f *facts.Facts) {
			f.Tables.Tables[1].RLS, f.Tables.Tables[1].RLSReadAll = true, true
			f.RoleSettings.Server = map[string]string{"row_security": "off"}
		}},
	{name: "row_security off, role back on", rule: "row-level-security", want: rules.StatusPass,
		mutate: func(f *facts.Facts) {
			f.Tables.Tables[1].RLS, f.Tables.Tables[1].RLSReadAll = true, true
			roleSettings(facts.RoleSetting{Scope: "all roles", Name: "row_security", Value: "off"},
				facts.RoleSetting{Scope: "role", Name: "row_security", Value: "on"})(f)
		}},
	{name: "readable by everyone, role settings unreadable", rule: "row-level-security", want: rules.StatusError,
		mutate: func(f *facts.Facts) {
			f.Tables.Tables[1].RLS, f.Tables.Tables[1].RLSReadAll = true, true
			f.RoleSettings = facts.RoleSettings{Err: readFailed}
		}},
	{name: "tenant policy, role settings unreadable", rule: "row-level-security", want: rules.StatusFail,
		contains: "silently misses",
		mutate: func(f *facts.Facts) {
			f.Tables.Tables[1].RLS = true
			f.RoleSettings = facts.RoleSettings{Err: readFailed}
		}},

	// role-timeouts
	{name: "none set", rule: "role-timeouts", want: rules.StatusPass, contains: "no statement_timeout"},
	{name: "on the role", rule: "role-timeouts", want: rules.StatusWarn,
		objects: []string{"role streamkap_user: statement_timeout=30s"}, contains: "ALTER ROLE streamkap_user RESET statement_timeout;",
		mutate: roleSettings(facts.RoleSetting{Scope: "role", Name: "statement_timeout", Value: "30s"})},
	{name: "on the database", rule: "role-timeouts", want: rules.StatusWarn,
		objects:  []string{"database app: idle_in_transaction_session_timeout=1min"},
		contains: "ALTER ROLE streamkap_user SET idle_in_transaction_session_timeout = 0;",
		mutate:   roleSettings(facts.RoleSetting{Scope: "database", Name: "idle_in_transaction_session_timeout", Value: "1min"})},
	{name: "role in database", rule: "role-timeouts", want: rules.StatusWarn,
		objects:  []string{"role streamkap_user in database app: transaction_timeout=600000"},
		contains: "ALTER ROLE streamkap_user IN DATABASE app RESET transaction_timeout;",
		mutate:   roleSettings(facts.RoleSetting{Scope: "role in database", Name: "transaction_timeout", Value: "600000"})},
	{name: "all roles", rule: "role-timeouts", want: rules.StatusWarn,
		objects: []string{"all roles: statement_timeout=5min"}, contains: "ALTER ROLE streamkap_user SET statement_timeout = 0;",
		mutate: roleSettings(facts.RoleSetting{Scope: "all roles", Name: "statement_timeout", Value: "5min"})},
	{name: "role overrides database", rule: "role-timeouts", want: rules.StatusPass, contains: "role streamkap_user: statement_timeout=0",
		mutate: roleSettings(
			facts.RoleSetting{Scope: "database", Name: "statement_timeout", Value: "30s"},
			facts.RoleSetting{Scope: "role", Name: "statement_timeout", Value: "0"})},
	{name: "role in database overrides role", rule: "role-timeouts", want: rules.StatusWarn,
		objects: []string{"role streamkap_user in database app: statement_timeout=10s"},
		mutate: roleSettings(
			facts.RoleSetting{Scope: "role", Name: "statement_timeout", Value: "0"},
			facts.RoleSetting{Scope: "role in database", Name: "statement_timeout", Value: "10s"})},
	{name: "lock_timeout is harmless", rule: "role-timeouts", want: rules.StatusPass,
		mutate: roleSettings(facts.RoleSetting{Scope: "role", Name: "lock_timeout", Value: "5s"})},
	{name: "hostile names", rule: "role-timeouts", want: rules.StatusWarn,
		objects:  []string{`role "Cdc ""; DROP TABLE x; --" in database "My ""DB""": statement_timeout=1h`},
		contains: `ALTER ROLE "Cdc ""; DROP TABLE x; --" IN DATABASE "My ""DB""" RESET statement_timeout;`,
		mutate: func(f *facts.Facts) {
			f.Role.Name, f.Target.Database = `Cdc "; DROP TABLE x; --`, `My "DB"`
			roleSettings(facts.RoleSetting{Scope: "role in database", Name: "statement_timeout", Value: "1h"})(f)
		}},
	{name: "missing role", rule: "role-timeouts", want: rules.StatusSkip, mutate: missingRole},
	{name: "unreadable", rule: "role-timeouts", want: rules.StatusError,
		mutate: func(f *facts.Facts) { f.RoleSettings = facts.RoleSettings{Err: readFailed} }},
	{name: "no connection", rule: "role-timeouts", want: rules.StatusError, mutate: noConnection},
}

// unreadable is a captured table the connector has no SELECT on.
func unreadable(name string) facts.Table {
	t := facts.Table{Schema: "public", Name: name, Quoted: "public." + sqlident.Quote(name), Kind: 'r', Persistence: 'p',
		ReplicaIdentity: 'd', Owner: "app_owner", SchemaUsage: true, Captured: true}
	return t
}

func missingRole(f *facts.Facts) { f.Role = facts.Role{Name: "ghost"} }

func noConnection(f *facts.Facts) {
	f.Connect.Err = &facts.Error{Op: "connect", Message: "connection refused"}
}

func nothingCaptured(f *facts.Facts) {
	for i := range f.Tables.Tables {
		f.Tables.Tables[i].Captured = false
	}
}

// refused makes the catalog connection fail as the server refused it.
func refused(state, message string) func(*facts.Facts) {
	return func(f *facts.Facts) {
		f.Connect.Err = &facts.Error{Op: "connect", Message: message, SQLState: state}
		f.Server, f.Role, f.Tables, f.Privileges = facts.Server{}, facts.Role{}, facts.Tables{}, facts.Privileges{}
	}
}

func roleSettings(s ...facts.RoleSetting) func(f *facts.Facts) {
	return func(f *facts.Facts) { f.RoleSettings.Settings = append(f.RoleSettings.Settings, s...) }
}

// TestPrivTimeoutFix: the statements leave the connector role with no
// timeout whatever the mix of scopes, and touch only what they must.
func TestPrivTimeoutFix(t *testing.T) {
	for _, tc := range []struct {
		name    string
		entries map[string]string
		want    []string
	}{
		{"role only", map[string]string{"role": "30s"}, []string{"ALTER ROLE r RESET statement_timeout;"}},
		{"database only", map[string]string{"database": "30s"}, []string{"ALTER ROLE r SET statement_timeout = 0;"}},
		{"role and database", map[string]string{"role": "10s", "database": "30s"}, []string{"ALTER ROLE r SET statement_timeout = 0;"}},
		{"role in database over role 0", map[string]string{"role in database": "10s", "role": "0", "database": "1min"},
			[]string{"ALTER ROLE r IN DATABASE d RESET statement_timeout;"}},
		{"role in database over role", map[string]string{"role in database": "10s", "role": "20s"},
			[]string{"ALTER ROLE r IN DATABASE d RESET statement_timeout;", "ALTER ROLE r RESET statement_timeout;"}},
		{"database 0 over all roles", map[string]string{"role": "1s", "database": "0", "all roles": "5s"},
			[]string{"ALTER ROLE r RESET statement_timeout;"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := stepSQL(privTimeoutFix("statement_timeout", tc.entries, "r", "d")); !slices.Equal(got, tc.want) {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestPrivZero(t *testing.T) {
	for v, want := range map[string]bool{"0": true, "0ms": true, "'0'": true, "0s": true, "0.0": true,
		"30s": false, "1": false, "": false, "off": false, "0.5s": false} {
		if got := privZero(v); got != want {
			t.Errorf("privZero(%q) = %v, want %v", v, got, want)
		}
	}
}

func TestPrivBool(t *testing.T) {
	for v, want := range map[string][2]bool{
		"on": {true, true}, "off": {false, true}, "true": {true, true}, "'false'": {false, true}, "yes": {true, true},
		"no": {false, true}, "1": {true, true}, "0": {false, true}, "t": {true, true}, "f": {false, true}, "ON": {true, true},
		"of": {false, true}, "o": {false, false}, "": {false, false}, "maybe": {false, false}, "2": {false, false},
	} {
		if got, ok := privBool(v); got != want[0] || ok != want[1] {
			t.Errorf("privBool(%q) = %v, %v; want %v, %v", v, got, ok, want[0], want[1])
		}
	}
}

// TestPrivReadOnlyFix: the statements leave the connector's sessions
// read-write whatever the mix of scopes, the server's included, and touch
// only what they must.
func TestPrivReadOnlyFix(t *testing.T) {
	for _, tc := range []struct {
		name    string
		entries map[string]string
		want    []string
	}{
		{"role", map[string]string{"role": "on"}, []string{"ALTER ROLE r RESET default_transaction_read_only;"}},
		{"role in database", map[string]string{"role in database": "true"}, []string{"ALTER ROLE r IN DATABASE d RESET default_transaction_read_only;"}},
		{"database", map[string]string{"database": "on"}, []string{"ALTER ROLE r SET default_transaction_read_only = off;"}},
		{"all roles", map[string]string{"all roles": "on"}, []string{"ALTER ROLE r SET default_transaction_read_only = off;"}},
		{"server", map[string]string{"server": "on"}, []string{"ALTER ROLE r SET default_transaction_read_only = off;"}},
		{"role over server", map[string]string{"role": "on", "server": "on"}, []string{"ALTER ROLE r SET default_transaction_read_only = off;"}},
		{"database off over server", map[string]string{"role": "on", "database": "off", "server": "on"},
			[]string{"ALTER ROLE r RESET default_transaction_read_only;"}},
		{"everywhere", map[string]string{"role in database": "on", "role": "on", "database": "on"},
			[]string{"ALTER ROLE r IN DATABASE d RESET default_transaction_read_only;", "ALTER ROLE r SET default_transaction_read_only = off;"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := healthy()
			f.Role.Name, f.Target.Database = "r", "d"
			if got := stepSQL(privReadOnlyFix(f, tc.entries)); !slices.Equal(got, tc.want) {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

// TestConnectRefusedFailsOnlyDatabaseConnect: a refusal whose cause is
// known fails database-connect with the remedy; every other rule that
// needs the database still reports error with the cause, so the exit code
// stays 2, and no rule shows the password tried.
func TestConnectRefusedFailsOnlyDatabaseConnect(t *testing.T) {
	reg, err := Registry()
	if err != nil {
		t.Fatal(err)
	}
	const password = "Pa55-w0rd-tried"
	for state, msg := range map[string]string{
		"42501": `permission denied for database "app" (User does not have CONNECT privilege.)`,
		"28P01": `password authentication failed for user "streamkap_user"`,
		"3D000": `database "app" does not exist`,
		"28000": `no pg_hba.conf entry for host "10.1.2.3", user "streamkap_user", database "app", SSL encryption`,
	} {
		t.Run(state, func(t *testing.T) {
			f := &facts.Facts{
				Target:  facts.Target{Host: "db.internal.example", Port: 5432, Database: "app", User: "streamkap_user"},
				Options: facts.Options{ConnectorUser: "streamkap_user", Slot: "streamkap_pgoutput_slot", Publication: "streamkap_pub"},
				Connect: facts.Probe{Attempted: true, Err: &facts.Error{Op: "connect", Message: msg, SQLState: state}},
			}
			results := rules.Evaluate(reg, f, nil)
			for _, r := range results {
				switch {
				case r.Rule == "database-connect":
					if r.Status != rules.StatusFail || r.Remediation == "" || !strings.Contains(r.Message, msg) {
						t.Errorf("database-connect = %s: %s / %s", r.Status, r.Message, r.Remediation)
					}
				case r.Rule == "pooler-hostname":
					if r.Status != rules.StatusPass {
						t.Errorf("pooler-hostname = %s", r.Status)
					}
				case r.Rule == "connector-config":
					// It judges a connector configuration, not the database:
					// without one it skips.
					if r.Status != rules.StatusSkip {
						t.Errorf("connector-config = %s", r.Status)
					}
				case r.Status != rules.StatusError || !strings.Contains(r.Message, msg):
					t.Errorf("%s = %s, want error with the cause: %s", r.Rule, r.Status, r.Message)
				}
				if strings.Contains(r.Message+r.Remediation+strings.Join(r.FixSQL, ""), password) {
					t.Errorf("%s shows the password", r.Rule)
				}
			}
			if code := rules.ExitCode(results, rules.Error); code != 2 {
				t.Errorf("exit code %d, want 2", code)
			}
		})
	}
}
