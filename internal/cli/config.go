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

	"gopkg.in/yaml.v3"

	"github.com/cdcpreflight/cdcpreflight/rules"
)

// fileConfig is a config file as yaml.v3 decodes it: the rules: section,
// and every other key, which is an option's in checkOptionTable or a
// mistake.
type fileConfig struct {
	Rules   map[string]ruleFileConfig `yaml:"rules"`
	Options map[string]yaml.Node      `yaml:",inline"`
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
