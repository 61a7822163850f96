// Package sqlident quotes identifiers and literals for the SQL that
// cdcpreflight prints and runs. Names come from users and catalogs and may
// hold quotes, spaces, unicode or "; DROP TABLE": every one goes through here.
package sqlident

import "strings"

// Quote renders name as PostgreSQL's quote_ident does: bare when it is a
// lower-case identifier that is not a keyword PostgreSQL would misread,
// double-quoted (with inner quotes doubled) otherwise. A "$" is quoted
// too, as quote_ident quotes it, so that names rendered here compare equal
// to names the catalog reads render on the server.
func Quote(name string) string {
	if isBare(name) {
		return name
	}
	return `"` + strings.ReplaceAll(name, `"`, `""`) + `"`
}

// Qualified renders schema.name with each part quoted.
func Qualified(schema, name string) string {
	return Quote(schema) + "." + Quote(name)
}

// Literal renders s as a string literal. With standard_conforming_strings
// on (the default since 9.1) backslashes are literal; the E” form is used
// when s has one so that the result is right whatever the setting.
func Literal(s string) string {
	q := "'" + strings.ReplaceAll(s, "'", "''") + "'"
	if strings.Contains(s, `\`) {
		return "E" + strings.ReplaceAll(q, `\`, `\\`)
	}
	return q
}

func isBare(name string) bool {
	if name == "" {
		return false
	}
	for i, r := range name {
		switch {
		case r >= 'a' && r <= 'z', r == '_':
		case r >= '0' && r <= '9':
			if i == 0 {
				return false
			}
		default:
			return false
		}
	}
	return !quotedKeywords[name]
}

// quotedKeywords are the keywords quote_ident quotes: every category but
// unreserved (reserved, column-name and type-function-name keywords), as of
// PostgreSQL 18. Quoting one more word than needed is harmless; one fewer
// would print SQL that does not parse.
var quotedKeywords = func() map[string]bool {
	words := strings.Fields(`
all analyse analyze and any array as asc asymmetric authorization between bigint binary bit
boolean both case cast char character check coalesce collate collation column concurrently
constraint create cross current_catalog current_date current_role current_schema current_time
current_timestamp current_user dec decimal default deferrable desc distinct do else end except
exists extract false fetch float for foreign freeze from full grant greatest group grouping
having ilike in initially inner inout int integer intersect interval into is isnull join
json json_array json_arrayagg json_exists json_object json_objectagg json_query json_scalar
json_serialize json_table json_value lateral leading least left like limit localtime
localtimestamp merge_action national natural nchar none normalize not notnull null nullif
numeric offset on only or order out outer overlaps overlay placing position precision primary
real references returning right row select session_user setof similar smallint some substring
symmetric system_user table tablesample then time timestamp to trailing treat trim true union
unique user using values varchar variadic verbose when where window with xmlattributes
xmlconcat xmlelement xmlexists xmlforest xmlnamespaces xmlparse xmlpi xmlroot xmlserialize
xmltable`)
	m := make(map[string]bool, len(words))
	for _, w := range words {
		m[w] = true
	}
	return m
}()
