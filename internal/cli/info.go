package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/spf13/pflag"

	"github.com/cdcpreflight/cdcpreflight/checks"
	"github.com/cdcpreflight/cdcpreflight/rules"
)

func runRules(args []string, env Env) int {
	fs := pflag.NewFlagSet("rules", pflag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	format := fs.String("format", "text", "text, markdown or json")
	fs.Usage = func() {
		fmt.Fprintf(env.Stdout, "Usage: cdcpreflight rules [--format text|markdown|json]\n\nLists every rule with its ID, default severity, category and title.\n\nFlags:\n%s", fs.FlagUsages())
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return exitOK
		}
		return exitError
	}
	reg, err := checks.Registry()
	if err != nil {
		fmt.Fprintf(env.Stderr, "cdcpreflight: internal error: %v\n", err)
		return exitError
	}
	switch *format {
	case "text":
		err = rulesText(env.Stdout, reg.All())
	case "markdown":
		err = RulesMarkdown(env.Stdout, reg.All())
	case "json":
		err = rulesJSON(env.Stdout, reg.All())
	default:
		fmt.Fprintf(env.Stderr, "cdcpreflight rules: --format %q: want text, markdown or json\n", *format)
		return exitError
	}
	if err != nil {
		fmt.Fprintf(env.Stderr, "cdcpreflight rules: %v\n", err)
		return exitError
	}
	return exitOK
}

func rulesText(w io.Writer, rs []rules.Rule) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSEVERITY\tCATEGORY\tTITLE")
	for _, r := range rs {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", r.ID, r.Severity, r.Category, r.Title)
	}
	return tw.Flush()
}

// RulesMarkdown writes the rule table the README carries; a test keeps the
// README in step with the registry.
func RulesMarkdown(w io.Writer, rs []rules.Rule) error {
	var b strings.Builder
	b.WriteString("| ID | severity | category | checks that |\n|---|---|---|---|\n")
	for _, r := range rs {
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s |\n", r.ID, r.Severity, r.Category, r.Title)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func rulesJSON(w io.Writer, rs []rules.Rule) error {
	type doc struct {
		ID       string         `json:"id"`
		Title    string         `json:"title"`
		Category string         `json:"category"`
		Severity rules.Severity `json:"severity"`
		Since    string         `json:"since"`
		Why      string         `json:"why"`
		Fix      string         `json:"fix"`
	}
	out := make([]doc, len(rs))
	for i, r := range rs {
		out[i] = doc{r.ID, r.Title, r.Category, r.Severity, r.Since, unwrap(r.Why), unwrap(r.Fix)}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

func runExplain(args []string, env Env) int {
	if len(args) == 1 && (args[0] == "-h" || args[0] == "--help") {
		fmt.Fprint(env.Stdout, "Usage: cdcpreflight explain RULE\n\nShows why a rule matters and how to fix what it finds. 'cdcpreflight rules' lists the IDs.\n")
		return exitOK
	}
	if len(args) != 1 {
		fmt.Fprint(env.Stderr, "cdcpreflight explain: name one rule, e.g. 'cdcpreflight explain wal-level' ('cdcpreflight rules' lists them)\n")
		return exitError
	}
	reg, err := checks.Registry()
	if err != nil {
		fmt.Fprintf(env.Stderr, "cdcpreflight: internal error: %v\n", err)
		return exitError
	}
	r, ok := reg.Lookup(strings.TrimSpace(args[0]))
	if !ok {
		msg := fmt.Sprintf("cdcpreflight explain: unknown rule %q", args[0])
		if near := nearest(args[0], reg.IDs()); len(near) > 0 {
			msg += fmt.Sprintf("; did you mean %s?", strings.Join(near, " or "))
		}
		fmt.Fprintf(env.Stderr, "%s ('cdcpreflight rules' lists them)\n", msg)
		return exitError
	}
	fmt.Fprintf(env.Stdout, "%s — %s\n\n", r.ID, r.Title)
	fmt.Fprintf(env.Stdout, "Category: %s   Default severity: %s   Since: %s\n\n", r.Category, r.Severity, r.Since)
	fmt.Fprintf(env.Stdout, "Why it matters\n%s\n\nHow to fix\n%s\n", indent(r.Why), indent(r.Fix))
	fmt.Fprintf(env.Stdout, "\nDisable or re-grade it in the config file:\n  rules:\n    %s:\n      severity: warning   # or: disabled: true\n", r.ID)
	return exitOK
}

func indent(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	for i, l := range lines {
		lines[i] = "  " + l
	}
	return strings.Join(lines, "\n")
}

// unwrap joins the hard-wrapped lines of rule docs for machine output.
func unwrap(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// nearest suggests IDs sharing a word with the misspelt one.
func nearest(id string, ids []string) []string {
	var out []string
	for _, cand := range ids {
		for _, w := range strings.Split(strings.ToLower(id), "-") {
			if len(w) >= 3 && strings.Contains(cand, w) && !slices.Contains(out, cand) {
				out = append(out, cand)
			}
		}
	}
	if len(out) > 3 {
		out = out[:3]
	}
	return out
}
