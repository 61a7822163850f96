package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/cdcpreflight/cdcpreflight/checks"
	"github.com/cdcpreflight/cdcpreflight/facts"
	"github.com/cdcpreflight/cdcpreflight/gather"
	"github.com/cdcpreflight/cdcpreflight/internal/connector"
	"github.com/cdcpreflight/cdcpreflight/internal/scope"
	"github.com/cdcpreflight/cdcpreflight/internal/sshtunnel"
	"github.com/cdcpreflight/cdcpreflight/report"
	"github.com/cdcpreflight/cdcpreflight/rules"
)

// defaultTimeout is check's overall time limit.
const defaultTimeout = 60 * time.Second

// checkOptions is the resolved configuration of a check run: defaults,
// then the config file, then flags.
type checkOptions struct {
	DSN      string
	Expect   facts.Options
	FailOn   rules.Severity
	ExitZero bool
	Timeout  time.Duration
	// CatalogTimeout bounds each catalog read (statement_timeout), within
	// Timeout.
	CatalogTimeout time.Duration
	NoColor        bool
	Outputs        []outputSpec
	RuleConfig     map[string]rules.RuleConfig
	FactsIn        string // judge a saved snapshot instead of connecting
	FactsOut       string // save the gathered facts
	// ConnectorConfig is the connector's own configuration, read for the
	// names, scope and connection it says (see applyConnector).
	ConnectorConfig string
	DebeziumVersion string
	// PasswordEnv names the environment variable holding the password.
	PasswordEnv string

	// password is the one PasswordEnv names; never printed.
	password string
	// promptPassword: the connector logs in with a password the
	// configuration does not hand over; ask for it on a terminal when
	// nothing else gave one.
	promptPassword bool
	connector      *connector.Loaded

	NoConfig bool // no $CDCPREFLIGHT_CONFIG, no discovery
	Verbose  bool // say which config file was used, on stderr
	Quiet    bool // no progress on stderr
	// Config is the config file used, nil when none.
	Config *configRef
	// Ignores are the config file's accepted findings.
	Ignores []rules.Ignore
	// SSH is the bastion every connection goes through; the zero value
	// connects directly.
	SSH sshtunnel.Config
	// tunnel is SSH's dialer, made once (the key read, its passphrase
	// asked for) for every connection of the run: see sshDialer.
	tunnel *sshtunnel.Dialer

	// A fleet (check --targets, or the config's targets:): see fleet.go.
	TargetsFile string
	Jobs        int
	PerServer   int
	Shard       *report.Shard
	// fleet is the targets to check, nil for a check of one database.
	fleet *fleetSpec
}

