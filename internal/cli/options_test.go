package cli

import (
	"fmt"
	"io"
	"regexp"
	"strings"
	"testing"

	"github.com/spf13/pflag"

	"github.com/cdcpreflight/cdcpreflight/facts"
	"github.com/cdcpreflight/cdcpreflight/gather"
	"github.com/cdcpreflight/cdcpreflight/internal/fix"
)

var kebab = regexp.MustCompile(`^[a-z]+(-[a-z]+)*$`)

// pluralKeys are the config keys that are not their flag in snake case:
// a repeatable flag named for one value, whose key holds the list.
var pluralKeys = map[string]string{"output": "outputs"}

// TestOptionTablesAreWellFormed holds every declared option to a flag, a
// help text and a default that applies, and a config key that is its flag
// in snake case; fix's own options have no key.
func TestOptionTablesAreWellFormed(t *testing.T) {
	flags, shorts, keys := map[string]bool{}, map[string]bool{}, map[string]bool{}
	check := func(table string, flag, short, key, help string, hasValue bool) {
		t.Helper()
		switch {
		case !kebab.MatchString(flag):
			t.Errorf("%s: flag %q is not kebab-case", table, flag)
		case flags[flag]:
			t.Errorf("%s: flag --%s is declared twice (fix's flag set would silently keep one)", table, flag)
		case help == "" || strings.HasSuffix(help, "."):
			t.Errorf("%s: --%s: help %q is empty or ends with a period", table, flag, help)
		case !hasValue:
			t.Errorf("%s: --%s has no value", table, flag)
		case short != "" && (len(short) != 1 || shorts[short]):
			t.Errorf("%s: --%s: short form %q is not one unused letter", table, flag, short)
		}
		flags[flag], shorts[short] = true, short != ""
		if key == "" {
			return
		}
		want := strings.ReplaceAll(flag, "-", "_")
		if p, ok := pluralKeys[flag]; ok {
			want = p
		}
		if key != want {
			t.Errorf("%s: --%s has config key %q, want %q (the flag in snake case)", table, flag, key, want)
		}
		if keys[key] {
			t.Errorf("%s: config key %q is declared twice", table, key)
		}
		keys[key] = true
	}
	for _, o := range checkOptionTable {
		check("check", o.flag, o.short, o.key, o.help, o.value != nil)
	}
	for _, o := range fixOptionTable {
		check("fix", o.flag, o.short, o.key, o.help, o.value != nil)
		if o.key != "" {
			t.Errorf("fix: --%s has config key %q; fix's options are flags only", o.flag, o.key)
		}
	}
	if _, err := checkOptionTable.defaults(); err != nil {
		t.Error(err)
	}
	if _, err := fixOptionTable.defaults(); err != nil {
		t.Error(err)
	}
}

// TestFlagsAndConfigKeysCorrespond checks that the flag set and the config
// file are both derived from the table: every option is a flag, every key
// is accepted in a config file, and a flag without a key is not.
func TestFlagsAndConfigKeysCorrespond(t *testing.T) {
	cf := newCheckFlags("check", io.Discard)
	var defined []string
	cf.fs.VisitAll(func(f *pflag.Flag) { defined = append(defined, f.Name) })
	var declared []string
	for _, o := range checkOptionTable {
		declared = append(declared, o.flag)
	}
	if fmt.Sprint(defined) != fmt.Sprint(declared) {
		t.Errorf("check's flags are %v, its options %v", defined, declared)
	}

	var every, flagOnly strings.Builder
	for _, o := range checkOptionTable {
		if o.key != "" {
			fmt.Fprintf(&every, "%s:\n", o.key) // null: accepted, and leaves the option unset
		} else if o.flag != "targets" { // the config's targets: is the list --targets names a file of

			fmt.Fprintf(&flagOnly, "%s: x\n", strings.ReplaceAll(o.flag, "-", "_"))
		}
	}
	if _, err := loadConfig(writeFile(t, "every.yml", every.String())); err != nil {
		t.Errorf("a config file with every declared key: %v", err)
	}
	_, err := loadConfig(writeFile(t, "flag-only.yml", flagOnly.String()))
	for i, line := range strings.Split(strings.TrimSpace(flagOnly.String()), "\n") {
		key, _, _ := strings.Cut(line, ":")
		if want := fmt.Sprintf("line %d: unknown key %q", i+1, key); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("a flag-only option's key in a config file: %v; want %s", err, want)
		}
	}
}

