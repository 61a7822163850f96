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
			if major < 16 {
				return rules.Finding("connected to a standby running PostgreSQL %d: logical decoding on a standby needs PostgreSQL 16 or later", major).
					WithObjects(obj).
					WithRemediation("Point the connector at the primary (a direct, unpooled connection to it), or upgrade to PostgreSQL 16 or later.")
			}
			if snapshotMode(f) == snapshotSignalTable {
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
			text, steps := standbyFeedback(f.Platform.Name, feedback == "on")
			return rules.Finding("connected to a PostgreSQL %d standby: decoding works here with read-only snapshots only (Read only = Yes); hot_standby_feedback is %s",
				major, feedback).
				WithSeverity(rules.Warning).WithObjects(obj).WithSteps(text, steps...)
		},
	}
}

// standbyFeedback says how to keep a standby's logical slot from being
// invalidated by the primary's VACUUM.
func standbyFeedback(platform string, on bool) (string, []rules.Step) {
	text := "Use read-only snapshots (Read only = Yes). On the primary, create a physical replication slot for this standby " +
		"(SELECT pg_create_physical_replication_slot('…');) and set primary_slot_name to it on the standby, so that the primary keeps what the standby needs."
	if on {
		return text + " hot_standby_feedback is already on.", nil
	}
	switch platform {
	case facts.PlatformRDS, facts.PlatformAurora:
		return text + " Set hot_standby_feedback = 1 in the read replica's DB parameter group (dynamic).", nil
	case facts.PlatformCloudSQL:
		return text + " Set the database flag hot_standby_feedback = on on the read replica.", nil
	case facts.PlatformAzure:
		return text + " Set the server parameter hot_standby_feedback = on on the read replica.", nil
	case facts.PlatformNeon, facts.PlatformSupabase:
		return text + " Ask the platform to run the replica with hot_standby_feedback = on.", nil
	}
	return text + " Turn on hot_standby_feedback on the standby (reloadable, no restart):",
		setSystem("hot_standby_feedback", "on", false)
}

// suggestedWALCap is the max_slot_wal_keep_size the remedies propose:
// big enough to ride out a connector outage of hours on most systems; it
// must stay below the free space of the volume holding pg_wal.
const suggestedWALCap = "10GB"

func walRetentionLimit() rules.Rule {
	return rules.Rule{
		ID: "wal-retention-limit", Title: "max_slot_wal_keep_size caps the WAL a slot can retain",
		Category: rules.CategoryServer, Severity: rules.Warning, Since: since,
		Needs: []facts.Section{facts.SectionServer, facts.SectionSettings},
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
			text, steps := capWAL(f.Platform.Name)
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

// capWAL says how to set max_slot_wal_keep_size on each platform.
func capWAL(platform string) (string, []rules.Step) {
	switch platform {
	case facts.PlatformRDS:
		return "Set max_slot_wal_keep_size (in MB, e.g. 10240) in the instance's custom DB parameter group; it is dynamic (no reboot).", nil
	case facts.PlatformAurora:
		return "Set max_slot_wal_keep_size (in MB, e.g. 10240) in the DB cluster parameter group if your Aurora version offers it; " +
			"otherwise watch the slot's lag (slot-health) and drop slots nobody consumes.", nil
	case facts.PlatformCloudSQL:
		return "Set the database flag max_slot_wal_keep_size (in MB, e.g. 10240) on the instance.", nil
	case facts.PlatformAzure:
		return "Set the server parameter max_slot_wal_keep_size (in MB, e.g. 10240); it is dynamic (no restart).", nil
	case facts.PlatformNeon:
		return "Neon does not let you change max_slot_wal_keep_size; it removes inactive slots itself. " +
			"Watch the slot's lag (slot-health) and drop slots nobody consumes.", nil
	case facts.PlatformSupabase:
		return "Set max_slot_wal_keep_size through Supabase's custom Postgres configuration (supabase postgres-config update) or ask Supabase support; " +
			"meanwhile watch the slot's lag (slot-health).", nil
	}
	return "Cap what slots may retain below the free space of the WAL volume (" + suggestedWALCap + " here; adjust). " +
			"It is reloadable: no restart. A slot that falls further behind is invalidated and needs a new snapshot, but the server keeps running.",
		setSystem("max_slot_wal_keep_size", "'"+suggestedWALCap+"'", false)
}

// serverExtraRules are the server rules about standbys and WAL retention.
func serverExtraRules() []rules.Rule {
	return []rules.Rule{standby(), walRetentionLimit()}
}
