package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cdcpreflight/cdcpreflight/checks"
	"github.com/cdcpreflight/cdcpreflight/facts"
	"github.com/cdcpreflight/cdcpreflight/internal/fix"
	"github.com/cdcpreflight/cdcpreflight/internal/fuzzcheck"
	"github.com/cdcpreflight/cdcpreflight/report"
	"github.com/cdcpreflight/cdcpreflight/rules"
)

// yamlBomb is the billion laughs: nine levels of nine aliases, a few
// hundred bytes that expand to 9^9 strings; under key, a known option.
func yamlBomb(key string) string {
	var b strings.Builder
	b.WriteString(`a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]` + "\n")
	for c := 'b'; c <= 'i'; c++ {
		prev := string(c - 1)
		name := string(c)
		if c == 'i' {
			name = key
		}
		fmt.Fprintf(&b, "%s: &%c [*%s,*%s,*%s,*%s,*%s,*%s,*%s,*%s,*%s]\n", name, c, prev, prev, prev, prev, prev, prev, prev, prev, prev)
	}
	return b.String()
}

// configSeeds are configuration files that have broken YAML loaders:
// alias bombs, deep nesting, merge keys, tags, several documents, every
// option with a value of the wrong kind, hostile names.
func configSeeds() []string {
	seeds := []string{
		"",
		"slot: streamkap_pgoutput_slot\npublication: streamkap_pub\nsignal_schema: streamkap\nfail_on: error\ntimeout: 60s\n" +
			"catalog_timeout: 10s\noutputs: [table, junit=preflight.xml]\ntables: [public.orders, public.customers]\n" +
			"rules:\n  replication-capacity:\n    severity: warning\n  pooler-hostname:\n    disabled: true\n",
		"slot: s\npublication: p\nfail_onn: warning\n",
		"rules:\n  wal-levl:\n    disabled: true\n",
		"rules:\n  wal-level:\n    severity: loud\n",
		yamlBomb("x"), yamlBomb("tables"), yamlBomb("outputs"), yamlBomb("rules"),
		"tables: &t [" + strings.Repeat("[", 100) + strings.Repeat("]", 100) + "]\nx: *t\n",
		"slot: " + strings.Repeat("{a: ", 200) + "x" + strings.Repeat("}", 200) + "\n",
		"tables: " + strings.Repeat("- ", 300) + "x\n",
		"base: &b {slot: s, publication: p}\n<<: *b\n",
		"<<: {slot: s}\nslot: t\n",
		"slot: !!binary aGVsbG8=\n",
		"slot: !!python/object:os.system echo\n",
		"timeout: !!int 5\n",
		"timeout: -5s\n", "timeout: 0\n", "timeout: 1e400h\n", "timeout: 9223372036854775807ns\n",
		"catalog_timeout: 99999999h\n",
		"peek_max_backlog: -1\n", "peek_max_backlog: 1e30\n", "retained_wal_warn: 18446744073709551616\n", "peek_max_backlog: 5XB\n",
		"fail_on: [error]\n", "outputs: table\n", "outputs: [sarif]\n", "outputs: [\"json=\"]\n",
		"snapshot_mode: sometimes\n", "soft_deletes: maybe\n", "tables: {a: b}\n", "tables: [\"a.b.c\"]\n",
		"tables_file: /nonexistent\n", "dsn: [a, b]\n",
		"slot: a\n---\nslot: b\n", "--- !!map\n", "...\n", "%YAML 1.1\n---\nslot: s\n",
		"slot: s\nslot: t\n", "\xef\xbb\xbfslot: s\r\n", "slot:\ts\n", "slot: \"\\x00\"\n", "slot: \"\x00\"\n", "slot: \xff\xfe\n",
		"rules: {wal-level: {disabled: true, severity: info, extra: 1}}\n",
		"rules: [wal-level]\n", "rules:\n  wal-level: &r {disabled: true}\n  ssl: *r\n",
		"? [a, b]\n: c\n", "{slot: s, publication: p}\n", "[slot, s]\n", "slot",
		"version: 1\nignore:\n  - rule: replica-identity-full\n    objects: [public.audit_log, \"archive.*\"]\n" +
			"    reason: append-only audit tables\n    expires: 2026-12-31\n",
		"version: 2\n", "version: \"1\"\n", "version: [1]\n",
		"ignore:\n  - rule: replica-identity\n    objects: [\"[\", \"\\\\\", \"*\", \"?*?*?*?*?*?*?*?*?*?*?*?*?*?*?*?*a\"]\n    reason: x\n",
		"ignore:\n  - rule: nope\n    reason: x\n  - rule: ssl\n  - rule: ssl\n    reason: \"\"\n    expires: yesterday\n",
		"ignore: {rule: ssl}\n", "ignore:\n  - rule: ssl\n    reason: r\n    expires: 2026-02-30\n    extra: 1\n",
	}
	for _, n := range fuzzcheck.HostileNames {
		q, _ := json.Marshal(n)
		seeds = append(seeds, fmt.Sprintf("slot: %s\npublication: %s\ntables: [%s]\nconnector_user: %s\n", q, q, q, q))
	}
	return seeds
}

