package cli

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/cdcpreflight/cdcpreflight/rules"
)

// fileConfig is a config file as yaml.v3 decodes it: the rules: section,
// and every other key, which is an option's in checkOptionTable or a
// mistake.
type fileConfig struct {
	// Version is the config format's version: absent or 1 (see checkVersion).
	Version yaml.Node                 `yaml:"version"`
	Rules   map[string]ruleFileConfig `yaml:"rules"`
	// Ignore lists accepted findings (see ignoreConfig).
	Ignore []ignoreFileEntry `yaml:"ignore"`
	// Targets is a fleet's list of targets (see parseTargetsNode).
	Targets yaml.Node            `yaml:"targets"`
	Options map[string]yaml.Node `yaml:",inline"`
	// values is what the options' kinds decoded, by key, for the options
	// the file sets.
	values map[string]any
}

type ruleFileConfig struct {
	Disabled bool   `yaml:"disabled"`
	Severity string `yaml:"severity"`
}

// unknownField is yaml.v3's wording of a key the rules: section lacks.
var unknownField = regexp.MustCompile(`^line (\d+): field (\S+) not found in type`)

var problemLine = regexp.MustCompile(`^line (\d+): `)

// A problem is one thing wrong in a config file's YAML: an unknown key, or
// a value yaml.v3 could not decode (text, in its words: "line N: …").
type problem struct {
	line      int
	key, text string
}

// loadConfig reads and strictly decodes a config file: a misspelt key is an
// error that names it and its line, never silently ignored. yaml.v3 checks
// the document's shape, repeated keys and the rules: section; every other
// key must be an option's, whose kind decodes its value.
func loadConfig(path string) (*fileConfig, error) {
	cfg, err := decodeConfig(path)
	if err != nil {
		return nil, printableError{err}
	}
	return cfg, nil
}

func decodeConfig(path string) (*fileConfig, error) {
	data, err := readConfig(path)
	if err != nil {
		return nil, err
	}
	var cfg fileConfig
	var problems []problem
	var te *yaml.TypeError
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	switch err := dec.Decode(&cfg); {
	case err == nil || errors.Is(err, io.EOF):
	case errors.As(err, &te):
		problems = yamlProblems(te)
	default:
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	if err := cfg.checkVersion(path); err != nil {
		return nil, err
	}
	more, rejected := cfg.decodeOptions(path, data)
	if err := problemsError(path, append(problems, more...)); err != nil {
		return nil, err
	}
	if rejected != nil {
		return nil, rejected
	}
	return &cfg, nil
}

// maxConfigSize bounds the config file read: a config is a few hundred
// bytes, and decoding a 30 MB one takes seconds and hundreds of MB.
// Capture lists of many thousands of tables belong in --tables-file.
const maxConfigSize = 4 << 20

func readConfig(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxConfigSize+1))
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	if len(data) > maxConfigSize {
		return nil, fmt.Errorf("config %s: larger than %d MiB, which no configuration needs; put a long capture list in a --tables-file (tables_file)", path, maxConfigSize>>20)
	}
	return data, nil
}

// decodeOptions decodes the options' values into cfg.values. It returns
// the keys no option has and the values of the wrong YAML type, and the
// first value an option's kind rejects (a timeout that is no duration).
func (cfg *fileConfig) decodeOptions(path string, data []byte) (problems []problem, rejected error) {
	cfg.values = map[string]any{}
	for i := range checkOptionTable {
		o := &checkOptionTable[i]
		n, ok := cfg.Options[o.key]
		if !ok || o.key == "" {
			continue
		}
		v, set, err := o.value.decode(&n)
		var te *yaml.TypeError
		switch {
		case errors.As(err, &te):
			problems = append(problems, yamlProblems(te)...)
		case err != nil && rejected == nil:
			rejected = o.fileErr(path, err)
		case err == nil && set:
			cfg.values[o.key] = v
		}
	}
	var lines map[string]int
	for key, n := range cfg.Options {
		if checkOptionTable.byKey(key) != nil {
			continue
		}
		if lines == nil {
			lines = keyLines(data)
		}
		line, ok := lines[key]
		if !ok {
			line = n.Line // a key merged in with <<
		}
		problems = append(problems, problem{line: line, key: key})
	}
	return problems, rejected
}

// problemsError reports problems in the order of the file's lines, as one
// yaml.v3 decode would: the unknown keys alone when there are any.
func problemsError(path string, problems []problem) error {
	slices.SortStableFunc(problems, func(a, b problem) int { return cmp.Compare(a.line, b.line) })
	var unknown, other []string
	for _, p := range problems {
		if p.key != "" {
			unknown = append(unknown, fmt.Sprintf("line %d: unknown key %q", p.line, p.key))
		} else {
			other = append(other, p.text)
		}
	}
	switch {
	case len(unknown) > 0:
		return fmt.Errorf("config %s: %s", path, strings.Join(unknown, "; "))
	case len(other) > 0:
		return fmt.Errorf("config %s: %w", path, &yaml.TypeError{Errors: other})
	}
	return nil
}

func yamlProblems(te *yaml.TypeError) []problem {
	var ps []problem
	for _, e := range te.Errors {
		if m := unknownField.FindStringSubmatch(e); m != nil {
			line, _ := strconv.Atoi(m[1])
			ps = append(ps, problem{line: line, key: m[2]})
			continue
		}
		p := problem{text: e}
		if m := problemLine.FindStringSubmatch(e); m != nil {
			p.line, _ = strconv.Atoi(m[1])
		}
		ps = append(ps, p)
	}
	return ps
}

