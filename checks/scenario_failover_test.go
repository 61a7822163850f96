package checks_test

import (
	"context"
	"errors"
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/cdcpreflight/cdcpreflight/checks"
	"github.com/cdcpreflight/cdcpreflight/facts"
	"github.com/cdcpreflight/cdcpreflight/gather"
	"github.com/cdcpreflight/cdcpreflight/internal/pglocal"
	"github.com/cdcpreflight/cdcpreflight/internal/pgtest"
	"github.com/cdcpreflight/cdcpreflight/internal/sqlident"
	"github.com/cdcpreflight/cdcpreflight/rules"
)

// failoverScenarios: rule → {passing scenario, non-passing scenario}.
var failoverScenarios = map[string][2]string{
	"slot-failover":              {"TestScenarioSlotFailoverStandby", "TestScenarioSlotFailoverStandby"},
	"synchronized-standby-slots": {"TestScenarioSlotFailoverStandby", "TestScenarioStandbySlotsMissing"},
}

// failoverPrimary is the primary of the failover scenarios: they change
// its settings (each resets what it set), so it is not the default cluster.
func failoverPrimary(t *testing.T) *pglocal.Cluster {
	return pgtest.ClusterWith(t, "failover-primary", pglocal.Options{TLS: true})
}

// failoverEnv is a database on c with the connector's role, a captured
// table in the publication, and the name of the connector's slot.
type failoverEnv struct {
	c              *pglocal.Cluster
	db, user, slot string
}

func newFailoverEnv(t *testing.T, c *pglocal.Cluster) failoverEnv {
	t.Helper()
	db := pgtest.NewDatabase(t, c)
	e := failoverEnv{c: c, db: db, user: replicationUser(t, c, db), slot: pgtest.UniqueName(t, "slot")}
	pgtest.Exec(t, c, db, `CREATE TABLE public.orders (id int PRIMARY KEY, note text);
CREATE PUBLICATION streamkap_pub FOR TABLE public.orders;`)
	return e
}

func (e failoverEnv) dsn() string { return e.c.DSN(e.user, testPassword, e.db, "require") }

func (e failoverEnv) options(slot string) facts.Options {
	return facts.Options{Slot: slot, Publication: "streamkap_pub", SignalSchema: "streamkap", SnapshotMode: "read-only"}
}

func (e failoverEnv) judge(t *testing.T, slot string) map[string]rules.Result {
	t.Helper()
	return judgeDSN(t, e.dsn(), e.options(slot), time.Time{})
}

// createSlot creates a pgoutput slot, a failover slot when failover (17+).
func (e failoverEnv) createSlot(t *testing.T, name string, failover bool) {
	t.Helper()
	sql := fmt.Sprintf("SELECT pg_create_logical_replication_slot(%s, 'pgoutput')", sqlident.Literal(name))
	if failover {
		sql = fmt.Sprintf("SELECT pg_create_logical_replication_slot(%s, 'pgoutput', false, false, true)", sqlident.Literal(name))
	}
	pgtest.Exec(t, e.c, e.db, sql)
}

// write commits a change the slots must decode, flushed (the test
// clusters run with synchronous_commit off).
func (e failoverEnv) write(t *testing.T) {
	t.Helper()
	pgtest.Exec(t, e.c, e.db, `SET synchronous_commit = on;
INSERT INTO public.orders SELECT coalesce(max(id), 0) + 1, 'x' FROM public.orders;`)
}

// setStandbySlots sets synchronized_standby_slots on c and reloads; the
// test's end resets it, after the differential replay has seen it.
func setStandbySlots(t *testing.T, c *pglocal.Cluster, list string) {
	t.Helper()
	t.Cleanup(func() {
		ctx := context.Background()
		for _, sql := range []string{"ALTER SYSTEM RESET synchronized_standby_slots", "SELECT pg_reload_conf()"} {
			if err := c.Exec(ctx, "postgres", sql); err != nil {
				t.Errorf("reset synchronized_standby_slots: %v", err)
			}
		}
	})
	pgtest.Exec(t, c, "postgres", "ALTER SYSTEM SET synchronized_standby_slots = "+sqlident.Literal(list))
	pgtest.Exec(t, c, "postgres", "SELECT pg_reload_conf()")
	conn := pgtest.Conn(t, c, "postgres")
	waitFor(t, 10*time.Second, "synchronized_standby_slots to be "+list, func() bool {
		var v string
		err := conn.QueryRow(t.Context(), "SHOW synchronized_standby_slots").Scan(&v)
		return err == nil && v == list
	})
}

