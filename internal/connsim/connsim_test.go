package connsim_test

import (
	"context"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cdcpreflight/cdcpreflight/internal/connsim"
	"github.com/cdcpreflight/cdcpreflight/internal/pgtest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

const password = "Conn-sim-pa55"

// setup makes a database with a connector role that has what it needs,
// a published table with a row, the signal table and a slot; twist runs
// before the publication.
func setup(t *testing.T, twist string) (connsim.Config, string) {
	t.Helper()
	c := pgtest.Cluster(t)
	db := pgtest.NewDatabase(t, c)
	user := pgtest.UniqueName(t, "cdc")
	slot := pgtest.UniqueName(t, "slot")
	pgtest.Exec(t, c, db, `CREATE ROLE `+user+` LOGIN REPLICATION PASSWORD '`+password+`';
CREATE TABLE public."Order Items" (id int PRIMARY KEY, sku text NOT NULL);
INSERT INTO public."Order Items" VALUES (1, 'a'), (2, 'b');
CREATE SCHEMA streamkap;
CREATE TABLE streamkap.streamkap_signal (id varchar(255) PRIMARY KEY, type varchar(32) NOT NULL, data varchar(2000));
GRANT USAGE ON SCHEMA public, streamkap TO `+user+`;
GRANT SELECT ON ALL TABLES IN SCHEMA public TO `+user+`;
GRANT SELECT, INSERT, UPDATE ON streamkap.streamkap_signal TO `+user+`;
`+strings.ReplaceAll(twist, "{user}", user)+`
CREATE PUBLICATION streamkap_pub FOR TABLE public."Order Items", streamkap.streamkap_signal;`)
	pgtest.Exec(t, c, db, "SELECT pg_create_logical_replication_slot('"+slot+"', 'pgoutput')")
	return connsim.Config{
		ConnectorDSN: c.DSN(user, password, db, "require"), AdminDSN: c.SuperDSN(db),
		Slot: slot, Publication: "streamkap_pub", SignalSchema: "streamkap", SnapshotMode: "auto",
		Log: t.Logf,
	}, db
}

func run(t *testing.T, cfg connsim.Config) connsim.Report {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	rep, err := connsim.Run(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

func TestHealthySourceStreams(t *testing.T) {
	cfg, _ := setup(t, "")
	rep := run(t, cfg)
	if !rep.OK() {
		t.Fatalf("problems on a healthy source: %v", rep.Problems)
	}
	if !slices.Equal(rep.Captured, []string{`public."Order Items"`}) {
		t.Errorf("captured = %q", rep.Captured)
	}
}

// TestRunLeavesTheSlotWhereItWas: the client confirms nothing, so the
// connector's slot is where it was and its data is unchanged.
func TestRunLeavesTheSlotWhereItWas(t *testing.T) {
	cfg, db := setup(t, "")
	ctx := context.Background()
	admin := pgtest.Conn(t, pgtest.Cluster(t), db)
	var before, after string
	q := "SELECT confirmed_flush_lsn::text FROM pg_replication_slots WHERE slot_name = $1"
	if err := admin.QueryRow(ctx, q, cfg.Slot).Scan(&before); err != nil {
		t.Fatal(err)
	}
	run(t, cfg)
	if err := admin.QueryRow(ctx, q, cfg.Slot).Scan(&after); err != nil {
		t.Fatal(err)
	}
	if before != after {
		t.Errorf("confirmed_flush_lsn moved from %s to %s", before, after)
	}
	var rows, signals int
	if err := admin.QueryRow(ctx, `SELECT (SELECT count(*) FROM public."Order Items" WHERE (id, sku) IN ((1, 'a'), (2, 'b'))),
		(SELECT count(*) FROM streamkap.streamkap_signal)`).Scan(&rows, &signals); err != nil {
		t.Fatal(err)
	}
	if rows != 2 || signals != 0 {
		t.Errorf("after the run: %d of 2 rows as they were, %d signal rows left", rows, signals)
	}
}

func TestBrokenSetups(t *testing.T) {
	for _, tc := range []struct {
		name, twist string
		tweak       func(*connsim.Config)
		step        string
	}{
		{"keyless table", `ALTER TABLE public."Order Items" REPLICA IDENTITY NOTHING;`, nil, connsim.StepWrite},
		{"missing slot", "", func(c *connsim.Config) { c.Slot = "no_such_slot" }, connsim.StepSlot},
		{"missing publication", "", func(c *connsim.Config) { c.Publication = "no_such_pub" }, connsim.StepStream},
		{"no SELECT", `REVOKE SELECT ON public."Order Items" FROM {user};`, nil, connsim.StepSnapshot},
		{"signal not writable", `REVOKE INSERT ON streamkap.streamkap_signal FROM {user};`, nil, connsim.StepSignal},
		{"signal not published", `CREATE PUBLICATION partial_pub FOR TABLE public."Order Items";`, func(c *connsim.Config) {
			c.Publication = "partial_pub"
		}, connsim.StepSignalStream},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, _ := setup(t, tc.twist)
			if tc.tweak != nil {
				tc.tweak(&cfg)
			}
			rep := run(t, cfg)
			if !slices.Contains(rep.Steps(), tc.step) {
				t.Errorf("steps broken = %v, want %s among them: %v", rep.Steps(), tc.step, rep.Problems)
			}
		})
	}
}
