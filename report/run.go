// Package report renders a run's results. Each format is a pure function of
// the Run, in a file of its own; none talks to the database.
package report

import (
	"time"

	"github.com/cdcpreflight/cdcpreflight/rules"
)

// SchemaVersion of the JSON report; bumped only on breaking changes.
const SchemaVersion = 1

// Tool identifies the program that made the report.
type Tool struct {
	Name    string `json:"name"`
	Version string `json:"version"`
}

// Target identifies the database judged. It never carries a password.
type Target struct {
	// Name is the target's name in a fleet (check --targets); "" for a
	// check of one database, whose report leaves it out.
	Name          string `json:"name,omitempty"`
	Host          string `json:"host"`
	Port          uint16 `json:"port"`
	Database      string `json:"database"`
	User          string `json:"user"`
	ServerVersion string `json:"server_version"`
	Platform      string `json:"platform"`
}

// Run is everything a report shows.
type Run struct {
	Tool     Tool
	Target   Target
	Started  time.Time
	Duration time.Duration
	FailOn   rules.Severity
	Results  []rules.Result
	// Config is the config file the run used; nil when none.
	Config *ConfigFile
	// Warnings are about the configuration, not the database (an ignore
	// that expired or matched nothing): shown, never counted.
	Warnings []rules.ConfigWarning
	// Scope is the capture scope of a connector configuration, when one
	// was given.
	Scope *Scope
}

// ConfigFile is the config file a run used and how it was found.
type ConfigFile struct {
	Path   string `json:"path"`
	Source string `json:"source"` // "flag" (--config), "env" ($CDCPREFLIGHT_CONFIG) or "discovered"
}
