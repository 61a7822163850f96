package checks

import (
	"fmt"
	"strings"

	"github.com/cdcpreflight/cdcpreflight/facts"
	"github.com/cdcpreflight/cdcpreflight/rules"
)

// toastRules judge what UPDATEs of captured tables leave out of change events.
func toastRules() []rules.Rule {
	return []rules.Rule{toastUnchanged()}
}

func toastUnchanged() rules.Rule {
	return rules.Rule{
		ID: "toast-unchanged", Title: "No captured table sends unchanged TOASTed values as placeholders",
		Category: rules.CategoryTables, Severity: rules.Warning, Since: since,
		Needs: []facts.Section{facts.SectionToast, facts.SectionTables, facts.SectionPublication},
		Why: `PostgreSQL stores a large value (text, jsonb, bytea over about 2 kB once compressed) out of line, in the
table's TOAST relation. An UPDATE that does not change such a column keeps a pointer to the stored
value, and pgoutput sends that column as "unchanged" instead of its value: with REPLICA IDENTITY
DEFAULT or USING INDEX the old row does not carry it either, so Debezium emits the column as
__debezium_unavailable_value (unavailable.value.placeholder), and a destination that applies the event
as a whole row overwrites the real value with the placeholder. Values stored inline, even compressed,
are always sent. The rule lists captured, published tables under DEFAULT or USING INDEX whose TOAST
relation holds data, with the columns that can be stored out of line (variable-length, storage
extended, external or main; replica identity columns left out), from the catalogs and statistics
only: never by reading the data, and without pg_relation_size, which would lock each TOAST relation.
A TOAST relation counts as holding data when its relpages (as of its last VACUUM) or its live tuples
(cumulative statistics) are not zero: data written since the last VACUUM shows once the statistics
are flushed (within a second); after a statistics reset, only once VACUUM has run.`,
		Fix: `Either accept the placeholder downstream (have the destination keep the previous value when it sees
__debezium_unavailable_value, or re-read such columns with Debezium's reselect post-processor), or
set REPLICA IDENTITY FULL on the table (as its owner: ALTER TABLE t REPLICA IDENTITY FULL; an ACCESS
EXCLUSIVE lock, no rewrite; every UPDATE and DELETE then logs the whole old row), or leave the column
out of the publication with a column list (PostgreSQL 15+). ALTER TABLE t ALTER c SET STORAGE MAIN
keeps values inline longer but does not prevent out-of-line storage.`,
		Eval: func(f *facts.Facts) rules.Outcome {
			if !f.Publication.Exists {
				return rules.Skip("publication %s does not exist (see publication-exists): nothing is published", f.Options.Publication)
			}
			leaves := map[string]facts.Leaf{}
			for _, l := range f.Tables.Leaves() {
				leaves[l.Quoted] = l
			}
			var names, lines []string
			var steps []rules.Step
			for _, t := range f.Toast.Tables {
				l, ok := leaves[t.Table]
				if !ok || !l.InCapture || l.ReplicaIdentity == 'f' {
					continue
				}
				// The read leaves out the identity's columns.
				cols := t.Columns
				if len(cols) == 0 {
					continue
				}
				names = append(names, t.Table)
				lines = append(lines, fmt.Sprintf("%s (%s; %s)", t.Table, quoteCols(cols), toastAmount(t)))
				if issues := identityIssues(f, l, replIdentity{kind: "full"}, assume{}); len(issues) == 0 {
					steps = append(steps, fullIdentityStep(l.Quoted))
				}
			}
			if len(names) == 0 {
				return rules.Pass("no captured table under REPLICA IDENTITY DEFAULT or USING INDEX holds out-of-line (TOASTed) values, " +
					"as the TOAST relations' pages and statistics show")
			}
			return rules.Finding("%s out-of-line (TOASTed) values and %s not REPLICA IDENTITY FULL: an UPDATE that leaves such a column "+
				"unchanged arrives with __debezium_unavailable_value in its place: %s",
				plural(len(names), "captured table holds", "captured tables hold"), map[bool]string{true: "is", false: "are"}[len(names) == 1],
				strings.Join(firstN(lines, listMax), "; ")+moreThan(len(lines))).
				WithObjects(names...).
				WithSteps("Either make the destination keep the previous value when a column arrives as __debezium_unavailable_value "+
					"(or re-read such columns with Debezium's reselect post-processor), or, as each table's owner, set REPLICA IDENTITY FULL "+
					"(an ACCESS EXCLUSIVE lock, no rewrite; every UPDATE and DELETE then writes the whole old row to the WAL, which is how "+
					"the values reach the connector), or on PostgreSQL 15+ leave such columns out of the publication with a column list. "+
					"The steps set FULL, with fix --replica-identity-full, where it breaks no publication's column list.", steps...)
		},
	}
}

// fullIdentityStep is replica-identity-full's step for a table, byte for
// byte, so that a plan with both runs it once.
func fullIdentityStep(table string) rules.Step {
	s := alterTable(rules.PhaseIdentity, table, "REPLICA IDENTITY FULL")
	s.OptIn = rules.OptInReplicaIdentityFull
	s.Note = "every UPDATE and DELETE on the table then writes the whole old row to the WAL"
	return s
}

// toastAmount says how much the TOAST relation shows it holds.
func toastAmount(t facts.ToastTable) string {
	var parts []string
	if t.LiveTuples > 0 {
		parts = append(parts, plural(int(t.LiveTuples), "out-of-line chunk", "out-of-line chunks"))
	}
	if t.Pages > 0 {
		parts = append(parts, plural(int(t.Pages), "TOAST page", "TOAST pages")+" at the last VACUUM")
	}
	return strings.Join(parts, ", ")
}

func firstN(s []string, n int) []string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

func moreThan(n int) string {
	if n > listMax {
		return fmt.Sprintf(" and %d more", n-listMax)
	}
	return ""
}
