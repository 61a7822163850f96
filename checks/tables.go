package checks

import (
	"fmt"
	"slices"
	"strings"

	"github.com/cdcpreflight/cdcpreflight/facts"
	"github.com/cdcpreflight/cdcpreflight/internal/sqlident"
	"github.com/cdcpreflight/cdcpreflight/rules"
)

// dmlLeaf is a table that rows live in (DML runs there, not on a partitioned
// root), with the scope it inherits from the root it belongs to.
type dmlLeaf struct {
	facts.Table
	captured, published bool
}

// dmlLeaves returns the ordinary tables among ts. A partition counts as
// captured or published when its partitioned root is: UPDATE and DELETE
// run on the partition, whose own replica identity then decides.
func dmlLeaves(ts []facts.Table) []dmlLeaf {
	roots := map[string]facts.Table{}
	for _, t := range ts {
		if t.Kind == "p" {
			roots[t.Quoted] = t
		}
	}
	var out []dmlLeaf
	for _, t := range ts {
		if t.Kind != "r" {
			continue
		}
		l := dmlLeaf{Table: t, captured: t.Captured, published: t.Published}
		if root, ok := roots[t.PartitionOf]; ok {
			l.captured = l.captured || root.Captured
			l.published = l.published || root.Published
		}
		out = append(out, l)
	}
	return out
}

// canPublish: temporary and unlogged tables are never published, so
// publication rules (and the replica identity check) do not apply to them.
func canPublish(t facts.Table) bool { return t.Persistence != "u" && t.Persistence != "t" }

func tablesExist() rules.Rule {
	return rules.Rule{
		ID: "tables-exist", Title: "Every table in the capture list exists and is a table",
		Category: rules.CategoryTables, Severity: rules.Error, Since: since,
		Needs: []string{"tables"},
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
			if o, ok := needDB(f, f.Tables.Err); !ok {
				return o
			}
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
				if kind, bad := nonTableKinds[t.Kind]; bad && t.Captured {
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
	case "n":
		return "REPLICA IDENTITY NOTHING"
	case "i":
		return "its replica identity index was dropped or is invalid"
	}
	return "no primary key"
}

func describeLeaves(ts []dmlLeaf, why func(facts.Table) string) []string {
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = t.Quoted + " (" + why(t.Table) + ")"
	}
	return out
}

func leafNames(ts []dmlLeaf) []string {
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = t.Quoted
	}
	return out
}

// failingStatements names what the publication makes fail on a table
// without a replica identity. A publication not created yet is assumed
// to publish updates and deletes, as CREATE PUBLICATION does by default.
func failingStatements(p facts.Publication) string {
	switch {
	case !p.Exists || (p.Update && p.Delete):
		return "UPDATE and DELETE"
	case p.Update:
		return "UPDATE"
	case p.Delete:
		return "DELETE"
	}
	return ""
}

func replicaIdentity() rules.Rule {
	return rules.Rule{
		ID: "replica-identity", Title: "Published and captured tables have a usable replica identity",
		Category: rules.CategoryTables, Severity: rules.Error, Since: since,
		Needs: []string{"tables", "publication"},
		Why: `This breaks the application, not only the connector. Once a table is in a publication that publishes
updates or deletes, PostgreSQL refuses UPDATE and DELETE on it unless it has a replica identity: a
primary key (REPLICA IDENTITY DEFAULT), a unique index named with REPLICA IDENTITY USING INDEX, or
REPLICA IDENTITY FULL. The application's statements then fail on the source with SQLSTATE 55000:
"cannot update table \"t\" because it does not have a replica identity and publishes updates" (and
"cannot delete from table …"); INSERT still works. A FOR ALL TABLES publication pulls in every keyless
table of the database, including ones nobody meant to capture. A UNIQUE index is not enough under
DEFAULT, and REPLICA IDENTITY USING INDEX whose index was later dropped leaves the table with none.
For partitioned tables the partition (where the row lives) must have the identity.`,
		Fix: `As the table owner, give each table a replica identity. Best is a primary key:
ALTER TABLE <table> ADD PRIMARY KEY (<columns>);. A unique index on NOT NULL columns can serve:
ALTER TABLE <table> REPLICA IDENTITY USING INDEX <index>;. Otherwise:
ALTER TABLE <table> REPLICA IDENTITY FULL; (every UPDATE and DELETE then writes the whole old row to
the WAL). ALTER TABLE takes an ACCESS EXCLUSIVE lock: run SET lock_timeout = '5s'; first and retry,
so that it never queues in front of the application's queries.`,
		Eval: func(f *facts.Facts) rules.Outcome {
			if o, ok := needDB(f, f.Tables.Err, f.Publication.Err); !ok {
				return o
			}
			published, pending, checked := identityGaps(f)
			if len(published)+len(pending) == 0 {
				return rules.Pass("all %s published or captured have a usable replica identity", plural(checked, "table", "tables"))
			}
			stmts := failingStatements(f.Publication)
			if stmts == "" {
				return rules.Pass("%s no usable replica identity, but publication %s publishes neither updates nor deletes",
					plural(len(published)+len(pending), "table has", "tables have"), sqlident.Quote(f.Publication.Name))
			}
			var parts []string
			if len(published) > 0 {
				parts = append(parts, fmt.Sprintf("%s on %s in publication %s fail on the source now (SQLSTATE 55000): %s",
					stmts, plural(len(published), "table", "tables"), sqlident.Quote(f.Publication.Name),
					listNames(describeLeaves(published, identityProblem))))
			}
			if len(pending) > 0 {
				parts = append(parts, fmt.Sprintf("%s on %s will fail once added to the publication: %s",
					stmts, plural(len(pending), "captured table", "captured tables"),
					listNames(describeLeaves(pending, identityProblem))))
			}
			all := slices.Concat(published, pending)
			return rules.Finding("%s", strings.Join(parts, "; ")).WithObjects(leafNames(all)...).
				WithSteps(identityRemedy(all), identitySteps(all)...)
		},
	}
}

