package cli

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cdcpreflight/cdcpreflight/facts"
)

func resolveArgs(t *testing.T, env map[string]string, args ...string) (*checkOptions, error) {
	t.Helper()
	return newCheckFlags("check", io.Discard).resolve(args, Env{Getenv: func(k string) string { return env[k] }, Dir: t.TempDir()})
}

func TestParseTargets(t *testing.T) {
	specs, err := parseTargets([]byte(`# the fleet
- name: prod
  dsn_env: PROD_DSN
  slot: prod_slot
  timeout: 20s
  tables: [app.orders, app.items]
  rules:
    wal-retention-limit: {severity: error}
  ignore:
    - rule: ssl
      reason: loopback only
- name: "tenant \"7\" café"
  dsn: postgres://u@db.example.com/t7
`))
	if err != nil {
		t.Fatal(err)
	}
	if len(specs) != 2 || specs[0].Name != "prod" || specs[0].DSNEnv != "PROD_DSN" || specs[1].Name != `tenant "7" café` || specs[1].Line != 12 {
		t.Fatalf("specs %+v", specs)
	}
	if specs[0].values["slot"] != "prod_slot" || specs[0].values["timeout"] != 20*time.Second || len(specs[0].ignore) != 1 || specs[0].rules["wal-retention-limit"].Severity != "error" {
		t.Errorf("prod's values %+v", specs[0])
	}
	// The same list under a targets: key.
	if specs, err := parseTargets([]byte("targets:\n  - name: a\n    dsn: host=x\n")); err != nil || len(specs) != 1 {
		t.Errorf("targets: mapping: %v %v", specs, err)
	}
}

func TestParseTargetsErrorsNameTheLine(t *testing.T) {
	for name, tc := range map[string]struct{ yaml, want string }{
		"unknown key":        {"- name: a\n  dsn: x\n  slott: s\n", `line 3: unknown key "slott" in a target; a target takes name, dsn, dsn_env`},
		"run-wide key":       {"- name: a\n  dsn: x\n  fail_on: warning\n", `line 3: key "fail_on" in a target (it applies to the whole run`},
		"outputs":            {"- name: a\n  dsn: x\n  outputs: [json]\n", `line 3: key "outputs" in a target (it applies to the whole run`},
		"jobs":               {"- name: a\n  dsn: x\n  jobs: 3\n", `line 3: key "jobs" in a target`},
		"no name":            {"- dsn: x\n", "line 1: a target needs a name"},
		"blank name":         {"- name: ' '\n  dsn: x\n", "line 1: a target needs a name"},
		"control name":       {"- name: \"a\\u001bb\"\n  dsn: x\n", "no control characters"},
		"duplicate":          {"- name: a\n  dsn: x\n- name: b\n  dsn: y\n- name: a\n  dsn: z\n", `line 5: target "a" is named twice (first on line 1)`},
		"no connection":      {"- name: a\n  slot: s\n", `line 1: target "a": no connection: give dsn, dsn_env or connector_config`},
		"dsn and dsn_env":    {"- name: a\n  dsn: x\n  dsn_env: X\n", `target "a": give dsn or dsn_env, not both`},
		"bad env name":       {"- name: a\n  dsn_env: 'A B'\n", "line 2: dsn_env: want the name of an environment variable"},
		"wrong type":         {"- name: a\n  dsn: x\n  slot: [1, 2]\n", "line 3: slot: "},
		"bad duration":       {"- name: a\n  dsn: x\n  timeout: soon\n", `line 3: timeout: time: invalid duration "soon"`},
		"key twice":          {"- name: a\n  dsn: x\n  dsn: y\n", `line 3: key "dsn" is given twice`},
		"not a list":         {"name: a\n", "a targets file is a YAML list of targets"},
		"empty list":         {"[]\n", "the list of targets is empty"},
		"empty file":         {"", "no targets: the file is empty"},
		"scalar entry":       {"- prod\n", "line 1: a target is a mapping"},
		"two problems":       {"- name: a\n  dsn: x\n  nope: 1\n- name: b\n  dsn: y\n  nah: 2\n", `line 3: unknown key "nope"`},
		"rules not a map":    {"- name: a\n  dsn: x\n  rules: [ssl]\n", "line 3: rules: "},
		"ignore not entries": {"- name: a\n  dsn: x\n  ignore: [ssl]\n", "line 3: ignore: "},
		"alias list":         {"x: &l [1]\ntargets: *l\n", "a targets file is a YAML list"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := parseTargets([]byte(tc.yaml))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want it to contain %q", err, tc.want)
			}
		})
	}
	// Both problems of a file are reported, in line order.
	_, err := parseTargets([]byte("- name: a\n  dsn: x\n  nope: 1\n- name: b\n  dsn: y\n  nah: 2\n"))
	if err == nil || !strings.Contains(err.Error(), `line 6: unknown key "nah"`) || strings.Index(err.Error(), "line 3") > strings.Index(err.Error(), "line 6") {
		t.Errorf("two problems: %v", err)
	}
}

