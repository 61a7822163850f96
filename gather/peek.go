package gather

import (
	"context"
	"errors"
	"fmt"

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

// peek decodes at most one transaction from the connector's slot without
// consuming it (never the get_ variant), under statement_timeout, inside a
// savepoint of the READ ONLY catalog transaction.
func (g *gatherer) peek(ctx context.Context, tx pgx.Tx) {
	p := &g.f.Peek
	if p.SkipReason = peekSkipReason(g.f); p.SkipReason != "" {
		return
	}
	// The slot was read a few reads ago; read it again right before the
	// peek so that a connector that attached meanwhile is left alone.
	slot, found, err := g.rereadSlot(ctx, tx)
	switch {
	case err != nil:
		p.SkipReason = "the slot could not be read again right before the peek: " + err.Error()
		return
	case !found:
		p.SkipReason = fmt.Sprintf("slot %s was dropped while checking", g.f.Options.Slot)
		return
	}
	if p.SkipReason = slotBusy(g.f, slot); p.SkipReason != "" {
		return
	}
	p.Attempted = true
	var notices []string
	g.notices = &notices
	defer func() { g.notices = nil }()
	// publication_names is parsed as a list of SQL identifiers, so the
	// name goes in quoted: a mixed-case name would otherwise be folded.
	p.Err = g.step(ctx, tx, "peek at the replication slot", func(ctx context.Context, q pgx.Tx) error {
		return q.QueryRow(ctx, `SELECT count(*)::int FROM pg_logical_slot_peek_binary_changes($1, NULL, 1,
			'proto_version', '1', 'publication_names', quote_ident($2))`,
			g.f.Options.Slot, g.f.Options.Publication).Scan(&p.Changes)
	})
	p.Notices = notices
}

// rereadSlot reads what may have changed since the slots were read: who
// holds the slot, and how far behind it is.
func (g *gatherer) rereadSlot(ctx context.Context, tx pgx.Tx) (facts.Slot, bool, *facts.Error) {
	s := facts.Slot{Name: g.f.Options.Slot}
	found := false
	err := g.step(ctx, tx, "read the replication slot again", func(ctx context.Context, q pgx.Tx) error {
		err := q.QueryRow(ctx, `SELECT s.active, coalesce(s.active_pid, 0),
	pg_wal_lsn_diff(CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() ELSE pg_current_wal_lsn() END, s.restart_lsn)::int8
FROM pg_replication_slots s WHERE s.slot_name = $1`, s.Name).Scan(&s.Active, &s.ActivePID, &s.RetainedBytes)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		found = err == nil
		return err
	})
	return s, found, err
}
