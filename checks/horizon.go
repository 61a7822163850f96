package checks

import (
	"fmt"
	"strings"

	"github.com/cdcpreflight/cdcpreflight/facts"
	"github.com/cdcpreflight/cdcpreflight/internal/sqlident"
	"github.com/cdcpreflight/cdcpreflight/rules"
)

// horizonRules judge what replication slots hold back of VACUUM.
func horizonRules() []rules.Rule {
	return []rules.Rule{slotXIDHorizon()}
}

// defaultFailsafeAge is vacuum_failsafe_age's default (14+), used as the
// danger line where the setting does not exist.
const defaultFailsafeAge = 1_600_000_000

// failsafeAge is the age at which VACUUM's failsafe starts, as VACUUM
// computes it: vacuum_failsafe_age, but never below 105% of
// autovacuum_freeze_max_age; before 14, which has no failsafe, the 14+
// default.
func failsafeAge(x facts.XIDHorizon) (int64, string) {
	if x.FailsafeAge == nil {
		return defaultFailsafeAge, fmt.Sprintf("%s (vacuum_failsafe_age's default from PostgreSQL 14)", xids(defaultFailsafeAge))
	}
	floor := x.FreezeMaxAge * 105 / 100
	if *x.FailsafeAge < floor {
		return floor, fmt.Sprintf("%s (105%% of autovacuum_freeze_max_age, which VACUUM uses when vacuum_failsafe_age, %s, is lower)",
			xids(floor), xids(*x.FailsafeAge))
	}
	return *x.FailsafeAge, xids(*x.FailsafeAge) + " (vacuum_failsafe_age)"
}

// xids writes a transaction count with thousands separators.
func xids(n int64) string {
	s := fmt.Sprint(n)
	if n < 0 {
		return s
	}
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	return b.String()
}

