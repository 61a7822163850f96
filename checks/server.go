package checks

import (
	"fmt"
	"strings"
	"time"

	"github.com/cdcpreflight/cdcpreflight/facts"
	"github.com/cdcpreflight/cdcpreflight/rules"
)

// endOfLife is the PostgreSQL community's final release date per major
// (https://www.postgresql.org/support/versioning/). Majors not listed are
// newer than this table and are treated as supported.
var endOfLife = map[int]string{
	9:  "2021-11-11", // 9.6, the last 9.x
	10: "2022-11-10",
	11: "2023-11-09",
	12: "2024-11-21",
	13: "2025-11-13",
	14: "2026-11-12",
	15: "2027-11-11",
	16: "2028-11-09",
	17: "2029-11-08",
	18: "2030-11-14",
}

func serverVersion() rules.Rule {
	return rules.Rule{
		ID: "server-version", Title: "PostgreSQL is 10 or later and still supported",
		Category: rules.CategoryServer, Severity: rules.Error, Since: since,
		Needs: []facts.Section{facts.SectionServer},
		Why: `Logical replication with the pgoutput plugin, publications and the replication protocol the
connector speaks exist from PostgreSQL 10 on; on 9.x the connector cannot start. A major past its
community end of life still works but gets no security or bug fixes (several logical decoding bugs
were fixed only in supported branches), so it is reported as a warning.`,
		Fix: `Upgrade the server to a supported major (pg_upgrade, or your platform's major-version upgrade).
Replication slots are not carried over by pg_upgrade before PostgreSQL 17: plan to re-create the
connector's slot and re-snapshot after the upgrade.`,
		Eval: func(f *facts.Facts) rules.Outcome {
			num := f.Server.VersionNum
			major := num / 10000
			name := fmt.Sprint(major)
			if num < 100000 { // 9.6 numbers its majors with two parts
				name = fmt.Sprintf("%d.%d", num/10000, num/100%100)
				return rules.Finding("PostgreSQL %s is older than 10: logical replication with pgoutput needs 10 or later", name).
					WithObjects("server " + f.Server.Version)
			}
			if eol, ok := endOfLife[major]; ok {
				day, _ := time.Parse(time.DateOnly, eol)
				if !f.GatheredAt.IsZero() && !f.GatheredAt.Before(day) {
					return rules.Finding("PostgreSQL %s reached community end of life on %s: no more security or bug fixes", name, eol).
						WithSeverity(rules.Warning).WithObjects("server " + f.Server.Version).
						WithRemediation(fmt.Sprintf("Plan an upgrade from PostgreSQL %s to a supported major.", name))
				}
			}
			return rules.Pass("PostgreSQL %s", f.Server.Version)
		},
	}
}

func walLevel() rules.Rule {
	return rules.Rule{
		ID: "wal-level", Title: "wal_level is logical",
		Category: rules.CategoryServer, Severity: rules.Error, Since: since,
		Needs: []facts.Section{facts.SectionSettings},
		Why: `Logical decoding reads changes from the WAL, and only wal_level = logical writes the information
it needs. With replica or minimal the connector cannot create its slot ("logical decoding requires
wal_level >= logical"). A publication can still be created, with only a warning, so an existing
publication proves nothing. wal_level changes only at server start.`,
		Fix: `Set wal_level = logical the platform's way and restart: Neon — Console, Settings → Logical Replication
→ Enable; RDS/Aurora — rds.logical_replication = 1 in the (cluster) parameter group, reboot; Cloud SQL —
flag cloudsql.logical_decoding = on; Azure Flexible Server — server parameter wal_level = logical,
restart; self-hosted — ALTER SYSTEM SET wal_level = logical; then restart PostgreSQL.`,
		Eval: func(f *facts.Facts) rules.Outcome {
			v, ok := f.Settings.Get("wal_level")
			if !ok {
				return rules.Errored(&facts.Error{Op: "read settings", Message: "wal_level is not visible in pg_settings"})
			}
			if v == "logical" {
				return rules.Pass("wal_level is logical")
			}
			text, steps := platformOf(f).enableLogical()
			return rules.Finding("wal_level is %s; logical decoding needs logical", v).
				WithObjects("setting wal_level").WithSteps(text, steps...)
		},
	}
}

func replicationCapacity() rules.Rule {
	return rules.Rule{
		ID: "replication-capacity", Title: "A replication slot and a WAL sender are free for the connector",
		Category: rules.CategoryServer, Severity: rules.Error, Since: since,
		Needs: []facts.Section{facts.SectionReplication},
		Why: `The connector needs one logical replication slot (max_replication_slots) and, while it streams,
one WAL sender process (max_wal_senders). When all are taken, creating the slot fails with "all
replication slots are in use" and the connector's connection with "number of requested standby
connections exceeds max_wal_senders". On Neon both limits are 10 and the platform's own walproposer
sender is not counted here.`,
		Fix: `Drop replication slots nobody consumes (SELECT slot_name, active FROM pg_replication_slots), or raise
max_replication_slots / max_wal_senders the platform's way (a restart is needed).`,
		Eval: func(f *facts.Facts) rules.Outcome {
			u := f.Replication
			var problems, objects []string
			var text string
			var steps []rules.Step
			if !u.SlotExists && u.SlotsUsed >= u.MaxReplicationSlots {
				problems = append(problems, slotsFull(u))
				objects = append(objects, "setting max_replication_slots")
				text, steps = platformOf(f).raiseLimit("max_replication_slots", u.SlotsUsed+1)
			}
			if u.WalSendersUsed >= u.MaxWalSenders {
				problems = append(problems, fmt.Sprintf("every WAL sender is busy (%d of max_wal_senders %d)", u.WalSendersUsed, u.MaxWalSenders))
				objects = append(objects, "setting max_wal_senders")
				t, s := platformOf(f).raiseLimit("max_wal_senders", walSendersWanted(u))
				text, steps = joinText(text, t), append(steps, s...)
			}
			if len(problems) > 0 {
				return rules.Finding("%s", strings.Join(problems, "; ")).WithObjects(objects...).WithSteps(text, steps...)
			}
			slotNote := fmt.Sprintf("%d of %d slots used", u.SlotsUsed, u.MaxReplicationSlots)
			if u.SlotExists {
				slotNote += fmt.Sprintf(", slot %s already exists", f.Options.Slot)
			}
			return rules.Pass("%s; %d of %d WAL senders busy", slotNote, u.WalSendersUsed, u.MaxWalSenders)
		},
	}
}

// slotsFull says why no slot can be created: max_replication_slots = 0 is
// a server that allows none ("replication slots can only be used if
// max_replication_slots > 0"), not one whose slots are taken.
func slotsFull(u facts.ReplicationUsage) string {
	if u.MaxReplicationSlots == 0 {
		return "max_replication_slots is 0: the server allows no replication slot"
	}
	return fmt.Sprintf("every replication slot is in use (%d of max_replication_slots %d)", u.SlotsUsed, u.MaxReplicationSlots)
}

func joinText(a, b string) string {
	if a == "" {
		return b
	}
	return a + " " + b
}

// serverRules are the server-wide settings and state.
func serverRules() []rules.Rule {
	return []rules.Rule{serverVersion(), walLevel(), replicationCapacity()}
}
