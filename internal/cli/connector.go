package cli

import (
	"errors"
	"fmt"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/cdcpreflight/cdcpreflight/facts"
	"github.com/cdcpreflight/cdcpreflight/gather"
	"github.com/cdcpreflight/cdcpreflight/internal/connector"
	"github.com/cdcpreflight/cdcpreflight/internal/sqlident"
	"github.com/cdcpreflight/cdcpreflight/internal/sshtunnel"
	"github.com/cdcpreflight/cdcpreflight/report"
)

// applyConnector merges a connector configuration (--connector-config)
// into opt: the names, capture scope and connection the connector uses,
// except what a flag or the YAML config sets (explicit, by flag name),
// which overrides the file. A file that cannot be read, or a value the
// run needs that is an unresolved reference with nothing to override it,
// is an error before anything connects.
func applyConnector(opt *checkOptions, explicit map[string]bool, env Env) error {
	if opt.ConnectorConfig != "" && opt.FactsIn != "" {
		return errors.New("--connector-config does not apply to --facts: the snapshot holds the connector configuration it was gathered with")
	}
	if opt.ConnectorConfig == "" {
		if opt.DebeziumVersion != "" {
			return errors.New("--debezium-version applies to a connector configuration: give one with --connector-config")
		}
		return nil
	}
	l, err := connector.Load(opt.ConnectorConfig, connector.Options{DebeziumVersion: opt.DebeziumVersion})
	if err != nil {
		return err
	}
	e := &opt.Expect
	set := func(flag string, dst *string, s connector.Setting) error {
		if explicit[flag] {
			return nil
		}
		if s.Unresolved {
			return &connector.FileError{Path: opt.ConnectorConfig, Line: s.Line, Msg: fmt.Sprintf(
				"%s is a reference cdcpreflight does not resolve: give its value with --%s", s.Key, flag)}
		}
		*dst = strings.TrimSpace(s.Text)
		return nil
	}
	if err := set("slot", &e.Slot, l.Slot); err != nil {
		return err
	}
	if err := set("publication", &e.Publication, l.Publication); err != nil {
		return err
	}
	if !explicit["signal-schema"] {
		e.SignalSchema, e.SignalTable = l.SignalSchema, l.SignalTable
		if e.SignalSchema == "" {
			// No signal table: the schema only names where fix would put one.
			e.SignalSchema = "public"
		}
	}
	if !explicit["snapshot-mode"] {
		e.SnapshotMode = l.SnapshotMode
	}
	if !explicit["heartbeat-schema"] {
		e.HeartbeatSchema = l.HeartbeatSchema
	}
	e.Connector = l.Connector
	if explicit["tables"] || explicit["tables-file"] {
		e.Connector.TablesOverridden = true
	}
	dsn, err := connectorDSN(opt.DSN, l, env)
	if err != nil {
		return err
	}
	opt.DSN = dsn
	if l.Conn.PasswordInFile {
		opt.promptPassword = true
	}
	opt.connector = l
	for _, n := range l.Config.Notes {
		fmt.Fprintf(env.Stderr, "cdcpreflight: note: %s: %s\n", opt.ConnectorConfig, n)
	}
	sshFromConnector(opt, l.SSH, explicit, env)
	return nil
}

