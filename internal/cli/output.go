package cli

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/cdcpreflight/cdcpreflight/report"
)

// outputSpec is one --output: a format and where it goes ("" = stdout).
type outputSpec struct {
	Format report.Format
	Path   string
}

func parseOutputs(vals []string) ([]outputSpec, error) {
	specs := make([]outputSpec, 0, len(vals))
	for _, v := range vals {
		name, path, _ := strings.Cut(v, "=")
		f, err := report.ParseFormat(name)
		if err != nil {
			return nil, fmt.Errorf("--output %q: %w", v, err)
		}
		specs = append(specs, outputSpec{Format: f, Path: path})
	}
	return specs, nil
}

// writeOutputs writes every report. Colour goes only to a table on a
// terminal stdout, never to files or machine formats. In GitHub Actions it
// also writes the annotations and the job summary (see github).
func writeOutputs(opt *checkOptions, run report.Run, env Env) error {
	gh := githubOf(env)
	summaryDone := false
	for _, o := range opt.Outputs {
		if o.Path == "" {
			color := o.Format == report.FormatTable && !opt.NoColor && isTerminal(env.Stdout)
			if err := report.Write(env.Stdout, o.Format, run, report.TableOptions{Color: color, Verbose: opt.Verbose}); err != nil {
				return fmt.Errorf("write %s report: %w", o.Format, err)
			}
			continue
		}
		// The job summary file is the step's: appended to, never truncated.
		appendTo := o.Format == report.FormatMarkdown && gh.summary != "" && samePath(o.Path, gh.summary)
		if err := writeReportFile(o, run, appendTo, opt.Verbose); err != nil {
			return err
		}
		summaryDone = summaryDone || appendTo
	}
	if gh.annotations && annotationsFit(opt.Outputs) {
		if err := report.GitHubAnnotations(env.Stdout, run, report.AnnotationOptions{Workspace: gh.workspace}); err != nil {
			return err
		}
	}
	if gh.summary != "" && !summaryDone {
		if err := writeReportFile(outputSpec{Format: report.FormatMarkdown, Path: gh.summary}, run, true, false); err != nil {
			return fmt.Errorf("GitHub job summary ($GITHUB_STEP_SUMMARY): %w", err)
		}
	}
	return nil
}

// github is what a run in GitHub Actions adds to the reports.
type github struct {
	annotations bool   // workflow-command annotations on stdout
	summary     string // the job summary file to append the Markdown report to
	workspace   string // the checkout, which annotations name files relative to
}

// noAnnotationsEnv turns off both the annotations and the job summary.
const noAnnotationsEnv = "CDCPREFLIGHT_NO_ANNOTATIONS"

func githubOf(env Env) github {
	if off := env.Getenv(noAnnotationsEnv); off != "" && off != "0" && off != "false" {
		return github{}
	}
	return github{
		annotations: env.Getenv("GITHUB_ACTIONS") == "true",
		summary:     env.Getenv("GITHUB_STEP_SUMMARY"),
		workspace:   env.Getenv("GITHUB_WORKSPACE"),
	}
}

// annotationsFit: annotations go with a table report, on stdout, which the
// runner reads for workflow commands, and never into a report stream (a
// JSON, JUnit or Markdown report on stdout).
func annotationsFit(outputs []outputSpec) bool {
	table := false
	for _, o := range outputs {
		if o.Path == "" && o.Format != report.FormatTable {
			return false
		}
		table = table || o.Format == report.FormatTable
	}
	return table
}

func samePath(a, b string) bool {
	pa, errA := filepath.Abs(a)
	pb, errB := filepath.Abs(b)
	return errA == nil && errB == nil && pa == pb
}

func writeReportFile(o outputSpec, run report.Run, appendTo, verbose bool) error {
	return writeRendered(o, appendTo, func(w io.Writer) error {
		return report.Write(w, o.Format, run, report.TableOptions{Verbose: verbose})
	})
}

// writeRendered writes the report render writes to o's file: created or
// truncated, or appended to.
func writeRendered(o outputSpec, appendTo bool, render func(io.Writer) error) (err error) {
	flags := os.O_WRONLY | os.O_CREATE | os.O_TRUNC
	if appendTo {
		flags = os.O_WRONLY | os.O_CREATE | os.O_APPEND
	}
	// Readable by the tools that pick reports up (artifact uploaders, CI
	// test reporters), as os.Create made them.
	f, err := os.OpenFile(o.Path, flags, 0o644) //nolint:gosec // G302: reports are meant to be read by other tools
	if err != nil {
		return fmt.Errorf("write %s report: %w", o.Format, err)
	}
	defer func() {
		if cerr := f.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("write %s report %s: %w", o.Format, o.Path, cerr)
		}
	}()
	if err := render(f); err != nil {
		return fmt.Errorf("write %s report %s: %w", o.Format, o.Path, err)
	}
	return nil
}

// isTerminal reports whether w is a character device (a terminal).
func isTerminal(w any) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
