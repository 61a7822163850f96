// Package fuzzcheck holds the properties the fuzz targets and hostile-input
// tests assert, so that every parser and writer is held to the same ones:
// no secret in output, well-formed XML, valid JSON, nothing a terminal
// would interpret, and SQL whose shape database text cannot change. Each
// check returns an error describing the first violation, so it can be used
// in a fuzz loop (t.Fatal on it) as well as in an ordinary test.
//
// Import it only from _test.go files.
package fuzzcheck

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

// HostileNames are names a catalog may hold or a user may type that have
// broken tools before: quotes, spaces, case, unicode, keywords, SQL and
// shell metacharacters, psql meta-commands, terminal escapes, line breaks
// and the empty name. None holds a NUL: PostgreSQL names cannot. Fuzz
// targets add them as seeds; the sqlident test checks each against a real
// server.
var HostileNames = []string{
	"",
	"orders",
	"Orders",
	"Order Items",
	"order items",
	`x"; DROP TABLE y; --`,
	`"; DROP TABLE customers; --`,
	`'; DROP TABLE customers; --`,
	`Robert'); DROP TABLE students;--`,
	`a"b`,
	`""`,
	`"`,
	`'`,
	`''`,
	`\`,
	`a\'b`,
	`\' OR 1=1 --`,
	"select",
	"user",
	"table",
	"name",
	"drop",
	"json_table",
	"1abc",
	"ab$c",
	"$1",
	"$$x$$",
	"_",
	"café",
	"日本語テーブル",
	"Ünïcödé",
	"ǅungla", // a title-case letter
	"emoji 🐘",
	"tab\there",
	"new\nline",
	"cr\rreturn",
	"crlf\r\nline",
	"--comment",
	"/* block */",
	"*/ x /*",
	"semi;colon",
	"dot.ted",
	"com,ma",
	`\! touch /tmp/cdcpreflight-pwned`,
	`\gexec`,
	":var",
	`:'var'`,
	"\x1b[2J\x1b[Hfake PASS",
	"\x1b]0;title\x07",
	"\x1b]8;;http://evil.example/\x07link\x1b]8;;\x07",
	"bell\x07",
	"back\bspace",
	"del\x7f",
	"c1\u009bcontrol",
	"rtl\u202eoverride",
	"zero\u200bwidth",
	"line\u2028sep",
	"bom\ufeff",
	"trailing space ",
	" leading space",
	strings.Repeat("x", 63),
	strings.Repeat("é", 40), // 80 bytes: past the 63-byte limit
	"MixedCase k",
	"public",
	"pg_catalog",
	"streamkap",
	"streamkap_signal",
	"%s%n%x",
	"{{.}}",
	"<script>&amp;]]>",
	"${HOME}",
	"`id`",
}

// NoSecret reports the first secret (of at least minLen bytes) found in
// text. Secrets shorter than minLen are ignored: a one-letter password is
// in every message.
func NoSecret(text string, minLen int, secrets ...string) error {
	for _, s := range secrets {
		if len(s) < minLen {
			continue
		}
		if i := strings.Index(text, s); i >= 0 {
			return fmt.Errorf("secret %q appears at byte %d of %q", s, i, abbreviate(text, 400))
		}
	}
	return nil
}

// RotateSecret returns s with every ASCII letter replaced by the next in
// its class (a→b … z→a, A→B … Z→A), leaving everything else alone. Two
// inputs that differ only by a rotated secret have the same structure
// (separators, quotes, escapes, digits) for any parser, so an output that
// differs between them depends on the secret's content: that is a leak,
// whatever the parser made of the input. skip, when non-nil, keeps a byte
// as it is (a hex digit of a URL's %XX escape, say).
func RotateSecret(s string, skip func(i int) bool) string {
	b := []byte(s)
	for i, c := range b {
		if skip != nil && skip(i) {
			continue
		}
		switch {
		case c >= 'a' && c <= 'z':
			b[i] = 'a' + (c-'a'+1)%26
		case c >= 'A' && c <= 'Z':
			b[i] = 'A' + (c-'A'+1)%26
		}
	}
	return string(b)
}

// WellFormedXML checks that data is one well-formed XML 1.0 document in
// UTF-8: every token decodes with encoding/xml in strict mode, every
// character is one XML allows, and there is exactly one root element.
func WellFormedXML(data []byte) error {
	if !utf8.Valid(data) {
		return errors.New("not valid UTF-8")
	}
	for i, r := range string(data) {
		if !XMLChar(r) {
			return fmt.Errorf("character %U at byte %d is not allowed in XML 1.0", r, i)
		}
	}
	dec := xml.NewDecoder(bytes.NewReader(data))
	dec.Strict = true
	depth, roots := 0, 0
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("not well-formed: %w", err)
		}
		switch tok.(type) {
		case xml.StartElement:
			if depth == 0 {
				roots++
			}
			depth++
		case xml.EndElement:
			depth--
		}
	}
	if roots != 1 || depth != 0 {
		return fmt.Errorf("%d root elements, depth %d at the end; want one closed root", roots, depth)
	}
	return nil
}