// checkOptionTable declares check's options, which fix and demo take too.
// The slot, publication and signal schema defaults follow Streamkap's
// PostgreSQL setup guide.
var checkOptionTable = options[checkOptions]{
	{flag: "dsn", key: "dsn",
		help:  "connection string, URI or key=value (default: PG* environment variables, .pgpass, service file)",
		value: to(text, "", field(func(o *checkOptions) *string { return &o.DSN }))},
	// resolve reads --config itself, before the file it names.
	{flag: "config", short: "c",
		help: "YAML config file (flags override it); default: $" + configEnv + ", else " + configNames[0] + " or " + configNames[1] +
			" in this directory or a parent, up to the repository root",
		value: to[checkOptions](text, "", nil)},
	{flag: "no-config",
		help:  "use no config file: neither $" + configEnv + " nor a discovered " + configNames[0],
		value: to(boolean, false, field(func(o *checkOptions) *bool { return &o.NoConfig }))},
	{flag: "verbose", short: "v",
		help:  "say on stderr which config file is used (or where none was found), and list every table of a connector configuration's capture scope, captured or not",
		value: to(boolean, false, field(func(o *checkOptions) *bool { return &o.Verbose }))},
	{flag: "quiet", short: "q",
		help:  "no progress and no config warnings on stderr (reports are unchanged)",
		value: to(boolean, false, field(func(o *checkOptions) *bool { return &o.Quiet }))},
	{flag: "output", short: "o", key: "outputs", errs: namesFlag, runWide: true,
		help: "report FORMAT[=PATH]: " + oneOf(report.Formats()) +
			"; repeatable; no PATH writes to stdout (default " + string(report.FormatTable) + ")",
		value: to(repeated, nil, func(o *checkOptions, v []string) (err error) {
			o.Outputs, err = parseOutputs(v)
			return err
		})},
	{flag: "fail-on", key: "fail_on", errs: namesFlag, runWide: true,
		help: "lowest severity that makes the exit code 1: " + oneOf(failOnLevels),
		value: to(text, rules.Error.String(), func(o *checkOptions, v string) (err error) {
			o.FailOn, err = parseFailOn(v)
			return err
		})},
	{flag: "exit-zero",
		help:  "exit 0 even when findings are at or above --fail-on (an incomplete assessment still exits 2)",
		value: to(boolean, false, field(func(o *checkOptions) *bool { return &o.ExitZero }))},
	{flag: "timeout", key: "timeout",
		help:  "overall time limit for the check",
		value: to(duration, defaultTimeout, field(func(o *checkOptions) *time.Duration { return &o.Timeout })),
		check: func(o *checkOptions) error {
			if o.Timeout <= 0 {
				return fmt.Errorf("--timeout must be positive, got %s", o.Timeout)
			}
			return nil
		}},
	{flag: "catalog-timeout", key: "catalog_timeout",
		help:  "time limit for each catalog read (statement_timeout); raise it for very large or slow servers",
		value: to(duration, gather.DefaultTimeouts.Statement, field(func(o *checkOptions) *time.Duration { return &o.CatalogTimeout })),
		check: func(o *checkOptions) error {
			if o.CatalogTimeout <= 0 {
				return fmt.Errorf("--catalog-timeout must be positive, got %s", o.CatalogTimeout)
			}
			return nil
		}},
	{flag: "no-color",
		help:  "never colour the table (NO_COLOR is honoured too)",
		value: to(boolean, false, field(func(o *checkOptions) *bool { return &o.NoColor }))},
	{flag: "slot", key: "slot",
		help:  "replication slot the connector uses",
		value: to(text, "streamkap_pgoutput_slot", field(func(o *checkOptions) *string { return &o.Expect.Slot }))},
	{flag: "publication", key: "publication",
		help:  "publication the connector uses",
		value: to(text, "streamkap_pub", field(func(o *checkOptions) *string { return &o.Expect.Publication }))},
	{flag: "signal-schema", key: "signal_schema",
		help:  "schema of the streamkap_signal table",
		value: to(text, "streamkap", field(func(o *checkOptions) *string { return &o.Expect.SignalSchema }))},
	{flag: "heartbeat-schema", key: "heartbeat_schema",
		help:  "schema of the streamkap_heartbeat table, when heartbeats are configured",
		value: to(text, "", field(func(o *checkOptions) *string { return &o.Expect.HeartbeatSchema }))},
	{flag: "snapshot-mode", key: "snapshot_mode",
		help:  "how snapshots run: " + oneOf(facts.SnapshotModes),
		value: to(text, facts.SnapshotAuto, field(func(o *checkOptions) *string { return &o.Expect.SnapshotMode })),
		check: func(o *checkOptions) error {
			if !slices.Contains(facts.SnapshotModes, o.Expect.SnapshotMode) {
				return fmt.Errorf("--snapshot-mode %q: want %s", o.Expect.SnapshotMode, oneOf(facts.SnapshotModes))
			}
			return nil
		}},
	{flag: "connector-user", key: "connector_user",
		help:  "judge this role's privileges instead of the connecting role's",
		value: to(text, "", field(func(o *checkOptions) *string { return &o.Expect.ConnectorUser }))},
	{flag: "soft-deletes", key: "soft_deletes",
		help:  "the destination keeps deleted rows: every captured table needs REPLICA IDENTITY FULL",
		value: to(boolean, false, field(func(o *checkOptions) *bool { return &o.Expect.SoftDeletes }))},
	{flag: "peek-max-backlog", key: "peek_max_backlog",
		help:  "skip the slot peek when the slot is further behind than this",
		value: to(size, gather.DefaultPeekMaxBacklog, field(func(o *checkOptions) *int64 { return &o.Expect.PeekMaxBacklog }))},
	{flag: "retained-wal-warn", key: "retained_wal_warn",
		help:  "report slots retaining more WAL than this",
		value: to(size, gather.DefaultRetainedWALWarn, field(func(o *checkOptions) *int64 { return &o.Expect.RetainedWALWarn }))},
	{flag: "connector-lag-warn", key: "connector_lag_warn",
		help:  "report a connected consumer whose confirmed position is further behind the current WAL than this",
		value: to(size, int64(facts.DefaultConnectorLagWarn), field(func(o *checkOptions) *int64 { return &o.Expect.ConnectorLagWarn })),
		check: func(o *checkOptions) error {
			if o.Expect.ConnectorLagWarn <= 0 {
				return fmt.Errorf("--connector-lag-warn must be positive, got %d", o.Expect.ConnectorLagWarn)
			}
			return nil
		}},
	{flag: "connector-reply-warn", key: "connector_reply_warn",
		help:  "report a connected consumer that has not replied for longer than this",
		value: to(duration, facts.DefaultConnectorReplyWarn, field(func(o *checkOptions) *time.Duration { return &o.Expect.ConnectorReplyWarn })),
		check: func(o *checkOptions) error {
			if o.Expect.ConnectorReplyWarn <= 0 {
				return fmt.Errorf("--connector-reply-warn must be positive, got %s", o.Expect.ConnectorReplyWarn)
			}
			return nil
		}},
	// --tables replaces the list; --tables-file, after it, adds to it.
	{flag: "tables", key: "tables",
		help: "captured tables: schema.table or schema, comma-separated (default: all user tables)",
		value: to(list, nil, func(o *checkOptions, v []string) (err error) {
			o.Expect.Tables, err = scope.ParseList(strings.Join(v, ","))
			return err
		})},
	{flag: "tables-file", key: "tables_file", errs: namesFile,
		help: "captured tables from a Streamkap bulk-upload CSV (schema,table rows, no header)",
		value: to(text, "", func(o *checkOptions, v string) error {
			refs, err := scope.ParseFile(v)
			if err != nil {
				return err
			}
			o.Expect.Tables = append(o.Expect.Tables, refs...)
			return nil
		})},
	{flag: "connector-config", key: "connector_config",
		help: "the connector's own configuration: a Kafka Connect REST body or config map (JSON), a .properties file, a Strimzi " +
			"KafkaConnector, a Debezium Server application.properties or a Streamkap Terraform resource; its names, capture scope and " +
			"connection apply unless flags say otherwise",
		value: to(text, "", field(func(o *checkOptions) *string { return &o.ConnectorConfig }))},
	{flag: "debezium-version", key: "debezium_version",
		help:  "the Debezium version whose behaviour to assume for --connector-config (default " + connector.DefaultVersion.String() + ")",
		value: to(text, "", field(func(o *checkOptions) *string { return &o.DebeziumVersion }))},
	{flag: "password-env", key: "password_env",
		help: "read the password from this environment variable (otherwise: the DSN, PGPASSWORD, .pgpass, or a prompt on a terminal " +
			"when the connector configuration uses one)",
		value: to(text, "", field(func(o *checkOptions) *string { return &o.PasswordEnv }))},
	{flag: "ssh-host", key: "ssh_host",
		help:  "reach the database through this SSH bastion, as the connector's SSH tunnel does (every connection goes through it)",
		value: to(text, "", field(func(o *checkOptions) *string { return &o.SSH.Host }))},
	{flag: "ssh-port", key: "ssh_port",
		help:  "the bastion's SSH port",
		value: to(number, sshtunnel.DefaultPort, field(func(o *checkOptions) *int { return &o.SSH.Port }))},
	{flag: "ssh-user", key: "ssh_user",
		help:  "the account on the bastion (Streamkap's connector logs in as streamkap)",
		value: to(text, "", field(func(o *checkOptions) *string { return &o.SSH.User }))},
	{flag: "ssh-key", key: "ssh_key",
		help: "private key for the bastion, OpenSSH or PEM (default: the ssh-agent at SSH_AUTH_SOCK); an encrypted key's passphrase comes from " +
			sshPassphraseEnv + " or a prompt",
		value: to(text, "", field(func(o *checkOptions) *string { return &o.SSH.KeyFile }))},
	{flag: "ssh-known-hosts", key: "ssh_known_hosts",
		help:  "known_hosts file holding the bastion's host key (default ~/.ssh/known_hosts and /etc/ssh/ssh_known_hosts)",
		value: to(text, "", field(func(o *checkOptions) *string { return &o.SSH.KnownHosts }))},
	{flag: "ssh-host-key-fingerprint", key: "ssh_host_key_fingerprint",
		help:  "the bastion's host key fingerprint, SHA256:… as ssh-keygen -lf prints it, instead of known_hosts",
		value: to(text, "", field(func(o *checkOptions) *string { return &o.SSH.Fingerprint })),
		check: func(o *checkOptions) error { return checkSSH(o.SSH) }},
	{flag: "targets", fleet: true,
		help:  "check a fleet: every target of this YAML file (a list of targets, each with a name, a dsn or dsn_env, and any per-target option), one report",
		value: to(text, "", field(func(o *checkOptions) *string { return &o.TargetsFile }))},
	{flag: "jobs", short: "j", key: "jobs", runWide: true, fleet: true,
		help:  "with --targets: how many targets are checked at a time",
		value: to(number, defaultJobs, field(func(o *checkOptions) *int { return &o.Jobs })),
		check: func(o *checkOptions) error {
			if o.Jobs < 1 {
				return fmt.Errorf("--jobs must be at least 1, got %d", o.Jobs)
			}
			return nil
		}},
	{flag: "per-server", key: "per_server", runWide: true, fleet: true,
		help: "with --targets: how many targets of one server (host:port) are checked at a time; each check opens two sessions " +
			"(catalog and replication probe), and 1 keeps every verdict what checking the target alone gives",
		value: to(number, defaultPerServer, field(func(o *checkOptions) *int { return &o.PerServer })),
		check: func(o *checkOptions) error {
			if o.PerServer < 1 {
				return fmt.Errorf("--per-server must be at least 1, got %d", o.PerServer)
			}
			return nil
		}},
	{flag: "shard", fleet: true,
		help: "with --targets: check only shard K of N (K/N, e.g. 2/4), the targets a hash of their name assigns to it; " +
			"'cdcpreflight merge' joins the shards' JSON reports",
		value: to(text, "", func(o *checkOptions, v string) (err error) {
			o.Shard, err = parseShard(v)
			return err
		}), errs: namesFlag},
	{flag: "facts",
		help:  "judge a facts snapshot (JSON from --save-facts) instead of connecting",
		value: to(text, "", field(func(o *checkOptions) *string { return &o.FactsIn }))},
	{flag: "save-facts",
		help:  "write the gathered facts to this JSON file (it holds no password)",
		value: to(text, "", field(func(o *checkOptions) *string { return &o.FactsOut }))},
}

