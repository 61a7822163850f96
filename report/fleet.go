package report

import (
	"fmt"
	"io"
	"time"

	"github.com/cdcpreflight/cdcpreflight/rules"
)

// Fleet is everything a fleet report shows: one run per target judged, in
// the fleet's order. Each run is what checking that target alone reports,
// its Target.Name set.
type Fleet struct {
	Tool   Tool
	FailOn rules.Severity
	// Names is every target of the fleet in the order the targets file
	// lists them, all shards' included: merge checks shards against it.
	Names []string
	// Shard is the part of the fleet this run checked; nil: all of it.
	Shard *Shard
	// Planned is how many targets this run was to check (the shard's).
	Planned     int
	Started     time.Time
	Duration    time.Duration
	Interrupted bool // Ctrl-C: Targets holds what was judged before it
	Targets     []Run
}

// Shard is part K of N of a fleet (K from 1).
type Shard struct {
	Index int `json:"index"`
	Count int `json:"count"`
}

func (s *Shard) String() string { return fmt.Sprintf("%d/%d", s.Index, s.Count) }

// FleetSummary counts a fleet's targets by the exit code each alone would
// give, and its results by status.
type FleetSummary struct {
	// Targets is how many targets the run was to check; Checked how many
	// it judged (fewer only when interrupted).
	Targets int `json:"targets"`
	Checked int `json:"checked"`
	// Clean, Findings and Incomplete count the targets whose own exit code
	// is 0, 1 and 2.
	Clean      int `json:"clean"`
	Findings   int `json:"findings"`
	Incomplete int `json:"incomplete"`
	// ExitCode is the worst over the targets: 2 over 1 over 0.
	ExitCode int           `json:"exit_code"`
	Results  rules.Summary `json:"results"`
}

// TargetExitCode is the exit code checking run's target alone gives.
func TargetExitCode(run Run) int { return rules.ExitCode(run.Results, failOn(run)) }

// Summarize counts the fleet.
func (f Fleet) Summarize() FleetSummary {
	s := FleetSummary{Targets: f.Planned, Checked: len(f.Targets)}
	for _, run := range f.Targets {
		switch code := TargetExitCode(run); code {
		case 0:
			s.Clean++
		case 1:
			s.Findings++
		default:
			s.Incomplete++
		}
		s.ExitCode = max(s.ExitCode, TargetExitCode(run))
		one := rules.Summarize(run.Results)
		s.Results.Pass += one.Pass
		s.Results.Warn += one.Warn
		s.Results.Fail += one.Fail
		s.Results.Skip += one.Skip
		s.Results.Error += one.Error
	}
	return s
}

// ExitCode is the fleet's: the worst over its targets.
func (f Fleet) ExitCode() int { return f.Summarize().ExitCode }

// target is run as the fleet's run of it: the fleet's tool and threshold.
func (f Fleet) target(run Run) Run {
	if run.Tool == (Tool{}) {
		run.Tool = f.Tool
	}
	if run.FailOn == 0 {
		run.FailOn = f.FailOn
	}
	return run
}

// WriteFleet renders fleet in format to w. opt matters only to the table.
func WriteFleet(w io.Writer, format Format, fleet Fleet, opt TableOptions) error {
	switch format {
	case FormatTable:
		return FleetTable(w, fleet, opt)
	case FormatJSON:
		return FleetJSON(w, fleet)
	case FormatJUnit:
		return FleetJUnit(w, fleet)
	case FormatMarkdown:
		return FleetMarkdown(w, fleet)
	}
	return fmt.Errorf("unknown report format %q (valid: %s)", format, formatList())
}

// targetName is how a fleet report names a target: its name, and the
// database it is.
func targetName(run Run) string {
	if run.Target.Name == "" {
		return targetLabel(run.Target)
	}
	return run.Target.Name + " (" + fleetLabel(run.Target) + ")"
}

// fleetLabel is targetLabel, or what stands for it when the target could
// not even be read (its dsn_env unset).
func fleetLabel(t Target) string {
	if t.Host == "" && t.Database == "" && t.Port == 0 {
		return "no connection"
	}
	return targetLabel(t)
}

// fleetHeading names the fleet: "cdcpreflight 0.1.0 — fleet of 50 targets,
// shard 2/4: 12 targets".
func fleetHeading(f Fleet) string {
	h := defaultToolName
	if f.Tool.Name != "" {
		h = f.Tool.Name
	}
	if f.Tool.Version != "" {
		h += " " + f.Tool.Version
	}
	h += " — fleet of " + pluralN(len(f.Names), "target", "targets")
	if f.Shard != nil {
		h += fmt.Sprintf(", shard %s: %s", f.Shard, pluralN(f.Planned, "target", "targets"))
	}
	return h
}

// fleetSummaryLine is the fleet's verdict in one line.
func fleetSummaryLine(f Fleet) string {
	s := f.Summarize()
	line := fmt.Sprintf("%s checked: %d clean, %d with findings, %d incomplete; rules: %d passed, %d warned, %d failed, %d skipped, %d %s (fail-on: %s)",
		pluralN(s.Checked, "target", "targets"), s.Clean, s.Findings, s.Incomplete,
		s.Results.Pass, s.Results.Warn, s.Results.Fail, s.Results.Skip, s.Results.Error, plural(s.Results.Error, "error", "errors"), f.failOn())
	if f.Interrupted {
		line += fmt.Sprintf("; interrupted: %d not checked", s.Targets-s.Checked)
	}
	return line
}

func (f Fleet) failOn() rules.Severity {
	if f.FailOn == 0 {
		return rules.Error
	}
	return f.FailOn
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
