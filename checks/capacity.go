package checks

import (
	"fmt"
	"slices"
	"strings"

	"github.com/cdcpreflight/cdcpreflight/facts"
	"github.com/cdcpreflight/cdcpreflight/internal/sqlident"
	"github.com/cdcpreflight/cdcpreflight/rules"
)

// capacityRules judge whether the server has connections for the connector.
func capacityRules() []rules.Rule {
	return []rules.Rule{connectionCapacity()}
}

// connectionLimitRules judge the connector role's own connection limits.
func connectionLimitRules() []rules.Rule {
	return []rules.Rule{roleConnectionLimit()}
}

// connectorConnections is what Debezium's PostgreSQL connector (and so
// Streamkap) holds while it runs: its main JDBC connection and the bean
// registry's (PostgresConnectorTask.start; a third, opened first to read
// the encoding, is closed before them), a heartbeat connection when a
// heartbeat action query is configured, and one replication connection.
// A snapshot with snapshot.max.threads = N adds N − 1.
type connectorConnections struct {
	regular   int
	heartbeat bool // the heartbeat action query's connection is among regular
}

func connectorNeeds(f *facts.Facts) connectorConnections {
	n := connectorConnections{regular: 2}
	if f.Options.HeartbeatSchema != "" {
		n.regular++
		n.heartbeat = true
	}
	return n
}

// describe says what the count is made of, counting the replication
// connection when it counts.
func (n connectorConnections) describe(walSender bool) string {
	parts := []string{"2 ordinary connections (its main one and its bean registry's)"}
	if n.heartbeat {
		parts = append(parts, "1 for its heartbeat action query (--heartbeat-schema is set)")
	}
	if walSender {
		parts = append(parts, "its replication connection")
	}
	return strings.Join(parts, ", ")
}

// connectorRunning reports whether the connector's slot is active, which
// means its connections are among those in use: a restart gives them back
// before it takes them again.
func connectorRunning(f *facts.Facts) (facts.Slot, bool) {
	if f.Slots.Err != nil {
		return facts.Slot{}, false
	}
	s, ok := f.Slots.Find(f.Options.Slot)
	return s, ok && s.Active
}

// roleIs reports whether the judged role is a superuser or a member of
// role; unknown when the role could not be read (then false: the reserves
// apply, the cautious reading).
func roleIs(f *facts.Facts, member string) bool {
	r := f.Role
	if r.Err != nil || !r.Exists {
		return false
	}
	return r.Super || (member != "" && slices.Contains(r.MemberOf, member))
}

// usableConnections is max_connections less what is reserved from the
// connector role, with the reserves named.
func usableConnections(f *facts.Facts) (int, []string) {
	c := f.Connections
	super := roleIs(f, "")
	var reserves []string
	usable := c.MaxConnections
	// Before 12 a WAL sender cannot use the superuser reserve even for a
	// superuser: the connector's replication connection would not get in.
	if c.SuperuserReserved > 0 && (!super || f.Server.Major() < 12) {
		usable -= c.SuperuserReserved
		reserves = append(reserves, fmt.Sprintf("%d reserved for superusers (superuser_reserved_connections)", c.SuperuserReserved))
	}
	if c.Reserved > 0 && !super && !c.UseReserved {
		usable -= c.Reserved
		reserves = append(reserves, fmt.Sprintf("%d for pg_use_reserved_connections members (reserved_connections)", c.Reserved))
	}
	if c.RDSReserved > 0 && !roleIs(f, "rds_superuser") {
		usable -= c.RDSReserved
		reserves = append(reserves, fmt.Sprintf("%d for rds_superuser (rds.rds_superuser_reserved_connections)", c.RDSReserved))
	}
	return usable, reserves
}

// visibility says how the sessions in use were counted.
func visibility(c facts.Connections) string {
	if c.StatsVisible {
		return "every session's kind is visible to this role"
	}
	if c.Unidentified == 0 {
		return "as far as this role can see: it sees other roles' sessions but not their kind (pg_read_all_stats), and none was in doubt"
	}
	return fmt.Sprintf("as far as this role can see: it cannot see the kind of other roles' sessions (that takes pg_read_all_stats, "+
		"or pg_monitor), so %s counted as client sessions, although autovacuum and parallel workers among them use pools of their own",
		plural(c.Unidentified, "session of another role connected to a database is", "sessions of other roles connected to a database are"))
}

// capacityWarnShare is the share of the usable connections in use, the
// connector's included, above which connection-capacity warns (the
// postgres_exporter mixin's connection alert fires at 80%).
const capacityWarnShare = 0.8