// failOnLevels are the severities --fail-on accepts.
var failOnLevels = []rules.Severity{rules.Error, rules.Warning}

// checkFlags is check's flag set, defined by checkOptionTable; fix adds
// its own flags to it.
type checkFlags struct {
	fs *pflag.FlagSet
	// noDiscovery: only --config names a config file (demo, whose database
	// is its own, must not pick up the repository's).
	noDiscovery bool
}

func newCheckFlags(name string, errOut io.Writer) *checkFlags {
	fs := pflag.NewFlagSet(name, pflag.ContinueOnError)
	fs.SetOutput(errOut)
	fs.SortFlags = false
	checkOptionTable.define(fs)
	return &checkFlags{fs: fs}
}

const checkUsage = `Usage: cdcpreflight check [DSN] [flags]

Connects the way the connector will, gathers what the catalogs say in a
read-only transaction, judges every rule and reports. It never writes to
the database.

Examples:
  cdcpreflight check "postgres://streamkap_user@db.example.com/app?sslmode=require"
  PGHOST=db PGDATABASE=app cdcpreflight --output table --output junit=preflight.xml
  cdcpreflight check --config cdcpreflight.yml --fail-on warning
  cdcpreflight check "$DSN" --ssh-host bastion.example.com --ssh-user streamkap --ssh-key ~/.ssh/id_ed25519
  cdcpreflight check --targets fleet.yml --jobs 8 -o table -o junit=fleet.xml
  cdcpreflight check --targets fleet.yml --shard 2/4 -o json=shard-2.json   # then: cdcpreflight merge shard-*.json

Flags:
`

