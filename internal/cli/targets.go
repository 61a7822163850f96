package cli

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"gopkg.in/yaml.v3"

	"github.com/cdcpreflight/cdcpreflight/report"
	"github.com/cdcpreflight/cdcpreflight/rules"
)

// A targetSpec is one entry of a fleet's targets list (check --targets, or
// the targets: key of a config file): a name, a connection, and the check
// options it sets for itself.
type targetSpec struct {
	Name string
	Line int // where the entry starts, for messages
	// DSNEnv names the environment variable holding the DSN, read when
	// the target is checked, so that no secret sits in the file and a shard
	// needs only its own targets' variables.
	DSNEnv string
	// values are the check options the entry sets, by config key, as their
	// kinds decoded them (applied by forTarget).
	values map[string]any
	// lines are the lines of those keys, for the messages of values an
	// option refuses when it is applied.
	lines  map[string]int
	rules  map[string]ruleFileConfig
	ignore []ignoreFileEntry
}

// Keys a target entry has besides the check options.
const (
	targetKeyName   = "name"
	targetKeyDSNEnv = "dsn_env"
	targetKeyRules  = "rules"
	targetKeyIgnore = "ignore"
)

// maxTargetName bounds a target's name: it heads report sections, JUnit
// suites and annotation titles.
const maxTargetName = 200

// perTarget reports whether a target entry may set the option: every
// option with a config key, but those that shape the whole run.
func (o *option[D]) perTarget() bool { return o.key != "" && !o.runWide }

// targetOptionKeys are the check options a target may set, in the table's
// order: derived from checkOptionTable, never listed twice.
func targetOptionKeys() []string {
	var keys []string
	for i := range checkOptionTable {
		if o := &checkOptionTable[i]; o.perTarget() {
			keys = append(keys, o.key)
		}
	}
	return keys
}

// targetConnectionKeys are the keys that say how to reach a target: dsn,
// dsn_env, and connector_config when this build reads connector
// configurations.
func targetConnectionKeys() []string {
	keys := []string{"dsn", targetKeyDSNEnv}
	if checkOptionTable.byKey("connector_config") != nil {
		keys = append(keys, "connector_config")
	}
	return keys
}

// parseTargets reads a targets file: a YAML list of targets, or a mapping
// whose only key is targets: holding one. It never panics, whatever the
// bytes (FuzzParseTargets); every problem names its line.
func parseTargets(data []byte) ([]targetSpec, error) {
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("no targets: the file is empty (want a YAML list of targets, each with a name and a dsn or dsn_env)")
		}
		return nil, err
	}
	n := &doc
	if n.Kind == yaml.DocumentNode && len(n.Content) == 1 {
		n = n.Content[0]
	}
	if n.Kind == yaml.MappingNode {
		if len(n.Content) != 2 || n.Content[0].Value != "targets" {
			return nil, fmt.Errorf("line %d: a targets file is a YAML list of targets (or a mapping with the one key targets)", n.Line)
		}
		n = n.Content[1]
	}
	return parseTargetsNode(n)
}

// parseTargetsNode reads the list of targets in n (a config file's
// targets: value, or a targets file's).
func parseTargetsNode(n *yaml.Node) ([]targetSpec, error) {
	if n.Kind == yaml.AliasNode {
		return nil, fmt.Errorf("line %d: write the targets out rather than as an alias", n.Line)
	}
	if n.Kind != yaml.SequenceNode {
		return nil, fmt.Errorf("line %d: targets is a YAML list of targets, each with a name and a dsn or dsn_env", n.Line)
	}
	if len(n.Content) == 0 {
		return nil, fmt.Errorf("line %d: the list of targets is empty", n.Line)
	}
	var problems []problem
	specs := make([]targetSpec, 0, len(n.Content))
	seen := map[string]int{}
	for _, e := range n.Content {
		spec, ps := parseTarget(e)
		problems = append(problems, ps...)
		if spec.Name == "" {
			continue
		}
		if first, dup := seen[spec.Name]; dup {
			problems = append(problems, problem{line: e.Line,
				text: fmt.Sprintf("line %d: target %q is named twice (first on line %d): names must be unique, reports and shards go by them", e.Line, spec.Name, first)})
			continue
		}
		seen[spec.Name] = e.Line
		specs = append(specs, spec)
	}
	if len(problems) > 0 {
		slices.SortStableFunc(problems, func(a, b problem) int { return cmp.Compare(a.line, b.line) })
		texts := make([]string, 0, len(problems))
		for _, p := range problems {
			texts = append(texts, p.text)
		}
		return nil, errors.New(strings.Join(texts, "; "))
	}
	return specs, nil
}

