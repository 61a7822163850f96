package sqlident

import (
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"

	"github.com/cdcpreflight/cdcpreflight/internal/fuzzcheck"
	"github.com/cdcpreflight/cdcpreflight/internal/pgtest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// serverCorpus is every name the fuzz targets keep (their seeds and the
// committed corpus) that a PostgreSQL server can hold: valid UTF-8, no NUL.
func serverCorpus(t *testing.T) []string {
	names := slices.Clone(fuzzcheck.HostileNames)
	for _, target := range []string{"FuzzQuote", "FuzzLiteral"} {
		for _, vals := range fuzzcheck.CorpusStrings(t, filepath.Join("testdata", "fuzz", target)) {
			names = append(names, vals...)
		}
	}
	var out []string
	for _, n := range names {
		if utf8.ValidString(n) && !strings.ContainsRune(n, 0) && !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	return out
}

// TestQuoteAgreesWithServer holds Quote, Qualified and Literal to a real
// server: Quote is what quote_ident returns (or, for a keyword newer than
// the server, quoted where the server would not bother), every quoted name
// parses back to itself as a column alias, every literal selects back as
// its text with standard_conforming_strings on and off, and every keyword
// the server quotes is in our list.
func TestQuoteAgreesWithServer(t *testing.T) {
	c := pgtest.Cluster(t)
	conn := pgtest.Conn(t, c, "postgres")
	ctx := t.Context()

	var serverKeywords []string
	rows, err := conn.Query(ctx, `SELECT word FROM pg_get_keywords() WHERE catcode <> 'U' ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	if serverKeywords, err = pgx.CollectRows(rows, pgx.RowTo[string]); err != nil {
		t.Fatal(err)
	}
	for _, w := range serverKeywords {
		if !quotedKeywords[w] {
			t.Errorf("PostgreSQL %s quotes keyword %q; sqlident's list lacks it", c.Version, w)
		}
	}
	if c.VersionNum/10000 == 18 {
		// The list is PostgreSQL 18's: on 18 it is exactly the server's.
		for _, w := range slices.Sorted(maps.Keys(quotedKeywords)) {
			if !slices.Contains(serverKeywords, w) {
				t.Errorf("sqlident quotes %q, which PostgreSQL 18 does not", w)
			}
		}
	}

	names := serverCorpus(t)
	if len(names) < len(fuzzcheck.HostileNames)-2 {
		t.Fatalf("only %d names", len(names))
	}
	for _, name := range names {
		var server string
		if err := conn.QueryRow(ctx, "SELECT quote_ident($1)", name).Scan(&server); err != nil {
			t.Fatalf("quote_ident(%q): %v", name, err)
		}
		got := Quote(name)
		// A keyword newer than the server is quoted by us, not by it.
		newer := quotedKeywords[name] && server == name && !slices.Contains(serverKeywords, name) && got == `"`+name+`"`
		if got != server && !newer {
			t.Errorf("Quote(%q) = %s, quote_ident = %s", name, got, server)
		}
		if name != "" && len(name) <= 63 {
			// The name as a column alias, read back from the row description.
			rows, err := conn.Query(ctx, "SELECT 1 AS "+got+", 2 AS "+Qualified(name, "x")[len(got)+1:])
			if err != nil {
				t.Errorf("SELECT 1 AS %s: %v", got, err)
				continue
			}
			fields := rows.FieldDescriptions()
			rows.Close()
			if len(fields) != 2 || fields[0].Name != name || fields[1].Name != "x" {
				t.Errorf("SELECT 1 AS %s: columns %v, want %q", got, fields, name)
			}
		}
		for _, scs := range []string{"on", "off"} {
			// A literal is read when the statement is parsed: the setting
			// must change in a statement before it.
			if _, err := conn.Exec(ctx, "SET standard_conforming_strings = "+scs); err != nil {
				t.Fatal(err)
			}
			var back string
			if err := conn.QueryRow(ctx, "SELECT "+Literal(name)).Scan(&back); err != nil {
				t.Errorf("SELECT %s (standard_conforming_strings %s): %v", Literal(name), scs, err)
				continue
			}
			if back != name {
				t.Errorf("SELECT %s (standard_conforming_strings %s) = %q, want %q", Literal(name), scs, back, name)
			}
		}
	}
	if _, err := conn.Exec(ctx, "RESET standard_conforming_strings"); err != nil {
		t.Fatal(err)
	}
	t.Logf("PostgreSQL %s: %d names, %d keywords", c.Version, len(names), len(serverKeywords))
}