// TestDefaultsComeFromTheirConstants checks that --help shows the defaults
// gather and fix use, as a person would type them.
func TestDefaultsComeFromTheirConstants(t *testing.T) {
	help := run(t, nil, "check", "--help").stdout
	for _, want := range []string{
		fmt.Sprintf("than this (default %q)", formatSize(gather.DefaultPeekMaxBacklog)),
		fmt.Sprintf("WAL than this (default %q)", formatSize(gather.DefaultRetainedWALWarn)),
		fmt.Sprintf("for the check (default %s)", defaultTimeout),
		`(default "256MB")`,
		fmt.Sprintf("longer than this (default %s)", facts.DefaultConnectorReplyWarn),
	} {
		if !strings.Contains(help, want) {
			t.Errorf("check --help lacks %s", want)
		}
	}
	fixHelp := run(t, nil, "fix", "--help").stdout
	for _, d := range []fmt.Stringer{fix.DefaultTimeouts.Lock, fix.DefaultTimeouts.Statement} {
		if want := fmt.Sprintf("(default %s)", d); !strings.Contains(fixHelp, want) {
			t.Errorf("fix --help lacks %s", want)
		}
	}
	opt, err := checkOptionTable.defaults()
	if err != nil {
		t.Fatal(err)
	}
	if opt.Expect.PeekMaxBacklog != gather.DefaultPeekMaxBacklog || opt.Expect.RetainedWALWarn != gather.DefaultRetainedWALWarn ||
		opt.Timeout != defaultTimeout {
		t.Errorf("defaults = %+v", opt)
	}
	for _, n := range []int64{0, 1, 1000, 1024, 3 << 10, 256 << 20, 1 << 30, 1536 << 20, 2 << 40} {
		if got, err := parseSize(formatSize(n)); err != nil || got != n {
			t.Errorf("parseSize(formatSize(%d) = %q) = %d, %v", n, formatSize(n), got, err)
		}
	}
}

// TestPrecedence: the default, then the config file, then the flags given;
// --tables-file adds to --tables; a value a flag overrides is judged only
// if it cannot be read.
func TestPrecedence(t *testing.T) {
	csv := writeFile(t, "t.csv", "public,customers\n")
	cfg := writeFile(t, "c.yml", "slot: from_file\ntimeout: 30s\ntables: [public.orders]\ntables_file: "+csv+"\nsnapshot_mode: nonsense\n")
	resolve := func(args ...string) (*checkOptions, error) {
		return newCheckFlags("check", io.Discard).resolve(args, Env{Getenv: func(string) string { return "" }})
	}
	opt, err := resolve("--config", cfg, "--snapshot-mode", "read-only", "--publication", "from_flag")
	if err != nil {
		t.Fatal(err)
	}
	e := opt.Expect
	if e.Slot != "from_file" || e.Publication != "from_flag" || e.SignalSchema != "streamkap" || opt.Timeout.String() != "30s" ||
		e.SnapshotMode != "read-only" || fmt.Sprint(e.Tables) != "[{public orders} {public customers}]" {
		t.Errorf("file over defaults, flags over file: %+v, timeout %s", e, opt.Timeout)
	}
	if opt, err = resolve("--config", cfg, "--snapshot-mode", "auto", "--tables", "s.t", "--slot", "from_flag"); err != nil {
		t.Fatal(err)
	}
	if e := opt.Expect; e.Slot != "from_flag" || fmt.Sprint(e.Tables) != "[{s t}]" {
		t.Errorf("--tables replaces the file's tables and tables file: %+v", e)
	}
	if _, err := resolve("--config", cfg); err == nil || err.Error() != `--snapshot-mode "nonsense": want auto, read-only or signal-table` {
		t.Errorf("the file's snapshot_mode, not overridden: %v", err)
	}
}