// sshFromConnector makes the check go through the bastion a Streamkap
// source tunnels through (ssh_enabled): its host, port and user, unless
// --ssh-host, --ssh-port or --ssh-user (or the YAML config) say otherwise.
// A setting that is an unresolved reference is left to its flag. The key
// is the user's own (--ssh-key or the ssh-agent): Streamkap keeps its own.
func sshFromConnector(opt *checkOptions, s connector.SSHTarget, explicit map[string]bool, env Env) {
	if !s.Enabled {
		return
	}
	var unresolved []string
	if !explicit["ssh-host"] {
		if s.Host.Unresolved || s.Host.Text == "" {
			unresolved = append(unresolved, "--ssh-host")
		} else {
			opt.SSH.Host = strings.TrimSpace(s.Host.Text)
		}
	}
	if !explicit["ssh-port"] {
		if port, err := strconv.Atoi(strings.TrimSpace(s.Port.Text)); err == nil && !s.Port.Unresolved {
			opt.SSH.Port = port
		} else {
			unresolved = append(unresolved, "--ssh-port")
		}
	}
	if !explicit["ssh-user"] {
		if s.User.Unresolved {
			unresolved = append(unresolved, "--ssh-user")
		} else {
			opt.SSH.User = strings.TrimSpace(s.User.Text)
		}
	}
	switch {
	case opt.SSH.Enabled():
		also := ""
		if len(unresolved) > 0 {
			also = " (" + strings.Join(unresolved, ", ") + " unresolved in the file: their defaults apply)"
		}
		fmt.Fprintf(env.Stderr, "cdcpreflight: note: %s connects through an SSH tunnel: the check goes through %s@%s too%s, "+
			"logging in with --ssh-key or the ssh-agent (Streamkap's own key stays with Streamkap: add yours for the same user)\n",
			opt.ConnectorConfig, opt.SSH.User, opt.SSH.Addr(), also)
	default:
		fmt.Fprintf(env.Stderr, "cdcpreflight: note: %s connects through an SSH tunnel (%s) whose settings are unresolved references: "+
			"give %s, or the check connects to the database host directly\n", opt.ConnectorConfig, sshLabel(s), strings.Join(unresolved, ", "))
		opt.SSH = sshtunnel.Config{KeyFile: opt.SSH.KeyFile, KnownHosts: opt.SSH.KnownHosts, Fingerprint: opt.SSH.Fingerprint}
	}
}

// sshLabel names the bastion as user@host:port, saying which parts are
// unresolved references.
func sshLabel(s connector.SSHTarget) string {
	part := func(v connector.Setting) string {
		if v.Unresolved {
			return v.Key + " unresolved"
		}
		return v.Text
	}
	return part(s.User) + "@" + part(s.Host) + ":" + part(s.Port)
}

// libpqEnv are the libpq variables that stand in for a connection
// parameter the file leaves unresolved.
var libpqEnv = map[string]string{"host": "PGHOST", "port": "PGPORT", "dbname": "PGDATABASE", "user": "PGUSER", "sslmode": "PGSSLMODE"}

// connectorDSN is the connection the connector makes: the file's host,
// port, database, user and sslmode, each overridden by the DSN the user
// gave (--dsn, the argument, CDCPREFLIGHT_DSN or the YAML config).
func connectorDSN(userDSN string, l *connector.Loaded, env Env) (string, error) {
	given, err := dsnParams(userDSN)
	if err != nil {
		return "", err
	}
	params := map[string]string{}
	for _, p := range l.Conn.Params {
		if _, over := given[p.Keyword]; over {
			continue
		}
		if p.Unresolved {
			if env.Getenv(libpqEnv[p.Keyword]) != "" || p.Keyword == "sslmode" {
				continue // libpq's variable, or its default, applies
			}
			return "", &connector.FileError{Path: l.Config.Path, Line: p.Line, Msg: fmt.Sprintf(
				"%s is a reference cdcpreflight does not resolve: give the %s with --dsn \"%s=…\" (or %s)", p.Key, p.Keyword, p.Keyword, libpqEnv[p.Keyword])}
		}
		params[p.Keyword] = strings.TrimSpace(p.Text)
	}
	for k, v := range given {
		params[k] = v
	}
	keys := make([]string, 0, len(params))
	for k := range params {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(k + "='" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(params[k]) + "'")
	}
	return b.String(), nil
}

