// Package gather connects to the database the way a CDC connector would and
// records what the catalogs and live probes say as facts. It never writes:
// catalog reads run in a READ ONLY transaction under statement, lock and
// idle-in-transaction timeouts, and a failed query becomes a fact rather
// than aborting the run.
package gather

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgconn/ctxwatch"

	"github.com/cdcpreflight/cdcpreflight/facts"
	"github.com/cdcpreflight/cdcpreflight/internal/sshtunnel"
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

// ThroughTunnel returns a copy of cfg whose every connection goes through
// t, the cancel requests pgx sends included. The host name goes to the
// bastion unresolved, to be resolved there as it is for the connector;
// TLS still verifies it, because pgx fixes the ServerName (and so the SNI
// that Neon routes by) from the DSN's host when it parses it, not from the
// address dialled. The host name is also what the pooler-hostname rule
// judges: it is the database's, not the bastion's.
func ThroughTunnel(cfg *pgx.ConnConfig, t *sshtunnel.Tunnel) *pgx.ConnConfig {
	cfg = cfg.Copy()
	cfg.LookupFunc = func(_ context.Context, host string) ([]string, error) { return []string{host}, nil }
	cfg.DialFunc = t.Dial
	return cfg
}

// TunnelTarget is the database's address as the bastion will dial it, or
// an error when the DSN names a Unix socket, which no tunnel reaches.
func TunnelTarget(cfg *pgx.ConnConfig) (string, error) {
	if strings.HasPrefix(cfg.Host, "/") {
		return "", fmt.Errorf("the connection's host %s is a Unix socket, which an SSH tunnel cannot reach: "+
			"give the database's host name or address as the bastion sees it (host=… in the DSN)", cfg.Host)
	}
	return net.JoinHostPort(cfg.Host, strconv.Itoa(int(cfg.Port))), nil
}

// openTunnel records the tunnel's settings and opens it, under the
// connection's connect timeout: a bastion that never answers ends there.
// It returns nil when the tunnel is broken, which it records.
func (g *gatherer) openTunnel(ctx context.Context, cfg *pgx.ConnConfig, d *sshtunnel.Dialer) *sshtunnel.Tunnel {
	st := &g.f.SSHTunnel
	*st = facts.SSHTunnel{Configured: true, Bastion: d.Bastion(), User: d.User(), Auth: d.Auth(), HostKeyCheck: d.HostKeyCheck()}
	target, err := TunnelTarget(cfg)
	if err != nil {
		st.Failure = facts.TunnelDatabaseUnreachable
		st.Err = &facts.Error{Op: "open the SSH tunnel", Message: err.Error()}
		return nil
	}
	st.Target = target
	if cfg.ConnectTimeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, cfg.ConnectTimeout)
		defer cancel()
	}
	t, err := d.Open(ctx)
	if err != nil {
		g.tunnelBroke("open the SSH tunnel", err)
		return nil
	}
	st.HostKey, st.ServerVersion = t.HostKey(), t.ServerVersion()
	return t
}

// tunnelForwarded records whether the bastion forwarded the connections,
// and the first it refused.
func (g *gatherer) tunnelForwarded(t *sshtunnel.Tunnel) {
	ok, refused := t.Forwarded()
	g.f.SSHTunnel.Forwarded = ok
	if refused != nil {
		g.tunnelBroke("forward through the SSH tunnel", refused)
	}
}

// tunnelBroke records a broken link: its name (sshtunnel's failures are
// spelt as facts' are) and what the user needs to act on it.
func (g *gatherer) tunnelBroke(op string, err error) {
	st := &g.f.SSHTunnel
	var e *sshtunnel.Error
	if errors.As(err, &e) {
		st.Failure = string(e.Failure)
		if e.HostKey != "" {
			st.HostKey = e.HostKey
		}
		st.KnownKeys = e.Known
	}
	st.Err = &facts.Error{Op: op, Message: Redact(err.Error(), g.password)}
}
