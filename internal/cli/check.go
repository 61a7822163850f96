package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
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

// Defaults follow Streamkap's PostgreSQL setup guide.
const (
	defaultSlot         = "streamkap_pgoutput_slot"
	defaultPublication  = "streamkap_pub"
	defaultSignalSchema = "streamkap"
	defaultTimeout      = 60 * time.Second
)

// checkOptions is the resolved configuration of a check run: defaults,
// then the config file, then flags.
type checkOptions struct {
	DSN        string
	Expect     facts.Options
	FailOn     rules.Severity
	ExitZero   bool
	Timeout    time.Duration
	NoColor    bool
	Outputs    []outputSpec
	RuleConfig map[string]rules.RuleConfig
	FactsIn    string // judge a saved snapshot instead of connecting
	FactsOut   string // save the gathered facts
}

type checkFlags struct {
	fs                                            *pflag.FlagSet
	dsn, config, failOn, snapshotMode, tablesFile string
	slot, publication, signalSchema, heartbeat    string
	connectorUser, factsIn, factsOut              string
	outputs, tables                               []string
	peekMaxBacklog, retainedWALWarn               string
	exitZero, noColor, softDeletes                bool
	timeout                                       time.Duration
}

func newCheckFlags(name string, errOut io.Writer) *checkFlags {
	c := &checkFlags{fs: pflag.NewFlagSet(name, pflag.ContinueOnError)}
	fs := c.fs
	fs.SetOutput(errOut)
	fs.SortFlags = false
	fs.StringVar(&c.dsn, "dsn", "", "connection string, URI or key=value (default: PG* environment variables, .pgpass, service file)")
	fs.StringVarP(&c.config, "config", "c", "", "YAML config file (flags override it)")
	fs.StringArrayVarP(&c.outputs, "output", "o", nil, "report FORMAT[=PATH]: table, json or junit; repeatable; no PATH writes to stdout (default table)")
	fs.StringVar(&c.failOn, "fail-on", "error", "lowest severity that makes the exit code 1: error or warning")
	fs.BoolVar(&c.exitZero, "exit-zero", false, "exit 0 even when findings are at or above --fail-on (an incomplete assessment still exits 2)")
	fs.DurationVar(&c.timeout, "timeout", defaultTimeout, "overall time limit for the check")
	fs.BoolVar(&c.noColor, "no-color", false, "never colour the table (NO_COLOR is honoured too)")
	fs.StringVar(&c.slot, "slot", defaultSlot, "replication slot the connector uses")
	fs.StringVar(&c.publication, "publication", defaultPublication, "publication the connector uses")
	fs.StringVar(&c.signalSchema, "signal-schema", defaultSignalSchema, "schema of the streamkap_signal table")
	fs.StringVar(&c.heartbeat, "heartbeat-schema", "", "schema of the streamkap_heartbeat table, when heartbeats are configured")
	fs.StringVar(&c.snapshotMode, "snapshot-mode", facts.SnapshotAuto, "how snapshots run: auto, read-only or signal-table")
	fs.StringVar(&c.connectorUser, "connector-user", "", "judge this role's privileges instead of the connecting role's")
	fs.BoolVar(&c.softDeletes, "soft-deletes", false, "the destination keeps deleted rows: every captured table needs REPLICA IDENTITY FULL")
	fs.StringVar(&c.peekMaxBacklog, "peek-max-backlog", "256MB", "skip the slot peek when the slot is further behind than this")
	fs.StringVar(&c.retainedWALWarn, "retained-wal-warn", "1GB", "report slots retaining more WAL than this")
	fs.StringSliceVar(&c.tables, "tables", nil, "captured tables: schema.table or schema, comma-separated (default: all user tables)")
	fs.StringVar(&c.tablesFile, "tables-file", "", "captured tables from a Streamkap bulk-upload CSV (schema,table rows, no header)")
	fs.StringVar(&c.factsIn, "facts", "", "judge a facts snapshot (JSON from --save-facts) instead of connecting")
	fs.StringVar(&c.factsOut, "save-facts", "", "write the gathered facts to this JSON file (it holds no password)")
	return c
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
	opt := &checkOptions{
		FailOn:  rules.Error,
		Timeout: defaultTimeout,
		Expect: facts.Options{
			Slot: defaultSlot, Publication: defaultPublication, SignalSchema: defaultSignalSchema,
			SnapshotMode: facts.SnapshotAuto, PeekMaxBacklog: gather.DefaultPeekMaxBacklog, RetainedWALWarn: gather.DefaultRetainedWALWarn,
		},
	}
	var file *fileConfig
	if c.config != "" {
		if file, err = loadConfig(c.config); err != nil {
			return nil, err
		}
		if err := opt.applyFile(c.config, file, reg); err != nil {
			return nil, err
		}
	}
	changed := c.fs.Changed
	pos := c.fs.Args()
	switch {
	case len(pos) > 1:
		return nil, fmt.Errorf("expected at most one DSN argument, got %d (quote a key=value DSN)", len(pos))
	case len(pos) == 1 && changed("dsn"):
		return nil, errors.New("give the DSN either as an argument or with --dsn, not both")
	case len(pos) == 1:
		if !strings.Contains(pos[0], "=") && !strings.Contains(pos[0], "://") {
			return nil, fmt.Errorf("%q is neither a command nor a connection string (commands: check, fix, rules, explain, demo, version)", pos[0])
		}
		opt.DSN = pos[0]
	case changed("dsn"):
		opt.DSN = c.dsn
	}
	if opt.DSN == "" {
		opt.DSN = env.Getenv("CDCPREFLIGHT_DSN")
	}
	set := func(name string, dst *string, v string) {
		if changed(name) {
			*dst = v
		}
	}
	set("slot", &opt.Expect.Slot, c.slot)
	set("publication", &opt.Expect.Publication, c.publication)
	set("signal-schema", &opt.Expect.SignalSchema, c.signalSchema)
	set("heartbeat-schema", &opt.Expect.HeartbeatSchema, c.heartbeat)
	set("snapshot-mode", &opt.Expect.SnapshotMode, c.snapshotMode)
	set("connector-user", &opt.Expect.ConnectorUser, c.connectorUser)
	set("facts", &opt.FactsIn, c.factsIn)
	if changed("soft-deletes") {
		opt.Expect.SoftDeletes = c.softDeletes
	}
	for _, sz := range []struct {
		flag string
		val  string
		dst  *int64
	}{{"peek-max-backlog", c.peekMaxBacklog, &opt.Expect.PeekMaxBacklog}, {"retained-wal-warn", c.retainedWALWarn, &opt.Expect.RetainedWALWarn}} {
		if changed(sz.flag) {
			if *sz.dst, err = parseSize(sz.val); err != nil {
				return nil, fmt.Errorf("--%s: %w", sz.flag, err)
			}
		}
	}
	set("save-facts", &opt.FactsOut, c.factsOut)
	if changed("fail-on") {
		if opt.FailOn, err = parseFailOn(c.failOn); err != nil {
			return nil, err
		}
	}
	if changed("timeout") {
		opt.Timeout = c.timeout
	}
	if changed("exit-zero") {
		opt.ExitZero = c.exitZero
	}
	opt.NoColor = c.noColor || env.Getenv("NO_COLOR") != ""
	if changed("output") {
		if opt.Outputs, err = parseOutputs(c.outputs); err != nil {
			return nil, err
		}
	}
	if len(opt.Outputs) == 0 {
		opt.Outputs = []outputSpec{{Format: report.FormatTable}}
	}
	if changed("tables") {
		if opt.Expect.Tables, err = scope.ParseList(strings.Join(c.tables, ",")); err != nil {
			return nil, fmt.Errorf("--tables: %w", err)
		}
	}
	if changed("tables-file") {
		refs, err := scope.ParseFile(c.tablesFile)
		if err != nil {
			return nil, err
		}
		opt.Expect.Tables = append(opt.Expect.Tables, refs...)
	}
	if !slices.Contains(facts.SnapshotModes, opt.Expect.SnapshotMode) {
		return nil, fmt.Errorf("--snapshot-mode %q: want auto, read-only or signal-table", opt.Expect.SnapshotMode)
	}
	if opt.Timeout <= 0 {
		return nil, fmt.Errorf("--timeout must be positive, got %s", opt.Timeout)
	}
	return opt, nil
}

