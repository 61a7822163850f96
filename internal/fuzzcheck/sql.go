package fuzzcheck

import (
	"fmt"
	"strings"
)

// TokenKind classifies a token of SQL as psql and the server read it.
type TokenKind int

// Token kinds.
const (
	Word         TokenKind = iota + 1 // a keyword or a bare identifier
	QuotedIdent                       // "…" or U&"…"
	String                            // '…', E'…', B'…', X'…', N'…', U&'…', $tag$…$tag$
	Number                            // 42, 1.5e3
	Param                             // $1
	Operator                          // = <> || ::, …
	Punct                             // ( ) , ; [ ] . :
	BlockComment                      // /* … */ (never in SQL cdcpreflight writes)
	MetaCommand                       // psql's backslash command, to the end of the line
	Other                             // a byte no token starts with (a control character)
)

var kindNames = map[TokenKind]string{
	Word: "word", QuotedIdent: "quoted identifier", String: "string", Number: "number", Param: "parameter",
	Operator: "operator", Punct: "punctuation", BlockComment: "block comment", MetaCommand: "psql meta-command",
	Other: "stray byte",
}

func (k TokenKind) String() string { return kindNames[k] }

// Token is one lexical token; Text is as written.
type Token struct {
	Kind TokenKind
	Text string
	Pos  int // byte offset in the input
}

// Value is what the token stands for: a quoted identifier or a string
// literal without its quotes and escapes, a word folded to lower case as
// the server folds an unquoted identifier.
func (t Token) Value() string {
	switch t.Kind {
	case Word:
		return strings.ToLower(t.Text)
	case QuotedIdent:
		body := strings.TrimPrefix(t.Text, "U&")
		return strings.ReplaceAll(body[1:len(body)-1], `""`, `"`)
	case String:
		return stringValue(t.Text)
	}
	return t.Text
}

// LexSQL splits SQL text into tokens as PostgreSQL's lexer and psql's do
// with standard_conforming_strings on (the default since 9.1): line
// comments (-- to the end of the line: \n or \r) are dropped; everything
// else, block comments and psql meta-commands included, is a token. It
// fails on an unterminated quote or comment.
func LexSQL(s string) ([]Token, error) {
	var toks []Token
	i := 0
	emit := func(kind TokenKind, end int) {
		toks = append(toks, Token{Kind: kind, Text: s[i:end], Pos: i})
		i = end
	}
	for i < len(s) {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v':
			i++
		case strings.HasPrefix(s[i:], "--"):
			end := strings.IndexAny(s[i:], "\n\r")
			if end < 0 {
				i = len(s)
			} else {
				i += end
			}
		case strings.HasPrefix(s[i:], "/*"):
			end, err := blockCommentEnd(s, i)
			if err != nil {
				return toks, err
			}
			emit(BlockComment, end)
		case c == '"':
			end, err := quotedEnd(s, i, '"', false)
			if err != nil {
				return toks, err
			}
			emit(QuotedIdent, end)
		case c == '\'':
			end, err := quotedEnd(s, i, '\'', false)
			if err != nil {
				return toks, err
			}
			emit(String, end)
		case (c == 'E' || c == 'e') && i+1 < len(s) && s[i+1] == '\'':
			end, err := quotedEnd(s, i+1, '\'', true)
			if err != nil {
				return toks, err
			}
			emit(String, end)
		case (c == 'B' || c == 'b' || c == 'X' || c == 'x' || c == 'N' || c == 'n') && i+1 < len(s) && s[i+1] == '\'':
			end, err := quotedEnd(s, i+1, '\'', false)
			if err != nil {
				return toks, err
			}
			emit(String, end)
		case (c == 'U' || c == 'u') && strings.HasPrefix(s[i+1:], "&'"):
			end, err := quotedEnd(s, i+2, '\'', false)
			if err != nil {
				return toks, err
			}
			emit(String, end)
		case (c == 'U' || c == 'u') && strings.HasPrefix(s[i+1:], "&\""):
			end, err := quotedEnd(s, i+2, '"', false)
			if err != nil {
				return toks, err
			}
			emit(QuotedIdent, end)
		case c == '$':
			j := i + 1
			for j < len(s) && s[j] >= '0' && s[j] <= '9' {
				j++
			}
			if j > i+1 {
				emit(Param, j)
				continue
			}
			for j < len(s) && identCont(s[j]) && s[j] != '$' {
				j++
			}
			if j < len(s) && s[j] == '$' && (j == i+1 || identStart(s[i+1])) {
				delim := s[i : j+1]
				end := strings.Index(s[j+1:], delim)
				if end < 0 {
					return toks, fmt.Errorf("unterminated dollar-quoted string at byte %d", i)
				}
				emit(String, j+1+end+len(delim))
				continue
			}
			emit(Other, i+1)
		case c == '\\':
			end := strings.IndexAny(s[i:], "\n\r")
			if end < 0 {
				end = len(s) - i
			}
			emit(MetaCommand, i+end)
		case identStart(c):
			j := i + 1
			for j < len(s) && identCont(s[j]) {
				j++
			}
			emit(Word, j)
		case c >= '0' && c <= '9' || (c == '.' && i+1 < len(s) && s[i+1] >= '0' && s[i+1] <= '9'):
			j := i + 1
			for j < len(s) && (identCont(s[j]) && s[j] != '$' || s[j] == '.') {
				j++
			}
			emit(Number, j)
		case c == ':' && strings.HasPrefix(s[i:], "::"):
			emit(Operator, i+2)
		case strings.IndexByte("(),;[].:", c) >= 0:
			emit(Punct, i+1)
		case strings.IndexByte("+-*/<>=~!@#%^&|`?", c) >= 0:
			j := i + 1
			for j < len(s) && strings.IndexByte("+-*/<>=~!@#%^&|`?", s[j]) >= 0 &&
				!strings.HasPrefix(s[j:], "--") && !strings.HasPrefix(s[j:], "/*") {
				j++
			}
			emit(Operator, j)
		default:
			emit(Other, i+1)
		}
	}
	return toks, nil
}