func runCheck(args []string, env Env) int {
	cf := newCheckFlags("check", env.Stderr)
	cf.fs.Usage = func() {
		fmt.Fprint(env.Stdout, checkUsage)
		fmt.Fprint(env.Stdout, cf.fs.FlagUsages())
		fmt.Fprint(env.Stdout, "\nExit codes: 0 clean, 1 findings at or above --fail-on, 2 could not complete, 130 interrupted.\n")
	}
	opt, err := cf.resolve(args, env)
	if errors.Is(err, pflag.ErrHelp) {
		return exitOK
	}
	if err != nil {
		fmt.Fprintf(env.Stderr, "cdcpreflight: %v\n", err)
		return exitError
	}
	if opt.fleet != nil {
		return runFleet(opt, env)
	}
	return check(opt, env)
}

// resolve applies defaults, the config file and flags, in that order.
func (c *checkFlags) resolve(args []string, env Env) (*checkOptions, error) {
	if err := c.fs.Parse(args); err != nil {
		return nil, err
	}
	reg, err := checks.Registry()
	if err != nil {
		return nil, err
	}
	opt, err := checkOptionTable.defaults()
	if err != nil {
		return nil, err
	}
	var fileValues map[string]any
	flagPath, _ := c.fs.GetString("config")
	noConfig, _ := c.fs.GetBool("no-config")
	if flagPath != "" && noConfig {
		return nil, errors.New("--config and --no-config contradict each other: give one")
	}
	if c.noDiscovery && flagPath == "" {
		noConfig = true
	}
	ref, searched, err := findConfig(flagPath, noConfig, env)
	if err != nil {
		return nil, err
	}
	var file *fileConfig
	if ref != nil {
		path := ref.Path
		file, err = loadConfig(path)
		if err != nil {
			return nil, err
		}
		fileValues = file.values
		if err := checkOptionTable.applyFile(path, file.values, &opt); err != nil {
			return nil, err
		}
		if opt.RuleConfig, err = ruleConfig(path, file.Rules, reg); err != nil {
			return nil, err
		}
		if opt.Ignores, err = ignoreConfig(path, file.Ignore, reg); err != nil {
			return nil, err
		}
		opt.Config = ref
	}
	// The DSN is also the one positional argument.
	pos := c.fs.Args()
	switch {
	case len(pos) > 1:
		return nil, fmt.Errorf("expected at most one DSN argument, got %d (quote a key=value DSN)", len(pos))
	case len(pos) == 1 && c.fs.Changed("dsn"):
		return nil, errors.New("give the DSN either as an argument or with --dsn, not both")
	case len(pos) == 1:
		if !strings.Contains(pos[0], "=") && !strings.Contains(pos[0], "://") {
			return nil, fmt.Errorf("%q is neither a command nor a connection string (commands: check, fix, merge, rules, explain, demo, version)", pos[0])
		}
		opt.DSN = pos[0]
	}
	if err := checkOptionTable.applyFlags(c.fs, &opt); err != nil {
		return nil, err
	}
	if err := c.resolveFleet(&opt, ref, file, reg); err != nil {
		return nil, err
	}
	if opt.DSN == "" && opt.fleet == nil {
		opt.DSN = env.Getenv("CDCPREFLIGHT_DSN")
	}
	if opt.fleet != nil {
		// Each target's connector configuration is applied to it when
		// it is checked, after its dsn_env is read (see prepareJobs).
		opt.fleet.explicit = explicitOptions(c.fs, fileValues)
	} else if err := applyConnector(&opt, explicitOptions(c.fs, fileValues), env); err != nil {
		return nil, err
	}
	if opt.PasswordEnv != "" && opt.fleet == nil {
		if opt.password = env.Getenv(opt.PasswordEnv); opt.password == "" {
			return nil, fmt.Errorf("--password-env %s: the variable is not set or empty", opt.PasswordEnv)
		}
	}
	opt.NoColor = opt.NoColor || env.Getenv("NO_COLOR") != ""
	// The table on stdout is not --output's declared default, which pflag
	// would show as "[table]"; the help says "(default table)" instead.
	if len(opt.Outputs) == 0 {
		opt.Outputs = []outputSpec{{Format: report.FormatTable}}
	}
	if err := checkOptionTable.check(&opt); err != nil {
		return nil, err
	}
	if opt.Verbose {
		sayConfig(env, opt.Config, noConfig, searched)
	}
	return &opt, nil
}

