package checks

import (
	"fmt"
	"strings"

	"github.com/cdcpreflight/cdcpreflight/facts"
	"github.com/cdcpreflight/cdcpreflight/internal/sqlident"
	"github.com/cdcpreflight/cdcpreflight/rules"
)

// failoverRules judge whether the connector's slot survives a standby
// taking over, and what a standby's absence holds back (17+).
// synchronized-standby-slots is listed with the slot rules, before
// slot-peek, whose peek it explains.
func failoverRules() []rules.Rule {
	return []rules.Rule{slotFailover()}
}

// standbys describes what shows that standbys replicate from this server:
// physical slots and physical WAL senders (Neon's walproposer, which
// streams to Neon's safekeepers, is not a standby). Every role sees both.
func standbys(f *facts.Facts) []string {
	var out []string
	for _, s := range f.Slots.Slots {
		if s.Type == "physical" {
			state := "inactive"
			if s.Active {
				state = fmt.Sprintf("active, PID %d", s.ActivePID)
			}
			out = append(out, fmt.Sprintf("physical slot %s (%s)", sqlident.Quote(s.Name), state))
		}
	}
	for _, w := range f.WalSenders.Senders {
		if !w.Physical || w.ApplicationName == "walproposer" {
			continue
		}
		if w.Slot != "" {
			continue // already named by its slot
		}
		name := "a physical WAL sender without a slot"
		if w.ApplicationName != "" {
			name = fmt.Sprintf("a physical WAL sender without a slot (%s)", w.ApplicationName)
		}
		out = append(out, fmt.Sprintf("%s, PID %d", name, w.PID))
	}
	return out
}

// isFailover reports whether s is a failover slot (17+).
func isFailover(s facts.Slot) bool { return s.Failover != nil && *s.Failover }

func slotFailover() rules.Rule {
	return rules.Rule{
		ID: "slot-failover", Title: "The slot survives a standby taking over",
		Category: rules.CategorySlot, Severity: rules.Warning, Since: since,
		Needs: []facts.Section{facts.SectionServer, facts.SectionSlots, facts.SectionWalSenders},
		Why: `A logical replication slot lives on one server. When a standby is promoted (a failover, a switchover,
a managed platform's high-availability event), the new primary has the slot only if something copied
it there; otherwise the connector fails at its next start ('replication slot "…" does not exist') and
needs a new snapshot, and the changes made meanwhile are only in that snapshot. Before PostgreSQL 17
PostgreSQL never copies logical slots (pg_failover_slots or Patroni's permanent slots do; managed
platforms differ, and the finding says what is documented for the platform, and what is not).
From 17 a slot created with failover = true is synchronized to standbys that run with
sync_replication_slots = on, hot_standby_feedback = on, a primary_slot_name, and a dbname in
primary_conninfo; such a standby keeps an ordinary session on the primary, named
"<cluster_name>_slotsync worker", or by primary_conninfo's application_name as its WAL sender is,
which is how this rule, on the primary, tells that one synchronizes (those standby settings cannot be
read from the primary). synchronized_standby_slots should then list the standbys' physical
slots, or the connector may receive changes that a standby promoted later never had.
Standbys are seen as physical replication slots and physical WAL senders, which every role sees; a
platform's high-availability standby that replicates below PostgreSQL (storage replication) is not
visible, and the platform's behaviour is said instead. A warning: the connector works today.`,
		Fix: `PostgreSQL 17+: make the slot a failover slot, with the connector stopped, over a replication connection
(psql "dbname=app replication=database" -c 'ALTER_REPLICATION_SLOT streamkap_pgoutput_slot (FAILOVER
true)'), or create it that way: SELECT pg_create_logical_replication_slot('streamkap_pgoutput_slot',
'pgoutput', false, false, true); (Debezium: slot.failover = true when it creates the slot). On each
standby: sync_replication_slots = on, hot_standby_feedback = on, primary_slot_name, dbname in
primary_conninfo; on the primary: synchronized_standby_slots = the standbys' physical slots.
Before 17: pg_failover_slots, Patroni permanent slots, or a plan to re-create the slot and
re-snapshot after a failover.`,
		Eval: func(f *facts.Facts) rules.Outcome {
			p := platformOf(f).failover
			if p.survives.text != "" {
				return rules.Pass("%s", p.survives.text)
			}
			if f.Server.InRecovery {
				return rules.Skip("connected to a standby: failover slots are the primary's (see standby)")
			}
			s, out, ok := connectorSlot(f)
			if !ok {
				return out
			}
			name := sqlident.Quote(s.Name)
			seen := standbys(f)
			if len(seen) == 0 {
				return rules.Pass("%s", p.unseen.after(fmt.Sprintf("no standby replicates from this server as far as the role can see "+
					"(no physical replication slot, no physical WAL sender): slot %s has nowhere to be lost to.", name)))
			}
			obj := slotObject(s.Name)
			list := listNames(seen)
			if major := f.Server.Major(); major < 17 {
				return rules.Finding("PostgreSQL %d has no failover slots, and standbys replicate from this server (%s): slot %s "+
					"does not follow a failover to one of them", major, list, name).
					WithSeverity(p.before17Severity).WithObjects(obj).WithRemediation(p.before17.text)
			}
			synced := f.WalSenders.SlotSyncWorkers
			switch {
			case !isFailover(s):
				return rules.Finding("slot %s is not a failover slot, and standbys replicate from this server (%s): after a failover the "+
					"new primary has no slot %s, and the connector needs a new snapshot", name, list, name).
					WithObjects(obj).WithRemediation(makeFailoverText(f, s.Name) + " " + p.sync17)
			case len(synced) == 0:
				return rules.Finding("slot %s is a failover slot, but no standby synchronizes slots: no slot synchronization worker "+
					"has a session on this server, as far as the role can see (standbys: %s)", name, list).
					WithObjects(obj).WithRemediation("A standby synchronizes failover slots when it runs with sync_replication_slots = on, " +
					"hot_standby_feedback = on, a primary_slot_name and a dbname in primary_conninfo (without them its worker does not " +
					"start, and its log says which is missing). " + p.sync17)
			case standbySlotsUnset(f):
				text, steps := platformOf(f).setReloadable("synchronized_standby_slots", sqlident.Literal(strings.Join(activePhysicalSlots(f), ", ")))
				return rules.Finding("slot %s is a failover slot and standbys synchronize it (%s), but synchronized_standby_slots is empty: "+
					"the connector can receive changes that no standby has yet, and a standby promoted then never has them", name,
					strings.Join(synced, ", ")).
					WithObjects(obj, "setting synchronized_standby_slots").
					WithSteps("List the standbys' physical slots in synchronized_standby_slots, so that failover slots wait for them "+
						"(a listed standby that stops holds the connector back: see synchronized-standby-slots). "+text, steps...)
			}
			return rules.Pass("slot %s is a failover slot, synchronized by %s, and synchronized_standby_slots is %s",
				name, strings.Join(synced, ", "), sqlident.Literal(*f.WalSenders.SynchronizedStandbySlots))
		},
	}
}

