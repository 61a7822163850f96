// Package javaregex evaluates Java regular expressions (java.util.regex) the
// way Debezium applies its include and exclude lists: compiled with
// Pattern.CASE_INSENSITIVE and matched against the whole string
// (Matcher.matches). Go's regexp is RE2, whose syntax and semantics differ
// from Java's in many places, so a pattern is translated, construct by
// construct, into an RE2 pattern that matches exactly the same strings; a
// construct whose Java meaning cannot be reproduced is refused with the
// reason, never approximated. A refused pattern is one whose scope cannot
// be computed: callers report it, they must not guess.
//
// Supported: literals and escaped metacharacters; \t \n \r \f \a \e \0oo
// \xhh \x{h…} \uhhhh \cX; \Q…\E; . ^ $ \A \z \Z; \d \D \w \W \s \S; character
// classes with ranges, negation and the escapes above; groups (capturing,
// (?:…), (?<name>…)); inline flags i and s ((?i) (?-i) (?s:…)); alternation;
// the quantifiers * + ? {n} {n,} {n,m} and their lazy forms. Case
// insensitivity is Java's default one, ASCII letters only, whereas RE2's
// (?i) folds Unicode: letters are expanded to explicit classes instead.
//
// Refused (ErrUnsupported): look-ahead and look-behind, atomic groups,
// possessive quantifiers, back references, \b \B \G \R \X \h \H \v \V \p \P
// \N \k, nested classes and && in classes, the flags m x u U d c, $ and \Z
// where text could follow them, repetition counts over 1000.
package javaregex

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Error says why a pattern cannot be used: Java rejects it (Invalid), or
// Java accepts it and Go cannot match it the same way (!Invalid).
type Error struct {
	Pattern string
	Offset  int // byte offset in Pattern of the construct
	Reason  string
	// Invalid: java.util.regex rejects the pattern, as Debezium's
	// configuration validation does ("A comma-separated list of valid
	// regular expressions is expected").
	Invalid bool
}

func (e *Error) Error() string {
	if e.Invalid {
		return fmt.Sprintf("%q is not a valid Java regular expression: %s (at offset %d)", e.Pattern, e.Reason, e.Offset)
	}
	return fmt.Sprintf("%q cannot be evaluated exactly as Java does: %s (at offset %d)", e.Pattern, e.Reason, e.Offset)
}

// ErrUnsupported and ErrInvalid classify an *Error with errors.Is.
var (
	ErrUnsupported = errors.New("java regular expression construct not supported")
	ErrInvalid     = errors.New("invalid java regular expression")
)

// Is lets errors.Is tell the two kinds apart.
func (e *Error) Is(target error) bool {
	return (target == ErrInvalid && e.Invalid) || (target == ErrUnsupported && !e.Invalid)
}

// Pattern is a compiled Java regular expression, matched as
// Pattern.compile(p, CASE_INSENSITIVE).matcher(s).matches() would.
type Pattern struct {
	source string
	re     *regexp.Regexp
	// literal is the text a pattern of literal characters only matches
	// (foldASCII: in either case of its ASCII letters): most filter
	// entries are names, and comparing them is much cheaper than running
	// a regular expression.
	literal   string
	isLiteral bool
	foldASCII bool
}

// String is the Java pattern as written.
func (p *Pattern) String() string { return p.source }

// RE2 is the translated pattern, anchored: for diagnostics and tests.
func (p *Pattern) RE2() string { return p.re.String() }

// MatchString reports whether the whole of s matches.
func (p *Pattern) MatchString(s string) bool {
	if p.isLiteral {
		if !p.foldASCII {
			return s == p.literal
		}
		return equalFoldASCII(s, p.literal)
	}
	return p.re.MatchString(s)
}

// equalFoldASCII compares s and t folding ASCII letters only, as Java's
// CASE_INSENSITIVE does.
func equalFoldASCII(s, t string) bool {
	if len(s) != len(t) {
		return false
	}
	for i := 0; i < len(s); i++ {
		if a, b := s[i], t[i]; a != b && (lower(rune(a)) != lower(rune(b)) || !isASCIILetter(rune(a))) {
			return false
		}
	}
	return true
}