// sayConfig tells --verbose users which config file the run uses.
func sayConfig(env Env, ref *configRef, noConfig bool, searched string) {
	switch {
	case ref != nil && ref.Source == configFromFlag:
		fmt.Fprintf(env.Stderr, "cdcpreflight: config %s (--config)\n", ref.Path)
	case ref != nil && ref.Source == configFromEnv:
		fmt.Fprintf(env.Stderr, "cdcpreflight: config %s ($%s)\n", ref.Path, configEnv)
	case ref != nil:
		fmt.Fprintf(env.Stderr, "cdcpreflight: config %s (found from the working directory)\n", ref.Path)
	case noConfig:
		fmt.Fprintln(env.Stderr, "cdcpreflight: no config file (--no-config)")
	default:
		fmt.Fprintf(env.Stderr, "cdcpreflight: no config file: no %s or %s %s\n", configNames[0], configNames[1], searched)
	}
}

func parseFailOn(s string) (rules.Severity, error) {
	for _, l := range failOnLevels {
		if s == l.String() {
			return l, nil
		}
	}
	return 0, fmt.Errorf("--fail-on %q: want %s", s, oneOf(failOnLevels))
}

// check gathers (or loads) the facts, judges them and writes the reports.
// Ctrl-C cancels what is in flight, on the server too, and the reports
// still cover what was judged before it; the exit code is then 130.
func check(opt *checkOptions, env Env) int {
	reg, err := checks.Registry()
	if err != nil {
		fmt.Fprintf(env.Stderr, "cdcpreflight: internal error: %v\n", err)
		return exitError
	}
	ctx, stop := interruptible(context.Background())
	defer stop()
	started := time.Now()
	prog := newProgress(env, opt.Quiet)
	f, err := obtainFacts(ctx, opt, env, prog)
	prog.clear()
	if err != nil {
		fmt.Fprintf(env.Stderr, "cdcpreflight: %v\n", err)
		return exitError
	}
	stopped := interrupted(ctx)
	if f.Connect.Err != nil && !stopped {
		fmt.Fprintf(env.Stderr, "cdcpreflight: could not connect to %s: %s\n", printable(targetLabel(f.Target)), printable(f.Connect.Err.Message))
	}
	if opt.FactsOut != "" {
		if err := writeJSONFile(opt.FactsOut, f); err != nil {
			fmt.Fprintf(env.Stderr, "cdcpreflight: save facts: %v\n", err)
			return exitError
		}
	}
	// A check shows steps only as SQL: it does not hold them.
	results := rules.EvaluateWith(reg, f, opt.RuleConfig, rules.EvalOptions{SQLOnly: true})
	results, warnings := rules.ApplyIgnores(results, opt.Ignores, now(env))
	run := newRun("", f, opt, started, results, warnings)
	if !opt.Quiet {
		for _, w := range warnings {
			fmt.Fprintf(env.Stderr, "cdcpreflight: warning: %s\n", w.Message)
		}
	}
	if stopped {
		fmt.Fprintln(env.Stderr, "cdcpreflight: interrupted: statements in flight were cancelled; "+
			"the reports cover what was judged before it (the rules in error were not judged)")
	}
	if err := writeOutputs(opt, run, env); err != nil {
		fmt.Fprintf(env.Stderr, "cdcpreflight: %v\n", err)
		return exitError
	}
	if stopped {
		return exitInterrupted
	}
	code := rules.ExitCode(results, opt.FailOn)
	if code == exitFindings && opt.ExitZero {
		code = exitOK
	}
	if code == exitError && f.Connect.Err == nil {
		// The reports say it rule by rule; a CI log that shows only
		// stderr (-o junit=FILE) must still say why the gate failed.
		fmt.Fprintf(env.Stderr, "cdcpreflight: the assessment is incomplete: %s\n", printable(incomplete(results)))
	}
	return code
}

