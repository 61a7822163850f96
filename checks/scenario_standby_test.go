package checks_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/cdcpreflight/cdcpreflight/facts"
	"github.com/cdcpreflight/cdcpreflight/internal/pglocal"
	"github.com/cdcpreflight/cdcpreflight/internal/pgtest"
	"github.com/cdcpreflight/cdcpreflight/rules"
)

// standbyScenarios: rule → {passing scenario, non-passing scenario}.
var standbyScenarios = map[string][2]string{
	"standby": {"TestScenarioServerPrimary", "TestScenarioServerStandby"},
}

func TestScenarioServerPrimary(t *testing.T) {
	c := pgtest.Cluster(t)
	db := pgtest.NewDatabase(t, c)
	user := replicationUser(t, c, db)
	got := judgeDSN(t, c.DSN(user, testPassword, db, "require"), facts.Options{}, time.Time{})
	wantResult(t, got["standby"], rules.StatusPass, nil, "connected to a primary")
}

// TestScenarioServerStandby judges a real streaming hot standby: before
// PostgreSQL 16 it cannot decode (and creating a slot there fails), from
// 16 it can, with read-only snapshots only.
func TestScenarioServerStandby(t *testing.T) {
	primary := pgtest.ClusterWith(t, "standby-primary", pglocal.Options{TLS: true})
	db := pgtest.NewDatabase(t, primary)
	user := replicationUser(t, primary, db)
	sb := pgtest.Standby(t, primary) // after the database and role exist: the base backup carries them
	dsn := sb.DSN(user, testPassword, db, "require")

	got := judgeDSN(t, dsn, facts.Options{}, time.Time{})
	r := got["standby"]
	if primary.VersionNum < 160000 {
		wantResult(t, r, rules.StatusFail, nil, "logical decoding on a standby needs PostgreSQL 16")
		if state := createSlotState(t, sb, db, primary); state != "0A000" {
			t.Errorf("creating a logical slot on a PostgreSQL %d standby: SQLSTATE %q, want 0A000", primary.VersionNum, state)
		}
		return
	}
	wantResult(t, r, rules.StatusWarn, nil, "decoding works here with read-only snapshots only", "hot_standby_feedback is already on")
	wantResult(t, judgeDSN(t, dsn, facts.Options{Slot: "streamkap_pgoutput_slot", Publication: "streamkap_pub",
		SignalSchema: "streamkap", SnapshotMode: "signal-table"}, time.Time{})["standby"],
		rules.StatusFail, nil, "signal-table snapshots cannot write")
	// And decoding does work there.
	if state := createSlotState(t, sb, db, primary); state != "" {
		t.Errorf("creating a logical slot on a PostgreSQL %d standby: SQLSTATE %s", primary.VersionNum, state)
	}
}

// createSlotState tries to create (and then drops) a logical slot on the
// standby as the superuser, returning the SQLSTATE of a failure. On 16+
// creation waits for a running-transactions record from the primary, which
// pg_log_standby_snapshot() writes.
func createSlotState(t *testing.T, sb *pglocal.Cluster, db string, primary *pglocal.Cluster) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	conn, err := sb.Connect(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = conn.Close(context.Background()) }()
	if primary.VersionNum >= 160000 {
		done := make(chan struct{})
		defer close(done)
		go func() {
			for {
				select {
				case <-done:
					return
				case <-time.After(200 * time.Millisecond):
					_ = primary.Exec(context.Background(), "postgres", "SELECT pg_log_standby_snapshot()")
				}
			}
		}()
	}
	if _, err := conn.Exec(ctx, "SELECT pg_create_logical_replication_slot('standby_probe', 'pgoutput')"); err != nil {
		var pgErr *pgconn.PgError
		if !errors.As(err, &pgErr) {
			t.Fatal(err)
		}
		t.Logf("PostgreSQL %d standby: %s (%s)", primary.VersionNum, pgErr.Message, pgErr.Code)
		return pgErr.Code
	}
	if _, err := conn.Exec(ctx, "SELECT pg_drop_replication_slot('standby_probe')"); err != nil {
		t.Errorf("drop the probe slot: %v", err)
	}
	return ""
}