// XMLChar reports whether XML 1.0 allows r in a document.
func XMLChar(r rune) bool {
	switch {
	case r == '\t' || r == '\n' || r == '\r':
		return true
	case r >= 0x20 && r <= 0xD7FF:
		return true
	case r >= 0xE000 && r <= 0xFFFD:
		return true
	case r >= 0x10000 && r <= 0x10FFFF:
		return true
	}
	return false
}

// XMLText is what an XML writer that drops forbidden characters can
// preserve of s: invalid UTF-8 becomes U+FFFD, and characters XML 1.0
// cannot carry are gone. A reader parsing the document gets this back
// exactly when the writer escapes \r (as encoding/xml does): a raw one
// would be read as a line end.
func XMLText(s string) string {
	return strings.Map(func(r rune) rune {
		if XMLChar(r) {
			return r
		}
		return -1
	}, strings.ToValidUTF8(s, "\uFFFD"))
}

// ValidJSON checks that data is exactly one JSON value (and white space).
func ValidJSON(data []byte) error {
	if !json.Valid(data) {
		var v any
		err := json.Unmarshal(data, &v)
		return fmt.Errorf("not valid JSON: %w", err)
	}
	return nil
}

// JSONText is what encoding/json makes of s: each byte that is not part of
// valid UTF-8 becomes U+FFFD. Decoding the JSON gives this back.
func JSONText(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 {
			b.WriteRune(utf8.RuneError)
		} else {
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}

// TerminalSafe checks that s holds nothing a terminal would act on: no C0
// control but newline and tab, no DEL, no C1 control, no bidirectional override,
// and valid UTF-8 (a terminal may read a broken sequence as C1). With sgr,
// ESC is allowed as the start of a colour sequence "ESC [ digits;… m" and
// nothing else.
func TerminalSafe(s string, sgr bool) error {
	if !utf8.ValidString(s) {
		return errors.New("not valid UTF-8")
	}
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == '\n' || r == '\t':
		case r == 0x1b && sgr:
			end := sgrEnd(s[i:])
			if end < 0 {
				return fmt.Errorf("escape sequence that is not a colour at byte %d: %q", i, abbreviate(s[i:], 20))
			}
			n = end
		case r < 0x20, r == 0x7f, r >= 0x80 && r <= 0x9f:
			return fmt.Errorf("control character %U at byte %d: %q", r, i, abbreviate(s[max(0, i-20):], 60))
		case (r >= 0x202A && r <= 0x202E) || (r >= 0x2066 && r <= 0x2069):
			return fmt.Errorf("bidirectional control %U at byte %d", r, i)
		}
		i += n
	}
	return nil
}

// sgrEnd is the length of the SGR sequence s starts with, or -1.
func sgrEnd(s string) int {
	if !strings.HasPrefix(s, "\x1b[") {
		return -1
	}
	for i := 2; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9', c == ';':
		case c == 'm':
			return i + 1
		default:
			return -1
		}
	}
	return -1
}

// Xmllint validates each file against the XSD with xmllint. A missing
// xmllint skips the test, and fails it under CI=true.
func Xmllint(t testing.TB, xsd string, files ...string) {
	t.Helper()
	path, err := exec.LookPath("xmllint")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("xmllint not found; CI must install libxml2-utils")
		}
		t.Skip("xmllint not found (apt-get install libxml2-utils)")
	}
	for _, f := range files {
		out, err := exec.CommandContext(t.Context(), path, "--noout", "--schema", xsd, f).CombinedOutput()
		if err != nil {
			t.Errorf("xmllint --schema %s %s: %v\n%s", xsd, f, err, out)
		}
	}
}

func abbreviate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// CorpusStrings reads the string and []byte values of every file in a
// native fuzz corpus directory (testdata/fuzz/FuzzX), so that ordinary
// tests (against a real server, say) check the same inputs the fuzz
// target keeps. A missing directory has no values.
func CorpusStrings(t testing.TB, dir string) [][]string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	var out [][]string
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		data, err := os.ReadFile(dir + "/" + e.Name())
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSpace(string(data)), "\n")
		if len(lines) == 0 || lines[0] != "go test fuzz v1" {
			t.Fatalf("%s/%s: not a fuzz corpus file", dir, e.Name())
		}
		var vals []string
		for _, l := range lines[1:] {
			for _, prefix := range []string{"string(", "[]byte("} {
				if q, ok := strings.CutPrefix(l, prefix); ok {
					v, err := strconv.Unquote(strings.TrimSuffix(q, ")"))
					if err != nil {
						t.Fatalf("%s/%s: %q: %v", dir, e.Name(), l, err)
					}
					vals = append(vals, v)
				}
			}
		}
		out = append(out, vals)
	}
	return out
}
