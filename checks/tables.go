package checks

import (
	"fmt"
	"slices"
	"strings"

	"github.com/cdcpreflight/cdcpreflight/facts"
	"github.com/cdcpreflight/cdcpreflight/internal/sqlident"
	"github.com/cdcpreflight/cdcpreflight/rules"
)

// defaultScopeNote marks findings softened because the tables are merely
// in the default scope.
const defaultScopeNote = "(in the default all-tables scope, not listed explicitly)"

// inDefaultScope softens a finding about captured tables to a warning when
// the capture is not explicit (no capture list: every user table is in
// scope, wanted or not), and says so, with why when why is not "". A
// capture list makes it an error: changes of a table someone asked for
// fail or go missing. A config severity still overrides either.
func inDefaultScope(f *facts.Facts, o rules.Outcome, why string) rules.Outcome {
	if f.Tables.Listed {
		return o
	}
	o.Message += " " + defaultScopeNote
	if why != "" {
		o.Message += ": " + why
	}
	return o.WithSeverity(rules.Warning)
}

func tablesExist() rules.Rule {
	return rules.Rule{
		ID: "tables-exist", Title: "Every table in the capture list exists and is a table",
		Category: rules.CategoryTables, Severity: rules.Error, Since: since,
		Needs: []facts.Section{facts.SectionTables},
		Why: `The connector captures the tables it is told to. A name that matches nothing (a typo, a table not
created yet, or a case mismatch: names match exactly as PostgreSQL stores them, so public.orderitems
is not public."OrderItems") is captured by nobody, silently. Views, materialized views and foreign
tables hold no rows of their own in the WAL and cannot be published: adding one to a publication fails
with SQLSTATE 22023 ("\"v\" is not a table" on older majors, "cannot add relation \"v\" to
publication" from 15), and FOR ALL TABLES publications skip them, so they never produce change events.`,
		Fix: `Correct the capture list (--tables, --tables-file, config, or the connector's table list): spell
names exactly as PostgreSQL stores them (schema.table, quoted where needed: public."Order Items"),
create tables that are missing, and replace views, materialized views and foreign tables by the
ordinary tables they read from.`,
		Eval: func(f *facts.Facts) rules.Outcome {
			tb := f.Tables
			captured := 0
			for _, t := range tb.Tables {
				if t.Captured {
					captured++
				}
			}
			if !tb.Listed {
				return rules.Pass("default scope: %s outside system schemas", plural(captured, "table", "tables"))
			}
			var problems, objects []string
			for _, m := range tb.Missing {
				name, what := sqlident.Qualified(m.Schema, m.Table), "does not exist"
				if m.Table == "" {
					name, what = "schema "+sqlident.Quote(m.Schema), "does not exist"
				}
				for _, v := range tb.CaseVariants {
					if v.Listed == m {
						what += "; did you mean " + v.Found + "?"
					}
				}
				problems = append(problems, fmt.Sprintf("%s %s", name, what))
				objects = append(objects, name)
			}
			for _, t := range tb.Tables {
				if kind, bad := nonTableKinds[t.Kind.String()]; bad && t.Captured {
					problems = append(problems, fmt.Sprintf("%s is a %s", t.Quoted, kind))
					objects = append(objects, t.Quoted)
				}
			}
			if len(problems) == 0 {
				return rules.Pass("the capture list resolves to %s", plural(captured, "table", "tables"))
			}
			return rules.Finding("the capture list names %s that cannot be captured: %s",
				plural(len(problems), "entry", "entries"), strings.Join(problems, "; ")).
				WithObjects(objects...).
				WithRemediation("Fix the capture list: spell each name exactly as PostgreSQL stores it (quoted where needed), " +
					"create the tables that are missing, and capture the tables behind views, materialized views and foreign tables instead of them.")
		},
	}
}

var nonTableKinds = map[string]string{"v": "view", "m": "materialized view", "f": "foreign table"}

// identityProblem says why t has no usable replica identity.
func identityProblem(t facts.Table) string {
	switch t.ReplicaIdentity {
	case 'n':
		return "REPLICA IDENTITY NOTHING"
	case 'i':
		return "its replica identity index was dropped or is invalid"
	case 'd':
		if t.HasPrimaryKey && t.PrimaryKeyDeferrable {
			return "its primary key is DEFERRABLE, and PostgreSQL uses only an immediate index as replica identity"
		}
	}
	return "no primary key"
}

