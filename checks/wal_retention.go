package checks

import (
	"fmt"
	"strconv"

	"github.com/cdcpreflight/cdcpreflight/facts"
	"github.com/cdcpreflight/cdcpreflight/rules"
)

// walRetentionRules judge how much WAL the server lets slots retain.
func walRetentionRules() []rules.Rule {
	return []rules.Rule{walRetentionLimit()}
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
