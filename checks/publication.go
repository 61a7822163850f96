package checks

import (
	"fmt"
	"slices"
	"strings"

	"github.com/cdcpreflight/cdcpreflight/facts"
	"github.com/cdcpreflight/cdcpreflight/internal/sqlident"
	"github.com/cdcpreflight/cdcpreflight/rules"
)

// publicationRules judge the connector's publication.
func publicationRules() []rules.Rule {
	return []rules.Rule{
		publicationExists(), publicationCoverage(), publicationSignalTable(),
		publicationOperations(), publicationPartitions(), publicationFilters(),
	}
}

// pubObject names the publication in results.
func pubObject(f *facts.Facts) string {
	return "publication " + sqlident.Quote(f.Options.Publication)
}

// leaves are the publishable leaf partitions of a captured partitioned
// table. A table that cannot be published (facts.Table.Publishable:
// unlogged tables, views and the like) is reported by unlogged-tables and
// tables-exist; asking to add it would only fail.
func leaves(f *facts.Facts, root facts.Table) []facts.Table {
	var out []facts.Table
	for _, t := range f.Tables.Tables {
		if t.PartitionOf() == root.Quoted && t.IsOrdinary() && t.Publishable() {
			out = append(out, t)
		}
	}
	return out
}

func isMember(f *facts.Facts, quoted string) bool {
	return slices.ContainsFunc(f.Publication.Members, func(m facts.PublicationMember) bool { return m.Table == quoted })
}

// covered says whether the publication carries t's changes. The view
// pg_publication_tables, behind Table.Published, already counts FOR ALL
// TABLES and TABLES IN SCHEMA, but with publish_via_partition_root off it
// lists a partitioned table's leaf partitions instead of the table.
func covered(f *facts.Facts, t facts.Table) bool {
	if t.Published {
		return true
	}
	if !t.IsPartitioned() {
		return false
	}
	p := f.Publication
	if p.AllTables || isMember(f, t.Quoted) || slices.Contains(p.Schemas, sqlident.Quote(t.Schema)) {
		return true
	}
	ls := leaves(f, t)
	return len(ls) > 0 && !slices.ContainsFunc(ls, func(l facts.Table) bool { return !l.Published })
}

// toAdd is what a publication must name for t: the table itself, or
// before PostgreSQL 13, which cannot publish a partitioned table, its
// partitions (only those not yet published unless all).
func toAdd(f *facts.Facts, t facts.Table, all bool) []string {
	if !t.IsPartitioned() || f.Server.Major() >= 13 {
		return []string{t.Quoted}
	}
	var out []string
	for _, l := range leaves(f, t) {
		if all || !l.Published {
			out = append(out, l.Quoted)
		}
	}
	return out
}

// capturedPartitioned lists the captured partitioned tables.
func capturedPartitioned(f *facts.Facts) []facts.Table {
	var out []facts.Table
	for _, t := range f.Tables.Tables {
		if t.Captured && t.IsPartitioned() {
			out = append(out, t)
		}
	}
	return out
}

// ownerNote says who may change a publication, per platform.
func ownerNote(f *facts.Facts) string {
	s := "Run it as the publication's owner"
	if f.Publication.Owner != "" {
		s += " (" + f.Publication.Owner + ")"
	}
	s += "; adding a table also needs ownership of that table (\"must be owner of table …\", 42501)."
	return platformOf(f).publicationOwner.after(s)
}

func publicationExists() rules.Rule {
	return rules.Rule{
		ID: "publication-exists", Title: "The connector's publication exists",
		Category: rules.CategoryPublication, Severity: rules.Error, Since: since,
		Needs: []facts.Section{facts.SectionPublication},
		Why: `pgoutput sends only the changes of tables in the publication the connector names (Streamkap's
default: streamkap_pub). Without it the connector cannot stream: decoding fails with
ERROR: publication "streamkap_pub" does not exist (42704) on PostgreSQL 10-17; PostgreSQL 18 only
warns "skipped loading publication" and streams nothing. A replication slot created before the
publication can keep failing with that error after the publication is created, because it decodes
WAL written before the publication existed: create the publication first, then the slot.`,
		Fix: `Create it listing the captured tables and the signal table (and the heartbeat table if used):
CREATE PUBLICATION streamkap_pub FOR TABLE public.orders, streamkap.streamkap_signal;
This needs CREATE on the database and ownership of each table. FOR ALL TABLES (the Streamkap guide's
first option) needs a superuser ("must be superuser to create FOR ALL TABLES publication", 42501),
which Neon never gives; on PostgreSQL 15+ FOR TABLES IN SCHEMA needs a superuser too. On 13+, add
WITH (publish_via_partition_root = true) when partitioned tables are captured. If the slot already
exists, re-create it after the publication.`,
		Eval: func(f *facts.Facts) rules.Outcome {
			p := f.Publication
			q := sqlident.Quote(f.Options.Publication)
			if why, ok := autocreates(f); ok && !p.Exists {
				return rules.Skip("publication %s does not exist: %s", q, why)
			}
			if p.Exists {
				if p.AllTables {
					return rules.Pass("publication %s exists (FOR ALL TABLES)", q)
				}
				return rules.Pass("publication %s exists (%s)", q, plural(p.TableCount, "table", "tables"))
			}
			text, steps := createPublication(f)
			return rules.Finding("publication %s does not exist", q).WithObjects(pubObject(f)).WithSteps(text, steps...)
		},
	}
}

