package gather_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/cdcpreflight/cdcpreflight/facts"
	"github.com/cdcpreflight/cdcpreflight/gather"
	"github.com/cdcpreflight/cdcpreflight/internal/netdelay"
	"github.com/cdcpreflight/cdcpreflight/internal/pglocal"
	"github.com/cdcpreflight/cdcpreflight/internal/pgtest"
	"github.com/cdcpreflight/cdcpreflight/internal/sqlident"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

const password = "gather-test-pw"

// auditedCluster logs every statement with its application name, so a test
// can read exactly what cdcpreflight sent.
func auditedCluster(t *testing.T) *pglocal.Cluster {
	return pgtest.ClusterWith(t, "audited", pglocal.Options{TLS: true, Settings: map[string]string{
		"log_statement":   "all",
		"log_line_prefix": "%m [%p] app=%a ",
	}})
}

func connectorRole(t *testing.T, c *pglocal.Cluster, db string) string {
	user := pgtest.UniqueName(t, "cdc")
	pgtest.Exec(t, c, db, fmt.Sprintf(`CREATE ROLE %s LOGIN REPLICATION PASSWORD %s;
GRANT SELECT ON ALL TABLES IN SCHEMA public TO %[1]s;`, sqlident.Quote(user), sqlident.Literal(password)))
	return user
}

// counter counts the statements a connection sends.
type counter struct {
	mu  sync.Mutex
	sql []string
}

func (c *counter) TraceQueryStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceQueryStartData) context.Context {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sql = append(c.sql, d.SQL)
	return ctx
}

func (c *counter) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

