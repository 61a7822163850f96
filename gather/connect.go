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
	"net/url"
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
