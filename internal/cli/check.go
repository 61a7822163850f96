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
	"github.com/cdcpreflight/cdcpreflight/internal/scope"
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
		help:  "YAML config file (flags override it)",
		value: to[checkOptions](text, "", nil)},
	{flag: "output", short: "o", key: "outputs", errs: namesFlag,
		help: "report FORMAT[=PATH]: " + oneOf(report.Formats()) +
			"; repeatable; no PATH writes to stdout (default " + string(report.FormatTable) + ")",
		value: to(repeated, nil, func(o *checkOptions, v []string) (err error) {
			o.Outputs, err = parseOutputs(v)
			return err
		})},
	{flag: "fail-on", key: "fail_on", errs: namesFlag,
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

Flags:
`

func runCheck(args []string, env Env) int {
	cf := newCheckFlags("check", env.Stderr)
	cf.fs.Usage = func() {
		fmt.Fprint(env.Stdout, checkUsage)
		fmt.Fprint(env.Stdout, cf.fs.FlagUsages())
		fmt.Fprint(env.Stdout, "\nExit codes: 0 clean, 1 findings at or above --fail-on, 2 could not complete.\n")
	}
	opt, err := cf.resolve(args, env)
	if errors.Is(err, pflag.ErrHelp) {
		return exitOK
	}
	if err != nil {
		fmt.Fprintf(env.Stderr, "cdcpreflight: %v\n", err)
		return exitError
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
	if path, _ := c.fs.GetString("config"); path != "" {
		file, err := loadConfig(path)
		if err != nil {
			return nil, err
		}
		if err := checkOptionTable.applyFile(path, file.values, &opt); err != nil {
			return nil, err
		}
		if opt.RuleConfig, err = ruleConfig(path, file.Rules, reg); err != nil {
			return nil, err
		}
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
			return nil, fmt.Errorf("%q is neither a command nor a connection string (commands: check, fix, rules, explain, demo, version)", pos[0])
		}
		opt.DSN = pos[0]
	}
	if err := checkOptionTable.applyFlags(c.fs, &opt); err != nil {
		return nil, err
	}
	if opt.DSN == "" {
		opt.DSN = env.Getenv("CDCPREFLIGHT_DSN")
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
	return &opt, nil
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
func check(opt *checkOptions, env Env) int {
	reg, err := checks.Registry()
	if err != nil {
		fmt.Fprintf(env.Stderr, "cdcpreflight: internal error: %v\n", err)
		return exitError
	}
	started := time.Now()
	f, err := obtainFacts(opt, env)
	if err != nil {
		fmt.Fprintf(env.Stderr, "cdcpreflight: %v\n", err)
		return exitError
	}
	if f.Connect.Err != nil {
		fmt.Fprintf(env.Stderr, "cdcpreflight: could not connect to %s: %s\n", printable(targetLabel(f.Target)), printable(f.Connect.Err.Message))
	}
	if opt.FactsOut != "" {
		if err := writeJSONFile(opt.FactsOut, f); err != nil {
			fmt.Fprintf(env.Stderr, "cdcpreflight: save facts: %v\n", err)
			return exitError
		}
	}
	results := rules.Evaluate(reg, f, opt.RuleConfig)
	run := report.Run{
		Tool: report.Tool{Name: "cdcpreflight", Version: Version},
		Target: report.Target{
			Host: f.Target.Host, Port: f.Target.Port, Database: f.Target.Database, User: f.Target.User,
			ServerVersion: f.Server.Version, Platform: f.Platform.Name,
		},
		Started:  started,
		Duration: time.Since(started),
		FailOn:   opt.FailOn,
		Results:  results,
	}
	if err := writeOutputs(opt, run, env); err != nil {
		fmt.Fprintf(env.Stderr, "cdcpreflight: %v\n", err)
		return exitError
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

func obtainFacts(opt *checkOptions, env Env) (*facts.Facts, error) {
	if opt.FactsIn != "" {
		data, err := os.ReadFile(opt.FactsIn)
		if err != nil {
			return nil, fmt.Errorf("read facts: %w", err)
		}
		var f facts.Facts
		if err := json.Unmarshal(data, &f); err != nil {
			return nil, fmt.Errorf("facts %s: %w", opt.FactsIn, err)
		}
		return &f, nil
	}
	cfg, err := gather.ParseDSN(opt.DSN)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), opt.Timeout)
	defer cancel()
	_ = env
	return gather.Gather(ctx, cfg, gather.Options{Expect: opt.Expect, Timeouts: timeoutsWithin(opt.Timeout, opt.CatalogTimeout)}), nil
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
	return os.WriteFile(path, append(data, '\n'), 0o600)
}
