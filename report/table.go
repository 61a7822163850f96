package report

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"unicode"

	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/renderer"
	"github.com/olekukonko/tablewriter/tw"

	"github.com/cdcpreflight/cdcpreflight/rules"
)

// TableOptions tunes the terminal table. The caller decides on colour (a
// terminal, no NO_COLOR): the report stays a pure function of its inputs.
type TableOptions struct {
	Color bool
	// Verbose lists every table of a connector configuration's capture
	// scope, captured or not.
	Verbose bool
}

// messageWidth bounds the MESSAGE column so the whole table fits about 120
// columns; longer messages wrap inside the cell.
const messageWidth = 64

const (
	ansiReset   = "\x1b[0m"
	ansiBold    = "\x1b[1m"
	ansiDim     = "\x1b[2m"
	ansiRed     = "\x1b[31m"
	ansiGreen   = "\x1b[32m"
	ansiYellow  = "\x1b[33m"
	ansiMagenta = "\x1b[35m"
)

// Table writes the human report: a header line naming the target, a table
// with a row per rule grouped by category, what to do about each fail and
// warn, and a summary line. It is written only once fully rendered, so an
// error never leaves half a table behind.
func Table(w io.Writer, run Run, opt TableOptions) error {
	var buf bytes.Buffer
	buf.WriteString(tableHeading(run) + "\n\n")
	ordered := byCategory(run.Results)
	if err := renderTable(&buf, ordered, opt); err != nil {
		return fmt.Errorf("render table report: %w", err)
	}
	writeRemediations(&buf, ordered, opt)
	writeScope(&buf, run.Scope, opt.Verbose)
	writeIgnored(&buf, ordered, opt)
	writeWarnings(&buf, run.Warnings, opt)
	buf.WriteString("\n" + summaryLine(run) + "\n")
	if _, err := w.Write(trimLineEnds(buf.Bytes())); err != nil {
		return fmt.Errorf("write table report: %w", err)
	}
	return nil
}

func tableHeading(run Run) string {
	var about []string
	if v := run.Target.ServerVersion; v != "" {
		about = append(about, "PostgreSQL "+v)
	}
	if p := run.Target.Platform; p != "" {
		about = append(about, p)
	}
	h := toolName(run)
	if run.Tool.Version != "" {
		h += " " + run.Tool.Version
	}
	h += " — " + targetLabel(run.Target)
	if len(about) > 0 {
		h += " (" + strings.Join(about, ", ") + ")"
	}
	return printable(h)
}

func renderTable(w io.Writer, results []rules.Result, opt TableOptions) error {
	table := tablewriter.NewTable(w,
		tablewriter.WithRenderer(renderer.NewBlueprint(tw.Rendition{
			Symbols: tw.NewSymbols(tw.StyleLight),
		})),
		tablewriter.WithConfig(tablewriter.Config{
			Header: tw.CellConfig{
				// v1 upper-cases and rewrites headers by default; ours are final.
				Formatting: tw.CellFormatting{AutoFormat: tw.Off, AutoWrap: tw.WrapNone},
				Alignment:  tw.CellAlignment{Global: tw.AlignLeft},
			},
			Row: tw.CellConfig{
				Formatting:   tw.CellFormatting{AutoWrap: tw.WrapNormal},
				Alignment:    tw.CellAlignment{Global: tw.AlignLeft},
				ColMaxWidths: tw.CellWidth{PerColumn: tw.NewMapper[int, int]().Set(3, messageWidth)},
				Merging: tw.CellMerging{
					Mode:          tw.MergeVertical,
					ByColumnIndex: tw.NewMapper[int, bool]().Set(0, true),
				},
			},
		}),
	)
	table.Header("CATEGORY", "STATUS", "RULE", "MESSAGE")
	for _, r := range results {
		row := []string{printable(r.Category), statusCell(r.Status, opt), printable(r.Rule), messageCell(r)}
		if err := table.Append(row); err != nil {
			return fmt.Errorf("add row for %s: %w", r.Rule, err)
		}
	}
	return table.Render()
}

func statusCell(s rules.Status, opt TableOptions) string {
	return paint(opt, statusColor(s), strings.ToUpper(printable(string(s))))
}

func statusColor(s rules.Status) string {
	switch s {
	case rules.StatusPass:
		return ansiGreen
	case rules.StatusWarn:
		return ansiYellow
	case rules.StatusFail:
		return ansiRed
	case rules.StatusError:
		return ansiMagenta
	case rules.StatusSkip:
		return ansiDim
	}
	return ""
}

// messageCell is the message alone: rules already name the first few
// objects in it, and every object of a finding is listed under the table.
func messageCell(r rules.Result) string {
	if whollyIgnored(r) {
		return "ignored: " + printable(r.Message)
	}
	return printable(r.Message)
}