// CompileCaseInsensitive compiles a Java pattern with CASE_INSENSITIVE, the
// flag Debezium compiles its filter lists with.
func CompileCaseInsensitive(pattern string) (*Pattern, error) {
	return compile(pattern, true)
}

// Compile compiles a Java pattern with no flags.
func Compile(pattern string) (*Pattern, error) {
	return compile(pattern, false)
}

func compile(pattern string, ci bool) (*Pattern, error) {
	t := &translator{src: pattern, flags: flags{ci: ci}}
	n, err := t.parse()
	if err != nil {
		return nil, err
	}
	lit, isLit := literalText(n, ci)
	isLit = isLit && !t.inlineFlags
	var b strings.Builder
	b.WriteString(`\A(?:`)
	n.emit(&b)
	b.WriteString(`)\z`)
	re, err := regexp.Compile(b.String())
	if err != nil {
		return nil, &Error{Pattern: pattern, Reason: "Go's regexp cannot compile its translation: " + err.Error()}
	}
	return &Pattern{source: pattern, re: re, literal: lit, isLiteral: isLit, foldASCII: ci}, nil
}

// literalText is the text a pattern of literal characters only matches,
// with its letters in lower case (the case-insensitive literal classes lit
// makes stand for their lower-case letter); ok is false for anything else.
// It is used only without inline flags, so that case sensitivity is the
// pattern's throughout.
func literalText(n node, ci bool) (string, bool) {
	var b strings.Builder
	var add func(n node) bool
	add = func(n node) bool {
		switch v := n.(type) {
		case seq:
			for _, x := range v {
				if !add(x) {
					return false
				}
			}
			return true
		case literal:
			b.WriteRune(v.r)
			return true
		case class:
			// [aA]: a letter lit folded.
			if ci && !v.negated && len(v.ranges) == 2 && v.ranges[0].lo == v.ranges[0].hi && v.ranges[1].lo == v.ranges[1].hi &&
				isASCIILetter(v.ranges[0].lo) && lower(v.ranges[0].lo) == lower(v.ranges[1].lo) {
				b.WriteRune(lower(v.ranges[0].lo))
				return true
			}
		}
		return false
	}
	if !add(n) {
		return "", false
	}
	return b.String(), true
}

type flags struct {
	ci, dotall bool
}

// node is the parsed pattern. Nodes emit RE2 syntax.
type node interface {
	emit(b *strings.Builder)
}

type (
	alt    []node // a|b|c
	seq    []node // abc
	group  struct{ body node }
	repeat struct {
		body     node
		min, max int // max -1: unbounded
		lazy     bool
	}
	class struct {
		ranges  []rng // sorted, merged
		negated bool
	}
	anchor    struct{ re2 string } // ^ \A \z, and $ \Z in tail position
	endAnchor struct {             // $ or \Z: checked for tail position after parsing
		pos int
	}
	literal struct{ r rune }
)

type rng struct{ lo, hi rune }

func (a alt) emit(b *strings.Builder) {
	for i, n := range a {
		if i > 0 {
			b.WriteByte('|')
		}
		n.emit(b)
	}
}

func (s seq) emit(b *strings.Builder) {
	for _, n := range s {
		n.emit(b)
	}
}

func (g group) emit(b *strings.Builder) {
	b.WriteString("(?:")
	g.body.emit(b)
	b.WriteByte(')')
}

func (r repeat) emit(b *strings.Builder) {
	b.WriteString("(?:")
	r.body.emit(b)
	b.WriteByte(')')
	switch {
	case r.min == 0 && r.max == -1:
		b.WriteByte('*')
	case r.min == 1 && r.max == -1:
		b.WriteByte('+')
	case r.min == 0 && r.max == 1:
		b.WriteByte('?')
	case r.max == -1:
		fmt.Fprintf(b, "{%d,}", r.min)
	case r.min == r.max:
		fmt.Fprintf(b, "{%d}", r.min)
	default:
		fmt.Fprintf(b, "{%d,%d}", r.min, r.max)
	}
	if r.lazy {
		b.WriteByte('?')
	}
}

