package checks

import (
	"fmt"
	"iter"
	"slices"
	"strings"

	"github.com/cdcpreflight/cdcpreflight/facts"
	"github.com/cdcpreflight/cdcpreflight/internal/sqlident"
	"github.com/cdcpreflight/cdcpreflight/rules"
)

// What PostgreSQL checks before an UPDATE or DELETE on a table that a
// publication publishing updates or deletes holds (CheckCmdReplicaIdentity,
// verified on 10, 15, 16, 17 and 18):
//   - the table has a replica identity: an immediate primary key under
//     DEFAULT (a DEFERRABLE one does not count), a valid index under INDEX,
//     or FULL; otherwise 55000;
//   - 15+: every column a row filter reads is in the replica identity
//     (FULL: every column is); otherwise 42P10, "Column used in the
//     publication WHERE expression is not part of the replica identity";
//   - 15+: a column list holds every replica identity column, and under
//     FULL there is no column list at all, even one naming every column;
//     otherwise 42P10, "Column list used by the publication does not cover
//     the replica identity";
//   - 18+: without a column list, the replica identity holds no generated
//     column the publication does not publish: under FULL a stored
//     generated column needs publish_generated_columns = stored and a
//     virtual one is never published; otherwise 42P10, "Replica identity
//     must not contain unpublished generated columns".
//
// Each publication of the table is checked on its own, with the operations
// it publishes; for a partition in a publication with
// publish_via_partition_root, the filter and column list are those of the
// topmost ancestor it publishes, matched by column name against the
// partition's own replica identity (gather resolves which entry applies).

// replIdentity is a replica identity as UPDATE and DELETE see it.
type replIdentity struct {
	kind string   // "none", "full", "index", "default"
	cols []string // the key columns of index and default
}

func currentIdentity(t facts.Table) replIdentity {
	switch {
	case !t.UsableIdentity():
		return replIdentity{kind: "none"}
	case t.ReplicaIdentity == 'f':
		return replIdentity{kind: "full"}
	case t.ReplicaIdentity == 'i':
		return replIdentity{kind: "index", cols: t.IdentityColumns()}
	}
	return replIdentity{kind: "default", cols: t.IdentityColumns()}
}

func (id replIdentity) String() string {
	cols := quoteCols(id.cols)
	switch id.kind {
	case "full":
		return "REPLICA IDENTITY FULL"
	case "index":
		return "the replica identity index (" + cols + ")"
	case "default":
		return "the primary key (" + cols + ")"
	}
	return "no replica identity"
}

// Why an UPDATE or DELETE fails.
const (
	issueNoIdentity = iota // 55000
	issueRowFilter         // 42P10
	issueColumnList        // 42P10
	issueGenerated         // 42P10, 18+
)

var issueDetail = map[int]string{
	issueRowFilter:  "Column used in the publication WHERE expression is not part of the replica identity",
	issueColumnList: "Column list used by the publication does not cover the replica identity",
	issueGenerated:  "Replica identity must not contain unpublished generated columns",
}

type identityIssue struct {
	kind      int
	stmts     string   // "UPDATE and DELETE", "UPDATE" or "DELETE"
	pub       string   // the publication, unquoted
	connector bool     // …which is the connector's
	entry     string   // quoted table the publication's filter names (a partition's root via the root)
	cols      []string // the columns at fault
	now       bool     // fails today, not only once the connector's publication takes the table in
	id        replIdentity
}

func (is identityIssue) state() string {
	if is.kind == issueNoIdentity {
		return "55000"
	}
	return "42P10"
}

// assume are changes a plan would make, for judging a remedy before it runs.
type assume struct {
	allOps    bool // the connector's publication publishes update and delete (publication-operations' fix)
	strip     bool // its filter and column list on the table are re-listed away (SET TABLE)
	genStored bool // it publishes stored generated columns
}

func statements(update, del bool) string {
	switch {
	case update && del:
		return "UPDATE and DELETE"
	case update:
		return "UPDATE"
	case del:
		return "DELETE"
	}
	return ""
}

