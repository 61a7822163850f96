package checks_test

import (
	"testing"
	"time"

	"github.com/cdcpreflight/cdcpreflight/facts"
	"github.com/cdcpreflight/cdcpreflight/internal/pglocal"
	"github.com/cdcpreflight/cdcpreflight/internal/pgtest"
	"github.com/cdcpreflight/cdcpreflight/rules"
)

// walRetentionScenarios: rule → {passing scenario, non-passing scenario}.
var walRetentionScenarios = map[string][2]string{
	"wal-retention-limit": {"TestScenarioWalRetentionCapped", "TestScenarioWalRetentionUnlimited"},
}

// TestScenarioWalRetentionUnlimited: the default -1 (13+); 10-12 have no
// such setting.
func TestScenarioWalRetentionUnlimited(t *testing.T) {
	c := pgtest.Cluster(t)
	db := pgtest.NewDatabase(t, c)
	user := replicationUser(t, c, db)
	r := judgeDSN(t, c.DSN(user, testPassword, db, "require"), facts.Options{}, time.Time{})["wal-retention-limit"]
	if c.VersionNum < 130000 {
		wantResult(t, r, rules.StatusSkip, nil, "has no max_slot_wal_keep_size")
		return
	}
	wantResult(t, r, rules.StatusWarn, []string{"setting max_slot_wal_keep_size"},
		"max_slot_wal_keep_size = -1", "ALTER SYSTEM SET max_slot_wal_keep_size = '10GB';", "SELECT pg_reload_conf();")
}

// TestScenarioWalRetentionCapped: a cap passes; 0 (no retention at all)
// is an error.
func TestScenarioWalRetentionCapped(t *testing.T) {
	if pgtest.Cluster(t).VersionNum < 130000 {
		// The server would refuse to start with the setting.
		t.Log("PostgreSQL 10-12 have no max_slot_wal_keep_size: TestScenarioWalRetentionUnlimited covers the skip")
		return
	}
	judge := func(key, size string) (*pglocal.Cluster, string, rules.Result) {
		c := pgtest.ClusterWith(t, key, pglocal.Options{TLS: true, Settings: map[string]string{"max_slot_wal_keep_size": size}})
		db := pgtest.NewDatabase(t, c)
		user := replicationUser(t, c, db)
		return c, db, judgeDSN(t, c.DSN(user, testPassword, db, "require"), facts.Options{}, time.Time{})["wal-retention-limit"]
	}
	_, _, r := judge("wal-keep-1gb", "1GB")
	wantResult(t, r, rules.StatusPass, nil, "max_slot_wal_keep_size = 1.0 GB")
	c, db, r := judge("wal-keep-0", "0")
	wantResult(t, r, rules.StatusFail, []string{"setting max_slot_wal_keep_size"},
		"max_slot_wal_keep_size = 0", "ALTER SYSTEM SET max_slot_wal_keep_size = '10GB';")

	// Why 0 is an error: a slot that has not consumed the last segments
	// loses its WAL at the next checkpoint.
	pgtest.Exec(t, c, db, "SELECT pg_create_logical_replication_slot('lagging', 'pgoutput')")
	for range 2 {
		pgtest.Exec(t, c, db, "CREATE TABLE IF NOT EXISTS churn (v text); INSERT INTO churn SELECT 'x' FROM generate_series(1, 100)")
		pgtest.Exec(t, c, db, "SELECT pg_switch_wal()")
	}
	pgtest.Exec(t, c, db, "CHECKPOINT")
	var status string
	if err := pgtest.Conn(t, c, db).QueryRow(t.Context(),
		"SELECT wal_status FROM pg_replication_slots WHERE slot_name = 'lagging'").Scan(&status); err != nil {
		t.Fatal(err)
	}
	if status != "lost" {
		t.Errorf("a lagging slot under max_slot_wal_keep_size = 0: wal_status %q, want lost", status)
	}
	t.Logf("PostgreSQL %d, max_slot_wal_keep_size = 0: the lagging slot's wal_status is %s", c.VersionNum, status)
}