func (c class) emit(b *strings.Builder) {
	if len(c.ranges) == 0 {
		if c.negated {
			b.WriteString(`(?s:.)`) // [^] of nothing: any character
		} else {
			b.WriteString(`[^\x00-\x{10FFFF}]`) // matches nothing
		}
		return
	}
	b.WriteByte('[')
	if c.negated {
		b.WriteByte('^')
	}
	for _, r := range c.ranges {
		writeClassRune(b, r.lo)
		if r.hi != r.lo {
			b.WriteByte('-')
			writeClassRune(b, r.hi)
		}
	}
	b.WriteByte(']')
}

func writeClassRune(b *strings.Builder, r rune) {
	fmt.Fprintf(b, `\x{%X}`, r)
}

func (a anchor) emit(b *strings.Builder) { b.WriteString(a.re2) }

func (endAnchor) emit(b *strings.Builder) { b.WriteString(`\z`) }

func (l literal) emit(b *strings.Builder) {
	if isASCIIAlnum(l.r) {
		b.WriteRune(l.r)
		return
	}
	fmt.Fprintf(b, `\x{%X}`, l.r)
}

type translator struct {
	src   string
	pos   int
	flags flags
	ends  []*endAnchor
	names []string // named groups so far
	// inlineFlags: the pattern changes its flags ((?i), (?-i:…)).
	inlineFlags bool
}

func (t *translator) invalid(pos int, format string, a ...any) error {
	return &Error{Pattern: t.src, Offset: pos, Reason: fmt.Sprintf(format, a...), Invalid: true}
}

func (t *translator) unsupported(pos int, format string, a ...any) error {
	return &Error{Pattern: t.src, Offset: pos, Reason: fmt.Sprintf(format, a...)}
}

func (t *translator) eof() bool { return t.pos >= len(t.src) }

func (t *translator) peek() rune {
	r, _ := utf8.DecodeRuneInString(t.src[t.pos:])
	return r
}

func (t *translator) next() rune {
	r, n := utf8.DecodeRuneInString(t.src[t.pos:])
	t.pos += n
	return r
}

func (t *translator) parse() (node, error) {
	n, err := t.alternation(0)
	if err != nil {
		return nil, err
	}
	if !t.eof() {
		// alternation stops only at ')' or the end.
		return nil, t.invalid(t.pos, "unmatched closing ')'")
	}
	if err := t.checkEnds(n); err != nil {
		return nil, err
	}
	return n, nil
}

func (t *translator) alternation(depth int) (node, error) {
	var alts alt
	for {
		s, err := t.sequence(depth)
		if err != nil {
			return nil, err
		}
		alts = append(alts, s)
		if t.eof() || t.peek() != '|' {
			break
		}
		t.next()
	}
	if len(alts) == 1 {
		return alts[0], nil
	}
	return alts, nil
}

func (t *translator) sequence(depth int) (seq, error) {
	var s seq
	for !t.eof() {
		switch t.peek() {
		case '|':
			return s, nil
		case ')':
			if depth == 0 {
				return nil, t.invalid(t.pos, "unmatched closing ')'")
			}
			return s, nil
		}
		atom, err := t.atom(depth)
		if err != nil {
			return nil, err
		}
		if atom == nil { // an inline flag group: nothing to match
			continue
		}
		atom, err = t.quantified(atom)
		if err != nil {
			return nil, err
		}
		s = append(s, atom...)
	}
	return s, nil
}

// quantified applies the quantifier that may follow an atom. It returns
// the atom's nodes (a \Q…\E run is several literals, of which only the
// last is quantified, as in Java).
func (t *translator) quantified(atom []node) ([]node, error) {
	qpos := t.pos
	min, max, ok, err := t.quantifier()
	if err != nil || !ok {
		return atom, err
	}
	lazy := false
	if !t.eof() {
		switch t.peek() {
		case '?':
			t.next()
			lazy = true
		case '+':
			return nil, t.unsupported(t.pos, "possessive quantifiers (%s+) have no RE2 equivalent", t.src[qpos:t.pos])
		}
	}
	if max > 1000 || min > 1000 {
		return nil, t.unsupported(qpos, "Go's regexp repeats at most 1000 times")
	}
	last := atom[len(atom)-1]
	switch last.(type) {
	case *endAnchor:
		return nil, t.unsupported(qpos, "a quantified $ or \\Z")
	case anchor:
		return nil, t.unsupported(qpos, "a quantified anchor")
	}
	atom[len(atom)-1] = repeat{body: last, min: min, max: max, lazy: lazy}
	// Another * + ? right after is Java's "Dangling meta character"; a
	// counted one would repeat an empty atom, which Java allows and which
	// is not worth reproducing.
	if !t.eof() {
		switch t.peek() {
		case '*', '+', '?':
			return nil, t.invalid(t.pos, "dangling meta character %q", t.peek())
		}
	}
	return atom, nil
}

