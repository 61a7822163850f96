package javaregex

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

func TestMatchesLikeDebezium(t *testing.T) {
	for _, tc := range []struct {
		pattern string
		match   []string
		nomatch []string
	}{
		// Case-insensitive, anchored, '.' a wildcard.
		{`public.orders`, []string{"public.orders", "PUBLIC.Orders", "publicXorders"}, []string{"public.orders2", "xpublic.orders"}},
		{`public\.orders`, []string{"public.orders", "Public.ORDERS"}, []string{"publicXorders"}},
		{`public[.]order.*`, []string{"public.orders", "public.order_items", "PUBLIC.ORDER"}, []string{"public.customers"}},
		{`inventory\..*|sales\.t[0-9]+`, []string{"inventory.x", "SALES.T12"}, []string{"sales.t", "sales.tx"}},
		// Java folds ASCII letters only: é does not match É, and the
		// Kelvin sign does not match k, unlike RE2's (?i).
		{`café`, []string{"café", "CAFé"}, []string{"CAFÉ"}},
		{`k`, []string{"k", "K"}, []string{"\u212a"}},
		{`[a-c]x`, []string{"Bx", "bX"}, []string{"dx"}},
		{`[^a]`, []string{"b", "é"}, []string{"a", "A"}},
		// Java's '.' stops at every line terminator; \s includes \v.
		{`a.b`, []string{"a-b", "aéb"}, []string{"a\nb", "a\rb", "a\u0085b", "a\u2028b"}},
		{`(?s)a.b`, []string{"a\nb", "a\u2028b"}, nil},
		{`a\sb`, []string{"a b", "a\vb"}, []string{"a\u00a0b"}},
		{`a\Sb`, []string{"axb"}, []string{"a\vb"}},
		{`(?-i)Orders`, []string{"Orders"}, []string{"orders"}},
		{`(?-i:O)rders`, []string{"Orders", "ORDERS"}, []string{"orders"}},
		{`a(?-i)b|c`, []string{"Ab", "c"}, []string{"AB", "C"}},
		{`\Qa.b\E`, []string{"a.b", "A.B"}, []string{"axb"}},
		{`\x41\u0042\0103`, []string{"abc", "ABC"}, nil},
		{`x{2,3}`, []string{"xx", "XXX"}, []string{"x", "xxxx"}},
		{`a$|b`, []string{"a", "b"}, []string{"a\n"}},
		{`^a`, []string{"a"}, nil},
		{`(?<n>ab)+`, []string{"abAB"}, []string{"aba"}},
		{`\w+`, []string{"a_1"}, []string{"é"}},
		{`\d\D`, []string{"1x"}, []string{"12"}},
	} {
		p, err := CompileCaseInsensitive(tc.pattern)
		if err != nil {
			t.Errorf("%q: %v", tc.pattern, err)
			continue
		}
		for _, s := range tc.match {
			if !p.MatchString(s) {
				t.Errorf("%q should match %q (RE2 %s)", tc.pattern, s, p.RE2())
			}
		}
		for _, s := range tc.nomatch {
			if p.MatchString(s) {
				t.Errorf("%q should not match %q (RE2 %s)", tc.pattern, s, p.RE2())
			}
		}
	}
}

func TestRefusesWhatItCannotReproduce(t *testing.T) {
	for _, tc := range []struct {
		pattern string
		want    error
		reason  string
	}{
		{`(?=a)a`, ErrUnsupported, "look-ahead"},
		{`(?<!a)b`, ErrUnsupported, "look-behind"},
		{`(?>a)`, ErrUnsupported, "atomic"},
		{`a*+`, ErrUnsupported, "possessive"},
		{`(a)\1`, ErrUnsupported, "back reference"},
		{`[a-z&&[^e]]`, ErrUnsupported, "intersections"},
		{`[a[b]]`, ErrUnsupported, "nested"},
		{`\bword`, ErrUnsupported, "word boundaries"},
		{`\p{Lower}`, ErrUnsupported, `\p`},
		{`(?x)a b`, ErrUnsupported, "inline flag"},
		{`(?u)é`, ErrUnsupported, "inline flag"},
		{`a$\n`, ErrUnsupported, "$ or"},
		{`a{1001}`, ErrUnsupported, "1000"},
		{`*a`, ErrInvalid, "dangling"},
		{`a**`, ErrInvalid, "dangling"},
		{`(a`, ErrInvalid, "unclosed group"},
		{`a)`, ErrInvalid, "unmatched"},
		{`[a`, ErrInvalid, "unclosed character class"},
		{`a{x}`, ErrInvalid, "repetition"},
		{`\i`, ErrInvalid, "escape"},
		{`[z-a]`, ErrInvalid, "range"},
	} {
		_, err := CompileCaseInsensitive(tc.pattern)
		if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.reason) {
			t.Errorf("%q: err = %v, want %v mentioning %q", tc.pattern, err, tc.want, tc.reason)
		}
	}
}