// identityIssues lists why UPDATE and DELETE on l fail, or will once the
// connector's publication takes l in, with replica identity id.
func identityIssues(f *facts.Facts, l facts.Leaf, id replIdentity, a assume) []identityIssue {
	pub := f.Publication
	// A publication not created yet publishes updates and deletes, as
	// CREATE PUBLICATION does by default.
	connUpdate, connDelete := !pub.Exists || pub.Update || a.allOps, !pub.Exists || pub.Delete || a.allOps
	var out []identityIssue
	defer func() {
		for i := range out {
			out[i].id = id
		}
	}()
	if id.kind == "none" {
		if s := statements(connUpdate, connDelete); s != "" {
			out = append(out, identityIssue{kind: issueNoIdentity, stmts: s, pub: f.Options.Publication, connector: true, now: l.InPublication})
		}
	}
	connectorList := false
	for _, e := range l.Filters() {
		connector := e.Publication == f.Options.Publication
		update, del := e.Update, e.Delete
		if connector {
			if a.strip {
				continue
			}
			update, del = update || a.allOps, del || a.allOps
			connectorList = connectorList || len(e.Columns) > 0
		}
		s := statements(update, del)
		if s == "" {
			continue
		}
		is := identityIssue{stmts: s, pub: e.Publication, connector: connector, entry: e.Table, now: true}
		if e.Where != "" && id.kind != "full" {
			if miss := without(e.WhereColumns, id.cols); len(miss) > 0 {
				is.kind, is.cols = issueRowFilter, miss
				out = append(out, is)
			}
		}
		if len(e.Columns) > 0 {
			if id.kind == "full" {
				is.kind, is.cols = issueColumnList, nil
				out = append(out, is)
			} else if miss := without(id.cols, e.Columns); len(miss) > 0 {
				is.kind, is.cols = issueColumnList, miss
				out = append(out, is)
			}
		}
	}
	// With a column list of its own, the list decides what is published,
	// and the check above covers it.
	if f.Server.Major() >= 18 && !connectorList {
		if s := statements(connUpdate, connDelete); s != "" {
			stored := a.genStored || (pub.Exists && pub.GeneratedColumns == "stored")
			var gen []string
			switch id.kind {
			case "full":
				gen = l.VirtualGenerated()
				if !stored {
					gen = l.Generated()
				}
			case "index", "default":
				// A virtual generated column cannot be indexed.
				if !stored {
					gen = intersect(id.cols, l.Generated())
				}
			}
			if len(gen) > 0 {
				out = append(out, identityIssue{kind: issueGenerated, stmts: s, pub: f.Options.Publication, connector: true,
					cols: slices.Clone(gen), now: l.InPublication})
			}
		}
	}
	return out
}

// identityFix is what makes UPDATE and DELETE on one table work.
type identityFix struct {
	leaf   facts.Leaf
	issues []identityIssue // as things are
	// alter is the ALTER TABLE action giving the table a replica identity
	// that works, "" to keep it.
	alter     string
	strip     bool // re-list the connector publication's entry without its filter and column list
	genStored bool // publish stored generated columns
	// unfixed: no change of the table's identity or of the connector's
	// publication cures these (another publication's column list, a
	// virtual generated column under FULL with no key to use instead):
	// what still fails with tried, the last identity considered.
	unfixed []identityIssue
	tried   replIdentity
}

// planIdentityFix picks the least change that cures l: keep its identity
// and correct the connector's publication, else use its unique index,
// else REPLICA IDENTITY FULL, each with the publication changes it needs.
func planIdentityFix(f *facts.Facts, l facts.Leaf, allOps bool) identityFix {
	cur := currentIdentity(*l.Table)
	fx := identityFix{leaf: l, issues: identityIssues(f, l, cur, assume{allOps: allOps})}
	if len(fx.issues) == 0 {
		return fx
	}
	type choice struct {
		id    replIdentity
		alter string
	}
	var choices []choice
	if cur.kind != "none" {
		choices = append(choices, choice{id: cur})
	}
	// The candidate is the primary key when that is immediate: no choice
	// of its own then, under DEFAULT, nor when it is already the index.
	same := (cur.kind == "index" || cur.kind == "default") && slices.Equal(cur.cols, l.IdentityCandidateColumns())
	if c := l.IdentityCandidate(); c != "" && !same {
		choices = append(choices, choice{replIdentity{kind: "index", cols: l.IdentityCandidateColumns()}, "REPLICA IDENTITY USING INDEX " + c})
	}
	if cur.kind != "full" {
		choices = append(choices, choice{replIdentity{kind: "full"}, "REPLICA IDENTITY FULL"})
	}
	for _, c := range choices {
		a := assume{allOps: allOps}
		for _, is := range identityIssues(f, l, c.id, a) {
			switch {
			case is.connector && (is.kind == issueRowFilter || is.kind == issueColumnList) && len(f.Publication.Members) > 0:
				a.strip = true
			case is.kind == issueGenerated:
				a.genStored = true
			}
		}
		rest := identityIssues(f, l, c.id, a)
		if len(rest) == 0 {
			fx.alter, fx.strip, fx.genStored, fx.unfixed = c.alter, a.strip, a.genStored, nil
			return fx
		}
		fx.unfixed, fx.tried = rest, c.id
	}
	return fx
}

