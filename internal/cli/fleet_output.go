package cli

import (
	"fmt"
	"io"

	"github.com/cdcpreflight/cdcpreflight/report"
)

// writeFleetOutputs writes every report of a fleet, as writeOutputs does
// one database's: colour only on a terminal, and in GitHub Actions the
// annotations (each naming its target) and the job summary.
func writeFleetOutputs(opt *checkOptions, fleet report.Fleet, env Env) error {
	gh := githubOf(env)
	summaryDone := false
	for _, o := range opt.Outputs {
		if o.Path == "" {
			color := o.Format == report.FormatTable && !opt.NoColor && isTerminal(env.Stdout)
			if err := report.WriteFleet(env.Stdout, o.Format, fleet, report.TableOptions{Color: color, Verbose: opt.Verbose}); err != nil {
				return fmt.Errorf("write %s report: %w", o.Format, err)
			}
			continue
		}
		appendTo := o.Format == report.FormatMarkdown && gh.summary != "" && samePath(o.Path, gh.summary)
		if err := writeRendered(o, appendTo, func(w io.Writer) error {
			return report.WriteFleet(w, o.Format, fleet, report.TableOptions{Verbose: opt.Verbose})
		}); err != nil {
			return err
		}
		summaryDone = summaryDone || appendTo
	}
	if gh.annotations && annotationsFit(opt.Outputs) {
		if err := report.FleetAnnotations(env.Stdout, fleet, report.AnnotationOptions{Workspace: gh.workspace}); err != nil {
			return err
		}
	}
	if gh.summary != "" && !summaryDone {
		o := outputSpec{Format: report.FormatMarkdown, Path: gh.summary}
		if err := writeRendered(o, true, func(w io.Writer) error { return report.FleetMarkdown(w, fleet) }); err != nil {
			return fmt.Errorf("GitHub job summary ($GITHUB_STEP_SUMMARY): %w", err)
		}
	}
	return nil
}
