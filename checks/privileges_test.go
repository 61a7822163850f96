package checks

import (
	"github.com/cdcpreflight/cdcpreflight/facts"
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
}
