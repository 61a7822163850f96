package cli

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/cdcpreflight/cdcpreflight/internal/pglocal"
	"github.com/cdcpreflight/cdcpreflight/internal/pgtest"
	"github.com/cdcpreflight/cdcpreflight/internal/sqlident"
)

// BenchmarkFixApply2000Tables measures a whole fix --apply --yes on a real
// PostgreSQL: 2,000 keyless tables, each needing its own REPLICA IDENTITY
// step (its own transaction), plus grants, publication and slot, and the
// re-check. Setup (creating the tables) is not timed.
func BenchmarkFixApply2000Tables(b *testing.B) {
	c := pgtest.ClusterWith(b, "fix-bench", pglocal.Options{})
	for b.Loop() {
		b.StopTimer()
		db := pgtest.NewDatabase(b, c)
		user := pgtest.UniqueName(b, "connector")
		pgtest.Exec(b, c, db, fmt.Sprintf(`CREATE ROLE %s LOGIN;
DO $$ BEGIN FOR i IN 1..2000 LOOP EXECUTE format('CREATE TABLE public.t%%s (a int, b text)', i); END LOOP; END $$;`, sqlident.Quote(user)))
		b.Cleanup(func() {
			_ = c.Exec(context.Background(), "postgres", "DROP OWNED BY "+user+" CASCADE; DROP ROLE IF EXISTS "+user)
		})
		b.StartTimer()
		r := run(b, nil, "fix", c.DSN(c.SuperUser, c.SuperPassword, db, "disable"), "--connector-user", user,
			"--slot", pgtest.UniqueName(b, "slot"), "--apply", "--yes", "-o", "json=/dev/null")
		b.StopTimer()
		if r.code == 2 || !strings.Contains(r.stdout, "0 failed, 0 not run") {
			b.Fatalf("exit %d\n%s", r.code, r.stderr)
		}
		b.StartTimer()
	}
}