func slotXIDHorizon() rules.Rule {
	return rules.Rule{
		ID: "slot-xid-horizon", Title: "No replication slot holds the xmin horizon back toward wraparound",
		Category: rules.CategorySlot, Severity: rules.Warning, Since: since,
		Needs: []facts.Section{facts.SectionXIDHorizon},
		Why: `A logical slot keeps catalog_xmin: VACUUM may not remove or freeze catalog rows newer than it, in every
database, because decoding still needs them; a physical slot fed by hot_standby_feedback keeps xmin,
which holds back every table. A slot nobody consumes (a paused or deleted connector, an abandoned
standby) keeps them forever, while the transaction counter moves on at the database's write rate
(1,000 transactions a second is 86 million a day). Past autovacuum_freeze_max_age (200 million by
default) autovacuum runs anti-wraparound vacuums it cannot finish, over and over, and analyze starves;
past vacuum_failsafe_age (1.6 billion) VACUUM drops everything but freezing; about 40 million
transactions before wraparound PostgreSQL warns, and a few million before it stops assigning
transaction IDs until the databases are vacuumed: every write fails. The rule reads the age of every
slot's xmin and catalog_xmin (the connector's slot included; other-slots looks only at WAL) and of
every database's datfrozenxid, which every role may read. It warns when a slot's age passes half of
autovacuum_freeze_max_age, and when a database's passes autovacuum_freeze_max_age, naming the slot
that pins it; it is an error when either passes the failsafe age (vacuum_failsafe_age, never less
than 105% of autovacuum_freeze_max_age; 1.6 billion before 14).`,
		Fix: `Make the slot move: start its consumer (the connector), or, when nothing will consume it again, drop it:
SELECT pg_drop_replication_slot('slot_name'); (a connector then needs a new snapshot). A physical
slot's standby gone for good: drop its slot. Then let autovacuum catch up, or run VACUUM (FREEZE) in
the oldest databases (vacuumdb --all --freeze). cdcpreflight never drops slots.`,
		Eval: func(f *facts.Facts) rules.Outcome {
			x := f.XIDHorizon
			if x.FreezeMaxAge <= 0 {
				return rules.Errored(&facts.Error{Op: "read the xmin horizon", Message: "autovacuum_freeze_max_age was not read"})
			}
			failsafe, failsafeText := failsafeAge(x)
			warnAt := x.FreezeMaxAge / 2
			var problems, objs, drops []string
			severity := rules.Warning
			pinned := map[string]bool{}
			for _, s := range x.Slots {
				age := s.Age()
				if age < warnAt {
					continue
				}
				if age >= failsafe {
					severity = rules.Error
				}
				pinned[s.Name] = true
				problems = append(problems, fmt.Sprintf("slot %s (%s, %s) holds %s %s transactions old (%d%% of autovacuum_freeze_max_age %s)",
					sqlident.Quote(s.Name), s.Type, activeWord(s.Active), holdKind(s), xids(age), age*100/x.FreezeMaxAge, xids(x.FreezeMaxAge)))
				objs = append(objs, slotObject(s.Name))
				drops = append(drops, dropSlotSQL(s.Name))
			}
			for _, d := range x.Databases {
				if d.Age < x.FreezeMaxAge {
					continue
				}
				if d.Age >= failsafe {
					severity = rules.Error
				}
				// VACUUM can freeze a database no further than the oldest
				// slot's hold: when that hold is itself past
				// autovacuum_freeze_max_age, the slot keeps the database
				// overdue, whichever is older now.
				culprit := "no replication slot holds it there: VACUUM (FREEZE) it, and if datfrozenxid does not move, look for " +
					"long-running or prepared transactions (pg_prepared_xacts)"
				if s, ok := oldestSlot(x); ok && s.Age() >= x.FreezeMaxAge {
					culprit = fmt.Sprintf("slot %s holds it there: VACUUM can freeze it no further than the slot's %s, %s transactions old",
						sqlident.Quote(s.Name), strings.TrimPrefix(strings.TrimPrefix(holdKind(s), "a "), "an "), xids(s.Age()))
					if !pinned[s.Name] {
						pinned[s.Name] = true
						objs = append(objs, slotObject(s.Name))
						drops = append(drops, dropSlotSQL(s.Name))
					}
				}
				problems = append(problems, fmt.Sprintf("database %s is %s transactions old (datfrozenxid), past autovacuum_freeze_max_age %s: "+
					"autovacuum forces anti-wraparound vacuums there; %s", sqlident.Quote(d.Name), xids(d.Age), xids(x.FreezeMaxAge), culprit))
				objs = append(objs, "database "+sqlident.Quote(d.Name))
			}
			if len(problems) == 0 {
				oldest := "no slot holds an xmin or catalog_xmin"
				if s, ok := oldestSlot(x); ok {
					oldest = fmt.Sprintf("the oldest slot hold is %s's, %s transactions", sqlident.Quote(s.Name), xids(s.Age()))
				}
				db := ""
				if len(x.Databases) > 0 {
					db = fmt.Sprintf("; the oldest database, %s, is %s transactions old", sqlident.Quote(x.Databases[0].Name), xids(x.Databases[0].Age))
				}
				return rules.Pass("%s, under half of autovacuum_freeze_max_age (%s)%s", oldest, xids(x.FreezeMaxAge), db)
			}
			danger := fmt.Sprintf(" The failsafe age is %s; wraparound is at about 2.1 billion, and PostgreSQL stops assigning transaction "+
				"IDs a few million before it.", failsafeText)
			text := "Make each slot move: start its consumer (the connector, the standby), or, when nothing will consume it again, drop it " +
				"yourself"
			if len(drops) > 0 {
				text += ": " + strings.Join(drops, " ")
			}
			text += " Warning: " + dropWarning + " Then let autovacuum catch up, or run VACUUM (FREEZE) in the oldest databases " +
				"(vacuumdb --all --freeze)."
			return rules.Finding("%s.%s", strings.Join(problems, "; "), danger).WithSeverity(severity).WithObjects(objs...).WithRemediation(text)
		},
	}
}

// oldestSlot is the slot with the oldest hold; the read orders them so.
func oldestSlot(x facts.XIDHorizon) (facts.SlotXID, bool) {
	var best facts.SlotXID
	found := false
	for _, s := range x.Slots {
		if !found || s.Age() > best.Age() {
			best, found = s, true
		}
	}
	return best, found
}

func holdKind(s facts.SlotXID) string {
	switch {
	case s.CatalogXminAge != nil && (s.XminAge == nil || *s.CatalogXminAge >= *s.XminAge):
		return "a catalog_xmin"
	default:
		return "an xmin"
	}
}

func activeWord(active bool) string {
	if active {
		return "active"
	}
	return "inactive"
}