// TestTargetKeysFollowTheOptionTable: a target takes every option with a
// config key but the run-wide ones, with no list kept anywhere else.
func TestTargetKeysFollowTheOptionTable(t *testing.T) {
	for _, o := range checkOptionTable {
		if o.key == "" {
			continue
		}
		_, err := parseTargets(fmt.Appendf(nil, "- name: a\n  dsn_env: X\n  %s:\n", o.key))
		switch {
		case o.runWide && (err == nil || !strings.Contains(err.Error(), "applies to the whole run")):
			t.Errorf("run-wide %s: %v", o.key, err)
		case !o.runWide && err != nil:
			t.Errorf("per-target %s: %v", o.key, err)
		}
	}
	keys := targetOptionKeys()
	for _, want := range []string{"dsn", "slot", "publication", "snapshot_mode", "connector_user", "tables", "timeout", "ssh_host"} {
		if !slices.Contains(keys, want) {
			t.Errorf("a target cannot set %s: %v", want, keys)
		}
	}
}

// TestForTargetPrecedence: defaults, then the config, then flags, then the
// target's own keys; a target's capture scope replaces the run's.
func TestForTargetPrecedence(t *testing.T) {
	targets := writeFile(t, "targets.yml", `
- name: own
  dsn: host=a
  slot: own_slot
  tables: [s.t]
  timeout: 5s
  ignore:
    - {rule: ssl, reason: "loopback"}
- name: inherits
  dsn: host=b
`)
	cfg := writeFile(t, "cfg.yml", "publication: cfg_pub\nslot: cfg_slot\ntables: [a.b, c.d]\nignore:\n  - {rule: wal-level, reason: managed}\n")
	opt, err := resolveArgs(t, nil, "--config", cfg, "--targets", targets, "--slot", "flag_slot", "--timeout", "30s")
	if err != nil {
		t.Fatal(err)
	}
	own, inh := opt.fleet.targets[0].opt, opt.fleet.targets[1].opt
	if own.Expect.Slot != "own_slot" || own.Expect.Publication != "cfg_pub" || own.Timeout != 5*time.Second || own.DSN != "host=a" {
		t.Errorf("own: slot %q, publication %q, timeout %s, dsn %q", own.Expect.Slot, own.Expect.Publication, own.Timeout, own.DSN)
	}
	if want := []facts.TableRef{{Schema: "s", Table: "t"}}; fmt.Sprint(own.Expect.Tables) != fmt.Sprint(want) {
		t.Errorf("own tables %v, want %v", own.Expect.Tables, want)
	}
	if inh.Expect.Slot != "flag_slot" || inh.Timeout != 30*time.Second || len(inh.Expect.Tables) != 2 {
		t.Errorf("inherits: slot %q, timeout %s, tables %v", inh.Expect.Slot, inh.Timeout, inh.Expect.Tables)
	}
	if len(own.Ignores) != 2 || len(inh.Ignores) != 1 || own.Ignores[1].Rule != "ssl" || own.Ignores[1].Line != 8 {
		t.Errorf("ignores: own %+v, inherits %+v", own.Ignores, inh.Ignores)
	}
	if names := opt.fleet.names(); !slices.Equal(names, []string{"own", "inherits"}) {
		t.Errorf("names %v", names)
	}
}

