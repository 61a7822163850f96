package report

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"iter"
	"math"
	"slices"
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
	// CaptureScope is there with a connector configuration.
	CaptureScope *Scope `json:"capture_scope,omitempty"`
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
	rep := jsonHead(run)
	rep.Results = make([]JSONResult, 0, len(run.Results))
	for _, r := range run.Results {
		jr := jsonResult(r)
		jr.FixSQL = nonNil(slices.Collect(r.FixLines()))
		rep.Results = append(rep.Results, jr)
	}
	return rep
}

// jsonHead is the report without its results.
func jsonHead(run Run) JSONReport {
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
		CaptureScope:  run.Scope,
		Warnings:      warnings,
		Results:       []JSONResult{},
	}
}

// jsonResult is r as the report shows it, but for its fix SQL.
func jsonResult(r rules.Result) JSONResult {
	return JSONResult{
		Rule:        r.Rule,
		Title:       r.Title,
		Category:    r.Category,
		Severity:    r.Severity,
		Status:      r.Status,
		Message:     r.Message,
		Objects:     nonNil(r.Objects),
		Remediation: r.Remediation,
		FixSQL:      []string{},
		Ignored:     jsonIgnored(r.Ignored),
		DurationMS:  durationMS(r.Duration),
	}
}

// JSON writes run as an indented JSON document ending in a newline. The
// results are encoded one at a time, straight to w: at 100,000 tables a
// result can list every table, and encoding the whole document in memory
// first would hold it two or three times over.
func JSON(w io.Writer, run Run) error {
	rep := jsonHead(run)
	var head bytes.Buffer
	if err := encodeIndented(&head, rep, ""); err != nil {
		return fmt.Errorf("write JSON report: %w", err)
	}
	// head ends `"results": []` + "\n}\n"; the results go between the brackets.
	const tail = "[]\n}\n"
	if len(run.Results) == 0 || !bytes.HasSuffix(head.Bytes(), []byte(tail)) {
		head.Reset()
		if err := encodeIndented(&head, NewJSONReport(run), ""); err != nil {
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
	for i, r := range run.Results {
		if i > 0 {
			_, _ = bw.WriteString(",\n")
		}
		_, _ = bw.WriteString("    ")
		// Lines built on demand (a check's, one per table) are never held.
		fewFix := !r.HasFix() || (r.FixSQL != nil && len(r.FixSQL) < streamAt)
		if err := writeResult(bw, &one, jsonResult(r), r.FixLines(), fewFix); err != nil {
			return fmt.Errorf("write JSON report: %w", err)
		}
	}
	_, _ = bw.WriteString("\n  ]\n}\n")
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write JSON report: %w", err)
	}
	return nil
}

// streamAt is the number of objects and fix_sql entries from which a
// result's lists are written an entry at a time.
const streamAt = 256

// writeResult writes r as encodeIndented does (after the prefix "    ",
// without the final newline), using buf. A result with long objects or
// fix_sql lists (one entry per table: 100,000 and more) is encoded with
// the lists empty and the entries written in their place one at a time:
// encoded whole, it was held in memory twice, compact and indented.
func writeResult(w *bufio.Writer, buf *bytes.Buffer, r JSONResult, fix iter.Seq[string], fewFix bool) error {
	buf.Reset()
	if len(r.Objects) < streamAt && fewFix {
		r.FixSQL = nonNil(slices.Collect(fix))
		if err := encodeIndented(buf, r, "    "); err != nil {
			return err
		}
		_, _ = w.Write(bytes.TrimSuffix(buf.Bytes(), []byte("\n")))
		return nil
	}
	lists := []struct {
		key   string
		items iter.Seq[string]
	}{{`"objects": []`, slices.Values(r.Objects)}, {`"fix_sql": []`, fix}}
	r.Objects, r.FixSQL = []string{}, []string{}
	if err := encodeIndented(buf, r, "    "); err != nil {
		return err
	}
	doc := bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
	// An empty list is `"key": []` once, as a key: inside a JSON string
	// its quotes would be escaped.
	for _, l := range lists {
		at := bytes.Index(doc, []byte(l.key))
		if at < 0 {
			return fmt.Errorf("no %s in the encoded result", l.key)
		}
		open := at + len(l.key) - 1 // the closing bracket
		indent := string(doc[bytes.LastIndexByte(doc[:at], '\n')+1 : at])
		_, _ = w.Write(doc[:open])
		n := 0
		for item := range l.items {
			if n > 0 {
				_ = w.WriteByte(',')
			}
			n++
			_, _ = w.WriteString("\n" + indent + "  ")
			if err := writeJSONString(w, item); err != nil {
				return err
			}
		}
		if n > 0 {
			_, _ = w.WriteString("\n" + indent)
		}
		doc = doc[open:]
	}
	_, _ = w.Write(doc)
	return nil
}

// writeJSONString writes s as encodeIndented encodes it.
func writeJSONString(w *bufio.Writer, s string) error {
	plain := true
	for i := 0; i < len(s) && plain; i++ {
		c := s[i]
		plain = c >= 0x20 && c < 0x7f && c != '"' && c != '\\'
	}
	if plain {
		_ = w.WriteByte('"')
		_, _ = w.WriteString(s)
		return w.WriteByte('"')
	}
	var b bytes.Buffer
	if err := encodeIndented(&b, s, ""); err != nil {
		return err
	}
	_, err := w.Write(bytes.TrimSuffix(b.Bytes(), []byte("\n")))
	return err
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
