package checks

import (
	"github.com/cdcpreflight/cdcpreflight/facts"
	"github.com/cdcpreflight/cdcpreflight/rules"
)

// standbyRules judge whether the server, when it is a standby, can decode.
func standbyRules() []rules.Rule {
	return []rules.Rule{standby()}
}

func standby() rules.Rule {
	return rules.Rule{
		ID: "standby", Title: "The server is a primary, or a standby that can decode",
		Category: rules.CategoryServer, Severity: rules.Error, Since: since,
		Needs: []facts.Section{facts.SectionServer},
		Why: `Logical decoding on a standby (a hot standby, a read replica) exists only from PostgreSQL 16: on
older majors creating the connector's slot there fails ("logical decoding cannot be used while in
recovery", SQLSTATE 0A000). From 16 it works, with conditions. A standby is read-only, so the signal
table cannot be written and snapshots must be read-only (Read only = Yes); the primary must run with
wal_level = logical; without hot_standby_feedback = on and a physical replication slot for the
standby on the primary, the primary's VACUUM removes catalog rows the standby's logical slot still
needs and the slot is invalidated ("conflicting"), which means a new snapshot. Creating the slot
waits for the primary's next running-transactions record (pg_log_standby_snapshot() on the primary
makes one). A logical slot on a standby is not carried over to a newly promoted primary before
PostgreSQL 17's failover slots.`,
		Fix: `Before PostgreSQL 16: point the connector at the primary (or upgrade). From 16: set Read only = Yes in
the connector; on the standby ALTER SYSTEM SET hot_standby_feedback = on; SELECT pg_reload_conf(); (it
is reloadable); on the primary create a physical slot for the standby
(SELECT pg_create_physical_replication_slot('standby1');) and set primary_slot_name = 'standby1' on the
standby. Managed read replicas: set hot_standby_feedback in the replica's parameters (RDS parameter
group, Cloud SQL flag, Azure server parameter).`,
		Eval: func(f *facts.Facts) rules.Outcome {
			s := f.Server
			if !s.InRecovery {
				return rules.Pass("connected to a primary (not in recovery)")
			}
			obj := "server " + s.Version
			major := s.Major()
			if !s.CanDecode() {
				return rules.Finding("connected to a standby running PostgreSQL %d: logical decoding on a standby needs PostgreSQL 16 or later", major).
					WithObjects(obj).
					WithRemediation("Point the connector at the primary (a direct, unpooled connection to it), or upgrade to PostgreSQL 16 or later.")
			}
			if f.Options.SnapshotModeInForce() == facts.SnapshotSignalTable {
				return rules.Finding("connected to a standby: it is read-only, so signal-table snapshots cannot write the signal table").
					WithObjects(obj).
					WithRemediation("Set Read only = Yes in the connector (read-only snapshots) and run with --snapshot-mode read-only, or point the connector at the primary.")
			}
			feedback := "unknown (settings could not be read)"
			if f.Settings.Err == nil {
				feedback = "not visible in pg_settings"
				if v, ok := f.Settings.Get("hot_standby_feedback"); ok {
					feedback = v
				}
			}
			text, steps := standbyFeedback(f, feedback == "on")
			return rules.Finding("connected to a PostgreSQL %d standby: decoding works here with read-only snapshots only (Read only = Yes); hot_standby_feedback is %s",
				major, feedback).
				WithSeverity(rules.Warning).WithObjects(obj).WithSteps(text, steps...)
		},
	}
}

// standbyFeedback says how to keep a standby's logical slot from being
// invalidated by the primary's VACUUM.
func standbyFeedback(f *facts.Facts, on bool) (string, []rules.Step) {
	text := "Use read-only snapshots (Read only = Yes). On the primary, create a physical replication slot for this standby " +
		"(SELECT pg_create_physical_replication_slot('…');) and set primary_slot_name to it on the standby, so that the primary keeps what the standby needs."
	if on {
		return text + " hot_standby_feedback is already on.", nil
	}
	t, steps := platformOf(f).standbyFeedback()
	return text + " " + t, steps
}