func TestFleetOptionMistakes(t *testing.T) {
	targets := writeFile(t, "targets.yml", "- name: a\n  dsn: host=a\n")
	for name, tc := range map[string]struct {
		args []string
		want string
	}{
		"a DSN too":           {[]string{"--targets", targets, "--dsn", "host=x"}, "give no DSN argument or --dsn with it"},
		"a DSN argument":      {[]string{"--targets", targets, "host=x"}, "give no DSN argument or --dsn with it"},
		"jobs alone":          {[]string{"--jobs", "3"}, "--jobs goes with --targets"},
		"shard alone":         {[]string{"--shard", "1/2"}, "--shard goes with --targets"},
		"bad shard":           {[]string{"--targets", targets, "--shard", "3/2"}, `--shard "3/2": want 1 ≤ K ≤ N`},
		"shard not K/N":       {[]string{"--targets", targets, "--shard", "two"}, "want K/N"},
		"zero jobs":           {[]string{"--targets", targets, "--jobs", "0"}, "--jobs must be at least 1"},
		"zero per server":     {[]string{"--targets", targets, "--per-server", "0"}, "--per-server must be at least 1"},
		"save facts":          {[]string{"--targets", targets, "--save-facts", "f.json"}, "do not go with --targets"},
		"missing file":        {[]string{"--targets", targets + ".nope"}, "read targets:"},
		"bad target timeout":  {[]string{"--targets", writeFile(t, "t.yml", "- name: a\n  dsn: x\n  timeout: -1s\n")}, `target "a" (line 1): --timeout must be positive`},
		"bad target mode":     {[]string{"--targets", writeFile(t, "m.yml", "- name: a\n  dsn: x\n  snapshot_mode: never\n")}, `target "a" (line 1): --snapshot-mode "never"`},
		"unknown rule":        {[]string{"--targets", writeFile(t, "r.yml", "- name: a\n  dsn: x\n  rules: {nope: {disabled: true}}\n")}, `unknown rule "nope"`},
		"ignore sans reason":  {[]string{"--targets", writeFile(t, "i.yml", "- name: a\n  dsn: x\n  ignore: [{rule: ssl}]\n")}, "reason is required"},
		"ssh user sans host":  {[]string{"--targets", writeFile(t, "s.yml", "- name: a\n  dsn: x\n  ssh_user: u\n")}, "--ssh-user given without --ssh-host"},
		"config dsn":          {[]string{"--config", writeFile(t, "c.yml", "dsn: host=x\ntargets:\n  - {name: a, dsn: host=a}\n")}, "dsn and targets"},
		"config bad target":   {[]string{"--config", writeFile(t, "b.yml", "targets:\n  - {name: a, dsn: host=a, bogus: 1}\n")}, `line 2: unknown key "bogus"`},
		"config targets type": {[]string{"--config", writeFile(t, "d.yml", "targets: fleet.yml\n")}, "targets is a YAML list"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := resolveArgs(t, nil, tc.args...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want it to contain %q", err, tc.want)
			}
		})
	}
	// The config's targets, unless a DSN says which one database to check.
	cfg := writeFile(t, "fleet.yml", "jobs: 3\ntargets:\n  - {name: a, dsn: host=a}\n  - {name: b, dsn: host=b}\n")
	if opt, err := resolveArgs(t, nil, "--config", cfg); err != nil || opt.fleet == nil || len(opt.fleet.targets) != 2 || opt.Jobs != 3 {
		t.Errorf("config targets: %v", err)
	}
	if opt, err := resolveArgs(t, nil, "--config", cfg, "host=c"); err != nil || opt.fleet != nil || opt.DSN != "host=c" {
		t.Errorf("a DSN with a config's targets: %v", err)
	}
	// fix and demo change or make one database.
	if r := run(t, nil, "fix", "--config", cfg); r.code != exitError || !strings.Contains(r.stderr, "fix changes one database") {
		t.Errorf("fix with a fleet: %d %s", r.code, r.stderr)
	}
	if r := run(t, nil, "demo", "--targets", targets); r.code != exitError || !strings.Contains(r.stderr, "--targets is for 'check'") {
		t.Errorf("demo with a fleet: %d %s", r.code, r.stderr)
	}
	if r := run(t, nil, "fix", "--targets", targets); r.code != exitError || !strings.Contains(r.stderr, "fix changes one database") {
		t.Errorf("fix --targets: %d %s", r.code, r.stderr)
	}
	// so their --help does not offer the fleet's flags; check's does.
	for _, o := range checkOptionTable {
		if !o.fleet {
			continue
		}
		flag := "--" + o.flag + " "
		if help := run(t, nil, "check", "--help").stdout; !strings.Contains(help, flag) {
			t.Errorf("check --help lacks %s", flag)
		}
		for _, cmd := range []string{"fix", "demo"} {
			if help := run(t, nil, cmd, "--help").stdout; strings.Contains(help, flag) {
				t.Errorf("%s --help offers %s, which it refuses", cmd, flag)
			}
		}
	}
}

