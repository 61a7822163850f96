package gather

import (
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/cdcpreflight/cdcpreflight/facts"
)

// DefaultPeekMaxBacklog is the --peek-max-backlog default. Above this much
// WAL behind the slot, a peek costs real I/O (decoding reads everything
// from restart_lsn, and spills big transactions to disk), so it is not
// attempted.
const DefaultPeekMaxBacklog = 256 << 20

// DefaultRetainedWALWarn is the --retained-wal-warn default: slots holding
// more WAL than this are reported.
const DefaultRetainedWALWarn = 1 << 30

// peekSkipReason decides whether peeking is safe and useful. The order
// matters: the reasons that protect the connector come first.
func peekSkipReason(f *facts.Facts) string {
	o := f.Options
	slot, ok := f.Slots.Find(o.Slot)
	switch {
	case f.Slots.Err != nil:
		return "the replication slots could not be read"
	case !ok:
		return fmt.Sprintf("slot %s does not exist (see slot-exists)", o.Slot)
	}
	if reason := slotBusy(f, slot); reason != "" {
		return reason
	}
	switch {
	case !slot.Pgoutput():
		return fmt.Sprintf("slot %s is not a pgoutput logical slot (see slot-config)", o.Slot)
	case !slot.InCurrentDatabase:
		return fmt.Sprintf("slot %s belongs to database %s; decoding works only there (see slot-config)", o.Slot, slot.Database)
	case slot.Invalidated():
		return fmt.Sprintf("slot %s is invalidated (see slot-health)", o.Slot)
	case slot.Failover != nil && *slot.Failover && f.WalSenders.Err == nil && len(standbySlotsInTheWay(f)) > 0:
		// Decoding a failover slot waits for every slot the setting names
		// (17+): the peek would wait until statement_timeout.
		return fmt.Sprintf("slot %s is a failover slot and synchronized_standby_slots names %s, which decoding it waits for (see synchronized-standby-slots)",
			o.Slot, strings.Join(standbySlotsInTheWay(f), ", "))
	case f.Server.Err != nil:
		return "the server version could not be read"
	case !f.Server.CanDecode():
		return fmt.Sprintf("PostgreSQL %d cannot decode on a standby", f.Server.Major())
	case !f.Settings.WalLevelLogical():
		return "wal_level is not logical (see wal-level)"
	case f.Publication.Err != nil:
		return "the publication could not be read"
	case !f.Publication.Exists:
		return fmt.Sprintf("publication %s does not exist (see publication-exists)", o.Publication)
	case f.Role.Err == nil && f.Role.Name == f.Target.User && f.Role.Exists && !f.Role.CanReplicate():
		return "the role lacks REPLICATION (see replication-privilege)"
	}
	return ""
}

// slotBusy gives the reasons that protect the connector: the slot is in
// use, or its backlog is too large to decode cheaply.
func slotBusy(f *facts.Facts, slot facts.Slot) string {
	o := f.Options
	switch {
	case slot.Active:
		return fmt.Sprintf("slot %s is active in process %d: a peek would take the slot from the connector and make its reconnect fail",
			o.Slot, slot.ActivePID)
	case slot.RetainedBytes != nil && *slot.RetainedBytes > o.PeekMaxBacklog:
		return fmt.Sprintf("slot %s is %s behind, over --peek-max-backlog %s: decoding that much would load the server",
			o.Slot, facts.Bytes(*slot.RetainedBytes), facts.Bytes(o.PeekMaxBacklog))
	}
	return ""
}

// peekRow is what the peek read returns: the slot as it is right before
// the peek, and the peek's count when it ran.
type peekRow struct {
	found   bool
	slot    facts.Slot
	changes *int
}

// peekRead decodes at most one transaction from the connector's slot
// without consuming it (never the get_ variant), under statement_timeout,
// in the READ ONLY catalog transaction; ok is false when peeking is not
// safe or not useful, with the reason in Peek.SkipReason. The slot was
// read in the first batch; the peek's own statement reads it again and
// decodes only when no process holds it and its backlog is within
// --peek-max-backlog, so that a connector that attached meanwhile is left
// alone: the decoding is a subquery of a CASE, which PostgreSQL evaluates
// only for the branch taken.
func (g *gatherer) peekRead() (read, bool) {
	p := &g.f.Peek
	if p.SkipReason = peekSkipReason(g.f); p.SkipReason != "" {
		return read{}, false
	}
	o := g.f.Options
	r := &g.peekRow
	r.slot.Name = o.Slot
	// publication_names is parsed as a list of SQL identifiers, so the
	// name goes in quoted: a mixed-case name would otherwise be folded.
	return read{op: "peek at the replication slot", err: &p.Err, args: []any{o.Slot, o.Publication, o.PeekMaxBacklog},
		sql: `WITH s AS (SELECT s.slot_name, s.active, coalesce(s.active_pid, 0) AS pid,
	pg_wal_lsn_diff(CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() ELSE pg_current_wal_lsn() END, s.restart_lsn)::int8 AS behind
	FROM pg_replication_slots s WHERE s.slot_name = $1)
SELECT s.active, s.pid, s.behind,
	CASE WHEN NOT s.active AND (s.behind IS NULL OR s.behind <= $3::int8) THEN (
		SELECT count(*)::int FROM pg_logical_slot_peek_binary_changes(s.slot_name, NULL, 1,
			'proto_version', '1', 'publication_names', quote_ident($2)))
	END
FROM s`,
		scan: func(rows pgx.Rows) error {
			err := rowsOne(rows, &r.slot.Active, &r.slot.ActivePID, &r.slot.RetainedBytes, &r.changes)
			if errors.Is(err, pgx.ErrNoRows) {
				return nil
			}
			r.found = err == nil
			return err
		},
	}, true
}

// finishPeek records what the peek read found.
func (g *gatherer) finishPeek() {
	p := &g.f.Peek
	r := g.peekRow
	switch {
	case p.Err != nil:
		p.Attempted = true
	case !r.found:
		p.SkipReason = fmt.Sprintf("slot %s was dropped while checking", g.f.Options.Slot)
	case r.changes == nil:
		if p.SkipReason = slotBusy(g.f, r.slot); p.SkipReason == "" {
			p.SkipReason = "the slot changed while checking"
		}
	default:
		p.Attempted = true
		p.Changes = *r.changes
	}
}

// standbySlotsInTheWay names the slots synchronized_standby_slots lists
// that a failover slot's decoding would wait for: any that is not an
// active, valid physical slot (an inactive one holds decoding back as soon
// as WAL moves past it).
func standbySlotsInTheWay(f *facts.Facts) []string {
	var out []string
	for _, l := range f.ListedStandbySlots() {
		if !l.Healthy() {
			out = append(out, l.Name)
		}
	}
	return out
}