// TestAgainstJava holds the translation against java.util.regex itself:
// hand-picked and generated patterns, each compiled by Java with
// CASE_INSENSITIVE (as Debezium does) and matched against subjects built
// from its own characters in other cases and Unicode look-alikes. A
// pattern the translation accepts must be one Java accepts, matching
// exactly the same subjects; one it calls invalid must be one Java
// rejects. Refused patterns are only counted. Needs a JDK (java with
// source launching, 11+); under CI=true its absence fails the test.
func TestAgainstJava(t *testing.T) {
	java, err := exec.LookPath("java")
	if err == nil {
		// Running a source file needs the JDK's compiler, not only a JRE.
		_, err = exec.LookPath("javac")
	}
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("a JDK is needed to hold the translation against java.util.regex (apt-get install openjdk-17-jdk-headless)")
		}
		t.Skip("no JDK installed")
	}
	rnd := rand.New(rand.NewPCG(11, uint64(time.Now().UnixNano())))
	if s := os.Getenv("JAVAREGEX_SEED"); s != "" {
		var seed uint64
		if _, err := fmt.Sscan(s, &seed); err != nil {
			t.Fatalf("JAVAREGEX_SEED=%q: %v", s, err)
		}
		rnd = rand.New(rand.NewPCG(11, seed))
	}
	patterns := append([]string{}, fixedPatterns...)
	for range 3000 {
		patterns = append(patterns, genPattern(rnd, 0))
	}
	var in bytes.Buffer
	subjects := make([][]string, len(patterns))
	for i, p := range patterns {
		subjects[i] = genSubjects(rnd, p)
		in.WriteString(hex.EncodeToString([]byte(p)))
		for _, s := range subjects[i] {
			in.WriteByte(' ')
			in.WriteString(hex.EncodeToString([]byte(s)))
		}
		in.WriteByte('\n')
	}
	cmd := exec.Command(java, "testdata/Oracle.java")
	cmd.Stdin = &in
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("java: %v\n%s", err, stderr.String())
	}
	lines := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
	if len(lines) != len(patterns) {
		t.Fatalf("java answered %d lines for %d patterns", len(lines), len(patterns))
	}
	var ok, invalid, refused, mismatches int
	for i, p := range patterns {
		javaInvalid := lines[i] == "E"
		got, err := CompileCaseInsensitive(p)
		switch {
		case errors.Is(err, ErrInvalid):
			invalid++
			if !javaInvalid {
				t.Errorf("%q: translation says Java rejects it (%v), Java accepts it", p, err)
			}
		case err != nil:
			refused++
		case javaInvalid:
			t.Errorf("%q: Java rejects it, the translation accepts it as %s", p, got.RE2())
		default:
			ok++
			for j, s := range subjects[i] {
				if want := lines[i][j] == '1'; got.MatchString(s) != want {
					mismatches++
					t.Errorf("%q on %q: Java %v, translation %v (RE2 %s)", p, s, want, !want, got.RE2())
				}
			}
		}
	}
	t.Logf("%d patterns: %d evaluated (every subject agreed unless reported), %d invalid in both, %d refused; %d mismatches",
		len(patterns), ok, invalid, refused, mismatches)
	if ok < len(patterns)/3 {
		t.Errorf("only %d of %d patterns were evaluated: the generator or the translation is off", ok, len(patterns))
	}
}

// fixedPatterns are the constructs the translation handles specially.
var fixedPatterns = []string{
	`public.orders`, `public\.orders`, `café`, `k`, `[a-c]x`, `[^a]`, `a.b`, `(?s)a.b`, `a\sb`, `a\Sb`,
	`(?-i)Orders`, `(?-i:O)rders`, `a(?-i)b|c`, `\Qa.b\E`, `\x41\u0042\0103`, `x{2,3}`, `a$|b`, `a$`, `a\Z`,
	`^a`, `(?<n>ab)+`, `\w+`, `\d\D`, `[\w-]`, `[-a]`, `[a-]`, `[Z-a]`, `[^Z-a]`, `\e\a\t`, `\cA`,
	`{2}a`, `a{2}{3}`, `\Q\E*`, `(?i)*`, `a||b`, `()`, `(|a)`, `[&]`, `[a&b]`, `[\\]`, `[\]]`, `]`, `}`,
	`\uD83D\uDE00`, `\x{1F600}`, `é+`, `(?i:É)`, `[é]`, `ſ`, `\u017F`, `[ſ]`, `K`, `[K]`, `İ`, `ı`,
	`\E`, `\0`, `\08`, `\0377`, `\0400`, `\x4`, `\x{}`, `\x{110000}`, `\u12`, `a{,3}`, `a{3,2}`, `a{2,}`,
	`(?<a1>x)(?<a1>y)`, `(?<1a>x)`, `(?)`, `(?z)`, `(?i-s:a.)`, `[^\s\S]`, `[\s\S]`, `a(?=b)`,
}

