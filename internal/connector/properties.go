package connector

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// debeziumServerPrefix marks a Debezium Server application.properties: its
// connector's properties are the debezium.source.* keys.
const debeziumServerPrefix = "debezium.source."

// parseProperties reads a .properties file as java.util.Properties.load
// does: a key ends at the first unescaped '=', ':' or white space; lines
// ending in an odd number of backslashes continue; '#' and '!' start
// comments; \t \n \r \f \uXXXX escapes, and a backslash before any other
// character is that character. A file with debezium.source.* keys is a
// Debezium Server application.properties (read as UTF-8, as Quarkus does);
// any other is a connector file for connect-standalone, which Kafka reads
// as ISO-8859-1 (Utils.loadProps loads from an InputStream), so bytes
// beyond ASCII are read as one character each, as the connector would.
func parseProperties(path string, data []byte) (*Config, error) {
	entries, err := readProperties(path, string(data))
	if err != nil {
		return nil, err
	}
	server := false
	for _, e := range entries {
		if strings.HasPrefix(e.key, debeziumServerPrefix) {
			server = true
			break
		}
	}
	c := &Config{Format: FormatProperties, Flavour: "debezium"}
	if server {
		c.Format = FormatDebeziumServer
	} else if !utf8.ValidString(string(data)) || hasNonASCII(data) {
		latin1 := latin1String(data)
		if entries, err = readProperties(path, latin1); err != nil {
			return nil, err
		}
		c.Notes = append(c.Notes, "the file has characters beyond ASCII: Kafka reads a connector .properties file as ISO-8859-1, "+
			"so each such byte is read as one character (write them as \\uXXXX escapes)")
	}
	for _, e := range entries {
		key := e.key
		if server {
			var ok bool
			if key, ok = strings.CutPrefix(key, debeziumServerPrefix); !ok {
				continue // the sink's, the offset store's, Quarkus's: not the connector's
			}
		}
		if c.Line == 0 {
			c.Line = e.line
		}
		c.put(key, Value{Key: e.key, Text: e.value, Line: e.line})
	}
	if server {
		if _, ok := c.Props["connector.class"]; !ok {
			return nil, fileErr(path, c.Line, "a Debezium Server configuration without debezium.source.connector.class")
		}
	}
	return c, nil
}

func hasNonASCII(b []byte) bool {
	for _, c := range b {
		if c >= 0x80 {
			return true
		}
	}
	return false
}

func latin1String(b []byte) string {
	var sb strings.Builder
	for _, c := range b {
		sb.WriteRune(rune(c))
	}
	return sb.String()
}

type propEntry struct {
	key, value string
	line       int
}

// readProperties splits text into entries. The only malformed input
// Properties.load rejects is a bad \uXXXX escape.
func readProperties(path, text string) ([]propEntry, error) {
	var out []propEntry
	// Natural lines end at \n, \r or \r\n.
	text = strings.ReplaceAll(text, "\r\n", "\n")
	text = strings.ReplaceAll(text, "\r", "\n")
	lines := strings.Split(text, "\n")
	for i := 0; i < len(lines); i++ {
		start := i + 1
		line := strings.TrimLeft(lines[i], " \t\f")
		if line == "" || line[0] == '#' || line[0] == '!' {
			continue
		}
		// Join continuation lines: an odd number of trailing backslashes.
		logical := line
		for trailingBackslashes(logical)%2 == 1 && i+1 < len(lines) {
			i++
			logical = logical[:len(logical)-1] + strings.TrimLeft(lines[i], " \t\f")
		}
		if trailingBackslashes(logical)%2 == 1 {
			logical = logical[:len(logical)-1]
		}
		key, value := splitProperty(logical)
		k, err := unescapeProperty(key)
		if err != nil {
			return nil, fileErr(path, start, "%s", err.Error())
		}
		v, err := unescapeProperty(value)
		if err != nil {
			return nil, fileErr(path, start, "the value of %s: %s", k, err.Error())
		}
		out = append(out, propEntry{key: k, value: v, line: start})
	}
	return out, nil
}

func trailingBackslashes(s string) int {
	n := 0
	for i := len(s) - 1; i >= 0 && s[i] == '\\'; i-- {
		n++
	}
	return n
}

// splitProperty splits a logical line at the key's end: the first
// unescaped '=', ':' or white space, then white space and at most one
// '=' or ':'.
func splitProperty(line string) (key, value string) {
	i := 0
	for i < len(line) {
		c := line[i]
		if c == '\\' {
			i += 2
			continue
		}
		if c == '=' || c == ':' || c == ' ' || c == '\t' || c == '\f' {
			break
		}
		i++
	}
	if i > len(line) {
		i = len(line)
	}
	key = line[:i]
	rest := line[i:]
	rest = strings.TrimLeft(rest, " \t\f")
	if rest != "" && (rest[0] == '=' || rest[0] == ':') {
		rest = strings.TrimLeft(rest[1:], " \t\f")
	}
	return key, rest
}

// unescapeProperty undoes Properties escapes. Its errors never repeat the
// text, which may be a secret.
func unescapeProperty(s string) (string, error) {
	if !strings.Contains(s, `\`) {
		return s, nil
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' || i+1 >= len(s) {
			b.WriteByte(c)
			continue
		}
		i++
		switch s[i] {
		case 't':
			b.WriteByte('\t')
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		case 'f':
			b.WriteByte('\f')
		case 'u':
			r, err := hex4(s, i+1)
			if err != nil {
				return "", err
			}
			i += 4
			// Java strings are UTF-16: a high surrogate escape followed
			// by a low one is one character.
			if r >= 0xD800 && r <= 0xDBFF && strings.HasPrefix(s[i+1:], `\u`) {
				if lo, err := hex4(s, i+3); err == nil && lo >= 0xDC00 && lo <= 0xDFFF {
					r = (r-0xD800)<<10 + (lo - 0xDC00) + 0x10000
					i += 6
				}
			}
			b.WriteRune(r)
		default:
			b.WriteByte(s[i])
		}
	}
	return b.String(), nil
}

func hex4(s string, at int) (rune, error) {
	if len(s)-at < 4 {
		return 0, errMalformedUnicode
	}
	v, err := strconv.ParseUint(s[at:at+4], 16, 16)
	if err != nil {
		return 0, errMalformedUnicode
	}
	return rune(v), nil
}

type propError string

func (e propError) Error() string { return string(e) }

const errMalformedUnicode = propError(`malformed \uXXXX escape (Java's Properties.load refuses the file)`)
