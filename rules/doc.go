package rules

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// The renderings of rule documentation, next to the metadata they show:
// the CLI's "rules" listing in each of its formats, and its "explain" page.

// ListText writes one line per rule: ID, default severity, category and
// title, in columns.
func ListText(w io.Writer, rs []Rule) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSEVERITY\tCATEGORY\tTITLE")
	for _, r := range rs {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", r.ID, r.Severity, r.Category, r.Title)
	}
	return tw.Flush()
}

// ListMarkdown writes the rule table the README carries; a test keeps the
// README in step with the registry.
func ListMarkdown(w io.Writer, rs []Rule) error {
	var b strings.Builder
	b.WriteString("| ID | severity | category | checks that |\n|---|---|---|---|\n")
	for _, r := range rs {
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s |\n", r.ID, r.Severity, r.Category, r.Title)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// ListJSON writes every rule's documentation as a JSON array, with the
// hard-wrapped texts joined into single lines.
func ListJSON(w io.Writer, rs []Rule) error {
	type doc struct {
		ID       string   `json:"id"`
		Title    string   `json:"title"`
		Category string   `json:"category"`
		Severity Severity `json:"severity"`
		Since    string   `json:"since"`
		Why      string   `json:"why"`
		Fix      string   `json:"fix"`
	}
	out := make([]doc, len(rs))
	for i, r := range rs {
		out[i] = doc{r.ID, r.Title, r.Category, r.Severity, r.Since, unwrap(r.Why), unwrap(r.Fix)}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

// Explain is the explain page of r: why it matters, how to fix what it
// finds, and how to re-grade it in the config file.
func Explain(r Rule) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s — %s\n\n", r.ID, r.Title)
	fmt.Fprintf(&b, "Category: %s   Default severity: %s   Since: %s\n\n", r.Category, r.Severity, r.Since)
	fmt.Fprintf(&b, "Why it matters\n%s\n\nHow to fix\n%s\n", indent(r.Why), indent(r.Fix))
	fmt.Fprintf(&b, "\nDisable or re-grade it in the config file:\n  rules:\n    %s:\n      severity: warning   # or: disabled: true\n", r.ID)
	fmt.Fprintf(&b, "\nThe full page, with the fix per platform, the facts it reads and the PostgreSQL\nversions it judges: %s\n  %s\n", PagePath(r.ID), PageURL(r.ID))
	return b.String()
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