// lookQuantifier tells whether a quantifier starts here, without moving.
func (t *translator) lookQuantifier() (min, max int, ok bool, err error) {
	save := t.pos
	min, max, ok, err = t.quantifier()
	t.pos = save
	return
}

// quantifier reads * + ? {n} {n,} {n,m}. A '{' that does not start a
// valid quantifier is an error in Java ("Illegal repetition").
func (t *translator) quantifier() (min, max int, ok bool, err error) {
	switch t.peek() {
	case '*':
		t.next()
		return 0, -1, true, nil
	case '+':
		t.next()
		return 1, -1, true, nil
	case '?':
		t.next()
		return 0, 1, true, nil
	case '{':
	default:
		return 0, 0, false, nil
	}
	start := t.pos
	t.next()
	num := func() (int, bool) {
		s := t.pos
		for !t.eof() && t.peek() >= '0' && t.peek() <= '9' {
			t.next()
		}
		if s == t.pos {
			return 0, false
		}
		n, err := strconv.Atoi(t.src[s:t.pos])
		if err != nil {
			n = 1 << 30
		}
		return n, true
	}
	min, okMin := num()
	if !okMin {
		return 0, 0, false, t.invalid(start, "illegal repetition")
	}
	max = min
	if !t.eof() && t.peek() == ',' {
		t.next()
		if n, okMax := num(); okMax {
			max = n
		} else {
			max = -1
		}
	}
	if t.eof() || t.peek() != '}' {
		return 0, 0, false, t.invalid(start, "unclosed counted closure")
	}
	t.next()
	if max != -1 && max < min {
		return 0, 0, false, t.invalid(start, "illegal repetition range")
	}
	return min, max, true, nil
}

// atom reads one atom. It returns nil nodes for an inline flag group
// such as (?i), which matches nothing and changes the flags.
func (t *translator) atom(depth int) ([]node, error) {
	pos := t.pos
	r := t.next()
	switch r {
	case '(':
		return t.group(pos, depth)
	case '[':
		c, err := t.class(pos)
		if err != nil {
			return nil, err
		}
		return []node{c}, nil
	case '.':
		if t.flags.dotall {
			return []node{class{ranges: []rng{{0, 0x10FFFF}}}}, nil
		}
		// Java's . stops at every line terminator, RE2's at \n only.
		return []node{class{ranges: complement(lineTerminators)}}, nil
	case '^':
		return []node{anchor{`\A`}}, nil
	case '$':
		e := &endAnchor{pos: pos}
		t.ends = append(t.ends, e)
		return []node{e}, nil
	case '*', '+', '?':
		return nil, t.invalid(pos, "dangling meta character %q", r)
	case '{':
		// Java reads a '{' with nothing before it as an empty atom and a
		// quantifier: valid when it is a well-formed one, and pointless.
		t.pos = pos
		if _, _, ok, err := t.lookQuantifier(); err != nil || !ok {
			return nil, t.invalid(pos, "illegal repetition")
		}
		return nil, t.unsupported(pos, "a quantifier with nothing to repeat")
	case '\\':
		return t.escape(pos)
	case utf8.RuneError:
		if !utf8.ValidString(t.src[pos:t.pos]) {
			return nil, t.unsupported(pos, "the pattern is not valid UTF-8")
		}
	}
	return []node{t.lit(r)}, nil
}

// lit is a literal character under the current flags: an ASCII letter
// matches both its cases when case-insensitive (Java folds ASCII only).
func (t *translator) lit(r rune) node {
	if t.flags.ci && isASCIILetter(r) {
		return class{ranges: normalize([]rng{{lower(r), lower(r)}, {upper(r), upper(r)}})}
	}
	return literal{r}
}