// identityGaps are the tables without a usable replica identity that are
// published, and those captured that a publication will take in, with how
// many tables were checked.
func identityGaps(f *facts.Facts) (published, pending []dmlLeaf, checked int) {
	for _, l := range dmlLeaves(f.Tables.Tables) {
		if !canPublish(l.Table) || (!l.published && !l.captured) {
			continue
		}
		checked++
		switch {
		case l.UsableIdentity():
		case l.published:
			published = append(published, l)
		default:
			pending = append(pending, l)
		}
	}
	return published, pending, checked
}

func identityRemedy(ts []dmlLeaf) string {
	text := "As each table's owner, give it a replica identity. Where the table has a natural key, a primary key is best " +
		"(ALTER TABLE … ADD PRIMARY KEY (…);). The statements below use a unique index on NOT NULL columns where one exists " +
		"(REPLICA IDENTITY USING INDEX) and REPLICA IDENTITY FULL otherwise (every UPDATE and DELETE then logs the whole old row). " +
		"ALTER TABLE takes an ACCESS EXCLUSIVE lock: with lock_timeout set it gives up instead of blocking the application; retry it."
	for _, t := range ts {
		if t.PartitionOf != "" {
			return text + " Partitions need their own replica identity: the ALTER is per partition, not on the partitioned table."
		}
	}
	return text
}

// identitySteps give each table a replica identity before the publication
// phase adds it. They are the default, unlike replica-identity-full's
// FULL: without an identity the application's UPDATE and DELETE fail.
func identitySteps(ts []dmlLeaf) []rules.Step {
	steps := make([]rules.Step, len(ts))
	for i, t := range ts {
		if t.IdentityCandidate != "" {
			steps[i] = alterTable(rules.PhaseIdentity, t.Quoted, "REPLICA IDENTITY USING INDEX "+t.IdentityCandidate)
		} else {
			steps[i] = alterTable(rules.PhaseIdentity, t.Quoted, "REPLICA IDENTITY FULL")
		}
	}
	return steps
}

