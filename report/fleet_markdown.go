package report

import (
	"bytes"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/cdcpreflight/cdcpreflight/rules"
)

// fleetMarkdownMax bounds the fleet's Markdown document below the 1 MiB
// GitHub accepts as a job summary: the targets' sections stop there, and
// the document says how many were left out.
const fleetMarkdownMax = 900 << 10

// FleetMarkdown writes the fleet as one Markdown document: the verdict, a
// table row per target (its counts and the exit code it alone would give),
// then a section per target that has findings, as its own report shows
// them, under its name.
func FleetMarkdown(w io.Writer, f Fleet) error {
	var b bytes.Buffer
	s := f.Summarize()
	icon, verdict := "✅", "Passed"
	switch {
	case s.ExitCode == 2:
		icon, verdict = "⛔", "Incomplete: some targets could not be judged in full"
	case s.ExitCode == 1:
		icon, verdict = "❌", "Failed"
	case s.Results.Warn > 0:
		icon, verdict = "⚠️", "Passed with warnings"
	}
	fmt.Fprintf(&b, "## %s %s\n\n", icon, mdText(fleetHeading(f)))
	about := []string{"fail-on: " + f.failOn().String()}
	if f.Interrupted {
		about = append(about, fmt.Sprintf("interrupted: %d of %d targets not checked", s.Targets-s.Checked, s.Targets))
	}
	fmt.Fprintf(&b, "**%s** · %s\n\n%s\n", verdict, strings.Join(about, " · "), mdText(fleetSummaryLine(f)))
	if len(f.Targets) > 0 {
		b.WriteString("\n| target | database | pass | warn | fail | skip | error | exit |\n|---|---|--:|--:|--:|--:|--:|--:|\n")
		for _, run := range f.Targets {
			run = f.target(run)
			one := rules.Summarize(run.Results)
			fmt.Fprintf(&b, "| %s | %s | %d | %d | %d | %d | %d | %s |\n", mdCell(run.Target.Name), mdCode(fleetLabel(run.Target)),
				one.Pass, one.Warn, one.Fail, one.Skip, one.Error, mdExit(TargetExitCode(run)))
		}
	}
	left := 0
	for _, run := range f.Targets {
		run = f.target(run)
		if TargetExitCode(run) == 0 && rules.Summarize(run.Results).Warn == 0 && len(run.Warnings) == 0 {
			continue
		}
		if b.Len() > fleetMarkdownMax {
			left++
			continue
		}
		b.WriteString("\n")
		if err := MarkdownSection(&b, run, MarkdownOptions{Level: 3, OmitRules: true}); err != nil {
			return err
		}
	}
	if left > 0 {
		fmt.Fprintf(&b, "\n… and %d more targets with findings: GitHub's job summary holds 1 MiB; the JSON report has them all.\n", left)
	}
	if _, err := w.Write(b.Bytes()); err != nil {
		return fmt.Errorf("write Markdown report: %w", err)
	}
	return nil
}

func mdExit(code int) string {
	switch code {
	case 0:
		return "✅ 0"
	case 1:
		return "❌ 1"
	}
	return "⛔ " + strconv.Itoa(code)
}

// FleetAnnotations writes the GitHub annotations of every target, each
// title naming its target: every target's errors first, then the
// warnings, as GitHub shows only the first ten of each kind per step.
func FleetAnnotations(w io.Writer, f Fleet, opt AnnotationOptions) error {
	opt.NameTarget = true
	var errs, warns strings.Builder
	var one bytes.Buffer
	for _, run := range f.Targets {
		run = f.target(run)
		// The rules that could not be judged for one cause are one
		// annotation: a target that did not answer is not forty.
		ordered := byCategory(run.Results)
		judged := run
		judged.Results = nil
		for _, r := range ordered {
			if r.Status != rules.StatusError {
				judged.Results = append(judged.Results, r)
			}
		}
		for _, c := range errorsByCause(ordered) {
			title := fmt.Sprintf("%s could not be judged (%s)", pluralN(len(c.rules), "rule", "rules"), annotationTarget(run))
			fmt.Fprintf(&errs, "::error title=%s::%s\n", escapeProperty(title),
				escapeData(c.message+"\nRules: "+strings.Join(c.rules, ", ")))
		}
		one.Reset()
		if err := GitHubAnnotations(&one, judged, opt); err != nil {
			return err
		}
		for _, line := range strings.SplitAfter(one.String(), "\n") {
			switch {
			case strings.HasPrefix(line, "::error"):
				errs.WriteString(line)
			case line != "":
				warns.WriteString(line)
			}
		}
	}
	if _, err := io.WriteString(w, errs.String()+warns.String()); err != nil {
		return fmt.Errorf("write GitHub annotations: %w", err)
	}
	return nil
}