// createPublication writes the CREATE PUBLICATION for the captured tables
// and the helper tables, those that exist and those that signal-table and
// heartbeat-table create in an earlier phase: no other rule adds a table to
// a publication that does not exist yet, so this one statement lists all.
func createPublication(f *facts.Facts) (string, []rules.Step) {
	q := sqlident.Quote(f.Options.Publication)
	var b strings.Builder
	b.WriteString("Create the publication listing the captured tables")
	if f.Tables.Err != nil {
		b.WriteString(" (they could not be read: " + f.Tables.Err.Error() + ")")
	}
	b.WriteString(", as a role with CREATE on the database that owns every table listed (adding a table needs ownership). ")
	b.WriteString(platformOf(f).publishAll)
	var names []string
	add := func(n ...string) {
		for _, s := range n {
			if !slices.Contains(names, s) {
				names = append(names, s)
			}
		}
	}
	partitioned := false
	if f.Tables.Err == nil {
		for _, t := range f.Tables.Tables {
			if t.Captured && t.Publishable() {
				add(toAdd(f, t, true)...)
				partitioned = partitioned || t.IsPartitioned()
			}
		}
	}
	if _, unused := signalTableUnused(f); !unused && f.Options.SnapshotModeInForce() != facts.SnapshotReadOnly {
		switch s := f.SignalTable; {
		case s.Err == nil && s.Exists && s.IsTable():
			add(signalName(f))
		case signalTableCreated(f):
			add(signalName(f))
			fmt.Fprintf(&b, " It lists the signal table %s, which does not exist yet: create it first (see signal-table).", signalName(f))
		default:
			b.WriteString(" Add the signal table once it exists (see signal-table).")
		}
	}
	if hb := f.Options.HeartbeatSchema; hb != "" && f.Heartbeat.Err == nil {
		name := helperName(f.Heartbeat, hb, facts.HeartbeatTableName)
		switch {
		case f.Heartbeat.Exists && f.Heartbeat.IsTable():
			add(name)
		case heartbeatTableCreated(f):
			add(name)
			fmt.Fprintf(&b, " It lists the heartbeat table %s, which does not exist yet: create it first (see heartbeat-table).", name)
		}
	}
	if partitioned && f.Server.Major() < 13 {
		fmt.Fprintf(&b, " PostgreSQL %d cannot publish partitioned tables: their partitions are listed instead (see publication-partitions).",
			f.Server.Major())
	}
	if _, ok := f.Slots.Find(f.Options.Slot); ok {
		fmt.Fprintf(&b, " Slot %s already exists and predates the publication: decoding the changes written before the publication existed "+
			"fails with 'publication %s does not exist' (PostgreSQL 18 only warns and skips them). If the slot then keeps failing, "+
			"drop and re-create it after the publication (the connector then needs a new snapshot).",
			sqlident.Quote(f.Options.Slot), sqlident.Quote(f.Options.Publication))
	}
	if f.Tables.Err != nil {
		return b.String(), nil
	}
	step := rules.Step{Phase: rules.PhasePublication, SQL: "CREATE PUBLICATION " + q,
		Needs: "a role with CREATE on the database that owns every table listed (or a superuser)"}
	if len(names) > 0 {
		step.SQL += " FOR TABLE " + strings.Join(names, ", ")
		step.Locks = locksPublished
	}
	var with []string
	if partitioned && f.Server.Major() >= 13 {
		with = append(with, "publish_via_partition_root = true")
	}
	// Set at creation, generated-columns would otherwise find it missing
	// on the next check and plan an ALTER PUBLICATION.
	if f.Server.Major() >= 18 && slices.ContainsFunc(f.Tables.Tables, func(t facts.Table) bool {
		return t.Captured && len(t.Generated()) > 0
	}) {
		with = append(with, "publish_generated_columns = stored")
	}
	if len(with) > 0 {
		step.SQL += " WITH (" + strings.Join(with, ", ") + ")"
	}
	step.SQL += ";"
	return b.String(), []rules.Step{step}
}

