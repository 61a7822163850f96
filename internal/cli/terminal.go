package cli

import (
	"fmt"
	"io"
	"strings"
)

// forTerminal is what fix prints of its script to w. On a terminal, a
// control character in a name (an ESC that would recolour, retitle or
// clear the screen, or move the cursor over a line of the plan) is shown
// as \uXXXX, with a line saying so: the script is for reading there, and
// --sql-out and a redirected stdout get it byte for byte.
func forTerminal(w io.Writer, script []byte) []byte {
	if !isTerminal(w) {
		return script
	}
	return terminalText(script)
}

func terminalText(script []byte) []byte {
	s := printable(string(script))
	if s == string(script) {
		return script
	}
	return []byte("-- Control characters in names are shown as \\uXXXX here; --sql-out writes the script exactly.\n" + s)
}

// printable shows control characters (but newline and tab), bidirectional
// overrides and invalid UTF-8 in s as text: \uXXXX, and U+FFFD.
func printable(s string) string {
	var b strings.Builder
	for _, r := range strings.ToValidUTF8(s, "\uFFFD") {
		if r != '\n' && r != '\t' && (r < 0x20 || r >= 0x7f && r <= 0x9f || r >= 0x202A && r <= 0x202E || r >= 0x2066 && r <= 0x2069) {
			fmt.Fprintf(&b, "\\u%04x", r)
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// printableError is an error whose message quotes input (yaml.v3 quotes
// a config's values, cut at a byte count that can split a character) made
// safe to print; Unwrap gives the original.
type printableError struct{ err error }

func (e printableError) Error() string { return printable(e.err.Error()) }
func (e printableError) Unwrap() error { return e.err }