func leafNames(ts []facts.Leaf) []string {
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = t.Quoted
	}
	return out
}

func replicaIdentity() rules.Rule {
	return rules.Rule{
		ID: "replica-identity", Title: "Published and captured tables have a usable replica identity",
		Category: rules.CategoryTables, Severity: rules.Error, Since: since,
		Needs: []facts.Section{facts.SectionTables, facts.SectionPublication},
		Why: `This breaks the application, not only the connector. Once a table is in a publication that publishes
updates or deletes, PostgreSQL refuses UPDATE and DELETE on it unless it has a replica identity: a
primary key (REPLICA IDENTITY DEFAULT), a unique index named with REPLICA IDENTITY USING INDEX, or
REPLICA IDENTITY FULL. The application's statements then fail on the source with SQLSTATE 55000:
"cannot update table \"t\" because it does not have a replica identity and publishes updates" (and
"cannot delete from table …"); INSERT still works. A FOR ALL TABLES publication pulls in every keyless
table of the database, including ones nobody meant to capture. A UNIQUE index is not enough under
DEFAULT, a DEFERRABLE primary key does not count (PostgreSQL uses only an immediate index), and
REPLICA IDENTITY USING INDEX whose index was later dropped leaves the table with none.
From PostgreSQL 15 the identity must also cover what every publication of the table filters on: a
row filter may read only replica identity columns ("Column used in the publication WHERE expression
is not part of the replica identity"), a column list must hold every replica identity column and is
not allowed at all under REPLICA IDENTITY FULL ("Column list used by the publication does not cover
the replica identity"); on 18 the identity may not hold a generated column the publication does not
publish ("Replica identity must not contain unpublished generated columns"). UPDATE and DELETE then
fail with SQLSTATE 42P10, whichever publication of the table it is. For partitioned tables the
partition (where the row lives) must have the identity, and with publish_via_partition_root the
root's filter and column list are checked against it.`,
		Fix: `As the table owner, give each table a replica identity. Best is a primary key:
ALTER TABLE <table> ADD PRIMARY KEY (<columns>);. A unique index on NOT NULL columns can serve:
ALTER TABLE <table> REPLICA IDENTITY USING INDEX <index>;. Otherwise:
ALTER TABLE <table> REPLICA IDENTITY FULL; (every UPDATE and DELETE then writes the whole old row to
the WAL). A DEFERRABLE primary key must be re-created NOT DEFERRABLE (ALTER CONSTRAINT cannot change
it), or replaced as identity by an immediate unique index. For a row filter or column list outside
the identity, re-list the publication's tables without it (ALTER PUBLICATION … SET TABLE, every
table in one statement) or widen the identity (FULL covers any row filter, but allows no column
list). ALTER TABLE takes an ACCESS EXCLUSIVE lock: run SET lock_timeout = '5s'; first and retry,
so that it never queues in front of the application's queries.`,
		Eval: func(f *facts.Facts) rules.Outcome {
			fixes, checked := identityFixes(f, false)
			if len(fixes) == 0 {
				gaps := 0
				for _, l := range f.Tables.Leaves() {
					if l.Publishable() && (l.InPublication || l.InCapture) && !l.UsableIdentity() {
						gaps++
					}
				}
				if gaps > 0 {
					return rules.Pass("%s no usable replica identity, but publication %s publishes neither updates nor deletes",
						plural(gaps, "table has", "tables have"), sqlident.Quote(f.Options.Publication))
				}
				return rules.Pass("all %s published or captured have a usable replica identity", plural(checked, "table", "tables"))
			}
			type group struct {
				state, stmts string
				now          bool
				tables       []string
			}
			var groups []*group
			var objects []string
			for _, fx := range fixes {
				objects = append(objects, fx.leaf.Quoted)
				reasons := map[*group][]string{}
				for _, is := range fx.issues {
					var g *group
					for _, x := range groups {
						if x.state == is.state() && x.stmts == is.stmts && x.now == is.now {
							g = x
						}
					}
					if g == nil {
						g = &group{state: is.state(), stmts: is.stmts, now: is.now}
						groups = append(groups, g)
					}
					reasons[g] = append(reasons[g], describeIssue(fx.leaf, is))
				}
				for _, g := range groups {
					if r, ok := reasons[g]; ok {
						g.tables = append(g.tables, fx.leaf.Quoted+" ("+strings.Join(r, "; ")+")")
					}
				}
			}
			// 55000 first, as it always was; then the filters.
			slices.SortStableFunc(groups, func(a, b *group) int { return strings.Compare(b.state, a.state) })
			pub := sqlident.Quote(f.Options.Publication)
			var parts []string
			for _, g := range groups {
				switch {
				case g.state == "55000" && g.now:
					parts = append(parts, fmt.Sprintf("%s on %s in publication %s fail on the source now (SQLSTATE 55000): %s",
						g.stmts, plural(len(g.tables), "table", "tables"), pub, listNames(g.tables)))
				case g.state == "55000":
					parts = append(parts, fmt.Sprintf("%s on %s will fail once added to the publication: %s",
						g.stmts, plural(len(g.tables), "captured table", "captured tables"), listNames(g.tables)))
				case g.now:
					parts = append(parts, fmt.Sprintf("%s on %s fail on the source now (SQLSTATE %s): %s",
						g.stmts, plural(len(g.tables), "table", "tables"), g.state, listNames(g.tables)))
				default:
					parts = append(parts, fmt.Sprintf("%s on %s will fail once added to the publication (SQLSTATE %s): %s",
						g.stmts, plural(len(g.tables), "captured table", "captured tables"), g.state, listNames(g.tables)))
				}
			}
			// A step per table: built only when fix asks for them.
			return rules.Finding("%s", strings.Join(parts, "; ")).WithObjects(objects...).
				WithStepSeq(identityRemedy(fixes), identityStepSeq(f, fixes))
		},
	}
}

