package gather

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/cdcpreflight/cdcpreflight/facts"
)

// DefaultPeekMaxBacklog: above this much WAL behind the slot, a peek costs
// real I/O (decoding reads everything from restart_lsn, and spills big
// transactions to disk), so it is not attempted.
const DefaultPeekMaxBacklog = 256 << 20

// DefaultRetainedWALWarn: slots holding more WAL than this are reported.
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
	case slot.Active:
		return fmt.Sprintf("slot %s is active in process %d: a peek would take the slot from the connector and make its reconnect fail",
			o.Slot, slot.ActivePID)
	case slot.Type != "logical" || slot.Plugin != "pgoutput":
		return fmt.Sprintf("slot %s is not a pgoutput logical slot (see slot-config)", o.Slot)
	case !slot.InCurrentDatabase:
		return fmt.Sprintf("slot %s belongs to database %s; decoding works only there (see slot-config)", o.Slot, slot.Database)
	case slot.WalStatus == "lost" || slot.InvalidationReason != "" || (slot.Conflicting != nil && *slot.Conflicting):
		return fmt.Sprintf("slot %s is invalidated (see slot-health)", o.Slot)
	case slot.RetainedBytes != nil && *slot.RetainedBytes > o.PeekMaxBacklog:
		return fmt.Sprintf("slot %s is %s behind, over --peek-max-backlog %s: decoding that much would load the server",
			o.Slot, facts.Bytes(*slot.RetainedBytes), facts.Bytes(o.PeekMaxBacklog))
	case f.Server.Err != nil:
		return "the server version could not be read"
	case f.Server.InRecovery && f.Server.Major() < 16:
		return fmt.Sprintf("PostgreSQL %d cannot decode on a standby", f.Server.Major())
	case f.Settings.Values["wal_level"] != "logical":
		return "wal_level is not logical (see wal-level)"
	case f.Publication.Err != nil:
		return "the publication could not be read"
	case !f.Publication.Exists:
		return fmt.Sprintf("publication %s does not exist (see publication-exists)", o.Publication)
	case f.Role.Err == nil && f.Role.Name == f.Target.User && f.Role.Exists &&
		!f.Role.Super && !f.Role.Replication && !f.Role.RDSReplication:
		return "the role lacks REPLICATION (see replication-privilege)"
	}
	return ""
}

// peek decodes at most one transaction from the connector's slot without
// consuming it (never the get_ variant), under statement_timeout.
func (g *gatherer) peek(ctx context.Context, tx pgx.Tx) {
	p := &g.f.Peek
	if p.SkipReason = peekSkipReason(g.f); p.SkipReason != "" {
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