func publicationCoverage() rules.Rule {
	return rules.Rule{
		ID: "publication-coverage", Title: "Every captured table is in the publication",
		Category: rules.CategoryPublication, Severity: rules.Error, Since: since,
		Needs: []facts.Section{facts.SectionPublication, facts.SectionTables},
		Why: `The connector receives changes only for tables in its publication. A captured table missing from
it is snapshotted (the snapshot reads it with SELECT) and then silently never updated: inserts,
updates and deletes after the snapshot never arrive, and nothing errors. FOR ALL TABLES and, on
PostgreSQL 15+, FOR TABLES IN SCHEMA count. With publish_via_partition_root off a partitioned table
is published through its partitions, so it counts as covered when all of them are. With it on, a
partition captured on its own whose partitioned table is published is published too, but under the
partitioned table's name: a connector capturing the partition by name receives none of its changes
(capture the partitioned table instead, or publish via the partitions).`,
		Fix: `Add the missing tables, as the owner of each (ADD TABLE needs ownership):
ALTER PUBLICATION streamkap_pub ADD TABLE public.orders, public."Order Items";
Before PostgreSQL 13 add each partition of a partitioned table instead. Changes made before the
table was added were never published: trigger an incremental snapshot of the added tables.`,
		Eval: func(f *facts.Facts) rules.Outcome {
			q := sqlident.Quote(f.Options.Publication)
			if why, ok := autocreates(f); ok {
				return rules.Skip("%s", why)
			}
			if !f.Publication.Exists {
				return rules.Skip("publication %s does not exist (see publication-exists)", q)
			}
			missing := uncovered(f)
			asRoot := publishedAsRoot(f)
			var unpublishable []facts.Table
			n := 0
			for _, t := range f.Tables.Tables {
				switch {
				case !t.Captured:
				case !t.Publishable():
					unpublishable = append(unpublishable, t)
				default:
					n++
				}
			}
			note := ""
			if len(unpublishable) > 0 {
				note = fmt.Sprintf(" (not counted, since no publication can hold them: %s; see unlogged-tables and tables-exist)",
					strings.Join(quotedNames(unpublishable), ", "))
			}
			if len(missing) == 0 && len(asRoot) > 0 {
				return viaRootFinding(f, asRoot, n, note)
			}
			if len(missing) == 0 {
				if n == 0 {
					return rules.Pass("no tables are captured%s", note)
				}
				return rules.Pass("all %s are in publication %s%s", plural(n, "captured table", "captured tables"), q, note)
			}
			verb := "are"
			if len(missing) == 1 {
				verb = "is"
			}
			o := rules.Finding("%d of %s %s not in publication %s: %s%s", len(missing), plural(n, "captured table", "captured tables"), verb, q,
				strings.Join(quotedNames(missing), ", "), note).WithObjects(quotedNames(missing)...)
			text, steps := addTables(f, missing)
			if len(asRoot) > 0 {
				v := viaRootFinding(f, asRoot, n, "")
				o.Message += "; " + v.Message
				o = o.WithObjects(v.Objects...)
				text += " " + v.Remediation
				steps = append(steps, v.Steps...)
			}
			return o.WithSteps(text, steps...)
		},
	}
}

// publishedAsRoot are captured partitions that the publication publishes
// under their partitioned table's name: publish_via_partition_root is on
// and the partitioned table above them (the topmost one in scope) is
// published. pg_publication_tables does not list them, and adding them
// changes nothing: PostgreSQL still publishes their changes as the root's.
func publishedAsRoot(f *facts.Facts) []facts.Table {
	p := f.Publication
	if !p.Exists || p.ViaRoot == nil || !*p.ViaRoot {
		return nil
	}
	published := map[string]bool{}
	for _, t := range f.Tables.Tables {
		if t.IsPartitioned() && t.Published {
			published[t.Quoted] = true
		}
	}
	var out []facts.Table
	for _, t := range f.Tables.Tables {
		if t.Captured && t.Publishable() && !t.Published && t.PartitionOf() != "" && published[t.PartitionOf()] {
			out = append(out, t)
		}
	}
	return out
}