func identStart(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' || c >= 0x80
}

func identCont(c byte) bool {
	return identStart(c) || c >= '0' && c <= '9' || c == '$'
}

// quotedEnd finds the end of the quoted token whose opening quote is at
// s[open]: a doubled quote is a quote; with backslashes (E'…'), a
// backslash escapes the next byte.
func quotedEnd(s string, open int, q byte, backslashes bool) (int, error) {
	for j := open + 1; j < len(s); j++ {
		switch s[j] {
		case '\\':
			if backslashes {
				j++
			}
		case q:
			if j+1 < len(s) && s[j+1] == q {
				j++
				continue
			}
			return j + 1, nil
		}
	}
	return 0, fmt.Errorf("unterminated %c-quoted token at byte %d", q, open)
}

// blockCommentEnd finds the end of a block comment; they nest.
func blockCommentEnd(s string, start int) (int, error) {
	depth := 0
	for j := start; j+1 < len(s); j++ {
		switch {
		case s[j] == '/' && s[j+1] == '*':
			depth++
			j++
		case s[j] == '*' && s[j+1] == '/':
			depth--
			j++
			if depth == 0 {
				return j + 1, nil
			}
		}
	}
	return 0, fmt.Errorf("unterminated block comment at byte %d", start)
}

// stringValue decodes a string literal token.
func stringValue(text string) string {
	if strings.HasPrefix(text, "$") {
		d := strings.IndexByte(text[1:], '$') + 2
		return text[d : len(text)-d]
	}
	escapes := text[0] == 'E' || text[0] == 'e'
	open := strings.IndexByte(text, '\'')
	body := text[open+1 : len(text)-1]
	if !escapes {
		return strings.ReplaceAll(body, "''", "'")
	}
	var b strings.Builder
	for j := 0; j < len(body); j++ {
		c := body[j]
		switch {
		case c == '\'' && j+1 < len(body) && body[j+1] == '\'':
			b.WriteByte('\'')
			j++
		case c == '\\' && j+1 < len(body):
			j++
			switch body[j] {
			case 'b':
				b.WriteByte('\b')
			case 'f':
				b.WriteByte('\f')
			case 'n':
				b.WriteByte('\n')
			case 'r':
				b.WriteByte('\r')
			case 't':
				b.WriteByte('\t')
			default:
				// Octal, hex and unicode escapes are never written by
				// sqlident; any other byte stands for itself.
				b.WriteByte(body[j])
			}
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// SameShape reports the first difference between two token lists that
// should be the same statement with different names: tokens must match
// one for one, except that where want has a placeholder (a word that
// isPlaceholder accepts) got may have any identifier, bare or quoted, and
// any two string literals match. A name that escaped its quotes adds,
// removes or changes a token, and that is reported.
func SameShape(got, want []Token, isPlaceholder func(Token) bool) error {
	for k := 0; k < len(got) && k < len(want); k++ {
		g, w := got[k], want[k]
		switch {
		case g.Kind == String && w.Kind == String:
		case w.Kind == Word && isPlaceholder(w) && (g.Kind == Word || g.Kind == QuotedIdent):
		case g.Kind == w.Kind && strings.EqualFold(g.Text, w.Text):
		default:
			return fmt.Errorf("token %d: got %s %q, want %s %q", k, g.Kind, abbreviate(g.Text, 80), w.Kind, abbreviate(w.Text, 80))
		}
	}
	if len(got) != len(want) {
		return fmt.Errorf("%d tokens, want %d", len(got), len(want))
	}
	return nil
}

// SameTokens reports the first difference between two token lists, kind
// and text.
func SameTokens(got, want []Token) error {
	for k := 0; k < len(got) && k < len(want); k++ {
		if got[k].Kind != want[k].Kind || got[k].Text != want[k].Text {
			return fmt.Errorf("token %d: got %s %q, want %s %q", k, got[k].Kind, abbreviate(got[k].Text, 80), want[k].Kind, abbreviate(want[k].Text, 80))
		}
	}
	if len(got) != len(want) {
		return fmt.Errorf("%d tokens, want %d", len(got), len(want))
	}
	return nil
}
