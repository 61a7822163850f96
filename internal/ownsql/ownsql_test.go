package ownsql_test

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/cdcpreflight/cdcpreflight/internal/ownsql"
	"github.com/cdcpreflight/cdcpreflight/internal/pgtest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// TestScriptMeansWhatTheParametersMeant: a statement with its arguments
// written in as literals returns on a real server what it returns with
// the arguments sent as parameters, for hostile strings and arrays.
func TestScriptMeansWhatTheParametersMeant(t *testing.T) {
	c := pgtest.Cluster(t)
	db := pgtest.NewDatabase(t, c)
	conn := pgtest.Conn(t, c, db)
	hostile := []string{`it's`, `"; DROP TABLE x; --`, `back\slash`, "ünï\tcode", "", `$1`}
	stmts := []ownsql.Statement{
		{SQL: `SELECT $1::text, $2::text[], $3::bool, $4::int8, $5::int8[] IS NULL, $6::text IS NULL`,
			Args: []any{hostile[0], hostile, true, int64(-7), []int64{1, 2}, nil}},
		{SQL: `SELECT x FROM unnest($1::text[], $2::text[]) AS u(x, y) WHERE y = ANY ($2) ORDER BY 1`,
			Args: []any{hostile, hostile}},
		{SQL: `SELECT coalesce(array_length($1::text[], 1), 0), $2 = 'b''c'`, Args: []any{[]string{}, "b'c"}},
	}
	script, err := ownsql.Script(stmts, "")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(script), ";\n")
	if len(lines) != len(stmts) {
		t.Fatalf("%d statements rendered as %d: %s", len(stmts), len(lines), script)
	}
	for i, s := range stmts {
		want := rowsText(t, conn, s.SQL, s.Args...)
		got := rowsText(t, conn, strings.TrimSuffix(lines[i], ";"), pgx.QueryExecModeSimpleProtocol)
		if got != want {
			t.Errorf("statement %d: literals give %q, parameters %q\n%s", i, got, want, lines[i])
		}
	}
	if _, err := ownsql.Script([]ownsql.Statement{{SQL: "SELECT $2", Args: []any{"a"}}}, ""); err == nil {
		t.Error("a missing argument rendered")
	}
	if _, err := ownsql.Literal(struct{}{}); err == nil {
		t.Error("an unknown type rendered")
	}
}

func rowsText(t *testing.T, conn *pgx.Conn, sql string, args ...any) string {
	t.Helper()
	rows, err := conn.Query(t.Context(), sql, args...)
	if err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	defer rows.Close()
	var b strings.Builder
	for rows.Next() {
		vals, err := rows.Values()
		if err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
		fmt.Fprintf(&b, "%#v", vals)
		b.WriteString("\n")
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return b.String()
}
