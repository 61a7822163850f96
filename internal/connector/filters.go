package connector

import (
	"errors"
	"fmt"
	"strings"

	"github.com/cdcpreflight/cdcpreflight/facts"
	"github.com/cdcpreflight/cdcpreflight/internal/javaregex"
	"github.com/cdcpreflight/cdcpreflight/internal/sqlident"
)

// The filter properties, in the order Debezium combines them.
const (
	PropSchemaInclude = "schema.include.list"
	PropSchemaExclude = "schema.exclude.list"
	PropTableInclude  = "table.include.list"
	PropTableExclude  = "table.exclude.list"
	PropColumnInclude = "column.include.list"
	PropColumnExclude = "column.exclude.list"
)

// SplitList splits a filter list as Debezium's Strings.RegExSplitter does:
// at commas not escaped by a backslash (a backslash escapes whatever
// follows it), each part trimmed and "\," turned into ","; parts empty
// before trimming are dropped, parts of only spaces are kept empty. A
// trailing lone backslash is an error.
func SplitList(s string) ([]string, error) {
	var parts []string
	start := 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			if i+1 >= len(s) {
				return nil, errors.New("unterminated escape sequence at the end of the list")
			}
			i++
		case ',':
			parts = appendPart(parts, s[start:i])
			start = i + 1
		}
	}
	return appendPart(parts, s[start:]), nil
}

func appendPart(parts []string, p string) []string {
	if p == "" {
		return parts
	}
	return append(parts, strings.ReplaceAll(strings.TrimSpace(p), `\,`, ","))
}

// PatternError is one pattern of a list that cannot be used.
type PatternError struct {
	List    string
	Pattern string
	Err     error
}

func (e PatternError) Error() string { return e.List + ": " + e.Err.Error() }

// Invalid reports whether Debezium itself rejects the pattern, at
// configuration validation.
func (e PatternError) Invalid() bool { return errors.Is(e.Err, javaregex.ErrInvalid) }

// patternList is one compiled filter list.
type patternList struct {
	prop     string
	patterns []*javaregex.Pattern
	matched  []bool
}

// CompileList compiles a filter list as Debezium does (case-insensitive,
// whole-string). It returns every pattern that cannot be used.
func CompileList(prop, list string) (*patternList, []PatternError) {
	parts, err := SplitList(list)
	if err != nil {
		return nil, []PatternError{{List: prop, Pattern: list, Err: &javaregex.Error{Pattern: list, Reason: err.Error(), Invalid: true}}}
	}
	pl := &patternList{prop: prop}
	var errs []PatternError
	for _, p := range parts {
		re, err := javaregex.CompileCaseInsensitive(p)
		if err != nil {
			errs = append(errs, PatternError{List: prop, Pattern: p, Err: err})
			continue
		}
		pl.patterns = append(pl.patterns, re)
	}
	pl.matched = make([]bool, len(pl.patterns))
	return pl, errs
}

// match reports whether any pattern matches s, as Debezium's predicate
// does. track records which patterns match: a pattern already known to
// match is not tried again once the answer is known, so that finding the
// patterns that match nothing costs no second pass.
func (p *patternList) match(s string, track bool) bool {
	found := false
	for i, re := range p.patterns {
		if found && (!track || p.matched[i]) {
			continue
		}
		if re.MatchString(s) {
			found = true
			if track {
				p.matched[i] = true
			}
		}
	}
	return found
}

// Scope decides what a connector captures, as Debezium's
// RelationalTableFilters does: the schema filter (include, else exclude)
// AND the table filter (include, else exclude, matched against
// "schema.table"), AND not a system table unless table.ignore.builtin is
// false; then the signal table, added by matching its name as a pattern.
// Debezium reads the table names itself and so does Scope: no name needs
// quoting, and case matters only through the patterns.
type Scope struct {
	schema      *patternList // include, else exclude
	schemaIncl  bool
	table       *patternList
	tableIncl   bool
	signal      *patternList // signal.data.collection as a pattern
	keepBuiltin bool
	// partitioned: Debezium lists partitioned tables as candidates (2.1+).
	partitioned bool
	// explicit: an include list names what is captured.
	explicit bool
	ignored  []*patternList // an exclude list Debezium ignores because the include list is set
	// schemaSeen caches the schema filter's verdict per schema.
	schemaSeen map[string]bool
}

// NewScope compiles the connector's filters. The errors are every pattern
// that cannot be used; with any, the scope cannot be computed.
func NewScope(c *facts.Connector) (*Scope, []PatternError) {
	s := &Scope{keepBuiltin: c.Filters.KeepBuiltin, partitioned: true}
	if v, err := ParseVersion(c.Version); err == nil && v.Before(2, 1) {
		s.partitioned = false
	}
	var errs []PatternError
	compile := func(prop, list string) *patternList {
		if strings.TrimSpace(list) == "" {
			return nil
		}
		pl, e := CompileList(prop, list)
		errs = append(errs, e...)
		return pl
	}
	f := c.Filters
	if s.schema = compile(PropSchemaInclude, f.SchemaInclude); s.schema != nil {
		s.schemaIncl = true
		if ex := compile(PropSchemaExclude, f.SchemaExclude); ex != nil {
			s.ignored = append(s.ignored, ex)
		}
	} else {
		s.schema = compile(PropSchemaExclude, f.SchemaExclude)
	}
	if s.table = compile(PropTableInclude, f.TableInclude); s.table != nil {
		s.tableIncl = true
		if ex := compile(PropTableExclude, f.TableExclude); ex != nil {
			s.ignored = append(s.ignored, ex)
		}
	} else {
		s.table = compile(PropTableExclude, f.TableExclude)
	}
	s.explicit = s.schemaIncl || s.tableIncl
	if c.SignalCollection != "" {
		if id, ok := ParseTableID(c.SignalCollection); ok && id.Schema != "" {
			s.signal = compile("signal.data.collection", id.Schema+"."+id.Table)
		}
	}
	return s, errs
}