func replicaIdentityFull() rules.Rule {
	return rules.Rule{
		ID: "replica-identity-full", Title: "Captured tables are REPLICA IDENTITY FULL",
		Category: rules.CategoryTables, Severity: rules.Warning, Since: since,
		Needs: []string{"tables", "options"},
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
			if o, ok := needDB(f, f.Tables.Err); !ok {
				return o
			}
			var notFull []dmlLeaf
			captured := 0
			for _, l := range dmlLeaves(f.Tables.Tables) {
				if !l.captured || !canPublish(l.Table) {
					continue
				}
				captured++
				if l.ReplicaIdentity != "f" {
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
			steps := make([]rules.Step, len(names))
			for i, n := range names {
				steps[i] = alterTable(rules.PhaseIdentity, n, "REPLICA IDENTITY FULL")
				steps[i].OptIn = rules.OptInReplicaIdentityFull
				steps[i].Note = "every UPDATE and DELETE on the table then writes the whole old row to the WAL"
			}
			out := rules.Finding("%s", msg).WithObjects(names...).WithSteps(
				"As each table's owner, set REPLICA IDENTITY FULL (an ACCESS EXCLUSIVE lock, no rewrite; retry if the lock timeout fires). "+
					"Every UPDATE and DELETE on these tables then writes the whole old row to the WAL.", steps...)
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
		Category: rules.CategoryTables, Severity: rules.Warning, Since: since,
		Needs: []string{"tables"},
		Why: `An UNLOGGED table writes nothing to the WAL, so logical decoding never sees its changes: the
connector may snapshot it, then no change event ever follows. It cannot be added to a publication
(SQLSTATE 22023: "table \"t\" cannot be replicated" on older majors, "cannot add relation \"t\" to
publication" from 15), and FOR ALL TABLES publications skip it. After a crash PostgreSQL also empties it.`,
		Fix: `Make the table logged: SET lock_timeout = '5s'; ALTER TABLE <table> SET LOGGED; (it rewrites the
table and writes all of it to the WAL under an ACCESS EXCLUSIVE lock: plan a window for large
tables), or remove it from the capture list.`,
		Eval: func(f *facts.Facts) rules.Outcome {
			if o, ok := needDB(f, f.Tables.Err); !ok {
				return o
			}
			var unlogged []string
			for _, l := range dmlLeaves(f.Tables.Tables) {
				if l.captured && l.Persistence == "u" {
					unlogged = append(unlogged, l.Quoted)
				}
			}
			if len(unlogged) == 0 {
				return rules.Pass("no captured table is UNLOGGED")
			}
			steps := make([]rules.Step, len(unlogged))
			for i, n := range unlogged {
				steps[i] = alterTable(rules.PhaseIdentity, n, "SET LOGGED")
				steps[i].OptIn = rules.OptInSetLogged
				steps[i].Note = "rewrites the table and writes all of it to the WAL, holding the lock throughout: plan a window for a large table"
			}
			return rules.Finding("%s UNLOGGED (unlogged tables never produce change events): %s",
				plural(len(unlogged), "captured table is", "captured tables are"), listNames(unlogged)).
				WithObjects(unlogged...).
				WithSteps("As each table's owner, make it logged (SET LOGGED rewrites the table and writes it all to the WAL, "+
					"under an ACCESS EXCLUSIVE lock: plan a window for large tables), or stop capturing it.", steps...)
		},
	}
}

func generatedColumns() rules.Rule {
	return rules.Rule{
		ID: "generated-columns", Title: "Generated columns of captured tables are replicated",
		Category: rules.CategoryTables, Severity: rules.Warning, Since: since,
		Needs: []string{"server", "tables", "publication"},
		Why: `Stored generated columns (GENERATED ALWAYS AS … STORED, PostgreSQL 12+) are not sent by pgoutput
before PostgreSQL 18: the snapshot (a SELECT) has them, change events do not, so the destination holds
values from the snapshot that later changes never update. PostgreSQL 18 sends them only when the
publication has publish_generated_columns = stored (the default is none).`,
		Fix: `PostgreSQL 18: ALTER PUBLICATION <publication> SET (publish_generated_columns = stored);. Before 18:
compute the column in the destination, or turn it into an ordinary column kept up to date by a
trigger, or upgrade to 18.`,
		Eval: func(f *facts.Facts) rules.Outcome {
			if o, ok := needDB(f, f.Server.Err, f.Tables.Err); !ok {
				return o
			}
			major := f.Server.Major()
			if major < 12 {
				return rules.Skip("PostgreSQL %d has no generated columns", major)
			}
			var names, details []string
			for _, t := range f.Tables.Tables {
				if !t.Captured || len(t.Generated) == 0 {
					continue
				}
				cols := make([]string, len(t.Generated))
				for i, c := range t.Generated {
					cols[i] = sqlident.Quote(c)
				}
				names = append(names, t.Quoted)
				details = append(details, t.Quoted+" ("+strings.Join(cols, ", ")+")")
			}
			if len(names) == 0 {
				return rules.Pass("no captured table has generated columns")
			}
			pub := f.Publication
			if major < 18 {
				return rules.Finding("PostgreSQL %d does not replicate generated columns: change events of %s lack them: %s",
					major, plural(len(names), "captured table", "captured tables"), listNames(details)).
					WithObjects(names...).
					WithRemediation("Compute these columns in the destination, or make them ordinary columns kept up to date by a trigger, " +
						"or upgrade to PostgreSQL 18 and set publish_generated_columns = stored on the publication.")
			}
			if o, ok := needDB(f, pub.Err); !ok {
				return o
			}
			if pub.Exists && pub.GeneratedColumns == "stored" {
				return rules.Pass("publication %s publishes the stored generated columns of %s",
					sqlident.Quote(pub.Name), plural(len(names), "captured table", "captured tables"))
			}
			msg := fmt.Sprintf("%s generated columns that publication %s does not publish (publish_generated_columns = none): %s",
				plural(len(names), "captured table has", "captured tables have"), sqlident.Quote(pub.Name), listNames(details))
			if !pub.Exists {
				return rules.Finding("%s", msg).WithObjects(names...).WithRemediation(fmt.Sprintf(
					"Create publication %s WITH (publish_generated_columns = stored) when you create it.", sqlident.Quote(pub.Name)))
			}
			return rules.Finding("%s", msg).WithObjects(names...).WithSteps(
				"As the publication's owner, publish stored generated columns.",
				setPublicationOption(sqlident.Quote(pub.Name), "publish_generated_columns = stored"))
		},
	}
}

// tableRules judge the captured and published tables.
func tableRules() []rules.Rule {
	return []rules.Rule{tablesExist(), replicaIdentity(), replicaIdentityFull(), unloggedTables(), generatedColumns()}
}
