package gather

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/cdcpreflight/cdcpreflight/facts"
	"github.com/cdcpreflight/cdcpreflight/internal/pgtest"
)

// BenchmarkReadsAtScale times single catalog reads on a database of
// 10,000 tables in a FOR ALL TABLES publication, each with a text column
// and so a TOAST relation: the tables read (the floor every check pays)
// beside the reads issue 14 added, the TOAST read first, with no table
// holding out-of-line values (every TOAST relation is looked up in the
// statistics) and then with 1 table in 10 holding one:
//
//	go test ./gather -run '^$' -bench ReadsAtScale -benchtime 20x
func BenchmarkReadsAtScale(b *testing.B) {
	const n = 10000
	c := pgtest.Cluster(b)
	db := pgtest.NewDatabase(b, c)
	for from := 1; from <= n; from += 1000 {
		pgtest.Exec(b, c, db, fmt.Sprintf(`DO $$ BEGIN
FOR i IN %d..%d LOOP
	EXECUTE format('CREATE TABLE public.t%%s (id int PRIMARY KEY, v text)', i);
END LOOP; END $$;`, from, min(from+999, n)))
	}
	pgtest.Exec(b, c, db, `CREATE PUBLICATION streamkap_pub FOR ALL TABLES;`)
	conn := pgtest.Conn(b, c, db)
	var ver int
	if err := conn.QueryRow(b.Context(), "SELECT current_setting('server_version_num')::int").Scan(&ver); err != nil {
		b.Fatal(err)
	}
	g := &gatherer{f: &facts.Facts{Server: facts.Server{VersionNum: ver},
		Options: facts.Options{Slot: "streamkap_pgoutput_slot", Publication: "streamkap_pub", SignalSchema: "streamkap",
			ConnectorUser: c.SuperUser}}}
	run := func(b *testing.B, reads []read, want func(*facts.Facts) int, rows int) {
		for b.Loop() {
			*g.f = facts.Facts{Server: g.f.Server, Options: g.f.Options}
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			tx, err := conn.BeginTx(ctx, pgx.TxOptions{AccessMode: pgx.ReadOnly})
			if err != nil {
				b.Fatal(err)
			}
			// As the check's transaction does (gatherer.begin).
			if _, err := tx.Exec(ctx, "SELECT set_config(name, 'off', true) FROM pg_settings WHERE name = 'jit'"); err != nil {
				b.Fatal(err)
			}
			for _, r := range reads {
				rs, err := tx.Query(ctx, r.sql, r.args...)
				if err != nil {
					b.Fatal(err)
				}
				if err := r.scan(rs); err != nil {
					b.Fatal(err)
				}
				rs.Close()
				if err := rs.Err(); err != nil {
					b.Fatalf("%s: %v", r.op, err)
				}
			}
			_ = tx.Rollback(ctx)
			cancel()
			if got := want(g.f); got != rows {
				b.Fatalf("%d rows, want %d", got, rows)
			}
		}
	}
	b.Run(fmt.Sprintf("tables/n=%d", n), func(b *testing.B) {
		run(b, g.tables()[:1], func(f *facts.Facts) int { return len(f.Tables.Tables) }, n)
	})
	toast := func(f *facts.Facts) int { return len(f.Toast.Tables) }
	b.Run(fmt.Sprintf("toast/n=%d/none-toasted", n), func(b *testing.B) { run(b, []read{g.toast()}, toast, 0) })
	b.Run(fmt.Sprintf("added-reads/n=%d", n), func(b *testing.B) {
		reads := append(g.senders(), g.connections(), g.toast(), g.backend())
		reads = append(reads, g.xidHorizon()...)
		run(b, reads, toast, 0)
	})
	// One table in ten gets a value stored out of line (a few kB of hex
	// digits, which pglz cannot shrink enough), then statistics are flushed.
	pgtest.Exec(b, c, db, fmt.Sprintf(`DO $$ BEGIN
FOR i IN 1..%d BY 10 LOOP
	EXECUTE format('INSERT INTO public.t%%s SELECT 1, string_agg(md5(g::text), %%L) FROM generate_series(1, 100) g', i, '');
END LOOP; END $$;`, n))
	waitStats(b, conn, n/10)
	b.Run(fmt.Sprintf("toast/n=%d/1-in-10-toasted", n), func(b *testing.B) { run(b, []read{g.toast()}, toast, n/10) })
}

// waitStats waits until the statistics show want TOAST relations with
// live tuples: a session's counts reach others when it flushes them.
func waitStats(b *testing.B, conn *pgx.Conn, want int) {
	b.Helper()
	for deadline := time.Now().Add(30 * time.Second); ; {
		var got int
		if err := conn.QueryRow(b.Context(), `SELECT count(*) FROM pg_class c JOIN pg_class t ON t.oid = c.reltoastrelid
WHERE c.relnamespace = 'public'::regnamespace AND pg_stat_get_live_tuples(t.oid) > 0`).Scan(&got); err != nil {
			b.Fatal(err)
		}
		if got == want {
			return
		}
		if time.Now().After(deadline) {
			b.Fatalf("statistics show %d TOAST relations with data, want %d", got, want)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