func (t *translator) group(pos, depth int) ([]node, error) {
	saved := t.flags
	if t.eof() {
		return nil, t.invalid(pos, "unclosed group")
	}
	if t.peek() == '?' {
		t.next()
		if t.eof() {
			return nil, t.invalid(pos, "unknown group type")
		}
		switch t.peek() {
		case ':':
			t.next()
		case '=', '!':
			return nil, t.unsupported(pos, "look-ahead groups have no RE2 equivalent")
		case '>':
			return nil, t.unsupported(pos, "atomic groups have no RE2 equivalent")
		case '<':
			t.next()
			if !t.eof() && (t.peek() == '=' || t.peek() == '!') {
				return nil, t.unsupported(pos, "look-behind groups have no RE2 equivalent")
			}
			s := t.pos
			for !t.eof() && isASCIIAlnum(t.peek()) {
				t.next()
			}
			name := t.src[s:t.pos]
			if name == "" || !isASCIILetter(rune(name[0])) || t.eof() || t.peek() != '>' {
				return nil, t.invalid(pos, "named capturing group is missing a valid name")
			}
			if slices.Contains(t.names, name) {
				return nil, t.invalid(pos, "named capturing group <%s> is already defined", name)
			}
			t.names = append(t.names, name)
			t.next()
		default:
			// Inline flags: (?idmsuxU-idmsuxU) or (?…:X).
			t.inlineFlags = true
			on := true
			for {
				if t.eof() {
					return nil, t.invalid(pos, "unknown inline modifier")
				}
				fp := t.pos
				f := t.next()
				switch f {
				case 'i':
					t.flags.ci = on
				case 's':
					t.flags.dotall = on
				case '-':
					on = false
				case 'm', 'x', 'u', 'U', 'd', 'c':
					return nil, t.unsupported(fp, "the inline flag %q", f)
				case ')':
					// (?i): the flags last to the end of the enclosing group.
					return nil, nil
				case ':':
					return t.groupBody(pos, depth, saved)
				default:
					return nil, t.invalid(fp, "unknown inline modifier %q", f)
				}
			}
		}
	}
	return t.groupBody(pos, depth, saved)
}

func (t *translator) groupBody(pos, depth int, saved flags) ([]node, error) {
	body, err := t.alternation(depth + 1)
	if err != nil {
		return nil, err
	}
	if t.eof() || t.peek() != ')' {
		return nil, t.invalid(pos, "unclosed group")
	}
	t.next()
	t.flags = saved
	return []node{group{body: body}}, nil
}

// escape reads what follows a backslash outside a class.
func (t *translator) escape(pos int) ([]node, error) {
	if t.eof() {
		return nil, t.invalid(pos, "unexpected internal error: a trailing backslash")
	}
	c := t.peek()
	switch c {
	case 'd', 'D', 'w', 'W', 's', 'S':
		t.next()
		return []node{class{ranges: predefined(c)}}, nil
	case 'A':
		t.next()
		return []node{anchor{`\A`}}, nil
	case 'z':
		t.next()
		return []node{anchor{`\z`}}, nil
	case 'Z':
		t.next()
		e := &endAnchor{pos: pos}
		t.ends = append(t.ends, e)
		return []node{e}, nil
	case 'Q':
		t.next()
		end := strings.Index(t.src[t.pos:], `\E`)
		text := t.src[t.pos:]
		if end >= 0 {
			text = t.src[t.pos : t.pos+end]
			t.pos += end + 2
		} else {
			t.pos = len(t.src)
		}
		var out []node
		for _, r := range text {
			out = append(out, t.lit(r))
		}
		if len(out) == 0 {
			// \Q\E quotes nothing: a quantifier after it applies to
			// nothing, which Java rejects as dangling.
			if !t.eof() {
				if _, _, isQ, _ := t.lookQuantifier(); isQ || strings.ContainsRune("*+?", t.peek()) {
					return nil, t.unsupported(t.pos, "a quantifier after an empty \\Q\\E")
				}
			}
			return nil, nil
		}
		return out, nil
	case 'b', 'B':
		return nil, t.unsupported(pos, `word boundaries (\%c) follow Java's own definition of a word character`, c)
	case 'G', 'R', 'X', 'h', 'H', 'v', 'V', 'p', 'P', 'N', 'k':
		return nil, t.unsupported(pos, `\%c has no exact RE2 equivalent`, c)
	}
	if c >= '1' && c <= '9' {
		return nil, t.unsupported(pos, "back references have no RE2 equivalent")
	}
	r, err := t.charEscape(pos)
	if err != nil {
		return nil, err
	}
	return []node{t.lit(r)}, nil
}

