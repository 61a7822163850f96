package checks

import (
	"fmt"
	"strconv"

	"github.com/cdcpreflight/cdcpreflight/facts"
	"github.com/cdcpreflight/cdcpreflight/rules"
)

func standby() rules.Rule {
	return rules.Rule{
		ID: "standby", Title: "The server is a primary, or a standby that can decode",
		Category: rules.CategoryServer, Severity: rules.Error, Since: since,
		Needs: []string{"server", "settings", "options"},
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
			if o, ok := needDB(f, f.Server.Err); !ok {
				return o
			}
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

// suggestedWALCap is the max_slot_wal_keep_size the remedies propose:
// big enough to ride out a connector outage of hours on most systems; it
// must stay below the free space of the volume holding pg_wal.
const suggestedWALCap = "10GB"

func walRetentionLimit() rules.Rule {
	return rules.Rule{
		ID: "wal-retention-limit", Title: "max_slot_wal_keep_size caps the WAL a slot can retain",
		Category: rules.CategoryServer, Severity: rules.Warning, Since: since,
		Needs: []string{"server", "settings", "platform"},
		Why: `A replication slot keeps every WAL segment from its restart point on. When the connector stops or falls
behind (paused pipeline, deleted connector that left its slot, a destination outage) WAL accumulates
until the volume holding pg_wal is full, and then the whole server stops accepting writes (PANIC: could
not write to file "pg_wal/…": No space left on device). From PostgreSQL 13, max_slot_wal_keep_size caps
what slots may retain: past it the slot is invalidated (wal_status = lost, a new snapshot is needed)
but the database survives. The default, -1, is no cap (warning). 0 is the opposite extreme (error):
slots then keep no WAL beyond wal_keep_size, so any lag at a checkpoint invalidates the connector's
slot ("can no longer get changes from replication slot", SQLSTATE 55000) and every pause costs a
full re-snapshot. PostgreSQL 10-12 have no such setting.`,
		Fix: `Set max_slot_wal_keep_size to a size below the free space of the WAL volume, e.g. 10GB; it is reloadable
(no restart). Self-hosted: ALTER SYSTEM SET max_slot_wal_keep_size = '10GB'; SELECT pg_reload_conf();.
RDS: max_slot_wal_keep_size (MB) in the DB parameter group (dynamic). Cloud SQL: the database flag.
Azure: the server parameter. Supabase: its custom Postgres configuration, or support. Neon does not expose
it: watch the slot's lag instead (slot-health) and drop slots nobody consumes.`,
		Eval: func(f *facts.Facts) rules.Outcome {
			if o, ok := needDB(f, f.Server.Err, f.Settings.Err); !ok {
				return o
			}
			if major := f.Server.Major(); major < 13 {
				return rules.Skip("PostgreSQL %d has no max_slot_wal_keep_size (13+)", major)
			}
			v, ok := f.Settings.Get("max_slot_wal_keep_size")
			if !ok {
				return rules.Errored(&facts.Error{Op: "read settings", Message: "max_slot_wal_keep_size is not visible in pg_settings"})
			}
			mb, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return rules.Errored(&facts.Error{Op: "read settings", Message: fmt.Sprintf("max_slot_wal_keep_size = %q is not a number of megabytes", v)})
			}
			text, steps := platformOf(f).capWAL()
			switch {
			case mb < 0:
				return rules.Finding("max_slot_wal_keep_size = -1: slots may retain unlimited WAL, so a stalled connector can fill the disk").
					WithObjects("setting max_slot_wal_keep_size").WithSteps(text, steps...)
			case mb == 0:
				return rules.Finding("max_slot_wal_keep_size = 0: slots retain no WAL beyond wal_keep_size, so any connector lag invalidates its slot").
					WithSeverity(rules.Error).WithObjects("setting max_slot_wal_keep_size").WithSteps(text, steps...)
			}
			return rules.Pass("max_slot_wal_keep_size = %s", facts.Bytes(mb<<20))
		},
	}
}

// serverExtraRules are the server rules about standbys and WAL retention.
func serverExtraRules() []rules.Rule {
	return []rules.Rule{standby(), walRetentionLimit()}
}