// TestShardOf pins the assignment (it must never change between
// releases: shards of a CI run may be made by different builds) and checks
// that shards partition any fleet.
func TestShardOf(t *testing.T) {
	got := fmt.Sprint(shardOf("prod", 4), shardOf("staging", 4), shardOf("dev", 4), shardOf("tenant-17", 4), shardOf("prod", 1))
	if want := pinnedShards; got != want {
		t.Errorf("shardOf = %s, want %s: the assignment changed", got, want)
	}
	for _, n := range []int{1, 2, 3, 4, 7} {
		count := make([]int, n+1)
		for i := range 200 {
			k := shardOf(fmt.Sprintf("tenant-%03d", i), n)
			if k < 1 || k > n {
				t.Fatalf("shard %d of %d", k, n)
			}
			count[k]++
		}
		for k := 1; k <= n; k++ {
			if count[k] < 200/n/2 {
				t.Errorf("n=%d: shard %d has %d of 200 targets", n, k, count[k])
			}
		}
	}
}

// FuzzParseTargets: no input makes the parser panic, and what it accepts
// has unique, non-empty names and a connection each.
func FuzzParseTargets(f *testing.F) {
	for _, seed := range []string{
		"- name: a\n  dsn: x\n", "targets:\n  - {name: a, dsn_env: A, slot: s, tables: [a.b]}\n",
		"- name: a\n  dsn: x\n- name: a\n  dsn: y\n", "[]", "{}", "- &a {name: x, dsn: y}\n- *a\n",
		"- name: a\n  dsn: x\n  ignore: [{rule: ssl, reason: r, objects: [a]}]\n  rules: {ssl: {disabled: true}}\n",
		"- name: a\n  dsn: x\n  timeout: 1s\n  peek_max_backlog: 1GB\n  soft_deletes: true\n  ssh_port: 22\n",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		specs, err := parseTargets(data)
		if err != nil {
			return
		}
		seen := map[string]bool{}
		for _, s := range specs {
			if s.Name == "" || seen[s.Name] {
				t.Fatalf("accepted name %q twice or empty", s.Name)
			}
			seen[s.Name] = true
			if s.DSNEnv == "" && s.values["dsn"] == nil && s.values["connector_config"] == nil {
				t.Fatalf("accepted %q without a connection", s.Name)
			}
		}
	})
}

// pinnedShards is shardOf of prod, staging, dev and tenant-17 among 4, and
// of prod among 1, as first released.
const pinnedShards = "3 1 4 1 1"