var genAlphabet = []string{"a", "b", "B", "z", "_", "0", "9", ".", "-", " ", "é", "É", "K", "k", "\u212a", "ſ", "s", "ß", "\n", "\r", "\u0085", "\v", "$", "\\"}

// genPattern builds a random Java pattern, mostly well-formed and within
// the supported subset, sometimes not.
func genPattern(r *rand.Rand, depth int) string {
	var b strings.Builder
	n := 1 + r.IntN(4)
	for range n {
		switch k := r.IntN(30); {
		case k < 8:
			b.WriteString(genLiteral(r))
		case k < 10:
			b.WriteString(".")
		case k < 13:
			b.WriteString(genClass(r))
		case k < 15:
			b.WriteString([]string{`\d`, `\D`, `\w`, `\W`, `\s`, `\S`, `\.`, `\\`, `\$`, `\t`, `\n`, `\x41`, `\u00e9`, `\Q.a\E`}[r.IntN(14)])
		case k < 18 && depth < 3:
			open := []string{"(", "(?:", "(?i:", "(?-i:", "(?s:", "(?<g" + fmt.Sprint(r.IntN(1000)) + ">"}[r.IntN(6)]
			b.WriteString(open + genPattern(r, depth+1) + ")")
		case k < 19 && depth < 3:
			b.WriteString(genPattern(r, depth+1) + "|" + genPattern(r, depth+1))
		case k < 20:
			b.WriteString([]string{"(?i)", "(?-i)", "(?s)", "^", "$"}[r.IntN(5)])
		case k < 21:
			// Rarely, something broken or unsupported.
			b.WriteString([]string{"(", ")", "[", "*", "{", "{1}", `\`, "(?=a)", `\b`, "a{2", "[a-", `\p{L}`}[r.IntN(12)])
		default:
			b.WriteString(genLiteral(r))
		}
		if r.IntN(4) == 0 {
			b.WriteString([]string{"*", "+", "?", "{2}", "{1,3}", "{0,}", "*?", "+?", "??"}[r.IntN(9)])
		}
	}
	return b.String()
}

func genLiteral(r *rand.Rand) string {
	s := genAlphabet[r.IntN(len(genAlphabet))]
	switch s {
	case "$", "\\", ".":
		return `\` + s
	}
	return s
}

func genClass(r *rand.Rand) string {
	var b strings.Builder
	b.WriteString("[")
	if r.IntN(3) == 0 {
		b.WriteString("^")
	}
	for range 1 + r.IntN(3) {
		switch r.IntN(5) {
		case 0:
			b.WriteString([]string{"a-f", "A-F", "0-9", "Z-a", "é-ü", "x-z"}[r.IntN(6)])
		case 1:
			b.WriteString([]string{`\d`, `\w`, `\s`, `\W`, `\.`, `\-`}[r.IntN(6)])
		default:
			l := genLiteral(r)
			if l == "-" {
				l = `\-`
			}
			b.WriteString(l)
		}
	}
	b.WriteString("]")
	return b.String()
}

// genSubjects are strings the pattern may or may not match: random
// strings over its own characters, each also in other cases.
func genSubjects(r *rand.Rand, pattern string) []string {
	runes := []rune(strings.NewReplacer(`\`, "", "(", "", ")", "", "?", "", ":", "", "[", "", "]", "", "^", "", "|", "").Replace(pattern))
	runes = append(runes, []rune("aAbBzZkK\u212aſsSéÉ0_-. \n\r\v")...)
	var out []string
	for range 12 {
		var b strings.Builder
		for range r.IntN(7) {
			b.WriteRune(runes[r.IntN(len(runes))])
		}
		s := b.String()
		out = append(out, s, strings.ToUpper(s), strings.ToLower(s))
	}
	return append(out, "")
}