// parseTarget reads one entry; problems say what is wrong with it, each
// with its line.
func parseTarget(e *yaml.Node) (spec targetSpec, problems []problem) {
	spec.Line = e.Line
	bad := func(line int, format string, a ...any) {
		problems = append(problems, problem{line: line, text: fmt.Sprintf("line %d: ", line) + fmt.Sprintf(format, a...)})
	}
	if e.Kind != yaml.MappingNode {
		bad(e.Line, "a target is a mapping with a name and a dsn or dsn_env (and any per-target check option)")
		return spec, problems
	}
	spec.values, spec.lines = map[string]any{}, map[string]int{}
	keys := map[string]bool{}
	for i := 0; i+1 < len(e.Content); i += 2 {
		k, v := e.Content[i], e.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			bad(k.Line, "a target's keys are names")
			continue
		}
		if keys[k.Value] {
			bad(k.Line, "key %q is given twice in this target", k.Value)
			continue
		}
		keys[k.Value] = true
		switch k.Value {
		case targetKeyName:
			if err := v.Decode(&spec.Name); err != nil {
				bad(v.Line, "name: want a string")
			}
		case targetKeyDSNEnv:
			if err := v.Decode(&spec.DSNEnv); err != nil || !validEnvName(spec.DSNEnv) {
				bad(v.Line, "dsn_env: want the name of an environment variable (letters, digits and _)")
			}
		case targetKeyRules:
			if err := v.Decode(&spec.rules); err != nil {
				bad(v.Line, "rules: %v", yamlMessage(err))
			}
		case targetKeyIgnore:
			if err := v.Decode(&spec.ignore); err != nil {
				bad(v.Line, "ignore: %v", yamlMessage(err))
			}
		default:
			o := checkOptionTable.byKey(k.Value)
			if o == nil || !o.perTarget() {
				why := "unknown key"
				if o != nil {
					why = "key"
				}
				what := fmt.Sprintf("%s %q in a target", why, k.Value)
				if o != nil {
					what += " (it applies to the whole run: set it at the top of the config or as a flag)"
				}
				bad(k.Line, "%s; a target takes %s, and the check options %s", what,
					oneOf(append([]string{targetKeyName}, append(targetConnectionKeys(), targetKeyRules, targetKeyIgnore)...)), strings.Join(targetOptionKeys(), ", "))
				continue
			}
			val, set, err := o.value.decode(v)
			var te *yaml.TypeError
			switch {
			case errors.As(err, &te):
				bad(v.Line, "%s: %s", k.Value, yamlMessage(err))
			case err != nil:
				bad(v.Line, "%s: %v", k.Value, err)
			case set:
				spec.values[k.Value] = val
				spec.lines[k.Value] = v.Line
			}
		}
	}
	name := spec.Name
	switch {
	case !keys[targetKeyName] || strings.TrimSpace(name) == "":
		bad(e.Line, "a target needs a name (unique: reports and --shard go by it)")
		spec.Name = ""
	case len(name) > maxTargetName || !utf8.ValidString(name) || strings.IndexFunc(name, unicode.IsControl) >= 0 || strings.TrimSpace(name) != name:
		bad(e.Line, "target name %q: at most %d characters, no control characters, no leading or trailing blanks", name, maxTargetName)
		spec.Name = ""
	}
	// A key left empty (dsn:) gives no connection.
	conn := 0
	for _, k := range targetConnectionKeys() {
		if _, set := spec.values[k]; set || k == targetKeyDSNEnv && spec.DSNEnv != "" {
			conn++
		}
	}
	switch {
	case spec.values["dsn"] != nil && spec.DSNEnv != "":
		bad(e.Line, "target %q: give dsn or dsn_env, not both", name)
	case conn == 0:
		bad(e.Line, "target %q: no connection: give %s", name, oneOf(targetConnectionKeys()))
	}
	return spec, problems
}