func gatherCounting(t *testing.T, dsn string, expect facts.Options) (*facts.Facts, []string) {
	t.Helper()
	cfg, err := gather.ParseDSN(dsn)
	if err != nil {
		t.Fatal(err)
	}
	tr := &counter{}
	cfg.Tracer = tr
	if expect.Slot == "" {
		expect = facts.Options{Slot: "streamkap_pgoutput_slot", Publication: "streamkap_pub", SignalSchema: "streamkap",
			SnapshotMode: "auto", Tables: expect.Tables, HeartbeatSchema: expect.HeartbeatSchema}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	f := gather.Gather(ctx, cfg, gather.Options{Expect: expect})
	return f, tr.sql
}

// TestStatementCountDoesNotGrowWithTables: gathering is set-based; the
// number of statements is the same for 10 tables and for 2,000.
func TestStatementCountDoesNotGrowWithTables(t *testing.T) {
	c := pgtest.Cluster(t)
	counts := map[int]int{}
	for _, n := range []int{10, 2000} {
		db := pgtest.NewDatabase(t, c)
		pgtest.Exec(t, c, db, fmt.Sprintf(`DO $$ BEGIN
FOR i IN 1..%d LOOP
	EXECUTE format('CREATE TABLE public.t%%s (id int PRIMARY KEY, v text)', i);
END LOOP; END $$;
CREATE PUBLICATION streamkap_pub FOR ALL TABLES;`, n))
		user := connectorRole(t, c, db)
		f, sql := gatherCounting(t, c.DSN(user, password, db, "require"), facts.Options{})
		if f.Tables.Err != nil || len(f.Tables.Tables) != n {
			t.Fatalf("%d tables: gathered %d, err %v", n, len(f.Tables.Tables), f.Tables.Err)
		}
		counts[n] = len(sql)
	}
	if counts[10] != counts[2000] || counts[10] == 0 {
		t.Errorf("statements sent: %d for 10 tables, %d for 2,000", counts[10], counts[2000])
	}
	t.Logf("statements per check: %d", counts[10])
}

// writing matches statements that change anything; a check sends none.
var writing = regexp.MustCompile(`(?i)^\s*(INSERT|UPDATE|DELETE|MERGE|CREATE|ALTER|DROP|GRANT|REVOKE|TRUNCATE|COPY|VACUUM|ANALYZE|CLUSTER|REINDEX|LOCK|COMMENT|SECURITY|REFRESH|CALL|DO)\b|pg_logical_slot_get|pg_replication_slot_advance|pg_create_|pg_drop_`)

// loggedStmt finds the statement in a log_statement entry: simple protocol
// logs "statement: …", extended protocol "execute <name>: …".
var loggedStmt = regexp.MustCompile(`(?s)LOG:  (?:statement|execute [^:]*): (.*)$`)

// logStart is how an entry of the server log begins (log_line_prefix %m).
var logStart = regexp.MustCompile(`^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d`)

// logEntries splits a server log into entries: a statement of several
// lines is logged as one line with the prefix and its continuation lines.
func logEntries(log string) []string {
	var entries []string
	for _, line := range strings.Split(log, "\n") {
		if logStart.MatchString(line) || len(entries) == 0 {
			entries = append(entries, line)
			continue
		}
		entries[len(entries)-1] += "\n" + line
	}
	return entries
}

// TestCheckSendsNoWritingStatement reads the server's own statement log
// (log_statement = all) for everything our sessions sent.
func TestCheckSendsNoWritingStatement(t *testing.T) {
	c := auditedCluster(t)
	db := pgtest.NewDatabase(t, c)
	pgtest.Exec(t, c, db, `CREATE TABLE public.orders (id int PRIMARY KEY);
CREATE TABLE public."Order Items" (order_id int, sku text);
CREATE PUBLICATION streamkap_pub FOR TABLE public.orders;`)
	user := connectorRole(t, c, db)
	pgtest.Exec(t, c, db, `SELECT pg_create_logical_replication_slot('streamkap_pgoutput_slot', 'pgoutput')`)
	pgtest.Exec(t, c, db, `INSERT INTO public.orders VALUES (1), (2)`)
	before, err := os.ReadFile(c.LogFile)
	if err != nil {
		t.Fatal(err)
	}
	f, _ := gatherCounting(t, c.DSN(user, password, db, "require"), facts.Options{})
	if !f.Peek.Attempted || f.Peek.Err != nil {
		t.Fatalf("the peek should have run: %+v", f.Peek)
	}
	var logged string
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) { // the log is written asynchronously
		after, err := os.ReadFile(c.LogFile)
		if err != nil {
			t.Fatal(err)
		}
		logged = string(after[len(before):])
		if strings.Contains(logged, "pg_logical_slot_peek_binary_changes") {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	var ours int
	var peeked bool
	for _, entry := range logEntries(logged) {
		if !strings.Contains(entry, "app="+gather.ApplicationName+" ") {
			continue
		}
		m := loggedStmt.FindStringSubmatch(entry)
		if m == nil {
			continue
		}
		stmt := m[1]
		ours++
		if strings.Contains(stmt, "pg_logical_slot_peek_binary_changes") {
			peeked = true
		}
		if writing.MatchString(stmt) {
			t.Errorf("a check sent a writing statement: %s", stmt)
		}
	}
	t.Logf("%d statements of ours logged, none writing", ours)
	if !peeked {
		t.Errorf("the peek is not among the logged statements")
	}
	if ours == 0 || !strings.Contains(strings.ToLower(logged), "begin read only") {
		t.Fatalf("no statements of ours in the log (%d), or no READ ONLY transaction:\n%s", ours, logged)
	}
}

// TestCheckFinishesWhileTableLocked: an ACCESS EXCLUSIVE lock held by
// another session on a captured table does not hang the check.
func TestCheckFinishesWhileTableLocked(t *testing.T) {
	c := pgtest.Cluster(t)
	db := pgtest.NewDatabase(t, c)
	// With a policy, so that reading policies is proven lock-free too
	// (pg_get_expr would queue behind the lock).
	pgtest.Exec(t, c, db, `CREATE TABLE public.orders (id int PRIMARY KEY);
ALTER TABLE public.orders ENABLE ROW LEVEL SECURITY;
CREATE POLICY readable ON public.orders FOR SELECT USING (true);
CREATE PUBLICATION streamkap_pub FOR TABLE public.orders;`)
	user := connectorRole(t, c, db)

	locker := pgtest.Conn(t, c, db)
	ctx := context.Background()
	if _, err := locker.Exec(ctx, "BEGIN"); err != nil {
		t.Fatal(err)
	}
	if _, err := locker.Exec(ctx, "LOCK TABLE public.orders IN ACCESS EXCLUSIVE MODE"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = locker.Exec(ctx, "ROLLBACK") })

	start := time.Now()
	cfg, err := gather.ParseDSN(c.DSN(user, password, db, "require"))
	if err != nil {
		t.Fatal(err)
	}
	timeouts := gather.Timeouts{Statement: 3 * time.Second, Lock: time.Second, IdleInTransaction: 10 * time.Second}
	gctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	f := gather.Gather(gctx, cfg, gather.Options{Timeouts: timeouts,
		Expect: facts.Options{Slot: "s", Publication: "streamkap_pub", SignalSchema: "streamkap", SnapshotMode: "auto"}})
	elapsed := time.Since(start)
	// Every read is bounded by lock_timeout; the catalog reads take no lock
	// on user tables at all, so they finish.
	if elapsed > 20*time.Second {
		t.Errorf("the check took %s with a table locked", elapsed)
	}
	if f.Tables.Err != nil || len(f.Tables.Tables) != 1 || !f.Tables.Tables[0].RLSReadAll {
		t.Errorf("tables: %+v", f.Tables)
	}
	t.Logf("check with an ACCESS EXCLUSIVE lock held: %s", elapsed)
}

// TestCatalogTimeoutNamesTheReadAndTheFlag: statement_timeout bounds each
// pipelined read on its own, and the read it cancels says which it was,
// the limit, and the flag that raises it.
func TestCatalogTimeoutNamesTheReadAndTheFlag(t *testing.T) {
	c := pgtest.Cluster(t)
	db := pgtest.NewDatabase(t, c)
	pgtest.Exec(t, c, db, `DO $$ BEGIN
FOR i IN 1..2000 LOOP
	EXECUTE format('CREATE TABLE public.t%s (id int PRIMARY KEY, v text)', i);
END LOOP; END $$;
CREATE PUBLICATION streamkap_pub FOR ALL TABLES;`)
	user := connectorRole(t, c, db)
	cfg, err := gather.ParseDSN(c.DSN(user, password, db, "require"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	f := gather.Gather(ctx, cfg, gather.Options{
		Expect:   facts.Options{Slot: "streamkap_pgoutput_slot", Publication: "streamkap_pub", SignalSchema: "streamkap", SnapshotMode: "auto"},
		Timeouts: gather.Timeouts{Statement: 2 * time.Millisecond, Lock: time.Second, IdleInTransaction: time.Minute},
	})
	e := f.Tables.Err
	if e == nil || e.SQLState != "57014" {
		t.Fatalf("reading 2,000 tables within 2ms: want a statement timeout (57014), got %v", e)
	}
	for _, want := range []string{"read tables", "2ms", "--catalog-timeout", "catalog_timeout"} {
		if !strings.Contains(e.Error(), want) {
			t.Errorf("the timeout's message does not say %q: %s", want, e.Error())
		}
	}
	if f.Connect.Err != nil {
		t.Errorf("a read's timeout failed the connection: %v", f.Connect.Err)
	}
}

// TestRoundTripsDoNotGrowWithReads: behind a proxy that counts client
// bursts answered by the server, a check's catalog connection costs its
// handshake and two batches of reads, and the replication probe its
// handshake and IDENTIFY_SYSTEM: a bound that would break if any read went
// back to a round trip of its own.
func TestRoundTripsDoNotGrowWithReads(t *testing.T) {
	c := pgtest.Cluster(t)
	db := pgtest.NewDatabase(t, c)
	pgtest.Exec(t, c, db, `CREATE TABLE public.orders (id int PRIMARY KEY);
CREATE PUBLICATION streamkap_pub FOR ALL TABLES;`)
	user := connectorRole(t, c, db)
	pgtest.Exec(t, c, db, `SELECT pg_create_logical_replication_slot('streamkap_pgoutput_slot', 'pgoutput')`)
	p, err := netdelay.Listen(t.Context(), "127.0.0.1:0", fmt.Sprintf("127.0.0.1:%d", c.Port), 0)
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = p.Serve() }()
	t.Cleanup(p.Close)
	cfg, err := gather.ParseDSN(c.DSN(user, password, db, "require"))
	if err != nil {
		t.Fatal(err)
	}
	cfg.Host, cfg.Port = "127.0.0.1", uint16(p.Addr().(*net.TCPAddr).Port)
	cfg.Fallbacks = nil
	f := gather.Gather(t.Context(), cfg, gather.Options{Expect: facts.Options{Slot: "streamkap_pgoutput_slot",
		Publication: "streamkap_pub", SignalSchema: "streamkap", SnapshotMode: "auto"}})
	if f.Connect.Err != nil || f.Tables.Err != nil || !f.Peek.Attempted || f.ReplProbe.Err != nil {
		t.Fatalf("the check through the proxy did not complete: connect %v, tables %v, peek %+v, probe %v",
			f.Connect.Err, f.Tables.Err, f.Peek, f.ReplProbe.Err)
	}
	deadline := time.Now().Add(5 * time.Second)
	var s netdelay.Stats
	for time.Now().Before(deadline) { // connections end asynchronously
		if s = p.Stats(); len(s.Connections) == 2 && !s.Total.Open {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if len(s.Connections) != 2 {
		t.Fatalf("%d connections through the proxy, want 2 (catalog and replication probe)", len(s.Connections))
	}
	// TLS (SSLRequest, handshake), startup and SCRAM take about six; the
	// reads two more.
	for _, cs := range s.Connections {
		if cs.RoundTrips > 9 {
			t.Errorf("connection %d took %d round trips, want at most 9", cs.ID, cs.RoundTrips)
		}
	}
	t.Logf("round trips: %d and %d", s.Connections[0].RoundTrips, s.Connections[1].RoundTrips)
}