func replicaIdentityFull() rules.Rule {
	return rules.Rule{
		ID: "replica-identity-full", Title: "Captured tables are REPLICA IDENTITY FULL",
		Category: rules.CategoryTables, Severity: rules.Warning, Since: since,
		Needs: []facts.Section{facts.SectionTables},
		Why: `With the default replica identity (the primary key) the WAL carries only the key of a deleted row, and
for an UPDATE only the new row, in which a large (TOASTed) column that did not change is not included.
So delete events carry the key and every other column empty, and update events carry unchanged TOAST
columns as a placeholder ("__debezium_unavailable_value") instead of their value. Destinations that keep
deleted rows (soft deletes) or audit history end up with incomplete records; that is why Streamkap's
guide asks for REPLICA IDENTITY FULL in those cases, and why --soft-deletes makes this an error.
FULL costs WAL: every UPDATE and DELETE logs the whole old row.`,
		Fix: `As the table owner: SET lock_timeout = '5s'; ALTER TABLE <table> REPLICA IDENTITY FULL; for each
captured table (for partitioned tables, on each partition). The ALTER takes an ACCESS EXCLUSIVE lock
but does not rewrite the table; retry it if the lock timeout fires.`,
		Eval: func(f *facts.Facts) rules.Outcome {
			var notFull []facts.Leaf
			captured := 0
			for _, l := range f.Tables.Leaves() {
				if !l.InCapture || !l.Publishable() {
					continue
				}
				captured++
				if l.ReplicaIdentity != 'f' {
					notFull = append(notFull, l)
				}
			}
			if len(notFull) == 0 {
				if captured == 0 {
					return rules.Pass("no captured tables")
				}
				return rules.Pass("all %s REPLICA IDENTITY FULL", plural(captured, "captured table is", "captured tables are"))
			}
			names := leafNames(notFull)
			msg := fmt.Sprintf("%d of %s not REPLICA IDENTITY FULL: delete events carry only the key and unchanged TOAST columns arrive as placeholders (%s)",
				len(notFull), plural(captured, "captured table is", "captured tables are"), listNames(names))
			var refused []string
			stepped := notFull // until a table is refused
			for i, l := range notFull {
				// FULL allows no column list and, on 18, no unpublished
				// generated column: there it would make UPDATE and DELETE fail.
				if issues := identityIssues(f, l, replIdentity{kind: "full"}, assume{}); len(issues) > 0 {
					if len(refused) == 0 {
						stepped = slices.Clone(notFull[:i])
					}
					refused = append(refused, l.Quoted+" ("+describeIssue(l, issues[0])+")")
					continue
				}
				if len(refused) > 0 {
					stepped = append(stepped, l)
				}
			}
			// A step per table: built only when fix asks for them.
			steps := func(yield func(rules.Step) bool) {
				for _, l := range stepped {
					s := alterTable(rules.PhaseIdentity, l.Quoted, "REPLICA IDENTITY FULL")
					s.OptIn = rules.OptInReplicaIdentityFull
					s.Note = "every UPDATE and DELETE on the table then writes the whole old row to the WAL"
					if !yield(s) {
						return
					}
				}
			}
			text := "As each table's owner, set REPLICA IDENTITY FULL (an ACCESS EXCLUSIVE lock, no rewrite; retry if the lock timeout fires). " +
				"Every UPDATE and DELETE on these tables then writes the whole old row to the WAL."
			if len(refused) > 0 {
				text += " No step sets FULL where it would make UPDATE and DELETE fail (42P10): " + listNames(refused) +
					"; remove the column list, or publish the generated columns, first (see publication-filters, generated-columns)."
			}
			out := rules.Finding("%s", msg).WithObjects(names...).WithStepSeq(text, steps)
			if f.Options.SoftDeletes {
				out.Message += "; with soft deletes the destination keeps deleted rows with only their key"
				out = out.WithSeverity(rules.Error)
			}
			return out
		},
	}
}