// waitFor polls ok until it holds or limit passes.
func waitFor(t *testing.T, limit time.Duration, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("waited %s for %s", limit, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// peekState peeks at slot as the superuser under a statement timeout and
// returns the SQLSTATE of a failure ("" when the peek returned).
func peekState(t *testing.T, c *pglocal.Cluster, db, slot string, timeout time.Duration) string {
	t.Helper()
	conn := pgtest.Conn(t, c, db)
	if _, err := conn.Exec(t.Context(), fmt.Sprintf("SET statement_timeout = %d", timeout.Milliseconds())); err != nil {
		t.Fatal(err)
	}
	_, err := conn.Exec(t.Context(), `SELECT count(*) FROM pg_logical_slot_peek_binary_changes($1, NULL, 1,
	'proto_version', '1', 'publication_names', 'streamkap_pub')`, slot)
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code
	}
	if err != nil {
		t.Fatal(err)
	}
	return ""
}

// TestScenarioSlotFailoverStandby: a real streaming hot standby. Before 17
// the slot cannot follow a failover. From 17: a plain slot is reported;
// made a failover slot (over a replication connection, as the remedy
// says) it is reported until the standby synchronizes slots, then until
// synchronized_standby_slots lists the standby; then it passes, and the
// standby does hold the slot. Last, the standby's WAL receiver is stopped
// (SIGSTOP) while its slot still looks active: the peek waits for it, and
// the catalog statement timeout ends the wait with a finding.
func TestScenarioSlotFailoverStandby(t *testing.T) {
	e := newFailoverEnv(t, failoverPrimary(t))
	e.createSlot(t, e.slot, false)
	sb := pgtest.StandbyWith(t, e.c, pglocal.StandbyOptions{DBName: e.db})
	standbySlot := sb.PrimarySlot

	got := e.judge(t, e.slot)
	if e.c.VersionNum < 170000 {
		wantResult(t, got["slot-failover"], rules.StatusWarn, []string{slotObj(e.slot)}, "has no failover slots",
			"physical slot "+standbySlot+" (active", "pg_failover_slots")
		wantResult(t, got["synchronized-standby-slots"], rules.StatusSkip, nil, "has no synchronized_standby_slots (17+)")
		return
	}
	wantResult(t, got["slot-failover"], rules.StatusWarn, []string{slotObj(e.slot)}, "is not a failover slot",
		"physical slot "+standbySlot, "ALTER_REPLICATION_SLOT "+e.slot+" (FAILOVER true)")
	wantResult(t, got["synchronized-standby-slots"], rules.StatusPass, nil, "is empty")

	// The remedy: ALTER_REPLICATION_SLOT over a replication connection.
	alterFailover(t, e.c, e.db, e.slot)
	wantResult(t, e.judge(t, e.slot)["slot-failover"], rules.StatusWarn, nil, "is a failover slot, but no standby synchronizes slots")

	// The standby starts synchronizing (sync_replication_slots is reloadable).
	pgtest.Exec(t, sb, "postgres", "ALTER SYSTEM SET sync_replication_slots = on")
	pgtest.Exec(t, sb, "postgres", "SELECT pg_reload_conf()")
	var worker string
	primaryConn, standbyConn := pgtest.Conn(t, e.c, "postgres"), pgtest.Conn(t, sb, "postgres")
	waitFor(t, 30*time.Second, "the standby's slot synchronization worker to connect", func() bool {
		// primary_conninfo names the standby (application_name), and the
		// worker's session takes that name.
		err := primaryConn.QueryRow(t.Context(), `SELECT application_name FROM pg_stat_activity
WHERE backend_type = 'client backend' AND application_name = $1`, standbySlot).Scan(&worker)
		return err == nil
	})
	t.Logf("PostgreSQL %d: the standby's worker is %q", e.c.VersionNum/10000, worker)
	wantResult(t, e.judge(t, e.slot)["slot-failover"], rules.StatusWarn, []string{slotObj(e.slot), "setting synchronized_standby_slots"},
		"synchronized_standby_slots is empty", "ALTER SYSTEM SET synchronized_standby_slots = "+sqlident.Literal(standbySlot)+";")

	setStandbySlots(t, e.c, standbySlot)
	e.write(t)
	got = e.judge(t, e.slot)
	wantResult(t, got["slot-failover"], rules.StatusPass, nil, "is a failover slot, synchronized by "+worker)
	wantResult(t, got["synchronized-standby-slots"], rules.StatusPass, nil, "each an active physical slot: "+standbySlot)
	wantResult(t, got["slot-peek"], rules.StatusPass, nil, "decoding works")

	// What the pass stands for: the standby holds the slot, synchronized
	// and persistent. It persists once the slot on the primary has moved
	// past what the standby had when it first copied it.
	waitFor(t, 90*time.Second, "the standby to hold slot "+e.slot+" synchronized", func() bool {
		e.write(t)
		pgtest.Exec(t, e.c, e.db, fmt.Sprintf("SELECT pg_replication_slot_advance(%s, pg_current_wal_lsn())", sqlident.Literal(e.slot)))
		var synced bool
		err := standbyConn.QueryRow(t.Context(),
			"SELECT synced AND NOT temporary FROM pg_replication_slots WHERE slot_name = $1", e.slot).Scan(&synced)
		return err == nil && synced
	})

	// A standby that stops confirming while its slot still looks active:
	// decoding the failover slot waits, and the peek ends at the catalog
	// statement timeout with a finding, not a hang.
	var receiver int
	if err := standbyConn.QueryRow(t.Context(), "SELECT pid FROM pg_stat_wal_receiver").Scan(&receiver); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(receiver, syscall.SIGSTOP); err != nil {
		t.Fatalf("stop the WAL receiver: %v", err)
	}
	// Runs before the differential replay, which then sees the standby streaming.
	t.Cleanup(func() { _ = syscall.Kill(receiver, syscall.SIGCONT) })
	e.write(t)
	start := time.Now()
	results := evaluateWith(t, e.dsn(), e.options(e.slot), gather.Timeouts{Statement: 2 * time.Second, Lock: time.Second,
		IdleInTransaction: time.Minute})
	took := time.Since(start)
	wantResult(t, results["slot-peek"], rules.StatusFail, []string{slotObj(e.slot), "setting synchronized_standby_slots"},
		"the peek waited until statement_timeout", standbySlot)
	wantResult(t, results["synchronized-standby-slots"], rules.StatusPass, nil, "each an active physical slot")
	if took > 20*time.Second {
		t.Errorf("the check took %s with a stalled standby", took)
	}
	t.Logf("check with the standby's WAL receiver stopped: %s", took.Round(time.Millisecond))
}

// alterFailover makes slot a failover slot the way slot-failover's remedy
// says: ALTER_REPLICATION_SLOT over a replication connection (17+).
func alterFailover(t *testing.T, c *pglocal.Cluster, db, slot string) {
	t.Helper()
	conn, err := pgconn.Connect(t.Context(), c.SuperDSN(db)+" replication=database")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(t.Context(), "ALTER_REPLICATION_SLOT "+sqlident.Quote(slot)+" (FAILOVER true)").ReadAll(); err != nil {
		t.Fatalf("ALTER_REPLICATION_SLOT: %v", err)
	}
}

// evaluateWith is one check with the given catalog timeouts, outside the
// differential (its database is replayed by the test's other checks).
func evaluateWith(t *testing.T, dsn string, expect facts.Options, timeouts gather.Timeouts) map[string]rules.Result {
	t.Helper()
	cfg, err := gather.ParseDSN(dsn)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	f := gather.Gather(ctx, cfg, gather.Options{Expect: withDefaults(expect), Timeouts: timeouts})
	reg, err := checks.Registry()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]rules.Result{}
	for _, r := range rules.Evaluate(reg, f, nil) {
		out[r.Rule] = r
	}
	return out
}