func (opt *checkOptions) applyFile(path string, f *fileConfig, reg *rules.Registry) error {
	var err error
	setIf := func(dst *string, v string) {
		if v != "" {
			*dst = v
		}
	}
	setIf(&opt.DSN, f.DSN)
	setIf(&opt.Expect.Slot, f.Slot)
	setIf(&opt.Expect.Publication, f.Publication)
	setIf(&opt.Expect.SignalSchema, f.SignalSchema)
	setIf(&opt.Expect.HeartbeatSchema, f.HeartbeatSchema)
	setIf(&opt.Expect.SnapshotMode, f.SnapshotMode)
	setIf(&opt.Expect.ConnectorUser, f.ConnectorUser)
	if f.SoftDeletes != nil {
		opt.Expect.SoftDeletes = *f.SoftDeletes
	}
	if f.PeekMaxBacklog != "" {
		if opt.Expect.PeekMaxBacklog, err = parseSize(f.PeekMaxBacklog); err != nil {
			return fmt.Errorf("config %s: peek_max_backlog: %w", path, err)
		}
	}
	if f.RetainedWALWarn != "" {
		if opt.Expect.RetainedWALWarn, err = parseSize(f.RetainedWALWarn); err != nil {
			return fmt.Errorf("config %s: retained_wal_warn: %w", path, err)
		}
	}
	if f.FailOn != "" {
		if opt.FailOn, err = parseFailOn(f.FailOn); err != nil {
			return fmt.Errorf("config %s: fail_on: %w", path, err)
		}
	}
	if f.Timeout != "" {
		opt.Timeout, _ = time.ParseDuration(f.Timeout) // validated by loadConfig
	}
	if len(f.Outputs) > 0 {
		if opt.Outputs, err = parseOutputs(f.Outputs); err != nil {
			return fmt.Errorf("config %s: outputs: %w", path, err)
		}
	}
	if len(f.Tables) > 0 {
		if opt.Expect.Tables, err = scope.ParseList(strings.Join(f.Tables, ",")); err != nil {
			return fmt.Errorf("config %s: tables: %w", path, err)
		}
	}
	if f.TablesFile != "" {
		refs, err := scope.ParseFile(f.TablesFile)
		if err != nil {
			return fmt.Errorf("config %s: %w", path, err)
		}
		opt.Expect.Tables = append(opt.Expect.Tables, refs...)
	}
	opt.RuleConfig, err = ruleConfig(path, f.Rules, reg)
	return err
}