// viaRootFinding: the changes of partitions captured on their own arrive
// under their partitioned table's name, which the connector does not
// capture. The remedy is the capture list's (capture the partitioned
// table), or publishing via the partitions, which the publication allows
// only without filters on partitioned tables and which would take a
// captured partitioned table's changes away from it.
func viaRootFinding(f *facts.Facts, parts []facts.Table, n int, note string) rules.Outcome {
	q := sqlident.Quote(f.Options.Publication)
	var desc, roots []string
	for _, t := range parts {
		desc = append(desc, t.Quoted+" (as "+t.PartitionOf()+")")
		if !slices.Contains(roots, t.PartitionOf()) {
			roots = append(roots, t.PartitionOf())
		}
	}
	verb, whose, them, table := "are", "their partitioned tables'", "the partitions", "tables"
	if len(parts) == 1 {
		verb, whose, them = "is", "its partitioned table's", "the partition"
	}
	if len(roots) == 1 {
		table = "table"
	}
	o := rules.Finding("%s of %s %s published only under %s name (publication %s has publish_via_partition_root = true): "+
		"a connector capturing a partition by name receives none of its changes: %s%s",
		plural(len(parts), "partition", "partitions"), plural(n, "captured table", "captured tables"), verb, whose,
		q, listNames(desc), note).WithObjects(quotedNames(parts)...)
	text := fmt.Sprintf("Capture the partitioned %s %s instead of %s: its changes include every partition's, under its own name. "+
		"Or publish via the partitions (publish_via_partition_root = false): each partition's changes then arrive under its own name, "+
		"for every partitioned table of the publication.", table, strings.Join(roots, ", "), them)
	var rootsCaptured []string
	for _, r := range roots {
		if slices.ContainsFunc(f.Tables.Tables, func(t facts.Table) bool { return t.Quoted == r && t.Captured }) {
			rootsCaptured = append(rootsCaptured, r)
		}
	}
	if len(rootsCaptured) > 0 {
		are := "are"
		if len(rootsCaptured) == 1 {
			are = "is"
		}
		text += fmt.Sprintf(" %s %s captured too, so the rows arrive there: take the partitions out of the capture list, "+
			"or their own destination tables keep the snapshot and never change.", strings.Join(rootsCaptured, ", "), are)
	}
	// The option can go off only when no partitioned table in the
	// publication has a row filter or column list (PostgreSQL refuses:
	// "cannot set parameter \"publish_via_partition_root\" to false"), and
	// should not while a partitioned table is captured by its own name.
	filteredRoot := slices.ContainsFunc(f.Publication.Members, func(m facts.PublicationMember) bool {
		return (m.Where != "" || len(m.Columns) > 0) && slices.ContainsFunc(f.Tables.Tables, func(t facts.Table) bool {
			return t.Quoted == m.Table && t.IsPartitioned()
		})
	})
	if len(capturedPartitioned(f)) > 0 || filteredRoot {
		text += " The publication cannot go that way here: "
		if filteredRoot {
			text += "a partitioned table in it has a row filter or column list, and PostgreSQL then refuses publish_via_partition_root = false."
		} else {
			text += "partitioned tables are captured by their own names, and their changes would then arrive under their partitions' names (see publication-partitions)."
		}
		return o.WithRemediation(text)
	}
	owner := "Run it as the publication's owner"
	if f.Publication.Owner != "" {
		owner += " (" + f.Publication.Owner + ")"
	}
	return o.WithSteps(text+" The step below publishes via the partitions. "+owner+".", setPublicationOption(q, "publish_via_partition_root = false"))
}

// addTables is the ALTER PUBLICATION … ADD TABLE for missing tables.
func addTables(f *facts.Facts, missing []facts.Table) (string, []rules.Step) {
	if f.Publication.AllTables {
		return "The publication is FOR ALL TABLES and cannot be altered; these tables cannot be published as they are.", nil
	}
	names := coverageAdds(f, missing)
	text := "Add the missing tables to the publication. " + ownerNote(f) +
		" Changes made before a table was added were never published: trigger an incremental snapshot of the added tables."
	if f.Server.Major() > 0 && f.Server.Major() < 13 && slices.ContainsFunc(missing, facts.Table.IsPartitioned) {
		text += fmt.Sprintf(" PostgreSQL %d cannot publish a partitioned table: its partitions are added instead, and partitions created later must be added too.",
			f.Server.Major())
	}
	if len(names) == 0 {
		return text, nil
	}
	return text, []rules.Step{addToPublication(sqlident.Quote(f.Options.Publication), names...)}
}

