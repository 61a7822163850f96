package checks

import (
	"fmt"
	"strings"

	"github.com/cdcpreflight/cdcpreflight/facts"
	"github.com/cdcpreflight/cdcpreflight/rules"
)

func ssl() rules.Rule {
	return rules.Rule{
		ID: "ssl", Title: "The connection is encrypted with TLS",
		Category: rules.CategoryConnection, Severity: rules.Error, Since: since,
		Needs: []facts.Section{facts.SectionSession},
		Why: `The connector streams every row of every captured table; unencrypted, that is the whole database on
the wire, passwords included. Streamkap connects with SSL mode "require" by default, so a server
without TLS refuses it, and Neon refuses any connection without TLS. This rule reads pg_stat_ssl for
cdcpreflight's own session, which connected with the same parameters the connector will use.`,
		Fix: `Connect with sslmode=require (or verify-full with the server's CA) and make sure the server has TLS
enabled: ssl = on with a certificate (self-hosted: ssl_cert_file/ssl_key_file in postgresql.conf,
then SELECT pg_reload_conf()). Managed platforms enable TLS by default.`,
		Eval: func(f *facts.Facts) rules.Outcome {
			s := f.Session
			if s.SSL {
				return rules.Pass("encrypted: %s, cipher %s", s.SSLVersion, s.Cipher)
			}
			msg := "this session is not encrypted"
			text := "Connect with sslmode=require (or verify-full) in the DSN; the connector should use SSL mode require."
			if v, ok := f.Settings.Get("ssl"); ok && v == "off" {
				msg += " and the server has ssl = off"
				text = "Enable TLS on the server (ssl = on with ssl_cert_file and ssl_key_file, then SELECT pg_reload_conf()), " +
					"then connect with sslmode=require or verify-full."
			} else if f.Target.SSLMode == "disable" {
				msg += " (sslmode=disable)"
			}
			return rules.Finding("%s", msg).WithObjects("session " + targetName(f.Target)).WithRemediation(text)
		},
	}
}

func targetName(t facts.Target) string {
	return fmt.Sprintf("%s@%s:%d/%s", t.User, t.Host, t.Port, t.Database)
}

// pooler is a host-name pattern of a connection pooler endpoint.
type pooler struct {
	name     string
	match    func(host string, port uint16) bool
	severity rules.Severity // Warning for generic guesses, 0 for sure signs
	fix      func(host string, port uint16) string
}

var poolers = []pooler{
	{
		name:  "Neon's pooled endpoint (-pooler)",
		match: func(h string, _ uint16) bool { return strings.Contains(h, "-pooler.") },
		fix: func(h string, _ uint16) string {
			return fmt.Sprintf("Use the unpooled host %s: remove -pooler from the host name.", strings.Replace(h, "-pooler.", ".", 1))
		},
	},
	{
		name:  "Supabase's Supavisor pooler",
		match: func(h string, _ uint16) bool { return strings.HasSuffix(h, ".pooler.supabase.com") },
		fix: func(string, uint16) string {
			return "Use the direct connection host db.<project-ref>.supabase.co on port 5432 (IPv6, or the IPv4 add-on)."
		},
	},
	{
		name: "RDS Proxy",
		match: func(h string, _ uint16) bool {
			return strings.Contains(h, ".proxy-") && strings.HasSuffix(h, ".rds.amazonaws.com")
		},
		fix: func(string, uint16) string {
			return "Use the DB instance endpoint (or the Aurora cluster writer endpoint): RDS Proxy does not support replication connections."
		},
	},
	{
		name: "Azure's built-in PgBouncer (port 6432)",
		match: func(h string, p uint16) bool {
			return p == 6432 && strings.HasSuffix(h, ".postgres.database.azure.com")
		},
		fix: func(string, uint16) string {
			return "Connect to port 5432, the server itself, instead of PgBouncer on 6432."
		},
	},
	{
		name:     "a PgBouncer-style pooler (host or port 6432)",
		severity: rules.Warning,
		match: func(h string, p uint16) bool {
			return p == 6432 || strings.Contains(h, "pgbouncer") || strings.Contains(h, "pooler")
		},
		fix: func(string, uint16) string {
			return "Point the connector at the PostgreSQL server itself, not a pooler: if this host is a pooler, use the server's host and port."
		},
	},
}

func poolerHostname() rules.Rule {
	return rules.Rule{
		ID: "pooler-hostname", Title: "The host is the database, not a connection pooler",
		Category: rules.CategoryConnection, Severity: rules.Error, Since: since,
		Needs: []facts.Section{facts.SectionTarget},
		Why: `Connection poolers (PgBouncer, Neon's -pooler endpoints, Supabase's Supavisor, RDS Proxy) hand out
server connections per transaction and reject or mangle the replication=database startup parameter:
the connector fails with "unsupported startup parameter: replication", or worse, appears to connect and
then loses its session state. Some newer PgBouncer versions pass replication connections through, so
the host name is judged on its own, whether or not a connection succeeded.`,
		Fix: `Use the database's direct (unpooled) endpoint for the connector: on Neon remove -pooler from the host
name; on Supabase use db.<ref>.supabase.co:5432; on RDS use the instance or cluster endpoint, not the
proxy; on Azure use port 5432, not 6432.`,
		Eval: func(f *facts.Facts) rules.Outcome {
			host := strings.ToLower(f.Target.Host)
			if host == "" {
				return rules.Errored(&facts.Error{Op: "judge the host", Message: "the connection has no host"})
			}
			if strings.HasPrefix(host, "/") {
				return rules.Pass("connecting through a Unix socket")
			}
			for _, p := range poolers {
				if p.match(host, f.Target.Port) {
					return rules.Finding("%s:%d looks like %s", f.Target.Host, f.Target.Port, p.name).
						WithSeverity(p.severity).WithObjects(fmt.Sprintf("host %s:%d", f.Target.Host, f.Target.Port)).
						WithRemediation(p.fix(f.Target.Host, f.Target.Port))
				}
			}
			return rules.Pass("%s:%d is not a known pooler endpoint", f.Target.Host, f.Target.Port)
		},
	}
}