func parseFailOn(s string) (rules.Severity, error) {
	switch s {
	case "error":
		return rules.Error, nil
	case "warning":
		return rules.Warning, nil
	}
	return 0, fmt.Errorf("--fail-on %q: want error or warning", s)
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
		fmt.Fprintf(env.Stderr, "cdcpreflight: could not connect to %s: %s\n", targetLabel(f.Target), f.Connect.Err.Message)
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
	return code
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
	return gather.Gather(ctx, cfg, gather.Options{Expect: opt.Expect, Timeouts: timeoutsWithin(opt.Timeout)}), nil
}

// timeoutsWithin keeps server-side timeouts inside the overall limit.
func timeoutsWithin(total time.Duration) gather.Timeouts {
	t := gather.DefaultTimeouts
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

// parseSize reads a byte size: 1048576, 512kB, 256MB, 1GB, 2TB (powers of
// 1024, as PostgreSQL's memory units are).
func parseSize(s string) (int64, error) {
	t := strings.TrimSpace(s)
	mult := int64(1)
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"TB", 1 << 40}, {"GB", 1 << 30}, {"MB", 1 << 20}, {"KB", 1 << 10}, {"B", 1}} {
		if rest, ok := strings.CutSuffix(strings.ToUpper(t), u.suffix); ok {
			t, mult = strings.TrimSpace(rest), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(t, 10, 64)
	if err != nil || n < 0 || n > (1<<62)/mult {
		return 0, fmt.Errorf("%q is not a size (e.g. 256MB, 1GB)", s)
	}
	return n * mult, nil
}
