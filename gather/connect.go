// Package gather connects to the database the way a CDC connector would and
// records what the catalogs and live probes say as facts. It never writes:
// catalog reads run in a READ ONLY transaction under statement, lock and
// idle-in-transaction timeouts, and a failed query becomes a fact rather
// than aborting the run.
package gather

import (
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
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
		return nil, fmt.Errorf("cannot parse the connection string: %s", Redact(err.Error(), passwordIn(dsn)))
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
	return cfg, nil
}

// passwordIn extracts a password from a DSN that failed to parse, so it can
// be scrubbed from the parser's error. It is best-effort: pgx already
// redacts, this is the second belt.
func passwordIn(dsn string) string {
	if i := strings.Index(dsn, "://"); i >= 0 {
		rest := dsn[i+3:]
		if at := strings.LastIndex(rest, "@"); at >= 0 {
			if colon := strings.Index(rest[:at], ":"); colon >= 0 {
				return rest[colon+1 : at]
			}
		}
		return ""
	}
	for _, f := range strings.Fields(dsn) {
		if v, ok := strings.CutPrefix(f, "password="); ok {
			return strings.Trim(v, "'")
		}
	}
	return ""
}

// Redact replaces every occurrence of secret in s.
func Redact(s, secret string) string {
	if secret == "" {
		return s
	}
	return strings.ReplaceAll(s, secret, "********")
}
