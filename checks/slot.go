package checks

import (
	"cmp"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/cdcpreflight/cdcpreflight/facts"
	"github.com/cdcpreflight/cdcpreflight/internal/sqlident"
	"github.com/cdcpreflight/cdcpreflight/rules"
)

// slotRules judge the connector's replication slot and the others.
func slotRules() []rules.Rule {
	return []rules.Rule{slotExists(), slotConfig(), slotHealth(), slotLifetime(), synchronizedStandbySlots(), slotPeek(), otherSlots()}
}

// validSlotName is what PostgreSQL accepts as a slot name
// (ReplicationSlotValidateName): a name it would reject can never exist.
var validSlotName = regexp.MustCompile(`^[a-z0-9_]{1,63}$`)

func slotObject(name string) string { return "slot " + sqlident.Quote(name) }

// createSlotSQL creates the connector's slot; the name is a literal
// because the function takes the name as a value.
func createSlotSQL(name string) string {
	return fmt.Sprintf("SELECT pg_create_logical_replication_slot(%s, 'pgoutput');", sqlident.Literal(name))
}

func dropSlotSQL(name string) string {
	return fmt.Sprintf("SELECT pg_drop_replication_slot(%s);", sqlident.Literal(name))
}

// dropWarning goes with every drop the text shows: the tool never runs one.
const dropWarning = "Dropping a slot throws away its position for good: whatever consumed it (a connector, a subscription, " +
	"a replica) has to start over, and a connector has to take a new snapshot. cdcpreflight never drops slots; " +
	"run this yourself, after checking."

// connectorSlot finds the connector's slot; when there is none the rule
// cannot judge it, the outcome says so and ok is false.
func connectorSlot(f *facts.Facts) (facts.Slot, rules.Outcome, bool) {
	s, ok := f.Slots.Find(f.Options.Slot)
	if !ok {
		return s, rules.Skip("slot %s does not exist (see slot-exists)", sqlident.Quote(f.Options.Slot)), false
	}
	return s, rules.Outcome{}, true
}

func slotExists() rules.Rule {
	return rules.Rule{
		ID: "slot-exists", Title: "The connector's replication slot exists",
		Category: rules.CategorySlot, Severity: rules.Error, Since: since,
		Needs: []facts.Section{facts.SectionSlots},
		Why: `The connector streams from a named logical replication slot (Streamkap's default:
streamkap_pgoutput_slot). The Streamkap setup has you create it by hand; when it is missing the
connector fails at start with 'replication slot "…" does not exist' (SQLSTATE 42704), or, if it may
create slots, silently starts from "now" and the changes made before that are never captured. On
Neon a branch restore removes the branch's slots, and inactive slots are removed by the platform
(see slot-lifetime), so a slot that existed yesterday may be gone today.`,
		Fix: `Create the slot, as a role with REPLICATION (or a superuser; rds_replication on RDS/Aurora),
connected to the captured database, after the publication exists, shortly before the connector starts:
  SELECT pg_create_logical_replication_slot('streamkap_pgoutput_slot', 'pgoutput');
Run it in a session that has not written in its current transaction (ERROR 25001 otherwise). It waits
for every transaction that is writing at that moment to finish, so an idle-in-transaction session makes
it hang: check pg_stat_activity. From the moment it exists the slot retains WAL until a consumer
confirms it: do not create it days before the connector starts.`,
		Eval: func(f *facts.Facts) rules.Outcome {
			name := f.Options.Slot
			if s, ok := f.Slots.Find(name); ok {
				return rules.Pass("slot %s exists (%s, plugin %s, database %s)", sqlident.Quote(name), s.Type, orNone(s.Plugin), orNone(s.Database))
			}
			if c := f.Options.Connector; isDebezium(c) && validSlotName.MatchString(name) {
				// Debezium creates its slot at start when it streams: what
				// that needs is replication-privilege's and
				// replication-capacity's to judge.
				return rules.Pass("slot %s does not exist yet: Debezium creates it at start with plugin %s "+
					"(it needs REPLICATION, see replication-privilege, and a free slot, see replication-capacity)", sqlident.Quote(name), c.Plugin)
			}
			out := rules.Finding("replication slot %s does not exist", sqlident.Quote(name)).WithObjects(slotObject(name))
			if !validSlotName.MatchString(name) {
				return out.WithRemediation(fmt.Sprintf("%s is not a name PostgreSQL accepts for a slot: slot names may contain only "+
					"lower-case letters, digits and underscores, at most 63 of them. Configure the connector (and --slot) with a valid "+
					"name such as streamkap_pgoutput_slot, then create that slot.", sqlident.Literal(name)))
			}
			return out.WithSteps(createSlotText(f), createSlotStep(f, name))
		},
	}
}