// uncovered are the captured tables a publication could hold but does not
// carry, as publication-coverage finds them.
func uncovered(f *facts.Facts) []facts.Table {
	asRoot := publishedAsRoot(f)
	var out []facts.Table
	for _, t := range f.Tables.Tables {
		if t.Captured && t.Publishable() && !covered(f, t) && !slices.ContainsFunc(asRoot, func(x facts.Table) bool { return x.Quoted == t.Quoted }) {
			out = append(out, t)
		}
	}
	return out
}

func publicationSignalTable() rules.Rule {
	return rules.Rule{
		ID: "publication-signal-table", Title: "The publication includes the signal table",
		Category: rules.CategoryPublication, Severity: rules.Error, Since: since,
		Needs: []facts.Section{facts.SectionPublication, facts.SectionSignalTable},
		Why: `Incremental and ad-hoc snapshots are started by a row inserted into the signal table
(streamkap.streamkap_signal), and the connector reads that row from the change stream: the table must
be in the publication. A per-table publication that omits it makes every snapshot request hang with no
error while the rest of the stream works. FOR ALL TABLES, or FOR TABLES IN SCHEMA naming the signal
schema (15+), includes it. Not needed with --snapshot-mode read-only.`,
		Fix: `As the owner of the publication and of the table run
ALTER PUBLICATION streamkap_pub ADD TABLE streamkap.streamkap_signal; then trigger the snapshot again.`,
		Eval: func(f *facts.Facts) rules.Outcome {
			q := sqlident.Quote(f.Options.Publication)
			s := f.SignalTable
			name := signalName(f)
			if why, unused := signalTableUnused(f); unused {
				return rules.Skip("%s", why)
			}
			if why, ok := autocreates(f); ok {
				return rules.Skip("the signal table is captured, so it is published: %s", why)
			}
			switch {
			case f.Options.SnapshotModeInForce() == facts.SnapshotReadOnly:
				return rules.Skip("snapshot mode is read-only: the signal table is not used")
			case !f.Publication.Exists:
				return rules.Skip("publication %s does not exist (see publication-exists)", q)
			case s.Exists && s.Published:
				return rules.Pass("publication %s includes the signal table %s", q, name)
			case !s.Exists && f.Options.SnapshotModeInForce() != facts.SnapshotSignalTable:
				return rules.Skip("signal table %s does not exist (see signal-table)", name)
			case !s.Exists && f.Publication.AllTables:
				return rules.Pass("signal table %s does not exist yet; publication %s is FOR ALL TABLES and will include it", name, q)
			case !s.Exists && slices.Contains(f.Publication.Schemas, sqlident.Quote(f.Options.SignalSchema)):
				return rules.Pass("signal table %s does not exist yet; publication %s includes its schema and will include it", name, q)
			case s.Exists && f.Publication.AllTables:
				return rules.Finding("publication %s is FOR ALL TABLES yet does not publish the signal table %s (kind %q): only permanent tables can be published",
					q, name, s.Kind).WithObjects(name).
					WithRemediation("Re-create the signal table as an ordinary, logged table (see signal-table).")
			}
			msg := fmt.Sprintf("publication %s does not include the signal table %s: snapshot requests would never be seen", q, name)
			if s.Exists && !s.IsTable() {
				// Adding a view or the like would only fail.
				return rules.Finding("%s", msg).WithObjects(name).
					WithRemediation("Re-create the signal table as an ordinary, logged table (see signal-table), then add it to the publication.")
			}
			text := "Add the signal table to the publication. " + ownerNote(f)
			step := addSignalToPublication(f)
			if !s.Exists {
				msg = fmt.Sprintf("signal table %s does not exist and publication %s does not include it", name, q)
				text = "Create the signal table first (see signal-table), then add it to the publication. " + ownerNote(f)
				if !signalTableCreated(f) {
					step.Manual = true
					step.Note = "after the signal table exists (see signal-table)"
				}
			}
			return rules.Finding("%s", msg).WithObjects(name).WithSteps(text, step)
		},
	}
}

