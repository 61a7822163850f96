package report

import (
	"bytes"
	"fmt"
	"io"
	"strings"

	"github.com/cdcpreflight/cdcpreflight/rules"
)

// MarkdownOptions tune the Markdown report.
type MarkdownOptions struct {
	// Level is the heading level of the report's title (2: "##"). A
	// document holding several reports (a fleet's) gives each a level
	// below its own title.
	Level int
	// OmitRules leaves out the collapsed table of every rule, which a
	// fleet's document cannot afford for each target within GitHub's
	// 1 MiB job summary.
	OmitRules bool
}

// markdownListMax caps the objects and statements a finding lists: GitHub
// refuses a job summary over 1 MiB, and a finding can name every table of
// a large database. The JSON report lists them all.
const markdownListMax = 20

// Markdown writes run as GitHub-flavoured Markdown, for GitHub's job
// summary ($GITHUB_STEP_SUMMARY), a pull request comment or a wiki: the
// verdict, the findings with what to do, what the config ignored, and every
// rule in a collapsed table. Text from the database is escaped: a table
// named `<img src=x>` or `| a |` is shown, never rendered.
func Markdown(w io.Writer, run Run) error {
	return MarkdownSection(w, run, MarkdownOptions{Level: 2})
}

// MarkdownSection writes run's report under a title of opt.Level.
func MarkdownSection(w io.Writer, run Run, opt MarkdownOptions) error {
	level := min(max(opt.Level, 1), 5)
	h := func(extra int) string { return strings.Repeat("#", level+extra) + " " }
	var b bytes.Buffer
	icon, verdict := markdownVerdict(run)
	fmt.Fprintf(&b, "%s%s %s — %s\n\n", h(0), icon, mdText(toolName(run)+" "+run.Tool.Version), mdText(targetName(run)))
	var about []string
	if v := run.Target.ServerVersion; v != "" {
		about = append(about, "PostgreSQL "+mdText(v))
	}
	if p := run.Target.Platform; p != "" {
		about = append(about, mdText(p))
	}
	about = append(about, "fail-on: "+failOn(run).String())
	if run.Config != nil {
		about = append(about, "config: "+mdCode(run.Config.Path))
	}
	fmt.Fprintf(&b, "**%s** · %s\n\n", verdict, strings.Join(about, " · "))
	b.WriteString(mdText(summaryLine(run)) + "\n")

	ordered := byCategory(run.Results)
	var findings []rules.Result
	for _, status := range []rules.Status{rules.StatusFail, rules.StatusError, rules.StatusWarn} {
		for _, r := range ordered {
			if r.Status == status {
				findings = append(findings, r)
			}
		}
	}
	if len(findings) > 0 {
		fmt.Fprintf(&b, "\n%sFindings\n\n| status | rule | message |\n|---|---|---|\n", h(1))
		for _, r := range findings {
			fmt.Fprintf(&b, "| %s | %s | %s |\n", mdStatus(r.Status), mdCode(r.Rule), mdCell(r.Message))
		}
		for _, r := range findings {
			if r.Status != rules.StatusError {
				writeMarkdownFix(&b, r, h(2))
			}
		}
	}
	var ignored []string
	for _, r := range ordered {
		for _, ig := range r.Ignored {
			ignored = append(ignored, "- "+mdText(ignoredText(r, ig)))
		}
	}
	if len(ignored) > 0 {
		fmt.Fprintf(&b, "\n%sIgnored by the config\n\n%s\n", h(1), strings.Join(ignored, "\n"))
	}
	if len(run.Warnings) > 0 {
		fmt.Fprintf(&b, "\n%sConfig warnings (not counted)\n\n", h(1))
		for _, cw := range run.Warnings {
			b.WriteString("- " + mdText(cw.Message) + "\n")
		}
	}
	if opt.OmitRules {
		_, err := w.Write(b.Bytes())
		if err != nil {
			return fmt.Errorf("write Markdown report: %w", err)
		}
		return nil
	}
	fmt.Fprintf(&b, "\n<details><summary>All %d rules</summary>\n\n| category | status | rule | message |\n|---|---|---|---|\n", len(ordered))
	for _, r := range ordered {
		msg := r.Message
		if whollyIgnored(r) {
			msg = "ignored: " + msg
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", mdText(r.Category), mdStatus(r.Status), mdCode(r.Rule), mdCell(msg))
	}
	b.WriteString("\n</details>\n")
	if _, err := w.Write(b.Bytes()); err != nil {
		return fmt.Errorf("write Markdown report: %w", err)
	}
	return nil
}

// markdownVerdict is the report's headline, as the exit code decides it.
func markdownVerdict(run Run) (icon, text string) {
	switch rules.ExitCode(run.Results, failOn(run)) {
	case 2:
		return "⛔", "Incomplete: some rules could not be judged"
	case 1:
		return "❌", "Failed"
	}
	if rules.Summarize(run.Results).Warn > 0 {
		return "⚠️", "Passed with warnings"
	}
	return "✅", "Passed"
}

func mdStatus(s rules.Status) string {
	switch s {
	case rules.StatusPass:
		return "✅ pass"
	case rules.StatusWarn:
		return "⚠️ warn"
	case rules.StatusFail:
		return "❌ fail"
	case rules.StatusError:
		return "⛔ error"
	case rules.StatusSkip:
		return "➖ skip"
	}
	return mdText(string(s))
}

// writeMarkdownFix writes what to do about a finding: its objects, the
// remediation and the SQL, each list capped.
func writeMarkdownFix(b *bytes.Buffer, r rules.Result, h string) {
	fmt.Fprintf(b, "\n%s%s %s\n\n%s\n", h, mdStatus(r.Status), mdCode(r.Rule), mdText(r.Message))
	if len(r.Objects) > 0 {
		b.WriteString("\n")
		for _, o := range r.Objects[:min(len(r.Objects), markdownListMax)] {
			b.WriteString("- " + mdText(o) + "\n")
		}
		if n := len(r.Objects) - markdownListMax; n > 0 {
			fmt.Fprintf(b, "- … and %d more (the JSON report lists them all)\n", n)
		}
	}
	if r.Remediation != "" {
		b.WriteString("\n**Fix:** " + mdText(r.Remediation) + "\n")
	}
	if r.HasFix() {
		// FixLines builds a check's per-table lines on demand: count the
		// rest rather than hold them.
		var code strings.Builder
		shown, more := 0, 0
		for s := range r.FixLines() {
			if shown == markdownListMax {
				more++
				continue
			}
			code.WriteString(printable(s) + "\n")
			shown++
		}
		if more > 0 {
			fmt.Fprintf(&code, "-- … and %d more statements: run 'cdcpreflight fix' for the whole script\n", more)
		}
		if shown > 0 {
			b.WriteString("\n" + mdFence(code.String(), "sql"))
		}
	}
}

// mdSpecial are the characters Markdown (GitHub's included: $ starts math,
// @ a mention, ~ strikethrough) or HTML would interpret in text.
const mdSpecial = "\\`*_[]<>#!|~&$@"

// mdText makes text safe as Markdown: control characters shown as escapes,
// Markdown and HTML syntax backslash-escaped, and line breaks kept as
// hard breaks.
func mdText(s string) string {
	s = printable(s)
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '\n':
			b.WriteString("<br>")
		case r == '\r':
		case strings.ContainsRune(mdSpecial, r):
			b.WriteByte('\\')
			b.WriteRune(r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// mdCell is mdText for a table cell, where a line break must not end the row.
func mdCell(s string) string { return mdText(s) }

// mdCode shows s as inline code; text in a code span is literal, so only
// its backticks need a longer fence, and a pipe (which ends a table cell
// even there) an escape.
func mdCode(s string) string {
	s = strings.ReplaceAll(strings.ReplaceAll(printable(s), "\n", " "), "|", "\\|")
	fence := strings.Repeat("`", longestRun(s, '`')+1)
	pad := ""
	if strings.HasPrefix(s, "`") || strings.HasSuffix(s, "`") {
		pad = " "
	}
	return fence + pad + s + pad + fence
}

// mdFence puts text in a fenced code block whose fence is longer than any
// run of backticks in it.
func mdFence(text, lang string) string {
	fence := strings.Repeat("`", max(3, longestRun(text, '`')+1))
	return fence + lang + "\n" + text + fence + "\n"
}

func longestRun(s string, c rune) int {
	longest, n := 0, 0
	for _, r := range s {
		if r == c {
			n++
			longest = max(longest, n)
		} else {
			n = 0
		}
	}
	return longest
}