// TestScenarioStandbySlotsMissing: synchronized_standby_slots names a slot
// that does not exist. A slot that is not a failover slot decodes (a
// warning: it blocks only failover slots); the connector's failover slot
// does not (an error), and the check does not peek at it. The server
// agrees: its own peek waits until the statement timeout.
func TestScenarioStandbySlotsMissing(t *testing.T) {
	e := newFailoverEnv(t, failoverPrimary(t))
	if e.c.VersionNum < 170000 {
		e.createSlot(t, e.slot, false)
		wantResult(t, e.judge(t, e.slot)["synchronized-standby-slots"], rules.StatusSkip, nil,
			fmt.Sprintf("PostgreSQL %d has no synchronized_standby_slots (17+)", e.c.VersionNum/10000))
		return
	}
	gone := pgtest.UniqueName(t, "gone_standby")
	setStandbySlots(t, e.c, gone)
	plain := pgtest.UniqueName(t, "plain")
	e.createSlot(t, plain, false)
	e.createSlot(t, e.slot, true)
	e.write(t)

	// The plain slot: the connector is not held back.
	other := newFailoverEnv(t, e.c)
	other.createSlot(t, other.slot, false)
	other.write(t)
	got := other.judge(t, other.slot)
	wantResult(t, got["synchronized-standby-slots"], rules.StatusWarn, []string{slotObj(gone)},
		gone+" does not exist", "is not a failover slot, so the connector is not held back", "holds back every failover slot ("+e.slot+")")
	wantResult(t, got["slot-peek"], rules.StatusPass, nil, "decoding works")

	got = e.judge(t, e.slot)
	wantResult(t, got["synchronized-standby-slots"], rules.StatusFail, []string{slotObj(gone), slotObj(e.slot)},
		gone+" does not exist", "is a failover slot, so decoding it waits for them", "ALTER SYSTEM SET synchronized_standby_slots = '';")
	wantResult(t, got["slot-peek"], rules.StatusSkip, nil, "is a failover slot and synchronized_standby_slots names "+gone)

	if state := peekState(t, e.c, e.db, plain, 5*time.Second); state != "" {
		t.Errorf("peeking at a plain slot: SQLSTATE %s, want it to decode", state)
	}
	if state := peekState(t, e.c, e.db, e.slot, time.Second); state != "57014" {
		t.Errorf("peeking at the failover slot: SQLSTATE %q, want 57014 (it waits for the missing standby)", state)
	}
}