func publicationOperations() rules.Rule {
	return rules.Rule{
		ID: "publication-operations", Title: "The publication publishes inserts, updates and deletes",
		Category: rules.CategoryPublication, Severity: rules.Error, Since: since,
		Needs: []facts.Section{facts.SectionPublication},
		Why: `A publication created WITH (publish = 'insert') (or without update or delete) sends only those
operations: the other changes are dropped at the source, with no error, and the destination drifts
from the source. That is an error: changes of every captured table silently go missing. If an
insert-only (append-only) stream is really what you want, lower this rule's severity in the config,
so that the decision is written down. TRUNCATE (published from PostgreSQL 11) is ignored by Debezium
by default, so it is only mentioned.`,
		Fix: `Publish every operation again, as the publication's owner:
ALTER PUBLICATION streamkap_pub SET (publish = 'insert, update, delete, truncate');
(PostgreSQL 10 has no truncate: publish = 'insert, update, delete'). Before publishing updates and
deletes make sure every published table has a replica identity that covers the publication's row
filters and column lists: otherwise UPDATE and DELETE on it fail with "cannot update table …
because it does not have a replica identity and publishes updates" (55000), or 42P10 for a filter
(see replica-identity). Then re-snapshot the tables: changes dropped so far are lost.`,
		Eval: func(f *facts.Facts) rules.Outcome {
			p := f.Publication
			q := sqlident.Quote(f.Options.Publication)
			if !p.Exists {
				return rules.Skip("publication %s does not exist (see publication-exists)", q)
			}
			var missing []string
			for _, op := range []struct {
				name string
				on   bool
			}{{"insert", p.Insert}, {"update", p.Update}, {"delete", p.Delete}} {
				if !op.on {
					missing = append(missing, op.name)
				}
			}
			truncate := ""
			if p.Truncate != nil && !*p.Truncate {
				truncate = "; truncate is not published (Debezium ignores TRUNCATE by default)"
			}
			if len(missing) == 0 {
				return rules.Pass("publication %s publishes insert, update and delete%s", q, truncate)
			}
			// No softening in the default scope, unlike the per-table rules:
			// the publication is the connector's by name, and the operations
			// it drops are dropped for every table it carries, including all
			// the ones the connector does capture. Which tables are captured
			// does not change that, so there is nothing the default scope
			// leaves in doubt; an intended insert-only stream is a decision
			// for the config's severity.
			publish := "insert, update, delete"
			if p.Truncate != nil {
				publish += ", truncate"
			}
			text := "Publish every operation. " + ownerNote(f) +
				" Before publishing update and delete, make sure every published table has a replica identity that covers the publication's " +
				"row filters and column lists (see replica-identity): otherwise UPDATE and DELETE on it start failing on the source " +
				"(55000, or 42P10 for a filter). Changes dropped so far are lost: re-snapshot the tables."
			// replica-identity passes while neither updates nor deletes are
			// published; once they are, its tables would refuse UPDATE and
			// DELETE. The identity steps come first, in an earlier phase,
			// and the publication's own filters are re-listed before the
			// operations are published.
			var steps []rules.Step
			if f.Tables.Err == nil {
				if fixes, _ := identityFixes(f, true); len(fixes) > 0 {
					names := make([]string, len(fixes))
					for i, fx := range fixes {
						names[i] = fx.leaf.Quoted
					}
					text += fmt.Sprintf(" The steps first make UPDATE and DELETE work on %s: %s.",
						plural(len(names), "table", "tables"), listNames(names))
					steps = identitySteps(f, fixes)
				}
			}
			steps = append(steps, setPublicationOption(q, "publish = "+sqlident.Literal(publish)))
			return rules.Finding("publication %s does not publish %s: those changes never reach the connector%s", q,
				strings.Join(missing, ", "), truncate).WithObjects(pubObject(f)).WithSteps(text, steps...)
		},
	}
}