// incomplete says how many rules could not be judged and the first few
// distinct reasons.
func incomplete(results []rules.Result) string {
	var n int
	var why []string
	for _, r := range results {
		if r.Status != rules.StatusError {
			continue
		}
		n++
		if !slices.Contains(why, r.Message) && len(why) < 3 {
			why = append(why, r.Message)
		}
	}
	return fmt.Sprintf("%s could not be judged: %s", plural(n, "rule", "rules"), strings.Join(why, "; "))
}

// now is the run's clock, for ignores' expiry.
func now(env Env) time.Time {
	if env.Now != nil {
		return env.Now()
	}
	return time.Now()
}

// newRun is the report of one database's judgement; name is the fleet
// target's, "" for a check of one database.
func newRun(name string, f *facts.Facts, opt *checkOptions, started time.Time, results []rules.Result, warnings []rules.ConfigWarning) report.Run {
	run := report.Run{
		Tool: report.Tool{Name: "cdcpreflight", Version: Version},
		Target: report.Target{
			Name: name, Host: f.Target.Host, Port: f.Target.Port, Database: f.Target.Database, User: f.Target.User,
			ServerVersion: f.Server.Version, Platform: f.Platform.Name,
		},
		Started:  started,
		Duration: time.Since(started),
		FailOn:   opt.FailOn,
		Results:  results,
		Scope:    scopeReport(f),
		Warnings: warnings,
	}
	if opt.Config != nil {
		run.Config = &report.ConfigFile{Path: opt.Config.Path, Source: opt.Config.Source}
	}
	return run
}

