package fix

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/cdcpreflight/cdcpreflight/rules"
)

// Header describes the run a plan belongs to.
type Header struct {
	Tool          string // "cdcpreflight 0.1.0"
	Target        string // user@host:port/db
	Server        string // server_version
	Platform      string
	ConnectorRole string
	LockTimeout   time.Duration
	StmtTimeout   time.Duration
}

// WriteScript writes the plan as a SQL script a person can review and run
// with psql: steps as statements, everything else as comments. Text that
// came from the database (names, messages) is kept on comment lines, so a
// table named "x\nDROP TABLE y" cannot turn into a statement.
func WriteScript(w io.Writer, p Plan, h Header) error {
	b := &strings.Builder{}
	line := func(format string, a ...any) { comment(b, fmt.Sprintf(format, a...)) }
	line("%s fix plan for %s", h.Tool, h.Target)
	line("PostgreSQL %s, platform %s; connector role %s", h.Server, h.Platform, h.ConnectorRole)
	switch {
	case len(p.Steps) == 0 && len(p.Manual) == 0:
		line("Nothing to do.")
	case len(p.Steps) == 0:
		line("No SQL step; %s below.", plural(len(p.Manual), "manual step", "manual steps"))
	default:
		line("%s to review; apply with: cdcpreflight fix --apply (same flags).", plural(len(p.Steps), "step", "steps"))
		line("fix runs each step in its own transaction, stops at the first failure, and never drops anything.")
	}
	line("Printing this plan changed nothing in the database.")
	if len(p.Incomplete) > 0 {
		b.WriteString("--\n")
		line("INCOMPLETE: %s could not be judged, so this plan may miss what they would find:",
			plural(len(p.Incomplete), "rule", "rules"))
		for _, r := range p.Incomplete {
			line("  %s: %s", r.Rule, r.Message)
		}
	}
	if len(p.Steps) > 0 {
		b.WriteString("\n")
		fmt.Fprintf(b, "SET lock_timeout = %s;\n", quoteDuration(h.LockTimeout))
		fmt.Fprintf(b, "SET statement_timeout = %s;\n", quoteDuration(h.StmtTimeout))
	}
	for i, s := range p.Steps {
		b.WriteString("\n")
		line("Step %d of %d · %s · %s", i+1, len(p.Steps), s.Phase, strings.Join(s.Rules, ", "))
		line("Why: %s", s.Why)
		line("Needs: %s", s.Needs)
		if s.Locks != "" {
			line("Locks: %s (waits at most lock_timeout, then fails and stops the apply)", s.Locks)
		} else {
			line("Locks: none that the application takes")
		}
		if s.NonTransactional {
			line("Runs outside a transaction block: a rollback cannot undo it.")
		}
		if s.Phase == rules.PhaseSlot {
			line("It waits for transactions already writing to finish (bounded by statement_timeout).")
		}
		if s.Note != "" {
			line("Note: %s", s.Note)
		}
		b.WriteString(s.SQL)
		b.WriteString("\n")
	}
	if len(p.Manual) > 0 {
		b.WriteString("\n")
		line("Manual steps: fix does not do these; do them yourself, in this order.")
		for i, m := range p.Manual {
			b.WriteString("--\n")
			line("%d. %s: %s", i+1, m.Rule, m.Message)
			line("   Not done by fix: %s.", m.Reason)
			for _, l := range wrap(m.Remediation, 96) {
				line("   %s", l)
			}
			for _, sql := range m.SQL {
				line("     %s", sql)
			}
		}
	}
	if len(p.Declined) > 0 {
		b.WriteString("\n")
		line("Not planned: warnings whose fix is an opt-in you did not enable.")
		for _, m := range p.Declined {
			b.WriteString("--\n")
			line("- %s: %s", m.Rule, m.Message)
			line("  %s.", strings.ToUpper(m.Reason[:1])+m.Reason[1:])
			for i, sql := range m.SQL {
				if i == declinedShown {
					line("    … and %d more", len(m.SQL)-declinedShown)
					break
				}
				line("    %s", sql)
			}
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// declinedShown caps the statements shown for a declined opt-in: with
// thousands of tables the list would bury the plan, and the flag runs them all.
const declinedShown = 5

// newlines turns every line break into "\n"; built once, as a plan of
// 100,000 steps comments each.
var newlines = strings.NewReplacer("\r\n", "\n", "\r", "\n")

// comment writes text as SQL comment lines; line breaks in it start new
// comment lines rather than statements. Other control characters (an ESC
// in a table name would recolour or clear the terminal of whoever reads
// the plan) are written as visible escapes: a comment is for people.
func comment(b *strings.Builder, text string) {
	text = newlines.Replace(text)
	for _, l := range strings.Split(text, "\n") {
		b.WriteString(strings.TrimRight("-- "+visible(l), " "))
		b.WriteString("\n")
	}
}

// visible replaces control characters but the tab, bidirectional
// overrides and invalid UTF-8 with escapes a terminal shows as text.
func visible(s string) string {
	return controlReplacer.Replace(strings.ToValidUTF8(s, "\uFFFD"))
}

// controlReplacer writes each control character (but the tab and the
// newline) and bidirectional override as \uXXXX.
var controlReplacer = func() *strings.Replacer {
	var pairs []string
	add := func(r rune) { pairs = append(pairs, string(r), fmt.Sprintf("\\u%04x", r)) }
	for r := rune(0); r < 0x20; r++ {
		if r != '\t' && r != '\n' {
			add(r)
		}
	}
	for r := rune(0x7f); r <= 0x9f; r++ {
		add(r)
	}
	for _, r := range []rune{0x202A, 0x202B, 0x202C, 0x202D, 0x202E, 0x2066, 0x2067, 0x2068, 0x2069} {
		add(r)
	}
	return strings.NewReplacer(pairs...)
}()

// wrap breaks text into lines of at most width runes at spaces.
func wrap(text string, width int) []string {
	var out []string
	for _, para := range strings.Split(text, "\n") {
		cur := ""
		for _, w := range strings.Fields(para) {
			if cur != "" && len([]rune(cur))+1+len([]rune(w)) > width {
				out = append(out, cur)
				cur = ""
			}
			if cur != "" {
				cur += " "
			}
			cur += w
		}
		out = append(out, cur)
	}
	return out
}

// quoteDuration renders d as a PostgreSQL time setting: whole seconds as
// "5s", anything else in milliseconds, which is the unit timeouts take.
func quoteDuration(d time.Duration) string {
	if d%time.Second == 0 {
		return fmt.Sprintf("'%ds'", d/time.Second)
	}
	return fmt.Sprintf("'%dms'", d.Milliseconds())
}

func plural(n int, one, many string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, one)
	}
	return fmt.Sprintf("%d %s", n, many)
}