func publicationPartitions() rules.Rule {
	return rules.Rule{
		ID: "publication-partitions", Title: "Captured partitioned tables publish through their root",
		Category: rules.CategoryPublication, Severity: rules.Error, Since: since,
		Needs: []facts.Section{facts.SectionPublication, facts.SectionTables, facts.SectionServer},
		Why: `With publish_via_partition_root off (the default), changes to a partitioned table are published
under each partition's own name (public.measurements_2025_01), not the table's: a connector that
captures the partitioned table by name sees none of them, and every new partition is a new table
downstream. Before PostgreSQL 13 a partitioned table cannot be in a publication at all
("Adding partitioned tables to publications is not supported", 0A000): each partition has to be
published and captured, including partitions created later. A partitioned table named in the
capture list is an error: its changes silently never arrive. In the default all-tables scope (no
capture list) it is a warning: with no include list the connector captures the partitions
themselves, so their changes do arrive, as separate tables under the partitions' names.`,
		Fix: `On 13+, as the publication's owner:
ALTER PUBLICATION streamkap_pub SET (publish_via_partition_root = true);
and make sure the partitioned table itself, not only its partitions, is in the publication. The
topic that partition changes arrive on changes with it: re-snapshot the tables. Before 13, add every
partition to the publication and capture the partitions, or upgrade.`,
		Eval: func(f *facts.Facts) rules.Outcome {
			parts := capturedPartitioned(f)
			q := sqlident.Quote(f.Options.Publication)
			major := f.Server.Major()
			switch {
			case len(parts) == 0:
				return rules.Pass("no partitioned tables are captured")
			case major < 13:
				return partitionsScope(f, rules.Finding("PostgreSQL %d cannot publish partitioned tables: changes to %s arrive under their partitions' names",
					major, strings.Join(quotedNames(parts), ", "))).WithObjects(quotedNames(parts)...).
					WithRemediation("Add every partition to the publication (publication-coverage lists those missing) and capture the partitions, " +
						"not the partitioned tables, in the connector; partitions created later must be added to both. " +
						"Or upgrade to PostgreSQL 13 or later and publish through the root (publish_via_partition_root = true).")
			case !f.Publication.Exists:
				return rules.Skip("publication %s does not exist (see publication-exists)", q)
			case f.Publication.ViaRoot == nil:
				return rules.Errored(&facts.Error{Op: "read the publication", Message: "publish_via_partition_root was not read"})
			case !*f.Publication.ViaRoot:
				text := "Publish partition changes under the partitioned table's name. " + ownerNote(f) +
					" Make sure the partitioned tables themselves are in the publication (not only their partitions). " +
					"Partition changes then arrive under the partitioned table's name instead: re-snapshot these tables."
				// Roots published only through their partitions would be
				// the next finding once the option is on: add them too.
				var steps []rules.Step
				if roots := rootsViaLeaves(f); len(roots) > 0 {
					steps = append(steps, addToPublication(q, quotedNames(roots)...))
				}
				steps = append(steps, setPublicationOption(q, "publish_via_partition_root = true"))
				return partitionsScope(f, rules.Finding("publish_via_partition_root is off: changes to %s arrive under their partitions' names",
					strings.Join(quotedNames(parts), ", "))).WithObjects(quotedNames(parts)...).
					WithSteps(text, steps...)
			}
			// On, but it applies only to a partitioned table that is itself
			// published: partitions added one by one still publish as themselves.
			viaLeaves := rootsViaLeaves(f)
			if len(viaLeaves) == 0 {
				return rules.Pass("publish_via_partition_root is on: changes to %s arrive under their own names",
					plural(len(parts), "partitioned table", "partitioned tables"))
			}
			return partitionsScope(f, rules.Finding("publication %s lists the partitions of %s but not the tables themselves: changes arrive under the partitions' names",
				q, strings.Join(quotedNames(viaLeaves), ", "))).WithObjects(quotedNames(viaLeaves)...).
				WithSteps("Add the partitioned tables themselves. "+ownerNote(f), addToPublication(q, quotedNames(viaLeaves)...))
		},
	}
}

// partitionsScope: a capture list naming a partitioned table drops the
// changes that arrive under its partitions' names, an error. With no
// capture list the connector captures the partitions themselves and their
// changes arrive, as tables of their own: a warning, saying so.
func partitionsScope(f *facts.Facts, o rules.Outcome) rules.Outcome {
	if f.Tables.Listed {
		o.Message += ", which a capture list naming the partitioned table drops"
		return o
	}
	return inDefaultScope(f, o, "with no capture list the connector captures the partitions themselves, so their changes do arrive, under the partitions' names")
}