func obtainFacts(ctx context.Context, opt *checkOptions, env Env, prog *progress) (*facts.Facts, error) {
	if opt.FactsIn != "" {
		data, err := os.ReadFile(opt.FactsIn) //nolint:gosec // G703: the user names the snapshot to read
		if err != nil {
			return nil, fmt.Errorf("read facts: %w", err)
		}
		var f facts.Facts
		if err := json.Unmarshal(data, &f); err != nil {
			return nil, fmt.Errorf("facts %s: %w", opt.FactsIn, err)
		}
		return &f, nil
	}
	cfg, err := connConfig(opt, env)
	if err != nil {
		return nil, err
	}
	tunnel, err := opt.sshDialer(cfg, env)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, opt.Timeout)
	defer cancel()
	return gather.Gather(ctx, cfg, gather.Options{
		Expect: opt.Expect, Timeouts: timeoutsWithin(opt.Timeout, opt.CatalogTimeout), Progress: prog.stage, Tunnel: tunnel,
	}), nil
}

// timeoutsWithin keeps server-side timeouts inside the overall limit.
func timeoutsWithin(total, catalog time.Duration) gather.Timeouts {
	t := gather.DefaultTimeouts
	if catalog > 0 {
		t.Statement = catalog
	}
	t.Statement = min(t.Statement, total)
	t.Lock = min(t.Lock, total)
	t.IdleInTransaction = max(t.IdleInTransaction, total)
	return t
}

func targetLabel(t facts.Target) string {
	return fmt.Sprintf("%s@%s:%d/%s", t.User, t.Host, t.Port, t.Database)
}

func writeJSONFile(path string, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(data, '\n'), 0o600) //nolint:gosec // G703: the user names the file to write
}

// explicitOptions are the options the command line or the YAML config set,
// by flag name: a connector configuration does not override them.
func explicitOptions(fs *pflag.FlagSet, fileValues map[string]any) map[string]bool {
	explicit := map[string]bool{}
	for key := range fileValues {
		if o := checkOptionTable.byKey(key); o != nil {
			explicit[o.flag] = true
		}
	}
	fs.Visit(func(f *pflag.Flag) { explicit[f.Name] = true })
	return explicit
}