// TestBadValueMessages pins how a bad value is named, from a flag and from
// the config file (C stands for the config file's path).
func TestBadValueMessages(t *testing.T) {
	bad := writeFile(t, "bad.csv", "a,b,c\n")
	for _, tc := range []struct{ flag, value, yaml, fromFlag, fromFile string }{
		{"peek-max-backlog", "lots", "peek_max_backlog: lots",
			`--peek-max-backlog: "lots" is not a size (e.g. 256MB, 1GB)`,
			`config C: peek_max_backlog: "lots" is not a size (e.g. 256MB, 1GB)`},
		{"fail-on", "sometimes", "fail_on: sometimes",
			`--fail-on "sometimes": want error or warning`,
			`config C: fail_on: --fail-on "sometimes": want error or warning`},
		{"output", "pdf", "outputs: [pdf]",
			`--output "pdf": unknown report format "pdf" (valid: table, json, junit, markdown)`,
			`config C: outputs: --output "pdf": unknown report format "pdf" (valid: table, json, junit, markdown)`},
		{"tables", "public.", "tables: [public.]",
			`--tables: "public.": empty table name`,
			`config C: tables: "public.": empty table name`},
		{"tables-file", bad, "tables_file: " + bad,
			"tables file " + bad + ": line 1: 3 fields; want schema,table or schema.table or schema",
			"config C: tables file " + bad + ": line 1: 3 fields; want schema,table or schema.table or schema"},
		{"timeout", "5x", "timeout: 5x",
			`invalid argument "5x" for "--timeout" flag: must be a duration like "30s" or "5m"`,
			`config C: timeout: time: unknown unit "x" in duration "5x"`},
	} {
		if r := run(t, nil, "check", "--facts", demoFacts, "--"+tc.flag, tc.value); r.stderr != "cdcpreflight: "+tc.fromFlag+"\n" {
			t.Errorf("--%s %s: %q\nwant %q", tc.flag, tc.value, r.stderr, tc.fromFlag)
		}
		cfg := writeFile(t, "c.yml", tc.yaml+"\n")
		want := "cdcpreflight: " + strings.Replace(tc.fromFile, "config C:", "config "+cfg+":", 1) + "\n"
		if r := run(t, nil, "check", "--facts", demoFacts, "--config", cfg); r.stderr != want {
			t.Errorf("%s: %q\nwant %q", tc.yaml, r.stderr, want)
		}
	}
}

// TestConfigProblemsInLineOrder: unknown keys of the options and of the
// rules: section are reported together, in the order of the file.
func TestConfigProblemsInLineOrder(t *testing.T) {
	cfg := writeFile(t, "c.yml", "tabels:\n  - public.orders\nrules:\n  wal-level:\n    disabld: true\nslt: x\n")
	want := `line 1: unknown key "tabels"; line 5: unknown key "disabld"; line 6: unknown key "slt"`
	if r := run(t, nil, "check", "--facts", demoFacts, "--config", cfg); !strings.HasSuffix(r.stderr, want+"\n") {
		t.Errorf("stderr %q, want it to end in %s", r.stderr, want)
	}
	cfg = writeFile(t, "c.yml", "slot: [a]\nrules:\n  wal-level: 3\npublication: [b]\n")
	want = "yaml: unmarshal errors:\n  line 1: cannot unmarshal !!seq into string\n" +
		"  line 3: cannot unmarshal !!int `3` into cli.ruleFileConfig\n  line 4: cannot unmarshal !!seq into string\n"
	if r := run(t, nil, "check", "--facts", demoFacts, "--config", cfg); !strings.HasSuffix(r.stderr, want) {
		t.Errorf("stderr %q, want it to end in %q", r.stderr, want)
	}
}
