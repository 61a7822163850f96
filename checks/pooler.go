package checks

import (
	"fmt"
	"strings"
	"time"

	"github.com/cdcpreflight/cdcpreflight/facts"
	"github.com/cdcpreflight/cdcpreflight/rules"
)

// poolerRules judge, by behaviour, whether a pooler sits in front of the
// server: pooler-hostname judges the host name.
func poolerRules() []rules.Rule {
	return []rules.Rule{poolerDetected()}
}

// reuseMargin is how much older than the connection its server process
// may be before it counts as one that served another client first.
const reuseMargin = 2 * time.Second

func poolerDetected() rules.Rule {
	return rules.Rule{
		ID: "pooler-detected", Title: "No connection pooler answers in the server's place",
		Category: rules.CategoryConnection, Severity: rules.Error, Since: since,
		Needs: []facts.Section{facts.SectionBackend},
		Why: `A pooler behind an ordinary host name and port is invisible to pooler-hostname. It shows in how the
connection behaves: at startup PostgreSQL tells the client its process ID (BackendKeyData, for
cancelling), and pg_backend_pid() names the process that actually runs the client's statements;
PgBouncer and other poolers send a key of their own, so the two differ. A server process that
started well before the connection did (backend_start), or an application_name with the client's
address appended (PgBouncer's application_name_add_host), say the same. A pooler refuses the
connector's replication connection ('unsupported startup parameter: replication') or, from PgBouncer
1.23, passes it through in session mode: the slot then belongs to whichever server the pooler picked,
a reconnect may land elsewhere, and transaction pooling breaks the session state of the connector's
other connections. Neon's proxy, in front of every Neon endpoint, also replaces the process ID
without pooling; on Neon only the other signs count. An error when the replication connection
failed; a warning when it got through the pooler.`,
		Fix: `Point the connector at the database server itself: its own host and port, not PgBouncer, Pgpool-II,
RDS Proxy, Supavisor or Neon's -pooler host. The application may keep using the pooler.`,
		Eval: func(f *facts.Facts) rules.Outcome {
			b := f.Backend
			neon := f.Platform.Name == facts.PlatformNeon
			pidDiffers := b.ReportedPID != 0 && int64(b.ReportedPID) != int64(b.PID)
			var signs []string
			if pidDiffers && !neon {
				signs = append(signs, fmt.Sprintf("the connection was told at startup that its server process is PID %d, but "+
					"pg_backend_pid() is %d", b.ReportedPID, b.PID))
			}
			if b.SentApplicationName != "" && strings.HasPrefix(b.ApplicationName, b.SentApplicationName+" - ") {
				signs = append(signs, fmt.Sprintf("application_name %q arrived as %q, with the client's address appended (PgBouncer's "+
					"application_name_add_host)", b.SentApplicationName, b.ApplicationName))
			}
			connect := time.Duration(b.Connect * float64(time.Second))
			started := time.Duration(b.StartedBefore * float64(time.Second))
			if started > connect+reuseMargin {
				signs = append(signs, fmt.Sprintf("the server process started %s before the connection's first statement, while "+
					"connecting took %s: it served another client before", started.Round(time.Millisecond), connect.Round(time.Millisecond)))
			}
			host := fmt.Sprintf("%s:%d", f.Target.Host, f.Target.Port)
			if len(signs) == 0 {
				if neon && pidDiffers {
					return rules.Pass("PID %d answers; Neon's proxy replaces the process ID of every connection, so that comparison "+
						"says nothing here, and the server process was not reused", b.PID)
				}
				return rules.Pass("the server process that answers (PID %d) is the one that started for this connection", b.PID)
			}
			if !strings.HasPrefix(f.Target.Host, "/") {
				if b.ServerAddr == "" {
					signs = append(signs, "the server sees a Unix-socket client (inet_server_addr() is NULL) on a TCP connection")
				} else if b.ServerPort != 0 && b.ServerPort != int(f.Target.Port) {
					signs = append(signs, fmt.Sprintf("the server listens on port %d, not %d", b.ServerPort, f.Target.Port))
				}
			}
			msg := fmt.Sprintf("a connection pooler answers at %s, not PostgreSQL itself: %s", host, strings.Join(signs, "; "))
			out := rules.Finding("%s", msg)
			if p := f.ReplProbe; p.OK() {
				out = rules.Finding("%s. The replication connection got through it (PgBouncer 1.23+ passes them in session mode), but the "+
					"slot belongs to the server behind it: a reconnect that lands on another server finds no slot, and transaction "+
					"pooling breaks the session state of the connector's other connections", msg).WithSeverity(rules.Warning)
			} else if p.Err != nil {
				out.Message += fmt.Sprintf(". The replication connection failed through it: %s", p.Err.Message)
			}
			return out.WithObjects("host " + host).WithRemediation(platformOf(f).directHost +
				" The application may keep using the pooler; only the connector must reach the server directly.")
		},
	}
}