// createSlotStep creates the slot last, outside a transaction: it cannot
// be created in one that has written, and a rollback would not undo it.
// When the server cannot create it yet, a person runs it once it can.
func createSlotStep(f *facts.Facts, name string) rules.Step {
	step := rules.Step{
		Phase: rules.PhaseSlot, SQL: createSlotSQL(name), Needs: platformOf(f).slotCreatorNeeds, NonTransactional: true,
		Note: "from then on the slot retains WAL until the connector consumes it: start the connector soon",
	}
	if blocked := slotBlocked(f); blocked != "" {
		step.Manual = true
		step.Note = blocked + "; " + step.Note
	}
	return step
}

// slotBlocked says what must happen before the slot can be created, or "".
func slotBlocked(f *facts.Facts) string {
	if !f.Settings.WalLevelLogical() {
		return "after wal_level is logical and the server restarted (see wal-level)"
	}
	if s := f.Server; s.Err == nil && !s.CanDecode() {
		return "on the primary: a standby before PostgreSQL 16 cannot decode (see standby)"
	}
	if u := f.Replication; u.Err == nil && u.SlotsUsed >= u.MaxReplicationSlots {
		if u.MaxReplicationSlots == 0 {
			return "after max_replication_slots is raised above 0 and the server restarted (see replication-capacity)"
		}
		return "after a replication slot is free (see replication-capacity)"
	}
	return ""
}

