package cli

import (
	"fmt"
	"os"
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
// terminal stdout, never to files or machine formats.
func writeOutputs(opt *checkOptions, run report.Run, env Env) error {
	for _, o := range opt.Outputs {
		if o.Path == "" {
			color := o.Format == report.FormatTable && !opt.NoColor && isTerminal(env.Stdout)
			if err := report.Write(env.Stdout, o.Format, run, report.TableOptions{Color: color, Verbose: opt.Verbose}); err != nil {
				return fmt.Errorf("write %s report: %w", o.Format, err)
			}
			continue
		}
		if err := writeReportFile(o, run, opt.Verbose); err != nil {
			return err
		}
	}
	return nil
}

func writeReportFile(o outputSpec, run report.Run, verbose bool) (err error) {
	f, err := os.Create(o.Path)
	if err != nil {
		return fmt.Errorf("write %s report: %w", o.Format, err)
	}
	defer func() {
		if cerr := f.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("write %s report %s: %w", o.Format, o.Path, cerr)
		}
	}()
	if err := report.Write(f, o.Format, run, report.TableOptions{Verbose: verbose}); err != nil {
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
