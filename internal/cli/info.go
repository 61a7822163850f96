package cli

import (
	"errors"
	"fmt"
	"slices"
	"strings"

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
		err = rules.ListText(env.Stdout, reg.All())
	case "markdown":
		err = rules.ListMarkdown(env.Stdout, reg.All())
	case "json":
		err = rules.ListJSON(env.Stdout, reg.All())
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
	fmt.Fprint(env.Stdout, rules.Explain(r))
	return exitOK
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
