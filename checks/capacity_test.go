package checks

import (
	"github.com/cdcpreflight/cdcpreflight/facts"
	"github.com/cdcpreflight/cdcpreflight/rules"
)

func inUse(n int) func(*facts.Facts) {
	return func(f *facts.Facts) { f.Connections.ClientBackends = n }
}

var capacityCases = []ruleCase{
	{name: "plenty", rule: "connection-capacity", want: rules.StatusPass, contains: "the connector needs 2: 2 ordinary connections"},
	{name: "full", rule: "connection-capacity", want: rules.StatusFail, objects: []string{"setting max_connections"},
		contains: "and 1 connection is free for the connector's role", mutate: inUse(96)},
	{name: "full, self-hosted fix", rule: "connection-capacity", want: rules.StatusFail,
		contains: "ALTER SYSTEM SET max_connections = 121;", mutate: inUse(96)},
	{name: "heartbeat connection", rule: "connection-capacity", want: rules.StatusFail, contains: "needs 3",
		mutate: both(inUse(95), func(f *facts.Facts) { f.Options.HeartbeatSchema = "streamkap" })},
	{name: "busy", rule: "connection-capacity", want: rules.StatusWarn, contains: "(over 80%)", mutate: inUse(80)},
	{name: "superuser uses the reserve", rule: "connection-capacity", want: rules.StatusWarn, contains: "max_connections is 100; 96 in use",
		mutate: both(inUse(96), func(f *facts.Facts) { f.Role.Super = true })},
	{name: "16 reserved_connections", rule: "connection-capacity", want: rules.StatusFail, contains: "5 for pg_use_reserved_connections members",
		mutate: both(tbVersion(160004), inUse(91), func(f *facts.Facts) { f.Connections.Reserved = 5 })},
	{name: "16 member of the reserve", rule: "connection-capacity", want: rules.StatusWarn, contains: "max_connections is 100, 3 reserved for superusers",
		mutate: both(tbVersion(160004), inUse(91), func(f *facts.Facts) { f.Connections.Reserved, f.Connections.UseReserved = 5, true })},
	{name: "rds reserve", rule: "connection-capacity", want: rules.StatusFail, contains: "2 for rds_superuser",
		mutate: both(inUse(94), func(f *facts.Facts) { f.Connections.RDSReserved, f.Platform.Name = 2, facts.PlatformRDS })},
	{name: "neon sizes", rule: "connection-capacity", want: rules.StatusFail, contains: "0.25 CU: 104",
		mutate: both(inUse(97), func(f *facts.Facts) { f.Connections.SuperuserReserved, f.Platform.Name = 7, facts.PlatformNeon })},
	{name: "partial visibility", rule: "connection-capacity", want: rules.StatusFail, contains: "cannot see the kind of other roles' sessions",
		mutate: func(f *facts.Facts) {
			f.Connections.StatsVisible, f.Connections.ClientBackends, f.Connections.Unidentified = false, 2, 94
		}},
	{name: "10 counts the wal sender", rule: "connection-capacity", want: rules.StatusFail,
		contains: "the connector needs 3: 2 ordinary connections (its main one and its bean registry's), its replication connection",
		mutate:   both(tbVersion(100023), inUse(94), func(f *facts.Facts) { f.Replication.WalSendersUsed = 1 })},
	{name: "10 replication unread", rule: "connection-capacity", want: rules.StatusError,
		mutate: both(tbVersion(100023), func(f *facts.Facts) { f.Replication.Err = readFailed })},
	{name: "running connector", rule: "connection-capacity", want: rules.StatusWarn, contains: "taken to be running",
		mutate: both(inUse(96), func(f *facts.Facts) { f.Slots.Slots[0].Active, f.Slots.Slots[0].ActivePID = true, 77 })},
	{name: "snapshot from before the section", rule: "connection-capacity", want: rules.StatusError,
		contains: "a snapshot saved by an older cdcpreflight", mutate: func(f *facts.Facts) { f.Connections = facts.Connections{} }},
	{name: "unreadable", rule: "connection-capacity", want: rules.StatusError,
		mutate: func(f *facts.Facts) { f.Connections.Err = readFailed }},
	{name: "no connection", rule: "connection-capacity", want: rules.StatusError, mutate: tbNoConnect},

	{name: "no limits", rule: "role-connection-limit", want: rules.StatusPass, contains: "role streamkap_user has no CONNECTION LIMIT"},
	{name: "room", rule: "role-connection-limit", want: rules.StatusPass, contains: "CONNECTION LIMIT 5 with 1 in use",
		mutate: func(f *facts.Facts) { f.Connections.RoleConnLimit, f.Connections.RoleSessions = 5, 1 }},
	{name: "role limit 1", rule: "role-connection-limit", want: rules.StatusFail, objects: []string{"role streamkap_user"},
		contains: "ALTER ROLE streamkap_user CONNECTION LIMIT 4;",
		mutate:   func(f *facts.Facts) { f.Connections.RoleConnLimit = 1 }},
	{name: "shared role", rule: "role-connection-limit", want: rules.StatusFail, contains: "CONNECTION LIMIT 10 and 9 other sessions",
		mutate: func(f *facts.Facts) { f.Connections.RoleConnLimit, f.Connections.RoleSessions = 10, 9 }},
	{name: "database limit", rule: "role-connection-limit", want: rules.StatusFail, objects: []string{"database app"},
		contains: "ALTER DATABASE app CONNECTION LIMIT 12;", mutate: func(f *facts.Facts) { f.Connections.DatConnLimit = 9 }},
	{name: "12 counts wal senders", rule: "role-connection-limit", want: rules.StatusFail, contains: "its replication connection)",
		mutate: both(tbVersion(120022), func(f *facts.Facts) { f.Connections.RoleConnLimit, f.Connections.RoleWalSenders = 3, 1 })},
	{name: "13 does not", rule: "role-connection-limit", want: rules.StatusPass, contains: "does not count on PostgreSQL 13",
		mutate: both(tbVersion(130023), func(f *facts.Facts) { f.Connections.RoleConnLimit, f.Connections.RoleWalSenders = 2, 1 })},
	{name: "superuser exempt", rule: "role-connection-limit", want: rules.StatusPass, contains: "is a superuser",
		mutate: func(f *facts.Facts) { f.Connections.RoleConnLimit, f.Role.Super = 1, true }},
	{name: "running connector", rule: "role-connection-limit", want: rules.StatusPass, contains: "CONNECTION LIMIT 2 with 0 in use",
		mutate: func(f *facts.Facts) {
			f.Connections.RoleConnLimit, f.Connections.RoleSessions = 2, 2
			f.Slots.Slots[0].Active, f.Slots.Slots[0].ActivePID = true, 77
		}},
	{name: "hostile names", rule: "role-connection-limit", want: rules.StatusFail,
		contains: `ALTER ROLE "x""; DROP TABLE t; --" CONNECTION LIMIT 4;`,
		mutate:   func(f *facts.Facts) { f.Role.Name, f.Connections.RoleConnLimit = `x"; DROP TABLE t; --`, 1 }},
	{name: "unreadable", rule: "role-connection-limit", want: rules.StatusError,
		mutate: func(f *facts.Facts) { f.Connections.Err = readFailed }},
}
