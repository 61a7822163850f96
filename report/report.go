package report

import (
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"

	"github.com/cdcpreflight/cdcpreflight/rules"
)

// Format names an output format as users type it after --output.
type Format string

// Formats.
const (
	FormatTable Format = "table"
	FormatJSON  Format = "json"
	FormatJUnit Format = "junit"
	// FormatMarkdown is for GitHub's job summary, pull request comments and
	// wikis.
	FormatMarkdown Format = "markdown"
)

// Formats lists the valid formats, default first, for help texts and errors.
func Formats() []Format { return []Format{FormatTable, FormatJSON, FormatJUnit, FormatMarkdown} }

// ParseFormat reads a format name, case-insensitively.
func ParseFormat(s string) (Format, error) {
	f := Format(strings.ToLower(strings.TrimSpace(s)))
	for _, valid := range Formats() {
		if f == valid {
			return f, nil
		}
	}
	return "", fmt.Errorf("unknown report format %q (valid: %s)", s, formatList())
}

// Write renders run in format to w. opt matters only to the table.
func Write(w io.Writer, format Format, run Run, opt TableOptions) error {
	switch format {
	case FormatTable:
		return Table(w, run, opt)
	case FormatJSON:
		return JSON(w, run)
	case FormatJUnit:
		return JUnit(w, run)
	case FormatMarkdown:
		return Markdown(w, run)
	}
	return fmt.Errorf("unknown report format %q (valid: %s)", format, formatList())
}

func formatList() string {
	names := make([]string, 0, len(Formats()))
	for _, f := range Formats() {
		names = append(names, string(f))
	}
	return strings.Join(names, ", ")
}

// defaultToolName stands in when a caller leaves Run.Tool.Name empty, so
// that headers and "explain" hints never lose the command name.
const defaultToolName = "cdcpreflight"

func toolName(run Run) string {
	if run.Tool.Name == "" {
		return defaultToolName
	}
	return run.Tool.Name
}

// failOn treats an unset threshold as the CLI's default: with a zero
// severity every warning would count as failing, which no caller means.
func failOn(run Run) rules.Severity {
	if run.FailOn == 0 {
		return rules.Error
	}
	return run.FailOn
}

// targetLabel is user@host:port/database, the way people name a database
// in conversation; an IPv6 host is bracketed so the port stays unambiguous.
func targetLabel(t Target) string {
	hostPort := net.JoinHostPort(t.Host, strconv.Itoa(int(t.Port)))
	label := hostPort + "/" + t.Database
	if t.User != "" {
		label = t.User + "@" + label
	}
	return label
}

// byCategory orders results as reports show them: by rules.Categories, and
// within a category in run order. Unknown categories keep run order at the
// end rather than disappearing.
func byCategory(results []rules.Result) []rules.Result {
	rank := make(map[string]int, len(rules.Categories))
	for i, c := range rules.Categories {
		rank[c] = i
	}
	rankOf := func(c string) int {
		if i, ok := rank[c]; ok {
			return i
		}
		return len(rules.Categories)
	}
	out := make([]rules.Result, 0, len(results))
	for i := 0; i <= len(rules.Categories); i++ {
		for _, r := range results {
			if rankOf(r.Category) == i {
				out = append(out, r)
			}
		}
	}
	return out
}

// nonNil keeps JSON arrays arrays: consumers should not have to handle null.
func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