// Explicit reports whether an include list names the captured tables; with
// only exclude lists, or none, every table is captured but those excluded.
func (s *Scope) Explicit() bool { return s.explicit }

// Candidate is a table the connector could capture.
type Candidate struct {
	Schema, Name string
	Partitioned  bool // relkind p
}

// system is Debezium's SystemTablesPredicate: pg_catalog and
// information_schema (in any case), pg_temp* schemas, and tables named
// spatial_ref_sys (PostGIS's) anywhere.
func system(schema, table string) bool {
	ls := strings.ToLower(schema)
	return ls == "pg_catalog" || ls == "information_schema" || strings.HasPrefix(schema, "pg_temp") ||
		strings.ToLower(table) == "spatial_ref_sys"
}

// filtered applies the filters to one table (name is schema.table),
// recording which patterns match (track). A schema's verdict is worked
// out once: thousands of tables share a handful of schemas.
func (s *Scope) filtered(schema, table, name string, track bool) bool {
	if s.schema != nil {
		in, seen := s.schemaSeen[schema]
		if !seen {
			in = s.schema.match(schema, track) == s.schemaIncl
			if s.schemaSeen == nil {
				s.schemaSeen = map[string]bool{}
			}
			s.schemaSeen[schema] = in
		}
		if !in {
			return false
		}
	}
	if !s.keepBuiltin && system(schema, table) {
		return false
	}
	if s.table != nil && s.table.match(name, track) != s.tableIncl {
		return false
	}
	return true
}

// Captures reports whether the connector captures schema.table.
func (s *Scope) Captures(schema, table string) bool {
	name := schema + "." + table
	return s.filtered(schema, table, name, false) || (s.signal != nil && s.signal.match(name, false))
}

// Resolve picks the captured tables among the candidates in one pass, and
// reports which patterns match nothing and which tables are left out.
func (s *Scope) Resolve(cands []Candidate) ([]facts.TableRef, facts.CaptureScope) {
	out := facts.CaptureScope{Resolved: true}
	var refs []facts.TableRef
	for _, c := range cands {
		if c.Partitioned && !s.partitioned {
			continue
		}
		out.Candidates++
		name := c.Schema + "." + c.Name
		in := s.filtered(c.Schema, c.Name, name, true)
		if !in && s.signal != nil && s.signal.match(name, false) {
			in = true
			out.SignalAdded = sqlident.Qualified(c.Schema, c.Name)
		}
		for _, ig := range s.ignored {
			ig.match(name, true)
		}
		if in {
			refs = append(refs, facts.TableRef{Schema: c.Schema, Table: c.Name})
			continue
		}
		out.NotCaptured = append(out.NotCaptured, sqlident.Qualified(c.Schema, c.Name))
	}
	out.Captured = len(refs)
	for _, pl := range []*patternList{s.schema, s.table} {
		if pl == nil {
			continue
		}
		for i, re := range pl.patterns {
			out.Patterns = append(out.Patterns, facts.ScopePattern{List: pl.prop, Pattern: re.String(), Matched: pl.matched[i]})
		}
	}
	return refs, out
}

// TableID is a table named by a connector setting, as Debezium's
// TableId.parse reads it: parts separated by dots, double quotes around a
// part that holds dots or quotes.
type TableID struct {
	Catalog, Schema, Table string
	Parts                  int
}

func (t TableID) String() string {
	if t.Schema == "" {
		return t.Table
	}
	return t.Schema + "." + t.Table
}

// ParseTableID reads "schema.table" (or "db.schema.table", or "table") as
// Debezium's TableIdParser does: a part may be quoted with ", ' or `, a
// doubled quote standing for itself; parts past the third are ignored.
func ParseTableID(s string) (TableID, bool) {
	var parts []string
	var cur strings.Builder
	var quote byte
	s = strings.TrimSpace(s)
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quote != 0 && c == quote && i+1 < len(s) && s[i+1] == quote:
			cur.WriteByte(c)
			i++
		case quote != 0 && c == quote:
			quote = 0
		case quote == 0 && (c == '"' || c == '\'' || c == '`'):
			quote = c
		case quote == 0 && c == '.':
			parts = append(parts, cur.String())
			cur.Reset()
		default:
			cur.WriteByte(c)
		}
	}
	parts = append(parts, cur.String())
	if quote != 0 {
		return TableID{}, false
	}
	id := TableID{Parts: len(parts)}
	switch len(parts) {
	case 1:
		id.Table = parts[0]
	case 2:
		id.Schema, id.Table = parts[0], parts[1]
	default:
		id.Catalog, id.Schema, id.Table = parts[0], parts[1], parts[2]
	}
	return id, id.Table != ""
}

// ColumnsPass reports which of columns of schema.table pass the column
// filters (include, else exclude), matched against schema.table.column.
func ColumnsPass(f facts.ConnectorFilters, schema, table string, columns []string) (pass []bool, err error) {
	list, incl := f.ColumnInclude, true
	prop := PropColumnInclude
	if strings.TrimSpace(list) == "" {
		list, incl, prop = f.ColumnExclude, false, PropColumnExclude
	}
	pass = make([]bool, len(columns))
	if strings.TrimSpace(list) == "" {
		for i := range pass {
			pass[i] = true
		}
		return pass, nil
	}
	pl, errs := CompileList(prop, list)
	if len(errs) > 0 {
		return nil, fmt.Errorf("%w", errs[0])
	}
	for i, c := range columns {
		pass[i] = pl.match(schema+"."+table+"."+c, false) == incl
	}
	return pass, nil
}