// identityFixes plans a fix for every published or captured table whose
// UPDATE or DELETE fails, or would once the connector's publication takes
// it in (allOps: and publishes update and delete), with how many tables
// were checked. Unlogged and temporary tables are never published.
func identityFixes(f *facts.Facts, allOps bool) (fixes []identityFix, checked int) {
	for _, l := range f.Tables.Leaves() {
		if !l.Publishable() || (!l.InPublication && !l.InCapture) {
			continue
		}
		checked++
		if fx := planIdentityFix(f, l, allOps); len(fx.issues) > 0 {
			fixes = append(fixes, fx)
		}
	}
	return fixes, checked
}

// identityStrips are the tables whose entries in the connector's
// publication a SET TABLE re-lists without filter and column list because
// they make UPDATE or DELETE fail once updates and deletes are published.
func identityStrips(f *facts.Facts) []string {
	if f.Tables.Err != nil || f.Publication.Err != nil || !f.Publication.Exists {
		return nil
	}
	var out []string
	fixes, _ := identityFixes(f, true)
	for _, fx := range fixes {
		if !fx.strip {
			continue
		}
		for _, e := range fx.leaf.Filters() {
			if e.Publication == f.Options.Publication && !slices.Contains(out, e.Table) {
				out = append(out, e.Table)
			}
		}
	}
	return out
}

// identitySteps are the steps of fixes: ALTER TABLE in the identity
// phase, then the publication changes.
func identitySteps(f *facts.Facts, fixes []identityFix) []rules.Step {
	return slices.Collect(identityStepSeq(f, fixes))
}

// identityStepSeq yields identitySteps one at a time, holding only each
// table's name and action meanwhile, not fixes.
func identityStepSeq(f *facts.Facts, fixes []identityFix) iter.Seq[rules.Step] {
	type alter struct{ table, action string }
	var alters []alter
	strip, genStored := false, false
	for _, fx := range fixes {
		if fx.alter != "" {
			alters = append(alters, alter{fx.leaf.Quoted, fx.alter})
		}
		strip = strip || fx.strip
		genStored = genStored || fx.genStored
	}
	return func(yield func(rules.Step) bool) {
		for _, a := range alters {
			if !yield(alterTable(rules.PhaseIdentity, a.table, a.action)) {
				return
			}
		}
		if strip && !yield(filterStrip(f)) {
			return
		}
		if genStored && f.Publication.Exists {
			yield(setPublicationOption(sqlident.Quote(f.Options.Publication), "publish_generated_columns = stored"))
		}
	}
}

