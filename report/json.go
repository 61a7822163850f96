package report

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"time"

	"github.com/cdcpreflight/cdcpreflight/rules"
)

// JSONReport is the JSON report's shape, for writing and for reading back
// (tests and tools that consume reports decode into it). Fields are only
// ever added; a breaking change bumps SchemaVersion.
type JSONReport struct {
	SchemaVersion int           `json:"schema_version"`
	Tool          Tool          `json:"tool"`
	Target        Target        `json:"target"`
	Summary       rules.Summary `json:"summary"`
	Results       []JSONResult  `json:"results"`
}

// JSONResult is one rule's verdict in the JSON report.
type JSONResult struct {
	Rule        string         `json:"rule"`
	Title       string         `json:"title"`
	Category    string         `json:"category"`
	Severity    rules.Severity `json:"severity"`
	Status      rules.Status   `json:"status"`
	Message     string         `json:"message"`
	Objects     []string       `json:"objects"`
	Remediation string         `json:"remediation"`
	FixSQL      []string       `json:"fix_sql"`
	// DurationMS is milliseconds as a float rounded to microseconds: rules
	// are pure functions that mostly finish well under a millisecond, so
	// whole milliseconds would report zero for nearly all of them.
	DurationMS float64 `json:"duration_ms"`
}

// NewJSONReport builds the report JSON writes, in the run's result order.
func NewJSONReport(run Run) JSONReport {
	results := make([]JSONResult, 0, len(run.Results))
	for _, r := range run.Results {
		results = append(results, JSONResult{
			Rule:        r.Rule,
			Title:       r.Title,
			Category:    r.Category,
			Severity:    r.Severity,
			Status:      r.Status,
			Message:     r.Message,
			Objects:     nonNil(r.Objects),
			Remediation: r.Remediation,
			FixSQL:      nonNil(r.FixSQL),
			DurationMS:  durationMS(r.Duration),
		})
	}
	return JSONReport{
		SchemaVersion: SchemaVersion,
		Tool:          run.Tool,
		Target:        run.Target,
		Summary:       rules.Summarize(run.Results),
		Results:       results,
	}
}

// JSON writes run as an indented JSON document ending in a newline.
func JSON(w io.Writer, run Run) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	// SQL and messages are full of < > &: keep them readable, since the
	// report is read by people as often as by programs.
	enc.SetEscapeHTML(false)
	if err := enc.Encode(NewJSONReport(run)); err != nil {
		return fmt.Errorf("write JSON report: %w", err)
	}
	return nil
}

// DecodeJSON reads a report JSON wrote. Unknown fields are ignored so that
// readers keep working when fields are added.
func DecodeJSON(r io.Reader) (JSONReport, error) {
	var rep JSONReport
	if err := json.NewDecoder(r).Decode(&rep); err != nil {
		return JSONReport{}, fmt.Errorf("decode JSON report: %w", err)
	}
	return rep, nil
}

func durationMS(d time.Duration) float64 {
	return math.Round(float64(d)/float64(time.Microsecond)) / 1000
}
