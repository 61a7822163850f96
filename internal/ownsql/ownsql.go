// Package ownsql records the statements a check sends and renders them as
// a psql script, parameters written in as literals: the benchmark runs it
// beside the check, so that what cdcpreflight's own SQL costs the server
// (with psql's round trip per statement) is measured apart from what the
// tool adds around it (its process, TLS, decoding, rules, reports).
package ownsql

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"github.com/jackc/pgx/v5"

	"github.com/cdcpreflight/cdcpreflight/internal/sqlident"
)

// Recorder is a pgx tracer that keeps every statement and its arguments.
type Recorder struct {
	mu    sync.Mutex
	stmts []Statement
}

// Statement is one statement sent, with its arguments.
type Statement struct {
	SQL  string
	Args []any
}

// TraceQueryStart records the statement.
func (r *Recorder) TraceQueryStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceQueryStartData) context.Context {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.stmts = append(r.stmts, Statement{SQL: d.SQL, Args: d.Args})
	return ctx
}

// TraceQueryEnd does nothing.
func (r *Recorder) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

// Statements returns what was recorded, in order.
func (r *Recorder) Statements() []Statement {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Statement(nil), r.stmts...)
}

var param = regexp.MustCompile(`\$([0-9]+)`)

// Script renders stmts as a psql script, one statement a line group, each
// ending in ';', with every $n replaced by its argument as a literal. A
// statement of the transaction's own (BEGIN, SAVEPOINT) is kept as sent;
// end is appended (the check ends its transaction with ROLLBACK, which it
// does not trace).
func Script(stmts []Statement, end string) (string, error) {
	var b strings.Builder
	for _, s := range stmts {
		var err error
		sql := param.ReplaceAllStringFunc(s.SQL, func(m string) string {
			n, _ := strconv.Atoi(m[1:])
			if n < 1 || n > len(s.Args) {
				err = fmt.Errorf("statement has %s but %d arguments", m, len(s.Args))
				return m
			}
			lit, e := Literal(s.Args[n-1])
			if e != nil {
				err = e
			}
			return lit
		})
		if err != nil {
			return "", err
		}
		b.WriteString(strings.TrimRight(sql, "; \n\t") + ";\n")
	}
	if end != "" {
		b.WriteString(end + ";\n")
	}
	return b.String(), nil
}

// Literal renders an argument as SQL: strings quoted, arrays as typed ARRAY
// constructors (in parentheses, so that a cast after the parameter applies
// to the whole).
func Literal(v any) (string, error) {
	switch x := v.(type) {
	case nil:
		return "NULL", nil
	case string:
		return sqlident.Literal(x), nil
	case bool:
		return strconv.FormatBool(x), nil
	case int:
		return strconv.Itoa(x), nil
	case int64:
		return strconv.FormatInt(x, 10), nil
	case []string:
		items := make([]string, len(x))
		for i, s := range x {
			items[i] = sqlident.Literal(s)
		}
		return "(ARRAY[" + strings.Join(items, ", ") + "]::text[])", nil
	case []int64:
		items := make([]string, len(x))
		for i, n := range x {
			items[i] = strconv.FormatInt(n, 10)
		}
		return "(ARRAY[" + strings.Join(items, ", ") + "]::int8[])", nil
	}
	return "", fmt.Errorf("no literal for an argument of type %T", v)
}