// charEscape reads an escape that stands for one character, after the
// backslash: \t \n \r \f \a \e \0oo \xhh \x{…} \uhhhh \cX, or a backslash
// before a character that is not an ASCII letter or digit.
func (t *translator) charEscape(pos int) (rune, error) {
	c := t.next()
	switch c {
	case 't':
		return '\t', nil
	case 'n':
		return '\n', nil
	case 'r':
		return '\r', nil
	case 'f':
		return '\f', nil
	case 'a':
		return '\a', nil
	case 'e':
		return 0x1B, nil
	case '0':
		// \0n, \0nn, \0mnn (m ≤ 3).
		s := t.pos
		for t.pos-s < 3 && !t.eof() && t.peek() >= '0' && t.peek() <= '7' {
			if t.pos-s == 2 && t.src[s] > '3' {
				break
			}
			t.next()
		}
		if t.pos == s {
			return 0, t.invalid(pos, "illegal octal escape sequence")
		}
		v, _ := strconv.ParseInt(t.src[s:t.pos], 8, 32)
		return rune(v), nil
	case 'x':
		if !t.eof() && t.peek() == '{' {
			t.next()
			s := t.pos
			for !t.eof() && isHex(t.peek()) {
				t.next()
			}
			if t.pos == s || t.eof() || t.peek() != '}' {
				return 0, t.invalid(pos, "unclosed hexadecimal escape sequence")
			}
			v, err := strconv.ParseInt(t.src[s:t.pos], 16, 32)
			t.next()
			if err != nil || v > 0x10FFFF {
				return 0, t.invalid(pos, "hexadecimal codepoint is too big")
			}
			if v >= 0xD800 && v <= 0xDFFF {
				return 0, t.unsupported(pos, "a surrogate code point")
			}
			return rune(v), nil
		}
		return t.hexDigits(pos, 2, "illegal hexadecimal escape sequence")
	case 'u':
		r, err := t.hexDigits(pos, 4, "illegal Unicode escape sequence")
		if err != nil {
			return 0, err
		}
		if r >= 0xD800 && r <= 0xDBFF && strings.HasPrefix(t.src[t.pos:], `\u`) {
			save := t.pos
			t.pos += 2
			lo, err := t.hexDigits(pos, 4, "illegal Unicode escape sequence")
			if err == nil && lo >= 0xDC00 && lo <= 0xDFFF {
				return (r-0xD800)<<10 + (lo - 0xDC00) + 0x10000, nil
			}
			t.pos = save
		}
		if r >= 0xD800 && r <= 0xDFFF {
			return 0, t.unsupported(pos, "a lone surrogate \\u escape")
		}
		return r, nil
	case 'c':
		if t.eof() {
			return 0, t.invalid(pos, "illegal control escape sequence")
		}
		return t.next() ^ 64, nil
	}
	if isASCIILetter(c) || (c >= '0' && c <= '9') {
		return 0, t.invalid(pos, "illegal/unsupported escape sequence \\%c", c)
	}
	return c, nil
}

func (t *translator) hexDigits(pos, n int, msg string) (rune, error) {
	if len(t.src)-t.pos < n {
		return 0, t.invalid(pos, "%s", msg)
	}
	s := t.src[t.pos : t.pos+n]
	for _, r := range s {
		if !isHex(r) {
			return 0, t.invalid(pos, "%s", msg)
		}
	}
	t.pos += n
	v, _ := strconv.ParseInt(s, 16, 32)
	return rune(v), nil
}

