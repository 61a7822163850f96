package gather_test

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/cdcpreflight/cdcpreflight/facts"
	"github.com/cdcpreflight/cdcpreflight/gather"
	"github.com/cdcpreflight/cdcpreflight/internal/pgtest"
)

// BenchmarkGatherConnector measures a whole gather with a connector
// configuration beside one with the default scope (the floor, in the same
// run): no filters, an include list of every table, and a list that
// captures one table in ten. The scope costs one query listing the
// candidate tables, matched in one pass, and one round trip:
//
//	go test ./gather -run '^$' -bench GatherConnector -benchmem
//	CDCPREFLIGHT_BENCH_TABLES=100000 go test ./gather -run '^$' -bench GatherConnector -benchtime 3x
func BenchmarkGatherConnector(b *testing.B) {
	n := 20000
	if s := os.Getenv("CDCPREFLIGHT_BENCH_TABLES"); s != "" {
		var err error
		if n, err = strconv.Atoi(s); err != nil {
			b.Fatal(err)
		}
	}
	c := pgtest.Cluster(b)
	db := pgtest.NewDatabase(b, c)
	for from := 1; from <= n; from += 1000 {
		pgtest.Exec(b, c, db, fmt.Sprintf(`DO $$ BEGIN
FOR i IN %d..%d LOOP
	EXECUTE format('CREATE TABLE public.t%%s (id int PRIMARY KEY, v text)', i);
END LOOP; END $$;`, from, min(from+999, n)))
	}
	pgtest.Exec(b, c, db, `CREATE PUBLICATION dbz_publication FOR ALL TABLES;`)
	user := pgtest.UniqueName(b, "cdc")
	pgtest.Exec(b, c, db, fmt.Sprintf(`CREATE ROLE %s LOGIN REPLICATION PASSWORD 'bench';
GRANT SELECT ON ALL TABLES IN SCHEMA public TO %[1]s;`, user))
	cfg, err := gather.ParseDSN(c.DSN(user, "bench", db, "require"))
	if err != nil {
		b.Fatal(err)
	}
	base := facts.Options{Slot: "debezium", Publication: "dbz_publication", SignalSchema: "streamkap", SnapshotMode: "auto"}
	conn := func(filters facts.ConnectorFilters) facts.Options {
		o := base
		o.Connector = &facts.Connector{Flavour: facts.FlavourDebezium, Version: "3.6", Plugin: "pgoutput",
			AutocreateMode: "all_tables", SnapshotMode: "initial", Filters: filters, TopicPrefix: "app", TopicDelimiter: "."}
		return o
	}
	for _, bc := range []struct {
		name     string
		expect   facts.Options
		captured int
	}{
		{"default-scope", base, n},
		{"connector-no-filters", conn(facts.ConnectorFilters{}), n},
		{"connector-include-all", conn(facts.ConnectorFilters{TableInclude: `public\.t[0-9]+`}), n},
		{"connector-one-in-ten", conn(facts.ConnectorFilters{TableInclude: `public\.t[0-9]*0`}), n / 10},
	} {
		b.Run(fmt.Sprintf("%s/tables=%d", bc.name, n), func(b *testing.B) {
			for b.Loop() {
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
				f := gather.Gather(ctx, cfg, gather.Options{Expect: bc.expect})
				cancel()
				captured := 0
				for _, t := range f.Tables.Tables {
					if t.Captured {
						captured++
					}
				}
				if f.Tables.Err != nil || captured != bc.captured {
					b.Fatalf("captured %d tables, want %d, err %v", captured, bc.captured, f.Tables.Err)
				}
			}
		})
	}
}