// rootsViaLeaves are the captured partitioned tables that a publication
// carries only through their partitions, not by their own name: with
// publish_via_partition_root on, those partitions still publish as
// themselves. Roots not carried at all are publication-coverage's.
func rootsViaLeaves(f *facts.Facts) []facts.Table {
	p := f.Publication
	if !p.Exists || p.AllTables || p.ViaRoot == nil || f.Server.Major() < 13 {
		return nil
	}
	var out []facts.Table
	for _, t := range capturedPartitioned(f) {
		// With the option off pg_publication_tables shows partitions, not
		// roots, so only the catalog tells whether a root is named.
		named := t.Published
		if !*p.ViaRoot {
			named = isMember(f, t.Quoted) || slices.Contains(p.Schemas, sqlident.Quote(t.Schema))
		}
		if !named && covered(f, t) {
			out = append(out, t)
		}
	}
	return out
}

// filtered lists captured tables, and partitions of captured tables, that
// have a row filter or a column list, with what they have.
func filtered(f *facts.Facts) ([]facts.Table, []string) {
	captured := map[string]bool{}
	for _, t := range f.Tables.Tables {
		if t.Captured {
			captured[t.Quoted] = true
		}
	}
	var ts []facts.Table
	var desc []string
	for _, t := range f.Tables.Tables {
		inScope := t.Captured || captured[t.PartitionOf()]
		if !inScope || (!t.RowFilter && !t.ColumnList) {
			continue
		}
		var what []string
		if t.RowFilter {
			what = append(what, "row filter")
		}
		if t.ColumnList {
			what = append(what, "column list")
		}
		ts = append(ts, t)
		desc = append(desc, t.Quoted+" ("+strings.Join(what, ", ")+")")
	}
	return ts, desc
}

func publicationFilters() rules.Rule {
	return rules.Rule{
		ID: "publication-filters", Title: "No row filters or column lists on captured tables",
		Category: rules.CategoryPublication, Severity: rules.Error, Since: since,
		Needs: []facts.Section{facts.SectionPublication, facts.SectionTables, facts.SectionServer},
		Why: `From PostgreSQL 15 a publication may filter a table's rows (FOR TABLE t WHERE (…)) or columns
(FOR TABLE t (a, b)). The snapshot reads the whole table with SELECT, but the stream carries only
what the publication lets through: changes to rows outside the filter never arrive, an UPDATE that
moves a row out of the filter is sent as a DELETE (the row vanishes downstream while it still exists
at the source), and columns left out of the list are missing from every change. The destination
silently diverges from the source: an error for a table named in the capture list, a warning for
one merely in the default all-tables scope. If a filter is intended, lower this rule's severity in
the config, so that the decision is written down. A filter or list outside the table's replica
identity also makes the application's UPDATE and DELETE fail: see replica-identity.`,
		Fix: `Re-list the publication's tables without the filter, in one statement, as the owner of the
publication and of the tables. SET TABLE replaces the whole list, so repeat every table:
ALTER PUBLICATION streamkap_pub SET TABLE public.orders, streamkap.streamkap_signal;
(with TABLES IN SCHEMA in the publication, SET needs a superuser). Never DROP PUBLICATION: the
connector's slot then fails with "publication does not exist". Re-snapshot the affected tables.`,
		Eval: func(f *facts.Facts) rules.Outcome {
			q := sqlident.Quote(f.Options.Publication)
			if major := f.Server.Major(); major < 15 {
				return rules.Skip("PostgreSQL %d has no row filters or column lists", major)
			}
			if !f.Publication.Exists {
				return rules.Skip("publication %s does not exist (see publication-exists)", q)
			}
			ts, desc := filtered(f)
			if len(ts) == 0 {
				return rules.Pass("no row filter or column list on captured tables in publication %s", q)
			}
			text := "Re-list the publication's tables without these filters: SET TABLE replaces the whole list in one statement, " +
				"so it repeats every table, keeping the filters of tables not captured (except those that make UPDATE or DELETE fail: see replica-identity). " + ownerNote(f)
			if len(f.Publication.Schemas) > 0 {
				text += " The publication also has TABLES IN SCHEMA, so SET needs a superuser."
			}
			text += " Never DROP PUBLICATION: the connector's slot then fails with 'publication does not exist'. " +
				"Rows and columns filtered out so far never reached the destination: re-snapshot these tables."
			var steps []rules.Step
			if len(f.Publication.Members) > 0 {
				// The same statement replica-identity plans, which also drops
				// the filters that break UPDATE and DELETE on tables not captured.
				steps = append(steps, filterStrip(f))
			}
			return inDefaultScope(f, rules.Finding("row filters or column lists in publication %s drop changes of captured tables: %s",
				q, strings.Join(desc, ", ")), "").WithObjects(quotedNames(ts)...).WithSteps(text, steps...)
		},
	}
}