func connectionCapacity() rules.Rule {
	return rules.Rule{
		ID: "connection-capacity", Title: "The server has free connections for what the connector opens",
		Category: rules.CategoryServer, Severity: rules.Error, Since: since,
		Needs:   []facts.Section{facts.SectionServer, facts.SectionConnections},
		MayNeed: []facts.Section{facts.SectionReplication},
		Why: `Debezium's PostgreSQL connector (Streamkap's) holds two ordinary connections while it runs (its main
JDBC connection and the bean registry's), a third with a heartbeat action query, one more per extra
snapshot thread, and a replication connection. Ordinary connections come out of max_connections,
less superuser_reserved_connections (3 by default; Neon reserves 7), reserved_connections on
PostgreSQL 16+ (for pg_use_reserved_connections members) and, on RDS,
rds.rds_superuser_reserved_connections; the replication connection comes from max_wal_senders from
PostgreSQL 12 and out of max_connections before (see replication-capacity). When they are taken by
the application's sessions, the connector fails at start ('sorry, too many clients already' or
'remaining connection slots are reserved …', SQLSTATE 53300), and after any restart. The rule counts
the client sessions in use, other than cdcpreflight's own, as far as the role can see (without
pg_read_all_stats other roles' sessions show no kind, and are counted as client sessions, so the
count can be high by the autovacuum and parallel workers among them). It fails when the connector's
connections do not fit in what is free, and warns when, with them, more than 80% of the usable
connections would be in use. When the connector's slot is active it is taken to be running, with its
connections among those in use, and the question is whether it could reconnect.`,
		Fix: `Close idle sessions (SELECT pid, usename, application_name, state FROM pg_stat_activity), put the
application behind a connection pooler (the connector itself connects directly), or raise
max_connections (a restart; on Neon, a larger compute size; on RDS/Aurora the parameter group;
Cloud SQL a flag; Azure a server parameter).`,
		Eval: func(f *facts.Facts) rules.Outcome {
			c := f.Connections
			major := f.Server.Major()
			need := connectorNeeds(f)
			count := need.regular
			used := c.ClientBackends + c.Unidentified
			walSenders := ""
			if major < 12 {
				// The replication connection, and every WAL sender, takes
				// a place among max_connections.
				if out, ok := rules.Need(f, facts.SectionReplication); !ok {
					return out
				}
				count++
				used += f.Replication.WalSendersUsed
				walSenders = fmt.Sprintf(" (%s among them: before PostgreSQL 12 they take places among max_connections)",
					plural(f.Replication.WalSendersUsed, "WAL sender", "WAL senders"))
			}
			usable, reserves := usableConnections(f)
			free := usable - used
			running := ""
			if s, ok := connectorRunning(f); ok {
				free += count
				running = fmt.Sprintf("; slot %s is active (PID %d), so the connector is taken to be running with its connections "+
					"among those in use, which a restart gives back first", sqlident.Quote(s.Name), s.ActivePID)
			}
			budget := fmt.Sprintf("max_connections is %d", c.MaxConnections)
			if len(reserves) > 0 {
				budget += ", " + strings.Join(reserves, ", ")
			}
			inUse := fmt.Sprintf("%d in use%s (%s)", used, walSenders, visibility(c))
			needs := fmt.Sprintf("the connector needs %d: %s", count, need.describe(major < 12))
			text, steps := platformOf(f).raiseConnections(c.MaxConnections + max(count-free, 0) + (c.MaxConnections+4)/5)
			switch {
			case count > free:
				return rules.Finding("%s and %s free for the connector's role: %s; %s%s", needs, plural(max(free, 0), "connection is", "connections are"),
					budget, inUse, running).WithObjects("setting max_connections").WithSteps(text, steps...)
			case float64(usable-free+count) > capacityWarnShare*float64(usable):
				return rules.Finding("with the connector's %d, %d of the %d connections usable by its role would be in use (over %d%%): "+
					"a burst of application sessions would lock the connector out at its next start; %s; %s%s",
					count, usable-free+count, usable, int(capacityWarnShare*100), budget, inUse, running).
					WithSeverity(rules.Warning).WithObjects("setting max_connections").WithSteps(text, steps...)
			}
			return rules.Pass("%s and %d are free: %s; %s%s", needs, free, budget, inUse, running)
		},
	}
}

// walSenderLimitedMajor is the last major in which WAL senders count
// against (and are held to) role and database CONNECTION LIMITs: 13
// checks and counts only ordinary backends (seen on 10-18 by
// TestScenarioRoleConnectionLimitWalSender).
const walSenderLimitedMajor = 12