// class reads a character class after its '['. Java's classes allow
// unions ([a[b]]) and intersections ([a-z&&[^e]]), which are refused.
func (t *translator) class(pos int) (node, error) {
	var set []rng
	negated := false
	if !t.eof() && t.peek() == '^' {
		t.next()
		negated = true
	}
	if !t.eof() && t.peek() == ']' {
		return nil, t.unsupported(t.pos, "a ']' first in a character class")
	}
	start := t.pos
	for {
		if t.eof() {
			return nil, t.invalid(pos, "unclosed character class")
		}
		ep := t.pos
		r := t.next()
		var lo rune
		var single bool
		switch r {
		case ']':
			if len(set) == 0 && !negated {
				return nil, t.unsupported(pos, "an empty character class")
			}
			return class{ranges: normalize(t.foldClass(set)), negated: negated}, nil
		case '[':
			return nil, t.unsupported(ep, "nested character classes (Java unions) have no RE2 equivalent")
		case '&':
			if !t.eof() && t.peek() == '&' {
				return nil, t.unsupported(ep, "character class intersections (&&) have no RE2 equivalent")
			}
			lo, single = r, true
		case '\\':
			if t.eof() {
				return nil, t.invalid(pos, "unclosed character class")
			}
			switch c := t.peek(); c {
			case 'd', 'D', 'w', 'W', 's', 'S':
				t.next()
				if t.rangeFollows() {
					return nil, t.unsupported(ep, "a range that starts with a class escape")
				}
				set = append(set, predefined(c)...)
				continue
			case 'Q':
				return nil, t.unsupported(ep, `\Q…\E inside a character class`)
			case 'b', 'B', 'A', 'z', 'Z', 'G', 'R', 'X', 'h', 'H', 'v', 'V', 'p', 'P', 'N', 'k':
				return nil, t.unsupported(ep, `\%c in a character class`, c)
			}
			if c := t.peek(); c >= '1' && c <= '9' {
				return nil, t.unsupported(ep, `\%c in a character class`, c)
			}
			v, err := t.charEscape(ep)
			if err != nil {
				return nil, err
			}
			lo, single = v, true
		case utf8.RuneError:
			if !utf8.ValidString(t.src[ep:t.pos]) {
				return nil, t.unsupported(ep, "the pattern is not valid UTF-8")
			}
			lo, single = r, true
		case '-':
			// First or last, '-' is itself; anywhere else, outside a
			// range, Java's reading is not worth reproducing.
			if ep != start && (len(t.src) <= t.pos || t.src[t.pos] != ']') {
				return nil, t.unsupported(ep, "a '-' that is neither first, last nor part of a range")
			}
			lo, single = r, true
		default:
			lo, single = r, true
		}
		if !single {
			continue
		}
		if t.rangeFollows() {
			t.next() // '-'
			hp := t.pos
			h := t.next()
			hi := h
			switch h {
			case '\\':
				if t.eof() {
					return nil, t.invalid(pos, "unclosed character class")
				}
				if strings.ContainsRune("dDwWsSQbBAzZGRXhHvVpPNk123456789", t.peek()) {
					return nil, t.unsupported(hp, "a range that ends with a class escape")
				}
				v, err := t.charEscape(hp)
				if err != nil {
					return nil, err
				}
				hi = v
			case '[':
				return nil, t.unsupported(hp, "nested character classes (Java unions) have no RE2 equivalent")
			}
			if hi < lo {
				return nil, t.invalid(ep, "illegal character range")
			}
			set = append(set, rng{lo, hi})
			continue
		}
		set = append(set, rng{lo, lo})
	}
}

// rangeFollows: a '-' that is not the last character of the class.
func (t *translator) rangeFollows() bool {
	rest := t.src[t.pos:]
	return len(rest) >= 2 && rest[0] == '-' && rest[1] != ']'
}

// foldClass adds, when case-insensitive, the other case of every ASCII
// letter in set: Java tests a character and its ASCII upper and lower
// forms against the class.
func (t *translator) foldClass(set []rng) []rng {
	if !t.flags.ci {
		return set
	}
	out := slices.Clone(set)
	for _, r := range set {
		for _, l := range [][2]rune{{'a', 'z'}, {'A', 'Z'}} {
			lo, hi := max(r.lo, l[0]), min(r.hi, l[1])
			if lo > hi {
				continue
			}
			if l[0] == 'a' {
				out = append(out, rng{upper(lo), upper(hi)})
			} else {
				out = append(out, rng{lower(lo), lower(hi)})
			}
		}
	}
	return out
}

