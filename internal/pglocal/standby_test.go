package pglocal_test

import (
	"context"
	"errors"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/cdcpreflight/cdcpreflight/internal/pglocal"
	"github.com/cdcpreflight/cdcpreflight/internal/pgtest"
)

// TestStandby starts a streaming standby of a cluster: it is in recovery,
// it has what the primary had (the base backup) and receives what the
// primary writes afterwards (streaming), and Stop removes it and its slot.
func TestStandby(t *testing.T) {
	primary := pgtest.Cluster(t)
	db := pgtest.NewDatabase(t, primary)
	pgtest.Exec(t, primary, db, "CREATE TABLE t (id int PRIMARY KEY, v text); INSERT INTO t VALUES (1, 'before')")
	slot := pgtest.UniqueName(t, "standby")

	start := time.Now()
	sb, err := pglocal.StartStandby(t.Context(), primary, pglocal.StandbyOptions{SlotName: slot})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sb.Stop() }) // safety net; the test checks Stop's result below
	t.Logf("StartStandby took %s: PostgreSQL %s on port %d", time.Since(start).Round(time.Millisecond), sb.Version, sb.Port)
	if sb.Port == primary.Port || sb.Dir == primary.Dir || sb.PrimarySlot != slot {
		t.Errorf("standby: port %d dir %s slot %q; primary: port %d dir %s", sb.Port, sb.Dir, sb.PrimarySlot, primary.Port, primary.Dir)
	}

	conn := pgtest.Conn(t, sb, db)
	var inRecovery bool
	if err := conn.QueryRow(t.Context(), "SELECT pg_is_in_recovery()").Scan(&inRecovery); err != nil {
		t.Fatal(err)
	}
	if !inRecovery {
		t.Error("pg_is_in_recovery() is false on the standby")
	}
	if got := showSetting(t, sb, "hot_standby_feedback"); got != "on" {
		t.Errorf("hot_standby_feedback = %q on the standby, want on", got)
	}
	if err := sb.Exec(t.Context(), db, "INSERT INTO t VALUES (3, 'write')"); err == nil {
		t.Error("a write on the standby succeeded")
	}

	pgtest.Exec(t, primary, db, "INSERT INTO t VALUES (2, 'after')")
	want := map[int]string{1: "before", 2: "after"}
	deadline := time.Now().Add(30 * time.Second)
	for {
		rows, err := conn.Query(t.Context(), "SELECT id, v FROM t ORDER BY id")
		if err != nil {
			t.Fatal(err)
		}
		got := map[int]string{}
		var id int
		var v string
		if _, err := pgx.ForEachRow(rows, []any{&id, &v}, func() error { got[id] = v; return nil }); err != nil {
			t.Fatal(err)
		}
		if len(got) == len(want) && got[1] == want[1] && got[2] == want[2] {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the standby has rows %v 30s after the primary wrote %v", got, want)
		}
		time.Sleep(50 * time.Millisecond)
	}

	// Over TCP with TLS and the superuser's password, as the primary.
	if !sslInUse(t, sb.DSN(sb.SuperUser, sb.SuperPassword, db, "verify-full")+"&sslrootcert="+url.QueryEscape(sb.CACertFile)) {
		t.Error("the standby's TCP connection does not use TLS")
	}

	if err := sb.Stop(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(sb.Dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("%s still exists after Stop (stat: %v)", sb.Dir, err)
	}
	var slots int
	if err := pgtest.Conn(t, primary, "postgres").QueryRow(context.Background(),
		"SELECT count(*) FROM pg_replication_slots WHERE slot_name = $1", slot).Scan(&slots); err != nil {
		t.Fatal(err)
	}
	if slots != 0 {
		t.Errorf("slot %s still exists on the primary after the standby's Stop", slot)
	}
}

func TestStartStandbyRejectsBadSlotName(t *testing.T) {
	_, err := pglocal.StartStandby(t.Context(), pgtest.Cluster(t), pglocal.StandbyOptions{SlotName: "Bad-Name"})
	if err == nil {
		t.Fatal("StartStandby with slot name Bad-Name succeeded")
	}
}