// FuzzConfig: any config file is read in bounded time and either becomes
// options that make sense or is refused with a message a terminal can
// show as it is; it never panics and never expands an alias bomb.
func FuzzConfig(f *testing.F) {
	for _, s := range configSeeds() {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(t.TempDir(), "c.yml")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		opt, err := newCheckFlags("check", io.Discard).resolve([]string{"--config", path}, Env{Getenv: func(string) string { return "" }})
		if took := time.Since(start); took > 5*time.Second {
			t.Fatalf("%d bytes of config took %s", len(data), took)
		}
		if err != nil {
			if e := fuzzcheck.TerminalSafe(err.Error(), false); e != nil {
				t.Fatalf("the error would reach a terminal with %v: %q", e, err)
			}
			return
		}
		if opt.Timeout <= 0 || opt.CatalogTimeout <= 0 || len(opt.Outputs) == 0 ||
			!slices.Contains(failOnLevels, opt.FailOn) || !slices.Contains(facts.SnapshotModes, opt.Expect.SnapshotMode) {
			t.Fatalf("accepted options that make no sense: %+v", opt)
		}
		for _, r := range opt.Expect.Tables {
			if r.Schema == "" {
				t.Fatalf("a capture entry without a schema: %+v", opt.Expect.Tables)
			}
		}
		// The ignores it holds match the demo's findings (globs against
		// hostile names) in bounded time.
		start = time.Now()
		results, _ := rules.ApplyIgnores(slices.Clone(demoResults), opt.Ignores, time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC))
		if took := time.Since(start); took > 5*time.Second || len(results) != len(demoResults) {
			t.Fatalf("%d ignores took %s, %d results", len(opt.Ignores), took, len(results))
		}
	})
}

// demoResults are the demo snapshot's results, with hostile objects added.
var demoResults = func() []rules.Result {
	data, err := os.ReadFile(demoFacts)
	if err != nil {
		panic(err)
	}
	var f facts.Facts
	if err := json.Unmarshal(data, &f); err != nil {
		panic(err)
	}
	reg, err := checks.Registry()
	if err != nil {
		panic(err)
	}
	results := rules.Evaluate(reg, &f, nil)
	for i := range results {
		results[i].Objects = append(results[i].Objects, fuzzcheck.HostileNames...)
	}
	return results
}()

// TestConfigBounded: a config file over the limit is refused before it is
// decoded, saying where long capture lists go; alias bombs and deep
// nesting are refused fast.
func TestConfigBounded(t *testing.T) {
	huge := "tables: [" + strings.Repeat("public.t,", (maxConfigSize/9)+1) + "x]\n"
	for name, doc := range map[string]string{
		"huge": huge, "bomb": yamlBomb("tables"), "bomb-rules": yamlBomb("x") + "rules: *i\n",
		"deep": "tables: " + strings.Repeat("[", 20000) + strings.Repeat("]", 20000) + "\n",
	} {
		path := writeFile(t, "c.yml", doc)
		start := time.Now()
		r := run(t, nil, "check", "--config", path, "--facts", demoFacts)
		if took := time.Since(start); r.code != 2 || took > 5*time.Second {
			t.Errorf("%s: exit %d after %s; want 2, fast\n%s", name, r.code, took, r.stderr)
		}
		if name == "huge" && !strings.Contains(r.stderr, "--tables-file") {
			t.Errorf("huge: %q does not say where long lists go", r.stderr)
		}
	}
}

