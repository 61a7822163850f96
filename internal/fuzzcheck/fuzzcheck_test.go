package fuzzcheck

import (
	"strings"
	"testing"
)

func kinds(toks []Token) string {
	var out []string
	for _, t := range toks {
		out = append(out, t.Kind.String()+":"+t.Text)
	}
	return strings.Join(out, " | ")
}

func TestLexSQL(t *testing.T) {
	for in, want := range map[string]string{
		`ALTER TABLE "a""b".c REPLICA IDENTITY FULL;`:     `word:ALTER | word:TABLE | quoted identifier:"a""b" | punctuation:. | word:c | word:REPLICA | word:IDENTITY | word:FULL | punctuation:;`,
		"-- a comment \\! rm\nSELECT 1; -- trailing\r\nx": `word:SELECT | number:1 | punctuation:; | word:x`,
		`SELECT E'it\'s', 'a''b', $$x$$, $t$y$t$, $1`:     `word:SELECT | string:E'it\'s' | punctuation:, | string:'a''b' | punctuation:, | string:$$x$$ | punctuation:, | string:$t$y$t$ | punctuation:, | parameter:$1`,
		`SELECT a::text /* c /* nested */ */ <> 'x'`:      `word:SELECT | word:a | operator::: | word:text | block comment:/* c /* nested */ */ | operator:<> | string:'x'`,
		"\\! touch x\nSELECT":                             `psql meta-command:\! touch x | word:SELECT`,
		`U&"d\0061t" ab$c 日本`:                             `quoted identifier:U&"d\0061t" | word:ab$c | word:日本`,
	} {
		toks, err := LexSQL(in)
		if err != nil {
			t.Errorf("LexSQL(%q): %v", in, err)
			continue
		}
		if got := kinds(toks); got != want {
			t.Errorf("LexSQL(%q)\n got %s\nwant %s", in, got, want)
		}
	}
	for _, in := range []string{`"open`, `'open`, `E'open\'`, `$$open`, `/* open`} {
		if _, err := LexSQL(in); err == nil {
			t.Errorf("LexSQL(%q): no error", in)
		}
	}
	toks, _ := LexSQL(`E'a\\b\'c' "Q""x" MiXed`)
	if toks[0].Value() != `a\b'c` || toks[1].Value() != `Q"x` || toks[2].Value() != "mixed" {
		t.Errorf("values %q %q %q", toks[0].Value(), toks[1].Value(), toks[2].Value())
	}
}

func TestSameShape(t *testing.T) {
	lex := func(s string) []Token { toks, _ := LexSQL(s); return toks }
	plain := func(tok Token) bool { return strings.HasPrefix(tok.Text, "zz") }
	if err := SameShape(lex(`GRANT SELECT ON "a b".x TO "u;"`), lex(`GRANT SELECT ON zz1.zz2 TO zz3`), plain); err != nil {
		t.Error(err)
	}
	if err := SameShape(lex(`GRANT SELECT ON a; DROP TABLE x TO u`), lex(`GRANT SELECT ON zz1 TO zz3`), plain); err == nil {
		t.Error("an injected statement has the same shape")
	}
}

func TestTerminalSafeAndXML(t *testing.T) {
	for s, ok := range map[string]bool{"plain\ttext\n": true, "\x1b[31mred\x1b[0m": false, "bell\x07": false, "c1\u009b": false, "rtl\u202e": false, "bad\xff": false} {
		if got := TerminalSafe(s, false) == nil; got != ok {
			t.Errorf("TerminalSafe(%q) = %v", s, got)
		}
	}
	if TerminalSafe("\x1b[31mred\x1b[0m", true) != nil || TerminalSafe("\x1b]0;t\x07", true) == nil {
		t.Error("colour sequences are allowed with sgr, nothing else is")
	}
	if err := WellFormedXML([]byte(`<?xml version="1.0"?><a b="&lt;">x&#xA;</a>`)); err != nil {
		t.Error(err)
	}
	for _, bad := range []string{"<a>", "<a></a><b></b>", "<a>\x01</a>", "<a>\xff</a>", "<a>&x;</a>"} {
		if WellFormedXML([]byte(bad)) == nil {
			t.Errorf("WellFormedXML(%q): no error", bad)
		}
	}
	if XMLText("a\x00b\xffc\r") != "ab\ufffdc\r" {
		t.Errorf("XMLText = %q", XMLText("a\x00b\xffc\r"))
	}
	if JSONText("a\xff\xfeb") != "a\ufffd\ufffdb" {
		t.Errorf("JSONText = %q", JSONText("a\xff\xfeb"))
	}
	if RotateSecret("az%4fZ9", func(i int) bool { return i == 3 || i == 4 }) != "ba%4fA9" {
		t.Errorf("RotateSecret = %q", RotateSecret("az%4fZ9", func(i int) bool { return i == 3 || i == 4 }))
	}
	if NoSecret("the pw is hunter2", 4, "hunter2") == nil || NoSecret("short a", 4, "a") != nil {
		t.Error("NoSecret")
	}
}
