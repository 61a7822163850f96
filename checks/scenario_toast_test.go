package checks_test

import (
	"strings"
	"testing"
	"time"

	"github.com/cdcpreflight/cdcpreflight/facts"
	"github.com/cdcpreflight/cdcpreflight/internal/pgtest"
	"github.com/cdcpreflight/cdcpreflight/internal/sqlident"
	"github.com/cdcpreflight/cdcpreflight/rules"
)

// toastScenarios: rule → {passing scenario, non-passing scenario}.
var toastScenarios = map[string][2]string{
	"toast-unchanged": {"TestScenarioToastUnchanged", "TestScenarioToastUnchanged"},
}

// TestScenarioToastUnchanged: a captured table under the default replica
// identity holds a value stored out of line (96 kB that does not
// compress), beside a table whose values stay inline. The rule names the
// first, with its TOASTable columns but not its key; the server agrees:
// an UPDATE of another column decodes with the value left out
// ("unchanged-toast-datum"). Under REPLICA IDENTITY FULL it passes.
func TestScenarioToastUnchanged(t *testing.T) {
	c := pgtest.Cluster(t)
	db := pgtest.NewDatabase(t, c)
	user := replicationUser(t, c, db)
	docs := `public."Doc ""Store"" ü"`
	pgtest.Exec(t, c, db, fixture(t, "toast-tables.sql", map[string]string{"docs": docs, "user": sqlident.Quote(user)}))
	dsn := c.DSN(user, testPassword, db, "require")

	// Statistics reach other sessions within a second or so of the
	// commit; the rule reads them (and relpages, which only VACUUM sets).
	conn := pgtest.Conn(t, c, db)
	waitFor(t, 15*time.Second, "the TOAST relation's statistics", func() bool {
		var live int64
		err := conn.QueryRow(t.Context(), `SELECT coalesce(pg_stat_get_live_tuples(c.reltoastrelid), 0)
FROM pg_class c WHERE c.oid = $1::regclass`, docs).Scan(&live)
		return err == nil && live > 0
	})
	r := judgeDSN(t, dsn, facts.Options{}, time.Time{})["toast-unchanged"]
	wantResult(t, r, rules.StatusWarn, []string{docs}, docs+` (title, "Big Body", meta; `, "out-of-line chunks",
		"ALTER TABLE "+docs+" REPLICA IDENTITY FULL;", "__debezium_unavailable_value")
	if strings.Contains(r.Message, "public.notes") || strings.Contains(r.Message, " id,") {
		t.Errorf("toast-unchanged names an inline table or the key: %s", r.Message)
	}

	// What the finding stands for: the change leaves the value out.
	slot := pgtest.UniqueName(t, "toast_probe")
	pgtest.Exec(t, c, db, "SELECT pg_create_logical_replication_slot("+sqlident.Literal(slot)+", 'test_decoding')")
	pgtest.Exec(t, c, db, "SET synchronous_commit = on; UPDATE "+docs+" SET title = 'renamed'")
	var change string
	if err := conn.QueryRow(t.Context(), `SELECT string_agg(data, E'\n') FROM pg_logical_slot_get_changes($1, NULL, NULL)`,
		slot).Scan(&change); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(change, `"Big Body"[text]:unchanged-toast-datum`) {
		t.Errorf("the UPDATE decoded with the value sent after all:\n%s", change)
	}
	pgtest.Exec(t, c, db, "SELECT pg_drop_replication_slot("+sqlident.Literal(slot)+")")

	pgtest.Exec(t, c, db, "ALTER TABLE "+docs+" REPLICA IDENTITY FULL")
	wantResult(t, judgeDSN(t, dsn, facts.Options{}, time.Time{})["toast-unchanged"], rules.StatusPass, nil,
		"no captured table under REPLICA IDENTITY DEFAULT or USING INDEX holds out-of-line")
}