// keyLines is the line of each top-level key of a config file. The inline
// map holds only the values, and a block list's line is its first item's,
// not its key's.
func keyLines(data []byte) map[string]int {
	lines := map[string]int{}
	var doc yaml.Node
	if yaml.Unmarshal(data, &doc) != nil || len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return lines
	}
	m := doc.Content[0].Content
	for i := 0; i+1 < len(m); i += 2 {
		if _, seen := lines[m[i].Value]; !seen {
			lines[m[i].Value] = m[i].Line
		}
	}
	return lines
}

// ruleConfig validates the rules: section against the registry, so that a
// misspelt rule ID fails instead of silently disabling nothing.
func ruleConfig(path string, in map[string]ruleFileConfig, reg *rules.Registry) (map[string]rules.RuleConfig, error) {
	out := make(map[string]rules.RuleConfig, len(in))
	for id, rc := range in {
		if _, ok := reg.Lookup(id); !ok {
			return nil, fmt.Errorf("config %s: rules: unknown rule %q (run 'cdcpreflight rules' to list them)", path, id)
		}
		c := rules.RuleConfig{Disabled: rc.Disabled}
		if rc.Severity != "" {
			s, err := rules.ParseSeverity(rc.Severity)
			if err != nil {
				return nil, fmt.Errorf("config %s: rules: %s: %w", path, id, err)
			}
			c.Severity = s
		}
		out[id] = c
	}
	return out, nil
}

// configVersion is the config format this cdcpreflight reads.
const configVersion = 1

// checkVersion accepts a file without version: (the format has had one
// version) or with version: 1, and refuses any other, so that a file
// written for a later format fails loudly instead of being half understood.
func (cfg *fileConfig) checkVersion(path string) error {
	n := &cfg.Version
	if n.Kind == 0 || (n.Kind == yaml.ScalarNode && n.Tag == "!!null") {
		return nil
	}
	// 1 or "1": golangci-lint's files quote theirs.
	v, err := strconv.Atoi(n.Value)
	if n.Kind != yaml.ScalarNode || err != nil {
		return fmt.Errorf("config %s: line %d: version %q: want %d", path, n.Line, n.Value, configVersion)
	}
	if v != configVersion {
		return fmt.Errorf("config %s: line %d: version %d: this cdcpreflight reads version %d config files; upgrade cdcpreflight, or write the file for version %d",
			path, n.Line, v, configVersion, configVersion)
	}
	return nil
}

// ignoreFileEntry is one entry of the ignore: section as written.
type ignoreFileEntry struct {
	Rule    string
	Objects []string
	Reason  string
	Expires string
	line    int
}

// ignoreKeys are the keys an ignore entry may have.
var ignoreKeys = []string{"rule", "objects", "reason", "expires"}

// UnmarshalYAML decodes an entry strictly, keeping its line: every message
// about an entry names the line it starts on.
func (e *ignoreFileEntry) UnmarshalYAML(n *yaml.Node) error {
	e.line = n.Line
	if n.Kind != yaml.MappingNode {
		return fmt.Errorf("line %d: an ignore entry is a mapping with rule, reason and optionally objects and expires", n.Line)
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		var err error
		switch k.Value {
		case "rule":
			err = v.Decode(&e.Rule)
		case "reason":
			err = v.Decode(&e.Reason)
		case "expires":
			err = v.Decode(&e.Expires)
		case "objects":
			// One name, or a list of them.
			if v.Kind == yaml.ScalarNode {
				var one string
				if err = v.Decode(&one); err == nil {
					e.Objects = []string{one}
				}
			} else {
				err = v.Decode(&e.Objects)
				if err == nil && len(e.Objects) == 0 {
					err = fmt.Errorf("line %d: objects is empty: leave it out to ignore the whole finding", v.Line)
				}
			}
		default:
			return fmt.Errorf("line %d: unknown key %q in an ignore entry (want %s)", k.Line, k.Value, oneOf(ignoreKeys))
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// ignoreConfig validates the ignore: section: every entry names a rule of
// the registry and gives a reason (an ignore without one is a silenced
// finding nobody can review), its objects are valid patterns and its
// expiry a date.
func ignoreConfig(path string, in []ignoreFileEntry, reg *rules.Registry) ([]rules.Ignore, error) {
	out := make([]rules.Ignore, 0, len(in))
	for i, e := range in {
		where := fmt.Sprintf("ignore entry %d (line %d)", i+1, e.line)
		bad := func(format string, a ...any) error {
			return fmt.Errorf("config %s: %s: %s", path, where, fmt.Sprintf(format, a...))
		}
		switch {
		case strings.TrimSpace(e.Rule) == "":
			return nil, bad("rule is required")
		case strings.TrimSpace(e.Reason) == "":
			return nil, bad("reason is required: say why the finding is accepted, so that the next reader can judge it")
		}
		if _, ok := reg.Lookup(e.Rule); !ok {
			return nil, bad("unknown rule %q (run 'cdcpreflight rules' to list them)", e.Rule)
		}
		for _, o := range e.Objects {
			if err := rules.ValidObjectPattern(o); err != nil {
				return nil, bad("%v", err)
			}
		}
		ig := rules.Ignore{Rule: e.Rule, Objects: e.Objects, Reason: strings.TrimSpace(e.Reason),
			Where: fmt.Sprintf("ignore entry %d (%s, line %d)", i+1, path, e.line), File: path, Line: e.line}
		if e.Expires != "" {
			d, err := time.Parse(time.DateOnly, strings.TrimSpace(e.Expires))
			if err != nil {
				return nil, bad("expires %q: want a date, YYYY-MM-DD", e.Expires)
			}
			ig.Expires = d
		}
		out = append(out, ig)
	}
	return out, nil
}
