// Package gather connects to the database the way a CDC connector would and
// records what the catalogs and live probes say as facts. It never writes:
// catalog reads run in a READ ONLY transaction under statement, lock and
// idle-in-transaction timeouts, and a failed query becomes a fact rather
// than aborting the run.
package gather

import (
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgconn/ctxwatch"
)

// ApplicationName is what DBAs see in pg_stat_activity for our sessions.
const ApplicationName = "cdcpreflight"

// DefaultConnectTimeout bounds the TCP+TLS+auth handshake when the DSN sets
// none (libpq would wait forever). Neon computes waking from suspend need a
// few seconds, so it is not tight.
const DefaultConnectTimeout = 15 * time.Second

// ParseDSN reads a libpq URI or keyword/value DSN; an empty one means the
// PG* environment variables, .pgpass and service files, as libpq does. The
// returned error never contains the password.
func ParseDSN(dsn string) (*pgx.ConnConfig, error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("cannot parse the connection string: %s", Redact(err.Error(), passwordIn(dsn)...))
	}
	if cfg.ConnectTimeout == 0 {
		cfg.ConnectTimeout = DefaultConnectTimeout
	}
	if _, set := cfg.RuntimeParams["application_name"]; !set {
		cfg.RuntimeParams["application_name"] = ApplicationName
	}
	// Poolers multiplex server connections between transactions; unnamed
	// statements keep us from leaving prepared statements on shared
	// server connections.
	cfg.DefaultQueryExecMode = pgx.QueryExecModeExec
	cfg.BuildContextWatcherHandler = cancelOnServer
	return cfg, nil
}

// cancelDeadline is how long after its context ends a connection waits for
// the server to answer the CancelRequest before it stops reading.
const cancelDeadline = 2 * time.Second

// cancelOnServer makes a context that ends (Ctrl-C, --timeout) cancel the
// statement on the server too. pgx's default only stops reading, which
// leaves the statement running, and the session with it: a catalog read
// waiting for a lock would wait on after we are gone. The CancelRequest
// goes out at once; cancelDeadline later the connection stops reading.
func cancelOnServer(c *pgconn.PgConn) ctxwatch.Handler {
	return &pgconn.CancelRequestContextWatcherHandler{Conn: c, DeadlineDelay: cancelDeadline}
}

// passwordIn extracts a password from a DSN that failed to parse, so it can
// be scrubbed from the parser's error, in both its written and its
// URL-decoded form. It is best-effort: pgx already redacts; this is the
// second belt.
func passwordIn(dsn string) []string {
	if i := strings.Index(dsn, "://"); i >= 0 {
		rest := dsn[i+3:]
		at := strings.LastIndex(rest, "@")
		if at < 0 {
			return nil
		}
		_, pw, ok := strings.Cut(rest[:at], ":")
		if !ok || pw == "" {
			return nil
		}
		if dec, err := url.PathUnescape(pw); err == nil && dec != pw {
			return []string{pw, dec}
		}
		return []string{pw}
	}
	_, rest, ok := strings.Cut(dsn, "password=")
	if !ok {
		return nil
	}
	if q, ok := strings.CutPrefix(rest, "'"); ok {
		if end := strings.Index(q, "'"); end >= 0 {
			q = q[:end]
		}
		return []string{q}
	}
	if end := strings.IndexAny(rest, " \t"); end >= 0 {
		rest = rest[:end]
	}
	return []string{rest}
}

// Redact replaces every occurrence of each non-empty secret in s.
func Redact(s string, secrets ...string) string {
	for _, secret := range secrets {
		if secret != "" {
			s = strings.ReplaceAll(s, secret, "********")
		}
	}
	return s
}
