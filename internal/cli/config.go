package cli

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/cdcpreflight/cdcpreflight/rules"
)

// fileConfig is the YAML configuration. Decoding is strict: a misspelt key
// is an error, never silently ignored.
type fileConfig struct {
	DSN             string                    `yaml:"dsn"`
	Slot            string                    `yaml:"slot"`
	Publication     string                    `yaml:"publication"`
	SignalSchema    string                    `yaml:"signal_schema"`
	HeartbeatSchema string                    `yaml:"heartbeat_schema"`
	SnapshotMode    string                    `yaml:"snapshot_mode"`
	ConnectorUser   string                    `yaml:"connector_user"`
	SoftDeletes     *bool                     `yaml:"soft_deletes"`
	PeekMaxBacklog  string                    `yaml:"peek_max_backlog"`
	RetainedWALWarn string                    `yaml:"retained_wal_warn"`
	Tables          []string                  `yaml:"tables"`
	TablesFile      string                    `yaml:"tables_file"`
	FailOn          string                    `yaml:"fail_on"`
	Timeout         string                    `yaml:"timeout"`
	Outputs         []string                  `yaml:"outputs"`
	Rules           map[string]ruleFileConfig `yaml:"rules"`
}

type ruleFileConfig struct {
	Disabled bool   `yaml:"disabled"`
	Severity string `yaml:"severity"`
}

var unknownField = regexp.MustCompile(`line (\d+): field (\S+) not found in type`)

// loadConfig reads and strictly decodes a config file.
func loadConfig(path string) (*fileConfig, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	var cfg fileConfig
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&cfg); err != nil && !errors.Is(err, io.EOF) {
		if m := unknownField.FindAllStringSubmatch(err.Error(), -1); m != nil {
			var parts []string
			for _, x := range m {
				parts = append(parts, fmt.Sprintf("line %s: unknown key %q", x[1], x[2]))
			}
			return nil, fmt.Errorf("config %s: %s", path, strings.Join(parts, "; "))
		}
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	if cfg.Timeout != "" {
		if _, err := time.ParseDuration(cfg.Timeout); err != nil {
			return nil, fmt.Errorf("config %s: timeout: %w", path, err)
		}
	}
	return &cfg, nil
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