// factsSeeds are the snapshots in testdata and a few broken ones.
func factsSeeds(t testing.TB) [][]byte {
	var seeds [][]byte
	for _, glob := range []string{"../../testdata/facts/*.json", "../../testdata/platforms/*.json", "../fix/testdata/script-template.json"} {
		paths, err := filepath.Glob(glob)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range paths {
			data, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			seeds = append(seeds, data)
		}
	}
	for _, s := range []string{
		"", "null", "{}", "[]", `"facts"`, "{", `{"tables": null}`, `{"tables": {"tables": [null]}}`,
		`{"server": {"version_num": -1}}`, `{"server": {"version_num": 9999999999}}`, `{"connect": {"attempted": true}}`,
		`{"connect": {"attempted": true, "error": {"op": "connect", "message": "\u001b[2Jgone"}}}`,
		`{"slots": {"slots": [{"name": "", "retained_bytes": -9223372036854775808}]}}`,
		`{"options": {"tables": [{"schema": ""}]}, "tables": {"listed": true, "missing": [{}]}}`,
		`{"publication": {"exists": true, "members": [{"table": ""}]}, "tables": {"tables": [{"kind": "p", "quoted": "", "partition_of": ""}]}}`,
		`{"settings": {"values": {"wal_level": "logical", "max_slot_wal_keep_size": "x"}}}`,
		`{"schema_version": 99}`, `{"gathered_at": "yesterday"}`,
	} {
		seeds = append(seeds, []byte(s))
	}
	return seeds
}

// FuzzCheckFacts: check --facts and fix --facts with any file never
// panic: the exit code is 0, 1 or 2, no rule crashed (the runner turns a
// rule's panic into an error result; that is a bug too), the table on
// stdout is safe for a terminal, and when the file decodes, the JSON and
// JUnit reports are valid. Decoding the facts and judging them with every
// rule is the path a saved or hand-edited snapshot takes.
func FuzzCheckFacts(f *testing.F) {
	for _, s := range factsSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		in, jsonOut, junitOut := filepath.Join(dir, "facts.json"), filepath.Join(dir, "r.json"), filepath.Join(dir, "r.xml")
		if err := os.WriteFile(in, data, 0o600); err != nil {
			t.Fatal(err)
		}
		r := run(t, nil, "check", "--facts", in, "-o", "table", "-o", "json="+jsonOut, "-o", "junit="+junitOut)
		if r.code < 0 || r.code > 2 {
			t.Fatalf("exit %d", r.code)
		}
		if strings.Contains(r.stdout, "rule crashed") {
			t.Fatalf("a rule crashed:\n%s", r.stdout)
		}
		if err := fuzzcheck.TerminalSafe(r.stdout, false); err != nil {
			t.Fatalf("the table would reach a terminal with %v", err)
		}
		if err := fuzzcheck.TerminalSafe(r.stderr, false); err != nil {
			t.Fatalf("stderr would reach a terminal with %v: %q", err, r.stderr)
		}
		if json.Unmarshal(data, new(facts.Facts)) == nil {
			out, err := os.ReadFile(jsonOut)
			if err != nil {
				t.Fatalf("the snapshot decodes, but no JSON report: %v\n%s", err, r.stderr)
			}
			rep, err := report.DecodeJSON(bytes.NewReader(out))
			if err != nil {
				t.Fatal(err)
			}
			for _, res := range rep.Results {
				if res.Status == rules.StatusError && strings.Contains(res.Message, "crashed") {
					t.Fatalf("rule %s crashed: %s", res.Rule, res.Message)
				}
			}
			x, err := os.ReadFile(junitOut)
			if err != nil {
				t.Fatal(err)
			}
			if err := fuzzcheck.WellFormedXML(x); err != nil {
				t.Fatal(err)
			}
		}
		p := run(t, nil, "fix", "--facts", in)
		if p.code < 0 || p.code > 2 {
			t.Fatalf("fix: exit %d", p.code)
		}
		if _, err := fuzzcheck.LexSQL(p.stdout); err != nil && p.stdout != "" {
			t.Fatalf("fix's script does not lex: %v\n%s", err, p.stdout)
		}
	})
}

