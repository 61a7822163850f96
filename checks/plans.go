package checks

import (
	"fmt"
	"slices"
	"strings"

	"github.com/cdcpreflight/cdcpreflight/facts"
	"github.com/cdcpreflight/cdcpreflight/internal/sqlident"
	"github.com/cdcpreflight/cdcpreflight/rules"
)

// What one rule's remedy assumes about another's. fix runs the steps of
// every finding in one plan, in phase order (helper tables before the
// publication) with identical SQL merged, and the check after it must
// find nothing; so these rules plan with what other rules' steps will
// have done. Each contract has a test in plans_test.go that states it:
//
//   - Helper tables are created before the publication: publication-exists
//     lists in its CREATE PUBLICATION the signal and heartbeat tables that
//     signal-table and heartbeat-table create (signalTableCreated,
//     heartbeatTableCreated), and publication-signal-table's ADD TABLE
//     waits for a person unless signal-table creates the table
//     (TestPlanCreatedHelperTablesArePublished).
//   - A helper table is added by name only to a publication that exists and
//     lists its tables (publicationListsTables): FOR ALL TABLES and TABLES IN
//     SCHEMA take it in by themselves, and a missing publication is created
//     with it listed (TestPlanHelperTablesAddedOnlyWhereListed).
//   - signal-table and publication-signal-table add the signal table with
//     one statement (addSignalToPublication), which the plan runs once
//     (TestPlanSignalTableAddedOnce).
//   - publication-filters, replica-identity and publication-operations
//     plan one SET TABLE (filterStrip), byte-identical whichever asks
//     (TestPlanOneSetTable). It replaces the whole list, so it re-lists
//     the tables that publication-coverage, publication-partitions,
//     publication-signal-table, signal-table and heartbeat-table add
//     earlier in the plan (plannedAdds) (TestPlanSetTableKeepsPlannedAdds).
//   - publication-operations plans the replica identity steps that
//     replica-identity would propose once updates and deletes are
//     published, before publishing them (its Eval, with
//     identityFixes(f, true)) (TestPlanIdentityBeforePublishingUpdates).
//   - publication-exists creates the publication with
//     publish_generated_columns = stored on 18 when captured tables have
//     generated columns (createPublication, in publication.go), which
//     generated-columns would otherwise plan with an ALTER PUBLICATION on
//     the next check (TestPlanCreatedPublicationPublishesGeneratedColumns).
//   - replication-capacity and replication-connection propose the same
//     max_wal_senders (walSendersWanted), so the plan raises it once
//     (TestPlanOneWALSenderLimit).
//   - slot-exists's CREATE of the slot waits for a person while wal_level
//     is not logical: wal-level's fix takes a restart, which fix never does
//     (createSlotStep, in slot.go) (TestPlanSlotWaitsForWalLevel).

// signalTableCreated reports whether signal-table's steps create the
// signal table: publication-exists then lists it, since helper tables are
// created in an earlier phase than the publication.
func signalTableCreated(f *facts.Facts) bool {
	if _, unused := signalTableUnused(f); unused {
		return false
	}
	return f.Connect.OK() && f.Server.Err == nil && f.Options.SnapshotModeInForce() != facts.SnapshotReadOnly &&
		f.SignalTable.Err == nil && !f.SignalTable.Exists
}

// heartbeatTableCreated reports whether heartbeat-table's steps create the
// heartbeat table: publication-exists then lists it, like the signal
// table. heartbeat-table also needs the role settings, which this does not
// ask: without them that rule is error, and fix applies no plan while a
// rule is error.
func heartbeatTableCreated(f *facts.Facts) bool {
	return f.Connect.OK() && f.Options.HeartbeatSchema != "" && f.Heartbeat.Err == nil && !f.Heartbeat.Exists
}

// publicationListsTables reports whether a table in schema must be added to
// the existing publication by name: FOR ALL TABLES and FOR TABLES IN SCHEMA
// take it in by themselves, and a missing publication is created by
// publication-exists with every table listed.
func publicationListsTables(f *facts.Facts, schema string) bool {
	p := f.Publication
	return p.Err == nil && p.Exists && !p.AllTables && !slices.Contains(p.Schemas, sqlident.Quote(schema))
}

// addSignalToPublication is the one ALTER PUBLICATION for the signal table,
// shared by signal-table (which creates it) and publication-signal-table,
// so that a plan holding both runs it once.
func addSignalToPublication(f *facts.Facts) rules.Step {
	return addToPublication(sqlident.Quote(f.Options.Publication), signalName(f))
}

