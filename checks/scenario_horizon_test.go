package checks_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/cdcpreflight/cdcpreflight/facts"
	"github.com/cdcpreflight/cdcpreflight/internal/pglocal"
	"github.com/cdcpreflight/cdcpreflight/internal/pgtest"
	"github.com/cdcpreflight/cdcpreflight/internal/sqlident"
	"github.com/cdcpreflight/cdcpreflight/rules"
)

// horizonScenarios: rule → {passing scenario, non-passing scenario}.
var horizonScenarios = map[string][2]string{
	"slot-xid-horizon": {"TestScenarioSlotXIDHorizon", "TestScenarioSlotXIDHorizon"},
}

// freezeMaxAge is the test cluster's autovacuum_freeze_max_age, its
// minimum: the thresholds are then a few hundred thousand transactions,
// which a test consumes in a second.
const freezeMaxAge = 100_000

// burnXIDs assigns n transaction IDs: one subtransaction per ID, each
// writing a row, in one DO block (procedures with COMMIT need 11+).
func burnXIDs(t *testing.T, c *pglocal.Cluster, db string, n int) {
	t.Helper()
	pgtest.Exec(t, c, db, fmt.Sprintf(`CREATE TABLE IF NOT EXISTS xid_burn (i int);
DO $$ BEGIN
FOR i IN 1..%d LOOP
	BEGIN INSERT INTO xid_burn VALUES (i); EXCEPTION WHEN OTHERS THEN NULL; END;
END LOOP; END $$;
TRUNCATE xid_burn;`, n))
}

// TestScenarioSlotXIDHorizon: a logical slot nobody consumes holds
// catalog_xmin while transactions move the counter on. Young, it passes;
// past half of autovacuum_freeze_max_age it warns, naming the slot; past
// autovacuum_freeze_max_age every database is overdue for freezing and
// the slot is named as what pins them; past the failsafe age (105% of
// autovacuum_freeze_max_age here, 14+) it is an error. The server agrees:
// VACUUM (FREEZE) cannot move the database's datfrozenxid past the slot.
func TestScenarioSlotXIDHorizon(t *testing.T) {
	settings := map[string]string{"autovacuum_freeze_max_age": fmt.Sprint(freezeMaxAge)}
	if pgtest.Cluster(t).VersionNum >= 140000 {
		// Lower than VACUUM allows: it then uses 105% of autovacuum_freeze_max_age.
		settings["vacuum_failsafe_age"] = "0"
	}
	c := pgtest.ClusterWith(t, "xid-horizon", pglocal.Options{TLS: true, Settings: settings})
	db := pgtest.NewDatabase(t, c)
	user := replicationUser(t, c, db)
	slot := pgtest.UniqueName(t, "stalled")
	pgtest.Exec(t, c, db, "SELECT pg_create_logical_replication_slot("+sqlident.Literal(slot)+", 'pgoutput')")
	dsn := c.DSN(user, testPassword, db, "require")
	judge := func() rules.Result {
		return judgeDSN(t, dsn, facts.Options{Slot: slot}, time.Time{})["slot-xid-horizon"]
	}
	wantResult(t, judge(), rules.StatusPass, nil, "the oldest slot hold is "+slot+"'s")

	burnXIDs(t, c, db, freezeMaxAge*6/10)
	wantResult(t, judge(), rules.StatusWarn, []string{slotObj(slot)}, "slot "+slot+" (logical, inactive) holds a catalog_xmin",
		"of autovacuum_freeze_max_age 100,000", "SELECT pg_drop_replication_slot("+sqlident.Literal(slot)+");")

	burnXIDs(t, c, db, freezeMaxAge/2)
	r := judge()
	status := rules.StatusWarn
	says := []string{"past autovacuum_freeze_max_age 100,000", "slot " + slot + " holds it there: VACUUM can freeze it no further than the slot's catalog_xmin", "vacuum_failsafe_age's default from PostgreSQL 14"}
	if c.VersionNum >= 140000 {
		status = rules.StatusFail
		says = []string{"past autovacuum_freeze_max_age 100,000", "slot " + slot + " holds it there: VACUUM can freeze it no further than the slot's catalog_xmin",
			"105,000 (105% of autovacuum_freeze_max_age, which VACUUM uses when vacuum_failsafe_age, 0, is lower)"}
	}
	wantResult(t, r, status, nil, says...)

	// The pin is real: freezing the database cannot move datfrozenxid past
	// the slot's catalog_xmin.
	pgtest.Exec(t, c, db, "VACUUM (FREEZE)")
	var dbAge, slotAge int64
	if err := pgtest.Conn(t, c, db).QueryRow(t.Context(), `SELECT age(d.datfrozenxid), age(s.catalog_xmin)
FROM pg_database d, pg_replication_slots s WHERE d.datname = current_database() AND s.slot_name = $1`, slot).Scan(&dbAge, &slotAge); err != nil {
		t.Fatal(err)
	}
	if dbAge < slotAge {
		t.Errorf("after VACUUM (FREEZE) the database is %d transactions old, younger than the slot's catalog_xmin (%d)", dbAge, slotAge)
	}
	t.Logf("PostgreSQL %d: after VACUUM (FREEZE) datfrozenxid is %d transactions old, the slot's catalog_xmin %d", c.VersionNum/10000, dbAge, slotAge)
}