// yamlMessage is a decode error's text without yaml.v3's "yaml: " and
// "unmarshal errors:" framing.
func yamlMessage(err error) string {
	var te *yaml.TypeError
	if errors.As(err, &te) {
		return strings.Join(te.Errors, "; ")
	}
	return strings.TrimPrefix(err.Error(), "yaml: ")
}

func validEnvName(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		letter := r == '_' || r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z'
		digit := i > 0 && r >= '0' && r <= '9'
		if !letter && !digit {
			return false
		}
	}
	return true
}

// forTarget is the options of one target: the run's (defaults, config
// file, flags) with the target's own keys over them. A target that sets
// its capture scope (tables or tables_file) replaces the run's, rather
// than adding to it.
//
// path is the file that lists the target, where what names it in messages.
func (o *checkOptions) forTarget(spec targetSpec, path, where string, reg *rules.Registry) (*checkOptions, error) {
	t := *o
	t.Expect.Tables = slices.Clone(o.Expect.Tables)
	if _, ok := spec.values["tables"]; ok {
		t.Expect.Tables = nil
	} else if _, ok := spec.values["tables_file"]; ok {
		t.Expect.Tables = nil
	}
	t.fleet, t.tunnel = nil, nil
	for i := range checkOptionTable {
		opt := &checkOptionTable[i]
		v, ok := spec.values[opt.key]
		if !ok || opt.key == "" {
			continue
		}
		if err := opt.value.set(&t, v); err != nil {
			if opt.errs == namesFile {
				return nil, fmt.Errorf("%s: %w", where, err)
			}
			return nil, fmt.Errorf("%s: line %d: %s: %w", where, spec.lines[opt.key], opt.key, err)
		}
	}
	if err := checkOptionTable.check(&t); err != nil {
		return nil, fmt.Errorf("%s: %w", where, err)
	}
	if len(spec.rules) > 0 {
		own, err := ruleConfig(path, spec.rules, reg)
		if err != nil {
			return nil, err
		}
		t.RuleConfig = maps.Clone(o.RuleConfig)
		if t.RuleConfig == nil {
			t.RuleConfig = map[string]rules.RuleConfig{}
		}
		maps.Copy(t.RuleConfig, own)
	}
	if len(spec.ignore) > 0 {
		own, err := ignoreConfig(path, spec.ignore, reg)
		if err != nil {
			return nil, err
		}
		t.Ignores = append(slices.Clip(o.Ignores), own...)
	}
	return &t, nil
}

// shardOf is the shard, from 1 to n, that checks the target of this name:
// the first 8 bytes of its SHA-256, modulo n. It depends on the name
// alone, so it is the same on every machine and run, and a target keeps
// its shard when others are added or removed.
func shardOf(name string, n int) int {
	sum := sha256.Sum256([]byte(name))
	return int(binary.BigEndian.Uint64(sum[:8])%uint64(n)) + 1 //nolint:gosec // n ≥ 1, the result ≤ n
}

// parseShard reads --shard K/N.
func parseShard(s string) (*report.Shard, error) {
	k, n, ok := strings.Cut(s, "/")
	index, errK := strconv.Atoi(strings.TrimSpace(k))
	count, errN := strconv.Atoi(strings.TrimSpace(n))
	switch {
	case !ok || errK != nil || errN != nil:
		return nil, fmt.Errorf("--shard %q: want K/N, e.g. 2/4 (the second of four shards)", s)
	case count < 1 || index < 1 || index > count:
		return nil, fmt.Errorf("--shard %q: want 1 ≤ K ≤ N", s)
	}
	return &report.Shard{Index: index, Count: count}, nil
}
