package report

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/cdcpreflight/cdcpreflight/rules"
)

// FleetKind is the kind of a fleet document, which a single report lacks.
const FleetKind = "fleet"

// JSONFleet is the fleet JSON document (report/fleet-schema.json): the
// report of each target judged, exactly as checking it alone writes it
// with its target's name added, and the fleet's summary. Shards' documents
// are merged by 'cdcpreflight merge'.
type JSONFleet struct {
	SchemaVersion int            `json:"schema_version"`
	Kind          string         `json:"kind"`
	Tool          Tool           `json:"tool"`
	FailOn        rules.Severity `json:"fail_on"`
	// Fleet names every target of the fleet, every shard's, in the targets
	// file's order.
	Names       []string `json:"fleet"`
	Shard       *Shard   `json:"shard"`
	Interrupted bool     `json:"interrupted"`
	// Targets stay before the summary and are written one at a time.
	Targets []JSONReport `json:"targets"`
	Summary FleetSummary `json:"summary"`
}

// fleetHead is the document without the targets and summary, in order.
type fleetHead struct {
	SchemaVersion int            `json:"schema_version"`
	Kind          string         `json:"kind"`
	Tool          Tool           `json:"tool"`
	FailOn        rules.Severity `json:"fail_on"`
	Fleet         []string       `json:"fleet"`
	Shard         *Shard         `json:"shard"`
	Interrupted   bool           `json:"interrupted"`
}

// FleetJSON writes the fleet document. Each target's report is encoded on
// its own straight to w, so that memory holds one at a time.
func FleetJSON(w io.Writer, f Fleet) error {
	tool := f.Tool
	if tool.Name == "" {
		tool.Name = defaultToolName
	}
	names := f.Names
	if names == nil {
		names = []string{}
	}
	var head bytes.Buffer
	if err := encodeIndented(&head, fleetHead{SchemaVersion: SchemaVersion, Kind: FleetKind, Tool: tool,
		FailOn: f.failOn(), Fleet: names, Shard: f.Shard, Interrupted: f.Interrupted}, ""); err != nil {
		return fmt.Errorf("write JSON fleet report: %w", err)
	}
	body, ok := bytes.CutSuffix(head.Bytes(), []byte("\n}\n"))
	if !ok {
		return errors.New("write JSON fleet report: unexpected encoding")
	}
	bw := bufio.NewWriter(w)
	_, _ = bw.Write(body)
	if len(f.Targets) == 0 {
		_, _ = bw.WriteString(",\n  \"targets\": [],\n")
	} else {
		_, _ = bw.WriteString(",\n  \"targets\": [\n")
		var one bytes.Buffer
		for i, run := range f.Targets {
			one.Reset()
			if err := encodeIndented(&one, NewJSONReport(f.target(run)), "    "); err != nil {
				return fmt.Errorf("write JSON fleet report: %s: %w", run.Target.Name, err)
			}
			if i > 0 {
				_, _ = bw.WriteString(",\n")
			}
			_, _ = bw.WriteString("    ")
			_, _ = bw.Write(bytes.TrimSuffix(one.Bytes(), []byte("\n")))
		}
		_, _ = bw.WriteString("\n  ],\n")
	}
	var sum bytes.Buffer
	if err := encodeIndented(&sum, f.Summarize(), "  "); err != nil {
		return fmt.Errorf("write JSON fleet report: %w", err)
	}
	_, _ = bw.WriteString("  \"summary\": ")
	_, _ = bw.Write(bytes.TrimSuffix(sum.Bytes(), []byte("\n")))
	_, _ = bw.WriteString("\n}\n")
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write JSON fleet report: %w", err)
	}
	return nil
}

// DecodeFleetJSON reads a fleet document FleetJSON wrote. A single
// target's report, or a document of another schema version, is refused
// with what to do.
func DecodeFleetJSON(r io.Reader) (JSONFleet, error) {
	var doc JSONFleet
	if err := json.NewDecoder(r).Decode(&doc); err != nil {
		return JSONFleet{}, fmt.Errorf("not a JSON report: %w", err)
	}
	switch {
	case doc.Kind == "" && doc.SchemaVersion != 0:
		return JSONFleet{}, errors.New("a report of one database, not of a fleet: merge reads the JSON reports of 'check --targets'")
	case doc.Kind != FleetKind:
		return JSONFleet{}, fmt.Errorf("kind %q: not a fleet report", doc.Kind)
	case doc.SchemaVersion != SchemaVersion:
		return JSONFleet{}, fmt.Errorf("schema_version %d: this cdcpreflight reads version %d", doc.SchemaVersion, SchemaVersion)
	}
	return doc, nil
}

// Fleet is the fleet the document reports, for rendering it again in any
// format. Timings are the results' own; a target's overall time is their
// sum, which the document does not hold.
func (doc JSONFleet) Fleet() Fleet {
	f := Fleet{Tool: doc.Tool, FailOn: doc.FailOn, Names: doc.Names, Shard: doc.Shard,
		Planned: doc.Summary.Targets, Interrupted: doc.Interrupted}
	for _, rep := range doc.Targets {
		f.Targets = append(f.Targets, rep.Run(doc.FailOn))
	}
	return f
}

// Run is the run a single report was written from, as far as it says:
// everything reports show but the run's start and overall time.
func (rep JSONReport) Run(failOn rules.Severity) Run {
	run := Run{Tool: rep.Tool, Target: rep.Target, FailOn: failOn, Config: rep.Config, Warnings: rep.Warnings, Scope: rep.CaptureScope}
	if len(run.Warnings) == 0 {
		run.Warnings = nil
	}
	for _, r := range rep.Results {
		d := time.Duration(r.DurationMS * float64(time.Millisecond))
		run.Duration += d
		res := rules.Result{Rule: r.Rule, Title: r.Title, Category: r.Category, Severity: r.Severity, Status: r.Status,
			Message: r.Message, Objects: r.Objects, Remediation: r.Remediation, FixSQL: r.FixSQL, Duration: d}
		if len(r.Ignored) > 0 {
			res.Ignored = r.Ignored
		}
		run.Results = append(run.Results, res)
	}
	return run
}