// filterStrip is the one SET TABLE that publication-filters,
// replica-identity and publication-operations all plan: the connector
// publication's tables re-listed without the filters and column lists of
// captured tables and of tables whose writes they break. One statement
// for all, byte-identical whichever rule asks, so a plan runs it once and
// no rule's SET TABLE puts back a filter another's took out.
func filterStrip(f *facts.Facts) rules.Step {
	drop, _ := filtered(f)
	for _, t := range identityStrips(f) {
		if !slices.ContainsFunc(drop, func(d facts.Table) bool { return d.Quoted == t }) {
			drop = append(drop, facts.Table{Quoted: t})
		}
	}
	return setTable(f, drop)
}

// setTable rewrites the publication's whole table list without the
// filters and column lists of drop, keeping every other entry as it is:
// SET TABLE replaces the list in one statement, so no change slips
// through a gap the way it would between DROP TABLE and ADD TABLE. It also
// names the tables other rules add earlier in the same plan, which it
// would otherwise take out again.
func setTable(f *facts.Facts, drop []facts.Table) rules.Step {
	strip := map[string]bool{}
	for _, t := range drop {
		strip[t.Quoted] = true
	}
	var tables []string
	for _, m := range f.Publication.Members {
		entry := m.Table
		if !strip[m.Table] {
			if len(m.Columns) > 0 {
				entry += " (" + strings.Join(m.Columns, ", ") + ")"
			}
			if m.Where != "" {
				entry += " WHERE (" + m.Where + ")"
			}
		}
		tables = append(tables, entry)
	}
	for _, t := range plannedAdds(f) {
		if !isMember(f, t) && !slices.Contains(tables, t) {
			tables = append(tables, t)
		}
	}
	var objs []string
	if len(tables) > 0 {
		objs = append(objs, "TABLE "+strings.Join(tables, ", "))
	}
	if len(f.Publication.Schemas) > 0 {
		objs = append(objs, "TABLES IN SCHEMA "+strings.Join(f.Publication.Schemas, ", "))
	}
	needs := "the publication's owner, owning each table listed (or a superuser)"
	if len(f.Publication.Schemas) > 0 {
		needs = needsSuperuser
	}
	return rules.Step{
		Phase: rules.PhasePublication, SQL: fmt.Sprintf("ALTER PUBLICATION %s SET %s;", sqlident.Quote(f.Options.Publication), strings.Join(objs, ", ")),
		Needs: needs, Locks: locksPublished,
	}
}

// plannedAdds are the tables that other rules' steps add by name to the
// existing publication: publication-coverage, publication-partitions,
// publication-signal-table, signal-table and heartbeat-table.
func plannedAdds(f *facts.Facts) []string {
	p := f.Publication
	if p.Err != nil || !p.Exists || p.AllTables {
		return nil
	}
	var out []string
	// Where Debezium sets the publication's tables itself at start
	// (publication.autocreate.mode=filtered), publication-coverage and
	// publication-signal-table plan nothing.
	_, debeziumSets := autocreates(f)
	if f.Tables.Err == nil && !debeziumSets {
		out = append(out, coverageAdds(f, uncovered(f))...)
	}
	if f.Tables.Err == nil {
		out = append(out, quotedNames(rootsViaLeaves(f))...)
	}
	if s := f.SignalTable; f.Options.SnapshotModeInForce() != facts.SnapshotReadOnly && s.Err == nil && publicationListsTables(f, f.Options.SignalSchema) &&
		((s.Exists && !s.Published && s.IsTable() && !debeziumSets) || signalTableCreated(f)) {
		out = append(out, signalName(f))
	}
	if h, schema := f.Heartbeat, f.Options.HeartbeatSchema; schema != "" && h.Err == nil && !h.Published && publicationListsTables(f, schema) {
		out = append(out, helperName(h, schema, facts.HeartbeatTableName))
	}
	return out
}

// coverageAdds are the names publication-coverage adds for missing tables.
func coverageAdds(f *facts.Facts, missing []facts.Table) []string {
	var names []string
	for _, t := range missing {
		names = append(names, toAdd(f, t, false)...)
	}
	return names
}

// walSendersWanted is one more WAL sender than are busy, and never fewer
// than configured: replication-capacity and replication-connection both
// propose it, and the same value makes them one step.
func walSendersWanted(u facts.ReplicationUsage) int {
	return max(u.MaxWalSenders, u.WalSendersUsed) + 1
}