// FuzzJudgeFacts reaches the rules with snapshots that decode: it takes a
// real one (testdata) and rewrites its leaves as the fuzzed bytes say (to
// null, a fuzzed string, a number from zero to the extremes, the other
// boolean, an empty list or object, or gone), whatever the fields are
// called. Every rule judges the result without crashing, and the plan,
// the script and every report are made from it without a panic.
func FuzzJudgeFacts(f *testing.F) {
	seeds := factsSeeds(f)
	var snapshots []any
	for _, s := range seeds {
		var v map[string]any
		if json.Unmarshal(s, &v) == nil && len(v) > 3 {
			snapshots = append(snapshots, v)
		}
	}
	if len(snapshots) == 0 {
		f.Fatal("no snapshot to start from")
	}
	for i := range snapshots {
		f.Add(uint8(i), []byte{}, "")
		f.Add(uint8(i), bytes.Repeat([]byte{4}, 64), "")
		f.Add(uint8(i), bytes.Repeat([]byte{0, 0, 5}, 64), `x"; DROP TABLE y; --`)
		f.Add(uint8(i), bytes.Repeat([]byte{6, 0xff, 0, 1, 7, 8, 9}, 40), "\x1b[2J")
	}
	reg := registry(f)
	f.Fuzz(func(t *testing.T, which uint8, ops []byte, payload string) {
		m := &mutator{ops: ops, payload: payload}
		v := m.walk(deepCopy(snapshots[int(which)%len(snapshots)]))
		data, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		var fs facts.Facts
		if json.Unmarshal(data, &fs) != nil {
			return // a type the field cannot take: check --facts refuses the file
		}
		results := rules.Evaluate(reg, &fs, nil)
		for _, r := range results {
			if strings.Contains(r.Message, "rule crashed") {
				t.Fatalf("%s: %s\n%s", r.Rule, r.Message, data)
			}
		}
		for _, format := range report.Formats() {
			if err := report.Write(io.Discard, format, report.Run{Results: results}, report.TableOptions{}); err != nil {
				t.Fatal(err)
			}
		}
		all := fix.Options{CreateUser: true, OptIns: map[string]bool{
			rules.OptInAlterSystem: true, rules.OptInReplicaIdentityFull: true, rules.OptInSetLogged: true}}
		plan := fix.Build(fix.Evaluate(reg, &fs, nil, all), &fs, all, "pw")
		if err := fix.WriteScript(io.Discard, plan, fix.Header{}); err != nil {
			t.Fatal(err)
		}
	})
}

func registry(t testing.TB) *rules.Registry {
	reg, err := checks.Registry()
	if err != nil {
		t.Fatal(err)
	}
	return reg
}

// mutator rewrites a decoded JSON value leaf by leaf, one operation byte
// per leaf (and some bytes more for numbers), until the bytes run out.
type mutator struct {
	ops     []byte
	payload string
}

func (m *mutator) next() byte {
	if len(m.ops) == 0 {
		return 0
	}
	b := m.ops[0]
	m.ops = m.ops[1:]
	return b
}

var extremes = []float64{0, -1, 1, 1 << 31, -(1 << 31), 1 << 53, -(1 << 53), 9.2e18, -9.2e18, 1e308, 0.5}

func (m *mutator) walk(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for _, k := range slices.Sorted(maps.Keys(x)) {
			if m.next()%16 == 9 {
				delete(x, k)
				continue
			}
			x[k] = m.walk(x[k])
		}
		return x
	case []any:
		for i := range x {
			x[i] = m.walk(x[i])
		}
		if len(x) > 0 && m.next()%8 == 5 {
			x = append(x, x[0]) // the same entry twice
		}
		return x
	}
	switch m.next() % 16 {
	case 4:
		return nil
	case 5:
		return m.payload
	case 6:
		return extremes[int(m.next())%len(extremes)]
	case 7:
		if b, ok := v.(bool); ok {
			return !b
		}
		return true
	case 8:
		return []any{}
	case 10:
		return map[string]any{}
	}
	return v
}

func deepCopy(v any) any {
	data, _ := json.Marshal(v)
	var out any
	_ = json.Unmarshal(data, &out)
	return out
}