func roleConnectionLimit() rules.Rule {
	return rules.Rule{
		ID: "role-connection-limit", Title: "The role's and the database's CONNECTION LIMIT leave room for the connector",
		Category: rules.CategoryPrivileges, Severity: rules.Error, Since: since,
		Needs: []facts.Section{facts.SectionServer, facts.SectionConnections},
		Why: `ALTER ROLE … CONNECTION LIMIT n and ALTER DATABASE … CONNECTION LIMIT n cap the sessions of a role, and of
a database, whatever max_connections allows; past them a connection fails with 'too many connections
for role "…"' (or 'for database "…"', SQLSTATE 53300). Superusers are exempt. The connector opens two
ordinary connections (three with a heartbeat action query) and a replication connection; through
PostgreSQL 12 the replication connection counts against both limits too, from 13 it does not (seen
on every major by this rule's scenario test). A role shared by the connector and something else, or
a limit of 1 or 2 set "to be safe", stops the connector at start. The sessions are counted from
pg_stat_activity, whose user and database columns every role sees; cdcpreflight's own are left out.
When the connector's slot is active, its sessions are taken to be among them.`,
		Fix: `Raise or remove the limit, as a role with CREATEROLE (or a superuser) for the role and as the database
owner for the database: ALTER ROLE streamkap_user CONNECTION LIMIT -1; ALTER DATABASE app CONNECTION
LIMIT -1; or give the connector a role of its own.`,
		Eval: func(f *facts.Facts) rules.Outcome {
			c := f.Connections
			role := f.ConnectorRole()
			if roleIs(f, "") {
				return rules.Pass("role %s is a superuser: CONNECTION LIMITs do not apply to it", sqlident.Quote(role))
			}
			major := f.Server.Major()
			walCounts := major > 0 && major <= walSenderLimitedMajor
			need := connectorNeeds(f)
			count := need.regular
			if walCounts {
				count++
			}
			_, running := connectorRunning(f)
			type limit struct {
				what, object, sql, needs string
				limit, inUse             int
			}
			limits := []limit{
				{what: "role " + sqlident.Quote(role), object: "role " + sqlident.Quote(role),
					sql:   fmt.Sprintf("ALTER ROLE %s CONNECTION LIMIT %%d;", sqlident.Quote(role)),
					needs: "a role with CREATEROLE and ADMIN on the connector role (or a superuser)",
					limit: c.RoleConnLimit, inUse: c.RoleSessions},
				{what: "database " + sqlident.Quote(f.Target.Database), object: "database " + sqlident.Quote(f.Target.Database),
					sql:   fmt.Sprintf("ALTER DATABASE %s CONNECTION LIMIT %%d;", sqlident.Quote(f.Target.Database)),
					needs: needsDBOwner, limit: c.DatConnLimit, inUse: c.DatabaseSessions},
			}
			if walCounts {
				limits[0].inUse += c.RoleWalSenders
				limits[1].inUse += c.DatabaseWalSenders
			}
			var problems, fine, objs []string
			var steps []rules.Step
			for _, l := range limits {
				inUse := l.inUse
				if running {
					inUse = max(inUse-count, 0) // the connector's own come back on a restart
				}
				if l.limit < 0 {
					fine = append(fine, l.what+" has no CONNECTION LIMIT")
					continue
				}
				if inUse+count <= l.limit {
					fine = append(fine, fmt.Sprintf("%s has CONNECTION LIMIT %d with %d in use", l.what, l.limit, inUse))
					continue
				}
				problems = append(problems, fmt.Sprintf("%s has CONNECTION LIMIT %d and %d other %s", l.what, l.limit, inUse,
					map[bool]string{true: "session", false: "sessions"}[inUse == 1]))
				objs = append(objs, l.object)
				steps = append(steps, roleStep(fmt.Sprintf(l.sql, inUse+count+2), l.needs))
			}
			counted := need.describe(walCounts)
			if !walCounts {
				counted += fmt.Sprintf("; its replication connection does not count on PostgreSQL %d", major)
			}
			if !c.StatsVisible {
				// Users and databases of sessions are visible to every
				// role; their kind is not.
				fine = append(fine, "other sessions are counted by user and database, as far as this role can see their kind")
			}
			if len(problems) == 0 {
				return rules.Pass("the connector's %d (%s) fit: %s", count, counted, strings.Join(fine, "; "))
			}
			return rules.Finding("the connector opens %d connections counted against CONNECTION LIMIT (%s), but %s: it fails with "+
				"'too many connections'", count, counted, strings.Join(problems, "; ")).WithObjects(objs...).
				WithSteps("Raise the limit to leave room for the connector and what else logs in (or remove it with CONNECTION LIMIT -1), "+
					"or give the connector a role of its own:", steps...)
		},
	}
}
