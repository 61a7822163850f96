package checks

import (
	"github.com/cdcpreflight/cdcpreflight/facts"
	"github.com/cdcpreflight/cdcpreflight/rules"
)

func host(h string, port uint16) func(*facts.Facts) {
	return func(f *facts.Facts) { f.Target.Host, f.Target.Port = h, port }
}

var connectionCases = []ruleCase{
	{name: "tls", rule: "ssl", want: rules.StatusPass, contains: "TLSv1.3"},
	{name: "plain", rule: "ssl", want: rules.StatusFail, contains: "sslmode=disable",
		mutate: func(f *facts.Facts) { f.Session, f.Target.SSLMode = facts.Session{}, "disable" }},
	{name: "server without tls", rule: "ssl", want: rules.StatusFail, contains: "ssl = off",
		mutate: func(f *facts.Facts) { f.Session = facts.Session{}; f.Settings.Values["ssl"] = "off" }},
	{name: "unreadable", rule: "ssl", want: rules.StatusError,
		mutate: func(f *facts.Facts) { f.Session = facts.Session{Err: readFailed} }},
	{name: "no connection", rule: "ssl", want: rules.StatusError, contains: "could not connect",
		mutate: func(f *facts.Facts) { f.Connect.Err = &facts.Error{Op: "connect", Message: "refused"} }},

	{name: "direct host", rule: "pooler-hostname", want: rules.StatusPass},
	{name: "unix socket", rule: "pooler-hostname", want: rules.StatusPass, mutate: host("/var/run/postgresql", 5432)},
	{name: "neon direct", rule: "pooler-hostname", want: rules.StatusPass,
		mutate: host("ep-cool-darkness-123456.us-east-2.aws.neon.tech", 5432)},
	{name: "neon pooler", rule: "pooler-hostname", want: rules.StatusFail,
		objects:  []string{"host ep-cool-darkness-123456-pooler.us-east-2.aws.neon.tech:5432"},
		contains: "Use the unpooled host ep-cool-darkness-123456.us-east-2.aws.neon.tech",
		mutate:   host("ep-cool-darkness-123456-pooler.us-east-2.aws.neon.tech", 5432)},
	{name: "supabase pooler", rule: "pooler-hostname", want: rules.StatusFail, contains: "db.<project-ref>.supabase.co",
		mutate: host("aws-0-eu-central-1.pooler.supabase.com", 6543)},
	{name: "rds proxy", rule: "pooler-hostname", want: rules.StatusFail, contains: "RDS Proxy",
		mutate: host("cdc.proxy-abcdefghijkl.us-east-1.rds.amazonaws.com", 5432)},
	{name: "azure pgbouncer", rule: "pooler-hostname", want: rules.StatusFail, contains: "port 5432",
		mutate: host("mydb.postgres.database.azure.com", 6432)},
	{name: "generic pgbouncer port", rule: "pooler-hostname", want: rules.StatusWarn,
		mutate: host("db1.internal", 6432)},
	{name: "connection failed still judged", rule: "pooler-hostname", want: rules.StatusFail,
		mutate: func(f *facts.Facts) {
			host("ep-x-pooler.eu-central-1.aws.neon.tech", 5432)(f)
			f.Connect.Err = &facts.Error{Op: "connect", Message: "timeout"}
		}},
	// pooler-hostname needs no database: its "error" case is a target it cannot judge.
	{name: "no target", rule: "pooler-hostname", want: rules.StatusError,
		mutate: func(f *facts.Facts) { f.Target.Host = "" }},

	{name: "identify system", rule: "replication-connection", want: rules.StatusPass, contains: "timeline 1"},
	{name: "pgbouncer refuses", rule: "replication-connection", want: rules.StatusFail,
		contains: "Use the unpooled host ep-a-pooler",
		mutate: func(f *facts.Facts) {
			f.Target.Host = "ep-a-pooler-pooler.eu-central-1.aws.neon.tech"
			f.ReplProbe.Err = &facts.Error{Op: "open a replication connection", Message: "server error: FATAL: unsupported startup parameter: replication (SQLSTATE 08P01)"}
		}},
	{name: "no replication attribute", rule: "replication-connection", want: rules.StatusFail, contains: "ALTER ROLE streamkap_user WITH REPLICATION;",
		mutate: func(f *facts.Facts) {
			f.ReplProbe.Err = &facts.Error{Op: "open a replication connection", SQLState: "42501",
				Message: "must be superuser or replication role to start walsender"}
		}},
	{name: "pg_hba", rule: "replication-connection", want: rules.StatusFail, contains: "ordinary database lines",
		mutate: func(f *facts.Facts) {
			f.ReplProbe.Err = &facts.Error{Op: "open a replication connection", SQLState: "28000",
				Message: `no pg_hba.conf entry for replication connection from host "10.0.0.1"`}
		}},
	{name: "wal senders exhausted", rule: "replication-connection", want: rules.StatusFail, contains: "max_wal_senders",
		mutate: func(f *facts.Facts) {
			f.ReplProbe.Err = &facts.Error{Op: "open a replication connection", SQLState: "53300",
				Message: "number of requested standby connections exceeds max_wal_senders (currently 10)"}
		}},
	{name: "other failure", rule: "replication-connection", want: rules.StatusFail, contains: "connection reset",
		mutate: func(f *facts.Facts) {
			f.ReplProbe.Err = &facts.Error{Op: "open a replication connection", Message: "connection reset by peer"}
		}},
	{name: "not attempted", rule: "replication-connection", want: rules.StatusError,
		mutate: func(f *facts.Facts) { f.ReplProbe = facts.ReplicationProbe{} }},
	{name: "no connection", rule: "replication-connection", want: rules.StatusError,
		mutate: func(f *facts.Facts) { f.Connect.Err = &facts.Error{Op: "connect", Message: "refused"} }},
}