// standbySlotsUnset reports whether synchronized_standby_slots is empty
// on a server that has it.
func standbySlotsUnset(f *facts.Facts) bool {
	v := f.WalSenders.SynchronizedStandbySlots
	return v != nil && len(facts.SplitSlotList(*v)) == 0
}

// activePhysicalSlots are the physical slots standbys stream from now.
func activePhysicalSlots(f *facts.Facts) []string {
	var out []string
	for _, s := range f.Slots.Slots {
		if s.Type == "physical" && s.Active {
			out = append(out, s.Name)
		}
	}
	return out
}

// makeFailoverText says how to make an existing slot a failover slot
// (17+): over a replication connection, the slot not in use, or by
// creating it again.
func makeFailoverText(f *facts.Facts, slot string) string {
	db := "<database>"
	if f.Target.Database != "" {
		db = f.Target.Database
	}
	return fmt.Sprintf("With the connector stopped (the slot must not be in use), make it a failover slot over a replication "+
		"connection, as a role with REPLICATION: psql %s -c %s. It keeps its position. Or drop it and create it as a failover slot "+
		"(the connector then needs a new snapshot): %s (Debezium: slot.failover = true, when it creates the slot). Warning: %s",
		shellQuote(fmt.Sprintf("dbname=%s replication=database", dsnValue(db))),
		shellQuote(fmt.Sprintf("ALTER_REPLICATION_SLOT %s (FAILOVER true)", sqlident.Quote(slot))),
		fmt.Sprintf("SELECT pg_create_logical_replication_slot(%s, 'pgoutput', false, false, true);", sqlident.Literal(slot)), dropWarning)
}

// dsnValue quotes a key=value connection string value when it needs it.
func dsnValue(s string) string {
	if s != "" && !strings.ContainsAny(s, " '\\") {
		return s
	}
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}

// shellQuote quotes s for a POSIX shell.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