// identityRemedy explains fixes.
func identityRemedy(fixes []identityFix) string {
	var b strings.Builder
	kinds := map[int]bool{}
	deferrable, partition, alter, full, strip, genStored, other := false, false, false, false, false, false, false
	var unfixed []string
	for _, fx := range fixes {
		for _, is := range fx.issues {
			kinds[is.kind] = true
		}
		deferrable = deferrable || (fx.leaf.ReplicaIdentity == 'd' && fx.leaf.HasPrimaryKey && fx.leaf.PrimaryKeyDeferrable)
		partition = partition || (fx.leaf.PartitionOf() != "" && fx.alter != "")
		alter = alter || fx.alter != ""
		full = full || (fx.alter == "REPLICA IDENTITY FULL" && !kinds[issueNoIdentity])
		strip = strip || fx.strip
		genStored = genStored || fx.genStored
		if len(fx.unfixed) > 0 {
			var why []string
			for _, is := range fx.unfixed {
				other = other || !is.connector
				why = append(why, describeIssue(fx.leaf, is))
			}
			even := ""
			if fx.tried.kind != currentIdentity(*fx.leaf.Table).kind {
				even = "even with " + fx.tried.String() + ", "
			}
			unfixed = append(unfixed, fmt.Sprintf("%s: %s%s", fx.leaf.Quoted, even, strings.Join(why, "; ")))
		}
	}
	if kinds[issueNoIdentity] {
		b.WriteString("As each table's owner, give it a replica identity. Where the table has a natural key, a primary key is best " +
			"(ALTER TABLE … ADD PRIMARY KEY (…);). The statements below use a unique index on NOT NULL columns where one exists " +
			"(REPLICA IDENTITY USING INDEX) and REPLICA IDENTITY FULL otherwise (every UPDATE and DELETE then logs the whole old row).")
	}
	if deferrable {
		b.WriteString(" A DEFERRABLE primary key is no replica identity and cannot be one (USING INDEX refuses a non-immediate index, 0A000), " +
			"and ALTER TABLE … ALTER CONSTRAINT … NOT DEFERRABLE works only on foreign keys: re-create the key NOT DEFERRABLE " +
			"(ALTER TABLE … DROP CONSTRAINT …, ADD PRIMARY KEY (…); foreign keys referencing it must be dropped and re-created), " +
			"or build an immediate unique index on its columns (CREATE UNIQUE INDEX CONCURRENTLY …) and use it with REPLICA IDENTITY USING INDEX.")
	}
	if kinds[issueRowFilter] || kinds[issueColumnList] {
		b.WriteString(" From PostgreSQL 15, in a publication that publishes updates or deletes, a row filter may read only replica identity " +
			"columns and a column list must hold every one of them; under REPLICA IDENTITY FULL no column list is allowed at all, " +
			"even one naming every column.")
	}
	switch {
	case strip && full:
		b.WriteString(" The steps re-list the connector's publication without these filters and column lists " +
			"(SET TABLE repeats every table in one statement; see publication-filters), and set REPLICA IDENTITY FULL " +
			"where another publication's row filter needs it (FULL covers any row filter).")
	case strip:
		b.WriteString(" The steps re-list the connector's publication without these filters and column lists " +
			"(SET TABLE repeats every table in one statement; see publication-filters).")
	case full:
		b.WriteString(" The steps set REPLICA IDENTITY FULL where another publication's row filter needs it (FULL covers any row filter; " +
			"every UPDATE and DELETE then logs the whole old row).")
	}
	if kinds[issueGenerated] || genStored {
		b.WriteString(" PostgreSQL 18 refuses UPDATE and DELETE when the replica identity holds a generated column the publication does not publish " +
			"(under FULL, every generated column), and it never publishes a virtual generated column: a table that has one needs a key " +
			"as its replica identity, not FULL.")
		if genStored {
			b.WriteString(" The steps publish stored generated columns (publish_generated_columns = stored).")
		}
	}
	if len(unfixed) > 0 {
		b.WriteString(" No step fixes " + strings.Join(unfixed, "; ") + ".")
		if other {
			b.WriteString(" Give the table a key that covers what that publication filters on, or change the publication as its owner: " +
				"ALTER PUBLICATION … SET TABLE lists every one of its tables, giving this one a column list that holds the replica " +
				"identity columns, or none.")
		}
	}
	if alter {
		b.WriteString(" ALTER TABLE takes an ACCESS EXCLUSIVE lock: with lock_timeout set it gives up instead of blocking the application; retry it.")
	}
	if partition {
		b.WriteString(" Partitions need their own replica identity: the ALTER is per partition, not on the partitioned table.")
	}
	return strings.TrimSpace(b.String())
}

// describeIssue says why one statement fails, for messages.
func describeIssue(l facts.Leaf, is identityIssue) string {
	via := ""
	if is.entry != "" && is.entry != l.Quoted {
		via = " (the filter of " + is.entry + ", published via the partition root)"
	}
	q := sqlident.Quote(is.pub)
	switch is.kind {
	case issueNoIdentity:
		return identityProblem(*l.Table)
	case issueRowFilter:
		return fmt.Sprintf("the row filter of publication %s%s reads %s, not in %s: %q",
			q, via, quoteCols(is.cols), is.id, issueDetail[is.kind])
	case issueColumnList:
		if is.cols == nil {
			return fmt.Sprintf("publication %s has a column list%s, which REPLICA IDENTITY FULL does not allow: %q", q, via, issueDetail[is.kind])
		}
		return fmt.Sprintf("the column list of publication %s%s leaves out %s of %s: %q",
			q, via, quoteCols(is.cols), is.id, issueDetail[is.kind])
	case issueGenerated:
		if v := intersect(is.cols, l.VirtualGenerated()); len(v) > 0 {
			return fmt.Sprintf("%s holds virtual generated columns %s, which are never published: %q",
				is.id, quoteCols(v), issueDetail[is.kind])
		}
		return fmt.Sprintf("%s holds generated columns %s that publication %s does not publish (publish_generated_columns = none): %q",
			is.id, quoteCols(is.cols), q, issueDetail[is.kind])
	}
	return ""
}

func quoteCols(cols []string) string {
	out := make([]string, len(cols))
	for i, c := range cols {
		out[i] = sqlident.Quote(c)
	}
	return strings.Join(out, ", ")
}

// without is a minus b.
func without(a, b []string) []string {
	var out []string
	for _, x := range a {
		if !slices.Contains(b, x) {
			out = append(out, x)
		}
	}
	return out
}

func intersect(a, b []string) []string {
	var out []string
	for _, x := range a {
		if slices.Contains(b, x) {
			out = append(out, x)
		}
	}
	return out
}