// createSlotText says how and when to create the slot safely.
func createSlotText(f *facts.Facts) string {
	db := "the captured database"
	if f.Target.Database != "" {
		db = "database " + sqlident.Quote(f.Target.Database)
	}
	p := platformOf(f)
	text := fmt.Sprintf("Create the slot as %s, connected to %s, after the publication %s exists (a slot older than its publication "+
		"cannot decode the changes made in between; see slot-peek), in a session that has not written in its current transaction "+
		"(ERROR 25001 otherwise). It waits for every transaction writing at that moment to finish: if it hangs, look for "+
		"idle-in-transaction sessions in pg_stat_activity. The slot retains WAL from the moment it exists until the connector "+
		"confirms changes, so create it shortly before starting the connector.",
		p.slotCreator, db, sqlident.Quote(f.Options.Publication))
	return p.slotRemoval.onCreate.after(text)
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

func slotConfig() rules.Rule {
	return rules.Rule{
		ID: "slot-config", Title: "The slot is a permanent pgoutput logical slot in this database",
		Category: rules.CategorySlot, Severity: rules.Error, Since: since,
		Needs: []facts.Section{facts.SectionSlots},
		Why: `Streamkap (Debezium with plugin.name = pgoutput) decodes the slot with the pgoutput plugin, in the
database it connects to. A physical slot cannot be decoded at all; a slot made for another plugin
(test_decoding, wal2json, decoderbufs) produces output the connector cannot read; a logical slot
belongs to one database and decoding it from another fails with 'replication slot "…" was not
created in this database' (SQLSTATE 55000); a temporary slot disappears, with its position, when the
session that created it ends. A slot's type, plugin and database cannot be changed.`,
		Fix: `Do not touch a slot something else may be using. Either create a correct slot under a new name,
connected to the captured database, and configure the connector with it:
  SELECT pg_create_logical_replication_slot('new_slot_name', 'pgoutput');
or, once whatever uses the existing slot is stopped, drop it and create it again:
  SELECT pg_drop_replication_slot('streamkap_pgoutput_slot');
  SELECT pg_create_logical_replication_slot('streamkap_pgoutput_slot', 'pgoutput');
Dropping a slot discards its position: its consumer must start over with a new snapshot.
cdcpreflight never drops slots; these are manual steps.`,
		Eval: func(f *facts.Facts) rules.Outcome {
			s, out, ok := connectorSlot(f)
			if !ok {
				return out
			}
			problems := slotConfigProblems(f, s)
			if len(problems) == 0 {
				return rules.Pass("slot %s is a permanent logical %s slot in database %s",
					sqlident.Quote(s.Name), expectedPlugin(f), sqlident.Quote(s.Database))
			}
			return rules.Finding("slot %s %s", sqlident.Quote(s.Name), strings.Join(problems, "; ")).
				WithObjects(slotObject(s.Name)).WithRemediation(slotConfigRemediation(f, s))
		},
	}
}

func slotConfigProblems(f *facts.Facts, s facts.Slot) []string {
	var p []string
	want := expectedPlugin(f)
	if !s.Logical() {
		p = append(p, fmt.Sprintf("is a %s slot, not a logical one", s.Type))
	} else if s.Plugin != want {
		msg := fmt.Sprintf("uses the output plugin %s, not %s", orNone(s.Plugin), want)
		if isDebezium(f.Options.Connector) {
			// Debezium looks its slot up by name, database and plugin:
			// this one is "missing", and creating it fails.
			msg += fmt.Sprintf(" (plugin.name): Debezium does not find it (it looks slots up by name, database and plugin), tries to create it "+
				"and fails with \"Creation of replication slot failed\" (%s)", atStart)
		}
		p = append(p, msg)
	}
	if s.Temporary {
		owner := ""
		if s.ActivePID != 0 {
			owner = fmt.Sprintf(" (PID %d)", s.ActivePID)
		}
		p = append(p, "is temporary: it disappears when the session that created it"+owner+" ends")
	}
	if s.Logical() && !s.InCurrentDatabase {
		p = append(p, fmt.Sprintf("belongs to database %s, not %s: it can be decoded only there",
			sqlident.Quote(s.Database), sqlident.Quote(f.Target.Database)))
	}
	return p
}

func slotConfigRemediation(f *facts.Facts, s facts.Slot) string {
	db := sqlident.Quote(f.Target.Database)
	text := fmt.Sprintf("A slot's type, plugin, persistence and database cannot be changed. Either create a correct slot under a new name, "+
		"connected to database %s, and configure the connector (and --slot) with it: "+
		"SELECT pg_create_logical_replication_slot('new_slot_name', 'pgoutput'); ", db)
	if s.Temporary {
		return text + fmt.Sprintf("or create a permanent slot named %s, connected to database %s, once the temporary one is gone "+
			"(when its session ends): %s", sqlident.Literal(s.Name), db, createSlotSQL(s.Name))
	}
	return text + fmt.Sprintf("or, after stopping whatever consumes %s, drop it and create it again, connected to database %s: %s %s Warning: %s",
		sqlident.Literal(s.Name), db, dropSlotSQL(s.Name), createSlotSQL(s.Name), dropWarning)
}

func slotHealth() rules.Rule {
	return rules.Rule{
		ID: "slot-health", Title: "The slot is not invalidated and does not hold back too much WAL",
		Category: rules.CategorySlot, Severity: rules.Error, Since: since,
		Needs: []facts.Section{facts.SectionSlots},
		Why: `A slot keeps every WAL segment from its restart_lsn on, until its consumer confirms it. When it falls
too far behind, PostgreSQL 13+ invalidates it once max_slot_wal_keep_size is exceeded (wal_status =
lost; invalidation_reason = wal_removed on 17+); a slot can also be invalidated because catalog rows it
needs were vacuumed (rows_removed, or conflicting on a standby, 16+), because wal_level was lowered,
or (18+) because it was idle longer than idle_replication_slot_timeout. An invalidated slot cannot be
repaired: the connector fails with 'can no longer get changes from replication slot "…"' (SQLSTATE
55000) and every change since is lost to it. Before that, wal_status = unreserved means the WAL is
already past the limit and will be removed at the next checkpoint; and a slot holding more WAL than
--retained-wal-warn fills the disk (on 10–12, and with max_slot_wal_keep_size = -1, nothing stops it
before the disk is full).`,
		Fix: `Invalidated: stop the connector, drop the slot and create it again, then re-snapshot:
  SELECT pg_drop_replication_slot('streamkap_pgoutput_slot');
  SELECT pg_create_logical_replication_slot('streamkap_pgoutput_slot', 'pgoutput');
(cdcpreflight never drops slots: these are manual steps). Much WAL retained, or unreserved: get the
connector running and confirming (check its status and errors); if nothing will consume the slot,
drop it. Keep heartbeats on for databases with little write traffic, and size max_slot_wal_keep_size
so that a stalled connector cannot fill the disk.`,
		Eval: func(f *facts.Facts) rules.Outcome {
			s, out, ok := connectorSlot(f)
			if !ok {
				return out
			}
			if reason := invalidation(s); reason != "" {
				return rules.Finding("slot %s is invalidated: %s", sqlident.Quote(s.Name), reason).
					WithObjects(slotObject(s.Name)).WithRemediation(invalidatedRemediation(f, s))
			}
			return slotRetention(f, s)
		},
	}
}

// invalidation explains why a slot is invalidated, or returns "".
func invalidation(s facts.Slot) string {
	if !s.Invalidated() {
		return ""
	}
	switch s.InvalidationReason {
	case "": // before 17: wal_status or conflicting says it
	case "wal_removed":
		return "invalidation_reason = wal_removed: the WAL it still needed was removed (it fell behind by more than max_slot_wal_keep_size)"
	case "rows_removed":
		return "invalidation_reason = rows_removed: catalog rows it needed were vacuumed away (on a standby: hot_standby_feedback is off or no physical slot)"
	case "wal_level_insufficient":
		return "invalidation_reason = wal_level_insufficient: wal_level was lowered below logical (on the primary)"
	case "idle_timeout":
		return "invalidation_reason = idle_timeout: it was unused for longer than idle_replication_slot_timeout"
	default:
		return "invalidation_reason = " + s.InvalidationReason
	}
	if s.WalStatus == "lost" {
		return "wal_status = lost: the WAL it still needed was removed (it fell behind by more than max_slot_wal_keep_size)"
	}
	return "conflicting = true: catalog rows it needed were removed on the primary (on a standby: hot_standby_feedback is off or no physical slot)"
}

func invalidatedRemediation(f *facts.Facts, s facts.Slot) string {
	return fmt.Sprintf("An invalidated slot cannot be repaired: decoding it fails with ERROR 55000 \"can no longer get changes from "+
		"replication slot\", and the changes since it was invalidated are lost to the connector. Stop the connector, then drop and "+
		"re-create the slot, connected to database %s, and let the connector take a new snapshot: %s %s Warning: %s "+
		"To keep it from happening again, keep the connector running (with heartbeats on a quiet database) and size "+
		"max_slot_wal_keep_size for the longest outage you want to survive.",
		sqlident.Quote(orNone(s.Database)), dropSlotSQL(s.Name), createSlotSQL(s.Name), dropWarning)
}

// slotRetention judges a valid slot's WAL: unreserved, or over the threshold.
func slotRetention(f *facts.Facts, s facts.Slot) rules.Outcome {
	name := sqlident.Quote(s.Name)
	limit := f.Options.RetainedWALWarn
	retained := "retained WAL unknown (restart_lsn is NULL)"
	if s.RetainedBytes != nil {
		retained = "retains " + facts.Bytes(*s.RetainedBytes) + " of WAL"
	}
	var problems []string
	if s.WalStatus == "unreserved" {
		p := "wal_status = unreserved: its WAL is past max_slot_wal_keep_size and goes at the next checkpoint unless the consumer catches up"
		if s.SafeWalSize != nil {
			p += fmt.Sprintf(" (safe_wal_size %s)", facts.Bytes(*s.SafeWalSize))
		}
		problems = append(problems, p)
	}
	if s.RetainedBytes != nil && *s.RetainedBytes > limit {
		problems = append(problems, fmt.Sprintf("it %s, over --retained-wal-warn %s", retained, facts.Bytes(limit)))
	}
	if len(problems) > 0 {
		return rules.Finding("slot %s: %s%s", name, strings.Join(problems, "; "), noWalStatusNote(f, s)).
			WithSeverity(rules.Warning).WithObjects(slotObject(s.Name)).WithRemediation(retentionRemediation(s))
	}
	status := "wal_status " + s.WalStatus + ", "
	if s.WalStatus == "" {
		status = ""
	}
	return rules.Pass("slot %s is valid: %s%s (threshold %s)%s", name, status, retained, facts.Bytes(limit), noWalStatusNote(f, s))
}

// noWalStatusNote says that only retained WAL could be judged: PostgreSQL
// before 13 neither reports nor caps a slot's WAL.
func noWalStatusNote(f *facts.Facts, s facts.Slot) string {
	if s.WalStatus != "" {
		return ""
	}
	if m := f.Server.Major(); m > 0 && m < 13 {
		return fmt.Sprintf("; PostgreSQL %d has no wal_status (and no max_slot_wal_keep_size): only the retained WAL was judged", m)
	}
	return "; wal_status is not reported: only the retained WAL was judged"
}

func retentionRemediation(s facts.Slot) string {
	who := "Nothing consumes the slot now: start the connector (or find out why it stopped) so that it confirms its position."
	if s.Active {
		who = fmt.Sprintf("The slot is in use (PID %d) but its consumer lags: check the connector's throughput and errors.", s.ActivePID)
	}
	return who + " Slots retain WAL until their consumer confirms it, so a stalled connector fills the disk; on a quiet database, " +
		"enable the connector's heartbeats so that confirmations keep moving. If nothing will consume this slot again, drop it " +
		"(manually: " + dropSlotSQL(s.Name) + "). Warning: " + dropWarning + " On PostgreSQL 13+ size max_slot_wal_keep_size so that " +
		"a stalled slot is invalidated before the disk fills."
}

func slotLifetime() rules.Rule {
	return rules.Rule{
		ID: "slot-lifetime", Title: "The platform will not remove the slot while it is inactive",
		Category: rules.CategorySlot, Severity: rules.Warning, Since: since,
		Needs: []facts.Section{facts.SectionSlots, facts.SectionSettings},
		Why: `Some servers remove or invalidate a slot nobody is using, and the connector then fails at its next start
(slot missing, or 'can no longer get changes', SQLSTATE 55000) and needs a new snapshot. Neon removes
inactive replication slots after about 40 hours when other slots are active, and its logical
replication monitor drops slots that hold back too much (it kills their consumer first); a branch
restore removes slots too. PostgreSQL 18 invalidates slots left unused for longer than
idle_replication_slot_timeout (checked at checkpoints; 0 disables it). A slot created before the
connector is deployed, or a connector paused over a weekend, is exactly such a slot.`,
		Fix: `Start the connector soon after creating the slot and keep it running; on PostgreSQL 18 raise or disable
idle_replication_slot_timeout (self-hosted: ALTER SYSTEM SET idle_replication_slot_timeout = 0; SELECT
pg_reload_conf(); managed platforms: the parameter group or settings page). If the connector must stay
stopped for long on Neon, expect to re-create the slot and re-snapshot when it starts.`,
		Eval: func(f *facts.Facts) rules.Outcome {
			s, out, ok := connectorSlot(f)
			if !ok {
				return out
			}
			name := sqlident.Quote(s.Name)
			if s.Active {
				return rules.Pass("slot %s is active (PID %d): nothing removes an active slot", name, s.ActivePID)
			}
			risks := lifetimeRisks(f, s)
			if len(risks) == 0 {
				return rules.Pass("slot %s is inactive, but nothing here removes inactive slots (%s)", name, noReaperReason(f))
			}
			text, steps := lifetimeRemediation(f)
			return rules.Finding("slot %s is inactive and %s", name, strings.Join(risks, "; and ")).
				WithObjects(slotObject(s.Name)).WithSteps(text, steps...)
		},
	}
}

// idleTimeout returns PostgreSQL 18's idle_replication_slot_timeout, which
// pg_settings reports in seconds; 0 when unset or absent.
func idleTimeout(f *facts.Facts) time.Duration {
	v, ok := f.Settings.Get("idle_replication_slot_timeout")
	if !ok {
		return 0
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n <= 0 {
		return 0
	}
	return time.Duration(n) * time.Second
}

func lifetimeRisks(f *facts.Facts, s facts.Slot) []string {
	var risks []string
	others := 0
	for _, o := range f.Slots.Slots {
		if o.Name != s.Name && o.Active {
			others++
		}
	}
	if risk := platformOf(f).slotRemoval.risk(others); risk.text != "" {
		risks = append(risks, risk.text)
	}
	if t := idleTimeout(f); t > 0 {
		risk := fmt.Sprintf("idle_replication_slot_timeout is %s: PostgreSQL invalidates a slot unused for longer, at a checkpoint", t)
		if s.InactiveSince != nil && !f.GatheredAt.IsZero() {
			idle := f.GatheredAt.Sub(*s.InactiveSince).Truncate(time.Second)
			risk = fmt.Sprintf("has been idle for %s (since %s) of the %s idle_replication_slot_timeout, after which PostgreSQL invalidates it at a checkpoint",
				max(idle, 0), s.InactiveSince.UTC().Format(time.RFC3339), t)
			if idle >= t {
				risk += " (due now)"
			}
		}
		risks = append(risks, risk)
	}
	return risks
}

func noReaperReason(f *facts.Facts) string {
	platform := "not Neon"
	if f.Platform.Name != "" {
		platform = "platform " + f.Platform.Name
	}
	if _, ok := f.Settings.Get("idle_replication_slot_timeout"); ok {
		return platform + ", idle_replication_slot_timeout is 0"
	}
	if m := f.Server.Major(); m > 0 && m < 18 {
		return fmt.Sprintf("%s, PostgreSQL %d has no idle_replication_slot_timeout", platform, m)
	}
	return platform + ", no idle_replication_slot_timeout"
}

// lifetimeRemediation: an active slot is safe; what the platform and
// idle_replication_slot_timeout do to an inactive one is said its way.
func lifetimeRemediation(f *facts.Facts) (string, []rules.Step) {
	p := platformOf(f)
	text := p.slotRemoval.advice.after("Start the connector soon after creating the slot and keep it running: an active slot is never removed.")
	if idleTimeout(f) > 0 {
		t, steps := p.idleSlotTimeout()
		return text + " " + t, steps
	}
	return text, nil
}

func slotPeek() rules.Rule {
	return rules.Rule{
		ID: "slot-peek", Title: "The slot can be decoded with the publication",
		Category: rules.CategorySlot, Severity: rules.Error, Since: since,
		Needs: []facts.Section{facts.SectionSlots, facts.SectionPublication, facts.SectionServer},
		Why: `The catalog can look right while decoding still fails. cdcpreflight peeks at the slot the way the
connector reads it (pg_logical_slot_peek_binary_changes with pgoutput, proto_version 1 and the
publication), at most one transaction, under statement_timeout, without consuming anything. The
classic failure: the slot was created before the publication, so its pending changes were written
when the publication did not exist; pgoutput looks the publication up as of each change and fails
with 'publication "…" does not exist' (SQLSTATE 42704) on PostgreSQL 10–17, on every connector
restart; PostgreSQL 18 only warns ('skipped loading publication "…"') and silently skips those
changes. The peek is skipped when it could get in the connector's way: the slot is active in
another process (a peek would fail with 55006, and while it runs the connector's reconnect would
fail), or its backlog exceeds --peek-max-backlog (decoding reads everything from restart_lsn).`,
		Fix: `Slot created before the publication: with the connector stopped, drop the slot and create it again now
that the publication exists, then let the connector re-snapshot:
  SELECT pg_drop_replication_slot('streamkap_pgoutput_slot');
  SELECT pg_create_logical_replication_slot('streamkap_pgoutput_slot', 'pgoutput');
(manual steps: cdcpreflight never drops a slot). Next time create the publication first, then the slot.
Invalidated slot: see slot-health. Statement timeout: the backlog is large; see slot-health.`,
		Eval: func(f *facts.Facts) rules.Outcome {
			p := f.Peek
			if !p.Attempted {
				if p.SkipReason == "" {
					return rules.Errored(&facts.Error{Op: "peek at the replication slot", Message: "the peek was neither run nor skipped with a reason"})
				}
				return rules.Skip("not peeked: %s", p.SkipReason)
			}
			if p.Err != nil {
				return peekFailure(f, p.Err)
			}
			if n := skippedPublicationNotice(p.Notices); n != "" {
				return beforePublication(f, fmt.Sprintf("decoding skipped the publication (%s)", n),
					"PostgreSQL 18 skips those changes silently instead of failing: they never reach the destination.")
			}
			if p.Changes == 0 {
				return rules.Pass("peeked at slot %s with publication %s: decoding works, no change pending (so no change was decoded)",
					sqlident.Quote(f.Options.Slot), sqlident.Quote(f.Options.Publication))
			}
			return rules.Pass("peeked at slot %s with publication %s: decoding works, saw %s without consuming them",
				sqlident.Quote(f.Options.Slot), sqlident.Quote(f.Options.Publication), plural(p.Changes, "change", "changes"))
		},
	}
}

func skippedPublicationNotice(notices []string) string {
	for _, n := range notices {
		if strings.Contains(n, "skipped loading publication") {
			return n
		}
	}
	return ""
}

// peekFailure explains a failed peek by SQLSTATE; message text is only
// consulted to tell apart causes that share one.
func peekFailure(f *facts.Facts, e *facts.Error) rules.Outcome {
	name := sqlident.Quote(f.Options.Slot)
	obj := slotObject(f.Options.Slot)
	switch {
	case e.SQLState == "42704" && strings.Contains(e.Message, "publication") && f.Publication.Exists:
		return beforePublication(f, "decoding failed: "+e.Error(),
			"On PostgreSQL 10–17 the connector fails the same way on every restart and never gets past those changes.")
	case e.SQLState == "42704" && strings.Contains(e.Message, "publication"):
		return rules.Finding("decoding failed: %s", e.Error()).WithObjects("publication " + sqlident.Quote(f.Options.Publication)).
			WithRemediation("The publication is missing: see publication-exists. Create it before the slot, or the slot's earlier changes cannot be decoded.")
	case e.SQLState == "55006":
		return rules.Skip("not peeked: slot %s became active in another process just before the peek (%s); "+
			"the peek gave way and the consumer keeps the slot", name, e.Error())
	case e.SQLState == "55000" && strings.Contains(e.Message, "can no longer get changes"):
		return rules.Finding("decoding failed: slot %s is invalidated: %s", name, e.Error()).WithObjects(obj).
			WithRemediation(invalidatedRemediation(f, facts.Slot{Name: f.Options.Slot, Database: f.Target.Database}))
	case e.SQLState == "57014" && waitedForStandbys(f):
		return rules.Finding("the peek waited until statement_timeout (%s) for the standbys that synchronized_standby_slots names (%s): "+
			"slot %s is a failover slot, so decoding it, for the peek and for the connector, waits until they have received the WAL",
			e.Error(), standbySlotsSetting(f), name).WithObjects(obj, "setting synchronized_standby_slots").
			WithRemediation("A listed standby is not confirming WAL (it hangs, lags far behind, or is gone while its slot still looks " +
				"active): see synchronized-standby-slots. Bring the standby back, or remove its slot from synchronized_standby_slots; " +
				"until then the connector receives nothing. Nothing was consumed by the peek.")
	case e.SQLState == "57014":
		return rules.Finding("the peek did not finish within statement_timeout (%s): decoding from restart_lsn reads the whole backlog, "+
			"and the connector will have to read it too", e.Error()).WithSeverity(rules.Warning).WithObjects(obj).
			WithRemediation("Nothing was consumed and nothing is broken by the timeout itself; the slot's backlog is slow to decode " +
				"(large transactions, or much WAL from tables outside the publication). Check slot-health for the retained WAL; " +
				"lower --peek-max-backlog so that checks skip the peek on such a backlog.")
	case e.SQLState == "42501":
		return rules.Finding("decoding failed: %s", e.Error()).WithObjects(obj).
			WithRemediation("The connecting role may not use replication slots: see replication-privilege.")
	}
	return rules.Finding("decoding failed: %s", e.Error()).WithObjects(obj).
		WithRemediation("Decoding the slot the way the connector does failed; the connector will fail the same way. " +
			"Fix the cause in the message (see the other slot and publication rules), then check again.")
}

// beforePublication is the finding for a slot whose pending changes predate
// its publication, reported by an error (10–17) or a WARNING (18).
func beforePublication(f *facts.Facts, msg, consequence string) rules.Outcome {
	slot, pub := f.Options.Slot, f.Options.Publication
	db := sqlident.Quote(orNone(f.Target.Database))
	return rules.Finding("%s: publication %s exists now, but slot %s holds changes written before it was created: the slot was "+
		"created before the publication", msg, sqlident.Quote(pub), sqlident.Quote(slot)).
		WithObjects(slotObject(slot), "publication "+sqlident.Quote(pub)).
		WithRemediation(fmt.Sprintf("pgoutput looks the publication up as of each change, and changes older than the publication "+
			"cannot find it. %s With the connector stopped, drop the slot and create it again, connected to database %s, now that the "+
			"publication exists, then let the connector re-snapshot: %s %s Warning: %s Next time create the publication first, "+
			"then the slot.", consequence, db, dropSlotSQL(slot), createSlotSQL(slot), dropWarning))
}

func otherSlots() rules.Rule {
	return rules.Rule{
		ID: "other-slots", Title: "No other inactive logical slot holds back much WAL",
		Category: rules.CategorySlot, Severity: rules.Warning, Since: since,
		Needs: []facts.Section{facts.SectionSlots},
		Why: `Every replication slot keeps the WAL its consumer has not confirmed, and logical slots also hold back
the vacuuming of catalog rows. A slot nobody consumes any more (an old connector, a test, a dropped
subscriber) keeps them forever: the WAL volume grows until the disk is full and the server stops,
taking the connector with it. They also count against max_replication_slots (see
replication-capacity). Only inactive logical slots other than the connector's are listed here.`,
		Fix: `Find out who owns each listed slot (its name, database and plugin are clues; an old connector, a
subscription on another server). When nobody uses it, drop it yourself:
  SELECT pg_drop_replication_slot('slot_name');
A subscription's slot is better dropped with DROP SUBSCRIPTION on the subscriber. cdcpreflight never
drops slots. On PostgreSQL 13+ set max_slot_wal_keep_size so an abandoned slot cannot fill the disk.`,
		Eval: func(f *facts.Facts) rules.Outcome {
			limit := f.Options.RetainedWALWarn
			stale := staleSlots(f)
			if len(stale) == 0 {
				return rules.Pass("no other inactive logical slot retains more than %s of WAL (%s in all)",
					facts.Bytes(limit), plural(len(f.Slots.Slots), "slot", "slots"))
			}
			var objs, list, drops []string
			for _, s := range stale {
				objs = append(objs, slotObject(s.Name))
				list = append(list, fmt.Sprintf("%s (%s, database %s, plugin %s)", sqlident.Quote(s.Name),
					facts.Bytes(*s.RetainedBytes), sqlident.Quote(orNone(s.Database)), orNone(s.Plugin)))
				drops = append(drops, dropSlotSQL(s.Name))
			}
			return rules.Finding("%s retaining more than %s of WAL with nothing consuming it: %s",
				plural(len(stale), "other inactive logical slot", "other inactive logical slots"), facts.Bytes(limit), strings.Join(list, ", ")).
				WithObjects(objs...).
				WithRemediation("Find out who owns each slot (an old connector, a test, a subscription on another server). Only once you are " +
					"sure nobody will use one again, drop it yourself: " + strings.Join(drops, " ") + " A subscription's slot is better " +
					"dropped with DROP SUBSCRIPTION on the subscriber. Warning: " + dropWarning +
					" On PostgreSQL 13+ set max_slot_wal_keep_size so that an abandoned slot cannot fill the disk.")
		},
	}
}

// staleSlots are the other inactive logical slots over the threshold,
// the largest first.
func staleSlots(f *facts.Facts) []facts.Slot {
	var out []facts.Slot
	for _, s := range f.Slots.Slots {
		if s.Name != f.Options.Slot && !s.Active && s.Logical() &&
			s.RetainedBytes != nil && *s.RetainedBytes > f.Options.RetainedWALWarn {
			out = append(out, s)
		}
	}
	slices.SortStableFunc(out, func(a, b facts.Slot) int {
		return cmp.Or(cmp.Compare(*b.RetainedBytes, *a.RetainedBytes), cmp.Compare(a.Name, b.Name))
	})
	return out
}

// expectedPlugin is the output plugin the connector decodes with:
// pgoutput, or a Debezium configuration's plugin.name.
func expectedPlugin(f *facts.Facts) string {
	if c := f.Options.Connector; c != nil && c.Plugin != "" && !c.IsUnresolved("plugin.name") {
		return c.Plugin
	}
	return "pgoutput"
}

// waitedForStandbys reports whether a peek that ran out of time was
// waiting for synchronized_standby_slots (17+): the server warned about a
// listed slot while it waited, or the slot is a failover slot and the
// setting names any.
func waitedForStandbys(f *facts.Facts) bool {
	for _, n := range f.Peek.Notices {
		if strings.Contains(n, "synchronized_standby_slots") {
			return true
		}
	}
	s, ok := f.Slots.Find(f.Options.Slot)
	return ok && isFailover(s) && f.WalSenders.Err == nil && len(f.ListedStandbySlots()) > 0
}

func standbySlotsSetting(f *facts.Facts) string {
	if v := f.WalSenders.SynchronizedStandbySlots; v != nil {
		return sqlident.Literal(*v)
	}
	return "unknown"
}