func unloggedTables() rules.Rule {
	return rules.Rule{
		ID: "unlogged-tables", Title: "No captured table is UNLOGGED",
		Category: rules.CategoryTables, Severity: rules.Error, Since: since,
		Needs: []facts.Section{facts.SectionTables},
		Why: `An UNLOGGED table writes nothing to the WAL, so logical decoding never sees its changes: the
connector may snapshot it, then no change event ever follows. It cannot be added to a publication
(SQLSTATE 22023: "table \"t\" cannot be replicated" on older majors, "cannot add relation \"t\" to
publication" from 15), and FOR ALL TABLES publications skip it. After a crash PostgreSQL also empties it.
Its changes silently go missing: an error for a table named in the capture list, a warning for one
merely in the default all-tables scope (a scratch or cache table nobody meant to capture).`,
		Fix: `Make the table logged: SET lock_timeout = '5s'; ALTER TABLE <table> SET LOGGED; (it rewrites the
table and writes all of it to the WAL under an ACCESS EXCLUSIVE lock: plan a window for large
tables), or remove it from the capture list.`,
		Eval: func(f *facts.Facts) rules.Outcome {
			unlogged := leafNames(f.Tables.UnloggedCaptured())
			if len(unlogged) == 0 {
				return rules.Pass("no captured table is UNLOGGED")
			}
			steps := make([]rules.Step, len(unlogged))
			for i, n := range unlogged {
				steps[i] = alterTable(rules.PhaseIdentity, n, "SET LOGGED")
				steps[i].OptIn = rules.OptInSetLogged
				steps[i].Note = "rewrites the table and writes all of it to the WAL, holding the lock throughout: plan a window for a large table"
			}
			return inDefaultScope(f, rules.Finding("%s UNLOGGED (unlogged tables never produce change events): %s",
				plural(len(unlogged), "captured table is", "captured tables are"), listNames(unlogged)), "").
				WithObjects(unlogged...).
				WithSteps("As each table's owner, make it logged (SET LOGGED rewrites the table and writes it all to the WAL, "+
					"under an ACCESS EXCLUSIVE lock: plan a window for large tables), or stop capturing it.", steps...)
		},
	}
}

