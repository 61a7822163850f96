package report

import (
	"bytes"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/renderer"
	"github.com/olekukonko/tablewriter/tw"

	"github.com/cdcpreflight/cdcpreflight/rules"
)

// errorRulesShown caps the rule IDs named when many rules could not be
// judged for one reason (a target that did not answer: all of them).
const errorRulesShown = 4

// FleetTable writes the human fleet report: a line per target with its
// counts and the exit code it alone would give, then each target's
// findings under its name (what to do about each, the rules that could not
// be judged grouped by cause), then the fleet's summary line.
func FleetTable(w io.Writer, f Fleet, opt TableOptions) error {
	var buf bytes.Buffer
	buf.WriteString(printable(fleetHeading(f)) + "\n\n")
	if len(f.Targets) > 0 {
		if err := renderFleetTable(&buf, f, opt); err != nil {
			return fmt.Errorf("render fleet table: %w", err)
		}
	}
	for _, run := range f.Targets {
		writeTargetFindings(&buf, f.target(run), opt)
	}
	buf.WriteString("\n" + fleetSummaryLine(f) + "\n")
	if _, err := w.Write(trimLineEnds(buf.Bytes())); err != nil {
		return fmt.Errorf("write table report: %w", err)
	}
	return nil
}

func renderFleetTable(w io.Writer, f Fleet, opt TableOptions) error {
	right := tw.CellAlignment{PerColumn: []tw.Align{tw.AlignLeft, tw.AlignLeft, tw.AlignRight, tw.AlignRight, tw.AlignRight, tw.AlignRight, tw.AlignRight, tw.AlignRight}}
	table := tablewriter.NewTable(w,
		tablewriter.WithRenderer(renderer.NewBlueprint(tw.Rendition{Symbols: tw.NewSymbols(tw.StyleLight)})),
		tablewriter.WithConfig(tablewriter.Config{
			Header: tw.CellConfig{
				Formatting: tw.CellFormatting{AutoFormat: tw.Off, AutoWrap: tw.WrapNone},
				Alignment:  tw.CellAlignment{Global: tw.AlignLeft},
			},
			Row: tw.CellConfig{Formatting: tw.CellFormatting{AutoWrap: tw.WrapNone}, Alignment: right},
		}),
	)
	table.Header("TARGET", "DATABASE", "PASS", "WARN", "FAIL", "SKIP", "ERROR", "EXIT")
	for _, run := range f.Targets {
		run = f.target(run)
		s := rules.Summarize(run.Results)
		code := TargetExitCode(run)
		row := []string{printable(run.Target.Name), printable(fleetLabel(run.Target)),
			strconv.Itoa(s.Pass), count(opt, ansiYellow, s.Warn), count(opt, ansiRed, s.Fail), strconv.Itoa(s.Skip),
			count(opt, ansiMagenta, s.Error), paint(opt, exitColor(code), strconv.Itoa(code))}
		if err := table.Append(row); err != nil {
			return fmt.Errorf("add row for %s: %w", run.Target.Name, err)
		}
	}
	return table.Render()
}

func count(opt TableOptions, color string, n int) string {
	if n == 0 {
		return "0"
	}
	return paint(opt, color, strconv.Itoa(n))
}

func exitColor(code int) string {
	switch code {
	case 0:
		return ansiGreen
	case 1:
		return ansiRed
	}
	return ansiMagenta
}

// writeTargetFindings writes what a reader must act on for one target,
// nothing when it is clean and nothing was ignored.
func writeTargetFindings(w *bytes.Buffer, run Run, opt TableOptions) {
	ordered := byCategory(run.Results)
	var body bytes.Buffer
	writeRemediations(&body, ordered, opt)
	writeErrorsByCause(&body, ordered, opt)
	writeIgnored(&body, ordered, opt)
	writeWarnings(&body, run.Warnings, opt)
	writeScope(&body, run.Scope, opt.Verbose)
	if body.Len() == 0 {
		return
	}
	head := "── " + targetName(run)
	var about []string
	if v := run.Target.ServerVersion; v != "" {
		about = append(about, "PostgreSQL "+v)
	}
	if p := run.Target.Platform; p != "" {
		about = append(about, p)
	}
	if len(about) > 0 {
		head += ", " + strings.Join(about, ", ")
	}
	code := TargetExitCode(run)
	fmt.Fprintf(w, "\n%s: %s\n", paint(opt, ansiBold, printable(head)), paint(opt, exitColor(code), "exit "+strconv.Itoa(code)))
	w.Write(body.Bytes())
}

// errorCause is the rules that could not be judged for one reason.
type errorCause struct {
	message string
	rules   []string
}

// errorsByCause groups the results in error by their message, in the
// order each message first appears: a fleet's reports say a target that
// did not answer once, not forty times.
func errorsByCause(results []rules.Result) []errorCause {
	var causes []errorCause
	at := map[string]int{}
	for _, r := range results {
		if r.Status != rules.StatusError {
			continue
		}
		i, seen := at[r.Message]
		if !seen {
			i = len(causes)
			at[r.Message] = i
			causes = append(causes, errorCause{message: r.Message})
		}
		causes[i].rules = append(causes[i].rules, r.Rule)
	}
	return causes
}

// writeErrorsByCause lists the rules that could not be judged, a line per
// cause.
func writeErrorsByCause(w *bytes.Buffer, results []rules.Result, opt TableOptions) {
	for _, c := range errorsByCause(results) {
		cause, ids := c.message, c.rules
		what := strings.Join(ids, ", ")
		if len(ids) > errorRulesShown {
			what = fmt.Sprintf("%d rules: %s, …", len(ids), strings.Join(ids[:errorRulesShown], ", "))
		}
		fmt.Fprintf(w, "\n%s could not be judged (%s): %s\n", paint(opt, ansiMagenta, "⛔"), printable(what), indentTail(printable(cause), "  "))
	}
}
