package javaregex

import (
	"errors"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// FuzzCompile: any pattern compiles, or is refused with a reason, in
// bounded time and without a panic. A compiled pattern's literal shortcut
// agrees with its RE2 translation on any input; compiled case-insensitive
// (as Debezium compiles its filter lists), swapping the case of the
// input's ASCII letters never changes the answer, as in Java; and the
// pattern reads back as it was written.
func FuzzCompile(f *testing.F) {
	for _, s := range [][2]string{
		{`public\.orders`, "public.orders"}, {`inventory\.audit_.*`, "INVENTORY.audit_x"}, {`(?i)a|b`, "B"},
		{`[a-z&&[^x]]`, "y"}, {`\Qa.b\E`, "a.b"}, {`a{1000}`, "a"}, {`a{1001}`, ""}, {`(a*)*b`, strings.Repeat("a", 40)},
		{`\x{1F418}`, "🐘"}, {`\u00e9`, "É"}, {`\cA`, "\x01"}, {`[\w&&\d]`, "1"}, {`(?<n>a)\k<n>`, "aa"},
		{`x(?=y)`, "xy"}, {`a++`, "aa"}, {`[`, ""}, {`\`, ""}, {`(`, ""}, {`a{2,1}`, ""}, {`\p{L}`, "a"},
		{`.*`, "line\nbreak"}, {`(?s).*`, "line\nbreak"}, {`^a$`, "a"}, {`a$`, "a\n"}, {`\Z`, ""}, {`ß`, "SS"}, {`K`, "\u212a"},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, pattern, input string) {
		if !utf8.ValidString(pattern) || !utf8.ValidString(input) {
			// Patterns come from decoded configuration files and names
			// from the catalog: text, always. (With invalid UTF-8 the
			// literal shortcut compares bytes where RE2 sees U+FFFD.)
			return
		}
		start := time.Now()
		for _, ci := range []bool{false, true} {
			p, err := compile(pattern, ci)
			if err != nil {
				var e *Error
				if !errors.As(err, &e) {
					t.Fatalf("%q: an error that is not an *Error: %v", pattern, err)
				}
				continue
			}
			if p.String() != pattern {
				t.Fatalf("%q reads back as %q", pattern, p.String())
			}
			got := p.MatchString(input)
			if p.isLiteral && got != p.re.MatchString(input) {
				t.Fatalf("%q on %q: the literal shortcut says %v, the translation %v (%s)", pattern, input, got, !got, p.RE2())
			}
			if ci && p.MatchString(swapASCIICase(input)) != got {
				t.Fatalf("%q (case-insensitive) matches %q: %v, but %q: %v (%s)", pattern, input, got, swapASCIICase(input), !got, p.RE2())
			}
		}
		if took := time.Since(start); took > 5*time.Second {
			t.Fatalf("%q on %d bytes took %s", pattern, len(input), took)
		}
	})
}

func swapASCIICase(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z':
			return r - 'a' + 'A'
		case r >= 'A' && r <= 'Z':
			return r - 'A' + 'a'
		}
		return r
	}, s)
}