// writeIgnored lists, under the table, a line per ignore entry that took
// something out of a finding, with its reason: nothing is hidden silently.
func writeIgnored(w *bytes.Buffer, results []rules.Result, opt TableOptions) {
	first := true
	for _, r := range results {
		for _, ig := range r.Ignored {
			if first {
				w.WriteString("\n")
				first = false
			}
			fmt.Fprintf(w, "%s ignored %s\n", paint(opt, ansiDim, "-"), printable(ignoredText(r, ig)))
		}
	}
}

// writeWarnings lists the warnings about the configuration.
func writeWarnings(w *bytes.Buffer, warnings []rules.ConfigWarning, opt TableOptions) {
	if len(warnings) > 0 {
		w.WriteString("\n")
	}
	for _, cw := range warnings {
		fmt.Fprintf(w, "%s config: %s\n", paint(opt, ansiYellow, "!"), printable(cw.Message))
	}
}

// writeRemediations lists, under the table, everything a reader must act
// on: failures first, then warnings, each with all its objects and the fix.
func writeRemediations(w *bytes.Buffer, results []rules.Result, opt TableOptions) {
	for _, status := range []rules.Status{rules.StatusFail, rules.StatusWarn} {
		for _, r := range results {
			if r.Status == status {
				writeRemediation(w, r, opt)
			}
		}
	}
}

func writeRemediation(w *bytes.Buffer, r rules.Result, opt TableOptions) {
	mark := paint(opt, ansiRed, "✗")
	if r.Status == rules.StatusWarn {
		mark = paint(opt, ansiYellow, "!")
	}
	fmt.Fprintf(w, "\n%s %s: %s\n", mark, paint(opt, ansiBold, printable(r.Rule)), indentTail(printable(r.Message), "  "))
	for _, o := range r.Objects {
		w.WriteString("    " + printable(o) + "\n")
	}
	if r.Remediation != "" {
		w.WriteString("  Fix: " + indentTail(printable(r.Remediation), "       ") + "\n")
	}
	for s := range r.FixLines() {
		w.WriteString(indent(printable(s), "    ") + "\n")
	}
}

// summaryLine counts verdicts. The exit code is the CLI's to decide and
// print; the threshold is shown so the counts can be read against it.
func summaryLine(run Run) string {
	s := rules.Summarize(run.Results)
	errs := "errors"
	if s.Error == 1 {
		errs = "error"
	}
	line := fmt.Sprintf("%d passed, %d warned, %d failed, %d skipped, %d %s (fail-on: %s)",
		s.Pass, s.Warn, s.Fail, s.Skip, s.Error, errs, failOn(run))
	var also []string
	if findings, objects := ignoredCounts(run.Results); findings > 0 {
		also = append(also, fmt.Sprintf("ignored by the config: %s of %s",
			pluralN(objects, "object", "objects"), pluralN(findings, "finding", "findings")))
	}
	if n := len(run.Warnings); n > 0 {
		also = append(also, pluralN(n, "config warning", "config warnings")+" (not counted)")
	}
	if len(also) > 0 {
		line += "; " + strings.Join(also, "; ")
	}
	return line
}

func pluralN(n int, one, many string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, one)
	}
	return fmt.Sprintf("%d %s", n, many)
}

func paint(opt TableOptions, color, s string) string {
	if !opt.Color || color == "" {
		return s
	}
	return color + s + ansiReset
}

// indentTail indents every line but the first, for text that continues a
// line already started.
func indentTail(s, prefix string) string {
	return strings.ReplaceAll(s, "\n", "\n"+prefix)
}

// printable makes text from the database safe for a terminal: control
// characters (an ESC in a server message could recolour or retitle the
// user's terminal) and bidirectional overrides become visible escapes.
// Newlines stay; tabs become a space so column widths hold.
func printable(s string) string {
	// Most text (names, SQL) is printable ASCII: returned as it is, without
	// a copy; a report at 100,000 tables has hundreds of thousands of lines.
	plain := true
	for i := 0; i < len(s) && plain; i++ {
		plain = s[i] == '\n' || (s[i] >= 0x20 && s[i] < 0x7f)
	}
	if plain {
		return s
	}
	s = strings.ToValidUTF8(s, "\uFFFD")
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '\n':
			b.WriteRune(r)
		case r == '\t':
			b.WriteByte(' ')
		case unicode.IsControl(r) || isBidiControl(r):
			fmt.Fprintf(&b, "\\u%04x", r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

func isBidiControl(r rune) bool {
	return (r >= 0x202A && r <= 0x202E) || (r >= 0x2066 && r <= 0x2069) || r == 0x200E || r == 0x200F
}

// trimLineEnds drops trailing blanks from every line, so golden files and
// editors that strip them agree.
func trimLineEnds(b []byte) []byte {
	lines := bytes.Split(b, []byte("\n"))
	for i, l := range lines {
		lines[i] = bytes.TrimRight(l, " \t")
	}
	return bytes.Join(lines, []byte("\n"))
}
