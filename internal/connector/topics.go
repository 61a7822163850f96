package connector

import (
	"strings"
	"unicode/utf16"
)

// MaxTopicLength is Kafka's limit on a topic name, which Debezium cuts
// names to (TopicNamingStrategy.MAX_NAME_LENGTH).
const MaxTopicLength = 249

// TopicName is the topic Debezium's default naming strategy
// (SchemaTopicNamingStrategy) gives a table's changes:
// prefix<delim>schema<delim>table, blank parts left out, then sanitised as
// AbstractTopicNamingStrategy does: every UTF-16 unit outside
// [A-Za-z0-9._-] becomes '_' (so a character beyond the BMP becomes two),
// the name is cut to 249 units, and "." or ".." become "_" or "__".
// changed reports whether the name differs from the unsanitised one.
func TopicName(prefix, delim, schema, table string) (name string, changed bool) {
	var parts []string
	for _, p := range []string{prefix, schema, table} {
		if strings.TrimSpace(p) != "" {
			parts = append(parts, p)
		}
	}
	raw := strings.Join(parts, delim)
	units := utf16.Encode([]rune(raw))
	var b strings.Builder
	for _, u := range units {
		if u < 0x80 && validTopicChar(byte(u)) {
			b.WriteByte(byte(u))
			continue
		}
		b.WriteByte('_')
		changed = true
	}
	name = b.String()
	switch {
	case len(name) > MaxTopicLength:
		name, changed = name[:MaxTopicLength], true
	case name == ".":
		name, changed = "_", true
	case name == "..":
		name, changed = "__", true
	}
	if !changed {
		return raw, false
	}
	return name, true
}

func validTopicChar(c byte) bool {
	return c == '.' || c == '_' || c == '-' || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')
}