// TestScenarioStandbySlotsInactive: the listed standby's physical slot
// exists but nothing streams from it while WAL moves on: the failover
// slot is held back, as by a missing one.
func TestScenarioStandbySlotsInactive(t *testing.T) {
	e := newFailoverEnv(t, failoverPrimary(t))
	if e.c.VersionNum < 170000 {
		t.Skipf("PostgreSQL %d has no synchronized_standby_slots (17+): TestScenarioStandbySlotsMissing judges the skip", e.c.VersionNum/10000)
	}
	sleeper := pgtest.UniqueName(t, "sleeping_standby")
	t.Cleanup(func() {
		_ = e.c.Exec(context.Background(), "postgres", "SELECT pg_drop_replication_slot("+sqlident.Literal(sleeper)+")")
	})
	pgtest.Exec(t, e.c, "postgres", "SELECT pg_create_physical_replication_slot("+sqlident.Literal(sleeper)+", true)")
	setStandbySlots(t, e.c, sleeper)
	e.createSlot(t, e.slot, true)
	e.write(t)
	got := e.judge(t, e.slot)
	wantResult(t, got["synchronized-standby-slots"], rules.StatusFail, []string{slotObj(sleeper), slotObj(e.slot)},
		sleeper+" is inactive (no standby streams from it) and", "behind the current WAL", "Bring each inactive standby back")
	wantResult(t, got["slot-peek"], rules.StatusSkip, nil, "synchronized_standby_slots names "+sleeper)
	if state := peekState(t, e.c, e.db, e.slot, time.Second); state != "57014" {
		t.Errorf("peeking at the failover slot: SQLSTATE %q, want 57014 (it waits for the inactive standby)", state)
	}
}