func replicationConnection() rules.Rule {
	return rules.Rule{
		ID: "replication-connection", Title: "A replication connection opens and runs IDENTIFY_SYSTEM",
		Category: rules.CategoryConnection, Severity: rules.Error, Since: since,
		Needs: []facts.Section{facts.SectionConnect},
		Why: `The connector does not stream over an ordinary connection: it opens a replication=database
connection and speaks the replication protocol. That connection can be refused where an ordinary one
is accepted: pg_hba.conf, a missing REPLICATION attribute, max_wal_senders, or a connection pooler
("unsupported startup parameter: replication"). cdcpreflight opens one and runs IDENTIFY_SYSTEM, which
reads nothing and changes nothing.`,
		Fix: `Depends on the error: connect to the database host, not a pooler; give the role REPLICATION (see
replication-privilege); for "no pg_hba.conf entry" add a host line for the database and user (logical
replication connections match ordinary database lines, not the "replication" keyword) and reload.`,
		Eval: func(f *facts.Facts) rules.Outcome {
			p := f.ReplProbe
			if !p.Attempted {
				return rules.Errored(&facts.Error{Op: "open a replication connection", Message: "not attempted"})
			}
			if p.Err == nil {
				return rules.Pass("IDENTIFY_SYSTEM: system %s, timeline %d, WAL at %s, database %s", p.SystemID, p.Timeline, p.XLogPos, p.DBName)
			}
			return replicationRefused(f, p.Err)
		},
	}
}

// replicationRefused explains why the replication connection failed. Error
// texts change between majors, so SQLSTATE decides where it can and the
// text only where the refusal comes from a pooler (which has no SQLSTATE).
func replicationRefused(f *facts.Facts, e *facts.Error) rules.Outcome {
	obj := "connection replication=database " + targetName(f.Target)
	msg := e.Message
	switch {
	case strings.Contains(msg, "unsupported startup parameter") && strings.Contains(msg, "replication"):
		text := "The server is behind a connection pooler (PgBouncer) that refuses replication connections. " +
			"Connect the connector to the database's own host and port, not the pooler."
		for _, p := range poolers[:len(poolers)-1] {
			if p.match(strings.ToLower(f.Target.Host), f.Target.Port) {
				text += " " + p.fix(f.Target.Host, f.Target.Port)
			}
		}
		return rules.Finding("a connection pooler refused the replication connection: %s", msg).
			WithObjects(obj).WithRemediation(text)
	case e.SQLState == "42501" || strings.Contains(msg, "replication role") || strings.Contains(msg, "REPLICATION attribute"):
		text, steps := platformOf(f).grantReplication(f.Server.Major(), f.Target.User)
		return rules.Finding("the role may not open replication connections: %s", msg).
			WithObjects(obj).WithSteps(text, steps...)
	case e.SQLState == "28000" && strings.Contains(msg, "pg_hba.conf"):
		return rules.Finding("pg_hba.conf has no entry for this replication connection: %s", msg).WithObjects(obj).
			WithRemediation(fmt.Sprintf("Add a line such as `hostssl %s %s <client-address>/32 scram-sha-256` to pg_hba.conf and reload "+
				"(SELECT pg_reload_conf()). Logical replication connections match ordinary database lines, not the \"replication\" keyword.",
				hbaWord(f.Target.Database), hbaWord(f.Target.User)))
	case e.SQLState == "53300" && strings.Contains(msg, "too many connections for"):
		return rules.Finding("a CONNECTION LIMIT refused the replication connection: %s", msg).WithObjects(obj).
			WithRemediation("Through PostgreSQL 12 the replication connection counts against the role's and the database's " +
				"CONNECTION LIMIT: see role-connection-limit.")
	case e.SQLState == "53300" && (strings.Contains(msg, "connection slots are reserved") || strings.Contains(msg, "too many clients")):
		return rules.Finding("no connection slot is free for the replication connection: %s", msg).WithObjects(obj).
			WithRemediation("Before PostgreSQL 12 the replication connection takes a place among max_connections: see connection-capacity.")
	case e.SQLState == "53300":
		text, steps := platformOf(f).raiseLimit("max_wal_senders", walSendersWanted(f.Replication))
		if f.Replication.Err != nil || f.Replication.MaxWalSenders == 0 {
			// Without the current limit the value proposed could lower it.
			steps = nil
		}
		return rules.Finding("no WAL sender is free: %s", msg).WithObjects(obj).WithSteps(text, steps...)
	}
	return rules.Finding("the replication connection failed: %s", e.Error()).WithObjects(obj).
		WithRemediation("Make sure the host accepts replication connections from this client: the database host (not a pooler), " +
			"a pg_hba.conf entry for the database and user, and a role with REPLICATION.")
}

// hbaWord quotes a pg_hba.conf field when it needs it.
func hbaWord(s string) string {
	if strings.ContainsAny(s, " \t\",#") || s == "" {
		return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
	}
	return s
}

// connectionRules judge how the connector connects.
func connectionRules() []rules.Rule {
	return []rules.Rule{sshTunnel(), ssl(), poolerHostname(), replicationConnection()}
}
