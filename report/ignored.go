package report

import (
	"fmt"
	"strings"

	"github.com/cdcpreflight/cdcpreflight/rules"
)

// ignoredListMax caps the objects a one-line account of an ignore names;
// the JSON report lists them all.
const ignoredListMax = 5

// ignoredText says in one line what one ignore entry took out of r, and
// why: "public.audit_log, public.audit_2024: append-only (until 2026-12-31)".
func ignoredText(r rules.Result, ig rules.Ignored) string {
	what := "the whole finding"
	if n := len(ig.Objects); n > 0 {
		shown := ig.Objects[:min(n, ignoredListMax)]
		what = strings.Join(shown, ", ")
		if n > len(shown) {
			what += fmt.Sprintf(" and %d more", n-len(shown))
		}
	}
	s := fmt.Sprintf("%s: %s — %s", r.Rule, what, oneLineText(ig.Reason))
	if ig.Expires != "" {
		s += " (until " + ig.Expires + ")"
	}
	return s
}

// whollyIgnored reports whether r passes only because the config ignores
// its finding.
func whollyIgnored(r rules.Result) bool {
	_, wholly := r.IgnoredObjects()
	return wholly
}

// ignoredCounts counts the results the config's ignores touched and the
// objects they took out.
func ignoredCounts(results []rules.Result) (findings, objects int) {
	for _, r := range results {
		if n, _ := r.IgnoredObjects(); len(r.Ignored) > 0 {
			findings++
			objects += n
		}
	}
	return findings, objects
}

// oneLineText joins the lines of s with spaces.
func oneLineText(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
