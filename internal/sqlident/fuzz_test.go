package sqlident

import (
	"strings"
	"testing"

	"github.com/cdcpreflight/cdcpreflight/internal/fuzzcheck"
)

// FuzzQuote: whatever the name, Quote renders one identifier token that
// reads back as the name; it is bare only when quote_ident would leave it
// bare (lower-case ASCII letters, digits and underscores, not starting
// with a digit, not a keyword PostgreSQL would misread), and Qualified is
// exactly two identifiers around a dot. TestQuoteAgreesWithServer checks
// the corpus against a real server's quote_ident.
func FuzzQuote(f *testing.F) {
	for _, n := range fuzzcheck.HostileNames {
		f.Add(n)
	}
	f.Fuzz(func(t *testing.T, name string) {
		q := Quote(name)
		toks, err := fuzzcheck.LexSQL(q)
		if err != nil {
			t.Fatalf("Quote(%q) = %s: %v", name, q, err)
		}
		if len(toks) != 1 || (toks[0].Kind != fuzzcheck.Word && toks[0].Kind != fuzzcheck.QuotedIdent) {
			t.Fatalf("Quote(%q) = %s: %d tokens %v, want one identifier", name, q, len(toks), toks)
		}
		if got := toks[0].Value(); got != name {
			t.Fatalf("Quote(%q) = %s reads back as %q", name, q, got)
		}
		if bare := toks[0].Kind == fuzzcheck.Word; bare != serverLeavesBare(name) {
			t.Fatalf("Quote(%q) = %s: bare %v, quote_ident's rule says bare %v", name, q, bare, !bare)
		}
		qual := Qualified(name, name+"x")
		toks, err = fuzzcheck.LexSQL(qual)
		if err != nil || len(toks) != 3 || toks[1].Text != "." || toks[0].Value() != name || toks[2].Value() != name+"x" {
			t.Fatalf("Qualified(%q, %q) = %s: %v %v", name, name+"x", qual, toks, err)
		}
	})
}

// serverLeavesBare is quote_identifier's rule (ruleutils.c): the first
// byte a lower-case letter or underscore, every byte a lower-case letter,
// digit or underscore, and not a keyword outside the unreserved category.
func serverLeavesBare(name string) bool {
	if name == "" || (name[0] < 'a' || name[0] > 'z') && name[0] != '_' {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '_' {
			return false
		}
	}
	return !quotedKeywords[name]
}

// FuzzLiteral: whatever the text, Literal renders one string literal that
// reads back as the text, with standard_conforming_strings on (the lexer
// here) and, since a backslash switches to the E” form, off.
func FuzzLiteral(f *testing.F) {
	for _, n := range fuzzcheck.HostileNames {
		f.Add(n)
	}
	f.Fuzz(func(t *testing.T, s string) {
		lit := Literal(s)
		toks, err := fuzzcheck.LexSQL(lit)
		if err != nil {
			t.Fatalf("Literal(%q) = %s: %v", s, lit, err)
		}
		if len(toks) != 1 || toks[0].Kind != fuzzcheck.String {
			t.Fatalf("Literal(%q) = %s: tokens %v, want one string", s, lit, toks)
		}
		if got := toks[0].Value(); got != s {
			t.Fatalf("Literal(%q) = %s reads back as %q", s, lit, got)
		}
		// With standard_conforming_strings off a backslash escapes in
		// '…' too: a literal that has one must be in the E'' form.
		if strings.Contains(s, `\`) && !strings.HasPrefix(lit, "E'") {
			t.Fatalf("Literal(%q) = %s: a backslash outside E''", s, lit)
		}
	})
}
