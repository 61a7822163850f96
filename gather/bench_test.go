package gather_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/cdcpreflight/cdcpreflight/facts"
	"github.com/cdcpreflight/cdcpreflight/gather"
	"github.com/cdcpreflight/cdcpreflight/internal/pgtest"
)

// BenchmarkGather measures a whole gather (every catalog read, the
// replication probe and the peek) on databases of 1,000 and 20,000 tables
// in a FOR ALL TABLES publication:
//
//	go test ./gather -run '^$' -bench Gather -benchmem
func BenchmarkGather(b *testing.B) {
	c := pgtest.Cluster(b)
	for _, n := range []int{1000, 20000} {
		db := pgtest.NewDatabase(b, c)
		// In batches: one transaction creating 20,000 tables runs out of
		// lock table space.
		for from := 1; from <= n; from += 1000 {
			pgtest.Exec(b, c, db, fmt.Sprintf(`DO $$ BEGIN
FOR i IN %d..%d LOOP
	EXECUTE format('CREATE TABLE public.t%%s (id int PRIMARY KEY, v text)', i);
END LOOP; END $$;`, from, min(from+999, n)))
		}
		pgtest.Exec(b, c, db, `CREATE PUBLICATION streamkap_pub FOR ALL TABLES;`)
		user := pgtest.UniqueName(b, "cdc")
		pgtest.Exec(b, c, db, fmt.Sprintf(`CREATE ROLE %s LOGIN REPLICATION PASSWORD 'bench';
GRANT SELECT ON ALL TABLES IN SCHEMA public TO %[1]s;`, user))
		cfg, err := gather.ParseDSN(c.DSN(user, "bench", db, "require"))
		if err != nil {
			b.Fatal(err)
		}
		expect := facts.Options{Slot: "streamkap_pgoutput_slot", Publication: "streamkap_pub", SignalSchema: "streamkap", SnapshotMode: "auto"}
		b.Run(fmt.Sprintf("tables=%d", n), func(b *testing.B) {
			for b.Loop() {
				ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
				f := gather.Gather(ctx, cfg, gather.Options{Expect: expect})
				cancel()
				if f.Tables.Err != nil || len(f.Tables.Tables) != n {
					b.Fatalf("gathered %d tables, err %v", len(f.Tables.Tables), f.Tables.Err)
				}
			}
		})
	}
}
