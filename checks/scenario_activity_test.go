package checks_test

import (
	"syscall"
	"testing"
	"time"

	"github.com/cdcpreflight/cdcpreflight/facts"
	"github.com/cdcpreflight/cdcpreflight/internal/pgtest"
	"github.com/cdcpreflight/cdcpreflight/internal/sqlident"
	"github.com/cdcpreflight/cdcpreflight/rules"
)

// activityScenarios: rule → {passing scenario, non-passing scenario}.
var activityScenarios = map[string][2]string{
	"connector-activity": {"TestScenarioConnectorActivity", "TestScenarioConnectorActivity"},
}

// TestScenarioConnectorActivity: pg_recvlogical streams from the slot,
// replying every second, and the rule passes; stopped with SIGSTOP it
// stays connected and holds the slot, but confirms nothing while WAL is
// written, and, from 12 (reply_time), replies to nothing: the rule says
// both. Without pg_read_all_stats the role sees only the slot, and the
// rule says it judged from the lag alone.
func TestScenarioConnectorActivity(t *testing.T) {
	e := newSlotEnv(t, pgtest.Cluster(t))
	e.setUp(t)
	pgtest.Exec(t, e.c, e.db, "GRANT pg_read_all_stats TO "+sqlident.Quote(e.user))
	cons := startConsumer(t, e, "--status-interval=1")
	tight := func(o *facts.Options) { o.ConnectorLagWarn, o.ConnectorReplyWarn = 1<<20, 4*time.Second }
	replied := "true"
	if e.c.VersionNum >= 120000 {
		replied = "r.reply_time > now() - interval '2 seconds'"
	}
	waitFor(t, 20*time.Second, "the consumer to confirm and reply", func() bool {
		var ok bool
		err := e.super.QueryRow(t.Context(), `SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), s.confirmed_flush_lsn) < 65536 AND `+replied+`
FROM pg_replication_slots s JOIN pg_stat_replication r ON r.pid = s.active_pid WHERE s.slot_name = $1`, e.slot).Scan(&ok)
		return err == nil && ok
	})
	got := e.judge(t, tight)
	wantResult(t, got["connector-activity"], rules.StatusPass, nil, "is active in PID", "its WAL sender is streaming")

	if err := cons.proc.Signal(syscall.SIGSTOP); err != nil {
		t.Fatalf("stop pg_recvlogical: %v", err)
	}
	pgtest.Exec(t, e.c, e.db, `SET synchronous_commit = on;
INSERT INTO `+e.table+` (note) SELECT repeat('x', 1000) FROM generate_series(1, 3000);`)
	time.Sleep(5 * time.Second)
	says := []string{"behind the current WAL, over --connector-lag-warn 1.0 MB", "its WAL sender is streaming"}
	if e.c.VersionNum >= 120000 {
		says = append(says, "over --connector-reply-warn 4s: the consumer is connected but not listening")
	}
	got = e.judge(t, tight)
	wantResult(t, got["connector-activity"], rules.StatusWarn, []string{slotObj(e.slot)}, says...)
	if err := cons.exited(); err != nil {
		t.Fatalf("the stopped consumer lost its connection during the check: %v", err)
	}

	pgtest.Exec(t, e.c, e.db, "REVOKE pg_read_all_stats FROM "+sqlident.Quote(e.user))
	got = e.judge(t, tight)
	wantResult(t, got["connector-activity"], rules.StatusWarn, nil, "over --connector-lag-warn 1.0 MB", "judged from the slot alone")
}