// dsnParams reads the parameters a DSN sets explicitly: a URI's parts and
// query, or a keyword/value string's pairs. The errors never repeat the
// DSN, which may hold a password.
func dsnParams(dsn string) (map[string]string, error) {
	out := map[string]string{}
	dsn = strings.TrimSpace(dsn)
	if dsn == "" {
		return out, nil
	}
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		u, err := url.Parse(dsn)
		if err != nil {
			return nil, errors.New("cannot read the connection string to combine it with the connector configuration (a URI with several hosts? give them as host=h1,h2)")
		}
		if h := u.Hostname(); h != "" {
			out["host"] = h
		}
		if p := u.Port(); p != "" {
			out["port"] = p
		}
		if u.User != nil {
			if n := u.User.Username(); n != "" {
				out["user"] = n
			}
			if pw, ok := u.User.Password(); ok {
				out["password"] = pw
			}
		}
		if db := strings.TrimPrefix(u.Path, "/"); db != "" {
			out["dbname"] = db
		}
		for k, vs := range u.Query() {
			if len(vs) > 0 {
				out[k] = vs[len(vs)-1]
			}
		}
		return out, nil
	}
	// keyword = value, value bare or single-quoted; backslash escapes.
	i := 0
	for i < len(dsn) {
		for i < len(dsn) && isSpace(dsn[i]) {
			i++
		}
		if i >= len(dsn) {
			break
		}
		start := i
		for i < len(dsn) && dsn[i] != '=' && !isSpace(dsn[i]) {
			i++
		}
		key := dsn[start:i]
		for i < len(dsn) && isSpace(dsn[i]) {
			i++
		}
		if i >= len(dsn) || dsn[i] != '=' || key == "" {
			return nil, fmt.Errorf("cannot read the connection string near %q: want keyword=value pairs", key)
		}
		i++
		for i < len(dsn) && isSpace(dsn[i]) {
			i++
		}
		var val strings.Builder
		if i < len(dsn) && dsn[i] == '\'' {
			i++
			for ; i < len(dsn) && dsn[i] != '\''; i++ {
				if dsn[i] == '\\' && i+1 < len(dsn) {
					i++
				}
				val.WriteByte(dsn[i])
			}
			if i >= len(dsn) {
				return nil, fmt.Errorf("cannot read the connection string: the value of %s has no closing quote", key)
			}
			i++
		} else {
			for ; i < len(dsn) && !isSpace(dsn[i]); i++ {
				if dsn[i] == '\\' && i+1 < len(dsn) {
					i++
				}
				val.WriteByte(dsn[i])
			}
		}
		out[key] = val.String()
	}
	return out, nil
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// connConfig parses the DSN and applies the password given apart from it:
// --password-env NAME, or a prompt on a terminal when the connector logs in
// with a password that the file does not hand over and nothing else gave.
func connConfig(opt *checkOptions, env Env) (*pgx.ConnConfig, error) {
	cfg, err := gather.ParseDSN(opt.DSN)
	if err != nil {
		return nil, err
	}
	pw := opt.password
	if pw == "" && opt.promptPassword && cfg.Password == "" && env.Terminal != nil {
		fmt.Fprintf(env.Stderr, "Password for %s@%s:%d/%s: ", cfg.User, cfg.Host, cfg.Port, cfg.Database)
		pw, err = env.Terminal.ReadSecret()
		fmt.Fprintln(env.Stderr)
		if err != nil {
			return nil, fmt.Errorf("read the password: %w", err)
		}
		opt.password = pw // fix connects again to apply
	}
	if pw != "" {
		cfg.Password = pw
	}
	return cfg, nil
}

// scopeReport is the capture scope as reports show it.
func scopeReport(f *facts.Facts) *report.Scope {
	c := f.Options.Connector
	if c == nil || (!f.Scope.Resolved && f.Scope.Err == nil) {
		return nil
	}
	s := &report.Scope{ConnectorConfig: c.File, Candidates: f.Scope.Candidates, Captured: []string{}, NotCaptured: []string{}, Patterns: []report.ScopePattern{}}
	if err := f.Missing(facts.SectionScope); err != nil {
		s.Error = err.Error()
		return s
	}
	for _, r := range f.Options.Tables {
		s.Captured = append(s.Captured, sqlident.Qualified(r.Schema, r.Table))
	}
	if f.Scope.NotCaptured != nil {
		s.NotCaptured = f.Scope.NotCaptured
	}
	for _, p := range f.Scope.Patterns {
		s.Patterns = append(s.Patterns, report.ScopePattern{List: p.List, Pattern: p.Pattern, Matched: p.Matched})
	}
	return s
}