// checkEnds allows $ and \Z only where nothing can follow them: Java's $
// also matches before a final line terminator, which a pattern could then
// consume; in tail position, with a whole-string match, it is \z.
func (t *translator) checkEnds(root node) error {
	if len(t.ends) == 0 {
		return nil
	}
	tail := map[*endAnchor]bool{}
	var walk func(n node, isTail bool)
	walk = func(n node, isTail bool) {
		switch v := n.(type) {
		case alt:
			for _, x := range v {
				walk(x, isTail)
			}
		case seq:
			// An element is in tail position when everything after it
			// matches only the empty string at the end: end anchors.
			for i, x := range v {
				rest := isTail
				for _, after := range v[i+1:] {
					if !onlyEnd(after) {
						rest = false
					}
				}
				walk(x, rest)
			}
		case group:
			walk(v.body, isTail)
		case repeat:
			walk(v.body, false)
		case *endAnchor:
			if isTail {
				tail[v] = true
			}
		}
	}
	walk(root, true)
	for _, e := range t.ends {
		if !tail[e] {
			return t.unsupported(e.pos, "$ or \\Z followed by more pattern (Java's $ also matches before a final line terminator)")
		}
	}
	return nil
}

// onlyEnd: n matches nothing but the empty string at the end of the input.
func onlyEnd(n node) bool {
	switch v := n.(type) {
	case *endAnchor:
		return true
	case anchor:
		return v.re2 == `\z`
	case group:
		return onlyEnd(v.body)
	case seq:
		for _, x := range v {
			if !onlyEnd(x) {
				return false
			}
		}
		return true
	case alt:
		for _, x := range v {
			if !onlyEnd(x) {
				return false
			}
		}
		return len(v) > 0
	}
	return false
}

// lineTerminators are Java's, for . without DOTALL (UNIX_LINES off).
var lineTerminators = []rng{{'\n', '\n'}, {'\r', '\r'}, {0x85, 0x85}, {0x2028, 0x2029}}

// predefined are Java's ASCII classes (UNICODE_CHARACTER_CLASS off). Java's
// \s has the vertical tab, RE2's does not.
func predefined(c rune) []rng {
	var set []rng
	switch c {
	case 'd', 'D':
		set = []rng{{'0', '9'}}
	case 'w', 'W':
		set = []rng{{'0', '9'}, {'A', 'Z'}, {'_', '_'}, {'a', 'z'}}
	case 's', 'S':
		set = []rng{{'\t', '\r'}, {' ', ' '}} // \t \n \x0B \f \r and space
	}
	if c == 'D' || c == 'W' || c == 'S' {
		return complement(set)
	}
	return set
}

// normalize sorts and merges ranges.
func normalize(set []rng) []rng {
	s := slices.Clone(set)
	slices.SortFunc(s, func(a, b rng) int { return int(a.lo - b.lo) })
	var out []rng
	for _, r := range s {
		if n := len(out); n > 0 && r.lo <= out[n-1].hi+1 {
			out[n-1].hi = max(out[n-1].hi, r.hi)
			continue
		}
		out = append(out, r)
	}
	return out
}

func complement(set []rng) []rng {
	var out []rng
	next := rune(0)
	for _, r := range normalize(set) {
		if r.lo > next {
			out = append(out, rng{next, r.lo - 1})
		}
		next = r.hi + 1
	}
	if next <= 0x10FFFF {
		out = append(out, rng{next, 0x10FFFF})
	}
	return out
}

func isASCIILetter(r rune) bool { return (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') }
func isASCIIAlnum(r rune) bool  { return isASCIILetter(r) || (r >= '0' && r <= '9') }
func isHex(r rune) bool {
	return (r >= '0' && r <= '9') || (r >= 'a' && r <= 'f') || (r >= 'A' && r <= 'F')
}

func lower(r rune) rune {
	if r >= 'A' && r <= 'Z' {
		return r + 'a' - 'A'
	}
	return r
}

func upper(r rune) rune {
	if r >= 'a' && r <= 'z' {
		return r - 'a' + 'A'
	}
	return r
}
