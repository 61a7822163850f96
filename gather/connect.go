// Package gather connects to the database the way a CDC connector would and
// records what the catalogs and live probes say as facts. It never writes:
// catalog reads run in a READ ONLY transaction under statement, lock and
// idle-in-transaction timeouts, and a failed query becomes a fact rather
// than aborting the run.
package gather

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
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
		return nil, parseError(err)
	}
	if strayAt(dsn) {
		return nil, errors.New("cannot parse the connection string (it is not repeated here: it may hold a password): " +
			"the URI has an @ besides the one after the user and password, which is what a password holding " +
			"an unencoded @, /, ? or # leaves behind (the rest of it would be read as the host, the database or a parameter); " +
			"percent-encode them in the password (%40, %2F, %3F, %23) and an @ anywhere else (%40)")
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

// parseError says why a connection string did not parse without repeating
// any of it. pgx's error quotes the string with the password masked as
// well as it can, and quotes the part it stumbled on; but in a string that
// does not parse, where the password ends is a guess: an unquoted
// "password=se cret" reads "cret" as the next keyword and names it, a URI
// with a space in its password quotes the rest of the password. What is
// kept is pgx's own words up to the first quote, and a hint at the usual
// causes.
func parseError(err error) error {
	msg := err.Error()
	var pce *pgconn.ParseConfigError
	if errors.As(err, &pce) {
		// The message without a message: "cannot parse `<the string>`: ".
		msg = strings.TrimPrefix(msg, (&pgconn.ParseConfigError{ConnString: pce.ConnString}).Error())
		if inner := errors.Unwrap(pce); inner != nil {
			msg = strings.TrimSuffix(msg, " ("+inner.Error()+")")
			if detail := beforeQuote(inner.Error()); detail != "" {
				msg += ": " + detail
			}
		}
	}
	msg = beforeQuote(msg)
	if strings.HasPrefix(msg, "failed to parse") || strings.HasPrefix(msg, "invalid port") {
		// Most often a password with a space, a quote or a URI's special
		// character in it.
		msg += "; in key=value form quote a value holding spaces with single quotes (password='…'), " +
			"in a URI percent-encode the password's special characters (%40 for @, %2F for /, %3A for :, %20 for a space)"
	}
	return fmt.Errorf("cannot parse the connection string (it is not repeated here: it may hold a password): %s", msg)
}

// beforeQuote is s up to the first thing it quotes, which is input.
func beforeQuote(s string) string {
	if i := strings.IndexAny(s, "\"'`"); i >= 0 {
		return strings.TrimRight(s[:i], " :") + " …"
	}
	return s
}

// strayAt reports whether a URI has an "@" besides the one that ends the
// user part: libpq and pgx end the user part at the first "@" and the
// host part at the first "/", "?" or "#", so in postgres://app:p@ss@db/app
// the password is "p" and "ss@db" the host, and in postgres://app:12/cd@db
// the password is "12" and "cd@db" the database; every report would show
// the rest of the password.
func strayAt(dsn string) bool {
	for _, scheme := range []string{"postgres://", "postgresql://"} {
		if rest, ok := strings.CutPrefix(dsn, scheme); ok {
			at := strings.IndexByte(rest, '@')
			if end := strings.IndexAny(rest, "/?#"); at > end && end >= 0 {
				return true
			}
			return strings.Count(rest, "@") > 1
		}
	}
	return false
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