func synchronizedStandbySlots() rules.Rule {
	return rules.Rule{
		ID: "synchronized-standby-slots", Title: "Every standby that failover slots wait for is there and streaming",
		Category: rules.CategorySlot, Severity: rules.Error, Since: since,
		Needs: []facts.Section{facts.SectionServer, facts.SectionSlots, facts.SectionWalSenders},
		Why: `PostgreSQL 17's synchronized_standby_slots names the physical slots of the standbys that must have
received WAL before logical decoding of a failover slot may send it, so that no subscriber gets ahead
of a standby it may fail over to. The price: while a listed slot does not exist, is invalidated or is
logical, or its standby is gone (the slot inactive while WAL moves on), decoding of every failover slot
waits. The connector then receives nothing: it stays connected and silent, and the server logs only
'replication slot "…" specified in parameter "synchronized_standby_slots" does not exist' (or
'does not have active_pid'). A peek waits the same way, so cdcpreflight does not peek at a failover
slot such a list holds back (slot-peek says so), and a peek that waits anyway ends at the catalog
statement timeout. It is an error when the connector's slot is a failover slot and a listed slot
holds it back now; a warning when the connector's slot is not a failover slot (the list then holds
back only the others, and would hold back the connector's if it became one) or when a listed standby
is inactive but nothing has been written since.`,
		Fix: `Remove the slots of standbys that are gone from the list (reloadable; self-hosted:
ALTER SYSTEM SET synchronized_standby_slots = 'standby1'; SELECT pg_reload_conf();), or bring the standby
back so that it streams through its slot again. Never list a logical slot. An empty list means decoding
waits for no standby.`,
		Eval: func(f *facts.Facts) rules.Outcome {
			v := f.WalSenders.SynchronizedStandbySlots
			if v == nil {
				if m := f.Server.Major(); m > 0 && m < 17 {
					return rules.Skip("PostgreSQL %d has no synchronized_standby_slots (17+)", m)
				}
				return rules.Skip("synchronized_standby_slots is not visible in this server's settings")
			}
			listed := f.ListedStandbySlots()
			if len(listed) == 0 {
				return rules.Pass("synchronized_standby_slots is empty: decoding waits for no standby")
			}
			var problems, healthy, objs []string
			holdsBack, pending := false, false
			for _, l := range listed {
				if l.Healthy() {
					healthy = append(healthy, l.Name)
					continue
				}
				objs = append(objs, slotObject(l.Name))
				problems = append(problems, listedProblem(l))
				switch {
				case l.HoldsBack():
					holdsBack = true
				default:
					pending = true
				}
			}
			if len(problems) == 0 {
				return rules.Pass("synchronized_standby_slots names %s, each an active physical slot: %s",
					plural(len(listed), "slot", "slots"), strings.Join(healthy, ", "))
			}
			text, steps := platformOf(f).setReloadable("synchronized_standby_slots", sqlident.Literal(strings.Join(healthy, ", ")))
			remedy := "Bring each inactive standby back (it streams through its slot again), or remove from the list the slots of " +
				"standbys that are gone, and never list a logical slot. Keeping only the active physical slots: " + text
			msg := fmt.Sprintf("synchronized_standby_slots names %s: %s", *v, strings.Join(problems, "; "))
			s, exists := f.Slots.Find(f.Options.Slot)
			var failovers []string
			for _, o := range f.Slots.Slots {
				if isFailover(o) && o.Name != f.Options.Slot {
					failovers = append(failovers, sqlident.Quote(o.Name))
				}
			}
			switch {
			case exists && isFailover(s) && holdsBack:
				return rules.Finding("%s. Slot %s is a failover slot, so decoding it waits for them: the connector receives nothing "+
					"until they are fixed", msg, sqlident.Quote(s.Name)).WithObjects(append(objs, slotObject(s.Name))...).
					WithSteps(remedy, steps...)
			case exists && isFailover(s) && pending:
				return rules.Finding("%s. Slot %s is a failover slot: decoding it waits as soon as WAL moves past the inactive standby's "+
					"slot", msg, sqlident.Quote(s.Name)).WithSeverity(rules.Warning).WithObjects(append(objs, slotObject(s.Name))...).
					WithSteps(remedy, steps...)
			}
			others := "no other slot is a failover slot now"
			if len(failovers) > 0 {
				others = "it holds back every failover slot (" + listNames(failovers) + ")"
			}
			return rules.Finding("%s. The connector's slot %s is not a failover slot, so the connector is not held back; but %s, and "+
				"would hold back the connector's if it became one (see slot-failover)", msg, sqlident.Quote(f.Options.Slot), others).
				WithSeverity(rules.Warning).WithObjects(objs...).WithSteps(remedy, steps...)
		},
	}
}

// listedProblem says what is wrong with one listed slot.
func listedProblem(l facts.ListedStandbySlot) string {
	name := sqlident.Quote(l.Name)
	switch {
	case l.Missing:
		return name + " does not exist"
	case l.Logical:
		return name + " is a logical slot, not a standby's physical slot"
	case l.Invalidated:
		return name + " is invalidated: its standby can no longer stream through it"
	case l.Inactive && l.Behind != nil && *l.Behind > 0:
		return fmt.Sprintf("%s is inactive (no standby streams from it) and %s behind the current WAL", name, facts.Bytes(*l.Behind))
	}
	return name + " is inactive (no standby streams from it)"
}
