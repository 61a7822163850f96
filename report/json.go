package report

import (
	"bufio"
	"bytes"
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
	SchemaVersion int    `json:"schema_version"`
	Tool          Tool   `json:"tool"`
	Target        Target `json:"target"`
	// Config is the config file used, null when none.
	Config  *ConfigFile   `json:"config"`
	Summary rules.Summary `json:"summary"`
	// Warnings are about the configuration (an ignore that expired or
	// matched nothing); they are not counted in the summary.
	Warnings []rules.ConfigWarning `json:"warnings"`
	// Results stay last: JSON streams them after the rest.
	Results []JSONResult `json:"results"`
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
	// Ignored is what the config's ignores took out of the finding, with
	// their reasons; an empty array when nothing.
	Ignored []rules.Ignored `json:"ignored"`
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
			Ignored:     jsonIgnored(r.Ignored),
			DurationMS:  durationMS(r.Duration),
		})
	}
	warnings := run.Warnings
	if warnings == nil {
		warnings = []rules.ConfigWarning{}
	}
	tool := run.Tool
	tool.Name = toolName(run)
	return JSONReport{
		SchemaVersion: SchemaVersion,
		Tool:          tool,
		Target:        run.Target,
		Config:        run.Config,
		Summary:       rules.Summarize(run.Results),
		Warnings:      warnings,
		Results:       results,
	}
}

// JSON writes run as an indented JSON document ending in a newline. The
// results are encoded one at a time, straight to w: at 100,000 tables a
// result can list every table, and encoding the whole document in memory
// first would hold it two or three times over.
func JSON(w io.Writer, run Run) error {
	rep := NewJSONReport(run)
	results := rep.Results
	rep.Results = []JSONResult{}
	var head bytes.Buffer
	if err := encodeIndented(&head, rep, ""); err != nil {
		return fmt.Errorf("write JSON report: %w", err)
	}
	// head ends `"results": []` + "\n}\n"; the results go between the brackets.
	const tail = "[]\n}\n"
	if len(results) == 0 || !bytes.HasSuffix(head.Bytes(), []byte(tail)) {
		rep.Results = results
		head.Reset()
		if err := encodeIndented(&head, rep, ""); err != nil {
			return fmt.Errorf("write JSON report: %w", err)
		}
		_, err := w.Write(head.Bytes())
		return err
	}
	// A bufio.Writer keeps its first error and returns it from Flush.
	bw := bufio.NewWriter(w)
	_, _ = bw.Write(head.Bytes()[:head.Len()-len(tail)])
	_, _ = bw.WriteString("[\n")
	var one bytes.Buffer
	for i, r := range results {
		one.Reset()
		if err := encodeIndented(&one, r, "    "); err != nil {
			return fmt.Errorf("write JSON report: %w", err)
		}
		if i > 0 {
			_, _ = bw.WriteString(",\n")
		}
		_, _ = bw.WriteString("    ")
		_, _ = bw.Write(bytes.TrimSuffix(one.Bytes(), []byte("\n")))
	}
	_, _ = bw.WriteString("\n  ]\n}\n")
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write JSON report: %w", err)
	}
	return nil
}

// encodeIndented writes v indented by two spaces after prefix, as
// json.Encoder does, without escaping < > &: SQL and messages are full of
// them, and the report is read by people as often as by programs.
func encodeIndented(w io.Writer, v any, prefix string) error {
	enc := json.NewEncoder(w)
	enc.SetIndent(prefix, "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
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

// jsonIgnored keeps every array an array.
func jsonIgnored(in []rules.Ignored) []rules.Ignored {
	out := make([]rules.Ignored, len(in))
	for i, ig := range in {
		out[i] = ig
		out[i].Objects = nonNil(ig.Objects)
	}
	return out
}

func durationMS(d time.Duration) float64 {
	return math.Round(float64(d)/float64(time.Microsecond)) / 1000
}