func generatedColumns() rules.Rule {
	return rules.Rule{
		ID: "generated-columns", Title: "Generated columns of captured tables are replicated",
		Category: rules.CategoryTables, Severity: rules.Error, Since: since,
		Needs: []facts.Section{facts.SectionServer, facts.SectionTables}, MayNeed: []facts.Section{facts.SectionPublication},
		Why: `Stored generated columns (GENERATED ALWAYS AS … STORED, PostgreSQL 12+) are not sent by pgoutput
before PostgreSQL 18: the snapshot (a SELECT) has them, change events do not, so the destination holds
values from the snapshot that later changes never update. PostgreSQL 18 sends stored ones only when
the publication has publish_generated_columns = stored (the default is none), and never sends virtual
ones (GENERATED ALWAYS AS (…) without STORED is virtual on 18). Like a column list, that silently
leaves the destination's copy of the column stale: an error for a table named in the capture list, a
warning for one merely in the default all-tables scope. If the destination computes the column
itself, lower this rule's severity in the config, so that the decision is written down.`,
		Fix: `PostgreSQL 18: ALTER PUBLICATION <publication> SET (publish_generated_columns = stored);. Before 18,
or for a virtual column: compute the column in the destination, or turn it into an ordinary column
kept up to date by a trigger (on 18, into a STORED generated column), or upgrade to 18.`,
		Eval: func(f *facts.Facts) rules.Outcome {
			major := f.Server.Major()
			if major < 12 {
				return rules.Skip("PostgreSQL %d has no generated columns", major)
			}
			var names, details, virtualNames, virtualDetails []string
			for _, t := range f.Tables.Tables {
				if !t.Captured || len(t.Generated()) == 0 {
					continue
				}
				names = append(names, t.Quoted)
				details = append(details, t.Quoted+" ("+quoteCols(t.Generated())+")")
				if len(t.VirtualGenerated()) > 0 {
					virtualNames = append(virtualNames, t.Quoted)
					virtualDetails = append(virtualDetails, t.Quoted+" ("+quoteCols(t.VirtualGenerated())+")")
				}
			}
			if len(names) == 0 {
				return rules.Pass("no captured table has generated columns")
			}
			pub := f.Publication
			if major < 18 {
				return inDefaultScope(f, rules.Finding("PostgreSQL %d does not replicate generated columns: change events of %s lack them: %s",
					major, plural(len(names), "captured table", "captured tables"), listNames(details)), "").
					WithObjects(names...).
					WithRemediation("Compute these columns in the destination, or make them ordinary columns kept up to date by a trigger, " +
						"or upgrade to PostgreSQL 18 and set publish_generated_columns = stored on the publication.")
			}
			if o, ok := rules.Need(f, facts.SectionPublication); !ok {
				return o
			}
			virtual := "Virtual generated columns are never published: compute them in the destination, " +
				"or re-create them as STORED generated columns (ADD COLUMN … GENERATED ALWAYS AS (…) STORED, then drop the virtual one)."
			if pub.Exists && pub.GeneratedColumns == "stored" {
				if len(virtualNames) > 0 {
					return inDefaultScope(f, rules.Finding("PostgreSQL %d never publishes virtual generated columns: change events of %s lack them: %s",
						major, plural(len(virtualNames), "captured table", "captured tables"), listNames(virtualDetails)), "").
						WithObjects(virtualNames...).WithRemediation(virtual)
				}
				return rules.Pass("publication %s publishes the stored generated columns of %s",
					sqlident.Quote(pub.Name), plural(len(names), "captured table", "captured tables"))
			}
			msg := fmt.Sprintf("%s generated columns that publication %s does not publish (publish_generated_columns = none): %s",
				plural(len(names), "captured table has", "captured tables have"), sqlident.Quote(pub.Name), listNames(details))
			text := "As the publication's owner, publish stored generated columns."
			if len(virtualNames) > 0 {
				msg += fmt.Sprintf("; the virtual ones of %s are never published", listNames(virtualNames))
				text += " " + virtual
			}
			out := inDefaultScope(f, rules.Finding("%s", msg), "").WithObjects(names...)
			if !pub.Exists {
				return out.WithRemediation(fmt.Sprintf(
					"Create publication %s WITH (publish_generated_columns = stored) when you create it.", sqlident.Quote(pub.Name)))
			}
			return out.WithSteps(text, setPublicationOption(sqlident.Quote(pub.Name), "publish_generated_columns = stored"))
		},
	}
}

// tableRules judge the captured and published tables.
func tableRules() []rules.Rule {
	return []rules.Rule{tablesExist(), replicaIdentity(), replicaIdentityFull(), unloggedTables(), generatedColumns()}
}
